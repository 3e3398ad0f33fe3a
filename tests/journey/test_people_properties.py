"""Properties of lead management over random event streams and random sales actions: the score
is the documented formula, nobody is touched after opting out or being disqualified, and a lead
with sales is never in a cadence at the same time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from nurture.cadence.sales import DeclineReason
from nurture.contracts import (
    AcceptHandoff,
    Assignment,
    CloseOpportunity,
    DeclineHandoff,
    TouchResult,
)
from nurture.events import EngagementEvent, EventKind
from nurture.journey import engine
from nurture.journey.commands import Assign, ContinueAsNew, Finish, LoadCadence, SendTouch, Wait
from nurture.journey.engine import ActionRefused
from nurture.journey.state import Journey, Phase, Stage
from nurture.lead import Lead
from nurture.leads.enrollment import new_journey, snapshot_calendar
from tests.conftest import make_lead
from tests.journey.test_engine import PROPERTY, T0, event
from tests.journey.test_people import RULES, SAMPLES

SCORING = RULES.scoring
assert SCORING is not None and SCORING.half_life is not None
HALF_LIFE = SCORING.half_life.calendar_part()
#: Stages in which the lead is with sales (or closed by them): no cadence may touch it.
WITH_SALES = {Stage.sales_ready, Stage.accepted, Stage.opportunity, Stage.won, Stage.lost}
ENDED = {Stage.opted_out, Stage.disqualified}
#: Title, employees, industry → the fit points cadences/scoring.yaml gives them (by hand).
TITLES = {"VP Operations": 20, "Operations Manager": 8, "Analyst": 0}
EMPLOYEES = {"": 0, "500": 8, "5000": 15}
INDUSTRIES = {"Retail": 10, "Banking": 0}
OPT_OUT_KINDS = [
    EventKind.email_unsubscribe,
    EventKind.email_bounce,
    EventKind.call_do_not_call,
    EventKind.call_wrong_number,
    EventKind.sms_stop,
    EventKind.mail_returned,
]


@st.composite
def leads(draw: st.DrawFn) -> tuple[Lead, int]:
    """A lead and the fit points the sample scoring model gives it, computed by hand."""
    title = draw(st.sampled_from(list(TITLES)))
    employees = draw(st.sampled_from(list(EMPLOYEES)))
    industry = draw(st.sampled_from(list(INDUSTRIES)))
    fields = {"industry": industry, **({"employees": employees} if employees else {})}
    lead = make_lead("P1", title=title, segment=draw(st.sampled_from(["strategic", "standard"])))
    lead = lead.model_copy(update={"fields": fields})
    return lead, TITLES[title] + EMPLOYEES[employees] + INDUSTRIES[industry]


def streams(kinds: list[EventKind], days: int, size: int = 25) -> st.SearchStrategy[list]:
    """Random events (kind, minute after T0, manual points) within ``days``."""
    return st.lists(
        st.tuples(st.sampled_from(kinds), st.integers(1, days * 24 * 60), st.integers(-20, 30)),
        max_size=size,
    )


def events_of(items: list[tuple[EventKind, int, int]]) -> list[EngagementEvent]:
    """The drawn tuples as events for lead P1, in time order."""
    made = [
        event(
            kind,
            T0 + timedelta(minutes=minute),
            lead="P1",
            event_id=f"e{i}",
            points=points if kind is EventKind.score_adjusted else None,
        )
        for i, (kind, minute, points) in enumerate(items)
    ]
    return sorted(made, key=lambda e: e.at)


# ---------------------------------------------------------------- the score


def documented_score(fit: int, events: list[EngagementEvent], now: datetime) -> int:
    """cadences/README.md: score = fit + behaviour; behaviour = each event's points (at most
    ``cap`` per kind within ``per``; manual adjustments as given), halving every half-life."""
    earned: list[tuple[datetime, EventKind, float]] = []
    for e in events:
        if e.kind is EventKind.score_adjusted:
            earned.append((e.at, e.kind, float(e.points or 0)))
            continue
        rule = SCORING.behaviour.get(e.kind)
        points = float(rule.points) if rule else 0.0
        if rule is not None and rule.cap is not None:
            window = e.at - rule.per.calendar_part()
            already = sum(p for at, k, p in earned if k is e.kind and at > window)
            points = min(points, max(0.0, rule.cap - already))
        earned.append((e.at, e.kind, points))
    behaviour = sum(p * 0.5 ** ((now - at) / HALF_LIFE) for at, _, p in earned)
    return fit + round(behaviour)


SCORED_KINDS = [*SCORING.behaviour, EventKind.score_adjusted, EventKind.email_delivered]


@PROPERTY
@given(leads(), streams(SCORED_KINDS, days=200, size=40))
def test_property_score_is_the_documented_formula(
    drawn: tuple[Lead, int], items: list[tuple[EventKind, int, int]]
) -> None:
    """After every event the journey's score is fit + the decayed, capped behaviour points
    (200 days: inside the 8 half-lives the engine remembers events for)."""
    lead, fit = drawn
    j = new_journey(lead, SAMPLES["standard"], T0, RULES)
    assert j.score == fit
    events = events_of(items)
    for n, e in enumerate(events, start=1):
        engine.on_event(j, e, e.at)
        if j.phase is Phase.done:  # a reply ended the cadence: nothing is scored after that
            break
        assert j.score == documented_score(fit, events[:n], e.at), f"after {e.kind} at {e.at}"


# ---------------------------------------------------------------- the whole lifecycle


@dataclass
class Action:
    """A sales rep acting on whatever handoff is current at ``at``."""

    at: datetime
    what: str  # accept | decline:<reason> | opportunity | won | lost


@dataclass
class Life:
    """What a driven journey did: each touch with the stage and phase it was sent in."""

    touches: list[tuple[datetime, Stage, Phase]] = field(default_factory=list)
    ended_at: datetime | None = None  # when it opted out or was disqualified
    touched_after_end: list[datetime] = field(default_factory=list)


def act(j: Journey, action: Action) -> None:
    """Apply a sales action the way the workflow does: the validator's check, then the update."""
    h = j.handoff
    if h is None or h.owner is None:
        return
    now, rep = action.at, h.owner
    try:
        if action.what == "accept":
            accept = AcceptHandoff(handoff_id=h.id, rep=rep)
            engine.refuse_handoff_action(j, accept)
            engine.accept_handoff(j, accept, now)
        elif action.what.startswith("decline:"):
            reason = DeclineReason(action.what.removeprefix("decline:"))
            decline = DeclineHandoff(handoff_id=h.id, rep=rep, reason=reason, text="because")
            engine.refuse_handoff_action(j, decline)
            engine.decline_handoff(j, decline, now)
        else:
            close = CloseOpportunity.model_validate(
                {"handoff_id": h.id, "rep": rep, "outcome": action.what, "reason": "price"}
            )
            engine.refuse_handoff_action(j, close)
            engine.close_opportunity(j, close, now)
    except ActionRefused:
        return  # refused by the validator: never reaches the journey


