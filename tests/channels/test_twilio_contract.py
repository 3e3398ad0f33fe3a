"""Twilio: SMS and voicemail drops with the real SDK against Prism and the stub."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from temporalio.exceptions import ApplicationError

from nurture.channels.twilio import TwilioChannel
from nurture.contracts import Touch
from nurture.events import Channel
from nurture.settings import Settings
from nurture.store import Store, utcnow
from tests.channels.conftest import TEXT, TWILIO_SID, closed_port_url, make_touch, refused_key
from tests.channels.stub import ProviderStub

FROM = "+14155550100"
PUBLIC = "https://nurture.example.com"


def channel(store: Store, base: str, public_url: str = PUBLIC) -> TwilioChannel:
    """The adapter built from settings, as the worker builds it."""
    settings = Settings(
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token="test-token",
        twilio_from=FROM,
        twilio_api_base=base,
        public_url=public_url,
    )
    return TwilioChannel.from_settings(settings, store)


def claim(store: Store, touch: Touch, minutes_ago: float = 0) -> None:
    """A 'sending' row as a worker that died mid-call leaves it."""
    store.record_touch(
        touch_id=touch.touch_id,
        lead_id=touch.lead.id,
        cadence=touch.cadence,
        cadence_version=1,
        cycle=1,
        step_id=touch.step_id,
        channel=touch.channel.value,
        provider="twilio",
        status="sending",
        summary=touch.summary,
        body_text=TEXT.text,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )


def test_voicemail_call_asks_for_amd_twiml_and_callbacks(store: Store) -> None:
    touch = make_touch(Channel.voicemail, "vm#2")
    request = channel(store, "http://unused", PUBLIC + "/").prepare(touch, TEXT)
    params = request.params
    assert request.kind == "voicemail"
    assert (params["to"], params["from_"]) == ("+14155550123", FROM)
    assert params["machine_detection"] == "DetectMessageEnd"
    assert params["url"] == f"{PUBLIC}/twilio/voicemail/L7:test:v1:e1:c1:vm%232"
    callback = urlsplit(params["status_callback"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == (
        f"{PUBLIC}/webhooks/twilio/status"
    )
    assert parse_qs(callback.query) == {"touch_id": [touch.touch_id]}
    assert "completed" in params["status_callback_event"]


def test_sms_and_voicemail_are_accepted_by_the_spec(store: Store, twilio_mock: str) -> None:
    adapter = channel(store, twilio_mock)
    sms = adapter.send(make_touch(Channel.sms, "nudge"), TEXT)
    assert sms.status == "sent", sms.error
    assert sms.provider == "twilio" and (sms.provider_id or "").startswith("SM")
    call = adapter.send(make_touch(Channel.voicemail, "vm"), TEXT)
    assert call.status == "sent", call.error
    assert (call.provider_id or "").startswith("CA")
    row = store.get_touch(make_touch(Channel.voicemail, "vm").touch_id)
    assert row is not None and row.status == "sent"
    assert row.body_text == TEXT.text  # what the TwiML endpoint will say


def test_a_request_breaking_the_spec_fails_the_touch(store: Store, twilio_mock: str) -> None:
    """Callback URLs that are not URIs: Prism refuses them, the channel stops for the lead."""
    result = channel(store, twilio_mock, public_url="not a url").send(make_touch(Channel.sms), TEXT)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("Twilio 422")


def test_reconcile_lists_within_the_spec(store: Store, twilio_mock: str) -> None:
    """The list request passes the spec; Prism's examples are years old, so: resend."""
    adapter, touch = channel(store, twilio_mock), make_touch(Channel.voicemail)
    claim(store, touch)
    result = adapter.send(touch, TEXT)
    assert result.status == "sent" and (result.provider_id or "").startswith("CA")


@pytest.mark.parametrize("kind", [Channel.sms, Channel.voicemail])
def test_a_worker_that_died_mid_call_adopts_twilios_record(
    store: Store, stub: ProviderStub, kind: Channel
) -> None:
    adapter, touch = channel(store, stub.url), make_touch(kind)
    claim(store, touch)
    first = adapter.submit(touch, adapter.prepare(touch, TEXT))  # reached Twilio, then died
    result = adapter.send(touch, TEXT)
    assert (result.status, result.provider_id) == ("sent", first)
    assert len(stub.twilio_records) == 1
    row = store.get_touch(touch.touch_id)
    assert row is not None and (row.status, row.provider_id) == ("sent", first)


def test_reconcile_resends_when_twilio_has_nothing_new(store: Store, stub: ProviderStub) -> None:
    """Records older than the claim, or already another touch's, are not adopted."""
    adapter = channel(store, stub.url)
    other = make_touch(Channel.sms, "other")
    assert adapter.send(other, TEXT).status == "sent"  # same number, same body, another touch
    touch = make_touch(Channel.sms, "mine")
    claim(store, touch)
    result = adapter.send(touch, TEXT)
    assert result.status == "sent"
    assert len(stub.twilio_records) == 2
    assert len({r["sid"] for r in stub.twilio_records}) == 2


