"""What the call desk sends to a lead's workflow (update arguments) and what it gets back.

The workflow exposes three updates, each with a validator that refuses a bad action before it
reaches history: ``claim_task(ClaimTask)``, ``release_task(ReleaseTask)`` and
``complete_task(CompleteTask)``; each returns the task as a :class:`CallTaskView`. The query
``call_task`` returns the open task (or ``None``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from nurture.events import EventKind


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


class CompleteTask(BaseModel):
    """A rep records how the call went. ``event_id`` makes a resubmitted form harmless."""

    task_id: str
    rep: str = Field(min_length=1, max_length=100)
    disposition: Disposition
    notes: str = Field("", max_length=5000)
    meeting_at: AwareDatetime | None = Field(None, description="Required for meeting_booked")
    call_back_at: AwareDatetime | None = Field(None, description="Required for call_back_later")
    qualification: Qualification | None = Field(None, description="Required for qualified")
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
