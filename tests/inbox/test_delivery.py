"""The inbox delivers to real journeys on a dev server, and keeps events while Temporal is down."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from nurture.inbox.cli import _deliver
from nurture.inbox.store import Inbox, InboxRecord
from nurture.leads.enrollment import enroll
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from tests.conftest import fixture_cadence, make_lead
from tests.web.staff import add_staff, log_in_async
from workflows.lead import LeadJourneyWorkflow

TOKEN = "integration-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_settings(tmp_path: Path, address: str) -> Settings:
    return Settings(data_dir=tmp_path, temporal_address=address, events_token=TOKEN)


@asynccontextmanager
async def running_app(settings: Settings, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    """The web app with its lifespan (so the delivery loop runs), in this event loop."""
    from nurture.app import create_app

    app = create_app(settings=settings, store=store)
    app.state.delivery_loop.interval = 0.2
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def event(event_id: str, lead_id: str, kind: str = "email.open", **over: Any) -> dict[str, Any]:
    values = {"id": event_id, "kind": kind, "lead_id": lead_id, "at": "2026-03-02T15:00:00Z"}
    values.update(over)
    return values


async def wait_for_status(inbox: Inbox, event_id: str, status: str) -> InboxRecord:
    row = None
    for _ in range(100):
        row = inbox.get(event_id)
        if row is not None and row.status == status:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"{event_id} is {row.status if row else 'missing'}, not {status}")


async def journey_events(env: WorkflowEnvironment, lead_id: str, expected: int) -> list[str]:
    texts: list[str] = []
    for _ in range(100):
        entries = await journey_handle(env.client, lead_id).query(LeadJourneyWorkflow.journey)
        texts = [e.text for e in entries if e.kind == "event"]
        if len(texts) >= expected:
            break
        await asyncio.sleep(0.1)
    return texts


def target(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def test_pending_while_temporal_is_down_then_delivered(
    dev_env: WorkflowEnvironment, dev_worker: Settings, store: Store, tmp_path: Path
) -> None:
    lead = make_lead("INBOX1")
    assert await enroll(dev_env.client, lead, fixture_cadence("drip"), dev_worker.task_queue)
    touch = "INBOX1:drip:v1:e1:c1:hello"
    inbox = Inbox(store)

    down = app_settings(tmp_path, f"127.0.0.1:{closed_port()}")
    async with running_app(down, store) as client:
        r = await client.post(
            "/events", json=event("open-1", "INBOX1", touch_id=touch), headers=AUTH
        )
        assert r.status_code == 202
        again = await client.post(
            "/events", json=event("open-1", "INBOX1", touch_id=touch), headers=AUTH
        )
        assert again.json()["duplicates"] == 1
        await asyncio.sleep(0.5)  # a few loop passes against the closed port
        row = inbox.get("open-1")
        assert row is not None and row.status == "pending" and row.attempts >= 1
        assert "unreachable" in (row.last_error or "")

    async with running_app(app_settings(tmp_path, target(dev_env)), store):
        row = await wait_for_status(inbox, "open-1", "delivered")
        assert row.delivered_at is not None

    texts = await journey_events(dev_env, "INBOX1", 1)
    assert texts == ["Event email.open"]
    state = await journey_handle(dev_env.client, "INBOX1").query(LeadJourneyWorkflow.state)
    assert "open-1" in state.seen_events
    assert state.stage.value == "engaged"


async def test_delivered_at_once_and_unknown_leads_recorded(
    dev_env: WorkflowEnvironment, dev_worker: Settings, store: Store, tmp_path: Path
) -> None:
    lead = make_lead("INBOX2")
    assert await enroll(dev_env.client, lead, fixture_cadence("drip"), dev_worker.task_queue)
    quick = make_lead("INBOX3", segment="quick")
    assert await enroll(dev_env.client, quick, fixture_cadence("quick"), dev_worker.task_queue)
    await journey_handle(dev_env.client, "INBOX3").result()  # a finished journey
    inbox = Inbox(store)

    async with running_app(app_settings(tmp_path, target(dev_env)), store) as client:
        batch = [
            event("click-2", "INBOX2", "email.click", data={"url": "https://acme.example/roi"}),
            event("nobody-1", "NOBODY"),
            event("closed-1", "INBOX3"),
        ]
        assert (await client.post("/events", json=batch, headers=AUTH)).status_code == 202
        delivered = await wait_for_status(inbox, "click-2", "delivered")
        assert delivered.attempts == 1
        nobody = await wait_for_status(inbox, "nobody-1", "unknown_lead")
        assert "lead-NOBODY" in (nobody.last_error or "")
        closed = await wait_for_status(inbox, "closed-1", "unknown_lead")
        assert "completed" in (closed.last_error or "")
        add_staff(store, "ada.admin", "admin")
        await log_in_async(client, "ada.admin")
        page = (await client.get("/inbox", params={"status": "unknown_lead"})).text
        assert "nobody-1" in page and "closed-1" in page and "click-2" not in page

    texts = await journey_events(dev_env, "INBOX2", 1)
    assert texts == ["Event email.click · https://acme.example/roi"]


async def test_cli_delivers_pending_and_retries_unknown(
    dev_env: WorkflowEnvironment, dev_worker: Settings, store: Store, tmp_path: Path
) -> None:
    inbox = Inbox(store)
    down = app_settings(tmp_path, f"127.0.0.1:{closed_port()}")
    async with running_app(down, store) as client:
        r = await client.post("/events", json=event("late-1", "INBOX4", "web.visit"), headers=AUTH)
        assert r.status_code == 202
    assert inbox.get("late-1").status == "pending"  # type: ignore[union-attr]

    live = Settings(
        database_url=store.url, temporal_address=target(dev_env), data_dir=tmp_path / "cli"
    )
    assert await _deliver(live, retry_unknown=False) == 0
    assert inbox.get("late-1").status == "unknown_lead"  # type: ignore[union-attr]

    lead = make_lead("INBOX4")  # enrolled after its first web visit arrived
    assert await enroll(dev_env.client, lead, fixture_cadence("drip"), dev_worker.task_queue)
    assert await _deliver(live, retry_unknown=True) == 0
    assert inbox.get("late-1").status == "delivered"  # type: ignore[union-attr]
    assert await journey_events(dev_env, "INBOX4", 1) == ["Event web.visit"]
