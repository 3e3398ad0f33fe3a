"""Any Temporal cluster: ``nurture temporal setup`` on a bare namespace, the worker's refusal while
a search attribute is missing, and the TLS / API key settings of the one client gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.client import temporal_cli, tls_config
from nurture.temporal.setup import MissingSearchAttributes, check_search_attributes
from nurture.temporal.visibility import ALL_KEYS
from tests.conftest import ROOT

pytestmark = pytest.mark.devserver


@pytest_asyncio.fixture(loop_scope="session")
async def bare_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server whose namespace has none of nurture's search attributes."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    ) as environment:
        yield environment


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


async def test_setup_registers_once_and_the_worker_waits_for_it(
    bare_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = bare_server.client
    with pytest.raises(
        MissingSearchAttributes, match=r"missing LeadStage, .*nurture temporal setup"
    ):
        await check_search_attributes(client)
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    Store(url, upgrade=True).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_TEMPORAL_ADDRESS=client.service_client.config.target_host,
        NURTURE_TEMPORAL_NAMESPACE=client.namespace,
        NURTURE_DATABASE_URL=url,
        NURTURE_DATA_DIR=str(tmp_path),
        NURTURE_TASK_QUEUE="setup-test",
    )
    refused = run(["worker.py"], env)
    assert refused.returncode == 1
    assert "nurture worker: namespace default" in refused.stderr
    assert "run `nurture temporal setup`" in refused.stderr

    cli = ["-c", "from nurture.cli import main; main()", "temporal", "setup"]
    first = run(cli, env)
    assert first.returncode == 0, first.stderr
    added = [line for line in first.stdout.splitlines() if line.startswith("added")]
    assert added == [f"added search attribute {key.name}" for key in ALL_KEYS]
    again = run(cli, env)
    assert again.returncode == 0, again.stderr
    assert "added" not in again.stdout.replace("attribute(s) added", "")
    assert f"all {len(ALL_KEYS)} search attributes already there" in " ".join(again.stdout.split())
    await check_search_attributes(client)  # the worker and the web app would start now


def pem(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(f"-----BEGIN {name}-----\n".encode())
    return path


def test_a_local_dev_server_gets_no_tls() -> None:
    assert tls_config(Settings()) is False


def test_mutual_tls_reads_the_client_pair_and_the_private_ca(tmp_path: Path) -> None:
    settings = Settings(
        temporal_tls_cert=pem(tmp_path, "cert"),
        temporal_tls_key=pem(tmp_path, "key"),
        temporal_tls_ca=pem(tmp_path, "ca"),
        temporal_tls_server_name="temporal.internal",
    )
    config = tls_config(settings)
    assert isinstance(config, TLSConfig)
    assert config.client_cert == b"-----BEGIN cert-----\n"
    assert config.client_private_key == b"-----BEGIN key-----\n"
    assert config.server_root_ca_cert == b"-----BEGIN ca-----\n"
    assert config.domain == "temporal.internal"


def test_an_api_key_turns_tls_on_with_the_public_roots() -> None:
    config = tls_config(Settings(temporal_api_key="cloud-key"))
    assert isinstance(config, TLSConfig)
    assert config.client_cert is None and config.server_root_ca_cert is None
    assert tls_config(Settings(temporal_api_key="k", temporal_tls=False)) is False


def test_half_a_client_pair_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both NURTURE_TEMPORAL_TLS_CERT and"):
        tls_config(Settings(temporal_tls_cert=pem(tmp_path, "cert")))
