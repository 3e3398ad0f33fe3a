"""`make test` installs what its tests need on a fresh machine (Chromium, PostgreSQL, Prism)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.browser import CHROMIUM

REPO = Path(__file__).resolve().parents[2]


def _recipe(target: str) -> list[str]:
    """The command lines of a Makefile target."""
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, f"no '{target}' target in the Makefile"
    return [line.strip() for line in match.group(1).splitlines()]


def test_make_test_installs_chromium_and_postgres_before_pytest() -> None:
    recipe = _recipe("test")
    pytest_at = next(i for i, line in enumerate(recipe) if "pytest" in line)
    assert "bash .ci/install-chromium" in recipe[:pytest_at]
    assert "bash .ci/postgres" in recipe[:pytest_at]
    assert "$(PRISM)" in (REPO / "Makefile").read_text().split("\ntest:")[1].splitlines()[0]


def test_ci_and_make_share_one_chromium_installer_for_the_browser_fixtures_path() -> None:
    script = (REPO / ".ci" / "install-chromium").read_text()
    assert f"[ -x {CHROMIUM} ]" in script  # the path the browser fixture launches
    assert "apt-get install -y -qq chromium" in script
    assert "bash .ci/install-chromium" in (REPO / ".ci" / "run").read_text()
