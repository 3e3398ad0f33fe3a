"""SendGrid: the real SDK against Prism (spec-checked requests) and the stub (failures)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from python_http_client.exceptions import BadRequestsError
from sendgrid import SendGridAPIClient
from temporalio.exceptions import ApplicationError

from nurture.channels.sendgrid import SendGridChannel
from nurture.events import Channel
from nurture.settings import Settings
from nurture.store import Store
from tests.channels.conftest import EMAIL, SENDER, closed_port_url, make_touch, refused_key
from tests.channels.stub import ProviderStub


def channel(
    store: Store, host: str, *, group: int | None = 42, timeout: float = 5
) -> SendGridChannel:
    """The adapter built from settings, as the worker builds it."""
    settings = Settings(
        sendgrid_api_key="SG.test-key", sendgrid_host=host, sendgrid_unsubscribe_group=group
    )
    adapter = SendGridChannel.from_settings(settings, store)
    adapter.timeout = timeout
    return adapter


def test_mail_carries_touch_identity_content_and_settings(store: Store) -> None:
    touch = make_touch(Channel.email, "intro")
    body = channel(store, "http://unused").prepare(touch, EMAIL)
    assert body["from"] == {"email": "sam@example.com", "name": "Sam Sender"}
    assert body["reply_to"] == {"email": "replies@example.com"}
    assert body["subject"] == "Hello Ann"
    [person] = body["personalizations"]
    assert person["to"] == [{"email": "l7@example.com", "name": "Ann Lee"}]
    assert person["custom_args"] == {"touch_id": touch.touch_id, "lead_id": "L7"}
    assert "custom_args" not in body  # the spec only takes them per personalization
    assert body["content"] == [
        {"type": "text/plain", "value": "Hi Ann,\nplain."},
        {"type": "text/html", "value": "<p>Hi Ann</p>"},
    ]
    assert sorted(body["categories"]) == ["test", "test:intro"]
    assert body["asm"] == {"group_id": 42}
    assert body["tracking_settings"] == {
        "click_tracking": {"enable": True, "enable_text": False},
        "open_tracking": {"enable": True},
    }
    no_group = channel(store, "http://unused", group=None).prepare(touch, EMAIL)
    assert "asm" not in no_group


def test_valid_send_is_accepted_by_the_spec(store: Store, sendgrid_mock: str) -> None:
    touch = make_touch(Channel.email)
    result = channel(store, sendgrid_mock).send(touch, EMAIL)
    assert result.status == "sent", result.error
    assert result.provider == "sendgrid"
    row = store.get_touch(touch.touch_id)
    assert row is not None
    assert (row.status, row.provider, row.channel) == ("sent", "sendgrid", "email")
    assert (row.subject, row.body_text, row.body_html) == (EMAIL.subject, EMAIL.text, EMAIL.html)
    assert row.recipient == "l7@example.com" and row.sent_at is not None and row.error is None


def test_the_mock_refuses_what_the_spec_refuses(sendgrid_mock: str) -> None:
    """Prism validates: the message-level custom_args object is a spec violation."""
    api = SendGridAPIClient("SG.test-key", host=sendgrid_mock)
    body: dict[str, Any] = channel(Store("sqlite://"), sendgrid_mock).prepare(
        make_touch(Channel.email), EMAIL
    )
    body["custom_args"] = {"touch_id": "x"}
    with pytest.raises(BadRequestsError) as caught:
        api.client.mail.send.post(request_body=body, timeout=5)
    assert "custom_args" in caught.value.headers["sl-violations"]


def test_a_request_breaking_the_spec_fails_the_touch(store: Store, sendgrid_mock: str) -> None:
    """A malformed sender address: Prism answers 400, the channel stops for this lead."""
    touch = make_touch(Channel.email, sender={**SENDER, "email": "not-an-address"})
    result = channel(store, sendgrid_mock).send(touch, EMAIL)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("SendGrid 400")
    row = store.get_touch(touch.touch_id)
    assert row is not None and (row.status, row.error) == ("failed", result.error)
    again = channel(store, sendgrid_mock).send(touch, EMAIL)  # a retry returns the record
    assert (again.status, again.error) == ("failed", result.error)


@pytest.mark.parametrize("code", [403, 404, 413])
def test_permanent_answers_fail_the_touch(store: Store, sendgrid_mock: str, code: int) -> None:
    adapter = channel(store, sendgrid_mock)
    adapter.api.client.request_headers["Prefer"] = f"code={code}"
    result = adapter.send(make_touch(Channel.email), EMAIL)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith(f"SendGrid {code}")


@pytest.mark.parametrize("code", [401])
def test_the_specs_key_refusals_keep_the_touch_pending(
    store: Store, sendgrid_mock: str, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The spec's own 401 answer: our key is wrong, not the lead; retried."""
    adapter, touch = channel(store, sendgrid_mock), make_touch(Channel.email)
    adapter.api.client.request_headers["Prefer"] = f"code={code}"
    message = refused_key(lambda: adapter.send(touch, EMAIL), store, touch.touch_id, caplog)
    assert message.startswith(f"SendGrid {code}: ") and "NURTURE_SENDGRID_API_KEY" in message
    del adapter.api.client.request_headers["Prefer"]
    assert adapter.send(touch, EMAIL).status == "sent"


