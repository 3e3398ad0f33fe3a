"""NURTURE_ENV=production: the worker, the web app and every command that reaches Temporal
refuse to start until the session secret and the codec keys are set, listing every one that is
missing (one clear message, no traceback)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nurture.app import create_app
from nurture.settings import ProductionConfigError, Settings
from nurture.temporal.codec import KEY_FILE
from tests.support.browser import free_port
from tests.temporal.test_cli_errors import nurture

MISSING = (
    "NURTURE_SESSION_SECRET is missing (it signs staff login sessions)",
    "NURTURE_CODEC_KEYS is missing (it encrypts the personal data Temporal stores)",
)


def production(tmp_path: Path) -> dict[str, str]:
    """A production environment with neither secret (Temporal unreachable: never got to)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_ENV="production",
        NURTURE_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        NURTURE_DATA_DIR=str(tmp_path),
        NURTURE_DATABASE_URL=f"sqlite:///{tmp_path / 'nurture.db'}",
        NURTURE_DB_UPGRADE="true",
    )
    return env


@pytest.mark.parametrize("args", [["worker"], ["web"], ["lead", "show", "L1"]])
def test_production_refuses_to_start_listing_every_missing_secret(
    tmp_path: Path, args: list[str]
) -> None:
    result = nurture(args, production(tmp_path))
    said = result.stdout + result.stderr
    assert result.returncode == 2, said
    assert "Traceback" not in said and "NURTURE_ENV=production needs:" in said
    for line in MISSING:
        assert line in said, said
    assert not (tmp_path / KEY_FILE).exists()  # no local key made up in production


def test_production_lists_only_what_is_missing(tmp_path: Path) -> None:
    env = production(tmp_path) | {"NURTURE_SESSION_SECRET": "s" * 40}
    said = nurture(["lead", "show", "L1"], env).stderr
    assert MISSING[1] in said and MISSING[0] not in said


def test_the_web_app_refuses_to_build_without_them(tmp_path: Path) -> None:
    settings = Settings(env="production", session_secret=None, codec_keys=None, data_dir=tmp_path)
    with pytest.raises(ProductionConfigError) as refused:
        create_app(settings)
    assert all(line in str(refused.value) for line in MISSING)
