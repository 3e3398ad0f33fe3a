"""Metrics end to end: a worker process with ``NURTURE_WORKER_METRICS_PORT`` runs a journey on a
dev server and its port serves the SDK's metrics and nurture's; every query of the Grafana
dashboard (deploy/grafana) names a metric that exists; JSON logs carry no personal data."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from nurture.leads.enrollment import enroll_many
from nurture.metrics import PRODUCT_METRICS, SDK_COUNTERS
from nurture.temporal.calls import journey_handle
from nurture.temporal.telemetry import free_loopback_port
from tests.conftest import (
    FIXTURE_CADENCES,
    FIXTURE_TEMPLATES,
    ROOT,
    TEST_CODEC_KEYS,
    dev_server,
    fixture_cadence,
    make_lead,
)

pytestmark = pytest.mark.devserver

DASHBOARD = ROOT / "deploy" / "grafana" / "nurture.json"
#: SDK metrics that appear only once their event happened (a failed workflow task, a failed
#: activity): named as the SDK documents them (docs.temporal.io, "SDK metrics").
SDK_ON_EVENT = frozenset(
    {"temporal_workflow_task_execution_failed_total", "temporal_activity_execution_failed_total"}
)
METRIC_NAME = re.compile(r"\b(?:nurture|temporal)_[a-z0-9_]+\b")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server() as environment:
        yield environment


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode())


def sample_names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


async def test_the_worker_serves_sdk_and_product_metrics_and_the_dashboard_names_them(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    port = free_loopback_port()
    queue = "metrics-test"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        NURTURE_TEMPORAL_NAMESPACE=dev_env.client.namespace,
        NURTURE_TASK_QUEUE=queue,
        NURTURE_DATA_DIR=str(tmp_path),
        NURTURE_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",  # never migrated:
        NURTURE_DB_UPGRADE="true",  # the worker migrates it at start
        NURTURE_TEMPLATES_DIR=str(FIXTURE_TEMPLATES),
        NURTURE_CADENCES_DIR=str(FIXTURE_CADENCES),
        NURTURE_WORKER_METRICS_PORT=str(port),
        NURTURE_WORKER_METRICS_HOST="127.0.0.1",
        NURTURE_LOG_FORMAT="json",
        NURTURE_CODEC_KEYS=TEST_CODEC_KEYS,  # the test's client encrypts with it
    )
    log = tmp_path / "worker.log"
    lead = make_lead("M1", segment="quick", email="dana.secret@example.com")
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        report = await enroll_many(dev_env.client, [(1, lead)], [fixture_cadence("quick")], queue)
        assert len(report.started) == 1, log.read_text()
        await asyncio.wait_for(journey_handle(dev_env.client, lead.id).result(), 120)
        deadline = time.monotonic() + 30
        while True:  # the SDK exports on its own schedule
            names = sample_names(scrape(port))
            if "temporal_workflow_completed_total" in names or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert "temporal_workflow_completed_total" in names, sorted(names)
    assert "nurture_touches_total" in names
    assert "temporal_activity_execution_latency_seconds_bucket" in names

    exists = names | PRODUCT_METRICS | {f"{name}_total" for name in SDK_COUNTERS} | SDK_ON_EVENT
    queries = dashboard_queries()
    assert len(queries) >= 15
    for query in queries:
        named = set(METRIC_NAME.findall(query))
        assert named, f"no metric in {query!r}"
        assert named <= exists, f"{query!r} names {sorted(named - exists)}: no such metric"

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    for line in lines:  # every line is a JSON object
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry)
    assert "dana.secret" not in log.read_text()
