"""Incoming engagement: provider webhooks, the voicemail TwiML, and the generic ``POST /events``.

Every endpoint checks its signature (never accepts unsigned), records what it got in the inbox
and only then answers 2xx; status codes are described in :mod:`nurture.inbox.intake`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import ImmutableMultiDict
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from nurture.events import EngagementEvent
from nurture.inbox.intake import (
    accept,
    log,
    malformed,
    not_configured,
    parse_json,
    public_url,
    read_body,
    verify,
)
from nurture.inbox.payloads import (
    Malformed,
    lob_item,
    sendgrid_items,
    twilio_inbound_item,
    twilio_status_item,
)
from nurture.inbox.sendgrid import confirm_unknown, confirmations
from nurture.inbox.signatures import verify_events, verify_lob, verify_sendgrid, verify_twilio
from nurture.inbox.store import InboxItem
from nurture.inbox.touchmap import lead_for_phone
from nurture.settings import Settings
from nurture.web.pages import SettingsDep, StoreDep

router = APIRouter(tags=["incoming"])

#: What a person who answers a voicemail-drop call hears before we hang up.
HUMAN_ANSWER_MESSAGE = (
    "Hello, this is a recorded message that was meant for your voicemail. "
    "Sorry to interrupt, we will follow up another way. Goodbye."
)
TWIML = "text/xml"


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- SendGrid


@router.post("/webhooks/sendgrid")
async def sendgrid_webhook(
    request: Request, settings: SettingsDep, store: StoreDep, background: BackgroundTasks
) -> dict[str, int]:
    """SendGrid Event Webhook: a signed JSON array of email events.

    A ``processed``/``delivered`` event for an email settled as ``unknown`` also settles its
    ledger row as ``sent`` (:func:`~nurture.inbox.sendgrid.confirm_unknown`) and its journey is
    told by a ``touch.confirmed`` event.
    """
    source = "sendgrid"
    key = settings.sendgrid_webhook_public_key
    if not key:
        not_configured(source, request, "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
    body = await read_body(source, request)
    headers = request.headers
    signature = headers.get("x-twilio-email-event-webhook-signature")
    timestamp = headers.get("x-twilio-email-event-webhook-timestamp")
    verify(source, request, lambda: verify_sendgrid(key, body, signature, timestamp))
    try:
        items = sendgrid_items(parse_json(source, request, body), _now())
    except Malformed as exc:
        malformed(source, request, str(exc))
    settled = await asyncio.to_thread(confirm_unknown, store, items)
    answer = await accept(source, request, items, background)
    if settled:  # the journeys of those touches are told too (not counted in the answer)
        await accept(source, request, confirmations(settled, items), background)
    return answer


# ---------------------------------------------------------------- Twilio


async def _twilio_form(
    source: str, request: Request, settings: Settings
) -> ImmutableMultiDict[str, str]:
    """The signed form fields of a Twilio request (query fields too, for a GET)."""
    token = settings.secret("twilio_auth_token")
    if not token:
        not_configured(source, request, "NURTURE_TWILIO_AUTH_TOKEN is not set")
    body = await read_body(source, request)
    if request.method == "GET":
        signed: ImmutableMultiDict[str, str] = ImmutableMultiDict()
        fields = ImmutableMultiDict(request.query_params.multi_items())
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            malformed(source, request, "body is not UTF-8")
        signed = fields = ImmutableMultiDict(parse_qsl(text, keep_blank_values=True))
    url = public_url(settings, request)
    signature = request.headers.get("x-twilio-signature")
    algorithm = request.headers.get("x-twilio-webhooks-signature-settings")
    verify(source, request, lambda: verify_twilio(token, url, signed, signature, algorithm))
    return fields


@router.post("/webhooks/twilio/status")
async def twilio_status(
    request: Request,
    settings: SettingsDep,
    background: BackgroundTasks,
    touch_id: str | None = None,
) -> dict[str, int]:
    """Twilio status callback of a voicemail-drop call or an SMS; ``?touch_id=`` names the touch."""
    source = "twilio"
    fields = await _twilio_form(source, request, settings)
    try:
        item = twilio_status_item(dict(fields), touch_id or None, _now())
    except Malformed as exc:
        malformed(source, request, str(exc))
    return await accept(source, request, [item], background)


@router.post("/webhooks/twilio/inbound")
async def twilio_inbound(
    request: Request, settings: SettingsDep, store: StoreDep, background: BackgroundTasks
) -> Response:
    """An inbound SMS: opt-out keywords become ``sms.stop``, anything else ``sms.reply``; the
    lead is the one we last texted or called at the sender's number."""
    source = "twilio"
    fields = dict(await _twilio_form(source, request, settings))
    lead_id, touch_id = await asyncio.to_thread(lead_for_phone, store, fields.get("From"))
    try:
        item = twilio_inbound_item(fields, lead_id, touch_id, _now())
    except Malformed as exc:
        malformed(source, request, str(exc))
    await accept(source, request, [item], background)
    return Response(str(MessagingResponse()), media_type=TWIML)


