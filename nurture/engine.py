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
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, PrivateAttr

from nurture.cadence import (
    PHONE_CHANNELS,
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
from nurture.desk.hours import parse_hours
from nurture.desk.models import (
    CallTaskView,
    ClaimTask,
    CompleteTask,
    Disposition,
    ReleaseTask,
)
from nurture.events import ENGAGEMENT_KINDS, Channel, EngagementEvent, EventKind
from nurture.handoff import (
    DEFAULT_SALES,
    AcceptHandoff,
    CloseOpportunity,
    DeclineHandoff,
    HandoffStatus,
    HandoffView,
    Recycle,
    SalesRules,
)
from nurture.leads import Lead
from nurture.scoring import (
    ScoredEvent,
    ScoringModel,
    behaviour_score,
    fit_score,
    is_decision_maker,
    prune,
    score_event,
)

#: How many steps may run back to back without time passing before the engine refuses.
MAX_UNTIMED_STEPS = 200
#: How many event ids a journey remembers to drop re-deliveries.
SEEN_EVENTS_KEPT = 2000
WEEK = timedelta(days=7)
#: A person spoke with the lead: the cadence keeps quiet for a while (``quiet_after_conversation``).
LIVE_CONVERSATION = frozenset(
    {
        EventKind.call_connected,
        EventKind.call_meeting_booked,
        EventKind.call_qualified,
        EventKind.call_not_interested,
        EventKind.call_back_later,
    }
)
#: Opting out: when these have stopped every channel a cadence uses, the lead is ``opted_out``.
OPT_OUTS = frozenset(
    {
        EventKind.email_unsubscribe,
        EventKind.email_spam_report,
        EventKind.sms_stop,
        EventKind.call_do_not_call,
    }
)


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
    handoff = "handoff"
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
    caller_id: str | None = Field(None, description="The cadence's caller id (phone channels)")
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
    """A cadence snapshot and the lead's calendar for it (and the current rules)."""

    cadence: Cadence
    calendar: CalendarSnapshot
    scoring: ScoringModel | None = None
    sales: SalesRules | None = None


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
    """An open call task (its id is the call touch's id)."""

    touch_id: str
    step: str
    queue: str
    assignee: str | None
    due: AwareDatetime
    created_at: AwareDatetime | None = None
    claimed_by: str | None = None
    retries: int = 0
    outcome: EventKind | None = None
    assign: Literal["owner", "round_robin", "manager", "reassign"] | None = Field(
        None, description="An assignment to ask for before the task is worked"
    )
    notes: str = ""


class Handoff(BaseModel):
    """A sales-ready lead handed to sales, waiting for accept/decline inside the SLA."""

    id: str
    team: str
    sla: Delay
    assign: Literal["owner", "round_robin"]
    why: str
    promoted_at: AwareDatetime
    status: HandoffStatus = HandoffStatus.waiting
    owner: str | None = None
    manager: str | None = None
    due: AwareDatetime | None = None
    escalations: int = 0
    assigning: bool = Field(True, description="An owner is being picked and notified")
    decline_reason: str | None = None
    decline_text: str = ""
    outcome_reason: str = ""


class Pause(BaseModel):
    """A paused journey (out of office, or the whole cadence paused)."""

    at: AwareDatetime
    until: AwareDatetime | None = None
    reason: str


class TouchMark(BaseModel):
    """When a touch went out, on which channel (for the contact governor)."""

    at: AwareDatetime
    channel: Channel


class AssignRequest(BaseModel):
    """Pick a person for a call task or a handoff (the ``assign`` activity's input)."""

    key: str = Field(description="Idempotency key: the same key always gets the same answer")
    lead_id: str
    team: str
    rule: Literal["owner", "round_robin", "manager", "reassign"]
    owner: str | None = None
    exclude: str | None = None
    purpose: Literal["call_task", "handoff"]
    notice: HandoffView | None = Field(None, description="Notify the picked owner of a handoff")
    escalation: bool = False


class Assignment(BaseModel):
    """Who was picked, with their working hours (the ``assign`` activity's result)."""

    rep: str | None = None
    manager: str | None = None
    timezone: str | None = None
    hours: str | None = Field(None, description="Working hours, e.g. 'mon-fri 09:00-17:00'")


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
    fit: int = 0
    scoring: ScoringModel | None = Field(None, description="Scoring model snapshot")
    sales: SalesRules | None = Field(None, description="Sales handoff rules snapshot")
    scored: list[ScoredEvent] = Field(default_factory=list)
    promotion_armed: bool = Field(True, description="Hysteresis: may the score rule promote?")
    handoff: Handoff | None = None
    handoffs: int = 0
    recycle_to: str | None = Field(None, description="Cadence to load after the cool-down")
    paused: Pause | None = None
    quiet_until: AwareDatetime | None = None
    outcome: Outcome | None = None
    stopped: dict[Channel, str] = Field(default_factory=dict)
    touch_log: list[TouchMark] = Field(default_factory=list, description="Touches of the last week")
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
    """Sleep until ``until`` (``None``: until something happens), then call ``advance`` again."""

    until: AwareDatetime | None
    summary: str


class Assign(BaseModel):
    """Pick a person (and notify them of a handoff), then call ``on_assigned``."""

    request: AssignRequest


class LoadCadence(BaseModel):
    """Load the named cadence and its lead calendar, then call ``on_cadence_loaded``."""

    name: str


class ContinueAsNew(BaseModel):
    """A cycle boundary: carry the journey into a fresh workflow run."""


class Finish(BaseModel):
    """The journey is over."""

    outcome: Outcome
    stage: Stage


Command = SendTouch | Wait | Assign | LoadCadence | ContinueAsNew | Finish


class EngineError(RuntimeError):
    """The cadence cannot make progress (a loop that never waits)."""


class ActionRefused(ValueError):
    """A desk, sales or pause action that does not fit the journey as it stands."""


# ---------------------------------------------------------------- entry points


def start(
    lead: Lead,
    cadence: Cadence,
    calendar: CalendarSnapshot,
    now: datetime,
    scoring: ScoringModel | None = None,
    sales: SalesRules | None = None,
) -> Journey:
    """A new journey for a lead enrolled into a cadence (with the scoring and sales rules)."""
    journey = Journey(lead=lead, cadence=cadence, calendar=calendar, scoring=scoring, sales=sales)
    if scoring is not None:
        journey.fit, reasons = fit_score(scoring, lead)
        journey.score = journey.fit
        if reasons:
            _log(journey, now, "score", f"Fit {journey.fit}: {', '.join(reasons)}")
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
        journey.touch_log = [m for m in journey.touch_log if m.at > now - WEEK] + [
            TouchMark(at=now, channel=touch.channel)
        ]
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
        step = _current(journey)
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
    indicator = _score(journey, event, now)
    journey.cycle_events.append(kind)
    journey.recent_events.append(kind)
    if kind in ENGAGEMENT_KINDS and journey.stage in (Stage.new, Stage.nurturing):
        _set_stage(journey, Stage.engaged, now, kind.value)
    quiet = journey.cadence.limits.quiet_after_conversation
    if kind in LIVE_CONVERSATION and quiet is not None:
        journey.quiet_until = _after(journey, quiet, now)
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
    if journey.phase is Phase.handoff:
        return True  # with sales now: engagement is recorded and scored, nothing else moves
    if kind in OPT_OUTS and _cadence_channels(journey) <= set(journey.stopped):
        _exit(journey, Outcome.finished, now, f"opted out of every channel ({kind.value})")
        _set_stage(journey, Stage.opted_out, now, kind.value)
        return True
    if indicator is not None:
        _promote(journey, now, f"High Probability Indicator: {indicator}")
        return True
    for rule in journey.cadence.exit_on:
        if kind in rule.events:
            _exit(journey, rule.outcome, now, f"{kind.value}")
            return True
    ready = _sales_ready_reason(journey)
    if ready is not None:
        _promote(journey, now, ready)
    return True


def on_assigned(journey: Journey, assignment: Assignment, now: datetime) -> None:
    """Record who got the handoff or call task an ``Assign`` asked for."""
    h = journey.handoff
    if journey.phase is Phase.handoff and h is not None and h.assigning:
        h.assigning = False
        before, h.owner = h.owner, assignment.rep or h.owner
        h.manager = assignment.manager
        owner = h.owner or f"team {h.team}"
        if h.escalations:
            text = (
                f"SLA escalated to manager {h.manager or '(none)'}; "
                f"reassigned {before or 'unassigned'} → {owner}"
            )
        else:
            text = f"Handed to {owner} ({h.team}); accept or decline by"
            text += f" {_local_text(journey, h.due)}" if h.due else " (no SLA)"
        _log(journey, now, "handoff", text)
        return
    task = journey.call_task
    if task is None or task.assign is None:
        return  # the task ended while the assignment was made
    rule, task.assign = task.assign, None
    before, task.assignee = task.assignee, assignment.rep
    if assignment.timezone and assignment.hours:
        task.due = _within_rep_hours(journey, task.due, assignment)
    who = assignment.rep or f"queue {task.queue}"
    text = {
        "owner": f"Call task for the lead owner {who}",
        "round_robin": f"Call task assigned to {who} (round-robin in {task.queue})",
        "manager": f"Call task escalated to manager {who}",
    }[rule]
    if before and before != assignment.rep:
        text += f" (was {before})"
    _log(journey, now, "call", f"{text}; due {_local_text(journey, task.due)}", task.step)


# ---------------------------------------------------------------- sales handoff


def handoff_view(journey: Journey) -> HandoffView | None:
    """The current (or last) handoff as the sales page shows it."""
    h = journey.handoff
    if h is None:
        return None
    return HandoffView(
        handoff_id=h.id,
        lead_id=journey.lead.id,
        status=h.status,
        owner=h.owner,
        team=h.team,
        manager=h.manager,
        promoted_at=h.promoted_at,
        due=h.due if h.status is HandoffStatus.waiting else None,
        why=h.why,
        score=journey.score,
        escalations=h.escalations,
        decline_reason=h.decline_reason,  # type: ignore[arg-type]
        decline_text=h.decline_text,
        outcome_reason=h.outcome_reason,
    )


def refuse_handoff_action(
    journey: Journey, action: AcceptHandoff | DeclineHandoff | CloseOpportunity
) -> None:
    """Raise ``ActionRefused`` with a clear message unless the sales action fits."""
    h = journey.handoff
    if h is None:
        raise ActionRefused(f"lead {journey.lead.id} has not been handed to sales")
    if action.handoff_id != h.id:
        raise ActionRefused(
            f"handoff {action.handoff_id} is stale: lead {journey.lead.id}'s handoff is {h.id}"
        )
    if isinstance(action, CloseOpportunity):
        allowed = {
            "opportunity": {HandoffStatus.accepted},
            "won": {HandoffStatus.accepted, HandoffStatus.opportunity},
            "lost": {HandoffStatus.accepted, HandoffStatus.opportunity},
        }[action.outcome]
        if h.status not in allowed:
            raise ActionRefused(
                f"handoff {h.id} is {h.status.value}: cannot record '{action.outcome}'"
            )
    elif h.status is not HandoffStatus.waiting:
        raise ActionRefused(f"handoff {h.id} was already {h.status.value}")
    elif h.assigning:
        raise ActionRefused(f"handoff {h.id} is being assigned; try again in a moment")
    if h.owner is not None and action.rep not in (h.owner, h.manager):
        raise ActionRefused(
            f"handoff {h.id} belongs to {h.owner}"
            + (f" (manager {h.manager})" if h.manager else "")
            + f", not {action.rep}"
        )


def accept_handoff(journey: Journey, action: AcceptHandoff, now: datetime) -> HandoffView:
    """Sales accepts: the lead waits for its opportunity outcome."""
    refuse_handoff_action(journey, action)
    h = journey.handoff
    assert h is not None
    h.status = HandoffStatus.accepted
    h.owner = h.owner or action.rep
    late = " (after the SLA)" if h.due and now > h.due else ""
    _set_stage(journey, Stage.accepted, now, f"accepted by {action.rep}{late}")
    view = handoff_view(journey)
    assert view is not None
    return view


def decline_handoff(journey: Journey, action: DeclineHandoff, now: datetime) -> HandoffView:
    """Sales declines with a reason: recycle into the cadence the reason maps to, or disqualify."""
    refuse_handoff_action(journey, action)
    h = journey.handoff
    assert h is not None
    h.status = HandoffStatus.declined
    h.decline_reason = action.reason.value
    h.decline_text = action.text
    view = handoff_view(journey)
    why = f"declined by {action.rep}: {action.reason.label}" + (
        f" — {action.text}" if action.text else ""
    )
    _log(journey, now, "handoff", why.capitalize())
    journey.promotion_armed = False
    rule = (journey.sales or DEFAULT_SALES).decline.get(action.reason, _default_recycle(journey))
    journey.phase = Phase.ready
    if rule == "disqualify":
        _exit(journey, Outcome.disqualified, now, why)
    elif isinstance(rule, Recycle):
        _recycle(journey, now, why, rule)
    else:
        _exit(journey, Outcome.finished, now, why)
        _set_stage(journey, Stage.recycled, now, why)
    assert view is not None
    return view


def close_opportunity(journey: Journey, action: CloseOpportunity, now: datetime) -> HandoffView:
    """Record the accepted lead's opportunity, and its win or loss (the journey ends)."""
    refuse_handoff_action(journey, action)
    h = journey.handoff
    assert h is not None
    h.status = HandoffStatus(action.outcome)
    h.outcome_reason = action.reason
    amount = f" ({action.amount:,.0f})" if action.amount is not None else ""
    why = f"{action.outcome} by {action.rep}{amount}" + (
        f": {action.reason}" if action.reason else ""
    )
    _set_stage(journey, Stage(action.outcome), now, why)
    if action.outcome != "opportunity":
        journey.phase = Phase.done
        journey.outcome = Outcome.sales_ready
    view = handoff_view(journey)
    assert view is not None
    return view


def _promote(j: Journey, now: datetime, why: str) -> None:
    """Stop the cadence and hand the lead to sales."""
    if j.phase in (Phase.done, Phase.handoff):
        return
    _clear_open_work(j)
    j.paused = None
    j.next_touch_at = None
    j.outcome = Outcome.sales_ready
    rules = j.sales or DEFAULT_SALES
    team = rules.team_for(j.lead.segment)
    j.handoffs += 1
    j.handoff = Handoff(
        id=f"{j.lead.id}:h{j.handoffs}",
        team=team.team,
        sla=team.sla,
        assign=team.assign,
        why=why,
        promoted_at=now,
        due=_after(j, team.sla, now),
    )
    j.phase = Phase.handoff
    _set_stage(j, Stage.sales_ready, now, why)
    _log(j, now, "handoff", f"Cadence stopped: sales-ready ({why})")


def _check_handoff(j: Journey, now: datetime) -> Command | None:
    h = j.handoff
    assert h is not None
    rules = j.sales or DEFAULT_SALES
    if h.assigning:
        return Assign(
            request=AssignRequest(
                key=f"{h.id}:a{h.escalations}",
                lead_id=j.lead.id,
                team=h.team,
                rule="round_robin" if h.escalations else h.assign,
                owner=j.lead.owner or None,
                exclude=h.owner if h.escalations else None,
                purpose="handoff",
                notice=handoff_view(j),
                escalation=h.escalations > 0,
            )
        )
    if h.status is HandoffStatus.waiting:
        if h.due is not None and now >= h.due:
            if h.escalations < rules.max_escalations:
                h.escalations += 1
                _log(
                    j,
                    now,
                    "handoff",
                    f"SLA breached: {h.owner or h.team} did not accept or decline in"
                    f" {h.sla.describe()}; escalating",
                )
                h.due = _after(j, h.sla, now)
                h.assigning = True
                return None
            _log(j, now, "handoff", "SLA breached again; escalations used up, waiting for sales")
            h.due = None
        owner = h.owner or f"team {h.team}"
        sla = f" · SLA until {_local_text(j, h.due)}" if h.due else ""
        return Wait(until=h.due, summary=f"Waiting for {owner} to accept or decline{sla}")
    if h.status in (HandoffStatus.accepted, HandoffStatus.opportunity):
        return Wait(until=None, summary=f"With {h.owner}: waiting for the opportunity outcome")
    j.phase = Phase.done
    return None


def _default_recycle(j: Journey) -> Recycle | None:
    cycles = j.cadence.cycles
    if cycles.recycle_to and cycles.cool_down:
        return Recycle(recycle_to=cycles.recycle_to, cool_down=cycles.cool_down)
    return (j.sales or DEFAULT_SALES).not_interested


# ---------------------------------------------------------------- the call desk


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
    _log(journey, now, "desk", f"Call task claimed by {action.rep}", t.step, t.touch_id)
    view = task_view(journey)
    assert view is not None
    return view


def release_task(journey: Journey, action: ReleaseTask, now: datetime) -> CallTaskView:
    """A rep puts the task back into the team queue."""
    refuse_task_action(journey, action, now)
    t = journey.call_task
    assert t is not None
    t.assignee = t.claimed_by = None
    _log(journey, now, "desk", f"Call task released by {action.rep}", t.step, t.touch_id)
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
    on_event(journey, event, now)
    why = f"{action.disposition.label.lower()} (call by {action.rep})"
    match action.disposition:
        case Disposition.meeting_booked | Disposition.qualified:
            _promote(journey, now, why)
        case Disposition.not_interested:
            target = _default_recycle(journey)
            if journey.phase is Phase.call_open:
                _log(journey, now, "call", f"Call task done: {why}", t.step, t.touch_id)
                if target is not None:
                    _recycle(journey, now, why, target)
                else:
                    _exit(journey, Outcome.finished, now, why)
                    _set_stage(journey, Stage.recycled, now, why)
        case Disposition.call_back_later:
            assert action.call_back_at is not None
            if journey.phase is Phase.call_open:
                _log(journey, now, "call", f"Call task done: {why}", t.step, t.touch_id)
                journey.call_task = None
                _wait(journey, now, action.call_back_at, "Call back", t.step)
                journey.next_touch_at = action.call_back_at
        case _:
            pass
    return view


# ---------------------------------------------------------------- pause and resume


def refuse_pause(journey: Journey) -> None:
    """Raise ``ActionRefused`` unless the journey can be paused."""
    if journey.phase is Phase.done:
        raise ActionRefused(f"lead {journey.lead.id}'s journey has ended")
    if journey.phase is Phase.handoff:
        raise ActionRefused(f"lead {journey.lead.id} is with sales; a handoff cannot be paused")


def pause(journey: Journey, until: datetime | None, reason: str, now: datetime) -> str:
    """Hold every touch until ``until`` (or until resumed); events still count."""
    refuse_pause(journey)
    since = journey.paused.at if journey.paused else now
    journey.paused = Pause(at=since, until=until, reason=reason)
    text = f"Paused ({reason})" + (f" until {_local_text(journey, until)}" if until else "")
    _log(journey, now, "pause", text)
    return text


def resume(journey: Journey, now: datetime, why: str) -> str:
    """Resume: every planned time moves by the paused time (no burst of catch-up touches)."""
    held = journey.paused
    if held is None:
        raise ActionRefused(f"lead {journey.lead.id} is not paused")
    journey.paused = None
    shift = max(now - held.at, timedelta(0))
    if journey.wake_at is not None:
        journey.wake_at += shift
    if journey.next_touch_at is not None:
        journey.next_touch_at += shift
    if journey.waiting_for is not None:
        journey.waiting_for.deadline += shift
    if journey.call_task is not None:
        journey.call_task.due += shift
    text = f"Resumed ({why}); schedule moved by {_duration(shift)}"
    _log(journey, now, "pause", text)
    if journey.wake_at is not None:
        journey.wake_reason = f"{journey.wake_reason.split(' → ')[0]} → " + _local_text(
            journey, journey.wake_at
        )
    return text


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
    _new_cycle(journey, 1)
    journey.phase = Phase.ready
    journey.wake_at = None
    _set_stage(journey, Stage.nurturing, now, f"recycled into {cadence.name}")
    _log(journey, now, "enrolled", f"Enrolled in {cadence.name} v{cadence.version}")


# ---------------------------------------------------------------- the step machine


def _step(j: Journey, now: datetime) -> Command | None:
    if j.paused is not None and j.phase not in (Phase.done, Phase.handoff, Phase.sending):
        until = j.paused.until
        if until is None or now < until:
            text = f" until {_local_text(j, until)}" if until else " until resumed"
            return Wait(until=until, summary=f"Paused ({j.paused.reason}){text}")
        resume(j, now, "auto-resume")
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
                target = j.recycle_to or j.cadence.cycles.recycle_to
                assert target is not None
                return LoadCadence(name=target)
            j.phase = Phase.ready
            return None
        case Phase.waiting_for:
            return _check_wait_for(j, now)
        case Phase.call_open:
            return _check_call_task(j, now)
        case Phase.handoff:
            return _check_handoff(j, now)
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
    earliest, reason = _earliest_send(j, channel, now)
    if earliest > now:
        earliest = _jitter(j, earliest, f"{step_id}:{j.cycle}:defer", channel)
        _wait(j, now, earliest, f"Defer {_label(j, channel, template)} ({reason})", step_id)
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
        caller_id=j.cadence.calendar.caller_id if channel in PHONE_CHANNELS else None,
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


def _earliest_send(j: Journey, channel: Channel, now: datetime) -> tuple[datetime, str]:
    """The first moment at or after ``now`` the contact governor allows, and what held it back.

    The governor: the channel's hours, the quiet period after a live conversation, at most
    ``max_per_channel_per_day`` touches on a channel per local day and ``max_touches_per_week``
    across channels (counting touches from every cadence the lead has been in).
    """
    calendar = j.business_calendar()
    window = j.cadence.calendar.channel_window(channel)
    limits = j.cadence.limits
    reasons: list[str] = []
    at = now
    for _ in range(400):
        opened = calendar.next_open(at, window)
        if opened > at and not reasons:
            reasons.append(f"outside {channel.value} hours")
        at = opened
        if j.quiet_until is not None and at < j.quiet_until:
            at = j.quiet_until
            reasons.append("quiet period after a conversation")
            continue
        if limits.max_per_channel_per_day is not None:
            day = calendar.local(at).date()
            today = [m for m in j.touch_log if m.channel is channel]
            if sum(1 for m in today if calendar.local(m.at).date() == day) >= (
                limits.max_per_channel_per_day
            ):
                at = calendar.at_local(day + timedelta(days=1), time(0, 0))
                reasons.append(f"{limits.max_per_channel_per_day} {channel.value} a day")
                continue
        limit = limits.max_touches_per_week
        recent = sorted(m.at for m in j.touch_log if m.at > at - WEEK)
        if limit is None or len(recent) < limit:
            return at, ", ".join(dict.fromkeys(reasons)) or "governor"
        at = recent[len(recent) - limit] + WEEK
        reasons.append("weekly touch limit")
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
        return Wait(until=task.due, summary=f"Call task for {who} due {_local_text(j, task.due)}")
    step = _current(j)
    assert isinstance(step, CallStep)
    rule = step.call.on_timeout
    if rule in (CallTimeout.reassign, CallTimeout.escalate) and task.retries == 0:
        task.retries += 1
        task.claimed_by = None
        task.due = _after(j, step.call.due, now)
        task.assign = "round_robin" if rule is CallTimeout.reassign else "manager"
        verb = "reassigning in the queue" if rule is CallTimeout.reassign else "escalating"
        _log(j, now, "call", f"Call task overdue, {verb}", task.step, task.touch_id)
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
        target = _default_recycle(j)
        assert target is not None
        _recycle(j, now, f"{cycles.count} cycles without a handoff", target)
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


def _recycle(j: Journey, now: datetime, why: str, target: Recycle) -> None:
    """Cool down, then start the recycle cadence."""
    _clear_open_work(j)
    j.recycle_to = target.recycle_to
    _set_stage(j, Stage.recycled, now, why)
    until = _after(j, target.cool_down, now)
    _wait(j, now, until, f"Cool-down before {target.recycle_to}", None)
    j.phase = Phase.cooling_down


def _clear_open_work(j: Journey) -> None:
    j.waiting_for = None
    j.call_task = None
    j.detour = None
    j.wake_at = None


def _exit(j: Journey, outcome: Outcome, now: datetime, why: str) -> None:
    if outcome is Outcome.sales_ready:
        _promote(j, now, why)
        return
    target = _default_recycle(j) if outcome is Outcome.recycle else None
    if target is not None:
        _log(j, now, "exit", f"Cadence ended: recycle ({why})")
        _recycle(j, now, why, target)
        return
    j.outcome = outcome
    j.phase = Phase.done
    j.next_touch_at = None
    _clear_open_work(j)
    stage = {
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


def _score(j: Journey, event: EngagementEvent, now: datetime) -> str | None:
    """Score an event (keeping the reason on the journey); the HPI it completes, if any."""
    model = j.scoring
    before = j.score
    if model is None:
        if event.kind is EventKind.score_adjusted and event.points:
            j.score += event.points
            _log(j, now, "score", f"Score {before} → {j.score}: manual {event.points:+d}")
        return None
    record, scored = score_event(model, j.scored, event, now)
    j.scored = prune(model, [*j.scored, record], now)
    _rescore(j, now)
    if j.score != before or scored.points:
        _log(j, now, "score", f"Score {before} → {j.score}: {scored.reason}")
    return scored.indicator


def _rescore(j: Journey, now: datetime) -> None:
    """Fit plus decayed behaviour; re-arm promotion once the score fell below ``rearm_below``."""
    model = j.scoring
    if model is None:
        return
    j.score = j.fit + round(behaviour_score(model, j.scored, now))
    rule = model.sales_ready
    rearm = rule.rearm_below if rule is not None else None
    if not j.promotion_armed and rearm is not None and j.score < rearm:
        j.promotion_armed = True
        _log(j, now, "score", f"Score {j.score} < {rearm}: may be promoted again")


def _sales_ready_reason(j: Journey) -> str | None:
    """Why the lead meets the sales-ready rule now (``None`` if it does not)."""
    model = j.scoring
    rule = model.sales_ready if model else None
    if model is None or rule is None or not j.promotion_armed:
        return None
    if j.score < rule.score_at_least or j.fit < rule.fit_at_least:
        return None
    if not is_decision_maker(model, j.lead):
        return None
    why = f"score {j.score} ≥ {rule.score_at_least}"
    if rule.fit_at_least:
        why += f", fit {j.fit} ≥ {rule.fit_at_least}"
    if rule.role:
        why += f", decision maker ({j.lead.title})"
    return why


def _cadence_channels(j: Journey) -> set[Channel]:
    channels: set[Channel] = set()
    for step in j.cadence.steps:
        kind = step_kind(step)
        if kind in TOUCH_KINDS:
            channels.add(TOUCH_KINDS[kind])
    return channels


def _within_rep_hours(j: Journey, due: datetime, assignment: Assignment) -> datetime:
    """The first moment at or after ``due`` inside both the rep's hours and the lead's."""
    assert assignment.timezone and assignment.hours
    rep = BusinessCalendar(assignment.timezone, parse_hours(assignment.hours))
    lead = j.business_calendar()
    window = j.cadence.calendar.channel_window(Channel.call)
    at = due
    for _ in range(30):
        at = lead.next_open(rep.next_open(at), window)
        if rep.is_open(at):
            return at
    return due


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


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
