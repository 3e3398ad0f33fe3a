"""The web app, assembled: each domain's pages and endpoints on one FastAPI app.

Run it with ``uvicorn --factory nurture.app:create_app`` (``nurture web`` does).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from nurture import health
from nurture.channels import pages as outbox_pages
from nurture.channels.email_retention import Pruner
from nurture.desk import pages as desk_pages
from nurture.inbox import pages as inbox_pages
from nurture.inbox import webhooks
from nurture.inbox.delivery import Deliverer, DeliveryLoop, TemporalLink
from nurture.inbox.store import Inbox
from nurture.journeylog import pages as report_pages
from nurture.leads import live_pages
from nurture.planning import pages as planning_pages
from nurture.roster.reps import Rep
from nurture.sales import pages as sales_pages
from nurture.settings import Settings, get_settings
from nurture.store import Store
from nurture.web import auth, codec
from nurture.web.auth import RepDep, requires
from nurture.web.pages import STATIC_DIR, app_client

#: The API docs describe every endpoint: admins only.
AdminDep = Annotated[Rep, Depends(requires("admin"))]


def create_app(
    settings: Settings | None = None, store: Store | None = None, client: Client | None = None
) -> FastAPI:
    """Build the web app on ``store`` (default: ``Store.from_settings(settings)``) and ``client``
    (default: connect to ``settings.temporal_address`` on first use)."""
    if settings is None:
        settings = get_settings()
    settings.check_production()  # a clear error listing what a production deployment lacks
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

    # The API docs list every endpoint: behind the admin login, like the pages they describe.
    app = FastAPI(
        title="nurture", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings = settings
    app.state.store = store
    app.state.client = client
    app.state.client_lock = asyncio.Lock()
    # Incoming events: the inbox first, then delivery to the journeys; while Temporal is down
    # events stay pending and the loop retries.
    app.state.inbox = Inbox(store)
    link = TemporalLink(settings, connect=lambda _: app_client(app))
    app.state.deliverer = Deliverer(app.state.inbox, link)
    app.state.delivery_loop = DeliveryLoop(app.state.deliverer, chores=[Pruner(store, settings)])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(outbox_pages.router)
    app.include_router(inbox_pages.router)
    app.include_router(webhooks.router)
    auth.install(app, settings)  # sessions, the people directory, /login
    desk_pages.install(app)  # /desk pages
    app.include_router(sales_pages.router)  # /handoffs pages (behind the desk login)
    app.include_router(planning_pages.router)  # /cadences, /forecast (marketing)
    app.include_router(live_pages.router)  # /cadences/NAME/diff, /cadences/NAME/migrate
    app.include_router(report_pages.router)  # /reports (marketing, managers)
    codec.install(app, settings)  # /codec/encode, /codec/decode for the Temporal UI and CLI
    app.include_router(health.router)  # /readyz, /metrics

    @app.get("/", include_in_schema=False)
    def index(me: RepDep) -> RedirectResponse:
        """The logged-in person's start page (by role)."""
        return RedirectResponse(auth.home_for(me), status_code=303)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: AdminDep) -> dict[str, Any]:
        """The OpenAPI document (admins)."""
        return app.openapi()

    @app.get("/docs", include_in_schema=False)
    def docs(_: AdminDep) -> HTMLResponse:
        """Swagger UI over the OpenAPI document (admins)."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="nurture API")

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        """Liveness, for load balancers and the deploy test (open)."""
        return {"ok": True}

    return app
