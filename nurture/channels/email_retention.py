"""Retention of ``email_attempts``: an email touch's attempts are only needed while the touch is
in flight (to reconcile a retry) and for a while after, to answer "what happened to this email".
Once the touch is settled (``sent``, ``failed`` or ``unknown`` in the ledger) and its last
attempt is ``NURTURE_EMAIL_ATTEMPTS_RETENTION_DAYS`` old, its rows are deleted.

The web app prunes with its background loop (at most once an hour, :class:`Pruner`); operators
can run ``nurture db prune``. Both are idempotent and safe with several processes at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, tuple_

from nurture.channels.email_attempts import EmailAttemptRow
from nurture.settings import Settings
from nurture.store import Store, TouchRecord, utcnow

__all__ = ["SETTLED", "Pruner", "prune_email_attempts"]

log = logging.getLogger(__name__)

#: Ledger statuses of a touch that will make no more attempts.
SETTLED = ("sent", "failed", "unknown")
#: Rows deleted per statement (short transactions, no long lock on SQLite).
BATCH = 1000
#: Seconds between two prunes of the web app's loop.
EVERY = 3600.0


def prune_email_attempts(store: Store, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete the attempts of settled email touches whose last activity (``send_at``, else the
    post, else the attempt's creation; and the touch's ``sent_at``) is older than
    ``older_than``; the number of rows deleted."""
    cutoff = (now or utcnow()) - older_than
    attempt_time = func.coalesce(
        EmailAttemptRow.send_at, EmailAttemptRow.posted_at, EmailAttemptRow.created_at
    )
    settled = select(TouchRecord.touch_id).where(
        TouchRecord.status.in_(SETTLED),
        or_(TouchRecord.sent_at.is_(None), TouchRecord.sent_at < cutoff),
    )
    due = (
        select(EmailAttemptRow.touch_id, EmailAttemptRow.attempt)
        .where(and_(attempt_time < cutoff, EmailAttemptRow.touch_id.in_(settled)))
        .limit(BATCH)
    )
    deleted = 0
    while True:
        with store.session() as session, session.begin():
            keys = [tuple(row) for row in session.execute(due)]
            if not keys:
                return deleted
            key = tuple_(EmailAttemptRow.touch_id, EmailAttemptRow.attempt)
            session.execute(delete(EmailAttemptRow).where(key.in_(keys)))
        deleted += len(keys)
        if len(keys) < BATCH:
            return deleted


class Pruner:
    """The web app's retention chore: prunes ``email_attempts`` at most every ``every`` seconds
    (in a thread, off the event loop); never raises (a failure is logged, retried next time)."""

    def __init__(self, store: Store, settings: Settings, every: float = EVERY) -> None:
        self.store = store
        self.days = settings.email_attempts_retention_days
        self.every = every
        self._last: float | None = None

    async def __call__(self) -> int:
        """Prune if it is time; the rows deleted (0 when it was not time, or retention is off)."""
        now = time.monotonic()
        if not self.days or (self._last is not None and now - self._last < self.every):
            return 0
        self._last = now
        try:
            deleted = await asyncio.to_thread(
                prune_email_attempts, self.store, timedelta(days=self.days)
            )
        except Exception:
            log.exception("pruning email_attempts failed")
            return 0
        if deleted:
            log.info("email_attempts: %d rows older than %g days pruned", deleted, self.days)
        return deleted
