"""Sleeping leads: one worker's memory while more and more journeys wait on a timer.

Run from the repository root: ``.venv/bin/python -m bench.sleeping [--leads 10000 --step 2000]``.

Leads are enrolled in steps on a cadence that waits 30 days before its first touch, on one
worker (``build_worker``, the product's settings, its workflow cache as configured); after each
step the benchmark waits until every journey has run its first workflow task (it is asleep on
its timer), collects garbage and reads this process's resident memory (client + worker; the dev
server runs apart). Memory must stay flat once the workflow cache is full: sleeping journeys are
evicted and cost the worker nothing. A run at 100,000 takes about 20 minutes of enrolment on 2
cores; the default runs 10,000 and extrapolates linearly from the slope over the second half of
the steps (printed as such).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.touches import TouchActivities
from bench.harness import (
    ROOT,
    Row,
    add_codec_option,
    dev_server,
    environment_line,
    exit_now,
    make_leads,
    nurture_client,
    print_table,
)
from bench.touches import DAYS, open_country
from nurture.cadence.model import Cadence, parse_cadence
from nurture.leads.enrollment import enroll_many
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from worker import ACTIVITY_THREADS, build_worker

QUEUE = "bench-sleeping"
#: Extrapolated resident memory at --target-leads against the memory once the cache is full.
TARGET = 1.5


def sleeping_cadence(country: str) -> Cadence:
    """A 30-day wait, then one email: every journey sleeps on its timer."""
    hours = ", ".join(f'{day}: "00:00-24:00"' for day in DAYS)
    text = f"""name: bench-sleeping
version: 1
audience: {{segments: [bench]}}
sender: {{name: Riley Chen, email: riley.chen@tessellate.example}}
calendar:
  timezone: UTC
  country: {country}
  business_hours: {{{hours}}}
  jitter_minutes: 0
cycles: {{count: 1}}
steps:
  - wait: {{days: 30}}
  - id: hello
    email: {{template: standard-intro}}
"""
    return parse_cadence(text, "bench-sleeping.yaml")


def rss_mb() -> float:
    """This process's resident memory, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def asleep(client: Client, lead_id: str) -> bool:
    """Whether the journey has started its timer (its first workflow task ran)."""
    history = await journey_handle(client, lead_id).fetch_history()
    return any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events)


async def run(args: argparse.Namespace) -> None:
    """Enrol in steps, measure memory after each; print the table."""
    cadence = sleeping_cadence(open_country(datetime.now(UTC).date()))
    points: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="nurture-bench-sleep-") as tmp:
        settings = Settings(
            task_queue=QUEUE,
            data_dir=Path(tmp),
            templates_dir=ROOT / "templates",
            cadences_dir=ROOT / "cadences",
        )
        store = Store(settings.store_url, upgrade=True)
        touches = TouchActivities(store, settings.templates_dir, settings.cadences_dir)
        async with dev_server() as env:
            ours = nurture_client(env.client, args.codec)
            with ThreadPoolExecutor(args.threads) as executor:
                async with build_worker(ours, settings, executor, touches):
                    gc.collect()
                    points.append((0, rss_mb()))
                    enrolled = 0
                    began = time.perf_counter()
                    while enrolled < args.leads:
                        size = min(args.step, args.leads - enrolled)
                        leads = make_leads(size, f"S{enrolled:06d}-", ("bench",))
                        report = await enroll_many(
                            ours, leads, [cadence], QUEUE, concurrency=args.concurrency
                        )
                        if len(report.started) != size:
                            raise RuntimeError("not every journey started")
                        enrolled += size
                        last = leads[-1][1].id
                        while not await asleep(ours, last):
                            await asyncio.sleep(0.5)
                        await asyncio.sleep(2)  # the step's stragglers
                        gc.collect()
                        points.append((enrolled, rss_mb()))
                        print(
                            f"{enrolled:>7,} sleeping: {points[-1][1]:7.1f} MB "
                            f"({time.perf_counter() - began:5.0f} s)",
                            flush=True,
                        )
        store.close()
    half = points[len(points) // 2 :]
    (n0, m0), (n1, m1) = half[0], half[-1]
    slope = (m1 - m0) / (n1 - n0) * 1000 if n1 > n0 else 0.0  # MB per 1,000 leads
    # A falling slope (noise, a collection) is not memory given back for more leads: flat.
    extrapolated = m1 + max(slope, 0.0) * (args.target_leads - n1) / 1000
    print_table(
        f"Sleeping leads: {args.leads:,} journeys asleep on one worker in steps of {args.step:,} "
        f"(payload codec {'on' if args.codec else 'off'}); memory extrapolated to "
        f"{args.target_leads:,} from the slope over the second half",
        [
            Row(
                f"sleeping: RSS MB at {args.target_leads:,} (extrapolated) vs at {n0:,}",
                extrapolated,
                m0,
                TARGET,
                at_most=True,
            )
        ],
        [
            "resident memory by journeys asleep: "
            + ", ".join(f"{n:,}: {m:.0f} MB" for n, m in points),
            f"slope over the second half: {slope:.2f} MB per 1,000 sleeping journeys",
            "the worker's workflow cache holds the SDK's default number of journeys "
            "(max_cached_workflows); evicted journeys are replayed when their timer fires",
            environment_line(),
        ],
        bench="sleeping",
    )


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000, help="journeys put to sleep")
    parser.add_argument("--step", type=int, default=2_000, help="journeys per step")
    parser.add_argument("--target-leads", type=int, default=100_000, help="extrapolate to")
    parser.add_argument("--concurrency", type=int, default=64, help="starts in flight")
    parser.add_argument("--threads", type=int, default=ACTIVITY_THREADS, help="activity threads")
    add_codec_option(parser, "encrypt payloads as the product does (default on)")
    asyncio.run(run(parser.parse_args()))
    exit_now()


if __name__ == "__main__":
    main()
