"""The cadence pages for marketing: ``/cadences`` (every cadence and whether it is valid) and
``/cadences/NAME`` (its step graph, the preview of a lead's way through it and every message, or
the located validation errors of a broken file)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from nurture.cadence.model import Cadence, cadence_files
from nurture.cadence.render import Renderer, sample_lead
from nurture.cadence.validate import validate_files
from nurture.leads.enrollment import load_rules
from nurture.planning.diagram import render_svg
from nurture.planning.preview import (
    Engagement,
    first_moment,
    load_cadences,
    parse_engagement,
    preview,
)
from nurture.roster.reps import Role
from nurture.web.auth import requires
from nurture.web.pages import SettingsDep, render
from nurture.yamlfiles import Problem

#: Marketing writes the cadences; managers and admins may look.
PLANNERS: tuple[Role, ...] = ("marketing", "manager", "admin")
router = APIRouter(dependencies=[Depends(requires(*PLANNERS))])


def _paths(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in cadence_files(folder)}


def check(path: Path, templates_dir: Path) -> tuple[Cadence | None, list[Problem]]:
    """The cadence of one file if it is valid, else its located problems."""
    good, problems = validate_files([path], templates_dir)
    mine = [p for p in problems if p.file == str(path)]
    return (good[0] if good and not mine else None), mine or problems


@router.get("/cadences", response_class=HTMLResponse)
def cadences_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Every cadence file: name, version, audience, steps and touches, valid or not."""
    rows: list[dict[str, Any]] = []
    for name, path in _paths(settings.cadences_dir).items():
        cadence, problems = check(path, settings.templates_dir)
        rows.append({"name": name, "cadence": cadence, "problems": problems})
    return render(request, "planning/cadences.html", {"rows": rows})


@router.get("/cadences/{name}", response_class=HTMLResponse)
def cadence_page(
    request: Request,
    settings: SettingsDep,
    name: str,
    engage: str = "",
    start: str = "",
) -> HTMLResponse:
    """One cadence: step graph, preview timeline and messages (or its validation errors)."""
    path = _paths(settings.cadences_dir).get(name)
    if path is None:
        raise HTTPException(404, f"no cadence named {name!r}")
    cadence, problems = check(path, settings.templates_dir)
    context: dict[str, Any] = {
        "name": name,
        "file": path.name,
        "cadence": cadence,
        "problems": problems,
        "engage": engage,
        "start": start,
        "path_error": None,
    }
    if cadence is None:
        return render(request, "planning/cadence.html", context, 422)
    path_steps: list[Engagement] = []
    try:
        path_steps = parse_engagement(engage)
    except ValueError as exc:
        context["path_error"] = str(exc)
    day: date | None = None
    try:
        day = date.fromisoformat(start) if start else None
    except ValueError:
        context["path_error"] = f"start {start!r}: write a date like 2026-03-02"
    lead = sample_lead(cadence.sample_lead)
    result = preview(
        cadence,
        lead,
        first_moment(lead, cadence, day, datetime.now(UTC)),
        cadences=load_cadences(settings.cadences_dir),
        rules=load_rules(settings.cadences_dir),
        engage=path_steps,
        renderer=Renderer(settings.templates_dir),
    )
    context.update(diagram=render_svg(cadence), preview=result, lead=lead)
    return render(request, "planning/cadence.html", context)


#: The most leads the page forecasts (bigger runs: ``nurture forecast`` on every core).
WEB_MAX_LEADS = 5000


@router.get("/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    settings: SettingsDep,
    cadence: str = "",
    count: int = 0,
    mix: str = "",
    months: int = 6,
    seed: int = 0,
    start: str = "",
) -> HTMLResponse:
    """Forecast a cadence for made-up leads: charts and the weekly table."""
    from nurture.planning import charts
    from nurture.planning import forecast as fc
    from nurture.planning.costs import COSTS_FILE, load_costs, load_desk
    from nurture.planning.report import CHANNELS, build_report
    from nurture.planning.response import RESPONSE_FILE, load_response

    folder = settings.cadences_dir
    cadences = load_cadences(folder)
    context: dict[str, Any] = {
        "names": sorted(cadences),
        "cadence": cadence,
        "count": count or 500,
        "mix": mix,
        "months": months,
        "seed": seed,
        "start": start,
        "error": None,
        "report": None,
        "limit": WEB_MAX_LEADS,
    }
    if not count:
        return render(request, "planning/forecast.html", context)
    try:
        if cadence and cadence not in cadences:
            raise ValueError(f"no cadence named {cadence!r}")
        if not 1 <= count <= WEB_MAX_LEADS:
            raise ValueError(f"leads: 1 to {WEB_MAX_LEADS:,} here (more with nurture forecast)")
        if not 1 <= months <= 24:
            raise ValueError("months: 1 to 24")
        day = date.fromisoformat(start) if start else datetime.now(UTC).date()
        shares = fc.parse_mix([mix] if mix.strip() else [_all_segments(cadences)])
        plan = fc.Plan(
            cadences=cadences,
            rules=load_rules(folder),
            response=load_response(folder / RESPONSE_FILE),
            costs=load_costs(folder / COSTS_FILE),
            desk=load_desk(folder),
            start=datetime.combine(day, time(14, 0), tzinfo=UTC),
            months=months,
            seed=seed,
            cadence=cadence or None,
        )
        leads = fc.SyntheticLeads(count, shares)
        plan.cadence_for(leads[0])
    except (ValueError, LookupError) as exc:
        context["error"] = str(exc)
        return render(request, "planning/forecast.html", context, 422)
    # One process: forking a web server's threads is not safe; the CLI uses every core.
    report = build_report(plan, fc.run_forecast(plan, leads, workers=1))
    days = [d.start for d in report.days]
    queue_charts = [
        (
            queue,
            charts.stacked_bars(
                f"Call desk {queue}: hours of call tasks per day vs capacity",
                days,
                {f"{queue} hours": [d.call_minutes[queue] / 60 for d in report.days]},
                capacity=[d.capacity[queue] / 60 for d in report.days],
                flagged=[queue in d.over for d in report.days],
            ),
        )
        for queue in report.queues
    ]
    context.update(
        report=report,
        touches_chart=charts.stacked_bars(
            "Touches per day by channel",
            days,
            {c: [d.touches[c] for d in report.days] for c in CHANNELS},
        ),
        queue_charts=queue_charts,
        ready_chart=charts.cumulative_line(
            "Cumulative sales-ready leads",
            days,
            [sum(d.sales_ready.values()) for d in report.days],
            "sales-ready leads",
        ),
        cost_chart=charts.cumulative_line(
            f"Cumulative cost ({report.summary.currency})",
            days,
            [d.cost for d in report.days],
            f"cost {report.summary.currency}",
        ),
        channels=CHANNELS,
    )
    return render(request, "planning/forecast.html", context)


def _all_segments(cadences: dict[str, Cadence]) -> str:
    segments = sorted({s for c in cadences.values() for s in c.audience.segments})
    return ",".join(f"{s}=1" for s in segments) or "standard=1"
