"""The desk's login limit on its own: counting, the sliding window, pruning, parallel attempts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from nurture.settings import Settings
from nurture.store import Store
from nurture.web.logins import LoginFailureRow, LoginThrottle, Refusal, client_key

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(any_store: Store) -> Store:
    """On SQLite and PostgreSQL."""
    return any_store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(store: Store, clock: Clock) -> LoginThrottle:
    return LoginThrottle(store, per_user=3, per_ip=5, window=timedelta(minutes=10), clock=clock)


def fail(throttle: LoginThrottle, username: str, host: str = "192.0.2.1") -> None:
    assert throttle.attempt(username, host) is None
    throttle.failed(username, host)


def rows(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(LoginFailureRow)) or 0)


def test_clients_are_counted_by_address_and_ipv6_by_64() -> None:
    assert client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("testclient") == "testclient"
    assert client_key(None) == client_key("") == "unknown"


def test_the_message_says_how_long_in_whole_minutes() -> None:
    assert Refusal("user", 900).message == (
        "Too many failed attempts for this user; try again in 15 minutes"
    )
    assert Refusal("user", 61).message.endswith("try again in 2 minutes")
    assert Refusal("ip", 5).message == (
        "Too many failed attempts from your network; try again in 1 minute"
    )


def test_the_limit_refuses_without_counting(
    store: Store, clock: Clock, throttle: LoginThrottle
) -> None:
    for _ in range(3):
        fail(throttle, "ann")
    for _ in range(3):  # hammering a locked name neither counts nor extends the lockout
        assert throttle.attempt("ann", "192.0.2.1") == Refusal("user", 600)
    assert rows(store) == 3
    clock.now += timedelta(minutes=10)  # exactly one window later the failures are out
    assert throttle.attempt("ann", "192.0.2.1") is None


def test_the_retry_time_is_when_the_oldest_counted_failure_leaves(
    clock: Clock, throttle: LoginThrottle
) -> None:
    fail(throttle, "ann")
    clock.now += timedelta(minutes=4)
    fail(throttle, "ann")
    fail(throttle, "ann")
    clock.now += timedelta(seconds=30)
    assert throttle.attempt("ann", "192.0.2.9") == Refusal("user", 330)


def test_a_success_forgets_only_that_username(store: Store, throttle: LoginThrottle) -> None:
    fail(throttle, "ann")
    fail(throttle, "ann")
    for name in ("x1", "x2"):
        fail(throttle, name)
    assert throttle.attempt("ann", "192.0.2.1") is None
    throttle.succeeded("ann")
    assert rows(store) == 2
    fail(throttle, "x3")
    fail(throttle, "x4")
    fail(throttle, "x5")  # the client's fifth failure: ann's were forgotten
    refusal = throttle.attempt("bob", "192.0.2.1")
    assert refusal is not None and refusal.scope == "ip"
    assert throttle.attempt("bob", "192.0.2.2") is None


def test_old_rows_are_pruned(store: Store, clock: Clock, throttle: LoginThrottle) -> None:
    for name in ("a", "b", "c"):
        fail(throttle, name)
    clock.now += timedelta(minutes=11)
    fail(throttle, "d")
    assert rows(store) == 1


def test_parallel_attempts_never_get_past_the_limit(store: Store) -> None:
    throttle = LoginThrottle(store, per_user=5, per_ip=100)
    allowed = 0
    lock = threading.Lock()
    start = threading.Barrier(16)

    def guess(n: int) -> None:
        nonlocal allowed
        start.wait()
        if throttle.attempt("ann", f"198.51.100.{n}") is None:
            with lock:
                allowed += 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(guess, range(16)))
    assert 1 <= allowed <= 5


def test_the_limits_come_from_the_settings(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_LOGIN_FAILURES_PER_USER", "3")
    monkeypatch.setenv("NURTURE_LOGIN_FAILURES_PER_IP", "9")
    monkeypatch.setenv("NURTURE_LOGIN_WINDOW_MINUTES", "2.5")
    throttle = LoginThrottle.from_settings(store, Settings())
    assert (throttle.per_user, throttle.per_ip) == (3, 9)
    assert throttle.window == timedelta(minutes=2, seconds=30)
    defaults = Settings.model_fields
    assert defaults["login_failures_per_user"].default == 5
    assert defaults["login_failures_per_ip"].default == 20
    assert defaults["login_window_minutes"].default == 15
