"""The send-once claim is the database's guarantee, not the process's: four processes send the
same touches at once (each in its own order) through one store, on SQLite and on PostgreSQL, and
the provider (the counting stand-in) gets every touch exactly once."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from typing import Any

from nurture.channels.registry import build_channels
from nurture.events import Channel
from nurture.settings import Settings
from nurture.store import Store
from tests.channels.conftest import EMAIL, make_touch
from tests.channels.stub import ProviderStub

PROCESSES = 4
TOUCHES = 30


def _send_all(url: str, provider: str, seed: int, barrier: Any, out: Any) -> None:
    """One worker process: send every touch, in a shuffled order; report what it saw."""
    store = Store(url)
    settings = Settings(
        sendgrid_api_key="SG.race", sendgrid_host=provider, notice_from="sales@example.com"
    )
    email = build_channels(settings, store)[Channel.email]
    steps = [f"s{n}" for n in range(TOUCHES)]
    random.Random(seed).shuffle(steps)
    outcomes: Counter[str] = Counter()
    barrier.wait()
    for step in steps:
        try:
            outcomes[email.send(make_touch(Channel.email, step), EMAIL).status] += 1
        except Exception as exc:  # another process holds the claim: Temporal would retry
            outcomes[type(exc).__name__] += 1
    store.close()
    out.put(dict(outcomes))


def test_four_processes_send_each_touch_once(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    out = ctx.Queue()
    with ProviderStub() as stub:
        procs = [
            ctx.Process(target=_send_all, args=(store_url, stub.url, seed, barrier, out))
            for seed in range(PROCESSES)
        ]
        for proc in procs:
            proc.start()
        reports = [out.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
            assert proc.exitcode == 0
        sent = Counter(request.touch_id for request in stub.creates("/v3/mail/send"))
    expected = {make_touch(Channel.email, f"s{n}").touch_id for n in range(TOUCHES)}
    assert set(sent) == expected
    assert set(sent.values()) == {1}, sent  # every touch reached the provider exactly once
    assert sum(r.get("sent", 0) for r in reports) >= TOUCHES  # everyone got an answer or a retry
    store = Store(store_url)
    rows = store.list_touches(limit=1000)
    store.close()
    assert len(rows) == TOUCHES
    assert {row.status for row in rows} == {"sent"}
