"""Replay: today's workflow code must reproduce the commands of saved and fresh histories.

Saved histories live in tests/histories/. Record new ones (after a deliberate, versioned change)
with ``python -m tests.workflows.test_replay`` and commit them beside the old ones.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from nurture.cadence.model import find_cadence
from nurture.cadence.sales import DeclineReason
from nurture.contracts import AcceptHandoff, CloseOpportunity, DeclineHandoff
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import JourneyInput
from nurture.leads.enrollment import load_rules, new_journey
from nurture.roster.file import load_if_empty
from nurture.roster.reps import RepDirectory
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.codec import data_converter
from nurture.temporal.ids import workflow_id
from tests.conftest import ROOT, fixture_cadence, make_lead, running_worker
from tests.support.timeskipping import assigned_handoff, run_histories
from worker import workflow_runner
from workflows.lead import LeadJourneyWorkflow

HISTORIES = ROOT / "tests" / "histories"


async def engaged_journey(
    env: WorkflowEnvironment, settings: Settings, lead_id: str
) -> list[WorkflowHistory]:
    """Run a drip journey with an open on day 9 and a reply in cycle 2, accepted and won by
    sales; every run's history."""
    lead = make_lead(lead_id)
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=new_journey(lead, fixture_cadence("drip"), datetime.now(UTC))),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )
    await env.sleep(timedelta(days=9))
    await handle.signal(
        LeadJourneyWorkflow.event,
        EngagementEvent(
            id="open-9", kind=EventKind.email_open, lead_id=lead.id, at=datetime.now(UTC)
        ),
    )
    await env.sleep(timedelta(days=45))
    await handle.signal(
        LeadJourneyWorkflow.event,
        EngagementEvent(
            id="reply-45", kind=EventKind.email_reply, lead_id=lead.id, at=datetime.now(UTC)
        ),
    )
    handoff = await assigned_handoff(env, handle)
    await handle.execute_update(
        LeadJourneyWorkflow.accept_handoff,
        AcceptHandoff(handoff_id=handoff.handoff_id, rep="sam.rep"),
    )
    await handle.execute_update(
        LeadJourneyWorkflow.close_opportunity,
        CloseOpportunity(handoff_id=handoff.handoff_id, rep="sam.rep", outcome="won"),
    )
    result = await handle.result()
    assert (result.outcome, result.stage) == ("sales_ready", "won")
    return await run_histories(env.client, handle.id, handle.first_execution_run_id)


async def finished_journey(
    env: WorkflowEnvironment, settings: Settings, lead_id: str
) -> list[WorkflowHistory]:
    """Run a quick journey to its normal end (every touch sent, nobody engaged)."""
    lead = make_lead(lead_id)
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=new_journey(lead, fixture_cadence("quick"), datetime.now(UTC))),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )
    result = await handle.result()
    assert (result.outcome, result.touches_sent) == ("finished", 3)
    return await run_histories(env.client, handle.id, handle.first_execution_run_id)


