"""Heartbeats around a blocking provider call, so Temporal notices a dead worker in seconds.

``deliver_touch`` runs in a thread and blocks on the store, the template and the provider's HTTP
request (up to 30 s). A helper thread heartbeats every ``HEARTBEAT_EVERY`` seconds while it runs
(from the activity's first line; the worker forwards each beat, ``SERVER_BEAT_EVERY``); the
workflow schedules the activity with a heartbeat timeout (``SEND_HEARTBEAT_TIMEOUT`` in
workflows/lead.py), so an attempt whose worker was killed is retried seconds later, not after the
start-to-close timeout.
A live worker keeps heartbeating while it waits for the provider, so a slow answer is never
taken for a dead worker.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio import activity

#: Seconds between two heartbeats of a running send.
HEARTBEAT_EVERY = 2.0
#: The channel workers' ``max_heartbeat_throttle_interval``: the SDK otherwise forwards a
#: heartbeat to the server only every 0.8 × the heartbeat timeout (8 of 10 s), so a live worker
#: two seconds late under load looked dead and its send was retried while it still ran (the
#: chaos run's "minutes" were such retries). Every beat now reaches the server: 8 s of slack.
SERVER_BEAT_EVERY = timedelta(seconds=HEARTBEAT_EVERY)


@contextmanager
def heartbeating(every: float = HEARTBEAT_EVERY) -> Iterator[None]:
    """Heartbeat from a helper thread while the block runs (a no-op outside an activity)."""
    if not activity.in_activity():
        yield
        return
    stop = threading.Event()
    context = contextvars.copy_context()  # the activity's context, for activity.heartbeat

    def beat() -> None:
        context.run(activity.heartbeat)
        while not stop.wait(every):
            context.run(activity.heartbeat)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
