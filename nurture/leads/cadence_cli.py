"""Commands for changing cadences: ``nurture cadence variants | diff | migrate``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nurture.cadence.diff import diff_cadences
from nurture.cadence.model import Cadence, find_cadence, load_cadence
from nurture.cadence.variants import shares, step_variants
from nurture.console import console
from nurture.leads.migrate_cli import migrate_command
from nurture.settings import get_settings
from nurture.temporal.calls import LeadError
from nurture.yamlfiles import FileError


def register(cadence_app: typer.Typer) -> None:
    """Add these commands to ``nurture cadence``."""
    cadence_app.command("variants")(variants_command)
    cadence_app.command("diff")(diff_command)
    cadence_app.command("migrate")(migrate_command)


def variants_command(
    name: Annotated[str, typer.Argument(help="Cadence name (or a cadence file)")],
) -> None:
    """List a cadence's A/B variants: per step, each variant's weight, share and template."""
    cadence = _load(name)
    found = step_variants(cadence)
    if not found:
        console.print(f"{cadence.name} v{cadence.version} has no A/B variants")
        return
    table = Table("step", "variant", "weight", "share of leads", "template")
    for step_id, variants in found:
        share = shares(variants)
        for variant in variants:
            table.add_row(
                step_id,
                variant.id,
                f"{variant.weight:g}",
                f"{share[variant.id]:.0%}",
                variant.describe(),
            )
    console.print(f"{cadence.name} v{cadence.version}", style="bold")
    console.print(table)


def diff_command(
    old: Annotated[str, typer.Argument(help="Old: a file, a cadence name, or NAME@running|NAME@V")],
    new: Annotated[str, typer.Argument(help="New: a file or a cadence name")],
) -> None:
    """What changed from OLD to NEW: steps added, removed, changed (waits, branches, templates)."""
    before, after = _load(old), _load(new)
    diff = diff_cadences(before, after)
    for line in diff.lines():
        style = {"+": "green", "-": "red", "~": "yellow"}.get(line[:1])
        console.print(line, style=style, highlight=False, markup=False)


def _load(ref: str) -> Cadence:
    """A cadence from a file, a name in the cadences folder, or a running version (NAME@V)."""
    try:
        path = Path(ref)
        if path.suffix in (".yaml", ".yml") or path.exists():
            return load_cadence(path)
        if "@" in ref:
            from nurture.leads.migrate import running_cadence

            name, _, version = ref.partition("@")
            settings = get_settings()
            return asyncio.run(running_cadence(settings, name, version))
        return find_cadence(get_settings().cadences_dir, ref)
    except FileError as exc:
        for problem in exc.problems:
            console.print(str(problem), style="red")
        raise typer.Exit(1) from None
    except (LookupError, OSError, RuntimeError, LeadError, ValueError) as exc:
        console.print(getattr(exc, "message", None) or str(exc), style="red")
        raise typer.Exit(1) from None
