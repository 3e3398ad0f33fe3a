"""The journey engine: properties over random event streams, hours, limits, and each step kind."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.cadence.graph import check_cadence
from nurture.cadence.model import (
    LEGAL_CONTACT_HOURS,
    Cadence,
    ExitRule,
    Limits,
    cadence_files,
    load_cadence,
    parse_cadence,
)
from nurture.cadence.steps import PHONE_CHANNELS, Outcome
from nurture.calendar import DAY_NAMES, parse_window
from nurture.contracts import AcceptHandoff, Assignment, CloseOpportunity, Touch, TouchResult
from nurture.events import Channel, EngagementEvent, EventKind
from nurture.journey import engine
from nurture.journey.commands import Assign, ContinueAsNew, Finish, LoadCadence, SendTouch, Wait
from nurture.journey.engine import EngineError
from nurture.journey.state import Journey, Phase, Stage
from nurture.lead import Lead
from nurture.leads.enrollment import new_journey, snapshot_calendar
from nurture.planning import simulate
from nurture.settings import ROOT
from tests.conftest import fixture_cadence, make_lead

SAMPLES: dict[str, Cadence] = {p.stem: load_cadence(p) for p in cadence_files(ROOT / "cadences")}
FIXTURES: dict[str, Cadence] = {name: fixture_cadence(name) for name in ("drip", "mixed")}
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday
LEGAL = parse_window(LEGAL_CONTACT_HOURS)
WEEK = timedelta(days=7)
#: Lead (time zone, country) pairs; None means "use the cadence's".
PLACES: list[tuple[str | None, str | None]] = [
    (None, None),
    ("UTC", None),
    ("America/New_York", "US"),
    ("America/Los_Angeles", "US"),
    ("America/Chicago", None),
    ("Europe/London", "GB"),
    ("Europe/Berlin", "DE"),
    ("Australia/Sydney", "AU"),
    ("Asia/Tokyo", "JP"),
    ("Asia/Kolkata", "IN"),
    ("America/Sao_Paulo", "BR"),
    ("Pacific/Auckland", "NZ"),
]
PROPERTY = settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

_ids = count()


def rules_of(cadence: Cadence) -> dict[Channel, list[EventKind]]:
    """The cadence's stop rules (a method or a cached property, whichever the engine has)."""
    rules = cadence.stop_rules
    return rules() if callable(rules) else rules


def event(
    kind: EventKind,
    at: datetime,
    *,
    lead: str = "L1",
    event_id: str | None = None,
    touch_id: str | None = None,
    points: int | None = None,
) -> EngagementEvent:
    """An engagement event with a fresh id."""
    return EngagementEvent(
        id=event_id or f"ev-{next(_ids)}",
        kind=kind,
        lead_id=lead,
        at=at,
        touch_id=touch_id,
        points=points,
    )


def cadence(steps: str, extra: str = "", jitter: int = 0, hours: str = "00:00-24:00") -> Cadence:
    """A UTC cadence (every day open unless ``hours`` says otherwise) with these steps."""
    days = ", ".join(f'{d}: "{hours}"' for d in DAY_NAMES)
    text = (
        "name: t\nversion: 1\n"
        f"calendar:\n  timezone: UTC\n  business_hours: {{{days}}}\n  jitter_minutes: {jitter}\n"
        f"{extra}steps:\n{steps}"
    )
    parsed = parse_cadence(text)
    assert check_cadence(parsed) == []
    return parsed


def journey(
    cad: Cadence, lead: Lead | None = None, at: datetime = T0, holidays: bool = True
) -> Journey:
    """A new journey (with the lead's real holidays unless ``holidays`` is False)."""
    lead = lead or make_lead()
    if holidays:
        return new_journey(lead, cad, at)
    snap = snapshot_calendar(lead, cad, at.date()).model_copy(update={"holidays": []})
    return engine.start(lead, cad, snap, at)


def texts(j: Journey, kind: str | None = None) -> list[str]:
    """Timeline texts (of one kind)."""
    return [e.text for e in j.timeline if kind is None or e.kind == kind]


def local(at: datetime, zone: str) -> datetime:
    """An instant on the wall clock of a zone."""
    return at.astimezone(ZoneInfo(zone))


def responder(
    replies: dict[str, list[tuple[EventKind, timedelta]]],
) -> simulate.Responder:
    """Answer touches of the given step ids with events (kind, delay after the touch)."""

    def respond(j: Journey, touch: Touch, now: datetime) -> Iterable[EngagementEvent]:
        for kind, delay in replies.get(touch.step_id, []):
            yield event(kind, now + delay, lead=j.lead.id, touch_id=touch.touch_id)

    return respond


# ---------------------------------------------------------------- random event streams


EVENT_KINDS = list(EventKind)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[str, Lead, datetime, list[EngagementEvent]]:
    """A cadence, a lead somewhere, a start, and random events over the journey's span."""
    name = draw(st.sampled_from(["drip", "mixed", "strategic"]))
    zone, country = draw(st.sampled_from(PLACES))
    lead = make_lead("R1", timezone=zone, country=country)
    start = T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 60)))
    span = {"drip": 100, "mixed": 30, "strategic": 500}[name] * 24 * 60
    items = draw(
        st.lists(
            st.tuples(st.sampled_from(EVENT_KINDS), st.integers(1, span), st.integers(-20, 30)),
            max_size=12,
        )
    )
    events = [
        event(
            kind,
            start + timedelta(minutes=minute),
            lead="R1",
            event_id=f"e{i}",
            points=points if kind is EventKind.score_adjusted else None,
        )
        for i, (kind, minute, points) in enumerate(items)
    ]
    return name, lead, start, events


def cadence_named(name: str) -> Cadence:
    """A sample or fixture cadence."""
    return SAMPLES.get(name) or FIXTURES[name]


def in_play(name: str) -> list[Cadence]:
    """The cadence and the ones it may recycle into."""
    first = cadence_named(name)
    chain = [first]
    if first.cycles.recycle_to:
        chain.append(SAMPLES[first.cycles.recycle_to])
    return chain


