"""The call-desk service the web pages and the CLI share: list tasks, show one, act on it.

Lists come from one Temporal visibility call on the ``CallTask*`` search attributes (no per-row
queries); a task's detail from the lead's workflow (queries ``call_task``, ``state``,
``journey``) and its script from the outbox row of the call touch; actions are the workflow's
updates ``claim_task``, ``release_task`` and ``complete_task``, whose validators have the last word.
Temporal's errors come back as :class:`LeadError` with a message a rep can act on.
"""

from __future__ import annotations

import asyncio
import builtins
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecution,
)
from temporalio.service import RPCError

from nurture.contracts import CallTaskView, ClaimTask, CompleteTask, ReleaseTask
from nurture.desk.priority import SOON, Bucket, bucket, priority
from nurture.journey.state import Journey, JourneyEntry
from nurture.roster.reps import QUEUE, USERNAME, Rep
from nurture.store import Store
from nurture.temporal import calls, visibility
from nurture.temporal.calls import LeadError
from nurture.temporal.ids import lead_id_of

__all__ = [
    "DeskService",
    "LeadError",
    "Load",
    "TaskBoard",
    "TaskDetail",
    "TaskRow",
    "TeamOverview",
    "board",
    "may_act",
    "may_claim",
    "may_view",
    "owner_of",
]

#: At most this many tasks are listed (one visibility call; pages of PAGE_SIZE).
MAX_TASKS = 5000
PAGE_SIZE = 1000
RPC_TIMEOUT = timedelta(seconds=10)
#: Visibility counts in flight at once (the manager's overview).
COUNT_CONCURRENCY = 16
OPEN = "ExecutionStatus = 'Running'"
T = TypeVar("T")


# ---------------------------------------------------------------- access rules


def owner_of(task: CallTaskView) -> str | None:
    """Whose task it is (``None``: the team queue's)."""
    return task.assignee or task.claimed_by


def may_view(rep: Rep, task: CallTaskView) -> bool:
    """Managers see every task; a rep sees their own and the unassigned ones of their queue."""
    owner = owner_of(task)
    return rep.is_manager or owner == rep.username or (owner is None and task.queue == rep.queue)


def may_claim(rep: Rep, task: CallTaskView) -> bool:
    """Anyone may try to claim a task of their own queue (managers: any queue); the workflow
    refuses a task someone else holds."""
    return rep.is_manager or task.queue == rep.queue


def may_act(rep: Rep, task: CallTaskView) -> bool:
    """Only the rep who holds a task completes or releases it."""
    return owner_of(task) == rep.username


# ---------------------------------------------------------------- lists


@dataclass(frozen=True)
class TaskRow:
    """One open task as visibility lists it (no personal data: ids, queue, score, segment)."""

    lead_id: str
    queue: str
    assignee: str | None
    due: datetime
    score: int
    segment: str
    stage: str
    priority: int
    bucket: Bucket


@dataclass
class Load:
    """How much open work one rep (or a queue's unassigned pile) has."""

    open: int = 0
    overdue: int = 0
    due_now: int = 0
    unassigned: int = 0


@dataclass
class TaskBoard:
    """Open tasks grouped by deadline, each group by priority (highest first)."""

    overdue: list[TaskRow] = field(default_factory=list)
    due_now: list[TaskRow] = field(default_factory=list)
    upcoming: list[TaskRow] = field(default_factory=list)
    truncated: bool = False

    @property
    def total(self) -> int:
        """How many tasks are on the board."""
        return len(self.overdue) + len(self.due_now) + len(self.upcoming)

    def groups(self) -> list[tuple[Bucket, list[TaskRow]]]:
        """The groups in page order: overdue, due now, upcoming."""
        return [
            (Bucket.overdue, self.overdue),
            (Bucket.due_now, self.due_now),
            (Bucket.upcoming, self.upcoming),
        ]

    def next_task(self, skip: str | None = None) -> TaskRow | None:
        """The task to make next: the top of the page (overdue, then due now, then upcoming,
        each by priority); ``skip`` a lead (the one just completed: visibility may still list
        it for a moment)."""
        for _, rows in self.groups():
            for row in rows:
                if row.lead_id != skip:
                    return row
        return None


@dataclass
class TeamOverview:
    """Open work per rep and per queue, and the overdue tasks."""

    total: int
    per_rep: dict[str, Load]
    per_queue: dict[str, Load]
    overdue: TaskBoard

    @property
    def elsewhere(self) -> int:
        """Open tasks in queues the directory does not know (no team works them)."""
        return max(0, self.total - sum(load.open for load in self.per_queue.values()))


