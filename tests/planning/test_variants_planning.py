"""A/B variants in planning: the preview names the lead's variant and renders every variant under
its step (CLI and page); the forecast counts touches per variant, honouring the weights."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nurture.app import create_app
from nurture.cadence.render import Renderer, sample_lead
from nurture.cadence.variants import choose, step_variants
from nurture.cli import app
from nurture.leads.enrollment import load_rules
from nurture.planning.costs import COSTS_FILE, load_costs, load_desk
from nurture.planning.forecast import Plan, SyntheticLeads, run_forecast
from nurture.planning.preview import Preview, load_cadences, preview
from nurture.planning.report import build_report, to_csv
from nurture.planning.response import RESPONSE_FILE, load_response
from nurture.settings import ROOT, Settings, get_settings
from nurture.store import Store
from tests.conftest import FIXTURE_CADENCES, FIXTURE_TEMPLATES
from tests.web.staff import log_in

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def ab_preview(lead_id: str) -> Preview:
    cadences = load_cadences(FIXTURE_CADENCES)
    lead = sample_lead().model_copy(update={"id": lead_id, "timezone": "UTC"})
    return preview(
        cadences["ab"],
        lead,
        START,
        cadences=cadences,
        engage=[],
        renderer=Renderer(FIXTURE_TEMPLATES),
    )


def lead_with(step: str, variant: str) -> str:
    """A lead id whose deterministic pick of ``step`` is ``variant``."""
    variants = dict(step_variants(load_cadences(FIXTURE_CADENCES)["ab"]))[step]
    return next(f"V{n}" for n in range(1000) if choose(variants, f"V{n}", step).id == variant)


@pytest.mark.parametrize("pick", ["long", "short"])
def test_preview_renders_every_variant_and_marks_the_leads_pick(pick: str) -> None:
    result = ab_preview(lead_with("hello", pick))
    hello = result.touches[0]
    assert hello.touch.step_id == "hello" and hello.touch.variant == pick
    assert [(v.id, v.share, v.picked) for v in hello.variants] == [
        ("long", 0.75, pick == "long"),
        ("short", 0.25, pick == "short"),
    ]
    subjects = {v.id: v.rendered.subject for v in hello.variants}
    assert subjects == {"long": "Hello Pat (1/2)", "short": "Short hello for Pat"}
    assert hello.rendered.subject == subjects[pick]  # the lead's own message is its variant's
    nudge = result.touches[1]
    inline = next(v for v in nudge.variants if v.id == "inline")
    assert inline.rendered.text == "Hi Pat, one question from Test Sender."
    if nudge.touch.variant == "inline":  # the lead's message is the inline text, not the template
        assert nudge.rendered.text == inline.rendered.text


@pytest.fixture
def fixture_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """The CLI and the app on the test cadences (ab.yaml has variants) and their templates."""
    monkeypatch.setenv("NURTURE_CADENCES_DIR", str(FIXTURE_CADENCES))
    monkeypatch.setenv("NURTURE_TEMPLATES_DIR", str(FIXTURE_TEMPLATES))
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_cli_preview_lists_each_variant_under_its_step(fixture_settings: Settings) -> None:
    out = CliRunner().invoke(app, ["cadence", "preview", "ab", "--start", "2026-03-02"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "A/B variants of step hello:" in text and "A/B variants of step nudge:" in text
    assert "variant long (75%, hello)" in text and "variant short (25%, hello-short)" in text
    assert "Subject: Short hello for Pat" in text and "Subject: Hello Pat (1/2)" in text
    assert text.count("← this lead's") == 2  # one pick per step
    assert "Hi Pat, one question from Test Sender." in text


def test_cadence_page_shows_each_variant_and_the_leads_pick(
    fixture_settings: Settings, tmp_path: Path
) -> None:
    from tests.web.staff import add_staff

    store = Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    add_staff(store, "mia.marketing", "marketing")
    with TestClient(create_app(fixture_settings, store)) as web:
        log_in(web, "mia.marketing")
        page = web.get("/cadences/ab", params={"start": "2026-03-02"})
    store.close()
    assert page.status_code == 200, page.text
    html = page.text
    for step, variant in (("hello", "long"), ("hello", "short"), ("nudge", "inline")):
        assert f'id="variant-{step}-{variant}"' in html
    assert html.count("<strong>this lead's</strong>") == 2
    assert "Short hello for Pat" in html and "Hi Pat, one question from Test Sender." in html


def ab_plan() -> Plan:
    return Plan(
        cadences=load_cadences(FIXTURE_CADENCES),
        rules=load_rules(FIXTURE_CADENCES),
        response=load_response(ROOT / "cadences" / RESPONSE_FILE),
        costs=load_costs(ROOT / "cadences" / COSTS_FILE),
        desk=load_desk(ROOT / "cadences"),
        start=START,
        months=1,
        cadence="ab",
    )


def test_forecast_splits_touches_by_the_variants_weights() -> None:
    plan = ab_plan()
    tally = run_forecast(plan, SyntheticLeads(1000, {"ab": 1.0}), workers=1)
    report = build_report(plan, tally)
    found = {(v.step, v.variant): v for v in report.summary.variants}
    assert set(found) == {
        ("hello", "long"),
        ("hello", "short"),
        ("nudge", "plain"),
        ("nudge", "inline"),
    }
    assert found["hello", "long"].touches + found["hello", "short"].touches == 1000
    for v in found.values():
        assert abs(v.share - v.weight_share) < 0.05, v  # 1,000 leads: within 5 points
    assert found["hello", "long"].weight_share == 0.75
    rows = list(csv.DictReader(io.StringIO(to_csv(report, report.weeks, "week"))))
    assert (
        sum(int(r["touches_variant_ab/hello/short"]) for r in rows)
        == found["hello", "short"].touches
    )


def test_cli_forecast_prints_the_variants_table(fixture_settings: Settings) -> None:
    args = ["forecast", "--cadence", "ab", "--count", "200", "--mix", "ab=1", "--months", "1"]
    args += ["--response", str(ROOT / "cadences" / RESPONSE_FILE), "--workers", "1"]
    args += ["--costs", str(ROOT / "cadences" / COSTS_FILE), "--start", "2026-03-02"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "A/B variants" in out.output and "75.0%" in out.output
    rows = CliRunner().invoke(app, [*args, "--csv", "--by", "week"])
    assert rows.exit_code == 0, rows.output
    header = rows.stdout.splitlines()[0]
    assert "touches_variant_ab/hello/long" in header and "touches_variant_ab/nudge/inline" in header
