"""Forecast a cadence: run every lead through the real engine with a response model and count,
per day, the touches per channel, the call desk's load, the governor's deferrals, the sales-ready
leads per sales team and the cost.

Leads are simulated in chunks on every core (processes forked with the plan, so nothing but the
counts crosses between them); each lead draws from its own random stream, so the result does not
depend on how the leads were split.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from nurture.cadence.model import Cadence
from nurture.cadence.steps import Outcome
from nurture.calendar import CalendarSnapshot
from nurture.contracts import Touch
from nurture.events import Channel, EngagementEvent, EventKind
from nurture.journey.state import Journey
from nurture.lead import Lead, PostalAddress
from nurture.leads.enrollment import Rules, new_journey, route, snapshot_calendar
from nurture.planning import simulate
from nurture.planning.costs import Costs, Desk, day_of
from nurture.planning.response import Responder, ResponseModel

#: Leads per chunk of work handed to a process.
CHUNK = 250
_DEFER = re.compile(r"^Defer .* \((?P<reasons>[^()]*)\) → ")
#: Call outcomes where the rep spoke with the lead (the conversation takes longer).
CONVERSATIONS = frozenset(
    {EventKind.call_connected, EventKind.call_meeting_booked, EventKind.call_qualified}
)
#: Where synthetic leads live (``--count``): a spread of US time zones.
ZONES = (
    ("America/New_York", 45),
    ("America/Chicago", 30),
    ("America/Denver", 7),
    ("America/Los_Angeles", 18),
)
#: Titles of synthetic leads (decision makers, managers, others), for fit scoring.
TITLES = (
    ("VP Operations", 30),
    ("Director of Planning", 20),
    ("Operations Manager", 30),
    ("Planner", 20),
)


def micros(amount: float) -> int:
    """An amount in millionths, so that sums do not depend on their order."""
    return round(amount * 1_000_000)


@dataclass
class Tally:
    """What a forecast counted, per UTC day."""

    leads: int = 0
    touches: Counter[tuple[date, str]] = field(default_factory=Counter)
    call_tasks: Counter[tuple[date, str]] = field(default_factory=Counter)
    call_minutes: Counter[tuple[date, str]] = field(default_factory=Counter)
    deferrals: Counter[tuple[date, str]] = field(default_factory=Counter)
    sales_ready: Counter[tuple[date, str]] = field(default_factory=Counter)
    #: In millionths of the currency (sums are exact, whatever their order).
    cost: Counter[tuple[date, str]] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    #: Touches per A/B variant, keyed ``cadence/step/variant``.
    variants: Counter[tuple[date, str]] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        self.leads += other.leads
        for name in (
            "touches",
            "call_tasks",
            "call_minutes",
            "deferrals",
            "sales_ready",
            "cost",
            "variants",
        ):
            getattr(self, name).update(getattr(other, name))
        self.outcomes.update(other.outcomes)


@dataclass
class Plan:
    """Everything a forecast needs besides the leads."""

    cadences: dict[str, Cadence]
    rules: Rules
    response: ResponseModel
    costs: Costs
    desk: Desk
    start: datetime
    months: int = 12
    seed: int = 0
    cadence: str | None = None
    #: The day a recycle's calendar (holidays) is taken as of; None: the recycle's own day, as
    #: the ``load_cadence`` activity does (a test server whose clock runs ahead needs today).
    recycle_day: date | None = None

    @property
    def until(self) -> datetime:
        """The end of the forecast."""
        return self.start + timedelta(days=round(self.months * 365 / 12))

    def cadence_for(self, lead: Lead) -> Cadence:
        """The named cadence, else the one the lead's segment routes to."""
        if self.cadence is not None:
            return self.cadences[self.cadence]
        return route(lead, self.cadences.values())


# ---------------------------------------------------------------- leads


def parse_mix(items: Sequence[str]) -> dict[str, float]:
    """``["strategic=0.2", "standard=0.8"]`` -> shares that add up to 1."""
    mix: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            name, sep, share = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"{part!r}: write segment=share, e.g. strategic=0.2")
            try:
                mix[name.strip()] = float(share.rstrip("%")) / (100 if share.endswith("%") else 1)
            except ValueError:
                raise ValueError(f"{part!r}: the share must be a number") from None
    total = sum(mix.values())
    if not mix or total <= 0 or any(v < 0 for v in mix.values()):
        raise ValueError("give at least one segment with a positive share")
    return {k: v / total for k, v in mix.items()}


def _pick(choices: tuple[tuple[str, int], ...], n: int) -> str:
    """A stable pick by weight for the n-th lead (spread evenly, no randomness)."""
    total = sum(w for _, w in choices)
    slot = (n * 7919) % total
    for name, weight in choices:
        if slot < weight:
            return name
        slot -= weight
    return choices[-1][0]


@dataclass(frozen=True)
class SyntheticLeads:
    """``count`` made-up leads with segments in the given shares (``--count --mix``)."""

    count: int
    mix: dict[str, float]

    def __len__(self) -> int:
        return self.count

    def segment_of(self, n: int) -> str:
        """Segments in blocks by share: the first 20 % strategic, the rest standard..."""
        edge = 0.0
        for name, share in self.mix.items():
            edge += share
            if n < round(edge * self.count):
                return name
        return list(self.mix)[-1]

    def __getitem__(self, n: int) -> Lead:
        # A trusted fast path: every value is valid by construction (no validators run).
        return Lead.model_construct(
            id=f"F{n:07d}",
            email=f"lead{n}@example.com",
            phone="+14155550123",
            first_name="Pat",
            last_name=f"Lead{n}",
            company=f"Company {n % 997}",
            title=_pick(TITLES, n),
            segment=self.segment_of(n),
            owner="",
            timezone=_pick(ZONES, n),
            country="US",
            address=PostalAddress(line1="1 Main St", city="Springfield", postal_code="62701"),
            fields={"industry": "Manufacturing"} if n % 3 else {},
        )


