"""The SQL store: the touch ledger on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from nurture.store import Store, TouchRecord

T0 = datetime(2025, 3, 4, 14, 5, 9, 123456, tzinfo=UTC)


def touch_fields(
    touch_id: str = "L42:strategic:v3:e1:c2:intro-email", **over: Any
) -> dict[str, Any]:
    """A complete set of ``record_touch`` arguments for an email touch."""
    fields: dict[str, Any] = {
        "touch_id": touch_id,
        "lead_id": "L42",
        "cadence": "strategic",
        "cadence_version": 3,
        "cycle": 2,
        "step_id": "intro-email",
        "channel": "email",
        "provider": "outbox",
        "status": "sent",
        "provider_id": "outbox-1",
        "recipient": "dana@example.com",
        "subject": "Hello Dana",
        "body_text": "Hi Dana,\nplain text.",
        "body_html": "<p>Hi Dana</p>",
        "summary": "Email 1/12 · strategic/intro-email",
        "created_at": T0,
        "sent_at": T0 + timedelta(seconds=1),
    }
    fields.update(over)
    return fields


@pytest.fixture
def db_url(store_url: str) -> str:
    """A fresh store's URL, on SQLite and on PostgreSQL."""
    return store_url


@pytest.fixture
def store(db_url: str) -> Any:
    s = Store(db_url)
    yield s
    s.close()


def test_creates_folder_and_uses_wal(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'nurture.db'}", upgrade=True)
    assert (tmp_path / "nested" / "dir" / "nurture.db").exists()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_insert_and_read_back(store: Store) -> None:
    row, created = store.record_touch(**touch_fields())
    assert created is True
    assert isinstance(row, TouchRecord)

    got = store.get_touch("L42:strategic:v3:e1:c2:intro-email")
    assert got is not None
    assert got.lead_id == "L42"
    assert got.cadence == "strategic"
    assert got.cadence_version == 3
    assert got.cycle == 2
    assert got.step_id == "intro-email"
    assert got.channel == "email"
    assert got.provider == "outbox"
    assert got.status == "sent"
    assert got.provider_id == "outbox-1"
    assert got.error is None
    assert got.recipient == "dana@example.com"
    assert got.subject == "Hello Dana"
    assert got.body_text == "Hi Dana,\nplain text."
    assert got.body_html == "<p>Hi Dana</p>"
    assert got.summary == "Email 1/12 · strategic/intro-email"
    assert got.created_at == T0
    assert got.created_at.tzinfo is not None
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.sent_at == T0 + timedelta(seconds=1)
    assert got.sent_at is not None and got.sent_at.tzinfo is not None
    assert store.get_touch("nope") is None


