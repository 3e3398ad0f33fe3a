"""The forecast: deterministic per seed whatever the split, the desk's capacity, costs, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cadence.model import cadence_files
from nurture.cli import app
from nurture.leads.enrollment import load_rules
from nurture.planning.costs import COSTS_FILE, load_costs, load_desk
from nurture.planning.forecast import Plan, SyntheticLeads, parse_mix, run_forecast
from nurture.planning.preview import load_cadences
from nurture.planning.report import build_report
from nurture.planning.response import RESPONSE_FILE, ResponseModel, load_response
from nurture.settings import ROOT

CADENCES = ROOT / "cadences"
START = datetime(2026, 3, 2, 14, tzinfo=UTC)


def plan(response: ResponseModel | None = None, months: int = 2, seed: int = 0) -> Plan:
    return Plan(
        cadences=load_cadences(CADENCES),
        rules=load_rules(CADENCES),
        response=response or load_response(CADENCES / RESPONSE_FILE),
        costs=load_costs(CADENCES / COSTS_FILE),
        desk=load_desk(CADENCES),
        start=START,
        months=months,
        seed=seed,
    )


LEADS = SyntheticLeads(60, parse_mix(["strategic=1,standard=2"]))


def test_the_model_files_are_not_cadences() -> None:
    names = {p.name for p in cadence_files(CADENCES)}
    assert RESPONSE_FILE not in names and COSTS_FILE not in names
    assert (CADENCES / RESPONSE_FILE).exists() and (CADENCES / COSTS_FILE).exists()


def test_mix_and_synthetic_leads() -> None:
    assert parse_mix(["strategic=20%", "standard=80%"]) == {"strategic": 0.2, "standard": 0.8}
    with pytest.raises(ValueError, match="segment=share"):
        parse_mix(["strategic"])
    segments = [LEADS[n].segment for n in range(len(LEADS))]
    assert segments.count("strategic") == 20 and segments.count("standard") == 40


def test_same_seed_same_forecast_whatever_the_split() -> None:
    one = run_forecast(plan(), LEADS, workers=1, chunk=60)
    two = run_forecast(plan(), LEADS, workers=2, chunk=7)
    assert one == two
    assert one.leads == 60 and sum(one.sales_ready.values()) > 0
    other = run_forecast(plan(seed=1), LEADS, workers=1)
    assert other.touches != one.touches


def test_a_silent_forecast_sends_every_touch_and_hands_nobody_off() -> None:
    silent = ResponseModel()  # no rates: nobody ever answers
    tally = run_forecast(plan(silent, months=1), LEADS, workers=1)
    report = build_report(plan(silent, months=1), tally)
    assert report.summary.sales_ready_total == 0 and not tally.deferrals
    # in the first month a silent strategic lead gets its first cycle, no SMS (not engaged)
    assert report.summary.touches["sms"] == 0
    assert report.summary.touches["email"] >= 60 and report.summary.touches["call"] >= 60
    costs = plan().costs
    assert report.summary.cost["email"] == pytest.approx(
        report.summary.touches["email"] * costs.email
    )
    assert sum(w.touch_total for w in report.weeks) == sum(report.summary.touches.values())


def test_days_over_the_desks_capacity_are_flagged() -> None:
    small = plan(months=1)
    small.desk.queues["sdr"] = [60.0] * 5 + [0.0, 0.0]  # one hour a day
    report = build_report(small, run_forecast(small, LEADS, workers=1))
    over = [d for d in report.days if d.over]
    assert over and all(d.call_minutes["sdr"] > d.capacity["sdr"] for d in over)
    assert report.summary.days_over["sdr"] == len(over)


def test_cli_forecast_prints_tables_and_csv() -> None:
    args = ["forecast", "--count", "30", "--mix", "standard=1", "--start", "2026-03-02"]
    out = CliRunner().invoke(app, [*args, "--months", "1", "--workers", "1"])
    assert out.exit_code == 0, out.output
    assert "per week" in out.output and "cost per sales-ready lead" in out.output
    rows = CliRunner().invoke(app, [*args, "--months", "1", "--csv", "--by", "week"])
    assert rows.exit_code == 0, rows.output
    table = list(csv.DictReader(io.StringIO(rows.stdout)))
    assert table[0]["week"] == "2026-03-02" and int(table[0]["touches_email"]) >= 30
    bad = CliRunner().invoke(app, ["forecast", "--count", "3", "--cadence", "nope"])
    assert bad.exit_code == 2


def test_cli_forecast_of_a_lead_file_reports_its_bad_rows() -> None:
    args = ["forecast", "--start", "2026-03-02", "--months", "1", "--workers", "1", "--csv"]
    good = CliRunner().invoke(app, [*args, "--leads", str(ROOT / "examples" / "leads.csv")])
    assert good.exit_code == 0, good.output
    days = list(csv.DictReader(io.StringIO(good.stdout)))
    assert days[0]["day"] == "2026-03-02" and sum(int(d["touches_email"]) for d in days) > 0
    bad = CliRunner().invoke(app, [*args, "--leads", str(ROOT / "examples" / "bad-leads.csv")])
    assert bad.exit_code == 0 and "rejected" in bad.stderr


def test_a_bad_response_file_is_reported_where_it_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "response.yaml"
    bad.write_text("channels:\n  email:\n    open: 2\n    clik: 0.1\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["forecast", "--count", "5", "--response", str(bad)])
    assert out.exit_code == 2
    assert f"{bad}:3:5: channels.email.open" in out.stderr
    assert f"{bad}:4:5: channels.email.clik: unknown field" in out.stderr
