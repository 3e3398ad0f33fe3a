"""The journey log store: insert-or-ignore on the key, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from nurture.journey.state import Milestone
from nurture.journeylog.store import COPY_FROM, JourneyLog
from nurture.store import Store
from tests.conftest import ROOT


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


def test_the_migration_counts_an_existing_log_as_the_writes_do(any_store: Store) -> None:
    """0009_talk_time fills journey_counts and journey_spans from the log already there: the
    same rows rollup.fold keeps as milestones arrive (SQLite and PostgreSQL SQL both)."""
    import importlib.util

    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import delete, select, update

    from nurture.journeylog.rollup import JourneyCountRow, JourneySpanRow
    from nurture.journeylog.summary import JourneyLeadRow
    from tests.journeylog.test_reports import sample_log

    sample_log(any_store)
    task = [
        milestone(20, "task_created").model_copy(update={"touch_id": "T1", "reason": "sdr"}),
        milestone(21, "task_assigned").model_copy(update={"touch_id": "T1", "rep": "amy"}),
        milestone(22, "task_overdue").model_copy(update={"touch_id": "T1"}),
        milestone(23, "task_completed").model_copy(
            update={"touch_id": "T1", "rep": "amy", "reason": "connected", "talk_seconds": 90}
        ),
    ]
    JourneyLog(any_store).record(task)

    def snapshot() -> tuple[list[object], list[object], list[object]]:
        with any_store.session() as session:
            counts = sorted(tuple(r) for r in session.execute(select(*JourneyCountRow.__table__.c)))
            spans = sorted(tuple(r) for r in session.execute(select(*JourneySpanRow.__table__.c)))
            connects = sorted(
                tuple(r)
                for r in session.execute(select(JourneyLeadRow.lead_id, JourneyLeadRow.connects))
            )
        return counts, spans, connects  # type: ignore[return-value]

    kept = snapshot()
    assert kept[0] and kept[1] and ("L1", 1) in kept[2]
    path = ROOT / "nurture" / "migrations" / "versions" / "0009_talk_time.py"
    spec = importlib.util.spec_from_file_location("talk_time", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with any_store.engine.begin() as connection:
        connection.execute(delete(JourneyCountRow))
        connection.execute(delete(JourneySpanRow))
        connection.execute(update(JourneyLeadRow).values(connects=0))
        with Operations.context(MigrationContext.configure(connection)):
            migration._backfill()
    assert snapshot() == kept


def test_a_big_batch_is_written_once_too(any_store: Store) -> None:
    """A batch past COPY_FROM rows (PostgreSQL: the COPY path), retried with more rows."""
    log = JourneyLog(any_store)
    batch = [
        milestone(n % 60, "touch_sent").model_copy(update={"key": f"L1:big:{n}"})
        for n in range(COPY_FROM + 50)
    ]
    assert log.record(batch) == len(batch)
    assert log.record([*batch, milestone(1).model_copy(update={"key": "L1:big:x"})]) == 1
    (lead,) = log.summaries()
    assert lead.touches == lead.emails == len(batch) + 1
    assert len(log.rows("L1")) == len(batch) + 1
