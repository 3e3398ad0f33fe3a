"""The forecast tells the truth: with no randomness, the forecast of a lead and the real workflow
on the time-skipping server make the same touches at the same times (one lead at a time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from nurture.journey.state import Journey, JourneyInput
from nurture.lead import Lead
from nurture.leads.enrollment import load_rules, new_journey
from nurture.planning.costs import Costs, Desk
from nurture.planning.forecast import Plan, Tally, forecast_lead
from nurture.planning.preview import load_cadences
from nurture.planning.response import Responder, ResponseModel
from nurture.settings import ROOT, Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import make_lead, running_worker
from workflows.lead import LeadJourneyWorkflow

CADENCES = ROOT / "cadences"
#: Seconds a touch may differ: the time-skipping server fires a timer a few ms after it is due.
SLACK = 5.0


@pytest_asyncio.fixture(loop_scope="session")
async def sample_worker(env: WorkflowEnvironment, store: Store) -> AsyncIterator[Settings]:
    """A worker on the sample cadences and templates (recycles load them too)."""
    async with running_worker(
        env.client, store, cadences=CADENCES, templates=ROOT / "templates"
    ) as settings:
        yield settings


def silent_plan(start: datetime) -> Plan:
    return Plan(
        cadences=load_cadences(CADENCES),
        rules=load_rules(CADENCES),
        response=ResponseModel(),  # nobody answers: no randomness at all
        costs=Costs(),
        desk=Desk(),
        start=start,
        months=12,
        # The load_cadence activity snapshots a recycle's holidays as of the machine's today,
        # while this server's clock has skipped ahead (years, after other tests): the same here.
        recycle_day=date.today(),
    )


LEADS = [
    make_lead("T-strategic", segment="strategic", timezone="America/New_York", country="US"),
    make_lead("T-standard", segment="standard", timezone="America/Los_Angeles", country="US"),
    make_lead("T-berlin", segment="standard", timezone="Europe/Berlin", country="DE"),
]


@pytest.mark.parametrize("lead", LEADS, ids=lambda lead: lead.id)
async def test_a_silent_forecast_matches_the_workflow(
    env: WorkflowEnvironment, sample_worker: Settings, lead: Lead
) -> None:
    now = await env.get_current_time()
    plan = silent_plan(now)
    cadence = plan.cadence_for(lead)
    journey = new_journey(lead, cadence, now, plan.rules)
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=sample_worker.task_queue,
    )
    await handle.result()
    final: Journey = await handle.query(LeadJourneyWorkflow.state)
    real = [(e.at, e.touch_id) for e in final.timeline if e.kind == "touch"]
    # The workflow's first moment (its run starts a little after enrolment on the server clock).
    first_run = next(e.at for e in final.timeline if e.at > now)
    forecast: list[tuple[datetime, str | None]] = []
    forecast_lead(lead, plan, Responder(plan.response), Tally(), trace=forecast, start=first_run)
    assert len(real) >= 10, real
    within = [t for t in real if t[0] < plan.until]
    assert [touch for _, touch in forecast] == [touch for _, touch in within]
    # The same moments, to the server's timer precision (its timers fire some ms late).
    late = [abs((a - b).total_seconds()) for (a, _), (b, _) in zip(forecast, within, strict=True)]
    pairs = list(zip(forecast, within, strict=True))
    assert max(late) < SLACK, [p for p, d in zip(pairs, late, strict=True) if d >= SLACK]
