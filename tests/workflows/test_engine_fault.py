"""An engine fault holds the journey (timeline, LeadStage 'fault', operator's resume/skip)
instead of failing the workflow task forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from nurture.contracts import PauseLead, ResumeLead, SkipStep
from nurture.journey import engine
from nurture.journey.state import Journey, JourneyInput
from nurture.leads.enrollment import new_journey
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import visibility
from nurture.temporal.ids import workflow_id
from tests.conftest import fixture_cadence, make_lead
from workflows.lead import LeadJourneyWorkflow


async def test_an_engine_fault_holds_the_journey_until_an_operator_acts(
    env: WorkflowEnvironment, worker: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = {"on": True}
    real_advance = engine.advance

    def faulty(journey: Journey, now: datetime) -> Any:
        if broken["on"] and journey.position == 2:  # the wait_for step 'watch'
            raise RuntimeError("injected: corrupt snapshot")
        return real_advance(journey, now)

    def faulty_pause(*args: Any) -> Any:
        raise RuntimeError("injected: pause bug")

    monkeypatch.setattr(engine, "advance", faulty)
    monkeypatch.setattr(engine, "pause", faulty_pause)
    lead = make_lead("L-fault")
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=new_journey(lead, fixture_cadence("drip"), datetime.now(UTC))),
        id=workflow_id(lead.id),
        task_queue=worker.task_queue,
    )
    # A failing action: the update fails cleanly and the journey is held, then resumed.
    with pytest.raises(WorkflowUpdateFailedError) as failed_action:
        await handle.execute_update(LeadJourneyWorkflow.pause, PauseLead(reason="ooo"))
    assert "held" in str(failed_action.value.cause)
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.fault is not None and state.fault.error == "RuntimeError: injected: pause bug"
    await handle.execute_update(LeadJourneyWorkflow.resume, ResumeLead(reason="fixed"))

    await env.sleep(timedelta(days=3))

    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.fault is not None and state.fault.step == "watch"
    assert state.fault.error == "RuntimeError: injected: corrupt snapshot"
    held = [e.text for e in state.timeline if "failed at step watch" in e.text]
    assert held == [
        "Held: the journey failed at step watch (RuntimeError: injected: corrupt snapshot); "
        "an operator can resume (retry) or skip the step"
    ]
    described = await handle.describe()
    assert described.typed_search_attributes.get(visibility.LEAD_STAGE) == "fault"

    # Resume retries the step: still broken, so it is held again (no task failures, no spin).
    await handle.execute_update(LeadJourneyWorkflow.resume, ResumeLead(reason="retry"))
    await env.sleep(timedelta(seconds=1))
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.fault is not None
    assert sum(e.text.startswith("Held:") for e in state.timeline) == 3

    # Skipping the step moves on; the rest of the cadence runs to its end.
    broken["on"] = False
    text = await handle.execute_update(LeadJourneyWorkflow.skip_step, SkipStep(reason="ops"))
    assert text == "Skipped step watch after the error (ops)"
    with pytest.raises(WorkflowUpdateFailedError):  # nothing left to skip
        await handle.execute_update(LeadJourneyWorkflow.skip_step, SkipStep())
    result = await handle.result()
    assert result.outcome == "finished" and result.cycle == 3
    first = {t.step_id for t in store.list_touches(lead_id=lead.id) if t.cycle == 1}
    assert first == {"hello", "cold", "done"}

    history = await env.client.get_workflow_handle(
        handle.id, run_id=handle.first_execution_run_id
    ).fetch_history()
    failed = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed == []
