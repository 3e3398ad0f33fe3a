"""Touch throughput: journeys on the real worker vs bare workflows with as many activities/timers.

Run from the repository root: ``.venv/bin/python -m bench.touches [--leads 200 --touches 5]``.

Each side gets its own worker (same thread pool size, same max concurrent activities, same
sandbox runner), running alone while its leads go from the first start to the last completion.
Rounds alternate which side goes first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/touches.py`

from temporalio.api.enums.v1 import TimeoutType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.touches import TouchActivities
from bench.harness import (
    ROOT,
    Cpu,
    Row,
    add_codec_option,
    cpu_note,
    dev_server,
    environment_line,
    exit_now,
    gather_limited,
    make_leads,
    mean,
    median,
    neighbour_note,
    nurture_client,
    print_table,
)
from bench.ledger_touch import LedgerTouch
from bench.raw import RawTouchesWorkflow, RawVisibleTouchesWorkflow, noop_touch
from nurture.cadence.model import Cadence, parse_cadence
from nurture.calendar import holiday_dates
from nurture.leads.enrollment import enroll_many, new_journey
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import visibility
from nurture.temporal.calls import journey_handle
from worker import ACTIVITY_THREADS, build_worker, cache_bytecode, workflow_runner

NURTURE_QUEUE = "bench-touches-nurture"
RAW_QUEUE = "bench-touches-raw"
#: nurture's touches per second against raw + visibility (the median of the rounds' ratios).
TARGET = 0.9
#: nurture's own Python CPU per touch against raw + visibility's: at most this.
CPU_TARGET = 1.2
#: The baseline: the raw workflow plus the visibility DESIGN.md asks of every journey.
VISIBLE = "raw + visibility"
#: ``--baseline-ledger``: raw + visibility whose activity renders and claims each touch in a
#: send-once ledger (bench/ledger_touch.py), the work an exactly-once touch cannot skip.
LEDGER = "raw + ledger"
#: ``--ledger-queue``: the same with each touch on a task queue of its own, as a journey's sends
#: run on their channel's queue (no eager dispatch of the activity with the workflow task).
LEDGER_QUEUE = "raw + ledger, own queue"
#: Real email templates from templates/, used in turn.
TEMPLATES = ("standard-intro", "standard-tips", "standard-case-study", "standard-last-note")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def open_country(today: date) -> str:
    """A holiday calendar with no holiday today or tomorrow (a holiday would defer every touch)."""
    for country in ("US", "GB", "DE", "FR", "JP", "AU"):
        if not {today, today + timedelta(days=1)} & set(holiday_dates(country, None, [today.year])):
            return country
    raise RuntimeError("every candidate country has a holiday today")


def bench_cadence(touches: int, wait: float, country: str) -> Cadence:
    """``touches`` emails ``wait`` seconds apart: UTC, open 24/7, no jitter, one cycle."""
    hours = ", ".join(f'{day}: "00:00-24:00"' for day in DAYS)
    lines = [
        "name: bench-touches",
        "version: 1",
        "audience: {segments: [bench]}",
        "sender: {name: Riley Chen, email: riley.chen@tessellate.example}",
        "calendar:",
        "  timezone: UTC",
        f"  country: {country}",
        f"  business_hours: {{{hours}}}",
        "  jitter_minutes: 0",
        "cycles: {count: 1}",
        "steps:",
    ]
    for number in range(1, touches + 1):
        if number > 1:
            lines.append(f"  - wait: {{seconds: {wait}}}")
        lines.append(f"  - id: email-{number}")
        lines.append(f"    email: {{template: {TEMPLATES[(number - 1) % len(TEMPLATES)]}}}")
    return parse_cadence("\n".join(lines) + "\n", "bench-touches.yaml")


@dataclass
class Phase:
    """One side's measured run: wall time, CPU, each workflow's start-to-close seconds."""

    seconds: float
    cpu: Cpu
    durations: list[float]
    history_events: int
    sticky_timeouts: int = 0


async def durations(handles: Sequence[WorkflowHandle[Any, Any]]) -> tuple[list[float], int]:
    """Each workflow's start-to-close seconds, and one workflow's history length."""
    described = await asyncio.gather(*(h.describe() for h in handles))
    spans = [
        (d.close_time - d.start_time).total_seconds() for d in described if d.close_time is not None
    ]
    history = await handles[0].fetch_history()
    return spans, len(history.events)


async def sticky_timeouts(handles: Sequence[WorkflowHandle[Any, Any]]) -> int:
    """Workflow tasks that waited too long for their worker's cache (schedule-to-start)."""
    timed_out = 0
    for handle in handles:
        async for event in handle.fetch_history_events():
            if event.HasField("workflow_task_timed_out_event_attributes"):
                kind = event.workflow_task_timed_out_event_attributes.timeout_type
                timed_out += kind == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    return timed_out