def drive(j: Journey, events: list[EngagementEvent], actions: list[Action]) -> Life:
    """Run the journey as the workflow would, events and sales actions arriving at their times."""
    life = Life()
    pending: list[EngagementEvent | Action] = sorted([*events, *actions], key=lambda x: x.at)
    now = T0
    for _ in range(20_000):
        if j.stage in ENDED and life.ended_at is None:
            life.ended_at = now
        command = engine.advance(j, now)
        if isinstance(command, SendTouch):
            life.touches.append((now, j.stage, j.phase))
            if life.ended_at is not None:
                life.touched_after_end.append(now)
            engine.on_touch_result(j, TouchResult(), now)
        elif isinstance(command, Assign):
            team = command.request.team
            rep = command.request.owner if command.request.rule == "owner" else f"{team}-rep"
            engine.on_assigned(j, Assignment(rep=rep, manager=f"{team}-mgr"), now)
        elif isinstance(command, LoadCadence):
            cadence = SAMPLES[command.name]
            calendar = snapshot_calendar(j.lead, cadence, now.date())
            engine.on_cadence_loaded(j, cadence, calendar, now, RULES.scoring, RULES.sales)
        elif isinstance(command, ContinueAsNew):
            continue
        elif isinstance(command, Finish):
            return life
        else:
            assert isinstance(command, Wait)
            if pending and (command.until is None or pending[0].at < command.until):
                item = pending.pop(0)
                now = max(now, item.at)
                if isinstance(item, Action):
                    act(j, item)
                else:
                    engine.on_event(j, item, now)
            elif command.until is None:
                return life  # waiting for people who will not come
            else:
                now = command.until
    raise AssertionError("the journey did not settle")


