"""The store's schema version: Alembic migrations in ``nurture/migrations``.

A store opens only at this release's head revision. ``nurture db upgrade`` (also run by
``nurture up``, the compose stack's ``migrate`` one-shot, and the worker and web app when
``NURTURE_DB_UPGRADE=true``) brings it there; otherwise :func:`check` refuses with a message that
says what to run.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

__all__ = ["MIGRATIONS", "StoreBehind", "check", "config", "current", "head", "upgrade"]

#: The Alembic script directory, shipped inside the package.
MIGRATIONS: Final = Path(__file__).resolve().with_name("migrations")


class StoreBehind(RuntimeError):
    """The store's schema is not this release's: it needs ``nurture db upgrade``."""


def config(connection: Connection | None = None) -> Config:
    """An Alembic config on the packaged migrations (and, for commands, an open connection)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head() -> str:
    """This release's head revision."""
    heads = ScriptDirectory.from_config(config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads {heads}: merge them")
    return heads[0]


def current(engine: Engine) -> str | None:
    """The store's revision (``None``: an empty store, never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate the store to head; returns (revision before, revision after)."""
    before = current(engine)
    if before != head():
        with engine.begin() as connection:
            command.upgrade(config(connection), "head")
    return before, current(engine) or ""


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def check(engine: Engine) -> None:
    """Raise :class:`StoreBehind` unless the store is at this release's head revision."""
    found = current(engine)
    wanted = head()
    if found == wanted:
        return
    known = {s.revision for s in ScriptDirectory.from_config(config()).walk_revisions()}
    if found is not None and found not in known:
        raise StoreBehind(
            f"the store at {_where(engine)} is at schema revision {found}, which this release "
            f"does not know (a newer release migrated it?); this release needs {wanted}"
        )
    state = "is empty" if found is None else f"is at schema revision {found}"
    raise StoreBehind(
        f"the store at {_where(engine)} {state}; this release needs revision {wanted}: run "
        "`nurture db upgrade` (or start with NURTURE_DB_UPGRADE=true)"
    )
