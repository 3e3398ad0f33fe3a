"""After a handoff, "next" is the handoff and its SLA; the SLA runs in the owner's working hours
and is shown in the owner's zone."""

from __future__ import annotations

from datetime import UTC, datetime

from nurture.contracts import Assignment
from nurture.events import EventKind
from nurture.journey import engine
from nurture.journey.commands import Assign, Wait
from nurture.journey.state import Journey
from tests.journey.test_engine import event
from tests.journey.test_people import start

#: Tuesday 03 March 2026, 10:00 UTC = 05:00 in New York (before the rep's day starts).
PROMOTED = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
NEW_YORK = Assignment(
    rep="ny.ae", manager="mia.mgr", timezone="America/New_York", hours="mon-fri 09:00-17:00"
)


def promoted() -> Journey:
    j = start(segment="strategic", owner="")  # SLA: 4 business hours
    engine.on_event(j, event(EventKind.email_reply, PROMOTED), PROMOTED)
    assert isinstance(engine.advance(j, PROMOTED), Assign)
    return j


def test_next_is_the_handoff_and_its_sla_in_the_owners_zone() -> None:
    j = promoted()
    engine.on_assigned(j, NEW_YORK, PROMOTED, owner_hours=True)
    h = j.handoff
    assert h is not None
    # 4 business hours in New York from 05:00: 09:00-13:00 local = 18:00 UTC (EST, UTC-5).
    assert h.due == datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
    command = engine.advance(j, PROMOTED)
    assert isinstance(command, Wait) and command.until == h.due
    reason = j.wake_reason
    assert reason == (
        "handoff to ny.ae (sales-strategic): accept or decline · SLA until "
        "Tue 03 Mar 13:00 America/New_York"
    )
    assert "Wait" not in reason


def test_without_owner_hours_the_sla_keeps_the_cadence_calendar() -> None:
    j = promoted()
    engine.on_assigned(j, NEW_YORK, PROMOTED)
    assert j.handoff is not None and j.handoff.due == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
