"""`nurture db`: migrate the store to this release's schema, show its revision, prune old rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from nurture.console import console, err
from nurture.settings import Settings, get_settings

db_app = typer.Typer(
    help="The store: migrate its schema, show its revision, prune old rows.", no_args_is_help=True
)


def upgrade_store(settings: Settings) -> None:
    """Migrate the store to this release's schema; say what changed."""
    from nurture import schema
    from nurture.store import Store

    engine = Store.engine_for(settings)
    try:
        before, after = schema.upgrade(engine)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"the store at {where} is at revision {after} (nothing to do)")
    else:
        console.print(f"the store at {where}: revision {before or '(empty)'} → {after}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the store (NURTURE_DATABASE_URL, else the SQLite file) to this release's schema."""
    upgrade_store(get_settings())


@db_app.command("current")
def db_current() -> None:
    """Print the store's schema revision and this release's; exit 1 when they differ."""
    from nurture import schema
    from nurture.store import Store

    engine = Store.engine_for(get_settings())
    try:
        found = schema.current(engine)
    finally:
        engine.dispose()
    wanted = schema.head()
    console.print(f"store revision: {found or '(empty)'}")
    console.print(f"this release needs: {wanted}")
    if found != wanted:
        err.print("the store is not at this release's schema: run `nurture db upgrade`")
        raise typer.Exit(1)


@db_app.command("prune")
def db_prune(
    days: Annotated[
        float | None,
        typer.Option(
            help="Keep this many days (default: NURTURE_EMAIL_ATTEMPTS_RETENTION_DAYS)", min=0
        ),
    ] = None,
) -> None:
    """Delete what the retention allows: email attempts of touches settled longer ago than the
    retention (the web app also does it hourly)."""
    from nurture.channels.email_retention import prune_email_attempts
    from nurture.store import Store

    settings = get_settings()
    keep = settings.email_attempts_retention_days if days is None else days
    if not keep:
        console.print("email_attempts retention is off (0 days): nothing pruned")
        return
    store = Store.from_settings(settings)
    try:
        deleted = prune_email_attempts(store, timedelta(days=keep))
    finally:
        store.close()
    console.print(f"email_attempts: {deleted} rows older than {keep:g} days pruned")
