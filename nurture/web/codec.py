"""The remote codec endpoint: Temporal's codec protocol (``POST /codec/encode``,
``POST /codec/decode``, ``Payloads`` as protobuf JSON), so that authorised staff read decrypted
journeys in the Temporal Web UI (its codec setting, or ``--ui-codec-endpoint`` of the dev server)
and the ``temporal`` CLI (``--codec-endpoint``).

Who may call it: a staff session of a manager or an admin (decrypted journeys show every lead's
personal data, so reps, sales and marketing — who see only what their pages show — may not), or
a request with ``Authorization: Bearer <NURTURE_CODEC_TOKEN>`` (the CLI, tools). Anonymous: 401.
CORS admits the Temporal UI's origins (``NURTURE_CODEC_CORS_ORIGINS``) with credentials, so the
UI's "include cross-origin credentials" sends the session cookie.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from nurture.roster.reps import Role
from nurture.settings import Settings
from nurture.temporal.codec import EncryptionCodec, UnknownCodecKey
from nurture.web.auth import DirectoryDep, NotAllowed, current_rep
from nurture.web.pages import SettingsDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/codec", tags=["codec"])

#: The roles that may read decrypted journeys (every lead's personal data).
CODEC_ROLES: frozenset[Role] = frozenset({"manager", "admin"})


class CodecCors(CORSMiddleware):
    """CORS for the codec endpoint only (the rest of the app answers no cross-origin calls)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/codec/"):
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """The codec (from the settings' keys), its CORS and its two endpoints."""
    app.state.codec = EncryptionCodec.from_settings(settings)
    origins = [o.strip() for o in settings.codec_cors_origins.split(",") if o.strip()]
    app.add_middleware(
        CodecCors,
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        max_age=600,
    )
    app.include_router(router)


def codec_caller(request: Request, directory: DirectoryDep, settings: SettingsDep) -> str:
    """Dependency: who calls (``token`` or a username); 401 anonymous, 403 without the role."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = settings.secret("codec_token")
        given = header[7:].strip().encode()
        if token and hmac.compare_digest(given, token.encode()):
            return "token"
        raise HTTPException(401, "wrong or unknown codec token", {"WWW-Authenticate": "Bearer"})
    me = current_rep(request, directory)  # anonymous: 401 (a JSON area)
    if not me.has_any(CODEC_ROLES):
        raise NotAllowed(me, CODEC_ROLES)
    return me.username


CallerDep = Annotated[str, Depends(codec_caller)]


async def _payloads(request: Request) -> Payloads:
    try:
        return json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"not a Payloads JSON body: {exc}") from None


@router.post("/encode")
async def encode(request: Request, caller: CallerDep) -> dict[str, Any]:
    """Encrypt payloads with the current key (the UI does it for input it sends)."""
    codec: EncryptionCodec = request.app.state.codec
    payloads = await _payloads(request)
    encoded = await codec.encode(list(payloads.payloads))
    return json_format.MessageToDict(Payloads(payloads=encoded))


@router.post("/decode")
async def decode(request: Request, caller: CallerDep) -> dict[str, Any]:
    """Decrypt payloads (any listed key); 422 for an unknown key id or a forged payload."""
    codec: EncryptionCodec = request.app.state.codec
    payloads = await _payloads(request)
    try:
        decoded = await codec.decode(list(payloads.payloads))
    except UnknownCodecKey as exc:
        log.error("codec decode for %s: %s", caller, exc.message)
        raise HTTPException(422, exc.message) from None
    except InvalidTag:
        log.error("codec decode for %s: a payload failed authentication", caller)
        raise HTTPException(
            422, "a payload could not be decrypted (altered, or wrong key)"
        ) from None
    log.info("codec decode for %s: %d payload(s)", caller, len(decoded))
    return json_format.MessageToDict(Payloads(payloads=decoded))
