"""Pause and resume: one lead (out of office until a date), or every running lead on a cadence.

These are the workflow's ``pause(PauseLead)`` and ``resume(ResumeLead)`` updates; their
validators refuse what does not fit (a lead with sales, a finished journey, resuming a lead that
is not paused) and the refusal is reported per lead, never stopping the others.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.service import RPCError

from nurture.contracts import PauseLead, ResumeLead
from nurture.temporal.calls import RPC_TIMEOUT, LeadError, rpc_error, update
from nurture.temporal.ids import lead_id_of

#: Updates in flight at once for a whole cadence.
CONCURRENCY = 32
_CADENCE = re.compile(r"[a-z0-9][a-z0-9-]*")


def cadence_query(name: str) -> str:
    """Visibility query: the running journeys on cadence ``name``."""
    if not _CADENCE.fullmatch(name):
        raise LeadError(f"not a cadence name: {name!r} (lower-case letters, digits and '-')", 400)
    return f"Cadence = '{name}' AND ExecutionStatus = 'Running'"


async def pause_lead(
    client: Client, lead_id: str, action: PauseLead, request_id: str | None = None
) -> str:
    """Pause one lead; the journey's own words for it ("Paused (out of office) until ...")."""
    update_id = f"pause:{request_id}" if request_id else None
    text: str = await update(client, lead_id, "pause", action, str, update_id=update_id)
    return text


async def resume_lead(
    client: Client, lead_id: str, action: ResumeLead, request_id: str | None = None
) -> str:
    """Resume one paused lead; its planned times move by the time it was paused."""
    update_id = f"resume:{request_id}" if request_id else None
    text: str = await update(client, lead_id, "resume", action, str, update_id=update_id)
    return text


@dataclass
class BatchReport:
    """What pausing or resuming a cadence did, lead by lead."""

    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


async def cadence_leads(client: Client, name: str) -> list[str]:
    """The ids of every running lead on cadence ``name`` (visibility)."""
    try:
        return [
            lead_id_of(e.id)
            async for e in client.list_workflows(cadence_query(name), rpc_timeout=RPC_TIMEOUT)
        ]
    except RPCError as exc:
        raise rpc_error(exc, f"list the leads on cadence {name}") from None


async def for_each_lead(
    client: Client,
    lead_ids: list[str],
    action: PauseLead | ResumeLead,
    *,
    on_done: Callable[[], None] | None = None,
) -> BatchReport:
    """Send ``pause`` or ``resume`` to each lead; refusals and errors are kept per lead."""
    report = BatchReport()
    gate = asyncio.Semaphore(CONCURRENCY)
    act = pause_lead if isinstance(action, PauseLead) else resume_lead

    async def one(lead_id: str) -> None:
        async with gate:
            try:
                await act(client, lead_id, action)  # type: ignore[arg-type]  # act takes this action type
            except LeadError as exc:
                (report.refused if exc.status in (404, 409) else report.failed)[lead_id] = (
                    exc.message
                )
            else:
                report.done.append(lead_id)
            if on_done is not None:
                on_done()

    await asyncio.gather(*(one(lead) for lead in lead_ids))
    report.done.sort()
    return report
