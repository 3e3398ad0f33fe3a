"""What every report shares: the filters, the report's shape, the per-lead milestones reached,
and small figures (shares, ratios, medians)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Select, String, cast, func, literal, select

from nurture.journeylog.rollup import JourneyCountRow, aligned
from nurture.journeylog.store import JourneyLogRow
from nurture.journeylog.summary import FUNNEL, JourneyLeadRow
from nurture.store import Store, UTCDateTime

#: Call outcomes where a person answered.
CONNECTS = frozenset(
    {
        "call.connected",
        "call.meeting_booked",
        "call.qualified",
        "call.not_interested",
        "call.call_back_later",
    }
)
REPLIES = frozenset({"email.reply", "sms.reply"})


@dataclass(frozen=True)
class Filters:
    """Which journeys a report covers, and how it is grouped."""

    cadence: str | None = None
    version: int | None = None
    segment: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    group_by: str | None = None
    confidence: float = 0.95


@dataclass
class Report:
    """A table of figures with the meaning of each column."""

    kind: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    explain: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        """Each row as ``{column: value}``."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


# ---------------------------------------------------------------- helpers


def _filtered(query: Any, f: Filters, table: Any, at: Any) -> Any:
    """``query`` narrowed to the filters' cadence, version, segment and period (on ``at``)."""
    if f.cadence:
        query = query.where(table.cadence == f.cadence)
    if f.version is not None:
        query = query.where(table.version == f.version)
    if f.segment:
        query = query.where(table.segment == f.segment)
    if f.start:
        query = query.where(at >= f.start)
    if f.end:
        query = query.where(at < f.end)
    return query


def log_where(query: Any, f: Filters) -> Any:
    """A query on the log, narrowed to the filters (the period: when the milestone happened)."""
    return _filtered(query, f, JourneyLogRow, JourneyLogRow.at)


def counted(f: Filters) -> bool:
    """True when the per-day counts (``journey_counts``) answer for these filters: the period,
    if any, runs from one UTC midnight to another."""
    return aligned(f.start) and aligned(f.end)


def count_where(query: Any, f: Filters, table: Any = JourneyCountRow) -> Any:
    """A query on the per-day counts (or spans), narrowed to the filters (see
    :func:`counted`)."""
    c = table
    return _filtered(
        query,
        Filters(cadence=f.cadence, version=f.version, segment=f.segment),
        c,
        c.day,
    ).where(
        *([c.day >= f.start.astimezone(UTC).date()] if f.start else []),
        *([c.day < f.end.astimezone(UTC).date()] if f.end else []),
    )


def lead_where(query: Select[Any], f: Filters) -> Select[Any]:
    """A query on the leads' summaries, narrowed to the filters (the period: enrolment)."""
    result: Select[Any] = _filtered(query, f, JourneyLeadRow, JourneyLeadRow.enrolled_at)
    return result


def epoch(column: Any, dialect: str) -> Any:
    """A time column read as seconds since 1970 (a float): reading tens of thousands of
    summaries, parsing their times into datetimes cost more than the query itself."""
    if dialect == "sqlite":
        seconds = (func.julianday(column) - 2440587.5) * 86400.0
    else:
        seconds = func.extract("epoch", column)
    return cast(seconds, Float).label(column.key)


def summaries(store: Store, f: Filters, *where: Any) -> list[Any]:
    """The leads' summary rows (plain rows, attribute access), times as epoch seconds (see
    :func:`epoch`), narrowed to the filters and any further ``where`` clauses."""
    dialect = store.engine.dialect.name
    columns = [
        epoch(c, dialect) if isinstance(c.type, UTCDateTime) else c
        for c in JourneyLeadRow.__table__.columns
    ]
    with store.session() as session:
        return list(session.execute(lead_where(select(*columns), f).where(*where)))


def group_column(group: str | None, dialect: str) -> Any:
    """The SQL of :func:`lead_group` on ``journey_leads``, labelled ``grp``."""
    t = JourneyLeadRow
    if group in (None, "step", "channel", "variant", "rep"):
        value: Any = literal("all")
    elif group == "week":
        if dialect == "sqlite":
            monday = func.date(t.enrolled_at, "-6 days", "weekday 1")
        else:
            monday = func.to_char(
                func.date_trunc("week", func.timezone("UTC", t.enrolled_at)), "YYYY-MM-DD"
            )
        value = func.coalesce(monday, "—")
    else:
        value = func.coalesce(func.nullif(cast(getattr(t, group), String), ""), "—")
    return value.label("grp")


def reached_column(stage: str) -> Any:
    """The SQL of "the lead reached ``stage``" (a later stage implies it)."""
    t = JourneyLeadRow
    later = [getattr(t, f"{s}_at") for s in FUNNEL[FUNNEL.index(stage) :]]
    return func.coalesce(*later).is_not(None) if len(later) > 1 else later[0].is_not(None)


def grouped(store: Store, f: Filters, group: str | None, *columns: Any) -> list[Any]:
    """Aggregate ``columns`` over the filtered leads, per :func:`group_column` (first column
    ``grp``)."""
    grp = group_column(group, store.engine.dialect.name)
    query = lead_where(select(grp, *columns), f).group_by(grp).order_by(grp)
    with store.session() as session:
        return list(session.execute(query))


def _week(at: float | None) -> str:
    if at is None:
        return "—"
    day = datetime.fromtimestamp(at, UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def lead_group(lead: Any, group: str | None) -> str:
    if group in (None, "step", "channel", "variant", "rep"):
        return "all"
    if group == "week":
        return _week(lead.enrolled_at)
    return str(getattr(lead, group)) or "—"


def pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def ratio(amount: float, count: float) -> float | None:
    return round(amount / count, 2) if count else None


def median_days(spans: list[float]) -> float | None:
    """The median of spans given in seconds, in days."""
    if not spans:
        return None
    return round(statistics.median(spans) / 86400, 2)


def median_hours(spans: list[float]) -> float | None:
    """The median of spans given in seconds, in hours."""
    if not spans:
        return None
    return round(statistics.median(spans) / 3600, 2)
