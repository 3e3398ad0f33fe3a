"""Late confirmations: a touch skipped as "delivery unknown" that a provider later proves sent.

A send whose outcome was unclear ends ``unknown`` (the provider may or may not have it) and the
journey skips it. The journey remembers it; when an event carrying its touch id arrives (the
inbox's ``touch.confirmed`` from SendGrid's ``processed``/``delivered`` webhook, or any event of
that touch: a delivery status, an open), the journey records "confirmed sent" on its timeline and
counts the touch like a sent one: in ``touches_sent``, for the contact governor and in the
journey log (a ``touch_sent`` milestone, reason "confirmed late").
"""

from __future__ import annotations

from datetime import datetime

from nurture.contracts import Touch, TouchResult
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey, TouchMark, UnknownTouch
from nurture.journey.timeline import log

#: Unknown touches a journey remembers (the latest ones).
KEPT = 20


def remember_unknown(journey: Journey, touch: Touch, result: TouchResult) -> None:
    """Keep a touch skipped as delivery unknown, so a later event can confirm it."""
    if not result.delivery_unknown:
        return
    entry = UnknownTouch(
        touch_id=touch.touch_id, channel=touch.channel, summary=touch.summary, step=touch.step_id
    )
    journey.unknown_touches = [*journey.unknown_touches[-(KEPT - 1) :], entry]


def confirm_late(journey: Journey, event: EngagementEvent, now: datetime) -> bool:
    """Apply a late confirmation; True when the event was only that (nothing else to apply)."""
    only = event.kind is EventKind.touch_confirmed
    match = next((u for u in journey.unknown_touches if u.touch_id == event.touch_id), None)
    if match is None:
        return only
    journey.unknown_touches = [u for u in journey.unknown_touches if u is not match]
    journey.touches_sent += 1
    journey.touch_log = [
        *journey.touch_log,
        TouchMark(at=min(event.at, now), channel=match.channel),
    ]
    how = "the provider's confirmation" if only else f"event {event.kind.value}"
    log(
        journey,
        now,
        "confirm",
        f"{match.summary} confirmed sent ({how})",
        match.step,
        match.touch_id,
    )
    return only
