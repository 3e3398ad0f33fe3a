"""Email through SendGrid v3 Mail Send (the ``sendgrid`` SDK).

Delivery guarantee: exactly once with cancellable sends or Email Activity on
(:mod:`nurture.channels.sendgrid_certainty`), else at most once: an attempt whose outcome is
unclear (timeout, reset, 500/502/504, or a worker that died during the call) is never resent;
the touch becomes ``unknown`` and is skipped with the reason on the journey; a later
``processed`` (or ``delivered``) event for it settles the row as ``sent``
(:mod:`nurture.inbox.sendgrid`). Requests that certainly did not reach SendGrid (connection
refused, DNS failure) and 429/503 answers are retried; so is a 401 (the API key refused before
anything is queued) until the key is fixed.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
from datetime import timedelta
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Asm,
    Category,
    ClickTracking,
    CustomArg,
    From,
    GroupId,
    HtmlContent,
    Mail,
    OpenTracking,
    Personalization,
    PlainTextContent,
    ReplyTo,
    Subject,
    To,
    TrackingSettings,
)

from nurture.cadence.render import Rendered
from nurture.channels.base import (
    HTTP_TIMEOUT,
    Decision,
    NotSent,
    ProviderChannel,
    Rejected,
    Unclear,
    Unknown,
    Unsendable,
    credentials_refused,
    retry_after,
)
from nurture.channels.email_attempts import EmailAttempts
from nurture.channels.sendgrid_certainty import Certainty
from nurture.contracts import Touch, TouchResult
from nurture.settings import Settings
from nurture.store import Store, TouchRecord

#: Answers after which SendGrid has certainly not queued the message.
NOT_QUEUED = frozenset({429, 503})
#: A refused key (nothing queued) and what to fix; retried until fixed. A 403 (an unverified
#: sender, a key without Mail Send) stays a permanent refusal: it stops email for the lead.
CREDENTIALS = {401: "the API key was refused; check NURTURE_SENDGRID_API_KEY"}


def build_mail(touch: Touch, rendered: Rendered, unsubscribe_group: int | None) -> Mail:
    """The Mail Send request of an email touch (raises ``Unsendable`` if it cannot be built)."""
    sender, lead = touch.sender or {}, touch.lead
    if not sender.get("email"):
        raise Unsendable(f"cadence {touch.cadence} has no sender for emails")
    if not lead.email:
        raise Unsendable("no email address")
    if not (rendered.subject and (rendered.text or rendered.html)):
        raise Unsendable("the email template rendered no subject or no body")
    mail = Mail()
    mail.from_email = From(sender["email"], sender.get("name") or None)
    if sender.get("reply_to"):
        mail.reply_to = ReplyTo(sender["reply_to"])
    mail.subject = Subject(rendered.subject)
    person = Personalization()
    person.add_to(To(lead.email, lead.full_name or None))
    # Per personalization: the spec refuses the message-level object; events echo them back.
    person.add_custom_arg(CustomArg("touch_id", touch.touch_id))
    person.add_custom_arg(CustomArg("lead_id", lead.id))
    if touch.variant:
        person.add_custom_arg(CustomArg("variant", touch.variant))
    mail.add_personalization(person)
    if rendered.text:
        mail.add_content(PlainTextContent(rendered.text))
    if rendered.html:
        mail.add_content(HtmlContent(rendered.html))
    categories = [touch.cadence, f"{touch.cadence}:{touch.step_id}"]
    if touch.variant:
        categories.append(f"{touch.cadence}:{touch.step_id}:{touch.variant}")
    for category in categories:
        mail.add_category(Category(category[:255]))
    if unsubscribe_group is not None:
        mail.asm = Asm(GroupId(unsubscribe_group))
    tracking = TrackingSettings()
    tracking.click_tracking = ClickTracking(enable=True, enable_text=False)
    tracking.open_tracking = OpenTracking(enable=True)
    mail.tracking_settings = tracking
    return mail


def _detail(exc: HTTPError) -> str:
    """SendGrid's own words for an error answer (its ``errors[].message``)."""
    try:
        body = exc.to_dict
        messages = [e.get("message") for e in body.get("errors", []) if isinstance(e, dict)]
    except (ValueError, AttributeError, TypeError):
        messages = []
    return "; ".join(m for m in messages if m) or exc.reason or "error"


def _reason(exc: HTTPError) -> str:
    return f"SendGrid {exc.status_code}: {_detail(exc)}"


def api_client(settings: Settings) -> SendGridAPIClient:
    """The SDK client for the configured key and host."""
    key = settings.secret("sendgrid_api_key")
    assert key
    return SendGridAPIClient(key, host=settings.sendgrid_host)


