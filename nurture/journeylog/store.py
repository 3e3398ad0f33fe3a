"""The ``journey_log`` table: append-only milestones, written once per idempotency key.

A batch of milestones is inserted with "insert or ignore" on ``key`` (SQLite and PostgreSQL
``ON CONFLICT DO NOTHING``), so a retried activity, a replayed workflow or a worker killed
mid-write never doubles a row. Times are UTC; no personal data beyond the lead id.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Float,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from nurture.journey.state import Milestone
from nurture.journeylog import rollup, summary
from nurture.journeylog.summary import JourneyLeadRow
from nurture.store import Base, Store, UTCDateTime

__all__ = ["JourneyLeadRow", "JourneyLog", "JourneyLogRow"]

#: Rows per executemany (and per ``IN`` list of lead ids); the driver pages them further.
CHUNK = 5000
#: From this many rows a PostgreSQL batch is written with ``COPY`` (:func:`_copy_in`).
COPY_FROM = 200


class JourneyLogRow(Base):
    """One milestone of one journey."""

    __tablename__ = "journey_log"
    __table_args__ = (
        Index("ix_journey_log_kind_at", "kind", "at"),
        Index("ix_journey_log_lead_kind", "lead_id", "kind", "at"),
        Index("ix_journey_log_touch", "touch_id"),
        Index("ix_journey_log_counts", "kind", "step", "channel", "variant", "reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    lead_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    cadence: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(100), default="")
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    step: Mapped[str | None] = mapped_column(String(100), default=None)
    channel: Mapped[str | None] = mapped_column(String(32), default=None)
    variant: Mapped[str | None] = mapped_column(String(200), default=None)
    touch_id: Mapped[str | None] = mapped_column(String(300), default=None)
    from_stage: Mapped[str | None] = mapped_column(String(32), default=None)
    to_stage: Mapped[str | None] = mapped_column(String(32), default=None)
    amount: Mapped[float | None] = mapped_column(Float, default=None)
    points: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    rep: Mapped[str | None] = mapped_column(String(64), default=None)
    #: A completed call task's talk time, when the rep recorded it.
    talk_seconds: Mapped[int | None] = mapped_column(Integer, default=None)


class JourneyLog:
    """Writes and reads the journey log on a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, milestones: Sequence[Milestone]) -> int:
        """Insert the milestones not already there and fold the new ones into their leads'
        summaries, in one transaction; returns how many were new."""
        return self.record_rows([m.model_dump() for m in milestones])

    def record_rows(self, rows: list[dict[str, Any]]) -> int:
        """:meth:`record` of milestones given as ``journey_log`` column values.

        One transaction for the batch; the insert is one compiled statement run as an
        executemany (SQLAlchemy's "insertmanyvalues" sends pages of rows per round trip), so a
        journey's few rows and the bench's thousands go the same fast way."""
        rows = _complete(_unique(rows))
        if not rows:
            return 0
        dialect = self.store.engine.dialect.name
        table = cast(Table, JourneyLogRow.__table__)
        if dialect not in ("sqlite", "postgresql"):
            return sum(self._insert_one(table, row) for row in rows)
        statement = _insert_new(dialect)
        with _one_writer(dialect), self.store.session() as session, session.begin():
            connection = session.connection()
            keys: set[str] = set()
            if dialect == "postgresql" and len(rows) >= COPY_FROM:
                keys = _copy_in(connection, rows)
            else:
                for start in range(0, len(rows), CHUNK):
                    result = connection.execute(statement, rows[start : start + CHUNK])
                    keys.update(result.scalars())
            new = [row for row in rows if row["key"] in keys]
            _summarise(session, new)
            rollup.fold(session, new)
        return len(new)

    def _insert_one(self, table: Table, row: dict[str, Any]) -> bool:
        try:
            with self.store.session() as session, session.begin():
                session.execute(insert(table).values(row))
                _summarise(session, [row])
                rollup.fold(session, [row])
        except IntegrityError:
            return False
        return True

    def summaries(self) -> list[JourneyLeadRow]:
        """Every lead's summary."""
        with self.store.session() as session:
            return list(session.scalars(select(JourneyLeadRow).order_by(JourneyLeadRow.lead_id)))

    def rows(self, lead_id: str | None = None) -> list[JourneyLogRow]:
        """Every row (of one lead), in the order written."""
        query = select(JourneyLogRow).order_by(JourneyLogRow.id)
        if lead_id is not None:
            query = query.where(JourneyLogRow.lead_id == lead_id)
        with self.store.session() as session:
            return list(session.scalars(query))


