"""Fault injection: workers killed -9 while journeys run and write their milestones; every
milestone is in the journey log exactly once, in order, and agrees with the journey."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from bench.harness import hurry_orphans
from nurture.journeylog.store import JourneyLog
from nurture.leads.enrollment import enroll_many
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from tests.channels.test_send_faults import Workers
from tests.conftest import (
    FIXTURE_CADENCES,
    FIXTURE_TEMPLATES,
    TEST_CODEC_KEYS,
    fixture_cadence,
    make_lead,
)
from workflows.lead import LeadJourneyWorkflow

LEADS = 8
KILLS = 3


def worker_env(env: WorkflowEnvironment, tmp: Path, queue: str) -> dict[str, str]:
    """A worker on our dev server with the outbox for every channel and a SQLite store."""
    values = {k: v for k, v in os.environ.items() if not k.startswith(("NURTURE_", "TWILIO_"))}
    values.update(
        NURTURE_TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        NURTURE_TEMPORAL_NAMESPACE=env.client.namespace,
        NURTURE_TASK_QUEUE=queue,
        NURTURE_CODEC_KEYS=TEST_CODEC_KEYS,
        NURTURE_DATA_DIR=str(tmp),
        NURTURE_DATABASE_URL=f"sqlite:///{tmp / 'store.db'}",
        NURTURE_TEMPLATES_DIR=str(FIXTURE_TEMPLATES),
        NURTURE_CADENCES_DIR=str(FIXTURE_CADENCES),
        NURTURE_PUBLIC_URL="http://127.0.0.1:8000",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return values


async def test_killed_workers_never_log_a_milestone_twice(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    began = time.monotonic()
    queue = f"logfaults-{uuid.uuid4().hex[:8]}"
    leads = [make_lead(f"K{n}", segment="quick") for n in range(LEADS)]
    ids = [f"lead-{lead.id}" for lead in leads]
    env = worker_env(dev_env, tmp_path, queue)
    store = Store(env["NURTURE_DATABASE_URL"], upgrade=True)
    running = Workers(env, tmp_path / "worker.log")
    running.start()
    try:
        report = await enroll_many(
            dev_env.client, [(1, lead) for lead in leads], [fixture_cadence("quick")], queue
        )
        assert len(report.started) == LEADS
        results = asyncio.gather(*(journey_handle(dev_env.client, ld.id).result() for ld in leads))
        log = JourneyLog(store)
        kills = 0
        while not results.done():
            assert time.monotonic() - began < 150, (tmp_path / "worker.log").read_text()[-3000:]
            if kills < KILLS and log.rows():  # the worker is writing the log: kill it
                running.kill()
                kills += 1
                await hurry_orphans(dev_env.client, ids, timeout_s=2, activity_type=None)
                running.start()
                await asyncio.sleep(1.5 * kills)
            await asyncio.sleep(0.1)
        outcomes = await results
        states = {
            lead.id: await journey_handle(dev_env.client, lead.id).query(LeadJourneyWorkflow.state)
            for lead in leads
        }
    finally:
        running.stop()
    assert kills == KILLS
    assert {r.outcome for r in outcomes} == {"finished"}
    rows = JourneyLog(store).rows()
    assert len({r.key for r in rows}) == len(rows)
    for lead in leads:
        mine = [r for r in rows if r.lead_id == lead.id]
        state = states[lead.id]
        numbers = sorted(int(r.key.rsplit(":", 1)[1]) for r in mine)
        assert numbers == list(range(1, state.milestone_seq + 1)), lead.id  # none lost, none twice
        kinds = Counter(r.kind for r in mine)
        touches = [e for e in state.timeline if e.kind == "touch"]
        assert kinds["touch_sent"] == len(touches) == 3
        assert kinds["enrolled"] == kinds["finished"] == 1
    summaries = {s.lead_id: s for s in JourneyLog(store).summaries()}
    assert {s.touches for s in summaries.values()} == {3}
    store.close()
    print(
        f"{LEADS} journeys, {kills} kills, {len(rows)} milestones, {time.monotonic() - began:.0f} s"
    )
