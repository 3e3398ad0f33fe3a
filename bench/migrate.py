"""Migrating running leads: 200 leads parked at three steps of ``examples/migrate/moving.yaml``
(and some handed to sales) move to ``examples/migrate/v2/moving.yaml``.

Run from the repository root: ``.venv/bin/python -m bench.migrate [--leads 200]``.

Prints the time to list and plan every lead (a dry run: one visibility list, one ``state``
query per lead), the time to move them (one ``migrate`` update per lead), and, for scale, the
same number of bare ``state`` queries; then clicks every lead and checks that no lead got a
touch twice and that each got exactly the touches its group should (moved, refused, kept).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/migrate.py`

from temporalio.client import Client

from activities.touches import TouchActivities
from bench.harness import dev_server, environment_line, exit_now, nurture_client
from nurture.cadence.model import Cadence, load_cadence
from nurture.contracts import MigrateLead
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey, Phase
from nurture.lead import Lead
from nurture.leads.enrollment import enroll_many
from nurture.leads.migrate import migrate_leads, plans, running_leads
from nurture.leads.migrate_cli import print_plans
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import LeadError, journey_handle, query
from worker import build_worker

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "bench-migrate"
#: Share of leads per group: a, b (on a step v2 renamed), c, and d (handed to sales first).
SHARES = {"a": 0.3, "b": 0.3, "c": 0.3, "d": 0.1}
EXPECTED = {
    "a": [("hello", 1), ("a-note", 2), ("finale", 2)],
    "b": [("hello", 1), ("b-note", 2), ("finale", 2)],
    "b-kept": [("hello", 1), ("b-note", 1), ("finale", 1)],
    "c": [("hello", 1), ("c-note", 2), ("c-extra", 2), ("finale", 2)],
}


def make_group_leads(count: int) -> dict[str, list[Lead]]:
    groups: dict[str, list[Lead]] = {}
    for group, share in SHARES.items():
        groups[group] = [
            Lead(
                id=f"mv-{group}{n:04d}",
                email=f"mv-{group}{n}@example.com",
                first_name="Ann",
                last_name="Lee",
                company="Acme",
                segment="moving",
                timezone="UTC",
                fields={"spot": group},
            )
            for n in range(max(1, round(count * share)))
        ]
    return groups


async def signal(client: Client, lead_id: str, kind: EventKind) -> None:
    event = EngagementEvent(
        id=f"{lead_id}:{kind.value}", kind=kind, lead_id=lead_id, at=datetime.now(UTC)
    )
    await journey_handle(client, lead_id).signal("event", event)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 600) -> None:
    deadline = time.perf_counter() + timeout
    while not await check():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out")
        await asyncio.sleep(0.3)


async def run(args: argparse.Namespace) -> None:
    v1 = load_cadence(ROOT / "examples" / "migrate" / "moving.yaml")
    v2 = load_cadence(ROOT / "examples" / "migrate" / "v2" / "moving.yaml")
    groups = make_group_leads(args.leads)
    everyone = [lead for members in groups.values() for lead in members]
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp:
        settings = Settings(
            task_queue=QUEUE,
            data_dir=Path(tmp),
            templates_dir=ROOT / "templates",
            cadences_dir=ROOT / "cadences",
        )
        store = Store(settings.store_url, upgrade=True)
        touches = TouchActivities(store, settings.templates_dir, settings.cadences_dir)
        async with dev_server() as env:
            client = nurture_client(env.client, True)
            with ThreadPoolExecutor(32) as executor:
                async with build_worker(client, settings, executor, touches):
                    await _scenario(client, v1, v2, groups, everyone, store)


async def _scenario(
    client: Client,
    v1: Cadence,
    v2: Cadence,
    groups: dict[str, list[Lead]],
    everyone: list[Lead],
    store: Store,
) -> None:
    report = await enroll_many(client, [(0, lead) for lead in everyone], [v1], QUEUE)
    assert len(report.started) == len(everyone), report.rejected[:3]

    gate = asyncio.Semaphore(32)

    async def one(lead: Lead) -> Journey:
        async with gate:
            journey: Journey = await query(client, lead.id, "state", Journey)
            return journey

    async def states() -> list[Journey]:
        return list(await asyncio.gather(*(one(lead) for lead in everyone)))

    async def parked() -> bool:
        try:
            return all(s.phase is Phase.waiting_for for s in await states())
        except LeadError:
            return False  # a busy worker answers late while the leads start

    await wait_until(parked)
    await asyncio.gather(*(signal(client, lead.id, EventKind.email_reply) for lead in groups["d"]))

    async def with_sales() -> bool:
        found = await asyncio.gather(
            *(query(client, lead.id, "state", Journey) for lead in groups["d"])
        )
        return all(s.phase is Phase.handoff for s in found)

    await wait_until(with_sales)

    async def listed() -> bool:
        return len(await running_leads(client, "moving")) == len(everyone)

    await wait_until(listed)

    began = time.perf_counter()
    await states()
    bare = time.perf_counter() - began

    mapped = MigrateLead(cadence=v2, mapping={"wait-b": "wait-b2"}, by="bench")
    began = time.perf_counter()
    ids = await running_leads(client, "moving")
    dry = await plans(client, ids, mapped)
    planned = time.perf_counter() - began

    # What `nurture cadence migrate moving --to v2/moving.yaml --map wait-b=wait-b2 --dry-run`
    # prints, for two leads of each group.
    sample = [p for g in "abcd" for p in sorted(dry, key=lambda p: p.lead_id) if p.lead_id[3] == g]
    by_group = [p for g in "abcd" for p in [q for q in sample if q.lead_id[3] == g][:2]]
    print_plans(by_group, v2, "would move")
    kept = {lead.id for lead in groups["b"][: len(groups["b"]) // 4]}  # these stay on v1
    movers = [p.lead_id for p in dry if p.refused is None and p.lead_id not in kept]
    began = time.perf_counter()
    moved = await migrate_leads(client, [*movers, *(lead.id for lead in groups["d"])], mapped)
    moving = time.perf_counter() - began
    assert not moved.failed, moved.failed
    assert set(moved.refused) == {lead.id for lead in groups["d"]}

    began = time.perf_counter()
    clicked = [lead for g in "abc" for lead in groups[g]]
    await asyncio.gather(*(signal(client, lead.id, EventKind.email_click) for lead in clicked))
    await asyncio.gather(*(journey_handle(client, lead.id).result() for lead in clicked))
    finish = time.perf_counter() - began

    twice = 0
    wrong: list[str] = []
    for group in "abc":
        for lead in groups[group]:
            rows = sorted(store.list_touches(lead_id=lead.id), key=lambda t: t.created_at)
            steps = [(t.step_id, t.cadence_version) for t in rows]
            twice += Counter(t.step_id for t in rows).most_common(1)[0][1] > 1
            want = EXPECTED["b-kept" if lead.id in kept else group]
            if steps != want:
                wrong.append(f"{lead.id}: {steps}")

    n = len(everyone)
    print(environment_line())
    print(
        f"leads: {n} (a {len(groups['a'])}, b {len(groups['b'])} of which {len(kept)} kept"
        f" on v1, c {len(groups['c'])}, with sales {len(groups['d'])})"
    )
    print(f"bare state queries      {bare:6.2f} s  ({n / bare:7.1f} leads/s)")
    print(
        f"dry run (list + plan)   {planned:6.2f} s  ({n / planned:7.1f} leads/s,"
        f" {planned / bare:.2f}x the bare queries)"
    )
    print(
        f"migrate updates         {moving:6.2f} s  ({len(movers) / moving:7.1f} moves/s;"
        f" moved {len(moved.moved)}, refused {len(moved.refused)})"
    )
    print(f"click + finish          {finish:6.2f} s")
    print(f"touched twice: {twice}   wrong touch lists: {len(wrong)}")
    for line in wrong[:5]:
        print("  ", line)
    if twice or wrong:
        print("FAILED: a lead got a touch twice or the wrong touches")
        sys.stdout.flush()
        os._exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=200)
    asyncio.run(run(parser.parse_args()))
    exit_now()


if __name__ == "__main__":
    main()
