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


def test_after_events_a_long_wait_puts_its_write_off_until_the_lag_is_up() -> None:
    journey = journey_with(2)
    now = NOW + timedelta(seconds=5)
    assert milestones.put_off(journey, NOW + timedelta(hours=1), now) == NOW + milestones.FLUSH_LAG
    assert milestones.put_off(journey, None, now) == NOW + milestones.FLUSH_LAG


def test_nothing_is_put_off_that_is_due_now_or_not_due_at_all() -> None:
    journey = journey_with(2)
    late = NOW + milestones.FLUSH_LAG
    assert milestones.put_off(journey, NOW + timedelta(hours=1), late) is None  # lag is up
    assert milestones.put_off(journey, NOW + timedelta(seconds=30), NOW) is None  # short wait
    assert milestones.put_off(journey_with(0), None, NOW) is None
    full = journey_with(milestones.FLUSH_BATCH)
    assert milestones.put_off(full, NOW + timedelta(hours=1), NOW) is None  # a full batch
