"""A watchdog on the worker's event loop: heartbeats and activity completions of thread-pool
activities go through it, so while it is blocked a live send looks dead to Temporal (its
heartbeat timeout fires and the send is retried under it). Logs each stall longer than
``LAG_WARNING`` seconds (the chaos bench counts them)."""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger("nurture.worker")

#: A stall at least this long (seconds) is logged.
LAG_WARNING = 2.0
#: How often the watchdog wakes.
TICK = 0.5


async def watch_loop(tick: float = TICK, warn: float = LAG_WARNING) -> None:
    """Run until cancelled: wake every ``tick`` seconds, log when a wake-up came ``warn`` late."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(tick)
        late = time.monotonic() - before - tick
        if late >= warn:
            log.warning("event loop blocked for %.1f s (heartbeats and completions waited)", late)
