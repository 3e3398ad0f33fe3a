"""Enrolment rate: ``enroll_many`` of real leads vs plain ``start_workflow`` of a trivial workflow.

Run from the repository root: ``.venv/bin/python -m bench.enrollment [--leads 2000]``.

No worker polls either task queue while this runs: both sides measure the start path only
(client-side work, the StartWorkflowExecution round trip, the server's persistence and
visibility writes). The leads go in blocks whose order alternates (raw, nurture, nurture,
raw, ...), so a server that slows down as it fills up, or a busy neighbour, costs both alike.
``--breakdown`` adds raw variants that each carry one thing ``enroll`` sends (the journey
input, the search attributes, the static summary) to show what the gap is made of, and one with
all the visibility DESIGN.md asks of a start (search attributes + static summary).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/enrollment.py`

from temporalio.client import Client

from bench.harness import (
    Cpu,
    Row,
    add_codec_option,
    cpu_note,
    dev_server,
    environment_line,
    exit_now,
    gather_limited,
    make_leads,
    median,
    neighbour_note,
    nurture_client,
    print_table,
)
from bench.raw import TrivialWorkflow
from nurture.cadence.model import Cadence, cadence_files, find_cadence, load_cadence
from nurture.journey.state import JourneyInput
from nurture.lead import Lead
from nurture.leads.enrollment import enroll_many, new_journey, route
from nurture.settings import Settings
from nurture.temporal import visibility

NURTURE_QUEUE = "bench-enrol-nurture"
RAW_QUEUE = "bench-enrol-raw"
#: Segments given to leads round-robin when no --cadence is named: routing picks standard,
#: strategic, and the default cadence (standard) for an empty segment.
SEGMENTS = ("standard", "strategic", "")
#: nurture's starts per second against raw starts that carry the visibility a journey must
#: (search attributes + static summary): the median of the blocks' ratios.
TARGET = 0.95
#: --breakdown: raw starts plus one ingredient of ``enroll`` each.
VARIANTS = {
    "raw + journey input": "input",
    "raw + search attributes": "search_attributes",
    "raw + static summary": "summary",
    "raw + search attributes + static summary": "visibility",
}
VISIBLE = "raw + search attributes + static summary"

Block = Callable[[list[tuple[int, Lead]]], Awaitable[None]]


def nurture_block(
    client: Client, cadences: list[Cadence], forced: Cadence | None, concurrency: int
) -> Block:
    """Enrol a block of leads with ``enroll_many``."""

    async def block(leads: list[tuple[int, Lead]]) -> None:
        report = await enroll_many(
            client, leads, cadences, NURTURE_QUEUE, cadence=forced, concurrency=concurrency
        )
        if len(report.started) != len(leads):
            raise RuntimeError(
                f"enrolled {len(report.started)} of {len(leads)} "
                f"({len(report.already_enrolled)} already, rejected: {report.rejected[:3]})"
            )

    return block


def raw_block(
    client: Client,
    cadences: list[Cadence],
    forced: Cadence | None,
    concurrency: int,
    extra: str | None = None,
) -> Block:
    """Start a block of trivial workflows (argument: the lead id), optionally with one extra."""

    async def one(lead: Lead) -> None:
        arg: Any = lead.id
        options: dict[str, Any] = {}
        if extra is not None:
            cadence = forced or route(lead, cadences)
            journey = new_journey(lead, cadence, datetime.now(UTC))
            if extra == "input":
                arg = JourneyInput(journey=journey)
            if extra in ("search_attributes", "visibility"):
                options["search_attributes"] = visibility.typed(visibility.journey_values(journey))
            if extra in ("summary", "visibility"):
                options["static_summary"] = f"Lead {lead.id} · {cadence.name} v{cadence.version}"
        await client.start_workflow(
            TrivialWorkflow.run,
            arg,
            id=f"raw-{extra or 'plain'}-{lead.id}",
            task_queue=RAW_QUEUE,
            **options,
        )

    async def block(leads: list[tuple[int, Lead]]) -> None:
        await gather_limited(lambda i: one(leads[i][1]), len(leads), concurrency)

    return block


async def client_side_cost(
    client: Client, leads: list[tuple[int, Lead]], cadences: list[Cadence], forced: Cadence | None
) -> tuple[float, float]:
    """Mean ms per lead of routing + ``new_journey`` + encoding the input (and the codec, if the
    client has one), and its mean bytes as the server stores them."""
    converter = client.data_converter
    began = time.perf_counter()
    size = 0
    for _, lead in leads:
        journey = new_journey(lead, forced or route(lead, cadences), datetime.now(UTC))
        size += len((await converter.encode([JourneyInput(journey=journey)]))[0].data)
    return (time.perf_counter() - began) * 1000 / len(leads), size / len(leads)


async def run(args: argparse.Namespace) -> None:
    """Warm up, then run the blocks in alternating order; print the table."""
    settings = Settings()
    cadences = [load_cadence(p) for p in cadence_files(settings.cadences_dir)]
    forced = find_cadence(settings.cadences_dir, args.cadence) if args.cadence else None
    segments = ("",) if forced else SEGMENTS
    sizes = [min(args.block, args.leads - start) for start in range(0, args.leads, args.block)]
    async with dev_server() as env:
        client = env.client
        ours = nurture_client(client, args.codec)
        sides: dict[str, Block] = {
            "raw": raw_block(client, cadences, forced, args.concurrency),
            "nurture": nurture_block(ours, cadences, forced, args.concurrency),
        }
        for name, extra in VARIANTS.items():
            if args.breakdown or name == VISIBLE:  # the baseline of the target
                sides[name] = raw_block(client, cadences, forced, args.concurrency, extra)
        seconds = dict.fromkeys(sides, 0.0)
        cpu = dict.fromkeys(sides, Cpu(0, 0))
        rates: dict[str, list[float]] = {name: [] for name in sides}
        for block in sides.values():
            await block(make_leads(args.warmup, "W-", segments))
        for number, size in enumerate(sizes):
            leads = make_leads(size, f"B{number}-", segments)
            for name in list(sides) if number % 2 == 0 else reversed(sides):
                before, began = Cpu.now(), time.perf_counter()
                await sides[name](leads)
                took = time.perf_counter() - began
                seconds[name] += took
                cpu[name] += Cpu.now() - before
                rates[name].append(size / took)
        per_lead_ms, payload = await client_side_cost(ours, leads, cadences, forced)
    rate = {name: args.leads / s for name, s in seconds.items()}
    paired = median([n / v for n, v in zip(rates["nurture"], rates[VISIBLE], strict=True)])
    rows = [
        Row(
            "enrolment: starts/s vs raw + visibility",
            median(rates["nurture"]),
            median(rates[VISIBLE]),
            TARGET,
            paired=paired,
        ),
        Row("  nurture vs bare raw (info)", median(rates["nurture"]), median(rates["raw"])),
    ]
    rows += [
        Row(f"  {name} vs bare raw (info)", median(rates[name]), median(rates["raw"]))
        for name in VARIANTS
        if name in rate
    ]
    others = sum((c.others for c in cpu.values()), 0.0) / sum(seconds.values())
    print_table(
        f"Enrolment: {args.leads} leads per side in {len(sizes)} blocks of {args.block} "
        f"(order alternates), concurrency {args.concurrency}, "
        f"cadence {args.cadence or 'routed by segment (standard/strategic)'}, "
        f"payload codec {'on' if args.codec else 'off'}; medians of the blocks",
        rows,
        [
            "workers: none poll either task queue, so both sides measure the start path only",
            "starts/s per block: "
            + ", ".join(f"{n} {min(r):.0f}-{max(r):.0f}" for n, r in rates.items() if n in rate),
            f"mean start latency: nurture {args.concurrency * 1000 / rate['nurture']:.1f} ms, "
            f"raw {args.concurrency * 1000 / rate['raw']:.1f} ms",
            cpu_note("start", cpu["nurture"], cpu["raw"], args.leads),
            f"nurture client-side work per lead (route + new_journey + encode"
            f"{' + compress + encrypt' if args.codec else ''}): "
            f"{per_lead_ms:.2f} ms; input {payload:,.0f} B as stored (raw: the lead id)",
            neighbour_note(others),
            environment_line(),
        ],
        bench="enrollment",
    )


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000, help="leads enrolled per side")
    parser.add_argument("--concurrency", type=int, default=64, help="starts in flight")
    parser.add_argument(
        "--block", type=int, default=250, help="leads per block; the side order alternates"
    )
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured starts per side")
    parser.add_argument("--cadence", help="enrol everyone into this cadence (default: route)")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time raw starts + each part of enroll"
    )
    add_codec_option(
        parser, "encrypt nurture's payloads as the product does (default on; off: its cost)"
    )
    asyncio.run(run(parser.parse_args()))
    exit_now()


if __name__ == "__main__":
    main()
