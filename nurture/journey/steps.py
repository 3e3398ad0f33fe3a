"""The step machine: which step runs next, waits, branches, cycles and the end (a touch step
itself: ``touches``)."""

from __future__ import annotations

from datetime import datetime

from nurture.cadence.model import Cadence
from nurture.cadence.sales import SalesRules
from nurture.cadence.scoring import (
    ScoringModel,
    fit_score,
)
from nurture.cadence.steps import (
    TOUCH_KINDS,
    BranchStep,
    CallStep,
    Condition,
    ExitStep,
    GotoStep,
    Outcome,
    WaitForStep,
    WaitStep,
    step_kind,
)
from nurture.calendar import CalendarSnapshot
from nurture.contracts import (
    TouchResult,
)
from nurture.events import Channel
from nurture.journey import milestones, planned
from nurture.journey.commands import (
    Command,
    ContinueAsNew,
    EngineError,
    Finish,
    LoadCadence,
    Wait,
)
from nurture.journey.confirm import remember_unknown
from nurture.journey.desk import (
    check_call_task,
)
from nurture.journey.migrate import apply_migration
from nurture.journey.pause import (
    held,
)
from nurture.journey.sales import (
    check_handoff,
)
from nurture.journey.state import (
    CallTask,
    Journey,
    Phase,
    Stage,
    TouchMark,
    WaitingFor,
)
from nurture.journey.timeline import (
    describe_condition,
    local_text,
    log,
)
from nurture.journey.timing import (
    WEEK,
    after,
    jitter,
    wait,
)
from nurture.journey.touches import touch_step
from nurture.journey.transitions import (
    current_step,
    default_recycle,
    exit_cadence,
    leave_touch_step,
    new_cycle,
    recycle,
    set_stage,
)
from nurture.lead import Lead

#: How many steps may run back to back without time passing before the engine refuses.
MAX_UNTIMED_STEPS = 200


def start(
    lead: Lead,
    cadence: Cadence,
    calendar: CalendarSnapshot,
    now: datetime,
    scoring: ScoringModel | None = None,
    sales: SalesRules | None = None,
) -> Journey:
    """A new journey for a lead enrolled into a cadence (with the scoring and sales rules)."""
    journey = Journey(
        lead=lead,
        cadence=cadence,
        calendar=calendar,
        scoring=scoring,
        sales=sales,
        ab_variants=True,
    )
    if scoring is not None:
        journey.fit, reasons = fit_score(scoring, lead)
        journey.score = journey.fit
        if reasons:
            log(journey, now, "score", f"Fit {journey.fit}: {', '.join(reasons)}")
    log(
        journey,
        now,
        "enrolled",
        f"Enrolled in {cadence.name} v{cadence.version}"
        f" ({cadence.cycles.count} cycle{'s' if cadence.cycles.count > 1 else ''})",
    )
    return journey


def advance(journey: Journey, now: datetime) -> Command:
    """The next thing to do. Runs untimed steps (branches, gotos, skips) until one blocks."""
    for _ in range(MAX_UNTIMED_STEPS):
        command = _step(journey, now)
        if command is not None:
            return command
    raise EngineError(f"{MAX_UNTIMED_STEPS} steps without a wait in cadence {journey.cadence.name}")