async def run_nurture(
    client: Client,
    settings: Settings,
    touches: TouchActivities,
    cadence: Cadence,
    prefix: str,
    args: argparse.Namespace,
) -> Phase:
    """Enrol ``args.leads`` leads with ``enroll_many`` and wait for every journey to finish."""
    leads = make_leads(args.leads, prefix, ("bench",))
    outbox_before = touches.store.count_touches()
    with ThreadPoolExecutor(args.threads) as shared:
        # --pools channel: the worker as `nurture worker` builds it (NURTURE_WORKER_* settings)
        executor = shared if args.pools == "shared" else None
        async with build_worker(client, settings, executor, touches):
            before, began = Cpu.now(), time.perf_counter()
            report = await enroll_many(
                client, leads, [cadence], NURTURE_QUEUE, concurrency=args.concurrency
            )
            handles = [journey_handle(client, lead.id) for _, lead in leads]
            results = await asyncio.gather(*(h.result() for h in handles))
            took, cpu = time.perf_counter() - began, Cpu.now() - before
    sent = touches.store.count_touches() - outbox_before
    if len(report.started) != args.leads or sent != args.leads * args.touches:
        raise RuntimeError(f"started {len(report.started)}, outbox got {sent} touches")
    if any(r.outcome != "finished" or r.touches_sent != args.touches for r in results):
        raise RuntimeError(f"unexpected journey results, e.g. {results[0]}")
    spans, events = await durations(handles)
    return Phase(took, cpu, spans, events, await sticky_timeouts(handles))


async def run_raw(
    client: Client,
    prefix: str,
    args: argparse.Namespace,
    visible: Cadence | None = None,
    ledger: LedgerTouch | None = None,
    own_queue: bool = False,
) -> Phase:
    """Start ``args.leads`` bare workflows and wait for all of them; with ``visible``, the
    variant that also carries a journey's visibility (start search attributes and static
    summary as ``enroll`` sends for that cadence, summaries, a NextTouchAt upsert per wait);
    with ``ledger`` too, each touch is rendered and claimed in a ledger instead of a no-op;
    with ``own_queue``, the touches run on a task queue of their own (a second worker)."""
    workflow: Any = RawVisibleTouchesWorkflow if visible else RawTouchesWorkflow
    kind = ("q" if own_queue else "l" if ledger else "v") if visible else ""
    touch_queue = f"{RAW_QUEUE}-touches" if own_queue else None
    cache_bytecode(workflow)  # as build_worker does for the journey's module
    leads = make_leads(args.leads, prefix, ("bench",)) if visible else []

    def start(i: int) -> Any:
        options: dict[str, Any] = {}
        if visible is not None:
            lead = leads[i][1]
            journey = new_journey(lead, visible, datetime.now(UTC))
            options["search_attributes"] = visibility.typed(visibility.journey_values(journey))
            options["static_summary"] = f"Lead {lead.id} · {visible.name} v{visible.version}"
        return client.start_workflow(
            workflow.run,
            args=[args.touches, args.wait, *([touch_queue] if touch_queue else [])],
            id=f"raw-{kind}{prefix}{i:06d}",
            task_queue=RAW_QUEUE,
            **options,
        )

    recorded = ledger.store.count_touches() if ledger is not None else 0
    touch = ledger.touch if ledger else noop_touch
    with ThreadPoolExecutor(args.threads) as executor:
        workers = [
            Worker(
                client,
                task_queue=RAW_QUEUE,
                workflows=[workflow],
                activities=[touch],
                activity_executor=executor,
                max_concurrent_activities=args.threads,  # as build_worker: the pool's size
                workflow_runner=workflow_runner(),
            )
        ]
        if touch_queue is not None:  # as build_worker's channel workers
            workers.append(
                Worker(
                    client,
                    task_queue=touch_queue,
                    activities=[touch],
                    activity_executor=executor,
                    max_concurrent_activities=args.threads,
                )
            )
        async with AsyncExitStack() as running:
            for worker in workers:
                await running.enter_async_context(worker)
            before, began = Cpu.now(), time.perf_counter()
            handles = await gather_limited(start, args.leads, args.concurrency)
            results = await asyncio.gather(*(h.result() for h in handles))
            took, cpu = time.perf_counter() - began, Cpu.now() - before
    if results != [args.touches] * args.leads:
        raise RuntimeError("a raw workflow did not make every touch")
    if ledger is not None and ledger.store.count_touches() - recorded != args.leads * args.touches:
        raise RuntimeError("the baseline's ledger did not record every touch once")
    spans, events = await durations(handles)
    return Phase(took, cpu, spans, events)