@PROPERTY
@given(event_streams())
def test_property_no_touch_after_exit_or_stop(
    stream: tuple[str, Lead, datetime, list[EngagementEvent]],
) -> None:
    """Exits end touches (or this enrolment's, for a recycle); stops end a channel's touches."""
    name, lead, start, events = stream
    chain = in_play(name)
    sim = simulate.run(journey(chain[0], lead, start), start, events=events, cadences=SAMPLES)
    assert isinstance(sim.finish, Finish)
    assert sim.journey.phase in (Phase.done, Phase.handoff)
    ending = set.intersection(
        *(
            {k for r in c.exit_on if r.outcome is not Outcome.recycle for k in r.events}
            for c in chain
        )
    )
    recycling = {k for r in chain[0].exit_on if r.outcome is Outcome.recycle for k in r.events}
    for e in events:
        later = [t for t in sim.touches if t.at > e.at]
        if e.kind in ending:
            assert later == [], f"{e.kind} at {e.at}, then {later[0].touch.touch_id}"
        if e.kind in recycling:
            assert [t for t in later if t.touch.cadence == chain[0].name] == []
        for channel in Channel:
            if all(e.kind in rules_of(c).get(channel, []) for c in chain):
                on_channel = [t for t in later if t.touch.channel is channel]
                assert on_channel == [], f"{channel} after {e.kind} at {e.at}"


@PROPERTY
@given(event_streams(), st.data())
def test_property_redelivery_and_roundtrip_change_nothing(
    stream: tuple[str, Lead, datetime, list[EngagementEvent]], data: st.DataObject
) -> None:
    """Re-delivered event ids are ignored, and serializing at each boundary changes nothing."""
    name, lead, start, events = stream
    first = cadence_named(name)
    once = simulate.run(journey(first, lead, start), start, events=events, cadences=SAMPLES)
    again = [
        e.model_copy(update={"at": e.at + timedelta(minutes=data.draw(st.integers(0, 5000)))})
        for e in events
        if data.draw(st.booleans())
    ]
    twice = simulate.run(
        journey(first, lead, start),
        start,
        events=[*events, *again],
        cadences=SAMPLES,
        roundtrip=True,
    )
    assert [(t.at, t.touch.touch_id) for t in twice.touches] == [
        (t.at, t.touch.touch_id) for t in once.touches
    ]
    assert twice.journey.score == once.journey.score
    assert twice.journey.model_dump(mode="json") == once.journey.model_dump(mode="json")
    assert twice.finish == once.finish
    assert twice.continued_as_new == once.continued_as_new
    seen = {e.id for e in events}
    assert len(twice.journey.seen_events) == len(seen & set(twice.journey.seen_events))


def test_redelivered_score_event_counts_once() -> None:
    """The same score event delivered three times adds its points once."""
    j = journey(FIXTURES["drip"])
    first = event(EventKind.score_adjusted, T0, event_id="same", points=7)
    assert engine.on_event(j, first, T0) is True
    assert engine.on_event(j, first, T0 + timedelta(hours=1)) is False
    assert engine.on_event(j, first.model_copy(update={"points": 99}), T0) is False
    assert j.score == 7
    assert texts(j, "event") == ["Event score.adjusted (+7 points)"]


# ---------------------------------------------------------------- allowed hours


def window_of(cad: Cadence, channel: Channel, weekday: int) -> tuple[time, time] | None:
    """Allowed local hours of a channel on a weekday, computed from the file's text."""
    day = cad.calendar.business_hours.get(DAY_NAMES[weekday])
    if not day:
        return None
    window = parse_window(cad.calendar.channel_hours.get(channel) or day)
    start, end = window.start, window.end
    if channel in PHONE_CHANNELS:
        start, end = max(start, LEGAL.start), min(end, LEGAL.end)
    return start, end


@PROPERTY
@given(
    st.sampled_from(["strategic", "standard"]),
    st.sampled_from(PLACES),
    st.integers(0, 365 * 24 * 60),
    st.integers(0, 2**32),
)
def test_property_touches_inside_allowed_hours(
    name: str, place: tuple[str | None, str | None], minute: int, seed: int
) -> None:
    """Calls/voicemail/SMS inside 08:00-21:00 and their window, email in business hours, on
    business days that are not holidays, within the weekly limit; through the recycle."""
    zone, country = place
    lead = make_lead("H1", timezone=zone, country=country)
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    rng = random.Random(seed)
    outcomes = [EventKind.call_no_answer, EventKind.call_connected, EventKind.call_back_later]

    def respond(j: Journey, touch: Touch, now: datetime) -> Iterable[EngagementEvent]:
        if touch.channel is Channel.call and rng.random() < 0.5:
            delay = timedelta(minutes=rng.randint(1, 600))
            yield event(rng.choice(outcomes), now + delay, lead="H1", touch_id=touch.touch_id)
        if touch.channel is Channel.email and rng.random() < 0.3:
            kind = rng.choice([EventKind.email_open, EventKind.email_click])
            yield event(kind, now + timedelta(minutes=rng.randint(1, 3000)), lead="H1")

    first = SAMPLES[name]
    sim = simulate.run(journey(first, lead, start), start, respond=respond, cadences=SAMPLES)
    assert isinstance(sim.finish, Finish)
    snap = snapshot_calendar(lead, first, start.date())
    holidays = set(snap.holidays)
    assert sim.touches
    for sent in sim.touches:
        touch = sent.touch
        cad = SAMPLES[touch.cadence]
        wall = local(sent.at, snap.timezone)
        assert wall.date() not in holidays, f"{touch.touch_id} on a holiday {wall}"
        window = window_of(cad, touch.channel, wall.weekday())
        assert window is not None, f"{touch.touch_id} on a closed day {wall}"
        opens, closes = window
        assert opens <= wall.time() < closes or closes == time.max, (
            f"{touch.touch_id} at {wall} outside {opens}-{closes}"
        )
        if touch.channel in PHONE_CHANNELS:
            assert time(8) <= wall.time() < time(21)
    for cad_name in {t.touch.cadence for t in sim.touches}:
        limit = SAMPLES[cad_name].limits.max_touches_per_week
        times = [t.at for t in sim.touches if t.touch.cadence == cad_name]
        assert limit is not None
        for at in times:
            assert sum(1 for t in times if at - timedelta(days=7) < t <= at) <= limit


