"""SMS and voicemail drops through Twilio (the ``twilio`` SDK).

- SMS: Messages API, with a status callback carrying the touch id.
- Voicemail drop: Calls API with ``machine_detection="DetectMessageEnd"``; Twilio fetches
  ``{public_url}/twilio/voicemail/{touch_id}`` once detection is done, and that TwiML endpoint
  reads the rendered text from the touch's ledger row (``body_text``), written before the call.

Delivery guarantee: exactly once as far as Twilio's records show. Twilio has no idempotency key;
an attempt whose outcome is unclear (timeout, reset, 5xx, a worker that died mid-call) is
reconciled on retry by listing the calls/messages to that number from our number since the
touch was claimed: a match not already recorded for another touch is adopted, otherwise the touch
is sent again. A 401 (the account's credentials refused, nothing created) is retried until the
configuration is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, RequestException
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from nurture.cadence.render import Rendered
from nurture.channels.base import (
    HTTP_TIMEOUT,
    Adopt,
    Decision,
    NotSent,
    ProviderChannel,
    Rejected,
    Resend,
    Unclear,
    Unsendable,
    credentials_refused,
)
from nurture.contracts import Touch
from nurture.events import Channel
from nurture.settings import Settings
from nurture.store import Store, TouchRecord

#: Tolerated difference between our clock and Twilio's when matching records to a claim.
CLOCK_SKEW = timedelta(minutes=2)
#: How many recent calls/messages to the number a reconciliation looks at.
LOOKBACK = 50
#: Call progress events posted to the status callback.
CALL_EVENTS = ["initiated", "answered", "completed"]
#: Refused credentials (nothing created) and what to fix; retried until fixed. A 403 (a
#: permission the account lacks) stays a permanent refusal for the lead's channel.
CREDENTIALS = {
    401: (
        "the account SID / auth token were refused; "
        "check NURTURE_TWILIO_ACCOUNT_SID and NURTURE_TWILIO_AUTH_TOKEN"
    ),
}


@dataclass(frozen=True)
class TwilioRequest:
    """A Messages or Calls create request (the SDK's keyword arguments)."""

    kind: Literal["sms", "voicemail"]
    params: dict[str, Any] = field(default_factory=dict)


def voicemail_url(public_url: str, touch_id: str) -> str:
    """The TwiML endpoint Twilio fetches for a voicemail drop."""
    return f"{public_url.rstrip('/')}/twilio/voicemail/{quote(touch_id, safe=':')}"


def status_callback_url(public_url: str, touch_id: str) -> str:
    """Where Twilio posts call and message status changes for a touch."""
    query = urlencode({"touch_id": touch_id})
    return f"{public_url.rstrip('/')}/webhooks/twilio/status?{query}"


def _reason(exc: TwilioRestException) -> str:
    code = f" (error {exc.code})" if exc.code else ""
    return f"Twilio {exc.status}{code}: {exc.msg}"


def _detail(exc: TwilioRestException) -> str:
    """Twilio's own words for an error answer, with its error code."""
    return f"{exc.msg} (error {exc.code})" if exc.code else str(exc.msg)


def _transport(exc: RequestException) -> Exception:
    """A requests failure as NotSent (never connected) or Unclear (may have been received)."""
    if isinstance(exc, ConnectTimeout):
        return NotSent(f"Twilio unreachable: {exc}")
    if isinstance(exc, RequestsConnectionError):
        inner = exc.args[0] if exc.args else None
        if isinstance(getattr(inner, "reason", inner), NewConnectionError):
            return NotSent(f"Twilio unreachable: {exc}")
    return Unclear(f"Twilio request failed: {exc!r}")


class TwilioChannel(ProviderChannel[TwilioRequest]):
    """SMS and voicemail drops through one Twilio account and caller id."""

    name = "twilio"

    def __init__(self, store: Store, client: Client, *, from_: str, public_url: str) -> None:
        super().__init__(store)
        self.client = client
        self.from_ = from_
        self.public_url = public_url

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> TwilioChannel:
        """The adapter for the configured account (``twilio_api_base`` replaces the host)."""
        token = settings.secret("twilio_auth_token")
        assert settings.twilio_account_sid and token and settings.twilio_from
        client = Client(
            settings.twilio_account_sid,
            token,
            http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT),
        )
        if settings.twilio_api_base:
            # A mock: keep TWILIO_REGION / TWILIO_EDGE from rewriting the host.
            client.region = client.edge = None
            client.api.base_url = settings.twilio_api_base.rstrip("/")
        return cls(store, client, from_=settings.twilio_from, public_url=settings.public_url)

    def prepare(self, touch: Touch, rendered: Rendered) -> TwilioRequest:
        """A message (SMS) or a call with answering-machine detection (voicemail)."""
        if not touch.lead.phone:
            raise Unsendable("no phone number")
        if not rendered.text:
            raise Unsendable(f"the {touch.channel.value} template rendered no text")
        common = {
            "to": touch.lead.phone,
            "from_": touch.caller_id or self.from_,
            "status_callback": status_callback_url(self.public_url, touch.touch_id),
        }
        if touch.channel is Channel.sms:
            return TwilioRequest("sms", {**common, "body": rendered.text})
        if touch.channel is Channel.voicemail:
            return TwilioRequest(
                "voicemail",
                {
                    **common,
                    "url": voicemail_url(self.public_url, touch.touch_id),
                    "machine_detection": "DetectMessageEnd",
                    "status_callback_event": CALL_EVENTS,
                    "status_callback_method": "POST",
                },
            )
        raise Unsendable(f"Twilio does not carry {touch.channel.value} touches")

    def submit(self, touch: Touch, request: TwilioRequest) -> str | None:
        """Create the message or call; its SID."""
        create = self.client.messages.create if request.kind == "sms" else self.client.calls.create
        try:
            created = create(**request.params)
        except TwilioRestException as exc:
            if exc.status in CREDENTIALS:
                fix, said = CREDENTIALS[exc.status], _detail(exc)
                raise credentials_refused("Twilio", exc.status, fix, said) from exc
            if exc.status == 429:
                raise NotSent(_reason(exc)) from exc
            if exc.status >= 500:
                raise Unclear(_reason(exc)) from exc
            raise Rejected(_reason(exc)) from exc
        except RequestException as exc:
            raise _transport(exc) from exc
        return str(created.sid) if created.sid else None

    def reconcile(self, touch: Touch, row: TouchRecord, request: TwilioRequest) -> Decision:
        """Adopt a call/message to this number since the claim, or resend."""
        params = request.params
        lister = self.client.messages if request.kind == "sms" else self.client.calls
        try:
            recent = list(lister.page(to=params["to"], from_=params["from_"], page_size=LOOKBACK))
        except (TwilioRestException, RequestException) as exc:
            raise ApplicationError(
                f"twilio: cannot list recent {request.kind} records to reconcile: {exc}",
                type="ProviderOutcomeUnclear",
            ) from None
        since = row.created_at - CLOCK_SKEW
        for item in recent:
            created = item.date_created
            if created is None or created < since or not item.sid:
                continue
            if request.kind == "sms" and not str(item.body or "").startswith(params["body"]):
                continue
            owner = self.store.touch_by_provider_id(self.name, item.sid)
            if owner is not None and owner.touch_id != touch.touch_id:
                continue
            return Adopt(str(item.sid))
        return Resend()


__all__ = ["TwilioChannel", "TwilioRequest", "status_callback_url", "voicemail_url"]
