"""The journey engine: a pure, deterministic state machine of one lead's way through a cadence.

The workflow (or the simulator, or a test) owns a ``Journey`` and drives it with four calls:

- ``advance(journey, now)`` -> the one thing to do next: ``SendTouch``, ``Wait``, ``LoadCadence``,
  ``ContinueAsNew`` or ``Finish``;
- ``on_touch_result(journey, result, now)`` after a ``SendTouch`` was carried out;
- ``on_event(journey, event, now)`` whenever an engagement event arrives (at any moment);
- ``on_cadence_loaded(journey, cadence, calendar, now)`` after a ``LoadCadence``.

Each call updates the journey it is given and nothing else: no clock, no randomness, no I/O.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, PrivateAttr

from nurture.cadence import (
    TOUCH_KINDS,
    BranchStep,
    Cadence,
    CallStep,
    CallTimeout,
    Condition,
    Delay,
    DirectMailStep,
    ExitStep,
    GotoStep,
    Outcome,
    WaitForStep,
    WaitStep,
    step_kind,
)
from nurture.calendar import BusinessCalendar
from nurture.events import ENGAGEMENT_KINDS, Channel, EngagementEvent, EventKind
from nurture.leads import Lead

#: How many steps may run back to back without time passing before the engine refuses.
MAX_UNTIMED_STEPS = 200
#: How many event ids a journey remembers to drop re-deliveries.
SEEN_EVENTS_KEPT = 2000
WEEK = timedelta(days=7)


class Stage(StrEnum):
    """Where a lead stands in the funnel."""

    new = "new"
    nurturing = "nurturing"
    engaged = "engaged"
    sales_ready = "sales_ready"
    accepted = "accepted"
    opportunity = "opportunity"
    won = "won"
    lost = "lost"
    recycled = "recycled"
    disqualified = "disqualified"
    opted_out = "opted_out"


class Phase(StrEnum):
    """What the journey is doing right now."""

    ready = "ready"
    sending = "sending"
    waiting = "waiting"
    waiting_for = "waiting_for"
    call_open = "call_open"
    cooling_down = "cooling_down"
    done = "done"


class CalendarSnapshot(BaseModel):
    """The lead's calendar, fixed when the cadence starts so replays never see a newer tz/holiday
    table."""

    timezone: str
    country: str
    subdivision: str | None = None
    holidays: list[date] = Field(default_factory=list)


class JourneyEntry(BaseModel):
    """One line of the lead's story."""

    at: AwareDatetime
    cycle: int
    kind: str
    text: str
    step: str | None = None
    touch_id: str | None = None


class Touch(BaseModel):
    """Everything an activity needs to render and send one touch (the activity's input)."""

    touch_id: str
    lead: Lead
    channel: Channel
    template: str
    cadence: str
    cadence_version: int
    cycle: int
    step_id: str
    number: int
    total: int
    summary: str
    sender: dict[str, Any] | None = None
    mail_format: Literal["letter", "postcard"] | None = None
    queue: str | None = None
    assignee: str | None = None
    due: AwareDatetime | None = None


class TouchResult(BaseModel):
    """What became of a touch."""

    status: Literal["sent", "skipped", "failed"] = Field(
        "sent", description="skipped: this touch could not be made (e.g. a template failed)"
    )
    provider: str = "outbox"
    provider_id: str | None = None
    subject: str | None = None
    error: str | None = Field(None, description="Why a permanent failure stops the channel")


class LoadRequest(BaseModel):
    """Which cadence to load, for which lead (its calendar is snapshotted too)."""

    name: str
    lead: Lead


class LoadedCadence(BaseModel):
    """A cadence snapshot and the lead's calendar for it."""

    cadence: Cadence
    calendar: CalendarSnapshot


class WaitingFor(BaseModel):
    """An open ``wait_for`` step."""

    step: str
    kinds: list[EventKind]
    mode: Literal["any", "all"]
    matched: list[EventKind] = Field(default_factory=list)
    deadline: AwareDatetime
    then: int
    otherwise: int

    def satisfied(self) -> bool:
        """True when the awaited engagement happened."""
        if self.mode == "any":
            return bool(self.matched)
        return set(self.kinds) <= set(self.matched)


