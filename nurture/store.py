"""The small SQL store: the touch ledger (which doubles as the local outbox).

A touch row's ``status`` is ``sent`` for the outbox; provider sends move through
``sending`` (claimed before the provider call) -> ``sent`` | ``failed`` | ``pending`` (certainly
not sent, safe to send again) | ``unknown`` (the provider may or may not have it; never resent).
See ``nurture/channels/base.py``.

One declarative :class:`Base` holds every table (``nurture/tables.py`` lists them); the schema is
made and changed by Alembic migrations only (``nurture/schema.py``): a store opens at this
release's revision or not at all. Works on SQLite (a file in ``data_dir`` by default) and on
PostgreSQL (psycopg 3, the ``postgres`` extra), with a connection pool sized by the settings.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NotRequired, TypedDict, Unpack, cast

from sqlalchemy import (
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    make_url,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator

from nurture import schema

if TYPE_CHECKING:
    from nurture.settings import Settings

__all__ = [
    "KEEP",
    "TOUCH_STATUSES",
    "Base",
    "Pool",
    "Store",
    "TouchRecord",
    "TouchValues",
    "UTCDateTime",
    "utcnow",
]

#: Every status a touch row can have (see the module docstring).
TOUCH_STATUSES: Final = ("sending", "pending", "sent", "failed", "unknown")


class _Keep(Enum):
    KEEP = "keep"


#: "Leave this column as it is" for :meth:`Store.update_touch`.
KEEP: Final = _Keep.KEEP


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime`` that only accepts aware values and always reads back aware UTC.

    SQLite has no time zones: values are stored as naive UTC and get ``tzinfo=UTC`` on read.
    Naive datetimes are rejected on write (they are almost always a bug).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive UTC for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every table in the store."""


