"""The call desk pages: reps log in, work their tasks and the team queue; managers see every queue.

Pages (all under ``/desk``, all behind a login except the login page itself):

* ``/desk`` my tasks (overdue, due now, upcoming; by priority); managers may add ``?rep=NAME``
* ``/desk/queue`` the unassigned tasks of my team queue, with Claim (managers: ``?queue=Q``)
* ``/desk/team`` managers: every queue, open and overdue work per rep
* ``/desk/tasks/{lead}`` one task: the lead, the script, the journey so far, the complete form
* ``/desk/next`` jump to my top task

Sessions are a signed cookie (Starlette ``SessionMiddleware``, key ``settings.session_secret``);
every POST carries the session's CSRF token (:mod:`nurture.web.csrf`). A rep may open their own
tasks and their queue's unassigned ones; anything else is refused with 403, whatever the URL.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from nurture.contracts import CompleteTask, Disposition, Qualification
from nurture.desk.service import (
    DeskService,
    LeadError,
    TaskDetail,
    may_act,
    may_claim,
    may_view,
    owner_of,
)
from nurture.events import Channel
from nurture.lead import LEAD_ID
from nurture.roster.reps import Rep
from nurture.web.auth import DirectoryDep, requires, safe_back
from nurture.web.csrf import FIELD, CsrfError, require_csrf
from nurture.web.pages import ClientDep, StoreDep, flash, redirect, render, templates

log = logging.getLogger(__name__)
router = APIRouter(prefix="/desk")

#: Rows shown per group on a list page (the rest are counted: reps work from the top).
ROWS_PER_GROUP = 50
BANT = ("budget", "authority", "need", "timeframe")
CSRF = [Depends(require_csrf)]


def install(app: FastAPI) -> None:
    """Add the desk pages and their error page to the app."""
    app.add_exception_handler(LeadError, _desk_error)  # type: ignore[arg-type]  # Starlette types handlers loosely
    app.add_exception_handler(CsrfError, _csrf_error)  # type: ignore[arg-type]  # idem
    app.include_router(router)


def get_desk(client: ClientDep, store: StoreDep) -> DeskService:
    """Dependency: the desk service (tests override it)."""
    return DeskService(client, store)


DeskDep = Annotated[DeskService, Depends(get_desk)]
#: Who may open the desk: reps (their tasks and queue) and managers (every queue).
DeskRep = Annotated[Rep, Depends(requires("rep", "manager"))]


# ---------------------------------------------------------------- helpers


def task_url(lead_id: str) -> str:
    """The page of a lead's task."""
    return f"/desk/tasks/{quote(lead_id, safe='')}"


def _check_lead(lead_id: str) -> str:
    if not LEAD_ID.match(lead_id):
        raise LeadError(f"{lead_id!r} is not a lead id", 404)
    return lead_id


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    me = getattr(request.state, "desk_rep", None)
    return render(
        request, "desk/error.html", {"title": title, "message": message, "me": me}, status
    )


async def _desk_error(request: Request, exc: LeadError) -> Response:
    titles = {403: "Not your task", 404: "Not found", 409: "Not done", 503: "Try again"}
    return _error_page(request, exc.status, titles.get(exc.status, "Problem"), exc.message)


async def _csrf_error(request: Request, exc: CsrfError) -> Response:
    return _error_page(request, 403, "Form refused", CsrfError.message)


def _forbidden(me: Rep, owner: str | None) -> LeadError:
    whose = f"{owner}'s task" if owner else "in another team's queue"
    return LeadError(
        f"This task is {whose}. You can open your own tasks and the unassigned tasks of "
        f"your queue ({me.queue}); ask your manager if it should be yours.",
        403,
    )


# ---------------------------------------------------------------- formatting (template filters)


templates.env.globals["task_url"] = task_url


# ---------------------------------------------------------------- lists


@router.get("", response_class=HTMLResponse)
async def my_tasks(
    request: Request, me: DeskRep, desk: DeskDep, directory: DirectoryDep, rep: str | None = None
) -> Response:
    """My tasks (managers: any rep's with ``?rep=``), overdue first, each group by priority."""
    whose = me
    if rep and rep != me.username:
        if not me.is_manager:
            raise LeadError("Only managers can look at another rep's tasks.", 403)
        found = directory.get(rep)
        if found is None:
            raise LeadError(f"There is no rep {rep!r}.", 404)
        whose = found
    board = await desk.my_tasks(whose.username)
    context = {"me": me, "whose": whose, "board": board, "limit": ROWS_PER_GROUP}
    return render(request, "desk/tasks.html", context)


