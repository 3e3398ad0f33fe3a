"""Every command turns not found / unreachable / refused into one line and an exit code, exits
right after its output, and `nurture up` stops its dev server on SIGTERM and SIGHUP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from nurture.settings import ROOT
from tests.support.browser import free_port

MAIN = ["-c", "from nurture.cli import main; main()"]


def cli_env(tmp_path: Path, address: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_CODEC_KEYS=os.environ["NURTURE_CODEC_KEYS"],
        NURTURE_TEMPORAL_ADDRESS=address,
        NURTURE_DATA_DIR=str(tmp_path),
        NURTURE_DATABASE_URL=f"sqlite:///{tmp_path / 'nurture.db'}",
        NURTURE_DB_UPGRADE="true",
    )
    return env


def nurture(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *MAIN, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unreachable_temporal_is_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"127.0.0.1:{free_port()}")
    for args in (["lead", "show", "l-1"], ["tasks", "list"]):  # main() and run_with_client
        result = nurture(args, env)
        assert result.returncode == 3, (args, result.stderr)
        assert one_line(result).startswith(
            f"error cannot reach Temporal at {env['NURTURE_TEMPORAL_ADDRESS']} ("
        )


def test_worker_and_web_without_temporal_end_in_one_line(tmp_path: Path) -> None:
    """Both long-running commands stop at start with the reason, not a traceback (the worker
    logs its channels first; its last line is the error)."""
    env = cli_env(tmp_path, f"127.0.0.1:{free_port()}")
    for args in (["worker"], ["web", "--port", str(free_port())]):
        result = nurture(args, env)
        assert result.returncode == 3, (args, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout, result.stderr
        assert (
            result.stderr.strip()
            .splitlines()[-1]
            .startswith(f"error cannot reach Temporal at {env['NURTURE_TEMPORAL_ADDRESS']} (")
        ), result.stderr


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = nurture(["enroll", str(tmp_path / "nope.csv")], cli_env(tmp_path, "127.0.0.1:1"))
    assert result.returncode == 1
    assert one_line(result) == f"error No such file or directory: {tmp_path / 'nope.csv'}"


@pytest.mark.asyncio(loop_scope="session")
async def test_an_unknown_lead_is_one_line(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    env = cli_env(tmp_path, dev_env.client.service_client.config.target_host)
    began = time.monotonic()
    for args in (["lead", "show", "UNKNOWN"], ["handoff", "show", "UNKNOWN"]):
        result = nurture(args, env)
        assert result.returncode == 1, (args, result.stderr)
        assert one_line(result) == "error unknown lead 'UNKNOWN': there is no journey lead-UNKNOWN"
    assert time.monotonic() - began < 90  # and neither hung at exit


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_up_stops_its_dev_server_on(stop: signal.Signals, tmp_path: Path) -> None:
    temporal_port = free_port()
    env = cli_env(tmp_path, f"127.0.0.1:{temporal_port}")
    env.update(NURTURE_WEB_PORT=str(free_port()), NURTURE_UI_PORT=str(free_port()))
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, *MAIN, "up", "--no-demo"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        while "nurture is running" not in (tmp_path / "up.log").read_text():
            assert process.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.3)
        assert listening(temporal_port)
        process.send_signal(stop)
        assert process.wait(timeout=60) == 0, (tmp_path / "up.log").read_text()
        assert "stopping" in (tmp_path / "up.log").read_text()
        assert not listening(temporal_port), "the dev server is still running"
    finally:
        if process.poll() is None:
            process.kill()
