"""Tests for nurture.calendar: business hours, holidays and DST-correct business-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.calendar import (
    DAY_NAMES,
    BusinessCalendar,
    DailyWindow,
    holiday_dates,
    intersect,
    parse_window,
)

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
NINE_TO_FIVE = parse_window("09:00-17:00")
WEEKDAYS = {d: NINE_TO_FIVE for d in range(5)}
EVERY_DAY = {d: NINE_TO_FIVE for d in range(7)}
US_2026 = (
    date(2026, 1, 1),
    date(2026, 7, 3),
    date(2026, 11, 26),
    date(2026, 12, 25),
)
ONE_US = timedelta(microseconds=1)

PROPERTY = settings(max_examples=200, deadline=None)


def us_calendar(hours: dict[int, DailyWindow] | None = None) -> BusinessCalendar:
    return BusinessCalendar("America/New_York", hours or WEEKDAYS, US_2026)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- parse_window


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("09:00-17:30", time(9), time(17, 30)),
        ("00:00-24:00", time(0), time.max),
        ("08:00-21:00", time(8), time(21)),
        (" 9:15 - 10:45 ", time(9, 15), time(10, 45)),
        ("23:59-24:00", time(23, 59), time.max),
    ],
)
def test_parse_window_valid(text: str, start: time, end: time) -> None:
    assert parse_window(text) == DailyWindow(start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("17:00-09:00", "start must be before end"),
        ("09:00-09:00", "start must be before end"),
        ("9am-5pm", "expected HH:MM-HH:MM"),
        ("", "expected HH:MM-HH:MM"),
        ("09:00", "expected HH:MM-HH:MM"),
        ("09:00-17:00-18:00", "expected HH:MM-HH:MM"),
        ("09:0-17:00", "expected HH:MM-HH:MM"),
        ("24:00-24:00", "only allowed as the end"),
        ("09:60-10:00", "minutes 00-59"),
        ("25:00-26:00", "hours must be 00-24"),
        ("09:00-24:30", "after 24:00"),
    ],
)
def test_parse_window_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_window(text)


def test_daily_window_validates() -> None:
    with pytest.raises(ValueError, match="start must be before end"):
        DailyWindow(time(17), time(9))
    with pytest.raises(ValueError, match="naive"):
        DailyWindow(time(9, tzinfo=UTC), time(17, tzinfo=UTC))


def test_intersect() -> None:
    calls = parse_window("08:00-21:00")
    assert intersect(calls, NINE_TO_FIVE) == NINE_TO_FIVE
    assert intersect(parse_window("10:00-12:00"), NINE_TO_FIVE) == parse_window("10:00-12:00")
    assert intersect(parse_window("16:00-24:00"), NINE_TO_FIVE) == parse_window("16:00-17:00")
    assert intersect(parse_window("17:00-18:00"), NINE_TO_FIVE) is None  # touching
    assert intersect(parse_window("06:00-08:00"), NINE_TO_FIVE) is None
    assert intersect(parse_window("20:00-24:00"), parse_window("22:00-24:00")) == parse_window(
        "22:00-24:00"
    )


def test_day_names() -> None:
    assert DAY_NAMES == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --------------------------------------------------------------------------- holiday_dates


def test_holiday_dates_us_2026() -> None:
    days = holiday_dates("US", None, [2026])
    assert days == sorted(days)
    for known in (
        date(2026, 1, 1),
        date(2026, 1, 19),  # Martin Luther King Jr. Day
        date(2026, 7, 3),  # Independence Day (observed): July 4 is a Saturday
        date(2026, 7, 4),
        date(2026, 9, 7),  # Labor Day
        date(2026, 11, 26),  # Thanksgiving
        date(2026, 12, 25),
    ):
        assert known in days
    assert date(2026, 7, 6) not in days
    assert all(d.year == 2026 for d in days)


def test_holiday_dates_subdivision_and_years() -> None:
    california = holiday_dates("US", "CA", (2026,))
    assert date(2026, 3, 31) in california  # Cesar Chavez Day
    assert date(2026, 3, 31) not in holiday_dates("US", None, [2026])
    france = holiday_dates("FR", None, range(2026, 2028))
    assert date(2026, 7, 14) in france
    assert date(2027, 7, 14) in france
    assert holiday_dates("US", None, []) == []


def test_holiday_dates_unknown() -> None:
    with pytest.raises(ValueError, match="unknown country 'XX'"):
        holiday_dates("XX", None, [2026])
    with pytest.raises(ValueError, match="unknown subdivision 'ZZ'"):
        holiday_dates("US", "ZZ", [2026])


# --------------------------------------------------------------------------- construction, basics


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        BusinessCalendar("Mars/Base", WEEKDAYS)


@pytest.mark.parametrize("hours", [{7: NINE_TO_FIVE}, {-1: NINE_TO_FIVE}, {0: "09:00-17:00"}])
def test_bad_hours(hours: dict) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar("UTC", hours)


def test_naive_datetimes_rejected() -> None:
    cal = us_calendar()
    naive = datetime(2026, 5, 18, 10)
    for call in (
        lambda: cal.local(naive),
        lambda: cal.is_open(naive),
        lambda: cal.next_open(naive),
        lambda: cal.add_business_days(naive, 1),
        lambda: cal.add_business_hours(naive, 1),
    ):
        with pytest.raises(ValueError, match="aware"):
            call()


def test_bad_amounts() -> None:
    cal = us_calendar()
    at = ny(2026, 5, 18, 10)
    with pytest.raises(ValueError):
        cal.add_business_days(at, -1)
    with pytest.raises(ValueError):
        cal.add_business_hours(at, -0.5)
    with pytest.raises(ValueError):
        cal.add_business_hours(at, float("nan"))


def test_local_and_business_day() -> None:
    cal = us_calendar()
    local = cal.local(utc(2026, 5, 18, 13))
    assert local == ny(2026, 5, 18, 9)
    assert local.tzinfo == NY
    assert local.hour == 9
    assert cal.zone == NY
    assert cal.is_business_day(date(2026, 5, 18))  # Monday
    assert not cal.is_business_day(date(2026, 5, 16))  # Saturday
    assert not cal.is_business_day(date(2026, 11, 26))  # Thanksgiving


def test_nonexistent_and_second_occurrence_inputs() -> None:
    cal = BusinessCalendar("America/New_York", {d: parse_window("00:00-05:00") for d in range(7)})
    imaginary = ny(2026, 3, 8, 2, 30)  # in the gap; Python maps it with EST to 07:30 UTC
    assert cal.local(imaginary).time() == time(3, 30)
    assert cal.next_open(imaginary) == utc(2026, 3, 8, 7, 30)
    second = datetime(2026, 11, 1, 1, 30, tzinfo=NY, fold=1)  # the EST occurrence
    assert cal.next_open(second) == utc(2026, 11, 1, 6, 30)
    assert cal.add_business_hours(second, 0.5) == utc(2026, 11, 1, 7)
    assert cal.add_business_days(second, 0) == utc(2026, 11, 1, 6, 30)


def test_is_open() -> None:
    cal = us_calendar()
    assert cal.is_open(ny(2026, 5, 18, 9))  # start inclusive
    assert cal.is_open(utc(2026, 5, 18, 20, 59))
    assert not cal.is_open(ny(2026, 5, 18, 17))  # end exclusive
    assert not cal.is_open(ny(2026, 5, 18, 8, 59))
    assert not cal.is_open(ny(2026, 5, 16, 12))  # Saturday
    assert not cal.is_open(ny(2026, 11, 26, 12))  # Thanksgiving
    assert cal.is_open(paris(2026, 5, 18, 16))  # 10:00 in New York


# --------------------------------------------------------------------------- next_open


def test_next_open_basics() -> None:
    cal = us_calendar()
    at = ny(2026, 5, 18, 10, 30)
    assert cal.next_open(at) == at
    assert cal.next_open(at).tzinfo is UTC
    assert cal.next_open(ny(2026, 5, 18, 7)) == ny(2026, 5, 18, 9)
    assert cal.next_open(ny(2026, 5, 18, 17)) == ny(2026, 5, 19, 9)
    assert cal.next_open(ny(2026, 5, 15, 18)) == ny(2026, 5, 18, 9)  # Friday evening
    assert cal.next_open(ny(2026, 5, 16, 12)) == ny(2026, 5, 18, 9)  # Saturday
    assert cal.next_open(ny(2026, 11, 26, 10)) == ny(2026, 11, 27, 9)  # Thanksgiving
    assert cal.next_open(ny(2026, 7, 2, 17, 30)) == ny(2026, 7, 6, 9)  # observed July 4th


def test_next_open_channel_window() -> None:
    cal = us_calendar()
    calls = parse_window("08:00-21:00")
    call_hours = {d: w for d in range(7) if (w := intersect(calls, NINE_TO_FIVE))}
    assert cal.next_open(ny(2026, 5, 18, 8, 30), call_hours) == ny(2026, 5, 18, 9)
    assert not cal.is_open(ny(2026, 5, 18, 8, 30), call_hours)

    # A channel window on its own replaces business hours but only on business days.
    wide = {d: calls for d in range(7)}
    assert cal.is_open(ny(2026, 5, 18, 20), wide)
    assert not cal.is_open(ny(2026, 5, 16, 12), wide)  # Saturday
    assert not cal.is_open(ny(2026, 11, 26, 12), wide)  # Thanksgiving
    assert cal.next_open(ny(2026, 5, 18, 21, 30), wide) == ny(2026, 5, 19, 8)

    late_morning = {d: parse_window("10:00-12:00") for d in range(7)}
    assert cal.next_open(ny(2026, 5, 18, 9, 30), late_morning) == ny(2026, 5, 18, 10)
    assert cal.next_open(ny(2026, 5, 18, 11), late_morning) == ny(2026, 5, 18, 11)
    assert cal.next_open(ny(2026, 5, 18, 12), late_morning) == ny(2026, 5, 19, 10)
    assert cal.next_open(ny(2026, 5, 16, 11), late_morning) == ny(2026, 5, 18, 10)  # weekend
    assert cal.next_open(ny(2026, 11, 26, 10, 30), late_morning) == ny(2026, 11, 27, 10)
    assert cal.next_open(ny(2026, 11, 25, 13), late_morning) == ny(2026, 11, 27, 10)


def test_next_open_gives_up_after_a_year() -> None:
    cal = BusinessCalendar("UTC", {0: NINE_TO_FIVE})
    with pytest.raises(ValueError, match="366 days"):
        cal.next_open(utc(2026, 1, 1), {1: NINE_TO_FIVE})
    assert not cal.is_open(utc(2026, 1, 6, 10), {1: NINE_TO_FIVE})

    mondays = [date(2026, 1, 5) + timedelta(weeks=w) for w in range(60)]
    cal = BusinessCalendar("UTC", {0: NINE_TO_FIVE}, mondays)
    with pytest.raises(ValueError, match="366 days"):
        cal.next_open(utc(2026, 1, 1))
    assert cal.next_open(utc(2027, 1, 1)) == utc(2027, 3, 1, 9)  # first Monday not a holiday
    with pytest.raises(ValueError):
        BusinessCalendar("UTC", {}).next_open(utc(2026, 1, 1))


# --------------------------------------------------------------------------- add_business_days


def test_add_business_days_weekend_and_holidays() -> None:
    cal = us_calendar()
    assert cal.add_business_days(ny(2026, 5, 15, 15), 1) == ny(2026, 5, 18, 15)  # Fri -> Mon
    assert cal.add_business_days(ny(2026, 5, 15, 15), 5) == ny(2026, 5, 22, 15)
    assert cal.add_business_days(ny(2026, 5, 15, 18), 1) == ny(2026, 5, 19, 9)  # after close
    assert cal.add_business_days(ny(2026, 11, 25, 10), 1) == ny(2026, 11, 27, 10)  # Thanksgiving
    assert cal.add_business_days(ny(2026, 7, 2, 10), 1) == ny(2026, 7, 6, 10)  # July 3 observed
    assert cal.add_business_days(ny(2026, 5, 16, 10), 1) == ny(2026, 5, 18, 10)  # from Saturday
    result = cal.add_business_days(ny(2026, 5, 18, 16), 2, at_time=time(9, 30))
    assert result == ny(2026, 5, 20, 9, 30)
    assert result.tzinfo is UTC


def test_add_business_days_zero() -> None:
    cal = us_calendar()
    at = ny(2026, 5, 18, 11)
    assert cal.add_business_days(at, 0) == at
    assert cal.add_business_days(at, 0, at_time=time(10)) == at  # never earlier than `at`
    assert cal.add_business_days(at, 0, at_time=time(14)) == ny(2026, 5, 18, 14)
    assert cal.add_business_days(ny(2026, 5, 18, 7), 0) == ny(2026, 5, 18, 9)
    assert cal.add_business_days(ny(2026, 5, 16, 10), 0) == ny(2026, 5, 18, 9)  # Saturday


@pytest.mark.parametrize(
    ("zone", "start", "expected", "offset_before", "offset_after"),
    [
        (NY, date(2026, 3, 6), date(2026, 3, 9), -5, -4),  # US spring forward 2026-03-08
        (NY, date(2026, 10, 30), date(2026, 11, 2), -4, -5),  # US fall back 2026-11-01
        (PARIS, date(2026, 3, 27), date(2026, 3, 30), 1, 2),  # EU spring forward 2026-03-29
        (PARIS, date(2026, 10, 23), date(2026, 10, 26), 2, 1),  # EU fall back 2026-10-25
    ],
)
def test_add_business_days_across_dst(
    zone: ZoneInfo, start: date, expected: date, offset_before: int, offset_after: int
) -> None:
    cal = BusinessCalendar(zone.key, WEEKDAYS)
    at = datetime.combine(start, time(10), zone)
    assert at.utcoffset() == timedelta(hours=offset_before)
    result = cal.add_business_days(at, 1)
    local = cal.local(result)
    assert result.tzinfo is UTC
    assert (local.date(), local.time()) == (expected, time(10))
    assert local.utcoffset() == timedelta(hours=offset_after)
    assert result.hour == 10 - offset_after != at.astimezone(UTC).hour


@pytest.mark.parametrize(
    ("zone", "saturday", "offset_after"),
    [(NY, date(2026, 3, 7), -4), (NY, date(2026, 10, 31), -5), (PARIS, date(2026, 3, 28), 2)],
)
def test_add_business_days_onto_dst_change_day(
    zone: ZoneInfo, saturday: date, offset_after: int
) -> None:
    cal = BusinessCalendar(zone.key, EVERY_DAY)
    result = cal.add_business_days(datetime.combine(saturday, time(10), zone), 1)
    local = cal.local(result)
    assert (local.date(), local.time()) == (saturday + timedelta(days=1), time(10))
    assert local.utcoffset() == timedelta(hours=offset_after)


def test_nonexistent_and_ambiguous_local_times() -> None:
    night = {d: parse_window("01:00-05:00") for d in range(7)}
    cal = BusinessCalendar("America/New_York", night)
    # 02:30 does not exist on 2026-03-08: resolved forward to 03:00 EDT (the end of the gap).
    assert cal.add_business_days(ny(2026, 3, 7, 2, 30), 1) == utc(2026, 3, 8, 7)
    # 01:30 happens twice on 2026-11-01: the first occurrence (EDT) is used.
    assert cal.add_business_days(ny(2026, 10, 31, 1, 30), 1) == utc(2026, 11, 1, 5, 30)
    paris_cal = BusinessCalendar("Europe/Paris", night)
    assert paris_cal.add_business_days(paris(2026, 3, 28, 2, 30), 1) == utc(2026, 3, 29, 1)
    assert paris_cal.add_business_days(paris(2026, 10, 24, 2, 30), 1) == utc(2026, 10, 25, 0, 30)


def test_business_hours_straddling_dst_gap() -> None:
    cal = BusinessCalendar("America/New_York", {d: parse_window("01:00-05:00") for d in range(7)})
    assert cal.next_open(ny(2026, 3, 8, 0)) == utc(2026, 3, 8, 6)  # 01:00 EST
    assert cal.is_open(utc(2026, 3, 8, 7))  # 03:00 EDT
    assert cal.add_business_hours(utc(2026, 3, 8, 6), 3) == utc(2026, 3, 8, 9)  # 05:00 EDT
    assert cal.add_business_hours(utc(2026, 3, 8, 6), 3.5) == ny(2026, 3, 9, 1, 30)
    # A window that starts inside the gap opens at the end of the gap.
    gap_start = BusinessCalendar("America/New_York", {6: parse_window("02:30-04:00")})
    assert gap_start.next_open(ny(2026, 3, 7, 12)) == utc(2026, 3, 8, 7)
    # A window lying entirely inside the gap is closed that day.
    in_gap = BusinessCalendar("America/New_York", {6: parse_window("02:00-02:45")})
    assert in_gap.next_open(ny(2026, 3, 7, 12)) == ny(2026, 3, 15, 2)


def test_add_business_hours_counts_real_time_on_dst_days() -> None:
    cal = BusinessCalendar("America/New_York", {d: parse_window("00:00-05:00") for d in range(7)})
    # Fall back: the 00:00-05:00 window lasts 6 real hours.
    assert cal.local(cal.add_business_hours(ny(2026, 11, 1, 0), 5.5)) == ny(2026, 11, 1, 4, 30)
    assert cal.add_business_hours(ny(2026, 11, 1, 0), 6) == ny(2026, 11, 1, 5)
    # Spring forward: it lasts 4 real hours.
    assert cal.add_business_hours(ny(2026, 3, 8, 0), 4) == ny(2026, 3, 8, 5)
    assert cal.add_business_hours(ny(2026, 3, 8, 0), 4.5) == ny(2026, 3, 9, 0, 30)


# --------------------------------------------------------------------------- add_business_hours


def test_add_business_hours() -> None:
    cal = us_calendar()
    assert cal.add_business_hours(ny(2026, 5, 18, 16), 1) == ny(2026, 5, 18, 17)  # exact close
    assert cal.add_business_hours(ny(2026, 5, 18, 16), 1).tzinfo is UTC
    assert cal.add_business_hours(ny(2026, 5, 21, 16), 2) == ny(2026, 5, 22, 10)  # overnight
    assert cal.add_business_hours(ny(2026, 5, 22, 16), 2) == ny(2026, 5, 25, 10)  # weekend
    assert cal.add_business_hours(ny(2026, 5, 22, 16, 30), 8) == ny(2026, 5, 25, 16, 30)
    assert cal.add_business_hours(ny(2026, 5, 16, 12), 1.5) == ny(2026, 5, 18, 10, 30)
    assert cal.add_business_hours(ny(2026, 5, 18, 20), 0) == ny(2026, 5, 19, 9)
    assert cal.add_business_hours(ny(2026, 5, 18, 10), 0) == ny(2026, 5, 18, 10)
    assert cal.add_business_hours(ny(2026, 11, 25, 16), 2) == ny(2026, 11, 27, 10)  # holiday
    assert cal.add_business_hours(ny(2026, 5, 18, 9), 40) == ny(2026, 5, 22, 17)  # a full week
    assert cal.add_business_hours(ny(2026, 5, 18, 9), 0.25) == ny(2026, 5, 18, 9, 15)


# --------------------------------------------------------------------------- properties

ZONE_NAMES = (
    "UTC",
    "America/New_York",
    "Europe/Paris",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Havana",  # DST changes at midnight
    "America/Santiago",  # DST changes at 24:00 / 00:00
    "Europe/Dublin",  # negative DST in tzdata
    "Pacific/Chatham",  # +12:45 / +13:45
)
FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2028, 12, 31)
QUARTERS = 24 * 4


@cache
def dst_change_days(zone_name: str) -> tuple[date, ...]:
    """Local dates in 2026-2028 on which the zone's UTC offset changes."""
    zone = ZoneInfo(zone_name)
    days = []
    day = FIRST_DAY
    previous = datetime.combine(day, time(0), zone).utcoffset()
    while day <= LAST_DAY:
        day += timedelta(days=1)
        offset = datetime.combine(day, time(0), zone).utcoffset()
        if offset != previous:
            days.append(day - timedelta(days=1))
        previous = offset
    return tuple(days)


