"""The rep directory: teleprospecting reps and their teams (queues), in the store.

A team is a call-task queue (``CallParams.queue``) with a manager; a rep belongs to one queue.
Passwords are stored as Argon2id hashes (``argon2-cffi``), never in clear. Round robin keeps one
cursor per queue in the database and moves it with compare-and-swap, so concurrent callers (threads,
worker processes) each get a different next rep and the rotation stays fair.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Boolean, Integer, String, Text, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from nurture.lead import TimeZoneName
from nurture.roster.hours import format_hours, is_working, parse_hours
from nurture.store import Base, Store, UTCDateTime, utcnow

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "USERNAME",
    "Rep",
    "RepDirectory",
    "RepNotFound",
    "Role",
    "Team",
]

USERNAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"
QUEUE = r"^[a-z0-9][a-z0-9-]*$"
MIN_PASSWORD = 10
#: What a person may do: ``rep`` works a queue's tasks (call tasks, or handoffs in a sales team),
#: ``manager`` leads a team (sees every queue), ``sales`` takes handoffs, ``marketing`` owns
#: cadences and reports, ``admin`` runs the system (inbox, outbox, API docs).
Role = Literal["rep", "manager", "sales", "marketing", "admin"]
ROLES: tuple[Role, ...] = ("rep", "manager", "sales", "marketing", "admin")


class RepNotFound(LookupError):
    """No rep with that username."""

    def __init__(self, username: str) -> None:
        super().__init__(f"no rep {username!r} (add one with `nurture reps add`)")


class Team(BaseModel):
    """A call-task queue and who manages it."""

    model_config = ConfigDict(frozen=True)

    queue: str = Field(pattern=QUEUE, max_length=100)
    name: str = Field("", max_length=200, description="Display name (default: the queue)")
    manager: str | None = Field(None, pattern=USERNAME, description="Manager's username")

    @property
    def label(self) -> str:
        """The display name, or the queue."""
        return self.name or self.queue


class Rep(BaseModel):
    """A person of the staff: works a queue's tasks (``rep``), manages a team (``manager``), and
    may hold other roles (``sales``, ``marketing``, ``admin``); ``role="manager"`` is still
    accepted for one role."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(pattern=USERNAME, description="Login name: a-z, 0-9, '.', '_', '-'")
    name: str = Field(min_length=1, max_length=200)
    email: str = Field("", max_length=320)
    queue: str = Field(pattern=QUEUE, max_length=100, description="The team's call-task queue")
    roles: frozenset[Role] = Field(frozenset({"rep"}), min_length=1)
    timezone: TimeZoneName = "America/New_York"
    hours: str = Field("mon-fri 09:00-17:00", description="Working hours in the rep's zone")
    manager: str | None = Field(None, pattern=USERNAME)
    active: bool = True
    has_password: bool = Field(False, description="Read-only: a password is set")

    @model_validator(mode="before")
    @classmethod
    def _one_role(cls, data: Any) -> Any:
        """``role: manager`` (the older single role) means ``roles: [manager]``."""
        if isinstance(data, dict) and "role" in data:
            data = dict(data)
            role = data.pop("role")
            if "roles" not in data or data["roles"] is None:
                data["roles"] = [role]
        return data

    @field_validator("username", "manager", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        return format_hours(parse_hours(value))

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value:
            return ""
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"invalid email {value!r}: {exc}") from None

    @property
    def is_manager(self) -> bool:
        """True for team managers (they see every queue)."""
        return "manager" in self.roles

    @property
    def role_label(self) -> str:
        """The roles, for display ("manager, admin")."""
        return ", ".join(r for r in ROLES if r in self.roles)

    def has_any(self, roles: Iterable[str]) -> bool:
        """True if the person holds one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    def is_working(self, at: datetime) -> bool:
        """True if ``at`` is inside the rep's working hours."""
        return is_working(parse_hours(self.hours), self.timezone, at)


# ---------------------------------------------------------------- tables


