"""Preview: every touch a lead would get, in order, with the branch taken and its message."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from nurture.cadence.model import find_cadence
from nurture.cadence.render import Renderer, sample_lead
from nurture.cli import app
from nurture.events import Channel, EventKind
from nurture.leads.enrollment import load_rules
from nurture.planning.preview import (
    Engagement,
    Preview,
    first_moment,
    load_cadences,
    parse_engagement,
    preview,
)
from nurture.settings import ROOT

CADENCES = ROOT / "cadences"
START = date(2026, 3, 2)  # a Monday


def run(name: str, engage: str = "", months: int = 12) -> Preview:
    cadence = find_cadence(CADENCES, name)
    lead = sample_lead(cadence.sample_lead)
    return preview(
        cadence,
        lead,
        first_moment(lead, cadence, START, datetime.now().astimezone()),
        cadences=load_cadences(CADENCES),
        rules=load_rules(CADENCES),
        engage=parse_engagement(engage),
        renderer=Renderer(ROOT / "templates"),
        months=months,
    )


def test_engagement_paths_parse_short_and_full_kinds() -> None:
    path = parse_engagement("click@intro-email, call.meeting_booked@c2/discovery-call+2d")
    assert path[0] == Engagement(EventKind.email_click, "intro-email")
    assert path[1].kind is EventKind.call_meeting_booked
    assert (path[1].cycle, path[1].step, path[1].delay.days) == (2, "discovery-call", 2)
    with pytest.raises(ValueError, match="unknown event 'clack'"):
        parse_engagement("clack@intro-email")
    with pytest.raises(ValueError, match="KIND@STEP"):
        parse_engagement("click")


def test_silent_lead_gets_every_touch_in_order_inside_its_hours() -> None:
    result = run("standard")
    steps = [t.touch.step_id for t in result.touches if t.touch.cadence == "standard"]
    cycle = ["intro-email", "tips-email", "discovery-call", "case-study-email", "last-email"]
    assert steps == cycle * 2  # no engagement: the text nudge is skipped, two cycles
    assert [t.at for t in result.touches] == sorted(t.at for t in result.touches)
    for item in result.touches:
        assert item.local.weekday() < 5 and 9 <= item.local.hour < 17, item.local
        assert item.error is None and item.rendered is not None
        if item.touch.channel is Channel.email:
            assert item.rendered.subject and "Pat" in (item.rendered.text or "")
    # after two cycles the lead is recycled into long-term nurture
    assert result.touches[-1].touch.cadence == "long-term-nurture"
    assert any("Cycle 1 of 2 done" in r for t in result.touches for r in t.route)


def test_a_click_takes_the_engaged_branch_and_a_reply_hands_off() -> None:
    result = run("standard", "click@tips-email,reply@text-nudge")
    steps = [t.touch.step_id for t in result.touches]
    assert steps == [
        "intro-email",
        "tips-email",
        "discovery-call",
        "case-study-email",
        "text-nudge",
    ]
    nudge = result.touches[-1]
    assert any("engaged-check" in r and "text-nudge" in r for r in nudge.route)
    assert nudge.rendered is not None and nudge.rendered.text
    assert result.ending.startswith("sales_ready")
    assert result.unused == []


def test_cli_preview_prints_the_plan_and_messages() -> None:
    out = CliRunner().invoke(
        app,
        ["cadence", "preview", "standard", "--start", "2026-03-02", "--engage", "reply@tips-email"],
        env={"COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    assert "intro-email" in out.output and "tips-email" in out.output
    assert "discovery-call" not in out.output  # the reply ended the cadence
    assert "Subject:" in out.output and "2 touch(es); ends: sales_ready" in out.output
    bad = CliRunner().invoke(app, ["cadence", "preview", "standard", "--engage", "x"])
    assert bad.exit_code == 2