@pytest.mark.parametrize(
    ("zone", "country", "start", "expected"),
    [
        # US spring forward (Sun 8 Mar 2026): Friday 10:00 EST -> Monday 10:00 EDT.
        ("America/New_York", "US", datetime(2026, 3, 6, 10), datetime(2026, 3, 9, 10)),
        # Independence Day observed on Friday 3 Jul 2026.
        ("America/New_York", "US", datetime(2026, 7, 2, 10), datetime(2026, 7, 6, 10)),
        # EU spring forward (Sun 29 Mar 2026).
        ("Europe/London", "GB", datetime(2026, 3, 27, 10), datetime(2026, 3, 30, 10)),
        # Good Friday 2026 (UK-wide; Easter Monday is only an English/Welsh subdivision holiday).
        ("Europe/London", "GB", datetime(2026, 4, 2, 10), datetime(2026, 4, 6, 10)),
        # US fall back (Sun 1 Nov 2026) in Los Angeles.
        ("America/Los_Angeles", "US", datetime(2026, 10, 30, 10), datetime(2026, 11, 2, 10)),
        # Thanksgiving (26 Nov 2026) on a Wednesday start.
        ("America/Chicago", "US", datetime(2026, 11, 25, 10), datetime(2026, 11, 27, 10)),
        # Southern hemisphere: Sydney falls back on Sun 5 Apr 2026; Good Friday + Easter Monday.
        ("Australia/Sydney", "AU", datetime(2026, 4, 2, 10), datetime(2026, 4, 7, 10)),
    ],
)
def test_business_day_waits_across_dst_and_holidays(
    zone: str, country: str, start: datetime, expected: datetime
) -> None:
    """``business_days: 1, at: 10:00`` lands at 10:00 local on the next business day."""
    cad = cadence(
        "  - id: a\n    email: {template: a}\n"
        '  - wait: {business_days: 1, at: "10:00"}\n'
        "  - id: b\n    email: {template: b}\n",
        hours="09:00-17:00",
    ).model_copy(
        update={"calendar": SAMPLES["standard"].calendar.model_copy(update={"jitter_minutes": 0})}
    )
    begin = start.replace(tzinfo=ZoneInfo(zone))
    sim = simulate.run(journey(cad, make_lead(timezone=zone, country=country), begin), begin)
    assert [t.touch.step_id for t in sim.touches] == ["a", "b"]
    assert sim.touches[0].at == begin
    assert local(sim.touches[1].at, zone).replace(tzinfo=None) == expected


def test_deferral_into_allowed_hours_with_jitter() -> None:
    """A call due at 23:00 lead time waits for the next opening (plus jitter) and says why."""
    cad = cadence(
        "  - id: ring\n    call: {script: s, queue: q, due: {hours: 2}}\n",
        jitter=30,
        hours="09:00-17:00",
        extra="",
    )
    cad = cad.model_copy(
        update={
            "calendar": cad.calendar.model_copy(
                update={"channel_hours": {Channel.call: "10:00-16:00"}}
            )
        }
    )
    zone = "America/New_York"
    late = datetime(2026, 3, 10, 23, tzinfo=ZoneInfo(zone))  # a Tuesday
    j = journey(cad, make_lead(timezone=zone, country="US"), late)
    command = engine.advance(j, late)
    assert isinstance(command, Wait)
    opening = datetime(2026, 3, 11, 10, tzinfo=ZoneInfo(zone))
    assert opening <= command.until <= opening + timedelta(minutes=30)
    assert command.until == j.wake_at
    reason = texts(j, "wait")[-1]
    assert reason.startswith("Defer Call task 1/1 · s (outside call hours) → Wed 11 Mar 10:")
    assert reason.endswith("America/New_York")
    assert isinstance(engine.advance(j, command.until - timedelta(seconds=1)), Wait)
    sent = engine.advance(j, command.until)
    assert isinstance(sent, SendTouch)
    assert sent.touch.channel is Channel.call


def test_phone_touch_never_outside_legal_hours_even_if_business_hours_are_wider() -> None:
    """Business hours 06:00-23:00 still cap calls and texts at 08:00-21:00."""
    cad = cadence(
        "  - id: text\n    sms: {template: s}\n  - wait: {hours: 1}\n"
        "  - id: mail\n    email: {template: m}\n",
        hours="06:00-23:00",
    )
    early = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    sim = simulate.run(journey(cad, make_lead(timezone="UTC"), early), early)
    assert sim.touches[0].at == datetime(2026, 3, 10, 8, tzinfo=UTC)
    assert sim.touches[1].at == datetime(2026, 3, 10, 9, tzinfo=UTC)


# ---------------------------------------------------------------- weekly limit, no catch-up


@PROPERTY
@given(
    st.integers(1, 4),
    st.lists(st.integers(0, 60 * 72), min_size=1, max_size=14),
    st.integers(0, 60),
    st.sampled_from(PLACES),
)
def test_property_weekly_limit(
    limit: int, gaps: list[int], jitter: int, place: tuple[str | None, str | None]
) -> None:
    """No rolling 7 days hold more than ``max_touches_per_week`` touches; none is dropped."""
    steps = "  - id: t0\n    email: {template: e}\n"
    for i, gap in enumerate(gaps, 1):
        if gap:
            steps += f"  - wait: {{minutes: {gap}}}\n"
        steps += f"  - id: t{i}\n    {'sms' if i % 3 == 0 else 'email'}: {{template: e}}\n"
    cad = cadence(steps, extra=f"limits: {{max_touches_per_week: {limit}}}\n", jitter=jitter)
    zone, country = place
    lead = make_lead("W1", timezone=zone, country=country)
    sim = simulate.run(journey(cad, lead), T0)
    times = [t.at for t in sim.touches]
    assert len(times) == len(gaps) + 1
    assert times == sorted(times)
    for at in times:
        assert sum(1 for t in times if at - timedelta(days=7) < t <= at) <= limit
    free = simulate.run(journey(cad.model_copy(update={"limits": Limits()}), lead), T0)
    unlimited = [t.at for t in free.touches]
    if any(sum(1 for t in unlimited if at - WEEK < t <= at) > limit for at in unlimited):
        # The reasons are listed together, e.g. "(outside sms hours, weekly touch limit)".
        assert any("weekly touch limit)" in text for text in texts(sim.journey, "wait"))
    else:
        assert times == unlimited