@pytest.mark.parametrize("code", [401])
def test_a_refused_key_is_retried_until_fixed_then_sent_once(
    store: Store, stub: ProviderStub, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    stub.fail(code, times=2)  # two attempts before the key is fixed
    adapter, touch = channel(store, stub.url), make_touch(Channel.email)
    for _ in range(2):
        message = refused_key(lambda: adapter.send(touch, EMAIL), store, touch.touch_id, caplog)
        assert message.startswith(f"SendGrid {code}: ")
        assert "check NURTURE_SENDGRID_API_KEY" in message and "stub failure" in message
    row = store.get_touch(touch.touch_id)
    assert row is not None and row.error is not None and row.error.startswith(f"SendGrid {code}")
    result = adapter.send(touch, EMAIL)
    assert (result.status, result.provider_id) == ("sent", "sg-1")
    assert adapter.send(touch, EMAIL).provider_id == "sg-1"  # settled: no further request
    assert len(stub.creates("/v3/mail/send")) == 3  # two refused, one accepted
    row = store.get_touch(touch.touch_id)
    assert row is not None and (row.status, row.error) == ("sent", None)


def test_500_is_retried_then_settled_unknown_never_resent(store: Store, sendgrid_mock: str) -> None:
    adapter = channel(store, sendgrid_mock)
    adapter.api.client.request_headers["Prefer"] = "code=500"
    touch = make_touch(Channel.email)
    with pytest.raises(ApplicationError) as caught:
        adapter.send(touch, EMAIL)
    assert not caught.value.non_retryable
    assert caught.value.type == "ProviderOutcomeUnclear"
    row = store.get_touch(touch.touch_id)
    assert row is not None and row.status == "sending" and "SendGrid 500" in (row.error or "")
    del adapter.api.client.request_headers["Prefer"]
    result = adapter.send(touch, EMAIL)  # the retry: SendGrid may have it, so no resend
    assert result.status == "skipped"
    assert result.error is not None and result.error.startswith("delivery unknown (SendGrid 500")
    row = store.get_touch(touch.touch_id)
    assert row is not None and row.status == "unknown"


def test_429_is_retried_after_its_delay_and_sent_once(store: Store, stub: ProviderStub) -> None:
    stub.fail(429, times=1, **{"Retry-After": "7"})
    adapter, touch = channel(store, stub.url), make_touch(Channel.email)
    with pytest.raises(ApplicationError) as caught:
        adapter.send(touch, EMAIL)
    assert caught.value.type == "ProviderNotSent" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    row = store.get_touch(touch.touch_id)
    assert row is not None and row.status == "pending"
    result = adapter.send(touch, EMAIL)
    assert result.status == "sent" and result.provider_id == "sg-1"
    assert len(stub.creates("/v3/mail/send")) == 2  # one refused, one accepted
    assert adapter.send(touch, EMAIL).provider_id == "sg-1"  # settled: no third request
    assert len(stub.creates("/v3/mail/send")) == 2


def test_503_means_not_queued_and_is_resent(store: Store, stub: ProviderStub) -> None:
    stub.fail(503, times=1)
    adapter, touch = channel(store, stub.url), make_touch(Channel.email)
    with pytest.raises(ApplicationError, match="not sent"):
        adapter.send(touch, EMAIL)
    assert adapter.send(touch, EMAIL).status == "sent"


@pytest.mark.parametrize("how", ["502", "timeout", "dropped"])
def test_unclear_failures_are_never_resent(store: Store, stub: ProviderStub, how: str) -> None:
    if how == "502":
        stub.fail(502, times=1)
    elif how == "timeout":
        stub.delay = 1.5
    else:
        stub.drop = True
    adapter, touch = channel(store, stub.url, timeout=0.5), make_touch(Channel.email)
    with pytest.raises(ApplicationError) as caught:
        adapter.send(touch, EMAIL)
    assert caught.value.type == "ProviderOutcomeUnclear"
    stub.delay, stub.drop = 0, False
    result = adapter.send(touch, EMAIL)
    assert result.status == "skipped" and "not resent" in (result.error or "")
    assert len(stub.creates("/v3/mail/send")) == 1


def test_connection_refused_is_retried(store: Store) -> None:
    adapter, touch = channel(store, closed_port_url()), make_touch(Channel.email)
    with pytest.raises(ApplicationError, match="unreachable") as caught:
        adapter.send(touch, EMAIL)
    assert caught.value.type == "ProviderNotSent"
    row = store.get_touch(touch.touch_id)
    assert row is not None and row.status == "pending"


def test_worker_died_mid_call_is_settled_unknown(store: Store, stub: ProviderStub) -> None:
    """A 'sending' row without an error: the worker died during the request."""
    adapter, touch = channel(store, stub.url), make_touch(Channel.email)
    store.record_touch(
        touch_id=touch.touch_id,
        lead_id="L7",
        cadence="test",
        cadence_version=1,
        cycle=1,
        step_id="s1",
        channel="email",
        provider="sendgrid",
        status="sending",
        summary=touch.summary,
    )
    result = adapter.send(touch, EMAIL)
    assert result.status == "skipped"
    assert "the worker stopped during the SendGrid request" in (result.error or "")
    assert stub.creates("/") == []


def test_an_email_without_sender_is_skipped_before_any_request(
    store: Store, stub: ProviderStub
) -> None:
    result = channel(store, stub.url).send(make_touch(Channel.email, sender=None), EMAIL)
    assert result.status == "skipped" and "no sender" in (result.error or "")
    assert stub.requests == [] and store.count_touches() == 0
