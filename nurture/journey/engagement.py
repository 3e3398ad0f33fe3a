"""Engagement events: de-duplication, scoring, stage changes, stop rules and promotion."""

from __future__ import annotations

from datetime import datetime

from nurture.cadence.scoring import (
    behaviour_score,
    is_decision_maker,
    prune,
    score_event,
)
from nurture.cadence.steps import TOUCH_KINDS, Outcome, step_kind
from nurture.events import ENGAGEMENT_KINDS, Channel, EngagementEvent, EventKind
from nurture.journey import milestones
from nurture.journey.confirm import confirm_late
from nurture.journey.state import (
    Journey,
    Phase,
    Stage,
)
from nurture.journey.timeline import (
    describe_event,
    log,
)
from nurture.journey.timing import (
    after,
)
from nurture.journey.transitions import (
    exit_cadence,
    promote,
    set_stage,
)

#: How many event ids a journey remembers to drop re-deliveries.
SEEN_EVENTS_KEPT = 2000


#: A person spoke with the lead: the cadence keeps quiet for a while (``quiet_after_conversation``).
LIVE_CONVERSATION = frozenset(
    {
        EventKind.call_connected,
        EventKind.call_meeting_booked,
        EventKind.call_qualified,
        EventKind.call_not_interested,
        EventKind.call_back_later,
    }
)


#: Opting out: when these have stopped every channel a cadence uses, the lead is ``opted_out``.
OPT_OUTS = frozenset(
    {
        EventKind.email_unsubscribe,
        EventKind.email_spam_report,
        EventKind.sms_stop,
        EventKind.call_do_not_call,
    }
)


def on_event(
    journey: Journey, event: EngagementEvent, now: datetime, *, late_confirm: bool = False
) -> bool:
    """Apply an engagement event; returns False for a re-delivered one (changes nothing).

    With ``late_confirm`` (journeys past the ``2026-12-late-confirm`` patch), an event carrying
    the id of a touch skipped as delivery unknown confirms it (:mod:`nurture.journey.confirm`).
    """
    if event.id in journey.seen_events:
        return False
    journey.seen_events = [*journey.seen_events[-(SEEN_EVENTS_KEPT - 1) :], event.id]
    if late_confirm and confirm_late(journey, event, now):
        return True
    kind = event.kind
    log(journey, now, "event", describe_event(event), touch_id=event.touch_id)
    if journey.milestone_chain is not None:  # (emit would drop it: skip working out its fields)
        milestones.emit(
            journey,
            now,
            "event",
            touch_id=event.touch_id,
            step=milestones.touch_step(event.touch_id),
            channel=milestones.EVENT_CHANNELS.get(kind.value.split(".")[0]),
            variant=milestones.touch_variant(journey, event.touch_id),
            points=event.points,
            reason=kind.value,
            rep=_rep(event),
        )
    if journey.phase is Phase.done:
        return True
    indicator = _score(journey, event, now)
    journey.cycle_events.append(kind)
    journey.recent_events.append(kind)
    if kind in ENGAGEMENT_KINDS and journey.stage in (Stage.new, Stage.nurturing):
        set_stage(journey, Stage.engaged, now, kind.value)
    quiet = journey.cadence.limits.quiet_after_conversation
    if kind in LIVE_CONVERSATION and quiet is not None:
        journey.quiet_until = after(journey, quiet, now)
    for channel, kinds in journey.cadence.stop_rules.items():
        if kind in kinds and channel not in journey.stopped:
            journey.stopped[channel] = kind.value
            log(journey, now, "stop", f"{channel.value} stopped ({kind.value})")
    waiting = journey.waiting_for
    if waiting is not None and kind in waiting.kinds and kind not in waiting.matched:
        waiting.matched.append(kind)
    task = journey.call_task
    if task is not None and kind.is_call_outcome and event.touch_id in (None, task.touch_id):
        task.outcome = kind
    if kind.is_call_outcome:
        journey.last_disposition = kind
    if journey.phase is Phase.handoff:
        return True  # with sales now: engagement is recorded and scored, nothing else moves
    if kind in OPT_OUTS and _cadence_channels(journey) <= set(journey.stopped):
        exit_cadence(journey, Outcome.finished, now, f"opted out of every channel ({kind.value})")
        set_stage(journey, Stage.opted_out, now, kind.value)
        return True
    if indicator is not None:
        promote(journey, now, f"High Probability Indicator: {indicator}")
        return True
    for rule in journey.cadence.exit_on:
        if kind in rule.events:
            exit_cadence(journey, rule.outcome, now, f"{kind.value}")
            return True
    ready = _sales_ready_reason(journey)
    if ready is not None:
        promote(journey, now, ready)
    return True


def _score(j: Journey, event: EngagementEvent, now: datetime) -> str | None:
    """Score an event (keeping the reason on the journey); the HPI it completes, if any."""
    model = j.scoring
    before = j.score
    if model is None:
        if event.kind is EventKind.score_adjusted and event.points:
            j.score += event.points
            log(j, now, "score", f"Score {before} → {j.score}: manual {event.points:+d}")
        return None
    record, scored = score_event(model, j.scored, event, now)
    j.scored = prune(model, [*j.scored, record], now)
    _rescore(j, now)
    if j.score != before or scored.points:
        log(j, now, "score", f"Score {before} → {j.score}: {scored.reason}")
    if j.score != before:
        milestones.emit(
            j, now, "score", points=j.score - before, amount=j.score, reason=scored.reason
        )
    return scored.indicator


def _rep(event: EngagementEvent) -> str | None:
    rep = event.data.get("rep")
    return rep[:64] if isinstance(rep, str) else None


def _rescore(j: Journey, now: datetime) -> None:
    """Fit plus decayed behaviour; re-arm promotion once the score fell below ``rearm_below``."""
    model = j.scoring
    if model is None:
        return
    j.score = j.fit + round(behaviour_score(model, j.scored, now))
    rule = model.sales_ready
    rearm = rule.rearm_below if rule is not None else None
    if not j.promotion_armed and rearm is not None and j.score < rearm:
        j.promotion_armed = True
        log(j, now, "score", f"Score {j.score} < {rearm}: may be promoted again")


def _sales_ready_reason(j: Journey) -> str | None:
    """Why the lead meets the sales-ready rule now (``None`` if it does not)."""
    model = j.scoring
    rule = model.sales_ready if model else None
    if model is None or rule is None or not j.promotion_armed:
        return None
    if j.score < rule.score_at_least or j.fit < rule.fit_at_least:
        return None
    if not is_decision_maker(model, j.lead):
        return None
    why = f"score {j.score} ≥ {rule.score_at_least}"
    if rule.fit_at_least:
        why += f", fit {j.fit} ≥ {rule.fit_at_least}"
    if rule.role:
        why += f", decision maker ({j.lead.title})"
    return why


def _cadence_channels(j: Journey) -> set[Channel]:
    channels: set[Channel] = set()
    for step in j.cadence.steps:
        kind = step_kind(step)
        if kind in TOUCH_KINDS:
            channels.add(TOUCH_KINDS[kind])
    return channels
