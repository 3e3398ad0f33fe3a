"""Webhook signature checks, one function per provider; each raises :class:`SignatureError`.

- SendGrid: ECDSA P-256 over ``timestamp + body`` (``sendgrid.helpers.eventwebhook``).
- Twilio: ``X-Twilio-Signature`` over the exact public URL plus the sorted form fields
  (``twilio.request_validator``). Twilio signs no timestamp: replays are harmless because every
  event id is deduplicated.
- Lob: hex HMAC-SHA256 of ``timestamp + "." + body`` with the webhook secret.
- ``POST /events``: a bearer token or ``sha256=<hex HMAC-SHA256 of the body>``.

Timestamps older (or newer) than :data:`MAX_AGE` are refused: a captured request cannot be
replayed later.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator, get_signature_algorithm

#: How far a signed timestamp may be from our clock.
MAX_AGE = timedelta(minutes=10)


class SignatureError(Exception):
    """The request is not provably from the provider; the message says why (for the log)."""


class NotConfigured(Exception):
    """The provider's verification key is not set (or unusable): refuse everything."""


def _fresh(moment: datetime, now: datetime | None) -> None:
    age = (now or datetime.now(UTC)) - moment
    if abs(age) > MAX_AGE:
        when = "old" if age > timedelta(0) else "in the future"
        raise SignatureError(f"timestamp {moment.isoformat()} is too {when} (replay?)")


def parse_timestamp(value: str | None) -> datetime:
    """A signature timestamp: Unix seconds or milliseconds, or ISO 8601."""
    if not value or not value.strip():
        raise SignatureError("missing timestamp header")
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise SignatureError(f"unreadable timestamp {text[:40]!r}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if number > 1e11:  # milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        raise SignatureError(f"unreadable timestamp {text[:40]!r}") from None


# ---------------------------------------------------------------- SendGrid


@lru_cache(maxsize=4)
def _sendgrid_verifier(public_key: str) -> EventWebhook:
    lines = [line.strip() for line in public_key.strip().splitlines()]
    base64_der = "".join(line for line in lines if line and not line.startswith("-----"))
    try:
        verifier = EventWebhook(base64_der)
    except (ValueError, TypeError) as exc:
        raise NotConfigured(f"the SendGrid verification key cannot be read: {exc}") from None
    if not isinstance(verifier.public_key, ec.EllipticCurvePublicKey):
        raise NotConfigured("the SendGrid verification key is not an elliptic-curve key")
    return verifier


def verify_sendgrid(
    public_key: str | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: datetime | None = None,
) -> None:
    """Check SendGrid's Event Webhook signature and timestamp."""
    if not public_key:
        raise NotConfigured("NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
    verifier = _sendgrid_verifier(public_key)
    if not signature:
        raise SignatureError("missing X-Twilio-Email-Event-Webhook-Signature header")
    _fresh(parse_timestamp(timestamp), now)
    assert timestamp is not None
    try:
        text = body.decode("utf-8")
        good = verifier.verify_signature(text, signature, timestamp)
    except UnicodeDecodeError:
        raise SignatureError("body is not UTF-8, so it cannot carry a valid signature") from None
    except (binascii.Error, ValueError, InvalidSignature):
        good = False
    if not good:
        raise SignatureError("SendGrid signature does not match the body")


# ---------------------------------------------------------------- Twilio


def verify_twilio(
    auth_token: str | None,
    url: str,
    params: Mapping[str, Any],
    signature: str | None,
    signature_settings: str | None = None,
) -> None:
    """Check ``X-Twilio-Signature`` for the public ``url`` Twilio called and its form fields."""
    if not auth_token:
        raise NotConfigured("NURTURE_TWILIO_AUTH_TOKEN is not set")
    if not signature:
        raise SignatureError("missing X-Twilio-Signature header")
    validator = RequestValidator(auth_token)
    algorithm = get_signature_algorithm(signature_settings)
    if not validator.validate(url, params, signature, algorithm):
        raise SignatureError(f"Twilio signature does not match {url}")


# ---------------------------------------------------------------- Lob


def sign_lob(secret: str, timestamp: str, body: bytes) -> str:
    """Lob's ``Lob-Signature``: hex HMAC-SHA256 of ``timestamp + "." + body``."""
    message = timestamp.encode("utf-8") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_lob(
    secret: str | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: datetime | None = None,
) -> None:
    """Check ``Lob-Signature`` / ``Lob-Signature-Timestamp``."""
    if not secret:
        raise NotConfigured("NURTURE_LOB_WEBHOOK_SECRET is not set")
    if not signature:
        raise SignatureError("missing Lob-Signature header")
    _fresh(parse_timestamp(timestamp), now)
    assert timestamp is not None
    expected = sign_lob(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8")):
        raise SignatureError("Lob signature does not match the body")


# ---------------------------------------------------------------- POST /events


def sign_body(secret: str, body: bytes) -> str:
    """``X-Nurture-Signature`` for a body: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_events(
    token: str | None,
    secret: str | None,
    body: bytes,
    authorization: str | None,
    signature: str | None,
) -> str:
    """Check a bearer token or a body signature; returns which one passed."""
    if not token and not secret:
        raise NotConfigured("neither NURTURE_EVENTS_TOKEN nor NURTURE_EVENTS_HMAC_SECRET is set")
    if authorization:
        scheme, _, given = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise SignatureError("Authorization is not 'Bearer <token>'")
        if not token:
            raise SignatureError("bearer tokens are not accepted (NURTURE_EVENTS_TOKEN unset)")
        if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
            raise SignatureError("wrong bearer token")
        return "token"
    if signature:
        if not secret:
            raise SignatureError("signatures are not accepted (NURTURE_EVENTS_HMAC_SECRET unset)")
        expected = sign_body(secret, body)
        if not hmac.compare_digest(expected.encode("utf-8"), signature.strip().encode("utf-8")):
            raise SignatureError("X-Nurture-Signature does not match the body")
        return "signature"
    raise SignatureError("no Authorization or X-Nurture-Signature header")
