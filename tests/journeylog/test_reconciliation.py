"""Reconciliation: after a dev-server run of leads with random engagement, declines, wins and
losses, the reports say what the journeys themselves say (their ``journey`` query).

``make test`` runs a reduced size (``NURTURE_RECONCILE_LEADS``, default 30); bench/reconcile.py
runs a few hundred with the same checks.
"""

from __future__ import annotations

import os

from temporalio.testing import WorkflowEnvironment

from nurture.settings import Settings
from nurture.store import Store
from tests.journeylog.reconcile import reconcile

LEADS = int(os.environ.get("NURTURE_RECONCILE_LEADS", "30"))


async def test_reports_match_the_journeys(
    dev_env: WorkflowEnvironment, dev_worker: Settings, store: Store
) -> None:
    run = await reconcile(dev_env.client, dev_worker, store, LEADS)
    t = run.truth
    assert t["won"] and t["lost"] and t["sales-ready"] > t["accepted"]
    print(f"\nfunnel: {run.funnel}\ncost per opportunity: {run.money['per opportunity']}")
