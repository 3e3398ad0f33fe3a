"""The web app's listeners: one port for everything, or (``NURTURE_WEBHOOK_PORT``) the signed
webhooks and ``POST /events`` on a port of their own, so the staff pages need not face the
internet.

The webhook listener serves only the provider webhooks, ``/events``, the TwiML Twilio fetches and
``/healthz``; it shares the staff app's state (settings, store, inbox, Temporal client) and its
delivery loop, in the same process. The staff port keeps the webhooks too (for senders inside).
"""

from __future__ import annotations

import asyncio
from typing import Literal

import uvicorn
from fastapi import FastAPI

from nurture.inbox import webhooks
from nurture.settings import Settings


def webhook_app(staff: FastAPI) -> FastAPI:
    """The internet-facing app: the signed machine endpoints of ``staff`` and nothing else."""
    app = FastAPI(title="nurture webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    app.state = staff.state  # the same store, inbox, deliverer and Temporal client
    app.include_router(webhooks.router)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        """Liveness, for the load balancer in front of the webhooks (open)."""
        return {"ok": True}

    return app


def servers(
    app: FastAPI,
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    log_level: str = "info",
    log_config: dict[str, object] | None = uvicorn.config.LOGGING_CONFIG,
) -> list[uvicorn.Server]:
    """The uvicorn servers of the web app: the staff app (it runs the lifespan: the delivery
    loop), and the webhook listener when ``NURTURE_WEBHOOK_PORT`` is set."""
    bind = host or settings.web_host
    lifespan: Literal["on", "off"] = "on"
    listeners = [
        uvicorn.Server(
            uvicorn.Config(
                app,
                host=bind,
                port=port or settings.web_port,
                log_level=log_level,
                log_config=log_config,
                lifespan=lifespan,
            )
        )
    ]
    if settings.webhook_port is not None:
        listeners.append(
            uvicorn.Server(
                uvicorn.Config(
                    webhook_app(app),
                    host=bind,
                    port=settings.webhook_port,
                    log_level=log_level,
                    log_config=log_config,
                    lifespan="off",
                )
            )
        )
    return listeners


async def serve(listeners: list[uvicorn.Server]) -> None:
    """Run the listeners together; when one stops (Ctrl-C, SIGTERM, a bind error) all stop."""
    tasks = [asyncio.create_task(server.serve()) for server in listeners]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for server in listeners:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            raise failure
