"""Handoff notices to reps, emailed through SendGrid at most once per notice.

The ``assign`` activity (``activities/desk.py``) notifies a handoff's owner, and the manager on
an escalation. With SendGrid configured each notice is a Mail Send request from
``NURTURE_NOTICE_FROM``; without it the notice stays a row in the local outbox. The notice's
ledger row (channel ``notice``, keyed by the notice id) follows the protocol of
:mod:`nurture.channels.base`: ``sending`` before the call, ``sent`` with SendGrid's message id
after. A retry that finds ``sent``, ``failed`` or ``unknown`` does nothing; one that finds
``sending`` (outcome unclear) never resends, as SendGrid has no idempotency key, and settles
the row ``unknown`` with the reason. 429, 503, an unreachable host and a refused key (401) leave
the row ``pending`` and raise a retryable ``ApplicationError``, as do unclear answers (the row
stays ``sending``); a permanent refusal is ``failed`` and logged, and never fails the handoff.

The custom args are ``notice_id`` and ``notice_lead_id``, deliberately not ``touch_id`` and
``lead_id``: the Event Webhook turns those into the lead's engagement, and a rep opening the
notice is not the lead engaging. Open and click tracking are off for the same reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Category,
    ClickTracking,
    CustomArg,
    From,
    HtmlContent,
    Mail,
    OpenTracking,
    Personalization,
    PlainTextContent,
    Subject,
    To,
    TrackingSettings,
)
from temporalio.exceptions import ApplicationError

from nurture.channels.base import CredentialsRefused, NotSent, Rejected, Unclear
from nurture.channels.sendgrid import api_client, post_mail
from nurture.settings import Settings
from nurture.store import Store, TouchRecord, utcnow

log = logging.getLogger(__name__)

#: The category every notice carries (SendGrid's stats and activity feed filter on it).
CATEGORY = "handoff-notice"
#: Seconds one notice request may take: two notices (owner and manager) and the CRM POST (10 s)
#: stay well inside the ``assign`` activity's 1-minute start-to-close timeout.
NOTICE_TIMEOUT = 15.0
#: Ledger statuses after which a notice is never sent again.
SETTLED = frozenset({"sent", "failed", "unknown"})


@dataclass(frozen=True)
class Notice:
    """One handoff notice to one person."""

    notice_id: str
    lead_id: str
    handoff_id: str
    username: str
    email: str
    name: str
    subject: str
    text: str
    html: str

    @property
    def recipient(self) -> str:
        """Where it goes, as the ledger shows it: the address, else the username."""
        return self.email or self.username


def ledger_fields(notice: Notice) -> dict[str, Any]:
    """The ledger columns of a notice's row, whichever way it goes."""
    return {
        "touch_id": notice.notice_id,
        "lead_id": notice.lead_id,
        "cadence": "handoff",
        "cadence_version": 1,
        "cycle": 0,
        "step_id": notice.handoff_id,
        "channel": "notice",
        "summary": notice.subject,
        "recipient": notice.recipient,
        "subject": notice.subject,
        "body_text": notice.text,
    }


def build_notice_mail(notice: Notice, sender: str, sender_name: str | None = None) -> Mail:
    """The Mail Send request of a notice: text and HTML, custom args, category, no tracking."""
    mail = Mail()
    mail.from_email = From(sender, sender_name or None)
    mail.subject = Subject(notice.subject)
    person = Personalization()
    person.add_to(To(notice.email, notice.name or None))
    person.add_custom_arg(CustomArg("notice_id", notice.notice_id))
    person.add_custom_arg(CustomArg("notice_lead_id", notice.lead_id))
    mail.add_personalization(person)
    mail.add_content(PlainTextContent(notice.text))
    mail.add_content(HtmlContent(notice.html))
    mail.add_category(Category(CATEGORY))
    tracking = TrackingSettings()
    tracking.click_tracking = ClickTracking(enable=False, enable_text=False)
    tracking.open_tracking = OpenTracking(enable=False)
    mail.tracking_settings = tracking
    return mail


class NoticeMailer:
    """Emails handoff notices through SendGrid, once per notice id (see the module docstring)."""

    name = "sendgrid"

    def __init__(
        self,
        store: Store,
        api: SendGridAPIClient,
        sender: str,
        *,
        sender_name: str | None = None,
        timeout: float = NOTICE_TIMEOUT,
    ) -> None:
        self.store = store
        self.api = api
        self.sender = sender
        self.sender_name = sender_name
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> NoticeMailer:
        """The mailer for the configured key, host and notice sender."""
        if not settings.notice_from:
            raise ValueError("NURTURE_NOTICE_FROM is missing (the sender of handoff notices)")
        return cls(
            store,
            api_client(settings),
            settings.notice_from,
            sender_name=settings.notice_from_name,
        )

    def send(self, notice: Notice) -> None:
        """Email the notice unless an earlier attempt settled or may have sent it."""
        if not notice.email:
            log.warning(
                "handoff notice %s not emailed: rep %s has no email address",
                notice.notice_id,
                notice.username,
            )
            return
        body: dict[str, Any] = build_notice_mail(notice, self.sender, self.sender_name).get()
        row, created = self.store.record_touch(
            **ledger_fields(notice), provider=self.name, status="sending", body_html=notice.html
        )
        if created or self._claim_again(row):
            self._submit(notice.notice_id, body)

    def _claim_again(self, row: TouchRecord) -> bool:
        """Whether an earlier attempt's row may be sent now (settles an unclear one)."""
        if row.status in SETTLED:
            return False
        if row.status == "pending":  # certainly not sent before
            if self.store.update_touch(row.touch_id, "sending", expect=("pending",)):
                return True
            raise ApplicationError(
                f"notice {row.touch_id} was claimed by another attempt", type="TouchBusy"
            )
        cause = row.error or "the worker stopped during the SendGrid request"
        reason = f"delivery unknown ({cause}); not resent, to never send it twice"
        log.warning("handoff notice %s found %s: %s", row.touch_id, row.status, reason)
        self.store.update_touch(row.touch_id, "unknown", expect=("sending",), error=reason)
        return False

    def _submit(self, notice_id: str, body: dict[str, Any]) -> None:
        """Call SendGrid and record the outcome; raise a retryable error where one is due."""
        try:
            message_id = post_mail(self.api, body, self.timeout)
        except Rejected as exc:
            self.store.update_touch(notice_id, "failed", expect=("sending",), error=str(exc))
            log.error("handoff notice %s refused by SendGrid: %s", notice_id, exc)
            return
        except NotSent as exc:  # CredentialsRefused included: retried until the key is fixed
            self.store.update_touch(notice_id, "pending", expect=("sending",), error=str(exc))
            credentials = isinstance(exc, CredentialsRefused)
            if credentials:
                log.error("handoff notice %s not sent, will retry: %s", notice_id, exc)
            raise ApplicationError(
                f"sendgrid: {exc} (notice {notice_id} not sent; will retry)",
                type="ProviderCredentials" if credentials else "ProviderNotSent",
                next_retry_delay=exc.retry_after,
            ) from None
        except Unclear as exc:
            self.store.update_touch(notice_id, "sending", expect=("sending",), error=str(exc))
            raise ApplicationError(
                f"sendgrid: {exc} (notice {notice_id} outcome unknown; the retry settles it)",
                type="ProviderOutcomeUnclear",
            ) from None
        self.store.update_touch(
            notice_id,
            "sent",
            expect=("sending", "unknown"),
            provider_id=message_id,
            error=None,
            sent_at=utcnow(),
        )


__all__ = ["CATEGORY", "Notice", "NoticeMailer", "build_notice_mail", "ledger_fields"]
