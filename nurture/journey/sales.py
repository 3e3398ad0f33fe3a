"""The sales handoff inside the journey: the SLA, assignment, escalation, and sales' actions
(accept, decline, opportunity outcome)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from nurture.cadence.sales import DEFAULT_SALES, DeclineReason, Recycle
from nurture.cadence.steps import Outcome
from nurture.contracts import (
    AcceptHandoff,
    AssignRequest,
    CloseOpportunity,
    DeclineHandoff,
    HandoffStatus,
    HandoffView,
)
from nurture.journey import milestones
from nurture.journey.commands import (
    ActionRefused,
    Assign,
    Command,
    Wait,
)
from nurture.journey.state import (
    Journey,
    Phase,
    Stage,
)
from nurture.journey.timeline import (
    local_text,
    log,
)
from nurture.journey.timing import (
    after,
)
from nurture.journey.transitions import (
    default_recycle,
    exit_cadence,
    recycle,
    set_stage,
)


def handoff_view(journey: Journey) -> HandoffView | None:
    """The current (or last) handoff as the sales page shows it."""
    h = journey.handoff
    if h is None:
        return None
    return HandoffView(
        handoff_id=h.id,
        lead_id=journey.lead.id,
        status=h.status,
        owner=h.owner,
        team=h.team,
        manager=h.manager,
        promoted_at=h.promoted_at,
        due=h.due if h.status is HandoffStatus.waiting else None,
        why=h.why,
        score=journey.score,
        escalations=h.escalations,
        decline_reason=DeclineReason(h.decline_reason) if h.decline_reason else None,
        decline_text=h.decline_text,
        outcome_reason=h.outcome_reason,
    )


def refuse_handoff_action(
    journey: Journey, action: AcceptHandoff | DeclineHandoff | CloseOpportunity
) -> None:
    """Raise ``ActionRefused`` with a clear message unless the sales action fits."""
    h = journey.handoff
    if h is None:
        raise ActionRefused(f"lead {journey.lead.id} has not been handed to sales")
    if action.handoff_id != h.id:
        raise ActionRefused(
            f"handoff {action.handoff_id} is stale: lead {journey.lead.id}'s handoff is {h.id}"
        )
    if isinstance(action, CloseOpportunity):
        allowed = {
            "opportunity": {HandoffStatus.accepted},
            "won": {HandoffStatus.accepted, HandoffStatus.opportunity},
            "lost": {HandoffStatus.accepted, HandoffStatus.opportunity},
        }[action.outcome]
        if h.status not in allowed:
            raise ActionRefused(
                f"handoff {h.id} is {h.status.value}: cannot record '{action.outcome}'"
            )
    elif h.status is not HandoffStatus.waiting:
        raise ActionRefused(f"handoff {h.id} was already {h.status.value}")
    elif h.assigning:
        raise ActionRefused(f"handoff {h.id} is being assigned; try again in a moment")
    if h.owner is not None and action.rep not in (h.owner, h.manager):
        raise ActionRefused(
            f"handoff {h.id} belongs to {h.owner}"
            + (f" (manager {h.manager})" if h.manager else "")
            + f", not {action.rep}"
        )


def accept_handoff(journey: Journey, action: AcceptHandoff, now: datetime) -> HandoffView:
    """Sales accepts: the lead waits for its opportunity outcome."""
    refuse_handoff_action(journey, action)
    h = journey.handoff
    assert h is not None
    h.status = HandoffStatus.accepted
    h.owner = h.owner or action.rep
    late = " (after the SLA)" if h.due and now > h.due else ""
    _answered(journey, now, action.rep)
    milestones.emit(journey, now, "handoff_accepted", rep=action.rep, reason=h.id)
    set_stage(journey, Stage.accepted, now, f"accepted by {action.rep}{late}")
    view = handoff_view(journey)
    assert view is not None
    return view


def decline_handoff(journey: Journey, action: DeclineHandoff, now: datetime) -> HandoffView:
    """Sales declines with a reason: recycle into the cadence the reason maps to, or disqualify."""
    refuse_handoff_action(journey, action)
    h = journey.handoff
    assert h is not None
    h.status = HandoffStatus.declined
    h.decline_reason = action.reason.value
    _answered(journey, now, action.rep)
    milestones.emit(journey, now, "handoff_declined", rep=action.rep, reason=action.reason.value)
    h.decline_text = action.text
    view = handoff_view(journey)
    why = f"declined by {action.rep}: {action.reason.label}" + (
        f" — {action.text}" if action.text else ""
    )
    log(journey, now, "handoff", why.capitalize())
    journey.promotion_armed = False
    rule = (journey.sales or DEFAULT_SALES).decline.get(action.reason, default_recycle(journey))
    journey.phase = Phase.ready
    if rule == "disqualify":
        exit_cadence(journey, Outcome.disqualified, now, why)
    elif isinstance(rule, Recycle):
        recycle(journey, now, why, rule)
    else:
        exit_cadence(journey, Outcome.finished, now, why)
        set_stage(journey, Stage.recycled, now, why)
    assert view is not None
    return view


def close_opportunity(journey: Journey, action: CloseOpportunity, now: datetime) -> HandoffView:
    """Record the accepted lead's opportunity, and its win or loss (the journey ends)."""
    refuse_handoff_action(journey, action)
    h = journey.handoff
    assert h is not None
    h.status = HandoffStatus(action.outcome)
    h.outcome_reason = action.reason
    milestones.emit(
        journey,
        now,
        action.outcome,
        rep=action.rep,
        amount=action.amount,
        reason=action.reason[:200] if action.reason else None,
    )
    amount = f" ({action.amount:,.0f})" if action.amount is not None else ""
    why = f"{action.outcome} by {action.rep}{amount}" + (
        f": {action.reason}" if action.reason else ""
    )
    set_stage(journey, Stage(action.outcome), now, why)
    if action.outcome != "opportunity":
        journey.phase = Phase.done
        journey.outcome = Outcome.sales_ready
    view = handoff_view(journey)
    assert view is not None
    return view