def test_created_at_defaults_to_now_and_other_zones_become_utc(store: Store) -> None:
    before = datetime.now(UTC)
    row, _ = store.record_touch(**touch_fields("a", created_at=None, sent_at=None))
    assert before - timedelta(seconds=1) <= row.created_at <= datetime.now(UTC)
    assert row.created_at.tzinfo is not None
    assert row.sent_at is None

    plus_two = timezone(timedelta(hours=2))
    row, _ = store.record_touch(
        **touch_fields("b", created_at=datetime(2025, 1, 1, 12, tzinfo=plus_two))
    )
    assert row.created_at == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert row.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_rejected(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.record_touch(**touch_fields(created_at=datetime(2025, 1, 1, 12)))
    assert store.count_touches() == 0


def test_rows_usable_after_session_closes(store: Store) -> None:
    store.record_touch(**touch_fields())
    [row] = store.list_touches()
    store.close()
    assert row.subject == "Hello Dana"
    assert row.to_dict()["created_at"] == T0.isoformat()


def test_idempotent(store: Store) -> None:
    _first, created1 = store.record_touch(**touch_fields())
    second, created2 = store.record_touch(
        **touch_fields(subject="Different", status="failed", created_at=T0 + timedelta(days=1))
    )
    assert (created1, created2) == (True, False)
    assert second.subject == "Hello Dana"
    assert second.status == "sent"
    assert second.created_at == T0
    assert store.count_touches() == 1


def test_race_threads_one_row(store: Store) -> None:
    n = 8
    barrier = threading.Barrier(n)
    results: list[tuple[TouchRecord, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            result = store.record_touch(**touch_fields(subject=f"from thread {i}"))
            with lock:
                results.append(result)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(results) == n
    assert sum(created for _, created in results) == 1
    assert store.count_touches() == 1
    assert len({row.subject for row, _ in results}) == 1  # everybody got the winner's row


def _record_in_process(url: str, i: int, barrier: Any, out: Any) -> None:
    s = Store(url)
    try:
        barrier.wait()
        row, created = s.record_touch(**touch_fields(subject=f"from process {i}"))
        out.put((row.subject, created))
    finally:
        s.close()


def test_race_processes_one_row(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    n = 4
    barrier = ctx.Barrier(n)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_record_in_process, args=(db_url, i, barrier, out)) for i in range(n)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sum(created for _, created in results) == 1
    assert len({subject for subject, _ in results}) == 1
    s = Store(db_url)
    assert s.count_touches() == 1
    s.close()


def test_filters_ordering_counts(store: Store) -> None:
    specs = [
        ("L1", "email", 0),
        ("L1", "call", 1),
        ("L2", "email", 2),
        ("L1", "sms", 3),
        ("L2", "direct_mail", 4),
        ("L1", "email", 5),
    ]
    for i, (lead, channel, minutes) in enumerate(specs):
        store.record_touch(
            **touch_fields(
                f"{lead}:t{i}",
                lead_id=lead,
                channel=channel,
                created_at=T0 + timedelta(minutes=minutes),
            )
        )

    all_rows = store.list_touches()
    assert [r.touch_id for r in all_rows] == ["L1:t5", "L2:t4", "L1:t3", "L2:t2", "L1:t1", "L1:t0"]
    assert store.count_touches() == 6

    assert [r.touch_id for r in store.list_touches(lead_id="L1")] == [
        "L1:t5",
        "L1:t3",
        "L1:t1",
        "L1:t0",
    ]
    assert store.count_touches(lead_id="L1") == 4
    assert [r.touch_id for r in store.list_touches(channel="email")] == ["L1:t5", "L2:t2", "L1:t0"]
    assert store.count_touches(channel="email") == 3
    assert [r.touch_id for r in store.list_touches(lead_id="L2", channel="email")] == ["L2:t2"]
    assert store.count_touches(lead_id="L2", channel="email") == 1
    assert store.count_touches(lead_id="nobody") == 0
    assert store.list_touches(channel="voicemail") == []

    assert [r.touch_id for r in store.list_touches(limit=2)] == ["L1:t5", "L2:t4"]
    assert [r.touch_id for r in store.list_touches(limit=2, offset=2)] == ["L1:t3", "L2:t2"]
    assert [r.touch_id for r in store.list_touches(limit=10, offset=5)] == ["L1:t0"]


def test_persists_across_instances(db_url: str) -> None:
    s1 = Store(db_url)
    s1.record_touch(**touch_fields())
    s1.close()

    s2 = Store(db_url)
    try:
        got = s2.get_touch("L42:strategic:v3:e1:c2:intro-email")
        assert got is not None
        assert got.created_at == T0
        _, created = s2.record_touch(**touch_fields())
        assert created is False
        assert s2.count_touches() == 1
    finally:
        s2.close()


def test_in_memory_sqlite_shared_across_threads() -> None:
    s = Store("sqlite://")
    try:
        t = threading.Thread(target=lambda: s.record_touch(**touch_fields()))
        t.start()
        t.join()
        assert s.count_touches() == 1
    finally:
        s.close()


def test_update_touch_is_a_compare_and_set(store: Store) -> None:
    store.record_touch(**touch_fields("t", status="sending", provider_id=None, sent_at=None))
    assert store.update_touch("t", "pending", expect=("sending",), error="429") is True
    assert store.update_touch("t", "sending", expect=("sending",)) is False  # lost the race
    assert store.update_touch("t", "sending", expect=("pending",)) is True
    row = store.get_touch("t")
    assert row is not None and (row.status, row.error) == ("sending", "429")  # error kept
    sent_at = T0 + timedelta(minutes=1)
    assert store.update_touch("t", "sent", provider_id="SM1", error=None, sent_at=sent_at)
    row = store.get_touch("t")
    assert row is not None
    assert (row.status, row.provider_id, row.error, row.sent_at) == ("sent", "SM1", None, sent_at)
    assert store.update_touch("nope", "sent") is False
    with pytest.raises(ValueError, match="unknown touch status"):
        store.update_touch("t", "delivered")


def test_touch_by_provider_id(store: Store) -> None:
    store.record_touch(**touch_fields("a", provider="twilio", provider_id="SM1"))
    store.record_touch(**touch_fields("b", provider="outbox", provider_id="SM2"))
    found = store.touch_by_provider_id("twilio", "SM1")
    assert found is not None and found.touch_id == "a"
    assert store.touch_by_provider_id("twilio", "SM2") is None
