"""The contract between `validate` and the engine, as a property: every generated cadence is
either refused with located problems, or runs a year of random engagement in the simulator
without an exception (to its finish or to a bounded idle state)."""

from __future__ import annotations

import random
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


@st.composite
def cadences(draw: st.DrawFn) -> dict[str, Any]:
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


def engagement(seed: int) -> simulate.Responder:
    """Random engagement: some touches get an open, a click, a reply or a call outcome."""
    rng = random.Random(seed)

    def respond(journey: Journey, touch: Touch, at: datetime) -> Iterable[EngagementEvent]:
        if rng.random() < 0.5:
            return []
        kind = EventKind(rng.choice(RESPONSES))
        later = at + timedelta(minutes=rng.randint(1, 60 * 24 * 5))
        return [
            EngagementEvent(id=f"e{rng.random()}", kind=kind, lead_id=journey.lead.id, at=later)
        ]

    return respond


def refused_or_runs(data: dict[str, Any], seed: int) -> str:
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
        journey, START, respond=engagement(seed), until=START + YEAR, max_commands=20_000
    )
    assert sim.ended_at is not None
    return "ran"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(cadences(), st.integers(0, 2**16))
def test_every_accepted_cadence_runs_a_year(data: dict[str, Any], seed: int) -> None:
    refused_or_runs(data, seed)


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
    ]
    for edge in edges:
        assert refused_or_runs({**base, **edge}, 1) == "refused", edge