class TeamRow(Base):
    """A team (queue) of the call desk."""

    __tablename__ = "desk_teams"

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    manager: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepRow(Base):
    """A rep or manager of the call desk."""

    __tablename__ = "desk_reps"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="")
    queue: Mapped[str] = mapped_column(String(100), index=True)
    #: The roles, comma-separated in ROLES order ("rep,sales"); the column keeps its old name
    #: ``role`` (one role is a valid list of one).
    roles: Mapped[str] = mapped_column("role", String(100), default="rep")
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[str] = mapped_column(String(200))
    manager: Mapped[str | None] = mapped_column(String(64), default=None)
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoundRobinRow(Base):
    """Per queue: who got the last round-robin task; ``version`` makes moves compare-and-swap."""

    __tablename__ = "desk_round_robin"

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_username: Mapped[str | None] = mapped_column(String(64), default=None)
    version: Mapped[int] = mapped_column(Integer, default=0)


TABLES = [TeamRow.__table__, RepRow.__table__, RoundRobinRow.__table__]
_REP_FIELDS = ("name", "email", "queue", "timezone", "hours", "manager", "active")


def _rep(row: RepRow) -> Rep:
    return Rep(
        username=row.username,
        has_password=row.password_hash is not None,
        roles=frozenset(cast(Role, r) for r in row.roles.split(",") if r),  # validated by Rep
        **{f: getattr(row, f) for f in _REP_FIELDS},
    )


def _roles_text(rep: Rep) -> str:
    return ",".join(r for r in ROLES if r in rep.roles)


def _team(row: TeamRow) -> Team:
    return Team(queue=row.queue, name=row.name, manager=row.manager)


# ---------------------------------------------------------------- the directory


