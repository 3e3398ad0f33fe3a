"""Lead journeys on the time-skipping server: months of cadence in well under a second."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey, JourneyInput, JourneyResult, Stage
from nurture.lead import Lead
from nurture.leads.enrollment import new_journey
from nurture.planning import simulate
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import fixture_cadence, make_lead
from tests.support.timeskipping import run_histories, terminate_when_idle
from workflows.lead import LeadJourneyWorkflow


async def start(
    client: Client, settings: Settings, lead: Lead, cadence: str, history_limit: int = 10_000
) -> WorkflowHandle[LeadJourneyWorkflow, JourneyResult]:
    journey = new_journey(lead, fixture_cadence(cadence), datetime.now(UTC))
    return await client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey, history_limit=history_limit),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )


def event(lead: Lead, kind: EventKind, event_id: str, **extra: object) -> EngagementEvent:
    return EngagementEvent(id=event_id, kind=kind, lead_id=lead.id, at=datetime.now(UTC), **extra)  # type: ignore[arg-type]


async def runs(client: Client, handle: WorkflowHandle[object, object]) -> int:
    """How many runs the journey took (continue-as-new chain)."""
    return len(await run_histories(client, handle.id, handle.first_execution_run_id))


async def test_three_cycles_without_engagement(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("L-full")
    began = time.perf_counter()
    handle = await start(env.client, worker, lead, "drip")
    result = await handle.result()
    print(f"three-cycle journey (about 100 days) took {time.perf_counter() - began:.3f}s")
    assert result.outcome == "finished" and result.cycle == 3
    touches = store.list_touches(lead_id=lead.id, limit=100)
    assert sorted((t.cycle, t.step_id) for t in touches) == [
        (c, s) for c in (1, 2, 3) for s in ("cold", "done", "hello")
    ]
    assert result.touches_sent == 9
    assert await runs(env.client, handle) == 3  # one run per cycle


async def test_engagement_on_day_nine_takes_the_wait_for_branch(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("L-day9")
    handle = await start(env.client, worker, lead, "drip")
    await env.sleep(timedelta(days=9))
    await handle.signal(LeadJourneyWorkflow.event, event(lead, EventKind.email_open, "open-1"))
    await handle.result()
    first_cycle = {t.step_id for t in store.list_touches(lead_id=lead.id) if t.cycle == 1}
    assert first_cycle == {"hello", "hot", "hot-voicemail", "done"}  # call, missed → voicemail
    timeline = await handle.query(LeadJourneyWorkflow.journey)
    assert any(e.text == "Engaged (email.open) → hot" for e in timeline)
    assert any(e.text.startswith("Stage nurturing → engaged") for e in timeline)


async def test_unsubscribe_stops_email_but_not_calls(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("L-unsub", segment="mixed")
    handle = await start(env.client, worker, lead, "mixed")
    await env.sleep(timedelta(hours=12))
    await handle.signal(
        LeadJourneyWorkflow.event, event(lead, EventKind.email_unsubscribe, "unsub-1")
    )
    await handle.result()
    sent = sorted((t.cycle, t.channel, t.step_id) for t in store.list_touches(lead_id=lead.id))
    assert sent == [(1, "call", "ring"), (1, "email", "intro"), (2, "call", "ring")]
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.stopped == {"email": "email.unsubscribe"}


async def test_a_redelivered_event_counts_once(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("L-dup", segment="mixed")
    handle = await start(env.client, worker, lead, "mixed")
    bump = event(lead, EventKind.score_adjusted, "bump-1", points=10)
    for _ in range(3):
        await handle.signal(LeadJourneyWorkflow.event, bump)
    await env.sleep(timedelta(hours=1))
    await handle.signal(LeadJourneyWorkflow.event, bump)
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.score == 10
    await terminate_when_idle(handle)


async def test_continue_as_new_keeps_the_journey_intact(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("L-can")
    handle = await start(env.client, worker, lead, "drip", history_limit=12)
    result = await handle.result()
    assert await runs(env.client, handle) > 3  # more runs than cycle boundaries alone
    final: Journey = await handle.query(LeadJourneyWorkflow.state)
    # Enrolled on this machine's clock; run on the test server's (skipped ahead by earlier
    # tests, so at another time of day): simulate from the workflow's own first moment.
    enrolled, first_run = final.timeline[0].at, final.timeline[1].at
    expected = simulate.run(new_journey(lead, fixture_cadence("drip"), enrolled), first_run)
    assert [e.kind for e in final.timeline] == [e.kind for e in expected.journey.timeline]
    assert sorted(t.touch_id for t in store.list_touches(lead_id=lead.id)) == sorted(
        s.touch.touch_id for s in expected.touches
    )
    assert result.stage is Stage.nurturing and result.touches_sent == 9
