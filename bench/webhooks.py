"""Webhook ingestion: signed SendGrid event batches through the web app, into the inbox and on to
the journeys, vs the same events signalled straight to the same workflows.

Run from the repository root: ``.venv/bin/python -m bench.webhooks [--leads 200 --events 5]``.

Both sides feed one set of running journeys (enrolled on a cadence whose first email goes out at
once and whose next touch is an hour away, so they sleep and take events), with one worker running
throughout. The nurture side POSTs ``--batch``-event batches signed as SendGrid signs them (ECDSA
over timestamp + body) to ``/webhooks/sendgrid`` of the real app (``create_app`` under uvicorn on
loopback, ``--posts`` requests in flight); its clock stops when the inbox has delivered every event
to its journey (status ``delivered``). The raw side signals the same events (``EngagementEvent``,
the payload the inbox delivers) with ``--concurrency`` leads in flight (each lead's events in
order, like the inbox's deliverer: concurrent signals to one workflow only contend), through the
same client (the payload codec on, as the workflows expect). Rounds alternate which side goes
first; the target is the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from activities.touches import TouchActivities
from bench.harness import (
    ROOT,
    Cpu,
    Row,
    add_codec_option,
    cpu_note,
    dev_server,
    environment_line,
    exit_now,
    gather_limited,
    make_leads,
    median,
    neighbour_note,
    nurture_client,
    print_table,
)
from bench.touches import bench_cadence, open_country
from bench.webhooks_split import Split, measuring
from nurture.app import create_app
from nurture.events import EngagementEvent
from nurture.inbox.payloads import sendgrid_items
from nurture.inbox.store import Inbox, InboxRecord
from nurture.leads.enrollment import enroll_many
from nurture.settings import Settings
from nurture.store import Base, Store
from nurture.temporal.calls import journey_handle
from tests.support.browser import serving
from worker import ACTIVITY_THREADS, build_worker

QUEUE = "bench-webhooks"
#: Events per second through the web app against raw signals (median of the rounds' ratios).
TARGET = 0.8
#: SendGrid engagement events that become journey events (``email.*``).
KINDS = ("open", "click", "delivered")


def sendgrid_batch(leads: list[str], round_: str, side: str, per_lead: int) -> list[dict[str, Any]]:
    """``per_lead`` SendGrid events for each lead (unique ``sg_event_id``s)."""
    now = int(time.time())
    return [
        {
            "email": f"{lead.lower()}@example.com",
            "timestamp": now,
            "event": KINDS[n % len(KINDS)],
            "sg_event_id": f"{side}-{round_}-{lead}-{n}",
            "sg_message_id": f"msg-{lead}.filter",
            "lead_id": lead,
            "touch_id": f"{lead}:bench-touches:v1:e1:c1:email-1",
        }
        for lead in leads
        for n in range(per_lead)
    ]


def signed(
    key: ec.EllipticCurvePrivateKey, events: list[dict[str, Any]]
) -> tuple[bytes, dict[str, str]]:
    """The body and headers SendGrid sends: ECDSA-SHA256 over timestamp + body."""
    body = json.dumps(events).encode()
    stamp = str(int(time.time()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return body, {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }


async def through_the_app(
    web: str, key: ec.EllipticCurvePrivateKey, inbox: Inbox, events: list[dict[str, Any]], args: Any
) -> float:
    """POST the events in signed batches; seconds until the inbox delivered them all."""
    batches = [events[i : i + args.batch] for i in range(0, len(events), args.batch)]
    delivered_before = inbox.counts().get("delivered", 0)
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=web, timeout=60) as http:

        async def post(index: int) -> None:
            body, headers = signed(key, batches[index])
            answer = await http.post("/webhooks/sendgrid", content=body, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text[:200]}")

        await gather_limited(post, len(batches), args.posts)
    # Every POST was answered, so every event is in the inbox: wait until none is pending (an
    # index range; counting every status would scan the whole, growing table every 20 ms).
    while await asyncio.to_thread(_pending, inbox):
        if time.perf_counter() - began > 600:
            raise RuntimeError(f"the inbox did not deliver: {inbox.counts()}")
        await asyncio.sleep(0.02)
    took = time.perf_counter() - began
    if inbox.counts().get("delivered", 0) < delivered_before + len(events):
        raise RuntimeError(f"not every event was delivered: {inbox.counts()}")
    return took


def _pending(inbox: Inbox) -> int:
    """How many inbox rows are still pending."""
    query = select(func.count()).select_from(InboxRecord).where(InboxRecord.status == "pending")
    with inbox.store.session() as session:
        return session.scalar(query) or 0


async def straight(client: Any, events: list[dict[str, Any]], args: Any) -> float:
    """Signal the same events straight to the journeys; seconds."""
    signals = [
        EngagementEvent(
            id=item.event_id,
            kind=item.kind,
            lead_id=item.lead_id,
            at=item.at,
            touch_id=item.touch_id,
            points=item.points,
            data=item.data,
        )
        for item in sendgrid_items(events, datetime.now(UTC))
        if item.kind is not None and item.lead_id is not None
    ]
    if len(signals) != len(events):
        raise RuntimeError("every benchmark event must map to a journey event")
    # One lead's events one after another, leads side by side (as the inbox's deliverer does):
    # concurrent signals to one workflow would only contend for its workflow task.
    per_lead: dict[str, list[EngagementEvent]] = {}
    for event in signals:
        per_lead.setdefault(event.lead_id, []).append(event)
    began = time.perf_counter()

    leads = list(per_lead)

    async def one(index: int) -> None:
        for event in per_lead[leads[index]]:
            await journey_handle(client, event.lead_id).signal("event", event)

    await gather_limited(one, len(leads), args.concurrency)
    return time.perf_counter() - began


@contextmanager
def split_phase(args: argparse.Namespace, store: Store) -> Iterator[Split | None]:
    """With ``--split``: tally the phase's SQL, calls and threads (bench/webhooks_split.py)."""
    if not args.split:
        yield None
        return
    with measuring(store.engine) as split:
        yield split


