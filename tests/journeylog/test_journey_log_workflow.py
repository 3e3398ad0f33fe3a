"""A journey writes its milestones to the journey log: once each, at its waits, with no
personal data (time-skipping server)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from nurture.contracts import AcceptHandoff, CloseOpportunity
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import JourneyInput
from nurture.journeylog.store import JourneyLog
from nurture.leads.enrollment import new_journey
from nurture.roster.reps import Rep, RepDirectory
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import fixture_cadence, make_lead
from tests.support.timeskipping import assigned_handoff, run_histories
from tests.workflows.test_handoff import RULES
from tests.workflows.test_replay import replay
from workflows.lead import LeadJourneyWorkflow


def add_sales_team(store: Store) -> None:
    reps = RepDirectory(store)
    for username, role in (("ann.ae", "rep"), ("mia.mgr", "manager")):
        reps.add(
            Rep(
                username=username,
                name=username,
                queue="sales",
                role=role,
                timezone="UTC",
                hours="mon-sun 00:00-24:00",
                manager=None if role == "manager" else "mia.mgr",
            )
        )


async def test_won_journey_logs_each_milestone_once(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    add_sales_team(store)
    lead = make_lead("LOG-won", owner="", fields={"source": "webinar"})
    journey = new_journey(lead, fixture_cadence("drip"), datetime.now(UTC), RULES)
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=worker.task_queue,
    )
    await env.sleep(timedelta(hours=1))
    for kind, event_id in ((EventKind.email_click, "c1"), (EventKind.email_reply, "r1")):
        await handle.signal(
            LeadJourneyWorkflow.event,
            EngagementEvent(id=event_id, kind=kind, lead_id=lead.id, at=datetime.now(UTC)),
        )
    handoff = await assigned_handoff(env, handle)
    await handle.execute_update(
        LeadJourneyWorkflow.accept_handoff,
        AcceptHandoff(handoff_id=handoff.handoff_id, rep="ann.ae"),
    )
    await handle.execute_update(
        LeadJourneyWorkflow.close_opportunity,
        CloseOpportunity(handoff_id=handoff.handoff_id, rep="ann.ae", outcome="opportunity"),
    )
    await handle.execute_update(
        LeadJourneyWorkflow.close_opportunity,
        CloseOpportunity(handoff_id=handoff.handoff_id, rep="ann.ae", outcome="won", amount=5e4),
    )
    await handle.result()
    rows = JourneyLog(store).rows(lead.id)
    kinds = Counter(r.kind for r in rows)
    assert kinds["enrolled"] == 1 and kinds["finished"] == 1
    assert kinds["event"] == 2 and kinds["handoff_assigned"] == 1
    assert kinds["handoff_accepted"] == 1 and kinds["sla_met"] == 1
    assert kinds["touch_sent"] == len(store.list_touches(lead_id=lead.id, channel="email"))
    stages = [(r.from_stage, r.to_stage) for r in rows if r.kind == "stage"]
    assert stages == [
        ("new", "nurturing"),
        ("nurturing", "engaged"),
        ("engaged", "sales_ready"),
        ("sales_ready", "accepted"),
        ("accepted", "opportunity"),
        ("opportunity", "won"),
    ]
    (won,) = [r for r in rows if r.kind == "won"]
    assert (won.amount, won.rep, won.cadence, won.source) == (5e4, "ann.ae", "drip", "webinar")
    assert len({r.key for r in rows}) == len(rows)
    assert all(r.at.tzinfo is not None for r in rows)
    text = " ".join(str(v) for r in rows for v in vars(r).values())
    assert lead.email is not None and lead.email not in text and "Ann" not in text
    final = await handle.query(LeadJourneyWorkflow.state)
    assert final.milestones == [] and final.milestone_seq == len(rows)
    histories = await run_histories(env.client, handle.id, handle.first_execution_run_id)
    await replay(histories)
