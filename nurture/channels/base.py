"""What every channel adapter shares: the send-once protocol around a provider call.

A provider send goes through the touch ledger (``nurture.store``, one row per touch id):

1. ``prepare`` builds the provider request (nothing leaves the process yet);
2. the row is inserted as ``sending`` — the claim, made *before* the provider is called;
3. ``submit`` calls the provider; the row becomes ``sent`` (with the provider's id), ``failed``
   (a permanent refusal: the engine stops the channel for the lead), or stays claimable:
   ``pending`` when the request certainly never reached the provider (connection refused, DNS,
   429, or 401: our credentials were refused), or ``sending`` when the outcome is unclear
   (timeout, reset, most 5xx);
4. a retry that finds ``sending`` (unclear outcome, or a worker that died mid-call) never blindly
   resends: the adapter's ``reconcile`` adopts the provider's record, resends where that is safe
   (Lob's ``Idempotency-Key``), or settles the touch as ``unknown`` (skipped, reason on the
   journey).

Permanent refusals come back as ``TouchResult(status="failed")``; retryable ones raise
``temporalio.exceptions.ApplicationError`` so the activity's retry policy backs off. A refused
key (401) is our configuration, not the lead's: it is retried (``ProviderCredentials``) until the
key is fixed, never a refusal that stops the channel.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from temporalio.exceptions import ApplicationError

from nurture.cadence.render import Rendered
from nurture.channels.outbox import ledger_row
from nurture.contracts import Touch, TouchResult
from nurture.metrics import PROVIDER_ERRORS, PROVIDER_SECONDS
from nurture.store import Store, TouchRecord, utcnow

log = logging.getLogger(__name__)

#: Seconds a provider HTTP request may take; far below deliver_touch's start-to-close timeout
#: (2 minutes), so an attempt that Temporal gave up on is no longer talking to the provider
#: when the next attempt reconciles.
HTTP_TIMEOUT = 30.0
#: Longest wait a provider's Retry-After may impose on one retry.
MAX_RETRY_AFTER = timedelta(minutes=5)

Request = TypeVar("Request")


class Sender(Protocol):
    """A channel adapter: the outbox or a provider."""

    name: str

    def send(self, touch: Touch, rendered: Rendered) -> TouchResult:
        """Send a rendered touch at most once per touch id."""
        ...


class Unsendable(Exception):
    """This touch cannot be made as configured (nothing was sent): the touch is skipped."""


class Rejected(Exception):
    """The provider refused the request for good (4xx): the channel stops for this lead."""


class NotSent(Exception):
    """The request certainly did not reach the provider (or was refused unprocessed): resend."""

    def __init__(self, reason: str, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class CredentialsRefused(NotSent):
    """401: the provider refused our credentials before queueing anything; fix, then resend."""


class Unclear(Exception):
    """The provider may or may not have acted on the request (timeout, reset, 5xx)."""


@dataclass(frozen=True)
class Adopt:
    """Reconciled: the provider has the touch under this id."""

    provider_id: str | None


@dataclass(frozen=True)
class Resend:
    """Reconciled: sending again cannot duplicate the touch."""


@dataclass(frozen=True)
class Unknown:
    """Reconciled: no way to know; the touch is not resent."""

    reason: str


Decision = Adopt | Resend | Unknown


def settled_result(row: TouchRecord) -> TouchResult | None:
    """The result a settled ledger row stands for; None while the touch is still in flight."""
    if row.status == "sent":
        return TouchResult(
            status="sent", provider=row.provider, provider_id=row.provider_id, subject=row.subject
        )
    if row.status == "failed":
        return TouchResult(status="failed", provider=row.provider, error=row.error)
    if row.status == "unknown":
        return TouchResult(
            status="skipped", provider=row.provider, error=row.error, delivery_unknown=True
        )
    return None


def credentials_refused(provider: str, status: int, fix: str, said: str) -> CredentialsRefused:
    """A 401 as one line: the provider, the status, what to fix, the provider's words."""
    return CredentialsRefused(f"{provider} {status}: {fix} ({provider} said: {said})")