def test_no_catch_up_after_a_late_resume() -> None:
    """Resuming days after a wait ended sends one touch, then waits the full delay again."""
    cad = cadence(
        "  - id: a\n    email: {template: e}\n  - wait: {days: 2}\n"
        "  - id: b\n    email: {template: e}\n  - wait: {days: 2}\n"
        "  - id: c\n    email: {template: e}\n"
    )
    j = journey(cad, make_lead(timezone="UTC"), holidays=False)
    first = engine.advance(j, T0)
    assert isinstance(first, SendTouch)
    engine.on_touch_result(j, TouchResult(), T0)
    wait = engine.advance(j, T0)
    assert isinstance(wait, Wait)
    assert wait.until == T0 + timedelta(days=2)
    late = T0 + timedelta(days=9)
    second = engine.advance(j, late)
    assert isinstance(second, SendTouch)
    assert second.touch.step_id == "b"
    engine.on_touch_result(j, TouchResult(), late)
    again = engine.advance(j, late)
    assert isinstance(again, Wait)
    assert again.until == late + timedelta(days=2)
    assert isinstance(engine.advance(j, late + timedelta(hours=1)), Wait)


# ---------------------------------------------------------------- wait_for

WATCH = (
    "  - id: mail\n    email: {template: e}\n"
    "  - id: pause\n    wait: {hours: 2}\n"
    "  - id: watch\n    wait_for: {%s: [email.open, email.click], within: {days: 2},"
    " then: hot, else: cold}\n"
    "  - id: cold\n    email: {template: cold}\n"
    "  - exit: {outcome: finished}\n"
    "  - id: hot\n    email: {template: hot}\n"
)


def watch_run(events: list[EngagementEvent], mode: str = "any") -> simulate.Simulation:
    """Run the wait_for cadence from T0 with these events."""
    cad = cadence(WATCH % mode)
    return simulate.run(journey(cad, make_lead(timezone="UTC"), holidays=False), T0, events=events)


def test_wait_for_event_in_time_takes_then() -> None:
    """An open within the window goes to ``then`` at once."""
    opened = T0 + timedelta(days=1)
    sim = watch_run([event(EventKind.email_open, opened)])
    assert [(t.touch.step_id, t.at) for t in sim.touches] == [("mail", T0), ("hot", opened)]
    assert "Engaged (email.open) → hot" in texts(sim.journey, "wait_for")


def test_wait_for_nothing_takes_else_at_the_deadline() -> None:
    """No engagement: ``else`` when the window closes."""
    sim = watch_run([event(EventKind.web_visit, T0 + timedelta(days=1))])
    deadline = T0 + timedelta(hours=2, days=2)
    assert [(t.touch.step_id, t.at) for t in sim.touches] == [("mail", T0), ("cold", deadline)]
    assert "No engagement in time → cold" in texts(sim.journey, "wait_for")


def test_wait_for_too_late_takes_else() -> None:
    """An open after the window is too late."""
    sim = watch_run([event(EventKind.email_open, T0 + timedelta(days=3))])
    assert [t.touch.step_id for t in sim.touches] == ["mail", "cold"]


def test_wait_for_counts_events_since_the_last_touch() -> None:
    """An open that arrived before the wait_for started (after the email) counts."""
    sim = watch_run([event(EventKind.email_click, T0 + timedelta(hours=1))])
    start = T0 + timedelta(hours=2)
    assert [(t.touch.step_id, t.at) for t in sim.touches] == [("mail", T0), ("hot", start)]


def test_wait_for_ignores_events_before_the_last_touch() -> None:
    """An open of an earlier email doesn't count for the wait after a newer touch."""
    cad = cadence("  - id: old\n    email: {template: e}\n  - wait: {days: 1}\n" + WATCH % "any")
    early = event(EventKind.email_open, T0 + timedelta(hours=3))
    sim = simulate.run(journey(cad, holidays=False), T0, events=[early])
    assert [t.touch.step_id for t in sim.touches] == ["old", "mail", "cold"]


def test_wait_for_all_needs_every_kind() -> None:
    """``all``: one kind is not enough; both are."""
    only_open = watch_run([event(EventKind.email_open, T0 + timedelta(hours=5))], "all")
    assert [t.touch.step_id for t in only_open.touches] == ["mail", "cold"]
    click = T0 + timedelta(days=1)
    both = watch_run(
        [event(EventKind.email_open, T0 + timedelta(hours=1)), event(EventKind.email_click, click)],
        "all",
    )
    assert [(t.touch.step_id, t.at) for t in both.touches] == [("mail", T0), ("hot", click)]


# ---------------------------------------------------------------- branches, goto, exit

BRANCHY = """\
  - id: ring
    call: {script: s, queue: q, due: {hours: 4}}
  - wait: {days: 1}
  - id: decide
    branch:
      cases:
        - when: {score_at_least: 10}
          goto: hot
        - when: {score_below: -5}
          goto: cold
        - when: {segment: [vip], score_at_least: 3}
          goto: vip-scored
        - when: {segment: [vip]}
          goto: vip
        - when: {field: {name: industry, equals: Retail}}
          goto: retail
        - when: {field: {name: title, in: [CEO, CTO]}}
          goto: exec
        - when: {field: {name: employees, present: true}}
          goto: sized
        - when: {last_disposition: [call.no_answer]}
          goto: retry
        - when: {engaged: [web.visit]}
          goto: visited
        - when: {field: {name: owner, present: false}}
          goto: ownerless
      otherwise: plain
"""
TARGETS = [
    "hot",
    "cold",
    "vip-scored",
    "vip",
    "retail",
    "exec",
    "sized",
    "retry",
    "visited",
    "ownerless",
    "plain",
]
BRANCH_CADENCE = cadence(
    BRANCHY
    + "".join(
        f"  - id: {t}\n    email: {{template: {t}}}\n  - exit: {{outcome: finished}}\n"
        for t in TARGETS
    )
)


