"""Exactly-once email through SendGrid's own mechanisms, for a send whose outcome is unclear.

- **Cancellable sends** (``NURTURE_SENDGRID_SEND_DELAY``): each attempt is a scheduled send in
  its own batch (``POST /v3/mail/batch``; ``batch_id`` + ``send_at`` on the message). A retry
  that finds the attempt unfinished cancels that batch (``POST /v3/user/scheduled_sends``,
  allowed until 10 minutes before ``send_at``) and sends in a new batch: whatever SendGrid got
  in the cancelled batch, even a request still on its way, is never sent. SendGrid holds at most
  ``CANCEL_LIMIT`` cancelled batches at once: each cancellation is removed once its ``send_at``
  is ``RELEASE_AFTER`` behind us (the messages were dropped at ``send_at``). With every slot
  taken, the cancel waits for a slot (the activity retries when one frees) if that comes before
  the batch's cancel deadline, else the next mechanism decides, and the reason says so.
- **Reconcile by lookup** (``NURTURE_SENDGRID_EMAIL_ACTIVITY``): the touch is looked up in Email
  Activity by its ``touch_id`` custom argument; found → sent (SendGrid's message id); not found
  once the message had ``NURTURE_SENDGRID_ACTIVITY_DELAY`` seconds to be indexed → sent again;
  before that, the activity retries when the delay has passed.
- Neither: the touch is ``unknown`` (at most once), as before.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from temporalio.exceptions import ApplicationError

from nurture.channels.base import (
    Adopt,
    Decision,
    NotSent,
    Rejected,
    Resend,
    Unclear,
    Unknown,
    credentials_refused,
    retry_after,
)
from nurture.channels.email_attempts import EmailAttemptRow, EmailAttempts
from nurture.store import TouchRecord, utcnow

#: SendGrid refuses to cancel a batch later than this before its ``send_at``.
CANCEL_BEFORE = timedelta(minutes=10)
#: SendGrid's limit of batches paused or cancelled at one time.
CANCEL_LIMIT = 10
#: A cancellation is removed (its slot freed) this long after the batch's ``send_at``.
RELEASE_AFTER = timedelta(minutes=15)
NOT_QUEUED = frozenset({429, 503})
CREDENTIALS = "the API key was refused; check NURTURE_SENDGRID_API_KEY"


def _messages(exc: HTTPError) -> str:
    try:
        body = exc.to_dict
        said = [e.get("message") for e in body.get("errors", []) if isinstance(e, dict)]
    except (ValueError, AttributeError, TypeError):
        said = []
    return "; ".join(m for m in said if m) or exc.reason or "error"


def call(what: str, request: Callable[[], Any]) -> Any:
    """One SendGrid API call; its response. Raises ``CredentialsRefused`` (401), ``NotSent``
    (429, 503, unreachable), ``Unclear`` (5xx, timeout, reset) or ``Rejected`` (other 4xx)."""
    try:
        return request()
    except HTTPError as exc:
        status, said = exc.status_code, _messages(exc)
        if status == 401:
            raise credentials_refused("SendGrid", status, CREDENTIALS, said) from exc
        reason = f"SendGrid {what} {status}: {said}"
        if status in NOT_QUEUED:
            raise NotSent(reason, retry_after(exc.headers.get("Retry-After"))) from exc
        if status >= 500:
            raise Unclear(reason) from exc
        raise Rejected(reason) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
            raise NotSent(f"SendGrid {what}: unreachable: {exc.reason}") from exc
        raise Unclear(f"SendGrid {what} failed: {exc.reason}") from exc
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise Unclear(f"SendGrid {what}: answer lost: {exc!r}") from exc


def later(reason: str, delay: timedelta | None = None) -> ApplicationError:
    """A reconciliation that cannot decide yet: the activity retries (after ``delay``)."""
    return ApplicationError(reason, type="ProviderReconcileLater", next_retry_delay=delay)


def send_time(now: datetime, delay: timedelta, planned: datetime | None) -> datetime:
    """SendGrid's ``send_at`` (whole seconds): the planned time, unless it is nearer than the
    delay (the batch must stay cancellable for a retry): then now + the delay."""
    floor = (now + delay).replace(microsecond=0)
    if planned is None:
        return floor
    wanted = planned.replace(microsecond=0)
    return wanted if wanted >= floor else floor


@dataclass
class Certainty:
    """How a SendGrid channel settles unclear sends (see the module's docstring)."""

    api: SendGridAPIClient
    attempts: EmailAttempts
    send_delay: timedelta | None = None
    lookup: bool = False
    activity_delay: timedelta = timedelta(seconds=180)
    timeout: float = 30.0

    @property
    def on(self) -> bool:
        """Whether any mechanism is on (else the channel is at most once)."""
        return self.send_delay is not None or self.lookup

    # ------------------------------------------------------------ sending

    def new_batch(self) -> str:
        """``POST /v3/mail/batch``: a fresh batch id (nothing is sent by it)."""
        response = call("batch", lambda: self.api.client.mail.batch.post(timeout=self.timeout))
        return str(response.to_dict["batch_id"])

    def schedule(
        self,
        body: dict[str, Any],
        touch_id: str,
        attempt: int,
        planned: datetime | None = None,
    ) -> dict[str, Any]:
        """The Mail Send body of this attempt: in a new batch at its ``planned`` time, or at
        now + the delay when that is later (or as is, without a delay)."""
        if self.send_delay is None:
            self.attempts.posting(touch_id, attempt, None, None)
            return body
        try:
            batch_id = self.new_batch()
        except (Unclear, Rejected) as exc:  # a batch id sends nothing: safe to retry
            raise NotSent(str(exc)) from exc
        send_at = send_time(utcnow(), self.send_delay, planned)
        self.attempts.posting(touch_id, attempt, batch_id, send_at)
        return {**body, "batch_id": batch_id, "send_at": int(send_at.timestamp())}

    # ------------------------------------------------------------ reconciling

    def reconcile(self, touch_id: str, row: TouchRecord) -> Decision:
        """Decide about an attempt whose outcome was never recorded."""
        attempt = self.attempts.latest(touch_id)
        if attempt is not None and attempt.status in ("started", "not_sent"):
            return Resend()  # nothing was posted by the last attempt
        if attempt is not None and attempt.status in ("cancelled", "released"):
            return Resend()  # its batch is cancelled: whatever SendGrid got is never sent
        if attempt is not None and attempt.batch_id and attempt.send_at is not None:
            fallback = self._cancel(attempt)
            if fallback is None:
                return Resend()
        elif attempt is None:
            fallback = "no attempt recorded (sent before cancellable sends were on)"
        else:
            fallback = "not in a cancellable batch"
        if self.lookup and attempt is not None:
            return self._look_up(touch_id, attempt, fallback)
        cause = row.error or "the worker stopped during the SendGrid request"
        return Unknown(
            f"delivery unknown ({cause}; {fallback}); not resent, to never send it twice "
            "(a SendGrid event carrying this touch id will show whether it went out)"
        )

    def _cancel(self, attempt: EmailAttemptRow) -> str | None:
        """Cancel the attempt's batch; None when cancelled, else why not (for the fallback).
        Raises ``later`` to retry when a slot frees in time or SendGrid did not answer."""
        assert attempt.batch_id and attempt.send_at
        now = utcnow()
        deadline = attempt.send_at - CANCEL_BEFORE
        if now >= deadline:
            return f"too late to cancel batch {attempt.batch_id} (send at {attempt.send_at:%H:%M})"
        held = self._release(now)
        if len(held) >= CANCEL_LIMIT:
            frees = held[0].send_at + RELEASE_AFTER if held[0].send_at else deadline
            if frees < deadline:
                raise later(
                    f"cancel of batch {attempt.batch_id} queued: SendGrid's {CANCEL_LIMIT} "
                    f"cancelled batches are in use until {frees:%H:%M} UTC",
                    frees - now + timedelta(seconds=1),
                )
            return f"SendGrid's limit of {CANCEL_LIMIT} cancelled batches was reached"
        body = {"batch_id": attempt.batch_id, "status": "cancel"}
        try:
            call(
                "cancel",
                lambda: self.api.client.user.scheduled_sends.post(
                    request_body=body, timeout=self.timeout
                ),
            )
        except Rejected as exc:
            if not self._is_cancelled(attempt.batch_id):
                return f"SendGrid refused to cancel batch {attempt.batch_id} ({exc})"
        except (NotSent, Unclear) as exc:
            reason = f"cancel of batch {attempt.batch_id} not confirmed: {exc}"
            raise later(reason, exc_delay(exc)) from None
        self.attempts.mark(attempt.touch_id, attempt.attempt, "cancelled")
        return None

    def _is_cancelled(self, batch_id: str) -> bool:
        """Whether SendGrid already has a cancellation for this batch (a repeated cancel)."""
        try:
            response = call(
                "scheduled send",
                lambda: self.api.client.user.scheduled_sends._(batch_id).get(timeout=self.timeout),
            )
        except (NotSent, Unclear, Rejected):
            return False
        listed = response.to_dict
        items = listed if isinstance(listed, list) else [listed]
        return any(isinstance(i, dict) and i.get("status") == "cancel" for i in items)

    def _release(self, now: datetime) -> list[EmailAttemptRow]:
        """Remove cancellations whose batch's time is well past; the ones still held."""
        held = []
        for row in self.attempts.cancelled():
            assert row.batch_id
            batch_id = row.batch_id
            if row.send_at is not None and row.send_at + RELEASE_AFTER <= now:
                try:
                    self._delete_cancellation(batch_id)
                except Rejected:
                    pass  # already gone
                except (NotSent, Unclear):
                    held.append(row)
                    continue
                self.attempts.mark(row.touch_id, row.attempt, "released")
            else:
                held.append(row)
        return held

    def _delete_cancellation(self, batch_id: str) -> None:
        """Remove SendGrid's cancellation of a batch (frees one of its cancelled batches)."""
        call(
            "release",
            lambda: self.api.client.user.scheduled_sends._(batch_id).delete(timeout=self.timeout),
        )

    def _look_up(self, touch_id: str, attempt: EmailAttemptRow, why: str) -> Decision:
        """Email Activity: found → adopt; absent after the indexing delay → resend."""
        query = f"unique_args['touch_id']=\"{touch_id}\""
        try:
            response = call(
                "lookup",
                lambda: self.api.client.messages.get(
                    query_params={"query": query, "limit": 10}, timeout=self.timeout
                ),
            )
        except Rejected as exc:
            return Unknown(f"delivery unknown ({why}; Email Activity refused: {exc}); not resent")
        except (NotSent, Unclear) as exc:
            raise later(f"Email Activity lookup failed: {exc}", exc_delay(exc)) from None
        messages = response.to_dict.get("messages") or []
        if messages:
            found = messages[0].get("msg_id")
            return Adopt(str(found) if found else None)
        posted = attempt.posted_at or attempt.created_at
        visible_from = max(posted, attempt.send_at or posted) + self.activity_delay
        now = utcnow()
        if now < visible_from:
            raise later(
                f"not in Email Activity yet; looking again at {visible_from:%H:%M:%S} UTC",
                visible_from - now + timedelta(seconds=1),
            )
        return Resend()


def exc_delay(exc: Exception) -> timedelta | None:
    """A NotSent's Retry-After, if any."""
    return exc.retry_after if isinstance(exc, NotSent) else None