class CallTask(BaseModel):
    """An open call task."""

    touch_id: str
    step: str
    queue: str
    assignee: str | None
    due: AwareDatetime
    retries: int = 0
    outcome: EventKind | None = None


class Journey(BaseModel):
    """The whole state of one lead's journey; serializable, carried across continue-as-new."""

    lead: Lead
    cadence: Cadence
    calendar: CalendarSnapshot
    enrolment: int = 1
    cycle: int = 1
    position: int = 0
    phase: Phase = Phase.ready
    wake_at: AwareDatetime | None = None
    wake_reason: str = ""
    next_touch_at: AwareDatetime | None = Field(
        None, description="When the next touch is planned (kept while it is being sent)"
    )
    waiting_for: WaitingFor | None = None
    call_task: CallTask | None = None
    pending: Touch | None = None
    detour: str | None = Field(None, description="Voicemail template replacing a missed call")
    stage: Stage = Stage.new
    score: int = 0
    outcome: Outcome | None = None
    stopped: dict[Channel, str] = Field(default_factory=dict)
    touch_times: list[AwareDatetime] = Field(default_factory=list)
    touches_sent: int = 0
    cycle_events: list[EventKind] = Field(default_factory=list)
    recent_events: list[EventKind] = Field(
        default_factory=list, description="Events since the last touch (for wait_for)"
    )
    last_disposition: EventKind | None = None
    visits: dict[str, int] = Field(default_factory=dict)
    seen_events: list[str] = Field(default_factory=list)
    timeline: list[JourneyEntry] = Field(default_factory=list)
    _calendar: BusinessCalendar | None = PrivateAttr(None)

    def business_calendar(self) -> BusinessCalendar:
        """The lead's business calendar (built once per run)."""
        if self._calendar is None:
            self._calendar = BusinessCalendar(
                self.calendar.timezone,
                self.cadence.calendar.weekly_hours,
                self.calendar.holidays,
            )
        return self._calendar


# ---------------------------------------------------------------- commands


class SendTouch(BaseModel):
    """Render and send this touch, then call ``on_touch_result``."""

    touch: Touch


class Wait(BaseModel):
    """Sleep until ``until`` or until an event arrives, then call ``advance`` again."""

    until: AwareDatetime
    summary: str


class LoadCadence(BaseModel):
    """Load the named cadence and its lead calendar, then call ``on_cadence_loaded``."""

    name: str


class ContinueAsNew(BaseModel):
    """A cycle boundary: carry the journey into a fresh workflow run."""


class Finish(BaseModel):
    """The journey is over."""

    outcome: Outcome
    stage: Stage


Command = SendTouch | Wait | LoadCadence | ContinueAsNew | Finish


class EngineError(RuntimeError):
    """The cadence cannot make progress (a loop that never waits)."""


# ---------------------------------------------------------------- entry points


