"""Chaos at scale: journeys on a dev server (a SQLite file) while the worker is killed -9 at
random and the dev server is restarted; every touch must reach its provider exactly once.

Providers are the counting stand-in (``tests/channels/stub.py``: SendGrid, Twilio, Lob on
loopback). A killed worker's ``deliver_touch`` attempts stop heartbeating and Temporal retries
them after the heartbeat timeout (``--hurry`` instead gives them a 3 s start-to-close timeout and
moves the journeys off the dead worker's sticky queue by hand, as before heartbeats). The run
reports the longest gap between a kill and the retry of a send it cut off, and the workflow tasks
that timed out waiting for a worker (schedule-to-start), read from the histories. SendGrid cannot be
asked whether it got a message: a touch whose worker died between the ledger's claim and
SendGrid's answer is ``unknown`` in the ledger and never resent; those are counted apart (reached
SendGrid once, or never). Prints the counts; exits 1 when a touch was sent twice, an expected
touch never reached a provider outside SendGrid's unknown window, or a journey did not finish.

    .venv/bin/python -m bench.chaos --leads 1000 --kills 10     # the full run
    .venv/bin/python -m bench.chaos --leads 30 --kills 3        # what make test runs (reduced)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.api.enums.v1 import TimeoutType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.harness import awake_zone, hurry_orphans
from nurture.cadence.model import Cadence, parse_cadence
from nurture.contracts import Touch
from nurture.lead import Lead, PostalAddress
from nurture.leads.enrollment import enroll_many
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.client import start_dev_server
from nurture.temporal.codec import EncryptionCodec, data_converter, local_keys, parse_keys
from nurture.temporal.telemetry import free_loopback_port
from tests.channels.stub import ProviderStub

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
#: Each touch's first request is answered this late: a kill can land while a provider holds it.
HOLD = 0.3
#: How many of the slowest retried sends' timelines the report prints.
TIMELINES = 5
#: A retried attempt in the worker's log (activities/touches.py ``_log_retry``).
RETRY_LINE = re.compile(
    r"touch (\S+) attempt (\d+): due (\S+), started (\S+) .*began here ([\d.]+) s later"
)


def chaos_cadence(wait: float) -> Cadence:
    """An email, an SMS and a letter ``wait`` seconds apart (UTC, open 24/7, no jitter)."""
    days = ", ".join(
        f'{d}: "00:00-24:00"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    text = f"""name: chaos
version: 1
audience: {{segments: [chaos]}}
sender: {{name: Test Sender, email: sender@example.com}}
calendar:
  timezone: UTC
  business_hours: {{{days}}}
  jitter_minutes: 0
steps:
  - id: hello
    email: {{template: hello}}
  - wait: {{seconds: {wait}}}
  - id: nudge
    sms: {{template: nudge}}
  - wait: {{seconds: {wait}}}
  - id: letter
    direct_mail: {{template: letter}}
