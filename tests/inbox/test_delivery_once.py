"""Inbound once and bounded: overlapping delivery passes (two web processes, the immediate
delivery and the loop) and client timeouts after the server took the signal still give each
event exactly one signal in the journey's history, with the signals in flight bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from nurture.events import EngagementEvent, EventKind
from nurture.inbox import delivery
from nurture.inbox.delivery import Deliverer, TemporalLink
from nurture.inbox.store import Inbox, InboxItem
from nurture.leads.enrollment import enroll
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import fixture_cadence, make_lead

LEADS = [f"ONCE{n}" for n in range(4)]
AT = datetime(2026, 3, 2, 15, tzinfo=UTC)


def items(batch: int, size: int) -> list[InboxItem]:
    """``size`` events of batch ``batch``, spread over the leads."""
    return [
        InboxItem(
            event_id=f"b{batch}-e{n}",
            provider="events",
            raw_kind="web.visit",
            at=AT + timedelta(seconds=n),
            kind=EventKind.web_visit,
            lead_id=LEADS[n % len(LEADS)],
        )
        for n in range(size)
    ]


async def signalled(client: Client, lead_id: str) -> list[str]:
    """The event ids of every ``event`` signal in the journey's history."""
    history = await client.get_workflow_handle(workflow_id(lead_id)).fetch_history()
    ids = []
    for e in history.events:
        if e.HasField("workflow_execution_signaled_event_attributes"):
            payloads = e.workflow_execution_signaled_event_attributes.input.payloads
            [event] = await client.data_converter.decode(payloads, [EngagementEvent])
            ids.append(event.id)
    return ids


async def test_overlapping_passes_and_lost_answers_signal_each_event_once(
    dev_env: WorkflowEnvironment,
    dev_worker: Settings,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for lead_id in LEADS:
        lead = make_lead(lead_id)
        assert await enroll(dev_env.client, lead, fixture_cadence("drip"), dev_worker.task_queue)
    inbox = Inbox(store)
    link = TemporalLink(Settings(), connect=lambda _: _client(dev_env))
    web1, web2 = (Deliverer(inbox, link, concurrency=4) for _ in range(2))  # two processes
    real, calls, in_flight, most = delivery.signal_once, [0], [0], [0]

    async def flaky(client: Client, event: EngagementEvent) -> None:
        """The real signal; every 7th answer is lost on the way back (a client timeout)."""
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        try:
            await real(client, event)
            await asyncio.sleep(0.01)
        finally:
            in_flight[0] -= 1
        calls[0] += 1
        if calls[0] % 7 == 0:
            raise TimeoutError("deadline exceeded (the server had it)")

    monkeypatch.setattr(delivery, "signal_once", flaky)
    batches = [items(b, 25) for b in range(8)]
    passes = []
    for batch in batches:  # each request delivers its own ids; the loops run meanwhile
        accepted = inbox.accept(batch)
        passes += [web1.deliver(accepted.ids), web2.deliver(), web1.deliver()]
    await asyncio.gather(*passes)
    for _ in range(20):  # the loop picks up what the lost answers left pending
        if not inbox.pending():
            break
        await asyncio.gather(web1.deliver(), web2.deliver())
    assert inbox.pending() == []
    assert most[0] <= 8  # two processes, each bounded at 4
    assert calls[0] > 200  # lost answers were sent again
    expected = sorted(i.event_id for batch in batches for i in batch)
    seen: list[str] = []
    for lead_id in LEADS:
        seen += await signalled(dev_env.client, lead_id)
    assert sorted(seen) == expected  # every event exactly once in the histories


async def _client(env: WorkflowEnvironment) -> Client:
    return env.client
