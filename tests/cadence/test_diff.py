"""``nurture cadence diff``: steps added, removed and changed by id; waits, branches, templates."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from nurture.cadence.diff import diff_cadences
from nurture.cadence.model import load_cadence
from nurture.cli import app
from tests.conftest import FIXTURE_CADENCES

OLD = FIXTURE_CADENCES / "drip.yaml"


def new_version(tmp_path: Path) -> Path:
    text = OLD.read_text()
    text = text.replace("version: 1", "version: 2")
    text = text.replace("- wait: {days: 2}", "- wait: {days: 3}")  # a wait changed (step-2)
    text = text.replace("then: hot, else: cold", "then: hot, else: done")  # a branch changed
    text = text.replace("sms: {template: nudge}", "email: {template: hello}")  # kind changed
    text = text.replace("cycles: {count: 3", "cycles: {count: 2")
    text = text.replace(
        "  - id: done\n    direct_mail: {template: letter}",
        "  - id: done\n    direct_mail: {template: letter, format: postcard}\n"
        "  - id: extra\n    email: {template: hello}",
    )
    text = text.replace("  - goto: done\n", "")  # step-5 removed
    path = tmp_path / "drip.yaml"
    path.write_text(text)
    return path


def test_diff_by_step_id(tmp_path: Path) -> None:
    diff = diff_cadences(load_cadence(OLD), load_cadence(new_version(tmp_path)))
    assert diff.added == ["extra"]
    assert diff.removed == ["step-5"]
    changed = {c.step: c for c in diff.changed}
    assert changed["step-2"].areas == ["wait"]
    assert [c.describe() for _, c in diff.in_area("branch")] == ["wait_for.else: cold → done"]
    assert changed["cold"].changes[0].path == "kind"
    assert changed["done"].changes[0].path == "direct_mail.format"
    assert [c.path for c in diff.settings] == ["cycles.count"]
    assert not diff.empty


def test_same_file_has_no_changes() -> None:
    diff = diff_cadences(load_cadence(OLD), load_cadence(OLD))
    assert diff.empty
    assert diff.lines()[-1] == "no changes"
    assert "version not higher" in diff.lines()[0]


def test_templates_are_their_own_area(tmp_path: Path) -> None:
    path = tmp_path / "drip.yaml"
    path.write_text(
        OLD.read_text()
        .replace("version: 1", "version: 2")
        .replace("email: {template: hello}", "email: {template: hello-short}")
    )
    diff = diff_cadences(load_cadence(OLD), load_cadence(path))
    assert [(s, c.describe()) for s, c in diff.in_area("template")] == [
        ("hello", "email.template: hello → hello-short")
    ]


def test_cli_prints_the_diff(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["cadence", "diff", str(OLD), str(new_version(tmp_path))])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "drip v1 → drip v2" in out
    assert "+ step extra (email) added" in out
    assert "- step step-5 (goto) removed" in out
    assert "~ step step-2 (wait): wait changed" in out
    assert "cycles.count: 3 → 2" in out
