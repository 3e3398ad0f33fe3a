"""The outbox viewer: every touch the ledger holds, as pages and as JSON."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from nurture.events import Channel
from nurture.web.auth import requires
from nurture.web.pages import StoreDep, templates

#: Every message to every lead: admins only.
router = APIRouter(dependencies=[Depends(requires("admin"))])

#: Rows per outbox page.
PAGE_SIZE = 50
#: The channels offered in the filter form, in display order.
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)

#: What the text body of a touch is, per channel (for the detail page heading).
TEXT_LABELS: dict[str, str] = {
    "email": "Text part",
    "call": "Call script",
    "voicemail": "Voicemail script",
    "sms": "Message",
    "direct_mail": "Letter",
}


def _clean(value: str | None) -> str | None:
    """Blank form fields mean "no filter"."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def outbox_url(*, lead: str | None = None, channel: str | None = None, page: int = 1) -> str:
    """The outbox list URL for these filters and page."""
    params: dict[str, str | int] = {}
    if lead:
        params["lead"] = lead
    if channel:
        params["channel"] = channel
    if page > 1:
        params["page"] = page
    return "/outbox" + (f"?{urlencode(params)}" if params else "")


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    store: StoreDep,
    lead: str | None = None,
    channel: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    """The outbox table, newest first, 50 a page, filtered by lead and/or channel."""
    lead, channel = _clean(lead), _clean(channel)
    total = store.count_touches(lead_id=lead, channel=channel)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    touches = store.list_touches(
        lead_id=lead, channel=channel, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    first = (page - 1) * PAGE_SIZE + 1 if touches else 0
    context: dict[str, Any] = {
        "touches": touches,
        "total": total,
        "lead": lead or "",
        "channel": channel or "",
        "channels": CHANNELS,
        "filtered": bool(lead or channel),
        "page": page,
        "pages": pages,
        "first": first,
        "last": first + len(touches) - 1 if touches else 0,
        "prev_url": outbox_url(lead=lead, channel=channel, page=page - 1) if page > 1 else None,
        "next_url": outbox_url(lead=lead, channel=channel, page=page + 1) if page < pages else None,
    }
    return templates.TemplateResponse(request, "outbox.html", context)


@router.get("/outbox/{touch_id:path}", response_class=HTMLResponse)
def touch_page(request: Request, store: StoreDep, touch_id: str) -> HTMLResponse:
    """One touch with all its fields and content; a 404 page for an unknown id."""
    touch = store.get_touch(touch_id)
    context: dict[str, Any] = {
        "touch": touch,
        "touch_id": touch_id,
        "text_label": TEXT_LABELS.get(touch.channel, "Text") if touch else "Text",
    }
    return templates.TemplateResponse(
        request, "touch.html", context, status_code=200 if touch else 404
    )


@router.get("/api/outbox")
def outbox_api(
    store: StoreDep,
    lead: str | None = None,
    channel: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Touches as JSON, newest first (for scripts and tests)."""
    touches = store.list_touches(
        lead_id=_clean(lead), channel=_clean(channel), limit=limit, offset=offset
    )
    return [t.to_dict() for t in touches]
