"""NURTURE_WEBHOOK_PORT: the signed webhooks and /events on a listener of their own, which serves
nothing else; the staff pages stay on the web port (that need not face the internet)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nurture import listeners
from nurture.app import create_app
from nurture.inbox.store import Inbox
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.telemetry import free_loopback_port
from tests.inbox.test_webhooks import closed_port, form_event
from tests.web.test_every_route import OPEN, all_routes

TOKEN = "events-token"


def settings_for(tmp_path: Path, **over: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "temporal_address": f"127.0.0.1:{closed_port()}",  # events stay pending here
        "session_secret": "s" * 40,
        "events_token": TOKEN,
    }
    values.update(over)
    return Settings(**values)  # type: ignore[arg-type]  # the values' types vary by field


@pytest.fixture
def staff(tmp_path: Path) -> FastAPI:
    store = Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    return create_app(settings_for(tmp_path, webhook_port=closed_port()), store)


def test_the_webhook_listener_serves_only_the_signed_endpoints(staff: FastAPI) -> None:
    hooks = listeners.webhook_app(staff)
    paths = [path for path, _, _ in all_routes(hooks)]
    assert "/events" in paths and "/webhooks/sendgrid" in paths
    for path in paths:
        assert any(pattern.match(path) for pattern in OPEN), f"{path} is on the webhook port"
    with TestClient(hooks) as client:
        for url in ("/outbox", "/api/outbox", "/inbox", "/desk/login", "/docs", "/openapi.json"):
            assert client.get(url).status_code == 404, url
        assert client.post("/codec/decode", json={"payloads": []}).status_code == 404
        assert client.get("/static/style.css").status_code == 404
        assert client.get("/healthz").json() == {"ok": True}
        auth = {"Authorization": f"Bearer {TOKEN}"}
        answer = client.post("/events", json=form_event("hook-1"), headers=auth)
        assert answer.status_code == 202
        assert client.post("/events", json=form_event("hook-2")).status_code == 401
    row = Inbox(staff.state.store).get("hook-1")  # the staff app's store: one inbox
    assert row is not None and row.status == "pending"


def test_without_the_setting_one_listener_serves_everything(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    [one] = listeners.servers(create_app(settings, store), settings)
    assert one.config.port == settings.web_port
    paths = [path for path, _, _ in all_routes(one.config.app)]
    assert "/events" in paths and "/desk/login" in paths


def _status(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`nurture web`'s listeners with a webhook port, in a thread; yields (staff, webhooks)."""
    web_port, hook_port = free_loopback_port(), free_loopback_port()
    settings = settings_for(tmp_path, web_port=web_port, webhook_port=hook_port)
    store = Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    servers = listeners.servers(create_app(settings, store), settings, log_level="warning")
    assert [s.config.port for s in servers] == [web_port, hook_port]
    thread = threading.Thread(target=asyncio.run, args=(listeners.serve(servers),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not all(s.started for s in servers):
        assert thread.is_alive() and time.monotonic() < deadline, "the listeners did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{hook_port}"
    finally:
        servers[0].should_exit = True  # one stops: both stop
        thread.join(timeout=15)
        assert not thread.is_alive()


def test_two_ports_staff_pages_on_one_webhooks_on_the_other(running: tuple[str, str]) -> None:
    staff, hooks = running
    assert _status(f"{staff}/desk/login") == 200
    assert _status(f"{staff}/api/outbox") == 401  # staff routes still need a login
    assert _status(f"{hooks}/desk/login") == 404
    assert _status(f"{hooks}/api/outbox") == 404
    assert _status(f"{hooks}/healthz") == 200
    body = json.dumps(form_event("port-1"))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    assert _status(f"{hooks}/events", body.encode(), headers) == 202
