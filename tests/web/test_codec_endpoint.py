"""The remote codec endpoint the Temporal UI and CLI call: who may, CORS, keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from nurture.app import create_app
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.codec import EncryptionCodec, new_key, parse_keys
from tests.web.staff import add_staff, log_in

OLD, NEW = f"2026-06:{new_key()}", f"2026-12:{new_key()}"
TOKEN = "codec-token-for-tests-0123456789"
UI = "http://localhost:8233"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = Settings(
        data_dir=tmp_path, session_secret="s" * 40, codec_keys=f"{NEW},{OLD}", codec_token=TOKEN
    )
    app = create_app(settings, Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True))
    add_staff(app.state.store, "mo", "manager")
    add_staff(app.state.store, "rita", "rep", "sales", "marketing")
    return app


def body(*payloads: Payload) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def parsed(response: Any) -> list[Payload]:
    assert response.status_code == 200, response.text
    return list(json_format.ParseDict(response.json(), Payloads()).payloads)


PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email":"ann@acme.example"}')


async def test_managers_and_the_token_decode_reps_may_not(app: FastAPI) -> None:
    [sealed] = await EncryptionCodec(parse_keys(OLD)).encode([PLAIN])  # a retired key
    client = TestClient(app)
    assert client.post("/codec/decode", json=body(sealed)).status_code == 401
    wrong = client.post("/codec/decode", json=body(sealed), headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert parsed(client.post("/codec/decode", json=body(sealed), headers=auth)) == [PLAIN]
    log_in(client, "rita")
    refused = client.post("/codec/decode", json=body(sealed))
    assert refused.status_code == 403 and "manager or admin" in refused.json()["detail"]
    log_in(client, "mo")
    assert parsed(client.post("/codec/decode", json=body(sealed))) == [PLAIN]
    [encoded] = parsed(client.post("/codec/encode", json=body(PLAIN)))
    assert encoded.metadata["encryption-key-id"] == b"2026-12" and b"ann@" not in encoded.data
    assert parsed(client.post("/codec/decode", json=body(encoded))) == [PLAIN]


async def test_an_unknown_key_or_a_bad_body_fails_loudly(app: FastAPI) -> None:
    [sealed] = await EncryptionCodec(parse_keys(f"gone:{new_key()}")).encode([PLAIN])
    client = TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})
    r = client.post("/codec/decode", json=body(sealed))
    assert r.status_code == 422 and "key id 'gone'" in r.json()["detail"]
    assert client.post("/codec/decode", content=b"{nope").status_code == 400


def test_cors_admits_the_temporal_ui_with_credentials_only(app: FastAPI) -> None:
    client = TestClient(app)
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    r = client.options("/codec/decode", headers=preflight)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == UI
    assert r.headers["access-control-allow-credentials"] == "true"
    evil = client.options("/codec/decode", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
    # Only the codec answers cross-origin calls.
    page = client.get("/healthz", headers={"Origin": UI})
    assert "access-control-allow-origin" not in page.headers
