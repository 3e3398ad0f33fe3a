"""The call desk against real lead workflows on a dev server: lists, claims, dispositions and
deadlines, through the same service the pages and the CLI use."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from nurture.contracts import CallTaskView, CompleteTask, Disposition, Qualification
from nurture.desk.priority import Bucket
from nurture.desk.service import LeadError
from nurture.events import Channel
from nurture.journey.state import Phase, Stage
from tests.desk.conftest import ANYONE, Desk, desk_cadence, eventually, loads


def lead_ids(board: object) -> set[str]:
    return {r.lead_id for _, rows in board.groups() for r in rows}  # type: ignore[attr-defined]


def action(desk: Desk, task: CallTaskView, rep: str, disposition: Disposition, **extra: object):
    return CompleteTask(
        task_id=task.task_id,
        rep=desk.name(rep),
        disposition=disposition,
        event_id=f"test-{uuid.uuid4()}",
        **extra,  # type: ignore[arg-type]
    )


async def test_tasks_land_in_my_tasks_and_the_team_queue(desk: Desk) -> None:
    mine = await desk.enroll(owner="ann")
    queued = await desk.enroll()  # no owner: the team queue
    robin = desk_cadence(desk.queue, assign="round_robin")
    first, second = await desk.enroll(cadence=robin), await desk.enroll(cadence=robin)

    await desk.assigned_task(mine.id, "ann")
    await desk.assigned_task(queued.id, None)
    spread = {(await desk.assigned_task(lead.id, ANYONE)).assignee for lead in (first, second)}
    assert spread == {desk.name("ann"), desk.name("bob")}  # round robin took turns

    ann, bob = desk.name("ann"), desk.name("bob")
    ann_board = await desk.service.my_tasks(ann)
    assert mine.id in lead_ids(ann_board) and queued.id not in lead_ids(ann_board)
    assert lead_ids(await desk.service.queue_tasks(desk.queue)) == {queued.id}
    everything = await desk.service.all_tasks(desk.queue)
    assert lead_ids(everything) == {mine.id, queued.id, first.id, second.id}
    per_rep = loads(everything, lambda row: row.assignee)
    assert per_rep[None].open == 1 and per_rep[ann].open + per_rep[bob].open == 3

    overview = await desk.service.overview([ann, bob, desk.name("max")], [desk.queue])
    team = overview.per_queue[desk.queue]
    assert (team.open, team.unassigned, team.due_now, team.overdue) == (4, 1, 4, 0)
    assert overview.per_rep[ann].open + overview.per_rep[bob].open == 3
    assert overview.per_rep[desk.name("max")].open == 0 and overview.total >= 4

    row = next(r for r in ann_board.due_now if r.lead_id == mine.id)
    assert row.queue == desk.queue and row.segment == "desk" and row.bucket is Bucket.due_now
    assert row.stage == Stage.nurturing.value and row.priority > 0


async def test_the_task_detail_has_the_lead_the_script_and_the_journey(desk: Desk) -> None:
    lead = await desk.enroll(owner="ann")
    await desk.assigned_task(lead.id, "ann")
    detail = await desk.service.detail(lead.id)
    assert detail.task.assignee == desk.name("ann") and detail.journey.lead == lead
    assert detail.script and "Ann Lee" in detail.script and "VP Sales" in detail.script
    assert detail.timezone == lead.timezone
    assert any("Call task" in e.text for e in detail.timeline)


async def test_two_reps_claim_at_once_and_exactly_one_wins(desk: Desk) -> None:
    lead = await desk.enroll()
    task = await desk.assigned_task(lead.id, None)
    ann, bob = desk.name("ann"), desk.name("bob")
    results = await asyncio.gather(
        desk.service.claim(lead.id, task.task_id, ann),
        desk.service.claim(lead.id, task.task_id, bob),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, CallTaskView)]
    lost = [r for r in results if isinstance(r, LeadError)]
    assert len(won) == 1 and len(lost) == 1, results
    winner = won[0].assignee
    loser = bob if winner == ann else ann
    assert f"already claimed by {winner}" in lost[0].message and lost[0].status == 409

    await eventually(lambda: _listed(desk, winner, lead.id))
    assert lead.id not in lead_ids(await desk.service.queue_tasks(desk.queue))
    with pytest.raises(LeadError, match=f"belongs to {winner}, not {loser}"):
        await desk.service.complete(
            lead.id, action(desk, task, loser.removeprefix(f"{desk.tag}-"), Disposition.no_answer)
        )

    await desk.service.release(lead.id, task.task_id, winner)
    await eventually(
        lambda: _in_queue(desk, lead.id),
    )


async def _listed(desk: Desk, rep: str, lead_id: str) -> bool:
    return lead_id in lead_ids(await desk.service.my_tasks(rep))


async def _in_queue(desk: Desk, lead_id: str) -> bool:
    return lead_id in lead_ids(await desk.service.queue_tasks(desk.queue))


async def test_every_disposition_takes_the_journey_where_it_should(desk: Desk) -> None:
    now = datetime.now(UTC)
    call_back_at = (now + timedelta(seconds=8)).replace(microsecond=0)
    extras: dict[Disposition, dict[str, object]] = {
        Disposition.meeting_booked: {"meeting_at": now + timedelta(days=2), "notes": "demo"},
        Disposition.qualified: {
            "qualification": Qualification(
                budget="50k", authority="CFO signs", need="forecasting", timeframe="Q1"
            )
        },
        Disposition.call_back_later: {"call_back_at": call_back_at},
    }
    leads = {d: await desk.enroll(owner="ann") for d in Disposition}
    tasks = {d: await desk.assigned_task(lead.id, "ann") for d, lead in leads.items()}
    done = await asyncio.gather(
        *(
            desk.service.complete(
                leads[d].id, action(desk, tasks[d], "ann", d, **extras.get(d, {}))
            )
            for d in Disposition
        )
    )
    assert [v.status for v in done] == ["done"] * len(Disposition)
    assert [v.disposition for v in done] == list(Disposition)

    async def settled(d: Disposition):  # the journey after the workflow applied it
        return await eventually(lambda: _moved_on(desk, leads[d].id, tasks[d].task_id))

    journeys = await asyncio.gather(*(settled(d) for d in Disposition))
    states = dict(zip(Disposition, journeys, strict=True))
    assert states[Disposition.meeting_booked].stage is Stage.sales_ready
    assert states[Disposition.qualified].stage is Stage.sales_ready
    assert states[Disposition.not_interested].stage is Stage.recycled
    for stop in (Disposition.bad_number, Disposition.do_not_call):
        assert Channel.call in states[stop].stopped, stop
    assert states[Disposition.connected].stage is Stage.engaged
    for moved_on in (Disposition.no_answer, Disposition.left_voicemail, Disposition.connected):
        journey = states[moved_on]
        assert journey.phase is Phase.waiting and any(
            e.text.startswith("Call task done") for e in journey.timeline
        ), moved_on

    # call back later: no task until then, a new one at that time
    later = leads[Disposition.call_back_later]
    waits = [e.text for e in states[Disposition.call_back_later].timeline if e.kind == "wait"]
    assert any(w.startswith("Call back") for w in waits), waits
    again = await eventually(lambda: desk.task(later.id), timeout=30)
    assert again.task_id != tasks[Disposition.call_back_later].task_id
    assert again.created_at >= call_back_at


async def _moved_on(desk: Desk, lead_id: str, task_id: str):
    """The journey once the completed task is closed (or ``None`` while it is still open)."""
    journey = await desk.state(lead_id)
    task = journey.call_task
    return journey if task is None or task.touch_id != task_id else None


async def test_a_task_is_completed_once(desk: Desk) -> None:
    lead = await desk.enroll(owner="ann")
    task = await desk.assigned_task(lead.id, "ann")
    first = action(desk, task, "ann", Disposition.no_answer)
    view = await desk.service.complete(lead.id, first)
    assert view.status == "done"
    assert await desk.service.complete(lead.id, first) == view  # the same form again: same answer
    with pytest.raises(LeadError) as refused:
        await desk.service.complete(lead.id, action(desk, task, "ann", Disposition.connected))
    assert "closed" in refused.value.message or "no open call task" in refused.value.message


@pytest.mark.parametrize(("rule", "heir"), [("reassign", "bob"), ("escalate", "max")])
async def test_a_task_not_done_in_time_is_handed_on(desk: Desk, rule: str, heir: str) -> None:
    cadence = desk_cadence(desk.queue, due={"seconds": 6}, on_timeout=rule)
    lead = await desk.enroll(owner="ann", cadence=cadence)
    handed = await desk.assigned_task(lead.id, heir)
    assert handed.attempts == 1
    assert lead.id in lead_ids(await desk.service.my_tasks(desk.name(heir)))
    with pytest.raises(LeadError, match=f"belongs to {desk.name(heir)}"):
        await desk.service.complete(lead.id, action(desk, handed, "ann", Disposition.no_answer))

    # not done in time again: the cadence moves on
    journey = await eventually(lambda: _moved_on(desk, lead.id, handed.task_id), timeout=30)
    texts = [e.text for e in journey.timeline if e.kind == "call"]
    verb = "reassigning in the queue" if rule == "reassign" else "escalating"
    assert texts[0].startswith(f"Call task for the lead owner {desk.name('ann')}")
    assert texts[1] == f"Call task overdue, {verb}"
    assert desk.name(heir) in texts[2] and f"(was {desk.name('ann')})" in texts[2]
    assert texts[3] == "Call task overdue, skipped"
