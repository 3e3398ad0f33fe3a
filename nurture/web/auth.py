"""Who is at the keyboard: sessions (a signed cookie), the login and logout pages, the login
limit, and :func:`requires`, the dependency every staff page uses to get the logged-in person
holding one of the roles it admits (anonymous: to the login page, or 401 for the JSON API;
logged in without the role: 403).

Sessions are Starlette's ``SessionMiddleware`` keyed by ``settings.session_secret``; every POST
carries the session's CSRF token (:mod:`nurture.web.csrf`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from nurture.roster.reps import ROLES, Rep, RepDirectory, Role
from nurture.settings import Settings
from nurture.web.csrf import require_csrf, rotate
from nurture.web.logins import LoginThrottle
from nurture.web.pages import redirect, render

log = logging.getLogger(__name__)
router = APIRouter(prefix="/desk")

SESSION_COOKIE = "nurture_desk"
SESSION_HOURS = 12
SESSION_REP = "rep"
CSRF = [Depends(require_csrf)]


def install(app: FastAPI, settings: Settings) -> None:
    """Sessions, the people directory, the login limit, and the login pages."""
    secret = settings.secret("session_secret")
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
    app.add_exception_handler(LoginRequired, _login_required)  # type: ignore[arg-type]  # Starlette types handlers loosely
    app.add_exception_handler(NotAllowed, _not_allowed)  # type: ignore[arg-type]  # idem
    app.include_router(router)


class LoginRequired(Exception):
    """The page needs a logged-in rep; go to the login page and come back."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


class NotAllowed(Exception):
    """The logged-in person holds none of the roles the page admits."""

    def __init__(self, rep: Rep, roles: frozenset[Role]) -> None:
        super().__init__(rep.username)
        self.rep = rep
        self.roles = roles

    @property
    def message(self) -> str:
        """What to tell the person."""
        needed = " or ".join(r for r in ROLES if r in self.roles)
        return (
            f"This page is for {needed}; you are signed in as {self.rep.username} "
            f"({self.rep.role_label}). Ask an admin if you need it."
        )


def get_directory(request: Request) -> RepDirectory:
    """Dependency: the people directory."""
    directory: RepDirectory = request.app.state.rep_directory
    return directory


def get_throttle(request: Request) -> LoginThrottle:
    """Dependency: the login limit."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


DirectoryDep = Annotated[RepDirectory, Depends(get_directory)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]


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


def requires(*roles: Role) -> Callable[..., Rep]:
    """Dependency factory: the logged-in person if they hold one of ``roles`` (anonymous: the
    login page, or 401 on the JSON API; otherwise 403).

    Use it as ``me: Annotated[Rep, Depends(requires("rep", "manager"))]`` or, for a whole
    router, ``APIRouter(dependencies=[Depends(requires("admin"))])``.
    """
    if not roles or any(r not in ROLES for r in roles):
        raise ValueError(f"requires() needs roles among {ROLES}, got {roles}")
    allowed = frozenset(roles)

    def person_with_role(me: RepDep) -> Rep:
        if not me.has_any(allowed):
            raise NotAllowed(me, allowed)
        return me

    person_with_role.__qualname__ = f"requires({', '.join(roles)})"
    return person_with_role


#: Where each role starts after logging in, in order of preference.
HOMES: tuple[tuple[Role, str], ...] = (
    ("rep", "/desk"),
    ("manager", "/desk"),
    ("sales", "/handoffs"),
    ("admin", "/inbox"),
    ("marketing", "/cadences"),
)


def home_for(rep: Rep) -> str:
    """The first page for this person's roles."""
    return next((page for role, page in HOMES if role in rep.roles), "/desk")


#: The pages behind the login, where a login may send the person back to (other helpers'
#: pages add theirs).
LOGIN_AREAS = ("/desk", "/handoffs", "/outbox", "/inbox", "/docs", "/cadences", "/forecast")

#: Paths answered with JSON: an anonymous request gets 401, not the login page.
JSON_AREAS = ("/api/", "/openapi.json", "/codec/")


def safe_back(url: str | None, default: str = "/desk") -> str:
    """Only redirect back to a page behind the login (no open redirects)."""
    if not url or "\\" in url:
        return default
    path = url.split("?", 1)[0]
    if any(path == area or path.startswith(area + "/") for area in LOGIN_AREAS):
        return url
    return default


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_AREAS)


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"detail": "log in first (a staff session)"},
            status_code=401,
            headers={"WWW-Authenticate": 'Cookie realm="nurture"'},
        )
    return redirect(f"/desk/login?{urlencode({'next': exc.back})}")


async def _not_allowed(request: Request, exc: NotAllowed) -> Response:
    log.info(
        "refused %s %s to %s (needs %s)",
        request.method,
        request.url.path,
        exc.rep.username,
        sorted(exc.roles),
    )
    if _wants_json(request):
        return JSONResponse({"detail": exc.message}, status_code=403)
    context = {
        "me": exc.rep,
        "title": "Not for your role",
        "message": exc.message,
        "home": home_for(exc.rep),
    }
    return render(request, "forbidden.html", context, 403)


# ---------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "desk/login.html", {"next": safe_back(next, ""), "error": None})


@router.post("/login", response_class=HTMLResponse, dependencies=CSRF)
async def login(request: Request, directory: DirectoryDep, throttle: ThrottleDep) -> Response:
    """Check the password (unless the username or client has failed too often: 429); a new
    session (and CSRF token) on success."""
    form = await request.form()
    username = str(form.get("username") or "").strip().lower()
    password = str(form.get("password") or "")
    back = safe_back(str(form.get("next") or ""), "")
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
    return redirect(back or home_for(rep))


@router.post("/logout", dependencies=CSRF)
def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return redirect("/desk/login")
