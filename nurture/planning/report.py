"""A forecast's figures per day and per week: touches per channel, the call desk's load against
its capacity, deferrals, sales-ready leads per team, cost; and the summary."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from nurture.csvfiles import write_rows
from nurture.events import Channel
from nurture.planning.forecast import Plan, Tally

CHANNELS = [c.value for c in Channel]


@dataclass
class Period:
    """One day or one week of the forecast."""

    start: date
    days: int
    touches: Counter[str] = field(default_factory=Counter)
    call_tasks: Counter[str] = field(default_factory=Counter)
    call_minutes: Counter[str] = field(default_factory=Counter)
    capacity: dict[str, float] = field(default_factory=dict)
    deferrals: Counter[str] = field(default_factory=Counter)
    sales_ready: Counter[str] = field(default_factory=Counter)
    cost: float = 0.0
    over: list[str] = field(default_factory=list)
    days_over: int = 0
    variants: Counter[str] = field(default_factory=Counter)

    @property
    def touch_total(self) -> int:
        return sum(self.touches.values())


@dataclass
class VariantCount:
    """One A/B variant across the forecast: its weight's share and the touches it got."""

    cadence: str
    step: str
    variant: str
    weight_share: float
    touches: int
    #: Its share of the step's touches (compare with ``weight_share``).
    share: float

    @property
    def key(self) -> str:
        return f"{self.cadence}/{self.step}/{self.variant}"


@dataclass
class Summary:
    """The forecast in a few figures."""

    leads: int
    touches: Counter[str]
    call_tasks: Counter[str]
    call_hours: float
    days_over: Counter[str]
    deferrals: Counter[str]
    sales_ready: Counter[str]
    opportunities: float
    cost: dict[str, float]
    outcomes: Counter[str]
    currency: str
    variants: list[VariantCount] = field(default_factory=list)

    @property
    def total_cost(self) -> float:
        return sum(self.cost.values())

    @property
    def sales_ready_total(self) -> int:
        return sum(self.sales_ready.values())

    @property
    def cost_per_sales_ready(self) -> float | None:
        return self.total_cost / self.sales_ready_total if self.sales_ready_total else None

    @property
    def cost_per_opportunity(self) -> float | None:
        return self.total_cost / self.opportunities if self.opportunities else None


@dataclass
class Report:
    """Days, weeks and the summary of one forecast."""

    plan: Plan
    days: list[Period]
    weeks: list[Period]
    summary: Summary
    queues: list[str]
    teams: list[str]


def build_report(plan: Plan, tally: Tally) -> Report:
    """Per day and per week, capacity checked per queue."""
    first, last = plan.start.date(), plan.until.date()
    queues = sorted({q for _, q in tally.call_tasks} | set(plan.desk.queues) & _used_queues(plan))
    teams = sorted({t for _, t in tally.sales_ready})
    days: dict[date, Period] = {}
    span = (last - first).days + 1
    for n in range(span):
        day = first + timedelta(days=n)
        period = days[day] = Period(day, 1)
        for queue in queues:
            period.capacity[queue] = plan.desk.minutes(queue, day) * plan.costs.call_time_share
    for source, target in (
        (tally.touches, "touches"),
        (tally.call_tasks, "call_tasks"),
        (tally.call_minutes, "call_minutes"),
        (tally.deferrals, "deferrals"),
        (tally.sales_ready, "sales_ready"),
        (tally.variants, "variants"),
    ):
        for (day, key), value in source.items():
            if day in days:
                getattr(days[day], target)[key] += value
    cost: dict[str, float] = {}
    for (day, key), value in tally.cost.items():
        cost[key] = cost.get(key, 0.0) + value / 1_000_000
        if day in days:
            days[day].cost += value / 1_000_000
    days_over: Counter[str] = Counter()
    for period in days.values():
        period.over = [q for q in queues if period.call_minutes[q] > period.capacity[q]]
        period.days_over = 1 if period.over else 0
        days_over.update(period.over)
    weeks = _weeks(list(days.values()))
    rates = plan.response.sales
    ready = sum(tally.sales_ready.values())
    summary = Summary(
        leads=tally.leads,
        touches=_by_key(tally.touches),
        call_tasks=_by_key(tally.call_tasks),
        call_hours=sum(tally.call_minutes.values()) / 60,
        days_over=days_over,
        deferrals=_by_key(tally.deferrals),
        sales_ready=_by_key(tally.sales_ready),
        opportunities=ready * rates.accept * rates.opportunity,
        cost=cost,
        outcomes=tally.outcomes,
        currency=plan.costs.currency,
        variants=variant_counts(plan, _by_key(tally.variants)),
    )
    return Report(plan, list(days.values()), weeks, summary, queues, teams)