@pytest.mark.parametrize(
    ("lead", "events", "target"),
    [
        ({}, [], "plain"),
        ({}, [(EventKind.score_adjusted, 6), (EventKind.score_adjusted, 4)], "hot"),
        ({}, [(EventKind.score_adjusted, 9)], "plain"),
        ({}, [(EventKind.score_adjusted, -6)], "cold"),
        ({"segment": "vip"}, [(EventKind.score_adjusted, 3)], "vip-scored"),
        ({"segment": "vip"}, [], "vip"),
        ({"fields": {"industry": "Retail"}}, [], "retail"),
        ({"fields": {"industry": "retail"}}, [], "plain"),
        ({"title": "CTO"}, [], "exec"),
        ({"fields": {"employees": "40"}}, [], "sized"),
        ({"fields": {"employees": ""}}, [], "plain"),
        ({}, [(EventKind.call_no_answer, None)], "retry"),
        ({}, [(EventKind.call_connected, None)], "plain"),
        ({}, [(EventKind.web_visit, None)], "visited"),
        ({"owner": ""}, [], "ownerless"),
    ],
)
def test_branch_conditions(
    lead: dict[str, object], events: list[tuple[EventKind, int | None]], target: str
) -> None:
    """The first case that holds wins; otherwise goes to ``otherwise``."""
    evs = [
        event(kind, T0 + timedelta(hours=1 + i), points=points)
        for i, (kind, points) in enumerate(events)
    ]
    sim = simulate.run(journey(BRANCH_CADENCE, make_lead(**lead), holidays=False), T0, events=evs)
    assert [t.touch.step_id for t in sim.touches] == ["ring", target]
    assert sim.finish == Finish(outcome=Outcome.finished, stage=sim.journey.stage)
    if target != "plain":
        assert any(text.endswith(f"→ {target}") for text in texts(sim.journey, "branch"))


def test_last_disposition_is_cleared_by_a_new_cycle() -> None:
    """Documented: the last call outcome belongs to its cycle."""
    cad = cadence(
        BRANCHY.split("  - id: decide")[0] + "  - id: decide\n    branch:\n      cases:\n"
        "        - when: {last_disposition: [call.no_answer]}\n          goto: retry\n"
        "      otherwise: plain\n"
        "  - id: retry\n    email: {template: r}\n  - goto: end\n"
        "  - id: plain\n    email: {template: p}\n  - id: end\n    wait: {hours: 1}\n",
        extra="cycles: {count: 2, gap: {days: 10}}\n",
    )
    respond = responder({"ring": [(EventKind.call_no_answer, timedelta(hours=1))]})
    first = simulate.run(journey(cad, holidays=False), T0, respond=respond)
    assert [t.touch.step_id for t in first.touches] == ["ring", "retry"] * 2

    def only_first_cycle(j: Journey, touch: Touch, now: datetime) -> Iterable[EngagementEvent]:
        return respond(j, touch, now) if touch.cycle == 1 else []

    sim = simulate.run(journey(cad, holidays=False), T0, respond=only_first_cycle)
    # Cycle 2's call task times out: no disposition in this cycle, so no retry.
    assert [t.touch.step_id for t in sim.touches] == ["ring", "retry", "ring", "plain"]


def test_a_timed_out_call_task_has_no_disposition() -> None:
    """Documented: a new call task clears the last disposition; timing out sets none."""
    cad = cadence(
        "  - id: ring\n    call: {script: s, queue: q, due: {hours: 4}}\n"
        "  - id: ring-again\n    call: {script: s, queue: q, due: {hours: 4}}\n"
        "  - id: decide\n    branch:\n      cases:\n"
        "        - when: {last_disposition: [call.no_answer]}\n          goto: retry\n"
        "      otherwise: plain\n"
        "  - id: retry\n    email: {template: r}\n  - exit: {}\n"
        "  - id: plain\n    email: {template: p}\n"
    )
    respond = responder({"ring": [(EventKind.call_no_answer, timedelta(hours=1))]})
    sim = simulate.run(journey(cad, holidays=False), T0, respond=respond)
    assert [t.touch.step_id for t in sim.touches] == ["ring", "ring-again", "plain"]


def test_goto_skips_steps() -> None:
    """drip: a lead who doesn't open gets the SMS, then goto skips the call."""
    sim = simulate.run(journey(FIXTURES["drip"], holidays=False), T0)
    per_cycle = [t.touch.step_id for t in sim.touches if t.touch.cycle == 1]
    assert per_cycle == ["hello", "cold", "done"]


@pytest.mark.parametrize(
    ("outcome", "stage"),
    [
        ("sales_ready", Stage.sales_ready),
        ("disqualified", Stage.disqualified),
        ("finished", Stage.nurturing),
        ("recycle", Stage.recycled),
    ],
)
def test_exit_step_outcomes(outcome: str, stage: Stage) -> None:
    """An exit step ends the journey with its outcome and the matching stage."""
    cad = cadence(
        "  - id: a\n    email: {template: e}\n"
        f"  - exit: {{outcome: {outcome}}}\n  - id: never\n    email: {{template: e}}\n",
        extra="cycles: {count: 3, gap: {days: 1}}\n",
    )
    sim = simulate.run(journey(cad, holidays=False), T0)
    assert sim.finish == Finish(outcome=Outcome(outcome), stage=stage)
    assert [t.touch.step_id for t in sim.touches] == ["a"]
    assert sim.continued_as_new == 0
    if outcome == "sales_ready":
        assert texts(sim.journey, "handoff")[-1].startswith("Cadence stopped: sales-ready")
    else:
        assert texts(sim.journey, "exit")[-1].startswith(f"Cadence ended: {outcome}")


@pytest.mark.parametrize(
    "kind", [EventKind.email_reply, EventKind.sms_reply, EventKind.call_meeting_booked]
)
def test_exit_on_event_is_sales_ready(kind: EventKind) -> None:
    """The default exit rules hand the lead to sales at once, even mid-wait."""
    at = T0 + timedelta(days=1, hours=3)
    sim = simulate.run(journey(FIXTURES["drip"], holidays=False), T0, events=[event(kind, at)])
    assert sim.finish == Finish(outcome=Outcome.sales_ready, stage=Stage.sales_ready)
    assert sim.ended_at == at
    assert all(t.at <= at for t in sim.touches)


