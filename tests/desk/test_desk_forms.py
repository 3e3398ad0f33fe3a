"""CSRF tokens and the desk's complete form, without a server."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nurture.contracts import Disposition
from nurture.desk.pages import complete_action, parse_local
from nurture.web.auth import safe_back
from nurture.web.csrf import SESSION_KEY, csrf_token, csrf_valid, rotate
from nurture.web.pages import relative


def test_a_session_keeps_one_token_until_rotated() -> None:
    session: dict[str, object] = {}
    token = csrf_token(session)
    assert len(token) >= 40 and session[SESSION_KEY] == token
    assert csrf_token(session) == token
    assert rotate(session) != token


@pytest.mark.parametrize("submitted", [None, "", "wrong", 42, b"bytes"])
def test_anything_but_the_sessions_token_is_refused(submitted: object) -> None:
    session: dict[str, object] = {}
    csrf_token(session)
    assert not csrf_valid(session, submitted)


def test_no_session_token_means_no_valid_form() -> None:
    assert not csrf_valid({}, "")
    assert not csrf_valid({}, "anything")
    session: dict[str, object] = {}
    assert csrf_valid(session, csrf_token(session))


def form(**values: str) -> dict[str, str]:
    return {"task_id": "T1", "event_id": "E1", "tz": "America/Chicago", **values}


def test_meeting_booked_reads_the_time_in_the_leads_zone() -> None:
    action = complete_action(
        form(disposition="meeting_booked", meeting_at="2026-11-24T14:30", notes=" demo "),
        "ann",
        "T1",
    )
    assert action.meeting_at == datetime(2026, 11, 24, 14, 30, tzinfo=ZoneInfo("America/Chicago"))
    assert action.notes == "demo" and action.rep == "ann" and action.event_id == "E1"


def test_only_the_chosen_dispositions_fields_are_sent() -> None:
    action = complete_action(
        form(disposition="no_answer", meeting_at="2026-11-24T14:30", budget="lots"), "ann", "T1"
    )
    assert action.disposition is Disposition.no_answer
    assert action.meeting_at is None and action.qualification is None


def test_call_back_later_takes_a_date_alone_as_nine_in_the_morning() -> None:
    action = complete_action(
        form(disposition="call_back_later", call_back_at="2026-12-01"), "a", ""
    )
    assert action.call_back_at == datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/Chicago"))


def test_qualified_needs_all_four_answers() -> None:
    with pytest.raises(ValueError, match="missing: authority, timeframe"):
        complete_action(form(disposition="qualified", budget="50k", need="speed"), "ann", "T1")
    answers = {"budget": "50k", "authority": "CFO", "need": "speed", "timeframe": "Q1"}
    action = complete_action(form(disposition="qualified", **answers), "ann", "T1")
    assert action.qualification is not None and action.qualification.authority == "CFO"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "pick how the call went"),
        ({"disposition": "sold_a_boat"}, "pick how the call went"),
        ({"disposition": "meeting_booked"}, "meeting booked needs the meeting time"),
        ({"disposition": "meeting_booked", "meeting_at": "tomorrow"}, "not a date and time"),
        ({"disposition": "call_back_later"}, "call back later needs the date"),
    ],
)
def test_bad_forms_say_what_is_missing(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        complete_action(form(**values), "ann", "T1")


def test_parse_local_refuses_an_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_local("2026-11-24T10:00", "Nowhere/Land", "meeting time")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/desk/tasks/L1", "/desk/tasks/L1"),
        ("/desk?rep=ann", "/desk?rep=ann"),
        ("/handoffs/L1", "/handoffs/L1"),  # the handoff pages share the desk login
        ("/handoffs?team=sales", "/handoffs?team=sales"),
        ("/handoffsevil", "/desk"),
        ("/desktop", "/desk"),
        ("//evil.example/desk", "/desk"),
        ("https://evil.example/desk", "/desk"),
        ("/outbox", "/outbox"),  # behind the login too (admins)
        ("/outboxes", "/desk"),
        ("/desk\\@evil", "/desk"),
        (None, "/desk"),
    ],
)
def test_redirects_stay_behind_the_login(url: str | None, expected: str) -> None:
    assert safe_back(url) == expected


def test_relative_times() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("UTC"))
    assert relative(now.replace(hour=14, minute=5), now) == "in 2 h 05 min"
    assert relative(now.replace(hour=11, minute=25), now) == "35 min late"
    assert relative(now.replace(day=20), now) == "3 days late"