def start(lead: Lead, cadence: Cadence, calendar: CalendarSnapshot, now: datetime) -> Journey:
    """A new journey for a lead enrolled into a cadence."""
    journey = Journey(lead=lead, cadence=cadence, calendar=calendar)
    _log(
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
    if result.status == "skipped":
        _log(
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
        _log(
            journey,
            now,
            "stop",
            f"{touch.summary} failed: {reason}; {touch.channel} stopped",
            touch.step_id,
            touch.touch_id,
        )
    else:
        journey.touches_sent += 1
        journey.touch_times = [t for t in journey.touch_times if t > now - WEEK] + [now]
        journey.recent_events = []
        if journey.stage is Stage.new:
            _set_stage(journey, Stage.nurturing, now, "first touch")
        subject = f" — “{result.subject}”" if result.subject else ""
        _log(journey, now, "touch", f"{touch.summary}{subject}", touch.step_id, touch.touch_id)
    if journey.phase is not Phase.sending:
        return  # an exit or recycle came in while the touch was out: it stands
    if result.status == "sent" and touch.channel is Channel.call and touch.due is not None:
        journey.last_disposition = None
        journey.next_touch_at = None
        journey.call_task = CallTask(
            touch_id=touch.touch_id,
            step=touch.step_id,
            queue=touch.queue or "",
            assignee=touch.assignee,
            due=touch.due,
        )
        journey.phase = Phase.call_open
        return
    _leave_touch_step(journey)


def on_event(journey: Journey, event: EngagementEvent, now: datetime) -> bool:
    """Apply an engagement event; returns False for a re-delivered one (changes nothing)."""
    if event.id in journey.seen_events:
        return False
    journey.seen_events = [*journey.seen_events[-(SEEN_EVENTS_KEPT - 1) :], event.id]
    kind = event.kind
    _log(journey, now, "event", _describe_event(event), touch_id=event.touch_id)
    if journey.phase is Phase.done:
        return True
    if kind is EventKind.score_adjusted and event.points:
        journey.score += event.points
    journey.cycle_events.append(kind)
    journey.recent_events.append(kind)
    if kind in ENGAGEMENT_KINDS and journey.stage in (Stage.new, Stage.nurturing):
        _set_stage(journey, Stage.engaged, now, kind.value)
    for channel, kinds in journey.cadence.stop_rules.items():
        if kind in kinds and channel not in journey.stopped:
            journey.stopped[channel] = kind.value
            _log(journey, now, "stop", f"{channel.value} stopped ({kind.value})")
    waiting = journey.waiting_for
    if waiting is not None and kind in waiting.kinds and kind not in waiting.matched:
        waiting.matched.append(kind)
    task = journey.call_task
    if task is not None and kind.is_call_outcome and event.touch_id in (None, task.touch_id):
        task.outcome = kind
    if kind.is_call_outcome:
        journey.last_disposition = kind
    for rule in journey.cadence.exit_on:
        if kind in rule.events:
            _exit(journey, rule.outcome, now, f"{kind.value}")
            break
    return True


def on_cadence_loaded(
    journey: Journey, cadence: Cadence, calendar: CalendarSnapshot, now: datetime
) -> None:
    """Start the next enrolment (a recycle) on a freshly loaded cadence."""
    journey.cadence = cadence
    journey.calendar = calendar
    journey._calendar = None
    journey.enrolment += 1
    _new_cycle(journey, 1)
    journey.phase = Phase.ready
    journey.wake_at = None
    _set_stage(journey, Stage.nurturing, now, f"recycled into {cadence.name}")
    _log(journey, now, "enrolled", f"Enrolled in {cadence.name} v{cadence.version}")


# ---------------------------------------------------------------- the step machine


def _step(j: Journey, now: datetime) -> Command | None:
    match j.phase:
        case Phase.done:
            return Finish(outcome=j.outcome or Outcome.finished, stage=j.stage)
        case Phase.sending:
            raise EngineError("advance() called while a touch is being sent")
        case Phase.waiting | Phase.cooling_down:
            assert j.wake_at is not None
            if now < j.wake_at:
                return Wait(until=j.wake_at, summary=j.wake_reason)
            j.wake_at = None
            if j.phase is Phase.cooling_down:
                assert j.cadence.cycles.recycle_to is not None
                return LoadCadence(name=j.cadence.cycles.recycle_to)
            j.phase = Phase.ready
            return None
        case Phase.waiting_for:
            return _check_wait_for(j, now)
        case Phase.call_open:
            return _check_call_task(j, now)
    if j.detour is not None:
        return _touch(j, now, Channel.voicemail, j.detour, f"{_current(j).id}-voicemail")
    if j.position >= len(j.cadence.steps):
        return _end_cycle(j, now)
    step = _current(j)
    kind = step_kind(step)
    if kind in TOUCH_KINDS:
        if isinstance(step, CallStep):
            return _touch(j, now, Channel.call, step.call.script, str(step.id))
        params = getattr(step, kind)
        return _touch(j, now, TOUCH_KINDS[kind], params.template, str(step.id))
    if isinstance(step, WaitStep):
        until = _jitter(j, _after(j, step.wait, now), f"{step.id}:{j.cycle}")
        j.position += 1
        _wait(j, now, until, f"Wait {step.wait.describe()}", step.id)
        return Wait(until=until, summary=j.wake_reason)
    if isinstance(step, WaitForStep):
        params = step.wait_for
        deadline = _after(j, params.within, now)
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
            f"Wait for {joiner.join(k.value for k in params.kinds)}"
            f" until {_local_text(j, deadline)}"
        )
        _log(j, now, "wait_for", j.wake_reason, step.id)
        return None
    if isinstance(step, BranchStep):
        ids = j.cadence.step_index
        for case in step.branch.cases:
            if _holds(j, case.when):
                _log(
                    j,
                    now,
                    "branch",
                    f"Branch {step.id}: {_describe_condition(case.when)} → {case.goto}",
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
    _exit(j, step.exit.outcome, now, f"exit step {step.id}")
    return None


def _current(j: Journey) -> Any:
    return j.cadence.steps[j.position]


def _touch(
    j: Journey, now: datetime, channel: Channel, template: str, step_id: str
) -> Command | None:
    """Send a touch now, defer it into allowed hours, or skip it."""
    missing = _unreachable(j, channel)
    if missing:
        _log(j, now, "skip", f"Skipped {channel.value} step {step_id}: {missing}", step_id)
        _leave_touch_step(j)
        return None
    earliest = _earliest_send(j, channel, now)
    if earliest > now:
        earliest = _jitter(j, earliest, f"{step_id}:{j.cycle}:defer", channel)
        label = _label(j, channel, template)
        reason = "weekly touch limit" if _over_limit(j, now) else f"outside {channel.value} hours"
        _wait(j, now, earliest, f"Defer {label} ({reason})", step_id)
        return Wait(until=earliest, summary=j.wake_reason)
    visit = j.visits.get(step_id, 0) + 1
    j.visits[step_id] = visit
    suffix = f"#{visit}" if visit > 1 else ""
    touch_id = (
        f"{j.lead.id}:{j.cadence.name}:v{j.cadence.version}:e{j.enrolment}"
        f":c{j.cycle}:{step_id}{suffix}"
    )
    step = _current(j)
    touch = Touch(
        touch_id=touch_id,
        lead=j.lead,
        channel=channel,
        template=template,
        cadence=j.cadence.name,
        cadence_version=j.cadence.version,
        cycle=j.cycle,
        step_id=step_id,
        number=_touch_number(j),
        total=j.cadence.touch_count(),
        summary=_label(j, channel, template),
        sender=j.cadence.sender.model_dump() if j.cadence.sender else None,
        mail_format=step.direct_mail.format if isinstance(step, DirectMailStep) else None,
    )
    if channel is Channel.call and isinstance(step, CallStep):
        call = step.call
        assignee = j.lead.owner if call.assign == "owner" and j.lead.owner else None
        due = _after(j, call.due, now)
        touch = touch.model_copy(update={"queue": call.queue, "assignee": assignee, "due": due})
    j.phase = Phase.sending
    j.pending = touch
    j.wake_at = None
    return SendTouch(touch=touch)


def _leave_touch_step(j: Journey) -> None:
    j.detour = None
    j.call_task = None
    j.position += 1
    j.phase = Phase.ready


def _unreachable(j: Journey, channel: Channel) -> str | None:
    if channel in j.stopped:
        return f"{channel.value} stopped ({j.stopped[channel]})"
    if channel is Channel.email and not j.lead.email:
        return "no email address"
    if channel in (Channel.call, Channel.voicemail, Channel.sms) and not j.lead.phone:
        return "no phone number"
    if channel is Channel.direct_mail and j.lead.address is None:
        return "no postal address"
    return None


def _over_limit(j: Journey, at: datetime) -> bool:
    limit = j.cadence.limits.max_touches_per_week
    return limit is not None and sum(1 for t in j.touch_times if t > at - WEEK) >= limit


def _earliest_send(j: Journey, channel: Channel, now: datetime) -> datetime:
    """The first moment at or after ``now`` inside the channel's hours and the weekly limit."""
    calendar = j.business_calendar()
    window = j.cadence.calendar.channel_window(channel)
    limit = j.cadence.limits.max_touches_per_week
    at = now
    for _ in range(52):
        at = calendar.next_open(at, window)
        recent = sorted(t for t in j.touch_times if t > at - WEEK)
        if limit is None or len(recent) < limit:
            return at
        at = recent[len(recent) - limit] + WEEK
    raise EngineError("no time to send within a year")


def _jitter(j: Journey, at: datetime, key: str, channel: Channel | None = None) -> datetime:
    """Spread wake-ups by a stable per-lead offset, staying inside the channel's hours."""
    spread = j.cadence.calendar.jitter_minutes * 60
    if not spread:
        return at
    digest = hashlib.sha256(f"{j.lead.id}:{key}".encode()).digest()
    moved = at + timedelta(seconds=int.from_bytes(digest[:4], "big") % spread)
    if channel is not None:
        window = j.cadence.calendar.channel_window(channel)
        if not j.business_calendar().is_open(moved, window):
            return at
    return moved


def _after(j: Journey, delay: Delay, now: datetime) -> datetime:
    """The moment a delay started ``now`` ends, in the lead's business time."""
    calendar = j.business_calendar()
    if delay.business_days is not None:
        return calendar.add_business_days(now, delay.business_days, delay.at)
    if delay.business_hours is not None:
        return calendar.add_business_hours(now, delay.business_hours)
    until = now + delay.calendar_part()
    if delay.at is None:
        return until
    landed = calendar.at_local(calendar.local(until).date(), delay.at)
    return (
        landed
        if landed > now
        else calendar.at_local(calendar.local(until).date() + timedelta(days=1), delay.at)
    )


def _wait(j: Journey, now: datetime, until: datetime, what: str, step: str | None) -> None:
    steps = j.cadence.steps
    j.phase = Phase.waiting
    j.wake_at = until
    before_touch = j.position >= len(steps) or steps[j.position].kind in TOUCH_KINDS
    j.next_touch_at = until if before_touch else None
    j.wake_reason = f"{what} → {_local_text(j, until)}"
    _log(j, now, "wait", j.wake_reason, step)


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
    _log(j, now, "wait_for", f"{text} → {target}", waiting.step)
    j.waiting_for = None
    j.phase = Phase.ready
    return None


def _check_call_task(j: Journey, now: datetime) -> Command | None:
    task = j.call_task
    assert task is not None
    if task.outcome is not None:
        _log(j, now, "call", f"Call task done: {task.outcome.value}", task.step, task.touch_id)
        _leave_touch_step(j)
        return None
    if now < task.due:
        return Wait(until=task.due, summary=f"Call task due {_local_text(j, task.due)}")
    step = _current(j)
    assert isinstance(step, CallStep)
    rule = step.call.on_timeout
    if rule in (CallTimeout.reassign, CallTimeout.escalate) and task.retries == 0:
        task.retries += 1
        task.assignee = None
        task.due = _after(j, step.call.due, now)
        verb = "reassigned to the queue" if rule is CallTimeout.reassign else "escalated"
        _log(
            j,
            now,
            "call",
            f"Call task overdue, {verb}; due {_local_text(j, task.due)}",
            task.step,
            task.touch_id,
        )
        return None
    _log(j, now, "call", "Call task overdue, skipped", task.step, task.touch_id)
    if rule is CallTimeout.voicemail:
        j.call_task = None
        j.phase = Phase.ready
        j.detour = step.call.voicemail
        return None
    _leave_touch_step(j)
    return None


def _end_cycle(j: Journey, now: datetime) -> Command:
    cycles = j.cadence.cycles
    if j.cycle < cycles.count:
        assert cycles.gap is not None
        _log(j, now, "cycle", f"Cycle {j.cycle} of {cycles.count} done")
        _new_cycle(j, j.cycle + 1)
        until = _jitter(j, _after(j, cycles.gap, now), f"cycle:{j.cycle}")
        _wait(j, now, until, f"Cycle {j.cycle} starts after {cycles.gap.describe()}", None)
        return ContinueAsNew()
    if cycles.after_last == "recycle":
        _recycle(j, now, f"{cycles.count} cycles without a handoff")
        return ContinueAsNew()
    _exit(j, Outcome.finished, now, f"{cycles.count} cycle{'s' if cycles.count > 1 else ''} done")
    return Finish(outcome=Outcome.finished, stage=j.stage)


def _new_cycle(j: Journey, cycle: int) -> None:
    j.cycle = cycle
    j.position = 0
    j.visits = {}
    j.cycle_events = []
    j.last_disposition = None
    _clear_open_work(j)


def _recycle(j: Journey, now: datetime, why: str) -> None:
    """Cool down, then start the cadence's recycle cadence."""
    cycles = j.cadence.cycles
    assert cycles.cool_down is not None
    _clear_open_work(j)
    _set_stage(j, Stage.recycled, now, why)
    _wait(j, now, _after(j, cycles.cool_down, now), f"Cool-down before {cycles.recycle_to}", None)
    j.phase = Phase.cooling_down


def _clear_open_work(j: Journey) -> None:
    j.waiting_for = None
    j.call_task = None
    j.detour = None
    j.wake_at = None


def _exit(j: Journey, outcome: Outcome, now: datetime, why: str) -> None:
    if outcome is Outcome.recycle and j.cadence.cycles.recycle_to:
        _log(j, now, "exit", f"Cadence ended: recycle ({why})")
        _recycle(j, now, why)
        return
    j.outcome = outcome
    j.phase = Phase.done
    j.next_touch_at = None
    _clear_open_work(j)
    stage = {
        Outcome.sales_ready: Stage.sales_ready,
        Outcome.recycle: Stage.recycled,
        Outcome.disqualified: Stage.disqualified,
    }.get(outcome)
    if stage is not None:
        _set_stage(j, stage, now, why)
    _log(j, now, "exit", f"Cadence ended: {outcome.value} ({why})")


def _set_stage(j: Journey, stage: Stage, now: datetime, why: str) -> None:
    if j.stage is not stage:
        _log(j, now, "stage", f"Stage {j.stage.value} → {stage.value} ({why})")
        j.stage = stage


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


# ---------------------------------------------------------------- words for people


CHANNEL_LABELS = {
    Channel.email: "Email",
    Channel.call: "Call task",
    Channel.voicemail: "Voicemail",
    Channel.sms: "SMS",
    Channel.direct_mail: "Direct mail",
}


def _touch_number(j: Journey) -> int:
    return max(1, j.cadence.touch_numbers[j.position])


def _label(j: Journey, channel: Channel, template: str) -> str:
    return f"{CHANNEL_LABELS[channel]} {_touch_number(j)}/{j.cadence.touch_count()} · {template}"


def _local_text(j: Journey, at: datetime) -> str:
    local = j.business_calendar().local(at)
    return f"{local:%a %d %b %H:%M} {j.calendar.timezone}"


def _describe_condition(when: Condition) -> str:
    parts = [f"{k} {v}" for k, v in when.model_dump(exclude_none=True, by_alias=True).items()]
    return ", ".join(parts) or "always"


def _describe_event(event: EngagementEvent) -> str:
    text = event.kind.value
    if event.points:
        text += f" ({event.points:+d} points)"
    page = event.data.get("page") or event.data.get("url")
    if page:
        text += f" · {page}"
    return f"Event {text}"


def _log(
    j: Journey,
    now: datetime,
    kind: str,
    text: str,
    step: str | None = None,
    touch_id: str | None = None,
) -> None:
    j.timeline.append(
        JourneyEntry(at=now, cycle=j.cycle, kind=kind, text=text, step=step, touch_id=touch_id)
    )
