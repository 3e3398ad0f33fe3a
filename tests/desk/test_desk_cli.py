"""``nurture reps`` and ``nurture tasks`` against a dev server and the desk's store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from nurture.cli import app
from nurture.journey.state import Stage
from nurture.settings import get_settings
from tests.desk.conftest import Desk


@pytest.fixture
def cli_env(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI's settings at the test's dev server and store."""
    monkeypatch.setenv("NURTURE_TEMPORAL_ADDRESS", desk.client.service_client.config.target_host)
    monkeypatch.setenv("NURTURE_DATABASE_URL", desk.store.url)
    monkeypatch.setenv("COLUMNS", "250")  # rich tables unwrapped
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def nurture(*args: str, input: str | None = None) -> Result:
    """Run the CLI in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=input)


async def test_reps_from_the_command_line(desk: Desk, cli_env: None) -> None:
    result = await nurture(
        "reps", "add", "zoe", "--name", "Zoe Park", "--queue", desk.queue, "--timezone", "UTC"
    )
    assert result.exit_code == 0, result.output
    assert "added zoe" in result.output and "nurture reps password zoe" in result.output
    assert desk.directory.get("zoe").manager == desk.name("max")  # the team's manager
    again = await nurture("reps", "add", "zoe", "--name", "Z", "--queue", desk.queue)
    assert again.exit_code == 1 and "already exists" in again.output
    bad = await nurture("reps", "add", "yan", "--name", "Y", "--queue", "q", "--hours", "soon")
    assert bad.exit_code == 2 and "hours" in bad.output

    mismatch = await nurture("reps", "password", "zoe", input="a long password\nanother one\n")
    assert mismatch.exit_code != 0 and desk.directory.authenticate("zoe", "a long password") is None
    ok = await nurture("reps", "password", "zoe", input="a long password\na long password\n")
    assert ok.exit_code == 0, ok.output
    assert "a long password" not in ok.output  # not echoed
    assert desk.directory.authenticate("zoe", "a long password") is not None

    listing = await nurture("reps", "list", "--queue", desk.queue)
    assert "zoe" in listing.output and "password set" in listing.output


async def test_tasks_from_the_command_line(desk: Desk, cli_env: None) -> None:
    lead = await desk.enroll()
    await desk.assigned_task(lead.id, None)
    ann = desk.name("ann")

    listed = await nurture("tasks", "list", "--queue", desk.queue)
    assert listed.exit_code == 0 and lead.id in listed.output

    claimed = await nurture("tasks", "claim", lead.id, "--rep", ann)
    assert claimed.exit_code == 0, claimed.output
    twice = await nurture("tasks", "claim", lead.id, "--rep", desk.name("bob"))
    assert twice.exit_code == 1 and f"already claimed by {ann}" in twice.output
    await desk.assigned_task(lead.id, "ann")
    mine = await nurture("tasks", "list", "--rep", ann)
    assert lead.id in mine.output

    shown = await nurture("tasks", "show", lead.id)
    assert "Ann Lee" in shown.output and "Ask Ann Lee" in shown.output

    naive = await nurture(
        "tasks", "complete", lead.id, "--rep", ann, "--disposition", "meeting_booked",
        "--meeting-at", "2030-01-02T10:00",
    )  # fmt: skip
    assert naive.exit_code == 2 and "offset" in naive.output
    done = await nurture(
        "tasks", "complete", lead.id, "--rep", ann, "--disposition", "meeting_booked",
        "--meeting-at", "2030-01-02T10:00-05:00", "--notes", "demo booked",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (await desk.state(lead.id)).stage is Stage.sales_ready
    gone = await nurture("tasks", "complete", lead.id, "--rep", ann, "--disposition", "no_answer")
    assert gone.exit_code == 1 and "no open call task" in gone.output
