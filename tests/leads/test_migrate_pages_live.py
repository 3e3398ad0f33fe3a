"""The diff and migrate pages on a real dev server: five leads on ``moving`` v1 (two that can move,
two parked on a step v2 lacks, one with sales); the diff shows v1 as the leads hold it against
the v2 file; a dry run lists every lead with where it goes or why it is refused; a confirmed
migrate moves the movable ones and the refused ones keep running on v1. Then the same in headless
Chromium, with screenshots."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from nurture.app import create_app
from nurture.events import EventKind
from nurture.journey.state import Phase
from nurture.leads.enrollment import enroll_many
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from tests.conftest import FIXTURE_TEMPLATES, eventually, make_lead
from tests.leads.test_migrate_live import V1, V2, cadence, click, state
from tests.support.browser import ARTIFACTS, log_in, serving
from tests.web.staff import add_staff, csrf_of, log_in_async

GROUPS = {"a": 2, "b": 2, "d": 1}  # a: can move; b: on wait-b (gone in v2); d: with sales


@dataclass
class Moving:
    """Leads on ``moving`` v1 and the web app's settings (the v2 file in its cadences folder)."""

    name: str
    ids: dict[str, list[str]]
    settings: Settings

    @property
    def everyone(self) -> list[str]:
        return [lead for members in self.ids.values() for lead in members]


@pytest_asyncio.fixture(loop_scope="session")
async def moving(
    dev_env: WorkflowEnvironment, dev_worker: Settings, store: Store, tmp_path: Path
) -> AsyncIterator[Moving]:
    tag = secrets.token_hex(3)  # a cadence of its own: visibility sees only this test's leads
    name, v1 = f"moving-{tag}", cadence(V1.replace("name: moving", f"name: moving-{tag}"))
    ids = {g: [f"W{tag.upper()}{g}{n}" for n in range(count)] for g, count in GROUPS.items()}
    leads = [
        (0, make_lead(lead, segment="moving", timezone="UTC", fields={"spot": group}))
        for group, members in ids.items()
        for lead in members
    ]
    report = await enroll_many(dev_env.client, leads, [v1], dev_worker.task_queue)
    assert len(report.started) == len(leads)
    made = Moving(name, ids, _web_settings(dev_env, store, tmp_path, name))
    try:

        async def parked() -> bool:
            states = await asyncio.gather(*(state(dev_env, lead) for lead in made.everyone))
            return all(s.phase is Phase.waiting_for for s in states)

        await eventually(parked, timeout=30)
        await asyncio.gather(*(click(dev_env, lead, EventKind.email_reply) for lead in ids["d"]))

        async def with_sales() -> bool:
            states = await asyncio.gather(*(state(dev_env, lead) for lead in ids["d"]))
            return all(s.phase is Phase.handoff for s in states)

        await eventually(with_sales)
        yield made
    finally:
        for lead in made.everyone:  # long waits: stop them so the next test's server is quiet
            with contextlib.suppress(RPCError):
                await journey_handle(dev_env.client, lead).terminate("test over")


def _web_settings(
    dev_env: WorkflowEnvironment, store: Store, tmp_path: Path, name: str
) -> Settings:
    folder = tmp_path / "cadences"
    folder.mkdir()
    v2 = V2.replace("name: moving", f"name: {name}")
    (folder / f"{name}.yaml").write_text(v2, encoding="utf-8")
    add_staff(store, "mia.marketing", "marketing")
    return Settings(
        data_dir=tmp_path,
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=store.url,
        cadences_dir=folder,
        templates_dir=FIXTURE_TEMPLATES,
        session_secret="live-pages-" + "x" * 32,
    )


async def finished_run(http: httpx.AsyncClient, run_url: str) -> str:
    """Poll a run's progress until it is done; its page."""

    async def done() -> bool:
        progress = (await http.get(f"{run_url}/progress")).json()
        return progress["finished"] is not None

    await eventually(done, timeout=60)
    page = await http.get(run_url)
    assert page.status_code == 200 and "Refresh" not in page.headers
    return page.text