"""
    return parse_cadence(text, "chaos.yaml")


def chaos_lead(n: int) -> Lead:
    address = PostalAddress(line1="1 Main St", city="Springfield", state="IL", postal_code="62701")
    return Lead.from_input(
        {
            "id": f"C{n:05d}",
            "email": f"c{n:05d}@example.com",
            "phone": "+14155550123",
            "first_name": "Ann",
            "company": "Acme",
            "segment": "chaos",
            "address": address,
            "timezone": awake_zone(),
        }
    )


@dataclass
class ChaosReport:
    """What the run did and what reached the providers."""

    leads: int
    finished: int = 0
    kills: list[float] = field(default_factory=list)
    server_restarts: list[float] = field(default_factory=list)
    seconds: float = 0.0
    expected: Counter[str] = field(default_factory=Counter)  # by provider
    exactly_once: Counter[str] = field(default_factory=Counter)
    twice_or_more: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unknown_reached: int = 0  # SendGrid "unknown" touches the stand-in got once
    unknown_never: int = 0  # SendGrid "unknown" touches that never reached it
    requests: Counter[str] = field(default_factory=Counter)
    sendgrid: str = "at-most-once"  # or "cancel" (scheduled sends), "lookup" (Email Activity)
    batches_cancelled: int = 0
    lookups: int = 0
    retry_gaps: list[float] = field(default_factory=list)  # kill -> retried send, seconds
    unkilled_retries: list[str] = field(default_factory=list)  # retries with no kill before
    began_late: list[float] = field(default_factory=list)  # attempts begun > 3 s after start
    loop_stalls: list[float] = field(default_factory=list)  # worker event loop blocked, s
    slow_retries: list[str] = field(default_factory=list)  # each retry: gap, attempt, failure
    queue_waits: list[float] = field(default_factory=list)  # first attempts: scheduled -> started
    schedule_to_start_timeouts: int = 0  # sticky workflow tasks no worker picked up in time
    respawns: int = 0  # workers that exited on their own and were started again
    timelines: list[tuple[float, str]] = field(default_factory=list)  # (gap, one touch's story)
    #: Where the retried sends' time went, summed: backoff (failure -> retry due) and queue
    #: (retry due -> a worker took it), per attempt from the worker's log.
    retry_waits: dict[str, list[float]] = field(default_factory=dict)

    @property
    def unknown_rate(self) -> float:
        """SendGrid touches left ``unknown``, of all SendGrid touches."""
        emails = self.expected.get("sendgrid", 0)
        return (self.unknown_reached + self.unknown_never) / emails if emails else 0.0

    @property
    def longest_gap(self) -> float:
        """The longest wait between a kill and the retry of a send it cut off."""
        return max(self.retry_gaps, default=0.0)

    @property
    def ok(self) -> bool:
        """Every journey finished, no touch twice, none missing outside the unknown window."""
        return self.finished == self.leads and not self.twice_or_more and not self.missing

    def lines(self) -> list[str]:
        """The counts, for people."""
        expected = sum(self.expected.values())
        return [
            f"leads {self.leads}, finished {self.finished}, in {self.seconds:.1f} s",
            f"worker kill -9: {len(self.kills)} at {self.kills} s; dev server restarts: "
            f"{len(self.server_restarts)} at {self.server_restarts} s; workers that exited on "
            f"their own and were started again: {self.respawns}",
            f"expected touches {expected} ({dict(self.expected)}); exactly once "
            f"{sum(self.exactly_once.values())} ({dict(self.exactly_once)})",
            f"sent twice or more: {len(self.twice_or_more)}; missing: {len(self.missing)}",
            f"SendGrid unknown window (never resent): {self.unknown_reached} reached SendGrid "
            f"once, {self.unknown_never} never did",
            f"provider requests: {dict(self.requests)}",
            f"kill-to-retry: {len(self.retry_gaps)} sends retried after a kill, longest gap "
            f"{self.longest_gap:.1f} s, median {_median(self.retry_gaps):.1f} s "
            f"(all: {sorted(self.retry_gaps)})",
            *(
                f"  retry {line}"
                for line in sorted(
                    self.slow_retries, key=lambda line: float(line.split()[0]), reverse=True
                )[:3]
            ),
            f"retries with no kill before them (a live worker's attempt failed or timed out): "
            f"{len(self.unkilled_retries)}",
            *(f"  {line}" for line in self.unkilled_retries[:5]),
            f"attempts a live worker began over 3 s after the server started them: "
            f"{len(self.began_late)}, longest {max(self.began_late, default=0):.1f} s, over 10 s "
            f"(the heartbeat timeout): {sum(late > 10 for late in self.began_late)}",
            f"worker event loop stalls over 2 s: {len(self.loop_stalls)}, longest "
            f"{max(self.loop_stalls, default=0):.1f} s, over 8 s: "
            f"{sum(s > 8 for s in self.loop_stalls)} (sorted: {sorted(self.loop_stalls)[-10:]})",
            f"first attempts waited for a worker: longest {max(self.queue_waits, default=0):.1f} "
            f"s, median {_median(self.queue_waits):.1f} s (a retry waits in the same queue)",
            f"SendGrid ({self.sendgrid}): {self.batches_cancelled} batches cancelled, "
            f"{self.lookups} Email Activity lookups; unknown {self.unknown_rate:.2%}",
            f"workflow task schedule-to-start timeouts (sticky queues): "
            f"{self.schedule_to_start_timeouts}",
            *(
                f"retry attempts' {what}: {len(v)}, longest {max(v, default=0):.1f} s, median "
                f"{_median(v):.1f} s"
                for what, v in sorted(self.retry_waits.items())
            ),
            *(story for _, story in sorted(self.timelines, reverse=True)[:TIMELINES]),
        ]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


class Processes:
    """The worker and dev server subprocesses this run started (and only those)."""

    def __init__(self, settings: Settings, env: dict[str, str], log: Path) -> None:
        self.settings, self.env, self.log = settings, env, log
        self.worker: subprocess.Popen[bytes] | None = None
        self.server: subprocess.Popen[bytes] | None = None

    def start_server(self) -> None:
        self.server = start_dev_server(self.settings, log=self.log.with_name("temporal.log"))

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=60)

    def start_worker(self) -> None:
        with self.log.open("ab") as out:
            self.worker = subprocess.Popen(
                [sys.executable, "worker.py"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()  # SIGKILL: no cleanup, nothing reported to Temporal
            self.worker.wait(timeout=30)

    def stop(self) -> None:
        self.kill_worker()
        self.stop_server()


#: The worker's settings for each way of sending email through SendGrid.
SENDGRID_MODES: dict[str, dict[str, str]] = {
    "at-most-once": {},
    "cancel": {"NURTURE_SENDGRID_SEND_DELAY": "11"},
    "lookup": {"NURTURE_SENDGRID_EMAIL_ACTIVITY": "true", "NURTURE_SENDGRID_ACTIVITY_DELAY": "3"},
}


def worker_env(settings: Settings, stub: ProviderStub, threads: int) -> dict[str, str]:
    """The worker subprocess's environment: the dev server, the store, the stand-in providers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NURTURE_", "TWILIO_"))}
    env.update(
        NURTURE_TEMPORAL_ADDRESS=settings.temporal_address,
        NURTURE_TASK_QUEUE=settings.task_queue,
        NURTURE_DATA_DIR=str(settings.data_dir),
        NURTURE_DATABASE_URL=settings.store_url,
        NURTURE_DB_UPGRADE="true",
        NURTURE_TEMPLATES_DIR=str(FIXTURES / "templates"),
        NURTURE_CADENCES_DIR=str(FIXTURES / "cadences"),
        NURTURE_SENDGRID_API_KEY="SG.chaos",
        NURTURE_SENDGRID_HOST=stub.url,
        NURTURE_NOTICE_FROM="handoffs@example.com",
        NURTURE_TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        NURTURE_TWILIO_AUTH_TOKEN="token",
        NURTURE_TWILIO_FROM="+14155550100",
        NURTURE_TWILIO_API_BASE=stub.url,
        NURTURE_LOB_API_KEY="test_chaos",
        NURTURE_LOB_HOST=stub.url,
        NURTURE_LOB_FROM_ADDRESS="adr_chaos1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


async def hurry_running(client: Client, query: str) -> int:
    """:func:`hurry_orphans` for every journey the query lists."""
    return await hurry_orphans(client, [w.id async for w in client.list_workflows(query)])


T = TypeVar("T")


async def retrying(what: str, call: Callable[[], Awaitable[T]], attempts: int = 60) -> T:
    """Retry a Temporal call while the dev server restarts."""
    for attempt in range(attempts):
        try:
            return await call()
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError(what)


async def run_chaos(
    *,
    leads: int,
    kills: int,
    server_restarts: int = 1,
    wait: float = 2.0,
    seed: int = 14,
    timeout: float = 600,
    threads: int = 16,
    hurry: bool = False,
    worker_settings: dict[str, str] | None = None,
    sendgrid: str = "at-most-once",
    hold: float = HOLD,
    keep_logs: Path | None = None,
) -> ChaosReport:
    """The whole run in a temporary directory; returns the counts."""
    rng = random.Random(seed)
    report = ChaosReport(leads=leads, sendgrid=sendgrid)
    began = time.monotonic()
    killed_at: list[float] = []  # wall clock, to compare with the histories' event times
    with tempfile.TemporaryDirectory(prefix="nurture-chaos-") as tmp, ProviderStub() as stub:
        stub.hold = hold
        settings = Settings(
            temporal_address=f"127.0.0.1:{free_loopback_port()}",
            ui_port=free_loopback_port(),
            data_dir=Path(tmp),
            task_queue="chaos",
        )
        stub.activity_delay = 1.0  # Email Activity lists a message a second after it came
        env = worker_env(settings, stub, threads) | SENDGRID_MODES[sendgrid]
        env |= worker_settings or {}
        processes = Processes(settings, env, Path(tmp) / "w.log")
        running_query = "TaskQueue = 'chaos' AND ExecutionStatus = 'Running'"
        try:
            processes.start_server()
            client = await Client.connect(  # encrypted as the worker does: the data dir's key
                settings.temporal_address,
                data_converter=data_converter(settings.model_copy(update={"codec_keys": None})),
            )
            processes.start_worker()
            people = [(n + 2, chaos_lead(n)) for n in range(leads)]
            enrolled = await enroll_many(client, people, [chaos_cadence(wait)], "chaos")
            if len(enrolled.started) != leads:
                raise RuntimeError(f"enrolment failed: {enrolled}")
            restart_at = sorted(rng.sample(range(1, kills + 1), min(server_restarts, kills)))
            for number in range(1, kills + 1):
                await asyncio.sleep(rng.uniform(0.5, 2.0))
                processes.kill_worker()
                report.kills.append(round(time.monotonic() - began, 1))
                killed_at.append(time.time())
                if number in restart_at:
                    processes.stop_server()
                    processes.start_server()
                    report.server_restarts.append(round(time.monotonic() - began, 1))
                processes.start_worker()
                if hurry:
                    await retrying("hurry", lambda: hurry_running(client, running_query))
            deadline = time.monotonic() + timeout
            while True:
                left = await retrying("count", lambda: client.count_workflows(running_query))
                if left.count == 0:
                    break
                if processes.worker is not None and processes.worker.poll() is not None:
                    # a worker that died on its own (one that could not reach the restarting
                    # server exits 3) is started again, as compose's restart policy would
                    report.respawns += 1
                    processes.start_worker()
                if time.monotonic() > deadline:  # report what did happen, unfinished ones too
                    report.missing.append(f"{left.count} journeys still running after {timeout} s")
                    break
                await asyncio.sleep(1)
            done = await client.count_workflows(
                "TaskQueue = 'chaos' AND ExecutionStatus = 'Completed'"
            )
            report.finished = done.count
            attempts = retried_attempts(processes.log)
            report.began_late = [late for _, late, _ in attempts.pop("began late", [])]
            report.loop_stalls = loop_stalls(processes.log)
            await read_histories(
                client, "TaskQueue = 'chaos'", killed_at, report, settings.data_dir, attempts
            )
        finally:
            processes.stop()
            if keep_logs is not None:  # the worker's and the dev server's logs, for a post-mortem
                keep_logs.mkdir(parents=True, exist_ok=True)
                for name in ("w.log", "temporal.log"):
                    with contextlib.suppress(OSError):
                        shutil.copy(Path(tmp) / name, keep_logs / name)
        report.seconds = time.monotonic() - began
        # upgrade: a run whose workers never started leaves the store empty (counted as missing)
        _count(report, stub, Store(settings.store_url, upgrade=True), leads)
    return report


STALL_LINE = re.compile(r"event loop blocked for ([\d.]+) s")


def loop_stalls(log: Path) -> list[float]:
    """The worker's event-loop stalls it logged (nurture/temporal/looplag.py), seconds."""
    if not log.exists():
        return []
    return [float(m.group(1)) for m in STALL_LINE.finditer(log.read_text(errors="replace"))]


def retried_attempts(log: Path) -> dict[str, list[tuple[int, float, float]]]:
    """Each retried send's attempts as the worker logged them: touch id -> (attempt, due,
    started), wall clock seconds."""
    found: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    if not log.exists():
        return found
    for line in log.read_text(errors="replace").splitlines():
        match = RETRY_LINE.search(line)
        if match:
            touch_id, attempt, due, started, late = match.groups()
            if float(late) > 3:
                found["began late"].append((int(attempt), float(late), 0.0))
            if attempt == "1":
                continue
            found[touch_id].append(
                (
                    int(attempt),
                    datetime.fromisoformat(due).timestamp(),
                    datetime.fromisoformat(started).timestamp(),
                )
            )
    return found


def _backoff(attempt: int) -> float:
    """The retry policy's wait before ``attempt`` (workflows/lead.py ``SEND_RETRY``)."""
    from workflows.lead import SEND_RETRY

    assert SEND_RETRY.maximum_interval is not None
    first = SEND_RETRY.initial_interval.total_seconds()
    most = SEND_RETRY.maximum_interval.total_seconds()
    return min(first * SEND_RETRY.backoff_coefficient ** (attempt - 2), most)


def _retries(
    touch_id: str,
    scheduled: float,
    final: tuple[int, float, str],
    killed_at: list[float],
    logged: list[tuple[int, float, float]],
    report: ChaosReport,
) -> None:
    """One retried send's attempts: each retry is charged to the latest kill since the attempt
    before it started (or since the send was scheduled); a retry with no kill in between was not
    caused by one (a heartbeat missed by a live worker, a provider error) and is counted apart.
    The timeline, in seconds from the first scheduling: the kills, each attempt (its backoff
    before it was due, its wait in the queue), the last attempt and the failure before it."""
    last_attempt, last_start, failure = final
    starts: dict[int, float] = {n: took for n, _, took in logged}
    dues: dict[int, float] = {n: due for n, due, _ in logged}
    starts[last_attempt] = last_start
    kills = [round(k - scheduled, 1) for k in killed_at if scheduled <= k <= last_start]
    parts = [f"touch {touch_id}: kills at +{kills} s"]
    previous = scheduled
    worst = 0.0
    for number in sorted(starts):
        took = starts[number]
        cut = [k for k in killed_at if previous <= k < took]
        if cut:
            gap = round(took - cut[-1], 1)
            report.retry_gaps.append(gap)
            worst = max(worst, gap)
        else:
            report.unkilled_retries.append(f"attempt {number} of {touch_id}: {failure}")
        if number in dues:
            backoff = _backoff(number)
            queue = round(took - dues[number], 1)
            report.retry_waits.setdefault("backoff", []).append(backoff)
            report.retry_waits.setdefault("queue wait", []).append(queue)
            parts.append(
                f"attempt {number} due +{dues[number] - scheduled:.1f} (backoff {backoff:.0f} s)"
                f", started +{took - scheduled:.1f} ({queue} s queued)"
                + (f", {took - cut[-1]:.1f} s after a kill" if cut else ", no kill before it")
            )
        else:
            parts.append(f"attempt {number} started +{took - scheduled:.1f}")
        previous = took
    parts.append(f"failure before the last attempt: {failure}")
    report.slow_retries.append(f"{worst} s, attempt {last_attempt}: {failure}")
    report.timelines.append((worst, "  " + "; ".join(parts)))


async def read_histories(
    client: Client,
    query: str,
    killed_at: list[float],
    report: ChaosReport,
    data_dir: Path,
    attempts: dict[str, list[tuple[int, float, float]]] | None = None,
) -> None:
    """Kill-to-retry gaps and schedule-to-start timeouts, from every journey's history.

    A ``deliver_touch`` that ended on attempt 2 or later: the history keeps its last attempt's
    start and the failure before it; the worker's log (``attempts``) adds the retries in between.
    Each retry after a kill gives a gap (the kill to the retry's start), see :func:`_retries`.
    """
    attempts = attempts or {}
    codec = EncryptionCodec(parse_keys(local_keys(data_dir)))
    async for listed in client.list_workflows(query):
        history = await client.get_workflow_handle(listed.id, run_id=listed.run_id).fetch_history()
        sends: dict[int, float] = {}  # scheduled event id -> when
        touch_ids: dict[int, str] = {}
        for event in history.events:
            at = event.event_time.ToDatetime().timestamp()
            if event.HasField("activity_task_scheduled_event_attributes"):
                scheduled = event.activity_task_scheduled_event_attributes
                if scheduled.activity_type.name == "deliver_touch":
                    sends[event.event_id] = at
                    touch_ids[event.event_id] = await _touch_id(codec, scheduled)
            elif event.HasField("activity_task_started_event_attributes"):
                started = event.activity_task_started_event_attributes
                if started.scheduled_event_id not in sends:
                    continue
                if started.attempt == 1:  # how long a send waited for a worker's thread
                    report.queue_waits.append(round(at - sends[started.scheduled_event_id], 1))
                    continue
                touch_id = touch_ids[started.scheduled_event_id]
                _retries(
                    touch_id,
                    sends[started.scheduled_event_id],
                    (started.attempt, at, started.last_failure.message[:120]),
                    killed_at,
                    attempts.get(touch_id, []),
                    report,
                )
            elif event.HasField("workflow_task_timed_out_event_attributes"):
                timed_out = event.workflow_task_timed_out_event_attributes
                if timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
                    report.schedule_to_start_timeouts += 1  # only sticky tasks have one


async def _touch_id(codec: EncryptionCodec, scheduled: Any) -> str:
    """The touch id of a scheduled ``deliver_touch`` (its input, a ``Touch``, encrypted with the
    worker's local key)."""
    payloads = scheduled.input.payloads
    if not payloads:
        return "?"
    clear = await codec.decode([payloads[0]])
    touch = pydantic_data_converter.payload_converter.from_payload(clear[0], Touch)
    return str(touch.touch_id)


def _count(report: ChaosReport, stub: ProviderStub, ledger: Store, leads: int) -> None:
    rows = {row.touch_id: row for row in ledger.list_touches(limit=10 * leads + 100)}
    ledger.close()
    emails = Counter(stub.emails_out())  # accepted, not in a cancelled batch
    report.batches_cancelled = sum(status == "cancel" for status in stub.batches.values())
    report.lookups = sum(r.path == "/v3/messages" for r in stub.requests)
    texts = Counter(r.touch_id for r in stub.creates("/2010-04-01/"))
    report.requests.update(
        sendgrid=len(stub.creates("/v3/mail/send")),
        twilio=sum(texts.values()),
        lob=len(stub.creates("/letters")),
    )
    for touch_id, row in rows.items():
        report.expected[row.provider] += 1
        if row.provider == "sendgrid":
            times = emails.get(touch_id, 0)
            if row.status == "unknown":
                report.unknown_reached += times == 1
                report.unknown_never += times == 0
                if times > 1:
                    report.twice_or_more.append(touch_id)
                continue
        elif row.provider == "twilio":
            times = texts.get(touch_id, 0)
        elif row.provider == "lob":
            times = 1 if touch_id in stub.lob_pieces else 0  # one piece per idempotency key
        else:
            report.missing.append(f"{touch_id} ({row.provider}, {row.status})")
            continue
        if times == 1 and row.status == "sent":
            report.exactly_once[row.provider] += 1
        elif times > 1:
            report.twice_or_more.append(touch_id)
        else:
            report.missing.append(f"{touch_id} ({row.provider}, {row.status}, {times}x)")
    expected_total = 3 * leads
    if len(rows) != expected_total:
        report.missing.append(f"{expected_total - len(rows)} touches never in the ledger")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--server-restarts", type=int, default=1)
    parser.add_argument("--wait", type=float, default=2.0, help="seconds between touches")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600,
        help="seconds the journeys may take to finish after the last kill (a loaded machine "
        "needs far more than a quiet one)",
    )
    parser.add_argument(
        "--sendgrid",
        choices=sorted(SENDGRID_MODES),
        default="at-most-once",
        help="cancel: cancellable scheduled sends; lookup: Email Activity",
    )
    parser.add_argument(
        "--hold", type=float, default=HOLD, help="seconds each touch's first answer is held"
    )
    parser.add_argument(
        "--hurry", action="store_true", help="after each kill, shorten orphaned sends by hand"
    )
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="copy the worker's and server's logs here"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NURTURE_X=VALUE",
        help="a setting for the worker (e.g. NURTURE_WORKER_STICKY_TIMEOUT=20); repeatable",
    )
    args = parser.parse_args()
    report = asyncio.run(
        run_chaos(
            leads=args.leads,
            kills=args.kills,
            server_restarts=args.server_restarts,
            wait=args.wait,
            seed=args.seed,
            timeout=args.timeout,
            hurry=args.hurry,
            sendgrid=args.sendgrid,
            hold=args.hold,
            keep_logs=args.keep_logs,
            worker_settings=dict(item.split("=", 1) for item in args.set),
        )
    )
    print("\n".join(report.lines()))
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