@router.get("/next")
async def next_task(me: DeskRep, desk: DeskDep) -> Response:
    """Open my top task (or my list when there is none)."""
    top = (await desk.my_tasks(me.username)).next_task()
    return redirect(task_url(top.lead_id) if top else "/desk")


@router.get("/queue", response_class=HTMLResponse)
async def team_queue(
    request: Request, me: DeskRep, desk: DeskDep, directory: DirectoryDep, queue: str | None = None
) -> Response:
    """The unassigned tasks of my team's queue, to claim."""
    queue = queue or me.queue
    if queue != me.queue and not me.is_manager:
        raise LeadError(f"You work the {me.queue} queue; only managers see other queues.", 403)
    board = await desk.queue_tasks(queue)
    queues = directory.queues() if me.is_manager else [me.queue]
    context = {"me": me, "queue": queue, "queues": queues, "board": board, "limit": ROWS_PER_GROUP}
    return render(request, "desk/queue.html", context)


@router.get("/team", response_class=HTMLResponse)
async def team(request: Request, me: DeskRep, desk: DeskDep, directory: DirectoryDep) -> Response:
    """Managers: open, overdue and due-now work per queue and per rep, and the overdue tasks."""
    if not me.is_manager:
        raise LeadError("The team overview is for managers.", 403)
    people = [r for r in directory.all() if r.active]
    queues = directory.queues()
    overview = await desk.overview([r.username for r in people], queues)
    known = {r.username for r in people}
    overdue = overview.overdue.overdue
    strangers = {r.assignee for r in overdue if r.assignee and r.assignee not in known}
    context = {
        "me": me,
        "overview": overview,
        "teams": {t.queue: t for t in directory.teams()},
        "queues": queues,
        "people": people,
        "strangers": sorted(strangers),
        "overdue": overdue,
        "limit": ROWS_PER_GROUP,
    }
    return render(request, "desk/team.html", context)


# ---------------------------------------------------------------- one task


