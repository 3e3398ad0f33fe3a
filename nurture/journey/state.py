"""The journey's state: where one lead stands, carried across continue-as-new, and the
workflow's input and result (the journey itself is the input)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, PrivateAttr

from nurture.cadence.model import Cadence
from nurture.cadence.sales import SalesRules
from nurture.cadence.scoring import (
    ScoredEvent,
    ScoringModel,
)
from nurture.cadence.steps import Delay, Outcome
from nurture.calendar import BusinessCalendar, CalendarSnapshot
from nurture.contracts import (
    HandoffStatus,
    MigrateLead,
    Touch,
)
from nurture.events import Channel, EngagementEvent, EventKind
from nurture.lead import Lead


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


class JourneyEntry(BaseModel):
    """One line of the lead's story."""

    at: AwareDatetime
    cycle: int
    kind: str
    text: str
    step: str | None = None
    touch_id: str | None = None


class Milestone(BaseModel):
    """One fact of a journey, as the journey log stores it."""

    key: str
    lead_id: str
    kind: str
    at: AwareDatetime
    cadence: str
    version: int
    segment: str = ""
    source: str = ""
    cycle: int = 1
    step: str | None = None
    channel: str | None = None
    variant: str | None = None
    touch_id: str | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    amount: float | None = None
    points: int | None = None
    reason: str | None = None
    rep: str | None = None
    talk_seconds: int | None = None


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
    owner_timezone: str | None = Field(None, description="SLA shown in the owner's zone")
    decline_text: str = ""
    outcome_reason: str = ""
    sla_breached: bool = Field(False, description="The SLA passed unanswered (journey log)")


class Pause(BaseModel):
    """A paused journey (out of office, or the whole cadence paused)."""

    at: AwareDatetime
    until: AwareDatetime | None = None
    reason: str


class UnknownTouch(BaseModel):
    """A touch skipped as "delivery unknown", until a provider event confirms it went out."""

    touch_id: str
    channel: Channel
    summary: str
    step: str


class Fault(BaseModel):
    """The engine failed on this journey: it is held until an operator resumes or skips."""

    at: AwareDatetime
    error: str = Field(description="The error's type and message (no lead data)")
    step: str | None = Field(None, description="The step the journey was at")
    retries: int = Field(0, description="How often an operator resumed it before")


class TouchMark(BaseModel):
    """When a touch went out, on which channel (for the contact governor)."""

    at: AwareDatetime
    channel: Channel


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
    fault: Fault | None = Field(None, description="Held on an engine fault (LeadStage 'fault')")
    quiet_until: AwareDatetime | None = None
    outcome: Outcome | None = None
    stopped: dict[Channel, str] = Field(default_factory=dict)
    touch_log: list[TouchMark] = Field(default_factory=list, description="Touches of the last week")
    touches_sent: int = 0
    unknown_touches: list[UnknownTouch] = Field(
        default_factory=list, description="Touches skipped as delivery unknown (latest kept)"
    )
    cycle_events: list[EventKind] = Field(default_factory=list)
    recent_events: list[EventKind] = Field(
        default_factory=list, description="Events since the last touch (for wait_for)"
    )
    last_disposition: EventKind | None = None
    visits: dict[str, int] = Field(default_factory=dict)
    seen_events: list[str] = Field(default_factory=list)
    migration: MigrateLead | None = Field(
        None, description="A move to a newer cadence version, applied at the next wait"
    )
    ab_variants: bool = Field(
        False, description="Touch steps' A/B variants apply (the workflow's 2026-12-variants patch)"
    )
    timeline: list[JourneyEntry] = Field(default_factory=list)
    email_lead: float | None = Field(
        None, description="Seconds emails are scheduled ahead (learnt from touch results)"
    )
    planned_send: AwareDatetime | None = Field(
        None, description="Woken early for an email: its planned time (nurture/journey/planned.py)"
    )
    waits_from: AwareDatetime | None = Field(
        None, description="A planned email was sent ahead: the next wait counts from its plan"
    )
    milestone_chain: str | None = Field(
        None, description="Journey log on: the chain id in each milestone's key"
    )
    milestone_seq: int = 0
    milestones: list[Milestone] = Field(
        default_factory=list, description="Milestones not yet written to the journey log"
    )
    _calendar: BusinessCalendar | None = PrivateAttr(None)

    def business_calendar(self) -> BusinessCalendar:
        """The lead's business calendar (built once per run)."""
        # Read the private slot directly: ``self._calendar`` goes through pydantic's
        # ``__getattr__``, which cost an eighth of a forecast (this runs several times a step).
        private = self.__pydantic_private__
        assert private is not None  # pydantic fills it for a model with private attributes
        calendar: BusinessCalendar | None = private["_calendar"]
        if calendar is None:
            calendar = BusinessCalendar(
                self.calendar.timezone,
                self.cadence.calendar.weekly_hours,
                self.calendar.holidays,
                zone=self.calendar.zone(),
            )
            self._calendar = calendar
        return calendar


class JourneyInput(BaseModel):
    """The workflow's argument: the whole journey (cadence snapshot included)."""

    journey: Journey
    inbox: list[EngagementEvent] = Field(
        default_factory=list, description="Events received but not yet applied (continue-as-new)"
    )
    history_limit: int = Field(
        10_000, description="Continue as new past this many history events, even if not suggested"
    )


class JourneyResult(BaseModel):
    """How the journey ended."""

    outcome: Outcome
    stage: Stage
    touches_sent: int
    cycle: int
