"""The diff and migrate pages without Temporal: who may open them, the diff of the file on disk
and a pasted new version, located errors, and the migrate form's refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nurture.app import create_app
from nurture.settings import Settings
from nurture.store import Store
from tests.support.browser import free_port
from tests.web.staff import add_staff, csrf_of, log_in


@pytest.fixture
def live(planning_settings: Settings, planning_store: Store) -> Iterator[TestClient]:
    """The web app with Temporal unreachable (a closed port): files only."""
    add_staff(planning_store, "ada.admin", "admin")
    settings = planning_settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    with TestClient(create_app(settings, planning_store)) as client:
        yield client


def standard_v2(cadences: Path) -> str:
    """standard v2: a longer first wait, another tips template, the text nudge removed, a new
    webinar email."""
    text = (cadences / "standard.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 1", "version: 2")
    text = text.replace(
        'wait: {business_days: 2, at: "10:00"}', 'wait: {business_days: 4, at: "10:00"}', 1
    )
    text = text.replace("template: standard-tips}", "template: standard-case-study}")
    text = text.replace(
        "  - id: text-nudge\n    sms: {template: standard-nudge}\n",
        "  - id: webinar-email\n    email: {template: standard-tips}\n",
    )
    return text.replace("goto: text-nudge", "goto: webinar-email")


def post(client: TestClient, url: str, **data: str) -> str:
    page = client.get(url).text
    response = client.post(url, data={"csrf_token": csrf_of(page), **data})
    return f"{response.status_code}\n{response.text}"


def test_the_pages_are_for_their_roles(live: TestClient) -> None:
    for url in ("/cadences/standard/diff", "/cadences/standard/migrate"):
        r = live.get(url, follow_redirects=False)
        assert r.status_code in (302, 303, 307) and "/desk/login" in r.headers["location"]
    log_in(live, "rob.rep")
    assert live.get("/cadences/standard/diff").status_code == 403
    assert live.get("/cadences/standard/migrate").status_code == 403
    log_in(live, "meg.manager")  # managers may look at a diff, not move leads
    assert live.get("/cadences/standard/diff").status_code == 200
    assert live.get("/cadences/standard/migrate").status_code == 403
    log_in(live, "ada.admin")
    assert live.get("/cadences/standard/migrate").status_code == 200
    assert live.get("/cadences/nope/diff").status_code == 404


def test_the_cadence_page_links_to_diff_and_migrate(live: TestClient) -> None:
    log_in(live, "mia.marketing")
    page = live.get("/cadences/standard").text
    assert 'href="/cadences/standard/diff"' in page
    assert 'href="/cadences/standard/migrate"' in page


def test_the_diff_of_a_pasted_version(live: TestClient, cadences: Path) -> None:
    log_in(live, "mia.marketing")
    same = live.get("/cadences/standard/diff")
    assert same.status_code == 200, same.text
    assert "Temporal did not answer" in same.text  # no running versions: the file on disk
    assert "No changes" in same.text
    shown = post(
        live, "/cadences/standard/diff", old="file", source="paste", text=standard_v2(cadences)
    )
    assert shown.startswith("200"), shown
    html = shown
    assert "standard v1" in html and "v2" in html
    assert re.search(r"Steps added</h3>\s*<ul class=\"added\"><li><code>webinar-email", html)
    assert re.search(r"Steps removed</h3>\s*<ul class=\"removed\"><li><code>text-nudge", html)
    assert "Waits changed: 0" not in html and "Templates changed: 1" in html
    assert "Branches changed: 1" in html
    assert "standard-tips" in html and "standard-case-study" in html
    # the CLI's own lines, from the same code
    assert "+ step webinar-email (email) added" in html
    assert "- step text-nudge (sms) removed" in html


def test_a_pasted_version_with_errors_shows_them_located(live: TestClient, cadences: Path) -> None:
    log_in(live, "mia.marketing")
    broken = standard_v2(cadences).replace("otherwise: last-wait", "otherwise: nowhere")
    shown = post(live, "/cadences/standard/diff", old="file", source="paste", text=broken)
    assert shown.startswith("422"), shown[:300]
    assert re.search(r"pasted standard\.yaml:\d+:\d+", shown)
    assert "nowhere" in shown and "not a valid version of standard" in shown
    other = post(
        live,
        "/cadences/standard/diff",
        source="paste",
        text=standard_v2(cadences).replace("name: standard", "name: other"),
    )
    assert other.startswith("422") and "not &#39;standard&#39;" in other


def test_the_migrate_form_refuses_what_it_cannot_run(live: TestClient, cadences: Path) -> None:
    log_in(live, "mia.marketing")
    url = "/cadences/standard/migrate"
    no_csrf = live.post(url, data={"mode": "dry-run"})
    assert no_csrf.status_code == 403
    v2 = standard_v2(cadences)
    unconfirmed = post(live, url, source="paste", text=v2, mode="migrate")
    assert unconfirmed.startswith("422") and "tick the box" in unconfirmed
    bad_map = post(live, url, source="paste", text=v2, mappings="text-nudge", mode="dry-run")
    assert bad_map.startswith("422") and "write OLD-STEP=NEW-STEP" in bad_map
    bad_segment = post(live, url, source="paste", text=v2, segment="x' OR 1=1", mode="dry-run")
    assert bad_segment.startswith("422") and "letters, digits" in bad_segment
    invalid = post(live, url, source="paste", text="name: standard\nversion: two\n", mode="dry-run")
    assert invalid.startswith("422") and "pasted standard.yaml" in invalid


def test_the_diff_of_an_uploaded_version(live: TestClient, cadences: Path) -> None:
    log_in(live, "mia.marketing")
    token = csrf_of(live.get("/cadences/standard/diff").text)
    files = {"upload": ("standard-v2.yaml", standard_v2(cadences).encode(), "text/yaml")}
    data = {"csrf_token": token, "old": "file", "source": "upload"}
    shown = live.post("/cadences/standard/diff", data=data, files=files)
    assert shown.status_code == 200, shown.text
    assert "(standard-v2.yaml)" in shown.text and "+ step webinar-email (email) added" in shown.text
    bad = {"upload": ("v2.yaml", b"\xff\xfe not text", "text/yaml")}
    refused = live.post("/cadences/standard/diff", data=data, files=bad)
    assert refused.status_code == 422 and "not UTF-8" in refused.text
    none = live.post("/cadences/standard/diff", data=data)
    assert none.status_code == 422 and "choose a file to upload" in none.text
