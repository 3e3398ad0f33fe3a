"""What the engine asks its driver (the workflow, the simulator, a test) to do next."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from nurture.cadence.steps import Outcome
from nurture.contracts import (
    AssignRequest,
    Touch,
)
from nurture.journey.state import Stage


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