def on_touch_result(journey: Journey, result: TouchResult, now: datetime) -> None:
    """Record the outcome of the pending touch and move past it."""
    touch = journey.pending
    if touch is None:
        raise EngineError("no touch is being sent")
    journey.pending = None
    planned.learn(journey, result)
    remember_unknown(journey, touch, result)
    milestones.emit(
        journey,
        now,
        f"touch_{result.status}",
        step=touch.step_id,
        channel=touch.channel.value,
        variant=touch.template,
        touch_id=touch.touch_id,
        reason=result.error,
    )
    if result.status == "skipped":
        log(
            journey,
            now,
            "skip",
            f"{touch.summary} skipped: {result.error}",
            touch.step_id,
            touch.touch_id,
        )
    elif result.status == "failed":
        reason = result.error or "provider refused"
        journey.stopped[touch.channel] = reason
        log(
            journey,
            now,
            "stop",
            f"{touch.summary} failed: {reason}; {touch.channel} stopped",
            touch.step_id,
            touch.touch_id,
        )
    else:
        planned.sent(journey, touch.planned_at)
        journey.touches_sent += 1
        reaches = result.send_at or now  # a scheduled send counts when it reaches the lead
        journey.touch_log = [m for m in journey.touch_log if m.at > now - WEEK] + [
            TouchMark(at=reaches, channel=touch.channel)
        ]
        journey.recent_events = []
        if journey.stage is Stage.new:
            set_stage(journey, Stage.nurturing, now, "first touch")
        subject = f" — “{result.subject}”" if result.subject else ""
        when = (
            f" · reaches the lead {local_text(journey, result.send_at)}" if result.send_at else ""
        )
        log(
            journey,
            now,
            "touch",
            f"{touch.summary}{subject}{when}",
            touch.step_id,
            touch.touch_id,
        )
    if journey.phase is not Phase.sending:
        return  # an exit or recycle came in while the touch was out: it stands
    if result.status == "sent" and touch.channel is Channel.call and touch.due is not None:
        journey.last_disposition = None
        journey.next_touch_at = None
        step = current_step(journey)
        rule = step.call.assign if isinstance(step, CallStep) else "owner"
        journey.call_task = CallTask(
            touch_id=touch.touch_id,
            step=touch.step_id,
            queue=touch.queue or "",
            assignee=touch.assignee,
            due=touch.due,
            created_at=now,
            assign="owner"
            if touch.assignee
            else ("round_robin" if rule == "round_robin" else None),
        )
        journey.phase = Phase.call_open
        milestones.emit(
            journey,
            now,
            "task_created",
            step=touch.step_id,
            channel=touch.channel.value,
            touch_id=touch.touch_id,
            rep=touch.assignee,
            reason=touch.queue,
        )
        return
    leave_touch_step(journey)


def on_cadence_loaded(
    journey: Journey,
    cadence: Cadence,
    calendar: CalendarSnapshot,
    now: datetime,
    scoring: ScoringModel | None = None,
    sales: SalesRules | None = None,
) -> None:
    """Start the next enrolment (a recycle) on a freshly loaded cadence (and rules)."""
    journey.cadence = cadence
    journey.calendar = calendar
    journey._calendar = None
    journey.scoring = scoring or journey.scoring
    journey.sales = sales or journey.sales
    journey.enrolment += 1
    journey.recycle_to = None
    new_cycle(journey, 1)
    journey.phase = Phase.ready
    journey.wake_at = None
    set_stage(journey, Stage.nurturing, now, f"recycled into {cadence.name}")
    log(journey, now, "enrolled", f"Enrolled in {cadence.name} v{cadence.version}")
    milestones.emit(journey, now, "enrolled", reason="recycled")


