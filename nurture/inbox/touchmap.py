"""Provider references back to leads: a touch id or a phone number -> the lead, via the ledger."""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
from sqlalchemy import select

from nurture.events import Channel
from nurture.store import Store, TouchRecord

#: ``<lead>:<cadence>:v<version>:e<enrolment>:c<cycle>:<step>[#visit]`` (lead ids have no ``:``).
TOUCH_ID = re.compile(r"^(?P<lead>[A-Za-z0-9_.\-]+):[a-z0-9][a-z0-9-]*:v\d+:e\d+:c\d+:[^:]+$")
#: Ledger channels whose ``recipient`` is the lead's phone number (E.164): an inbound text maps to
#: the lead's last touch on one of these.
REPLY_CHANNELS = (Channel.sms.value, Channel.voicemail.value)
#: Touch ids per query.
CHUNK = 500


def lead_in_touch_id(touch_id: str | None) -> str | None:
    """The lead id a well-formed touch id starts with, else ``None``."""
    match = TOUCH_ID.match(touch_id or "")
    return match.group("lead") if match else None


def leads_for_touches(store: Store, touch_ids: Iterable[str | None]) -> dict[str, str | None]:
    """Touch id -> the lead it went to: the ledger's row, else what the touch id itself says."""
    wanted = sorted({t for t in touch_ids if t})
    found: dict[str, str] = {}
    with store.session() as session:
        for start in range(0, len(wanted), CHUNK):
            query = select(TouchRecord.touch_id, TouchRecord.lead_id).where(
                TouchRecord.touch_id.in_(wanted[start : start + CHUNK])
            )
            found.update((touch, lead) for touch, lead in session.execute(query))
    return {t: found.get(t) or lead_in_touch_id(t) for t in wanted}


def lead_for_touch(store: Store, touch_id: str | None) -> str | None:
    """The lead one touch went to (see :func:`leads_for_touches`)."""
    return leads_for_touches(store, [touch_id]).get(touch_id) if touch_id else None


def e164(phone: str | None) -> str | None:
    """``phone`` in E.164 form, or ``None`` if it is not a valid international number."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def lead_for_phone(store: Store, phone: str | None) -> tuple[str | None, str | None]:
    """``(lead id, touch id)`` of the newest SMS or voicemail touch sent to ``phone``.

    Several leads can share a number (a switchboard): the one we texted or called last wins.
    """
    number = e164(phone)
    if number is None:
        return None, None
    query = (
        select(TouchRecord.lead_id, TouchRecord.touch_id)
        .where(TouchRecord.recipient == number, TouchRecord.channel.in_(REPLY_CHANNELS))
        .order_by(TouchRecord.created_at.desc())
        .limit(1)
    )
    with store.session() as session:
        found = session.execute(query).first()
    return (found[0], found[1]) if found else (None, None)
