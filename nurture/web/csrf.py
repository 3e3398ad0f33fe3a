"""CSRF protection for the web forms: one random token per session, checked on every POST.

The token lives in the signed session cookie and is echoed by every form as a hidden field
(:data:`FIELD`) or by scripts as the :data:`HEADER` header; a request whose token is missing or
different is refused with 403 (:class:`CsrfError`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

from fastapi import Request

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfError(Exception):
    """A form without a valid CSRF token."""

    message = (
        "This form could not be accepted: its security token is missing or out of date "
        "(did your session expire, or did the form come from another site?). "
        "Reload the page and try again."
    )


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's token, created on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def rotate(session: MutableMapping[str, Any]) -> str:
    """A fresh token (at login and logout)."""
    session.pop(SESSION_KEY, None)
    return csrf_token(session)


def csrf_valid(session: MutableMapping[str, Any], submitted: object) -> bool:
    """True if ``submitted`` is this session's token (compared in constant time)."""
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or not expected or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


async def require_csrf(request: Request) -> None:
    """Dependency for POST routes: raise :class:`CsrfError` unless the token matches."""
    submitted: object = request.headers.get(HEADER)
    if submitted is None:
        form = await request.form()
        submitted = form.get(FIELD)
    if not csrf_valid(request.session, submitted):
        raise CsrfError
