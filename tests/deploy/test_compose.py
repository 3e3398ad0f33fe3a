"""docker-compose.yml checked without Docker: the Compose Specification schema and our own rules."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema import validators

from nurture.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).resolve().parents[3] / "shared" / "specs" / "compose-spec.json"

# nurture's custom search attributes (DESIGN.md) and their Temporal types.
SEARCH_ATTRIBUTES = {
    "LeadStage": "Keyword",
    "LeadScore": "Int",
    "Cadence": "Keyword",
    "CadenceVersion": "Int",
    "Segment": "Keyword",
    "Owner": "Keyword",
    "Cycle": "Int",
    "NextTouchAt": "Datetime",
    "CallTaskQueue": "Keyword",
    "CallTaskAssignee": "Keyword",
    "CallTaskDue": "Datetime",
}
SETUP_SERVICE = "temporal-setup"
#: Settings a deployment gives from its own environment (keys and secrets), never in the file.
FROM_HOST = (
    "NURTURE_SESSION_SECRET",
    "NURTURE_EVENTS_TOKEN",
    "NURTURE_SENDGRID_API_KEY",
    "NURTURE_NOTICE_FROM",
    "NURTURE_TWILIO_ACCOUNT_SID",
    "NURTURE_TWILIO_AUTH_TOKEN",
    "NURTURE_TWILIO_FROM",
    "NURTURE_LOB_API_KEY",
    "NURTURE_LOB_FROM_ADDRESS",
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_FILE.is_file():
        pytest.fail(
            f"Compose Specification schema not found at {SCHEMA_FILE}; it belongs in "
            "../shared/specs/compose-spec.json beside the repository "
            "(see ../shared/specs/README.md)"
        )
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = validator_class(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def validator_class(schema: dict[str, Any]) -> type[jsonschema.protocols.Validator]:
    """The validator of the draft named by ``$schema``.

    The Compose schema says ``https://json-schema.org/draft-07/schema``, while jsonschema knows the
    drafts by their canonical ``http://...#`` ids, so an https id is looked up as http as well.
    """
    declared = schema.get("$schema", "")
    assert declared, "the Compose schema declares no $schema"
    candidates = [declared, re.sub(r"^https://", "http://", declared)]
    for uri in candidates:
        cls = validators.validator_for({"$schema": uri}, default=None)
        if cls is not None:
            return cls
    raise AssertionError(f"jsonschema has no validator for $schema {declared!r}")


def schema_errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def published_ports(service: dict[str, Any]) -> set[int]:
    """Host ports a service publishes, from short (``"8000:8000"``) or long syntax."""
    ports: set[int] = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if "published" in entry:
                ports.add(int(entry["published"]))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:  # [HOST_IP:]HOST:CONTAINER
            ports.add(int(parts[-2]))
    return ports


def command_text(service: dict[str, Any]) -> str:
    """The service's entrypoint and command as one string (either may be a string or a list)."""
    words: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key) or []
        words.extend([value] if isinstance(value, str) else map(str, value))
    return " ".join(words)


def test_schema_is_draft_7(schema: dict[str, Any]) -> None:
    assert validator_class(schema) is validators.Draft7Validator


def test_compose_file_matches_the_compose_specification(
    validator: jsonschema.protocols.Validator, compose: dict[str, Any]
) -> None:
    assert schema_errors(validator, compose) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda doc: doc.update(servics={}), id="bogus-top-level-key"),
        pytest.param(lambda doc: doc["services"]["web"].update(ports=12), id="ports-not-a-list"),
        pytest.param(
            lambda doc: doc["services"]["worker"]["depends_on"]["temporal-setup"].update(
                condition="service_finished"
            ),
            id="unknown-depends-on-condition",
        ),
        pytest.param(
            lambda doc: doc["services"]["postgresql"]["healthcheck"].update(interval=5),
            id="healthcheck-interval-not-a-string",
        ),
    ],
)
def test_schema_rejects_a_broken_copy(
    validator: jsonschema.protocols.Validator, compose: dict[str, Any], mutate: Any
) -> None:
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert schema_errors(validator, broken), "the schema accepted a broken compose file"


def test_expected_services_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgresql", "temporal", SETUP_SERVICE, "temporal-ui", "worker", "web"):
        assert name in services, f"service {name!r} missing"


def test_published_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert 8000 in published_ports(services["web"])
    assert 8233 in published_ports(services["temporal-ui"])
    assert 7233 in published_ports(services["temporal"])


def test_setup_service_registers_every_search_attribute(compose: dict[str, Any]) -> None:
    text = command_text(compose["services"][SETUP_SERVICE])
    create = text[text.index("temporal operator search-attribute create") :]
    assert "--namespace default" in create
    assert "--address temporal:7233" in create
    registered = dict(re.findall(r"--name\s+(\w+)\s+--type\s+(\w+)", create))
    for name, type_ in SEARCH_ATTRIBUTES.items():
        assert registered.get(name) == type_, f"{name} ({type_}) not registered: {registered}"
    # The listing check that makes re-runs succeed names the same attributes.
    listed = re.search(r'attributes="([^"]*)"', text)
    assert listed is not None
    assert set(listed.group(1).split()) == set(SEARCH_ATTRIBUTES)


def test_workers_start_after_setup_and_postgres(compose: dict[str, Any]) -> None:
    for name in ("worker", "web"):
        depends_on = compose["services"][name]["depends_on"]
        assert depends_on[SETUP_SERVICE]["condition"] == "service_completed_successfully"
        assert depends_on["postgresql"]["condition"] == "service_healthy"


def test_worker_can_be_scaled(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker
    assert not published_ports(worker)
    assert worker["build"] == "."


def test_nurture_services_environment(compose: dict[str, Any]) -> None:
    for name in ("worker", "web"):
        env = compose["services"][name]["environment"]
        assert env["NURTURE_TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["NURTURE_DATABASE_URL"] == (
            "postgresql+psycopg://nurture:nurture@postgresql:5432/nurture"
        )
        known = {f"NURTURE_{field.upper()}" for field in Settings.model_fields}
        assert set(env) <= known, f"{name}: not settings, never read: {set(env) - known}"
        for key in FROM_HOST:
            assert key in env and env[key] is None, f"{name}: {key} is not passed from the host"


def test_one_shot_scripts_escape_dollars(compose: dict[str, Any]) -> None:
    """Compose interpolates ``$VAR`` and ``${VAR}``: shell variables in scripts must read ``$$``."""
    for name in ("temporal-schema", SETUP_SERVICE):
        script = command_text(compose["services"][name]).replace("$$", "")
        assert "$" not in script, f"{name}: unescaped $ would be interpolated by Compose"


def test_postgres_init_script_is_mounted_and_creates_the_databases(
    compose: dict[str, Any],
) -> None:
    volumes = compose["services"]["postgresql"]["volumes"]
    mount = next(v for v in volumes if "docker-entrypoint-initdb.d" in v)
    source = REPO / mount.split(":")[0]
    assert source.is_file(), f"{source} missing"
    sql = source.read_text(encoding="utf-8")
    for database in ("temporal", "temporal_visibility", "nurture"):
        assert re.search(rf"CREATE DATABASE {database}\b", sql), database
