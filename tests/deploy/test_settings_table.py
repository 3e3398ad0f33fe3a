"""The README's configuration table lists every setting of nurture/settings.py, and nothing else."""

from __future__ import annotations

import re

from nurture.settings import Settings
from tests.conftest import ROOT

SECTION = re.compile(r"^## Configuration\n(.*?)^## ", re.MULTILINE | re.DOTALL)
VARIABLE = re.compile(r"`(NURTURE_[A-Z0-9_]+)`")


def documented() -> set[str]:
    """The variables named in the first column of the README's configuration table."""
    match = SECTION.search((ROOT / "README.md").read_text())
    assert match, "README.md has no '## Configuration' section"
    rows = [line for line in match.group(1).splitlines() if line.startswith("| `NURTURE_")]
    return {name for row in rows for name in VARIABLE.findall(row.split("|")[1])}


def settings() -> set[str]:
    return {f"NURTURE_{name.upper()}" for name in Settings.model_fields}


def test_every_setting_is_in_the_readme_table() -> None:
    missing = sorted(settings() - documented())
    assert not missing, f"add to README.md's configuration table: {missing}"


def test_the_readme_table_names_only_real_settings() -> None:
    unknown = sorted(documented() - settings())
    assert not unknown, f"README.md documents settings that do not exist: {unknown}"


def test_every_secret_setting_is_a_secret() -> None:
    """Keys, tokens and secrets are SecretStr: never shown by repr, logs or error pages (a
    public key, and paths of key files, are not secrets)."""
    for name, field in Settings.model_fields.items():
        kind = str(field.annotation)
        if "Path" in kind or name == "sendgrid_webhook_public_key":
            continue
        if re.search(r"(secret|token|_key|keys)$", name):
            assert "SecretStr" in kind, f"{name} is not a SecretStr"