def test_stage_moves_from_new_to_nurturing_to_engaged() -> None:
    """First touch: nurturing; an engagement event: engaged."""
    sim = watch_run([event(EventKind.email_open, T0 + timedelta(hours=1))])
    assert texts(sim.journey, "stage") == [
        "Stage new → nurturing (first touch)",
        "Stage nurturing → engaged (email.open)",
    ]


# ---------------------------------------------------------------- channel stops and skips


def test_channel_stop_skips_that_channel_only() -> None:
    """An unsubscribe stops email; calls go on."""
    unsubscribed = T0 + timedelta(hours=2)
    sim = simulate.run(
        journey(FIXTURES["mixed"], holidays=False),
        T0,
        events=[event(EventKind.email_unsubscribe, unsubscribed)],
    )
    assert [(t.touch.step_id, t.touch.cycle) for t in sim.touches] == [
        ("intro", 1),
        ("ring", 1),
        ("ring", 2),
    ]
    assert "email stopped (email.unsubscribe)" in texts(sim.journey, "stop")
    assert any("Skipped email step follow-up" in t for t in texts(sim.journey, "skip"))


def test_failed_touch_stops_the_channel_and_skipped_touch_moves_on() -> None:
    """A permanent failure stops the channel; a skipped touch just moves to the next step."""
    cad = cadence(
        "  - id: a\n    sms: {template: e}\n  - id: b\n    email: {template: e}\n"
        "  - wait: {days: 1}\n  - id: c\n    sms: {template: e}\n"
        "  - id: d\n    email: {template: e}\n"
    )
    j = journey(cad, holidays=False)
    now = T0
    sent: list[str] = []
    while not isinstance(command := engine.advance(j, now), Finish):
        if isinstance(command, SendTouch):
            sent.append(command.touch.step_id)
            result = {
                "a": TouchResult(status="failed", error="invalid number"),
                "b": TouchResult(status="skipped", error="template broke"),
            }.get(command.touch.step_id, TouchResult())
            engine.on_touch_result(j, result, now)
        elif isinstance(command, Wait):
            now = command.until
    assert sent == ["a", "b", "d"]
    assert j.stopped == {Channel.sms: "invalid number"}
    assert j.touches_sent == 1
    assert any("sms stopped" in t for t in texts(j, "stop"))


def test_unreachable_channels_are_skipped() -> None:
    """No phone: SMS and calls are skipped with a reason; no address: no letter."""
    lead = Lead(id="E1", email="e1@example.com")
    sim = simulate.run(journey(FIXTURES["drip"], lead, holidays=False), T0)
    assert {t.touch.channel for t in sim.touches} == {Channel.email}
    skips = texts(sim.journey, "skip")
    assert any("no phone number" in s for s in skips)
    assert any("no postal address" in s for s in skips)


# ---------------------------------------------------------------- call tasks

CALL = (
    "  - id: ring\n    call: {script: s, queue: q, due: {hours: 4}, on_timeout: %s%s}\n"
    "  - id: after\n    email: {template: e}\n"
)


def call_run(
    on_timeout: str, replies: dict[str, list[tuple[EventKind, timedelta]]] | None = None
) -> simulate.Simulation:
    """Run the one-call cadence."""
    extra = ", voicemail: vm" if on_timeout == "voicemail" else ""
    cad = cadence(CALL % (on_timeout, extra))
    return simulate.run(journey(cad, holidays=False), T0, respond=responder(replies or {}))


def test_call_task_completed_by_its_outcome() -> None:
    """A disposition for the task closes it; the cadence moves on then."""
    sim = call_run("skip", {"ring": [(EventKind.call_connected, timedelta(hours=1))]})
    assert [(t.touch.step_id, t.at) for t in sim.touches] == [
        ("ring", T0),
        ("after", T0 + timedelta(hours=1)),
    ]
    ring = sim.touches[0].touch
    assert (ring.queue, ring.assignee, ring.due) == ("q", "sam.rep", T0 + timedelta(hours=4))
    assert "Call task done: call.connected" in texts(sim.journey, "call")


def test_call_outcome_for_another_task_does_not_close_it() -> None:
    """A disposition naming another touch id is recorded but doesn't close this task."""
    cad = cadence(CALL % ("skip", ""))
    stale = event(EventKind.call_connected, T0 + timedelta(hours=1), touch_id="other")
    sim = simulate.run(journey(cad, holidays=False), T0, events=[stale])
    assert sim.touches[1].at == T0 + timedelta(hours=4)
    assert "Call task overdue, skipped" in texts(sim.journey, "call")


def test_call_task_timeout_skip() -> None:
    """Nobody works it: at ``due`` the cadence moves on."""
    sim = call_run("skip")
    assert [(t.touch.step_id, t.at) for t in sim.touches] == [
        ("ring", T0),
        ("after", T0 + timedelta(hours=4)),
    ]


@pytest.mark.parametrize(
    ("rule", "verb", "then"),
    [
        ("reassign", "reassigning in the queue", "Call task assigned to q-rep (round-robin in q)"),
        ("escalate", "escalating", "Call task escalated to manager q-manager"),
    ],
)
def test_call_task_timeout_reassign_once_then_skip(rule: str, verb: str, then: str) -> None:
    """Reassign (or escalate) once for another ``due``, then move on."""
    sim = call_run(rule)
    assert [(t.touch.step_id, t.at) for t in sim.touches] == [
        ("ring", T0),
        ("after", T0 + timedelta(hours=8)),
    ]
    calls = texts(sim.journey, "call")
    assert [c for c in calls if "overdue" in c] == [
        f"Call task overdue, {verb}",
        "Call task overdue, skipped",
    ]
    assert any(c.startswith(then) for c in calls), calls


def test_call_task_reassigned_then_worked() -> None:
    """A disposition during the second ``due`` still closes the task."""
    sim = call_run("reassign", {"ring": [(EventKind.call_no_answer, timedelta(hours=6))]})
    assert sim.touches[1].at == T0 + timedelta(hours=6)


