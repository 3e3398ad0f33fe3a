"""What crosses the boundary of a lead's workflow: the activities' arguments and results (touch,
assignment, cadence load), and the updates and queries people use (call desk, sales, pause).

Channels, activities and the web pages depend on these, never on the engine. The workflow's own
input, the journey, is :class:`nurture.journey.state.JourneyInput`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from nurture.cadence.model import Cadence
from nurture.cadence.sales import DeclineReason, SalesRules
from nurture.cadence.scoring import ScoringModel
from nurture.calendar import CalendarSnapshot
from nurture.events import Channel, EventKind
from nurture.lead import Lead

# ---------------------------------------------------------------- activities


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
    variant: str | None = Field(None, description="The A/B variant of the step this lead gets")
    content: str | None = Field(None, description="The variant's inline text (sms, voicemail)")
    planned_at: AwareDatetime | None = Field(
        None,
        description="An email started ahead of its planned time: when it should reach the lead "
        "(SendGrid's send_at; nurture/journey/planned.py)",
    )


class TouchResult(BaseModel):
    """What became of a touch."""

    status: Literal["sent", "skipped", "failed"] = Field(
        "sent", description="skipped: this touch could not be made (e.g. a template failed)"
    )
    provider: str = "outbox"
    provider_id: str | None = None
    subject: str | None = None
    error: str | None = Field(None, description="Why a permanent failure stops the channel")
    delivery_unknown: bool = Field(
        False, description="Skipped because the provider may or may not have it (at most once)"
    )
    send_at: AwareDatetime | None = Field(
        None, description="A scheduled send: when the provider delivers it (SendGrid's send_at)"
    )
    email_lead: float | None = Field(
        None,
        description="Seconds an email is scheduled ahead (NURTURE_SENDGRID_SEND_DELAY), as the "
        "worker is configured; 0 when off; None: not reported",
    )


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
    zone_rules: str = Field("", description="The rep's zone rules (see calendar.zone_rules)")
    hours: str | None = Field(None, description="Working hours, e.g. 'mon-fri 09:00-17:00'")


# ---------------------------------------------------------------- the call desk


class Disposition(StrEnum):
    """How a call went (what the rep picks when completing a task)."""

    connected = "connected"
    left_voicemail = "left_voicemail"
    no_answer = "no_answer"
    bad_number = "bad_number"
    not_interested = "not_interested"
    do_not_call = "do_not_call"
    meeting_booked = "meeting_booked"
    call_back_later = "call_back_later"
    qualified = "qualified"

    @property
    def event_kind(self) -> EventKind:
        """The engagement event this disposition records on the journey."""
        return DISPOSITION_EVENTS[self]

    @property
    def label(self) -> str:
        """Words for the desk's buttons."""
        return self.value.replace("_", " ").capitalize()


DISPOSITION_EVENTS: dict[Disposition, EventKind] = {
    Disposition.connected: EventKind.call_connected,
    Disposition.left_voicemail: EventKind.call_voicemail_left,
    Disposition.no_answer: EventKind.call_no_answer,
    Disposition.bad_number: EventKind.call_wrong_number,
    Disposition.not_interested: EventKind.call_not_interested,
    Disposition.do_not_call: EventKind.call_do_not_call,
    Disposition.meeting_booked: EventKind.call_meeting_booked,
    Disposition.call_back_later: EventKind.call_back_later,
    Disposition.qualified: EventKind.call_qualified,
}


class Qualification(BaseModel):
    """The BANT answers a rep records with a ``qualified`` disposition."""

    budget: str = Field(min_length=1, max_length=500)
    authority: str = Field(min_length=1, max_length=500)
    need: str = Field(min_length=1, max_length=500)
    timeframe: str = Field(min_length=1, max_length=500)


class ClaimTask(BaseModel):
    """A rep takes a task from the team queue (first claim wins)."""

    task_id: str
    rep: str = Field(min_length=1, max_length=100)


class ReleaseTask(BaseModel):
    """A rep puts a claimed task back into the team queue."""

    task_id: str
    rep: str = Field(min_length=1, max_length=100)


#: The longest talk time a rep can record for one call (4 hours).
MAX_TALK_SECONDS = 4 * 3600


