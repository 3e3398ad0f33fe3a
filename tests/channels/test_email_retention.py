"""Retention of ``email_attempts`` (nurture/channels/email_retention.py), on SQLite and
PostgreSQL: the attempts of settled touches older than the retention go; in-flight touches and
recent ones stay; ``nurture db prune`` and the web app's hourly chore do it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.channels import email_retention
from nurture.channels.email_attempts import EmailAttemptRow
from nurture.channels.email_retention import Pruner, prune_email_attempts
from nurture.cli import app
from nurture.settings import Settings, get_settings
from nurture.store import Store, TouchRecord

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=10)


@pytest.fixture
def store(any_store: Store) -> Store:
    """The store on SQLite and PostgreSQL."""
    return any_store


def touch(store: Store, touch_id: str, status: str, at: datetime, attempts: int = 1) -> None:
    """A ledger row and its attempts, each posted (and for the first, scheduled) at ``at``."""
    with store.session() as session, session.begin():
        session.add(
            TouchRecord(
                touch_id=touch_id,
                lead_id="L1",
                cadence="c",
                cadence_version=1,
                cycle=1,
                step_id="hello",
                channel="email",
                provider="sendgrid",
                status=status,
                created_at=at,
                sent_at=at if status == "sent" else None,
            )
        )
        for n in range(1, attempts + 1):
            session.add(
                EmailAttemptRow(
                    touch_id=touch_id,
                    attempt=n,
                    status="posting",
                    batch_id=f"b-{touch_id}-{n}" if n == 1 else None,
                    send_at=at + timedelta(minutes=11) if n == 1 else None,
                    posted_at=at,
                    created_at=at,
                )
            )


def left(store: Store) -> list[tuple[str, int]]:
    """The attempts still in the table."""
    with store.session() as session:
        rows = session.query(EmailAttemptRow.touch_id, EmailAttemptRow.attempt)
        return sorted((t, a) for t, a in rows)


def test_settled_touches_older_than_the_retention_lose_their_attempts(store: Store) -> None:
    touch(store, "old-sent", "sent", OLD, attempts=2)
    touch(store, "old-failed", "failed", OLD)
    touch(store, "old-unknown", "unknown", OLD)
    touch(store, "old-in-flight", "sending", OLD)  # a retry still needs it
    touch(store, "old-pending", "pending", OLD)
    touch(store, "recent-sent", "sent", RECENT)
    assert prune_email_attempts(store, timedelta(days=30), now=NOW) == 4
    assert left(store) == [("old-in-flight", 1), ("old-pending", 1), ("recent-sent", 1)]
    assert prune_email_attempts(store, timedelta(days=30), now=NOW) == 0  # idempotent
    assert prune_email_attempts(store, timedelta(days=5), now=NOW) == 1  # recent-sent now


def test_a_late_confirmation_counts_from_when_it_settled(store: Store) -> None:
    touch(store, "confirmed-late", "sent", OLD)
    with store.session() as session, session.begin():  # the webhook settled it 10 days ago
        row = session.get(TouchRecord, "confirmed-late")
        assert row is not None
        row.sent_at = RECENT
    assert prune_email_attempts(store, timedelta(days=30), now=NOW) == 0
    assert left(store) == [("confirmed-late", 1)]


def test_many_rows_are_deleted_in_batches(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_retention, "BATCH", 2)
    for n in range(5):
        touch(store, f"t{n}", "sent", OLD)
    assert prune_email_attempts(store, timedelta(days=30), now=NOW) == 5
    assert left(store) == []


def test_nurture_db_prune(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    touch(store, "a", "sent", now - timedelta(days=40))
    touch(store, "b", "sent", now - timedelta(days=3))
    monkeypatch.setenv("NURTURE_DATABASE_URL", store.url)
    monkeypatch.setenv("NURTURE_EMAIL_ATTEMPTS_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    try:
        kept = CliRunner().invoke(app, ["db", "prune"])
        assert kept.exit_code == 0, kept.output
        assert "1 rows older than 30 days pruned" in kept.output
        assert left(store) == [("b", 1)]
        sooner = CliRunner().invoke(app, ["db", "prune", "--days", "2"])
        assert sooner.exit_code == 0 and "1 rows older than 2 days" in sooner.output
        off = CliRunner().invoke(app, ["db", "prune", "--days", "0"])
        assert off.exit_code == 0 and "retention is off" in off.output
    finally:
        get_settings.cache_clear()
    assert left(store) == []


def test_the_web_apps_chore_prunes_at_most_once_an_hour(store: Store, tmp_path: Path) -> None:
    from nurture.app import create_app

    now = datetime.now(UTC)
    touch(store, "a", "sent", now - timedelta(days=40))
    settings = Settings(data_dir=tmp_path, email_attempts_retention_days=30)
    web = create_app(settings=settings, store=store)
    chores = web.state.delivery_loop.chores
    assert [type(c) for c in chores] == [Pruner]
    pruner = chores[0]
    assert asyncio.run(pruner()) == 1 and left(store) == []
    touch(store, "b", "sent", now - timedelta(days=40))
    assert asyncio.run(pruner()) == 0  # not an hour yet
    assert left(store) == [("b", 1)]
    off = Pruner(store, Settings(data_dir=tmp_path, email_attempts_retention_days=0))
    assert asyncio.run(off()) == 0 and left(store) == [("b", 1)]
