"""Engagement to sales and back, on the time-skipping server (one lead at a time): promotion,
the SLA and its escalation, decline and recycle, win, pause and resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from nurture.cadence.sales import DeclineReason, Recycle, SalesRules, TeamRule
from nurture.cadence.steps import Delay
from nurture.contracts import AcceptHandoff, CloseOpportunity, DeclineHandoff, PauseLead, ResumeLead
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey, JourneyInput, JourneyResult, Phase, Stage
from nurture.lead import Lead
from nurture.leads.enrollment import Rules, load_rules, new_journey
from nurture.roster.reps import Rep, RepDirectory
from nurture.settings import ROOT, Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import fixture_cadence, make_lead
from tests.support.timeskipping import assigned_handoff, terminate_when_idle
from workflows.lead import LeadJourneyWorkflow

SALES = SalesRules(
    teams=[TeamRule(team="sales", sla=Delay(business_hours=4), assign="round_robin")],
    decline={
        DeclineReason.not_ready: Recycle(recycle_to="quick", cool_down=Delay(days=10)),
        DeclineReason.bad_fit: "disqualify",
    },
)
RULES = Rules(scoring=load_rules(ROOT / "cadences").scoring, sales=SALES)

Handle = WorkflowHandle[LeadJourneyWorkflow, JourneyResult]


@pytest.fixture
def sales_team(store: Store) -> RepDirectory:
    """Two account executives and their manager in the store's rep directory."""
    reps = RepDirectory(store)
    for username, role in (("ann.ae", "rep"), ("bob.ae", "rep"), ("mia.mgr", "manager")):
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
    return reps


async def start(env: WorkflowEnvironment, settings: Settings, lead: Lead) -> Handle:
    journey = new_journey(lead, fixture_cadence("drip"), datetime.now(UTC), RULES)
    return await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )


def event(lead: Lead, kind: EventKind, event_id: str, **data: str) -> EngagementEvent:
    return EngagementEvent(
        id=event_id, kind=kind, lead_id=lead.id, at=datetime.now(UTC), data=dict(data)
    )


async def state(handle: Handle) -> Journey:
    return await handle.query(LeadJourneyWorkflow.state)


async def test_click_and_reply_to_sales_ready_accepted_won(
    env: WorkflowEnvironment, worker: Settings, store: Store, sales_team: RepDirectory
) -> None:
    lead = make_lead("H-won", owner="")
    handle = await start(env, worker, lead)
    await env.sleep(timedelta(hours=1))
    await handle.signal(LeadJourneyWorkflow.event, event(lead, EventKind.email_click, "c1"))
    await handle.signal(LeadJourneyWorkflow.event, event(lead, EventKind.email_reply, "r1"))
    handoff = await assigned_handoff(env, handle)
    assert handoff.owner == "ann.ae" and handoff.why == "email.reply"
    journey = await state(handle)
    assert (
        journey.stage is Stage.sales_ready and journey.score == 20 + 6 + 20
    )  # VP title, click, reply
    notices = [t for t in store.list_touches(lead_id=lead.id) if t.channel == "notice"]
    assert [n.subject for n in notices] == [
        f"Sales-ready lead {lead.id}: accept or decline by {handoff.due:%a %d %b %H:%M %Z}"
    ]
    await handle.execute_update(
        LeadJourneyWorkflow.accept_handoff,
        AcceptHandoff(handoff_id=handoff.handoff_id, rep="ann.ae"),
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            LeadJourneyWorkflow.accept_handoff,
            AcceptHandoff(handoff_id=handoff.handoff_id, rep="ann.ae"),
        )
    assert "already accepted" in str(refused.value.cause)
    await handle.execute_update(
        LeadJourneyWorkflow.close_opportunity,
        CloseOpportunity(handoff_id=handoff.handoff_id, rep="ann.ae", outcome="opportunity"),
    )
    await handle.execute_update(
        LeadJourneyWorkflow.close_opportunity,
        CloseOpportunity(handoff_id=handoff.handoff_id, rep="ann.ae", outcome="won", amount=5e4),
    )
    result = await handle.result()
    assert result.stage == "won"
    stages = [e.text for e in (await state(handle)).timeline if e.kind == "stage"]
    assert [s.split(" (")[0] for s in stages] == [
        "Stage new → nurturing",
        "Stage nurturing → engaged",
        "Stage engaged → sales_ready",
        "Stage sales_ready → accepted",
        "Stage accepted → opportunity",
        "Stage opportunity → won",
    ]


