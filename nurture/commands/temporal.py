"""`nurture temporal setup`: prepare any cluster's namespace for nurture."""

from __future__ import annotations

import asyncio

import typer

from nurture.console import console, tag
from nurture.settings import Settings, get_settings

temporal_app = typer.Typer(
    help="Prepare the Temporal namespace (any cluster: self-hosted or Temporal Cloud).",
    no_args_is_help=True,
)


async def _temporal_setup(settings: Settings) -> None:
    from nurture.temporal.client import connect
    from nurture.temporal.setup import setup

    client = await connect(settings)
    report = await setup(client)
    where = f"namespace {client.namespace} on {settings.temporal_address}"
    for name in report.added:
        console.print(tag("added", "green", f"search attribute {name}"))
    if report.added:
        console.print(f"{where}: {len(report.added)} search attribute(s) added")
    else:
        console.print(f"{where}: all {len(report.present)} search attributes already there")


@temporal_app.command("setup")
def temporal_setup() -> None:
    """Register nurture's search attributes in the namespace (idempotent; says what changed)."""
    asyncio.run(_temporal_setup(get_settings()))
