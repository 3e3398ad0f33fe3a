"""``nurture cadence preview`` (and ``nurture forecast``): plan a cadence before it goes live."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.table import Table

from nurture.cadence.model import find_cadence
from nurture.cadence.render import Renderer, sample_lead
from nurture.console import console, err
from nurture.lead import Lead
from nurture.leads.enrollment import load_rules
from nurture.planning.preview import Preview, first_moment, load_cadences, parse_engagement
from nurture.planning.preview import preview as run_preview
from nurture.settings import Settings, get_settings


async def _running_lead(settings: Settings, lead_id: str) -> Lead:
    from nurture.journey.state import Journey
    from nurture.temporal import calls
    from nurture.temporal.client import connect

    client = await connect(settings)
    journey: Journey = await calls.query(client, lead_id, "state", Journey)
    return journey.lead


def preview_command(
    name: Annotated[str, typer.Argument(help="The cadence (file name without .yaml)")],
    lead: Annotated[
        str | None, typer.Option("--lead", help="A running lead's id (read from Temporal)")
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="The made-up sample lead (the default)")
    ] = False,
    start: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Enrol on this day, 09:00 lead time"),
    ] = None,
    engage: Annotated[
        str | None,
        typer.Option(help="Engagement path, e.g. click@intro-email,reply@c2/tips-email+2d"),
    ] = None,
    months: Annotated[int, typer.Option(min=1, max=36, help="How far to look")] = 12,
    messages: Annotated[bool, typer.Option(help="Print each rendered message")] = True,
) -> None:
    """Every touch a lead would get, in order: local time, channel, step, cycle, branch taken,
    and the rendered message."""
    settings = get_settings()
    if lead and sample:
        err.print("give --lead or --sample, not both")
        raise typer.Exit(2)
    try:
        cadence = find_cadence(settings.cadences_dir, name)
        path = parse_engagement(engage or "")
    except (LookupError, ValueError) as exc:
        err.print(f"[red]error[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    who = asyncio.run(_running_lead(settings, lead)) if lead else sample_lead(cadence.sample_lead)
    day: date | None = start.date() if start else None
    result = run_preview(
        cadence,
        who,
        first_moment(who, cadence, day, datetime.now(UTC)),
        cadences=load_cadences(settings.cadences_dir),
        rules=load_rules(settings.cadences_dir),
        engage=path,
        renderer=Renderer(settings.templates_dir),
        months=months,
    )
    print_preview(result, messages)


def print_preview(result: Preview, messages: bool) -> None:
    """The preview as a table, then each message."""
    zone = result.lead.timezone or result.cadence.calendar.timezone
    console.print(
        f"[bold]{result.cadence.name} v{result.cadence.version}[/] for lead {result.lead.id}"
        f" ({zone}), from {result.start:%Y-%m-%d}"
    )
    table = Table("#", "local time", "channel", "step", "cycle", "cadence", "branch taken")
    table.columns[1].no_wrap = True
    for n, item in enumerate(result.touches, 1):
        touch = item.touch
        route = "; ".join(item.route)
        if item.engaged:
            route += ("; " if route else "") + "then " + ", ".join(item.engaged)
        table.add_row(
            str(n),
            f"{item.local:%a %d %b %Y %H:%M}",
            touch.channel.value,
            touch.step_id,
            str(touch.cycle),
            touch.cadence,
            route,
        )
    console.print(table)
    console.print(f"{len(result.touches)} touch(es); ends: {result.ending}")
    for engagement in result.unused:
        err.print(f"[yellow]not used[/] {engagement}: no touch of step {engagement.step!r}")
    if not messages:
        return
    for n, item in enumerate(result.touches, 1):
        touch = item.touch
        console.rule(f"{n}. {touch.summary} · {item.local:%a %d %b %H:%M}")
        if item.error:
            err.print(f"[red]not rendered[/] {item.error}", highlight=False)
            continue
        assert item.rendered is not None
        if item.rendered.subject:
            console.print(f"[bold]Subject:[/] {item.rendered.subject}", highlight=False)
        body = item.rendered.text or _html_text(item.rendered.html or "")
        console.print(body, highlight=False, markup=False)


def _html_text(html: str) -> str:
    """A letter's text, roughly (tags dropped) for the terminal."""
    import re

    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S | re.I)
    text = re.sub(r"<br\s*/?>|</p>|</div>|</h\d>", "\n", text, flags=re.I)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
