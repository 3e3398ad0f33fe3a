"""Each request an email touch made to SendGrid (table ``email_attempts``), for reconciling.

A row is written *before* anything is posted: the attempt's number, then its scheduled-send
batch (``batch_id`` and ``send_at``) once SendGrid made one. A retry that finds the touch in
flight reads the latest attempt: no batch yet → nothing was posted; a batch → cancel it and send
in a new one; no batch mode → look the touch up in Email Activity after ``posted_at``.
Statuses: ``started`` (no batch yet), ``posting`` (the Mail Send request may have left),
``not_sent`` (certainly not queued), ``cancelled`` (the batch's cancellation holds one of
SendGrid's few cancellation slots) and ``released`` (that cancellation removed after its
``send_at``, freeing the slot).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from nurture.store import Base, Store, UTCDateTime, utcnow

STATUSES = ("started", "posting", "not_sent", "cancelled", "released")


class EmailAttemptRow(Base):
    """One attempt of one email touch."""

    __tablename__ = "email_attempts"
    __table_args__ = (Index("ix_email_attempts_status_send_at", "status", "send_at"),)

    touch_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str | None] = mapped_column(String(255), default=None)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmailAttempts:
    """The attempts ledger on a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, touch_id: str) -> int:
        """A new attempt (status ``started``); its number."""
        with self.store.session() as session, session.begin():
            last = session.scalar(
                select(func.max(EmailAttemptRow.attempt)).where(
                    EmailAttemptRow.touch_id == touch_id
                )
            )
            number = (last or 0) + 1
            session.add(EmailAttemptRow(touch_id=touch_id, attempt=number, status="started"))
        return number

    def posting(
        self, touch_id: str, attempt: int, batch_id: str | None, send_at: datetime | None
    ) -> None:
        """The Mail Send request is about to leave (in this batch, if any)."""
        self._set(
            touch_id,
            attempt,
            status="posting",
            batch_id=batch_id,
            send_at=send_at,
            posted_at=utcnow(),
        )

    def mark(self, touch_id: str, attempt: int, status: str) -> None:
        """Set an attempt's status."""
        if status not in STATUSES:
            raise ValueError(f"unknown attempt status {status!r}")
        self._set(touch_id, attempt, status=status)

    def latest(self, touch_id: str) -> EmailAttemptRow | None:
        """The touch's last attempt, if any."""
        with self.store.session() as session:
            return session.scalar(
                select(EmailAttemptRow)
                .where(EmailAttemptRow.touch_id == touch_id)
                .order_by(EmailAttemptRow.attempt.desc())
                .limit(1)
            )

    def cancelled(self) -> list[EmailAttemptRow]:
        """Batches whose cancellation still holds a slot at SendGrid, earliest send first."""
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(EmailAttemptRow)
                    .where(EmailAttemptRow.status == "cancelled")
                    .order_by(EmailAttemptRow.send_at)
                )
            )

    def _set(self, touch_id: str, attempt: int, **values: object) -> None:
        query = (
            update(EmailAttemptRow)
            .where(EmailAttemptRow.touch_id == touch_id, EmailAttemptRow.attempt == attempt)
            .values(**values)
        )
        with self.store.session() as session, session.begin():
            session.execute(query)
