"""The desk's login limit: failed logins per username and per client IP, in the store.

Each failure is a row (username, client, time) in ``desk_login_failures``; a username or a
client with too many rows in the sliding window is refused until the oldest ones age out, without
its password being checked. The rows are in the SQL store, so the limit holds across restarts and
across web processes; rows older than the window are deleted as new attempts come in.

An attempt is counted *before* its password is checked and the username's rows are deleted when
it succeeds, so parallel attempts (threads, processes) cannot all slip past the check: at most
the limit of attempts per window ever reach the password check. Refused attempts are not counted,
so hammering a locked username does not extend its lockout. Unknown usernames count like wrong
passwords, and the messages do not say which it was.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Index, Integer, String, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column

from nurture.settings import Settings
from nurture.store import Base, Store, UTCDateTime, utcnow

__all__ = ["LoginThrottle", "Refusal", "client_key"]

log = logging.getLogger(__name__)


class LoginFailureRow(Base):
    """One failed (or still being checked) desk login."""

    __tablename__ = "desk_login_failures"
    __table_args__ = (
        Index("ix_desk_login_failures_username_at", "username", "at"),
        Index("ix_desk_login_failures_client_at", "client", "at"),
        Index("ix_desk_login_failures_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(255))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Refusal:
    """A login refused because its username (``user``) or client (``ip``) is over the limit."""

    scope: Literal["user", "ip"]
    retry_after: int  # seconds until an attempt would be allowed again

    @property
    def message(self) -> str:
        """What the login page says."""
        minutes = max(1, math.ceil(self.retry_after / 60))
        who = "for this user" if self.scope == "user" else "from your network"
        return f"Too many failed attempts {who}; try again in {minutes} minute" + (
            "s" if minutes != 1 else ""
        )


def client_key(host: str | None) -> str:
    """What a client is counted as: its IPv4 address, or its IPv6 /64 (one subscriber's)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class LoginThrottle:
    """Counts failed desk logins and refuses attempts over the limits; thread-safe."""

    def __init__(
        self,
        store: Store,
        *,
        per_user: int = 5,
        per_ip: int = 20,
        window: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Use ``store`` (creating the table if missing); ``clock`` gives the aware time now."""
        self.store = store
        self.per_user = per_user
        self.per_ip = per_ip
        self.window = window
        self.clock = clock

    @classmethod
    def from_settings(
        cls, store: Store, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> LoginThrottle:
        """The throttle with the ``NURTURE_LOGIN_*`` limits."""
        return cls(
            store,
            per_user=settings.login_failures_per_user,
            per_ip=settings.login_failures_per_ip,
            window=timedelta(minutes=settings.login_window_minutes),
            clock=clock,
        )

    def attempt(self, username: str, host: str | None) -> Refusal | None:
        """Count this attempt as a failure (until :meth:`succeeded`) and return ``None``; or,
        when the username or the client is over its limit, count nothing and return why."""
        name, client, now = username[:255], client_key(host), self.clock()
        since = now - self.window
        limits = (
            ("user", LoginFailureRow.username, name, self.per_user),
            ("ip", LoginFailureRow.client, client, self.per_ip),
        )
        with self.store.session() as session, session.begin():
            # One attempt per user at a time: on PostgreSQL a transaction lock on the name (SQLite
            # holds its one write lock from the first statement), so parallel guesses are counted
            # one after the other, never all against all.
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.at <= since))
            row = LoginFailureRow(username=name, client=client, at=now)
            session.add(row)
            session.flush()
            blocked = {
                scope: until
                for scope, column, key, limit in limits
                if (until := self._blocked_until(session, column, key, limit, since, row.id))
            }
            if blocked:
                session.delete(row)
        if not blocked:
            return None
        wait = math.ceil((max(blocked.values()) - now).total_seconds())
        refusal = Refusal("user" if "user" in blocked else "ip", max(wait, 1))
        log.warning(
            "desk login refused for user %r from %s: too many failed attempts %s, retry in %d s",
            name,
            host,
            "for the user" if refusal.scope == "user" else "from the client",
            refusal.retry_after,
        )
        return refusal

    def failed(self, username: str, host: str | None) -> None:
        """The attempt's password was wrong (it stays counted); log a lockout it causes."""
        name, client = username[:255], client_key(host)
        since = self.clock() - self.window
        with self.store.session() as session:
            users = _count(session, LoginFailureRow.username, name, since)
            clients = _count(session, LoginFailureRow.client, client, since)
        if users >= self.per_user:
            log.warning(
                "desk login locked for user %r: %d failed attempts in %s, the last from %s",
                name,
                users,
                self.window,
                host,
            )
        if clients >= self.per_ip:
            log.warning(
                "desk login locked for client %s (%s): %d failed attempts in %s, the last for %r",
                client,
                host,
                clients,
                self.window,
                name,
            )

    def succeeded(self, username: str) -> None:
        """The password was right: forget the username's failures."""
        with self.store.session() as session, session.begin():
            query = delete(LoginFailureRow).where(LoginFailureRow.username == username[:255])
            session.execute(query)

    def _blocked_until(
        self,
        session: Session,
        column: InstrumentedAttribute[str],
        key: str,
        limit: int,
        since: datetime,
        own_id: int,
    ) -> datetime | None:
        """When ``key`` gets below ``limit`` failures (other than ``own_id``), if it is not now:
        the ``limit``-th newest failure leaves the window then."""
        query = (
            select(LoginFailureRow.at)
            .where(column == key, LoginFailureRow.at > since, LoginFailureRow.id != own_id)
            .order_by(LoginFailureRow.at.desc(), LoginFailureRow.id.desc())
            .offset(limit - 1)
            .limit(1)
        )
        at = session.scalar(query)
        return at + self.window if at is not None else None


def _count(session: Session, column: InstrumentedAttribute[str], key: str, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(LoginFailureRow)
        .where(column == key, LoginFailureRow.at > since)
    )
    return int(session.scalar(query) or 0)
