"""When things may happen: delays in the lead's business time, jitter, and the contact governor."""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta

from nurture.cadence.steps import TOUCH_KINDS, Delay
from nurture.calendar import BusinessCalendar, zone_from_rules
from nurture.contracts import (
    Assignment,
)
from nurture.events import Channel
from nurture.journey.commands import (
    EngineError,
)
from nurture.journey.state import (
    Journey,
    Phase,
)
from nurture.journey.timeline import (
    local_text,
    log,
)
from nurture.roster.hours import parse_hours

WEEK = timedelta(days=7)


def earliest_send(j: Journey, channel: Channel, now: datetime) -> tuple[datetime, str]:
    """The first moment at or after ``now`` the contact governor allows, and what held it back.

    The governor: the channel's hours, the quiet period after a live conversation, at most
    ``max_per_channel_per_day`` touches on a channel per local day and ``max_touches_per_week``
    across channels (counting touches from every cadence the lead has been in).
    """
    calendar = j.business_calendar()
    window = j.cadence.calendar.channel_window(channel)
    limits = j.cadence.limits
    reasons: list[str] = []
    at = now
    for _ in range(400):
        opened = calendar.next_open(at, window)
        if opened > at and not reasons:
            reasons.append(f"outside {channel.value} hours")
        at = opened
        if j.quiet_until is not None and at < j.quiet_until:
            at = j.quiet_until
            reasons.append("quiet period after a conversation")
            continue
        if limits.max_per_channel_per_day is not None:
            day = calendar.local(at).date()
            today = [m for m in j.touch_log if m.channel is channel]
            if sum(1 for m in today if calendar.local(m.at).date() == day) >= (
                limits.max_per_channel_per_day
            ):
                at = calendar.at_local(day + timedelta(days=1), time(0, 0))
                reasons.append(f"{limits.max_per_channel_per_day} {channel.value} a day")
                continue
        limit = limits.max_touches_per_week
        recent = sorted(m.at for m in j.touch_log if m.at > at - WEEK)
        if limit is None or len(recent) < limit:
            return at, ", ".join(dict.fromkeys(reasons)) or "governor"
        at = recent[len(recent) - limit] + WEEK
        reasons.append("weekly touch limit")
    raise EngineError("no time to send within a year")


def jitter(j: Journey, at: datetime, key: str, channel: Channel | None = None) -> datetime:
    """Spread wake-ups by a stable per-lead offset, staying inside the channel's hours."""
    spread = j.cadence.calendar.jitter_minutes * 60
    if not spread:
        return at
    digest = hashlib.sha256(f"{j.lead.id}:{key}".encode()).digest()
    moved = at + timedelta(seconds=int.from_bytes(digest[:4], "big") % spread)
    if channel is not None:
        window = j.cadence.calendar.channel_window(channel)
        if not j.business_calendar().is_open(moved, window):
            return at
    return moved


def after(j: Journey, delay: Delay, now: datetime) -> datetime:
    """The moment a delay started ``now`` ends, in the lead's business time."""
    calendar = j.business_calendar()
    if delay.business_days is not None:
        return calendar.add_business_days(now, delay.business_days, delay.at)
    if delay.business_hours is not None:
        return calendar.add_business_hours(now, delay.business_hours)
    until = now + delay.calendar_part()
    if delay.at is None:
        return until
    landed = calendar.at_local(calendar.local(until).date(), delay.at)
    return (
        landed
        if landed > now
        else calendar.at_local(calendar.local(until).date() + timedelta(days=1), delay.at)
    )


def wait(j: Journey, now: datetime, until: datetime, what: str, step: str | None) -> None:
    steps = j.cadence.steps
    j.phase = Phase.waiting
    j.wake_at = until
    before_touch = j.position >= len(steps) or steps[j.position].kind in TOUCH_KINDS
    j.next_touch_at = until if before_touch else None
    j.wake_reason = f"{what} → {local_text(j, until)}"
    log(j, now, "wait", j.wake_reason, step)


def rep_calendar(assignment: Assignment) -> BusinessCalendar | None:
    """The assigned person's working hours as a calendar (None without hours)."""
    if not (assignment.timezone and assignment.hours):
        return None
    zone = zone_from_rules(assignment.timezone, assignment.zone_rules)
    return BusinessCalendar(assignment.timezone, parse_hours(assignment.hours), zone=zone)


def after_in_hours(calendar: BusinessCalendar, delay: Delay, start: datetime) -> datetime:
    """The moment a delay started at ``start`` ends, in someone's working hours."""
    if delay.business_days is not None:
        return calendar.add_business_days(start, delay.business_days, delay.at)
    if delay.business_hours is not None:
        return calendar.add_business_hours(start, delay.business_hours)
    return start + delay.calendar_part()


def owner_text(calendar: BusinessCalendar, at: datetime) -> str:
    """A time in the owner's zone, e.g. 'Tue 03 Mar 10:00 America/New_York'."""
    return f"{calendar.local(at):%a %d %b %H:%M} {calendar.timezone}"


def within_rep_hours(j: Journey, due: datetime, assignment: Assignment) -> datetime:
    """The first moment at or after ``due`` inside both the rep's hours and the lead's."""
    assert assignment.timezone and assignment.hours
    zone = zone_from_rules(assignment.timezone, assignment.zone_rules)
    rep = BusinessCalendar(assignment.timezone, parse_hours(assignment.hours), zone=zone)
    lead = j.business_calendar()
    window = j.cadence.calendar.channel_window(Channel.call)
    at = due
    for _ in range(30):
        at = lead.next_open(rep.next_open(at), window)
        if rep.is_open(at):
            return at
    return due