def retry_after(value: str | None) -> timedelta | None:
    """A ``Retry-After`` header in seconds as a delay (capped), or None."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    if seconds is None or seconds <= 0:
        return None
    return min(timedelta(seconds=seconds), MAX_RETRY_AFTER)


class ProviderChannel(ABC, Generic[Request]):
    """A provider adapter: subclasses build, submit and reconcile; this runs the ledger."""

    name: str = "provider"

    def __init__(self, store: Store) -> None:
        self.store = store

    @abstractmethod
    def prepare(self, touch: Touch, rendered: Rendered) -> Request:
        """The provider request for this touch; raises ``Unsendable`` or ``Rejected``."""

    @abstractmethod
    def submit(self, touch: Touch, request: Request) -> str | None:
        """Call the provider; returns its id; raises ``Rejected``, ``NotSent`` or ``Unclear``."""

    @abstractmethod
    def reconcile(self, touch: Touch, row: TouchRecord, request: Request) -> Decision:
        """Decide about a touch claimed earlier (``sending``) whose outcome was never recorded."""

    def send(self, touch: Touch, rendered: Rendered) -> TouchResult:
        """Send once per touch id: claim, call, record; reconcile what an earlier attempt left."""
        try:
            request = self.prepare(touch, rendered)
        except Unsendable as exc:
            return TouchResult(status="skipped", provider=self.name, error=str(exc))
        except Rejected as exc:
            return TouchResult(status="failed", provider=self.name, error=str(exc))
        row = self.store.claim_touch(
            **ledger_row(touch, rendered), provider=self.name, status="sending"
        )
        if row is not None:  # an earlier attempt's claim
            settled = self._resume(touch, row, request)
            if settled is not None:
                return settled
        return self._submit(touch, request, rendered)

    def _resume(self, touch: Touch, row: TouchRecord, request: Request) -> TouchResult | None:
        """What an earlier attempt left: a result to return, or None to (re)send now."""
        settled = settled_result(row)
        if settled is not None:
            return settled
        if row.status == "pending":
            if self.store.update_touch(touch.touch_id, "sending", expect=("pending",)):
                return None
            raise ApplicationError(
                f"touch {touch.touch_id} was claimed by another attempt", type="TouchBusy"
            )
        if row.provider != self.name:
            decision: Decision = Unknown(
                f"delivery unknown: an attempt through {row.provider} did not finish and "
                f"{self.name} is configured now; not resent"
            )
        else:
            decision = self.reconcile(touch, row, request)
        log.warning("touch %s found %s: %s", touch.touch_id, row.status, decision)
        match decision:
            case Adopt(provider_id=provider_id):
                self._mark_sent(touch.touch_id, provider_id)
                return TouchResult(
                    status="sent", provider=self.name, provider_id=provider_id, subject=row.subject
                )
            case Unknown(reason=reason):
                store = self.store
                store.update_touch(touch.touch_id, "unknown", expect=("sending",), error=reason)
                final = store.get_touch(touch.touch_id)  # a late answer may have won the race
                settled = settled_result(final) if final is not None else None
                return settled or TouchResult(
                    status="skipped", provider=self.name, error=reason, delivery_unknown=True
                )
            case Resend():
                return None

    def _submit(self, touch: Touch, request: Request, rendered: Rendered) -> TouchResult:
        try:
            with PROVIDER_SECONDS.labels(self.name).time():
                try:
                    provider_id = self.submit(touch, request)
                except Exception as exc:
                    PROVIDER_ERRORS.labels(self.name, _error_kind(exc)).inc()
                    raise
        except Rejected as exc:
            reason = str(exc)
            self.store.update_touch(touch.touch_id, "failed", expect=("sending",), error=reason)
            return TouchResult(status="failed", provider=self.name, error=reason)
        except CredentialsRefused as exc:
            self.store.update_touch(touch.touch_id, "pending", expect=("sending",), error=str(exc))
            log.error("touch %s not sent, will retry: %s", touch.touch_id, exc)
            raise ApplicationError(
                f"{exc} (not sent; retried until fixed)", type="ProviderCredentials"
            ) from None
        except NotSent as exc:
            self.store.update_touch(touch.touch_id, "pending", expect=("sending",), error=str(exc))
            raise ApplicationError(
                f"{self.name}: {exc} (not sent; will retry)",
                type="ProviderNotSent",
                next_retry_delay=exc.retry_after,
            ) from None
        except Unclear as exc:
            self.store.update_touch(touch.touch_id, "sending", expect=("sending",), error=str(exc))
            raise ApplicationError(
                f"{self.name}: {exc} (outcome unknown; the retry reconciles)",
                type="ProviderOutcomeUnclear",
            ) from None
        self._mark_sent(touch.touch_id, provider_id)
        return TouchResult(
            status="sent", provider=self.name, provider_id=provider_id, subject=rendered.subject
        )

    def _mark_sent(self, touch_id: str, provider_id: str | None) -> None:
        # ``unknown`` too: a late answer proves the send, the truth wins over the guess.
        self.store.update_touch(
            touch_id,
            "sent",
            expect=("sending", "unknown"),
            provider_id=provider_id,
            error=None,
            sent_at=utcnow(),
        )


def _error_kind(exc: Exception) -> str:
    """A provider error's kind, as the metrics label it."""
    match exc:
        case Rejected():
            return "rejected"
        case CredentialsRefused():
            return "credentials"
        case NotSent():
            return "not_sent"
        case Unclear():
            return "unclear"
    return "error"
