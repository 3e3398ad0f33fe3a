"""Where a webhook event's time goes (``python -m bench.webhooks --split``): per phase of the
nurture side, the store's SQL statements (how many, wall time, by kind and table, and the
"database is locked" errors), the inbox and journey-log calls (calls, wall and thread CPU), and
the Python process's CPU by thread (asyncio loop, to_thread helpers, workflow activations,
activity threads, the SDK's Rust threads).

Measurement only: it wraps methods and listens to the engine while a phase runs; nothing of it
is used by the product.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: The product's calls timed (class, method) — a method runs on the thread that calls it.
WRAPPED = (
    ("nurture.inbox.store", "Inbox", "accept"),
    ("nurture.inbox.store", "Inbox", "claim"),
    ("nurture.inbox.store", "Inbox", "release"),
    ("nurture.inbox.store", "Inbox", "mark_delivered"),
    ("nurture.inbox.store", "Inbox", "accept_claimed"),
    ("nurture.inbox.store", "Inbox", "settle"),
    ("nurture.journeylog.store", "JourneyLog", "record_rows"),
)
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Tally:
    """Calls, wall seconds, thread-CPU seconds and errors of one thing."""

    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    errors: int = 0
    rows: int = 0


@dataclass
class Split:
    """What one phase cost, by statement, by call and by thread."""

    sql: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    calls: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    threads: dict[str, float] = field(default_factory=dict)
    locked: int = 0

    def lines(self, per: int) -> list[str]:
        """The figures per unit (``per`` events), as printable lines."""
        out = [f"  calls (per {per} events: calls, wall ms, thread-CPU ms, errors):"]
        for name, t in sorted(self.calls.items()):
            out.append(
                f"    {name:<28} {t.calls:6d}  wall {t.wall * 1000:9.1f}  cpu {t.cpu * 1000:8.1f}"
                f"  errors {t.errors}"
            )
        total = Tally()
        out.append("  SQL statements (count, wall ms, rows):")
        for name, t in sorted(self.sql.items(), key=lambda kv: -kv[1].wall):
            total.calls += t.calls
            total.wall += t.wall
            out.append(f"    {name:<44} {t.calls:6d}  wall {t.wall * 1000:9.1f}  rows {t.rows}")
        out.append(
            f"    all statements: {total.calls} ({total.calls / per:.2f} per event), "
            f"{total.wall * 1000 / per:.2f} ms wall per event; 'database is locked': {self.locked}"
        )
        out.append("  Python CPU by thread (ms per event):")
        for name, seconds in sorted(self.threads.items(), key=lambda kv: -kv[1]):
            out.append(f"    {name:<28} {seconds * 1000 / per:7.2f}")
        out.append(f"    {'total':<28} {sum(self.threads.values()) * 1000 / per:7.2f}")
        return out


_HEAD = re.compile(r"^\s*(\w+)(?:.*?\b(?:INTO|FROM|UPDATE)\s+\"?(\w+))?", re.S | re.I)


def _statement(sql: str) -> str:
    match = _HEAD.match(sql)
    if not match:
        return sql[:30]
    verb = match.group(1).upper()
    table = match.group(2) or ""
    if verb == "UPDATE":
        table = sql.split()[1].strip('"')
    return f"{verb} {table}".strip()


def _kind(name: str) -> str:
    """A thread's group: the asyncio loop, to_thread helpers, the worker's pools, the SDK."""
    if name == "MainThread":
        return "asyncio loop (main)"
    if name.startswith("asyncio_"):
        return "to_thread helpers"
    if name.startswith("nurture-"):
        return "activity threads"
    if "workflow" in name.lower() or name.startswith("temporal_workflow"):
        return "workflow activations"
    if name.startswith("ThreadPoolExecutor"):
        return "thread pools (bench/SDK)"
    if name.startswith("Thread-"):
        return "other Python threads"
    return name


def _thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of every live thread of this process, with its Python name if it has one."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    found: dict[int, tuple[str, float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/self/task/{tid}/comm") as comm:
                native = comm.read().strip()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / TICK
        name = names.get(int(tid))
        found[int(tid)] = (_kind(name) if name else f"native {native}", seconds)
    return found


@contextmanager
def measuring(engine: Engine) -> Iterator[Split]:
    """Tally the phase run inside the ``with`` block."""
    split = Split()
    starts: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        starts[threading.get_ident()] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any) -> None:
        began = starts.pop(threading.get_ident(), None)
        tally = split.sql[_statement(statement)]
        tally.calls += 1
        tally.rows += max(cursor.rowcount, 0) if cursor is not None else 0
        if began is not None:
            tally.wall += time.perf_counter() - began

    def failed(context: Any) -> None:
        starts.pop(threading.get_ident(), None)
        if "locked" in str(context.original_exception):
            split.locked += 1

    undo: list[Callable[[], None]] = []
    for module_name, class_name, method in WRAPPED:
        module = __import__(module_name, fromlist=[class_name])
        owner = getattr(module, class_name)
        original = getattr(owner, method, None)
        if original is None:
            continue
        setattr(owner, method, _timed(original, split.calls[f"{class_name}.{method}"]))
        undo.append(functools.partial(setattr, owner, method, original))
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
    before_threads = _thread_cpu()
    try:
        yield split
    finally:
        after_threads = _thread_cpu()
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        event.remove(engine, "handle_error", failed)
        for step in undo:
            step()
        groups: dict[str, float] = defaultdict(float)
        for tid, (name, seconds) in after_threads.items():
            groups[name] += seconds - before_threads.get(tid, (name, 0.0))[1]
        split.threads = {k: v for k, v in groups.items() if v > 0}


def _timed(original: Callable[..., Any], tally: Tally) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        except Exception:
            tally.errors += 1
            raise
        finally:
            tally.calls += 1
            tally.wall += time.perf_counter() - wall
            tally.cpu += time.thread_time() - cpu

    return wrapper