def variant_counts(plan: Plan, touches: Counter[str]) -> list[VariantCount]:
    """Every variant of every step that got touches, in cadence order, weight against touches."""
    from nurture.cadence.variants import shares, step_variants

    found: list[VariantCount] = []
    for cadence in plan.cadences.values():
        for step, variants in step_variants(cadence):
            keys = {v.id: f"{cadence.name}/{step}/{v.id}" for v in variants}
            total = sum(touches[k] for k in keys.values())
            if not total:
                continue
            for variant_id, weight in shares(variants).items():
                got = touches[keys[variant_id]]
                found.append(VariantCount(cadence.name, step, variant_id, weight, got, got / total))
    return found


def _used_queues(plan: Plan) -> set[str]:
    from nurture.cadence.steps import CallStep

    return {
        step.call.queue
        for cadence in plan.cadences.values()
        for step in cadence.steps
        if isinstance(step, CallStep)
    }


def _by_key(counts: Counter[tuple[date, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (_, key), value in counts.items():
        out[key] += value
    return out


def _weeks(days: list[Period]) -> list[Period]:
    weeks: dict[date, Period] = {}
    for day in days:
        monday = day.start - timedelta(days=day.start.weekday())
        week = weeks.get(monday)
        if week is None:
            week = weeks[monday] = Period(monday, 0)
        week.days += 1
        for name in (
            "touches",
            "call_tasks",
            "call_minutes",
            "deferrals",
            "sales_ready",
            "variants",
        ):
            getattr(week, name).update(getattr(day, name))
        for queue, minutes in day.capacity.items():
            week.capacity[queue] = week.capacity.get(queue, 0.0) + minutes
        week.cost += day.cost
        week.days_over += day.days_over
        week.over = sorted({*week.over, *day.over})
    return list(weeks.values())


def to_csv(report: Report, periods: list[Period], kind: str) -> str:
    """Rows of days or weeks as CSV: one column per channel, queue and team."""
    out = io.StringIO()
    queues, teams = report.queues, report.teams
    variants = [v.key for v in report.summary.variants]
    header = [
        kind,
        *[f"touches_{c}" for c in CHANNELS],
        *[f"call_tasks_{q}" for q in queues],
        *[f"desk_minutes_{q}" for q in queues],
        *[f"capacity_minutes_{q}" for q in queues],
        "over_capacity",
        "governor_deferrals",
        *[f"sales_ready_{t}" for t in teams],
        f"cost_{report.summary.currency}",
        *[f"touches_variant_{v}" for v in variants],
    ]
    rows = [
        [
            p.start.isoformat(),
            *[p.touches[c] for c in CHANNELS],
            *[p.call_tasks[q] for q in queues],
            *[round(p.call_minutes[q]) for q in queues],
            *[round(p.capacity[q]) for q in queues],
            " ".join(p.over) if kind == "day" else p.days_over,
            sum(p.deferrals.values()),
            *[p.sales_ready[t] for t in teams],
            f"{p.cost:.2f}",
            *[p.variants[v] for v in variants],
        ]
        for p in periods
    ]
    write_rows(out, header, rows)  # formula-safe: names from files never run in a spreadsheet
    return out.getvalue()
