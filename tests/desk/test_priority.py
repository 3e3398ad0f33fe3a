"""The call desk's priority and deadline groups: pure functions of score, segment, due and now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from nurture.desk.priority import (
    AT_DUE,
    MAX_URGENCY,
    SOON,
    Bucket,
    bucket,
    priority,
    segment_weight,
    urgency,
)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_buckets_split_at_the_deadline_and_soon() -> None:
    assert bucket(NOW - HOUR, NOW) is Bucket.overdue
    assert bucket(NOW, NOW) is Bucket.overdue
    assert bucket(NOW + HOUR, NOW) is Bucket.due_now
    assert bucket(NOW + SOON, NOW) is Bucket.due_now
    assert bucket(NOW + SOON + HOUR, NOW) is Bucket.upcoming


def test_urgency_rises_to_the_deadline_then_with_lateness_up_to_a_cap() -> None:
    assert urgency(NOW + 2 * SOON, NOW) == 0
    assert urgency(NOW + SOON / 2, NOW) == AT_DUE // 2
    assert urgency(NOW, NOW) == AT_DUE
    assert urgency(NOW - 5 * HOUR, NOW) == AT_DUE + 20
    assert urgency(NOW - 100 * HOUR, NOW) == MAX_URGENCY


def test_segments_weigh_strategic_over_standard_over_recycled() -> None:
    assert segment_weight("strategic") > segment_weight("standard") > segment_weight("recycled")
    assert segment_weight("Strategic ") == segment_weight("strategic")
    assert segment_weight("") == segment_weight("unheard-of") == segment_weight(None)


def test_the_documented_examples() -> None:
    fresh = NOW + 2 * SOON
    assert priority(30, "standard", fresh, NOW) == 50
    assert priority(30, "standard", NOW - HOUR, NOW) >= 90
    assert priority(80, "strategic", NOW, NOW) == 170
    # a strategic lead outranks a standard one with a 30-point higher score
    assert priority(40, "strategic", fresh, NOW) > priority(69, "standard", fresh, NOW)


def test_runaway_scores_are_clamped() -> None:
    fresh = NOW + 2 * SOON
    assert priority(10_000, "standard", fresh, NOW) == priority(100, "standard", fresh, NOW)
    assert priority(-50, "standard", fresh, NOW) == priority(0, "standard", fresh, NOW)
    assert priority(None, None, fresh, NOW) == segment_weight(None)


@given(
    score=st.integers(-1000, 1000),
    minutes=st.integers(-10_000, 10_000),
    later=st.integers(1, 10_000),
    segment=st.sampled_from(["strategic", "standard", "recycled", "", "other"]),
)
def test_priority_never_falls_as_time_passes(
    score: int, minutes: int, later: int, segment: str
) -> None:
    due = NOW + timedelta(minutes=minutes)
    before = priority(score, segment, due, NOW)
    after = priority(score, segment, due, NOW + timedelta(minutes=later))
    assert after >= before


@given(score=st.integers(0, 99), minutes=st.integers(-10_000, 10_000))
def test_a_higher_score_never_ranks_lower(score: int, minutes: int) -> None:
    due = NOW + timedelta(minutes=minutes)
    assert priority(score + 1, "standard", due, NOW) > priority(score, "standard", due, NOW)