def _task_context(
    me: Rep,
    detail: TaskDetail,
    *,
    form: Mapping[str, Any] | None = None,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    journey = detail.journey
    calendar = journey.business_calendar()
    window = journey.cadence.calendar.channel_window(Channel.call)
    try:
        callable_now = calendar.is_open(detail.now, window)
        next_open = None if callable_now else calendar.next_open(detail.now, window)
    except ValueError:
        callable_now, next_open = False, None
    values = dict(form or {})
    values.setdefault("event_id", str(uuid.uuid4()))
    return {
        "me": me,
        "detail": detail,
        "task": detail.task,
        "lead": journey.lead,
        "journey": journey,
        "owner": owner_of(detail.task),
        "mine": may_act(me, detail.task),
        "claimable": owner_of(detail.task) is None and may_claim(me, detail.task),
        "callable_now": callable_now,
        "next_open": next_open,
        "dispositions": list(Disposition),
        "form": values,
        "errors": errors or [],
        "bant": BANT,
    }


@router.get("/tasks/{lead_id}", response_class=HTMLResponse)
async def task_page(request: Request, lead_id: str, me: DeskRep, desk: DeskDep) -> Response:
    """Everything needed to make the call, and the form to log it."""
    detail = await desk.detail(_check_lead(lead_id))
    if not may_view(me, detail.task):
        raise _forbidden(me, owner_of(detail.task))
    return render(request, "desk/task.html", _task_context(me, detail))


@router.post("/tasks/{lead_id}/claim", dependencies=CSRF)
async def claim(request: Request, lead_id: str, me: DeskRep, desk: DeskDep) -> Response:
    """Take a task from the queue; if someone was faster, say who."""
    task = await desk.task(_check_lead(lead_id))
    if not may_claim(me, task):
        raise _forbidden(me, owner_of(task))
    form = await request.form()
    try:
        await desk.claim(lead_id, task.task_id, me.username)
    except LeadError as exc:
        if exc.status not in (404, 409):
            raise
        flash(request, f"Lead {lead_id}: {exc.message}", "error")
        return redirect(safe_back(str(form.get("back") or ""), "/desk/queue"))
    flash(request, f"Lead {lead_id} is yours now.")
    return redirect(task_url(lead_id))


@router.post("/tasks/{lead_id}/release", dependencies=CSRF)
async def release(request: Request, lead_id: str, me: DeskRep, desk: DeskDep) -> Response:
    """Put my task back into the team queue."""
    task = await desk.task(_check_lead(lead_id))
    if not may_act(me, task):
        raise _forbidden(me, owner_of(task))
    await desk.release(lead_id, task.task_id, me.username)
    flash(request, f"Lead {lead_id} is back in the {task.queue} queue.")
    return redirect("/desk")


@router.post("/tasks/{lead_id}/complete", response_class=HTMLResponse, dependencies=CSRF)
async def complete(request: Request, lead_id: str, me: DeskRep, desk: DeskDep) -> Response:
    """Log the call's disposition, then go to my next task."""
    task = await desk.task(_check_lead(lead_id))
    if not may_act(me, task):
        raise _forbidden(me, owner_of(task))
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    form.pop(FIELD, None)
    try:
        action = complete_action(form, me.username, task.task_id)
    except ValueError as exc:
        return await _task_again(request, me, desk, lead_id, form, _messages(exc), 400)
    try:
        await desk.complete(lead_id, action)
    except LeadError as exc:
        if exc.status != 409:
            raise
        return await _task_again(request, me, desk, lead_id, form, [exc.message], 409)
    flash(request, f"Lead {lead_id}: {action.disposition.label.lower()} logged.")
    top = (await desk.my_tasks(me.username)).next_task(skip=lead_id)
    return redirect(task_url(top.lead_id) if top else "/desk")


async def _task_again(
    request: Request,
    me: Rep,
    desk: DeskService,
    lead_id: str,
    form: Mapping[str, str],
    errors: list[str],
    status: int,
) -> Response:
    """The task page again, with the rep's input and what was wrong with it."""
    detail = await desk.detail(lead_id)
    context = _task_context(me, detail, form=form, errors=errors)
    return render(request, "desk/task.html", context, status)


def _messages(exc: ValueError) -> list[str]:
    if isinstance(exc, ValidationError):
        out = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            out.append(f"{where}: {message}" if where else message)
        return out
    return [str(exc)]


# ---------------------------------------------------------------- the complete form


_LOCAL_INPUT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$")


def parse_local(value: str | None, timezone: str, what: str) -> datetime | None:
    """A ``datetime-local`` (or ``date``: 09:00) form value in ``timezone``, as an aware time."""
    value = (value or "").strip()
    if not value:
        return None
    if not _LOCAL_INPUT.match(value):
        raise ValueError(f"{what}: {value!r} is not a date and time (YYYY-MM-DDTHH:MM)")
    if "T" not in value:
        value += "T09:00"
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    return datetime.fromisoformat(value).replace(tzinfo=zone)


def complete_action(form: Mapping[str, str], rep: str, task_id: str) -> CompleteTask:
    """The ``complete_task`` update from the task page's form (only the fields the chosen
    disposition uses are sent; times are in the lead's zone, field ``tz``)."""
    try:
        disposition = Disposition(form.get("disposition", ""))
    except ValueError:
        raise ValueError("pick how the call went (a disposition)") from None
    timezone = form.get("tz") or "UTC"
    values: dict[str, Any] = {
        "task_id": form.get("task_id") or task_id,
        "rep": rep,
        "disposition": disposition,
        "notes": form.get("notes", "").strip(),
        "event_id": form.get("event_id") or f"desk-{uuid.uuid4()}",
    }
    talk = form.get("talk_minutes", "").strip()
    if talk:
        try:
            values["talk_seconds"] = round(float(talk) * 60)
        except ValueError:
            raise ValueError(f"talk time: {talk!r} is not a number of minutes") from None
    if disposition is Disposition.meeting_booked:
        values["meeting_at"] = parse_local(form.get("meeting_at"), timezone, "meeting time")
    if disposition is Disposition.call_back_later:
        values["call_back_at"] = parse_local(form.get("call_back_at"), timezone, "call back at")
    if disposition is Disposition.qualified:
        answers = {k: form.get(k, "").strip() for k in BANT}
        missing = [k for k, v in answers.items() if not v]
        if missing:
            raise ValueError(f"qualified needs every BANT answer; missing: {', '.join(missing)}")
        values["qualification"] = Qualification(**answers)
    return CompleteTask(**values)
