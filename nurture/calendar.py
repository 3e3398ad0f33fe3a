"""Business time for a lead: local business hours, holidays and DST-correct time arithmetic.

Everything here is pure and deterministic (no clock reads, no randomness) so it can run inside
Temporal workflow code. Only :func:`holiday_dates` uses the ``holidays`` package (imported lazily).
Resolved day intervals are memoized in a bounded LRU cache keyed by (zone, date, window).

Conventions:

* Inputs are timezone-aware datetimes in any zone; outputs are aware datetimes in UTC.
* Business hours are wall-clock times in the lead's zone. A day's open interval runs from the
  resolved local start to the resolved local end (end exclusive); ``time.max`` as an end means
  24:00, i.e. midnight at the start of the next day.
* A local time that does not exist (spring-forward gap) resolves forward to the first instant
  after the gap; an ambiguous one (fall-back) resolves to its first occurrence (fold=0).
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from zoneinfo import TZPATH, ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

__all__ = [
    "DAY_NAMES",
    "BusinessCalendar",
    "DailyWindow",
    "WeeklyHours",
    "holiday_dates",
    "intersect",
    "parse_window",
]

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_SEARCH_DAYS = 366
_WINDOW_RE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True)
class DailyWindow:
    """An allowed local time-of-day range on one day, start inclusive, end exclusive; start < end.

    ``end == time.max`` stands for 24:00 (the end of the day).
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise ValueError(f"window {name} must be a datetime.time, got {value!r}")
            if value.tzinfo is not None:
                raise ValueError(f"window {name} must be a naive local time, got {value!r}")
            if value.fold:
                object.__setattr__(self, name, value.replace(fold=0))
        if not self.start < self.end:
            raise ValueError(
                f"window start must be before end, got {self.start.isoformat()}"
                f"-{self.end.isoformat()}"
            )


WeeklyHours = Mapping[int, DailyWindow]
"""Weekday (0=Monday .. 6=Sunday) -> window; a missing weekday means closed."""


def parse_window(text: str) -> DailyWindow:
    """Parse ``"HH:MM-HH:MM"`` (e.g. ``"09:00-17:30"``); ``"24:00"`` is allowed only as the end."""
    match = _WINDOW_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid window {text!r}: expected HH:MM-HH:MM")
    sh, sm, eh, em = (int(g) for g in match.groups())
    if sm > 59 or em > 59 or sh > 24 or eh > 24:
        raise ValueError(f"invalid window {text!r}: hours must be 00-24 and minutes 00-59")
    if sh == 24:
        raise ValueError(f"invalid window {text!r}: 24:00 is only allowed as the end")
    if eh == 24 and em != 0:
        raise ValueError(f"invalid window {text!r}: times after 24:00 are not allowed")
    start = time(sh, sm)
    end = time.max if eh == 24 else time(eh, em)
    if not start < end:
        raise ValueError(f"invalid window {text!r}: start must be before end")
    return DailyWindow(start, end)


def intersect(a: DailyWindow, b: DailyWindow) -> DailyWindow | None:
    """Return the overlap of two windows, or None if they do not overlap."""
    start = max(a.start, b.start)
    end = min(a.end, b.end)
    return DailyWindow(start, end) if start < end else None


def holiday_dates(country: str, subdivision: str | None, years: Iterable[int]) -> list[date]:
    """Sorted public holiday dates of a country (and optional subdivision) for the given years."""
    import holidays  # lazy: keep imports in workflow code light

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"unknown country {country!r}")
    if subdivision is not None and subdivision not in supported[country]:
        raise ValueError(f"unknown subdivision {subdivision!r} for country {country!r}")
    try:
        table = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    except NotImplementedError as exc:  # pragma: no cover - guarded by the checks above
        raise ValueError(f"unknown country/subdivision {country!r}/{subdivision!r}") from exc
    return sorted(table.keys())


def _require_aware(at: datetime) -> None:
    if at.__class__ is datetime and at.tzinfo is UTC:
        return  # the engine's usual case, checked first (this runs on every calendar call)
    if not isinstance(at, datetime):
        raise ValueError(f"expected a datetime, got {at!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {at!r}")


