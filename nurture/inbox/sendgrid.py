"""What SendGrid's Event Webhook tells the touch ledger: an ``unknown`` email went out after all.

SendGrid has no idempotency key, so a send whose answer was lost is settled as ``unknown`` and
never resent (:mod:`nurture.channels.sendgrid`). Its ``processed`` (or ``delivered``) event,
carrying our ``touch_id`` custom arg, later proves that SendGrid took the message: the row
becomes ``sent``, and a ``touch.confirmed`` event tells the journey. Kept apart from
the adapter so the web app needs neither the SDK nor the engine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from sqlalchemy import select

from nurture.events import EventKind
from nurture.inbox.store import InboxItem
from nurture.store import Store, TouchRecord

log = logging.getLogger(__name__)

#: The ledger's provider name of SendGrid sends (``SendGridChannel.name``).
PROVIDER = "sendgrid"
#: Events by which SendGrid shows it took the message.
ACCEPTED_EVENTS = frozenset({"processed", "delivered"})
#: Touch ids per ledger query.
CHUNK = 500
#: What SendGrid appends to the ``X-Message-Id`` in an event's ``sg_message_id``.
SUFFIX = re.compile(r"\.(?:filter|recvd).*\Z", re.DOTALL)


def message_id(sg_message_id: str) -> str:
    """The ``X-Message-Id`` an event's ``sg_message_id`` starts with (before ``.filter…`` or
    ``.recvd…``): the id the send's answer would have carried."""
    return SUFFIX.sub("", sg_message_id, count=1)


def confirm_unknown(store: Store, items: Iterable[InboxItem]) -> list[str]:
    """Settle ``unknown`` SendGrid touches as ``sent`` from their processed/delivered events.

    Only rows still ``unknown`` change (a compare-and-set), so a re-delivered event, or one for
    a touch in any other status, changes nothing. Returns the touch ids settled now.
    """
    events: dict[str, InboxItem] = {}
    for item in items:
        if item.provider == PROVIDER and item.raw_kind in ACCEPTED_EVENTS and item.touch_id:
            events.setdefault(item.touch_id, item)
    settled = []
    for touch_id in _unknown(store, list(events)):
        item = events[touch_id]
        raw_id = item.data.get("message_id")
        if store.update_touch(
            touch_id,
            "sent",
            expect=("unknown",),
            provider_id=message_id(raw_id) if isinstance(raw_id, str) else None,
            error=f"confirmed by SendGrid's {item.raw_kind} event (event webhook); "
            "the send itself had ended unknown",
            sent_at=item.at,
        ):
            log.info("touch %s: unknown -> sent (SendGrid %s event)", touch_id, item.raw_kind)
            settled.append(touch_id)
    return settled


def confirmations(settled: Iterable[str], items: Iterable[InboxItem]) -> list[InboxItem]:
    """A ``touch.confirmed`` inbox event for each touch settled now, so its journey learns it
    (event id ``confirmed:<touch id>``: a repeat is a duplicate)."""
    by_touch = {item.touch_id: item for item in items if item.touch_id}
    return [
        InboxItem(
            event_id=f"confirmed:{touch_id}",
            provider=PROVIDER,
            raw_kind="confirmed",
            at=by_touch[touch_id].at,
            kind=EventKind.touch_confirmed,
            lead_id=by_touch[touch_id].lead_id,
            touch_id=touch_id,
            data={"by": by_touch[touch_id].raw_kind},
        )
        for touch_id in settled
        if touch_id in by_touch
    ]


def _unknown(store: Store, touch_ids: list[str]) -> list[str]:
    """Those of ``touch_ids`` whose row is a SendGrid send settled as ``unknown``."""
    found: list[str] = []
    with store.session() as session:
        for start in range(0, len(touch_ids), CHUNK):
            query = select(TouchRecord.touch_id).where(
                TouchRecord.touch_id.in_(touch_ids[start : start + CHUNK]),
                TouchRecord.provider == PROVIDER,
                TouchRecord.status == "unknown",
            )
            found.extend(session.scalars(query))
    return found


__all__ = ["ACCEPTED_EVENTS", "confirm_unknown", "confirmations", "message_id"]
