"""The reduced chaos run (bench/chaos.py): a few dozen journeys while the worker is killed -9
three times and the dev server restarted once; every touch reaches its provider exactly once."""

from __future__ import annotations

import pytest

from bench.chaos import run_chaos

pytestmark = pytest.mark.devserver


async def test_killed_workers_and_a_restarted_server_send_every_touch_once() -> None:
    report = await run_chaos(leads=30, kills=3, server_restarts=1, wait=2.0, timeout=90)
    print("\n".join(report.lines()))
    assert report.finished == 30
    assert len(report.kills) == 3 and len(report.server_restarts) == 1
    assert report.twice_or_more == []
    assert report.missing == []
    in_window = report.unknown_reached + report.unknown_never
    assert sum(report.exactly_once.values()) + in_window == 90
    assert report.exactly_once["twilio"] == report.exactly_once["lob"] == 30
