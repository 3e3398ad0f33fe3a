"""The migrate page with a few hundred leads: 200 leads parked at three steps of
``examples/migrate/moving.yaml`` (some handed to sales) and the v2 file in the web app's cadences
folder. A marketer's dry run and then a migrate go through the page (form POST, then polling the
run's progress as its page does), and for scale the same dry run through the functions the CLI
calls, in the same process.

Run from the repository root: ``.venv/bin/python -m bench.migrate_pages [--leads 200]``.

Prints each run's time, how many progress polls saw it part-way (the page's progress), the
page/CLI ratio of the dry run, and checks that the movable leads moved and the refused ones did
not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/migrate_pages.py`

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI
from temporalio.client import Client

from activities.touches import TouchActivities
from bench.harness import dev_server, environment_line, exit_now, nurture_client
from bench.migrate import QUEUE, make_group_leads, signal, wait_until
from nurture.app import create_app
from nurture.cadence.model import Cadence, load_cadence
from nurture.contracts import MigrateLead
from nurture.events import EventKind
from nurture.journey.state import Journey, Phase
from nurture.lead import Lead
from nurture.leads.enrollment import enroll_many
from nurture.leads.migrate import plans, running_leads
from nurture.roster.reps import Rep, RepDirectory
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import LeadError, query
from worker import build_worker

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password here"


async def run(args: argparse.Namespace) -> None:
    v1 = load_cadence(ROOT / "examples" / "migrate" / "moving.yaml")
    groups = make_group_leads(args.leads)
    everyone = [lead for members in groups.values() for lead in members]
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp:
        folder = Path(tmp) / "cadences"
        folder.mkdir()
        shutil.copy(ROOT / "examples" / "migrate" / "v2" / "moving.yaml", folder / "moving.yaml")
        settings = Settings(
            task_queue=QUEUE,
            data_dir=Path(tmp),
            templates_dir=ROOT / "templates",
            cadences_dir=folder,
            session_secret="bench-" + "x" * 40,
        )
        store = Store(settings.store_url, upgrade=True)
        directory = RepDirectory(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
        directory.save(Rep(username="mia", name="Mia", queue="sdr", roles=frozenset({"marketing"})))
        directory.set_password("mia", PASSWORD)
        touches = TouchActivities(store, settings.templates_dir, settings.cadences_dir)
        async with dev_server() as env:
            client = nurture_client(env.client, True)
            with ThreadPoolExecutor(32) as executor:
                async with build_worker(client, settings, executor, touches):
                    await _parked(client, v1, groups, everyone)
                    app = create_app(settings, store, client)
                    await _scenario(client, app, groups, everyone)


async def _parked(
    client: Client, v1: Cadence, groups: dict[str, list[Lead]], everyone: list[Lead]
) -> None:
    report = await enroll_many(client, [(0, lead) for lead in everyone], [v1], QUEUE)
    assert len(report.started) == len(everyone), report.rejected[:3]
    gate = asyncio.Semaphore(32)

    async def one(lead_id: str) -> Journey:
        async with gate:
            journey: Journey = await query(client, lead_id, "state", Journey)
            return journey

    async def parked() -> bool:
        try:
            found = await asyncio.gather(*(one(lead.id) for lead in everyone))
        except LeadError:
            return False
        return all(s.phase is Phase.waiting_for for s in found)

    await wait_until(parked)
    await asyncio.gather(*(signal(client, lead.id, EventKind.email_reply) for lead in groups["d"]))

    async def with_sales() -> bool:
        found = await asyncio.gather(*(one(lead.id) for lead in groups["d"]))
        return all(s.phase is Phase.handoff for s in found)

    await wait_until(with_sales)

    async def listed() -> bool:
        return len(await running_leads(client, "moving")) == len(everyone)

    await wait_until(listed)


async def _through_the_page(
    http: httpx.AsyncClient, url: str, data: dict[str, str]
) -> tuple[str, float, int, int]:
    """POST a run, poll its progress until done: (its page, seconds, polls part-way, polls)."""
    began = time.perf_counter()
    r = await http.post(url, data=data)
    assert r.status_code == 303, r.text[:500]
    run_url = r.headers["location"]
    partway = polls = 0
    while True:
        progress = (await http.get(f"{run_url}/progress")).json()
        polls += 1
        if progress["finished"]:
            break
        partway += 0 < progress["done"] < progress["total"]
        await asyncio.sleep(0.1)
    seconds = time.perf_counter() - began
    return (await http.get(run_url)).text, seconds, partway, polls


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field"
    return found.group(1)


async def _scenario(
    client: Client, app: FastAPI, groups: dict[str, list[Lead]], everyone: list[Lead]
) -> None:
    v2 = load_cadence(ROOT / "examples" / "migrate" / "v2" / "moving.yaml")
    mapped = MigrateLead(cadence=v2, mapping={"wait-b": "wait-b2"}, by="bench")
    began = time.perf_counter()
    direct = await plans(client, await running_leads(client, "moving"), mapped)
    cli_dry = time.perf_counter() - began

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        login = (await http.get("/desk/login")).text
        form = {"username": "mia", "password": PASSWORD, "csrf_token": _token(login)}
        assert (await http.post("/desk/login", data=form)).status_code == 303
        token = _token((await http.get("/cadences/moving/migrate")).text)
        data = {"csrf_token": token, "source": "file", "mappings": "wait-b=wait-b2"}
        dry, dry_s, dry_partway, dry_polls = await _through_the_page(
            http, "/cadences/moving/migrate", {**data, "mode": "dry-run"}
        )
        movable = sum(p.refused is None for p in direct)
        want = f"{movable} of {len(everyone)}</strong> running lead(s) would move"
        assert want in dry, re.sub(r"\s+", " ", dry)[:600]
        run_url = re.search(r'action="(/cadences/moving/migrate/runs/[^"]+)/migrate"', dry)
        assert run_url, "no Migrate form on the dry run's page"
        moved, move_s, move_partway, move_polls = await _through_the_page(
            http, f"{run_url.group(1)}/migrate", {"csrf_token": _token(dry), "confirm": "yes"}
        )
        refused = len(everyone) - movable
        want = f"Moved <strong>{movable}</strong> · refused <strong>{refused}</strong>"
        assert want in moved, re.sub(r"\s+", " ", moved)[:600]

    async def on_v2() -> bool:
        found = await plans(client, [p.lead_id for p in direct], mapped)
        return all(p.version == 2 for p in found if p.lead_id[3] != "d")

    await wait_until(on_v2, timeout=120)
    kept = await plans(client, [lead.id for lead in groups["d"]], mapped)
    assert all(p.version == 1 for p in kept), "a refused lead moved"

    n = len(everyone)
    print(environment_line())
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"leads: {n} ({movable} movable, {refused} with sales)")
    print(f"dry run, CLI functions   {cli_dry:6.2f} s  ({n / cli_dry:7.1f} leads/s)")
    print(
        f"dry run, page            {dry_s:6.2f} s  ({n / dry_s:7.1f} leads/s,"
        f" {dry_s / cli_dry:.2f}x the CLI; {dry_partway} of {dry_polls} polls part-way)"
    )
    print(
        f"migrate, page            {move_s:6.2f} s  ({movable / move_s:7.1f} moves/s;"
        f" {move_partway} of {move_polls} polls part-way)"
    )
    print("every movable lead on v2, the leads with sales on v1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=200)
    asyncio.run(run(parser.parse_args()))
    exit_now()


if __name__ == "__main__":
    main()
