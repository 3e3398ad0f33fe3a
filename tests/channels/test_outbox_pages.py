"""The outbox viewer pages and JSON, on a Store over a temporary SQLite file."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nurture.app import create_app
from nurture.schema import StoreBehind
from nurture.settings import Settings
from nurture.store import Store
from tests.web.staff import add_staff, log_in

T0 = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
EMAIL_ID = "L42:strategic:v3:e1:c2:intro-email"
EVIL_HTML = '<p>Hi "Dana" &amp; team</p><script>alert("pwned")</script>'


def add(store: Store, touch_id: str, minutes: int, **over: Any) -> None:
    """Record a touch created ``minutes`` after T0."""
    fields: dict[str, Any] = {
        "touch_id": touch_id,
        "lead_id": "L42",
        "cadence": "strategic",
        "cadence_version": 3,
        "cycle": 2,
        "step_id": "step",
        "channel": "email",
        "provider": "outbox",
        "status": "sent",
        "summary": f"Touch {touch_id}",
        "created_at": T0 + timedelta(minutes=minutes),
        "sent_at": T0 + timedelta(minutes=minutes),
    }
    fields.update(over)
    store.record_touch(**fields)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    add(
        s,
        EMAIL_ID,
        0,
        step_id="intro-email",
        recipient="dana@example.com",
        subject="Quick idea for Acme <Ops>",
        body_text="Hi Dana,\n\nA quick idea & a question.",
        body_html=EVIL_HTML,
        provider_id="outbox-0001",
        summary="Email 1/12 · strategic/intro-email",
    )
    add(
        s,
        "L42:strategic:v3:e1:c2:call-1",
        1,
        channel="call",
        recipient="+15551230001",
        body_text="Call script: ask about Q3 budget",
        summary="Call 2/12 · strategic/call-1",
    )
    add(
        s,
        "L7:strategic:v3:e1:c1:sms-1",
        2,
        lead_id="L7",
        channel="sms",
        recipient="+15551230002",
        body_text="Hi from Acme",
        summary="SMS 1/3 · strategic/sms-1",
    )
    add(
        s,
        "L7:strategic:v3:e1:c1:letter",
        3,
        lead_id="L7",
        channel="direct_mail",
        recipient="1 Main St, Springfield",
        status="failed",
        error="address undeliverable",
        summary="Letter 1/1 · strategic/letter",
    )
    yield s
    s.close()


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, ui_port=8999)
    add_staff(store, "ada.admin", "admin")
    with TestClient(create_app(settings=settings, store=store)) as c:
        log_in(c, "ada.admin")
        yield c


def rows(page: str) -> list[str]:
    """The table rows of an outbox page."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


def test_healthz_and_root(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True}
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/inbox"  # an admin's start page


