"""The web app, assembled: each domain's pages and endpoints on one FastAPI app.

Run it with ``uvicorn --factory nurture.app:create_app`` (``nurture web`` does).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from nurture import health
from nurture.channels import pages as outbox_pages
from nurture.desk import pages as desk_pages
from nurture.inbox import pages as inbox_pages
from nurture.inbox import webhooks
from nurture.inbox.delivery import Deliverer, DeliveryLoop, TemporalLink
from nurture.inbox.store import Inbox
from nurture.sales import pages as sales_pages
from nurture.settings import Settings, get_settings
from nurture.store import Store
from nurture.web import auth
from nurture.web.pages import STATIC_DIR, app_client


def create_app(
    settings: Settings | None = None, store: Store | None = None, client: Client | None = None
) -> FastAPI:
    """Build the web app on ``store`` (default: ``Store.from_settings(settings)``) and ``client``
    (default: connect to ``settings.temporal_address`` on first use)."""
    if settings is None:
        settings = get_settings()
    if store is None:
        store = Store.from_settings(settings)

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
    app.include_router(outbox_pages.router)
    app.include_router(inbox_pages.router)
    app.include_router(webhooks.router)
    auth.install(app, settings)  # sessions, the people directory, /login
    desk_pages.install(app)  # /desk pages
    app.include_router(sales_pages.router)  # /handoffs pages (behind the desk login)
    app.include_router(health.router)  # /readyz, /metrics

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/outbox", status_code=303)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app
