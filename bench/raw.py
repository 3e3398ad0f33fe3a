"""The raw-Temporal baselines: the least a workflow can do for the same work as a journey.

Kept in a module of its own that imports nothing but the SDK, so the workflow sandbox re-imports
almost nothing per run (the journey's module passes its heavy imports through, too).
"""

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

#: The journey's retry policy for sends (workflows/lead.py), repeated so the sandbox imports less.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


@workflow.defn(name="BenchTrivial")
class TrivialWorkflow:
    """A workflow that is only ever started (the enrolment baseline)."""

    @workflow.run
    async def run(self, lead_id: str) -> str:
        return lead_id


@activity.defn(name="bench_noop_touch")
def noop_touch(number: int) -> int:
    """A touch that does nothing (sync, so it runs on the same thread pool as ours)."""
    return number


@workflow.defn(name="BenchRawTouches")
class RawTouchesWorkflow:
    """``touches`` no-op activities with a timer between two of them (the touch baseline)."""

    @workflow.run
    async def run(self, touches: int, wait_seconds: float) -> int:
        for number in range(1, touches + 1):
            if number > 1:
                await workflow.sleep(wait_seconds)
            await workflow.execute_activity(
                noop_touch,
                number,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RETRY,
            )
        return touches


#: The journey's search attribute that moves with every wait (as in nurture.temporal.visibility).
NEXT_TOUCH_AT = SearchAttributeKey.for_datetime("NextTouchAt")


@workflow.defn(name="BenchRawVisibleTouches")
class RawVisibleTouchesWorkflow:
    """The touch baseline plus the visibility DESIGN.md asks of a journey and nothing else: a
    ``summary=`` on every activity and timer and ``NextTouchAt`` upserted before each wait (the
    starter adds the journey's search attributes and static summary)."""

    @workflow.run
    async def run(self, touches: int, wait_seconds: float, queue: str | None = None) -> int:
        """``queue``: run the activities on that task queue (as a journey's sends run on their
        channel's), which rules out the eager dispatch an activity on the workflow's own queue
        gets (the server hands it back with the workflow task, no poll of its own)."""
        for number in range(1, touches + 1):
            if number > 1:
                await workflow.sleep(wait_seconds, summary=f"Wait {wait_seconds:g}s")
            await workflow.execute_activity(
                noop_touch,
                number,
                task_queue=queue,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RETRY,
                summary=f"Email {number}/{touches} · bench",
            )
            if number < touches:
                next_at = workflow.now() + timedelta(seconds=wait_seconds)
                workflow.upsert_search_attributes([NEXT_TOUCH_AT.value_set(next_at)])
        return touches


#: The desk's search attribute a claim changes (as in nurture.temporal.visibility).
CALL_TASK_ASSIGNEE = SearchAttributeKey.for_keyword("CallTaskAssignee")


@workflow.defn(name="BenchDeskTask")
class DeskTaskWorkflow:
    """One open call task and nothing else (the call-desk baseline): waits, answers the desk's
    ``call_task`` query, and takes a ``claim_task`` update (first claim wins)."""

    @workflow.init
    def __init__(self, task: dict[str, Any]) -> None:
        self.task = dict(task)

    @workflow.run
    async def run(self, task: dict[str, Any]) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def call_task(self) -> dict[str, Any]:
        """The task, shaped like the desk's ``CallTaskView``."""
        return self.task

    @workflow.update
    def claim_task(self, action: dict[str, Any]) -> dict[str, Any]:
        """Give the task to the claiming rep."""
        self.task["assignee"] = self.task["claimed_by"] = action["rep"]
        workflow.upsert_search_attributes([CALL_TASK_ASSIGNEE.value_set(action["rep"])])
        return self.task

    @claim_task.validator
    def _check_claim(self, action: dict[str, Any]) -> None:
        if self.task.get("assignee"):
            raise ValueError(
                f"task {self.task['task_id']} is already claimed by {self.task['assignee']}"
            )
