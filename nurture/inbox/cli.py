"""``nurture inbox``: list accepted engagement events and deliver the pending ones."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from nurture.console import console, err, tag
from nurture.settings import Settings, get_settings

app = typer.Typer(help="The inbox of incoming engagement events.", no_args_is_help=True)
STATUSES = ("pending", "delivered", "unknown_lead", "unmapped")


@app.command("list")
def list_events(
    status: Annotated[
        str | None, typer.Option(help="pending, delivered, unknown_lead or unmapped")
    ] = None,
    lead: Annotated[str | None, typer.Option(help="Only this lead")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 20,
) -> None:
    """List inbox events, newest first, and how many have each status."""
    from nurture.inbox.store import Inbox
    from nurture.store import Store

    if status is not None and status not in STATUSES:
        err.print(f"unknown status {status!r}; one of: {', '.join(STATUSES)}")
        raise typer.Exit(2)
    inbox = Inbox(Store.from_settings(get_settings()))
    table = Table("received (UTC)", "provider", "event", "lead", "status", "note")
    for row in inbox.list(status=status, lead_id=lead, limit=limit):
        table.add_row(
            f"{row.received_at:%Y-%m-%d %H:%M:%S}",
            row.provider,
            row.kind or row.raw_kind,
            row.lead_id or "—",
            row.status,
            row.last_error or "",
        )
    console.print(table)
    console.print(", ".join(f"{n} {s}" for s, n in inbox.counts().items()))


async def _deliver(settings: Settings, retry_unknown: bool) -> int:
    from nurture.inbox.delivery import BATCH, Deliverer, TemporalLink
    from nurture.inbox.store import Inbox
    from nurture.store import Store

    inbox = Inbox(Store.from_settings(settings))
    if retry_unknown:
        console.print(f"{inbox.requeue_unknown()} unknown-lead event(s) requeued")
    deliverer = Deliverer(inbox, TemporalLink(settings))
    delivered = unknown = 0
    while True:
        report = await deliverer.deliver()
        delivered += len(report.delivered)
        unknown += len(report.unknown_lead)
        if report.failed or report.attempted < BATCH:
            break
    console.print(f"{delivered} delivered, {unknown} unknown lead")
    if report.failed:
        err.print(tag(f"{len(report.failed)} still pending:", "red", report.error))
        return 1
    return 0


@app.command("deliver")
def deliver(
    retry_unknown: Annotated[
        bool, typer.Option(help="Retry unknown-lead events too (e.g. enrolled since)")
    ] = False,
) -> None:
    """Signal every pending event to its lead's journey now; exit 1 if some stay pending."""
    code = asyncio.run(_deliver(get_settings(), retry_unknown))
    if code:
        raise typer.Exit(code)
