"""The reduced chaos run (bench/chaos.py): a few dozen journeys while the worker is killed -9
three times and the dev server restarted once; every touch reaches its provider exactly once.
Orphaned sends are retried by their heartbeat timeout (no hurrying by hand), and with
cancellable sends no email is left ``unknown``."""

from __future__ import annotations

import pytest

from bench.chaos import run_chaos

pytestmark = pytest.mark.devserver


async def test_killed_workers_and_a_restarted_server_send_every_touch_once() -> None:
    report = await run_chaos(leads=30, kills=3, server_restarts=1, wait=2.0, timeout=180)
    print("\n".join(report.lines()))
    assert report.finished == 30
    assert len(report.kills) == 3 and len(report.server_restarts) == 1
    assert report.twice_or_more == []
    assert report.missing == []
    in_window = report.unknown_reached + report.unknown_never
    assert sum(report.exactly_once.values()) + in_window == 90
    assert report.exactly_once["twilio"] == report.exactly_once["lob"] == 30


async def test_with_cancellable_sends_no_email_is_unknown() -> None:
    report = await run_chaos(
        leads=20, kills=3, server_restarts=0, wait=2.0, timeout=180, sendgrid="cancel"
    )
    print("\n".join(report.lines()))
    assert report.finished == 20
    assert report.twice_or_more == [] and report.missing == []
    assert report.unknown_reached == report.unknown_never == 0
    assert sum(report.exactly_once.values()) == 60


def test_a_retry_is_charged_to_a_kill_only_if_the_kill_cut_off_the_attempt_before_it() -> None:
    from bench.chaos import ChaosReport, _retries

    report = ChaosReport(leads=2)
    kills = [100.0, 105.0]
    # Scheduled at 101, attempt 1 cut off by the kill at 105, attempt 2 started at 117.
    _retries("T1", 101.0, (2, 117.0, "activity Heartbeat timeout"), kills, [], report)
    # Scheduled minutes after the kills: its retry was not caused by one.
    _retries("T2", 400.0, (2, 412.0, "activity Heartbeat timeout"), kills, [], report)
    assert report.retry_gaps == [12.0]
    assert report.unkilled_retries == ["attempt 2 of T2: activity Heartbeat timeout"]
    # Logged attempts: 2 started at 109 (after the kill at 105), 3 at 130 with no kill between.
    third = ChaosReport(leads=1)
    logged = [(2, 108.0, 109.0), (3, 129.0, 130.0)]
    _retries("T3", 101.0, (3, 130.0, "boom"), kills, logged, third)
    assert third.retry_gaps == [4.0] and len(third.unkilled_retries) == 1
