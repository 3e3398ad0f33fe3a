"""``nurture cadence preview`` (and ``nurture forecast``): plan a cadence before it goes live."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from nurture.cadence.model import Cadence, find_cadence
from nurture.cadence.render import Rendered, Renderer, sample_lead
from nurture.console import bold, console, err, tag
from nurture.lead import Lead
from nurture.leads.enrollment import load_rules
from nurture.planning.preview import Preview, first_moment, load_cadences, parse_engagement
from nurture.planning.preview import preview as run_preview
from nurture.planning.report import CHANNELS, Period, Report, Summary
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
        err.print(tag("error", "red", exc))
        raise typer.Exit(2) from None
    from nurture.temporal.calls import LeadError

    who = sample_lead(cadence.sample_lead)
    if lead:
        try:
            who = asyncio.run(_running_lead(settings, lead))
        except (LeadError, RuntimeError, OSError) as exc:
            err.print(tag("error", "red", f"lead {lead}: {str(exc).splitlines()[0]}"))
            raise typer.Exit(1) from None
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
        bold(
            "",
            f"{result.cadence.name} v{result.cadence.version}",
            f" for lead {result.lead.id} ({zone}), from {result.start:%Y-%m-%d}",
        )
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
            touch.step_id + (f" [{touch.variant}]" if touch.variant else ""),
            str(touch.cycle),
            touch.cadence,
            route,
        )
    console.print(table)
    console.print(f"{len(result.touches)} touch(es); ends: {result.ending}")
    for engagement in result.unused:
        err.print(tag("not used", "yellow", f"{engagement}: no touch of step {engagement.step!r}"))
    if not messages:
        return
    shown: set[tuple[str, str]] = set()
    for n, item in enumerate(result.touches, 1):
        touch = item.touch
        console.rule(f"{n}. {touch.summary} · {item.local:%a %d %b %H:%M}")
        _print_message(item.rendered, item.error)
        if not item.variants or (touch.cadence, touch.step_id) in shown:
            continue
        shown.add((touch.cadence, touch.step_id))  # each step's variants once, where first met
        console.print(bold("", f"A/B variants of step {touch.step_id}:", ""))
        for variant in item.variants:
            mine = " ← this lead's" if variant.picked else ""
            console.print(
                bold(
                    "", f"  variant {variant.id}", f" ({variant.share:.0%}, {variant.source}){mine}"
                )
            )
            _print_message(variant.rendered, variant.error)


def _print_message(rendered: Rendered | None, error: str | None) -> None:
    if error:
        err.print(tag("not rendered", "red", error))
        return
    if rendered is None:
        return
    if rendered.subject:
        console.print(bold("", "Subject:", f" {rendered.subject}"))
    body = rendered.text or _html_text(rendered.html or "")
    console.print(body, highlight=False, markup=False)


def _html_text(html: str) -> str:
    """A letter's text, roughly (tags dropped) for the terminal."""
    import re

    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S | re.I)
    text = re.sub(r"<br\s*/?>|</p>|</div>|</h\d>", "\n", text, flags=re.I)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


# ---------------------------------------------------------------- forecast


