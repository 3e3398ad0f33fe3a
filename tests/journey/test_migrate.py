"""Moving a running journey to a newer cadence version: where it continues, what is refused, and
that the move waits for the touch in flight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nurture.cadence.model import Cadence, parse_cadence
from nurture.contracts import MigrateLead, TouchResult
from nurture.journey import engine
from nurture.journey.commands import ActionRefused, SendTouch
from nurture.journey.migrate import apply_migration, plan
from nurture.journey.state import Journey, Phase
from nurture.leads.enrollment import new_journey
from nurture.planning import simulate
from tests.conftest import make_lead

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
HEAD = """\
name: flow
version: {version}
sender: {{name: Test Sender, email: sender@example.com}}
calendar:
  timezone: UTC
  business_hours: {{mon: "00:00-24:00", tue: "00:00-24:00", wed: "00:00-24:00",
    thu: "00:00-24:00", fri: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00"}}
  jitter_minutes: 0
steps:
"""
V1 = (
    HEAD.format(version=1)
    + """\
  - {id: hello, email: {template: hello}}
  - {id: w1, wait: {days: 1}}
  - {id: nudge, sms: {template: nudge}}
  - {id: w2, wait: {days: 1}}
  - {id: letter, direct_mail: {template: letter}}
"""
)
V2 = (
    HEAD.format(version=2)
    + """\
  - {id: hello, email: {template: hello}}
  - {id: w1, wait: {days: 1}}
  - {id: tips, email: {template: hello}}
  - {id: w2, wait: {days: 2}}
  - {id: letter, direct_mail: {template: letter}}
"""
)


def cadence(text: str) -> Cadence:
    return parse_cadence(text, "flow.yaml")


def at_step(step_after: str) -> tuple[Journey, datetime]:
    """A v1 journey stopped in the wait before ``step_after``."""
    journey = new_journey(make_lead("L1", timezone="UTC"), cadence(V1), T0)
    hours = {"nudge": 12, "letter": 36}[step_after]
    run = simulate.run(journey, T0, until=T0 + timedelta(hours=hours))
    assert run.ended_at is not None
    return run.journey, run.ended_at


def test_a_step_the_new_version_lacks_needs_a_mapping() -> None:
    journey, _ = at_step("nudge")
    move = MigrateLead(cadence=cadence(V2))
    found = plan(journey, move)
    assert found.refused is not None and "--map nudge=NEW-STEP" in found.refused
    with pytest.raises(ActionRefused, match="no longer has"):
        engine.refuse_migrate(journey, move)
    mapped = move.model_copy(update={"mapping": {"nudge": "tips"}})
    assert plan(journey, mapped).to == "v2 tips"
    wrong = move.model_copy(update={"mapping": {"nudge": "nope"}})
    with pytest.raises(ActionRefused, match="no step 'nope'"):
        engine.refuse_migrate(journey, wrong)


def test_a_moved_lead_continues_at_the_mapped_step_without_repeats() -> None:
    journey, now = at_step("nudge")
    text = engine.migrate(journey, MigrateLead(cadence=cadence(V2), mapping={"nudge": "tips"}), now)
    assert "continues at tips" in text
    assert journey.cadence.version == 1, "applied at the next wait, not in the update"
    run = simulate.run(journey, now)
    steps = [(t.touch.step_id, t.touch.cadence_version) for t in run.touches]
    assert steps == [("tips", 2), ("letter", 2)]
    assert all(":v2:" in t.touch.touch_id for t in run.touches)
    # the wait already running keeps its time; the next wait is v2's (2 days)
    assert run.touches[0].at == T0 + timedelta(days=1)
    assert run.touches[1].at == T0 + timedelta(days=3)
    assert any("Moved from flow v1 (at nudge) to v2" in e.text for e in run.journey.timeline)


def test_kept_steps_continue_by_id() -> None:
    journey, now = at_step("letter")
    engine.migrate(journey, MigrateLead(cadence=cadence(V2)), now)
    run = simulate.run(journey, now)
    assert [t.touch.step_id for t in run.touches] == ["letter"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 1}, "must be higher"),
        ({"name": "other"}, "not other"),
    ],
)
def test_refusals(change: dict[str, object], message: str) -> None:
    journey, _ = at_step("letter")
    new = cadence(V2).model_copy(update=change)
    with pytest.raises(ActionRefused, match=message):
        engine.refuse_migrate(journey, MigrateLead(cadence=new))


def test_a_lead_with_sales_is_refused() -> None:
    journey, _ = at_step("letter")
    journey.phase = Phase.handoff
    with pytest.raises(ActionRefused, match="with sales"):
        engine.refuse_migrate(journey, MigrateLead(cadence=cadence(V2)))


def test_the_move_waits_for_the_touch_in_flight() -> None:
    journey = new_journey(make_lead("L1", timezone="UTC"), cadence(V1), T0)
    command = engine.advance(journey, T0)
    assert isinstance(command, SendTouch) and journey.phase is Phase.sending
    engine.migrate(journey, MigrateLead(cadence=cadence(V2)), T0)  # continues at w1 by id
    apply_migration(journey, T0)
    assert journey.cadence.version == 1, "never mid-send"
    engine.on_touch_result(journey, TouchResult(), T0)
    engine.advance(journey, T0)
    assert journey.cadence.version == 2 and journey.migration is None
    run = simulate.run(journey, T0)
    assert [t.touch.step_id for t in run.touches] == ["tips", "letter"]
