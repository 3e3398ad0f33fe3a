"""The schema comes from the migrations only: they match the models, a store behind refuses to
open, ``nurture db upgrade`` / ``current`` work on a fresh SQLite file and PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from nurture import schema
from nurture.store import Store
from nurture.tables import metadata
from tests.conftest import ROOT
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store never migrated: a SQLite file path, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nurture.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database(migrated=False)


def test_the_models_and_the_migrations_agree(store_url: str) -> None:
    """Autogenerate finds nothing to do on a migrated store: every model change has its
    migration (write one with ``alembic revision --autogenerate``; see nurture/schema.py)."""
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, metadata())
    finally:
        engine.dispose()
    assert differences == []


def test_every_table_is_in_the_migrations(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == {*metadata().tables, "alembic_version"}


def test_a_store_behind_refuses_to_open_then_upgrades(empty_url: str) -> None:
    with pytest.raises(schema.StoreBehind, match=r"is empty; .* run `nurture db upgrade`"):
        Store(empty_url)
    store = Store(empty_url, upgrade=True)
    assert schema.current(store.engine) == schema.head()
    store.close()
    Store(empty_url).close()  # at head: opens without migrating


def test_a_store_from_a_newer_release_is_refused(store_url: str) -> None:
    store = Store(store_url)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed'")
    store.close()
    with pytest.raises(schema.StoreBehind, match="f00dfeed, which this release does not know"):
        Store(store_url)


def nurture(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from nurture.cli import main; main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_commands(empty_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(NURTURE_DATABASE_URL=empty_url, NURTURE_DATA_DIR=str(tmp_path))
    behind = nurture("db", "current", env=env)
    assert behind.returncode == 1
    assert "store revision: (empty)" in behind.stdout
    refused = nurture("reps", "list", env=env)
    assert refused.returncode == 2
    assert "run `nurture db upgrade`" in refused.stderr.replace("\n", " ")
    upgraded = nurture("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"(empty) → {schema.head()}" in " ".join(upgraded.stdout.split())
    again = nurture("db", "upgrade", env=env)
    assert "nothing to do" in " ".join(again.stdout.split())
    assert nurture("db", "current", env=env).returncode == 0
    assert nurture("reps", "list", env=env).returncode == 0