def post_mail(api: SendGridAPIClient, body: dict[str, Any], timeout: float) -> str | None:
    """POST /v3/mail/send; the ``X-Message-Id`` SendGrid answers with.

    Raises ``Rejected`` (a permanent refusal), ``CredentialsRefused`` (401), ``NotSent``
    (certainly not queued: 429, 503, connection refused) or ``Unclear`` (maybe queued).
    """
    try:
        response = api.client.mail.send.post(request_body=body, timeout=timeout)
    except HTTPError as exc:
        status = exc.status_code
        if status in CREDENTIALS:
            fix, said = CREDENTIALS[status], _detail(exc)
            raise credentials_refused("SendGrid", status, fix, said) from exc
        if status in NOT_QUEUED:
            raise NotSent(_reason(exc), retry_after(exc.headers.get("Retry-After"))) from exc
        if status >= 500:
            raise Unclear(_reason(exc)) from exc
        raise Rejected(_reason(exc)) from exc
    except urllib.error.URLError as exc:
        # urllib wraps failures to connect (and to send) in URLError.
        if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
            raise NotSent(f"SendGrid unreachable: {exc.reason}") from exc
        raise Unclear(f"SendGrid request failed: {exc.reason}") from exc
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise Unclear(f"SendGrid answer lost: {exc!r}") from exc
    if response.status_code not in (200, 202):
        raise Unclear(f"SendGrid answered {response.status_code}")
    message_id = response.headers.get("X-Message-Id") if response.headers else None
    return str(message_id) if message_id else None


class SendGridChannel(ProviderChannel[dict[str, Any]]):
    """Emails through SendGrid: HTML + text, custom args, categories, ASM group, tracking."""

    name = "sendgrid"

    def __init__(
        self,
        store: Store,
        api: SendGridAPIClient,
        *,
        unsubscribe_group: int | None = None,
        timeout: float = HTTP_TIMEOUT,
        send_delay: timedelta | None = None,
        lookup: bool = False,
        activity_delay: timedelta = timedelta(seconds=180),
    ) -> None:
        super().__init__(store)
        self.api = api
        self.unsubscribe_group = unsubscribe_group
        self.certainty = Certainty(
            api,
            EmailAttempts(store),
            send_delay=send_delay,
            lookup=lookup,
            activity_delay=activity_delay,
            timeout=timeout,
        )

    @property
    def timeout(self) -> float:
        """Seconds a SendGrid request may take."""
        return self.certainty.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.certainty.timeout = value

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> SendGridChannel:
        """The adapter for the configured key, host and delivery mechanisms."""
        delay = settings.sendgrid_send_delay
        return cls(
            store,
            api_client(settings),
            unsubscribe_group=settings.sendgrid_unsubscribe_group,
            send_delay=timedelta(minutes=delay) if delay is not None else None,
            lookup=settings.sendgrid_email_activity,
            activity_delay=timedelta(seconds=settings.sendgrid_activity_delay),
        )

    @property
    def send_delay(self) -> timedelta | None:
        """How far ahead emails are scheduled (cancellable sends), or None."""
        return self.certainty.send_delay

    def send(self, touch: Touch, rendered: Rendered) -> TouchResult:
        """Send once (base.py); a scheduled send's result says when SendGrid delivers it."""
        result = super().send(touch, rendered)
        if result.status == "sent" and self.certainty.send_delay is not None:
            attempt = self.certainty.attempts.latest(touch.touch_id)
            if attempt is not None and attempt.send_at is not None:
                result = result.model_copy(update={"send_at": attempt.send_at})
        return result

    def prepare(self, touch: Touch, rendered: Rendered) -> dict[str, Any]:
        """The Mail Send JSON body."""
        body: dict[str, Any] = build_mail(touch, rendered, self.unsubscribe_group).get()
        return body

    def submit(self, touch: Touch, request: dict[str, Any]) -> str | None:
        """POST /v3/mail/send (recorded as an attempt, in its own batch with a send delay);
        the ``X-Message-Id`` SendGrid answers with."""
        if not self.certainty.on:
            return post_mail(self.api, request, self.timeout)
        attempts = self.certainty.attempts
        attempt = attempts.start(touch.touch_id)
        try:
            body = self.certainty.schedule(request, touch.touch_id, attempt, touch.planned_at)
            return post_mail(self.api, body, self.timeout)
        except (NotSent, Rejected):
            attempts.mark(touch.touch_id, attempt, "not_sent")
            raise

    def reconcile(self, touch: Touch, row: TouchRecord, request: dict[str, Any]) -> Decision:
        """Cancel and resend, or look up, where on; else an unfinished attempt is unknown."""
        if self.certainty.on:
            return self.certainty.reconcile(touch.touch_id, row)
        cause = row.error or "the worker stopped during the SendGrid request"
        return Unknown(
            f"delivery unknown ({cause}); not resent, to never send it twice "
            "(a SendGrid event carrying this touch id will show whether it went out)"
        )


__all__ = ["SendGridChannel", "api_client", "build_mail", "post_mail"]
