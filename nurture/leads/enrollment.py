"""Enrolment: read leads from CSV, route them to a cadence, and start one journey per lead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from nurture.cadence.model import Cadence
from nurture.cadence.sales import SalesRules, load_sales_rules
from nurture.cadence.scoring import ScoringModel, load_scoring
from nurture.calendar import CalendarSnapshot, holiday_dates, zone_rules
from nurture.journey import engine
from nurture.journey.state import Journey, JourneyInput
from nurture.lead import Lead, PostalAddress
from nurture.leads.csvrows import read_rows
from nurture.temporal import visibility
from nurture.temporal.calls import RPC_TIMEOUT
from nurture.temporal.ids import JOURNEY_WORKFLOW, workflow_id

LEAD_COLUMNS = {name for name in Lead.model_fields if name not in ("address", "fields")}
ADDRESS_PREFIX = "address_"
#: Calendar years of holidays snapshotted into a journey (this year and the next two).
HOLIDAY_YEARS = 3


class RowError(BaseModel):
    """A lead that could not be enrolled, and why."""

    line: int
    lead_id: str | None = None
    message: str

    def __str__(self) -> str:
        who = f" ({self.lead_id})" if self.lead_id else ""
        return f"line {self.line}{who}: {self.message}"


class EnrollReport(BaseModel):
    """What an enrolment run did."""

    started: list[str] = []
    already_enrolled: list[str] = []
    rejected: list[RowError] = []


def lead_from_row(row: dict[str, str]) -> Lead:
    """A lead from one CSV row: known columns, ``address_*`` columns, the rest as CRM fields."""
    values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    known = {k: v for k, v in values.items() if k in LEAD_COLUMNS and v}
    address = {
        k.removeprefix(ADDRESS_PREFIX): v
        for k, v in values.items()
        if k.startswith(ADDRESS_PREFIX) and v
    }
    fields = {
        k: v
        for k, v in values.items()
        if k not in LEAD_COLUMNS and not k.startswith(ADDRESS_PREFIX) and v
    }
    return Lead.from_input(
        {**known, "address": PostalAddress(**address) if address else None, "fields": fields}
    )


def read_leads(path: Path) -> tuple[list[tuple[int, Lead]], list[RowError]]:
    """Parse a leads CSV; bad rows are reported with their line number, good ones kept
    (encoding, quoting, control characters, over-long values and short rows included)."""
    leads: list[tuple[int, Lead]] = []
    seen: dict[str, int] = {}
    rows = read_rows(path.read_bytes())
    errors = [RowError(line=line, lead_id=who, message=why) for line, who, why in rows.problems]
    if not rows.header and not rows.problems:
        return [], [RowError(line=1, message="the header row needs an 'id' column")]
    if rows.header and "id" not in rows.header:
        return [], [*errors, RowError(line=1, message="the header row needs an 'id' column")]
    for start, row in rows.records:
        lead_id = (row.get("id") or "").strip() or None
        try:
            lead = lead_from_row(row)
        except ValidationError as exc:
            reasons = "; ".join(_reason(e) for e in exc.errors())
            errors.append(RowError(line=start, lead_id=lead_id, message=reasons))
            continue
        if lead.id in seen:
            errors.append(
                RowError(line=start, lead_id=lead.id, message=f"duplicate of line {seen[lead.id]}")
            )
            continue
        seen[lead.id] = start
        leads.append((start, lead))
    errors.sort(key=lambda e: e.line)
    return leads, errors


def _reason(error: ErrorDetails) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def route(lead: Lead, cadences: Iterable[Cadence]) -> Cadence:
    """The cadence for a lead's segment (or the default cadence)."""
    cadences = list(cadences)
    matches = [c for c in cadences if lead.segment and lead.segment in c.audience.segments]
    if not matches:
        matches = [c for c in cadences if c.audience.default]
    if len(matches) != 1:
        names = ", ".join(c.name for c in matches) or "none"
        raise LookupError(
            f"segment {lead.segment or '(empty)'!r} matches {len(matches)} "
            f"cadences ({names}); name one with --cadence"
        )
    return matches[0]


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, first_year: int) -> tuple[date, ...]:
    return tuple(holiday_dates(country, subdivision, range(first_year, first_year + HOLIDAY_YEARS)))


def snapshot_calendar(lead: Lead, cadence: Cadence, today: date) -> CalendarSnapshot:
    """The lead's zone and holidays as of ``today``: fixed for the journey's replays."""
    country = lead.country or cadence.calendar.country
    subdivision = cadence.calendar.subdivision if country == cadence.calendar.country else None
    timezone = lead.timezone or cadence.calendar.timezone
    return CalendarSnapshot(
        timezone=timezone,
        zone_rules=zone_rules(timezone),
        country=country,
        subdivision=subdivision,
        holidays=list(_holidays(country, subdivision, today.year)),
    )


class Rules(BaseModel):
    """The scoring model and sales rules beside the cadences (snapshotted into each journey)."""

    scoring: ScoringModel | None = None
    sales: SalesRules | None = None


def load_rules(directory: Path) -> Rules:
    """``scoring.yaml`` and ``sales.yaml`` from the cadences folder (each optional)."""
    scoring, sales = directory / "scoring.yaml", directory / "sales.yaml"
    return Rules(
        scoring=load_scoring(scoring) if scoring.exists() else None,
        sales=load_sales_rules(sales) if sales.exists() else None,
    )


def new_journey(lead: Lead, cadence: Cadence, now: datetime, rules: Rules | None = None) -> Journey:
    """A journey ready to start."""
    rules = rules or Rules()
    calendar = snapshot_calendar(lead, cadence, now.date())
    return engine.start(lead, cadence, calendar, now, rules.scoring, rules.sales)


async def enroll(
    client: Client,
    lead: Lead,
    cadence: Cadence,
    task_queue: str,
    *,
    history_limit: int = 10_000,
    rules: Rules | None = None,
) -> bool:
    """Start the lead's journey; False if it is already enrolled (the same lead = one journey)."""
    journey = new_journey(lead, cadence, datetime.now(UTC), rules)
    try:
        await client.start_workflow(
            JOURNEY_WORKFLOW,
            JourneyInput(journey=journey, history_limit=history_limit),
            id=workflow_id(lead.id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=visibility.typed(visibility.journey_values(journey)),
            static_summary=f"Lead {lead.id} · {cadence.name} v{cadence.version}",
            rpc_timeout=RPC_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def enroll_many(
    client: Client,
    leads: list[tuple[int, Lead]],
    cadences: list[Cadence],
    task_queue: str,
    *,
    cadence: Cadence | None = None,
    concurrency: int = 64,
    on_done: Callable[[], None] | None = None,
    rules: Rules | None = None,
) -> EnrollReport:
    """Enrol many leads concurrently; one lead's failure never stops the others."""
    report = EnrollReport()
    gate = asyncio.Semaphore(concurrency)

    async def one(line: int, lead: Lead) -> None:
        async with gate:
            try:
                chosen = cadence or route(lead, cadences)
                new = await enroll(client, lead, chosen, task_queue, rules=rules)
            except LookupError as exc:
                report.rejected.append(RowError(line=line, lead_id=lead.id, message=str(exc)))
            else:
                (report.started if new else report.already_enrolled).append(lead.id)
            if on_done is not None:
                on_done()

    await asyncio.gather(*(one(line, lead) for line, lead in leads))
    return report
