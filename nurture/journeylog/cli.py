"""``nurture report KIND``: the journey log's reports in the terminal, or as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.table import Table

from nurture.console import console, fail
from nurture.settings import get_settings

__all__ = ["report_command"]


def _when(value: str | None, option: str) -> datetime | None:
    """A date (UTC midnight) or an ISO 8601 time with its offset."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date (2026-12-01) or ISO 8601 time", 2) from None
    if parsed.tzinfo is None:
        raise fail(f"{option}: add the UTC offset, e.g. {value}Z", 2)
    return parsed


def report_command(
    kind: Annotated[
        str, typer.Argument(help="funnel, steps, channels, desk, sales, money or win-loss")
    ],
    cadence: Annotated[str | None, typer.Option(help="Only this cadence")] = None,
    version: Annotated[int | None, typer.Option(help="Only this cadence version")] = None,
    segment: Annotated[str | None, typer.Option(help="Only this segment")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="From this date/time (UTC; enrolment for funnel)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Up to this date/time (excluded)")] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="step, channel, variant, rep, week, cadence, version, segment or source",
        ),
    ] = None,
    confidence: Annotated[
        float, typer.Option(help="Confidence to declare a variant winner")
    ] = 0.95,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table")] = False,
) -> None:
    """Reports from the journey log: funnel, steps, channels, desk, sales, money, win-loss."""
    from nurture.journeylog.costs import load_costs
    from nurture.journeylog.export import to_csv
    from nurture.journeylog.reports import GROUPS, KINDS, Filters, build
    from nurture.store import Store

    if kind not in KINDS:
        raise fail(f"unknown report {kind!r}: one of {', '.join(KINDS)}", 2)
    if group_by is not None and group_by not in GROUPS:
        raise fail(f"--group-by: one of {', '.join(GROUPS)}", 2)
    if not 0.5 <= confidence < 1:
        raise fail("--confidence: between 0.5 and 1, e.g. 0.95", 2)
    settings = get_settings()
    filters = Filters(
        cadence=cadence,
        version=version,
        segment=segment,
        start=_when(start, "--from"),
        end=_when(end, "--to"),
        group_by=group_by,
        confidence=confidence,
    )
    store = Store.from_settings(settings)
    try:
        report = build(kind, store, filters, load_costs(settings.cadences_dir))
    finally:
        store.close()
    if as_csv:
        typer.echo(to_csv(report), nl=False)
        return
    table = Table(title=report.title)
    for column in report.columns:
        table.add_column(column, justify="left" if column == report.columns[0] else "right")
    for row in report.rows:
        table.add_row(*("—" if v is None else str(v) for v in row))
    console.print(table)
    for note in report.notes:
        console.print(f"  {note}")
    for column, meaning in report.explain.items():
        console.print(f"  {column}: {meaning}", style="dim")
