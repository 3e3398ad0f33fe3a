"""Fault injection: a worker killed -9 while providers already hold its touches.

The worker runs in a subprocess with SendGrid, Twilio and Lob pointed at a counting stand-in
(tests/channels/stub.py; its Lob honours ``Idempotency-Key`` like the real one). The stand-in
records each touch's first request and holds the answer; meanwhile the test kills the worker,
shortens the orphaned attempts' timeout (so Temporal retries in seconds instead of the workflow's
two minutes), and starts a new worker. At the end, at the stand-in: every touch exactly once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from bench.harness import hurry_orphans
from nurture.lead import PostalAddress
from nurture.leads.enrollment import enroll_many
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from tests.channels.stub import ProviderStub
from tests.conftest import (
    FIXTURE_CADENCES,
    FIXTURE_TEMPLATES,
    ROOT,
    TEST_CODEC_KEYS,
    fixture_cadence,
    make_lead,
)
from workflows.lead import LeadJourneyWorkflow

LEADS = 6
MAX_KILLS = 4
#: The answer to each touch's first request waits this long: the window the worker dies in.
HOLD = 1.0
#: A kill waits until no request arrived for this long (every in-flight send has reached the
#: stand-in, none is between its ledger claim and its request).
QUIET = 0.4


def worker_env(
    stub: ProviderStub, env: WorkflowEnvironment, tmp: Path, queue: str
) -> dict[str, str]:
    """The worker subprocess's environment: our dev server, ledger and the stand-in providers."""
    values = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NURTURE_", "TWILIO_"))
    }
    values.update(
        NURTURE_TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        NURTURE_TEMPORAL_NAMESPACE=env.client.namespace,
        NURTURE_TASK_QUEUE=queue,
        NURTURE_CODEC_KEYS=TEST_CODEC_KEYS,
        NURTURE_DATA_DIR=str(tmp),
        NURTURE_DATABASE_URL=f"sqlite:///{tmp / 'ledger.db'}",
        NURTURE_TEMPLATES_DIR=str(FIXTURE_TEMPLATES),
        NURTURE_CADENCES_DIR=str(FIXTURE_CADENCES),
        NURTURE_PUBLIC_URL="http://127.0.0.1:8000",
        NURTURE_SENDGRID_API_KEY="SG.fault-test",
        NURTURE_SENDGRID_HOST=stub.url,
        NURTURE_SENDGRID_RATE="50",
        NURTURE_NOTICE_FROM="handoffs@example.com",
        NURTURE_TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        NURTURE_TWILIO_AUTH_TOKEN="token",
        NURTURE_TWILIO_FROM="+14155550100",
        NURTURE_TWILIO_API_BASE=stub.url,
        NURTURE_LOB_API_KEY="test_fault",
        NURTURE_LOB_HOST=stub.url,
        NURTURE_LOB_FROM_ADDRESS="adr_fault1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return values


class Workers:
    """The current worker subprocess, which the test kills and replaces."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "worker.py"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no cleanup, no activity failure reported
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


@asynccontextmanager
async def workers(env: dict[str, str], log: Path) -> AsyncIterator[Workers]:
    running = Workers(env, log)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def all_claims_arrived(ledger: Store, stub: ProviderStub) -> bool:
    """Every touch claimed in the ledger (``sending``) has reached the providers: a kill now
    catches no send between its claim and its request."""
    claimed = {row.touch_id for row in ledger.list_touches(limit=1000) if row.status == "sending"}
    return claimed <= {request.touch_id for request in stub.requests}


async def test_killed_workers_never_send_a_touch_twice(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    began = time.monotonic()
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    address = PostalAddress(line1="1 Main St", city="Springfield", state="IL", postal_code="62701")
    leads = [make_lead(f"F{n}", segment="quick", address=address) for n in range(LEADS)]
    ids = [f"lead-{lead.id}" for lead in leads]
    log = tmp_path / "worker.log"
    with ProviderStub() as stub:
        stub.hold = HOLD
        env = worker_env(stub, dev_env, tmp_path, queue)
        ledger = Store(env["NURTURE_DATABASE_URL"], upgrade=True)
        async with workers(env, log) as running:
            report = await enroll_many(
                dev_env.client, [(1, lead) for lead in leads], [fixture_cadence("quick")], queue
            )
            assert len(report.started) == LEADS
            results = asyncio.gather(
                *(journey_handle(dev_env.client, lead.id).result() for lead in leads)
            )
            kills: list[float] = []
            held_before = 0  # touches held by the time of the last kill
            while not results.done():
                assert time.monotonic() - began < 300, log.read_text()[-3000:]
                quiet = time.monotonic() - stub.last_request_at > QUIET
                fresh = stub.held_now and stub.held_total > held_before
                if fresh and quiet and len(kills) < MAX_KILLS and all_claims_arrived(ledger, stub):
                    running.kill()  # the providers hold these touches; the worker is gone
                    held_before = stub.held_total
                    kills.append(round(time.monotonic() - began, 1))
                    assert await hurry_orphans(dev_env.client, ids) > 0
                    running.start()
                    if len(kills) == MAX_KILLS:
                        stub.hold = 0
                await asyncio.sleep(0.05)
            outcomes = await results
            timelines = {  # queried while a worker runs
                lead.id: [
                    entry.text
                    for entry in await journey_handle(dev_env.client, lead.id).query(
                        LeadJourneyWorkflow.journey
                    )
                ]
                for lead in leads
            }
    print(f"{LEADS} journeys, kills at {kills} s, {time.monotonic() - began:.1f} s in all")
    assert {r.outcome for r in outcomes} == {"finished"}
    assert len(kills) >= 3, f"expected a kill per provider, got {kills}"

    rows = {(row.lead_id, row.step_id): row for row in ledger.list_touches(limit=1000)}
    assert len(rows) == 3 * LEADS
    emails = {rows[(lead.id, "hello")].touch_id for lead in leads}
    texts = {rows[(lead.id, "nudge")].touch_id for lead in leads}
    letters = {rows[(lead.id, "letter")].touch_id for lead in leads}

    # At the providers: every touch exactly once.
    assert Counter(r.touch_id for r in stub.creates("/v3/mail/send")) == dict.fromkeys(emails, 1)
    assert Counter(r.touch_id for r in stub.creates("/2010-04-01/")) == dict.fromkeys(texts, 1)
    assert set(stub.lob_pieces) == letters  # one piece per key, however often it was sent
    assert len(stub.creates("/letters")) > LEADS  # the killed attempts were sent again

    # In the ledger: SendGrid's in-flight touches are "unknown" (never resent); Twilio's were
    # adopted from its records; Lob's came back from the idempotent resend.
    sids = {r["sid"] for r in stub.twilio_records}
    for lead in leads:
        email = rows[(lead.id, "hello")]
        assert email.status in ("unknown", "sent"), email.error
        text, letter = rows[(lead.id, "nudge")], rows[(lead.id, "letter")]
        assert text.status == "sent" and text.provider_id in sids
        assert letter.status == "sent"
        assert letter.provider_id == stub.lob_pieces[letter.touch_id]["id"]
    unknown = [row for row in rows.values() if row.step_id == "hello" and row.status == "unknown"]
    assert unknown, "no email was caught in flight"
    skipped = [t for t in timelines[unknown[0].lead_id] if "skipped: delivery unknown" in t]
    assert skipped, timelines[unknown[0].lead_id]
    ledger.close()
