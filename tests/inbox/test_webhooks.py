"""Webhooks and POST /events against the real app on a temporary SQLite store.

Requests are signed the way each provider signs them (our own EC P-256 key for SendGrid,
Twilio's request-validator algorithm, Lob's HMAC); Twilio callbacks go to the URLs the Twilio
channel builds (nurture/channels/twilio.py), so sender and webhook agree. Temporal is pointed at
a closed port, so accepted events stay pending here; delivery is covered by
tests/inbox/test_delivery.py.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nurture.app import create_app
from nurture.channels.twilio import status_callback_url, voicemail_url
from nurture.inbox.intake import BODY_LIMIT
from nurture.inbox.signatures import sign_body, sign_lob
from nurture.inbox.store import Inbox
from nurture.settings import Settings
from nurture.store import Store
from tests.support.signing import sign_twilio
from tests.web.staff import add_staff, log_in

PUBLIC = "https://nurture.example.com"
TWILIO_TOKEN = "twilio-auth-token"
LOB_SECRET = "lob-webhook-secret"
EVENTS_TOKEN = "events-token"
EVENTS_SECRET = "events-hmac-secret"
EMAIL_TOUCH = "L1:drip:v1:e1:c1:hello"
SMS_TOUCH = "L1:drip:v1:e1:c1:nudge"
VOICEMAIL_TOUCH = "L1:drip:v1:e1:c2:missed#2"
LETTER_TOUCH = "L1:drip:v1:e1:c1:letter"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_key(private: ec.EllipticCurvePrivateKey) -> str:
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def make_settings(tmp_path: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "temporal_address": f"127.0.0.1:{closed_port()}",
        "public_url": PUBLIC,
        "twilio_auth_token": TWILIO_TOKEN,
        "lob_webhook_secret": LOB_SECRET,
        "events_token": EVENTS_TOKEN,
        "events_hmac_secret": EVENTS_SECRET,
    }
    values.update(over)
    return Settings(**values)


def quiet_app(settings: Settings, store: Store) -> FastAPI:
    app = create_app(settings=settings, store=store)
    app.state.delivery_loop.interval = 3600  # only the per-request delivery attempt runs
    return app


@pytest.fixture
def settings(tmp_path: Path, sendgrid_key: ec.EllipticCurvePrivateKey) -> Settings:
    return make_settings(tmp_path, sendgrid_webhook_public_key=public_key(sendgrid_key))


@pytest.fixture
def ledger(store: Store) -> Store:
    """The touches the callbacks refer to."""
    common: dict[str, Any] = {
        "lead_id": "L1",
        "cadence": "drip",
        "cadence_version": 1,
        "cycle": 1,
        "provider": "outbox",
        "status": "sent",
        "summary": "t",
    }
    store.record_touch(touch_id=EMAIL_TOUCH, step_id="hello", channel="email", **common)
    store.record_touch(
        touch_id=SMS_TOUCH, step_id="nudge", channel="sms", recipient="+14155550123", **common
    )
    store.record_touch(
        touch_id=VOICEMAIL_TOUCH,
        step_id="missed",
        channel="voicemail",
        recipient="+14155550123",
        body_text="Hi Ann, it's Sam from Acme & Co. I'll send the ROI study by email.",
        **common,
    )
    return store


@pytest.fixture
def client(settings: Settings, ledger: Store) -> Iterator[TestClient]:
    with TestClient(quiet_app(settings, ledger)) as c:
        yield c


@pytest.fixture
def inbox(ledger: Store) -> Inbox:
    return Inbox(ledger)


# ---------------------------------------------------------------- SendGrid


def sg_event(event: str, event_id: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": "ann@example.com",
        "timestamp": int(time.time()),
        "event": event,
        "sg_event_id": event_id,
        "sg_message_id": "msg-1.filter",
        "touch_id": EMAIL_TOUCH,
        "lead_id": "L1",
    }
    values.update(over)
    return values


def sg_headers(
    key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": ts,
    }


def post_sendgrid(
    client: TestClient, key: ec.EllipticCurvePrivateKey, events: Any, **kw: Any
) -> httpx.Response:
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    return client.post("/webhooks/sendgrid", content=body, headers=sg_headers(key, body, **kw))


BATCH = [
    sg_event("processed", "sg-p"),
    sg_event("delivered", "sg-d"),
    sg_event("open", "sg-o"),
    sg_event("click", "sg-c", url="https://acme.example/roi"),
    sg_event("bounce", "sg-b", touch_id="custom-unknown-touch", lead_id=None),
    sg_event("open", "sg-other", touch_id="L77:drip:v1:e1:c1:hello", lead_id=None),
]


def test_sendgrid_batch(client: TestClient, inbox: Inbox, sendgrid_key: Any) -> None:
    r = post_sendgrid(client, sendgrid_key, BATCH)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 6, "new": 6, "duplicates": 0}
    status = {row.event_id: (row.status, row.kind, row.lead_id) for row in inbox.list()}
    assert status == {
        "sg-p": ("unmapped", None, "L1"),
        "sg-d": ("pending", "email.delivered", "L1"),
        "sg-o": ("pending", "email.open", "L1"),
        "sg-c": ("pending", "email.click", "L1"),
        "sg-b": ("unknown_lead", "email.bounce", None),  # recorded, never dropped
        "sg-other": ("pending", "email.open", "L77"),  # lead from the touch id itself
    }
    click = inbox.get("sg-c")
    assert click is not None and click.event() is not None
    assert click.event().data["url"] == "https://acme.example/roi"  # type: ignore[union-attr]
    # Temporal is down: the immediate delivery attempt failed and the rows wait.
    assert click.attempts == 1 and "unreachable" in (click.last_error or "")


def sendgrid_touch(store: Store, touch_id: str, status: str) -> None:
    """An email the SendGrid channel recorded with ``status``."""
    store.record_touch(
        touch_id=touch_id,
        lead_id="L1",
        cadence="drip",
        cadence_version=1,
        cycle=1,
        step_id=touch_id.rsplit(":", 1)[1],
        channel="email",
        provider="sendgrid",
        status=status,
        error=f"{status}: as the channel left it",
        summary="email",
    )


def test_sendgrid_processed_confirms_an_email_settled_unknown(
    client: TestClient, inbox: Inbox, ledger: Store, sendgrid_key: Any
) -> None:
    lost, failed = "L1:drip:v1:e1:c1:lost", "L1:drip:v1:e1:c1:refused"
    sendgrid_touch(ledger, lost, "unknown")
    sendgrid_touch(ledger, failed, "failed")
    at = int(time.time()) - 60
    sg_id = "Ctt1jcG7Qk2YJPOYWDv5sg.filter0905p1mdw1-4434-59E0C6FF-3.0"
    batch = [
        sg_event("processed", "sg-lost-p", touch_id=lost, sg_message_id=sg_id, timestamp=at),
        sg_event("delivered", "sg-lost-d", touch_id=lost, sg_message_id=sg_id),
        sg_event("processed", "sg-refused-p", touch_id=failed),
        sg_event("processed", "sg-outbox-p"),  # EMAIL_TOUCH: an outbox row, already sent
    ]
    others = {t: ledger.get_touch(t) for t in (failed, EMAIL_TOUCH)}
    r = post_sendgrid(client, sendgrid_key, batch)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 4, "new": 4, "duplicates": 0}
    row = ledger.get_touch(lost)
    assert row is not None and (row.status, row.provider_id) == ("sent", "Ctt1jcG7Qk2YJPOYWDv5sg")
    assert row.error == (
        "confirmed by SendGrid's processed event (event webhook); the send itself had ended unknown"
    )
    assert row.sent_at is not None and int(row.sent_at.timestamp()) == at
    for touch_id, earlier in others.items():  # any other status: never touched
        later = ledger.get_touch(touch_id)
        assert earlier is not None and later is not None
        assert later.to_dict() == earlier.to_dict()
    # The inbox keeps the events as they came (processed unmapped, delivered pending) and adds
    # one touch.confirmed event for the journey of the touch settled now.
    status = {r.event_id: (r.status, r.kind, r.touch_id) for r in inbox.list()}
    assert status == {
        f"confirmed:{lost}": ("pending", "touch.confirmed", lost),
        "sg-lost-p": ("unmapped", None, lost),
        "sg-lost-d": ("pending", "email.delivered", lost),
        "sg-refused-p": ("unmapped", None, failed),
        "sg-outbox-p": ("unmapped", None, EMAIL_TOUCH),
    }
    before = [touch.to_dict() for touch in ledger.list_touches()]
    again = post_sendgrid(client, sendgrid_key, batch)  # SendGrid re-delivers the batch
    assert again.json() == {"accepted": 4, "new": 0, "duplicates": 4}
    assert [touch.to_dict() for touch in ledger.list_touches()] == before  # nothing changes


def test_sendgrid_large_batch(client: TestClient, inbox: Inbox, sendgrid_key: Any) -> None:
    events = [
        sg_event(kind, f"sg-{n}", touch_id=f"L{n % 50}:drip:v1:e1:c1:hello", lead_id=None)
        for n, kind in enumerate(["delivered", "open", "click", "processed"] * 250)
    ]
    r = post_sendgrid(client, sendgrid_key, events)
    assert r.status_code == 200 and r.json()["new"] == 1000
    assert inbox.counts() == {
        "pending": 750,
        "delivered": 0,
        "unknown_lead": 0,
        "unmapped": 250,
    }


def test_sendgrid_retries_change_nothing(
    client: TestClient, inbox: Inbox, sendgrid_key: Any
) -> None:
    assert post_sendgrid(client, sendgrid_key, BATCH[:3]).json()["new"] == 3
    before = {r.event_id: (r.status, r.kind, r.event_json) for r in inbox.list()}
    again = post_sendgrid(client, sendgrid_key, BATCH[:3])
    assert again.status_code == 200
    assert again.json() == {"accepted": 3, "new": 0, "duplicates": 3}
    assert {r.event_id: (r.status, r.kind, r.event_json) for r in inbox.list()} == before


def test_sendgrid_refusals(
    client: TestClient,
    inbox: Inbox,
    sendgrid_key: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="nurture.webhooks")
    body = json.dumps(BATCH).encode()
    forger = ec.generate_private_key(ec.SECP256R1())
    forged = client.post("/webhooks/sendgrid", content=body, headers=sg_headers(forger, body))
    assert forged.status_code == 401
    assert "signature does not match" in forged.json()["detail"]
    unsigned = client.post("/webhooks/sendgrid", content=body)
    assert unsigned.status_code == 401 and "missing" in unsigned.json()["detail"]
    tampered_headers = sg_headers(sendgrid_key, body)
    tampered = client.post(
        "/webhooks/sendgrid", content=body.replace(b"open", b"click"), headers=tampered_headers
    )
    assert tampered.status_code == 401
    replayed = post_sendgrid(client, sendgrid_key, BATCH, timestamp=int(time.time()) - 3600)
    assert replayed.status_code == 401 and "too old" in replayed.json()["detail"]
    assert inbox.list() == []
    reasons = [r.getMessage() for r in caplog.records if r.name == "nurture.webhooks"]
    assert any("signature does not match" in m for m in reasons)
    assert any("too old" in m for m in reasons)


def test_sendgrid_malformed(client: TestClient, inbox: Inbox, sendgrid_key: Any) -> None:
    truncated = json.dumps(BATCH).encode()[:-20]
    r = post_sendgrid(client, sendgrid_key, truncated)
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = post_sendgrid(client, sendgrid_key, {"event": "open"})
    assert r.status_code == 400 and "JSON array" in r.json()["detail"]
    r = post_sendgrid(client, sendgrid_key, [sg_event("open", "x"), 42])
    assert r.status_code == 400 and r.json()["detail"] == "event 1: not a JSON object"
    r = post_sendgrid(client, sendgrid_key, b"\xff\xfe[]")
    assert r.status_code == 401  # not UTF-8: it cannot carry a valid signature
    assert inbox.list() == []


def test_sendgrid_oversized(client: TestClient, inbox: Inbox, sendgrid_key: Any) -> None:
    big = b"[" + b" " * BODY_LIMIT + b"]"
    r = client.post("/webhooks/sendgrid", content=big, headers=sg_headers(sendgrid_key, big))
    assert r.status_code == 413
    assert inbox.list() == []


def test_unconfigured_webhooks_refuse_everything(
    tmp_path: Path, ledger: Store, sendgrid_key: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="nurture.webhooks")
    bare = make_settings(
        tmp_path,
        sendgrid_webhook_public_key=None,
        twilio_auth_token=None,
        lob_webhook_secret=None,
        events_token=None,
        events_hmac_secret=None,
    )
    body = json.dumps(BATCH).encode()
    with TestClient(quiet_app(bare, ledger)) as c:
        assert (
            c.post(
                "/webhooks/sendgrid", content=body, headers=sg_headers(sendgrid_key, body)
            ).status_code
            == 503
        )
        assert c.post("/webhooks/twilio/status", data={"CallSid": "CA1"}).status_code == 503
        assert c.post("/webhooks/twilio/inbound", data={"Body": "STOP"}).status_code == 503
        assert c.post("/twilio/voicemail/x", data={"AnsweredBy": "human"}).status_code == 503
        assert c.post("/webhooks/lob", content=b"{}").status_code == 503
        r = c.post("/events", content=b"{}", headers={"Authorization": "Bearer anything"})
        assert r.status_code == 503
    assert Inbox(ledger).list() == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    for setting in (
        "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY",
        "NURTURE_TWILIO_AUTH_TOKEN",
        "NURTURE_LOB_WEBHOOK_SECRET",
        "NURTURE_EVENTS_TOKEN",
    ):
        assert setting in logged


async def test_oversized_stream_is_refused_without_reading_it_all(
    settings: Settings, ledger: Store, sendgrid_key: Any
) -> None:
    app = quiet_app(settings, ledger)
    chunk = b" " * 65536
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(200):  # 12.5 MiB if read to the end
            sent += 1
            yield chunk

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.post(
            "/webhooks/sendgrid", content=endless(), headers=sg_headers(sendgrid_key, b"")
        )
        assert r.status_code == 413
        assert sent <= BODY_LIMIT // len(chunk) + 2

        sent = 0
        declared = {**sg_headers(sendgrid_key, b""), "Content-Length": str(BODY_LIMIT * 5)}
        r = await c.post("/webhooks/sendgrid", content=endless(), headers=declared)
        assert r.status_code == 413
        assert sent <= 1  # refused on the declared length


# ---------------------------------------------------------------- Twilio


def twilio_post(
    client: TestClient, url: str, params: dict[str, str], *, token: str = TWILIO_TOKEN
) -> httpx.Response:
    """POST ``params`` to ``url`` (a public URL) signed like Twilio."""
    headers = {"X-Twilio-Signature": sign_twilio(token, url, params)}
    return client.post(url.removeprefix(PUBLIC), data=params, headers=headers)


def call_status(status: str, answered_by: str = "", sid: str = "CA1") -> dict[str, str]:
    params = {"CallSid": sid, "CallStatus": status, "AccountSid": "AC1", "To": "+14155550123"}
    if answered_by:
        params["AnsweredBy"] = answered_by
    return params


def test_twilio_call_status(client: TestClient, inbox: Inbox) -> None:
    url = status_callback_url(PUBLIC, VOICEMAIL_TOUCH)
    r = twilio_post(client, url, call_status("completed", "machine_end_beep"))
    assert r.status_code == 200, r.text
    row = inbox.get("CA1:completed")
    assert row is not None and row.kind == "voicemail.delivered" and row.status == "pending"
    assert (row.lead_id, row.touch_id) == ("L1", VOICEMAIL_TOUCH)

    human = twilio_post(client, url, call_status("completed", "human", sid="CA2"))
    assert human.status_code == 200
    assert inbox.get("CA2:completed").kind == "call.connected"  # type: ignore[union-attr]
    ringing = twilio_post(client, url, call_status("ringing", sid="CA2"))
    assert ringing.status_code == 200
    assert inbox.get("CA2:ringing").status == "unmapped"  # type: ignore[union-attr]
    again = twilio_post(client, url, call_status("completed", "machine_end_beep"))
    assert again.json() == {"accepted": 1, "new": 0, "duplicates": 1}


def test_twilio_message_status(client: TestClient, inbox: Inbox) -> None:
    url = status_callback_url(PUBLIC, SMS_TOUCH)
    delivered = {"MessageSid": "SM1", "MessageStatus": "delivered", "SmsSid": "SM1"}
    assert twilio_post(client, url, delivered).status_code == 200
    undelivered = {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert twilio_post(client, url, undelivered).status_code == 200
    assert inbox.get("SM1:delivered").kind == "sms.delivered"  # type: ignore[union-attr]
    failed = inbox.get("SM2:undelivered")
    assert failed is not None and failed.status == "unmapped" and failed.lead_id == "L1"
    assert "30003" in (failed.last_error or "")


def test_twilio_status_refusals(client: TestClient, inbox: Inbox) -> None:
    url = status_callback_url(PUBLIC, VOICEMAIL_TOUCH)
    params = call_status("completed", "human")
    assert twilio_post(client, url, params, token="not-the-token").status_code == 401
    unsigned = client.post(url.removeprefix(PUBLIC), data=params)
    assert unsigned.status_code == 401
    # Signed for another touch: the touch id is part of the signed URL.
    other = status_callback_url(PUBLIC, EMAIL_TOUCH)
    headers = {"X-Twilio-Signature": sign_twilio(TWILIO_TOKEN, other, params)}
    assert client.post(url.removeprefix(PUBLIC), data=params, headers=headers).status_code == 401
    # Signed for another host.
    elsewhere = "https://attacker.example" + url.removeprefix(PUBLIC)
    headers = {"X-Twilio-Signature": sign_twilio(TWILIO_TOKEN, elsewhere, params)}
    assert client.post(url.removeprefix(PUBLIC), data=params, headers=headers).status_code == 401
    assert inbox.list() == []
    bad = twilio_post(client, url, {"CallSid": "CA1"})
    assert bad.status_code == 400 and "CallStatus" in bad.json()["detail"]


def test_twilio_status_without_touch_is_recorded(client: TestClient, inbox: Inbox) -> None:
    url = f"{PUBLIC}/webhooks/twilio/status"
    assert twilio_post(client, url, call_status("completed", "human", sid="CA9")).status_code == 200
    row = inbox.get("CA9:completed")
    assert row is not None and row.status == "unknown_lead" and row.kind == "call.connected"


def test_twilio_inbound_sms(client: TestClient, inbox: Inbox) -> None:
    url = f"{PUBLIC}/webhooks/twilio/inbound"
    stop = {"MessageSid": "SMin1", "From": "+14155550123", "To": "+15005550006", "Body": "Stop"}
    r = twilio_post(client, url, stop)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/xml")
    assert "<Response" in r.text and "<Message" not in r.text
    row = inbox.get("SMin1")
    assert row is not None and row.kind == "sms.stop" and row.status == "pending"
    assert (row.lead_id, row.touch_id) == ("L1", VOICEMAIL_TOUCH)  # newest touch to that phone

    reply = {**stop, "MessageSid": "SMin2", "Body": "Tuesday 10am works"}
    assert twilio_post(client, url, reply).status_code == 200
    event = inbox.get("SMin2").event()  # type: ignore[union-attr]
    assert event is not None and event.kind == "sms.reply"
    assert event.data["text"] == "Tuesday 10am works"

    stranger = {**reply, "MessageSid": "SMin3", "From": "+14155550100"}
    assert twilio_post(client, url, stranger).status_code == 200
    unknown = inbox.get("SMin3")
    assert unknown is not None and unknown.status == "unknown_lead"
    assert "+14155550100" in (unknown.last_error or "")
    assert twilio_post(client, url, stop, token="forged").status_code == 401


def test_voicemail_twiml(client: TestClient) -> None:
    url = voicemail_url(PUBLIC, VOICEMAIL_TOUCH)
    assert "%23" in url  # '#' of the visit suffix is escaped
    r = twilio_post(client, url, {"CallSid": "CA1", "AnsweredBy": "machine_end_beep"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert "<Say>Hi Ann, it's Sam from Acme &amp; Co. I'll send the ROI study by email.</Say>" in (
        r.text.replace("&apos;", "'")
    )
    assert r.text.index("<Say>") < r.text.index("<Hangup />")

    human = twilio_post(client, url, {"CallSid": "CA1", "AnsweredBy": "human"})
    assert "recorded message" in human.text and "<Hangup />" in human.text
    assert "ROI" not in human.text
    fax = twilio_post(client, url, {"CallSid": "CA1", "AnsweredBy": "fax"})
    assert "<Say" not in fax.text and "<Hangup />" in fax.text
    unknown_touch = twilio_post(
        client,
        voicemail_url(PUBLIC, "L1:drip:v1:e1:c1:gone"),
        {"AnsweredBy": "machine_end_beep"},
    )
    assert unknown_touch.status_code == 200 and "<Say" not in unknown_touch.text

    # Twilio may fetch TwiML with GET: the fields are in the (signed) URL then.
    get_url = url + "?" + urlencode({"CallSid": "CA1", "AnsweredBy": "machine_end_silence"})
    headers = {"X-Twilio-Signature": sign_twilio(TWILIO_TOKEN, get_url, {})}
    got = client.get(get_url.removeprefix(PUBLIC), headers=headers)
    assert got.status_code == 200 and "ROI study" in got.text

    unsigned = client.post(url.removeprefix(PUBLIC), data={"AnsweredBy": "machine_end_beep"})
    assert unsigned.status_code == 401 and "ROI" not in unsigned.text


# ---------------------------------------------------------------- Lob


def lob_event(event_type: str, event_id: str, touch_id: str = LETTER_TOUCH) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "event_type": {"id": event_type, "resource": "letters", "object": "event_type"},
            "reference_id": "ltr_1",
            "date_created": "2026-03-02T14:00:00.000Z",
            "body": {"id": "ltr_1", "metadata": {"lead_id": "L1", "touch_id": touch_id}},
            "object": "event",
        }
    ).encode()


def lob_headers(body: bytes, *, secret: str = LOB_SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(ts if ts is not None else int(time.time()))
    return {
        "Content-Type": "application/json",
        "Lob-Signature": sign_lob(secret, stamp, body),
        "Lob-Signature-Timestamp": stamp,
    }


def test_lob(client: TestClient, inbox: Inbox) -> None:
    delivered = lob_event("letter.delivered", "evt_1")
    r = client.post("/webhooks/lob", content=delivered, headers=lob_headers(delivered))
    assert r.status_code == 200 and r.json()["new"] == 1
    returned = lob_event("postcard.returned_to_sender", "evt_2")
    assert client.post("/webhooks/lob", content=returned, headers=lob_headers(returned)).json()[
        "new"
    ]
    transit = lob_event("letter.in_transit", "evt_3")
    assert client.post("/webhooks/lob", content=transit, headers=lob_headers(transit)).is_success
    kinds = {r.event_id: (r.kind, r.status, r.lead_id, r.touch_id) for r in inbox.list()}
    assert kinds == {
        "evt_1": ("mail.delivered", "pending", "L1", LETTER_TOUCH),
        "evt_2": ("mail.returned", "pending", "L1", LETTER_TOUCH),
        "evt_3": (None, "unmapped", "L1", LETTER_TOUCH),
    }
    again = client.post("/webhooks/lob", content=delivered, headers=lob_headers(delivered))
    assert again.json() == {"accepted": 1, "new": 0, "duplicates": 1}


def test_lob_refusals(client: TestClient, inbox: Inbox) -> None:
    body = lob_event("letter.delivered", "evt_9")
    forged = client.post("/webhooks/lob", content=body, headers=lob_headers(body, secret="guess"))
    assert forged.status_code == 401
    stale = lob_headers(body, ts=int(time.time()) - 3600)
    assert client.post("/webhooks/lob", content=body, headers=stale).status_code == 401
    assert client.post("/webhooks/lob", content=body).status_code == 401
    assert inbox.list() == []
    truncated = body[:-5]
    r = client.post("/webhooks/lob", content=truncated, headers=lob_headers(truncated))
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    no_id = json.dumps({"event_type": {"id": "letter.delivered"}}).encode()
    r = client.post("/webhooks/lob", content=no_id, headers=lob_headers(no_id))
    assert r.status_code == 400 and "no id" in r.json()["detail"]


# ---------------------------------------------------------------- POST /events


def form_event(event_id: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": event_id,
        "kind": "form.submitted",
        "lead_id": "L1",
        "at": "2026-03-02T15:00:00Z",
        "data": {"page": "/pricing", "form": "demo-request"},
    }
    values.update(over)
    return values


def test_events_with_a_bearer_token(client: TestClient, inbox: Inbox) -> None:
    auth = {"Authorization": f"Bearer {EVENTS_TOKEN}"}
    r = client.post("/events", json=form_event("f1"), headers=auth)
    assert r.status_code == 202 and r.json() == {"accepted": 1, "new": 1, "duplicates": 0}
    row = inbox.get("f1")
    assert row is not None and row.provider == "events" and row.status == "pending"
    assert row.event().data == {"page": "/pricing", "form": "demo-request"}  # type: ignore[union-attr]
    assert client.post("/events", json=form_event("f1"), headers=auth).json()["duplicates"] == 1


def test_events_with_a_signature(client: TestClient, inbox: Inbox) -> None:
    body = json.dumps(
        [form_event("f2"), form_event("f3", kind="web.visit", touch_id=EMAIL_TOUCH)]
    ).encode()
    headers = {"X-Nurture-Signature": sign_body(EVENTS_SECRET, body)}
    r = client.post("/events", content=body, headers=headers)
    assert r.status_code == 202 and r.json()["new"] == 2
    assert {row.event_id: row.kind for row in inbox.list()} == {
        "f2": "form.submitted",
        "f3": "web.visit",
    }


def test_events_refusals(
    client: TestClient, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="nurture.webhooks")
    body = json.dumps(form_event("f9")).encode()
    assert client.post("/events", content=body).status_code == 401
    wrong = client.post("/events", content=body, headers={"Authorization": "Bearer nope"})
    assert (
        wrong.status_code == 401
        and wrong.json()["detail"] == "not authenticated: wrong bearer token"
    )
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    forged = {"X-Nurture-Signature": sign_body("not-the-secret", body)}
    assert client.post("/events", content=body, headers=forged).status_code == 401
    assert inbox.list() == []
    assert any("wrong bearer token" in r.getMessage() for r in caplog.records)


def test_events_malformed(client: TestClient, inbox: Inbox) -> None:
    auth = {"Authorization": f"Bearer {EVENTS_TOKEN}"}
    r = client.post("/events", content=b'{"id": "f1", "kind": "form.sub', headers=auth)
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
    r = client.post(
        "/events", json=[form_event("ok"), form_event("f2", kind="form.typo")], headers=auth
    )
    assert r.status_code == 422
    assert r.json()["detail"].startswith("event 1: kind: Input should be")
    r = client.post("/events", json=form_event("f3", at="2026-03-02T15:00:00"), headers=auth)
    assert r.status_code == 422 and r.json()["detail"].startswith("event: at: ")  # naive time
    r = client.post("/events", json={"id": "f4", "kind": "web.visit"}, headers=auth)
    assert r.status_code == 422
    assert "lead_id: Field required" in r.json()["detail"]
    r = client.post("/events", json=[], headers=auth)
    assert r.status_code == 422 and r.json()["detail"].startswith("an empty list")
    r = client.post("/events", json=["f5"], headers=auth)
    assert r.status_code == 422 and r.json()["detail"] == "event 0: not a JSON object"
    assert inbox.list() == []  # a bad event refuses its whole batch: the sender fixes and resends
    big = b"[" + b" " * BODY_LIMIT + b"]"
    assert client.post("/events", content=big, headers=auth).status_code == 413


# ---------------------------------------------------------------- the inbox page


def test_inbox_page_and_api(client: TestClient, sendgrid_key: Any, store: Store) -> None:
    post_sendgrid(client, sendgrid_key, BATCH)
    add_staff(store, "ada.admin", "admin")
    log_in(client, "ada.admin")
    page = client.get("/inbox")
    assert page.status_code == 200
    text = page.text
    assert 'href="/inbox" aria-current="page"' in text
    assert "pending: <strong>4</strong>" in text
    assert "unknown lead: <strong>1</strong>" in text
    assert "unmapped: <strong>1</strong>" in text
    assert "custom-unknown-touch" in text and "no lead known" in text
    only = client.get("/inbox", params={"status": "unknown_lead"}).text
    assert "sg-b" in only and "sg-o" not in only
    assert "sg-o" in client.get("/inbox", params={"lead": "L1"}).text
    api = client.get("/api/inbox", params={"status": "pending"}).json()
    assert {r["event_id"] for r in api} == {"sg-d", "sg-o", "sg-c", "sg-other"}
    assert all(r["attempts"] == 1 for r in api)
    empty = client.get("/inbox", params={"status": "delivered"}).text
    assert "No events match" in empty
