"""Worker tuning from the settings: workflow-task concurrency, sticky cache, thread pools.

Each channel's sends get their own thread pool (``NURTURE_WORKER_ACTIVITY_THREADS`` each,
``NURTURE_WORKER_CHANNEL_THREADS`` per channel), so a slow provider holds its own threads only.
Unset workflow options keep the Temporal SDK's defaults (README "Worker tuning" has the figures
for 2 cores and bigger machines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from nurture.events import Channel
from nurture.settings import Settings

#: Call tasks only write the outbox; they need few threads.
CALL_THREADS = 2


@dataclass(frozen=True)
class WorkerTuning:
    """What a worker process is sized with."""

    workflow_tasks: int | None = None
    sticky_timeout: float | None = None
    cached_workflows: int | None = None
    activity_threads: int = 8
    channel_threads: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerTuning:
        """The tuning the ``NURTURE_WORKER_*`` settings ask for."""
        unknown = set(settings.worker_channel_threads) - {c.value for c in Channel}
        if unknown:
            raise ValueError(f"NURTURE_WORKER_CHANNEL_THREADS: no channel {sorted(unknown)}")
        return cls(
            workflow_tasks=settings.worker_workflow_tasks,
            sticky_timeout=settings.worker_sticky_timeout,
            cached_workflows=settings.worker_cached_workflows,
            activity_threads=settings.worker_activity_threads,
            channel_threads=dict(settings.worker_channel_threads),
        )

    @property
    def journey_threads(self) -> int:
        """Threads of the journeys' own activities (assign, load_cadence)."""
        return min(self.activity_threads, 4)

    def threads(self, channel: Channel) -> int:
        """Threads of one channel's send pool."""
        if channel.value in self.channel_threads:
            return self.channel_threads[channel.value]
        if channel is Channel.call:
            return min(self.activity_threads, CALL_THREADS)
        return self.activity_threads

    def workflow_options(self) -> dict[str, Any]:
        """Keyword arguments of the journeys' ``Worker`` (only those set)."""
        options: dict[str, Any] = {}
        if self.workflow_tasks is not None:
            options["max_concurrent_workflow_tasks"] = self.workflow_tasks
        if self.sticky_timeout is not None:
            options["sticky_queue_schedule_to_start_timeout"] = timedelta(
                seconds=self.sticky_timeout
            )
        if self.cached_workflows is not None:
            options["max_cached_workflows"] = self.cached_workflows
        return options
