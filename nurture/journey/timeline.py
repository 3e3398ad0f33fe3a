"""The journey's story in words: every line of the timeline, and how touches, times and events
are described to people."""

from __future__ import annotations

from datetime import datetime, timedelta

from nurture.cadence.steps import Condition
from nurture.events import Channel, EngagementEvent
from nurture.journey.state import (
    Journey,
    JourneyEntry,
)


def duration_text(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


CHANNEL_LABELS = {
    Channel.email: "Email",
    Channel.call: "Call task",
    Channel.voicemail: "Voicemail",
    Channel.sms: "SMS",
    Channel.direct_mail: "Direct mail",
}


def touch_number(j: Journey) -> int:
    return max(1, j.cadence.touch_numbers[j.position])


def touch_label(j: Journey, channel: Channel, template: str) -> str:
    return f"{CHANNEL_LABELS[channel]} {touch_number(j)}/{j.cadence.touch_count()} · {template}"


#: ``%a`` and ``%b`` in the C locale (the engine never sets a locale): strftime is slow.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_text(j: Journey, at: datetime) -> str:
    """``Tue 03 Mar 10:00 America/New_York``: a moment in the lead's zone."""
    local = j.business_calendar().local(at)
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day:02d} {_MONTHS[local.month - 1]}"
        f" {local.hour:02d}:{local.minute:02d} {j.calendar.timezone}"
    )


def describe_condition(when: Condition) -> str:
    parts = [f"{k} {v}" for k, v in when.model_dump(exclude_none=True, by_alias=True).items()]
    return ", ".join(parts) or "always"


def describe_event(event: EngagementEvent) -> str:
    text = event.kind.value
    if event.points:
        text += f" ({event.points:+d} points)"
    page = event.data.get("page") or event.data.get("url")
    if page:
        text += f" · {page}"
    return f"Event {text}"


def log(
    j: Journey,
    now: datetime,
    kind: str,
    text: str,
    step: str | None = None,
    touch_id: str | None = None,
) -> None:
    j.timeline.append(
        _entry(
            {
                "at": now,
                "cycle": j.cycle,
                "kind": kind,
                "text": text,
                "step": step,
                "touch_id": touch_id,
            }
        )
    )


#: ``JourneyEntry(**fields)`` without ``__init__``'s keyword handling: the same validation and
#: the same model, in half the time (a journey writes a line for almost every step).
_entry = JourneyEntry.__pydantic_validator__.validate_python