def test_call_task_timeout_voicemail_detour() -> None:
    """on_timeout voicemail drops the voicemail template as its own touch, then moves on."""
    sim = call_run("voicemail")
    due = T0 + timedelta(hours=4)
    assert [(t.touch.step_id, t.touch.channel, t.at) for t in sim.touches] == [
        ("ring", Channel.call, T0),
        ("ring-voicemail", Channel.voicemail, due),
        ("after", Channel.email, due),
    ]
    assert sim.touches[1].touch.template == "vm"
    assert sim.touches[1].touch.touch_id.endswith(":c1:ring-voicemail")


def test_voicemail_detour_skipped_when_voicemail_is_stopped() -> None:
    """A do-not-call request during the task stops the detour too."""
    cad = cadence(CALL % ("voicemail", ", voicemail: vm"))
    dnc = event(EventKind.call_do_not_call, T0 + timedelta(hours=1), touch_id="other")
    sim = simulate.run(journey(cad, holidays=False), T0, events=[dnc])
    assert [t.touch.step_id for t in sim.touches] == ["ring", "after"]


def test_touch_ids_unique_per_visit() -> None:
    """Revisiting a step in a cycle suffixes its touch id; a new cycle starts over."""
    cad = cadence(
        "  - id: a\n    email: {template: e}\n"
        "  - id: watch\n"
        "    wait_for: {any: [email.open], within: {days: 1}, then: rest, else: end}\n"
        "  - id: rest\n    wait: {days: 1}\n"
        "  - id: back\n    goto: a\n"
        "  - id: end\n    wait: {hours: 1}\n",
        extra="cycles: {count: 2, gap: {days: 3}}\n",
    )
    seen: list[str] = []

    def respond(j: Journey, touch: Touch, now: datetime) -> Iterable[EngagementEvent]:
        seen.append(touch.touch_id)
        if len(seen) < 3:
            yield event(EventKind.email_open, now + timedelta(hours=1))

    sim = simulate.run(journey(cad, holidays=False), T0, respond=respond)
    ids = [t.touch.touch_id for t in sim.touches]
    assert ids == [
        "L1:t:v1:e1:c1:a",
        "L1:t:v1:e1:c1:a#2",
        "L1:t:v1:e1:c1:a#3",
        "L1:t:v1:e1:c2:a",
    ]
    assert len(set(ids)) == len(ids)


# ---------------------------------------------------------------- cycles and recycling


def test_cycles_continue_as_new_with_the_gap() -> None:
    """drip: three cycles, two continue-as-new boundaries, 30 days of rest between them."""
    sim = simulate.run(journey(FIXTURES["drip"], holidays=False), T0, roundtrip=True)
    assert sim.continued_as_new == 2
    assert sim.finish == Finish(outcome=Outcome.finished, stage=Stage.nurturing)
    by_cycle = {c: [t.at for t in sim.touches if t.touch.cycle == c] for c in (1, 2, 3)}
    for c in (1, 2):
        assert min(by_cycle[c + 1]) - max(by_cycle[c]) >= timedelta(days=30)
    third = next(t.touch.touch_id for t in sim.touches if t.touch.cycle == 3)
    assert third == "L1:drip:v1:e1:c3:hello"


def test_continue_as_new_at_each_boundary_by_hand() -> None:
    """advance returns ContinueAsNew when a cycle ends, then waits out the gap."""
    cad = cadence(
        "  - id: a\n    email: {template: e}\n", extra="cycles: {count: 2, gap: {days: 5}}\n"
    )
    j = journey(cad, holidays=False)
    assert isinstance(engine.advance(j, T0), SendTouch)
    engine.on_touch_result(j, TouchResult(), T0)
    assert isinstance(engine.advance(j, T0), ContinueAsNew)
    j = Journey.model_validate_json(j.model_dump_json())
    wait = engine.advance(j, T0)
    assert isinstance(wait, Wait)
    assert wait.until == T0 + timedelta(days=5)
    assert j.cycle == 2
    assert isinstance(engine.advance(j, wait.until), SendTouch)


def test_recycle_after_the_last_cycle() -> None:
    """strategic's 3 cycles, 60 days' cool-down, then long-term-nurture as enrolment 2."""
    lead = make_lead(timezone="America/New_York", country="US")
    sim = simulate.run(journey(SAMPLES["strategic"], lead), T0, cadences=SAMPLES, roundtrip=True)
    assert sim.finish == Finish(outcome=Outcome.finished, stage=Stage.nurturing)
    strategic = [t for t in sim.touches if t.touch.cadence == "strategic"]
    ltn = [t for t in sim.touches if t.touch.cadence == "long-term-nurture"]
    assert {t.touch.cycle for t in strategic} == {1, 2, 3}
    assert {t.touch.cycle for t in ltn} == {1, 2, 3, 4, 5, 6}
    assert all(":strategic:v1:e1:" in t.touch.touch_id for t in strategic)
    assert all(":long-term-nurture:v1:e2:" in t.touch.touch_id for t in ltn)
    assert ltn[0].at - strategic[-1].at >= timedelta(days=60)
    assert sim.continued_as_new == 2 + 1 + 5
    assert sim.journey.enrolment == 2
    stages = texts(sim.journey, "stage")
    assert any("→ recycled" in s for s in stages)
    assert stages[-1] == "Stage recycled → nurturing (recycled into long-term-nurture)"


def test_recycle_by_hand_loads_the_cadence() -> None:
    """After the cool-down the engine asks for the cadence, then starts it."""
    cad = cadence(
        "  - id: a\n    email: {template: e}\n",
        extra="cycles: {after_last: recycle, recycle_to: next, cool_down: {days: 7}}\n",
    )
    nxt = parse_cadence(
        "name: next\nversion: 2\ncalendar: {timezone: UTC, business_hours: {mon: '00:00-24:00',"
        " tue: '00:00-24:00', wed: '00:00-24:00', thu: '00:00-24:00', fri: '00:00-24:00'},"
        " jitter_minutes: 0}\nsteps:\n  - id: b\n    email: {template: e}\n"
    )
    j = journey(cad, holidays=False)
    assert isinstance(engine.advance(j, T0), SendTouch)
    engine.on_touch_result(j, TouchResult(), T0)
    assert isinstance(engine.advance(j, T0), ContinueAsNew)
    assert j.stage is Stage.recycled
    assert isinstance(engine.advance(j, T0 + timedelta(days=6)), Wait)
    load = engine.advance(j, T0 + timedelta(days=7))
    assert load == LoadCadence(name="next")
    engine.on_cadence_loaded(j, nxt, j.calendar, T0 + timedelta(days=7))
    sent = engine.advance(j, T0 + timedelta(days=7))
    assert isinstance(sent, SendTouch)
    assert sent.touch.touch_id == "L1:next:v2:e2:c1:b"


