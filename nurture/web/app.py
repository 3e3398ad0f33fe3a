"""The web app: server-rendered pages (outbox, call desk, handoffs) over the store.

Run it with ``uvicorn --factory nurture.web.app:create_app``. Routers import :data:`templates`,
:func:`get_store` and :func:`get_app_settings` from here; :func:`create_app` imports the routers
inside the function, so there is no import cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from temporalio.client import Client

from nurture.settings import Settings, get_settings
from nurture.store import Store
from nurture.temporal import connect

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
    return {"temporal_ui_url": f"http://localhost:{ui_port}"}


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


def create_app(
    settings: Settings | None = None, store: Store | None = None, client: Client | None = None
) -> FastAPI:
    """Build the web app on ``store`` (default: ``Store(settings.store_url)``) and ``client``
    (default: connect to ``settings.temporal_address`` on first use)."""
    from nurture.delivery import Deliverer, DeliveryLoop, TemporalLink
    from nurture.inbox import Inbox
    from nurture.web import desk, handoffs, inbox, outbox, webhooks

    if settings is None:
        settings = get_settings()
    if store is None:
        store = Store(settings.store_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.delivery_loop.start()
        try:
            yield
        finally:
            await app.state.delivery_loop.stop()
            app.state.store.close()

    app = FastAPI(title="nurture", lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.client = client
    app.state.client_lock = asyncio.Lock()
    # Incoming events: the inbox first, then delivery to the journeys; while Temporal is down
    # events stay pending and the loop retries.
    app.state.inbox = Inbox(store)
    link = TemporalLink(settings, connect=lambda _: app_client(app))
    app.state.deliverer = Deliverer(app.state.inbox, link)
    app.state.delivery_loop = DeliveryLoop(app.state.deliverer)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(outbox.router)
    app.include_router(inbox.router)
    app.include_router(webhooks.router)
    desk.install(app, settings)  # sessions, rep directory, /desk pages
    app.include_router(handoffs.router)  # /handoffs pages (behind the desk login)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/outbox", status_code=303)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app
