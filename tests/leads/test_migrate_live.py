"""Migrating running leads on a real dev server: 40 leads parked at different steps move to v2 at
their next wait; none gets a touch twice or skips a kept one; refused leads run on as before."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from nurture.cadence.model import Cadence, parse_cadence
from nurture.cli import app
from nurture.contracts import MigrateLead
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey, Phase
from nurture.leads.enrollment import enroll_many
from nurture.leads.migrate import migrate_leads, plans, running_cadence, running_leads
from nurture.settings import Settings, get_settings
from nurture.store import Store
from nurture.temporal.calls import journey_handle, query
from tests.conftest import FIXTURE_TEMPLATES, eventually, make_lead

V1 = """\
name: moving
version: 1
audience: {segments: [moving]}
sender: {name: Test Sender, email: sender@example.com}
calendar:
  timezone: UTC
  business_hours: {mon: "00:00-24:00", tue: "00:00-24:00", wed: "00:00-24:00",
    thu: "00:00-24:00", fri: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00"}
  jitter_minutes: 0
steps:
  - {id: hello, email: {template: hello}}
  - id: route
    branch:
      cases:
        - {when: {field: {name: spot, equals: b}}, goto: wait-b}
        - {when: {field: {name: spot, equals: c}}, goto: wait-c}
      otherwise: wait-a
  - {id: wait-a, wait_for: {any: [email.click], within: {hours: 2}}}
  - {id: a-note, email: {template: hello}}
  - {goto: finale}
  - {id: wait-b, wait_for: {any: [email.click], within: {hours: 2}}}
  - {id: b-note, email: {template: hello}}
  - {goto: finale}
  - {id: wait-c, wait_for: {any: [email.click], within: {hours: 2}}}
  - {id: c-note, email: {template: hello}}
  - {id: finale, direct_mail: {template: letter}}
"""
#: v2: wait-b renamed wait-b2 (needs --map), a new c-extra email before the finale.
V2 = (
    V1.replace("version: 1", "version: 2")
    .replace("wait-b", "wait-b2")
    .replace(
        "  - {id: finale,", "  - {id: c-extra, email: {template: hello-short}}\n  - {id: finale,"
    )
)
GROUPS = {"a": 12, "b": 12, "c": 12, "d": 4}  # d: handed to sales before the move


def cadence(text: str) -> Cadence:
    return parse_cadence(text, "moving.yaml")


async def click(
    env: WorkflowEnvironment, lead_id: str, kind: EventKind = EventKind.email_click
) -> None:
    event = EngagementEvent(
        id=f"{lead_id}:{kind.value}", kind=kind, lead_id=lead_id, at=datetime.now(UTC)
    )
    await journey_handle(env.client, lead_id).signal("event", event)


async def state(env: WorkflowEnvironment, lead_id: str) -> Journey:
    journey: Journey = await query(env.client, lead_id, "state", Journey)
    return journey


async def dry_run_cli(
    env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> Result:
    """``nurture cadence migrate moving --to v2 --dry-run ARGS`` against the dev server."""
    monkeypatch.setenv("NURTURE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("NURTURE_TEMPLATES_DIR", str(FIXTURE_TEMPLATES))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    path = tmp_path / "moving-v2.yaml"
    path.write_text(V2)
    command = ["cadence", "migrate", "moving", "--to", str(path), "--dry-run", *args]
    try:
        return await asyncio.to_thread(CliRunner().invoke, app, command)
    finally:
        get_settings.cache_clear()


async def test_forty_leads_move_to_v2_at_their_next_wait(
    dev_env: WorkflowEnvironment,
    dev_worker: Settings,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v1, v2 = cadence(V1), cadence(V2)
    ids = {g: [f"M{g}{n:02d}" for n in range(count)] for g, count in GROUPS.items()}
    leads = [
        (0, make_lead(lead, segment="moving", timezone="UTC", fields={"spot": group}))
        for group, members in ids.items()
        for lead in members
    ]
    report = await enroll_many(dev_env.client, leads, [v1], dev_worker.task_queue)
    assert len(report.started) == 40

    async def parked() -> bool:
        states = await asyncio.gather(*(state(dev_env, lead.id) for _, lead in leads))
        return all(s.phase is Phase.waiting_for for s in states)

    await eventually(parked, timeout=30)
    await asyncio.gather(*(click(dev_env, lead, EventKind.email_reply) for lead in ids["d"]))

    async def with_sales() -> bool:
        states = await asyncio.gather(*(state(dev_env, lead) for lead in ids["d"]))
        return all(s.phase is Phase.handoff for s in states)

    await eventually(with_sales, timeout=20)

    # Dry run: b is parked on a step v2 lacks, d is with sales.
    async def listed() -> list[str]:
        found = await running_leads(dev_env.client, "moving")
        return found if len(found) == 40 else []

    everyone = await eventually(listed)
    dry = {p.lead_id: p for p in await plans(dev_env.client, everyone, MigrateLead(cadence=v2))}
    assert {lead for lead, p in dry.items() if p.refused is None} == set(ids["a"] + ids["c"])
    assert all("wait-b" in (dry[lead].refused or "") for lead in ids["b"])
    assert all("with sales" in (dry[lead].refused or "") for lead in ids["d"])
    assert dry[ids["a"][0]].at.startswith("c1 wait-a") and dry[ids["a"][0]].to == "v2 wait-a"

    shown = await dry_run_cli(
        dev_env, tmp_path, monkeypatch, "--map", "wait-b=wait-b2", "--where", "Segment = 'moving'"
    )
    assert shown.exit_code == 0, shown.output
    assert "36 of 40 running lead(s) would move to v2; 4 refused" in shown.output
    assert "v2 wait-b2" in shown.output and "with sales" in shown.output
    print(shown.output)

    # Without the mapping the validators refuse b and d; a and c move.
    moved = await migrate_leads(dev_env.client, everyone, MigrateLead(cadence=v2))
    assert set(moved.moved) == set(ids["a"] + ids["c"]) and not moved.failed
    assert set(moved.refused) == set(ids["b"] + ids["d"])
    # Half of b now moves with the mapping; the other half keeps running on v1.
    mapped = MigrateLead(cadence=v2, mapping={"wait-b": "wait-b2"})
    b_moved, b_kept = ids["b"][:6], ids["b"][6:]
    again = await migrate_leads(dev_env.client, [*b_moved, *ids["a"][:2]], mapped)
    assert set(again.moved) == set(b_moved)
    assert all("must be higher" in again.refused[lead] for lead in ids["a"][:2])

    # `nurture cadence diff moving@running FILE` reads the newest version leads run on.
    reader = Settings(temporal_address=dev_env.client.service_client.config.target_host)

    async def newest_running() -> bool:
        return (await running_cadence(reader, "moving", "running")).version == 2

    await eventually(newest_running)
    assert (await running_cadence(reader, "moving", "1")).steps == v1.steps

    await asyncio.gather(*(click(dev_env, lead) for g in "abc" for lead in ids[g]))
    results = await asyncio.gather(
        *(journey_handle(dev_env.client, lead).result() for g in "abc" for lead in ids[g])
    )
    assert {r.outcome for r in results} == {"finished"}

    expected = {
        "a": [("hello", 1), ("a-note", 2), ("finale", 2)],
        "b-moved": [("hello", 1), ("b-note", 2), ("finale", 2)],
        "b-kept": [("hello", 1), ("b-note", 1), ("finale", 1)],
        "c": [("hello", 1), ("c-note", 2), ("c-extra", 2), ("finale", 2)],
    }
    groups = {"a": ids["a"], "b-moved": b_moved, "b-kept": b_kept, "c": ids["c"]}
    for name, members in groups.items():
        for lead in members:
            rows = sorted(store.list_touches(lead_id=lead), key=lambda t: t.created_at)
            assert [(t.step_id, t.cadence_version) for t in rows] == expected[name], lead
            assert Counter(t.step_id for t in rows).most_common(1)[0][1] == 1, "a touch twice"
    moved_state = await state(dev_env, ids["a"][0])
    assert any("Moved from moving v1 (at wait-a) to v2" in e.text for e in moved_state.timeline)
    for lead in ids["d"]:
        assert (await state(dev_env, lead)).cadence.version == 1
    for lead in ids["d"]:  # with sales, waiting for hours: stop them with their worker
        await journey_handle(dev_env.client, lead).terminate("test over")
