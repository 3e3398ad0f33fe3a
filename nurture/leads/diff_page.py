"""``/cadences/NAME/diff``: what changed between the version running leads are on (or the file
on disk) and a new version (the file on disk, pasted or uploaded), from the same code as
``nurture cadence diff``; a new version with validation errors shows them located."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from temporalio.service import RPCError

from nurture.cadence.diff import diff_cadences
from nurture.cadence.model import Cadence
from nurture.leads.migrate import running_cadence_on, running_versions
from nurture.leads.new_file_form import SOURCES, NewFile, on_disk, read_new_file
from nurture.roster.reps import Role
from nurture.settings import Settings
from nurture.temporal.calls import LeadError
from nurture.web.auth import requires
from nurture.web.csrf import require_csrf
from nurture.web.pages import SettingsDep, app_client, render

#: Who may compare versions: marketing, and managers and admins who look (as on /cadences).
READERS: tuple[Role, ...] = ("marketing", "manager", "admin")
router = APIRouter(dependencies=[Depends(requires(*READERS))])

#: How long the page waits for Temporal to say which versions run (then it diffs files only).
VISIBILITY_WAIT = 8.0


async def versions_running(request: Request, name: str) -> tuple[dict[int, int], str | None]:
    """{version: running leads} from visibility, or ({}, why not) when Temporal cannot say."""
    try:
        client = await asyncio.wait_for(app_client(request.app), VISIBILITY_WAIT)
        return await asyncio.wait_for(running_versions(client, name), VISIBILITY_WAIT), None
    except LeadError as exc:
        return {}, exc.message
    except (TimeoutError, RuntimeError, RPCError, OSError) as exc:
        return {}, f"Temporal did not answer ({type(exc).__name__}): running versions unknown"


async def old_version(
    request: Request, settings: Settings, name: str, old: str
) -> tuple[Cadence | None, str, list[Any]]:
    """The version to compare from: 'file' (the file on disk) or 'vN' (as running leads hold it);
    returns (cadence, its label, problems)."""
    if old.startswith("v") and old[1:].isdigit():
        try:
            client = await app_client(request.app)
            cadence = await running_cadence_on(client, name, old[1:])
        except (LeadError, LookupError, RuntimeError, RPCError) as exc:
            return None, old, [getattr(exc, "message", None) or str(exc)]
        return cadence, f"{old} as running leads hold it", []
    current = on_disk(settings, name)
    return current.cadence, current.label, [str(p) for p in current.problems]


async def diff_page(
    request: Request, settings: SettingsDep, name: str, old: str, new: NewFile
) -> HTMLResponse:
    """The form, and the diff of ``old`` and ``new`` when both are valid."""
    versions, temporal_error = await versions_running(request, name)
    if not old:
        old = f"v{max(versions)}" if versions else "file"
    before, old_label, old_problems = await old_version(request, settings, name, old)
    diff = diff_cadences(before, new.cadence) if before and new.cadence else None
    context = {
        "name": name,
        "versions": versions,
        "temporal_error": temporal_error,
        "old": old,
        "old_label": old_label,
        "old_problems": old_problems,
        "new": new,
        "sources": SOURCES,
        "diff": diff,
        "areas": [("wait", "Waits"), ("branch", "Branches"), ("template", "Templates")],
    }
    status = 422 if new.problems or old_problems else 200
    return render(request, "live/diff.html", context, status)


@router.get("/cadences/{name}/diff", response_class=HTMLResponse)
async def diff_get(
    request: Request, settings: SettingsDep, name: str, old: str = ""
) -> HTMLResponse:
    """Compare ``old`` (default: the newest running version) with the file on disk."""
    return await diff_page(request, settings, name, old, on_disk(settings, name))


@router.post(
    "/cadences/{name}/diff",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def diff_post(request: Request, settings: SettingsDep, name: str) -> HTMLResponse:
    """Compare ``old`` with a pasted or uploaded new version (or the file on disk)."""
    form = await request.form()
    new = await read_new_file(form, settings, name)
    return await diff_page(request, settings, name, str(form.get("old") or ""), new)
