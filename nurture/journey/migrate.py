"""Moving a running lead to a newer version of its cadence (``nurture cadence migrate``).

The workflow's ``migrate`` update stores the move (its validator is :func:`refuse_migrate`); the
engine applies it at the lead's next wait (:func:`apply_migration`, never while a touch is out):
the lead continues at the same step id in the new version, or where ``mapping`` says. Touch ids
carry the version, so they stay unique across versions; the step visits are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nurture.cadence.model import Cadence
from nurture.cadence.steps import CallStep, WaitForStep
from nurture.contracts import MigrateLead
from nurture.events import Channel
from nurture.journey.commands import ActionRefused
from nurture.journey.state import Journey, Phase, WaitingFor
from nurture.journey.timeline import log

#: Where a lead stands when its next step is the end of the cycle.
END = "end-of-cycle"


@dataclass(frozen=True)
class MovePlan:
    """Where one lead is and where it would continue (or why it cannot move)."""

    lead_id: str
    version: int
    at: str
    to: str | None
    refused: str | None = None


def anchor(j: Journey) -> str:
    """The step the lead continues from: its open wait_for or call, or the next step to run."""
    if j.phase is Phase.waiting_for and j.waiting_for is not None:
        return j.waiting_for.step
    position = j.position
    if j.phase is Phase.sending and j.pending is not None and j.pending.channel is not Channel.call:
        position += 1  # the touch being sent is done by the time the move applies
    if position >= len(j.cadence.steps):
        return END
    return str(j.cadence.steps[position].id)


def target(j: Journey, new: Cadence, mapping: dict[str, str]) -> tuple[str, str]:
    """(where the lead is, the step id it continues at in ``new``); ``ActionRefused`` if none."""
    at = anchor(j)
    if at == END:
        return at, END
    step = mapping.get(at, at)
    if step not in new.step_index:
        if at in mapping:
            raise ActionRefused(f"--map {at}={step}: v{new.version} has no step {step!r}")
        raise ActionRefused(
            f"lead {j.lead.id} is at step {at!r}, which v{new.version} no longer has"
            f" (map it: --map {at}=NEW-STEP)"
        )
    if j.phase is Phase.call_open and not isinstance(new.steps[new.step_index[step]], CallStep):
        raise ActionRefused(
            f"lead {j.lead.id} has an open call task on {at!r}; {step!r} in v{new.version}"
            " is not a call step"
        )
    return at, step


def refuse_migrate(j: Journey, action: MigrateLead) -> None:
    """Raise ``ActionRefused`` unless the lead can move to ``action.cadence``."""
    new = action.cadence
    who = f"lead {j.lead.id}"
    if j.phase is Phase.done:
        raise ActionRefused(f"{who}'s journey has ended")
    if j.phase is Phase.handoff:
        raise ActionRefused(f"{who} is with sales ({j.stage.value}); it stays where it is")
    if j.phase is Phase.cooling_down:
        raise ActionRefused(
            f"{who} is cooling down before {j.recycle_to or j.cadence.cycles.recycle_to}"
            " (it loads that cadence's current version when it starts)"
        )
    if new.name != j.cadence.name:
        raise ActionRefused(f"{who} is on cadence {j.cadence.name}, not {new.name}")
    if new.version <= j.cadence.version:
        raise ActionRefused(
            f"{who} is on {j.cadence.name} v{j.cadence.version}: the new version must be higher"
            f" (got v{new.version})"
        )
    target(j, new, action.mapping)


def plan(j: Journey, action: MigrateLead) -> MovePlan:
    """What a migration would do to this lead (for a dry run)."""
    to: str | None = None
    refused: str | None = None
    try:
        refuse_migrate(j, action)
        _, step = target(j, action.cadence, action.mapping)
        to = f"v{action.cadence.version} {step}"
    except ActionRefused as exc:
        refused = str(exc)
    return MovePlan(
        lead_id=j.lead.id, version=j.cadence.version, at=_where(j), to=to, refused=refused
    )


def migrate(j: Journey, action: MigrateLead, now: datetime) -> str:
    """Keep the move for the next wait (the update's handler); its words for the caller."""
    refuse_migrate(j, action)
    _, step = target(j, action.cadence, action.mapping)
    j.migration = action
    text = (
        f"Move to {action.cadence.name} v{action.cadence.version} requested by {action.by}:"
        f" continues at {step} from the next wait"
    )
    log(j, now, "migrate", text)
    return text


def apply_migration(j: Journey, now: datetime) -> None:
    """Carry out a kept move (called by the engine when no touch is out)."""
    action = j.migration
    if action is None or j.phase is Phase.sending:
        return
    j.migration = None
    try:
        refuse_migrate(j, action)
        at, step = target(j, action.cadence, action.mapping)
    except ActionRefused as exc:
        log(j, now, "migrate", f"Move to v{action.cadence.version} cancelled: {exc}")
        return
    old, new = j.cadence, action.cadence
    j.cadence = new
    j._calendar = None
    j.position = len(new.steps) if step == END else new.step_index[step]
    if j.phase is Phase.waiting_for and j.waiting_for is not None:
        _rewire_wait_for(j, j.waiting_for)
    log(
        j,
        now,
        "migrate",
        f"Moved from {old.name} v{old.version} (at {at}) to v{new.version}: continues at {step}",
        None if step == END else step,
    )


def _rewire_wait_for(j: Journey, waiting: WaitingFor) -> None:
    """An open wait_for goes on under the new version's branches (or ends if it is gone)."""
    step = j.cadence.steps[j.position] if j.position < len(j.cadence.steps) else None
    if not isinstance(step, WaitForStep):
        j.waiting_for = None
        j.phase = Phase.ready
        return
    params, ids, nxt = step.wait_for, j.cadence.step_index, j.position + 1
    j.waiting_for = waiting.model_copy(
        update={
            "step": str(step.id),
            "then": ids[params.then] if params.then else nxt,
            "otherwise": ids[params.else_] if params.else_ else nxt,
        }
    )


def _where(j: Journey) -> str:
    phase = {
        Phase.waiting_for: "waiting for engagement",
        Phase.call_open: "call task open",
        Phase.sending: "sending",
        Phase.waiting: "waiting",
        Phase.handoff: "with sales",
        Phase.cooling_down: "cooling down",
    }.get(j.phase, j.phase.value)
    paused = ", paused" if j.paused is not None else ""
    return f"c{j.cycle} {anchor(j)} ({phase}{paused})"
