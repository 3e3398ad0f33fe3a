"""Fuzz: random payloads, correctly signed, to every webhook and POST /events: no server error
(the test client re-raises any exception), only a 2xx or a 4xx whose detail says what is wrong."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from nurture.channels.twilio import status_callback_url
from nurture.inbox.signatures import sign_body
from tests.inbox.test_webhooks import (  # noqa: F401 - fixtures used by name
    EVENTS_SECRET,
    PUBLIC,
    SMS_TOUCH,
    client,
    form_event,
    ledger,
    lob_event,
    lob_headers,
    sendgrid_key,
    settings,
    sg_event,
    sg_headers,
    twilio_post,
)

FUZZ = fuzz_settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OK = {200, 202}
REFUSED = {400, 413, 415, 422}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "email.open", "2026-03-02T15:00:00Z", "L1", SMS_TOUCH, "\x00", "[x]"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_object(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """A valid object with keys dropped, replaced by random values, or random keys added."""
    if draw(st.integers(0, 4)) == 0:
        return draw(values)
    result = dict(base)
    for key in list(result):
        how = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
        if how == "drop":
            del result[key]
        elif how == "replace":
            result[key] = draw(values)
    result.update(draw(st.dictionaries(st.text(max_size=8), values, max_size=2)))
    return result


def refused_well(response: Any) -> None:
    assert response.status_code in OK | REFUSED, (response.status_code, response.text)
    if response.status_code in REFUSED:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail.strip(), response.text


@FUZZ
@given(st.lists(mutated_object(form_event("f1")), min_size=1, max_size=3) | values)
def test_events_fuzz(client: TestClient, body: Any) -> None:  # noqa: F811
    raw = json.dumps(body).encode()
    refused_well(
        client.post(
            "/events", content=raw, headers={"X-Nurture-Signature": sign_body(EVENTS_SECRET, raw)}
        )
    )


@FUZZ
@given(st.lists(mutated_object(sg_event("open", "sg-1")), max_size=3) | values)
def test_sendgrid_fuzz(
    client: TestClient,  # noqa: F811
    sendgrid_key: ec.EllipticCurvePrivateKey,  # noqa: F811
    body: Any,
) -> None:
    raw = json.dumps(body).encode()
    refused_well(
        client.post("/webhooks/sendgrid", content=raw, headers=sg_headers(sendgrid_key, raw))
    )


@FUZZ
@given(mutated_object(json.loads(lob_event("letter.delivered", "evt_1"))))
def test_lob_fuzz(client: TestClient, body: Any) -> None:  # noqa: F811
    raw = json.dumps(body).encode()
    refused_well(client.post("/webhooks/lob", content=raw, headers=lob_headers(raw)))


@FUZZ
@given(
    st.sampled_from(["status", "inbound"]),
    st.dictionaries(
        st.sampled_from(
            [
                "CallSid",
                "CallStatus",
                "AnsweredBy",
                "MessageSid",
                "MessageStatus",
                "From",
                "To",
                "Body",
                "ErrorCode",
                "SmsSid",
                "x",
            ]
        ),
        st.text(max_size=20),
        max_size=6,
    ),
)
def test_twilio_fuzz(client: TestClient, which: str, params: dict[str, str]) -> None:  # noqa: F811
    url = (
        status_callback_url(PUBLIC, SMS_TOUCH)
        if which == "status"
        else f"{PUBLIC}/webhooks/twilio/inbound"
    )
    refused_well(twilio_post(client, url, params))
