"""Inbox -> Temporal: signal pending events to their leads' workflows, whenever Temporal is up.

:class:`TemporalLink` connects lazily and, after a failed connect, waits a little before trying
again (so a down server costs nothing per request). :class:`Deliverer` signals pending rows, one
lead's events in order, several leads at once. :class:`DeliveryLoop` runs it in the background
of the web app, backing off while Temporal is unreachable.

Once and bounded: a pass first *claims* its rows in the store (a lease, ``inbox.claimed_by`` /
``claimed_until``), so the immediate delivery, the loop and other web processes never signal one
row at the same time; all passes of a process share one bound on signals in flight; and each
signal carries a request id derived from the event id, so a signal that timed out at the client
but reached the server is dropped by the server when it is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from nurture.events import EngagementEvent
from nurture.inbox.store import Inbox, InboxRecord
from nurture.settings import Settings
from nurture.temporal.client import connect as default_connect
from nurture.temporal.ids import workflow_id

log = logging.getLogger("nurture.inbox.delivery")

#: Seconds between two connection attempts after one failed.
RETRY_CONNECT_AFTER = 5.0
#: How long one connect or one signal may take.
CONNECT_TIMEOUT = 10.0
SIGNAL_TIMEOUT = timedelta(seconds=10)
#: Rows per delivery pass.
BATCH = 500
#: How long a pass holds the rows it claimed (a crashed process's rows are free again after it).
CLAIM_LEASE = timedelta(minutes=5)


class TemporalUnavailable(Exception):
    """Temporal cannot be reached right now; the events stay pending."""


class TemporalLink:
    """A Temporal client made on first use, tolerant of the server being down."""

    def __init__(
        self,
        settings: Settings,
        *,
        connect: Callable[[Settings], Awaitable[Client]] | None = None,
        retry_after: float = RETRY_CONNECT_AFTER,
    ) -> None:
        self.settings = settings
        self._connect = connect or default_connect
        self.retry_after = retry_after
        self._client: Client | None = None
        self._failed_at: float | None = None
        self._error = ""
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The client, connecting if needed; raises :class:`TemporalUnavailable`."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            waited = time.monotonic() - self._failed_at if self._failed_at is not None else None
            if waited is not None and waited < self.retry_after:
                raise TemporalUnavailable(self._error)
            try:
                self._client = await asyncio.wait_for(
                    self._connect(self.settings), timeout=CONNECT_TIMEOUT
                )
            except Exception as exc:  # refused, unresolvable, timed out...: all mean "not now"
                self._failed_at = time.monotonic()
                reason = str(exc) or type(exc).__name__
                self._error = f"Temporal at {self.settings.temporal_address} unreachable: {reason}"
                log.warning("%s", self._error)
                raise TemporalUnavailable(self._error) from None
            self._failed_at = None
            log.info("connected to Temporal at %s", self.settings.temporal_address)
            return self._client


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    delivered: list[str] = field(default_factory=list)
    unknown_lead: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def attempted(self) -> int:
        """Rows this pass tried."""
        return len(self.delivered) + len(self.unknown_lead) + len(self.failed)


class Deliverer:
    """Signals pending inbox rows to ``lead-<id>`` (the workflow drops repeated event ids).

    Passes may overlap (the delivery loop and the delivery right after a request, in this or
    another web process): each claims its rows in the store first, so a row is signalled by one
    pass at a time; ``concurrency`` bounds the signals in flight across all passes.
    """

    def __init__(
        self,
        inbox: Inbox,
        link: TemporalLink,
        *,
        concurrency: int = 16,
        lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self.inbox = inbox
        self.link = link
        self.concurrency = concurrency
        self.lease = lease
        self.claimer = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._gate: asyncio.Semaphore | None = None

    @property
    def gate(self) -> asyncio.Semaphore:
        """The one bound on signals in flight from this process."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.concurrency)
        return self._gate

    async def deliver(
        self, ids: Iterable[str] | None = None, *, limit: int = BATCH
    ) -> DeliveryReport:
        """Deliver pending rows no other pass holds (only these ids, if given), oldest first."""
        rows = await asyncio.to_thread(
            self.inbox.claim,
            self.claimer,
            ids=list(ids) if ids is not None else None,
            limit=limit,
            lease=self.lease,
        )
        return await self.deliver_claimed(rows)

    async def deliver_claimed(self, rows: list[InboxRecord]) -> DeliveryReport:
        """Deliver rows this deliverer holds already (claimed by :meth:`deliver`, or inserted
        claimed by ``Inbox.accept(claimer=...)``); rows not delivered are released."""
        report = DeliveryReport()
        if not rows:
            return report
        try:
            await self._deliver_rows(rows, report)
        finally:
            delivered = set(report.delivered)  # their delivered mark ended the hold
            rest = [r.event_id for r in rows if r.event_id not in delivered]
            if rest:
                await asyncio.to_thread(self.inbox.release, rest, self.claimer)
        return report

    async def _deliver_rows(self, rows: list[InboxRecord], report: DeliveryReport) -> None:
        try:
            client = await self.link.client()
        except TemporalUnavailable as exc:
            report.error = str(exc)
            report.failed = [r.event_id for r in rows]
            await asyncio.to_thread(self.inbox.mark_failed, report.failed, str(exc))
            return
        by_lead: dict[str, list[InboxRecord]] = {}
        for row in sorted(rows, key=lambda r: (r.at, r.received_at)):
            by_lead.setdefault(row.lead_id or "", []).append(row)

        signalled: list[str] = []

        async def one_lead(lead_rows: list[InboxRecord]) -> None:
            for row in lead_rows:
                async with self.gate:
                    delivered = await self._deliver_one(client, row, report, signalled)
                if not delivered:
                    break  # keep this lead's later events behind the one that failed

        try:
            await asyncio.gather(*(one_lead(lead_rows) for lead_rows in by_lead.values()))
        finally:
            # One write for the pass, not one per event (a crash before it leaves the rows
            # pending: their re-sent signals carry the same request ids, Temporal drops them).
            await asyncio.to_thread(self.inbox.mark_delivered, *signalled)

    async def _deliver_one(
        self, client: Client, row: InboxRecord, report: DeliveryReport, signalled: list[str]
    ) -> bool:
        """Signal one row (``signalled`` collects it, to be marked delivered); False if it
        failed for a passing reason (it stays pending)."""
        event = row.event()
        if event is None:  # cannot happen for a pending row, but never signal nothing
            await asyncio.to_thread(self.inbox.mark_unknown_lead, row.event_id, "no lead id")
            report.unknown_lead.append(row.event_id)
            return True
        try:
            await signal_once(client, event)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND and not exc.message.startswith("Namespace"):
                reason = f"no running journey lead-{event.lead_id}: {exc.message}"
                log.warning("event %s: %s", row.event_id, reason)
                await asyncio.to_thread(self.inbox.mark_unknown_lead, row.event_id, reason)
                report.unknown_lead.append(row.event_id)
                return True
            await self._failed(row, report, f"{exc.status.name if exc.status else ''} {exc}")
            return False
        except Exception as exc:  # anything else is passing: the row stays pending
            await self._failed(row, report, f"{type(exc).__name__}: {exc}")
            return False
        signalled.append(row.event_id)
        report.delivered.append(row.event_id)
        return True

    async def _failed(self, row: InboxRecord, report: DeliveryReport, reason: str) -> None:
        log.warning("event %s stays pending: %s", row.event_id, reason)
        await asyncio.to_thread(self.inbox.mark_failed, [row.event_id], reason.strip())
        report.failed.append(row.event_id)
        report.error = reason.strip()


