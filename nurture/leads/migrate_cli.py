"""``nurture cadence migrate NAME --to FILE``: move running leads to a newer cadence version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
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
        from nurture.leads.migrate import migrate_cadence

        with _Bars() as bars:
            return await migrate_cadence(client, action, where, dry_run, bars)

    found, report = run_with_client(work)
    print_plans(found, cadence, moving)
    if report is not None:
        _print_report(found, report)
        if report.failed:
            raise typer.Exit(1)


def _checked(name: str, path: Path) -> Cadence:
    """The new version, fully validated (shape, graph, templates)."""
    from nurture.cadence.new_version import check_new_version
    from nurture.settings import get_settings

    if not path.exists():
        raise fail(f"no such file: {path}", 2)
    cadence, found = check_new_version(path, name, get_settings().templates_dir)
    if cadence is None:
        for problem in found:
            console.print(str(problem), style="red")
        raise fail(f"{path} is not a valid version of {name}", 2)
    return cadence


def _mapping(pairs: list[str]) -> dict[str, str]:
    from nurture.leads.migrate import parse_mapping

    try:
        return parse_mapping(pairs)
    except ValueError as exc:
        raise fail(f"--map {exc}", 2) from None


class _Bars:
    """A progress bar per stage of the run (reading the leads, moving them)."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _Bars:
        return self

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def stage(self, label: str, total: int) -> None:
        if self.bar is not None:
            self.bar.stop()
        self.bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("leads", total=total)

    def advance(self) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task)


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
    from nurture.leads.migrate import refusals

    refused = refusals(found, report)
    console.print(
        f"moved {len(report.moved)} · refused {len(refused)} · failed {len(report.failed)}",
        highlight=False,
    )
    if refused or report.failed:
        table = Table("lead", "outcome", "why")
        for lead_id, why in refused.items():
            table.add_row(lead_id, "refused", why)
        for lead_id, why in sorted(report.failed.items()):
            table.add_row(lead_id, "failed", why)
        console.print(table)
