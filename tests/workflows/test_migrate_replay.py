"""Replay of the new paths: an A/B variant touch (patch 2026-12-variants) and a ``migrate`` update
applied at the next wait (patch 2026-12-migrate), across a continue-as-new.

``python -m tests.workflows.test_migrate_replay`` saves the histories in tests/histories/ (kept
when present), so later code must replay them too.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from nurture.cadence.model import Cadence, parse_cadence
from nurture.contracts import MigrateLead
from nurture.journey.state import Journey, JourneyInput
from nurture.leads.enrollment import new_journey
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.codec import data_converter
from nurture.temporal.ids import workflow_id
from tests.conftest import make_lead, running_worker
from tests.support.timeskipping import run_histories
from tests.workflows.test_replay import HISTORIES, replay
from workflows.lead import LeadJourneyWorkflow

V1 = """\
name: ab-flow
version: 1
sender: {name: Test Sender, email: sender@example.com}
calendar:
  timezone: UTC
  business_hours: {mon: "00:00-24:00", tue: "00:00-24:00", wed: "00:00-24:00",
    thu: "00:00-24:00", fri: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00"}
  jitter_minutes: 0
cycles: {count: 2, gap: {days: 1}}
steps:
  - id: hello
    email:
      template: hello
      variants:
        - {id: long, template: hello}
        - {id: short, template: hello-short}
  - {id: w1, wait: {days: 1}}
  - {id: nudge, email: {template: hello}}
  - {id: w2, wait: {days: 1}}
  - {id: letter, direct_mail: {template: letter}}
"""
V2 = (
    V1.replace("version: 1", "version: 2")
    .replace("{id: nudge, email: {template: hello}}", "{id: tips, email: {template: hello-short}}")
    .replace("{id: w2, wait: {days: 1}}", "{id: w2, wait: {days: 2}}")
)


def cadence(text: str) -> Cadence:
    return parse_cadence(text, "ab-flow.yaml")


async def ab_migrated_journey(
    env: WorkflowEnvironment, settings: Settings, store: Store, lead_id: str
) -> list[WorkflowHistory]:
    """A lead gets its variant, is moved to v2 while it waits, and runs two cycles."""
    lead = make_lead(lead_id, timezone="UTC")
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=new_journey(lead, cadence(V1), datetime.now(UTC))),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )
    await env.sleep(timedelta(hours=12))
    text = await handle.execute_update(
        LeadJourneyWorkflow.migrate, MigrateLead(cadence=cadence(V2), mapping={"nudge": "tips"})
    )
    assert "continues at tips" in text
    result = await handle.result()
    assert result.outcome == "finished" and result.cycle == 2
    rows = sorted(store.list_touches(lead_id=lead.id), key=lambda t: t.created_at)
    steps = [(t.cycle, t.step_id, t.cadence_version) for t in rows]
    assert steps == [
        (1, "hello", 1),
        (1, "tips", 2),
        (1, "letter", 2),
        (2, "hello", 2),
        (2, "tips", 2),
        (2, "letter", 2),
    ]
    variants = {t.variant for t in rows if t.step_id == "hello"}
    assert len(variants) == 1 and None not in variants, "one variant, both cycles"
    journey: Journey = await handle.query(LeadJourneyWorkflow.state)
    assert any("Moved from ab-flow v1 (at nudge) to v2" in e.text for e in journey.timeline)
    return await run_histories(env.client, handle.id, handle.first_execution_run_id)


async def test_variant_and_migrate_histories_replay(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    histories = await ab_migrated_journey(env, worker, store, "L-ab-migrated")
    assert len(histories) == 2  # cycle 1, then cycle 2 after the continue-as-new
    await replay(histories)


async def _record() -> None:
    """Save this journey's histories into tests/histories/ (existing files are kept)."""
    from tempfile import TemporaryDirectory

    from tests.support.timeskipping import register_search_attributes, time_skipping_server

    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server(), data_converter=data_converter(Settings())
    ) as env:
        await register_search_attributes(env.client)
        with TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{tmp}/o.db", upgrade=True)
            async with running_worker(env.client, store) as settings:
                histories = await ab_migrated_journey(env, settings, store, "L-saved-ab")
    for number, history in enumerate(histories, 1):
        path = HISTORIES / f"ab-migrated-run{number}.json"
        if path.exists():
            print(f"kept {path.name}")
            continue
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
        print(f"wrote {path.name} ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(_record())
