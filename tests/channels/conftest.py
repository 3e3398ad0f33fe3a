"""Provider contract tests: the real SDKs against Prism mocks of the providers' OpenAPI specs.

Prism (``@stoplight/prism-cli@5``) validates every request against the spec and answers with
the spec's examples; a request that breaks the spec gets a 4xx, so an adapter that builds a
wrong request fails its test. Prism comes from npm into ``.ci/node`` (``.ci/run`` and
``make test`` install it); without it these tests fail with the command to run.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from temporalio.exceptions import ApplicationError

from nurture.cadence.render import Rendered
from nurture.contracts import Touch
from nurture.events import Channel
from nurture.lead import Lead
from nurture.store import Store
from tests.channels.stub import ProviderStub
from tests.conftest import ROOT, make_lead

SPECS = Path(os.environ.get("NURTURE_SPECS_DIR", ROOT.parent / "shared" / "specs"))
PRISM_DIR = ROOT / ".ci" / "node"
PRISM_INSTALL = "npm install --no-save --prefix .ci/node @stoplight/prism-cli@5"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
SENDER = {"name": "Sam Sender", "email": "sam@example.com", "reply_to": "replies@example.com"}


def prism_binary() -> Path:
    """The Prism CLI installed in .ci/node, or a failed test saying how to install it."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        pytest.fail(f"Prism is not installed: run `{PRISM_INSTALL}` in {ROOT}", pytrace=False)
    return binary


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prism_mock(spec: str, log_dir: Path) -> Iterator[str]:
    """Serve ``specs/<spec>`` with Prism on a free loopback port; yields its base URL."""
    path = SPECS / spec
    if not path.exists():
        pytest.fail(f"provider spec {path} not found (../shared/specs beside the repo)")
    port = free_port()
    log = log_dir / f"prism-{spec}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(prism_binary()), "mock", "-h", "127.0.0.1", "-p", str(port), str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"Prism exited ({process.returncode}):\n{log.read_text()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Prism did not listen on {port} within 90 s:\n{log.read_text()[-2000:]}"
                )
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def prism_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prism")


@pytest.fixture(scope="session")
def sendgrid_mock(prism_logs: Path) -> Iterator[str]:
    """Prism on SendGrid v3 Mail Send."""
    with prism_mock("sendgrid_mail_v3.json", prism_logs) as url:
        yield url


@pytest.fixture(scope="session")
def twilio_mock(prism_logs: Path) -> Iterator[str]:
    """Prism on Twilio REST 2010-04-01."""
    with prism_mock("twilio_api_v2010.json", prism_logs) as url:
        yield url


@pytest.fixture(scope="session")
def lob_mock(prism_logs: Path) -> Iterator[str]:
    """Prism on Lob's print & mail API."""
    with prism_mock("lob_api_bundled.yml", prism_logs) as url:
        yield url


@pytest.fixture
def stub() -> Iterator[ProviderStub]:
    """The counting, misbehaving provider stand-in (tests/channels/stub.py)."""
    with ProviderStub() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_twilio_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """TWILIO_REGION / TWILIO_EDGE would make the SDK rewrite the mock's host."""
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)


@cache
def _lob_validator(schema: str) -> Draft4Validator:
    spec = yaml.safe_load((SPECS / "lob_api_bundled.yml").read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        "urn:lob", Resource(contents=spec, specification=DRAFT4)
    )
    return Draft4Validator({"$ref": f"urn:lob#/components/schemas/{schema}"}, registry=registry)


def lob_spec_errors(kind: str, body: Any) -> list[str]:
    """Where a Lob create body breaks the spec's ``<kind>_editable`` schema.

    Prism 5 does not validate ``POST /letters`` bodies of this spec (it accepts ``{}``), so
    letter requests are also checked here, against the same spec.
    """
    return [error.message for error in _lob_validator(f"{kind}_editable").iter_errors(body)]


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


def make_touch(channel: Channel, step: str = "s1", lead: Lead | None = None, **over: Any) -> Touch:
    """A touch of the test cadence on ``channel``."""
    lead = lead or make_lead("L7")
    values: dict[str, Any] = {
        "touch_id": f"{lead.id}:test:v1:e1:c1:{step}",
        "lead": lead,
        "channel": channel,
        "template": "hello",
        "cadence": "test",
        "cadence_version": 1,
        "cycle": 1,
        "step_id": step,
        "number": 1,
        "total": 3,
        "summary": f"{channel.value} 1/3 · hello",
        "sender": SENDER,
    }
    values.update(over)
    return Touch(**values)


EMAIL = Rendered(subject="Hello Ann", text="Hi Ann,\nplain.", html="<p>Hi Ann</p>")
TEXT = Rendered(text="Hi Ann, a short note from Sam.")
LETTER = Rendered(html="<html><body><p>Dear Ann,</p><p>A letter.</p></body></html>")
POSTCARD = Rendered(html="<p>Front</p>\n<!-- back -->\n<p>Back: hello Ann</p>")


def refused_key(
    attempt: Callable[[], object], store: Store, touch_id: str, caplog: pytest.LogCaptureFixture
) -> str:
    """Run one attempt a provider answers 401: it must raise a retryable
    ``ProviderCredentials`` error, leave the touch ``pending`` and log one ERROR; the message."""
    caplog.clear()
    with (
        caplog.at_level(logging.ERROR, logger="nurture.channels"),
        pytest.raises(ApplicationError) as caught,
    ):
        attempt()
    error = caught.value
    assert error.type == "ProviderCredentials" and not error.non_retryable
    assert error.next_retry_delay is None  # the retry policy's backoff (up to 5 minutes)
    row = store.get_touch(touch_id)
    assert row is not None and row.status == "pending" and row.provider_id is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and touch_id in errors[0].getMessage()
    return error.message
