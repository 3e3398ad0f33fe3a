"""Moving the running leads of a cadence to a newer version: who is where (a visibility list and
each lead's ``state`` query), what would happen to each (:func:`nurture.journey.migrate.plan`),
and the ``migrate`` update per lead (its validator refuses what cannot move)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.service import RPCError

from nurture.cadence.model import Cadence
from nurture.contracts import MigrateLead
from nurture.journey.migrate import MovePlan, plan
from nurture.journey.state import Journey
from nurture.leads.pauses import CONCURRENCY, cadence_query
from nurture.settings import Settings
from nurture.temporal.calls import LeadError, query, rpc_error, update
from nurture.temporal.ids import lead_id_of


@dataclass
class MigrationReport:
    """What a migration did, lead by lead."""

    moved: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def running_query(name: str, where: str | None = None, version: int | None = None) -> str:
    """Visibility query: running leads on the cadence (a version, an extra ``--where``)."""
    text = cadence_query(name)
    if version is not None:
        text += f" AND CadenceVersion = {int(version)}"
    if where:
        text += f" AND ({where})"
    return text


async def running_leads(client: Client, name: str, where: str | None = None) -> list[str]:
    """The ids of the running leads on a cadence that match ``where`` (visibility)."""
    try:
        found = [lead_id_of(e.id) async for e in client.list_workflows(running_query(name, where))]
    except RPCError as exc:
        raise rpc_error(exc, f"list the leads on cadence {name}") from None
    return sorted(found)


async def plans(
    client: Client,
    lead_ids: list[str],
    action: MigrateLead,
    on_done: Callable[[], None] | None = None,
) -> list[MovePlan]:
    """Where each lead is and where it would continue (reading each lead's state)."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(lead_id: str) -> MovePlan | None:
        async with gate:
            try:
                journey: Journey = await query(client, lead_id, "state", Journey)
            except LeadError:
                return None  # finished since the list was made
            finally:
                if on_done is not None:
                    on_done()
            return plan(journey, action)

    found = await asyncio.gather(*(one(lead) for lead in lead_ids))
    return [p for p in found if p is not None]


async def migrate_leads(
    client: Client,
    lead_ids: list[str],
    action: MigrateLead,
    on_done: Callable[[], None] | None = None,
) -> MigrationReport:
    """Send the ``migrate`` update to each lead; refusals and errors are kept per lead."""
    report = MigrationReport()
    gate = asyncio.Semaphore(CONCURRENCY)
    # The same command twice acts once; another mapping is another command.
    mapping = json.dumps(action.mapping, sort_keys=True).encode()
    update_id = (
        f"migrate:{action.cadence.name}:v{action.cadence.version}"
        f":{hashlib.sha256(mapping).hexdigest()[:12]}"
    )

    async def one(lead_id: str) -> None:
        async with gate:
            try:
                text: str = await update(
                    client, lead_id, "migrate", action, str, update_id=update_id
                )
            except LeadError as exc:
                bucket = report.refused if exc.status in (404, 409) else report.failed
                bucket[lead_id] = exc.message
            else:
                report.moved[lead_id] = text
            if on_done is not None:
                on_done()

    await asyncio.gather(*(one(lead) for lead in lead_ids))
    return report


async def running_cadence(settings: Settings, name: str, version: str) -> Cadence:
    """A cadence as a running lead holds it: ``version`` a number, or 'running' (the highest)."""
    from nurture.temporal.client import connect

    client = await connect(settings)
    wanted = None if version in ("", "running") else int(version)
    query_text = running_query(name, version=wanted)
    best: Journey | None = None
    async for execution in client.list_workflows(query_text, limit=200):
        journey: Journey = await query(client, lead_id_of(execution.id), "state", Journey)
        if best is None or journey.cadence.version > best.cadence.version:
            best = journey
        if wanted is not None:
            break
    if best is None:
        which = f"v{wanted}" if wanted is not None else "any version"
        raise LookupError(f"no running lead on {name} {which}")
    return best.cadence
