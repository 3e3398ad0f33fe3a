"""Call-desk latency: the "my tasks" page and claiming, vs the bare Temporal calls under them.

Run from the repository root: ``.venv/bin/python -m bench.desk [--tasks 10000 --reps 20]``.

Setup (not measured): an in-memory dev server; ``--tasks`` open call tasks as idle
``BenchDeskTask`` workflows (``bench/raw.py``; no worker polls their queue, so they just stay
Running) started with the desk's search attributes (queue, assignee, deadline, score, segment,
stage), assigned in turn to ``--reps`` reps in two queues, deadlines spread from two days late to
three days ahead; plus unassigned tasks on a worker's queue to claim. The whole web app
(``create_app``) runs under uvicorn in a thread; each rep logs in over HTTP.

Measured one request at a time, alternating which side goes first:

* page: ``GET /desk`` (session cookie, rep lookup, one visibility list, priority sort, HTML);
  bare: ``client.list_workflows(<the same query>)`` iterated to the end.
* claim: ``POST /desk/tasks/<lead>/claim`` (CSRF check, ``call_task`` query, ``claim_task``
  update, redirect); bare: the same query and update on another task.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/desk.py`

import httpx
import uvicorn
from argon2 import PasswordHasher
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from bench.harness import (
    Cpu,
    Row,
    dev_server,
    environment_line,
    exit_now,
    gather_limited,
    neighbour_note,
    nurture_client,
    record,
)
from bench.raw import DeskTaskWorkflow
from nurture.app import create_app
from nurture.desk.service import rep_query
from nurture.roster.reps import Rep, RepDirectory
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import visibility
from nurture.temporal.codec import new_key
from worker import workflow_runner

IDLE_QUEUE = "bench-desk-idle"
LIVE_QUEUE = "bench-desk-live"
QUEUES = ("bench-a", "bench-b")
SEGMENTS = ("strategic", "standard", "standard", "recycled")
PASSWORD = "bench password 123"
#: The page may take at most this many times the bare visibility query.
TARGET = 1.5


def task_values(lead: str, queue: str, assignee: str | None, due: datetime) -> dict[str, Any]:
    """A call task as the desk's ``CallTaskView`` has it."""
    return {
        "task_id": f"{lead}:bench:v1:e1:c1:call",
        "lead_id": lead,
        "step": "call",
        "cadence": "bench",
        "queue": queue,
        "assignee": assignee,
        "claimed_by": None,
        "created_at": (due - timedelta(days=1)).isoformat(),
        "due": due.isoformat(),
    }


def attributes(n: int, queue: str, assignee: str | None, due: datetime) -> TypedSearchAttributes:
    """The search attributes a lead journey publishes for an open call task."""
    pairs = [
        SearchAttributePair(visibility.CALL_TASK_QUEUE, queue),
        SearchAttributePair(visibility.CALL_TASK_DUE, due),
        SearchAttributePair(visibility.LEAD_SCORE, (n * 37) % 100),
        SearchAttributePair(visibility.SEGMENT, SEGMENTS[n % len(SEGMENTS)]),
        SearchAttributePair(visibility.LEAD_STAGE, "nurturing" if n % 3 else "engaged"),
    ]
    if assignee is not None:
        pairs.append(SearchAttributePair(visibility.CALL_TASK_ASSIGNEE, assignee))
    return TypedSearchAttributes(pairs)


async def start_tasks(
    client: Client, reps: list[Rep], count: int, claims: int, concurrency: int
) -> list[str]:
    """``count`` assigned idle tasks, then ``claims`` unassigned live ones; returns the latter."""
    now = datetime.now(UTC)

    async def assigned(n: int) -> None:
        rep = reps[n % len(reps)]
        due = now + timedelta(minutes=(n * 7919) % (5 * 24 * 60) - 2 * 24 * 60)
        lead = f"B{n:06d}"
        await client.start_workflow(
            "BenchDeskTask",
            task_values(lead, rep.queue, rep.username, due),
            id=f"lead-{lead}",
            task_queue=IDLE_QUEUE,
            search_attributes=attributes(n, rep.queue, rep.username, due),
        )

    async def unassigned(n: int) -> str:
        lead = f"C{n:06d}"
        due = now + timedelta(hours=1)
        await client.start_workflow(
            "BenchDeskTask",
            task_values(lead, QUEUES[0], None, due),
            id=f"lead-{lead}",
            task_queue=LIVE_QUEUE,
            search_attributes=attributes(n, QUEUES[0], None, due),
        )
        return lead

    began = time.perf_counter()
    await gather_limited(assigned, count, concurrency)
    print(f"started {count} tasks in {time.perf_counter() - began:.0f}s", flush=True)
    return await gather_limited(unassigned, claims, concurrency)


