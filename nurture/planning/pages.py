"""The cadence pages for marketing: ``/cadences`` (every cadence and whether it is valid) and
``/cadences/NAME`` (its step graph, the preview of a lead's way through it and every message, or
the located validation errors of a broken file)."""

from __future__ import annotations

from datetime import UTC, date, datetime
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
