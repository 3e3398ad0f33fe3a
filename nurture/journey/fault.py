"""Holding a journey on an engine fault: the error on the timeline, a visible state
(``LeadStage = 'fault'``), and an operator's way out (resume to retry, or skip the step).

A bug or a corrupt snapshot must never fail the workflow task forever: the workflow catches what
the engine raises and calls ``hold``; it then waits until ``resume_after_fault`` or ``skip_step``
clears the fault (after a fix is deployed, resuming retries the same step with the new code).
"""

from __future__ import annotations

from datetime import datetime

from nurture.journey.commands import ActionRefused
from nurture.journey.pause import refuse_resume, resume
from nurture.journey.state import Fault, Journey, Phase
from nurture.journey.timeline import log

#: The search attribute ``LeadStage`` of a held journey (its funnel stage is kept in the state).
FAULT_STAGE = "fault"
#: Longest error text kept on the journey.
MAX_ERROR = 300


def _step_id(journey: Journey) -> str | None:
    steps = journey.cadence.steps
    return steps[journey.position].id if 0 <= journey.position < len(steps) else None


def hold(journey: Journey, error: BaseException, now: datetime) -> Fault:
    """Record an engine fault: the journey waits for an operator."""
    text = f"{type(error).__name__}: {error}"[:MAX_ERROR]
    retries = journey.fault.retries if journey.fault else 0
    journey.fault = Fault(at=now, error=text, step=_step_id(journey), retries=retries)
    where = f" at step {journey.fault.step}" if journey.fault.step else ""
    log(
        journey,
        now,
        "fault",
        f"Held: the journey failed{where} ({text}); an operator can resume (retry) or skip "
        "the step",
        journey.fault.step,
    )
    journey.wake_reason = "held on an error: resume or skip the step"
    return journey.fault


def refuse_skip(journey: Journey) -> None:
    """Raise ``ActionRefused`` unless the journey is held on a fault."""
    if journey.fault is None:
        raise ActionRefused(f"lead {journey.lead.id} is not held on an error: nothing to skip")


def refuse_resume_any(journey: Journey) -> None:
    """A resume fits a paused journey or one held on a fault."""
    if journey.fault is None:
        refuse_resume(journey)


def resume_any(journey: Journey, now: datetime, why: str) -> str:
    """Resume a held journey (retry its step), else resume a paused one."""
    fault = journey.fault
    if fault is None:
        return resume(journey, now, why)
    journey.fault = None
    text = f"Resumed after the error ({why}); retrying step {fault.step or '?'}"
    log(journey, now, "fault", text, fault.step)
    return text


def skip_step(journey: Journey, now: datetime, why: str) -> str:
    """Leave the failing step: the journey goes on with the next one."""
    refuse_skip(journey)
    assert journey.fault is not None
    skipped = journey.fault.step
    journey.fault = None
    journey.position += 1
    journey.phase = Phase.ready
    journey.waiting_for = None
    journey.pending = None
    journey.detour = None
    journey.wake_at = None
    if journey.call_task is not None and journey.call_task.step == skipped:
        journey.call_task = None
    text = f"Skipped step {skipped or '?'} after the error ({why})"
    log(journey, now, "fault", text, skipped)
    return text
