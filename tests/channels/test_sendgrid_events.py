"""SendGrid's processed/delivered events settle an ``unknown`` email as ``sent`` in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from nurture.channels.sendgrid import SendGridChannel
from nurture.events import Channel
from nurture.inbox.payloads import sendgrid_item
from nurture.inbox.sendgrid import PROVIDER, confirm_unknown, message_id
from nurture.inbox.store import InboxItem
from nurture.settings import Settings
from nurture.store import Store, TouchRecord
from tests.channels.conftest import EMAIL, make_touch
from tests.channels.stub import ProviderStub

TOUCH = "L7:test:v1:e1:c1:s1"
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def event(name: str = "processed", touch_id: str | None = TOUCH, **over: Any) -> InboxItem:
    """A SendGrid event as the webhook parses it."""
    values: dict[str, Any] = {
        "event": name,
        "sg_event_id": f"ev-{name}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "timestamp": int(AT.timestamp()),
        "touch_id": touch_id,
        "lead_id": "L7",
        **over,
    }
    return sendgrid_item(values, datetime.now(UTC))


def row(store: Store, status: str, touch_id: str = TOUCH, provider: str = PROVIDER) -> None:
    store.record_touch(
        touch_id=touch_id,
        lead_id="L7",
        cadence="test",
        cadence_version=1,
        cycle=1,
        step_id="s1",
        channel="email",
        provider=provider,
        status=status,
        error="delivery unknown (SendGrid 502: bad gateway); not resent",
        summary="email 1/3",
    )


def columns(store: Store, touch_id: str = TOUCH) -> tuple[Any, ...]:
    found = store.get_touch(touch_id)
    assert found is not None
    return (found.status, found.provider_id, found.error, found.sent_at)


def test_message_id_drops_what_sendgrid_appends() -> None:
    assert message_id("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0") == (
        "14c5d75ce93.dfd.64b469"
    )
    assert message_id("LRzXl66MQHmuXK7ff_AJ5g.recvd-5bb4f5d4dc-wx5tp-1-64C2A4F0-1D.0") == (
        "LRzXl66MQHmuXK7ff_AJ5g"
    )
    assert message_id("Ctt1jcG7Qk2YJPOYWDv5sg") == "Ctt1jcG7Qk2YJPOYWDv5sg"
    assert SendGridChannel.name == PROVIDER  # the ledger's provider name


@pytest.mark.parametrize("name", ["processed", "delivered"])
def test_an_unknown_touch_becomes_sent_once(store: Store, name: str) -> None:
    row(store, "unknown")
    assert confirm_unknown(store, [event(name), event(name)]) == [TOUCH]
    status, provider_id, error, sent_at = columns(store)
    assert (status, provider_id, sent_at) == ("sent", "14c5d75ce93.dfd.64b469", AT)
    assert error is not None and error.startswith(f"confirmed by SendGrid's {name} event")
    before = columns(store)
    assert confirm_unknown(store, [event("processed"), event("delivered")]) == []  # re-delivered
    assert columns(store) == before


@pytest.mark.parametrize("status", ["sending", "pending", "sent", "failed"])
def test_rows_in_any_other_status_are_never_touched(store: Store, status: str) -> None:
    row(store, status)
    before = columns(store)
    assert confirm_unknown(store, [event("processed"), event("delivered")]) == []
    assert columns(store) == before


def test_only_acceptance_events_for_sendgrid_rows_count(store: Store) -> None:
    row(store, "unknown")
    row(store, "unknown", touch_id="L7:test:v1:e1:c1:mail", provider="lob")
    before = columns(store)
    others = [event(name) for name in ("open", "click", "bounce", "dropped", "deferred")]
    ignored = [
        *others,
        event(touch_id=None),
        event(touch_id="L9:test:v1:e1:c1:gone"),  # not in the ledger
        event(touch_id="L7:test:v1:e1:c1:mail"),  # a Lob row
    ]
    assert confirm_unknown(store, ignored) == []
    assert columns(store) == before
    assert columns(store, "L7:test:v1:e1:c1:mail")[0] == "unknown"


def test_an_event_without_message_id_still_settles(store: Store) -> None:
    row(store, "unknown")
    bare = event()
    bare.data.pop("message_id")
    assert confirm_unknown(store, [bare]) == [TOUCH]
    assert columns(store)[:2] == ("sent", None)


def test_a_lost_answer_settled_unknown_is_confirmed_by_its_event(
    store: Store, stub: ProviderStub
) -> None:
    """The whole path: 502, the retry settles unknown, SendGrid's event makes it sent."""
    settings = Settings(sendgrid_api_key="SG.test-key", sendgrid_host=stub.url)
    adapter, touch = SendGridChannel.from_settings(settings, store), make_touch(Channel.email)
    stub.fail(502, times=1)
    with pytest.raises(ApplicationError):
        adapter.send(touch, EMAIL)
    assert adapter.send(touch, EMAIL).status == "skipped"
    assert columns(store, touch.touch_id)[0] == "unknown"
    assert confirm_unknown(store, [event(touch_id=touch.touch_id)]) == [touch.touch_id]
    result = adapter.send(touch, EMAIL)  # a later retry returns the settled row, sends nothing
    assert (result.status, result.provider_id) == ("sent", "14c5d75ce93.dfd.64b469")
    assert len(stub.creates("/v3/mail/send")) == 1
    adapter._mark_sent(touch.touch_id, "late")  # the row is settled: a late answer is ignored
    stored: TouchRecord | None = store.get_touch(touch.touch_id)
    assert stored is not None and stored.provider_id == "14c5d75ce93.dfd.64b469"


def test_a_settled_touch_becomes_a_confirmation_for_its_journey(store: Store) -> None:
    from nurture.events import EventKind
    from nurture.inbox.sendgrid import confirmations

    row(store, "unknown")
    items = [event("processed"), event("open", touch_id="other")]
    settled = confirm_unknown(store, items)
    [confirmed] = confirmations(settled, items)
    assert confirmed.kind is EventKind.touch_confirmed
    assert (confirmed.event_id, confirmed.touch_id, confirmed.lead_id) == (
        f"confirmed:{TOUCH}",
        TOUCH,
        "L7",
    )
    assert confirmed.data == {"by": "processed"}
    assert confirmations(confirm_unknown(store, items), items) == []  # settled already