async def wait_listed(client: Client, expected: int) -> None:
    """Until visibility lists every task."""
    for _ in range(600):
        count = (await client.count_workflows("CallTaskQueue IS NOT NULL")).count
        if count >= expected:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"visibility lists {count} of {expected} tasks")


@contextmanager
def serving(settings: Settings, store: Store) -> Iterator[str]:
    """The whole web app under uvicorn in a thread; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token a desk page carries."""
    found = CSRF.search(html)
    if found is None:
        raise RuntimeError("the page has no CSRF token")
    return found.group(1)


async def log_in(base: str, rep: Rep) -> tuple[httpx.AsyncClient, str]:
    """An HTTP client with a desk session for ``rep``, and the session's CSRF token."""
    http = httpx.AsyncClient(base_url=base, timeout=60)
    page = await http.get("/desk/login")
    token = csrf_token(page.text)
    answer = await http.post(
        "/desk/login", data={"username": rep.username, "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login of {rep.username} failed: {answer.status_code}")
    token = csrf_token((await http.get("/desk")).text)
    return http, token


@dataclass
class Timings:
    """Latencies in milliseconds of one side."""

    samples: list[float]

    @property
    def p50(self) -> float:
        """Median."""
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        """95th percentile."""
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    """Milliseconds ``work`` took."""
    began = time.perf_counter()
    await work()
    return (time.perf_counter() - began) * 1000


async def measure(args: argparse.Namespace) -> None:
    """Set up, warm up, measure both pairs, print the table."""
    with tempfile.TemporaryDirectory(prefix="nurture-bench-desk-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'desk.db'}", upgrade=True)
        directory = RepDirectory(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
        reps = []
        for n in range(args.reps):
            rep = Rep(username=f"rep{n + 1:02d}", name=f"Rep {n + 1}", queue=QUEUES[n % 2])
            directory.add(rep)
            directory.set_password(rep.username, PASSWORD)
            reps.append(rep)
        claimers = [r for r in reps if r.queue == QUEUES[0]]
        claim_count = 2 * (args.claims + args.warmup)
        async with dev_server() as env:
            keys = f"bench:{new_key()}"
            client = nurture_client(env.client, True, keys)  # the web app's converter
            claimable = await start_tasks(client, reps, args.tasks, claim_count, args.concurrency)
            await wait_listed(client, args.tasks + claim_count)
            settings = Settings(
                temporal_address=client.service_client.config.target_host,
                data_dir=Path(tmp),
                database_url=store.url,
                session_secret="bench-" + "x" * 40,
                codec_keys=keys,
            )
            worker = Worker(
                client,
                task_queue=LIVE_QUEUE,
                workflows=[DeskTaskWorkflow],
                workflow_runner=workflow_runner(),
            )
            async with worker:
                with serving(settings, store) as base:
                    sessions = {r.username: await log_in(base, r) for r in reps}
                    pages = await measure_pages(client, reps, sessions, args)
                    claims = await measure_claims(client, claimers, sessions, claimable, args)
            for http, _ in sessions.values():
                await http.aclose()
        store.close()
    report(args, pages, claims)


async def measure_pages(
    client: Client,
    reps: list[Rep],
    sessions: dict[str, tuple[httpx.AsyncClient, str]],
    args: argparse.Namespace,
) -> tuple[Timings, Timings, Cpu, Cpu, float]:
    """``GET /desk`` vs the bare visibility list, alternating; returns both sides' timings."""
    page_ms: list[float] = []
    bare_ms: list[float] = []
    page_cpu = bare_cpu = Cpu(0, 0)
    wall = 0.0
    for i in range(args.warmup + args.samples):
        rep = reps[i % len(reps)]
        http, _ = sessions[rep.username]
        listed: list[int] = []
        shown: list[str] = []

        async def bare(username: str = rep.username, into: list[int] = listed) -> None:
            into.append(len([e async for e in client.list_workflows(rep_query(username))]))

        async def page(http: httpx.AsyncClient = http, into: list[str] = shown) -> None:
            answer = await http.get("/desk")
            if answer.status_code != 200:
                raise RuntimeError(f"GET /desk: {answer.status_code}")
            into.append(answer.text)

        order = [("bare", bare), ("page", page)]
        for side, work in order if i % 2 == 0 else order[::-1]:
            before, began = Cpu.now(), time.perf_counter()
            ms = await timed(work)
            used, wall = Cpu.now() - before, wall + time.perf_counter() - began
            if i < args.warmup:
                continue
            if side == "page":
                page_ms.append(ms)
                page_cpu += used
            else:
                bare_ms.append(ms)
                bare_cpu += used
        count = re.search(r'My tasks\s*<span class="count">\((\d+)\)', shown[0])
        if count is None or int(count.group(1)) != listed[0]:
            raise RuntimeError(f"the page lists {count and count.group(1)}, visibility {listed}")
    print(f"my tasks: {listed[0]} tasks per rep", flush=True)
    return Timings(page_ms), Timings(bare_ms), page_cpu, bare_cpu, wall


async def measure_claims(
    client: Client,
    claimers: list[Rep],
    sessions: dict[str, tuple[httpx.AsyncClient, str]],
    claimable: list[str],
    args: argparse.Namespace,
) -> tuple[Timings, Timings]:
    """``POST .../claim`` vs the bare query + update, alternating, each on its own task."""
    desk_ms: list[float] = []
    bare_ms: list[float] = []
    leads = iter(claimable)
    for i in range(args.warmup + args.claims):
        rep = claimers[i % len(claimers)]
        http, token = sessions[rep.username]
        desk_lead, bare_lead = next(leads), next(leads)

        async def desk(
            lead: str = desk_lead, http: httpx.AsyncClient = http, token: str = token
        ) -> None:
            answer = await http.post(f"/desk/tasks/{lead}/claim", data={"csrf_token": token})
            if answer.status_code != 303 or not answer.headers["location"].endswith(lead):
                raise RuntimeError(f"claim of {lead}: {answer.status_code} {answer.text[:200]}")

        async def bare(lead: str = bare_lead, username: str = rep.username) -> None:
            handle = client.get_workflow_handle(f"lead-{lead}")
            task = await handle.query("call_task")
            await handle.execute_update("claim_task", {"task_id": task["task_id"], "rep": username})

        order = [("bare", bare), ("desk", desk)]
        for side, work in order if i % 2 == 0 else order[::-1]:
            ms = await timed(work)
            if i >= args.warmup:
                (desk_ms if side == "desk" else bare_ms).append(ms)
    return Timings(desk_ms), Timings(bare_ms)


def report(
    args: argparse.Namespace,
    pages: tuple[Timings, Timings, Cpu, Cpu, float],
    claims: tuple[Timings, Timings],
) -> None:
    """Latencies side by side and the page's ratio against the target."""
    page, bare, page_cpu, bare_cpu, wall = pages
    claim, bare_claim = claims
    rows = [
        ("my tasks page, median", page.p50, bare.p50, TARGET),
        ("my tasks page, p95", page.p95, bare.p95, TARGET),
        ("claim, median", claim.p50, bare_claim.p50, None),
        ("claim, p95", claim.p95, bare_claim.p95, None),
    ]
    print(
        f"\nCall desk latency: {args.tasks} open tasks, {args.reps} reps "
        f"({args.tasks // args.reps} each), {args.samples} page samples, {args.claims} claims"
    )
    header = ("metric", "desk ms", "bare ms", "desk/bare", "target", "result")
    lines = [header]
    for metric, desk, raw, target in rows:
        ratio = desk / raw
        verdict = "-" if target is None else ("PASS" if ratio <= target else "FAIL")
        lines.append(
            (
                metric,
                f"{desk:.1f}",
                f"{raw:.1f}",
                f"{ratio:.2f}",
                f"<= {target:.2f}" if target else "-",
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"  page adds {page.p50 - bare.p50:.1f} ms at the median ({page.p50 / bare.p50:.2f}x)")
    print(
        "  bare sides: list_workflows with the page's own query, iterated to the end; "
        "query call_task + update claim_task"
    )
    samples = len(page.samples)
    print(
        f"  CPU per request: python process page {page_cpu.python * 1000 / samples:.2f} ms, "
        f"bare {bare_cpu.python * 1000 / samples:.2f} ms; dev server page "
        f"{page_cpu.server * 1000 / samples:.2f} ms, bare {bare_cpu.server * 1000 / samples:.2f} ms"
    )
    print(f"  {neighbour_note((page_cpu + bare_cpu).others / wall)}")
    print(f"  {environment_line()}")
    record(
        "desk",
        [
            Row(f"desk page at {args.tasks:,} tasks, median ms", page.p50, bare.p50, TARGET, True),
            Row(f"desk page at {args.tasks:,} tasks, p95 ms", page.p95, bare.p95, TARGET, True),
        ],
    )


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="open tasks assigned to reps")
    parser.add_argument("--reps", type=int, default=20, help="reps (in two queues)")
    parser.add_argument("--samples", type=int, default=100, help="page loads per side")
    parser.add_argument("--claims", type=int, default=100, help="claims per side")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured rounds per pair")
    parser.add_argument("--concurrency", type=int, default=64, help="starts in flight (setup)")
    asyncio.run(measure(parser.parse_args()))
    exit_now()


if __name__ == "__main__":
    main()
