"""Secret settings never show: not in the web app's logs, answers or error pages, whatever a
request does (a failed login, a wrong token, a bad signature, a crash)."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nurture.app import create_app
from nurture.settings import Settings
from nurture.store import Store
from tests.inbox.test_webhooks import closed_port
from tests.web.staff import add_staff, csrf_of, log_in

KEY = base64.b64encode(b"secret-codec-key-32-bytes-long!!").decode()
SECRETS = {
    "temporal_api_key": "secret-temporal-api-key",
    "metrics_token": "secret-metrics-token-0123456789",
    "sendgrid_api_key": "SG.secret-sendgrid-key",
    "twilio_auth_token": "secret-twilio-auth-token",
    "lob_api_key": "test_secret-lob-key",
    "lob_webhook_secret": "secret-lob-webhook",
    "events_token": "secret-events-token",
    "events_hmac_secret": "secret-events-hmac",
    "session_secret": "secret-session-" + "s" * 30,
    "codec_keys": f"k1:{KEY}",
    "codec_token": "secret-codec-token",
}
SHOWN = [v for k, v in SECRETS.items() if k != "codec_keys"] + [KEY]


def test_every_secret_setting_is_covered() -> None:
    secret = {n for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
    assert secret == set(SECRETS)


def test_no_log_answer_or_error_page_shows_a_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        data_dir=tmp_path,
        temporal_address=f"127.0.0.1:{closed_port()}",
        **SECRETS,  # type: ignore[arg-type]  # pydantic makes each a SecretStr
    )
    app = create_app(settings, Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True))

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError(f"a bug, with the settings in its message: {settings!r}")

    add_staff(app.state.store, "ada", "admin")
    seen: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/desk/login").text
        wrong = {"username": "ada", "password": "wrong", "csrf_token": csrf_of(page)}
        answers = [
            client.post("/desk/login", data=wrong),
            client.get("/outbox", follow_redirects=False),
            client.get("/metrics", headers={"Authorization": "Bearer nope"}),
            client.get("/metrics", headers={"Authorization": f"Bearer {SECRETS['metrics_token']}"}),
            client.post("/codec/decode", json={"payloads": []}, headers={"Authorization": "x"}),
            client.post("/events", json={"id": "e1"}, headers={"Authorization": "Bearer nope"}),
            client.post("/webhooks/lob", content=b"{}", headers={"Lob-Signature": "nope"}),
            client.post("/webhooks/twilio/status", data={"MessageSid": "SM1"}),
            client.post("/webhooks/sendgrid", content=b"[]"),
            client.get("/crash"),
        ]
        log_in(client, "ada")
        answers += [client.get(url) for url in ("/docs", "/openapi.json", "/outbox", "/inbox")]
        for answer in answers:
            seen.append(f"{answer.status_code} {dict(answer.headers)} {answer.text}")
    crashed = answers[9]
    assert crashed.status_code == 500 and crashed.text == "Internal Server Error"
    out, errors = capfd.readouterr()
    # what a server logs of a crash: its message, which here carries the settings' forms
    dumped = [repr(settings), str(settings.model_dump()), settings.model_dump_json()]
    shown = "\n".join([*seen, caplog.text, out, errors, *dumped])
    leaked = [name for name, value in zip(SECRETS, SHOWN, strict=True) if value in shown]
    assert not leaked, f"secret settings shown: {leaked}"
