"""Exactly-once email: cancellable sends (a batch per attempt, cancelled before a resend) and
reconcile by Email Activity lookup — against the counting stub (every path) and Prism (the
requests each mechanism makes are the spec's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sendgrid import SendGridAPIClient
from temporalio.exceptions import ApplicationError

from nurture.channels.email_attempts import EmailAttempts
from nurture.channels.sendgrid import SendGridChannel
from nurture.channels.sendgrid_certainty import CANCEL_LIMIT, Certainty
from nurture.events import Channel
from nurture.settings import Settings
from nurture.store import Store, utcnow
from tests.channels.conftest import EMAIL, make_touch, prism_mock
from tests.channels.stub import Failure, ProviderStub

DELAY = timedelta(minutes=11)


def channel(
    store: Store,
    host: str,
    *,
    delay: timedelta | None = None,
    lookup: bool = False,
    activity_delay: float = 0,
) -> SendGridChannel:
    adapter = SendGridChannel(
        store,
        SendGridAPIClient("SG.test-key", host=host),
        send_delay=delay,
        lookup=lookup,
        activity_delay=timedelta(seconds=activity_delay),
        timeout=0.5,
    )
    return adapter


def cut_off(adapter: SendGridChannel, stub: ProviderStub, touch_id: str) -> None:
    """The first Mail Send reaches SendGrid but its answer is lost (the worker gave up)."""
    stub.hold = 1.5
    with pytest.raises(ApplicationError) as lost:
        adapter.send(make_touch(Channel.email), EMAIL)
    assert lost.value.type == "ProviderOutcomeUnclear"
    stub.hold = 0
    assert adapter.store.get_touch(touch_id).status == "sending"  # type: ignore[union-attr]


def test_settings_turn_the_mechanisms_on(store: Store) -> None:
    settings = Settings(
        sendgrid_api_key="SG.k",
        sendgrid_send_delay=11,
        sendgrid_email_activity=True,
        sendgrid_activity_delay=60,
    )
    certainty = SendGridChannel.from_settings(settings, store).certainty
    assert certainty.send_delay == DELAY and certainty.lookup
    assert certainty.activity_delay == timedelta(seconds=60)
    with pytest.raises(ValueError, match="greater than or equal to 11"):
        Settings(sendgrid_send_delay=5)


def test_an_unclear_send_is_cancelled_and_sent_again_in_a_new_batch(store: Store) -> None:
    touch = make_touch(Channel.email)
    with ProviderStub() as stub:
        adapter = channel(store, stub.url, delay=DELAY)
        cut_off(adapter, stub, touch.touch_id)
        result = adapter.send(touch, EMAIL)
        assert result.status == "sent", result.error
        assert stub.emails_out() == {touch.touch_id: 1}
        sends = stub.creates("/v3/mail/send")
        assert len(sends) == 2
        first, second = (s.body["batch_id"] for s in sends)
        assert first != second and stub.batches == {first: "cancel", second: None}
        send_at = sends[1].body["send_at"]
        assert send_at >= (utcnow() + DELAY - timedelta(seconds=5)).timestamp()
        assert [r.path for r in stub.requests] == [
            "/v3/mail/batch",
            "/v3/mail/send",
            "/v3/user/scheduled_sends",
            "/v3/mail/batch",
            "/v3/mail/send",
        ]
        assert adapter.send(touch, EMAIL).status == "sent"  # settled: nothing more
        assert len(stub.requests) == 5


def test_a_worker_killed_before_posting_resends_without_a_cancel(store: Store) -> None:
    touch = make_touch(Channel.email)
    attempts = EmailAttempts(store)
    with ProviderStub() as stub:
        adapter = channel(store, stub.url, delay=DELAY)
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
            summary="",
        )
        attempts.start(touch.touch_id)  # died before the batch was made
        assert adapter.send(touch, EMAIL).status == "sent"
        assert [r.path for r in stub.requests] == ["/v3/mail/batch", "/v3/mail/send"]


def test_the_cancel_limit_queues_the_cancel_or_falls_back(store: Store) -> None:
    touch = make_touch(Channel.email)
    attempts = EmailAttempts(store)
    with ProviderStub() as stub:
        adapter = channel(store, stub.url, delay=DELAY)
        cut_off(adapter, stub, touch.touch_id)
        for n in range(CANCEL_LIMIT):  # every slot held by batches sent in 30 minutes
            number = attempts.start(f"other{n}")
            attempts.posting(f"other{n}", number, f"b{n}", utcnow() + timedelta(minutes=30))
            attempts.mark(f"other{n}", number, "cancelled")
        result = adapter.send(touch, EMAIL)  # the slots free after this batch's deadline
        assert result.status == "skipped"
        assert "limit of 10 cancelled batches" in (result.error or "")
        assert stub.emails_out() == {touch.touch_id: 1}


def test_a_full_cancel_limit_waits_for_a_slot_that_frees_in_time(store: Store) -> None:
    touch = make_touch(Channel.email)
    attempts = EmailAttempts(store)
    with ProviderStub() as stub:
        adapter = channel(store, stub.url, delay=timedelta(hours=2))
        cut_off(adapter, stub, touch.touch_id)
        for n in range(CANCEL_LIMIT):
            number = attempts.start(f"other{n}")
            attempts.posting(f"other{n}", number, f"b{n}", utcnow() + timedelta(minutes=5))
            attempts.mark(f"other{n}", number, "cancelled")
        with pytest.raises(ApplicationError) as queued:
            adapter.send(touch, EMAIL)
        assert queued.value.type == "ProviderReconcileLater"
        assert "queued" in str(queued.value)
        delay = queued.value.next_retry_delay
        assert delay is not None and timedelta(minutes=19) < delay < timedelta(minutes=21)


def test_sendgrid_refusing_the_cancel_falls_back_to_the_lookup(store: Store) -> None:
    touch = make_touch(Channel.email)
    with ProviderStub() as stub:
        stub.cancel_limit = 0  # SendGrid counts cancellations we do not know of
        adapter = channel(store, stub.url, delay=DELAY, lookup=True)
        cut_off(adapter, stub, touch.touch_id)
        stub.activity_delay = 3600  # the scheduled message is not listed yet
        with pytest.raises(ApplicationError) as later:
            adapter.send(touch, EMAIL)
        assert later.value.type == "ProviderReconcileLater"
        stub.activity_delay = 0
        adapter.certainty.activity_delay = timedelta(0)
        sent = adapter.send(touch, EMAIL)
        assert sent.status == "sent" and sent.provider_id
        assert stub.emails_out() == {touch.touch_id: 1}


def test_too_late_to_cancel_without_a_lookup_is_unknown(store: Store) -> None:
    touch = make_touch(Channel.email)
    with ProviderStub() as stub:
        adapter = channel(store, stub.url, delay=timedelta(minutes=5))  # inside the 10 minutes
        cut_off(adapter, stub, touch.touch_id)
        result = adapter.send(touch, EMAIL)
        assert result.status == "skipped" and "too late to cancel" in (result.error or "")
        assert len(stub.creates("/v3/mail/send")) == 1


def test_a_lookup_finds_the_message_and_adopts_it(store: Store) -> None:
    touch = make_touch(Channel.email)
    with ProviderStub() as stub:
        adapter = channel(store, stub.url, lookup=True)
        cut_off(adapter, stub, touch.touch_id)
        result = adapter.send(touch, EMAIL)
        [posted] = stub.creates("/v3/mail/send")
        assert result.status == "sent" and result.provider_id == posted.message_id
        [looked] = [r for r in stub.requests if r.path == "/v3/messages"]
        assert looked.query["query"] == [f"unique_args['touch_id']=\"{touch.touch_id}\""]
        assert "batch_id" not in posted.body


def test_a_lookup_waits_for_the_indexing_delay_then_resends(store: Store) -> None:
    touch = make_touch(Channel.email)
    with ProviderStub() as stub:
        adapter = channel(store, stub.url, lookup=True, activity_delay=120)
        stub.failures.append(Failure(500, 1, path_prefix="/v3/mail/send"))
        with pytest.raises(ApplicationError):
            adapter.send(touch, EMAIL)  # 500: maybe queued (here: not)
        with pytest.raises(ApplicationError) as later:
            adapter.send(touch, EMAIL)
        assert later.value.type == "ProviderReconcileLater"
        delay = later.value.next_retry_delay
        assert delay is not None and timedelta(seconds=100) < delay <= timedelta(seconds=121)
        adapter.certainty.activity_delay = timedelta(0)
        assert adapter.send(touch, EMAIL).status == "sent"
        assert stub.emails_out() == {touch.touch_id: 1}
        assert len(stub.creates("/v3/mail/send")) == 2


# ---------------------------------------------------------------- Prism: the spec's requests


@pytest.fixture(scope="module")
def scheduled_sends_mock(prism_logs: Path) -> Iterator[str]:
    with prism_mock("sendgrid_scheduled_sends_v3.json", prism_logs) as url:
        yield url


@pytest.fixture(scope="module")
def email_activity_mock(prism_logs: Path) -> Iterator[str]:
    with prism_mock("sendgrid_email_activity_v3.json", prism_logs) as url:
        yield url


def test_a_scheduled_send_in_its_batch_is_the_specs(store: Store, sendgrid_mock: str) -> None:
    adapter = channel(store, sendgrid_mock, delay=DELAY)
    adapter.timeout = 10
    result = adapter.send(make_touch(Channel.email), EMAIL)
    assert result.status == "sent", result.error
    attempt = EmailAttempts(store).latest(make_touch(Channel.email).touch_id)
    assert attempt is not None and attempt.batch_id and attempt.send_at


def test_the_cancel_is_the_specs(store: Store, scheduled_sends_mock: str) -> None:
    attempts = EmailAttempts(store)
    number = attempts.start("T1")
    attempts.posting("T1", number, "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi", utcnow() + DELAY)
    certainty = Certainty(
        SendGridAPIClient("SG.k", host=scheduled_sends_mock),
        attempts,
        send_delay=DELAY,
        timeout=10,
    )
    row = attempts.latest("T1")
    assert row is not None
    assert certainty._cancel(row) is None
    assert attempts.latest("T1").status == "cancelled"  # type: ignore[union-attr]


def test_the_lookup_is_the_specs(store: Store, email_activity_mock: str) -> None:
    attempts = EmailAttempts(store)
    number = attempts.start("T1")
    attempts.posting("T1", number, None, None)
    certainty = Certainty(
        SendGridAPIClient("SG.k", host=email_activity_mock), attempts, lookup=True, timeout=10
    )
    row = attempts.latest("T1")
    assert row is not None
    decision = certainty._look_up("T1", row, "test")
    assert decision.provider_id == "abc123"  # type: ignore[union-attr]  # the spec's example
