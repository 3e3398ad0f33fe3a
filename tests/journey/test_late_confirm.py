"""Late confirmations: a touch skipped as delivery unknown, confirmed later by a provider event,
is recorded as "confirmed sent" and counted (touches sent, contact governor)."""

from __future__ import annotations

from datetime import timedelta

from nurture.contracts import TouchResult
from nurture.events import Channel, EventKind
from nurture.journey import engine
from nurture.journey.commands import SendTouch
from nurture.journey.state import Journey
from tests.journey.test_engine import T0, cadence, event, journey, texts


def unknown_email() -> tuple[Journey, str]:
    """A journey whose first email ended delivery unknown."""
    j = journey(
        cadence("  - id: a\n    email: {template: e}\n  - wait: {days: 1}\n"), holidays=False
    )
    command = engine.advance(j, T0)
    assert isinstance(command, SendTouch)
    skipped = TouchResult(
        status="skipped",
        provider="sendgrid",
        error="delivery unknown (timeout)",
        delivery_unknown=True,
    )
    engine.on_touch_result(j, skipped, T0)
    assert j.touches_sent == 0 and j.touch_log == []
    return j, command.touch.touch_id


def test_a_confirmation_counts_the_unknown_touch_once() -> None:
    j, touch_id = unknown_email()
    assert [u.touch_id for u in j.unknown_touches] == [touch_id]
    confirm = event(EventKind.touch_confirmed, T0 + timedelta(minutes=5), touch_id=touch_id)
    later = T0 + timedelta(minutes=6)
    assert engine.on_event(j, confirm, later, late_confirm=True)
    assert j.touches_sent == 1
    assert [(m.channel, m.at) for m in j.touch_log] == [(Channel.email, confirm.at)]
    [line] = texts(j, "confirm")
    assert "confirmed sent" in line
    assert j.unknown_touches == []
    again = event(EventKind.touch_confirmed, later, touch_id=touch_id)  # another id, same touch
    engine.on_event(j, again, later, late_confirm=True)
    assert j.touches_sent == 1 and len(texts(j, "confirm")) == 1
    assert texts(j, "event") == []  # a confirmation is not an engagement event


def test_any_event_of_the_touch_confirms_it_and_still_counts_as_engagement() -> None:
    j, touch_id = unknown_email()
    opened = event(EventKind.email_open, T0 + timedelta(hours=1), touch_id=touch_id)
    engine.on_event(j, opened, opened.at, late_confirm=True)
    assert j.touches_sent == 1 and len(texts(j, "confirm")) == 1
    assert any("email.open" in t for t in texts(j, "event"))


def test_without_the_patch_nothing_changes() -> None:
    j, touch_id = unknown_email()
    confirm = event(EventKind.touch_confirmed, T0 + timedelta(minutes=5), touch_id=touch_id)
    engine.on_event(j, confirm, confirm.at)
    assert j.touches_sent == 0 and texts(j, "confirm") == []
