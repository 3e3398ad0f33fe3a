"""``nurture lead pause|resume`` and ``nurture cadence pause|resume``: hold a lead's touches (out
of office until a date) or every running lead on a cadence, and let them go again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nurture.console import aware_time, console, err, fail, problems, run_with_client, tag

if TYPE_CHECKING:
    from temporalio.client import Client

    from nurture.contracts import PauseLead, ResumeLead
    from nurture.leads.pauses import BatchReport

UntilOption = Annotated[
    str | None,
    typer.Option(help="Resume on its own then: ISO 8601 with offset, e.g. 2026-12-01T09:00+01:00"),
]


def _pause_action(reason: str, until: str | None) -> PauseLead:
    from pydantic import ValidationError

    from nurture.contracts import PauseLead

    try:
        return PauseLead(reason=reason, until=aware_time(until, "--until"))
    except ValidationError as exc:
        raise fail(problems(exc), 2) from None


# ---------------------------------------------------------------- one lead


def lead_pause(
    lead_id: str,
    until: UntilOption = None,
    reason: Annotated[str, typer.Option(help="Why, e.g. 'out of office'")] = "paused",
) -> None:
    """Hold a lead's touches until a time, or until resumed (events still count)."""
    from nurture.leads.pauses import pause_lead

    action = _pause_action(reason, until)
    text = run_with_client(lambda client: pause_lead(client, lead_id, action))
    console.print(f"{lead_id}: {text}", highlight=False)


def lead_resume(
    lead_id: str,
    reason: Annotated[str, typer.Option(help="Why")] = "resumed",
) -> None:
    """Resume a paused lead, or retry the failed step of a journey held on an error."""
    from nurture.contracts import ResumeLead
    from nurture.leads.pauses import resume_lead

    text = run_with_client(lambda client: resume_lead(client, lead_id, ResumeLead(reason=reason)))
    console.print(f"{lead_id}: {text}", highlight=False)


def lead_skip_step(
    lead_id: str,
    reason: Annotated[str, typer.Option(help="Why")] = "skipped by an operator",
) -> None:
    """Move a journey held on an error (LeadStage 'fault') past the step that failed."""
    from nurture.contracts import SkipStep
    from nurture.temporal.calls import update

    text: str = run_with_client(
        lambda client: update(client, lead_id, "skip_step", SkipStep(reason=reason), str)
    )
    console.print(f"{lead_id}: {text}", highlight=False)


# ---------------------------------------------------------------- a whole cadence


def _batch(name: str, action: PauseLead | ResumeLead, verb: str) -> None:
    """Send the action to every running lead on the cadence, with a progress bar; exit 1 if any
    lead could not be reached (refusals are reported, they are answers)."""
    from nurture.leads.pauses import cadence_leads, for_each_lead

    async def work(client: Client) -> tuple[int, BatchReport]:
        leads = await cadence_leads(client, name)
        with Progress(
            TextColumn(f"{verb} {name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(verb, total=len(leads))
            report = await for_each_lead(
                client, leads, action, on_done=lambda: progress.advance(task)
            )
        return len(leads), report

    total, report = run_with_client(work)
    if not total:
        console.print(f"no running leads on cadence {name}")
        return
    if report.refused:
        table = Table("lead", "refused", title=f"{len(report.refused)} lead(s) not {verb}")
        for lead_id, why in sorted(report.refused.items()):
            table.add_row(lead_id, why)
        console.print(table)
    for lead_id, why in sorted(report.failed.items()):
        err.print(tag("error", "red", f"{lead_id}: {why}"))
    console.print(
        f"{len(report.done)} {verb}, {len(report.refused)} refused, {len(report.failed)} failed"
        f" (of {total} running on {name})"
    )
    if report.failed:
        raise typer.Exit(1)


def cadence_pause(
    name: Annotated[str, typer.Argument(help="Cadence name")],
    until: UntilOption = None,
    reason: Annotated[str | None, typer.Option(help="Why (default: 'cadence NAME paused')")] = None,
) -> None:
    """Pause every running lead on a cadence (leads with sales are refused and listed)."""
    _batch(name, _pause_action(reason or f"cadence {name} paused", until), "paused")


def cadence_resume(
    name: Annotated[str, typer.Argument(help="Cadence name")],
    reason: Annotated[str | None, typer.Option(help="Why (default: 'cadence NAME resumed')")] = (
        None
    ),
) -> None:
    """Resume every paused lead on a cadence (leads that are not paused are listed as refused)."""
    from nurture.contracts import ResumeLead

    _batch(name, ResumeLead(reason=reason or f"cadence {name} resumed"), "resumed")


def register(lead_app: typer.Typer, cadence_app: typer.Typer) -> None:
    """Add the pause and resume commands to ``nurture lead`` and ``nurture cadence``."""
    lead_app.command("pause")(lead_pause)
    lead_app.command("resume")(lead_resume)
    lead_app.command("skip-step")(lead_skip_step)
    cadence_app.command("pause")(cadence_pause)
    cadence_app.command("resume")(cadence_resume)