async def history_note(client: Any, leads: list[str]) -> str:
    """Workflow tasks, local-activity markers and timers per signal, over a few journeys."""
    signals = tasks = markers = timers = 0
    for lead in leads:
        history = await journey_handle(client, lead).fetch_history()
        for e in history.events:
            signals += e.HasField("workflow_execution_signaled_event_attributes")
            tasks += e.HasField("workflow_task_completed_event_attributes")
            markers += e.HasField("marker_recorded_event_attributes")
            timers += e.HasField("timer_started_event_attributes")
    return (
        f"history of {len(leads)} journeys: {signals} signals, {tasks} workflow tasks, "
        f"{markers} markers (local activities, patches), {timers} timers started"
    )


async def log_drain(store: Store, events: int) -> str:
    """After the rounds: how long until the journey log holds every event's milestone, and the
    Python CPU meanwhile (journeys write the log of an event burst up to a minute later, in
    whichever phase that falls; this shows what is left after the last one)."""
    table = Base.metadata.tables["journey_log"]
    count = select(func.count()).select_from(table).where(table.c.kind == "event")
    before, began = Cpu.now(), time.perf_counter()
    with store.session() as session:
        logged = session.scalar(count) or 0
    while logged < events and time.perf_counter() - began < 180:
        await asyncio.sleep(0.5)
        with store.session() as session:
            logged = session.scalar(count) or 0
    used = Cpu.now() - before
    return (
        f"journey log: {logged}/{events} event milestones written "
        f"{time.perf_counter() - began:.1f} s after the last round "
        f"(Python CPU meanwhile {used.python * 1000:.0f} ms, "
        f"dev server {used.server * 1000:.0f} ms)"
    )


