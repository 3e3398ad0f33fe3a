"""Installs that run: every third-party import of the product is a runtime dependency, and the
wheel installed without extras into a fresh virtualenv runs ``nurture worker`` and ``nurture web``
against a dev server (what ``pip install .`` in the Dockerfile gives)."""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from nurture.leads.enrollment import enroll_many
from nurture.temporal.calls import journey_handle
from nurture.temporal.telemetry import free_loopback_port
from tests.conftest import (
    FIXTURE_CADENCES,
    FIXTURE_TEMPLATES,
    ROOT,
    TEST_CODEC_KEYS,
    fixture_cadence,
    make_lead,
)

#: What the product ships (pyproject's packages and py-modules).
PRODUCT = [ROOT / "nurture", ROOT / "workflows", ROOT / "activities", ROOT / "worker.py"]
#: The files a source distribution needs to build the wheel.
SHIPPED = ["pyproject.toml", "README.md", "nurture", "workflows", "activities", "worker.py"]
FIRST_PARTY = {"nurture", "workflows", "activities", "worker"}
#: Libraries imported directly whose versions their SDK dictates: each must stay a requirement of
#: the named runtime dependency (checked below), so installing that dependency installs it.
COMES_WITH = {
    "protobuf": "temporalio",  # google.protobuf: the codec endpoint's Payloads JSON
    "pydantic-core": "pydantic",
    "starlette": "fastapi",
    "markupsafe": "jinja2",  # Markup for server-side SVG charts
    "python-http-client": "sendgrid",  # SendGrid's HTTP errors
    "requests": "twilio",  # Twilio's transport errors
    "urllib3": "lob-python",  # Lob's transport errors
}
#: Setuptools' complaints about package data (data folders that are not listed as packages).
PACKAGE_DATA_WARNING = re.compile(r"absent from the `packages`|package_data|Deprecat", re.I)


def canonical(name: str) -> str:
    """A distribution's name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(text: str) -> str:
    """The distribution a requirement line names (``"psycopg[binary]>=3.2"``: ``psycopg``)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
    assert match, text
    return canonical(match.group(1))


def _runtime_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {requirement_name(text) for text in project["dependencies"]}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> files importing it, over everything the wheel ships."""
    found: dict[str, set[str]] = {}
    files = [p for root in PRODUCT for p in ([root] if root.is_file() else root.rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_runtime_import_is_a_runtime_dependency() -> None:
    runtime = _runtime_requirements()
    distributions = metadata.packages_distributions()
    missing = []
    for module, files in sorted(_third_party_imports().items()):
        names = {canonical(d) for d in distributions.get(module, [])}
        assert names, f"{module} (imported by {sorted(files)}) is not installed at all"
        if names & runtime:
            continue
        parents = {COMES_WITH[n] for n in names if n in COMES_WITH}
        if not parents:
            missing.append(f"{module} ({'/'.join(sorted(names))}) imported by {sorted(files)}")
        for parent in parents:
            assert parent in runtime, f"{parent} (which brings {module}) is no runtime dependency"
            required = {requirement_name(r) for r in metadata.requires(parent) or []}
            assert names & required, f"{parent} no longer requires {module}: make it a dependency"
    assert not missing, "imported at run time but only a test extra or nothing installs it:\n" + (
        "\n".join(missing)
    )


# ---------------------------------------------------------------- the wheel, installed


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel (built without warnings about package data) installed without
    extras into a fresh virtualenv; returns the virtualenv's bin folder."""
    where = tmp_path_factory.mktemp("install")
    source = where / "source"  # a copy: building writes build/ and *.egg-info beside the code
    source.mkdir()
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(where), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    warnings = [
        line
        for line in (build.stdout + build.stderr).splitlines()
        if PACKAGE_DATA_WARNING.search(line)
    ]
    assert not warnings, "setuptools warns about package data:\n" + "\n".join(warnings[:10])
    [wheel] = where.glob("nurture-*.whl")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return venv / "bin"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status), str(answer.read().decode())
    except urllib.error.HTTPError as error:
        return int(error.code), ""
    except (urllib.error.URLError, ConnectionError):
        return 0, ""  # not listening yet


@pytest.fixture
def scrubbed_env(dev_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a deployment: nothing of the test run, only nurture's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NURTURE_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))
    }
    env.update(
        NURTURE_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        NURTURE_TEMPORAL_NAMESPACE=dev_env.client.namespace,
        NURTURE_TASK_QUEUE="install-test",
        NURTURE_DATA_DIR=str(tmp_path),
        NURTURE_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",  # never migrated:
        NURTURE_DB_UPGRADE="true",  # the first process to start migrates it
        NURTURE_TEMPLATES_DIR=str(FIXTURE_TEMPLATES),
        NURTURE_CADENCES_DIR=str(FIXTURE_CADENCES),
        NURTURE_CODEC_KEYS=TEST_CODEC_KEYS,  # the test's client encrypts with it
    )
    yield env


@pytest.mark.timeout(900)
async def test_the_wheel_without_extras_runs_the_worker_and_the_web_app(
    installed: Path, dev_env: WorkflowEnvironment, scrubbed_env: dict[str, str], tmp_path: Path
) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import nurture, httpx; print(nurture.__file__)"],
        cwd=tmp_path,
        env=scrubbed_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed.parent)), f"not the installed copy: {where}"

    port = free_loopback_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "web")}
    commands = {
        "worker": [str(installed / "nurture"), "worker"],
        "web": [str(installed / "nurture"), "web", "--host", "127.0.0.1", "--port", str(port)],
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str) -> None:
        with logs[name].open("wb") as out:
            processes[name] = subprocess.Popen(
                commands[name], cwd=tmp_path, env=scrubbed_env, stdout=out, stderr=subprocess.STDOUT
            )

    def logged() -> str:
        return "\n".join(f"--- {n}\n{p.read_text()[-3000:]}" for n, p in logs.items() if p.exists())

    try:
        start("worker")  # it migrates the fresh store, then runs a journey
        lead = make_lead("INSTALL1", segment="quick")
        report = await enroll_many(
            dev_env.client, [(1, lead)], [fixture_cadence("quick")], "install-test"
        )
        assert len(report.started) == 1, logged()
        try:
            await asyncio.wait_for(journey_handle(dev_env.client, lead.id).result(), 180)
        except TimeoutError:
            pytest.fail(f"the installed worker did not run the journey:\n{logged()}")
        start("web")
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            if processes["web"].poll() is not None:
                pytest.fail(f"nurture web exited:\n{logged()}")
            if (await asyncio.to_thread(_get, f"{base}/healthz"))[0] == 200:
                break
            await asyncio.sleep(0.5)
        ready, _ = await asyncio.to_thread(_get, f"{base}/readyz")
        assert ready == 200, logged()
        login, page = await asyncio.to_thread(_get, f"{base}/desk/login")  # templates shipped
        assert login == 200 and "<form" in page, logged()
        style, _ = await asyncio.to_thread(_get, f"{base}/static/style.css")  # static shipped
        assert style == 200
        outbox, _ = await asyncio.to_thread(_get, f"{base}/api/outbox")
        assert outbox == 401  # a staff route: login first
        for name, process in processes.items():
            assert process.poll() is None, f"{name} exited:\n{logged()}"
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