def _step(j: Journey, now: datetime) -> Command | None:
    if j.migration is not None:
        apply_migration(j, now)
    hold = held(j, now)
    if hold is not None:
        return hold
    match j.phase:
        case Phase.done:
            return Finish(outcome=j.outcome or Outcome.finished, stage=j.stage)
        case Phase.sending:
            raise EngineError("advance() called while a touch is being sent")
        case Phase.waiting | Phase.cooling_down:
            assert j.wake_at is not None
            wake = planned.wake_time(j)  # early for an email sent as a scheduled send
            if now < wake:
                return Wait(until=wake, summary=j.wake_reason)
            planned.woke(j, now)
            j.wake_at = None
            if j.phase is Phase.cooling_down:
                target = j.recycle_to or j.cadence.cycles.recycle_to
                assert target is not None
                return LoadCadence(name=target)
            j.phase = Phase.ready
            return None
        case Phase.waiting_for:
            return _check_wait_for(j, now)
        case Phase.call_open:
            return check_call_task(j, now)
        case Phase.handoff:
            return check_handoff(j, now)
    if j.detour is not None:
        return touch_step(j, now, Channel.voicemail, j.detour, f"{current_step(j).id}-voicemail")
    if j.position >= len(j.cadence.steps):
        return _end_cycle(j, now)
    step = current_step(j)
    kind = step_kind(step)
    if kind in TOUCH_KINDS:
        if isinstance(step, CallStep):
            return touch_step(j, now, Channel.call, step.call.script, str(step.id))
        params = getattr(step, kind)
        return touch_step(j, now, TOUCH_KINDS[kind], params.template, str(step.id))
    if isinstance(step, WaitStep):
        begins = planned.wait_start(j, now)
        until = jitter(j, after(j, step.wait, begins), f"{step.id}:{j.cycle}")
        j.position += 1
        wait(j, now, until, f"Wait {step.wait.describe()}", step.id)
        if planned.lead_time(j) is not None:
            return None  # an email is next: the wait wakes early for it
        return Wait(until=until, summary=j.wake_reason)
    if isinstance(step, WaitForStep):
        params = step.wait_for
        deadline = after(j, params.within, now)
        ids = j.cadence.step_index
        nxt = j.position + 1
        j.waiting_for = WaitingFor(
            step=str(step.id),
            kinds=params.kinds,
            mode="any" if params.any else "all",
            matched=[k for k in params.kinds if k in j.recent_events],
            deadline=deadline,
            then=ids[params.then] if params.then else nxt,
            otherwise=ids[params.else_] if params.else_ else nxt,
        )
        j.phase = Phase.waiting_for
        j.next_touch_at = None
        joiner = " or " if params.any else " and "
        j.wake_reason = (
            f"Wait for {joiner.join(params.kinds)} until {local_text(j, deadline)}"  # str enums
        )
        log(j, now, "wait_for", j.wake_reason, step.id)
        return None
    if isinstance(step, BranchStep):
        ids = j.cadence.step_index
        for case in step.branch.cases:
            if _holds(j, case.when):
                log(
                    j,
                    now,
                    "branch",
                    f"Branch {step.id}: {describe_condition(case.when)} → {case.goto}",
                    step.id,
                )
                j.position = ids[case.goto]
                return None
        target = step.branch.otherwise
        j.position = ids[target] if target else j.position + 1
        return None
    if isinstance(step, GotoStep):
        j.position = j.cadence.step_index[step.goto]
        return None
    assert isinstance(step, ExitStep)
    exit_cadence(j, step.exit.outcome, now, f"exit step {step.id}")
    return None


def _check_wait_for(j: Journey, now: datetime) -> Command | None:
    waiting = j.waiting_for
    assert waiting is not None
    if waiting.satisfied():
        j.position = waiting.then
        text = f"Engaged ({', '.join(k.value for k in waiting.matched)})"
    elif now >= waiting.deadline:
        j.position = waiting.otherwise
        text = "No engagement in time"
    else:
        return Wait(until=waiting.deadline, summary=j.wake_reason)
    target = j.cadence.steps[j.position].id if j.position < len(j.cadence.steps) else "end of cycle"
    log(j, now, "wait_for", f"{text} → {target}", waiting.step)
    j.waiting_for = None
    j.phase = Phase.ready
    return None


def _end_cycle(j: Journey, now: datetime) -> Command:
    cycles = j.cadence.cycles
    if j.cycle < cycles.count:
        assert cycles.gap is not None
        log(j, now, "cycle", f"Cycle {j.cycle} of {cycles.count} done")
        new_cycle(j, j.cycle + 1)
        until = jitter(j, after(j, cycles.gap, now), f"cycle:{j.cycle}")
        wait(j, now, until, f"Cycle {j.cycle} starts after {cycles.gap.describe()}", None)
        return ContinueAsNew()
    if cycles.after_last == "recycle":
        target = default_recycle(j)
        assert target is not None
        recycle(j, now, f"{cycles.count} cycles without a handoff", target)
        return ContinueAsNew()
    exit_cadence(
        j, Outcome.finished, now, f"{cycles.count} cycle{'s' if cycles.count > 1 else ''} done"
    )
    return Finish(outcome=Outcome.finished, stage=j.stage)


def _holds(j: Journey, when: Condition) -> bool:
    lead = j.lead
    if when.score_at_least is not None and j.score < when.score_at_least:
        return False
    if when.score_below is not None and j.score >= when.score_below:
        return False
    if when.segment is not None and lead.segment not in when.segment:
        return False
    if when.last_disposition is not None and j.last_disposition not in when.last_disposition:
        return False
    if when.engaged is not None and not set(when.engaged) & set(j.cycle_events):
        return False
    if when.field is not None:
        test = when.field
        value = getattr(lead, test.name, None) if test.name in Lead.model_fields else None
        value = value if isinstance(value, str) else lead.fields.get(test.name)
        if test.present is not None and bool(value) != test.present:
            return False
        if test.equals is not None and value != test.equals:
            return False
        if test.in_ is not None and value not in test.in_:
            return False
    return True
