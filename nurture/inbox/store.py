"""The inbox: every engagement event we accepted, written down before it is signalled.

Accepting an event means inserting it here; a re-delivered event id changes nothing. Delivery to
the lead's workflow comes after (:mod:`nurture.inbox.delivery`) and only moves a row's ``status``:

- ``pending``: waiting for Temporal (retried by the delivery loop and ``nurture inbox deliver``);
- ``delivered``: signalled to ``lead-<id>``;
- ``unknown_lead``: no lead to give it to (no running journey, or no lead for its touch/phone);
- ``unmapped``: a provider event with no engagement meaning (e.g. SendGrid ``processed``), kept.

The table lives on :class:`nurture.store.Base` and is created here, on the store's engine.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Index, Integer, String, Table, Text, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from nurture.events import EngagementEvent, EventKind
from nurture.inbox.touchmap import lead_for_touch, leads_for_touches
from nurture.store import Base, Store, UTCDateTime, utcnow

__all__ = ["Inbox", "InboxItem", "InboxRecord", "InboxStatus", "bounded_id"]

#: Longest event id kept as is (``EngagementEvent.id`` allows 200); longer ones are hashed.
MAX_ID = 200
#: Raw provider payloads are kept up to this many characters (for reading, not replaying).
MAX_PAYLOAD = 8000
#: Rows per INSERT statement.
CHUNK = 500


class InboxStatus(StrEnum):
    """Where an accepted event is on its way to the lead's workflow."""

    pending = "pending"
    delivered = "delivered"
    unknown_lead = "unknown_lead"
    unmapped = "unmapped"


class InboxRecord(Base):
    """One accepted event (the event id is the primary key: a re-delivery is a no-op)."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_status_received", "status", "received_at"),)

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    raw_kind: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str | None] = mapped_column(String(64), default=None)
    event_json: Mapped[str | None] = mapped_column(Text, default=None)
    payload: Mapped[str | None] = mapped_column(Text, default=None)
    lead_id: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    touch_id: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def event(self) -> EngagementEvent | None:
        """The engagement event to signal (``None`` while no lead is known, or unmapped)."""
        if self.event_json is None:
            return None
        values = json.loads(self.event_json)
        if not values.get("lead_id"):
            return None
        return EngagementEvent.model_validate(values)

    def __repr__(self) -> str:
        return f"InboxRecord(event_id={self.event_id!r}, status={self.status!r})"


@dataclass(frozen=True)
class InboxItem:
    """One provider event as understood by a webhook, ready to be accepted.

    ``kind`` is ``None`` for provider events with no engagement meaning (kept as ``unmapped``);
    a missing ``lead_id`` is looked up from ``touch_id`` in the touch ledger when accepted.
    """

    event_id: str
    provider: str
    raw_kind: str
    at: datetime
    kind: EventKind | None = None
    lead_id: str | None = None
    touch_id: str | None = None
    points: int | None = None
    data: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    payload: Any = None
    note: str | None = None

    @classmethod
    def of(cls, event: EngagementEvent, provider: str, payload: Any = None) -> InboxItem:
        """An item for an event that arrived already in our own format (``POST /events``)."""
        return cls(
            event_id=event.id,
            provider=provider,
            raw_kind=event.kind.value,
            at=event.at,
            kind=event.kind,
            lead_id=event.lead_id,
            touch_id=event.touch_id,
            points=event.points,
            data=dict(event.data),
            payload=payload,
        )

    def _row(self, lead_id: str | None, now: datetime) -> dict[str, Any]:
        event: dict[str, Any] | None = None
        if self.kind is not None:
            event = {
                "id": self.event_id,
                "kind": self.kind.value,
                "lead_id": lead_id,
                "at": self.at.isoformat(),
                "touch_id": self.touch_id,
                "points": self.points,
                "data": self.data,
            }
            if lead_id:  # check the shape now: a row that cannot be signalled is refused here
                EngagementEvent.model_validate(event)
        if self.kind is None:
            status, note = (
                InboxStatus.unmapped,
                self.note or f"no engagement kind for {self.raw_kind}",
            )
        elif not lead_id:
            where = f"touch {self.touch_id}" if self.touch_id else "this event"
            status, note = InboxStatus.unknown_lead, self.note or f"no lead known for {where}"
        else:
            status, note = InboxStatus.pending, None
        return {
            "event_id": self.event_id,
            "provider": self.provider,
            "raw_kind": self.raw_kind[:255],
            "kind": self.kind.value if self.kind else None,
            "event_json": json.dumps(event, sort_keys=True) if event is not None else None,
            "payload": _payload_text(self.payload),
            "lead_id": lead_id,
            "touch_id": self.touch_id,
            "status": status.value,
            "at": self.at,
            "attempts": 0,
            "last_error": note,
            "received_at": now,
            "delivered_at": None,
        }


@dataclass
class Accepted:
    """What :meth:`Inbox.accept` did with a batch."""

    ids: list[str]
    new: list[str]
    #: The new pending rows, already claimed for the caller's delivery pass (``accept``'s
    #: ``claimer``): no second transaction is needed to claim them.
    claimed: list[InboxRecord] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Items whose id was already in the inbox (re-deliveries)."""
        return len(self.ids) - len(self.new)


