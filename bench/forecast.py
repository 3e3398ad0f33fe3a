"""How fast `nurture forecast` runs leads through the engine, against the real workflow on the
time-skipping server (the other way to "fast-forward" a cadence).

    .venv/bin/python -m bench.forecast   # --leads 2000 --months 12 --workers 2 --ts-leads 4

Measurements on the sample cadences, each lead 12 months (or until it ends), with the
default response model (cadences/_response.yaml):

- *one core*: ``run_forecast(workers=1)``: leads per second and per CPU-second;
- *every core*: ``run_forecast(workers=N)`` forked processes, wall clock; and the projection to
  100,000 leads;
- *the target*: ``make bench`` records the projected seconds for 100,000 leads against 60 s.
- *time-skipping*: the same kind of leads as real ``LeadJourney`` workflows (worker, activities,
  SQLite outbox) on the Java time-skipping test server, one lead at a time as it requires, silent
  (no events), to their end; its leads per second and the forecast's ratio to it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Row, environment_line, record
from nurture.leads.enrollment import load_rules, new_journey
from nurture.planning import forecast as fc
from nurture.planning.costs import COSTS_FILE, load_costs, load_desk
from nurture.planning.preview import load_cadences
from nurture.planning.response import RESPONSE_FILE, load_response
from nurture.settings import ROOT

CADENCES = ROOT / "cadences"
TARGET_LEADS, TARGET_SECONDS = 100_000, 60.0


def plan(months: int, start: datetime) -> fc.Plan:
    return fc.Plan(
        cadences=load_cadences(CADENCES),
        rules=load_rules(CADENCES),
        response=load_response(CADENCES / RESPONSE_FILE),
        costs=load_costs(CADENCES / COSTS_FILE),
        desk=load_desk(CADENCES),
        start=start,
        months=months,
    )


def measure(p: fc.Plan, leads: fc.SyntheticLeads, workers: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process and its children, touches)."""
    before = os.times()
    began = time.perf_counter()
    tally = fc.run_forecast(p, leads, workers=workers)
    wall = time.perf_counter() - began
    after = os.times()
    cpu = sum(after[:4]) - sum(before[:4])
    return wall, cpu, sum(tally.touches.values())


async def time_skipping_rate(count: int, mix: dict[str, float]) -> tuple[float, int]:
    """Leads per second of real workflows on the time-skipping server (one at a time)."""
    from temporalio.testing import WorkflowEnvironment

    from nurture.journey.state import JourneyInput
    from nurture.settings import Settings
    from nurture.store import Store
    from nurture.temporal.codec import data_converter
    from nurture.temporal.ids import workflow_id
    from tests.conftest import running_worker
    from tests.support.timeskipping import register_search_attributes, time_skipping_server
    from workflows.lead import LeadJourneyWorkflow

    leads = fc.SyntheticLeads(count, mix)
    p = plan(12, datetime.now(UTC))
    touches = 0
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/outbox.db", upgrade=True)
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=time_skipping_server(),
            data_converter=data_converter(Settings()),
        ) as env:
            await register_search_attributes(env.client)
            async with running_worker(
                env.client, store, cadences=CADENCES, templates=ROOT / "templates"
            ) as settings:
                began = time.perf_counter()
                for n in range(count):
                    lead = leads[n]
                    now = await env.get_current_time()
                    journey = new_journey(lead, p.cadence_for(lead), now, p.rules)
                    result = await env.client.execute_workflow(
                        LeadJourneyWorkflow.run,
                        JourneyInput(journey=journey),
                        id=workflow_id(lead.id),
                        task_queue=settings.task_queue,
                    )
                    touches += result.touches_sent
                took = time.perf_counter() - began
        store.close()
    return count / took, touches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--mix", default="strategic=0.3,standard=0.7")
    parser.add_argument("--workers", type=int, default=fc.default_workers())
    parser.add_argument("--ts-leads", type=int, default=4, help="time-skipping leads (0: skip)")
    args = parser.parse_args()
    mix = fc.parse_mix([args.mix])
    leads = fc.SyntheticLeads(args.leads, mix)
    p = plan(args.months, datetime(2026, 3, 2, 14, tzinfo=UTC))
    print(environment_line())
    print(f"{args.leads:,} leads ({args.mix}), {args.months} months, sample cadences")

    wall1, cpu1, touches = measure(p, leads, 1)
    print(
        f"one core:    {args.leads / wall1:7.1f} leads/s  {args.leads / cpu1:7.1f} leads/CPU-s"
        f"  {touches / cpu1:8.0f} touches/CPU-s  ({touches:,} touches, {wall1:.1f} s)"
    )
    walln, cpun, _ = measure(p, leads, args.workers)
    rate = args.leads / walln
    print(
        f"{args.workers} workers:   {rate:7.1f} leads/s  {args.leads / cpun:7.1f} leads/CPU-s"
        f"  (wall {walln:.1f} s, CPU {cpun:.1f} s)"
    )
    projected = TARGET_LEADS / rate
    idle = TARGET_LEADS / (args.workers * args.leads / cpun)
    met = "met" if min(projected, idle) <= TARGET_SECONDS else "NOT met"
    print(
        f"projection: {TARGET_LEADS:,} leads x {args.months} months in {projected:.0f} s at this"
        f" wall rate; {idle:.0f} s on {args.workers} idle cores (from CPU per lead);"
        f" target {TARGET_SECONDS:.0f} s: {met}"
    )
    if cpun < 0.8 * walln * args.workers:
        print(f"WARNING: busy machine: {cpun:.0f} CPU-s in {walln:.0f} s on {args.workers} workers")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    # The summary's row: the projected seconds against the target (at most 1x). On a busy machine
    # the wall clock measures the neighbours, so the idle-core projection counts when it is lower.
    record(
        "forecast",
        [
            Row(
                f"s for {TARGET_LEADS:,} leads x {args.months} months",
                min(projected, idle),
                TARGET_SECONDS,
                target=1.0,
                at_most=True,
            )
        ],
    )
    if args.ts_leads:
        ts_rate, ts_touches = asyncio.run(time_skipping_rate(args.ts_leads, mix))
        print(
            f"time-skipping server: {ts_rate:.2f} leads/s ({args.ts_leads} real workflows one"
            f" at a time, {ts_touches} touches); forecast is {rate / ts_rate:,.0f}x faster"
        )


if __name__ == "__main__":
    main()