def sla_text(j: Journey, due: datetime, zone: str | None) -> str:
    """The SLA deadline in the owner's zone when known, else the lead's."""
    if zone is None:
        return local_text(j, due)
    return f"{due.astimezone(ZoneInfo(zone)):%a %d %b %H:%M} {zone}"


def _breached(j: Journey, now: datetime) -> None:
    h = j.handoff
    assert h is not None
    if not h.sla_breached:
        h.sla_breached = True
        milestones.emit(j, now, "sla_breached", rep=h.owner, reason=h.id)


def _answered(j: Journey, now: datetime, rep: str) -> None:
    """Sales answered the handoff: the SLA was met unless it had already passed."""
    h = j.handoff
    assert h is not None
    if h.due is not None and now > h.due:
        _breached(j, now)
    if not h.sla_breached:
        milestones.emit(j, now, "sla_met", rep=rep, reason=h.id)


def check_handoff(j: Journey, now: datetime) -> Command | None:
    h = j.handoff
    assert h is not None
    rules = j.sales or DEFAULT_SALES
    if h.assigning:
        return Assign(
            request=AssignRequest(
                key=f"{h.id}:a{h.escalations}",
                lead_id=j.lead.id,
                team=h.team,
                rule="round_robin" if h.escalations else h.assign,
                owner=j.lead.owner or None,
                exclude=h.owner if h.escalations else None,
                purpose="handoff",
                notice=handoff_view(j),
                escalation=h.escalations > 0,
            )
        )
    if h.status is HandoffStatus.waiting:
        if h.due is not None and now >= h.due:
            _breached(j, now)
            if h.escalations < rules.max_escalations:
                h.escalations += 1
                log(
                    j,
                    now,
                    "handoff",
                    f"SLA breached: {h.owner or h.team} did not accept or decline in"
                    f" {h.sla.describe()}; escalating",
                )
                h.due = after(j, h.sla, now)
                h.assigning = True
                return None
            log(j, now, "handoff", "SLA breached again; escalations used up, waiting for sales")
            h.due = None
        owner = h.owner or f"team {h.team}"
        sla = f" · SLA until {sla_text(j, h.due, h.owner_timezone)}" if h.due else ""
        summary = f"Waiting for {owner} to accept or decline{sla}"
        j.wake_reason = f"handoff to {owner} ({h.team}): accept or decline{sla}"
        return Wait(until=h.due, summary=summary)
    if h.status in (HandoffStatus.accepted, HandoffStatus.opportunity):
        j.wake_reason = f"with {h.owner}: waiting for the opportunity outcome"
        return Wait(until=None, summary=f"With {h.owner}: waiting for the opportunity outcome")
    j.phase = Phase.done
    return None
