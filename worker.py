"""The nurture worker: runs lead workflows and the activities that render and send touches."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import logging
import py_compile
import sys
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.desk import DeskActivities
from activities.journeylog import JourneyLogActivities
from activities.touches import TouchActivities
from nurture.channels.registry import ConfigError, check_config, providers, queue_rates
from nurture.events import Channel
from nurture.logs import configure_logging
from nurture.schema import StoreBehind
from nurture.settings import ProductionConfigError, Settings, get_settings
from nurture.temporal.client import connect
from nurture.temporal.ids import touch_queue
from nurture.temporal.setup import MissingSearchAttributes, check_search_attributes
from nurture.temporal.telemetry import worker_runtime
from workflows.lead import LeadJourneyWorkflow

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
    """The lead-journey worker plus one touch worker per channel (each its own task queue)."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    async def run(self) -> None:
        """Run every worker until cancelled."""
        await asyncio.gather(*(w.run() for w in self.workers))

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
        await asyncio.gather(*(w.__aexit__(kind, error, trace) for w in self.workers))


def build_worker(
    client: Client,
    settings: Settings,
    executor: ThreadPoolExecutor,
    touches: TouchActivities | None = None,
    desk: DeskActivities | None = None,
) -> NurtureWorker:
    """Workers for lead journeys on the settings' task queue and for each channel's sends.

    Each channel's queue is rate-limited server-side (``max_task_queue_activities_per_second``,
    shared by every worker) at its provider's configured rate.
    """
    touches = touches or TouchActivities.from_settings(settings)
    desk = desk or DeskActivities(touches.store, settings)
    rates = queue_rates(settings)
    cache_bytecode(LeadJourneyWorkflow)
    journeys = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[LeadJourneyWorkflow],
        activities=[
            touches.load_cadence,
            desk.assign,
            JourneyLogActivities(touches.store).record_milestones,
        ],
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
        workflow_runner=workflow_runner(),
    )
    senders = [
        Worker(
            client,
            task_queue=touch_queue(settings.task_queue, channel),
            activities=[touches.deliver_touch],
            activity_executor=executor,
            max_concurrent_activities=executor._max_workers,
            max_task_queue_activities_per_second=rates[channel],
        )
        for channel in Channel
    ]
    return NurtureWorker([journeys, *senders])


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
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        await build_worker(client, settings, executor).run()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (ConfigError, ProductionConfigError, StoreBehind, MissingSearchAttributes) as exc:
        sys.exit(f"nurture worker: {exc}")
