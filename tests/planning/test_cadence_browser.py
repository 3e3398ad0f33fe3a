"""A marketer looks at a cadence in headless Chromium: the graph, the preview, a sandboxed email."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from nurture.app import create_app
from nurture.settings import Settings
from nurture.store import Store
from tests.support.browser import ARTIFACTS, log_in, serving


@pytest.fixture
def site(planning_settings: Settings, planning_store: Store) -> Iterator[str]:
    with serving(create_app(planning_settings, planning_store)) as url:
        yield url


async def test_a_marketer_previews_a_cadence_in_the_browser(browser: Browser, site: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await log_in(page, site, "mia.marketing")
    await page.goto(f"{site}/cadences")
    await expect(page.get_by_role("heading", name="Cadences")).to_be_visible()
    await page.get_by_role("link", name="standard", exact=True).click()

    await expect(page.get_by_role("heading", name="standard v1")).to_be_visible()
    graph = page.locator("svg.cadence-graph")
    await expect(graph).to_be_visible()
    await expect(graph.locator('[data-step="engaged-check"]')).to_be_visible()
    await page.get_by_label("Engagement path").fill("click@tips-email")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.locator("table.preview")).to_contain_text("text-nudge")
    frame = page.frame_locator("iframe.email-html").first
    await expect(frame.locator("body")).to_contain_text("Pat")
    sandbox = await page.locator("iframe.email-html").first.get_attribute("sandbox")
    assert sandbox == ""  # no scripts, no same origin, no forms
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "cadence-standard.png"))
    assert re.search(r"\d+ touch\(es\)", await page.locator("main").inner_text())
    await context.close()


async def test_a_marketer_forecasts_in_the_browser(browser: Browser, site: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 1400})
    page = await context.new_page()
    await log_in(page, site, "mia.marketing")
    await page.goto(f"{site}/forecast")
    await expect(page.get_by_role("heading", name="Forecast")).to_be_visible()
    await page.get_by_label("Leads").fill("60")
    await page.get_by_label("Segment mix").fill("strategic=1,standard=2")
    await page.get_by_label("Months").fill("2")
    await page.get_by_label("Start").fill("2026-03-02")
    await page.get_by_role("button", name="Forecast").click()
    await expect(page.locator("#touches-chart svg rect").first).to_be_visible()
    await expect(page.locator(".desk-chart svg path.cap")).to_be_visible()
    await expect(page.locator("#ready-chart svg path.line")).to_be_visible()
    await expect(page.locator("table.summary")).to_contain_text("Cost per opportunity")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "forecast.png"))
    await context.close()
