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
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from nurture.desk.logins import LoginThrottle
from nurture.desk.models import CompleteTask, Disposition, Qualification
from nurture.desk.reps import Rep, RepDirectory
from nurture.desk.tasks import (
    DeskError,
    DeskService,
    TaskDetail,
    may_act,
    may_claim,
    may_view,
    owner_of,
)
from nurture.events import Channel
from nurture.leads import LEAD_ID
from nurture.settings import Settings
from nurture.web.app import ClientDep, StoreDep, templates
from nurture.web.csrf import FIELD, CsrfError, csrf_token, require_csrf, rotate

log = logging.getLogger(__name__)
router = APIRouter(prefix="/desk")

SESSION_COOKIE = "nurture_desk"
SESSION_HOURS = 12
SESSION_REP = "rep"
SESSION_FLASH = "flash"
#: Rows shown per group on a list page (the rest are counted: reps work from the top).
ROWS_PER_GROUP = 50
BANT = ("budget", "authority", "need", "timeframe")
CSRF = [Depends(require_csrf)]


# ---------------------------------------------------------------- wiring


def install(app: FastAPI, settings: Settings) -> None:
    """Add the desk to the app: session middleware, the rep directory, error pages, routes."""
    secret = settings.session_secret
    if not secret:
        log.warning("NURTURE_SESSION_SECRET is not set: desk logins end when the app restarts")
        secret = secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=settings.session_https_only,
    )
    app.state.rep_directory = RepDirectory(app.state.store)
    app.state.login_throttle = LoginThrottle.from_settings(app.state.store, settings)
    app.add_exception_handler(LoginRequired, _login_required)  # type: ignore[arg-type]
    app.add_exception_handler(DeskError, _desk_error)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfError, _csrf_error)  # type: ignore[arg-type]
    app.include_router(router)


class LoginRequired(Exception):
    """The page needs a logged-in rep; go to the login page and come back."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


def get_directory(request: Request) -> RepDirectory:
    """Dependency: the rep directory."""
    directory: RepDirectory = request.app.state.rep_directory
    return directory


def get_desk(client: ClientDep, store: StoreDep) -> DeskService:
    """Dependency: the desk service (tests override it)."""
    return DeskService(client, store)


def get_throttle(request: Request) -> LoginThrottle:
    """Dependency: the login limit."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


