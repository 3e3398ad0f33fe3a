"""Call talk time: a rep's recorded talk time lands on the journey log and in the desk report;
a negative one is refused before the update is accepted, so it never reaches history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from nurture.contracts import CallTaskView, CompleteTask, Disposition
from nurture.journey.commands import ActionRefused
from nurture.journey.desk import refuse_task_action
from nurture.journey.state import Journey
from nurture.journeylog.reports import Filters, build
from nurture.journeylog.store import JourneyLog
from nurture.temporal.calls import journey_handle
from tests.desk.conftest import Desk, desk, eventually
from workflows.lead import LeadJourneyWorkflow

__all__ = ["desk"]


def complete(desk: Desk, task: CallTaskView, **extra: object) -> CompleteTask:
    return CompleteTask(
        task_id=task.task_id,
        rep=desk.name("ann"),
        disposition=Disposition.connected,
        event_id=f"talk-{uuid.uuid4()}",
        **extra,  # type: ignore[arg-type]
    )


async def test_talk_time_lands_in_the_log_and_the_desk_report(desk: Desk) -> None:
    lead = await desk.enroll(owner="ann")
    task = await desk.assigned_task(lead.id, "ann")
    await desk.service.complete(lead.id, complete(desk, task, talk_seconds=330))
    log = JourneyLog(desk.store)

    async def written() -> list[object]:
        return [r for r in log.rows(lead.id) if r.kind == "task_completed"]

    (row,) = await eventually(written)
    assert (row.talk_seconds, row.rep, row.reason) == (330, desk.name("ann"), "connected")  # type: ignore[attr-defined]
    (summary,) = [s for s in log.summaries() if s.lead_id == lead.id]
    assert (summary.connects, summary.timed_connects, summary.talk_seconds) == (1, 1, 330)
    for period in (Filters(), Filters(start=datetime(2000, 1, 1, 0, 30, tzinfo=UTC))):
        rows = {r["rep"]: r for r in build("desk", desk.store, period).as_dicts()}
        mine = rows[desk.name("ann")]  # the per-day counts, then the log itself: the same
        assert (mine["worked"], mine["talk minutes"], mine["talk minutes per call"]) == (
            1,
            5.5,
            5.5,
        )


async def test_a_negative_talk_time_is_refused_and_never_reaches_history(desk: Desk) -> None:
    lead = await desk.enroll(owner="ann")
    task = await desk.assigned_task(lead.id, "ann")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        complete(desk, task, talk_seconds=-30)  # the desk's own form and CLI stop it first
    forged = CompleteTask.model_construct(
        **{**complete(desk, task).model_dump(), "talk_seconds": -30}
    )
    handle = journey_handle(desk.client, lead.id)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(LeadJourneyWorkflow.complete_task, forged)
    events = [e async for e in handle.fetch_history_events()]
    assert not [
        e
        for e in events
        if e.event_type
        in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        )
    ]
    still = await desk.task(lead.id)
    assert still is not None and still.status == "open"


def test_the_validator_refuses_talk_time_out_of_bounds() -> None:
    """The engine's check (the update validator) holds even for a model built unchecked."""
    journey = Journey.model_construct(call_task=None)
    for seconds in (-1, 4 * 3600 + 1):
        action = CompleteTask.model_construct(
            task_id="t", rep="ann", disposition=Disposition.connected, talk_seconds=seconds
        )
        with pytest.raises(ActionRefused, match="talk time"):
            refuse_task_action(journey, action, datetime.now(UTC))
