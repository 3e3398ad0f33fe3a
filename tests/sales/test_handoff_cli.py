"""``nurture handoff``, ``nurture lead pause|resume`` and ``nurture cadence pause|resume`` against
real lead workflows on the dev server."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from nurture.cli import app
from nurture.contracts import HandoffStatus
from nurture.journey.state import Stage
from nurture.settings import Settings, get_settings
from nurture.store import Store
from tests.conftest import fixture_cadence
from tests.sales.helpers import OWNER, Leads, eventually


@pytest.fixture
def cli_env(
    dev_env: WorkflowEnvironment, store: Store, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Point the CLI's settings at the dev server and the test's store."""
    monkeypatch.setenv("NURTURE_TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("NURTURE_DATABASE_URL", store.url)
    monkeypatch.setenv("COLUMNS", "250")  # rich tables unwrapped
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest_asyncio.fixture(loop_scope="session")
async def leads(dev_env: WorkflowEnvironment, dev_worker: Settings) -> AsyncIterator[Leads]:
    """This test's leads, on the dev worker."""
    made = Leads(dev_env.client, dev_worker.task_queue)
    yield made
    await made.close()


async def nurture(*args: str) -> Result:
    """Run the CLI in a thread (it runs its own event loop; the worker runs in this one)."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_handoff_show_accept_and_decline(leads: Leads, cli_env: None) -> None:
    taken, dropped = await leads.promoted(), await leads.promoted()

    shown = await nurture("handoff", "show", taken.lead_id)
    assert shown.exit_code == 0, shown.output
    for text in (
        "Ann Lee",
        "VP Sales at Acme",
        "sales_ready",
        f"owner {OWNER}",
        "why: email.reply",
    ):
        assert text in shown.output, text
    assert "left)" in shown.output  # time left on the SLA
    # The deadline in the owner's zone (else the lead's), as `lead show` says it, then UTC.
    assert re.search(
        r"SLA due \w{3} \d\d \w{3} \d\d:\d\d \S+ \(\d{4}-\d\d-\d\d \d\d:\d\d UTC, ", shown.output
    ), shown.output

    async def listed() -> Result | None:
        result = await nurture("handoff", "list", "--assignee", OWNER)
        return result if taken.lead_id in result.output else None

    assert dropped.lead_id in (await eventually(listed)).output

    someone = await nurture("handoff", "accept", taken.lead_id, "--rep", "bob.rep")
    assert someone.exit_code == 1 and f"belongs to {OWNER}" in someone.output
    accepted = await nurture("handoff", "accept", taken.lead_id, "--rep", OWNER)
    assert accepted.exit_code == 0, accepted.output
    assert f"accepted by {OWNER}" in accepted.output
    assert (await leads.state(taken.lead_id)).stage is Stage.accepted
    again = await nurture("handoff", "accept", taken.lead_id, "--rep", OWNER)
    assert again.exit_code == 1 and "already accepted" in again.output
    won = await nurture(
        "handoff", "close", taken.lead_id, "--rep", OWNER, "--outcome", "won", "--amount", "9000"
    )
    assert won.exit_code == 0 and "won recorded" in won.output
    assert (await leads.handoff(taken.lead_id)).status is HandoffStatus.won  # type: ignore[union-attr]

    vague = await nurture(
        "handoff", "decline", dropped.lead_id, "--rep", OWNER, "--reason", "other"
    )
    assert vague.exit_code == 2 and "needs a text" in vague.output
    wrong = await nurture("handoff", "decline", dropped.lead_id, "--rep", OWNER, "--reason", "meh")
    assert wrong.exit_code == 2
    stale = await nurture(
        "handoff", "decline", dropped.lead_id, "--rep", OWNER, "--reason", "not_ready",
        "--handoff", f"{dropped.lead_id}:h5",
    )  # fmt: skip
    assert stale.exit_code == 1 and "is stale" in stale.output
    declined = await nurture(
        "handoff", "decline", dropped.lead_id, "--rep", OWNER, "--reason", "bad_fit",
        "--text", "a competitor",
    )  # fmt: skip
    assert declined.exit_code == 0, declined.output
    assert "stage now disqualified" in declined.output
    assert (await leads.state(dropped.lead_id)).stage is Stage.disqualified

    unknown = await nurture("handoff", "show", "no-such-lead-xyz")
    assert unknown.exit_code == 1 and "unknown lead" in unknown.output
    never = await leads.enroll()
    nothing = await nurture("handoff", "accept", never.id, "--rep", OWNER)
    assert nothing.exit_code == 1 and "has not been handed to sales" in nothing.output


async def test_lead_pause_until_and_resume(leads: Leads, cli_env: None) -> None:
    lead = await leads.enroll()
    until = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)

    naive = await nurture("lead", "pause", lead.id, "--until", "2030-01-02T09:00")
    assert naive.exit_code == 2 and "add the UTC offset" in naive.output
    past = await nurture("lead", "pause", lead.id, "--until", "2020-01-02T09:00+01:00")
    assert past.exit_code == 1 and "must end in the future" in past.output

    paused = await nurture(
        "lead", "pause", lead.id, "--until", until.isoformat(), "--reason", "out of office"
    )
    assert paused.exit_code == 0, paused.output
    assert "Paused (out of office) until" in paused.output
    journey = await leads.state(lead.id)
    assert journey.paused is not None and journey.paused.until == until
    assert journey.paused.reason == "out of office"

    resumed = await nurture("lead", "resume", lead.id)
    assert resumed.exit_code == 0 and "Resumed (resumed)" in resumed.output
    assert (await leads.state(lead.id)).paused is None
    twice = await nurture("lead", "resume", lead.id)
    assert twice.exit_code == 1 and "is not paused" in twice.output
    unknown = await nurture("lead", "pause", "no-such-lead-xyz")
    assert unknown.exit_code == 1 and "unknown lead" in unknown.output


async def test_cadence_pause_and_resume_every_running_lead(
    dev_env: WorkflowEnvironment, leads: Leads, cli_env: None
) -> None:
    name = f"drip-{uuid.uuid4().hex[:6]}"  # only this test's leads are on it
    cadence = fixture_cadence("drip").model_copy(update={"name": name})
    quiet = [(await leads.enroll(cadence)).id for _ in range(3)]
    with_sales = (await leads.promoted(cadence)).lead_id
    query = f"Cadence = '{name}' AND ExecutionStatus = 'Running'"

    async def all_listed() -> bool:
        return (await dev_env.client.count_workflows(query)).count == 4

    await eventually(all_listed)
    paused = await nurture("cadence", "pause", name, "--reason", "trade show")
    assert paused.exit_code == 0, paused.output
    assert "3 paused, 1 refused, 0 failed (of 4 running" in paused.output
    assert with_sales in paused.output and "is with sales" in paused.output
    for lead_id in quiet:
        journey = await leads.state(lead_id)
        assert journey.paused is not None and journey.paused.reason == "trade show"
    assert (await leads.state(with_sales)).paused is None

    resumed = await nurture("cadence", "resume", name)
    assert resumed.exit_code == 0, resumed.output
    assert "3 resumed, 1 refused" in resumed.output
    assert all([(await leads.state(lead_id)).paused is None for lead_id in quiet])

    nobody = await nurture("cadence", "pause", f"none-{uuid.uuid4().hex[:6]}")
    assert nobody.exit_code == 0 and "no running leads" in nobody.output
    bad = await nurture("cadence", "pause", "Not A Name")
    assert bad.exit_code == 1 and "not a cadence name" in bad.output
