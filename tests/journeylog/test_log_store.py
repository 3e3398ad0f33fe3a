"""The journey log store: insert-or-ignore on the key, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from nurture.journey.state import Milestone
from nurture.journeylog.store import JourneyLog
from nurture.store import Store


def milestone(n: int, kind: str = "touch_sent") -> Milestone:
    return Milestone(
        key=f"L1:run:{n}",
        lead_id="L1",
        kind=kind,
        at=datetime(2026, 12, 1, 9, n, tzinfo=UTC),
        cadence="drip",
        version=1,
        channel="email",
        step="e1",
    )


def test_a_batch_written_twice_is_stored_once(any_store: Store) -> None:
    log = JourneyLog(any_store)
    batch = [milestone(1), milestone(2), milestone(3, "stage")]
    assert log.record(batch) == 3
    assert log.record(batch) == 0  # a retried activity
    assert log.record([*batch, milestone(4)]) == 1  # a later, longer batch
    rows = log.rows("L1")
    assert [r.key for r in rows] == ["L1:run:1", "L1:run:2", "L1:run:3", "L1:run:4"]
    assert rows[0].at == datetime(2026, 12, 1, 9, 1, tzinfo=UTC)
    assert log.record([]) == 0


def test_the_lead_summary_follows_new_rows_only(any_store: Store) -> None:
    log = JourneyLog(any_store)
    enrolled = milestone(0, "enrolled").model_copy(update={"segment": "smb", "source": "ads"})
    ready = milestone(5, "stage").model_copy(update={"to_stage": "sales_ready"})
    won = milestone(9, "won").model_copy(update={"amount": 1200.0, "reason": "price"})
    batch = [enrolled, milestone(1), milestone(2), ready, won]
    log.record(batch)
    log.record(batch)  # replayed: the summary must not count twice
    (lead,) = log.summaries()
    assert (lead.touches, lead.emails, lead.segment, lead.source) == (2, 2, "smb", "ads")
    assert lead.touched_at == datetime(2026, 12, 1, 9, 1, tzinfo=UTC)
    assert lead.sales_ready_at == datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    assert (lead.amount, lead.reason) == (1200.0, "price")