async def test_a_dry_run_then_a_migrate_from_the_pages(
    dev_env: WorkflowEnvironment, moving: Moving, store: Store
) -> None:
    app = create_app(moving.settings, store, dev_env.client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await log_in_async(http, "mia.marketing")

        async def diffed() -> str | None:  # visibility catches up with the new leads
            page = (await http.get(f"/cadences/{moving.name}/diff")).text
            return page if "v1 (5 leads)" in page else None

        diff = await eventually(diffed)
        assert "v1 as running leads hold it" in diff
        assert "+ step c-extra (email) added" in diff and "- step wait-b (wait_for) removed" in diff

        form = (await http.get(f"/cadences/{moving.name}/migrate")).text
        data = {"csrf_token": csrf_of(form), "source": "file", "segment": "moving"}
        r = await http.post(f"/cadences/{moving.name}/migrate", data={**data, "mode": "dry-run"})
        assert r.status_code == 303, r.text
        dry_url = r.headers["location"]
        dry = await finished_run(http, dry_url)
        assert "2 of 5</strong> running lead(s) would move to v2; 3 refused" in dry
        for lead in moving.ids["a"]:
            assert re.search(
                rf"<code>{lead}</code></td><td>v1</td><td>c1 wait-a [^<]*</td>\s*<td>v2 wait-a", dry
            )
        for lead in moving.ids["b"]:
            assert re.search(rf"<code>{lead}</code>.*?refused: .*?wait-b", dry, re.S)
        assert "with sales" in dry
        assert "@example.com" not in dry and "Ann" not in dry  # lead ids only

        # Migrate from the dry run's page: confirmed, with the page's CSRF token.
        unconfirmed = await http.post(f"{dry_url}/migrate", data={"csrf_token": csrf_of(dry)})
        assert unconfirmed.status_code == 422
        r = await http.post(
            f"{dry_url}/migrate", data={"csrf_token": csrf_of(dry), "confirm": "yes"}
        )
        assert r.status_code == 303, r.text
        report = await finished_run(http, r.headers["location"])
        assert (
            "Moved <strong>2</strong> · refused <strong>3</strong> · failed <strong>0</strong>"
            in report
        )
        assert re.search(r"Refused and failed.*with sales", report, re.S)

    async def moved() -> bool:
        states = [await state(dev_env, lead) for lead in moving.ids["a"]]
        return all(s.cadence.version == 2 for s in states)

    await eventually(moved)
    for lead in moving.ids["b"] + moving.ids["d"]:  # refused: still on v1, no move pending
        kept = await state(dev_env, lead)
        assert kept.cadence.version == 1 and kept.migration is None, lead
    a_lead = await state(dev_env, moving.ids["a"][0])
    assert any("requested by mia.marketing (web)" in e.text for e in a_lead.timeline)


@pytest.fixture
def site(moving: Moving, store: Store) -> Iterator[str]:
    """The whole web app on the dev server (its own client), served for Chromium."""
    with serving(create_app(moving.settings, store)) as url:
        yield url


async def test_a_marketer_diffs_and_migrates_in_the_browser(
    browser: Browser, site: str, moving: Moving, dev_env: WorkflowEnvironment
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    await log_in(page, site, "mia.marketing")
    await page.goto(f"{site}/cadences/{moving.name}")
    await page.get_by_role("link", name="What changed").click()
    await expect(page.get_by_role("heading", name=f"{moving.name}: what changed")).to_be_visible()
    for _ in range(40):  # visibility lists the new leads within a moment
        if "v1 (5 leads)" in await page.locator("main").inner_text():
            break
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.locator("ul.added")).to_contain_text("c-extra")
    await expect(page.locator("table.changes")).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "cadence-diff.png"), full_page=True)

    await page.get_by_role("link", name="Migrate running leads").click()
    await page.get_by_label("Step mappings").fill("wait-b=wait-b2")
    await page.get_by_label("Segment").fill("moving")
    await page.screenshot(path=str(ARTIFACTS / "cadence-migrate-form.png"), full_page=True)
    await page.get_by_role("button", name="Dry run").click()
    outcome = page.locator("p.outcome")
    await expect(outcome).to_contain_text("4 of 5", timeout=60_000)
    await expect(page.locator("table.plans")).to_contain_text("v2 wait-b2")
    await expect(page.locator("table.plans")).to_contain_text("with sales")
    await page.screenshot(path=str(ARTIFACTS / "cadence-migrate-dry-run.png"), full_page=True)

    await page.get_by_label(re.compile(r"Move these 4 lead\(s\)")).check()
    await page.get_by_role("button", name="Migrate").click()
    await expect(outcome).to_contain_text("Moved 4", timeout=60_000)
    await expect(outcome).to_contain_text("refused 1")
    await page.screenshot(path=str(ARTIFACTS / "cadence-migrate-report.png"), full_page=True)
    await context.close()

    async def moved() -> bool:
        movers = moving.ids["a"] + moving.ids["b"]
        states = await asyncio.gather(*(state(dev_env, lead) for lead in movers))
        return all(s.cadence.version == 2 for s in states)

    await eventually(moved)
    assert (await state(dev_env, moving.ids["d"][0])).cadence.version == 1
