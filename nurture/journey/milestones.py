"""Milestones: the journey's facts for the journey log (reports), no personal data.

The engine appends a :class:`Milestone` to ``journey.milestones`` at each fact (enrolled, touch
sent, stage change, handoff accepted, won...). The workflow flushes them to the store in one
``record_milestones`` activity at its next wait (or before it finishes or continues as new) and
drops the ones written; a wait too short to matter (:data:`FLUSH_LAG`) leaves them for a later
one, so a cadence of quick steps writes its log once, not once per wait (behind the
``2026-12-journey-log-batch`` patch). A wait that engagement events interrupted does not write at
once either: it wakes at :func:`put_off`'s time, at most :data:`FLUSH_LAG` after the oldest
waiting milestone, and writes then, so a burst of events costs one write, not one per event, and
no event's workflow task waits on the store (``2026-12-journey-log-coalesce``); a desk or sales
action's milestones are written at once.

Each milestone's ``key`` is ``<lead>:<chain>:<n>`` — the journey chain's first run id and a
counter carried in the journey — so a retried activity, a replay or a worker crash writes it at
most once (the store inserts or ignores on the key).

Milestones are recorded only for journeys whose workflow turned them on (``enable``, behind the
``2026-12-journey-log`` patch); an older journey's commands stay exactly what they were.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nurture.cadence.steps import step_kind
from nurture.journey.state import Journey, Milestone

__all__ = [
    "FLUSH_BATCH",
    "FLUSH_LAG",
    "KINDS",
    "Milestone",
    "emit",
    "enable",
    "finished",
    "flush_due",
    "put_off",
    "take",
    "written",
]

#: The journey log lags a journey by at most this: a wait that ends sooner after the oldest
#: unwritten milestone does not flush (the milestones keep their own times either way).
FLUSH_LAG = timedelta(minutes=1)
#: ... and a wait flushes anyway once this many milestones are waiting (a bounded batch).
FLUSH_BATCH = 50

#: Every milestone kind, in funnel-ish order.
KINDS = (
    "enrolled",
    "touch_sent",
    "touch_failed",
    "touch_skipped",
    "touch_deferred",
    "event",
    "score",
    "stage",
    "task_created",
    "task_assigned",
    "task_claimed",
    "task_completed",
    "task_overdue",
    "handoff_assigned",
    "handoff_escalated",
    "handoff_accepted",
    "handoff_declined",
    "sla_met",
    "sla_breached",
    "opportunity",
    "won",
    "lost",
    "recycled",
    "opted_out",
    "finished",
)


#: The channel an event's kind belongs to (``email.click`` -> email).
EVENT_CHANNELS = {
    "email": "email",
    "call": "call",
    "voicemail": "voicemail",
    "sms": "sms",
    "mail": "direct_mail",
}


def touch_step(touch_id: str | None) -> str | None:
    """The step id inside a touch id (``<lead>:<cadence>:v1:e1:c1:<step>[#visit]``)."""
    if not touch_id or touch_id.count(":") < 5:
        return None
    return touch_id.rsplit(":", 1)[-1].split("#")[0][:100]


def touch_variant(journey: Journey, touch_id: str | None) -> str | None:
    """The template of the touch's step, when the touch belongs to the journey's cadence."""
    step = touch_step(touch_id)
    parts = (touch_id or "").split(":")
    cadence = journey.cadence
    if step is None or len(parts) < 6 or parts[-5] != cadence.name:
        return None
    index = cadence.step_index.get(step)
    if index is None:
        return None
    step_model = cadence.steps[index]
    params = getattr(step_model, step_kind(step_model), None)
    template = getattr(params, "template", None) or getattr(params, "script", None)
    return template if isinstance(template, str) else None


def enable(journey: Journey, chain: str, now: datetime, *, fresh: bool) -> None:
    """Turn the log on for this journey chain; a fresh journey records its enrolment."""
    if journey.milestone_chain is not None:
        return
    journey.milestone_chain = chain
    if fresh:
        emit(journey, now, "enrolled", reason="enrolled")


def emit(
    journey: Journey,
    now: datetime,
    kind: str,
    *,
    step: str | None = None,
    channel: str | None = None,
    variant: str | None = None,
    touch_id: str | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    amount: float | None = None,
    points: int | None = None,
    reason: str | None = None,
    rep: str | None = None,
    talk_seconds: int | None = None,
) -> None:
    """Record a milestone (nothing when the journey does not keep a log)."""
    chain = journey.milestone_chain
    if chain is None:
        return
    journey.milestone_seq += 1
    lead = journey.lead
    journey.milestones.append(
        Milestone(
            key=f"{lead.id}:{chain}:{journey.milestone_seq}",
            lead_id=lead.id,
            kind=kind,
            at=now,
            cadence=journey.cadence.name,
            version=journey.cadence.version,
            segment=lead.segment,
            source=lead.fields.get("source", "")[:100],
            cycle=journey.cycle,
            step=step,
            channel=channel,
            variant=variant,
            touch_id=touch_id,
            from_stage=from_stage,
            to_stage=to_stage,
            amount=amount,
            points=points,
            reason=reason[:200] if reason else reason,
            rep=rep,
            talk_seconds=talk_seconds,
        )
    )


def finished(journey: Journey, now: datetime) -> None:
    """The journey ends (the workflow is about to return)."""
    outcome = journey.outcome.value if journey.outcome else "finished"
    emit(journey, now, "finished", reason=outcome, to_stage=journey.stage.value)


def flush_due(journey: Journey, until: datetime | None) -> bool:
    """Whether a wait until ``until`` (``None``: no end) must write the waiting milestones first:
    yes when the wait has no end, when its end is :data:`FLUSH_LAG` or more after the oldest
    waiting milestone, or when :data:`FLUSH_BATCH` are waiting."""
    waiting = journey.milestones
    if not waiting:
        return False
    return until is None or until - waiting[0].at >= FLUSH_LAG or len(waiting) >= FLUSH_BATCH


def put_off(journey: Journey, until: datetime | None, now: datetime) -> datetime | None:
    """When a wait resumed after engagement events woke the journey may write its due
    milestones at the latest instead of now: :data:`FLUSH_LAG` after the oldest waiting one,
    if that comes before the wait's end (``None``: write now, or the wait is short anyway)."""
    waiting = journey.milestones
    if not flush_due(journey, until) or len(waiting) >= FLUSH_BATCH:
        return None
    deadline = waiting[0].at + FLUSH_LAG
    if deadline <= now or (until is not None and deadline >= until):
        return None
    return deadline


def take(journey: Journey) -> list[Milestone]:
    """The milestones waiting to be written (they stay until :func:`written`)."""
    return list(journey.milestones)


def written(journey: Journey, count: int) -> None:
    """Drop the first ``count`` milestones: the store has them."""
    del journey.milestones[:count]
