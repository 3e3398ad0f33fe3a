"""Warn when nobody on a call queue works while the cadence may call: the reps' working hours
(``_teams.yaml``, in their zones) never meet the cadence's calling hours (in its zone)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from nurture.cadence.model import Cadence
from nurture.cadence.steps import CallStep
from nurture.calendar import DailyWindow, _day_span
from nurture.events import Channel
from nurture.roster.file import ROSTER_FILE, Roster
from nurture.roster.hours import parse_hours
from nurture.yamlfiles import FileError, LocatedYaml, Problem, field_path, parse_model, read_file

#: A Monday in winter and one in summer: the weeks compared (daylight saving moves the overlap).
REFERENCE_WEEKS = (date(2026, 1, 5), date(2026, 7, 6))

Spans = list[tuple[datetime, datetime]]


def _spans(hours: dict[int, DailyWindow], zone: str) -> Spans:
    """UTC intervals of weekly hours over the reference weeks."""
    found: Spans = []
    for monday in REFERENCE_WEEKS:
        for offset in range(7):
            day = monday + timedelta(days=offset)
            window = hours.get(day.weekday())
            span = _day_span(ZoneInfo(zone), day, window) if window else None
            if span is not None:
                found.append(span)
    return found


def _meet(a: Spans, b: Spans) -> bool:
    return any(max(s1, s2) < min(e1, e2) for s1, e1 in a for s2, e2 in b)


def queue_hours(roster: Roster) -> dict[str, Spans]:
    """Per queue: when at least one active rep works (UTC intervals of the reference weeks)."""
    result: dict[str, Spans] = {}
    for team in roster.teams:
        spans: Spans = []
        for rep in team.reps:
            if rep.active:
                spans += _spans(parse_hours(rep.hours or team.hours), rep.timezone or team.timezone)
        result[team.queue] = spans
    return result


def calling_hour_warnings(cadence: Cadence, queues: dict[str, Spans]) -> list[tuple[int, str]]:
    """(step index, message) for each call step whose queue never works in calling hours."""
    calling = _spans(dict(cadence.calendar.channel_window(Channel.call)), cadence.calendar.timezone)
    warned: list[tuple[int, str]] = []
    for index, step in enumerate(cadence.steps):
        if not isinstance(step, CallStep) or step.call.queue not in queues:
            continue
        if not _meet(calling, queues[step.call.queue]):
            warned.append(
                (
                    index,
                    f"no rep of queue {step.call.queue!r} is at work during this cadence's "
                    f"calling hours ({cadence.calendar.timezone}): nobody could make these calls "
                    "in time",
                )
            )
    return warned


def roster_warnings(cadences: dict[Path, Cadence]) -> list[Problem]:
    """Calling-hour warnings for cadences (by their file), against the roster beside each file."""
    problems: list[Problem] = []
    rosters: dict[Path, dict[str, Spans] | None] = {}
    for path, cadence in cadences.items():
        folder = path.parent
        if folder not in rosters:
            rosters[folder] = _queues(folder / ROSTER_FILE)
        queues = rosters[folder]
        if not queues:
            continue
        found = calling_hour_warnings(cadence, queues)
        if not found:
            continue
        located = LocatedYaml(read_file(path))
        for index, message in found:
            loc = ("steps", index, "call", "queue")
            line, column, _ = located.find(loc)
            problems.append(
                Problem(
                    file=str(path), line=line, column=column, field=field_path(loc), message=message
                )
            )
    return problems


def _queues(path: Path) -> dict[str, Spans] | None:
    if not path.exists():
        return None
    try:
        roster = parse_model(read_file(path), str(path), Roster, "a roster file")
        return queue_hours(roster)
    except (FileError, ValueError):
        return None  # a broken roster is reported by validate itself
