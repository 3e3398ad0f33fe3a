"""Planned email sends: with SendGrid's cancellable sends on (``NURTURE_SENDGRID_SEND_DELAY``)
an email is a scheduled send that SendGrid delivers ``delay`` after it was posted. The engine
knows each touch's planned time, so instead of adding the delay (the email arriving late) it
plans it: the journey wakes ``delay`` (plus :data:`START_MARGIN`) before an email's planned
time, judges the email at its planned time (hours, governor) and sends it with that time as
SendGrid's ``send_at``. The channel keeps the floor: a ``send_at`` nearer than the delay (the
planned time is past, or the send started late) becomes now + delay, as before.

A wait after a planned email counts from its planned time (after an email sent at once, e.g.
at enrolment, the wait counts from the send, as before). The journey learns the delay from its
touches' results (``TouchResult.email_lead``, reported by the worker from its settings, 0 when
off), so a journey's first email is planned from its second touch on; an email at enrolment
is due at once and goes out at now + delay either way.
Only an email step right after a wait (or deferred into hours) is planned; one reached through
a branch or goto after the wait is sent at now + delay.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nurture.cadence.steps import TOUCH_KINDS, step_kind
from nurture.contracts import TouchResult
from nurture.events import Channel
from nurture.journey.state import Journey, Phase

#: The send starts this much earlier than ``delay`` before its planned time, so a worker has a
#: minute to pick it up and SendGrid's ``send_at`` is still the planned time.
START_MARGIN = timedelta(minutes=1)


def lead_time(j: Journey) -> timedelta | None:
    """How long before its wake-up time the waiting journey should wake: when the step after the
    wait is an email that will be sent as a scheduled send; else None."""
    if not j.email_lead or j.phase is not Phase.waiting or j.detour is not None:
        return None
    steps = j.cadence.steps
    if j.position >= len(steps) or TOUCH_KINDS.get(step_kind(steps[j.position])) is not (
        Channel.email
    ):
        return None
    if Channel.email in j.stopped or not j.lead.email:
        return None
    return timedelta(seconds=j.email_lead) + START_MARGIN


def wake_time(j: Journey) -> datetime:
    """When the waiting journey wakes: its wake-up time, early by the lead time of an email."""
    assert j.wake_at is not None
    lead = lead_time(j)
    return j.wake_at - lead if lead is not None else j.wake_at


def woke(j: Journey, now: datetime) -> None:
    """The journey woke early for an email: remember the email's planned time."""
    assert j.wake_at is not None
    j.planned_send = j.wake_at if lead_time(j) is not None and now < j.wake_at else None


def take_planned(j: Journey, channel: Channel, now: datetime) -> datetime | None:
    """The planned time of the touch about to be judged (an email woken early for), once."""
    planned, j.planned_send = j.planned_send, None
    if channel is not Channel.email or planned is None or planned <= now:
        return None
    return planned


def sent(j: Journey, planned_at: datetime | None) -> None:
    """A planned email went out: the next wait counts from its planned time (no drift)."""
    j.waits_from = planned_at


def wait_start(j: Journey, now: datetime) -> datetime:
    """When a wait step starts: now, or the planned time of the email just sent ahead of it
    (the cadence's spacing holds from the plan, not from the early start)."""
    since, j.waits_from = j.waits_from, None
    return max(now, since) if since is not None else now


def learn(j: Journey, result: TouchResult) -> None:
    """Keep the email lead time the worker reported (0: cancellable sends are off)."""
    if result.email_lead is not None:
        j.email_lead = result.email_lead or None
