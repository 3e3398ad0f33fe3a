"""``/cadences/NAME/migrate``: move a cadence's running leads to a new version from the web.

The form takes the new version (file on disk, pasted or uploaded), step mappings (old=new) and an
optional segment. "Dry run" lists every running lead (lead id only) with where it is and where it
would continue, and the leads that would be refused and why; "Migrate" (confirmed) sends each the
same validated ``migrate`` update as ``nurture cadence migrate``. Runs go on in the background
(:mod:`nurture.leads.migrate_runs`) while their page shows the progress.

Marketing (who own the cadences) and admins may migrate: the update's validator refuses every
unsafe move (with sales, a removed step without a mapping, a version not higher), so moving is the
last step of a cadence change rather than an act that needs an operator.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from nurture.contracts import MigrateLead
from nurture.leads.diff_page import versions_running
from nurture.leads.migrate import parse_mapping
from nurture.leads.migrate_runs import MigrationRuns
from nurture.leads.migrate_store import MigrationRun
from nurture.leads.new_file_form import SOURCES, NewFile, on_disk, read_new_file
from nurture.roster.reps import Rep, Role
from nurture.web.auth import requires
from nurture.web.csrf import require_csrf
from nurture.web.pages import SettingsDep, app_client, redirect, render

#: Who may move running leads (see the module's words).
MIGRATORS: tuple[Role, ...] = ("marketing", "admin")
router = APIRouter(dependencies=[Depends(requires(*MIGRATORS))])
MigratorDep = Annotated[Rep, Depends(requires(*MIGRATORS))]
CSRF = [Depends(require_csrf)]
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")


def get_runs(request: Request) -> MigrationRuns:
    """Dependency: the migration runs (in the app's store; made on first use)."""
    state = request.app.state
    if getattr(state, "migration_runs", None) is None:
        state.migration_runs = MigrationRuns(state.store)
    runs: MigrationRuns = state.migration_runs
    return runs


RunsDep = Annotated[MigrationRuns, Depends(get_runs)]


def _base(name: str) -> str:
    return f"/cadences/{name}/migrate"


async def form_page(
    request: Request,
    settings: SettingsDep,
    runs: MigrationRuns,
    name: str,
    new: NewFile,
    values: dict[str, str],
    error: str | None = None,
) -> HTMLResponse:
    """The migrate form (with the problems of the last submission, if any)."""
    current = on_disk(settings, name)
    versions, temporal_error = await versions_running(request, name)
    segments = sorted(current.cadence.audience.segments) if current.cadence else []
    context: dict[str, Any] = {
        "name": name,
        "new": new,
        "sources": SOURCES,
        "values": values,
        "segments": segments,
        "versions": versions,
        "temporal_error": temporal_error,
        "error": error,
        "runs": await asyncio.to_thread(runs.of_cadence, name),
    }
    status = 422 if error or new.problems else 200
    return render(request, "live/migrate.html", context, status)


@router.get("/cadences/{name}/migrate", response_class=HTMLResponse)
async def migrate_form(
    request: Request, settings: SettingsDep, runs: RunsDep, name: str
) -> HTMLResponse:
    """The form: new version, mappings, segment; Dry run or Migrate."""
    new = on_disk(settings, name)
    new.problems = []  # shown on the diff and cadence pages; checked again on submit
    return await form_page(request, settings, runs, name, new, {})


@router.post("/cadences/{name}/migrate", dependencies=CSRF, response_model=None)
async def migrate_submit(
    request: Request, settings: SettingsDep, runs: RunsDep, me: MigratorDep, name: str
) -> HTMLResponse | RedirectResponse:
    """Start a dry run or (confirmed) a migration; on to its progress page."""
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("mappings", "segment", "mode")}
    new = await read_new_file(form, settings, name)
    if new.cadence is None:
        return await form_page(request, settings, runs, name, new, values)
    try:
        mapping, segment = _mapping(values["mappings"]), _segment(values["segment"])
        dry_run = _dry_run(values["mode"], form)
    except ValueError as exc:
        return await form_page(request, settings, runs, name, new, values, str(exc))
    action = MigrateLead(cadence=new.cadence, mapping=mapping, by=f"{me.username} (web)")
    run = await runs.start(await app_client(request.app), action, segment, dry_run, me.username)
    return redirect(f"{_base(name)}/runs/{run.id}")


@router.get("/cadences/{name}/migrate/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, runs: RunsDep, name: str, run_id: str) -> HTMLResponse:
    """A run's progress (the page reloads itself while it runs), then its result."""
    run = _run(runs, name, run_id)
    context = {"name": name, "run": run, "base": _base(name)}
    response = render(request, "live/run.html", context)
    if run.running:
        response.headers["Refresh"] = "1"  # poll until done (no script needed)
    return response


@router.get("/cadences/{name}/migrate/runs/{run_id}/progress")
def run_progress(runs: RunsDep, name: str, run_id: str) -> dict[str, Any]:
    """A run's progress for scripts: stage, leads done of total, finished, counts."""
    run = _run(runs, name, run_id)
    report = run.report
    return {
        "id": run.id,
        "dry_run": run.dry_run,
        "stage": run.label,
        "done": run.done,
        "total": run.total,
        "finished": run.finished.isoformat() if run.finished else None,
        "interrupted": run.interrupted,
        "error": run.error,
        "read": len(run.plans),
        "movable": len(run.movable),
        "moved": len(report.moved) if report else 0,
        "refused": len(run.refused),
        "failed": len(report.failed) if report else 0,
    }


@router.post("/cadences/{name}/migrate/runs/{run_id}/migrate", dependencies=CSRF)
async def migrate_after_dry_run(
    request: Request, runs: RunsDep, me: MigratorDep, name: str, run_id: str
) -> RedirectResponse:
    """Migrate with the input of a finished dry run (confirmed); on to the new run's page."""
    dry = await asyncio.to_thread(_run, runs, name, run_id)
    if not dry.dry_run or dry.finished is None or dry.error:
        raise HTTPException(409, "only a finished dry run can be carried out")
    form = await request.form()
    if form.get("confirm") != "yes":
        raise HTTPException(422, "tick the box to confirm the move")
    action = dry.action.model_copy(update={"by": f"{me.username} (web)"})
    run = await runs.start(await app_client(request.app), action, dry.segment, False, me.username)
    return redirect(f"{_base(name)}/runs/{run.id}")


def _run(runs: MigrationRuns, name: str, run_id: str) -> MigrationRun:
    run = runs.get(run_id)
    if run is None or run.name != name:
        raise HTTPException(404, "no such run (the latest runs are kept)")
    return run


def _mapping(text: str) -> dict[str, str]:
    pairs = [p for p in re.split(r"[\s,]+", text) if p]
    try:
        return parse_mapping(pairs)
    except ValueError as exc:
        raise ValueError(f"Step mappings: {exc}") from None


def _segment(text: str) -> str | None:
    text = text.strip()
    if text and not _SEGMENT.fullmatch(text):
        raise ValueError(f"Segment {text!r}: letters, digits, '-' and '_' only")
    return text or None


def _dry_run(mode: str, form: FormData) -> bool:
    if mode == "dry-run":
        return True
    if mode != "migrate":
        raise ValueError("choose Dry run or Migrate")
    if form.get("confirm") != "yes":
        raise ValueError("To migrate, tick the box confirming that the leads move now.")
    return False
