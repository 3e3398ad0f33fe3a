"""The desk's login limit through the login page: lockouts, 429, the window, restarts.

The client (reps ann, bob, max with :data:`PASSWORD`) and the CSRF helper come from
test_desk_pages; every test gets a throttle on the client's store with a clock it moves, and
each attempt comes from a fresh browser at a given IP.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from nurture.app import create_app
from nurture.settings import Settings
from nurture.store import Store
from nurture.web.logins import LoginThrottle
from tests.desk.test_desk_pages import PASSWORD, client, desk, token  # noqa: F401  (fixtures)

OFFICE = "203.0.113.7"
ELSEWHERE = "198.51.100.23"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def web(client: TestClient, clock: Clock) -> TestClient:  # noqa: F811  (the fixture)
    """The desk client; its throttle has the default limits (5, 20, 15 min) and ``clock``."""
    state = client.app.state  # type: ignore[attr-defined]
    state.login_throttle = LoginThrottle.from_settings(state.store, state.settings, clock=clock)
    return client


def attempt(
    web: TestClient,
    username: str,
    password: str = "wrong password",
    ip: str = OFFICE,
) -> httpx.Response:
    """One login from ``ip`` in a fresh browser."""
    browser = TestClient(web.app, client=(ip, 50000))
    page = browser.get("/desk/login").text
    form = {"username": username, "password": password, "csrf_token": token(page)}
    return browser.post("/desk/login", data=form, follow_redirects=False)


def alert(response: httpx.Response) -> str:
    """The message shown on the login page."""
    found = re.search(r'role="alert">([^<]*)<', response.text)
    assert found, response.text
    return found.group(1)


def fail(web: TestClient, username: str, times: int, ip: str = OFFICE) -> None:
    for _ in range(times):
        assert attempt(web, username, ip=ip).status_code == 401


def test_five_failures_lock_the_username(web: TestClient, clock: Clock) -> None:
    fail(web, "ann", 5)
    r = attempt(web, "ann")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "900"
    assert alert(r) == "Too many failed attempts for this user; try again in 15 minutes"
    assert r.headers["Cache-Control"] == "no-store"
    clock.advance(9.5)
    r = attempt(web, "ann")
    assert r.headers["Retry-After"] == "330"
    assert "try again in 6 minutes" in alert(r)


def test_the_right_password_is_refused_while_locked(web: TestClient) -> None:
    fail(web, "ann", 5)
    for ip in (OFFICE, ELSEWHERE):  # the username is locked wherever the attempt comes from
        r = attempt(web, "ann", PASSWORD, ip=ip)
        assert r.status_code == 429 and "set-cookie" not in r.headers
    assert attempt(web, "bob", PASSWORD).status_code == 303  # other reps are not affected


def test_a_success_clears_the_usernames_failures(web: TestClient) -> None:
    fail(web, "ann", 4)
    assert attempt(web, "ann", PASSWORD).status_code == 303
    fail(web, "ann", 5)  # five again, not one
    assert attempt(web, "ann").status_code == 429


def test_the_ip_limit_spans_usernames(web: TestClient) -> None:
    for n in range(20):  # password spraying: one try per name
        assert attempt(web, f"user{n}").status_code == 401
    for username, password in (("someone", "guess"), ("bob", PASSWORD)):
        r = attempt(web, username, password)
        assert r.status_code == 429 and r.headers["Retry-After"] == "900"
        assert alert(r) == "Too many failed attempts from your network; try again in 15 minutes"
    assert attempt(web, "bob", PASSWORD, ip=ELSEWHERE).status_code == 303


def test_unknown_usernames_look_like_wrong_passwords(web: TestClient) -> None:
    for _ in range(5):
        known, unknown = attempt(web, "ann"), attempt(web, "nobody")
        assert known.status_code == unknown.status_code == 401
        assert alert(known) == alert(unknown) == "Wrong username or password."
    known, unknown = attempt(web, "ann"), attempt(web, "nobody")
    assert known.status_code == unknown.status_code == 429
    assert alert(known) == alert(unknown)
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]


def test_failures_leave_the_window(web: TestClient, clock: Clock) -> None:
    fail(web, "ann", 3)
    clock.advance(10)
    fail(web, "ann", 2)
    r = attempt(web, "ann", PASSWORD)
    assert r.status_code == 429 and r.headers["Retry-After"] == "300"  # the first 3 leave at 15
    clock.advance(5)
    fail(web, "ann", 3)  # 2 + 3 in the window now
    assert attempt(web, "ann").status_code == 429
    clock.advance(10)  # the 2 from minute 10 are out: 3 left
    assert attempt(web, "ann", PASSWORD).status_code == 303


def test_the_limit_survives_a_restart(web: TestClient, clock: Clock, tmp_path: Path) -> None:
    fail(web, "ann", 5)
    settings = Settings(data_dir=tmp_path, session_secret="s" * 40)
    again = create_app(
        settings=settings, store=Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    )
    again.state.login_throttle = LoginThrottle.from_settings(
        again.state.store, settings, clock=clock
    )
    with TestClient(again) as restarted:
        r = attempt(restarted, "ann", PASSWORD)
        assert r.status_code == 429 and r.headers["Retry-After"] == "900"


def test_the_limits_come_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        session_secret="s" * 40,
        login_failures_per_user=2,
        login_window_minutes=1,
    )
    app = create_app(
        settings=settings, store=Store(f"sqlite:///{tmp_path / 'other.db'}", upgrade=True)
    )
    with TestClient(app) as other:
        fail(other, "nobody", 2)
        r = attempt(other, "nobody")
        assert r.status_code == 429 and 50 <= int(r.headers["Retry-After"]) <= 60


def test_refusals_and_lockouts_are_logged_without_the_password(
    web: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nurture.web.logins")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "nurture.web.logins"]

    fail(web, "ann", 4)
    assert not lines()
    fail(web, "ann", 1)
    attempt(web, "ann", PASSWORD, ip=ELSEWHERE)
    logged = lines()
    assert len(logged) == 2, logged
    assert "locked for user 'ann'" in logged[0] and OFFICE in logged[0]
    assert "refused for user 'ann'" in logged[1] and ELSEWHERE in logged[1]
    assert PASSWORD not in caplog.text and "wrong password" not in caplog.text
