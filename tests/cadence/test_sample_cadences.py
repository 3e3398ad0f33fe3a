"""Every cadence in cadences/ walks to completion for every branch.

For each sample cadence: a default run (no engagement, every call task times out), plus one run
per decision point and choice: each disposition (or a timeout) at each call task, both outcomes of
each ``wait_for``, and each case (and ``otherwise``) of each branch. Every run must finish (through
recycles), send nothing after an exit, and together the runs must reach every jump target.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from nurture.cadence.model import Cadence, cadence_files, load_cadence
from nurture.cadence.steps import TOUCH_KINDS, BranchStep, CallStep, Condition, Outcome, WaitForStep
from nurture.contracts import Touch
from nurture.events import EngagementEvent, EventKind
from nurture.journey import steps
from nurture.journey.commands import Finish
from nurture.journey.state import Journey, Phase
from nurture.leads.enrollment import new_journey
from nurture.planning import simulate
from nurture.settings import ROOT
from tests.conftest import make_lead

SAMPLES: dict[str, Cadence] = {p.stem: load_cadence(p) for p in cadence_files(ROOT / "cadences")}
START = datetime(2026, 2, 2, 14, tzinfo=UTC)
CALL_OUTCOMES = [kind for kind in EventKind if kind.is_call_outcome]
#: Step id -> events to answer that touch with (kind, delay after the touch).
Replies = dict[str, list[tuple[EventKind, timedelta]]]
SOON = timedelta(minutes=30)


@dataclass
class Plan:
    """One run: how the lead answers touches of each cadence, and who the lead is."""

    label: str
    replies: dict[str, Replies] = field(default_factory=dict)
    lead: dict[str, object] = field(default_factory=dict)
    score: int = 0

    def but(self, label: str, cadence: str, replies: Replies, **lead: object) -> Plan:
        """This plan with more replies (and lead changes)."""
        merged = {k: dict(v) for k, v in self.replies.items()}
        merged.setdefault(cadence, {}).update(replies)
        return Plan(f"{self.label}+{label}", merged, {**self.lead, **lead}, self.score)


def touch_before(cad: Cadence, index: int) -> str:
    """The id of the last touch step before a position (what a wait_for is about)."""
    for step in reversed(cad.steps[:index]):
        if step.kind in TOUCH_KINDS:
            return str(step.id)
    raise AssertionError(f"no touch before step {index} of {cad.name}")


def first_touch(cad: Cadence) -> str:
    """The first touch step of a cycle."""
    return next(str(s.id) for s in cad.steps if s.kind in TOUCH_KINDS)


def next_id(cad: Cadence, index: int) -> str:
    """The step after a position, or the end of the cycle."""
    return str(cad.steps[index + 1].id) if index + 1 < len(cad.steps) else "end of cycle"


def edges(cad: Cadence) -> set[tuple[str, str]]:
    """Every (decision step, target) a wait_for or branch can take."""
    found: set[tuple[str, str]] = set()
    for i, step in enumerate(cad.steps):
        me = str(step.id)
        if isinstance(step, WaitForStep):
            found.add((me, step.wait_for.then or next_id(cad, i)))
            found.add((me, step.wait_for.else_ or next_id(cad, i)))
        elif isinstance(step, BranchStep):
            found |= {(me, case.goto) for case in step.branch.cases}
            found.add((me, step.branch.otherwise or next_id(cad, i)))
    return found


@contextmanager
def watching(taken: set[tuple[str, str, str]]) -> Iterator[None]:
    """Record (cadence, decision step, target) each time the engine leaves a wait_for or branch.

    Wraps the engine's single-step function, since ``advance`` runs untimed steps in one go.
    """
    original = steps._step

    def step(j: Journey, now: datetime) -> object:
        name, steps, position = j.cadence.name, j.cadence.steps, j.position
        waiting = j.waiting_for.step if j.waiting_for is not None else None
        deciding = (
            j.phase is Phase.ready
            and j.detour is None
            and position < len(steps)
            and isinstance(steps[position], BranchStep)
        )
        result = original(j, now)
        if j.cadence.name == name and j.phase is not Phase.done:
            target = next_id(j.cadence, j.position - 1)
            if waiting is not None and j.waiting_for is None and j.phase is Phase.ready:
                taken.add((name, waiting, target))
            elif deciding:
                taken.add((name, str(steps[position].id), target))
        return result

    steps._step = step  # type: ignore[assignment]  # wrapping a module function
    try:
        yield
    finally:
        steps._step = original  # type: ignore[assignment]  # idem


def targets(cad: Cadence) -> set[str]:
    """Every place a wait_for or branch can send the lead."""
    found: set[str] = set()
    for i, step in enumerate(cad.steps):
        if isinstance(step, WaitForStep):
            found |= {step.wait_for.then or next_id(cad, i), step.wait_for.else_ or next_id(cad, i)}
        elif isinstance(step, BranchStep):
            found |= {case.goto for case in step.branch.cases}
            found.add(step.branch.otherwise or next_id(cad, i))
    return found


def satisfy(cad: Cadence, index: int, when: Condition, base: Plan, label: str) -> Plan:
    """A plan under which a branch condition holds when the lead gets there."""
    replies: Replies = {}
    lead: dict[str, object] = {}
    plan = base
    if when.engaged:
        replies.setdefault(first_touch(cad), []).append((when.engaged[0], SOON))
    if when.last_disposition:
        for step in cad.steps[:index]:
            if isinstance(step, CallStep):
                replies[str(step.id)] = [(when.last_disposition[0], SOON)]
    if when.segment:
        lead["segment"] = when.segment[0]
    if when.field is not None:
        test = when.field
        value = test.equals or (test.in_[0] if test.in_ else "yes" if test.present else "")
        lead["fields"] = {test.name: value}
    plan = plan.but(label, cad.name, replies, **lead)
    if when.score_at_least is not None:
        plan.score = when.score_at_least
    if when.score_below is not None:
        plan.score = when.score_below - 1
    return plan


def plans(cad: Cadence, reached_by_default: set[str]) -> list[Plan]:
    """The default run plus one run per decision point and choice."""
    default = Plan("default")
    engaged = Plan("engaged")
    for i, step in enumerate(cad.steps):
        if isinstance(step, WaitForStep):
            kinds = step.wait_for.kinds if step.wait_for.all else step.wait_for.kinds[:1]
            engaged = engaged.but(
                str(step.id), cad.name, {touch_before(cad, i): [(k, SOON) for k in kinds]}
            )
    runs = [default, engaged]
    for i, step in enumerate(cad.steps):
        base = default if step.id in reached_by_default else engaged
        if isinstance(step, CallStep):
            for kind in CALL_OUTCOMES:
                runs.append(base.but(f"{step.id}={kind}", cad.name, {str(step.id): [(kind, SOON)]}))
            for late in (step.call.due.business_days, step.call.due.business_hours):
                if late:  # a disposition after the deadline comes too late
                    runs.append(
                        base.but(
                            f"{step.id}=late",
                            cad.name,
                            {str(step.id): [(CALL_OUTCOMES[0], 3 * timedelta(days=late))]},
                        )
                    )
        elif isinstance(step, WaitForStep):
            kinds = step.wait_for.kinds
            runs.append(base.but(f"{step.id}=none", cad.name, {touch_before(cad, i): []}))
            runs.append(
                base.but(
                    f"{step.id}=all", cad.name, {touch_before(cad, i): [(k, SOON) for k in kinds]}
                )
            )
            for kind in kinds:
                runs.append(
                    base.but(f"{step.id}={kind}", cad.name, {touch_before(cad, i): [(kind, SOON)]})
                )
        elif isinstance(step, BranchStep):
            for n, case in enumerate(step.branch.cases):
                runs.append(satisfy(cad, i, case.when, base, f"{step.id}[{n}]"))
            runs.append(base.but(f"{step.id}=otherwise", cad.name, {}))
    return runs


def run(cad: Cadence, plan: Plan) -> simulate.Simulation:
    """Simulate one plan through recycles."""
    lead = make_lead("S1", timezone="America/New_York", country="US", **plan.lead)

    def respond(j: Journey, touch: Touch, now: datetime) -> Iterable[EngagementEvent]:
        for n, (kind, delay) in enumerate(
            plan.replies.get(touch.cadence, {}).get(touch.step_id, [])
        ):
            yield EngagementEvent(
                id=f"{touch.touch_id}/{n}",
                kind=kind,
                lead_id=lead.id,
                at=now + delay,
                touch_id=touch.touch_id if kind.is_call_outcome else None,
            )

    events = []
    if plan.score:
        events.append(
            EngagementEvent(
                id="score",
                kind=EventKind.score_adjusted,
                lead_id=lead.id,
                at=START + timedelta(minutes=1),
                points=plan.score,
            )
        )
    return simulate.run(
        new_journey(lead, cad, START),
        START,
        events=events,
        respond=respond,
        cadences=SAMPLES,
        roundtrip=True,
    )


def reached(sim: simulate.Simulation) -> set[tuple[str, str]]:
    """(cadence, step id) pairs the journey got to, read from its timeline."""
    found: set[tuple[str, str]] = set()
    current = sim.journey.timeline[0].text.split()[2]
    for entry in sim.journey.timeline:
        if entry.kind == "enrolled":
            current = entry.text.split()[2]
        if entry.step:
            found.add((current, entry.step))
        if entry.kind in ("wait_for", "branch") and "→" in entry.text:
            found.add((current, entry.text.rsplit("→ ", 1)[1]))
    return found


TAKEN: dict[str, set[tuple[str, str, str]]] = {}


@cache
def explore(name: str) -> list[tuple[Plan, simulate.Simulation]]:
    """Run every plan of a sample cadence (recording the decisions taken in TAKEN[name])."""
    cad = SAMPLES[name]
    default = run(cad, Plan("default"))
    on_default = {step for cadence, step in reached(default) if cadence == name}
    taken: set[tuple[str, str, str]] = set()
    with watching(taken):
        runs = [(plan, run(cad, plan)) for plan in plans(cad, on_default)]
    TAKEN[name] = taken
    return runs


NAMES = sorted(SAMPLES)


def test_the_samples_are_there() -> None:
    """The three documented sample cadences."""
    assert NAMES == ["long-term-nurture", "standard", "strategic"]


@pytest.mark.parametrize("name", NAMES)
def test_every_run_finishes_and_nothing_follows_an_exit(name: str) -> None:
    """Each run ends with Finish; after an exit nothing (or, for a recycle, nothing of that
    enrolment) is sent."""
    runs = explore(name)
    assert len(runs) > 5
    for plan, sim in runs:
        assert isinstance(sim.finish, Finish), plan.label
        enrolment = 1
        for entry in sim.journey.timeline:
            if entry.kind == "enrolled" and entry is not sim.journey.timeline[0]:
                enrolment += 1
            if entry.kind != "exit":
                continue
            later = [t for t in sim.touches if t.at > entry.at]
            if entry.text.startswith("Cadence ended: recycle"):
                numbers = [int(re.search(r":e(\d+):", t.touch.touch_id)[1]) for t in later]
                assert all(n > enrolment for n in numbers), plan.label
            else:
                assert later == [], f"{plan.label}: {later[0].touch.touch_id} after {entry.text}"
        ids = [t.touch.touch_id for t in sim.touches]
        assert len(ids) == len(set(ids)), plan.label


@pytest.mark.parametrize("name", NAMES)
def test_every_jump_target_is_reached(name: str) -> None:
    """Across the runs, every wait_for then/else and every branch case/otherwise is taken."""
    got = set().union(*(reached(sim) for _, sim in explore(name)))
    mine = {step for cadence, step in got if cadence == name}
    assert targets(SAMPLES[name]) - mine == set()


@pytest.mark.parametrize("name", NAMES)
def test_every_decision_is_taken_both_ways(name: str) -> None:
    """Each wait_for goes to then and to else, each branch to each case and to otherwise."""
    explore(name)
    taken = {(step, target) for cadence, step, target in TAKEN[name] if cadence == name}
    assert edges(SAMPLES[name]) - taken == set()


@pytest.mark.parametrize("name", NAMES)
def test_every_touch_step_is_reached(name: str) -> None:
    """Across the runs, every touch step of the cadence is sent (or at least reached)."""
    cad = SAMPLES[name]
    sent = {
        t.touch.step_id for _, sim in explore(name) for t in sim.touches if t.touch.cadence == name
    }
    touch_steps = {str(s.id) for s in cad.steps if s.kind in TOUCH_KINDS}
    assert touch_steps - sent == set()


@pytest.mark.parametrize("name", NAMES)
def test_outcomes_seen(name: str) -> None:
    """Dispositions that hand over end sales-ready; recycles end in the recycle cadence."""
    finishes = {sim.finish.outcome for _, sim in explore(name) if sim.finish}
    assert Outcome.sales_ready in finishes
    assert Outcome.finished in finishes
    for plan, sim in explore(name):
        if plan.label.endswith(f"={EventKind.call_meeting_booked}") and any(
            t.touch.step_id == plan.label.split("+")[-1].split("=")[0] for t in sim.touches
        ):
            assert sim.finish is not None and sim.finish.outcome is Outcome.sales_ready, plan.label


def test_strategic_recycles_into_long_term_nurture() -> None:
    """The default strategic run ends in long-term nurture, enrolment 2."""
    plan, sim = explore("strategic")[0]
    assert plan.label == "default"
    assert {t.touch.cadence for t in sim.touches} == {"strategic", "long-term-nurture"}
    assert sim.journey.enrolment == 2
    assert sim.journey.cadence.name == "long-term-nurture"