def test_exit_on_recycle_recycles() -> None:
    """strategic: 'not interested' ends the cadence and recycles into long-term nurture."""
    lead = make_lead(timezone="America/New_York", country="US")
    respond = responder({"first-call": [(EventKind.call_not_interested, timedelta(hours=1))]})
    sim = simulate.run(journey(SAMPLES["strategic"], lead), T0, respond=respond, cadences=SAMPLES)
    assert sim.finish == Finish(outcome=Outcome.finished, stage=Stage.nurturing)
    first_call = next(t for t in sim.touches if t.touch.step_id == "first-call")
    strategic = [t.touch.step_id for t in sim.touches if t.touch.cadence == "strategic"]
    assert strategic == ["intro-email", "first-call"]
    ltn = [t for t in sim.touches if t.touch.cadence == "long-term-nurture"]
    assert ltn[0].touch.touch_id.startswith("L1:long-term-nurture:v1:e2:c1:")
    assert ltn[0].at - first_call.at >= timedelta(days=60)
    assert any(
        t.startswith("Cadence ended: recycle (call.not_interested)")
        for t in texts(sim.journey, "exit")
    )


def test_exit_on_recycle_without_recycle_to_ends_recycled() -> None:
    """An exit to recycle with nowhere to go ends the journey, marked recycled."""
    cad = FIXTURES["mixed"].model_copy(
        update={
            "exit_on": [ExitRule(events=[EventKind.call_not_interested], outcome=Outcome.recycle)]
        }
    )
    at = T0 + timedelta(days=1, hours=1)
    sim = simulate.run(
        journey(cad, holidays=False), T0, events=[event(EventKind.call_not_interested, at)]
    )
    assert sim.finish == Finish(outcome=Outcome.recycle, stage=Stage.recycled)
    assert all(t.at <= at for t in sim.touches)


# ---------------------------------------------------------------- misuse


def test_loop_without_a_wait_raises_engine_error() -> None:
    """A goto loop (which validation rejects) makes the engine refuse rather than spin."""
    text = (
        "name: spin\nversion: 1\ncalendar: {timezone: UTC, jitter_minutes: 0}\nsteps:\n"
        "  - id: a\n    email: {template: e}\n  - id: b\n    goto: c\n  - id: c\n    goto: b\n"
    )
    cad = parse_cadence(text)
    assert any("loop without a wait" in message for _, message in check_cadence(cad))
    j = journey(cad, holidays=False)
    now = datetime(2026, 3, 3, 15, tzinfo=UTC)
    assert isinstance(engine.advance(j, now), SendTouch)
    engine.on_touch_result(j, TouchResult(), now)
    with pytest.raises(EngineError, match="without a wait"):
        engine.advance(j, now)


def test_engine_refuses_out_of_order_calls() -> None:
    """advance while sending, or a result with nothing pending, is an EngineError."""
    j = journey(FIXTURES["drip"], holidays=False)
    with pytest.raises(EngineError):
        engine.on_touch_result(j, TouchResult(), T0)
    assert isinstance(engine.advance(j, T0), SendTouch)
    with pytest.raises(EngineError):
        engine.advance(j, T0)


def test_events_after_the_end_change_nothing() -> None:
    """A finished journey (here: handed off, accepted, won) records late events but stays
    finished."""
    j = journey(FIXTURES["drip"], holidays=False)
    engine.on_event(j, event(EventKind.email_reply, T0), T0)
    assert isinstance(engine.advance(j, T0), Assign)
    engine.on_assigned(j, Assignment(rep="sam.rep"), T0)
    handoff = j.handoff
    assert handoff is not None
    engine.accept_handoff(j, AcceptHandoff(handoff_id=handoff.id, rep="sam.rep"), T0)
    engine.close_opportunity(
        j, CloseOpportunity(handoff_id=handoff.id, rep="sam.rep", outcome="won"), T0
    )
    assert engine.advance(j, T0) == Finish(outcome=Outcome.sales_ready, stage=Stage.won)
    engine.on_event(j, event(EventKind.score_adjusted, T0, points=50), T0)
    engine.on_event(j, event(EventKind.email_unsubscribe, T0), T0)
    assert j.score == 0
    assert j.stopped == {}
    assert engine.advance(j, T0) == Finish(outcome=Outcome.sales_ready, stage=Stage.won)


@pytest.mark.parametrize(
    ("kind", "handoff"), [(EventKind.email_reply, True), (EventKind.email_unsubscribe, False)]
)
def test_event_while_a_touch_is_being_sent(kind: EventKind, handoff: bool) -> None:
    """Events may arrive at any moment, also between SendTouch and its result."""
    j = journey(FIXTURES["drip"], holidays=False)
    assert isinstance(engine.advance(j, T0), SendTouch)
    engine.on_event(j, event(kind, T0), T0)
    engine.on_touch_result(j, TouchResult(), T0)
    command = engine.advance(j, T0)
    if handoff:
        assert isinstance(command, Assign)
        assert j.stage is Stage.sales_ready
    else:
        assert isinstance(command, Wait)
        assert Channel.email in j.stopped


def test_phone_touches_carry_the_cadences_caller_id() -> None:
    """``calendar.caller_id`` goes with SMS, voicemail and call touches, not with email."""
    steps = "  - email: {template: e}\n  - sms: {template: s}\n  - voicemail: {template: v}\n"
    cad = cadence(steps)
    calendar = cad.calendar.model_copy(update={"caller_id": "+13125550199"})
    j = journey(cad.model_copy(update={"calendar": calendar}), holidays=False)
    sent = simulate.run(j, T0).touches
    assert [(t.touch.channel.value, t.touch.caller_id) for t in sent] == [
        ("email", None),
        ("sms", "+13125550199"),
        ("voicemail", "+13125550199"),
    ]
