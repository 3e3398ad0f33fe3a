"""The ``journey_log`` table: append-only milestones, written once per idempotency key.

A batch of milestones is inserted with "insert or ignore" on ``key`` (SQLite and PostgreSQL
``ON CONFLICT DO NOTHING``), so a retried activity, a replayed workflow or a worker killed
mid-write never doubles a row. Times are UTC; no personal data beyond the lead id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Float, Index, Integer, String, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from nurture.journey.milestones import Milestone
from nurture.store import Base, Store, UTCDateTime

__all__ = ["JourneyLog", "JourneyLogRow"]

#: Rows per INSERT statement (SQLite allows 32,766 bound parameters; 19 columns a row).
CHUNK = 500


class JourneyLogRow(Base):
    """One milestone of one journey."""

    __tablename__ = "journey_log"
    __table_args__ = (
        Index("ix_journey_log_kind_at", "kind", "at"),
        Index("ix_journey_log_lead_at", "lead_id", "at"),
        Index("ix_journey_log_touch", "touch_id"),
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


class JourneyLog:
    """Writes and reads the journey log on a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, milestones: Sequence[Milestone]) -> int:
        """Insert the milestones not already there; returns how many were new."""
        rows = [m.model_dump() for m in milestones]
        if not rows:
            return 0
        dialect = self.store.engine.dialect.name
        table = cast(Table, JourneyLogRow.__table__)
        if dialect not in ("sqlite", "postgresql"):
            return sum(self._insert_one(table, row) for row in rows)
        dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        new = 0
        with self.store.session() as session, session.begin():
            for start in range(0, len(rows), CHUNK):
                statement = (
                    dialect_insert(table)
                    .values(rows[start : start + CHUNK])
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(table.c.id)
                )
                new += len(list(session.scalars(statement)))
        return new

    def _insert_one(self, table: Table, row: dict[str, Any]) -> bool:
        try:
            with self.store.session() as session, session.begin():
                session.execute(insert(table).values(row))
        except IntegrityError:
            return False
        return True

    def rows(self, lead_id: str | None = None) -> list[JourneyLogRow]:
        """Every row (of one lead), in the order written."""
        query = select(JourneyLogRow).order_by(JourneyLogRow.id)
        if lead_id is not None:
            query = query.where(JourneyLogRow.lead_id == lead_id)
        with self.store.session() as session:
            return list(session.scalars(query))