@router.api_route("/twilio/voicemail/{touch_id}", methods=["GET", "POST"], include_in_schema=False)
async def voicemail_twiml(
    request: Request, settings: SettingsDep, store: StoreDep, touch_id: str
) -> Response:
    """TwiML for a voicemail drop, fetched by Twilio once answering-machine detection is done.

    ``machine_end_*``: say the rendered voicemail (the ledger's text for this touch), hang up.
    ``human`` or ``unknown``: a short courtesy message, hang up. Anything else: hang up.
    """
    fields = await _twilio_form("twilio", request, settings)
    answered_by = fields.get("AnsweredBy", "")
    response = VoiceResponse()
    if answered_by.startswith("machine_end"):
        touch = await asyncio.to_thread(store.get_touch, touch_id)
        text = (touch.body_text or "").strip() if touch is not None else ""
        if text:
            response.say(text)
        else:
            log.warning("voicemail %s: no text in the ledger, hanging up", touch_id)
    elif answered_by in ("human", "unknown"):
        response.say(HUMAN_ANSWER_MESSAGE)
    response.hangup()
    return Response(str(response), media_type=TWIML)


# ---------------------------------------------------------------- Lob


@router.post("/webhooks/lob")
async def lob_webhook(
    request: Request, settings: SettingsDep, background: BackgroundTasks
) -> dict[str, int]:
    """Lob webhook: one signed event (letter/postcard delivered, returned to sender...)."""
    source = "lob"
    secret = settings.secret("lob_webhook_secret")
    if not secret:
        not_configured(source, request, "NURTURE_LOB_WEBHOOK_SECRET is not set")
    body = await read_body(source, request)
    signature = request.headers.get("lob-signature")
    timestamp = request.headers.get("lob-signature-timestamp")
    verify(source, request, lambda: verify_lob(secret, body, signature, timestamp))
    try:
        item = lob_item(parse_json(source, request, body), _now())
    except Malformed as exc:
        malformed(source, request, str(exc))
    return await accept(source, request, [item], background)


# ---------------------------------------------------------------- POST /events


@router.post("/events", status_code=202)
async def post_events(
    request: Request, settings: SettingsDep, background: BackgroundTasks
) -> dict[str, int]:
    """Engagement from landing pages, forms and CRMs: one event or a list, in our own format.

    202: recorded in the inbox, delivered to the leads' journeys after the answer (an event for
    a lead with no running journey is kept as ``unknown_lead``, see ``/inbox``).

    Authenticated by ``Authorization: Bearer <NURTURE_EVENTS_TOKEN>`` or
    ``X-Nurture-Signature: sha256=<hex HMAC-SHA256 of the body with NURTURE_EVENTS_HMAC_SECRET>``.
    """
    source = "events"
    token, secret = settings.secret("events_token"), settings.secret("events_hmac_secret")
    if not token and not secret:
        not_configured(
            source, request, "set NURTURE_EVENTS_TOKEN and/or NURTURE_EVENTS_HMAC_SECRET"
        )
    body = await read_body(source, request)
    authorization = request.headers.get("authorization")
    signature = request.headers.get("x-nurture-signature")
    verify(
        source,
        request,
        lambda: verify_events(token, secret, body, authorization, signature),
        challenge='Bearer realm="nurture-events"',
    )
    payload = parse_json(source, request, body, status=422)
    many = isinstance(payload, list)
    values = payload if many else [payload]
    if not values:
        malformed(source, request, "an empty list: send at least one event", status=422)
    items: list[InboxItem] = []
    for index, value in enumerate(values):
        where = f"event {index}" if many else "event"
        if not isinstance(value, dict):
            malformed(source, request, f"{where}: not a JSON object", status=422)
        try:
            event = EngagementEvent.model_validate(value)
        except ValidationError as exc:
            malformed(source, request, f"{where}: {_reasons(exc)}", status=422)
        items.append(InboxItem.of(event, source))
    return await accept(source, request, items, background)


def _reasons(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
