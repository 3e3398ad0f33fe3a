"""A send heartbeats while it waits for the provider, so Temporal retries a dead worker's attempt
after the heartbeat timeout (seconds) instead of the start-to-close timeout (minutes)."""

from __future__ import annotations

import time
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
    assert len(beats) >= 5 and beats[0] - began < 0.05  # at once, then every 0.05 s
    count = len(beats)
    time.sleep(0.15)
    assert len(beats) == count  # the helper stopped with the send


def test_outside_an_activity_it_does_nothing() -> None:
    with heartbeating(every=0.01):
        time.sleep(0.03)


def test_the_timeout_leaves_room_for_missed_beats() -> None:
    assert timedelta(seconds=2 * 3) < SEND_HEARTBEAT_TIMEOUT <= timedelta(seconds=15)