def quarter(n: int) -> time:
    return time.max if n == QUARTERS else time(n // 4, n % 4 * 15)


@st.composite
def windows(draw: st.DrawFn) -> DailyWindow:
    start = draw(st.integers(0, QUARTERS - 1))
    end = draw(st.integers(start + 1, QUARTERS))
    return DailyWindow(quarter(start), quarter(end))


@st.composite
def weekly(draw: st.DrawFn, min_days: int = 1) -> dict[int, DailyWindow]:
    days = draw(st.sets(st.integers(0, 6), min_size=min_days))
    return {d: draw(windows()) for d in sorted(days)}


@st.composite
def instants(draw: st.DrawFn, zone_name: str) -> datetime:
    """Aware instants over 2026-2028, often within three days of a DST change of `zone_name`."""
    changes = dst_change_days(zone_name)
    if changes and draw(st.booleans()):
        zone = ZoneInfo(zone_name)
        base = datetime.combine(draw(st.sampled_from(changes)), time(0), zone)
        at = base + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    else:
        at = draw(
            st.datetimes(
                min_value=datetime.combine(FIRST_DAY, time(0)),
                max_value=datetime.combine(LAST_DAY, time.max),
                timezones=st.just(UTC),
            )
        )
    return at.astimezone(ZoneInfo(draw(st.sampled_from(ZONE_NAMES))))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    """A random calendar and a random instant, with holidays in the weeks after that instant."""
    zone_name = draw(st.sampled_from(ZONE_NAMES))
    at = draw(instants(zone_name))
    local_day = at.astimezone(ZoneInfo(zone_name)).date()
    offsets = draw(st.sets(st.integers(-1, 30), max_size=8))
    holidays = [local_day + timedelta(days=o) for o in offsets]
    return BusinessCalendar(zone_name, draw(weekly()), holidays), at


# Reference model: an independent, slow computation of the open intervals.


def ref_to_utc(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """Local wall time -> UTC; a gap resolves to its end (searched minute by minute)."""
    if wall == time.max:
        day, wall = day + timedelta(days=1), time(0)
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    u = naive.replace(tzinfo=zone, fold=1).astimezone(UTC).replace(second=0, microsecond=0)
    while u.astimezone(zone).replace(tzinfo=None) <= naive:
        u += timedelta(minutes=1)
    return u


def ref_intervals(
    cal: BusinessCalendar, first: date, last: date, window: dict[int, DailyWindow] | None = None
) -> list[tuple[datetime, datetime]]:
    window = cal.hours if window is None else window
    spans = []
    day = first
    while day <= last:
        wd = day.weekday()
        if wd in cal.hours and wd in window and day not in cal.holidays:
            w = window[wd]
            start, end = ref_to_utc(cal.zone, day, w.start), ref_to_utc(cal.zone, day, w.end)
            if start < end:
                spans.append((start, end))
        day += timedelta(days=1)
    return spans


def ref_next_open(
    cal: BusinessCalendar, at: datetime, window: dict[int, DailyWindow] | None = None
) -> datetime:
    """Minimum over nearby intervals of the first open instant >= at."""
    day = at.astimezone(cal.zone).date() - timedelta(days=2)
    for _ in range(400):
        spans = ref_intervals(cal, day, day + timedelta(days=6), window)
        found = [max(s, at) for s, e in spans if e > at]
        if found:
            return min(found)
        day += timedelta(days=5)
    raise AssertionError("nothing open")


def ref_open_time(cal: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Total open time in [a, b)."""
    first = a.astimezone(cal.zone).date() - timedelta(days=2)
    last = b.astimezone(cal.zone).date() + timedelta(days=2)
    total = timedelta(0)
    for s, e in ref_intervals(cal, first, last):
        if min(e, b) > max(s, a):
            total += min(e, b) - max(s, a)
    return total


def business_days_between(cal: BusinessCalendar, a: date, b: date) -> int:
    """Business days d with a < d <= b."""
    return sum(cal.is_business_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))


@PROPERTY
@given(scenarios(), st.none() | weekly())
def test_property_next_open(scenario: tuple[BusinessCalendar, datetime], window) -> None:
    cal, at = scenario
    # Compare instants in UTC: `==` between different zones is False for ambiguous local times.
    at_utc = at.astimezone(UTC)
    if window is not None and not set(window) & set(cal.hours):
        with pytest.raises(ValueError):
            cal.next_open(at, window)
        return
    result = cal.next_open(at, window)
    assert result.tzinfo is UTC
    assert result >= at
    assert cal.is_open(result, window)
    assert result == ref_next_open(cal, at_utc, window)
    assert cal.is_open(at, window) == (result == at_utc)
    if result != at_utc:
        # Minimal: the instant before is closed, and so is a 15-minute sample of the gap.
        assert not cal.is_open(result - ONE_US, window)
        probe = at_utc
        for _ in range(2000):
            if probe >= result:
                break
            assert not cal.is_open(probe, window)
            probe += timedelta(minutes=15)


@PROPERTY
@given(scenarios(), st.integers(0, 10), st.none() | st.integers(0, QUARTERS - 1).map(quarter))
def test_property_add_business_days(
    scenario: tuple[BusinessCalendar, datetime], days: int, at_time: time | None
) -> None:
    cal, at = scenario
    at_utc = at.astimezone(UTC)
    result = cal.add_business_days(at, days, at_time)
    assert result.tzinfo is UTC
    assert result >= at
    assert cal.is_open(result)

    start_day = cal.local(at).date()
    target = start_day
    for _ in range(days):
        target += timedelta(days=1)
        while not cal.is_business_day(target):
            target += timedelta(days=1)
    wall = cal.local(at).time() if at_time is None else at_time
    resolved = ref_to_utc(cal.zone, target, wall)
    candidate = max(resolved, at_utc) if days == 0 else resolved
    assert result == ref_next_open(cal, candidate)

    moved = business_days_between(cal, start_day, cal.local(result).date())
    if cal.is_open(candidate):
        assert moved == days
        if at_time is not None and candidate == resolved:
            local = cal.local(result)
            assert local.date() == target
            same_offset = cal.zone.utcoffset(datetime.combine(target, time(0))) == (
                cal.zone.utcoffset(datetime.combine(target + timedelta(days=1), time(0)))
            )
            if same_offset:  # no DST change that day: wall time kept exactly
                assert local.time() == at_time
    else:
        assert moved in (days, days + 1)


@PROPERTY
@given(
    scenarios(),
    st.floats(0, 30, allow_nan=False) | st.integers(0, 120).map(lambda q: q / 4),
)
def test_property_add_business_hours(
    scenario: tuple[BusinessCalendar, datetime], hours: float
) -> None:
    cal, at = scenario
    start = cal.next_open(at)
    result = cal.add_business_hours(at, hours)
    assert result.tzinfo is UTC
    assert result >= start
    assert ref_open_time(cal, start, result) == timedelta(hours=hours)
    if hours == 0:
        assert result == start
    elif result > start:
        assert cal.is_open(result - ONE_US)  # consumed right up to the result


@PROPERTY
@given(scenarios())
def test_property_is_open_matches_reference(scenario: tuple[BusinessCalendar, datetime]) -> None:
    cal, at = scenario
    day = cal.local(at).date()
    spans = ref_intervals(cal, day - timedelta(days=2), day + timedelta(days=2))
    assert cal.is_open(at) == any(s <= at < e for s, e in spans)
    assert cal.local(at).astimezone(UTC) == at.astimezone(UTC)
    assert cal.local(at).tzinfo is cal.zone


@PROPERTY
@given(windows(), windows())
def test_property_windows(a: DailyWindow, b: DailyWindow) -> None:
    def text(w: DailyWindow) -> str:
        end = "24:00" if w.end == time.max else f"{w.end:%H:%M}"
        return f"{w.start:%H:%M}-{end}"

    assert parse_window(text(a)) == a
    both = intersect(a, b)
    assert both == intersect(b, a)
    if both is None:
        assert a.end <= b.start or b.end <= a.start
    else:
        assert a.start <= both.start < both.end <= a.end
        assert b.start <= both.start < both.end <= b.end


def test_a_snapshot_decides_with_its_own_zone_rules() -> None:
    """A journey's calendar uses the zone rules snapshotted at enrolment, not the machine's: a
    tzdata upgrade on a worker cannot move a running journey's touches."""
    from nurture.calendar import CalendarSnapshot, zone_rules

    live = CalendarSnapshot(
        timezone="America/New_York", country="US", zone_rules=zone_rules("America/New_York")
    )
    # the same name with other rules (as if the rules had changed since): the snapshot wins
    changed = live.model_copy(update={"zone_rules": zone_rules("Asia/Kolkata")})
    noon = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert noon.astimezone(live.zone()).hour == 12
    assert noon.astimezone(changed.zone()).hour == 21
    assert CalendarSnapshot.model_validate_json(changed.model_dump_json()).zone_rules == (
        changed.zone_rules
    )
    with pytest.raises(ValueError, match="unknown time zone"):
        zone_rules("../etc/passwd")
