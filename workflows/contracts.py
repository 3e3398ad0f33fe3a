"""What goes into and comes out of the lead workflow (kept out of the sandboxed module)."""

from __future__ import annotations

from pydantic import BaseModel, Field

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


class JourneyResult(BaseModel):
    """How the journey ended."""

    outcome: Outcome
    stage: Stage
    touches_sent: int
    cycle: int


def touch_queue(task_queue: str, channel: Channel) -> str:
    """The task queue a channel's sends run on (its own, so each provider gets a rate limit)."""
    return f"{task_queue}-{channel.value}"