class BusinessCalendar:
    """Business time for one lead: its time zone, business hours per weekday and holiday dates."""

    __slots__ = ("_hours", "_tuples", "holidays", "hours", "timezone", "zone")

    timezone: str
    zone: ZoneInfo
    hours: Mapping[int, DailyWindow]
    holidays: frozenset[date]

    def __init__(
        self,
        timezone: str,
        hours: WeeklyHours,
        holidays: Iterable[date] = (),
        zone: ZoneInfo | None = None,
    ) -> None:
        """``zone``: the zone's rules as snapshotted (default: this machine's ``timezone``)."""
        if zone is None:
            try:
                zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
                raise ValueError(f"unknown time zone {timezone!r}") from exc
        self.timezone = timezone
        self.zone = zone
        self._hours = _weekly_tuple(hours, "hours")
        self.hours = {d: w for d, w in enumerate(self._hours) if w is not None}
        self.holidays = frozenset(d.date() if isinstance(d, datetime) else d for d in holidays)
        #: Channel windows already checked, by identity (each kept alive beside its tuple).
        self._tuples: dict[int, tuple[WeeklyHours, tuple[DailyWindow | None, ...] | None]] = {}

    def __repr__(self) -> str:
        hours = {DAY_NAMES[d]: _format_window(w) for d, w in self.hours.items()}
        return f"BusinessCalendar({self.timezone!r}, {hours}, holidays={len(self.holidays)} dates)"

    # -- public API ---------------------------------------------------------------------------

    def local(self, at: datetime) -> datetime:
        """Return `at` as an aware datetime in the lead's zone (normalized through UTC)."""
        _require_aware(at)
        if at.tzinfo is UTC:
            return at.astimezone(self.zone)
        # Via UTC so that a nonexistent wall time already in this zone is normalized too.
        return at.astimezone(UTC).astimezone(self.zone)

    def at_local(self, day: date, wall: time) -> datetime:
        """The UTC instant of local wall-clock ``wall`` on ``day`` (DST gaps resolve forward)."""
        return _resolve(self.zone, day, wall)

    def is_business_day(self, day: date) -> bool:
        """True if the weekday has business hours and `day` is not a holiday."""
        return self._hours[day.weekday()] is not None and day not in self.holidays

    def is_open(self, at: datetime, window: WeeklyHours | None = None) -> bool:
        """True if `at` is on a business day inside `window` (default: business hours).

        A channel window replaces business hours for the check but only applies on business
        days; intersect it with business hours first if both must hold.
        """
        _require_aware(at)
        u = at.astimezone(UTC)
        found = self._scan(u, self._windows(window))
        return found is not None and found[0] <= u

    def next_open(self, at: datetime, window: WeeklyHours | None = None) -> datetime:
        """Earliest instant >= `at` that is open (see :meth:`is_open`); `at` itself if open.

        Raises ValueError if nothing is open within 366 days.
        """
        _require_aware(at)
        u = at.astimezone(UTC)
        return max(self._next_interval(u, self._windows(window))[0], u)

    def add_business_days(self, at: datetime, days: int, at_time: time | None = None) -> datetime:
        """Move `days` business days forward from the local date of `at`, at local `at_time`.

        `at_time` defaults to the local time of day of `at`; the result is moved to the next open
        instant, so it is always inside business hours. With ``days == 0`` the result is never
        earlier than `at`.
        """
        _require_aware(at)
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"days must be a non-negative int, got {days!r}")
        if at_time is not None and (not isinstance(at_time, time) or at_time.tzinfo is not None):
            raise ValueError(f"at_time must be a naive datetime.time, got {at_time!r}")
        u = at.astimezone(UTC)
        loc = u.astimezone(self.zone)
        if days and not self.hours:
            raise ValueError("calendar has no business hours")
        day = loc.date()
        remaining = days
        while remaining:
            day += _ONE_DAY
            if self.is_business_day(day):
                remaining -= 1
        wall = (at_time if at_time is not None else loc.time()).replace(fold=0)
        candidate = _resolve(self.zone, day, wall)
        if days == 0 and candidate < u:
            candidate = u
        return max(self._next_interval(candidate, self._hours)[0], candidate)

    def add_business_hours(self, at: datetime, hours: float) -> datetime:
        """Consume `hours` (>= 0) of open business time starting at ``next_open(at)``.

        Counts real elapsed time; the result may equal a closing time exactly.
        """
        _require_aware(at)
        if not isinstance(hours, int | float) or not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
        remaining = timedelta(hours=hours)
        current = at.astimezone(UTC)
        while True:
            start, close = self._next_interval(current, self._hours)
            current = max(start, current)
            if remaining <= close - current:
                return current + remaining
            remaining -= close - current
            current = close

    # -- internals ----------------------------------------------------------------------------

    def _windows(self, window: WeeklyHours | None) -> tuple[DailyWindow | None, ...] | None:
        """``window`` per weekday (``None``: it never meets business hours, nothing opens)."""
        if window is None:
            return self._hours
        known = self._tuples.get(id(window))
        if known is not None and known[0] is window:
            return known[1]
        weekly = _weekly_tuple(window, "window")
        meets = any(
            w is not None and h is not None for w, h in zip(weekly, self._hours, strict=True)
        )
        windows = weekly if meets else None
        if isinstance(window, MappingProxyType):  # read-only: remember it (a dict may change)
            self._tuples[id(window)] = (window, windows)
        return windows

    def _scan(
        self, u: datetime, windows: tuple[DailyWindow | None, ...] | None
    ) -> tuple[datetime, datetime] | None:
        """First open interval (UTC start, close) whose close is after `u`, or None.

        Days are scanned from the local date of `u`: no earlier day's interval can reach `u`.
        """
        if windows is None:
            return None
        hours = self._hours
        zone = self.zone
        holidays = self.holidays
        day = u.astimezone(zone).date()
        for _ in range(_SEARCH_DAYS + 1):
            weekday = day.weekday()
            window = windows[weekday]
            if window is not None and hours[weekday] is not None and day not in holidays:
                span = _day_span(zone, day, window)
                if span is not None and span[1] > u:
                    return span
            day += _ONE_DAY
        return None

    def _next_interval(
        self, u: datetime, windows: tuple[DailyWindow | None, ...] | None
    ) -> tuple[datetime, datetime]:
        """Like :meth:`_scan` but raise ValueError when nothing is open within 366 days."""
        span = self._scan(u, windows)
        if span is None:
            raise ValueError(
                f"no open business time within {_SEARCH_DAYS} days of {u.isoformat()}"
                f" in {self.timezone}"
            )
        return span


