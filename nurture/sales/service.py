"""The sales handoff service the pages and the CLI share: list waiting handoffs, show one, and
accept, decline or close it.

The list is one visibility call (``LeadStage = 'sales_ready'``, optionally ``Owner = ...``: the
lead's CRM owner) plus a ``handoff`` query per listed lead for the SLA deadline and the assigned
owner (round-robin and escalations pick people the search attributes do not know). Actions are
the workflow's updates ``accept_handoff``, ``decline_handoff`` and ``close_opportunity``; their
validators have the last word (stale, repeated or someone else's actions come back as
:class:`~nurture.temporal.calls.LeadError` in the validator's own words). Every action takes a
request id, used as the update id: a form submitted twice acts once and gets the first answer twice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError

from nurture.contracts import (
    AcceptHandoff,
    CloseOpportunity,
    DeclineHandoff,
    HandoffStatus,
    HandoffView,
)
from nurture.journey.state import Journey, JourneyEntry
from nurture.lead import Lead
from nurture.spans import span_words
from nurture.temporal import visibility
from nurture.temporal.calls import (
    RPC_TIMEOUT,
    JourneyEnded,
    LeadError,
    UnknownLead,
    query,
    rpc_error,
    update,
)
from nurture.temporal.ids import lead_id_of

__all__ = [
    "HandoffDetail",
    "HandoffList",
    "HandoffRow",
    "HandoffService",
    "Unanswered",
    "sla_left",
    "waiting_query",
]

#: At most this many waiting handoffs are listed (each costs one query).
MAX_ROWS = 200
#: Handoff queries in flight at once while listing.
QUERY_CONCURRENCY = 16
WAITING = "LeadStage = 'sales_ready' AND ExecutionStatus = 'Running'"
#: A CRM owner as a visibility literal: anything printable without quotes or backslashes.
_OWNER = re.compile(r"[^'\"\\\x00-\x1f]{1,200}")


def waiting_query(owner: str | None = None) -> str:
    """Visibility query: running journeys handed to sales (of one CRM owner, if given)."""
    if not owner:
        return WAITING
    if not _OWNER.fullmatch(owner):
        raise LeadError(f"not a valid owner: {owner!r}", 400)
    return f"{WAITING} AND Owner = '{owner}'"


def sla_left(due: datetime | None, now: datetime) -> str:
    """``3 h 05 min left``, ``20 min overdue``, ``no SLA``."""
    if due is None:
        return "no SLA"
    seconds = int((due - now).total_seconds())
    text = span_words(seconds, hours_after_days=True)
    return f"{text} left" if seconds >= 0 else f"{text} overdue"


@dataclass(frozen=True)
class HandoffRow:
    """A waiting handoff as the list shows it (no personal data: ids, owner, score, SLA)."""

    lead_id: str
    segment: str
    crm_owner: str | None
    view: HandoffView

    @property
    def overdue(self) -> bool:
        """Past its SLA deadline."""
        return self.view.due is not None and self.view.due < datetime.now(UTC)


@dataclass(frozen=True)
class Unanswered:
    """A listed journey whose ``handoff`` query failed (e.g. its worker cannot replay it)."""

    lead_id: str
    workflow_id: str
    reason: str


@dataclass
class HandoffList:
    """Waiting handoffs, the earliest SLA deadline first, and the journeys that did not say."""

    rows: list[HandoffRow]
    truncated: bool = False
    unanswered: list[Unanswered] = field(default_factory=list)


@dataclass
class HandoffDetail:
    """One lead and its (current or last) handoff."""

    journey: Journey
    handoff: HandoffView | None
    now: datetime

    @property
    def lead(self) -> Lead:
        """The lead."""
        return self.journey.lead

    @property
    def timeline(self) -> list[JourneyEntry]:
        """The journey so far, oldest first."""
        return self.journey.timeline

    @property
    def time_left(self) -> str:
        """Time left on the SLA (or how late it is)."""
        return sla_left(self.handoff.due if self.handoff else None, self.now)

    @property
    def actions(self) -> list[str]:
        """What sales may record now: accept, decline, opportunity, won, lost."""
        status = self.handoff.status if self.handoff else None
        if status is HandoffStatus.waiting:
            return ["accept", "decline"]
        if status is HandoffStatus.accepted:
            return ["opportunity", "won", "lost"]
        if status is HandoffStatus.opportunity:
            return ["won", "lost"]
        return []


class HandoffService:
    """Sales handoff reads and actions over a Temporal client."""

    def __init__(self, client: Client, *, max_rows: int = MAX_ROWS) -> None:
        self.client = client
        self.max_rows = max_rows

    # ------------------------------------------------------------ reading

    async def waiting(
        self, *, owner: str | None = None, assignee: str | None = None
    ) -> HandoffList:
        """Handoffs waiting for accept/decline: of a CRM ``owner`` (visibility), and/or assigned
        to ``assignee`` as owner or manager (from each handoff)."""
        executions: list[WorkflowExecution] = []
        try:
            async for execution in self.client.list_workflows(
                waiting_query(owner), limit=self.max_rows + 1, rpc_timeout=RPC_TIMEOUT
            ):
                executions.append(execution)
        except RPCError as exc:
            raise rpc_error(exc, "list the waiting handoffs") from None
        truncated = len(executions) > self.max_rows
        gate = asyncio.Semaphore(QUERY_CONCURRENCY)

        async def row(execution: WorkflowExecution) -> HandoffRow | Unanswered | None:
            lead_id = lead_id_of(execution.id)
            try:
                async with gate:
                    view = await self.handoff(lead_id)
            except (JourneyEnded, UnknownLead):
                return None  # ended (or gone) since visibility listed it
            except LeadError as exc:  # this journey did not answer: list the others
                return Unanswered(lead_id=lead_id, workflow_id=execution.id, reason=exc.message)
            if view is None or view.status is not HandoffStatus.waiting:
                return None  # accepted or declined since visibility listed it
            attrs = execution.typed_search_attributes
            return HandoffRow(
                lead_id=lead_id,
                segment=attrs.get(visibility.SEGMENT) or "",
                crm_owner=attrs.get(visibility.OWNER) or None,
                view=view,
            )

        found = await asyncio.gather(*(row(e) for e in executions[: self.max_rows]))
        rows = [r for r in found if isinstance(r, HandoffRow)]
        unanswered = sorted(
            (r for r in found if isinstance(r, Unanswered)), key=lambda r: r.lead_id
        )
        if assignee:
            rows = [r for r in rows if assignee in (r.view.owner, r.view.manager)]
        far = datetime.max.replace(tzinfo=UTC)
        rows.sort(key=lambda r: (r.view.due or far, r.lead_id))
        return HandoffList(rows=rows, truncated=truncated, unanswered=unanswered)

    async def handoff(self, lead_id: str) -> HandoffView | None:
        """The lead's current (or last) handoff; ``None`` if it was never handed to sales."""
        view: HandoffView | None = await query(self.client, lead_id, "handoff", HandoffView | None)
        return view

    async def current(self, lead_id: str) -> HandoffView:
        """The lead's current handoff, or a :class:`LeadError` saying there is none."""
        view = await self.handoff(lead_id)
        if view is None:
            raise LeadError(f"lead {lead_id} has not been handed to sales")
        return view

    async def show(self, lead_id: str, now: datetime | None = None) -> HandoffDetail:
        """The lead's journey and handoff (two queries, run together)."""
        state: Awaitable[Journey] = query(self.client, lead_id, "state", Journey)
        journey, view = await asyncio.gather(state, self.handoff(lead_id))
        return HandoffDetail(journey=journey, handoff=view, now=now or datetime.now(UTC))

    # ------------------------------------------------------------ actions

    async def accept(
        self, lead_id: str, action: AcceptHandoff, request_id: str | None = None
    ) -> HandoffView:
        """Sales takes the lead."""
        return await self._act(lead_id, "accept_handoff", action, request_id)

    async def decline(
        self, lead_id: str, action: DeclineHandoff, request_id: str | None = None
    ) -> HandoffView:
        """Sales sends the lead back with a reason (recycled or disqualified)."""
        return await self._act(lead_id, "decline_handoff", action, request_id)

    async def close(
        self, lead_id: str, action: CloseOpportunity, request_id: str | None = None
    ) -> HandoffView:
        """Record an accepted lead's opportunity, win or loss."""
        return await self._act(lead_id, "close_opportunity", action, request_id)

    async def _act(
        self,
        lead_id: str,
        name: str,
        action: AcceptHandoff | DeclineHandoff | CloseOpportunity,
        request_id: str | None,
    ) -> HandoffView:
        update_id = f"{name}:{request_id}" if request_id else None
        try:
            view: HandoffView = await update(
                self.client, lead_id, name, action, HandoffView, update_id=update_id
            )
        except JourneyEnded as ended:  # a finished journey has no validator left to explain
            last = await self.handoff(lead_id)
            if last is None:
                raise
            raise JourneyEnded(
                f"handoff {last.handoff_id} was already {last.status.value}: {ended.message}"
            ) from None
        return view
