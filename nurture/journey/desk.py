"""Call tasks inside the journey: assignment, the due time, time-outs, and the desk's actions
(claim, release, complete with a disposition)."""

from __future__ import annotations

from datetime import datetime

from nurture.cadence.steps import CallStep, CallTimeout, Outcome
from nurture.contracts import (
    MAX_TALK_SECONDS,
    Assignment,
    AssignRequest,
    CallTaskView,
    ClaimTask,
    CompleteTask,
    Disposition,
    ReleaseTask,
)
from nurture.events import EngagementEvent
from nurture.journey import milestones
from nurture.journey.commands import (
    ActionRefused,
    Assign,
    Command,
    Wait,
)
from nurture.journey.engagement import (
    on_event,
)
from nurture.journey.state import (
    Journey,
    Phase,
    Stage,
)
from nurture.journey.timeline import (
    local_text,
    log,
)
from nurture.journey.timing import (
    after,
    after_in_hours,
    owner_text,
    rep_calendar,
    wait,
    within_rep_hours,
)
from nurture.journey.transitions import (
    current_step,
    default_recycle,
    exit_cadence,
    leave_touch_step,
    promote,
    recycle,
    set_stage,
)


def on_assigned(
    journey: Journey, assignment: Assignment, now: datetime, owner_hours: bool = False
) -> None:
    """Record who got the handoff or call task an ``Assign`` asked for.

    ``owner_hours``: the handoff SLA runs in the assigned owner's working hours (the rep's, which
    default to their team's) and is shown in the owner's zone; without hours, the lead's
    business hours as before.
    """
    h = journey.handoff
    if journey.phase is Phase.handoff and h is not None and h.assigning:
        h.assigning = False
        before, h.owner = h.owner, assignment.rep or h.owner
        h.manager = assignment.manager
        owner = h.owner or f"team {h.team}"
        hours = rep_calendar(assignment) if owner_hours else None
        if hours is not None and h.due is not None:
            h.due = after_in_hours(hours, h.sla, h.promoted_at if not h.escalations else now)
            h.owner_timezone = hours.timezone
        if h.escalations:
            text = (
                f"SLA escalated to manager {h.manager or '(none)'}; "
                f"reassigned {before or 'unassigned'} → {owner}"
            )
        else:
            text = f"Handed to {owner} ({h.team}); accept or decline by"
            if h.due is None:
                text += " (no SLA)"
            elif hours is not None:
                text += f" {owner_text(hours, h.due)} (the owner's working hours)"
            else:
                text += f" {local_text(journey, h.due)}"
        log(journey, now, "handoff", text)
        kind = "handoff_escalated" if h.escalations else "handoff_assigned"
        milestones.emit(journey, now, kind, rep=h.owner, reason=h.team)
        return
    task = journey.call_task
    if task is None or task.assign is None:
        return  # the task ended while the assignment was made
    rule, task.assign = task.assign, None
    before, task.assignee = task.assignee, assignment.rep
    if assignment.timezone and assignment.hours:
        task.due = within_rep_hours(journey, task.due, assignment)
    who = assignment.rep or f"queue {task.queue}"
    text = {
        "owner": f"Call task for the lead owner {who}",
        "round_robin": f"Call task assigned to {who} (round-robin in {task.queue})",
        "manager": f"Call task escalated to manager {who}",
    }[rule]
    if before and before != assignment.rep:
        text += f" (was {before})"
    log(journey, now, "call", f"{text}; due {local_text(journey, task.due)}", task.step)
    milestones.emit(
        journey,
        now,
        "task_assigned",
        step=task.step,
        touch_id=task.touch_id,
        rep=assignment.rep,
        reason=rule,
    )


def task_view(journey: Journey) -> CallTaskView | None:
    """The open call task as the desk shows it."""
    t = journey.call_task
    if t is None or journey.phase is not Phase.call_open:
        return None
    return CallTaskView(
        task_id=t.touch_id,
        lead_id=journey.lead.id,
        step=t.step,
        cadence=journey.cadence.name,
        queue=t.queue,
        assignee=t.assignee,
        claimed_by=t.claimed_by,
        created_at=t.created_at or t.due,
        due=t.due,
        notes=t.notes,
        attempts=t.retries,
    )


def refuse_task_action(
    journey: Journey, action: ClaimTask | ReleaseTask | CompleteTask, now: datetime
) -> None:
    """Raise ``ActionRefused`` with a clear message unless the desk action fits the open task."""
    talk = action.talk_seconds if isinstance(action, CompleteTask) else None
    if talk is not None and not 0 <= talk <= MAX_TALK_SECONDS:
        hours = MAX_TALK_SECONDS // 3600
        raise ActionRefused(f"talk time must be between 0 and {hours} hours (got {talk} s)")
    t = journey.call_task
    if t is not None and t.touch_id == action.task_id and t.outcome is not None:
        raise ActionRefused(f"task {t.touch_id} is closed: already completed ({t.outcome.value})")
    if t is None or journey.phase is not Phase.call_open:
        done = next(
            (
                e
                for e in reversed(journey.timeline)
                if e.touch_id == action.task_id and e.text.startswith("Call task")
            ),
            None,
        )
        if done is not None:
            raise ActionRefused(f"task {action.task_id} is closed: {done.text}")
        raise ActionRefused(f"lead {journey.lead.id} has no open call task {action.task_id}")
    if action.task_id != t.touch_id:
        raise ActionRefused(
            f"task {action.task_id} is no longer open (the open one is {t.touch_id})"
        )
    if t.assign is not None:
        raise ActionRefused(f"task {t.touch_id} is being assigned; try again in a moment")
    rep = action.rep
    if isinstance(action, ClaimTask):
        if t.assignee == rep:
            raise ActionRefused(f"task {t.touch_id} is already yours")
        if t.assignee is not None:
            verb = "claimed" if t.claimed_by else "assigned"
            raise ActionRefused(f"task {t.touch_id} is already {verb} by {t.assignee}")
        return
    if t.assignee is None:
        raise ActionRefused(f"task {t.touch_id} is in the {t.queue} queue: claim it first")
    if t.assignee != rep:
        raise ActionRefused(f"task {t.touch_id} belongs to {t.assignee}, not {rep}")
    if (
        isinstance(action, CompleteTask)
        and action.disposition is Disposition.call_back_later
        and action.call_back_at is not None
        and action.call_back_at <= now
    ):
        raise ActionRefused("the call-back time must be in the future")


