"""Helpers for the handoff tests on the dev server: enrol leads, promote them to sales, wait."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.service import RPCError

from nurture.cadence.model import Cadence
from nurture.contracts import HandoffView
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey
from nurture.lead import Lead
from nurture.leads.enrollment import enroll
from nurture.roster.reps import Rep, RepDirectory
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from tests.conftest import eventually, fixture_cadence, make_lead

T = TypeVar("T")
PASSWORD = "correct horse battery"
#: The lead's CRM owner in tests/conftest.py make_lead: the handoff goes to them.
OWNER = "sam.rep"


def sales_team(store: Store) -> RepDirectory:
    """The owner sam.rep, another rep bob.rep and their manager mia.mgr, passwords set."""
    from argon2 import PasswordHasher

    reps = RepDirectory(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    for username, role in ((OWNER, "rep"), ("bob.rep", "rep"), ("mia.mgr", "manager")):
        reps.add(
            Rep(
                username=username,
                name=username.split(".")[0].title(),
                queue="sales",
                roles={role, "sales"} if role == "rep" else {role},  # sales reps take handoffs
                timezone="UTC",
                hours="mon-sun 00:00-24:00",
                manager=None if role == "manager" else "mia.mgr",
            )
        )
        reps.set_password(username, PASSWORD)
    return reps


class Leads:
    """This test's leads (unique ids on the shared dev server), terminated at the end."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.tag = uuid.uuid4().hex[:6]
        self.ids: list[str] = []

    async def enroll(self, cadence: Cadence | None = None, **values: Any) -> Lead:
        """Enrol a fresh lead (drip cadence unless given)."""
        lead = make_lead(f"HO-{self.tag}-{len(self.ids) + 1}", **values)
        assert await enroll(self.client, lead, cadence or fixture_cadence("drip"), self.task_queue)
        self.ids.append(lead.id)
        return lead

    async def promoted(self, cadence: Cadence | None = None, **values: Any) -> HandoffView:
        """A lead handed to sales (a reply promotes it) once its owner has been picked."""
        lead = await self.enroll(cadence, **values)
        reply = EngagementEvent(
            id=f"reply-{lead.id}", kind=EventKind.email_reply, lead_id=lead.id, at=datetime.now(UTC)
        )
        await journey_handle(self.client, lead.id).signal("event", reply)

        async def assigned() -> HandoffView | None:
            view = await self.handoff(lead.id)
            return view if view is not None and view.owner is not None else None

        return await eventually(assigned)

    async def handoff(self, lead_id: str) -> HandoffView | None:
        """The lead's handoff query."""
        return await journey_handle(self.client, lead_id).query(
            "handoff", result_type=HandoffView | None
        )

    async def state(self, lead_id: str) -> Journey:
        """The lead's whole journey (the ``state`` query)."""
        return await journey_handle(self.client, lead_id).query("state", result_type=Journey)

    async def close(self) -> None:
        """Stop the leads that still run."""

        async def stop(lead_id: str) -> None:
            with contextlib.suppress(RPCError):
                await journey_handle(self.client, lead_id).terminate("test over")

        await asyncio.gather(*(stop(lead_id) for lead_id in self.ids))
