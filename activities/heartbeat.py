"""Heartbeats around a blocking provider call, so Temporal notices a dead worker in seconds.

``deliver_touch`` runs in a thread and blocks on the store, the template and the provider's HTTP
request (up to 30 s). While it runs (from the activity's first line), one shared helper thread
heartbeats it every ``HEARTBEAT_EVERY`` seconds and the worker forwards each beat
(``SERVER_BEAT_EVERY``); the workflow schedules the activity with a heartbeat timeout
(``SEND_HEARTBEAT_TIMEOUT`` in workflows/lead.py), which the server counts from the attempt's
start, so an attempt whose worker was killed is retried seconds later, not after the
start-to-close timeout. A live worker keeps heartbeating while it waits for the provider, so a
slow answer is never taken for a dead worker.

The first beat comes ``every`` seconds after the start: a send that finishes sooner (nearly all
of them) costs no heartbeat at all, and no thread of its own (one helper serves every send).
"""

from __future__ import annotations

import contextvars
import itertools
import threading
import time
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


class _Beats:
    """The running sends and the one daemon thread that heartbeats each when it is due."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._sends: dict[int, tuple[float, float, contextvars.Context]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        #: When the helper thread wakes next by itself (it is only woken for a sooner beat).
        self._wake_at = float("inf")

    def add(self, every: float, context: contextvars.Context) -> int:
        """Heartbeat ``context``'s activity every ``every`` seconds from now on."""
        with self._lock:
            token = next(self._tokens)
            due = time.monotonic() + every
            self._sends[token] = (due, every, context)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="heartbeats", daemon=True)
                self._thread.start()
            elif due < self._wake_at:  # else the thread wakes in time: no switch per send
                self._lock.notify()
            return token

    def remove(self, token: int) -> None:
        """Stop heartbeating; once this returns, that activity gets no more beats."""
        with self._lock:
            del self._sends[token]

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for token, (due, every, context) in list(self._sends.items()):
                    if due <= now:
                        context.run(activity.heartbeat)  # only queues it for the SDK: quick
                        self._sends[token] = (now + every, every, context)
                soonest = min((due for due, _, _ in self._sends.values()), default=now + 60)
                self._wake_at = soonest
                self._lock.wait(max(soonest - time.monotonic(), 0.0))


_BEATS = _Beats()


@contextmanager
def heartbeating(every: float = HEARTBEAT_EVERY) -> Iterator[None]:
    """Heartbeat every ``every`` seconds while the block runs (a no-op outside an activity)."""
    if not activity.in_activity():
        yield
        return
    token = _BEATS.add(every, contextvars.copy_context())  # the activity's context
    try:
        yield
    finally:
        _BEATS.remove(token)
