"""Hundreds of leads on a real dev server: every expected touch reaches the outbox exactly once."""

from __future__ import annotations

import asyncio
import time

from temporalio.testing import WorkflowEnvironment

from nurture.leads.enrollment import enroll_many
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from tests.conftest import fixture_cadence, make_lead

LEADS = 300


async def wait_for_count(env: WorkflowEnvironment, query: str, expected: int) -> int:
    """Visibility is eventually consistent: poll the count for a few seconds."""
    count = -1
    for _ in range(50):
        count = (await env.client.count_workflows(query)).count
        if count == expected:
            break
        await asyncio.sleep(0.2)
    return count


async def test_hundreds_of_leads_get_every_touch_exactly_once(
    dev_env: WorkflowEnvironment, dev_worker: Settings, store: Store
) -> None:
    cadence = fixture_cadence("quick")
    leads = [(n + 2, make_lead(f"Q{n:04d}", segment="quick")) for n in range(LEADS)]
    began = time.perf_counter()
    report = await enroll_many(dev_env.client, leads, [cadence], dev_worker.task_queue)
    assert len(report.started) == LEADS and not report.rejected

    again = await enroll_many(dev_env.client, leads[:50], [cadence], dev_worker.task_queue)
    assert len(again.already_enrolled) == 50 and not again.started  # same lead = one journey

    results = await asyncio.gather(
        *(journey_handle(dev_env.client, lead.id).result() for _, lead in leads)
    )
    print(f"{LEADS} journeys, {3 * LEADS} touches in {time.perf_counter() - began:.1f}s")
    assert {r.outcome for r in results} == {"finished"}
    assert store.count_touches() == 3 * LEADS
    for _, lead in leads:
        touches = store.list_touches(lead_id=lead.id)
        assert sorted(t.step_id for t in touches) == ["hello", "letter", "nudge"], lead.id
        assert len({t.touch_id for t in touches}) == 3

    finished = await wait_for_count(
        dev_env,
        f"Cadence = 'quick' AND TaskQueue = '{dev_worker.task_queue}' "
        "AND ExecutionStatus = 'Completed'",
        LEADS,
    )
    assert finished == LEADS