def forecast_command(
    cadence: Annotated[
        str | None,
        typer.Option(help="The cadence every lead enters (default: routed by segment)"),
    ] = None,
    leads: Annotated[
        Path | None, typer.Option("--leads", help="Leads from a CSV (as for nurture enroll)")
    ] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Made-up leads instead of a CSV")] = None,
    mix: Annotated[
        list[str] | None,
        typer.Option(help="Segments of made-up leads, e.g. --mix strategic=0.2 --mix standard=0.8"),
    ] = None,
    response: Annotated[
        Path | None, typer.Option(help="Response model (default: cadences/_response.yaml)")
    ] = None,
    costs: Annotated[
        Path | None, typer.Option(help="Costs (default: cadences/_costs.yaml)")
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Enrolment day (default: next Monday)"),
    ] = None,
    months: Annotated[int, typer.Option(min=1, max=36, help="How far to look")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same forecast)")] = 0,
    csv_out: Annotated[
        bool, typer.Option("--csv", help="Print the days (or --by week) as CSV instead")
    ] = False,
    by: Annotated[str, typer.Option(help="CSV rows: day or week")] = "day",
    days: Annotated[bool, typer.Option("--days", help="Also print the table per day")] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes (default: every core)")
    ] = None,
) -> None:
    """Forecast a cadence: touches per channel, call desk load against capacity, governor
    deferrals, sales-ready leads per team and cost, per week and per day."""
    from nurture.planning import forecast as fc
    from nurture.planning.costs import COSTS_FILE, load_costs, load_desk
    from nurture.planning.report import build_report, to_csv
    from nurture.planning.response import RESPONSE_FILE, load_response
    from nurture.yamlfiles import FileError

    settings = get_settings()
    folder = settings.cadences_dir
    if (leads is None) == (count is None):
        err.print("give --leads FILE.csv or --count N (with --mix segment=share ...)")
        raise typer.Exit(2)
    if by not in ("day", "week"):
        err.print("--by is day or week")
        raise typer.Exit(2)
    try:
        cadences = load_cadences(folder)
        if cadence is not None and cadence not in cadences:
            raise LookupError(f"no cadence named {cadence!r} (known: {', '.join(cadences)})")
        model = load_response(response or folder / RESPONSE_FILE)
        prices = load_costs(costs or folder / COSTS_FILE)
        source: fc.LeadSource
        if leads is not None:
            from nurture.leads.enrollment import read_leads

            rows, problems = read_leads(leads)
            for problem in problems:
                err.print(tag("rejected", "red", f"{leads}:{problem}"))
            source = [lead for _, lead in rows]
        else:
            assert count is not None
            source = fc.SyntheticLeads(count, fc.parse_mix(mix or [_default_mix(cadences)]))
    except (LookupError, ValueError, FileError, OSError) as exc:
        err.print(tag("error", "red", exc))
        raise typer.Exit(2) from None
    day = start.date() if start else _next_monday(date.today())
    plan = fc.Plan(
        cadences=cadences,
        rules=load_rules(folder),
        response=model,
        costs=prices,
        desk=load_desk(folder),
        start=datetime.combine(day, time(14, 0), tzinfo=UTC),
        months=months,
        seed=seed,
        cadence=cadence,
    )
    try:
        for lead in source[:1] if isinstance(source, list) else [source[0]]:
            plan.cadence_for(lead)
    except LookupError as exc:
        err.print(tag("error", "red", exc))
        raise typer.Exit(2) from None
    began = perf_counter()
    with Progress(
        TextColumn("forecasting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("leads"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("forecast", total=len(source))
        tally = fc.run_forecast(
            plan, source, workers=workers, progress=lambda n: progress.advance(task, n)
        )
    took = perf_counter() - began
    report = build_report(plan, tally)
    if csv_out:
        print(to_csv(report, report.days if by == "day" else report.weeks, by), end="")
        return
    print_report(report, days)
    err.print(f"{tally.leads} leads in {took:.1f} s ({tally.leads / max(took, 1e-9):.0f} leads/s)")


def _default_mix(cadences: dict[str, Cadence]) -> str:
    segments = sorted({s for c in cadences.values() for s in c.audience.segments})
    return ",".join(f"{s}=1" for s in segments) or "standard=1"


def _next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def _money(value: float | None, currency: str) -> str:
    return "—" if value is None else f"{value:,.2f} {currency}"


def print_report(report: Report, daily: bool) -> None:
    """The weeks (and the days) as tables, then the summary."""
    s = report.summary
    plan = report.plan
    what = plan.cadence or "routed by segment"
    console.print(
        bold(
            "",
            "Forecast",
            f" {what}: {s.leads:,} leads from {plan.start:%Y-%m-%d},"
            f" {plan.months} months, seed {plan.seed}",
        )
    )
    console.print(_table(report, report.weeks, "week"))
    if daily:
        console.print(_table(report, [d for d in report.days if d.touch_total or d.over], "day"))
    over = [d for d in report.days if d.over]
    for d in over[:10]:
        queues = ", ".join(
            f"{q} {d.call_minutes[q] / 60:.0f} h of {d.capacity[q] / 60:.0f} h" for q in d.over
        )
        console.print(tag("over capacity", "red", f"{d.start:%a %Y-%m-%d}: {queues}"))
    if len(over) > 10:
        console.print(tag(f"… and {len(over) - 10} more day(s) over capacity", "red"))
    console.print(summary_table(s))
    if s.variants:
        console.print(variants_table(s))


#: Narrow column names.
SHORT = {"voicemail": "vm", "direct_mail": "mail"}


def _table(report: Report, periods: list[Period], kind: str) -> Table:
    channels = [c for c in CHANNELS if any(p.touches[c] for p in periods)]
    table = Table(title=f"per {kind}", title_justify="left")
    table.add_column(kind, no_wrap=True)
    for channel in channels:
        table.add_column(SHORT.get(channel, channel), justify="right")
    for queue in report.queues:
        table.add_column(f"{queue} tasks", justify="right")
        table.add_column(f"{queue} h/cap", justify="right", no_wrap=True)
    table.add_column("deferred", justify="right")
    for team in report.teams:
        table.add_column(f"ready {team}", justify="right")
    table.add_column(f"cost {report.summary.currency}", justify="right")
    for p in periods:
        desk: list[str | Text] = []
        for queue in report.queues:
            cell = f"{p.call_minutes[queue] / 60:,.0f}/{p.capacity[queue] / 60:,.0f}"
            if queue in p.over:
                flag = f" {p.days_over}d!" if kind == "week" else " !"
                desk += [f"{p.call_tasks[queue]:,}", Text(cell + flag, "red")]
                continue
            desk += [f"{p.call_tasks[queue]:,}", cell]
        table.add_row(
            f"{p.start:%Y-%m-%d}" + ("" if kind == "week" else f" {p.start:%a}"),
            *[f"{p.touches[c]:,}" for c in channels],
            *desk,
            f"{sum(p.deferrals.values()):,}",
            *[f"{p.sales_ready[t]:,}" for t in report.teams],
            f"{p.cost:,.0f}",
        )
    return table


def variants_table(s: Summary) -> Table:
    """Touches per A/B variant, against the share its weight asks for."""
    table = Table(
        "cadence",
        "step",
        "variant",
        "weight share",
        "touches",
        "share of the step",
        title="A/B variants",
        title_justify="left",
    )
    for v in s.variants:
        table.add_row(
            v.cadence,
            v.step,
            v.variant,
            f"{v.weight_share:.1%}",
            f"{v.touches:,}",
            f"{v.share:.1%}",
        )
    return table


def summary_table(s: Summary) -> Table:
    """The forecast in a few lines."""
    table = Table("", "", title="summary", title_justify="left", show_header=False)
    touches = ", ".join(f"{k} {v:,}" for k, v in sorted(s.touches.items()))
    table.add_row("leads", f"{s.leads:,}")
    table.add_row("touches", f"{sum(s.touches.values()):,} ({touches})")
    tasks = ", ".join(f"{k} {v:,}" for k, v in sorted(s.call_tasks.items())) or "none"
    table.add_row("call tasks", f"{tasks}; {s.call_hours:,.0f} rep hours")
    over = ", ".join(f"{k} {v}" for k, v in sorted(s.days_over.items())) or "none"
    table.add_row("days over desk capacity", over)
    deferred = ", ".join(f"{k} {v:,}" for k, v in sorted(s.deferrals.items())) or "none"
    table.add_row("governor deferrals", f"{sum(s.deferrals.values()):,} ({deferred})")
    teams = ", ".join(f"{k} {v:,}" for k, v in sorted(s.sales_ready.items())) or "none"
    table.add_row("sales-ready (handoffs)", f"{s.sales_ready_total:,} ({teams})")
    table.add_row("expected opportunities", f"{s.opportunities:,.1f}")
    costs = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(s.cost.items()))
    table.add_row("cost", f"{_money(s.total_cost, s.currency)} ({costs})")
    table.add_row("cost per sales-ready lead", _money(s.cost_per_sales_ready, s.currency))
    table.add_row("cost per opportunity", _money(s.cost_per_opportunity, s.currency))
    ends = ", ".join(f"{k} {v:,}" for k, v in s.outcomes.most_common())
    table.add_row("where leads end", ends)
    return table
