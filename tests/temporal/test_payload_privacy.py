"""What the Temporal server stores of a lead: with the codec, none of its personal data.

A real dev server and worker; the history is fetched raw (no codec, the server's bytes) after the
journey has sent a touch, so the workflow input, the activity input/result and the queries'
answers are all in it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from nurture.journey.state import Journey
from nurture.lead import PostalAddress
from nurture.leads.enrollment import enroll
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import dev_server, eventually, fixture_cadence, make_lead, running_worker

pytestmark = pytest.mark.devserver

PERSONAL = {
    "email": "zelda.quartermaine@privacy-test.example",
    "phone": "+14155550199",
    "first_name": "Zelda",
    "last_name": "Quartermaine",
    "address": PostalAddress(line1="77 Hushwood Lane", city="Secretville", postal_code="94110"),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server() as environment:
        yield environment


async def raw_history(client: Client, lead_id: str) -> bytes:
    """The history exactly as the server keeps it (every event, serialised)."""
    response = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace, execution={"workflow_id": workflow_id(lead_id)}
        )
    )
    return response.history.SerializeToString()


async def test_the_server_holds_no_personal_data_of_a_lead(
    env: WorkflowEnvironment, store: Store
) -> None:
    lead = make_lead("L-private", **PERSONAL)
    async with running_worker(env.client, store) as settings:
        assert await enroll(env.client, lead, fixture_cadence("drip"), settings.task_queue)
        await eventually(lambda: _sent(store, lead.id))
        handle = env.client.get_workflow_handle(workflow_id(lead.id))
        journey = await handle.query("state", result_type=Journey)  # through the codec: clear
        assert journey.lead.email == PERSONAL["email"]
        history = await raw_history(env.client, lead.id)

    secrets = [
        PERSONAL["email"],
        PERSONAL["phone"],
        "Zelda",
        "Quartermaine",
        "Hushwood",
        "Secretville",
    ]
    assert b"L-private" in history  # the workflow id and search attributes are there, in clear
    leaked = [s for s in secrets if s.encode() in history]
    assert leaked == [], f"personal data in the raw history: {leaked}"
    assert b"binary/encrypted" in history

    # A client without the codec (what the Web UI and CLI see without it) gets ciphertext.
    plain = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=pydantic_data_converter,
    )
    fetched = await plain.get_workflow_handle(workflow_id(lead.id)).fetch_history()
    text = fetched.to_json()
    assert not [s for s in secrets if s in text]


async def _sent(store: Store, lead_id: str) -> bool:
    return bool(store.list_touches(lead_id=lead_id))


def test_the_test_settings_carry_the_fixed_key() -> None:
    """Subprocesses the tests start read the same key from the environment."""
    assert Settings().secret("codec_keys") is not None