ACTIONS = [
    "accept",
    "opportunity",
    "won",
    "lost",
    *(f"decline:{reason.value}" for reason in DeclineReason),
]
LIFE_KINDS = [*EventKind]


@PROPERTY
@given(
    leads(),
    st.sampled_from(["strategic", "standard", "long-term-nurture"]),
    streams(LIFE_KINDS, days=300),
    st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(1, 300 * 24 * 60)), max_size=8),
)
def test_property_sales_and_cadences_never_overlap_and_endings_hold(
    drawn: tuple[Lead, int],
    name: str,
    items: list[tuple[EventKind, int, int]],
    drawn_actions: list[tuple[str, int]],
) -> None:
    """Whatever the lead does and sales decide: no touch while the lead is with sales (handed
    off, accepted, an opportunity, won or lost), and none after it opted out of every channel
    or was disqualified."""
    lead, _ = drawn
    j = new_journey(lead, SAMPLES[name], T0, RULES)
    actions = [Action(T0 + timedelta(minutes=m), what) for what, m in drawn_actions]
    life = drive(j, events_of(items), actions)
    for at, stage, phase in life.touches:
        assert stage not in WITH_SALES, f"touch at {at} while {stage.value}"
        assert phase is not Phase.handoff, f"touch at {at} during a handoff"
    assert life.touched_after_end == [], f"touched after {j.stage.value} at {life.ended_at}"


def test_the_lifecycle_driver_reaches_every_ending() -> None:
    """The driver above really walks leads to sales, back to nurture and out (so the property
    cannot pass by never getting there)."""
    lead = make_lead("P1", segment="standard")
    reply = events_of([(EventKind.email_reply, 60 * 24, 0)])
    declined = new_journey(lead, SAMPLES["standard"], T0, RULES)
    life = drive(declined, reply, [Action(T0 + timedelta(days=2), "decline:not_ready")])
    assert declined.cadence.name == "long-term-nurture"  # recycled after the cool-down
    assert any(at > T0 + timedelta(days=30) for at, _, _ in life.touches)  # touched there again

    bad = new_journey(lead, SAMPLES["standard"], T0, RULES)
    life = drive(bad, reply, [Action(T0 + timedelta(days=2), "decline:bad_fit")])
    assert bad.stage is Stage.disqualified and life.ended_at is not None

    out = new_journey(lead, SAMPLES["standard"], T0, RULES)
    opt_outs = events_of([(kind, 60 * 24 + i, 0) for i, kind in enumerate(OPT_OUT_KINDS)])
    life = drive(out, opt_outs, [])
    assert out.stage is Stage.opted_out and life.ended_at is not None

    won = new_journey(lead, SAMPLES["standard"], T0, RULES)
    steps = [Action(T0 + timedelta(days=d), w) for d, w in [(2, "accept"), (3, "won")]]
    drive(won, reply, steps)
    assert won.stage is Stage.won
