"""What goes into and comes out of the lead workflow (kept out of the sandboxed module)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from nurture.cadence import Outcome
from nurture.engine import Journey, Stage
from nurture.events import Channel, EngagementEvent


class LeadJourneyInput(BaseModel):
    """The workflow's argument: the whole journey (cadence snapshot included)."""

    journey: Journey
    inbox: list[EngagementEvent] = Field(
        default_factory=list, description="Events received but not yet applied (continue-as-new)"
    )
    history_limit: int = Field(
        10_000, description="Continue as new past this many history events, even if not suggested"
    )


class PauseLead(BaseModel):
    """Hold a lead's touches (out of office until a date, or until resumed)."""

    reason: str = Field("paused", min_length=1, max_length=500)
    until: AwareDatetime | None = Field(None, description="Resume on its own at this time")


class ResumeLead(BaseModel):
    """Resume a paused lead now; planned times move by the time it was paused."""

    reason: str = Field("resumed", min_length=1, max_length=500)


class JourneyResult(BaseModel):
    """How the journey ended."""

    outcome: Outcome
    stage: Stage
    touches_sent: int
    cycle: int


def touch_queue(task_queue: str, channel: Channel) -> str:
    """The task queue a channel's sends run on (its own, so each provider gets a rate limit)."""
    return f"{task_queue}-{channel.value}"
