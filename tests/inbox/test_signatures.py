"""Webhook signature checks against signatures made the way each provider makes them."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nurture.inbox.signatures import (
    NotConfigured,
    SignatureError,
    parse_timestamp,
    sign_body,
    sign_lob,
    verify_events,
    verify_lob,
    verify_sendgrid,
    verify_twilio,
)
from tests.support.signing import sign_twilio

BODY = b'[{"event":"open","sg_event_id":"e1"}]'


def sendgrid_keys() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


def sendgrid_sign(private: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


def test_sendgrid() -> None:
    private, public = sendgrid_keys()
    ts = str(int(time.time()))
    verify_sendgrid(public, BODY, sendgrid_sign(private, ts, BODY), ts)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verify_sendgrid(pem.decode(), BODY, sendgrid_sign(private, ts, BODY), ts)  # PEM works too

    with pytest.raises(SignatureError, match="does not match"):
        verify_sendgrid(public, BODY + b" ", sendgrid_sign(private, ts, BODY), ts)
    other, _ = sendgrid_keys()
    with pytest.raises(SignatureError, match="does not match"):
        verify_sendgrid(public, BODY, sendgrid_sign(other, ts, BODY), ts)
    with pytest.raises(SignatureError, match="does not match"):
        verify_sendgrid(public, BODY, "not base64!!", ts)
    with pytest.raises(SignatureError, match="missing"):
        verify_sendgrid(public, BODY, None, ts)
    old = str(int(time.time()) - 3600)
    with pytest.raises(SignatureError, match="too old"):
        verify_sendgrid(public, BODY, sendgrid_sign(private, old, BODY), old)
    with pytest.raises(SignatureError, match="timestamp"):
        verify_sendgrid(public, BODY, sendgrid_sign(private, ts, BODY), None)
    with pytest.raises(NotConfigured):
        verify_sendgrid(None, BODY, "x", ts)
    with pytest.raises(NotConfigured, match="cannot be read"):
        verify_sendgrid("bm90IGEga2V5", BODY, "x", ts)


def test_twilio() -> None:
    url = "https://nurture.example.com/webhooks/twilio/status?touch_id=L1%3Adrip"
    params = {"CallSid": "CA1", "CallStatus": "completed", "AnsweredBy": "human"}
    signature = sign_twilio("token", url, params)
    verify_twilio("token", url, params, signature)
    with pytest.raises(SignatureError):
        verify_twilio("token", url, {**params, "CallStatus": "busy"}, signature)
    with pytest.raises(SignatureError):
        verify_twilio("token", url.replace("L1", "L2"), params, signature)
    with pytest.raises(SignatureError):
        verify_twilio("other-token", url, params, signature)
    with pytest.raises(SignatureError, match="missing"):
        verify_twilio("token", url, params, None)
    with pytest.raises(NotConfigured):
        verify_twilio(None, url, params, signature)


def test_lob() -> None:
    ts = str(int(time.time() * 1000))  # milliseconds work, and so do seconds
    body = b'{"id":"evt_1"}'
    verify_lob("whsec", body, sign_lob("whsec", ts, body), ts)
    secs = str(int(time.time()))
    verify_lob("whsec", body, sign_lob("whsec", secs, body).upper(), secs)
    with pytest.raises(SignatureError, match="does not match"):
        verify_lob("whsec", body + b"x", sign_lob("whsec", ts, body), ts)
    with pytest.raises(SignatureError, match="does not match"):
        verify_lob("whsec", body, "é" * 64, ts)  # non-ASCII header: refused, not a crash
    later = str(int(time.time()) + 3600)
    with pytest.raises(SignatureError, match="future"):
        verify_lob("whsec", body, sign_lob("whsec", later, body), later)
    with pytest.raises(NotConfigured):
        verify_lob(None, body, "x", ts)


def test_events_auth() -> None:
    body = b'{"id":"x"}'
    assert verify_events("tok", None, body, "Bearer tok", None) == "token"
    assert verify_events("tok", None, body, "bearer  tok ", None) == "token"
    assert verify_events(None, "sec", body, None, sign_body("sec", body)) == "signature"
    with pytest.raises(SignatureError, match="wrong bearer"):
        verify_events("tok", "sec", body, "Bearer nope", sign_body("sec", body))
    with pytest.raises(SignatureError, match="not accepted"):
        verify_events(None, "sec", body, "Bearer tok", None)
    with pytest.raises(SignatureError, match="does not match"):
        verify_events("tok", "sec", body + b" ", None, sign_body("sec", body))
    with pytest.raises(SignatureError, match="no Authorization"):
        verify_events("tok", "sec", body, None, None)
    with pytest.raises(SignatureError, match="Bearer"):
        verify_events("tok", None, body, "Basic dG9rOg==", None)
    with pytest.raises(NotConfigured):
        verify_events(None, None, body, "Bearer tok", None)


def test_parse_timestamp() -> None:
    moment = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    seconds = str(int(moment.timestamp()))
    assert parse_timestamp(seconds) == moment
    assert parse_timestamp(seconds + "000") == moment
    assert parse_timestamp("2026-03-02T15:00:00Z") == moment
    assert parse_timestamp("2026-03-02T16:00:00+01:00") == moment
    for bad in ("", "yesterday", "1e400"):
        with pytest.raises(SignatureError):
            parse_timestamp(bad)
    assert moment - timedelta(seconds=1) < parse_timestamp(seconds + ".5")