@lru_cache(maxsize=32768)
def _day_span(zone: ZoneInfo, day: date, window: DailyWindow) -> tuple[datetime, datetime] | None:
    """UTC [open, close) of `window` on local `day` in `zone`, or None if empty (DST gap)."""
    start = _resolve(zone, day, window.start)
    if window.end == time.max:
        end = _resolve(zone, day + _ONE_DAY, _MIDNIGHT)
    else:
        end = _resolve(zone, day, window.end)
    return (start, end) if start < end else None


def _resolve(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """UTC instant of local `wall` on `day` (nonexistent -> end of gap, ambiguous -> first)."""
    naive = datetime.combine(day, wall).replace(fold=0)
    u = naive.replace(tzinfo=zone).astimezone(UTC)
    if u.astimezone(zone).replace(tzinfo=None) == naive:
        return u
    # In a spring-forward gap: fold=1 maps with the post-transition offset (an instant before the
    # transition), fold=0 with the pre-transition one (an instant after it). Transitions fall on
    # whole seconds, so binary-search the first second whose wall time passes `naive`.
    lo = math.floor(naive.replace(tzinfo=zone, fold=1).timestamp())
    hi = math.ceil(naive.replace(tzinfo=zone, fold=0).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) > naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _format_window(window: DailyWindow) -> str:
    end = "24:00" if window.end == time.max else f"{window.end:%H:%M}"
    return f"{window.start:%H:%M}-{end}"


def _weekly_tuple(hours: WeeklyHours, what: str) -> tuple[DailyWindow | None, ...]:
    """Validate a weekday -> window mapping and turn it into a 7-tuple indexed by weekday."""
    slots: list[DailyWindow | None] = [None] * 7
    for weekday, window in hours.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"{what}: weekday must be an int 0 (Monday) .. 6, got {weekday!r}")
        if not isinstance(window, DailyWindow):
            raise ValueError(f"{what}: expected a DailyWindow for {weekday}, got {window!r}")
        slots[weekday] = window
    return tuple(slots)


@lru_cache(maxsize=256)
def zone_rules(timezone: str) -> str:
    """The rules of an IANA zone as this machine has them: its TZif file, base64-encoded.

    The same file :class:`~zoneinfo.ZoneInfo` would read (the system's zone database first, then
    the ``tzdata`` package), so a snapshot behaves exactly as the live zone did when it was taken.
    """
    if not timezone or timezone.startswith("/") or ".." in timezone.split("/"):
        raise ValueError(f"unknown time zone {timezone!r}")
    for root in TZPATH:
        candidate = Path(root) / timezone
        if candidate.is_file():
            return base64.b64encode(candidate.read_bytes()).decode("ascii")
    try:
        data = resources.files("tzdata.zoneinfo").joinpath(timezone).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    return base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=256)
def zone_from_rules(timezone: str, rules: str) -> ZoneInfo:
    """A zone built from snapshotted rules (see :func:`zone_rules`); the live zone when empty.

    Cached: journeys with the same rules share one zone object, so reading the file is paid once
    and the per-zone caches (:func:`_day_span`) serve every lead of the zone.
    """
    if not rules:
        return ZoneInfo(timezone)
    return ZoneInfo.from_file(io.BytesIO(base64.b64decode(rules)), key=timezone)


class CalendarSnapshot(BaseModel):
    """The lead's calendar as it was when the cadence started: its zone's rules and holiday dates.

    Replays and worker upgrades never see a newer time-zone or holiday table: the journey decides
    with these, not with the libraries of the machine it runs on.
    """

    timezone: str
    country: str
    subdivision: str | None = None
    holidays: list[date] = Field(default_factory=list)
    zone_rules: str = Field("", description="The zone's TZif rules, base64 (see zone_rules())")

    def zone(self) -> ZoneInfo:
        """The lead's zone, from the snapshotted rules."""
        return zone_from_rules(self.timezone, self.zone_rules)