@pytest.mark.parametrize("kind", [Channel.sms, Channel.voicemail])
def test_the_cadence_caller_id_is_the_sender_and_what_reconcile_lists(
    store: Store, stub: ProviderStub, twilio_mock: str, kind: Channel
) -> None:
    """A cadence's ``calendar.caller_id`` replaces NURTURE_TWILIO_FROM for its touches."""
    cadence_number = "+13125550199"
    touch = make_touch(kind, "own-number", caller_id=cadence_number)
    assert channel(store, twilio_mock).send(touch, TEXT).status == "sent"  # within the spec
    stub.fail(500, times=1)
    other = make_touch(kind, "unclear", caller_id=cadence_number)
    adapter = channel(store, stub.url)
    with pytest.raises(ApplicationError):
        adapter.send(other, TEXT)
    assert adapter.send(other, TEXT).status == "sent"
    assert [r["from"] for r in stub.twilio_records] == [cadence_number]
    gets = [r for r in stub.requests if r.method == "GET"]
    assert gets and gets[0].query["From"] == [cadence_number]


def test_429_is_not_sent_and_resent(store: Store, stub: ProviderStub) -> None:
    stub.fail(429, times=1)
    adapter, touch = channel(store, stub.url), make_touch(Channel.sms)
    with pytest.raises(ApplicationError) as caught:
        adapter.send(touch, TEXT)
    assert caught.value.type == "ProviderNotSent" and not caught.value.non_retryable
    row = store.get_touch(touch.touch_id)
    assert row is not None and row.status == "pending"
    assert adapter.send(touch, TEXT).status == "sent"
    assert len(stub.twilio_records) == 1


def test_5xx_is_retried_and_reconciled(store: Store, stub: ProviderStub) -> None:
    stub.fail(500, times=1)
    adapter, touch = channel(store, stub.url), make_touch(Channel.voicemail)
    with pytest.raises(ApplicationError) as caught:
        adapter.send(touch, TEXT)
    assert caught.value.type == "ProviderOutcomeUnclear"
    result = adapter.send(touch, TEXT)  # nothing was created: the retry lists, then resends
    assert result.status == "sent"
    assert len(stub.twilio_records) == 1
    gets = [r for r in stub.requests if r.method == "GET"]
    assert gets and gets[0].query["To"] == ["+14155550123"] and gets[0].query["From"] == [FROM]


@pytest.mark.parametrize("code", [400, 403, 404])
def test_permanent_answers_fail_the_touch(store: Store, stub: ProviderStub, code: int) -> None:
    stub.fail(code)
    result = channel(store, stub.url).send(make_touch(Channel.sms), TEXT)
    assert result.status == "failed" and (result.error or "").startswith(f"Twilio {code}")


@pytest.mark.parametrize("kind", [Channel.sms, Channel.voicemail])
@pytest.mark.parametrize("code", [401])
def test_a_refused_key_is_retried_until_fixed_then_sent_once(
    store: Store, stub: ProviderStub, code: int, kind: Channel, caplog: pytest.LogCaptureFixture
) -> None:
    stub.fail(code, times=2)  # two attempts before the credentials are fixed
    adapter, touch = channel(store, stub.url), make_touch(kind)
    for _ in range(2):
        message = refused_key(lambda: adapter.send(touch, TEXT), store, touch.touch_id, caplog)
        assert message.startswith(f"Twilio {code}: ")
        assert "NURTURE_TWILIO_ACCOUNT_SID" in message and "NURTURE_TWILIO_AUTH_TOKEN" in message
    result = adapter.send(touch, TEXT)
    assert result.status == "sent"
    assert [r["sid"] for r in stub.twilio_records] == [result.provider_id]
    assert adapter.send(touch, TEXT).provider_id == result.provider_id  # settled
    assert len(stub.creates("/2010-04-01/")) == 3  # two refused, one created
    assert not [r for r in stub.requests if r.method == "GET"]  # pending: no reconciling


def test_a_timeout_after_twilio_acted_adopts_its_record(store: Store, stub: ProviderStub) -> None:
    stub.hold = 1.5  # Twilio creates the message, then answers too late
    adapter, touch = channel(store, stub.url), make_touch(Channel.sms)
    adapter.client.http_client.timeout = 0.5
    with pytest.raises(ApplicationError, match="outcome unknown"):
        adapter.send(touch, TEXT)
    result = adapter.send(touch, TEXT)
    assert [r["sid"] for r in stub.twilio_records] == [result.provider_id]


def test_a_reset_before_twilio_acted_is_resent_once(store: Store, stub: ProviderStub) -> None:
    stub.drop = True
    adapter, touch = channel(store, stub.url), make_touch(Channel.sms)
    with pytest.raises(ApplicationError, match="outcome unknown"):
        adapter.send(touch, TEXT)
    stub.drop = False
    assert adapter.send(touch, TEXT).status == "sent"
    assert len(stub.twilio_records) == 1


def test_connection_refused_is_retried(store: Store) -> None:
    adapter, touch = channel(store, closed_port_url()), make_touch(Channel.sms)
    with pytest.raises(ApplicationError, match="unreachable") as caught:
        adapter.send(touch, TEXT)
    assert caught.value.type == "ProviderNotSent"
