"""What every page shares: the templates and their filters, the app's store, settings and Temporal
client as dependencies, and rendering helpers (flash messages, redirects, no-cache headers).

Each domain's pages (``nurture/*/pages.py``) build on this; :mod:`nurture.app` assembles them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from temporalio.client import Client

from nurture.settings import Settings, get_settings
from nurture.spans import span_words
from nurture.store import Store
from nurture.temporal.client import connect
from nurture.web.csrf import FIELD, csrf_token

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


def format_time(value: datetime | None) -> str:
    """``2025-03-04 14:05:09 UTC`` (empty for ``None``)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_ago(value: datetime | None, now: datetime | None = None) -> str:
    """A rough age such as ``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return "1 day ago" if days == 1 else f"{days} days ago"


def url_segment(value: object) -> str:
    """Quote a value for use as a URL path segment (``:`` and ``@`` kept readable)."""
    return quote(str(value), safe=":@")


def _nav_context(request: Request) -> dict[str, Any]:
    settings: Settings | None = getattr(request.app.state, "settings", None)
    ui_port = settings.ui_port if settings is not None else get_settings().ui_port
    # 127.0.0.1 like the web app: the same site, so the UI's codec calls carry the session.
    return {"temporal_ui_url": f"http://127.0.0.1:{ui_port}"}


#: The shared templates (autoescape on for everything). Every page extends ``base.html``.
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    ),
    context_processors=[_nav_context],
)
templates.env.filters["utc"] = format_time
templates.env.filters["ago"] = format_ago
templates.env.filters["urlsegment"] = url_segment


def get_store(request: Request) -> Store:
    """Dependency: the app's store."""
    store: Store = request.app.state.store
    return store


def get_app_settings(request: Request) -> Settings:
    """Dependency: the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def app_client(app: FastAPI) -> Client:
    """The app's Temporal client, connected on first use (Temporal may start later).

    Tests may put a ready client in ``app.state.client``.
    """
    state = app.state
    if getattr(state, "client", None) is None:
        async with state.client_lock:
            if getattr(state, "client", None) is None:
                state.client = await connect(state.settings)
    client: Client = state.client
    return client


async def get_client(request: Request) -> Client:
    """Dependency: the app's Temporal client (see :func:`app_client`)."""
    return await app_client(request.app)


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ClientDep = Annotated[Client, Depends(get_client)]


# ---------------------------------------------------------------- rendering

SESSION_FLASH = "flash"


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
    text = span_words(seconds)
    return f"{text} late" if seconds < 0 else f"in {text}"


templates.env.filters["localtime"] = local_time
templates.env.filters["relative"] = relative
