"""Counts kept current as milestones arrive, so the step, channel, desk and sales reports read a
few thousand rows instead of scanning a million-row log.

``journey_counts``: how many milestones of each kind, per UTC day, cadence, version, segment,
step, channel, variant, reason and rep (with the talk time of completed calls).
``journey_spans``: the time from a call task's creation to its first completion, one row per
task. Both are written in the same transaction as the log rows they count (see
:func:`fold`), sorted by key so concurrent journeys lock rows in one order.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import Date, Float, Integer, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from nurture.store import Base

__all__ = ["COUNT_KEYS", "JourneyCountRow", "JourneySpanRow", "aligned", "fold"]

#: What a count is kept per (``None`` is stored as ``""``).
COUNT_KEYS = (
    "day",
    "cadence",
    "version",
    "segment",
    "kind",
    "step",
    "channel",
    "variant",
    "reason",
    "rep",
)
#: Milestone kinds the counts keep (the reports that read them need no others).
COUNTED = frozenset(
    {
        "touch_sent",
        "event",
        "task_created",
        "task_assigned",
        "task_claimed",
        "task_completed",
        "task_overdue",
        "handoff_assigned",
        "handoff_escalated",
        "handoff_accepted",
        "handoff_declined",
        "sla_met",
        "sla_breached",
    }
)


class JourneyCountRow(Base):
    """How many milestones share one day, cadence, kind, step, channel, variant, reason, rep."""

    __tablename__ = "journey_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cadence: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    step: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    variant: Mapped[str] = mapped_column(String(200), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), primary_key=True)
    rep: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    #: Completed calls: their recorded talk time, and how many had one.
    talk_seconds: Mapped[int] = mapped_column(Integer, default=0)
    timed: Mapped[int] = mapped_column(Integer, default=0)


class JourneySpanRow(Base):
    """A call task's time to first attempt (created → first completion), credited to the rep
    who completed it, on the day of the completion."""

    __tablename__ = "journey_spans"

    touch_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    cadence: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(100))
    rep: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column(Float)


def aligned(moment: datetime | None) -> bool:
    """True when a period bound falls on a UTC midnight (the counts are per day)."""
    if moment is None:
        return True
    utc = moment.astimezone(UTC)
    return utc == datetime.combine(utc.date(), time(), UTC)


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def fold(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add new log rows (``journey_log`` values, each new) to the counts and spans."""
    rows = [row for row in rows if row["kind"] in COUNTED]
    if not rows:
        return
    owners = _owners(session, rows)
    counts: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        rep = row["rep"]
        if row["kind"] == "task_overdue" and not rep:
            rep = owners.get(row["touch_id"] or "")
        key = (
            _day(row["at"]),
            row["cadence"],
            row["version"],
            row["segment"] or "",
            row["kind"],
            row["step"] or "",
            row["channel"] or "",
            row["variant"] or "",
            row["reason"] or "",
            rep or "",
        )
        figures = counts[key]
        figures[0] += 1
        talk = row.get("talk_seconds")
        if talk is not None:
            figures[1] += talk
            figures[2] += 1
    values = [
        {**dict(zip(COUNT_KEYS, key, strict=True)), "n": n, "talk_seconds": s, "timed": t}
        for key, (n, s, t) in sorted(counts.items())
    ]
    session.connection().execute(_add_counts(session.get_bind().dialect.name), values)
    _spans(session, [row for row in rows if row["kind"] == "task_completed" and row["touch_id"]])


@functools.cache
def _add_counts(dialect: str) -> Any:
    """The counts' upsert (built once per dialect: its ``excluded`` columns cost a flush
    about 0.5 ms to build afresh)."""
    table = cast(Table, JourneyCountRow.__table__)
    statement = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
    return statement.on_conflict_do_update(
        index_elements=list(COUNT_KEYS),
        set_={
            "n": table.c.n + statement.excluded.n,
            "talk_seconds": table.c.talk_seconds + statement.excluded.talk_seconds,
            "timed": table.c.timed + statement.excluded.timed,
        },
    )


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)


def _task_rows(
    session: Session, touch_ids: Iterable[str], kinds: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Earlier log rows of these kinds for these call tasks (by the touch-id index)."""
    t = Base.metadata.tables["journey_log"].c  # the log's table (its module imports this one)
    ids = sorted(set(touch_ids))
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        query = (
            select(t.touch_id, t.kind, t.at, t.rep, t.reason, t.id)
            .where(t.touch_id.in_(ids[start : start + 500]), t.kind.in_(kinds))
            .order_by(t.at, t.id)
        )
        found.extend(dict(r) for r in session.execute(query).mappings())
    return found


def _owners(session: Session, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Whose each queue task was when it went overdue without an assignee (the last rep to be
    assigned or claim it, else its queue), as the desk report credits it."""
    tasks = {row["touch_id"] for row in rows if row["kind"] == "task_overdue" and not row["rep"]}
    tasks.discard(None)
    if not tasks:
        return {}
    owners: dict[str, str] = {}
    kinds = ("task_created", "task_assigned", "task_claimed")
    for row in _task_rows(session, tasks, kinds):  # the batch's rows are already in the log
        if row["kind"] == "task_created":
            owners[row["touch_id"]] = row["rep"] or f"queue {row['reason'] or '—'}"
        elif row["rep"]:
            owners[row["touch_id"]] = row["rep"]
    return owners


def _spans(session: Session, completed: list[dict[str, Any]]) -> None:
    """Time to first attempt for the tasks these completions are the first of."""
    if not completed:
        return
    created = {
        row["touch_id"]: row["at"]
        for row in _task_rows(session, (row["touch_id"] for row in completed), ("task_created",))
    }
    first: dict[str, dict[str, Any]] = {}
    for row in sorted(completed, key=lambda r: r["at"]):
        task = row["touch_id"]
        if task in created and task not in first:
            first[task] = {
                "touch_id": task,
                "day": _day(row["at"]),
                "cadence": row["cadence"],
                "version": row["version"],
                "segment": row["segment"] or "",
                "rep": row["rep"] or "—",
                "seconds": round((row["at"] - created[task]).total_seconds(), 3),
            }
    if first:
        table = cast(Table, JourneySpanRow.__table__)
        statement = _insert(session, table).on_conflict_do_nothing(index_elements=["touch_id"])
        session.connection().execute(statement, [first[k] for k in sorted(first)])