async def test_sla_breach_escalates_then_accept(
    env: WorkflowEnvironment, worker: Settings, store: Store, sales_team: RepDirectory
) -> None:
    lead = make_lead("H-sla", owner="")
    handle = await start(env, worker, lead)
    await handle.signal(LeadJourneyWorkflow.event, event(lead, EventKind.email_reply, "r1"))
    first = await assigned_handoff(env, handle)
    await env.sleep(timedelta(hours=4, minutes=1))  # the SLA runs out
    journey = await state(handle)
    assert journey.handoff is not None and journey.handoff.escalations == 1
    assert journey.handoff.owner not in (None, first.owner)
    texts = [e.text for e in journey.timeline if e.kind == "handoff"]
    assert any(t.startswith("SLA breached") for t in texts)
    assert any(t.startswith("SLA escalated to manager mia.mgr") for t in texts)
    notified = {t.recipient for t in store.list_touches(lead_id=lead.id) if t.channel == "notice"}
    assert "mia.mgr" in notified
    await handle.execute_update(
        LeadJourneyWorkflow.accept_handoff,
        AcceptHandoff(handoff_id=first.handoff_id, rep=journey.handoff.owner or ""),
    )
    assert (await state(handle)).stage is Stage.accepted
    await terminate_when_idle(handle)


async def test_decline_not_ready_cools_down_then_recycles(
    env: WorkflowEnvironment, worker: Settings, store: Store, sales_team: RepDirectory
) -> None:
    lead = make_lead("H-back", owner="", segment="quick")
    handle = await start(env, worker, lead)
    await handle.signal(LeadJourneyWorkflow.event, event(lead, EventKind.email_reply, "r1"))
    handoff = await assigned_handoff(env, handle)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            LeadJourneyWorkflow.decline_handoff,
            DeclineHandoff(handoff_id="H-back:h7", rep="ann.ae", reason=DeclineReason.not_ready),
        )
    assert "stale" in str(refused.value.cause)
    await handle.execute_update(
        LeadJourneyWorkflow.decline_handoff,
        DeclineHandoff(handoff_id=handoff.handoff_id, rep="ann.ae", reason=DeclineReason.not_ready),
    )
    journey = await state(handle)
    assert (journey.stage, journey.phase) == (Stage.recycled, Phase.cooling_down)
    result = await handle.result()  # 10 days later: the quick cadence runs and finishes
    assert result.outcome == "finished"
    quick = {t.step_id for t in store.list_touches(lead_id=lead.id) if t.cadence == "quick"}
    assert quick == {"hello", "nudge", "letter"}


async def test_out_of_office_pause_and_resume(
    env: WorkflowEnvironment, worker: Settings, store: Store, sales_team: RepDirectory
) -> None:
    lead = make_lead("H-ooo")
    handle = await start(env, worker, lead)
    await env.sleep(timedelta(hours=1))  # the first email went out; a 2-day wait began
    back = await env.get_current_time() + timedelta(days=20)
    await handle.execute_update(
        LeadJourneyWorkflow.pause, PauseLead(reason="out of office", until=back)
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            LeadJourneyWorkflow.pause, PauseLead(until=await env.get_current_time())
        )
    await env.sleep(timedelta(days=10))
    assert len(store.list_touches(lead_id=lead.id)) == 1  # nothing while away
    await env.sleep(timedelta(days=10, hours=1))  # auto-resumed
    journey = await state(handle)
    assert journey.paused is None
    assert any(e.text.startswith("Resumed (auto-resume)") for e in journey.timeline)
    await handle.execute_update(LeadJourneyWorkflow.pause, PauseLead(reason="vacation"))
    await handle.execute_update(LeadJourneyWorkflow.resume, ResumeLead())
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(LeadJourneyWorkflow.resume, ResumeLead())
    assert "not paused" in str(refused.value.cause)
    await terminate_when_idle(handle)


async def test_cycles_without_engagement_recycle_into_long_term_nurture(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("H-cold", segment="short")
    journey = new_journey(lead, fixture_cadence("short"), datetime.now(UTC), RULES)
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=worker.task_queue,
    )
    result = await handle.result()
    assert result.outcome == "finished"
    sent = [(t.cadence, t.step_id) for t in store.list_touches(lead_id=lead.id, limit=20)]
    assert sorted(sent) == sorted(
        [
            ("short", "hello"),
            ("short", "hello"),
            ("quick", "hello"),
            ("quick", "nudge"),
            ("quick", "letter"),
        ]
    )
    stages = [e.text for e in (await state(handle)).timeline if e.kind == "stage"]
    assert any("→ recycled (2 cycles without a handoff)" in s for s in stages)
    assert any("→ nurturing (recycled into quick)" in s for s in stages)
