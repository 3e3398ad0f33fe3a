"""A few hundred simulated-and-run leads, reconciled: each lead runs the quick cadence on a dev
server with random engagement, declines, acceptances, opportunities, wins and losses; then every
report figure the reconciliation test checks is compared with the journeys' own ``journey``
query, and the funnel and cost per opportunity are printed.

    .venv/bin/python -m bench.reconcile [--leads 300] [--seed 13] [--concurrency 32]

The same checks as tests/journeylog/test_reconciliation.py (which runs a reduced size).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nurture.store import Store
from tests.conftest import dev_server, running_worker  # sets the test codec keys
from tests.journeylog.reconcile import reconcile


async def main_async(leads: int, seed: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'reconcile.db'}", upgrade=True)
        async with dev_server() as env, running_worker(env.client, store, threads=16) as settings:
            run = await reconcile(
                env.client, settings, store, leads, seed=seed, concurrency=concurrency, timeout=180
            )
        store.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{run.leads} leads run and settled in {run.seconds:.0f} s (load {load})")
    print("reports = journeys: funnel, steps sent, won/lost, cost and opportunities agree")
    enrolled = run.funnel["enrolled"]
    previous = enrolled
    for stage, count in run.funnel.items():
        share = f"{100 * count / previous:5.1f}% of previous" if previous else ""
        print(f"  {stage:12} {count:5}  {share}  {100 * count / enrolled:5.1f}% of enrolled")
        previous = count
    m = run.money
    print(
        f"cost {m['cost']} over {m['touches']} touches: per touch {m['per touch']}, "
        f"per sales-ready {m['per sales-ready']}, per accepted {m['per accepted']}, "
        f"per opportunity {m['per opportunity']}, per won {m['per won']} "
        f"(won {m['won']}, amount {m['won amount']})"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    return asyncio.run(main_async(args.leads, args.seed, args.concurrency))


if __name__ == "__main__":
    raise SystemExit(main())
