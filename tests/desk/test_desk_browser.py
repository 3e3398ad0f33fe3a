"""A rep works the call desk in a real browser: log in, open the top task, make the call, log it.

Served by uvicorn, driven by headless Chromium, over real lead workflows on a dev server.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from nurture.journey.state import Stage
from tests.desk.conftest import PASSWORD, Desk, eventually
from tests.support.browser import ARTIFACTS


async def log_in(browser: Browser, web: str, username: str) -> Page:
    """A fresh browser context logged in as ``username``, on its task list."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{web}/desk")
    await expect(page).to_have_url(re.compile(r"/desk/login\?next="))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=re.compile("My tasks"))).to_be_visible()
    return page


async def test_a_rep_books_a_meeting_and_the_lead_becomes_sales_ready(
    browser: Browser, web: str, desk: Desk
) -> None:
    lead = await desk.enroll(owner="ann", first_name="Dana", last_name="Reyes", company="Globex")
    await desk.assigned_task(lead.id, "ann")
    page = await log_in(browser, web, desk.name("ann"))

    await expect(page.get_by_role("link", name=lead.id)).to_be_visible()
    await page.get_by_role("link", name="Start with the top task").click()
    await expect(page).to_have_url(f"{web}/desk/tasks/{lead.id}")

    # everything to make the call
    await expect(page.get_by_role("heading", name=re.compile("Dana Reyes"))).to_be_visible()
    await expect(page.locator(".company")).to_have_text(re.compile("Globex"))
    await expect(page.locator(f'a[href="tel:{lead.phone}"]')).to_be_visible()
    await expect(page.locator(".local-time")).to_contain_text(str(lead.timezone))
    await expect(page.locator(".script-text")).to_contain_text("Ask Dana Reyes (VP Sales)")
    await expect(page.locator("table.timeline")).to_contain_text("Call task for the lead owner")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "desk-task.png"), full_page=True)

    await page.get_by_label("Meeting booked").check()
    await page.get_by_label(re.compile("Meeting time")).fill("2030-01-15T10:30")
    await page.get_by_label("Notes").fill("Demo with Dana and her CFO")
    await page.get_by_role("button", name=re.compile("Log the call")).click()

    await expect(page.locator(".flash-ok")).to_contain_text(f"Lead {lead.id}: meeting booked")
    await expect(page).to_have_url(f"{web}/desk")  # no other task: back to the list
    journey = await eventually(lambda: _sales_ready(desk, lead.id))
    assert any("call.meeting_booked" in e.text for e in journey.timeline)
    await page.context.close()


async def _sales_ready(desk: Desk, lead_id: str):
    journey = await desk.state(lead_id)
    return journey if journey.stage is Stage.sales_ready else None


async def test_a_rep_cannot_open_or_complete_another_reps_task(
    browser: Browser, web: str, desk: Desk
) -> None:
    lead = await desk.enroll(owner="ann")
    await desk.assigned_task(lead.id, "ann")
    page = await log_in(browser, web, desk.name("bob"))

    response = await page.goto(f"{web}/desk/tasks/{lead.id}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="Not your task")).to_be_visible()
    await expect(page.locator("body")).not_to_contain_text("Log the call")

    token = await page.locator('input[name="csrf_token"]').first.input_value()
    posted = await page.request.post(
        f"{web}/desk/tasks/{lead.id}/complete",
        form={"csrf_token": token, "disposition": "not_interested", "task_id": "x"},
    )
    assert posted.status == 403
    released = await page.request.post(
        f"{web}/desk/tasks/{lead.id}/release", form={"csrf_token": token}
    )
    assert released.status == 403
    task = await desk.task(lead.id)
    assert task is not None and task.assignee == desk.name("ann") and task.status == "open"
    await page.context.close()


async def test_a_form_without_a_valid_csrf_token_is_refused(
    browser: Browser, web: str, desk: Desk
) -> None:
    lead = await desk.enroll(owner="ann")
    await desk.assigned_task(lead.id, "ann")
    page = await log_in(browser, web, desk.name("ann"))
    await page.goto(f"{web}/desk/tasks/{lead.id}")
    await page.get_by_label("No answer").check()

    form = page.locator("form.complete-form")
    await form.locator('input[name="csrf_token"]').evaluate("input => input.value = 'forged'")
    await page.get_by_role("button", name=re.compile("Log the call")).click()
    await expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    await expect(page.locator(".flash-error")).to_contain_text("security token")

    await page.goto(f"{web}/desk/tasks/{lead.id}")
    await page.get_by_label("No answer").check()
    await form.locator('input[name="csrf_token"]').evaluate("input => input.remove()")
    async with page.expect_response(re.compile("/complete$")) as answer:
        await page.get_by_role("button", name=re.compile("Log the call")).click()
    assert (await answer.value).status == 403
    task = await desk.task(lead.id)
    assert task is not None and task.status == "open"  # nothing was recorded
    await page.context.close()
