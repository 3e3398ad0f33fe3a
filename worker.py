"""The nurture worker: runs lead workflows and the activities that render and send touches."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import logging
import os
import py_compile
import sys
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.desk import DeskActivities
from activities.heartbeat import SERVER_BEAT_EVERY
from activities.journeylog import JourneyLogActivities
from activities.touches import TouchActivities
from nurture.channels.registry import ConfigError, check_config, providers, queue_rates
from nurture.events import Channel
from nurture.logs import configure_logging
from nurture.schema import StoreBehind
from nurture.settings import ProductionConfigError, Settings, get_settings
from nurture.temporal.client import connect
from nurture.temporal.ids import touch_queue
from nurture.temporal.looplag import watch_loop
from nurture.temporal.setup import MissingSearchAttributes, check_search_attributes
from nurture.temporal.telemetry import worker_runtime
from nurture.temporal.tuning import WorkerTuning
from workflows.lead import LeadJourneyWorkflow

#: The shared pool's size when a caller passes one executor for every worker (tests, benches).
ACTIVITY_THREADS = 32
#: Libraries the journey's models use while (de)serializing; deterministic, so shared with the
#: sandbox instead of re-imported for every workflow run.
PASSTHROUGH = (
    "pydantic",
    "pydantic_core",
    "email_validator",
    "phonenumbers",
    "holidays",
    "dateutil",
    "yaml",
)


def cache_bytecode(*workflows: type) -> None:
    """Write the bytecode of these workflows' modules, even where Python does not
    (``PYTHONDONTWRITEBYTECODE``): the sandbox imports a workflow's module afresh for every run,
    which without a ``.pyc`` means compiling it every time (about 4 ms for ``workflows/lead.py``).
    Best effort: a read-only source tree only costs that time."""
    for cls in workflows:
        source = inspect.getsourcefile(cls)
        if source is None:
            continue
        with contextlib.suppress(OSError, py_compile.PyCompileError):
            py_compile.compile(source, importlib.util.cache_from_source(source), doraise=True)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The workflow sandbox, sharing the deterministic libraries our models use."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


class NurtureWorker:
    """The lead-journey worker plus one touch worker per channel (each its own task queue),
    and the thread pools it owns (shut down when it stops)."""

    def __init__(
        self, workers: list[Worker], pools: list[ThreadPoolExecutor] | None = None
    ) -> None:
        self.workers = workers
        self.pools = pools or []

    async def run(self) -> None:
        """Run every worker until cancelled."""
        try:
            await asyncio.gather(*(w.run() for w in self.workers))
        finally:
            self._close_pools()

    def _close_pools(self) -> None:
        for pool in self.pools:
            pool.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> NurtureWorker:
        for w in self.workers:
            await w.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            await asyncio.gather(*(w.__aexit__(kind, error, trace) for w in self.workers))
        finally:
            self._close_pools()


def build_worker(
    client: Client,
    settings: Settings,
    executor: ThreadPoolExecutor | None = None,
    touches: TouchActivities | None = None,
    desk: DeskActivities | None = None,
) -> NurtureWorker:
    """Workers for lead journeys on the settings' task queue and for each channel's sends.

    Each channel's queue is rate-limited server-side (``max_task_queue_activities_per_second``,
    shared by every worker) at its provider's configured rate. Without ``executor`` every
    worker gets its own thread pool sized by ``NURTURE_WORKER_*`` (a slow provider cannot take
    the threads of another channel); with one, all share it (tests, benches).
    """
    touches = touches or TouchActivities.from_settings(settings)
    desk = desk or DeskActivities(touches.store, settings)
    rates = queue_rates(settings)
    tuning = WorkerTuning.from_settings(settings)
    pools: list[ThreadPoolExecutor] = []

    def pool(threads: int, name: str) -> ThreadPoolExecutor:
        if executor is not None:
            return executor
        made = ThreadPoolExecutor(threads, thread_name_prefix=f"nurture-{name}")
        pools.append(made)
        return made

    cache_bytecode(LeadJourneyWorkflow)
    journey_pool = pool(tuning.journey_threads, "journeys")
    journeys = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[LeadJourneyWorkflow],
        activities=[
            touches.load_cadence,
            desk.assign,
            JourneyLogActivities(touches.store).record_milestones,
        ],
        activity_executor=journey_pool,
        max_concurrent_activities=journey_pool._max_workers,
        workflow_runner=workflow_runner(),
        **tuning.workflow_options(),
    )
    senders = []
    for channel in Channel:
        channel_pool = pool(tuning.threads(channel), channel.value)
        senders.append(
            Worker(
                client,
                task_queue=touch_queue(settings.task_queue, channel),
                activities=[touches.deliver_touch],
                activity_executor=channel_pool,
                max_concurrent_activities=channel_pool._max_workers,
                max_task_queue_activities_per_second=rates[channel],
                max_heartbeat_throttle_interval=SERVER_BEAT_EVERY,  # activities/heartbeat.py
            )
        )
    return NurtureWorker([journeys, *senders], pools)


async def main() -> None:
    """Check the provider configuration, then run a worker until interrupted."""
    settings = get_settings()
    settings.check_production()
    check_config(settings)
    configure_logging(settings)
    routes = ", ".join(f"{c.value} → {p}" for c, p in providers(settings).items())
    logging.getLogger("nurture.worker").info("nurture worker: %s", routes)
    client = await connect(settings, worker_runtime(settings))
    await check_search_attributes(client)
    watchdog = asyncio.create_task(watch_loop())  # a stalled loop makes live sends look dead
    try:
        await build_worker(client, settings).run()
    finally:
        watchdog.cancel()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (ConfigError, ProductionConfigError, StoreBehind, MissingSearchAttributes) as exc:
        print(f"nurture worker: {exc}", file=sys.stderr, flush=True)
        # Leave at once: the Temporal runtime's threads are up, and an interpreter finalising
        # under them can abort (a refused start once ended in SIGABRT instead of exit code 1).
        os._exit(1)
