"""Activities for people: pick a rep for a call task or a sales handoff, and tell them."""

from __future__ import annotations

import httpx
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column
from temporalio import activity

from nurture.desk.reps import Rep, RepDirectory
from nurture.engine import Assignment, AssignRequest
from nurture.handoff import HandoffView
from nurture.settings import Settings
from nurture.store import Base, Store


class AssignmentRecord(Base):
    """An assignment made, by request key: a retried activity gets the same rep."""

    __tablename__ = "assignments"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)


class DeskActivities:
    """Assignment and handoff notices over the rep directory and the store's outbox."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.reps = RepDirectory(store)
        Base.metadata.create_all(store.engine, tables=[AssignmentRecord.__table__])  # type: ignore[list-item]

    @activity.defn(name="assign")
    def assign(self, request: AssignRequest) -> Assignment:
        """Pick the rep (owner, round-robin in the team, or the manager); notify a handoff."""
        assignment = self._pick(request)
        if request.notice is not None:
            self._notify(request, request.notice, assignment)
        return assignment

    def _pick(self, request: AssignRequest) -> Assignment:
        with self.store.session() as session:
            done = session.get(AssignmentRecord, request.key)
            if done is not None:
                return Assignment.model_validate_json(done.answer)
        rep: Rep | None
        match request.rule:
            case "owner":
                rep = self.reps.get(request.owner) if request.owner else None
                if rep is None and request.owner:
                    manager = self.reps.manager_of(request.team)
                    return self._keep(
                        request,
                        Assignment(
                            rep=request.owner, manager=manager.username if manager else None
                        ),
                    )
            case "manager":
                rep = self.reps.manager_of(request.team)
            case _:
                rep = self.reps.next_round_robin(
                    request.team, request.exclude, at=activity.info().current_attempt_scheduled_time
                )
        manager = self.reps.manager_of(request.team)
        answer = Assignment(
            rep=rep.username if rep else None,
            manager=manager.username if manager else None,
            timezone=rep.timezone if rep else None,
            hours=rep.hours if rep else None,
        )
        return self._keep(request, answer)

    def _keep(self, request: AssignRequest, answer: Assignment) -> Assignment:
        """Record the answer unless a concurrent attempt recorded one first (then use that)."""
        with self.store.session() as session, session.begin():
            found = session.get(AssignmentRecord, request.key)
            if found is not None:
                return Assignment.model_validate_json(found.answer)
            session.add(AssignmentRecord(key=request.key, answer=answer.model_dump_json()))
        return answer

    def _notify(self, request: AssignRequest, view: HandoffView, assignment: Assignment) -> None:
        """Email the owner (and the manager on an escalation) through the outbox; POST the CRM."""
        link = f"{self.settings.public_url}/handoffs/{view.lead_id}"
        due = f"{view.due:%a %d %b %H:%M %Z}" if view.due else "no SLA"
        people = [assignment.rep] + ([assignment.manager] if request.escalation else [])
        for username in dict.fromkeys(p for p in people if p):
            rep = self.reps.get(username)
            subject = (
                f"Escalated: sales-ready lead {view.lead_id} waits for an answer"
                if request.escalation
                else f"Sales-ready lead {view.lead_id}: accept or decline by {due}"
            )
            body = (
                f"Lead {view.lead_id} is sales-ready: {view.why}.\n"
                f"Score {view.score}. Team {view.team}, owner {assignment.rep or '(queue)'}.\n"
                f"Accept or decline by {due}: {link}\n"
            )
            self.store.record_touch(
                touch_id=f"{request.key}:notice:{username}",
                lead_id=view.lead_id,
                cadence="handoff",
                cadence_version=1,
                cycle=0,
                step_id=view.handoff_id,
                channel="notice",
                provider="outbox",
                status="sent",
                summary=subject,
                recipient=(rep.email if rep and rep.email else username),
                subject=subject,
                body_text=body,
            )
        if self.settings.crm_webhook_url:
            payload = view.model_copy(
                update={"owner": assignment.rep, "manager": assignment.manager}
            )
            response = httpx.post(
                self.settings.crm_webhook_url,
                content=payload.model_dump_json(),
                headers={"Content-Type": "application/json", "Idempotency-Key": request.key},
                timeout=10,
            )
            response.raise_for_status()