class CompleteTask(BaseModel):
    """A rep records how the call went. ``event_id`` makes a resubmitted form harmless."""

    task_id: str
    rep: str = Field(min_length=1, max_length=100)
    disposition: Disposition
    notes: str = Field("", max_length=5000)
    meeting_at: AwareDatetime | None = Field(None, description="Required for meeting_booked")
    call_back_at: AwareDatetime | None = Field(None, description="Required for call_back_later")
    qualification: Qualification | None = Field(None, description="Required for qualified")
    talk_seconds: int | None = Field(
        None, ge=0, le=MAX_TALK_SECONDS, description="How long the rep talked, when known"
    )
    event_id: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _required_fields(self) -> CompleteTask:
        if self.disposition is Disposition.meeting_booked and self.meeting_at is None:
            raise ValueError("meeting booked needs the meeting time (meeting_at)")
        if self.disposition is Disposition.call_back_later and self.call_back_at is None:
            raise ValueError("call back later needs the date to call back (call_back_at)")
        if self.disposition is Disposition.qualified and self.qualification is None:
            raise ValueError("qualified needs budget, authority, need and timeframe")
        return self


class CallTaskView(BaseModel):
    """One call task as the desk shows it (no decisions in here: the workflow owns the task)."""

    task_id: str = Field(description="The call touch's id; its script is that outbox row")
    lead_id: str
    step: str
    cadence: str
    queue: str
    assignee: str | None = Field(None, description="Whose task it is (None: the team queue)")
    claimed_by: str | None = None
    created_at: AwareDatetime
    due: AwareDatetime
    status: Literal["open", "done"] = "open"
    disposition: Disposition | None = None
    notes: str = ""
    attempts: int = Field(0, description="Times it was reassigned or escalated")


# ---------------------------------------------------------------- the sales handoff


class HandoffStatus(StrEnum):
    """Where a handoff stands."""

    waiting = "waiting"
    accepted = "accepted"
    declined = "declined"
    opportunity = "opportunity"
    won = "won"
    lost = "lost"


class AcceptHandoff(BaseModel):
    """Sales takes the lead."""

    handoff_id: str
    rep: str = Field(min_length=1, max_length=100)


class DeclineHandoff(BaseModel):
    """Sales sends the lead back, with a reason code (``other`` needs a text)."""

    handoff_id: str
    rep: str = Field(min_length=1, max_length=100)
    reason: DeclineReason
    text: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _other_explained(self) -> DeclineHandoff:
        if self.reason is DeclineReason.other and not self.text.strip():
            raise ValueError("reason 'other' needs a text saying why")
        return self


class CloseOpportunity(BaseModel):
    """An accepted lead's outcome: an opportunity opened, then won or lost (with a reason)."""

    handoff_id: str
    rep: str = Field(min_length=1, max_length=100)
    outcome: Literal["opportunity", "won", "lost"]
    reason: str = Field("", max_length=2000)
    amount: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _lost_explained(self) -> CloseOpportunity:
        if self.outcome == "lost" and not self.reason.strip():
            raise ValueError("a lost opportunity needs a reason (for win-loss analysis)")
        return self


class HandoffView(BaseModel):
    """A handoff as the sales page shows it."""

    handoff_id: str
    lead_id: str
    status: HandoffStatus
    owner: str | None
    team: str
    manager: str | None = None
    promoted_at: AwareDatetime
    due: AwareDatetime | None = Field(None, description="When the SLA runs out")
    why: str = Field(description="Why the lead was promoted (rule, score, events)")
    score: int
    escalations: int = 0
    decline_reason: DeclineReason | None = None
    decline_text: str = ""
    outcome_reason: str = ""


# ---------------------------------------------------------------- moving to a new cadence version


class MigrateLead(BaseModel):
    """Move a running lead to a newer version of its cadence, at its next wait.

    ``mapping`` names, for steps that the new version no longer has, the step to continue at
    (old step id -> new step id); a kept step id continues at itself.
    """

    cadence: Cadence
    mapping: dict[str, str] = Field(default_factory=dict)
    by: str = Field("marketing", min_length=1, max_length=100)


# ---------------------------------------------------------------- pause and resume (updates)


class PauseLead(BaseModel):
    """Hold a lead's touches (out of office until a date, or until resumed)."""

    reason: str = Field("paused", min_length=1, max_length=500)
    until: AwareDatetime | None = Field(None, description="Resume on its own at this time")


class ResumeLead(BaseModel):
    """Resume a paused lead now; planned times move by the time it was paused."""

    reason: str = Field("resumed", min_length=1, max_length=500)


class SkipStep(BaseModel):
    """Move a journey held on an error past the step that failed."""

    reason: str = Field("skipped by an operator", min_length=1, max_length=500)