class TouchRecord(Base):
    """One touch (email, call task, voicemail, SMS, letter) made to a lead; the outbox row."""

    __tablename__ = "touches"
    __table_args__ = (
        Index("ix_touches_lead_created", "lead_id", "created_at"),
        Index("ix_touches_channel_created", "channel", "created_at"),
    )

    touch_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(255), index=True)
    cadence: Mapped[str] = mapped_column(String(255))
    cadence_version: Mapped[int] = mapped_column(Integer)
    cycle: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str | None] = mapped_column(String(255), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    recipient: Mapped[str | None] = mapped_column(Text, default=None)
    subject: Mapped[str | None] = mapped_column(Text, default=None)
    body_text: Mapped[str | None] = mapped_column(Text, default=None)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    summary: Mapped[str] = mapped_column(Text, default="")
    variant: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values (datetimes as ISO 8601 strings)."""
        out: dict[str, Any] = {}
        for column in self.__table__.columns:
            value = getattr(self, column.key)
            out[column.key] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def __repr__(self) -> str:
        return f"TouchRecord(touch_id={self.touch_id!r}, status={self.status!r})"


class TouchValues(TypedDict):
    """The columns of a new touch row (:meth:`Store.claim_touch`, :meth:`Store.record_touch`)."""

    touch_id: str
    lead_id: str
    cadence: str
    cadence_version: int
    cycle: int
    step_id: str
    channel: str
    provider: str
    status: str
    summary: str
    provider_id: NotRequired[str | None]
    error: NotRequired[str | None]
    recipient: NotRequired[str | None]
    subject: NotRequired[str | None]
    body_text: NotRequired[str | None]
    body_html: NotRequired[str | None]
    variant: NotRequired[str | None]
    created_at: NotRequired[datetime | None]
    sent_at: NotRequired[datetime | None]


#: The optional columns of a new touch and their defaults.
_OPTIONAL: Final = (
    "provider_id",
    "error",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "variant",
)

#: The ledger's hot path as Core statements, built once: SQLAlchemy caches their compiled form,
#: and they skip the ORM's unit of work and identity map (a claim is one INSERT, one commit).
_TOUCHES: Final = cast(Table, TouchRecord.__table__)
_INSERT_TOUCH: Final = insert(_TOUCHES)
_GET_TOUCH: Final = select(_TOUCHES).where(_TOUCHES.c.touch_id == bindparam("touch_id"))


def _filled(values: TouchValues) -> dict[str, Any]:
    """Every column of a new touch row: optional ones default to NULL, ``created_at`` to now."""
    filled: dict[str, Any] = {key: None for key in _OPTIONAL}
    filled.update(values)
    filled["created_at"] = _as_utc(values.get("created_at") or utcnow())
    filled["sent_at"] = _as_utc(values.get("sent_at"))
    return filled


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """Per-connection SQLite pragmas: wait on locks, WAL journal, NORMAL sync."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _is_memory_sqlite(database: str | None) -> bool:
    return not database or database == ":memory:" or "mode=memory" in database


@dataclass(frozen=True)
class Pool:
    """Connection pool of a server database (PostgreSQL); SQLite ignores it."""

    size: int = 5
    max_overflow: int = 10
    timeout: float = 30
    recycle: int = 1800


def _make_engine(url: str, pool: Pool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout,
            pool_recycle=pool.recycle,
        )
    database = parsed.database
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if _is_memory_sqlite(database):
        # One shared connection, or every thread would see its own empty database.
        kwargs["poolclass"] = StaticPool
    elif database and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


class Store:
    """Access to the SQL store; thread-safe (one session per call)."""

    def __init__(self, url: str, *, upgrade: bool = False, pool: Pool | None = None) -> None:
        """Connect to ``url`` (creating the SQLite file's folder).

        The schema must be at this release's revision: with ``upgrade`` the migrations run first,
        else a store that is behind raises :class:`nurture.schema.StoreBehind`. A private
        in-memory SQLite store is always migrated (nobody else can).
        """
        self.url = url
        self.engine: Engine = _make_engine(url, pool or Pool())
        self._sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade or (
            self.engine.dialect.name == "sqlite" and _is_memory_sqlite(self.engine.url.database)
        ):
            schema.upgrade(self.engine)
        else:
            try:
                schema.check(self.engine)
            except schema.StoreBehind:
                self.engine.dispose()
                raise

    @staticmethod
    def engine_for(settings: Settings) -> Engine:
        """An engine on the settings' store that checks nothing (for ``nurture db``)."""
        return _make_engine(settings.store_url, _pool(settings))

    @classmethod
    def from_settings(cls, settings: Settings, *, upgrade: bool | None = None) -> Store:
        """The store the settings name, with their pool; ``upgrade`` defaults to
        ``NURTURE_DB_UPGRADE``."""
        return cls(
            settings.store_url,
            upgrade=settings.db_upgrade if upgrade is None else upgrade,
            pool=_pool(settings),
        )

    def session(self) -> Session:
        """A new session (``expire_on_commit=False``); use it as a context manager."""
        return self._sessions()

    # ---------------------------------------------------------------- touches

    def claim_touch(self, **values: Unpack[TouchValues]) -> TouchRecord | None:
        """Insert the touch unless ``touch_id`` exists: the send-once claim, one transaction.

        Returns ``None`` when this call inserted the row (the claim is the caller's; the row holds
        exactly the values passed), else the row that was there, unchanged. Race-safe:
        concurrent calls with one ``touch_id`` (threads or processes) leave exactly one row, and
        only one of them gets ``None``.
        """
        return self._claim(_filled(values))

    def record_touch(self, **values: Unpack[TouchValues]) -> tuple[TouchRecord, bool]:
        """Insert the touch unless ``touch_id`` exists; return ``(row, created)``.

        Idempotent and race-safe: concurrent calls with one ``touch_id`` (threads or processes)
        leave exactly one row, and every caller gets that row back; only one sees ``created``.
        An existing row is returned unchanged (the new values are ignored).
        """
        filled = _filled(values)
        existing = self._claim(filled)
        return (existing, False) if existing is not None else (TouchRecord(**filled), True)

    def _claim(self, values: dict[str, Any]) -> TouchRecord | None:
        try:
            with self.engine.begin() as connection:
                connection.execute(_INSERT_TOUCH, values)
        except IntegrityError:
            winner = self.get_touch(values["touch_id"])
            if winner is None:  # not a duplicate key: some other constraint failed
                raise
            return winner
        return None

    def get_touch(self, touch_id: str) -> TouchRecord | None:
        """The touch with this id, or ``None`` (a copy of the row, attached to no session)."""
        with self.engine.connect() as connection:
            found = connection.execute(_GET_TOUCH, {"touch_id": touch_id}).first()
        return TouchRecord(**found._mapping) if found is not None else None

    def update_touch(
        self,
        touch_id: str,
        status: str,
        *,
        expect: Collection[str] | None = None,
        provider_id: str | Literal[_Keep.KEEP] | None = KEEP,
        error: str | Literal[_Keep.KEEP] | None = KEEP,
        sent_at: datetime | Literal[_Keep.KEEP] | None = KEEP,
    ) -> bool:
        """Set a touch's status (and the given columns); True if a row changed.

        With ``expect``, only a row whose current status is one of those changes: a
        compare-and-set, so two attempts can never both claim the same touch.
        """
        if status not in TOUCH_STATUSES:
            raise ValueError(f"unknown touch status {status!r}")
        values: dict[str, Any] = {"status": status}
        if provider_id is not KEEP:
            values["provider_id"] = provider_id
        if error is not KEEP:
            values["error"] = error
        if sent_at is not KEEP:
            values["sent_at"] = _as_utc(sent_at)
        query = update(_TOUCHES).where(_TOUCHES.c.touch_id == touch_id).values(**values)
        if expect is not None:
            query = query.where(_TOUCHES.c.status.in_(list(expect)))
        with self.engine.begin() as connection:
            return bool(connection.execute(query).rowcount)

    def touch_by_provider_id(self, provider: str, provider_id: str) -> TouchRecord | None:
        """The touch a provider's id (message SID, letter id...) was recorded for, if any."""
        query = select(TouchRecord).where(
            TouchRecord.provider == provider, TouchRecord.provider_id == provider_id
        )
        with self.session() as session:
            return session.scalars(query.limit(1)).first()

    def list_touches(
        self,
        *,
        lead_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TouchRecord]:
        """Touches, newest first, optionally only one lead's and/or one channel's."""
        query = _filtered(select(TouchRecord), lead_id, channel)
        query = query.order_by(TouchRecord.created_at.desc(), TouchRecord.touch_id.desc())
        query = query.limit(max(limit, 0)).offset(max(offset, 0))
        with self.session() as session:
            return list(session.scalars(query))

    def count_touches(self, *, lead_id: str | None = None, channel: str | None = None) -> int:
        """How many touches match the same filters as :meth:`list_touches`."""
        query = _filtered(select(func.count()).select_from(TouchRecord), lead_id, channel)
        with self.session() as session:
            return int(session.scalar(query) or 0)

    def close(self) -> None:
        """Close all pooled connections (the store reconnects if used again)."""
        self.engine.dispose()


def _pool(settings: Settings) -> Pool:
    return Pool(
        size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        timeout=settings.db_pool_timeout,
        recycle=settings.db_pool_recycle,
    )


def _as_utc(value: datetime | None) -> datetime | None:
    """Aware datetimes in UTC; naive ones pass through for the column type to refuse."""
    return value.astimezone(UTC) if value is not None and value.tzinfo else value


def _filtered(query: Select[Any], lead_id: str | None, channel: str | None) -> Select[Any]:
    if lead_id is not None:
        query = query.where(TouchRecord.lead_id == lead_id)
    if channel is not None:
        query = query.where(TouchRecord.channel == channel)
    return query