def _literal(value: str, pattern: str, what: str) -> str:
    """A value for a visibility query, checked against its pattern (no quoting games)."""
    if not re.fullmatch(pattern, value):
        raise LeadError(f"not a valid {what}: {value!r}", status=400)
    return f"'{value}'"


def rep_query(rep: str) -> str:
    """Visibility query: the open tasks assigned to ``rep``."""
    return f"CallTaskAssignee = {_literal(rep, USERNAME, 'username')} AND {OPEN}"


def queue_query(queue: str) -> str:
    """Visibility query: the unassigned open tasks of a team queue."""
    return (
        f"CallTaskQueue = {_literal(queue, QUEUE, 'queue')} AND CallTaskAssignee IS NULL AND {OPEN}"
    )


def all_query(queue: str | None = None) -> str:
    """Visibility query: every open task (of one queue, if given)."""
    if queue is not None:
        return f"CallTaskQueue = {_literal(queue, QUEUE, 'queue')} AND {OPEN}"
    return f"CallTaskQueue IS NOT NULL AND {OPEN}"


def _instant(at: datetime) -> str:
    """A datetime literal for a visibility query."""
    return f"'{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"


def overdue_query(now: datetime) -> str:
    """Visibility query: every open task past its deadline at ``now``."""
    return f"CallTaskQueue IS NOT NULL AND CallTaskDue <= {_instant(now)} AND {OPEN}"


def load_queries(field: str, value: str, now: datetime) -> tuple[str, str, str]:
    """Visibility queries counting one rep's (``CallTaskAssignee``) or one queue's
    (``CallTaskQueue``) open, overdue and due-now tasks."""
    pattern, what = (USERNAME, "username") if field == "CallTaskAssignee" else (QUEUE, "queue")
    base = f"{field} = {_literal(value, pattern, what)} AND {OPEN}"
    return (
        base,
        f"{base} AND CallTaskDue <= {_instant(now)}",
        f"{base} AND CallTaskDue > {_instant(now)} AND CallTaskDue <= {_instant(now + SOON)}",
    )


def task_row(execution: WorkflowExecution, now: datetime) -> TaskRow | None:
    """The task a listed workflow carries, from its search attributes (``None`` if it has none)."""
    attrs = execution.typed_search_attributes
    queue = attrs.get(visibility.CALL_TASK_QUEUE)
    due = attrs.get(visibility.CALL_TASK_DUE)
    if queue is None or due is None:
        return None
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    score = attrs.get(visibility.LEAD_SCORE) or 0
    segment = attrs.get(visibility.SEGMENT) or ""
    return TaskRow(
        lead_id=lead_id_of(execution.id),
        queue=queue,
        assignee=attrs.get(visibility.CALL_TASK_ASSIGNEE) or None,
        due=due,
        score=score,
        segment=segment,
        stage=attrs.get(visibility.LEAD_STAGE) or "",
        priority=priority(score, segment, due, now),
        bucket=bucket(due, now),
    )


def board(rows: list[TaskRow], truncated: bool = False) -> TaskBoard:
    """Rows grouped by bucket and sorted by priority (then earliest deadline, then lead)."""
    result = TaskBoard(truncated=truncated)
    for row in rows:
        getattr(result, row.bucket.value).append(row)
    for _, group in result.groups():
        group.sort(key=lambda r: (-r.priority, r.due, r.lead_id))
    return result


# ---------------------------------------------------------------- one task


@dataclass
class TaskDetail:
    """Everything a rep needs to make the call."""

    task: CallTaskView
    journey: Journey
    timeline: list[JourneyEntry]
    script: str | None
    now: datetime

    @property
    def timezone(self) -> str:
        """The lead's time zone (as snapshotted into the journey)."""
        return self.journey.calendar.timezone

    @property
    def lead_local_time(self) -> datetime:
        """The lead's wall-clock time now."""
        return self.now.astimezone(ZoneInfo(self.timezone))

    @property
    def score_reasons(self) -> list[JourneyEntry]:
        """Timeline entries that explain the score and stage, newest first."""
        return [
            e for e in reversed(self.timeline) if e.kind in ("score", "stage") or "points" in e.text
        ]


# ---------------------------------------------------------------- the service


