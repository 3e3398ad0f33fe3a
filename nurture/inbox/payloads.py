"""Provider payloads -> inbox items: what each SendGrid, Twilio and Lob event means for a lead.

Pure functions (no I/O). A payload we cannot read raises :class:`Malformed` (the webhook answers
400); an event that is readable but means nothing for the journey gets ``kind=None`` and is kept
as ``unmapped``. Event ids are the providers' own (``sg_event_id``, ``CallSid:CallStatus``,
``MessageSid:MessageStatus``, Lob's ``evt_...``), so a re-delivery is recognised.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from nurture.events import EventKind
from nurture.inbox.store import InboxItem, bounded_id


class Malformed(ValueError):
    """A payload that is not what the provider sends; the message says what is wrong."""


# ---------------------------------------------------------------- SendGrid

#: SendGrid event -> engagement kind. ``dropped`` (SendGrid will not deliver to the address)
#: counts as a bounce. Others (``processed``, ``deferred``, ``group_resubscribe``...) are kept
#: as unmapped.
SENDGRID_KINDS: dict[str, EventKind] = {
    "delivered": EventKind.email_delivered,
    "open": EventKind.email_open,
    "click": EventKind.email_click,
    "bounce": EventKind.email_bounce,
    "dropped": EventKind.email_bounce,
    "spamreport": EventKind.email_spam_report,
    "unsubscribe": EventKind.email_unsubscribe,
    "group_unsubscribe": EventKind.email_unsubscribe,
}


def sendgrid_items(payload: Any, now: datetime) -> list[InboxItem]:
    """One item per event of a SendGrid Event Webhook batch (a JSON array of objects)."""
    if not isinstance(payload, list):
        raise Malformed("a SendGrid batch is a JSON array of events")
    items = []
    for index, event in enumerate(payload):
        if not isinstance(event, dict):
            raise Malformed(f"event {index}: not a JSON object")
        items.append(sendgrid_item(event, now))
    return items


def sendgrid_item(event: Mapping[str, Any], now: datetime) -> InboxItem:
    """One SendGrid event; custom args ``lead_id``/``touch_id`` are top-level keys."""
    name = _text(event.get("event")) or "(none)"
    raw_id = _text(event.get("sg_event_id"))
    # An event without sg_event_id (never seen, but signed) gets a stable id from its content.
    event_id = bounded_id(raw_id) if raw_id else "sendgrid:" + _digest(event)
    kind = SENDGRID_KINDS.get(name)
    note = None
    if name == "open" and event.get("sg_machine_open") is True:
        kind, note = None, "machine open (mail privacy proxy), not the lead"
    elif name == "bounce" and _text(event.get("type")) == "blocked":
        kind, note = None, "blocked by the receiving server: the address itself is not bad"
    if _text(event.get("notice_id")):
        kind, note = None, f"about handoff notice {_text(event.get('notice_id'))} to a rep"
    data: dict[str, str | int | float | bool | None] = {}
    if name == "click" and _text(event.get("url")):
        data["url"] = _text(event.get("url"))[:500]
    if name in ("bounce", "dropped") and _text(event.get("reason")):
        data["reason"] = _text(event.get("reason"))[:300]
    if _text(event.get("sg_message_id")):
        data["message_id"] = _text(event.get("sg_message_id"))[:200]
    return InboxItem(
        event_id=event_id,
        provider="sendgrid",
        raw_kind=name,
        at=_unix(event.get("timestamp")) or now,
        kind=kind,
        lead_id=_text(event.get("lead_id")) or None,
        touch_id=_text(event.get("touch_id")) or None,
        data=data,
        payload=dict(event),
        note=note,
    )


# ---------------------------------------------------------------- Twilio

#: Inbound texts that opt out. Twilio's own keywords plus the 2025 additions (OPTOUT, REVOKE);
#: the whole message (case and surrounding punctuation ignored) must be the keyword.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)


def is_stop(body: str | None) -> bool:
    """True when an inbound SMS is an opt-out keyword."""
    word = re.sub(r"^[\W_]+|[\W_]+$", "", (body or "").strip()).upper()
    return word in STOP_WORDS


def twilio_status_item(params: Mapping[str, str], touch_id: str | None, now: datetime) -> InboxItem:
    """A Twilio status callback, for a call (voicemail drop) or a message (SMS)."""
    if params.get("MessageSid") and params.get("MessageStatus"):
        return _message_status(params, touch_id, now)
    if params.get("CallSid") and params.get("CallStatus"):
        return _call_status(params, touch_id, now)
    raise Malformed("a status callback needs CallSid + CallStatus or MessageSid + MessageStatus")


def call_status_kind(status: str, answered_by: str) -> tuple[EventKind | None, str | None]:
    """What a finished voicemail-drop call means (with a note when it means nothing).

    - completed + ``machine_end_*``: our message played after the beep -> ``voicemail.delivered``;
    - completed + ``human``: a person picked up and heard the short courtesy message ->
      ``call.connected`` (the lead answered our call; no voicemail was left);
    - ``no-answer`` / ``busy``: -> ``call.no_answer``;
    - anything else (queued, ringing, in-progress, failed, canceled, fax, unknown...): kept,
      unmapped. Only the final ``completed`` status counts, so one call gives one event.
    """
    if status == "completed":
        if answered_by.startswith("machine_end"):
            return EventKind.voicemail_delivered, None
        if answered_by == "human":
            return EventKind.call_connected, None
        return None, f"call completed, answered by {answered_by or 'nobody known'}"
    if status in ("no-answer", "busy"):
        return EventKind.call_no_answer, None
    return None, f"call {status}"


def _call_status(params: Mapping[str, str], touch_id: str | None, now: datetime) -> InboxItem:
    status = params["CallStatus"]
    answered_by = params.get("AnsweredBy", "")
    kind, note = call_status_kind(status, answered_by)
    data: dict[str, str | int | float | bool | None] = {"call_sid": params["CallSid"]}
    if answered_by:
        data["answered_by"] = answered_by
    if params.get("CallDuration", "").isdigit():
        data["duration"] = int(params["CallDuration"])
    return InboxItem(
        event_id=bounded_id(f"{params['CallSid']}:{status}"),
        provider="twilio",
        raw_kind=f"call.{status}" + (f"/{answered_by}" if answered_by else ""),
        at=_rfc2822(params.get("Timestamp")) or now,
        kind=kind,
        touch_id=touch_id,
        data=data,
        payload=dict(params),
        note=note,
    )


def _message_status(params: Mapping[str, str], touch_id: str | None, now: datetime) -> InboxItem:
    status = params["MessageStatus"]
    kind = EventKind.sms_delivered if status == "delivered" else None
    data: dict[str, str | int | float | bool | None] = {"message_sid": params["MessageSid"]}
    note = None
    if status in ("failed", "undelivered"):
        code = params.get("ErrorCode", "")
        data["error_code"] = code
        note = f"SMS {status}" + (f" (Twilio error {code})" if code else "")
    elif kind is None:
        note = f"SMS {status}"
    return InboxItem(
        event_id=bounded_id(f"{params['MessageSid']}:{status}"),
        provider="twilio",
        raw_kind=f"sms.{status}",
        at=now,
        kind=kind,
        touch_id=touch_id,
        data=data,
        payload=dict(params),
        note=note,
    )


def twilio_inbound_item(
    params: Mapping[str, str], lead_id: str | None, touch_id: str | None, now: datetime
) -> InboxItem:
    """An inbound SMS: an opt-out keyword is ``sms.stop``, anything else ``sms.reply``."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    if not sid:
        raise Malformed("an inbound message needs MessageSid")
    body = params.get("Body", "")
    stop = is_stop(body) or params.get("OptOutType", "").upper() == "STOP"
    return InboxItem(
        event_id=bounded_id(sid),
        provider="twilio",
        raw_kind="sms.inbound" + ("/stop" if stop else ""),
        at=now,
        kind=EventKind.sms_stop if stop else EventKind.sms_reply,
        lead_id=lead_id,
        touch_id=touch_id,
        data={"message_sid": sid, "text": body[:1000]},
        payload=dict(params),
        note=None if lead_id else f"no SMS or voicemail touch was sent to {params.get('From')}",
    )