class RepDirectory:
    """Reps and teams in the store; thread-safe (one session per call)."""

    #: Attempts of a contended round-robin move before giving up.
    CAS_ATTEMPTS = 200

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        """Use ``store`` (creating the desk tables if missing); ``hasher`` defaults to Argon2id
        with argon2-cffi's recommended parameters."""
        self.store = store
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _dummy_hash(self) -> str:
        """Verified against when a name is unknown, so that takes as long as a wrong password."""
        return self.hasher.hash("not a password of anyone")

    # ------------------------------------------------------------ reps

    def add(self, rep: Rep) -> Rep:
        """Add a new rep; ``ValueError`` if the username is taken."""
        row = RepRow(
            username=rep.username,
            roles=_roles_text(rep),
            **{f: getattr(rep, f) for f in _REP_FIELDS},
        )
        try:
            with self.store.session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise ValueError(f"rep {rep.username!r} already exists") from None
        return _rep(row)

    def save(self, rep: Rep) -> tuple[Rep, bool]:
        """Add or update a rep (the password is kept); returns ``(rep, created)``."""
        with self.store.session() as session, session.begin():
            row = session.get(RepRow, rep.username)
            created = row is None
            if row is None:
                row = RepRow(username=rep.username)
                session.add(row)
            for field in _REP_FIELDS:
                setattr(row, field, getattr(rep, field))
            row.roles = _roles_text(rep)
            row.updated_at = utcnow()
        return _rep(row), created

    def update(self, username: str, **changes: Any) -> Rep:
        """Change some fields of a rep (validated like a new rep)."""
        current = self.get(username)
        if current is None:
            raise RepNotFound(username)
        values = current.model_dump()
        if "role" in changes or "roles" in changes:
            values.pop("roles")
        changed = Rep.model_validate({**values, **changes, "username": username})
        return self.save(changed)[0]

    def get(self, username: str) -> Rep | None:
        """The rep with this username (active or not), or ``None``."""
        with self.store.session() as session:
            row = session.get(RepRow, username.strip().lower())
            return _rep(row) if row is not None else None

    def all(self) -> list[Rep]:
        """Every rep and manager, by queue then username."""
        return self._select()

    def in_queue(self, queue: str, *, role: Role | None = None, active: bool = True) -> list[Rep]:
        """The queue's members (only those holding ``role`` if given; only active ones unless
        told)."""
        return self._select(queue=queue, role=role, active=active)

    def managers(self) -> list[Rep]:
        """Every active manager."""
        return self._select(role="manager", active=True)

    def _select(
        self, *, queue: str | None = None, role: str | None = None, active: bool | None = None
    ) -> list[Rep]:
        query = select(RepRow).order_by(RepRow.queue, RepRow.username)
        if queue is not None:
            query = query.where(RepRow.queue == queue)
        if active:
            query = query.where(RepRow.active.is_(True))
        with self.store.session() as session:
            people = [_rep(row) for row in session.scalars(query)]
        return [p for p in people if role is None or role in p.roles]

    # ------------------------------------------------------------ passwords

    def set_password(self, username: str, password: str) -> None:
        """Store an Argon2id hash of ``password`` (at least :data:`MIN_PASSWORD` characters)."""
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
        digest = self.hasher.hash(password)
        with self.store.session() as session, session.begin():
            row = session.get(RepRow, username.strip().lower())
            if row is None:
                raise RepNotFound(username)
            row.password_hash = digest
            row.updated_at = utcnow()

    def authenticate(self, username: str, password: str) -> Rep | None:
        """The active rep whose password this is, else ``None`` (same work for unknown names)."""
        with self.store.session() as session:
            row = session.get(RepRow, username.strip().lower())
            stored = row.password_hash if row is not None else None
        try:
            self.hasher.verify(stored or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or stored is None or not row.active:
            return None
        if self.hasher.check_needs_rehash(stored):
            self.set_password(row.username, password)
        return _rep(row)

    # ------------------------------------------------------------ teams

    def save_team(self, team: Team) -> Team:
        """Add or update a team."""
        with self.store.session() as session, session.begin():
            row = session.get(TeamRow, team.queue) or TeamRow(queue=team.queue)
            row.name, row.manager, row.updated_at = team.name, team.manager, utcnow()
            session.add(row)
        return team

    def team(self, queue: str) -> Team | None:
        """The team of a queue, or ``None``."""
        with self.store.session() as session:
            row = session.get(TeamRow, queue)
            return _team(row) if row is not None else None

    def teams(self) -> list[Team]:
        """Every team, by queue."""
        with self.store.session() as session:
            return [_team(r) for r in session.scalars(select(TeamRow).order_by(TeamRow.queue))]

    def queues(self) -> list[str]:
        """Every queue that has a team or a member."""
        with self.store.session() as session:
            members = set(session.scalars(select(RepRow.queue).distinct()))
            teams = set(session.scalars(select(TeamRow.queue)))
        return sorted(members | teams)

    def manager_of(self, queue: str) -> Rep | None:
        """Who an escalated task of ``queue`` goes to: the team's manager if active, else the
        first active manager in the queue, else ``None``."""
        team = self.team(queue)
        if team is not None and team.manager:
            manager = self.get(team.manager)
            if manager is not None and manager.active:
                return manager
        managers = self.in_queue(queue, role="manager")
        return managers[0] if managers else None

    # ------------------------------------------------------------ round robin

    def next_round_robin(
        self, queue: str, exclude: str | None = None, *, at: datetime | None = None
    ) -> Rep | None:
        """The next active rep (role ``rep``) of ``queue`` in username order, after the one who
        got the previous task; ``exclude`` is skipped (the rep a task is taken from). With ``at``,
        reps working at that moment come first (everyone, if nobody is). ``None`` if nobody fits.

        Safe under concurrent callers: the cursor moves by compare-and-swap, so no two callers
        get the same turn.
        """
        for attempt in range(self.CAS_ATTEMPTS):
            candidates = [r for r in self.in_queue(queue, role="rep") if r.username != exclude]
            if at is not None:
                candidates = [r for r in candidates if r.is_working(at)] or candidates
            if not candidates:
                return None
            with self.store.session() as session:
                cursor = session.get(RoundRobinRow, queue)
                last, version = (cursor.last_username, cursor.version) if cursor else (None, None)
            chosen = _after(candidates, last)
            if self._move_cursor(queue, version, chosen.username):
                return chosen
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise RuntimeError(f"round robin for queue {queue!r} stayed contended; try again")

    def _move_cursor(self, queue: str, version: int | None, username: str) -> bool:
        """Point the queue's cursor at ``username`` if nobody moved it since ``version``."""
        try:
            with self.store.session() as session, session.begin():
                if version is None:
                    session.execute(
                        insert(RoundRobinRow).values(queue=queue, last_username=username, version=1)
                    )
                    return True
                moved = session.execute(
                    update(RoundRobinRow)
                    .where(RoundRobinRow.queue == queue, RoundRobinRow.version == version)
                    .values(last_username=username, version=version + 1)
                )
                return bool(getattr(moved, "rowcount", 0))
        except IntegrityError:  # someone created the cursor first
            return False


def _after(candidates: Iterable[Rep], last: str | None) -> Rep:
    """The first candidate after ``last`` in username order, wrapping around."""
    ordered = sorted(candidates, key=lambda r: r.username)
    return next((r for r in ordered if last is None or r.username > last), ordered[0])
