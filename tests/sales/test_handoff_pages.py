"""The handoff pages against real lead workflows on the dev server: the list, the detail, and the
accept / decline / outcome forms with their refusals (stale, repeated, unknown lead)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from nurture.app import create_app
from nurture.contracts import HandoffStatus
from nurture.journey.state import Stage
from nurture.settings import Settings
from nurture.store import Store
from tests.sales.helpers import OWNER, PASSWORD, Leads, eventually, sales_team


def token(page: str) -> str:
    """The CSRF token of a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


class Browser:
    """A logged-in rep's browser on the app."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def login(self, username: str) -> None:
        page = (await self.http.get("/desk/login")).text
        data = {"username": username, "password": PASSWORD, "csrf_token": token(page)}
        r = await self.http.post("/desk/login", data=data)
        assert r.status_code == 303, r.text
        self.csrf = token((await self.http.get("/handoffs")).text)

    async def post(self, url: str, **data: str) -> httpx.Response:
        data.setdefault("request_id", str(uuid.uuid4()))
        return await self.http.post(url, data={"csrf_token": self.csrf, **data})


@pytest_asyncio.fixture(loop_scope="session")
async def leads(dev_env: WorkflowEnvironment, dev_worker: Settings) -> AsyncIterator[Leads]:
    """This test's leads, on the dev worker."""
    made = Leads(dev_env.client, dev_worker.task_queue)
    yield made
    await made.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(
    dev_env: WorkflowEnvironment, store: Store, tmp_path: Path
) -> AsyncIterator[Browser]:
    """The web app on the dev server's client, with sam.rep (the leads' owner) logged in."""
    sales_team(store)
    settings = Settings(data_dir=tmp_path, session_secret="test-secret")
    app = create_app(settings=settings, store=store, client=dev_env.client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        made = Browser(http)
        await made.login(OWNER)
        yield made


async def test_accept_then_the_opportunity_is_won(browser: Browser, leads: Leads) -> None:
    handoff = await leads.promoted()
    lead_id = handoff.lead_id
    url = f"/handoffs/{lead_id}"

    async def listed() -> str | None:
        page = (await browser.http.get("/handoffs")).text
        return page if url in page else None

    page = await eventually(listed)
    assert "left" in page and "email.reply" in page  # time left on the SLA, why promoted
    mine = (await browser.http.get("/handoffs?mine=1")).text
    assert url in mine
    by_owner = (await browser.http.get("/handoffs?owner=nobody.else")).text
    assert url not in by_owner

    detail = await browser.http.get(url)
    assert detail.status_code == 200
    for text in ("Ann Lee", "Acme", "VP Sales", "email.reply", "sales ready", OWNER, "left"):
        assert text in detail.text, text
    assert "→ sales_ready (email.reply)" in detail.text  # the journey timeline
    assert f'action="{url}/accept"' in detail.text and 'name="reason"' in detail.text

    request_id = str(uuid.uuid4())
    first = await browser.post(
        f"{url}/accept", handoff_id=handoff.handoff_id, request_id=request_id
    )
    assert first.status_code == 303 and first.headers["location"] == url
    again = await browser.post(
        f"{url}/accept", handoff_id=handoff.handoff_id, request_id=request_id
    )
    assert again.status_code == 303  # the same form twice: one accept, the same answer
    shown = (await browser.http.get(url)).text
    assert f"Lead {lead_id} accepted by {OWNER}" in shown and 'name="outcome"' in shown
    assert (await leads.state(lead_id)).stage is Stage.accepted
    accepted = [e for e in (await leads.state(lead_id)).timeline if "accepted by" in e.text]
    assert len(accepted) == 1

    repeated = await browser.post(f"{url}/accept", handoff_id=handoff.handoff_id)
    assert repeated.status_code == 409
    assert f"handoff {handoff.handoff_id} was already accepted" in repeated.text

    lost = await browser.post(f"{url}/close", handoff_id=handoff.handoff_id, outcome="lost")
    assert lost.status_code == 400 and "a lost opportunity needs a reason" in lost.text
    opened = await browser.post(
        f"{url}/close", handoff_id=handoff.handoff_id, outcome="opportunity", amount="50,000"
    )
    assert opened.status_code == 303
    won = await browser.post(f"{url}/close", handoff_id=handoff.handoff_id, outcome="won")
    assert won.status_code == 303
    assert (await leads.handoff(lead_id)).status is HandoffStatus.won  # type: ignore[union-attr]
    ended = await browser.post(f"{url}/close", handoff_id=handoff.handoff_id, outcome="won")
    assert ended.status_code == 409 and "was already won" in ended.text
    assert "journey has ended" in ended.text


async def test_decline_with_a_reason_recycles_or_disqualifies(
    browser: Browser, leads: Leads
) -> None:
    back, gone = await leads.promoted(), await leads.promoted()

    url = f"/handoffs/{back.lead_id}"
    vague = await browser.post(f"{url}/decline", handoff_id=back.handoff_id, reason="other")
    assert vague.status_code == 400 and "reason &#39;other&#39; needs a text" in vague.text
    assert (await leads.handoff(back.lead_id)).status is HandoffStatus.waiting  # type: ignore[union-attr]
    declined = await browser.post(
        f"{url}/decline", handoff_id=back.handoff_id, reason="not_ready", text="budget next year"
    )
    assert declined.status_code == 303
    journey = await leads.state(back.lead_id)
    assert journey.stage is Stage.recycled
    assert any("Not ready — budget next year" in e.text for e in journey.timeline)
    page = (await browser.http.get(url)).text
    assert "Not ready: budget next year" in page and "recycled" in page
    assert f'action="{url}/accept"' not in page  # nothing left to decide

    url = f"/handoffs/{gone.lead_id}"
    r = await browser.post(f"{url}/decline", handoff_id=gone.handoff_id, reason="bad_fit")
    assert r.status_code == 303
    assert (await leads.state(gone.lead_id)).stage is Stage.disqualified
    twice = await browser.post(f"{url}/decline", handoff_id=gone.handoff_id, reason="bad_fit")
    assert twice.status_code == 409 and "was already declined" in twice.text


async def test_stale_unknown_and_someone_elses_handoffs_are_refused_clearly(
    browser: Browser, leads: Leads
) -> None:
    handoff = await leads.promoted()
    url = f"/handoffs/{handoff.lead_id}"

    stale = await browser.post(f"{url}/accept", handoff_id=f"{handoff.lead_id}:h9")
    assert stale.status_code == 409
    assert f"handoff {handoff.lead_id}:h9 is stale" in stale.text
    assert (await leads.handoff(handoff.lead_id)).status is HandoffStatus.waiting  # type: ignore[union-attr]

    missing = await browser.http.get("/handoffs/no-such-lead-xyz")
    assert missing.status_code == 404 and "unknown lead" in missing.text
    posted = await browser.post("/handoffs/no-such-lead-xyz/accept", handoff_id="x:h1")
    assert posted.status_code == 404 and "unknown lead" in posted.text

    never = await leads.enroll()
    page = await browser.http.get(f"/handoffs/{never.id}")
    assert page.status_code == 200 and "has not been handed to sales" in page.text

    forged = await browser.http.post(
        f"{url}/accept", data={"handoff_id": handoff.handoff_id, "csrf_token": "forged"}
    )
    assert forged.status_code == 403

    await browser.post("/desk/logout")
    await browser.login("bob.rep")
    theirs = await browser.http.get(url)
    assert "only they can accept" in theirs.text and f'action="{url}/accept"' not in theirs.text
    refused = await browser.post(f"{url}/accept", handoff_id=handoff.handoff_id)
    assert refused.status_code == 409 and f"belongs to {OWNER}" in refused.text

    await browser.post("/desk/logout")
    anonymous = await browser.http.get(url)
    assert anonymous.status_code == 303 and "/desk/login" in anonymous.headers["location"]
