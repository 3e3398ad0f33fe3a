"""Reports over a small hand-made journey log: every figure checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from nurture.journey.state import Milestone
from nurture.journeylog.costs import Costs
from nurture.journeylog.export import safe_cell, to_csv
from nurture.journeylog.reports import Filters, Report, build, z_test
from nurture.journeylog.store import JourneyLog
from nurture.planning.costs import MailPrices
from nurture.store import Store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
COSTS = Costs(
    email=0.5,
    sms=1,
    voicemail=2,
    direct_mail=MailPrices(letter=3),
    call_task_minute=1,
    call_task_minutes=10,
    conversation_minutes=5,
)


class Journey:
    """Milestones of one made-up lead."""

    def __init__(self, lead: str, cadence: str = "drip", segment: str = "smb") -> None:
        self.lead, self.cadence, self.segment = lead, cadence, segment
        self.items: list[Milestone] = []

    def add(self, kind: str, hours: float, **values: Any) -> Journey:
        self.items.append(
            Milestone(
                key=f"{self.lead}:r:{len(self.items)}",
                lead_id=self.lead,
                kind=kind,
                at=T0 + timedelta(hours=hours),
                cadence=self.cadence,
                version=1,
                segment=self.segment,
                source="ads",
                **values,
            )
        )
        return self

    def stage(self, to: str, hours: float) -> Journey:
        return self.add("stage", hours, to_stage=to)

    def touch(self, step: str, channel: str, hours: float, variant: str = "a") -> Journey:
        touch_id = f"{self.lead}:{self.cadence}:v1:e1:c1:{step}"
        return self.add(
            "touch_sent", hours, step=step, channel=channel, variant=variant, touch_id=touch_id
        )


@pytest.fixture
def log(store: Store) -> JourneyLog:
    return sample_log(store)


def sample_log(store: Store) -> JourneyLog:
    """Four made-up journeys: won, declined and recycled, quiet, lost."""
    won = (
        Journey("W")
        .add("enrolled", 0)
        .touch("e1", "email", 1)
        .stage("nurturing", 1)
        .add("event", 2, step="e1", channel="email", variant="a", reason="email.click")
        .stage("engaged", 2)
        .touch("c1", "call", 24)
        .add("task_created", 24, touch_id="W:drip:v1:e1:c1:c1", reason="sdr")
        .add("task_claimed", 25, touch_id="W:drip:v1:e1:c1:c1", rep="amy")
        .add(
            "task_completed", 26, touch_id="W:drip:v1:e1:c1:c1", rep="amy", reason="meeting_booked"
        )
        .add("event", 26, step="c1", channel="call", reason="call.meeting_booked", rep="amy")
        .stage("sales_ready", 26)
        .add("handoff_assigned", 26, rep="ann.ae", reason="sales")
        .add("sla_met", 28, rep="ann.ae")
        .add("handoff_accepted", 28, rep="ann.ae")
        .stage("accepted", 28)
        .add("opportunity", 48, rep="ann.ae")
        .stage("opportunity", 48)
        .add("won", 96, rep="ann.ae", amount=10000.0, reason="champion")
        .stage("won", 96)
        .add("finished", 96)
    )
    declined = (
        Journey("D", segment="mid")
        .add("enrolled", 0)
        .touch("e1", "email", 1, variant="b")
        .stage("nurturing", 1)
        .add("event", 3, step="e1", channel="email", variant="b", reason="email.reply")
        .stage("engaged", 3)
        .stage("sales_ready", 3)
        .add("handoff_assigned", 3, rep="bob.ae", reason="sales")
        .add("sla_breached", 7, rep="bob.ae")
        .add("handoff_escalated", 7, rep="ann.ae", reason="sales")
        .add("handoff_declined", 8, rep="ann.ae", reason="not_ready")
        .stage("recycled", 8)
        .add("recycled", 8)
    )
    quiet = (
        Journey("Q")
        .add("enrolled", 0)
        .touch("e1", "email", 1)
        .stage("nurturing", 1)
        .touch("s1", "sms", 30)
        .add("task_created", 40, touch_id="Q:drip:v1:e1:c1:c1", reason="sdr")
        .add("task_overdue", 60, touch_id="Q:drip:v1:e1:c1:c1")
        .add("finished", 90)
    )
    lost = (
        Journey("L", cadence="strategic", segment="ent")
        .add("enrolled", 0)
        .touch("l1", "direct_mail", 1)
        .stage("nurturing", 1)
        .stage("engaged", 5)
        .stage("sales_ready", 6)
        .stage("accepted", 7)
        .stage("opportunity", 8)
        .add("lost", 9, reason='=HYPERLINK("x")', rep="ann.ae")
        .stage("lost", 9)
    )
    journal = JourneyLog(store)
    for journey in (won, declined, quiet, lost):
        journal.record(journey.items)
    return journal


def table(report: Report, key: str = "group") -> dict[Any, dict[str, Any]]:
    return {row[report.columns[0]]: row for row in report.as_dicts()} if key else {}


def test_funnel_counts_conversion_and_median_time(log: JourneyLog) -> None:
    report = build("funnel", log.store, Filters())
    rows = {r["stage"]: r for r in report.as_dicts()}
    assert [rows[s]["leads"] for s in rows] == [4, 4, 3, 3, 2, 2, 1]
    assert rows["engaged"]["from previous %"] == 75.0
    assert rows["won"]["from enrolled %"] == 25.0
    assert rows["sales-ready"]["median days"] == round(1 / 24, 2)  # of 1 day, 0 h, 1 h
    assert rows["accepted"]["median days"] == round((2 / 24 + 1 / 24) / 2, 2)
    by_segment = build("funnel", log.store, Filters(group_by="segment"))
    ent = [r for r in by_segment.as_dicts() if r["group"] == "ent"]
    assert [r["leads"] for r in ent] == [1, 1, 1, 1, 1, 1, 0]
    only_drip = build("funnel", log.store, Filters(cadence="drip"))
    assert only_drip.as_dicts()[0]["leads"] == 3


def test_steps_count_touches_responses_and_attribution(log: JourneyLog) -> None:
    rows = table(build("steps", log.store, Filters()))
    assert rows["e1"]["sent"] == 3 and rows["e1"]["clicked"] == 1 and rows["e1"]["replied"] == 1
    assert rows["c1"]["connects"] == 1 and rows["c1"]["meetings"] == 1
    # last touch before sales-ready: W → c1, D → e1, L → l1
    assert (rows["c1"]["sales-ready (last touch)"], rows["e1"]["sales-ready (last touch)"]) == (
        1,
        1,
    )
    assert rows["e1"]["sales-ready (position)"] == 1.5  # half of W, all of D
    channels = table(build("channels", log.store, Filters()))
    assert channels["email"]["sent"] == 3 and channels["sms"]["sent"] == 1
    variants = build("steps", log.store, Filters(group_by="variant"))
    assert any(note.startswith("e1: b vs a") and "no winner" in note for note in variants.notes)


def test_z_test_declares_a_winner_only_when_significant() -> None:
    z, p = z_test(120, 1000, 80, 1000)
    assert z > 2.8 and p < 0.01
    assert z_test(12, 100, 8, 100)[1] > 0.05
    assert z_test(0, 0, 1, 10) == (0.0, 1.0)


def test_desk_and_sales(log: JourneyLog) -> None:
    desk = table(build("desk", log.store, Filters()))
    assert desk["amy"]["worked"] == 1 and desk["amy"]["connect %"] == 100.0
    assert desk["amy"]["meetings"] == 1 and desk["amy"]["hours to first attempt"] == 2.0
    assert desk["queue sdr"]["tasks created"] == 2 and desk["queue sdr"]["overdue"] == 1
    sales = build("sales", log.store, Filters())
    rows = table(sales)
    assert rows["ann.ae"]["handoffs"] == 2 and rows["ann.ae"]["escalated to"] == 1
    assert rows["ann.ae"]["SLA met"] == 1 and rows["bob.ae"]["SLA breached"] == 1
    assert rows["ann.ae"]["hours to accept"] == 2.0
    assert "declined — not_ready: 1" in sales.notes


def test_money_cost_per_result(log: JourneyLog) -> None:
    rows = table(build("money", log.store, Filters(), COSTS))
    drip = rows["drip"]
    # W: email 0.5 + call task (10 min + 5 min talk) × 1; D: email 0.5; Q: email 0.5 + sms 1
    assert drip["cost"] == 17.5 and drip["touches"] == 5
    assert drip["sales-ready"] == 2 and drip["per sales-ready"] == 8.75
    assert drip["opportunities"] == 1 and drip["per opportunity"] == 17.5
    assert drip["won"] == 1 and drip["won amount"] == 10000.0
    assert rows["strategic"]["cost"] == 3.0 and rows["strategic"]["per won"] is None
    channels = table(build("money", log.store, Filters(group_by="channel"), COSTS))
    assert channels["call"]["cost"] == 15.0 and channels["direct_mail"]["per touch"] == 3.0


def test_win_loss_and_a_safe_csv(log: JourneyLog) -> None:
    report = build("win-loss", log.store, Filters())
    rows = table(report)
    assert rows["champion"]["won"] == 1 and rows['=HYPERLINK("x")']["lost"] == 1
    text = to_csv(report)
    assert "'=HYPERLINK" in text and "\n=" not in text
    assert [safe_cell(v) for v in ("+1", "-2", "@x", "ok", -3, None)] == [
        "'+1",
        "'-2",
        "'@x",
        "ok",
        "-3",
        "",
    ]
    by_segment = table(build("win-loss", log.store, Filters(group_by="segment")))
    assert by_segment["smb"]["win %"] == 100.0 and by_segment["ent"]["win %"] == 0.0


def test_the_command(log: JourneyLog, monkeypatch: pytest.MonkeyPatch) -> None:
    from nurture.cli import app
    from nurture.settings import get_settings

    monkeypatch.setenv("NURTURE_DATABASE_URL", str(log.store.engine.url))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["report", "win-loss", "--csv"])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[0] == "reason,won,lost,win %,won amount"
        shown = CliRunner().invoke(app, ["report", "funnel", "--group-by", "week"])
        assert shown.exit_code == 0 and "2026-11-02" in shown.output
        bad = CliRunner().invoke(app, ["report", "nope"])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_the_per_day_counts_answer_as_the_log_does(log: JourneyLog) -> None:
    """Steps, channels and the desk read the counts kept as rows arrive; a period that does not
    start at a UTC midnight reads the log itself: over the same rows, the same figures."""
    from_the_log = Filters(start=T0 - timedelta(minutes=1))
    for kind in ("steps", "channels", "desk"):
        counted = build(kind, log.store, Filters())
        assert counted.rows and counted.rows == build(kind, log.store, from_the_log).rows, kind
    by_variant = Filters(group_by="variant")
    assert (
        build("steps", log.store, by_variant).notes
        == build(
            "steps", log.store, Filters(start=T0 - timedelta(minutes=1), group_by="variant")
        ).notes
    )
