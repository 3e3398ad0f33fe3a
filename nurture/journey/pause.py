"""Pausing and resuming a lead: touches held, planned times moved by the time paused."""

from __future__ import annotations

from datetime import datetime, timedelta

from nurture.journey.commands import ActionRefused, Wait
from nurture.journey.state import (
    Journey,
    Pause,
    Phase,
)
from nurture.journey.timeline import (
    duration_text,
    local_text,
    log,
)


def refuse_pause(journey: Journey, until: datetime | None, now: datetime) -> None:
    """Raise ``ActionRefused`` unless the journey can be paused until ``until``."""
    if journey.phase is Phase.done:
        raise ActionRefused(f"lead {journey.lead.id}'s journey has ended")
    if journey.phase is Phase.handoff:
        raise ActionRefused(f"lead {journey.lead.id} is with sales; a handoff cannot be paused")
    if until is not None and until <= now:
        raise ActionRefused("the pause must end in the future")


def refuse_resume(journey: Journey) -> None:
    """Raise ``ActionRefused`` unless the journey is paused."""
    if journey.paused is None:
        raise ActionRefused(f"lead {journey.lead.id} is not paused")


def held(journey: Journey, now: datetime) -> Wait | None:
    """While paused, the wait until the pause ends (resuming on its own when it has)."""
    hold = journey.paused
    if hold is None or journey.phase in (Phase.done, Phase.handoff, Phase.sending):
        return None
    if hold.until is None or now < hold.until:
        text = f" until {local_text(journey, hold.until)}" if hold.until else " until resumed"
        return Wait(until=hold.until, summary=f"Paused ({hold.reason}){text}")
    resume(journey, now, "auto-resume")
    return None


def pause(journey: Journey, until: datetime | None, reason: str, now: datetime) -> str:
    """Hold every touch until ``until`` (or until resumed); events still count."""
    refuse_pause(journey, until, now)
    since = journey.paused.at if journey.paused else now
    journey.paused = Pause(at=since, until=until, reason=reason)
    text = f"Paused ({reason})" + (f" until {local_text(journey, until)}" if until else "")
    log(journey, now, "pause", text)
    return text


def resume(journey: Journey, now: datetime, why: str) -> str:
    """Resume: every planned time moves by the paused time (no burst of catch-up touches)."""
    refuse_resume(journey)
    assert journey.paused is not None
    shift = max(now - journey.paused.at, timedelta(0))
    journey.paused = None
    if journey.wake_at is not None:
        journey.wake_at += shift
    if journey.next_touch_at is not None:
        journey.next_touch_at += shift
    if journey.waiting_for is not None:
        journey.waiting_for.deadline += shift
    if journey.call_task is not None:
        journey.call_task.due += shift
    text = f"Resumed ({why}); schedule moved by {duration_text(shift)}"
    log(journey, now, "pause", text)
    if journey.wake_at is not None:
        journey.wake_reason = f"{journey.wake_reason.split(' → ')[0]} → " + local_text(
            journey, journey.wake_at
        )
    return text