async def run(args: argparse.Namespace) -> None:
    """Warm both sides up, then alternate measured rounds; print the table."""
    cadence = bench_cadence(args.touches, args.wait, open_country(datetime.now(UTC).date()))
    sides = ["raw", "nurture", VISIBLE]
    sides += [LEDGER] if args.baseline_ledger else []
    sides += [LEDGER_QUEUE] if args.ledger_queue else []
    phases: dict[str, list[Phase]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp:
        settings = Settings(
            task_queue=NURTURE_QUEUE,
            data_dir=Path(tmp),
            templates_dir=ROOT / "templates",
            cadences_dir=ROOT / "cadences",
        )
        store = Store(settings.store_url, upgrade=True)
        touches = TouchActivities(store, settings.templates_dir, settings.cadences_dir)
        ledger = LedgerTouch(
            Store(f"sqlite:///{Path(tmp) / 'baseline-ledger.db'}", upgrade=True),
            settings.templates_dir,
            TEMPLATES,
            make_leads(1, "ledger-", ("bench",))[0][1],
            cadence.sender_fields or {},
        )
        warm = argparse.Namespace(**{**vars(args), "leads": args.warmup})
        async with dev_server() as env:
            client = env.client
            ours = nurture_client(client, args.codec)
            await run_raw(client, "W", warm)
            await run_nurture(ours, settings, touches, cadence, "W", warm)
            await run_raw(client, "W", warm, cadence)
            if args.baseline_ledger or args.ledger_queue:
                await run_raw(client, "W", warm, cadence, ledger, args.ledger_queue)
            for round_ in range(args.rounds):
                for side in sides if round_ % 2 == 0 else reversed(sides):
                    prefix = f"R{round_}-"
                    if side == "nurture":
                        phase = await run_nurture(ours, settings, touches, cadence, prefix, args)
                    else:
                        visible = cadence if side in (VISIBLE, LEDGER, LEDGER_QUEUE) else None
                        baseline = ledger if side in (LEDGER, LEDGER_QUEUE) else None
                        own = side == LEDGER_QUEUE
                        phase = await run_raw(client, prefix, args, visible, baseline, own)
                    phases[side].append(phase)
                    rate = args.leads * args.touches / phase.seconds
                    print(f"round {round_ + 1} {side:>7}: {rate:7.1f} touches/s", flush=True)
        store.close()
        ledger.store.close()
    report(args, phases)


def report(args: argparse.Namespace, phases: dict[str, list[Phase]]) -> None:
    """The table: touches per second (total over rounds), and per-touch overheads."""
    count = args.leads * args.touches * args.rounds
    rate = {side: count / sum(p.seconds for p in ps) for side, ps in phases.items()}
    waits = (args.touches - 1) * args.wait
    step = {
        side: mean([(d - waits) / args.touches for p in ps for d in p.durations]) * 1000
        for side, ps in phases.items()
    }
    wall = (1 / rate["nurture"] - 1 / rate["raw"]) * 1000
    cpu = {side: sum((p.cpu for p in ps), Cpu(0, 0)) for side, ps in phases.items()}
    others = sum(c.others for c in cpu.values()) / sum(
        p.seconds for ps in phases.values() for p in ps
    )
    per_round = {
        side: [args.leads * args.touches / p.seconds for p in ps] for side, ps in phases.items()
    }
    python_ms = {
        side: [p.cpu.python * 1000 / (args.leads * args.touches) for p in ps]
        for side, ps in phases.items()
    }
    print_table(
        f"Touch throughput: {args.leads} leads x {args.touches} touches, "
        f"{args.wait:g}s waits, {args.rounds} rounds, {args.threads} activity threads, "
        f"start concurrency {args.concurrency}, payload codec {'on' if args.codec else 'off'}; "
        "medians of the rounds",
        [
            Row(
                f"touches: touches/s vs {VISIBLE}",
                median(per_round["nurture"]),
                median(per_round[VISIBLE]),
                TARGET,
                paired=median(
                    [n / v for n, v in zip(per_round["nurture"], per_round[VISIBLE], strict=True)]
                ),
            ),
            Row(
                f"touches: Python CPU ms per touch vs {VISIBLE}",
                median(python_ms["nurture"]),
                median(python_ms[VISIBLE]),
                CPU_TARGET,
                at_most=True,
                paired=median(
                    [n / v for n, v in zip(python_ms["nurture"], python_ms[VISIBLE], strict=True)]
                ),
            ),
            Row(
                "  touches/s vs bare raw (info)",
                median(per_round["nurture"]),
                median(per_round["raw"]),
            ),
            Row(
                f"  {VISIBLE} vs bare raw (info)",
                median(per_round[VISIBLE]),
                median(per_round["raw"]),
            ),
            *(ledger_rows(per_round, python_ms, LEDGER) if LEDGER in phases else []),
            *(ledger_rows(per_round, python_ms, LEDGER_QUEUE) if LEDGER_QUEUE in phases else []),
        ],
        [
            "workers: each side's own worker runs alone during its phase (started before the "
            "clock, same settings)",
            f"mean per-touch overhead, throughput: {wall:.2f} ms of wall time per touch "
            f"(1/nurture rate - 1/raw rate)",
            f"mean per-touch overhead, latency: {step['nurture'] - step['raw']:.1f} ms per touch "
            f"(workflow start-to-close minus waits, per touch, queueing included: "
            f"nurture {step['nurture']:.1f} ms, raw {step['raw']:.1f} ms)",
            cpu_note("touch", cpu["nurture"], cpu["raw"], count),
            *(
                [
                    f"CPU per touch, {VISIBLE}: python process "
                    f"{cpu[VISIBLE].python * 1000 / count:.2f} ms, dev server "
                    f"{cpu[VISIBLE].server * 1000 / count:.2f} ms"
                ]
                if VISIBLE in cpu
                else []
            ),
            *(ledger_note(python_ms, side) for side in (LEDGER, LEDGER_QUEUE) if side in phases),
            f"nurture worker: {args.pools} thread pools; sticky schedule-to-start timeouts: "
            f"{sum(p.sticky_timeouts for p in phases['nurture'])}",
            "history events per workflow: "
            + ", ".join(f"{side} {ps[0].history_events}" for side, ps in phases.items()),
            neighbour_note(others),
            environment_line(),
        ],
        bench="touches",
    )


def paired(values: dict[str, list[float]], side: str, baseline: str) -> float:
    """The median of the rounds' own ratios of ``side`` to ``baseline``."""
    return median([a / b for a, b in zip(values[side], values[baseline], strict=True)])


def ledger_rows(
    per_round: dict[str, list[float]], python_ms: dict[str, list[float]], baseline: str
) -> list[Row]:
    """``--baseline-ledger``'s rows (information): nurture against raw + visibility + the work a
    touch must do (render, claim in the ledger), and that work's own cost."""
    rows = []
    for metric, values in (("touches/s", per_round), ("Python CPU ms per touch", python_ms)):
        rows.append(
            Row(
                f"  {metric} vs {baseline} (info)",
                median(values["nurture"]),
                median(values[baseline]),
                paired=paired(values, "nurture", baseline),
            )
        )
        rows.append(
            Row(
                f"  {baseline} {metric} vs {VISIBLE} (info)",
                median(values[baseline]),
                median(values[VISIBLE]),
                paired=paired(values, baseline, VISIBLE),
            )
        )
    return rows


def ledger_note(python_ms: dict[str, list[float]], baseline: str) -> str:
    """How much of nurture's Python CPU beyond raw + visibility the ``baseline`` side's extra
    work (the render and ledger claim; with its own queue, also the lost eager dispatch) is."""
    nurture, visible, ledger = (median(python_ms[s]) for s in ("nurture", VISIBLE, baseline))
    gap, required = nurture - visible, ledger - visible
    share = required / gap if gap > 0 else float("nan")
    return (
        f"Python CPU per touch beyond {VISIBLE}: nurture +{gap:.2f} ms, of which '{baseline}' "
        f"does +{required:.2f} ms ({share:.0%}) and the rest is nurture's own "
        f"({nurture - ledger:+.2f} ms); 1.2x of '{baseline}' would be {1.2 * ledger:.2f} ms"
    )


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200, help="workflows per side and round")
    parser.add_argument("--touches", type=int, default=5, help="touches (emails) per lead")
    parser.add_argument("--wait", type=float, default=1.0, help="seconds between two touches")
    parser.add_argument("--concurrency", type=int, default=64, help="starts in flight")
    parser.add_argument(
        "--threads", type=int, default=ACTIVITY_THREADS, help="activity threads (both sides)"
    )
    parser.add_argument(
        "--pools",
        choices=["shared", "channel"],
        default="shared",
        help="shared: one pool of --threads for every worker (as before); channel: one pool "
        "per channel, sized by NURTURE_WORKER_* like `nurture worker`",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (order alternates)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured leads per side")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="(always on now: raw + the journey's visibility is the baseline)",
    )
    parser.add_argument(
        "--baseline-ledger",
        action="store_true",
        help=f"add the side '{LEDGER}': raw + visibility whose activity renders each touch and "
        "claims it in a send-once ledger as nurture must (bench/ledger_touch.py)",
    )
    parser.add_argument(
        "--ledger-queue",
        action="store_true",
        help=f"add the side '{LEDGER_QUEUE}': '{LEDGER}' with the touches on a task queue of "
        "their own, as nurture's sends run on their channel's queue",
    )
    add_codec_option(
        parser, "encrypt nurture's payloads as the product does (default on; off: its cost)"
    )
    asyncio.run(run(parser.parse_args()))
    exit_now()


if __name__ == "__main__":
    main()