async def run(args: argparse.Namespace) -> None:
    """Enrol the journeys, then alternate measured rounds; print the table."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    cadence = bench_cadence(2, 3600, open_country(datetime.now(UTC).date()))
    leads = make_leads(args.leads, "H", ("bench",))
    ids = [lead.id for _, lead in leads]
    rates: dict[str, list[float]] = {"nurture": [], "raw": []}
    cpu = {"nurture": Cpu(0, 0), "raw": Cpu(0, 0)}
    with tempfile.TemporaryDirectory(prefix="nurture-bench-hooks-") as tmp:
        settings = Settings(
            task_queue=QUEUE,
            data_dir=Path(tmp),
            templates_dir=ROOT / "templates",
            cadences_dir=ROOT / "cadences",
            sendgrid_webhook_public_key=public,
            session_secret="bench-" + "s" * 40,
        )
        store = Store(settings.store_url, upgrade=True)
        touches = TouchActivities(store, settings.templates_dir, settings.cadences_dir)
        inbox = Inbox(store)
        async with dev_server() as env:
            ours = nurture_client(env.client, args.codec)
            with ThreadPoolExecutor(args.threads) as executor:
                async with build_worker(ours, settings, executor, touches):
                    report = await enroll_many(ours, leads, [cadence], QUEUE)
                    if len(report.started) != len(leads):
                        raise RuntimeError("not every benchmark journey started")
                    while store.count_touches() < len(leads):  # first emails out: now asleep
                        await asyncio.sleep(0.2)
                    app = create_app(settings, store, ours)
                    with serving(app) as web:
                        await through_the_app(
                            web, key, inbox, sendgrid_batch(ids[:10], "W", "n", 2), args
                        )
                        await straight(ours, sendgrid_batch(ids[:10], "W", "r", 2), args)
                        for number in range(args.rounds):
                            order = ("raw", "nurture") if number % 2 else ("nurture", "raw")
                            for side in order:
                                events = sendgrid_batch(ids, str(number), side, args.events)
                                before = Cpu.now()
                                with split_phase(args, store) as split:
                                    if side == "nurture":
                                        took = await through_the_app(web, key, inbox, events, args)
                                    else:
                                        took = await straight(ours, events, args)
                                cpu[side] += Cpu.now() - before
                                rates[side].append(len(events) / took)
                                print(
                                    f"round {number + 1} {side:>7}: "
                                    f"{len(events) / took:7.1f} events/s",
                                    flush=True,
                                )
                                if split is not None:
                                    print("\n".join(split.lines(len(events))), flush=True)
                        sent = 2 * (len(ids[:10]) * 2 + args.rounds * len(ids) * args.events)
                        drain = await log_drain(store, sent)
                        if args.split:
                            print(await history_note(ours, ids[:5]), flush=True)
        store.close()
    count = args.leads * args.events * args.rounds
    paired = median([n / r for n, r in zip(rates["nurture"], rates["raw"], strict=True)])
    others = (cpu["nurture"] + cpu["raw"]).others / sum(
        args.leads * args.events / r for rs in rates.values() for r in rs
    )
    print_table(
        f"Webhook ingestion: {args.leads} sleeping journeys x {args.events} SendGrid events per "
        f"round, batches of {args.batch} ({args.posts} POSTs in flight) vs signals "
        f"({args.concurrency} in flight), {args.rounds} rounds, payload codec "
        f"{'on' if args.codec else 'off'}; medians of the rounds",
        [
            Row(
                "webhooks: events/s through the web app vs raw signals",
                median(rates["nurture"]),
                median(rates["raw"]),
                TARGET,
                paired=paired,
            )
        ],
        [
            "nurture: verify the signature, parse, write the inbox, answer 200, signal each event "
            "(the app's deliverer), mark it delivered; raw: the same events signalled straight",
            cpu_note("event", cpu["nurture"], cpu["raw"], count),
            drain,
            neighbour_note(others),
            environment_line(),
        ],
        bench="webhooks",
    )


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200, help="sleeping journeys")
    parser.add_argument("--events", type=int, default=5, help="events per journey and round")
    parser.add_argument("--batch", type=int, default=100, help="events per SendGrid POST")
    parser.add_argument("--posts", type=int, default=4, help="POSTs in flight")
    parser.add_argument("--concurrency", type=int, default=16, help="raw: leads signalled at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (order alternates)")
    parser.add_argument("--threads", type=int, default=ACTIVITY_THREADS, help="activity threads")
    parser.add_argument(
        "--split", action="store_true", help="per phase: SQL statements, calls, CPU by thread"
    )
    add_codec_option(parser, "encrypt payloads as the product does (default on)")
    asyncio.run(run(parser.parse_args()))
    exit_now()


if __name__ == "__main__":
    main()
