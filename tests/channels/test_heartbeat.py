"""A send heartbeats while it waits for the provider, so Temporal retries a dead worker's attempt
after the heartbeat timeout (seconds) instead of the start-to-close timeout (minutes)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.testing import ActivityEnvironment

from activities.heartbeat import heartbeating
from workflows.lead import SEND_HEARTBEAT_TIMEOUT


def test_a_slow_provider_call_keeps_heartbeating() -> None:
    beats: list[float] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(time.monotonic())

    def slow_send() -> str:
        with heartbeating(every=0.05):
            time.sleep(0.32)  # the provider takes its time
        return "sent"

    began = time.monotonic()
    assert env.run(slow_send) == "sent"
    assert len(beats) >= 4  # every 0.05 s while the send runs
    assert 0.04 < beats[0] - began < 0.15  # the first after 0.05 s: a quick send costs no beat
    count = len(beats)
    time.sleep(0.15)
    assert len(beats) == count  # the helper stopped with the send


def test_a_quick_send_costs_no_heartbeat() -> None:
    beats: list[float] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(time.monotonic())

    def quick_send() -> str:
        with heartbeating(every=0.2):
            time.sleep(0.01)
        return "sent"

    assert env.run(quick_send) == "sent"
    time.sleep(0.3)
    assert beats == []


def test_concurrent_sends_each_keep_heartbeating() -> None:
    beats: list[str] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(threading.current_thread().name)

    def slow_send() -> str:
        with heartbeating(every=0.05):
            time.sleep(0.2)
        return "sent"

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: env.run(slow_send), range(4))) == ["sent"] * 4
    assert len(beats) >= 4 * 2 and set(beats) == {"heartbeats"}  # one helper thread for all


def test_outside_an_activity_it_does_nothing() -> None:
    with heartbeating(every=0.01):
        time.sleep(0.03)


def test_the_timeout_leaves_room_for_missed_beats() -> None:
    assert timedelta(seconds=2 * 3) < SEND_HEARTBEAT_TIMEOUT <= timedelta(seconds=15)