def test_nav_and_static(client: TestClient) -> None:
    page = client.get("/outbox").text
    assert 'href="/outbox"' in page
    assert 'href="/desk"' in page and "Call desk" in page
    assert 'href="/handoffs"' in page and "Handoffs" in page
    assert 'href="http://localhost:8999"' in page and "Temporal UI" in page
    css = client.get("/static/style.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]


def test_list_newest_first(client: TestClient) -> None:
    r = client.get("/outbox")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    page = r.text
    assert "4 touches" in page
    found = rows(page)
    assert len(found) == 4
    assert "Letter 1/1" in found[0]
    assert "Email 1/12 · strategic/intro-email" in found[3]
    assert "2025-03-04 14:00:00 UTC" in found[3]
    assert "dana@example.com" in found[3]
    assert 'href="/outbox?lead=L42"' in found[3]
    assert f'href="/outbox/{EMAIL_ID}"' in found[3]
    assert "failed" in found[0]
    # Filter form: the five channels.
    for channel in ("email", "call", "voicemail", "sms", "direct_mail"):
        assert f'<option value="{channel}"' in page


def test_filters(client: TestClient) -> None:
    page = client.get("/outbox", params={"lead": "L7"}).text
    found = rows(page)
    assert len(found) == 2
    assert all("L7" in row for row in found)
    assert "2 touches" in page
    assert 'value="L7"' in page

    page = client.get("/outbox", params={"channel": "call"}).text
    found = rows(page)
    assert len(found) == 1 and "Call 2/12" in found[0]
    assert '<option value="call" selected>' in page

    page = client.get("/outbox", params={"lead": "L42", "channel": "sms"}).text
    assert rows(page) == []
    assert "No touches match these filters" in page

    # Blank form fields mean "everything".
    assert len(rows(client.get("/outbox", params={"lead": "", "channel": ""}).text)) == 4


def test_empty_state(tmp_path: Path) -> None:
    empty = Store(f"sqlite:///{tmp_path / 'empty' / 'nurture.db'}", upgrade=True)
    add_staff(empty, "ada.admin", "admin")
    with TestClient(create_app(settings=Settings(data_dir=tmp_path), store=empty)) as c:
        log_in(c, "ada.admin")
        page = c.get("/outbox").text
    assert "No touches yet" in page
    assert "<table" not in page


def test_paging(tmp_path: Path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'paging.db'}", upgrade=True)
    for i in range(120):
        add(s, f"LP:t{i:03d}", i, lead_id="LP")
    add_staff(s, "ada.admin", "admin")
    with TestClient(create_app(settings=Settings(data_dir=tmp_path), store=s)) as c:
        log_in(c, "ada.admin")
        p1 = c.get("/outbox", params={"lead": "LP"}).text
        p2 = c.get("/outbox", params={"lead": "LP", "page": 2}).text
        p3 = c.get("/outbox", params={"lead": "LP", "page": 3}).text
        beyond = c.get("/outbox", params={"lead": "LP", "page": 99}).text

    assert "120 touches" in p1
    assert len(rows(p1)) == 50 and "LP:t119" in rows(p1)[0] and "LP:t070" in rows(p1)[-1]
    assert "Page 1 of 3" in p1
    assert 'href="/outbox?lead=LP&amp;page=2"' in p1
    assert len(rows(p2)) == 50 and "LP:t069" in rows(p2)[0]
    assert 'href="/outbox?lead=LP"' in p2  # previous page 1 keeps the filter
    assert 'href="/outbox?lead=LP&amp;page=3"' in p2
    assert len(rows(p3)) == 20 and "LP:t000" in rows(p3)[-1]
    assert "Page 3 of 3" in p3
    assert "Page 3 of 3" in beyond  # past the end: the last page


def test_detail_email(client: TestClient) -> None:
    r = client.get(f"/outbox/{EMAIL_ID}")
    assert r.status_code == 200
    page = r.text
    assert EMAIL_ID in page
    assert "Quick idea for Acme &lt;Ops&gt;" in page
    assert "<pre" in page and "Hi Dana,\n\nA quick idea &amp; a question." in page
    assert "outbox-0001" in page
    assert "dana@example.com" in page
    assert "strategic" in page and "intro-email" in page
    assert "2025-03-04 14:00:00 UTC" in page

    match = re.search(r'<iframe[^>]*\bsandbox\b[^>]*srcdoc="([^"]*)"', page)
    assert match, "sandboxed iframe with srcdoc"
    assert html.unescape(match.group(1)) == EVIL_HTML
    assert "<script>" not in page
    assert 'alert("pwned")' not in page


def test_detail_other_channels(client: TestClient) -> None:
    page = client.get("/outbox/L7:strategic:v3:e1:c1:letter").text
    assert "address undeliverable" in page
    assert "1 Main St, Springfield" in page
    assert "<iframe" not in page
    page = client.get("/outbox/L42:strategic:v3:e1:c2:call-1").text
    assert "Call script" in page and "ask about Q3 budget" in page


def test_detail_unknown_is_404(client: TestClient) -> None:
    r = client.get("/outbox/L999:nope:<b>x</b>")
    assert r.status_code == 404
    assert "Touch not found" in r.text
    assert "L999:nope:&lt;b&gt;x&lt;/b&gt;" in r.text
    assert "<b>x</b>" not in r.text


def test_api_outbox(client: TestClient) -> None:
    data = client.get("/api/outbox").json()
    assert [t["touch_id"] for t in data] == [
        "L7:strategic:v3:e1:c1:letter",
        "L7:strategic:v3:e1:c1:sms-1",
        "L42:strategic:v3:e1:c2:call-1",
        EMAIL_ID,
    ]
    email = data[3]
    assert email["subject"] == "Quick idea for Acme <Ops>"
    assert email["body_html"] == EVIL_HTML
    assert datetime.fromisoformat(email["created_at"]) == T0

    assert [t["touch_id"] for t in client.get("/api/outbox", params={"lead": "L7"}).json()] == [
        "L7:strategic:v3:e1:c1:letter",
        "L7:strategic:v3:e1:c1:sms-1",
    ]
    by_channel = client.get("/api/outbox", params={"channel": "email"}).json()
    assert [t["touch_id"] for t in by_channel] == [EMAIL_ID]
    assert len(client.get("/api/outbox", params={"limit": 2}).json()) == 2
    assert client.get("/api/outbox", params={"limit": 0}).status_code == 422


def test_default_store_from_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=None, db_upgrade=True)
    with TestClient(create_app(settings=settings)) as c:
        add_staff(c.app.state.store, "ada.admin", "admin")  # type: ignore[attr-defined]
        log_in(c, "ada.admin")
        assert c.get("/api/outbox").json() == []
    assert (tmp_path / "data" / "nurture.db").exists()


def test_a_store_behind_refuses_to_start_the_app(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    with pytest.raises(StoreBehind, match="run `nurture db upgrade`"):
        create_app(settings=settings)


def test_the_variant_shows_on_the_outbox_and_the_touch_page(
    client: TestClient, store: Store
) -> None:
    add(store, "L9:ab:v1:e1:c1:hello", 5, lead_id="L9", variant="short-subject")
    listed = client.get("/outbox?lead=L9")
    assert listed.status_code == 200
    assert '<td class="variant">short-subject</td>' in listed.text
    page = client.get("/outbox/L9:ab:v1:e1:c1:hello")
    assert "<dt>Variant</dt><dd>short-subject</dd>" in page.text
    others = client.get("/outbox?lead=L7")
    assert '<td class="variant">—</td>' in others.text