class DeskService:
    """Call-desk reads and actions over a Temporal client and the store."""

    def __init__(self, client: Client, store: Store, *, max_tasks: int = MAX_TASKS) -> None:
        self.client = client
        self.store = store
        self.max_tasks = max_tasks

    # ------------------------------------------------------------ lists

    async def list(self, query: str, now: datetime | None = None) -> TaskBoard:
        """Tasks matching a visibility query, grouped and sorted (one visibility call)."""
        now = now or datetime.now(UTC)
        rows: builtins.list[TaskRow] = []
        executions = self.client.list_workflows(
            query, limit=self.max_tasks + 1, page_size=PAGE_SIZE, rpc_timeout=RPC_TIMEOUT
        )
        try:
            async for execution in executions:
                row = task_row(execution, now)
                if row is not None:
                    rows.append(row)
        except RPCError as exc:
            raise calls.rpc_error(exc, "list the call tasks") from None
        truncated = len(rows) > self.max_tasks
        return board(rows[: self.max_tasks], truncated)

    async def my_tasks(self, rep: str, now: datetime | None = None) -> TaskBoard:
        """The tasks assigned to ``rep``."""
        return await self.list(rep_query(rep), now)

    async def queue_tasks(self, queue: str, now: datetime | None = None) -> TaskBoard:
        """The unassigned tasks of a team queue (to claim)."""
        return await self.list(queue_query(queue), now)

    async def all_tasks(self, queue: str | None = None, now: datetime | None = None) -> TaskBoard:
        """Every open task, assigned or not (of one queue, if given): the manager's view."""
        return await self.list(all_query(queue), now)

    async def overview(
        self, reps: builtins.list[str], queues: builtins.list[str], now: datetime | None = None
    ) -> TeamOverview:
        """The manager's numbers: exact counts per rep and per queue (visibility counts, run
        together), the total, and the overdue tasks by priority (one list call)."""
        now = now or datetime.now(UTC)
        gate = asyncio.Semaphore(COUNT_CONCURRENCY)

        async def count(query: str) -> int:
            async with gate:
                try:
                    return (await self.client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)).count
                except RPCError as exc:
                    raise calls.rpc_error(exc, "count the call tasks") from None

        async def load(field: str, value: str) -> Load:
            queries = list(load_queries(field, value, now))
            if field == "CallTaskQueue":
                queries.append(queue_query(value))
            return Load(*await asyncio.gather(*(count(q) for q in queries)))

        people, teams, total, overdue = await asyncio.gather(
            asyncio.gather(*(load("CallTaskAssignee", r) for r in reps)),
            asyncio.gather(*(load("CallTaskQueue", q) for q in queues)),
            count(all_query()),
            self.list(overdue_query(now), now),
        )
        return TeamOverview(
            total=total,
            per_rep=dict(zip(reps, people, strict=True)),
            per_queue=dict(zip(queues, teams, strict=True)),
            overdue=overdue,
        )

    # ------------------------------------------------------------ one task

    async def task(self, lead_id: str) -> CallTaskView:
        """The lead's open call task; ``LeadError`` (404) if there is none."""
        task: CallTaskView | None = await calls.query(
            self.client, lead_id, "call_task", CallTaskView | None
        )
        if task is None:
            raise LeadError(f"lead {lead_id} has no open call task (done, or moved on)", 404)
        return task

    async def detail(self, lead_id: str, now: datetime | None = None) -> TaskDetail:
        """The task, the lead's journey and the call script (three queries, run together)."""
        state: Awaitable[Journey] = calls.query(self.client, lead_id, "state", Journey)
        story: Awaitable[builtins.list[JourneyEntry]] = calls.query(
            self.client, lead_id, "journey", builtins.list[JourneyEntry]
        )
        task, journey, timeline = await asyncio.gather(self.task(lead_id), state, story)
        touch = self.store.get_touch(task.task_id)
        return TaskDetail(
            task=task,
            journey=journey,
            timeline=timeline,
            script=touch.body_text if touch is not None else None,
            now=now or datetime.now(UTC),
        )

    # ------------------------------------------------------------ actions

    async def claim(self, lead_id: str, task_id: str, rep: str) -> CallTaskView:
        """Take a task from the team queue (the first claim wins)."""
        return await self._update(lead_id, "claim_task", ClaimTask(task_id=task_id, rep=rep))

    async def release(self, lead_id: str, task_id: str, rep: str) -> CallTaskView:
        """Put a held task back into the team queue."""
        return await self._update(lead_id, "release_task", ReleaseTask(task_id=task_id, rep=rep))

    async def complete(self, lead_id: str, action: CompleteTask) -> CallTaskView:
        """Record the call's disposition; the event id is the update id, so a resubmitted form
        gets the first answer back instead of completing twice."""
        return await self._update(lead_id, "complete_task", action, update_id=action.event_id)

    async def _update(
        self, lead_id: str, name: str, arg: BaseModel, update_id: str | None = None
    ) -> CallTaskView:
        result: CallTaskView = await calls.update(
            self.client, lead_id, name, arg, CallTaskView, update_id=update_id
        )
        return result
