"""The inbox page: every accepted event and where it is (pending, delivered, unknown lead...)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from nurture.inbox.intake import InboxDep
from nurture.inbox.store import InboxStatus
from nurture.web.auth import requires
from nurture.web.pages import templates

#: Every incoming event: admins only.
router = APIRouter(dependencies=[Depends(requires("admin"))])

#: Rows on the page.
PAGE_SIZE = 100
STATUSES: tuple[str, ...] = tuple(s.value for s in InboxStatus)


def _status(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value in STATUSES else None


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request, inbox: InboxDep, status: str | None = None, lead: str | None = None
) -> HTMLResponse:
    """The newest events, filtered by status and/or lead, with the count of each status."""
    chosen, lead = _status(status), (lead or "").strip() or None
    context: dict[str, Any] = {
        "rows": inbox.list(status=chosen, lead_id=lead, limit=PAGE_SIZE),
        "counts": inbox.counts(),
        "status": chosen or "",
        "lead": lead or "",
        "statuses": STATUSES,
        "limit": PAGE_SIZE,
    }
    return templates.TemplateResponse(request, "inbox.html", context)


@router.get("/api/inbox")
def inbox_api(
    inbox: InboxDep,
    status: str | None = None,
    lead: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Inbox rows as JSON, newest first (for scripts and tests)."""
    rows = inbox.list(status=_status(status), lead_id=(lead or "").strip() or None, limit=limit)
    return [
        {
            "event_id": r.event_id,
            "provider": r.provider,
            "raw_kind": r.raw_kind,
            "kind": r.kind,
            "lead_id": r.lead_id,
            "touch_id": r.touch_id,
            "status": r.status,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "at": r.at.isoformat(),
            "received_at": r.received_at.isoformat(),
            "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
        }
        for r in rows
    ]