# ---------------------------------------------------------------- Lob

_MAIL = ("letter", "postcard", "self_mailer")


def lob_kind(event_type: str) -> EventKind | None:
    """``letter.delivered`` -> ``mail.delivered``, ``*.returned_to_sender`` -> ``mail.returned``."""
    resource, _, what = event_type.rpartition(".")
    if resource.split(".")[0] not in _MAIL:
        return None
    if what == "delivered":
        return EventKind.mail_delivered
    if what == "returned_to_sender":
        return EventKind.mail_returned
    return None


def lob_item(payload: Any, now: datetime) -> InboxItem:
    """A Lob webhook event; the mail piece's ``metadata`` carries ``lead_id`` and ``touch_id``."""
    if not isinstance(payload, dict):
        raise Malformed("a Lob event is a JSON object")
    event_id = _text(payload.get("id"))
    if not event_id:
        raise Malformed("the Lob event has no id")
    event_type = payload.get("event_type")
    name = _text(event_type.get("id") if isinstance(event_type, dict) else event_type)
    if not name:
        raise Malformed("the Lob event has no event_type.id")
    found = payload.get("body")
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    found = body.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = lob_kind(name)
    data: dict[str, str | int | float | bool | None] = {}
    if _text(payload.get("reference_id") or body.get("id")):
        data["lob_id"] = _text(payload.get("reference_id") or body.get("id"))[:200]
    return InboxItem(
        event_id=bounded_id(event_id),
        provider="lob",
        raw_kind=name,
        at=_iso(payload.get("date_created")) or now,
        kind=kind,
        lead_id=_text(metadata.get("lead_id")) or None,
        touch_id=_text(metadata.get("touch_id")) or None,
        data=data,
        payload={"id": event_id, "event_type": name, "metadata": metadata},
        note=None if kind else f"Lob {name}",
    )


# ---------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _unix(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rfc2822(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
