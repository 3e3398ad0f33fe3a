"""When a wait writes the journey log: not before a short wait, always before a long one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.journey import milestones
from nurture.journey.state import Journey
from nurture.leads.enrollment import new_journey
from tests.conftest import fixture_cadence, make_lead

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def journey_with(count: int) -> Journey:
    journey = new_journey(make_lead("FL-1"), fixture_cadence("quick"), NOW)
    milestones.enable(journey, "chain", NOW, fresh=False)
    for n in range(count):
        milestones.emit(journey, NOW + timedelta(seconds=n), "event")
    return journey


def test_nothing_waiting_needs_no_flush() -> None:
    assert not milestones.flush_due(journey_with(0), None)


def test_a_short_wait_leaves_the_milestones_for_later() -> None:
    journey = journey_with(2)
    assert not milestones.flush_due(journey, NOW + milestones.FLUSH_LAG - timedelta(seconds=1))


def test_a_wait_that_would_make_the_log_lag_flushes_first() -> None:
    journey = journey_with(2)
    assert milestones.flush_due(journey, NOW + milestones.FLUSH_LAG)
    assert milestones.flush_due(journey, None)  # a wait with no end


def test_a_full_batch_flushes_even_before_a_short_wait() -> None:
    journey = journey_with(milestones.FLUSH_BATCH)
    assert milestones.flush_due(journey, NOW + timedelta(seconds=1))
