"""Operations endpoints of the web app: ``/readyz`` (store and Temporal reachable) and
``/metrics`` (Prometheus, behind ``NURTURE_METRICS_TOKEN``).

The gauges (inbox backlog, call tasks by queue, handoffs waiting) are read at each scrape: the
inbox from the store, the rest with visibility counts (no workflow is queried).
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from temporalio.client import Client

from nurture.desk.service import load_queries
from nurture.inbox.store import InboxRecord, InboxStatus
from nurture.metrics import (
    CALL_TASKS_OPEN,
    CALL_TASKS_OVERDUE,
    HANDOFFS_WAITING,
    INBOX_OLDEST_PENDING,
    INBOX_PENDING,
)
from nurture.roster.reps import RepDirectory
from nurture.sales.service import WAITING
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import RPC_TIMEOUT
from nurture.web.pages import app_client

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Seconds a readiness probe waits for each dependency.
PROBE_TIMEOUT = 3.0


def _store_ready(store: Store) -> None:
    with store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the store answers and Temporal answers; 503 saying which does not."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(asyncio.to_thread(_store_ready, request.app.state.store), 5)
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"unreachable: {type(exc).__name__}"
    try:
        client = await asyncio.wait_for(app_client(request.app), PROBE_TIMEOUT)
        await asyncio.wait_for(client.service_client.check_health(), PROBE_TIMEOUT)
        checks["temporal"] = "ok"
    except Exception as exc:
        checks["temporal"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


def _inbox_backlog(store: Store) -> tuple[int, datetime | None]:
    query = select(func.count(), func.min(InboxRecord.received_at)).where(
        InboxRecord.status == InboxStatus.pending.value
    )
    with store.session() as session:
        count, oldest = session.execute(query).one()
    if isinstance(oldest, datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(count or 0), oldest


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)).count


async def _refresh_temporal(client: Client, queues: list[str]) -> None:
    now = datetime.now(UTC)
    HANDOFFS_WAITING.set(await _count(client, WAITING))
    for queue in queues:
        open_tasks, overdue, _soon = load_queries("CallTaskQueue", queue, now)
        CALL_TASKS_OPEN.labels(queue).set(await _count(client, open_tasks))
        CALL_TASKS_OVERDUE.labels(queue).set(await _count(client, overdue))


async def refresh(store: Store, client: Client | None) -> None:
    """Read the gauges: the inbox backlog, and (when Temporal answers) tasks and handoffs."""
    pending, oldest = await asyncio.to_thread(_inbox_backlog, store)
    INBOX_PENDING.set(pending)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    INBOX_OLDEST_PENDING.set(max(age, 0.0))
    if client is not None:
        queues = await asyncio.to_thread(RepDirectory(store).queues)
        await _refresh_temporal(client, queues)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format; needs ``Authorization: Bearer <NURTURE_METRICS_TOKEN>``."""
    settings: Settings = request.app.state.settings
    token = settings.secret("metrics_token")
    if not token:
        raise HTTPException(404, "metrics are off: set NURTURE_METRICS_TOKEN")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "metrics need the bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        client: Client | None = await asyncio.wait_for(app_client(request.app), PROBE_TIMEOUT)
    except Exception:
        client = None  # the store's gauges still answer; Temporal's keep their last values
    try:
        await refresh(request.app.state.store, client)
    except Exception:
        if client is None:
            raise
        await refresh(request.app.state.store, None)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
