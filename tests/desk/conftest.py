"""The call desk on a real Temporal dev server: a worker, a rep directory and leads with call tasks.

Every test gets its own queue and rep names (``<tag>-ann``...), so visibility lists never see
another test's tasks on the shared dev server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
import yaml
from argon2 import PasswordHasher
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from nurture.app import create_app
from nurture.cadence.model import Cadence
from nurture.calendar import holiday_dates
from nurture.contracts import CallTaskView
from nurture.desk.priority import Bucket
from nurture.desk.service import DeskService, Load, TaskBoard
from nurture.journey.state import Journey
from nurture.lead import Lead
from nurture.leads.enrollment import enroll
from nurture.roster.reps import Rep, RepDirectory, Team
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.calls import journey_handle
from tests.conftest import (
    FIXTURE_CADENCES,
    FIXTURE_TEMPLATES,
    eventually,
    make_lead,
    running_worker,
)
from tests.support.browser import serving

T = TypeVar("T")
K = TypeVar("K")
#: Cheap Argon2id parameters for test passwords (verification reads them from the hash).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"
_serial = itertools.count(1)
#: "Any rep" for :meth:`Desk.assigned_task` (a value, not an object: pytest may import this
#: conftest twice, as ``conftest`` and as ``tests.desk.conftest``).
ANYONE = "*"


def open_zone(now: datetime) -> str:
    """An ``Etc/GMT±N`` zone where it is around midday now (calls may go out 08:00-21:00)."""
    offset = 12 - now.astimezone(UTC).hour  # local hour 12
    offset = max(-12, min(14, offset))
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def open_country(today: date) -> str:
    """A holiday calendar with no holiday today or tomorrow (a holiday would close the desk)."""
    for country in ("GB", "DE", "FR", "JP", "AU", "US"):
        days = {today, today + timedelta(days=1)}
        if not days & set(holiday_dates(country, None, [today.year, today.year + 1])):
            return country
    raise RuntimeError("every candidate country has a holiday today")


def desk_cadence(
    queue: str,
    *,
    assign: str = "owner",
    due: dict[str, float] | None = None,
    on_timeout: str = "reassign",
) -> Cadence:
    """tests/fixtures/cadences/desk.yaml with this test's queue and call rules."""
    data = yaml.safe_load((FIXTURE_CADENCES / "desk.yaml").read_text())
    call = data["steps"][0]["call"]
    call.update(queue=queue, assign=assign, on_timeout=on_timeout, due=due or {"minutes": 10})
    if on_timeout == "voicemail":
        call["voicemail"] = "missed"
    return Cadence.model_validate(data)


@dataclass
class Desk:
    """One test's desk: a queue, its reps and manager, a worker, and the desk service."""

    client: Client
    store: Store
    settings: Settings
    directory: RepDirectory
    service: DeskService
    tag: str
    queue: str
    leads: list[str] = field(default_factory=list)

    def name(self, short: str) -> str:
        """This test's username for ``ann``, ``bob``, ``max``..."""
        return f"{self.tag}-{short}"

    async def enroll(
        self, *, owner: str | None = None, cadence: Cadence | None = None, **lead: Any
    ) -> Lead:
        """Enrol a fresh lead (owner: a short rep name, or none) into the desk cadence."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "segment": "desk",
            "owner": self.name(owner) if owner else "",
            "timezone": open_zone(now),
            "country": open_country(now.date()),
        }
        values.update(lead)
        made = make_lead(f"{self.tag}-L{next(_serial)}", **values)
        chosen = cadence or desk_cadence(self.queue)
        assert await enroll(self.client, made, chosen, self.settings.task_queue)
        self.leads.append(made.id)
        return made

    async def task(self, lead_id: str) -> CallTaskView | None:
        """The lead's open task, straight from the workflow."""
        return await journey_handle(self.client, lead_id).query(
            "call_task", result_type=CallTaskView | None
        )

    async def state(self, lead_id: str) -> Journey:
        """The lead's whole journey."""
        return await journey_handle(self.client, lead_id).query("state", result_type=Journey)

    async def assigned_task(self, lead_id: str, assignee: str | None = ANYONE) -> CallTaskView:
        """Wait until the lead's task is open, its assignment made and visibility lists it.

        ``assignee``: a short rep name, ``None`` for the team queue, or :data:`ANYONE` (some rep).
        """

        def fits(task: CallTaskView) -> bool:
            if assignee == ANYONE:
                return task.assignee is not None
            expected = self.name(assignee) if assignee is not None else None
            return task.assignee == expected

        async def ready() -> CallTaskView | None:
            task = await self.task(lead_id)
            if task is None or not fits(task):
                return None
            listed = await self.service.all_tasks(self.queue)
            rows = [r for _, group in listed.groups() for r in group if r.lead_id == lead_id]
            return task if rows and rows[0].assignee == task.assignee else None

        return await eventually(ready)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    """Reps ann, bob (round robin, always at work) and manager max on a fresh queue; a worker."""
    tag = f"t{uuid.uuid4().hex[:6]}"
    queue = f"{tag}-desk"
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}", upgrade=True)
    directory = RepDirectory(store, hasher=FAST_HASHER)
    directory.save_team(Team(queue=queue, name="Test desk", manager=f"{tag}-max"))
    for short, role in (("ann", "rep"), ("bob", "rep"), ("max", "manager")):
        directory.add(
            Rep(
                username=f"{tag}-{short}",
                name=short.title(),
                email=f"{short}@example.com",
                queue=queue,
                role=role,  # type: ignore[arg-type]
                timezone="UTC",
                hours="mon-sun 00:00-24:00",
            )
        )
        directory.set_password(f"{tag}-{short}", PASSWORD)
    async with running_worker(dev_env.client, store) as settings:
        made = Desk(
            client=dev_env.client,
            store=store,
            settings=settings,
            directory=directory,
            service=DeskService(dev_env.client, store),
            tag=tag,
            queue=queue,
        )
        yield made
        await asyncio.gather(*(_terminate(dev_env.client, lead) for lead in made.leads))
    store.close()


async def _terminate(client: Client, lead_id: str) -> None:
    """Stop a lead that still runs (long waits), so the next test's server stays quiet."""
    with contextlib.suppress(RPCError):  # already finished
        await journey_handle(client, lead_id).terminate("test over")


@pytest.fixture
def web(desk: Desk, tmp_path: Path) -> Iterator[str]:
    """The whole web app on the desk's store and dev server; yields its base URL."""
    settings = Settings(
        temporal_address=desk.client.service_client.config.target_host,
        data_dir=tmp_path,
        database_url=desk.store.url,
        templates_dir=FIXTURE_TEMPLATES,
        cadences_dir=FIXTURE_CADENCES,
        session_secret="browser-tests-" + "x" * 32,
    )
    with serving(create_app(settings, desk.store)) as url:
        yield url


def loads(board: TaskBoard, key: Callable[[Any], K]) -> dict[K, Load]:
    """Open, overdue and due-now counts of a board's tasks per ``key`` (a row's assignee or
    queue), as the team overview shows them."""
    found: dict[K, Load] = defaultdict(Load)
    for group, rows in board.groups():
        for row in rows:
            load = found[key(row)]
            load.open += 1
            load.overdue += group is Bucket.overdue
            load.due_now += group is Bucket.due_now
    return dict(found)
