"""The web app's operations endpoints: ``/metrics`` behind its token (the product's metrics,
read from the store and Temporal at each scrape), ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from nurture.app import create_app
from nurture.events import EventKind
from nurture.inbox.store import Inbox, InboxItem
from nurture.metrics import PRODUCT_METRICS
from nurture.roster.reps import Rep, RepDirectory
from nurture.settings import Settings
from nurture.store import Store
from tests.conftest import dev_server

TOKEN = "scrape-me"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def closed_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server() as environment:
        yield environment


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_need_the_token(tmp_path: Path, store: Store) -> None:
    off = create_app(Settings(data_dir=tmp_path, temporal_address=closed_address()), store)
    with TestClient(off) as client:
        assert client.get("/metrics").status_code == 404
    settings = Settings(data_dir=tmp_path, temporal_address=closed_address(), metrics_token=TOKEN)
    with TestClient(create_app(settings, store)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/healthz").json() == {"ok": True}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["store"] == "ok"
        assert ready.json()["temporal"].startswith("unreachable")
        # Temporal down: the store's gauges still answer.
        answer = client.get("/metrics", headers=AUTH)
        assert answer.status_code == 200
        assert samples(answer.text)[("nurture_inbox_pending", ())] == 0


async def test_metrics_read_the_inbox_the_desk_and_the_webhooks(
    dev_env: WorkflowEnvironment, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    RepDirectory(store).add(Rep(username="ann", name="Ann", queue="sdr"))
    received = datetime(2026, 1, 1, tzinfo=UTC)
    item = InboxItem(
        event_id="e1",
        provider="test",
        raw_kind="open",
        at=received,
        kind=EventKind.email_open,
        lead_id="L1",
    )
    Inbox(store).accept([item])
    settings = Settings(
        data_dir=tmp_path,
        temporal_address=dev_env.client.service_client.config.target_host,
        metrics_token=TOKEN,
    )
    app = create_app(settings, store, client=dev_env.client)
    monkeypatch.setattr(app.state.delivery_loop, "start", lambda: None)  # the event stays pending
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"ready": True, "store": "ok", "temporal": "ok"}
        refused = client.post("/webhooks/sendgrid", content=b"[]")
        assert refused.status_code == 503  # no verification key set
        text = client.get("/metrics", headers=AUTH).text
    got = samples(text)
    assert got[("nurture_inbox_pending", ())] == 1
    assert got[("nurture_inbox_oldest_pending_seconds", ())] > 0
    assert got[("nurture_call_tasks_open", (("queue", "sdr"),))] == 0
    assert got[("nurture_call_tasks_overdue", (("queue", "sdr"),))] == 0
    assert got[("nurture_handoffs_waiting", ())] == 0
    refusal = (("outcome", "refused"), ("reason", "not_configured"), ("source", "sendgrid"))
    assert got[("nurture_webhooks_total", refusal)] >= 1
    exposed = {name for name, _ in got}
    declared = {name for name in PRODUCT_METRICS if not name.endswith(("_bucket", "_sum"))}
    assert declared - exposed <= {
        "nurture_touches_total",  # counted by the worker process
        "nurture_provider_request_seconds_count",
        "nurture_provider_errors_total",
        "nurture_webhook_events_total",  # no request accepted here
    }