async def sample_journey(
    env: WorkflowEnvironment, settings: Settings, lead_id: str, story: str
) -> list[WorkflowHistory]:
    """A lead on a sample cadence (cadences/), every run's history. ``story``:

    - ``strategic-handed-off``: a meeting booked on day 3 → sales-ready → accepted → won;
    - ``standard-recycled``: a meeting booked, sales declines (not ready) → cool-down → recycled
      into long-term nurture, which runs to its normal end;
    - ``long-term-nurture-finished``: six monthly issues, no engagement, finished.
    """
    cadence_name, segment = {
        "strategic-handed-off": ("strategic", "strategic"),
        "standard-recycled": ("standard", "standard"),
        "long-term-nurture-finished": ("long-term-nurture", "recycled"),
    }[story]
    cadences = ROOT / "cadences"
    lead = make_lead(lead_id, segment=segment, owner="")
    journey = new_journey(
        lead, find_cadence(cadences, cadence_name), datetime.now(UTC), load_rules(cadences)
    )
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )
    if story != "long-term-nurture-finished":
        await env.sleep(timedelta(days=3))
        await handle.signal(
            LeadJourneyWorkflow.event,
            EngagementEvent(
                id=f"{lead_id}-meeting",
                kind=EventKind.call_meeting_booked,
                lead_id=lead.id,
                at=datetime.now(UTC),
            ),
        )
        handoff = await assigned_handoff(env, handle)
        rep = handoff.owner or "sales.rep"
        if story == "strategic-handed-off":
            await handle.execute_update(
                LeadJourneyWorkflow.accept_handoff,
                AcceptHandoff(handoff_id=handoff.handoff_id, rep=rep),
            )
            await handle.execute_update(
                LeadJourneyWorkflow.close_opportunity,
                CloseOpportunity(handoff_id=handoff.handoff_id, rep=rep, outcome="won"),
            )
        else:
            await handle.execute_update(
                LeadJourneyWorkflow.decline_handoff,
                DeclineHandoff(
                    handoff_id=handoff.handoff_id, rep=rep, reason=DeclineReason.not_ready
                ),
            )
    result = await handle.result()
    expected = {
        "strategic-handed-off": ("sales_ready", "won"),
        "standard-recycled": ("finished", "nurturing"),  # nurturing again after the recycle
        "long-term-nurture-finished": ("finished", "nurturing"),
    }[story]
    assert (result.outcome, result.stage) == expected, result
    return await run_histories(env.client, handle.id, handle.first_execution_run_id)


SAMPLE_STORIES = ("strategic-handed-off", "standard-recycled", "long-term-nurture-finished")


async def replay(histories: list[WorkflowHistory]) -> None:
    replayer = Replayer(
        workflows=[LeadJourneyWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    for history in histories:
        await replayer.replay_workflow(history)


async def test_fresh_histories_replay(env: WorkflowEnvironment, worker: Settings) -> None:
    histories = await engaged_journey(env, worker, "L-replay")
    assert len(histories) == 3  # cycles 1 and 2, then the gap the reply ended
    await replay(histories)
    await replay(await finished_journey(env, worker, "L-replay-end"))


async def test_sample_cadence_histories_replay(env: WorkflowEnvironment, store: Store) -> None:
    """Each sample cadence's journey (handed off, recycled, finished) replays on this code."""
    load_if_empty(RepDirectory(store), ROOT / "cadences")  # the example roster: sales reps
    async with running_worker(
        env.client, store, cadences=ROOT / "cadences", templates=ROOT / "templates"
    ) as settings:
        for number, story in enumerate(SAMPLE_STORIES):
            await replay(await sample_journey(env, settings, f"L-sample-{number}", story))


async def test_saved_histories_replay() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, f"no saved histories in {HISTORIES}"
    await replay([WorkflowHistory.from_json(f.stem, json.loads(f.read_text())) for f in files])


async def _record() -> None:
    """Record the engaged and finished journeys' histories into tests/histories/, beside the
    ones already there (an existing file is kept: it stands for the code that recorded it)."""
    from tempfile import TemporaryDirectory

    from tests.support.timeskipping import register_search_attributes, time_skipping_server

    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server(), data_converter=data_converter(Settings())
    ) as env:
        await register_search_attributes(env.client)
        with TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{tmp}/o.db", upgrade=True)
            async with running_worker(env.client, store) as settings:
                recorded = {
                    "drip-engaged": await engaged_journey(env, settings, "L-saved"),
                    "quick-finished": await finished_journey(env, settings, "L-saved-end"),
                }
            load_if_empty(RepDirectory(store), ROOT / "cadences")
            samples = {"cadences": ROOT / "cadences", "templates": ROOT / "templates"}
            async with running_worker(env.client, store, **samples) as settings:
                for number, story in enumerate(SAMPLE_STORIES):
                    recorded[story] = await sample_journey(
                        env, settings, f"L-saved-sample-{number}", story
                    )
    HISTORIES.mkdir(exist_ok=True)
    for name, histories in recorded.items():
        for number, history in enumerate(histories, 1):
            path = HISTORIES / f"{name}-run{number}.json"
            if path.exists():
                print(f"kept {path.relative_to(ROOT)}")
                continue
            path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
            print(f"wrote {path.relative_to(ROOT)} ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(_record())
