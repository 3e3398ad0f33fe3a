"""The inbox table: accept once per event id, statuses, lead lookup through the ledger."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client

from nurture.events import EngagementEvent, EventKind
from nurture.inbox.delivery import Deliverer, TemporalLink
from nurture.inbox.store import Inbox, InboxItem, InboxStatus, bounded_id
from nurture.inbox.touchmap import e164, lead_for_phone, lead_for_touch, lead_in_touch_id
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.client import connect

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TOUCH = "L1:drip:v1:e1:c1:hello"


def record(store: Store, touch_id: str, lead_id: str, channel: str = "email", **over: Any) -> None:
    fields: dict[str, Any] = {
        "touch_id": touch_id,
        "lead_id": lead_id,
        "cadence": "drip",
        "cadence_version": 1,
        "cycle": 1,
        "step_id": touch_id.rsplit(":", 1)[-1],
        "channel": channel,
        "provider": "outbox",
        "status": "sent",
        "summary": "t",
    }
    fields.update(over)
    store.record_touch(**fields)


def item(event_id: str = "e1", **over: Any) -> InboxItem:
    values: dict[str, Any] = {
        "event_id": event_id,
        "provider": "test",
        "raw_kind": "open",
        "at": T0,
        "kind": EventKind.email_open,
        "lead_id": "L1",
        "touch_id": TOUCH,
    }
    values.update(over)
    return InboxItem(**values)


@pytest.fixture
def store(any_store: Store) -> Store:
    """On SQLite and PostgreSQL."""
    return any_store


@pytest.fixture
def inbox(store: Store) -> Inbox:
    return Inbox(store)


def test_accept_writes_a_pending_row_with_the_event(inbox: Inbox) -> None:
    accepted = inbox.accept([item(data={"url": "https://x.example/p"})])
    assert accepted.new == ["e1"] and accepted.duplicates == 0
    row = inbox.get("e1")
    assert row is not None
    assert row.status == InboxStatus.pending and row.attempts == 0 and row.last_error is None
    assert (row.provider, row.raw_kind, row.kind, row.lead_id) == (
        "test",
        "open",
        "email.open",
        "L1",
    )
    assert row.at == T0 and row.received_at.tzinfo is not None and row.delivered_at is None
    assert row.event() == EngagementEvent(
        id="e1",
        kind=EventKind.email_open,
        lead_id="L1",
        at=T0,
        touch_id=TOUCH,
        data={"url": "https://x.example/p"},
    )


def test_duplicate_ids_change_nothing(inbox: Inbox) -> None:
    inbox.accept([item()])
    inbox.mark_delivered("e1")
    again = inbox.accept([item(kind=EventKind.email_click, lead_id="L2"), item("e2")])
    assert again.new == ["e2"] and again.duplicates == 1
    row = inbox.get("e1")
    assert row is not None and row.status == "delivered" and row.lead_id == "L1"
    assert row.kind == "email.open"
    # The same id twice inside one batch is one row.
    twice = inbox.accept([item("e3"), item("e3")])
    assert twice.new == ["e3"] and twice.duplicates == 1
    assert sum(inbox.counts().values()) == 3


def test_lead_comes_from_the_ledger_then_from_the_touch_id(store: Store, inbox: Inbox) -> None:
    record(store, "odd-touch-id", "L9")
    inbox.accept(
        [
            item("a", lead_id=None, touch_id="odd-touch-id"),
            item("b", lead_id=None, touch_id="L5:drip:v2:e1:c3:call-1#2"),
            item("c", lead_id=None, touch_id="not a touch id"),
            item("d", lead_id=None, touch_id=None),
        ]
    )
    assert [inbox.get(i).lead_id for i in "abcd"] == ["L9", "L5", None, None]  # type: ignore[union-attr]
    assert [inbox.get(i).status for i in "abcd"] == [  # type: ignore[union-attr]
        "pending",
        "pending",
        "unknown_lead",
        "unknown_lead",
    ]
    unknown = inbox.get("c")
    assert unknown is not None and "not a touch id" in (unknown.last_error or "")
    assert unknown.event() is None  # nothing to signal until a lead is known


def test_unmapped_events_are_kept(inbox: Inbox) -> None:
    inbox.accept([item("p", kind=None, raw_kind="processed", payload={"sg_event_id": "p"})])
    row = inbox.get("p")
    assert row is not None and row.status == "unmapped" and row.event() is None
    assert "processed" in (row.last_error or "")
    assert json.loads(row.payload or "{}") == {"sg_event_id": "p"}
    assert inbox.pending() == []


def test_an_item_that_cannot_become_an_event_refuses_the_batch(inbox: Inbox) -> None:
    with pytest.raises(ValueError):
        inbox.accept([item("ok"), item("bad", data={"nested": {"no": 1}})])  # type: ignore[dict-item]
    assert inbox.get("ok") is None


def test_list_counts_and_pending_order(inbox: Inbox) -> None:
    inbox.accept([item("late", at=T0 + timedelta(minutes=5)), item("early")])
    inbox.accept([item("x", kind=None)])
    assert [r.event_id for r in inbox.pending()] == ["early", "late"]
    assert inbox.counts() == {"pending": 2, "delivered": 0, "unknown_lead": 0, "unmapped": 1}
    assert [r.event_id for r in inbox.list(status="unmapped")] == ["x"]
    assert {r.event_id for r in inbox.list(lead_id="L1")} == {"late", "early", "x"}
    assert [r.event_id for r in inbox.pending(ids=["late", "x"])] == ["late"]


def test_delivery_bookkeeping(inbox: Inbox) -> None:
    inbox.accept([item("a"), item("b"), item("c")])
    inbox.mark_failed(["a", "b"], "Temporal down")
    inbox.mark_failed(["a"], "Temporal still down")
    a = inbox.get("a")
    assert a is not None and a.status == "pending" and a.attempts == 2
    assert a.last_error == "Temporal still down"
    inbox.mark_delivered("a")
    a = inbox.get("a")
    assert a is not None and a.status == "delivered" and a.attempts == 3
    assert a.delivered_at is not None and a.last_error is None
    inbox.mark_unknown_lead("b", "no running journey")
    b = inbox.get("b")
    assert b is not None and b.status == "unknown_lead" and b.last_error == "no running journey"
    inbox.mark_failed(["b"], "late failure")  # only pending rows count failures
    b = inbox.get("b")
    assert b is not None and b.status == "unknown_lead" and b.attempts == 2


def test_a_delivery_pass_marks_its_rows_delivered_in_one_call(inbox: Inbox) -> None:
    inbox.accept([item("a"), item("b"), item("c")])
    inbox.mark_delivered("a", "b")
    inbox.mark_delivered()  # a pass that signalled nothing writes nothing
    rows = {r: inbox.get(r) for r in ("a", "b", "c")}
    assert [rows[r].status for r in ("a", "b", "c") if rows[r]] == [
        "delivered",
        "delivered",
        "pending",
    ]


def test_accepted_rows_can_come_claimed_for_the_delivery_that_follows(inbox: Inbox) -> None:
    inbox.accept([item("old")])
    accepted = inbox.accept(
        [item("old"), item("new"), item("odd", kind=None, raw_kind="processed")], claimer="me"
    )
    assert sorted(accepted.new) == ["new", "odd"]
    assert [r.event_id for r in accepted.claimed] == ["new"]  # new and pending only
    assert accepted.claimed[0].event() is not None
    assert [r.event_id for r in inbox.claim("other")] == ["old"]  # "new" is held by "me"
    new = inbox.get("new")
    assert new is not None and new.claimed_by == "me" and new.claimed_until is not None
    inbox.mark_delivered("new")  # the delivered mark ends the hold in the same transaction
    new = inbox.get("new")
    assert new is not None and new.status == "delivered" and new.claimed_by is None


def test_requeue_unknown(store: Store, inbox: Inbox) -> None:
    inbox.accept(
        [item("u", lead_id=None, touch_id="custom-1"), item("k", lead_id=None, touch_id=None)]
    )
    inbox.accept([item("m")])
    inbox.mark_unknown_lead("m", "not enrolled yet")
    record(store, "custom-1", "L3")  # the ledger learns the touch later
    assert inbox.requeue_unknown() == 2
    u, m, k = inbox.get("u"), inbox.get("m"), inbox.get("k")
    assert u is not None and u.status == "pending" and u.lead_id == "L3"
    assert u.event() is not None and u.event().lead_id == "L3"  # type: ignore[union-attr]
    assert m is not None and m.status == "pending"
    assert k is not None and k.status == "unknown_lead"


def test_bounded_id() -> None:
    assert bounded_id("abc") == "abc"
    long = "x" * 300
    assert bounded_id(long).startswith("sha256:") and bounded_id(long) == bounded_id(long)
    assert len(bounded_id(long)) <= 200


def test_touch_and_phone_lookups(store: Store) -> None:
    assert lead_in_touch_id("L-7.a_b:strategic:v3:e1:c2:intro-email") == "L-7.a_b"
    assert lead_in_touch_id("L1:strategic:v3:e1:c2:intro-email#3") == "L1"
    assert lead_in_touch_id("L1:strategic") is None
    assert lead_for_touch(store, None) is None
    assert e164("+1 (415) 555-0123") == "+14155550123"
    assert e164("555-0123") is None and e164(None) is None

    record(store, "L1:drip:v1:e1:c1:nudge", "L1", "sms", recipient="+14155550123")
    record(
        store,
        "L2:drip:v1:e1:c1:nudge",
        "L2",
        "voicemail",
        recipient="+14155550123",
        created_at=datetime.now(UTC) + timedelta(minutes=1),
    )
    record(store, "L3:drip:v1:e1:c1:hello", "L3", "email", recipient="+14155550199")
    assert lead_for_phone(store, "+14155550123") == ("L2", "L2:drip:v1:e1:c1:nudge")  # newest
    assert lead_for_phone(store, "+14155550199") == (None, None)  # an email row: not a phone
    assert lead_for_phone(store, "garbage") == (None, None)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_temporal_down_keeps_rows_pending(inbox: Inbox) -> None:
    inbox.accept([item("a"), item("b", lead_id="L2")])
    calls = 0
    settings = Settings(temporal_address=f"127.0.0.1:{_closed_port()}")

    async def counting_connect(s: Settings) -> Client:
        nonlocal calls
        calls += 1
        return await connect(s)

    deliverer = Deliverer(inbox, TemporalLink(settings, connect=counting_connect, retry_after=60))
    first = await deliverer.deliver()
    assert sorted(first.failed) == ["a", "b"] and "unreachable" in (first.error or "")
    second = await deliverer.deliver()
    assert sorted(second.failed) == ["a", "b"]
    assert calls == 1  # within retry_after no new connection attempt
    a = inbox.get("a")
    assert a is not None and a.status == "pending" and a.attempts == 2
    assert "unreachable" in (a.last_error or "")


async def test_overlapping_passes_attempt_each_row_once(inbox: Inbox) -> None:
    """The delivery loop and the delivery right after a request may run at once (CI saw a row
    attempted twice): a row one pass holds is left to it."""
    inbox.accept([item("a"), item("b", lead_id="L2")])
    settings = Settings(temporal_address=f"127.0.0.1:{_closed_port()}")
    release = asyncio.Event()

    async def slow_connect(s: Settings) -> Client:
        await release.wait()
        return await connect(s)

    deliverer = Deliverer(inbox, TemporalLink(settings, connect=slow_connect, retry_after=0))
    first = asyncio.create_task(deliverer.deliver())
    await asyncio.sleep(0.2)  # the first pass now holds both rows, waiting to connect
    second = await deliverer.deliver()
    assert second.attempted == 0
    release.set()
    assert sorted((await first).failed) == ["a", "b"]
    assert [inbox.get(i).attempts for i in ("a", "b")] == [1, 1]  # type: ignore[union-attr]
    third = await deliverer.deliver(["a"])  # held by nobody now: tried again
    assert third.failed == ["a"]


def test_a_late_duplicate_pass_changes_nothing(inbox: Inbox) -> None:
    inbox.accept([item("a"), item("b")])
    inbox.mark_delivered("a")
    inbox.mark_delivered("a")
    inbox.mark_unknown_lead("a", "late")
    row = inbox.get("a")
    assert row is not None and row.status == "delivered" and row.attempts == 1
