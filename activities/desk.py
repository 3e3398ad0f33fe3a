"""Activities for people: pick a rep for a call task or a sales handoff, and tell them."""

from __future__ import annotations

from html import escape

import httpx
from temporalio import activity

from nurture.calendar import zone_rules
from nurture.channels.notices import Notice, NoticeMailer, ledger_fields
from nurture.contracts import Assignment, AssignRequest, HandoffView
from nurture.roster.assignments import AssignmentRecord
from nurture.roster.reps import Rep, RepDirectory
from nurture.settings import Settings
from nurture.store import Store


class DeskActivities:
    """Assignment over the rep directory; handoff notices by SendGrid email or the outbox."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.reps = RepDirectory(store)
        self.mailer = (
            NoticeMailer.from_settings(settings, store) if settings.sendgrid_api_key else None
        )

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
            zone_rules=zone_rules(rep.timezone) if rep else "",
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
        """Tell the owner (and the manager on an escalation): email through SendGrid when it is
        configured, else the outbox; then POST the handoff to the CRM webhook, if set."""
        people = [assignment.rep] + ([assignment.manager] if request.escalation else [])
        for username in dict.fromkeys(p for p in people if p):
            notice = self._notice(request, view, assignment, username)
            if self.mailer is not None:
                self.mailer.send(notice)
            else:
                self.store.record_touch(**ledger_fields(notice), provider="outbox", status="sent")
        if self.settings.crm_webhook_url:
            self._post_crm(request, view, assignment)

    def _notice(
        self, request: AssignRequest, view: HandoffView, assignment: Assignment, username: str
    ) -> Notice:
        """The notice of this handoff to one person (subject, text and HTML)."""
        rep = self.reps.get(username)
        link = f"{self.settings.public_url}/handoffs/{view.lead_id}"
        due = f"{view.due:%a %d %b %H:%M %Z}" if view.due else "no SLA"
        owner = assignment.rep or "(queue)"
        subject = (
            f"Escalated: sales-ready lead {view.lead_id} waits for an answer"
            if request.escalation
            else f"Sales-ready lead {view.lead_id}: accept or decline by {due}"
        )
        text = (
            f"Lead {view.lead_id} is sales-ready: {view.why}.\n"
            f"Score {view.score}. Team {view.team}, owner {owner}.\n"
            f"Accept or decline by {due}: {link}\n"
        )
        html = (
            f"<p>Lead {escape(view.lead_id)} is sales-ready: {escape(view.why)}.</p>\n"
            f"<p>Score {view.score}. Team {escape(view.team)}, owner {escape(owner)}.</p>\n"
            f'<p><a href="{escape(link)}">Accept or decline</a> by {escape(due)}.</p>\n'
        )
        return Notice(
            notice_id=f"{request.key}:notice:{username}",
            lead_id=view.lead_id,
            handoff_id=view.handoff_id,
            username=username,
            email=rep.email if rep else "",
            name=rep.name if rep else "",
            subject=subject,
            text=text,
            html=html,
        )

    def _post_crm(self, request: AssignRequest, view: HandoffView, assignment: Assignment) -> None:
        """POST the handoff with its owner and manager to the CRM webhook (idempotency key)."""
        assert self.settings.crm_webhook_url
        payload = view.model_copy(update={"owner": assignment.rep, "manager": assignment.manager})
        response = httpx.post(
            self.settings.crm_webhook_url,
            content=payload.model_dump_json(),
            headers={"Content-Type": "application/json", "Idempotency-Key": request.key},
            timeout=10,
        )
        response.raise_for_status()
