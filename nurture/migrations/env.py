"""Alembic's entry point for nurture's migrations (run by ``nurture db upgrade``).

Runs on the connection :func:`nurture.schema.upgrade` passes in; on PostgreSQL an advisory lock
makes concurrent starters (several workers with ``NURTURE_DB_UPGRADE=true``) migrate one at a time.
SQLite gets batch mode, so a later ``ALTER`` (which SQLite lacks) becomes a table copy.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, text

from nurture.store import UTCDateTime
from nurture.tables import metadata

#: An arbitrary key of nurture's migration lock (pg_advisory_xact_lock).
LOCK_KEY = 7_261_000_014


def render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write our aware-UTC column type as the plain type it stores (migrations stay frozen)."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection: Connection) -> None:
    """Run the pending migrations in one transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run nurture's migrations with `nurture db upgrade`")
run(connection)
