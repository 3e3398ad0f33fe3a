"""`nurture cadence validate` warns when a call queue's reps never work in calling hours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cli import app
from nurture.settings import get_settings
from tests.conftest import FIXTURE_TEMPLATES

CADENCE = """\
name: calls
version: 1
calendar: {timezone: America/New_York}
steps:
  - call: {script: discovery, queue: sdr}
"""
ROSTER = """\
teams:
  - queue: sdr
    timezone: {zone}
    hours: mon-fri 09:00-17:00
    reps:
      - {{username: ann.rep, name: Ann}}
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    monkeypatch.setenv("NURTURE_TEMPLATES_DIR", str(FIXTURE_TEMPLATES))
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def validate(folder: Path, zone: str) -> str:
    (folder / "_teams.yaml").write_text(ROSTER.format(zone=zone), encoding="utf-8")
    path = folder / "calls.yaml"
    path.write_text(CADENCE, encoding="utf-8")
    result = CliRunner().invoke(app, ["cadence", "validate", str(path)])
    assert result.exit_code == 0, result.output  # a warning, not an error
    assert "ok calls v1" in result.output
    return result.output


def test_reps_who_never_work_in_calling_hours_are_warned(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    output = validate(tmp_path, "Asia/Tokyo")
    assert (
        f"warning {tmp_path / 'calls.yaml'}:5:31: steps[0].call.queue: no rep of queue 'sdr' is "
        "at work during this cadence's calling hours (America/New_York)"
    ) in output


def test_reps_in_a_nearby_zone_are_fine(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    assert "warning" not in validate(tmp_path, "America/Chicago")
