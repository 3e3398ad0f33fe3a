"""Moving the running leads of a cadence to a newer version: who is where (a visibility list and
each lead's ``state`` query), what would happen to each (:func:`nurture.journey.migrate.plan`),
and the ``migrate`` update per lead (its validator refuses what cannot move)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from temporalio.client import Client
from temporalio.service import RPCError

from nurture.cadence.model import Cadence
from nurture.contracts import MigrateLead
from nurture.journey.migrate import MovePlan, plan
from nurture.journey.state import Journey
from nurture.leads.pauses import CONCURRENCY, cadence_query
from nurture.settings import Settings
from nurture.temporal.calls import RPC_TIMEOUT, LeadError, query, rpc_error, update
from nurture.temporal.ids import lead_id_of
from nurture.temporal.visibility import CADENCE_VERSION


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
        found = [
            lead_id_of(e.id)
            async for e in client.list_workflows(
                running_query(name, where), rpc_timeout=RPC_TIMEOUT
            )
        ]
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


class Progress(Protocol):
    """Where a migration run is: a stage with its number of leads, then one step per lead."""

    def stage(self, label: str, total: int) -> None: ...

    def advance(self) -> None: ...


async def migrate_cadence(
    client: Client,
    action: MigrateLead,
    where: str | None,
    dry_run: bool,
    progress: Progress,
) -> tuple[list[MovePlan], MigrationReport | None]:
    """A whole run, as ``nurture cadence migrate`` and the migrate page do it: list the running
    leads, read where each is (the plans), and unless ``dry_run`` move the movable ones."""
    name = action.cadence.name
    leads = await running_leads(client, name, where)
    progress.stage(f"Reading {len(leads)} lead(s) on {name}", len(leads))
    found = await plans(client, leads, action, progress.advance)
    if dry_run:
        return found, None
    movable = [p.lead_id for p in found if p.refused is None]
    progress.stage(f"Moving to v{action.cadence.version}", len(movable))
    return found, await migrate_leads(client, movable, action, progress.advance)


def refusals(found: list[MovePlan], report: MigrationReport) -> dict[str, str]:
    """Every refused lead and why: refused by the dry run's reading or by the update itself."""
    refused = {p.lead_id: p.refused or "" for p in found if p.refused is not None}
    refused.update(report.refused)
    return dict(sorted(refused.items()))


async def running_versions(client: Client, name: str) -> dict[int, int]:
    """How many running leads are on each version of a cadence (visibility), oldest first."""
    counts: dict[int, int] = {}
    try:
        async for execution in client.list_workflows(running_query(name), rpc_timeout=RPC_TIMEOUT):
            version = execution.typed_search_attributes.get(CADENCE_VERSION)
            if version is not None:
                counts[version] = counts.get(version, 0) + 1
    except RPCError as exc:
        raise rpc_error(exc, f"list the leads on cadence {name}") from None
    return dict(sorted(counts.items()))


async def running_cadence(settings: Settings, name: str, version: str) -> Cadence:
    """A cadence as a running lead holds it: ``version`` a number, or 'running' (the highest)."""
    from nurture.temporal.client import connect

    return await running_cadence_on(await connect(settings), name, version)


async def running_cadence_on(client: Client, name: str, version: str) -> Cadence:
    """:func:`running_cadence` with a connected client."""
    wanted = None if version in ("", "running") else int(version)
    query_text = running_query(name, version=wanted)
    best: Journey | None = None
    async for execution in client.list_workflows(query_text, limit=200, rpc_timeout=RPC_TIMEOUT):
        journey: Journey = await query(client, lead_id_of(execution.id), "state", Journey)
        if best is None or journey.cadence.version > best.cadence.version:
            best = journey
        if wanted is not None:
            break
    if best is None:
        which = f"v{wanted}" if wanted is not None else "any version"
        raise LookupError(f"no running lead on {name} {which}")
    return best.cadence


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["old-step=new-step", ...]`` as a mapping; ``ValueError`` for a pair without both."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"{pair!r}: write OLD-STEP=NEW-STEP")
        mapping[old.strip()] = new.strip()
    return mapping