LeadSource = Sequence[Lead] | SyntheticLeads


# ---------------------------------------------------------------- one lead


def variant_key(cadence: str, step: str, variant: str) -> str:
    """How a forecast names a variant: ``cadence/step/variant``."""
    return f"{cadence}/{step}/{variant}"


def _deferral(text: str) -> str | None:
    """The governor's reason for a deferral (``None``: only the channel's hours held it)."""
    match = _DEFER.match(text)
    if match is None:
        return None
    for reason in match["reasons"].split(", "):
        if reason.startswith("outside "):
            continue
        if "quiet" in reason:
            return "quiet period"
        if "week" in reason:
            return "weekly limit"
        return "daily channel limit"
    return None


def forecast_lead(
    lead: Lead,
    plan: Plan,
    responder: Responder,
    tally: Tally,
    trace: list[tuple[datetime, str]] | None = None,
    start: datetime | None = None,
) -> None:
    """Run one lead and count what it did (``trace`` gets each touch's time and id; ``start``
    overrides the plan's enrolment moment)."""
    costs = plan.costs
    rng = responder.stream(lead.id)
    start = start or plan.start

    def respond(j: Journey, touch: Touch, now: datetime) -> list[EngagementEvent]:
        day = day_of(now)
        channel = touch.channel
        tally.touches[day, channel.value] += 1
        if touch.variant is not None:
            tally.variants[day, variant_key(touch.cadence, touch.step_id, touch.variant)] += 1
        if trace is not None:
            trace.append((now, touch.touch_id))
        events = responder.answer(rng, touch, now)
        if channel is Channel.call:
            queue = touch.queue or "(none)"
            minutes = costs.call_task_minutes
            if any(e.kind in CONVERSATIONS for e in events):
                minutes += costs.conversation_minutes
            tally.call_tasks[day, queue] += 1
            tally.call_minutes[day, queue] += round(minutes)
            tally.cost[day, "call"] += micros(minutes * costs.call_task_minute)
        else:
            tally.cost[day, channel.value] += micros(costs.touch_price(channel, touch.mail_format))
        return events

    def calendar_for(j: Journey, cadence: Cadence, today: date) -> CalendarSnapshot:
        return snapshot_calendar(j.lead, cadence, plan.recycle_day or today)

    journey = new_journey(lead, plan.cadence_for(lead), start, plan.rules)
    sim = simulate.run(
        journey,
        start,
        respond=respond,
        cadences=plan.cadences,
        until=plan.until,
        calendar_for=calendar_for,
    )
    tally.leads += 1
    final = sim.journey
    for entry in final.timeline:
        if entry.kind == "wait" and entry.text.startswith("Defer "):
            reason = _deferral(entry.text)
            if reason is not None:
                tally.deferrals[day_of(entry.at), reason] += 1
    if sim.finish is not None and sim.finish.outcome is Outcome.sales_ready and final.handoff:
        tally.sales_ready[day_of(final.handoff.promoted_at), final.handoff.team] += 1
        tally.outcomes["sales_ready"] += 1
    elif sim.finish is not None:
        tally.outcomes[f"{sim.finish.outcome.value} ({final.stage.value})"] += 1
    else:
        tally.outcomes["still nurturing"] += 1


# ---------------------------------------------------------------- many leads, every core

_SHARED: tuple[Plan, LeadSource] | None = None


def _chunk(bounds: tuple[int, int]) -> Tally:
    assert _SHARED is not None, "the plan is shared by forking"
    plan, leads = _SHARED
    return _run_range(plan, leads, *bounds)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector: the engine allocates many small objects and makes almost
    no cycles (about one per 15 leads), so its passes cost a quarter of a forecast for nothing.
    The few cycles are freed when it runs again after the chunk."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _run_range(plan: Plan, leads: LeadSource, first: int, last: int) -> Tally:
    tally = Tally()
    responder = Responder(plan.response, plan.seed)
    with _collector_paused():
        for n in range(first, last):
            forecast_lead(leads[n], plan, responder, tally)
    return tally


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(0, total, size):
        yield first, min(total, first + size)


def default_workers() -> int:
    """One process per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_forecast(
    plan: Plan,
    leads: LeadSource,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> Tally:
    """Forecast every lead; ``progress`` is told how many leads each finished chunk had."""
    global _SHARED
    workers = workers or default_workers()
    total = Tally()
    if workers <= 1 or len(leads) <= chunk:
        for first, last in _chunks(len(leads), chunk):
            total.add(_run_range(plan, leads, first, last))
            if progress:
                progress(last - first)
        return total
    _SHARED = (plan, leads)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_chunk, b): b for b in _chunks(len(leads), chunk)}
            for future in as_completed(futures):
                total.add(future.result())
                if progress:
                    first, last = futures[future]
                    progress(last - first)
    finally:
        _SHARED = None
    return total
