"""Planned email sends (nurture/journey/planned.py): with a send delay the journey wakes that
long (plus a minute) before an email's planned time and sends it with the planned time as
SendGrid's ``send_at``; without one nothing changes."""

from __future__ import annotations

from datetime import timedelta

from nurture.contracts import TouchResult
from nurture.journey import engine, planned
from nurture.journey.commands import SendTouch, Wait
from nurture.journey.planned import START_MARGIN
from nurture.journey.state import Journey
from tests.journey.test_engine import T0, cadence, journey, texts

LEAD = timedelta(minutes=11)
STEPS = (
    "  - id: a\n    email: {template: e}\n"
    "  - wait: {days: 2}\n"
    "  - id: b\n    email: {template: e}\n"
    "  - wait: {days: 1}\n"
    "  - id: c\n    sms: {template: s}\n"
)


def sent(lead: timedelta | None, send_at: object = None) -> TouchResult:
    """A sent email's result as a worker with (or without) a send delay reports it."""
    seconds = lead.total_seconds() if lead is not None else 0.0
    return TouchResult(status="sent", provider="sendgrid", send_at=send_at, email_lead=seconds)


def first_email(lead: timedelta | None) -> Journey:
    j = journey(cadence(STEPS), holidays=False)
    command = engine.advance(j, T0)
    assert isinstance(command, SendTouch) and command.touch.planned_at is None
    engine.on_touch_result(j, sent(lead, T0 + lead if lead else None), T0)
    return j


def test_an_email_after_a_wait_starts_ahead_and_is_planned_for_its_time() -> None:
    j = first_email(LEAD)  # unplanned (at enrolment): the wait counts from its send, as before
    planned = T0 + timedelta(days=2)
    wait = engine.advance(j, T0)
    assert isinstance(wait, Wait) and wait.until == planned - LEAD - START_MARGIN
    assert j.next_touch_at == planned  # what the desk and reports show stays the plan
    woke = wait.until
    command = engine.advance(j, woke)
    assert isinstance(command, SendTouch) and command.touch.planned_at == planned
    engine.on_touch_result(j, sent(LEAD, planned), woke)
    [entry] = [e for e in j.timeline if e.kind == "touch" and e.step == "b"]
    assert entry.at == woke and "reaches the lead Wed 04 Mar 10:00 UTC" in entry.text
    assert j.touch_log[-1].at == planned  # the governor counts it when it reaches the lead
    then = engine.advance(j, woke)  # the next wait counts from the email's planned time
    assert isinstance(then, Wait) and then.until == planned + timedelta(days=1)  # an SMS: on time


def test_without_a_send_delay_nothing_changes() -> None:
    j = first_email(None)
    wait = engine.advance(j, T0)
    assert isinstance(wait, Wait) and wait.until == T0 + timedelta(days=2)
    command = engine.advance(j, wait.until)
    assert isinstance(command, SendTouch) and command.touch.planned_at is None
    assert j.email_lead is None and "reaches the lead" not in " ".join(texts(j))


def test_a_late_wake_up_sends_at_once_and_the_channel_adds_the_delay() -> None:
    j = first_email(LEAD)
    wait = engine.advance(j, T0)
    assert isinstance(wait, Wait)
    late = T0 + timedelta(days=2, minutes=5)  # the worker was down past the plan
    command = engine.advance(j, late)
    assert isinstance(command, SendTouch) and command.touch.planned_at is None


def test_an_email_planned_outside_hours_is_deferred_then_woken_early_for() -> None:
    start = T0.replace(hour=17, minute=30)  # Mon 17:30; hours 08:00-18:00
    steps = (
        "  - id: a\n    email: {template: e}\n  - wait: {hours: 1}\n"
        "  - id: b\n    email: {template: e}\n"
    )
    j = journey(cadence(steps, hours="08:00-18:00"), at=start, holidays=False)
    assert isinstance(engine.advance(j, start), SendTouch)
    engine.on_touch_result(j, sent(LEAD, start + LEAD), start)
    wait = engine.advance(j, start)
    assert isinstance(wait, Wait)  # planned 18:30: woken at 18:18, judged at 18:30
    deferred = engine.advance(j, wait.until)
    opening = T0.replace(hour=8) + timedelta(days=1)  # Tue 08:00
    assert isinstance(deferred, Wait) and deferred.until == opening - LEAD - START_MARGIN
    assert any("Defer" in t for t in texts(j))
    command = engine.advance(j, deferred.until)
    assert isinstance(command, SendTouch) and command.touch.planned_at == opening


def test_judged_at_its_planned_time_an_email_due_at_opening_is_not_deferred() -> None:
    j = journey(
        cadence(
            "  - id: a\n    email: {template: e}\n"
            "  - wait: {days: 1, at: '08:00'}\n"
            "  - id: b\n    email: {template: e}\n",
            hours="08:00-18:00",
        ),
        holidays=False,
    )
    assert isinstance(engine.advance(j, T0), SendTouch)
    engine.on_touch_result(j, sent(LEAD, T0 + LEAD), T0)
    wait = engine.advance(j, T0)
    opening = T0.replace(hour=8) + timedelta(days=1)
    assert isinstance(wait, Wait) and wait.until == opening - LEAD - START_MARGIN  # 07:48
    command = engine.advance(j, wait.until)  # closed at 07:48, open at the planned 08:00
    assert isinstance(command, SendTouch) and command.touch.planned_at == opening
    assert not any("Defer" in t for t in texts(j))


def test_turning_the_delay_off_stops_planning() -> None:
    j = first_email(LEAD)
    assert j.email_lead == LEAD.total_seconds()
    planned.learn(j, sent(None))  # the next result from a worker without the delay
    assert j.email_lead is None
    wait = engine.advance(j, T0)
    assert isinstance(wait, Wait) and wait.until == T0 + timedelta(days=2)
