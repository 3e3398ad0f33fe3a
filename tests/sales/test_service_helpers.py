"""The handoff service's pure parts: SLA wording, visibility queries, ``--until`` parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from nurture.console import aware_time
from nurture.leads.pauses import cadence_query
from nurture.sales.service import sla_left, waiting_query
from nurture.temporal.calls import LeadError, UnknownLead, check_lead_id

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "less than a minute left"),
        (timedelta(minutes=25), "25 min left"),
        (timedelta(hours=3, minutes=5), "3 h 05 min left"),
        (timedelta(days=1, hours=2), "1 day 2 h left"),
        (timedelta(days=3), "3 days left"),
        (-timedelta(minutes=20), "20 min overdue"),
    ],
)
def test_time_left_on_the_sla(delta: timedelta, text: str) -> None:
    assert sla_left(NOW + delta, NOW) == text


def test_no_sla() -> None:
    assert sla_left(None, NOW) == "no SLA"


def test_visibility_queries_take_only_safe_literals() -> None:
    assert waiting_query() == "LeadStage = 'sales_ready' AND ExecutionStatus = 'Running'"
    assert waiting_query("sam.rep").endswith("AND Owner = 'sam.rep'")
    assert cadence_query("strategic") == "Cadence = 'strategic' AND ExecutionStatus = 'Running'"
    for bad in ("x' OR 'a'='a", "a\\b"):
        with pytest.raises(LeadError):
            waiting_query(bad)
    with pytest.raises(LeadError, match="not a cadence name"):
        cadence_query("Strategic Accounts")


def test_lead_ids_are_checked_before_asking_temporal() -> None:
    assert check_lead_id("L-1.a") == "L-1.a"
    with pytest.raises(UnknownLead, match="unknown lead"):
        check_lead_id("../etc")


def test_until_needs_an_offset() -> None:
    assert aware_time("2026-12-01T09:00+01:00", "--until") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert aware_time("2026-12-01T09:00Z", "--until") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert aware_time(None, "--until") is None
    for bad in ("2026-12-01T09:00", "next tuesday"):
        with pytest.raises(typer.Exit):
            aware_time(bad, "--until")
