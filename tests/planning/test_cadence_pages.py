"""The cadence pages: list, step graph, preview and messages, located errors; marketing only."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.staff import log_in


def test_marketing_sees_every_cadence_and_whether_it_is_valid(web: TestClient) -> None:
    log_in(web, "mia.marketing")
    page = web.get("/cadences")
    assert page.status_code == 200
    for name in ("standard", "strategic", "long-term-nurture"):
        assert f'href="/cadences/{name}"' in page.text
    assert "_teams" not in page.text and "scoring" not in page.text
    assert page.text.count(">valid<") == 3


def test_a_cadence_page_draws_the_graph_previews_and_renders(web: TestClient) -> None:
    log_in(web, "mia.marketing")
    query = {"start": "2026-03-02", "engage": "click@tips-email"}
    page = web.get("/cadences/standard", params=query)
    assert page.status_code == 200, page.text
    html = page.text
    svg = html[html.index("<svg") : html.index("</svg>")]
    for step in ("intro-email", "discovery-call", "engaged-check", "text-nudge", "last-wait"):
        assert f'data-step="{step}"' in svg
    assert "engaged email.click" in svg  # the branch case on its arc
    assert "2 cycles, 30 days apart" in svg and "recycle into long-term-nurture" in svg
    # the clicked lead gets the text nudge, in cycle 1, after the branch
    assert re.search(r"Branch engaged-check: .*→ text-nudge", html)
    assert 'sandbox=""' in html and "srcdoc=" in html  # email HTML in a sandboxed frame
    assert "<script" not in html.split("srcdoc=")[1][:200]
    assert "Subject:</strong> Pat, a faster way to plan at Example Corp" in html


def test_a_broken_cadence_shows_its_located_errors(web: TestClient, cadences: Path) -> None:
    path = cadences / "standard.yaml"
    path.write_text(
        path.read_text().replace("otherwise: last-wait", "otherwise: nowhere"), encoding="utf-8"
    )
    log_in(web, "mia.marketing")
    page = web.get("/cadences/standard")
    assert page.status_code == 422
    assert "not valid" in page.text and "<svg" not in page.text
    assert re.search(r"standard\.yaml:\d+:\d+", page.text)
    assert "no step with id &#39;nowhere&#39;" in page.text
    assert "1 problem(s)" in web.get("/cadences").text


def test_pages_admit_marketing_managers_and_admins_only(web: TestClient) -> None:
    assert web.get("/cadences", follow_redirects=False).status_code in (302, 303, 307)
    log_in(web, "rob.rep")
    assert web.get("/cadences").status_code == 403
    assert web.get("/cadences/standard").status_code == 403
    log_in(web, "meg.manager")
    assert web.get("/cadences/standard").status_code == 200
    assert web.get("/cadences/nope").status_code == 404


def test_the_forecast_page_charts_a_forecast(web: TestClient) -> None:
    log_in(web, "mia.marketing")
    empty = web.get("/forecast")
    assert empty.status_code == 200 and "<svg" not in empty.text
    query = {"cadence": "standard", "count": "40", "months": "2", "start": "2026-03-02"}
    page = web.get("/forecast", params=query)
    assert page.status_code == 200, page.text
    html = page.text
    for chart in ("Touches per day by channel", "hours of call tasks per day vs capacity"):
        assert chart in html
    assert "Cumulative sales-ready leads" in html and "Cumulative cost (USD)" in html
    assert html.count("<svg") == 4  # touches, the sdr desk, sales-ready, cost
    assert "2026-03-02" in html and "Cost per sales-ready lead" in html
    bad = web.get("/forecast", params={"count": "999999"})
    assert bad.status_code == 422 and "more with nurture forecast" in bad.text
