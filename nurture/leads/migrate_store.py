"""The migration runs started from the web page, kept in the store (``migration_runs``): the web
app may run in several processes (or restart), and any of them shows a run's progress and result,
and carries out a dry run's input. The process that runs it writes its progress every second;
a run whose writes stopped (its process ended) reads as interrupted. Lead ids only, no personal
data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from nurture.contracts import MigrateLead
from nurture.journey.migrate import MovePlan
from nurture.leads.migrate import MigrationReport, refusals
from nurture.store import Base, Store, UTCDateTime

#: A running run not written for this long has stopped with its process.
STALE = timedelta(seconds=30)
#: Runs kept (the oldest finished ones go first).
KEEP = 50


class MigrationRunRow(Base):
    """One dry run or migration started from the migrate page."""

    __tablename__ = "migration_runs"
    __table_args__ = (Index("ix_migration_runs_cadence_started", "cadence", "started"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    cadence: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[str] = mapped_column(String(255))
    segment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(Text)  # the MigrateLead (new version and mapping), JSON
    label: Mapped[str] = mapped_column(String(200))
    done: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    started: Mapped[datetime] = mapped_column(UTCDateTime())
    updated: Mapped[datetime] = mapped_column(UTCDateTime())
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # plans and report, JSON


@dataclass
class MigrationRun:
    """A run: its input, where it is, and its result (what its page shows)."""

    id: str
    action: MigrateLead
    segment: str | None
    dry_run: bool
    by: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    label: str = "Listing the running leads"
    done: int = 0
    total: int = 0
    plans: list[MovePlan] = field(default_factory=list)
    report: MigrationReport | None = None
    error: str | None = None
    finished: datetime | None = None

    def stage(self, label: str, total: int) -> None:
        """A new stage of the run (``nurture.leads.migrate.Progress``)."""
        self.label, self.total, self.done = label, total, 0

    def advance(self) -> None:
        """One more lead read or moved."""
        self.done += 1

    @property
    def running(self) -> bool:
        """True until the run has finished, failed or stopped with its process."""
        return self.finished is None and not self.interrupted

    @property
    def interrupted(self) -> bool:
        """True when the process running it stopped before it finished."""
        return self.finished is None and datetime.now(UTC) - self.updated > STALE

    @property
    def name(self) -> str:
        """The cadence's name."""
        return self.action.cadence.name

    @property
    def where(self) -> str | None:
        """The visibility filter of the segment, if one was chosen."""
        return f"Segment = '{self.segment}'" if self.segment else None

    @property
    def movable(self) -> list[MovePlan]:
        """The leads the run found able to move."""
        return [p for p in self.plans if p.refused is None]

    @property
    def refused(self) -> dict[str, str]:
        """Every refused lead and why (the reading's and the updates' refusals)."""
        if self.report is not None:
            return refusals(self.plans, self.report)
        return {p.lead_id: p.refused for p in self.plans if p.refused is not None}


class MigrationRunStore:
    """Reading and writing runs."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, run: MigrationRun) -> None:
        """Write the run as it is now (its progress, and its result once finished)."""
        run.updated = datetime.now(UTC)
        result = None
        if run.finished is not None:
            result = json.dumps(
                {
                    "plans": [asdict(p) for p in run.plans],
                    "report": asdict(run.report) if run.report else None,
                }
            )
        with self.store.session() as session, session.begin():
            row = session.get(MigrationRunRow, run.id)
            if row is None:
                row = MigrationRunRow(
                    id=run.id,
                    cadence=run.name,
                    version=run.action.cadence.version,
                    dry_run=run.dry_run,
                    by=run.by,
                    segment=run.segment,
                    action=run.action.model_dump_json(),
                    started=run.started,
                )
                session.add(row)
            row.label, row.done, row.total = run.label, run.done, run.total
            row.updated, row.finished, row.error = run.updated, run.finished, run.error
            row.result = result

    def get(self, run_id: str) -> MigrationRun | None:
        """A run by its id."""
        with self.store.session() as session:
            row = session.get(MigrationRunRow, run_id)
            return None if row is None else _run(row)

    def of_cadence(self, name: str, limit: int = 20) -> list[MigrationRun]:
        """The latest runs of a cadence, newest first (without their results)."""
        with self.store.session() as session:
            rows = session.scalars(
                select(MigrationRunRow)
                .where(MigrationRunRow.cadence == name)
                .order_by(MigrationRunRow.started.desc())
                .limit(limit)
            ).all()
            return [_run(row, with_result=False) for row in rows]

    def forget_old(self) -> None:
        """Keep the latest :data:`KEEP` runs."""
        with self.store.session() as session, session.begin():
            keep = select(MigrationRunRow.id).order_by(MigrationRunRow.started.desc()).limit(KEEP)
            kept = set(session.scalars(keep).all())
            session.execute(delete(MigrationRunRow).where(MigrationRunRow.id.not_in(kept)))


def _run(row: MigrationRunRow, with_result: bool = True) -> MigrationRun:
    action = MigrateLead.model_validate_json(row.action)
    run = MigrationRun(
        id=row.id,
        action=action,
        segment=row.segment,
        dry_run=row.dry_run,
        by=row.by,
        started=row.started,
        updated=row.updated,
        label=row.label,
        done=row.done,
        total=row.total,
        error=row.error,
        finished=row.finished,
    )
    if with_result and row.result:
        data: dict[str, Any] = json.loads(row.result)
        run.plans = [MovePlan(**p) for p in data["plans"]]
        if data["report"] is not None:
            run.report = MigrationReport(**data["report"])
    return run
