"""``nurture cadence migrate NAME --to FILE``: move running leads to a newer cadence version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nurture.console import console, fail, run_with_client

if TYPE_CHECKING:
    from temporalio.client import Client

    from nurture.cadence.model import Cadence
    from nurture.journey.migrate import MovePlan
    from nurture.leads.migrate import MigrationReport


def migrate_command(
    name: Annotated[str, typer.Argument(help="The cadence whose running leads move")],
    to: Annotated[Path, typer.Option("--to", help="The new version's file (version higher)")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="OLD-STEP=NEW-STEP for steps the new version lacks; repeat"),
    ] = None,
    where: Annotated[
        str | None, typer.Option(help="Only leads matching this, e.g. 'Segment = \"strategic\"'")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List where each lead is and would go; move none")
    ] = False,
) -> None:
    """Move the running leads of a cadence to a newer version, each at its next wait."""
    from nurture.contracts import MigrateLead

    cadence = _checked(name, to)
    action = MigrateLead(cadence=cadence, mapping=_mapping(map_ or []), by="nurture cli")
    moving = "would move" if dry_run else "moving"

    async def work(client: Client) -> tuple[list[MovePlan], MigrationReport | None]:
        from nurture.leads.migrate import migrate_leads, plans, running_leads

        leads = await running_leads(client, name, where)
        with _progress(f"Reading {len(leads)} lead(s) on {name}") as bar:
            task = bar.add_task("read", total=len(leads))
            found = await plans(client, leads, action, lambda: bar.advance(task))
        if dry_run:
            return found, None
        movable = [p.lead_id for p in found if p.refused is None]
        with _progress(f"Moving to v{cadence.version}") as bar:
            task = bar.add_task("move", total=len(movable))
            report = await migrate_leads(client, movable, action, lambda: bar.advance(task))
        return found, report

    found, report = run_with_client(work)
    print_plans(found, cadence, moving)
    if report is not None:
        _print_report(found, report)
        if report.failed:
            raise typer.Exit(1)


def _checked(name: str, path: Path) -> Cadence:
    """The new version, fully validated (shape, graph, templates)."""
    from nurture.cadence.validate import validate_files
    from nurture.settings import get_settings

    if not path.exists():
        raise fail(f"no such file: {path}", 2)
    cadences, found = validate_files([path], get_settings().templates_dir)
    # A new version may sit in any file: only its content counts, not the file's name.
    found = [p for p in found if "must match the file name" not in p.message]
    if not cadences and not found:
        from nurture.cadence.model import load_cadence

        cadences = [load_cadence(path)]
    if found or not cadences:
        for problem in found:
            console.print(str(problem), style="red")
        raise fail(f"{path} is not a valid cadence", 2)
    cadence = cadences[0]
    if cadence.name != name:
        raise fail(f"{path} is cadence {cadence.name!r}, not {name!r}", 2)
    return cadence


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise fail(f"--map {pair!r}: write OLD-STEP=NEW-STEP", 2)
        mapping[old.strip()] = new.strip()
    return mapping


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def print_plans(found: list[MovePlan], cadence: Cadence, moving: str) -> None:
    table = Table("lead", "version", "where now", "continues at", title=None)
    for item in sorted(found, key=lambda p: p.lead_id):
        table.add_row(
            item.lead_id,
            f"v{item.version}",
            item.at,
            item.to or f"refused: {item.refused}",
        )
    console.print(table)
    ok = sum(p.refused is None for p in found)
    console.print(
        f"{cadence.name}: {ok} of {len(found)} running lead(s) {moving} to v{cadence.version};"
        f" {len(found) - ok} refused",
        highlight=False,
    )


def _print_report(found: list[MovePlan], report: MigrationReport) -> None:
    refused = {p.lead_id: p.refused for p in found if p.refused is not None}
    refused.update(report.refused)
    console.print(
        f"moved {len(report.moved)} · refused {len(refused)} · failed {len(report.failed)}",
        highlight=False,
    )
    if refused or report.failed:
        table = Table("lead", "outcome", "why")
        for lead_id, why in sorted(refused.items()):
            table.add_row(lead_id, "refused", why or "")
        for lead_id, why in sorted(report.failed.items()):
            table.add_row(lead_id, "failed", why)
        console.print(table)
