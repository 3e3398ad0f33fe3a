"""The contract between `validate` and the engine, as a property: every generated cadence is
either refused with located problems, or runs a year of random engagement in the simulator
without an exception (to its finish or to a bounded idle state)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.cadence.graph import check_cadence
from nurture.cadence.model import Cadence, parse_cadence
from nurture.contracts import Touch
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey
from nurture.leads.enrollment import new_journey
from nurture.planning import simulate
from nurture.yamlfiles import FileError
from tests.conftest import make_lead

START = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
IDS = ["s0", "s1", "s2", "s3", "s4", "s5", "nowhere"]
EVENTS = ["email.open", "email.click", "email.reply", "call.no_answer", "sms.reply", "web.visit"]
#: What a touch may cause (stop and opt-out events included).
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
RESPONSES = [*EVENTS, "email.bounce", "sms.stop", "call.connected", "call.meeting_booked"]

# Numbers: mostly ordinary ones, sometimes the bounds and far past them.
numbers = st.one_of(
    st.integers(1, 5),
    st.integers(1, 40),
    st.floats(0.5, 3, allow_nan=False),
    st.sampled_from([0, 0.0001, 24, 100, 260, 261, 730, 731, 2080, 2081, 10**6, 10**20, 1e300]),
)
delays = st.one_of(
    st.fixed_dictionaries(
        {}, optional={u: numbers for u in ("days", "hours", "minutes", "seconds")}
    ),
    st.builds(lambda n: {"business_days": n}, st.integers(1, 20) | st.integers(0, 400)),
    st.builds(lambda n: {"business_days": n}, st.integers(1, 20) | st.just(10**15)),
    st.builds(lambda n: {"business_hours": n}, numbers),
    st.builds(lambda h, d: {"at": f"{h:02d}:00", **d}, st.integers(0, 23), st.just({})),
    st.builds(lambda h, n: {"business_days": n, "at": f"{h:02d}:30"}, st.integers(0, 23), numbers),
)
targets = st.none() | st.sampled_from(IDS)


def _step(kind: str, params: Any, step_id: str | None) -> dict[str, Any]:
    return {**({"id": step_id} if step_id else {}), kind: params}


steps = st.one_of(
    st.builds(lambda: ("email", {"template": "hello"})),
    st.builds(lambda: ("sms", {"template": "nudge"})),
    st.builds(lambda: ("voicemail", {"template": "missed"})),
    st.builds(lambda: ("direct_mail", {"template": "letter"})),
    st.builds(
        lambda due, timeout: (
            "call",
            {"script": "discovery", "queue": "sdr", "due": due, "on_timeout": timeout}
            | ({"voicemail": "missed"} if timeout == "voicemail" else {}),
        ),
        delays,
        st.sampled_from(["skip", "reassign", "escalate", "voicemail"]),
    ),
    st.builds(lambda d: ("wait", d), delays),
    st.builds(
        lambda kinds, within, then, other: (
            "wait_for",
            {"any": kinds, "within": within}
            | ({"then": then} if then else {})
            | ({"else": other} if other else {}),
        ),
        st.lists(st.sampled_from(EVENTS), min_size=1, max_size=2),
        delays,
        targets,
        targets,
    ),
    st.builds(  # a loop back on engagement: must be refused (its events may come at once)
        lambda kinds, days: (
            "wait_for",
            {"any": kinds, "within": {"days": days}, "then": "s0"},
        ),
        st.lists(st.sampled_from(["email.open", "web.visit"]), min_size=1, max_size=2),
        st.integers(1, 5),
    ),
    st.builds(
        lambda score, goto, otherwise: (
            "branch",
            {"cases": [{"when": {"score_at_least": score}, "goto": goto}]}
            | ({"otherwise": otherwise} if otherwise else {}),
        ),
        st.integers(-10, 200),
        st.sampled_from(IDS),
        targets,
    ),
    st.builds(lambda goto: ("goto", goto), st.sampled_from(IDS)),
    st.builds(lambda o: ("exit", {"outcome": o}), st.sampled_from(["finished", "disqualified"])),
)
windows = st.sampled_from(
    ["09:00-17:00"] * 4 + ["00:00-24:00", "08:00-08:01", "20:00-21:00", "17:00-09:00"]
)
calendars = st.fixed_dictionaries(
    {
        "timezone": st.sampled_from(["UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Apia"]),
        "jitter_minutes": st.sampled_from([0, 10, 240]),
        "business_hours": st.one_of(
            *[st.just({"mon": "09:00-17:00", "wed": "09:00-17:00"})] * 3,
            st.dictionaries(st.sampled_from(DAYS), windows, min_size=1, max_size=7),
            st.dictionaries(st.sampled_from(DAYS), windows, max_size=7),
        ),
    },
    optional={"channel_hours": st.fixed_dictionaries({"sms": st.sampled_from(["08:00-09:00"])})},
)
cycles = st.one_of(
    st.just({"count": 1}),
    st.builds(lambda n, gap: {"count": n, "gap": gap}, st.integers(1, 30), delays),
    st.builds(lambda n, d: {"count": n, "gap": {"days": d}}, st.integers(2, 6), st.integers(1, 60)),
)
limits = st.fixed_dictionaries(
    {},
    optional={
        "max_touches_per_week": st.integers(1, 5) | st.just(0),
        "max_per_channel_per_day": st.integers(1, 3) | st.just(0),
        "quiet_after_conversation": delays,
    },
)


touches = st.sampled_from([("email", {"template": "hello"}), ("sms", {"template": "n"})])
back_on_engagement = st.builds(
    lambda kinds, days, other: (
        "wait_for",
        {"any": kinds, "within": {"days": days}, "then": "s0"} | ({"else": other} if other else {}),
    ),
    st.lists(st.sampled_from(["email.open", "web.visit", "email.click"]), min_size=1, max_size=2),
    st.integers(1, 5),
    targets,
)


@st.composite
def cadences(draw: st.DrawFn, loop_back: bool = False) -> dict[str, Any]:
    """A cadence of up to 6 random steps; ``loop_back``: a touch, some steps, then a wait_for
    whose ``then`` goes back to that touch, then some more."""
    if loop_back:
        day = [("wait", {"days": draw(st.integers(1, 3))})] if draw(st.booleans()) else []
        chosen = [
            draw(touches),
            *draw(st.lists(steps, max_size=2)),
            *day,  # with it, the loop may run (a day per round)
            draw(back_on_engagement),
            *draw(st.lists(steps, max_size=2)),
        ]
    else:
        chosen = draw(st.lists(steps, min_size=1, max_size=6))
    ids = [f"s{i}" if draw(st.booleans()) or i == 0 else None for i in range(len(chosen))]
    return {
        "name": "generated",
        "version": 1,
        "sender": {"name": "Test", "email": "sender@example.com"},
        "calendar": draw(calendars),
        "limits": draw(limits),
        "cycles": draw(cycles),
        "steps": [_step(kind, params, ids[i]) for i, (kind, params) in enumerate(chosen)],
    }


def engagement(seed: int, eager: bool | None = None) -> simulate.Responder:
    """Random engagement: some touches get an open, a click, a reply or a call outcome; an
    eager lead (or a mail client's automatic opens; a third of the seeds unless ``eager`` is
    given) answers every touch within minutes."""
    rng = random.Random(seed)
    eager = rng.random() < 0.33 if eager is None else eager

    def respond(journey: Journey, touch: Touch, at: datetime) -> Iterable[EngagementEvent]:
        if eager:  # every kind but the replies (they end the cadence), minutes later
            return [
                EngagementEvent(
                    id=f"e{rng.random()}",
                    kind=EventKind(kind),
                    lead_id=journey.lead.id,
                    at=at + timedelta(minutes=rng.randint(1, 30)),
                )
                for kind in EVENTS
                if not kind.endswith(".reply")
            ]
        if rng.random() < 0.5:
            return []
        kind = EventKind(rng.choice(RESPONSES))
        later = at + timedelta(minutes=rng.randint(1, 60 * 24 * 5))
        return [
            EngagementEvent(id=f"e{rng.random()}", kind=kind, lead_id=journey.lead.id, at=later)
        ]

    return respond


def refused_or_runs(data: dict[str, Any], seed: int, eager: bool | None = None) -> str:
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        cadence: Cadence = parse_cadence(text, "generated.yaml")
    except FileError as exc:
        assert exc.problems
        for problem in exc.problems:  # located: a line of the file, a field, words
            assert 1 <= problem.line <= text.count("\n") + 1, problem
            assert problem.field and problem.message, problem
        return "refused"
    if check_cadence(cadence):
        return "refused"
    journey = new_journey(make_lead("L-prop", timezone="UTC"), cadence, START)
    sim = simulate.run(
        journey, START, respond=engagement(seed, eager), until=START + YEAR, max_commands=20_000
    )
    assert sim.ended_at is not None
    assert_no_touch_storm(cadence, [sent.at for sent in sim.touches])
    return "ran"


def assert_no_touch_storm(cadence: Cadence, sent: list[datetime]) -> None:
    """Every loop and every cycle takes at least a day, so a day (less a second) holds at most
    two passes over the touch steps (a call counts twice: its voicemail on timeout)."""
    steps = sum(
        2 if s.kind == "call" else 1
        for s in cadence.steps
        if s.kind in ("email", "sms", "voicemail", "direct_mail", "call")
    )
    most = 2 * steps + 2
    for i in range(len(sent) - most):
        assert sent[i + most] - sent[i] >= timedelta(days=1), (
            f"{most + 1} touches from {sent[i]} to {sent[i + most]}"
        )


def test_every_accepted_cadence_runs_a_year() -> None:
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(cadences(), st.integers(0, 2**16))
    def check(data: dict[str, Any], seed: int) -> None:
        outcomes[refused_or_runs(data, seed)] += 1

    check()
    # Both sides of the contract were exercised (the test cannot pass on zero runs).
    assert outcomes["ran"] >= 5 and outcomes["refused"] >= 5, outcomes


def test_loops_back_on_engagement_never_storm() -> None:
    """A loop back through a wait_for's ``then`` with an eager lead: refused, or it waits a
    day per round (before issue 11's last fix, validate accepted these and the simulator sent
    a touch every few minutes, or the engine stopped on 200 steps without a wait)."""
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(cadences(loop_back=True), st.integers(0, 2**16))
    def check(data: dict[str, Any], seed: int) -> None:
        outcomes[refused_or_runs(data, seed, eager=True)] += 1

    check()
    assert outcomes["ran"] >= 3 and outcomes["refused"] >= 3, outcomes


def test_the_contract_holds_for_known_edges() -> None:
    """Cases that once passed validate and then broke the journey (issue 11)."""
    base = {
        "name": "generated",
        "version": 1,
        "calendar": {"timezone": "UTC"},
        "steps": [{"sms": {"template": "nudge"}}, {"wait": {"days": 1}}],
    }
    edges = [
        {"calendar": {"timezone": "UTC", "business_hours": {}}},
        {"steps": [{"wait": {"business_days": 10**14}}]},
        {"steps": [{"wait": {"business_hours": 10**9}}]},
        {"steps": [{"wait": {"days": 10**22}}]},
        {"cycles": {"count": 24, "gap": {"seconds": 1}}},
        {"steps": [{"id": "a", "sms": {"template": "n"}}, {"wait": {"minutes": 1}}, {"goto": "a"}]},
        {
            "steps": [
                {"id": "a", "sms": {"template": "n"}},
                {"wait_for": {"any": ["web.visit"], "within": {"days": 2}, "then": "a"}},
            ]
        },
    ]
    for edge in edges:
        assert refused_or_runs({**base, **edge}, 1) == "refused", edge
