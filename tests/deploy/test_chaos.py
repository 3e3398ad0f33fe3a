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
