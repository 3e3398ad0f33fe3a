"""What every incoming endpoint shares: bounded body reading, refusals, accepting into the inbox.

Status codes: 503 the provider's verification setting is missing (nothing is accepted unsigned),
413 body over :data:`BODY_LIMIT`, 401 missing/forged signature or token or a stale timestamp,
400 a webhook payload we cannot read; ``POST /events`` answers 422 for any body that is not
engagement events (unreadable JSON too, as FastAPI does). Accepted: 202 from ``/events``
(delivery to the journeys follows the answer), 200 from the providers' webhooks.
Every refusal is logged on ``nurture.webhooks`` with its reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Annotated, Any, NoReturn

from fastapi import BackgroundTasks, Depends, HTTPException, Request

from nurture.inbox.delivery import Deliverer
from nurture.inbox.signatures import NotConfigured, SignatureError
from nurture.inbox.store import Accepted, Inbox, InboxItem
from nurture.metrics import WEBHOOK_EVENTS, WEBHOOKS
from nurture.settings import Settings

log = logging.getLogger("nurture.webhooks")

#: Largest body accepted (SendGrid batches stay under 768 KB).
BODY_LIMIT = 1024 * 1024


def get_inbox(request: Request) -> Inbox:
    """Dependency: the app's inbox."""
    inbox: Inbox = request.app.state.inbox
    return inbox


InboxDep = Annotated[Inbox, Depends(get_inbox)]


def _who(request: Request) -> str:
    return request.client.host if request.client else "?"


def not_configured(source: str, request: Request, reason: str) -> NoReturn:
    """Refuse (503) because verification is not set up; logged as an error."""
    log.error("%s webhook refused from %s: %s", source, _who(request), reason)
    WEBHOOKS.labels(source, "refused", "not_configured").inc()
    raise HTTPException(503, f"{source} webhook is not configured: {reason}")


def unauthorized(
    source: str, request: Request, reason: str, challenge: str = "Signature"
) -> NoReturn:
    """Refuse (401) a request that is not provably from the sender; logged as a warning."""
    log.warning("%s webhook refused (401) from %s: %s", source, _who(request), reason)
    WEBHOOKS.labels(source, "refused", "unauthorized").inc()
    raise HTTPException(
        401, f"not authenticated: {reason}", headers={"WWW-Authenticate": challenge}
    )


def malformed(source: str, request: Request, reason: str, status: int = 400) -> NoReturn:
    """Refuse (400, or 422) an authentic request whose payload we cannot read."""
    log.warning("%s webhook refused (%d) from %s: %s", source, status, _who(request), reason)
    WEBHOOKS.labels(source, "refused", "malformed" if status == 400 else "unrecordable").inc()
    raise HTTPException(status, reason)


def verify(
    source: str, request: Request, check: Callable[[], object], challenge: str = "Signature"
) -> None:
    """Run a signature check, turning its failures into 503/401 refusals."""
    try:
        check()
    except NotConfigured as exc:
        not_configured(source, request, str(exc))
    except SignatureError as exc:
        unauthorized(source, request, str(exc), challenge)


async def read_body(source: str, request: Request, limit: int = BODY_LIMIT) -> bytes:
    """The raw body, refused with 413 as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            malformed(source, request, "Content-Length is not a number")
        if int(declared) > limit:
            log.warning("%s webhook refused (413): %s bytes declared", source, declared)
            WEBHOOKS.labels(source, "refused", "too_large").inc()
            raise HTTPException(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            log.warning("%s webhook refused (413): body passed %d bytes", source, limit)
            WEBHOOKS.labels(source, "refused", "too_large").inc()
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(source: str, request: Request, body: bytes, status: int = 400) -> Any:
    """The body as JSON, or a 400 (or ``status``) that says where it broke (e.g. truncated)."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        malformed(source, request, "body is not UTF-8", status)
    except json.JSONDecodeError as exc:
        malformed(source, request, f"body is not valid JSON: {exc}", status)


async def accept(
    source: str, request: Request, items: Sequence[InboxItem], background: BackgroundTasks
) -> dict[str, int]:
    """Write items to the inbox (then 2xx may be answered) and deliver them after the response."""
    inbox: Inbox = request.app.state.inbox
    deliverer: Deliverer = request.app.state.deliverer
    try:  # new rows are inserted claimed for the delivery right after the answer
        accepted = await asyncio.to_thread(
            inbox.accept, items, claimer=deliverer.claimer, lease=deliverer.lease
        )
    except ValueError as exc:
        malformed(source, request, f"event cannot be recorded: {exc}", status=422)
    background.add_task(_deliver_quietly, deliverer, accepted)
    log.info("%s: %d event(s), %d new", source, len(accepted.ids), len(accepted.new))
    WEBHOOKS.labels(source, "accepted", "").inc()
    WEBHOOK_EVENTS.labels(source, "new").inc(len(accepted.new))
    WEBHOOK_EVENTS.labels(source, "duplicate").inc(accepted.duplicates)
    return {
        "accepted": len(accepted.ids),
        "new": len(accepted.new),
        "duplicates": accepted.duplicates,
    }


async def _deliver_quietly(deliverer: Deliverer, accepted: Accepted) -> None:
    """Deliver right away if Temporal is up; otherwise the delivery loop will. Re-sent ids
    that are still pending are claimed first (the new rows came claimed)."""
    try:
        await deliverer.deliver_claimed(accepted.claimed)
        again = set(accepted.ids) - set(accepted.new)
        if again:
            await deliverer.deliver(sorted(again))
    except Exception:
        log.exception("immediate delivery failed; the delivery loop will retry")


def public_url(settings: Settings, request: Request) -> str:
    """The URL a provider called, as it saw it: ``public_url`` + raw path + raw query."""
    path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    query = request.scope.get("query_string") or b""
    url = settings.public_url.rstrip("/") + path.decode("latin-1")
    return url + ("?" + query.decode("latin-1") if query else "")
