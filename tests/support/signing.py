"""Signing requests as the providers do, for tests that post to the webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator


def sign_twilio(auth_token: str, url: str, params: Mapping[str, Any]) -> str:
    """The ``X-Twilio-Signature`` Twilio would send, computed by Twilio's own SDK."""
    signature: str = RequestValidator(auth_token).compute_signature(url, params)
    return signature
