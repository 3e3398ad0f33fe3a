"""The send-once protocol of nurture/channels/base.py, with a scripted fake provider."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from temporalio.exceptions import ApplicationError

from nurture.cadence.render import Rendered
from nurture.channels.base import (
    Adopt,
    CredentialsRefused,
    Decision,
    NotSent,
    ProviderChannel,
    Rejected,
    Resend,
    Unclear,
    Unknown,
    credentials_refused,
    settled_result,
)
from nurture.channels.outbox import OutboxChannel
from nurture.contracts import Touch
from nurture.events import Channel
from nurture.store import Store, TouchRecord
from tests.channels.conftest import EMAIL, make_touch, refused_key


class Fake(ProviderChannel[str]):
    """Submits by running the next scripted step; reconciles with a fixed decision."""

    name = "fake"

    def __init__(
        self, store: Store, *steps: Callable[[], str], decision: Decision | None = None
    ) -> None:
        super().__init__(store)
        self.steps, self.decision = list(steps), decision or Resend()
        self.calls = 0

    def prepare(self, touch: Touch, rendered: Rendered) -> str:
        return touch.touch_id

    def submit(self, touch: Touch, request: str) -> str | None:
        self.calls += 1
        return self.steps.pop(0)()

    def reconcile(self, touch: Touch, row: TouchRecord, request: str) -> Decision:
        return self.decision


@pytest.fixture
def store(any_store: Store) -> Store:
    """The ledger on SQLite and PostgreSQL."""
    return any_store


def fail(exc: Exception) -> Callable[[], str]:
    def step() -> str:
        raise exc

    return step


def test_claim_before_the_call_and_sent_after(store: Store) -> None:
    touch = make_touch(Channel.email)
    seen: list[str | None] = []

    def step() -> str:
        row = store.get_touch(touch.touch_id)
        seen.append(row.status if row else None)
        return "P1"

    result = Fake(store, step).send(touch, EMAIL)
    assert seen == ["sending"]
    assert (result.status, result.provider, result.provider_id) == ("sent", "fake", "P1")
    row = store.get_touch(touch.touch_id)
    assert row is not None and settled_result(row) == result


@pytest.mark.parametrize(
    ("decision", "status", "calls"),
    [(Adopt("P0"), "sent", 0), (Resend(), "sent", 1), (Unknown("who knows"), "skipped", 0)],
)
def test_an_unfinished_claim_is_reconciled(
    store: Store, decision: Decision, status: str, calls: int
) -> None:
    touch = make_touch(Channel.email)
    fake = Fake(store, fail(Unclear("timed out")), lambda: "P1", decision=decision)
    with pytest.raises(ApplicationError):
        fake.send(touch, EMAIL)
    result = fake.send(touch, EMAIL)
    assert result.status == status and fake.calls == 1 + calls
    row = store.get_touch(touch.touch_id)
    assert row is not None
    assert row.status == {"sent": "sent", "skipped": "unknown"}[status]


def test_a_late_answer_overrides_unknown(store: Store) -> None:
    touch = make_touch(Channel.email)
    fake = Fake(store, fail(Unclear("timed out")), decision=Unknown("gave up"))
    with pytest.raises(ApplicationError):
        fake.send(touch, EMAIL)
    assert fake.send(touch, EMAIL).status == "skipped"
    fake._mark_sent(touch.touch_id, "P-late")  # the first attempt's answer arrives after all
    row = store.get_touch(touch.touch_id)
    assert row is not None and (row.status, row.provider_id) == ("sent", "P-late")


def test_rejected_and_not_sent(store: Store) -> None:
    refused, retried = make_touch(Channel.email, "a"), make_touch(Channel.email, "b")
    assert Fake(store, fail(Rejected("400 bad"))).send(refused, EMAIL).status == "failed"
    fake = Fake(store, fail(NotSent("refused")), lambda: "P2")
    with pytest.raises(ApplicationError) as caught:
        fake.send(retried, EMAIL)
    assert not caught.value.non_retryable
    assert fake.send(retried, EMAIL).provider_id == "P2"


def test_a_refused_key_keeps_the_touch_pending_never_failed(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    touch = make_touch(Channel.email)
    refusal = credentials_refused("Fake", 401, "the key was refused; check FAKE_KEY", "nope")
    assert isinstance(refusal, CredentialsRefused) and isinstance(refusal, NotSent)
    fake = Fake(store, fail(refusal), fail(refusal), lambda: "P1")
    for _ in range(2):
        message = refused_key(lambda: fake.send(touch, EMAIL), store, touch.touch_id, caplog)
        assert message.startswith("Fake 401: the key was refused; check FAKE_KEY (Fake said: nope)")
    result = fake.send(touch, EMAIL)
    assert (result.status, result.provider_id, fake.calls) == ("sent", "P1", 3)


def test_a_pending_touch_another_attempt_claimed_is_not_sent_twice(store: Store) -> None:
    touch = make_touch(Channel.email)
    fake = Fake(store, fail(NotSent("refused")), lambda: "P1")
    with pytest.raises(ApplicationError):
        fake.send(touch, EMAIL)
    store.update_touch(touch.touch_id, "sending", expect=("pending",))  # the other attempt
    fake.decision = Unknown("no lookup")
    assert fake.send(touch, EMAIL).status == "skipped" and fake.calls == 1


def test_a_claim_by_another_provider_is_not_resent(store: Store) -> None:
    touch = make_touch(Channel.email)
    other = Fake(store, fail(Unclear("timed out")))
    other.name = "other"
    with pytest.raises(ApplicationError):
        other.send(touch, EMAIL)
    fake = Fake(store, lambda: "P1")
    result = fake.send(touch, EMAIL)
    assert result.status == "skipped" and "through other" in (result.error or "")
    outbox = OutboxChannel(store).send(make_touch(Channel.email, "x"), EMAIL)
    assert outbox.status == "sent"
    assert OutboxChannel(store).send(touch, EMAIL).status == "skipped"  # never resent
