"""What every report shares: the filters, the report's shape, the per-lead milestones reached,
and small figures (shares, ratios, medians)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from nurture.journeylog.store import JourneyLogRow
from nurture.journeylog.summary import FUNNEL, JourneyLeadRow
from nurture.store import Store

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
DISPOSITION_CONNECTS = frozenset(
    {"connected", "meeting_booked", "qualified", "not_interested", "call_back_later"}
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


def lead_where(query: Select[Any], f: Filters) -> Select[Any]:
    """A query on the leads' summaries, narrowed to the filters (the period: enrolment)."""
    result: Select[Any] = _filtered(query, f, JourneyLeadRow, JourneyLeadRow.enrolled_at)
    return result


def summaries(store: Store, f: Filters) -> list[Any]:
    """The leads' summary rows (plain rows, attribute access: far cheaper than ORM objects)."""
    columns = JourneyLeadRow.__table__.columns
    with store.session() as session:
        return list(session.execute(lead_where(select(*columns), f)))


def _week(at: datetime | None) -> str:
    if at is None:
        return "—"
    monday = at.date() - timedelta(days=at.weekday())
    return monday.isoformat()


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


def median_days(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 86400, 2)


def median_hours(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 3600, 2)


def reached(lead: Any) -> dict[str, datetime | None]:
    """When the lead reached each funnel stage; a later stage implies the earlier ones (a lead
    promoted by a meeting was engaged, whether or not a separate event said so)."""
    times: dict[str, datetime | None] = {
        stage: getattr(lead, f"{stage}_at") for stage in FUNNEL if stage != "won"
    }
    times["won"] = lead.won_at
    if times["enrolled"] is None:  # a journey from before the log: it was enrolled
        times["enrolled"] = min((t for t in times.values() if t), default=None)
    later: datetime | None = None
    for stage in reversed(FUNNEL):
        if times[stage] is None and later is not None:
            times[stage] = later
        later = times[stage] or later
    return times
