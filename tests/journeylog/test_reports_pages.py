"""The /reports page: marketing and managers only, a chart and a line per metric, a safe CSV;
and in headless Chromium with a screenshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.async_api import Browser, expect

from nurture.app import create_app
from nurture.settings import Settings
from nurture.store import Store
from tests.journeylog.test_reports import sample_log
from tests.support.browser import ARTIFACTS, serving
from tests.support.browser import log_in as browser_log_in
from tests.web.staff import log_in


@pytest.fixture
def reports_store(planning_store: Store) -> Store:
    sample_log(planning_store)
    return planning_store


def test_reports_are_for_marketing_and_managers(
    planning_settings: Settings, reports_store: Store
) -> None:
    with TestClient(create_app(planning_settings, reports_store)) as web:
        assert web.get("/reports", follow_redirects=False).status_code in (302, 303, 307)
        log_in(web, "rob.rep")
        assert web.get("/reports").status_code == 403
        assert web.get("/reports.csv").status_code == 403
    with TestClient(create_app(planning_settings, reports_store)) as web:
        log_in(web, "meg.manager")
        for kind in ("funnel", "steps", "channels", "desk", "sales", "money", "win-loss"):
            page = web.get(f"/reports?kind={kind}")
            assert page.status_code == 200, kind
            assert "<svg" in page.text and "What each figure means" in page.text
        csv = web.get("/reports.csv?kind=win-loss")
        assert csv.headers["content-type"].startswith("text/csv")
        assert "'=HYPERLINK" in csv.text


@pytest.fixture
def site(planning_settings: Settings, reports_store: Store) -> Iterator[str]:
    with serving(create_app(planning_settings, reports_store)) as url:
        yield url


async def test_a_marketer_reads_the_funnel_in_the_browser(browser: Browser, site: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 1100})
    page = await context.new_page()
    await browser_log_in(page, site, "mia.marketing")
    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    chart = page.locator("#report-chart svg")
    await expect(chart).to_be_visible()
    await expect(chart.locator("rect")).to_have_count(7)  # one bar per funnel stage
    await expect(page.locator("dl.explain")).to_contain_text("median time from the previous")
    await page.get_by_label("Group by").select_option("segment")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("table.report")).to_contain_text("ent")
    await page.get_by_role("link", name="money").click()
    await expect(page.locator("table.report")).to_contain_text("per opportunity")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "reports-money.png"), full_page=True)
    await context.close()