#: SQLite takes one writer at a time; this process's log writers (up to one per activity
#: thread) queue here and are woken in turn, instead of in SQLite's busy handler, which polls
#: with sleeps of up to 100 ms: 32 threads writing at once took up to 5 s a write there and
#: failed with "database is locked".
_SQLITE_WRITER = threading.Lock()


def _one_writer(dialect: str) -> AbstractContextManager[object]:
    """This process's turn to write the log (SQLite; PostgreSQL writes side by side)."""
    return _SQLITE_WRITER if dialect == "sqlite" else contextlib.nullcontext()


@functools.cache
def _insert_new(dialect: str) -> Any:
    """Insert-or-ignore on ``key``, returning the keys that were new (built once per dialect)."""
    table = cast(Table, JourneyLogRow.__table__)
    dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return (
        dialect_insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    )


def _copy_in(connection: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """PostgreSQL, a big batch: ``COPY`` the rows into a temporary table, then insert those
    whose key is new in one statement (a many-row ``INSERT`` spent most of its time having
    its hundreds of thousands of placeholders parsed by the driver). Returns the new keys."""
    columns = [c.name for c in JourneyLogRow.__table__.columns if c.name != "id"]
    names = ", ".join(columns)
    driver = connection.connection.driver_connection
    assert driver is not None, "a live connection has its driver's connection"
    cursor = driver.cursor()
    try:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS journey_log_in ON COMMIT DELETE ROWS AS"
            f" SELECT {names} FROM journey_log WITH NO DATA"
        )
        with cursor.copy(f"COPY journey_log_in ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        cursor.execute(
            f"INSERT INTO journey_log ({names}) SELECT {names} FROM journey_log_in"
            " ON CONFLICT (key) DO NOTHING RETURNING key"
        )
        keys = {key for (key,) in cursor.fetchall()}
    finally:
        cursor.close()
    return keys


def _complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every column (one executemany needs the same keys in each row)."""
    columns = JourneyLogRow.__table__.columns.keys()
    if all(len(row) == len(columns) for row in rows):
        return rows
    blank = dict.fromkeys(c for c in columns if c != "id")
    return [{**blank, **row} for row in rows]


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with each key once (the first), so a batch repeating a key counts it once."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["key"], row)
    return list(seen.values()) if len(seen) < len(rows) else rows


def _summarise(session: Session, rows: list[dict[str, Any]]) -> None:
    """Fold new milestones into their leads' ``journey_leads`` rows (in the caller's
    transaction, so the summary never disagrees with the log)."""
    if not rows:
        return
    table = cast(Table, JourneyLeadRow.__table__)
    lead_ids = sorted({row["lead_id"] for row in rows})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(lead_ids), CHUNK):
        query = select(table).where(table.c.lead_id.in_(lead_ids[start : start + CHUNK]))
        found.update((r["lead_id"], dict(r)) for r in session.execute(query).mappings())
    values = {lead: found.get(lead) or summary.empty(lead) for lead in lead_ids}
    for row in rows:
        summary.apply(values[row["lead_id"]], row)
    changed = [{"_lead": lead, **v} for lead, v in values.items() if lead in found]
    if changed:
        session.execute(
            update(table).where(table.c.lead_id == bindparam("_lead")),
            [{k: v for k, v in c.items() if k != "lead_id"} for c in changed],
        )
    new = [v for lead, v in values.items() if lead not in found]
    if new:
        session.execute(insert(table), new)
