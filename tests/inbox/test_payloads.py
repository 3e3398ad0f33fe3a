"""Provider payloads -> inbox items (pure mapping, no web app)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nurture.events import EventKind
from nurture.inbox.payloads import (
    Malformed,
    call_status_kind,
    is_stop,
    lob_item,
    lob_kind,
    sendgrid_item,
    sendgrid_items,
    twilio_inbound_item,
    twilio_status_item,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TOUCH = "L1:drip:v1:e1:c1:hello"


def sg(event: str, **over: object) -> dict[str, object]:
    values: dict[str, object] = {
        "email": "ann@example.com",
        "timestamp": 1_772_000_000,
        "event": event,
        "sg_event_id": f"sg-{event}",
        "sg_message_id": "msg.1",
        "touch_id": TOUCH,
        "lead_id": "L1",
    }
    values.update(over)
    return values


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("delivered", EventKind.email_delivered),
        ("open", EventKind.email_open),
        ("click", EventKind.email_click),
        ("bounce", EventKind.email_bounce),
        ("dropped", EventKind.email_bounce),
        ("spamreport", EventKind.email_spam_report),
        ("unsubscribe", EventKind.email_unsubscribe),
        ("group_unsubscribe", EventKind.email_unsubscribe),
        ("processed", None),
        ("deferred", None),
        ("group_resubscribe", None),
    ],
)
def test_sendgrid_kinds(event: str, kind: EventKind | None) -> None:
    item = sendgrid_item(sg(event), NOW)
    assert item.kind == kind
    assert item.event_id == f"sg-{event}" and item.raw_kind == event
    assert item.lead_id == "L1" and item.touch_id == TOUCH and item.provider == "sendgrid"
    assert item.at == datetime.fromtimestamp(1_772_000_000, UTC)
    assert item.data["message_id"] == "msg.1"


def test_sendgrid_details() -> None:
    click = sendgrid_item(sg("click", url="https://acme.example/roi"), NOW)
    assert click.data["url"] == "https://acme.example/roi"
    bounce = sendgrid_item(sg("bounce", reason="550 no such user", type="bounce"), NOW)
    assert bounce.kind is EventKind.email_bounce and bounce.data["reason"] == "550 no such user"
    blocked = sendgrid_item(sg("bounce", type="blocked"), NOW)
    assert blocked.kind is None and "blocked" in (blocked.note or "")
    machine = sendgrid_item(sg("open", sg_machine_open=True), NOW)
    assert machine.kind is None and "machine" in (machine.note or "")
    notice = {"event": "delivered", "sg_event_id": "n1", "notice_id": "L1:h1:a0:notice:ann"}
    about_rep = sendgrid_item(notice, NOW)  # a handoff notice to a rep: not the lead's engagement
    assert about_rep.kind is None and "handoff notice L1:h1:a0:notice:ann" in (about_rep.note or "")
    bare = sendgrid_item({"event": "open", "email": "x@example.com"}, NOW)
    assert bare.event_id.startswith("sendgrid:") and bare.at == NOW and bare.lead_id is None
    assert sendgrid_item({"event": "open", "email": "x@example.com"}, NOW).event_id == bare.event_id


def test_sendgrid_batch_shape() -> None:
    assert [i.event_id for i in sendgrid_items([sg("open"), sg("click")], NOW)] == [
        "sg-open",
        "sg-click",
    ]
    with pytest.raises(Malformed, match="JSON array"):
        sendgrid_items({"event": "open"}, NOW)
    with pytest.raises(Malformed, match="event 1: not a JSON object"):
        sendgrid_items([sg("open"), "open"], NOW)


@pytest.mark.parametrize(
    ("status", "answered_by", "kind"),
    [
        ("completed", "machine_end_beep", EventKind.voicemail_delivered),
        ("completed", "machine_end_silence", EventKind.voicemail_delivered),
        ("completed", "machine_end_other", EventKind.voicemail_delivered),
        ("completed", "human", EventKind.call_connected),
        ("completed", "fax", None),
        ("completed", "", None),
        ("no-answer", "", EventKind.call_no_answer),
        ("busy", "", EventKind.call_no_answer),
        ("in-progress", "human", None),
        ("ringing", "", None),
        ("failed", "", None),
        ("canceled", "", None),
    ],
)
def test_call_status_kinds(status: str, answered_by: str, kind: EventKind | None) -> None:
    assert call_status_kind(status, answered_by)[0] == kind


def test_twilio_status_items() -> None:
    call = twilio_status_item(
        {
            "CallSid": "CA1",
            "CallStatus": "completed",
            "AnsweredBy": "machine_end_beep",
            "CallDuration": "31",
            "Timestamp": "Mon, 02 Mar 2026 14:59:00 +0000",
        },
        TOUCH,
        NOW,
    )
    assert call.event_id == "CA1:completed" and call.kind is EventKind.voicemail_delivered
    assert call.raw_kind == "call.completed/machine_end_beep" and call.touch_id == TOUCH
    assert call.data == {"call_sid": "CA1", "answered_by": "machine_end_beep", "duration": 31}
    assert call.at == datetime(2026, 3, 2, 14, 59, tzinfo=UTC)

    sms = twilio_status_item({"MessageSid": "SM1", "MessageStatus": "delivered"}, TOUCH, NOW)
    assert sms.event_id == "SM1:delivered" and sms.kind is EventKind.sms_delivered
    failed = twilio_status_item(
        {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}, TOUCH, NOW
    )
    assert failed.event_id == "SM1:undelivered" and failed.kind is None
    assert failed.data["error_code"] == "30003" and "30003" in (failed.note or "")
    with pytest.raises(Malformed):
        twilio_status_item({"CallSid": "CA1"}, TOUCH, NOW)


@pytest.mark.parametrize(
    ("body", "stop"),
    [
        ("STOP", True),
        (" stop ", True),
        ("Stop.", True),
        ("unsubscribe", True),
        ("StopAll", True),
        ("cancel!", True),
        ("end", True),
        ("quit", True),
        ("Please stop", False),
        ("Stop by Tuesday?", False),
        ("Sounds good, call me", False),
        ("", False),
    ],
)
def test_stop_words(body: str, stop: bool) -> None:
    assert is_stop(body) is stop


def test_inbound_sms() -> None:
    params = {"MessageSid": "SM9", "From": "+14155550123", "Body": "STOP"}
    stop = twilio_inbound_item(params, "L1", "L1:drip:v1:e1:c1:nudge", NOW)
    assert stop.kind is EventKind.sms_stop and stop.event_id == "SM9" and stop.lead_id == "L1"
    reply = twilio_inbound_item({**params, "Body": "Yes, call me Tuesday"}, None, None, NOW)
    assert reply.kind is EventKind.sms_reply and reply.data["text"] == "Yes, call me Tuesday"
    assert reply.lead_id is None and "+14155550123" in (reply.note or "")
    opted = twilio_inbound_item(
        {**params, "Body": "no more", "OptOutType": "STOP"}, "L1", None, NOW
    )
    assert opted.kind is EventKind.sms_stop
    with pytest.raises(Malformed):
        twilio_inbound_item({"Body": "hi"}, None, None, NOW)


def lob(event_type: str, **over: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": "evt_1",
        "event_type": {"id": event_type, "resource": "letters", "object": "event_type"},
        "reference_id": "ltr_1",
        "date_created": "2026-03-02T14:00:00.000Z",
        "body": {"id": "ltr_1", "metadata": {"lead_id": "L1", "touch_id": TOUCH}},
        "object": "event",
    }
    values.update(over)
    return values


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("letter.delivered", EventKind.mail_delivered),
        ("postcard.delivered", EventKind.mail_delivered),
        ("self_mailer.delivered", EventKind.mail_delivered),
        ("letter.certified.delivered", EventKind.mail_delivered),
        ("letter.returned_to_sender", EventKind.mail_returned),
        ("postcard.returned_to_sender", EventKind.mail_returned),
        ("letter.certified.returned_to_sender", EventKind.mail_returned),
        ("letter.in_transit", None),
        ("letter.created", None),
        ("check.delivered", None),
    ],
)
def test_lob_kinds(event_type: str, kind: EventKind | None) -> None:
    assert lob_kind(event_type) == kind


def test_lob_item() -> None:
    item = lob_item(lob("letter.delivered"), NOW)
    assert item.event_id == "evt_1" and item.kind is EventKind.mail_delivered
    assert item.lead_id == "L1" and item.touch_id == TOUCH and item.data == {"lob_id": "ltr_1"}
    assert item.at == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert lob_item(lob("letter.in_transit"), NOW).kind is None
    with pytest.raises(Malformed, match="no id"):
        lob_item(lob("letter.delivered", id=None), NOW)
    with pytest.raises(Malformed, match="event_type"):
        lob_item({**lob("letter.delivered"), "event_type": {}}, NOW)
    with pytest.raises(Malformed):
        lob_item([lob("letter.delivered")], NOW)
