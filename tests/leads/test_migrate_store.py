"""Migration runs in the store: a run's progress and result read back the same from any web
process; a run whose writes stopped reads as interrupted; only the latest runs are kept; one
migration of a cadence at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nurture.contracts import MigrateLead
from nurture.journey.migrate import MovePlan
from nurture.leads import migrate_store
from nurture.leads.migrate import MigrationReport
from nurture.leads.migrate_runs import MigrationRuns
from nurture.leads.migrate_store import MigrationRun, MigrationRunRow, MigrationRunStore
from nurture.store import Store
from nurture.temporal.calls import LeadError
from tests.leads.test_migrate_live import V2, cadence


def a_run(run_id: str = "r1", dry_run: bool = False) -> MigrationRun:
    action = MigrateLead(cadence=cadence(V2), mapping={"wait-b": "wait-b2"}, by="mia (web)")
    return MigrationRun(id=run_id, action=action, segment="moving", dry_run=dry_run, by="mia")


def test_a_run_reads_back_with_its_progress_and_result(store_url: str) -> None:
    store = Store(store_url)
    runs = MigrationRunStore(store)
    run = a_run()
    run.stage("Reading 2 lead(s) on moving", 2)
    run.advance()
    runs.save(run)
    seen = runs.get("r1")
    assert seen is not None and seen.running and not seen.interrupted
    assert (seen.label, seen.done, seen.total) == ("Reading 2 lead(s) on moving", 1, 2)
    assert seen.action == run.action and seen.where == "Segment = 'moving'"

    run.plans = [
        MovePlan("L1", 1, "c1 wait-a (waiting)", "v2 wait-a"),
        MovePlan("L2", 1, "c1 wait-a (with sales)", None, "lead L2 is with sales"),
    ]
    run.report = MigrationReport(moved={"L1": "Move to moving v2 requested"})
    run.finished = datetime.now(UTC)
    runs.save(run)
    done = runs.get("r1")
    assert done is not None and not done.running
    assert done.plans == run.plans and done.report == run.report
    assert done.refused == {"L2": "lead L2 is with sales"}
    assert [r.id for r in runs.of_cadence("moving")] == ["r1"]
    assert runs.get("nope") is None
    store.close()


def test_a_run_whose_writes_stopped_is_interrupted(store_url: str) -> None:
    store = Store(store_url)
    runs = MigrationRunStore(store)
    runs.save(a_run())
    seen = runs.get("r1")
    assert seen is not None
    seen.updated -= migrate_store.STALE + timedelta(seconds=1)
    assert seen.interrupted and not seen.running
    store.close()


def test_only_the_latest_runs_are_kept(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrate_store, "KEEP", 3)
    store = Store(store_url)
    runs = MigrationRunStore(store)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    for n in range(5):
        run = a_run(f"r{n}", dry_run=True)
        run.started = start + timedelta(minutes=n)
        runs.save(run)
    runs.forget_old()
    assert [r.id for r in runs.of_cadence("moving")] == ["r4", "r3", "r2"]
    store.close()


async def test_a_second_migration_of_a_cadence_waits_for_the_first(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}", upgrade=True)
    runs = MigrationRuns(store)
    runs.saved.save(a_run("first"))  # a migration running in some web process
    with pytest.raises(LeadError, match="still running") as refused:
        await runs.start(None, a_run().action, None, dry_run=False, by="mia")  # type: ignore[arg-type]
    assert refused.value.status == 409
    stale = a_run("first")
    stale.updated -= migrate_store.STALE + timedelta(seconds=1)
    with store.session() as session, session.begin():  # its process stopped long ago
        row = session.get(MigrationRunRow, "first")
        assert row is not None
        row.updated = stale.updated
    assert runs.busy("moving") is None
    store.close()
