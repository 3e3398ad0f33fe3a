"""The engine's fault hold: what it records, and the operator's way out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nurture.journey import engine
from nurture.journey.commands import ActionRefused
from nurture.leads.enrollment import new_journey
from nurture.temporal import visibility
from tests.conftest import fixture_cadence, make_lead

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def test_hold_records_the_fault_and_skip_moves_on() -> None:
    journey = new_journey(make_lead("L-f"), fixture_cadence("drip"), NOW)
    journey.position = 2
    with pytest.raises(ActionRefused, match="not held on an error"):
        engine.refuse_skip(journey)
    fault = engine.hold(journey, ValueError("boom"), NOW)
    assert (fault.step, fault.error) == ("watch", "ValueError: boom")
    assert visibility.journey_values(journey)[visibility.LEAD_STAGE] == "fault"
    assert journey.stage.value != "fault"  # the funnel stage is kept
    assert engine.skip_step(journey, NOW, "ops") == "Skipped step watch after the error (ops)"
    assert journey.fault is None and journey.position == 3
    assert visibility.journey_values(journey)[visibility.LEAD_STAGE] == journey.stage.value


def test_resume_retries_a_held_journey_and_still_resumes_a_paused_one() -> None:
    journey = new_journey(make_lead("L-g"), fixture_cadence("drip"), NOW)
    with pytest.raises(ActionRefused, match="is not paused"):
        engine.refuse_resume_any(journey)
    engine.hold(journey, RuntimeError("x" * 1000), NOW)
    assert journey.fault is not None and len(journey.fault.error) == 300
    engine.refuse_resume_any(journey)
    assert engine.resume_any(journey, NOW, "fixed").startswith("Resumed after the error (fixed)")
    assert journey.fault is None
