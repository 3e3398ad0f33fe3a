"""The touch benchmark's ledger baseline (bench/ledger_touch.py) does a touch's required work."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import ActivityEnvironment

from bench.harness import make_lead
from bench.ledger_touch import LedgerTouch
from bench.touches import TEMPLATES
from nurture.settings import ROOT
from nurture.store import Store


def test_each_touch_is_rendered_and_claimed_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'ledger.db'}", upgrade=True)
    lead = make_lead("ledger-1", "bench")
    ledger = LedgerTouch(store, ROOT / "templates", TEMPLATES, lead, {"name": "Riley Chen"})
    env = ActivityEnvironment()
    assert [env.run(ledger.touch, n) for n in (1, 2, 1)] == [1, 2, 1]  # the retry of 1: no row
    rows = {row.step_id: row for row in store.list_touches()}
    assert sorted(rows) == ["email-1", "email-2"]
    first = rows["email-1"]
    assert (first.status, first.provider, first.recipient) == ("sent", "outbox", lead.email)
    assert first.subject and first.body_html and first.body_text
    assert lead.first_name in first.body_text
    store.close()