def request_id(event_id: str) -> str:
    """The signal's request id: one per event, so Temporal drops a repeated signal."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nurture:inbox:{event_id}"))


async def signal_once(client: Client, event: EngagementEvent) -> None:
    """Signal ``event`` to the lead's journey with the event's own request id (the SDK's
    ``signal`` makes a new one per call, so a re-sent signal would be a second one)."""
    request = SignalWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id(event.lead_id)),
        signal_name="event",
        identity=client.identity,
        request_id=request_id(event.id),
    )
    request.input.payloads.extend(await client.data_converter.encode([event]))
    await client.workflow_service.signal_workflow_execution(
        request, retry=True, timeout=SIGNAL_TIMEOUT
    )


class DeliveryLoop:
    """Runs :meth:`Deliverer.deliver` now and then: every ``interval`` seconds while all is well,
    backing off to ``max_interval`` while Temporal is unreachable; :meth:`wake` runs it at once.
    After each pass it runs the web app's housekeeping ``chores`` (each decides whether it is
    its time, e.g. the email_attempts retention, nurture/channels/email_retention.py)."""

    def __init__(
        self,
        deliverer: Deliverer,
        *,
        interval: float = 5.0,
        max_interval: float = 60.0,
        chores: Iterable[Callable[[], Awaitable[object]]] = (),
    ) -> None:
        self.deliverer = deliverer
        self.interval = interval
        self.max_interval = max_interval
        self.chores = list(chores)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start in the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="nurture-inbox-delivery")

    def wake(self) -> None:
        """Run a pass now (e.g. after new events were accepted)."""
        self._wake.set()

    async def stop(self, grace: float = 2 * CONNECT_TIMEOUT) -> None:
        """Stop once the current pass ends (it releases the rows it claimed); a pass still
        running after ``grace`` seconds is cancelled and its claims lapse with their lease."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._stopping = False

    async def _run(self) -> None:
        delay = self.interval
        while not self._stopping:
            self._wake.clear()
            try:
                report = await self.deliverer.deliver()
            except Exception:
                log.exception("inbox delivery pass failed")
                report = DeliveryReport(error="pass failed")
            for chore in self.chores:
                try:
                    await chore()
                except Exception:
                    log.exception("housekeeping chore failed")
            if report.delivered or report.unknown_lead:
                log.info(
                    "inbox: %d delivered, %d unknown lead, %d still pending",
                    len(report.delivered),
                    len(report.unknown_lead),
                    len(report.failed),
                )
            if report.failed:
                delay = min(delay * 2, self.max_interval)
            elif report.attempted >= BATCH:
                continue  # more are waiting
            else:
                delay = self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