def claim_task(journey: Journey, action: ClaimTask, now: datetime) -> CallTaskView:
    """A rep takes the task from the team queue."""
    refuse_task_action(journey, action, now)
    t = journey.call_task
    assert t is not None
    t.assignee = t.claimed_by = action.rep
    log(journey, now, "desk", f"Call task claimed by {action.rep}", t.step, t.touch_id)
    milestones.emit(journey, now, "task_claimed", step=t.step, touch_id=t.touch_id, rep=action.rep)
    view = task_view(journey)
    assert view is not None
    return view


def release_task(journey: Journey, action: ReleaseTask, now: datetime) -> CallTaskView:
    """A rep puts the task back into the team queue."""
    refuse_task_action(journey, action, now)
    t = journey.call_task
    assert t is not None
    t.assignee = t.claimed_by = None
    log(journey, now, "desk", f"Call task released by {action.rep}", t.step, t.touch_id)
    view = task_view(journey)
    assert view is not None
    return view


def complete_task(journey: Journey, action: CompleteTask, now: datetime) -> CallTaskView:
    """Record the call's disposition and take the journey where it leads."""
    refuse_task_action(journey, action, now)
    t = journey.call_task
    assert t is not None
    view = task_view(journey)
    assert view is not None
    view = view.model_copy(
        update={"status": "done", "disposition": action.disposition, "notes": action.notes}
    )
    t.notes = action.notes
    data: dict[str, str | int | float | bool | None] = {"rep": action.rep}
    if action.notes:
        data["notes"] = action.notes
    if action.meeting_at:
        data["meeting_at"] = action.meeting_at.isoformat()
    if action.call_back_at:
        data["call_back_at"] = action.call_back_at.isoformat()
    if action.qualification:
        data.update(action.qualification.model_dump())
    event = EngagementEvent(
        id=action.event_id,
        kind=action.disposition.event_kind,
        lead_id=journey.lead.id,
        at=now,
        touch_id=t.touch_id,
        data=data,
    )
    milestones.emit(
        journey,
        now,
        "task_completed",
        step=t.step,
        channel="call",
        touch_id=t.touch_id,
        rep=action.rep,
        reason=action.disposition.value,
        talk_seconds=action.talk_seconds,
    )
    on_event(journey, event, now)
    why = f"{action.disposition.label.lower()} (call by {action.rep})"
    match action.disposition:
        case Disposition.meeting_booked | Disposition.qualified:
            promote(journey, now, why)
        case Disposition.not_interested:
            target = default_recycle(journey)
            if journey.phase is Phase.call_open:
                log(journey, now, "call", f"Call task done: {why}", t.step, t.touch_id)
                if target is not None:
                    recycle(journey, now, why, target)
                else:
                    exit_cadence(journey, Outcome.finished, now, why)
                    set_stage(journey, Stage.recycled, now, why)
        case Disposition.call_back_later:
            assert action.call_back_at is not None
            if journey.phase is Phase.call_open:
                log(journey, now, "call", f"Call task done: {why}", t.step, t.touch_id)
                journey.call_task = None
                wait(journey, now, action.call_back_at, "Call back", t.step)
                journey.next_touch_at = action.call_back_at
        case _:
            pass
    return view


def check_call_task(j: Journey, now: datetime) -> Command | None:
    task = j.call_task
    assert task is not None
    if task.outcome is not None:
        log(j, now, "call", f"Call task done: {task.outcome.value}", task.step, task.touch_id)
        leave_touch_step(j)
        return None
    if task.assign is not None:
        return Assign(
            request=AssignRequest(
                key=f"{task.touch_id}:a{task.retries}",
                lead_id=j.lead.id,
                team=task.queue,
                rule=task.assign,
                owner=task.assignee or j.lead.owner or None,
                exclude=task.assignee if task.retries else None,
                purpose="call_task",
            )
        )
    if now < task.due:
        who = task.assignee or f"queue {task.queue}"
        return Wait(until=task.due, summary=f"Call task for {who} due {local_text(j, task.due)}")
    step = current_step(j)
    assert isinstance(step, CallStep)
    rule = step.call.on_timeout
    milestones.emit(
        j, now, "task_overdue", step=task.step, touch_id=task.touch_id, rep=task.assignee
    )
    if rule in (CallTimeout.reassign, CallTimeout.escalate) and task.retries == 0:
        task.retries += 1
        task.claimed_by = None
        task.due = after(j, step.call.due, now)
        task.assign = "round_robin" if rule is CallTimeout.reassign else "manager"
        verb = "reassigning in the queue" if rule is CallTimeout.reassign else "escalating"
        log(j, now, "call", f"Call task overdue, {verb}", task.step, task.touch_id)
        return None
    log(j, now, "call", "Call task overdue, skipped", task.step, task.touch_id)
    if rule is CallTimeout.voicemail:
        j.call_task = None
        j.phase = Phase.ready
        j.detour = step.call.voicemail
        return None
    leave_touch_step(j)
    return None