class Inbox:
    """The inbox table on a :class:`~nurture.store.Store`; thread-safe like the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---------------------------------------------------------------- accepting

    def accept(
        self,
        items: Sequence[InboxItem],
        *,
        claimer: str | None = None,
        lease: timedelta = timedelta(seconds=60),
    ) -> Accepted:
        """Insert items whose id is new, in one transaction; existing ids are left untouched.

        A missing lead id is looked up from the touch id in the ledger. Raises ``ValueError`` if
        an item cannot become a valid engagement event (nothing of the batch is written then).
        With a ``claimer``, the new pending rows are inserted claimed by it (as :meth:`claim`
        would, in the same transaction) and returned in ``Accepted.claimed``.
        """
        now = utcnow()
        unique: dict[str, InboxItem] = {}
        for item in items:
            unique.setdefault(item.event_id, item)
        leads = leads_for_touches(
            self.store, (i.touch_id for i in unique.values() if not i.lead_id)
        )
        rows = [
            item._row(item.lead_id or leads.get(item.touch_id or ""), now)
            for item in unique.values()
        ]
        for row in rows:
            held = claimer is not None and row["status"] == InboxStatus.pending.value
            row["claimed_by"] = claimer if held else None
            row["claimed_until"] = now + lease if held else None
        new = self._insert_new(rows)
        fresh = set(new)
        claimed = [InboxRecord(**r) for r in rows if r["claimed_by"] and r["event_id"] in fresh]
        return Accepted(ids=[item.event_id for item in items], new=new, claimed=claimed)

    def _insert_new(self, rows: list[dict[str, Any]]) -> list[str]:
        dialect = self.store.engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            return [row["event_id"] for row in rows if self._insert_one(row)]
        dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        table = cast(Table, InboxRecord.__table__)
        # One compiled statement run as an executemany ("insertmanyvalues" pages the rows):
        # a ``.values(rows)`` statement is compiled afresh for every batch, 0.3 ms per row.
        statement = (
            dialect_insert(table)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(table.c.event_id)
        )
        new: list[str] = []
        with self.store.session() as session, session.begin():
            connection = session.connection()
            for start in range(0, len(rows), CHUNK):
                new.extend(connection.execute(statement, rows[start : start + CHUNK]).scalars())
        return new

    def _insert_one(self, row: dict[str, Any]) -> bool:
        try:
            with self.store.session() as session, session.begin():
                session.execute(insert(cast(Table, InboxRecord.__table__)).values(row))
        except IntegrityError:
            if self.get(row["event_id"]) is None:
                raise
            return False
        return True

    # ---------------------------------------------------------------- reading

    def get(self, event_id: str) -> InboxRecord | None:
        """The row for this event id, or ``None``."""
        with self.store.session() as session:
            return session.get(InboxRecord, event_id)

    def list(
        self,
        *,
        status: InboxStatus | str | None = None,
        lead_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[InboxRecord]:
        """Rows, newest first, optionally one status's and/or one lead's."""
        query = select(InboxRecord)
        if status is not None:
            query = query.where(InboxRecord.status == str(status))
        if lead_id is not None:
            query = query.where(InboxRecord.lead_id == lead_id)
        query = query.order_by(InboxRecord.received_at.desc(), InboxRecord.event_id.desc())
        with self.store.session() as session:
            return list(session.scalars(query.limit(max(limit, 0)).offset(max(offset, 0))))

    def counts(self) -> dict[str, int]:
        """How many rows have each status (every status present, zero included)."""
        query = select(InboxRecord.status, func.count()).group_by(InboxRecord.status)
        with self.store.session() as session:
            found = {status: int(n) for status, n in session.execute(query)}
        return {s.value: found.get(s.value, 0) for s in InboxStatus}

    def pending(
        self, *, ids: Iterable[str] | None = None, limit: int = 500
    ) -> builtins.list[InboxRecord]:
        """Pending rows, oldest first (only these ids, if given)."""
        query = select(InboxRecord).where(InboxRecord.status == InboxStatus.pending.value)
        if ids is not None:
            query = query.where(InboxRecord.event_id.in_(list(ids)))
        query = query.order_by(InboxRecord.received_at, InboxRecord.at, InboxRecord.event_id)
        query = query.limit(limit)
        with self.store.session() as session:
            return list(session.scalars(query))

    def claim(
        self,
        claimer: str,
        *,
        ids: Iterable[str] | None = None,
        limit: int = 500,
        lease: timedelta = timedelta(seconds=60),
    ) -> builtins.list[InboxRecord]:
        """Claim pending rows no other delivery holds (a lapsed lease is free again), oldest
        first; the rows this ``claimer`` holds now. One delivery path per row, across
        processes: the claim is a compare-and-set in the store."""
        now = utcnow()
        free = or_(InboxRecord.claimed_until.is_(None), InboxRecord.claimed_until < now)
        wanted = select(InboxRecord.event_id).where(
            InboxRecord.status == InboxStatus.pending.value, free
        )
        if ids is not None:
            wanted = wanted.where(InboxRecord.event_id.in_(builtins.list(ids)))
        wanted = wanted.order_by(
            InboxRecord.received_at, InboxRecord.at, InboxRecord.event_id
        ).limit(limit)
        with self.store.session() as session, session.begin():
            candidates = builtins.list(session.scalars(wanted))
            if not candidates:
                return []
            session.execute(
                update(InboxRecord)
                .where(InboxRecord.event_id.in_(candidates))
                .where(InboxRecord.status == InboxStatus.pending.value, free)
                .values(claimed_by=claimer, claimed_until=now + lease)
            )
        query = (
            select(InboxRecord)
            .where(InboxRecord.event_id.in_(candidates), InboxRecord.claimed_by == claimer)
            .where(InboxRecord.status == InboxStatus.pending.value)
            .order_by(InboxRecord.received_at, InboxRecord.at, InboxRecord.event_id)
        )
        with self.store.session() as session:
            return builtins.list(session.scalars(query))

    def release(self, event_ids: Sequence[str], claimer: str) -> None:
        """Give up this claimer's hold on rows (they are settled, or stay pending)."""
        if not event_ids:
            return
        statement = (
            update(InboxRecord)
            .where(InboxRecord.event_id.in_(builtins.list(event_ids)))
            .where(InboxRecord.claimed_by == claimer)
            .values(claimed_by=None, claimed_until=None)
        )
        with self.store.session() as session, session.begin():
            session.execute(statement)

    # ---------------------------------------------------------------- delivery bookkeeping

    def mark_delivered(self, *event_ids: str) -> None:
        """The workflows took these signals (one transaction for a delivery pass's rows)."""
        if not event_ids:
            return
        self._set(
            event_ids,
            status=InboxStatus.delivered.value,
            delivered_at=utcnow(),
            claimed_by=None,  # settled: the pass's hold ends in the same transaction
            claimed_until=None,
            last_error=None,
            attempts=InboxRecord.attempts + 1,
            only_pending=True,  # a second, overlapping pass changes nothing
        )

    def mark_unknown_lead(self, event_id: str, reason: str) -> None:
        """No journey to give it to (not found, or already closed)."""
        self._set(
            [event_id],
            status=InboxStatus.unknown_lead.value,
            last_error=reason,
            attempts=InboxRecord.attempts + 1,
            only_pending=True,
        )

    def mark_failed(self, event_ids: Sequence[str], reason: str) -> None:
        """A delivery attempt failed for a passing reason: the rows stay pending."""
        self._set(
            event_ids,
            last_error=reason[:2000],
            attempts=InboxRecord.attempts + 1,
            only_pending=True,
        )

    def requeue_unknown(self) -> int:
        """Give ``unknown_lead`` rows another chance (e.g. the lead was enrolled since).

        Rows without a lead id get one from the ledger if their touch is known now; rows that
        have a lead go back to ``pending``. Returns how many were requeued.
        """
        requeued = 0
        for row in self.list(status=InboxStatus.unknown_lead, limit=100_000):
            lead_id = row.lead_id or lead_for_touch(self.store, row.touch_id)
            if not lead_id or row.event_json is None:
                continue
            values = json.loads(row.event_json)
            values["lead_id"] = lead_id
            EngagementEvent.model_validate(values)
            with self.store.session() as session, session.begin():
                session.execute(
                    update(InboxRecord)
                    .where(InboxRecord.event_id == row.event_id)
                    .where(InboxRecord.status == InboxStatus.unknown_lead.value)
                    .values(
                        status=InboxStatus.pending.value,
                        lead_id=lead_id,
                        event_json=json.dumps(values, sort_keys=True),
                    )
                )
            requeued += 1
        return requeued

    def _set(self, event_ids: Sequence[str], *, only_pending: bool = False, **values: Any) -> None:
        if not event_ids:
            return
        statement = update(InboxRecord).where(InboxRecord.event_id.in_(list(event_ids)))
        if only_pending:
            statement = statement.where(InboxRecord.status == InboxStatus.pending.value)
        with self.store.session() as session, session.begin():
            session.execute(statement.values(**values))


def bounded_id(raw: str) -> str:
    """``raw`` if it fits an event id, else a stable ``sha256:`` digest of it."""
    if 0 < len(raw) <= MAX_ID:
        return raw
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _payload_text(payload: Any) -> str | None:
    if payload is None:
        return None
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    return text[:MAX_PAYLOAD]