DirectoryDep = Annotated[RepDirectory, Depends(get_directory)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
DeskDep = Annotated[DeskService, Depends(get_desk)]


def current_rep(request: Request, directory: DirectoryDep) -> Rep:
    """Dependency: the logged-in, active rep; otherwise off to the login page."""
    username = request.session.get(SESSION_REP)
    rep = directory.get(username) if isinstance(username, str) else None
    if rep is None or not rep.active:
        request.session.pop(SESSION_REP, None)
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(back)
    request.state.desk_rep = rep
    return rep


RepDep = Annotated[Rep, Depends(current_rep)]


# ---------------------------------------------------------------- rendering helpers


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A message for the next page the rep sees."""
    request.session.setdefault(SESSION_FLASH, []).append([kind, text])


def render(
    request: Request, name: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    """A desk page: adds the CSRF token, the pending messages and no-cache/no-frame headers."""
    full = {
        "csrf_field": FIELD,
        "csrf_token": csrf_token(request.session),
        "flashes": request.session.pop(SESSION_FLASH, []),
        "now": datetime.now(UTC),
        **context,
    }
    response = templates.TemplateResponse(request, name, full, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def redirect(url: str) -> RedirectResponse:
    """A 303 redirect (after a POST, or to the login page)."""
    return RedirectResponse(url, status_code=303)


#: The pages behind the desk login, where a login may send the rep back to.
LOGIN_AREAS = ("/desk", "/handoffs")


def safe_back(url: str | None, default: str = "/desk") -> str:
    """Only redirect back to a page behind the login (no open redirects)."""
    if not url or "\\" in url:
        return default
    path = url.split("?", 1)[0]
    if any(path == area or path.startswith(area + "/") for area in LOGIN_AREAS):
        return url
    return default


def task_url(lead_id: str) -> str:
    """The page of a lead's task."""
    return f"/desk/tasks/{quote(lead_id, safe='')}"


def _check_lead(lead_id: str) -> str:
    if not LEAD_ID.match(lead_id):
        raise DeskError(f"{lead_id!r} is not a lead id", 404)
    return lead_id


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    me = getattr(request.state, "desk_rep", None)
    return render(
        request, "desk/error.html", {"title": title, "message": message, "me": me}, status
    )


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    return redirect(f"/desk/login?{urlencode({'next': exc.back})}")


async def _desk_error(request: Request, exc: DeskError) -> Response:
    titles = {403: "Not your task", 404: "Not found", 409: "Not done", 503: "Try again"}
    return _error_page(request, exc.status, titles.get(exc.status, "Problem"), exc.message)


async def _csrf_error(request: Request, exc: CsrfError) -> Response:
    return _error_page(request, 403, "Form refused", CsrfError.message)


def _forbidden(me: Rep, owner: str | None) -> DeskError:
    whose = f"{owner}'s task" if owner else "in another team's queue"
    return DeskError(
        f"This task is {whose}. You can open your own tasks and the unassigned tasks of "
        f"your queue ({me.queue}); ask your manager if it should be yours.",
        403,
    )


# ---------------------------------------------------------------- formatting (template filters)


def local_time(value: datetime | None, timezone: str, fmt: str = "%a %d %b %H:%M") -> str:
    """``value`` on the wall clock of ``timezone``."""
    if value is None:
        return ""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime(fmt)


def relative(due: datetime, now: datetime) -> str:
    """``in 2 h 05 min``, ``35 min late``, ``3 days late``."""
    seconds = int((due - now).total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = "less than a minute"
    elif seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 86400:
        text = f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    else:
        days = seconds // 86400
        text = f"{days} day{'s' if days > 1 else ''}"
    return f"{text} late" if late else f"in {text}"


templates.env.filters["localtime"] = local_time
templates.env.filters["relative"] = relative
templates.env.globals["task_url"] = task_url


# ---------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "desk/login.html", {"next": safe_back(next), "error": None})


@router.post("/login", response_class=HTMLResponse, dependencies=CSRF)
async def login(request: Request, directory: DirectoryDep, throttle: ThrottleDep) -> Response:
    """Check the password (unless the username or client has failed too often: 429); a new
    session (and CSRF token) on success."""
    form = await request.form()
    username = str(form.get("username") or "").strip().lower()
    password = str(form.get("password") or "")
    back = safe_back(str(form.get("next") or ""))
    host = request.client.host if request.client else None
    context = {"next": back, "username": username}
    refusal = await run_in_threadpool(throttle.attempt, username, host)
    if refusal is not None:
        response = render(request, "desk/login.html", {**context, "error": refusal.message}, 429)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    rep = await run_in_threadpool(directory.authenticate, username, password) if username else None
    if rep is None:
        await run_in_threadpool(throttle.failed, username, host)
        context["error"] = "Wrong username or password."
        return render(request, "desk/login.html", context, 401)
    await run_in_threadpool(throttle.succeeded, username)
    request.session.clear()
    request.session[SESSION_REP] = rep.username
    rotate(request.session)
    return redirect(back)


@router.post("/logout", dependencies=CSRF)
def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return redirect("/desk/login")


# ---------------------------------------------------------------- lists


@router.get("", response_class=HTMLResponse)
async def my_tasks(
    request: Request, me: RepDep, desk: DeskDep, directory: DirectoryDep, rep: str | None = None
) -> Response:
    """My tasks (managers: any rep's with ``?rep=``), overdue first, each group by priority."""
    whose = me
    if rep and rep != me.username:
        if not me.is_manager:
            raise DeskError("Only managers can look at another rep's tasks.", 403)
        found = directory.get(rep)
        if found is None:
            raise DeskError(f"There is no rep {rep!r}.", 404)
        whose = found
    board = await desk.my_tasks(whose.username)
    context = {"me": me, "whose": whose, "board": board, "limit": ROWS_PER_GROUP}
    return render(request, "desk/tasks.html", context)


@router.get("/next")
async def next_task(me: RepDep, desk: DeskDep) -> Response:
    """Open my top task (or my list when there is none)."""
    top = (await desk.my_tasks(me.username)).next_task()
    return redirect(task_url(top.lead_id) if top else "/desk")


@router.get("/queue", response_class=HTMLResponse)
async def team_queue(
    request: Request, me: RepDep, desk: DeskDep, directory: DirectoryDep, queue: str | None = None
) -> Response:
    """The unassigned tasks of my team's queue, to claim."""
    queue = queue or me.queue
    if queue != me.queue and not me.is_manager:
        raise DeskError(f"You work the {me.queue} queue; only managers see other queues.", 403)
    board = await desk.queue_tasks(queue)
    queues = directory.queues() if me.is_manager else [me.queue]
    context = {"me": me, "queue": queue, "queues": queues, "board": board, "limit": ROWS_PER_GROUP}
    return render(request, "desk/queue.html", context)


@router.get("/team", response_class=HTMLResponse)
async def team(request: Request, me: RepDep, desk: DeskDep, directory: DirectoryDep) -> Response:
    """Managers: open, overdue and due-now work per queue and per rep, and the overdue tasks."""
    if not me.is_manager:
        raise DeskError("The team overview is for managers.", 403)
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
async def task_page(request: Request, lead_id: str, me: RepDep, desk: DeskDep) -> Response:
    """Everything needed to make the call, and the form to log it."""
    detail = await desk.detail(_check_lead(lead_id))
    if not may_view(me, detail.task):
        raise _forbidden(me, owner_of(detail.task))
    return render(request, "desk/task.html", _task_context(me, detail))


@router.post("/tasks/{lead_id}/claim", dependencies=CSRF)
async def claim(request: Request, lead_id: str, me: RepDep, desk: DeskDep) -> Response:
    """Take a task from the queue; if someone was faster, say who."""
    task = await desk.task(_check_lead(lead_id))
    if not may_claim(me, task):
        raise _forbidden(me, owner_of(task))
    form = await request.form()
    try:
        await desk.claim(lead_id, task.task_id, me.username)
    except DeskError as exc:
        if exc.status not in (404, 409):
            raise
        flash(request, f"Lead {lead_id}: {exc.message}", "error")
        return redirect(safe_back(str(form.get("back") or ""), "/desk/queue"))
    flash(request, f"Lead {lead_id} is yours now.")
    return redirect(task_url(lead_id))


@router.post("/tasks/{lead_id}/release", dependencies=CSRF)
async def release(request: Request, lead_id: str, me: RepDep, desk: DeskDep) -> Response:
    """Put my task back into the team queue."""
    task = await desk.task(_check_lead(lead_id))
    if not may_act(me, task):
        raise _forbidden(me, owner_of(task))
    await desk.release(lead_id, task.task_id, me.username)
    flash(request, f"Lead {lead_id} is back in the {task.queue} queue.")
    return redirect("/desk")


@router.post("/tasks/{lead_id}/complete", response_class=HTMLResponse, dependencies=CSRF)
async def complete(request: Request, lead_id: str, me: RepDep, desk: DeskDep) -> Response:
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
    except DeskError as exc:
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
