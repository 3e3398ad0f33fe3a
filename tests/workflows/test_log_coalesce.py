"""Events that wake a sleeping journey do not write its journey log at once: one write per burst,
at most milestones.FLUSH_LAG after the first of them (time-skipping server); the history replays."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from nurture.events import EngagementEvent, EventKind
from nurture.journey import milestones
from nurture.journey.state import Journey, JourneyInput
from nurture.journeylog.store import JourneyLog
from nurture.leads.enrollment import new_journey
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from nurture.temporal.patches import JOURNEY_LOG_COALESCE_PATCH
from tests.conftest import make_lead
from tests.workflows.test_log_batch import all_day_cadence
from tests.workflows.test_replay import replay
from workflows.lead import LeadJourneyWorkflow

#: An email, then an hour's sleep (open around the clock: no contact hours, no holidays).
SLEEPY = all_day_cadence(
    "sleepy",
    [
        "{id: one, email: {template: hello}}",
        "wait: {hours: 1}",
        "{id: two, email: {template: hello}}",
    ],
)


async def until(
    handle: WorkflowHandle[LeadJourneyWorkflow, object], check: Callable[[Journey], bool]
) -> Journey:
    """The journey's state once ``check`` holds (polled in real time: no time is skipped)."""
    for _ in range(200):
        state = await handle.query(LeadJourneyWorkflow.state)
        if check(state):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError("the journey never got there")


async def local_activities(handle: WorkflowHandle[LeadJourneyWorkflow, object]) -> int:
    history = await handle.fetch_history()
    return sum(
        e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    )


async def test_a_burst_of_events_writes_the_log_once(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("LOG-burst", segment="quick")
    journey = new_journey(lead, SLEEPY, datetime.now(UTC))
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=worker.task_queue,
    )
    await until(handle, lambda j: j.touches_sent == 1 and not j.milestones)
    assert await local_activities(handle) == 1  # enrolled + touch, written before the hour

    kinds = (EventKind.email_open, EventKind.email_click, EventKind.email_open)
    for n, kind in enumerate(kinds):
        event = EngagementEvent(id=f"e{n}", kind=kind, lead_id=lead.id, at=datetime.now(UTC))
        await handle.signal(LeadJourneyWorkflow.event, event)
        await until(handle, lambda j, i=event.id: i in j.seen_events)
    state = await handle.query(LeadJourneyWorkflow.state)
    assert Counter(m.kind for m in state.milestones)["event"] == 3  # waiting, not written
    assert await local_activities(handle) == 1  # no event's workflow task wrote the log
    assert not [r for r in JourneyLog(store).rows(lead.id) if r.kind == "event"]

    await env.sleep(milestones.FLUSH_LAG + timedelta(seconds=5))
    await until(handle, lambda j: not j.milestones)
    assert await local_activities(handle) == 2  # the burst's one write
    logged = Counter(r.kind for r in JourneyLog(store).rows(lead.id))
    assert logged["event"] == 3 and logged["touch_sent"] == 1 and logged["enrolled"] == 1
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.touches_sent == 1  # still asleep: the hour's wait went on after the write

    await env.sleep(timedelta(hours=1))
    await handle.result()
    history = await handle.fetch_history()
    assert any(
        JOURNEY_LOG_COALESCE_PATCH.encode() in e.SerializeToString()
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    )
    assert Counter(r.kind for r in JourneyLog(store).rows(lead.id))["touch_sent"] == 2
    await replay([history])
