"""`nurture db`: migrate the store to this release's schema, or show its revision."""

from __future__ import annotations

import typer

from nurture.console import console, err
from nurture.settings import Settings, get_settings

db_app = typer.Typer(
    help="The store's schema: migrate it, show its revision.", no_args_is_help=True
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
