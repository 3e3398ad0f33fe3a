"""Strict YAML loading: every broken file is one located problem, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cadence.model import parse_cadence
from nurture.cadence.validate import validate_files
from nurture.cli import app
from nurture.settings import get_settings
from nurture.yamlfiles import MAX_DEPTH, MAX_FILE_BYTES, FileError, Problem, decode
from tests.conftest import FIXTURE_TEMPLATES

GOOD = """\
name: good
version: 1
calendar: {timezone: UTC}
steps:
  - sms: {template: hello}
  - wait: {days: 1}
"""


def only_problem(text: str) -> Problem:
    with pytest.raises(FileError) as caught:
        parse_cadence(text, "c.yaml")
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def test_good_file_loads() -> None:
    assert parse_cadence(GOOD, "good.yaml").name == "good"


def test_duplicate_key_names_both_lines() -> None:
    problem = only_problem(GOOD.replace("version: 1\n", "version: 1\nversion: 2\n"))
    assert (problem.line, problem.field) == (3, "version")
    assert problem.message == "key 'version' given twice: on line 2 and line 3"


def test_duplicate_key_deep_in_a_step() -> None:
    problem = only_problem(GOOD.replace("{days: 1}", "{days: 1, days: 2}"))
    assert problem.line == 6
    assert "key 'days' given twice" in problem.message


def test_too_big_is_refused_before_parsing() -> None:
    problem = only_problem(GOOD + "#" * MAX_FILE_BYTES)
    assert "limit is 262,144 bytes" in problem.message


def test_not_utf8_names_the_byte_offset() -> None:
    data = GOOD.encode() + "description: caf\xe9\n".encode("latin-1")
    with pytest.raises(FileError) as caught:
        decode(data, "c.yaml")
    problem = caught.value.problems[0]
    offset = len(GOOD.encode()) + len("description: caf")
    assert (problem.line, problem.column) == (7, 17)
    assert f"byte 0xe9 at byte offset {offset}" in problem.message


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    problem = only_problem("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert problem.message == f"nested more than {MAX_DEPTH} levels deep"


def test_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    problem = only_problem("\n".join(lines) + "\n")
    assert "expands to more than" in problem.message


def test_small_aliases_are_fine() -> None:
    text = GOOD.replace("{days: 1}", "&day {days: 1}") + "  - email: {template: x}\n"
    text = text.replace("  - email: {template: x}\n", "  - wait: *day\n")
    assert len(parse_cadence(text, "good.yaml").steps) == 3


@pytest.mark.parametrize("number", [".inf", "-.inf", ".nan", "1.0e400"])
def test_non_finite_numbers_are_refused(number: str) -> None:
    problem = only_problem(GOOD.replace("{days: 1}", f"{{days: {number}}}"))
    assert problem.line == 6
    assert "finite number" in problem.message


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    monkeypatch.setenv("NURTURE_TEMPLATES_DIR", str(FIXTURE_TEMPLATES))
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_messages_print_literally(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    """Brackets in a message or a value are never read as console markup."""
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.replace("name: good", "name: '[bold]Bad[/bold] [x'"), encoding="utf-8")
    result = CliRunner().invoke(app, ["cadence", "validate", str(path)])
    assert result.exit_code == 1
    assert "String should match pattern '^[a-z0-9][a-z0-9-]*$'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"a: " + b"[" * 5000 + b"]" * 5000, "levels deep"),
        (b"name: caf\xe9\n", "not UTF-8"),
        (GOOD.replace("version: 1\n", "version: 1\nversion: 1\n").encode(), "given twice"),
    ],
)
def test_validate_reports_one_line(
    tmp_path: Path, env: pytest.MonkeyPatch, content: bytes, expected: str
) -> None:
    path = tmp_path / "good.yaml"
    path.write_bytes(content)
    good, problems = validate_files([path], FIXTURE_TEMPLATES)
    assert good == []
    assert expected in problems[0].message
    result = CliRunner().invoke(app, ["cadence", "validate", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path}:" in result.output
