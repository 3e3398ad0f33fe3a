"""`nurture cadence validate` and `nurture cadence schema`: marketing's checks of its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nurture.console import console, err, tag
from nurture.settings import get_settings

cadence_app = typer.Typer(
    help="Validate cadence files and export their schema.", no_args_is_help=True
)


@cadence_app.command("validate")
def cadence_validate(
    files: Annotated[list[Path] | None, typer.Argument(help="Cadence files (default: all)")] = None,
) -> None:
    """Check cadence files: shape, steps, templates (rendered for a sample lead), references."""
    from nurture.cadence.model import RULE_FILES, cadence_files
    from nurture.cadence.overlap import roster_warnings
    from nurture.cadence.validate import rule_files, validate_files

    settings = get_settings()
    paths = files or [*cadence_files(settings.cadences_dir), *rule_files(settings.cadences_dir)]
    if not paths:
        err.print(f"no cadence files in {settings.cadences_dir}")
        raise typer.Exit(2)
    good, problems = validate_files(list(paths), settings.templates_dir)
    for problem in problems:
        err.print(tag("error", "red", problem))
    by_name = {cadence.name: cadence for cadence in good}
    for warning in roster_warnings({p: by_name[p.stem] for p in paths if p.stem in by_name}):
        err.print(tag("warning", "yellow", warning))
    for cadence in good:
        console.print(
            tag(
                "ok",
                "green",
                f"{cadence.name} v{cadence.version}: {len(cadence.steps)} "
                f"steps, {cadence.touch_count()} touches × {cadence.cycles.count} cycles",
            )
        )
    bad = {problem.file for problem in problems}
    for path in paths:
        if path.stem in RULE_FILES and str(path) not in bad:
            console.print(tag("ok", "green", path.name))
    if problems:
        err.print(f"{len(problems)} problem(s) in {len(bad)} file(s)")
        raise typer.Exit(1)


@cadence_app.command("schema")
def cadence_schema(
    out: Annotated[Path | None, typer.Option(help="Write to this file")] = None,
) -> None:
    """Print the JSON Schema of cadence files (for editors and CI)."""
    from nurture.cadence.model import Cadence

    text = json.dumps(Cadence.model_json_schema(by_alias=True), indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
