"""A rep's working hours: ``"mon-fri 09:00-17:00"`` (several parts: ``"mon-thu 09:00-17:00,
fri 09:00-13:00"``), read in the rep's own time zone."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from nurture.calendar import DAY_NAMES, DailyWindow, parse_window

__all__ = ["format_hours", "is_working", "parse_hours"]


def _days(text: str) -> list[int]:
    """``mon`` or a range ``mon-fri`` (``fri-mon`` wraps around the weekend)."""
    first, sep, last = text.partition("-")
    for name in (first, last) if sep else (first,):
        if name not in DAY_NAMES:
            raise ValueError(f"unknown day {name!r}: use {', '.join(DAY_NAMES)}")
    start = DAY_NAMES.index(first)
    end = DAY_NAMES.index(last) if sep else start
    return [(start + n) % 7 for n in range((end - start) % 7 + 1)]


def parse_hours(text: str) -> dict[int, DailyWindow]:
    """Weekday (0 = Monday) -> window; parts are separated by ``,`` or ``;``.

    >>> sorted(parse_hours("mon-fri 09:00-17:00"))
    [0, 1, 2, 3, 4]
    """
    hours: dict[int, DailyWindow] = {}
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("working hours are empty: write e.g. 'mon-fri 09:00-17:00'")
    for part in parts:
        days, _, window_text = part.lower().partition(" ")
        if not window_text.strip():
            raise ValueError(f"{part!r}: expected days then hours, e.g. 'mon-fri 09:00-17:00'")
        window = parse_window(window_text)
        for day in _days(days.strip()):
            if day in hours:
                raise ValueError(f"{DAY_NAMES[day]} appears twice in {text!r}")
            hours[day] = window
    return hours


def format_hours(hours: dict[int, DailyWindow]) -> str:
    """The canonical text of parsed hours (consecutive days with one window become a range)."""
    parts: list[str] = []
    days = sorted(hours)
    i = 0
    while i < len(days):
        j = i
        while (
            j + 1 < len(days)
            and days[j + 1] == days[j] + 1
            and hours[days[j + 1]] == hours[days[i]]
        ):
            j += 1
        window = hours[days[i]]
        end = "24:00" if window.end == time.max else f"{window.end:%H:%M}"
        span = DAY_NAMES[days[i]] if i == j else f"{DAY_NAMES[days[i]]}-{DAY_NAMES[days[j]]}"
        parts.append(f"{span} {window.start:%H:%M}-{end}")
        i = j + 1
    return ", ".join(parts)


def is_working(hours: dict[int, DailyWindow], timezone: str, at: datetime) -> bool:
    """True if ``at`` falls inside the working hours, read in ``timezone``."""
    local = at.astimezone(ZoneInfo(timezone))
    window = hours.get(local.weekday())
    if window is None:
        return False
    now = local.time().replace(tzinfo=None)
    return window.start <= now and (window.end == time.max or now < window.end)
