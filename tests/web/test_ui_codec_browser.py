"""The Temporal Web UI decrypts a journey through the web app's codec endpoint, for a manager.

A dev server started as ``nurture up`` starts it (``--ui-codec-endpoint`` at the web app's
``/codec``), the web app on its port, and one enrolled lead (no worker: its start event holds the
encrypted journey input). In headless Chromium, a manager logged in to the web app who ticked
"Include cross-origin credentials" in the UI's Codec Server settings reads the lead's email in
the UI; without a session the UI's calls to the endpoint are refused and the UI shows none of it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Response, expect
from temporalio.client import Client

from nurture.app import create_app
from nurture.leads.enrollment import enroll_many
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.client import start_dev_server, ui_codec_endpoint, wait_for_port
from nurture.temporal.codec import data_converter
from nurture.temporal.ids import workflow_id
from tests.conftest import TEST_CODEC_KEYS, fixture_cadence, make_lead
from tests.support.browser import ARTIFACTS, free_port, log_in, serving
from tests.web.staff import add_staff

pytestmark = pytest.mark.devserver  # its own dev server: the UI and its codec setting

EMAIL = "quinn.private@example.com"


@dataclass
class Stack:
    web: str  # the web app's base URL
    ui: str  # the Temporal Web UI's base URL
    codec: str  # the codec endpoint the UI was started with
    workflow: str  # the lead's workflow id


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    ui_port = free_port()
    return Settings(
        data_dir=tmp_path_factory.mktemp("ui-codec"),
        temporal_address=f"127.0.0.1:{free_port()}",
        web_host="127.0.0.1",
        web_port=free_port(),
        ui_port=ui_port,
        session_secret="s" * 40,
        codec_keys=TEST_CODEC_KEYS,  # type: ignore[arg-type]  # pydantic makes the SecretStr
        codec_cors_origins=f"http://127.0.0.1:{ui_port}",
    )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    server = start_dev_server(settings)  # as nurture up starts it
    try:
        wait_for_port("127.0.0.1", settings.ui_port, process=server)
        store = Store(settings.store_url, upgrade=True)
        add_staff(store, "mara.manager", "manager")
        add_staff(store, "rory.rep", "rep")
        client = await Client.connect(
            settings.temporal_address, data_converter=data_converter(settings)
        )
        lead = make_lead("UI1", email=EMAIL, first_name="Quinn", last_name="Zebulon")
        report = await enroll_many(client, [(1, lead)], [fixture_cadence("drip")], "no-worker")
        assert len(report.started) == 1
        with serving(create_app(settings, store, client), settings.web_port) as web:
            yield Stack(
                web=web,
                ui=f"http://127.0.0.1:{settings.ui_port}",
                codec=ui_codec_endpoint(settings),
                workflow=workflow_id(lead.id),
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


async def codec_context(browser: Browser, stack: Stack) -> BrowserContext:
    """A browser whose UI settings say "include cross-origin credentials" for the codec (what a
    person ticks in the UI's Codec Server dialog; the UI keeps it in localStorage)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    settings = {
        "endpoint": stack.codec,
        "includeCredentials": True,
        "passAccessToken": False,
        "overrideRemoteCodecConfiguration": True,
    }
    await context.add_init_script(
        "".join(
            f"window.localStorage.setItem({json.dumps(k)}, {json.dumps(json.dumps(v))});"
            for k, v in settings.items()
        )
    )
    return context


async def open_journey(page: Page, stack: Stack) -> list[Response]:
    """Open the lead's workflow in the UI; returns the UI's calls to the codec's decode."""
    calls: list[Response] = []
    decode = f"{stack.codec}/decode"
    page.on("response", lambda r: calls.append(r) if r.url.startswith(decode) else None)
    await page.goto(f"{stack.ui}/namespaces/default/workflows/{stack.workflow}")
    await expect(page.get_by_text(stack.workflow).first).to_be_visible(timeout=30_000)
    return calls


def test_nurture_up_wires_the_ui_to_the_codec_endpoint(settings: Settings) -> None:
    assert ui_codec_endpoint(settings) == f"http://127.0.0.1:{settings.web_port}/codec"
    wildcard = settings.model_copy(update={"web_host": "0.0.0.0"})
    assert ui_codec_endpoint(wildcard).startswith("http://127.0.0.1:")


async def test_a_manager_reads_the_decrypted_journey_in_the_temporal_ui(
    browser: Browser, stack: Stack
) -> None:
    context = await codec_context(browser, stack)
    page = await context.new_page()
    await log_in(page, stack.web, "mara.manager")
    calls = await open_journey(page, stack)
    await expect(page.locator("body")).to_contain_text(EMAIL, timeout=30_000)
    await expect(page.locator("body")).to_contain_text("Zebulon")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "temporal-ui-decrypted.png"), full_page=True)
    assert calls and all(c.status == 200 for c in calls)
    await context.close()


@pytest.mark.parametrize("username", [None, "rory.rep"])
async def test_without_a_manager_session_the_ui_shows_ciphertext(
    browser: Browser, stack: Stack, username: str | None
) -> None:
    context = await codec_context(browser, stack)
    page = await context.new_page()
    if username:
        await log_in(page, stack.web, username)
    calls = await open_journey(page, stack)
    for _ in range(120):  # the UI asks the endpoint, which refuses
        if calls:
            break
        await page.wait_for_timeout(250)
    refused = [c.status for c in calls]
    assert refused and set(refused) <= {401, 403}, refused
    await page.wait_for_timeout(1000)
    body = await page.locator("body").inner_text()
    assert EMAIL not in body and "Zebulon" not in body
    await context.close()
