"""A journey that does not answer its ``handoff`` query (its worker is down or cannot replay it)
is marked, with its id, while the other waiting handoffs are listed: by the service, the CLI and
the handoffs page. A fake client stands in for Temporal (the query's failure is the
SDK's own error type, mapped by nurture/temporal/calls.py as in production)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.common import TypedSearchAttributes
from typer.testing import CliRunner

from nurture.app import create_app
from nurture.cli import app
from nurture.contracts import HandoffStatus, HandoffView
from nurture.sales import cli as handoff_cli
from nurture.sales.service import HandoffService
from nurture.settings import Settings
from nurture.store import Store
from tests.sales.helpers import OWNER, sales_team
from tests.sales.test_handoff_pages import Browser

NOW = datetime.now(UTC)
#: The journeys visibility lists as sales-ready: L1 and L3 answer, L2 fails, L4 has just ended.
LISTED = ("L1", "L2", "L3", "L4")


def _view(lead_id: str, hours: int) -> HandoffView:
    return HandoffView(
        handoff_id=f"{lead_id}:h1",
        lead_id=lead_id,
        status=HandoffStatus.waiting,
        owner="sam.rep",
        team="sales",
        promoted_at=NOW,
        due=NOW + timedelta(hours=hours),
        why="email.reply",
        score=60,
    )


class _Handle:
    def __init__(self, lead_id: str) -> None:
        self.lead_id = lead_id

    async def query(self, name: str, **_: Any) -> HandoffView:
        assert name == "handoff"
        if self.lead_id == "L2":
            raise WorkflowQueryFailedError("nondeterminism: the worker cannot replay it")
        if self.lead_id == "L4":
            raise WorkflowQueryRejectedError(None)
        return _view(self.lead_id, hours=5 if self.lead_id == "L1" else 2)


class _Client:
    """Lists ``LISTED`` and answers each journey's query as above."""

    def list_workflows(self, query: str, **_: Any) -> AsyncIterator[Any]:
        async def listed() -> AsyncIterator[Any]:
            for lead_id in LISTED:
                yield SimpleNamespace(
                    id=f"lead-{lead_id}", typed_search_attributes=TypedSearchAttributes.empty
                )

        return listed()

    def get_workflow_handle(self, workflow_id: str, **_: Any) -> _Handle:
        return _Handle(workflow_id.removeprefix("lead-"))


def test_the_service_lists_the_others_and_marks_the_one_that_did_not_answer() -> None:
    listed = asyncio.run(HandoffService(_Client()).waiting())  # type: ignore[arg-type]
    assert [r.lead_id for r in listed.rows] == ["L3", "L1"]  # earliest SLA first; L4 ended
    assert [(g.lead_id, g.workflow_id) for g in listed.unanswered] == [("L2", "lead-L2")]
    assert "cannot replay" in listed.unanswered[0].reason


def test_handoff_list_shows_the_others_and_names_the_journey_that_did_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run_with_fake(work: Callable[[Any], Awaitable[Any]], *_: Any) -> Any:
        return asyncio.run(work(_Client()))

    monkeypatch.setattr(handoff_cli, "run_with_client", run_with_fake)
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["handoff", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("L1" in line and "email.reply" in line for line in lines)
    assert any("L3" in line and "email.reply" in line for line in lines)
    assert any("L2" in line and "did not answer" in line for line in lines)
    assert "2 waiting" in result.output
    assert "1 journey(s) did not answer" in result.output and "lead-L2" in result.output
    assert "L4" not in result.output


async def test_the_handoffs_page_marks_the_journey_that_did_not_answer(
    store: Store, tmp_path: Path
) -> None:
    sales_team(store)
    settings = Settings(data_dir=tmp_path, session_secret="test-secret")
    app = create_app(settings=settings, store=store, client=_Client())  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        browser = Browser(http)
        await browser.login(OWNER)
        page = await http.get("/handoffs")
    assert page.status_code == 200
    html = page.text
    assert 'href="/handoffs/L1"' in html and 'href="/handoffs/L3"' in html
    assert "1 journey did not answer" in html
    assert "lead-L2" in html and "cannot replay" in html
