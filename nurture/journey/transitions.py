"""The moves every part of the engine shares: stage changes, leaving a step, new cycles,
recycling, exits and the promotion to sales."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nurture.cadence.sales import DEFAULT_SALES, Recycle
from nurture.cadence.steps import Outcome
from nurture.journey import milestones
from nurture.journey.state import (
    Handoff,
    Journey,
    Phase,
    Stage,
)
from nurture.journey.timeline import (
    log,
)
from nurture.journey.timing import (
    after,
    wait,
)


def promote(j: Journey, now: datetime, why: str) -> None:
    """Stop the cadence and hand the lead to sales."""
    if j.phase in (Phase.done, Phase.handoff):
        return
    clear_open_work(j)
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
        due=after(j, team.sla, now),
    )
    j.phase = Phase.handoff
    set_stage(j, Stage.sales_ready, now, why)
    log(j, now, "handoff", f"Cadence stopped: sales-ready ({why})")


def default_recycle(j: Journey) -> Recycle | None:
    cycles = j.cadence.cycles
    if cycles.recycle_to and cycles.cool_down:
        return Recycle(recycle_to=cycles.recycle_to, cool_down=cycles.cool_down)
    return (j.sales or DEFAULT_SALES).not_interested


def current_step(j: Journey) -> Any:
    return j.cadence.steps[j.position]


def leave_touch_step(j: Journey) -> None:
    j.detour = None
    j.call_task = None
    j.position += 1
    j.phase = Phase.ready


def new_cycle(j: Journey, cycle: int) -> None:
    j.cycle = cycle
    j.position = 0
    j.visits = {}
    j.cycle_events = []
    j.last_disposition = None
    clear_open_work(j)


def recycle(j: Journey, now: datetime, why: str, target: Recycle) -> None:
    """Cool down, then start the recycle cadence."""
    clear_open_work(j)
    j.recycle_to = target.recycle_to
    set_stage(j, Stage.recycled, now, why)
    until = after(j, target.cool_down, now)
    wait(j, now, until, f"Cool-down before {target.recycle_to}", None)
    j.phase = Phase.cooling_down


def clear_open_work(j: Journey) -> None:
    j.waiting_for = None
    j.call_task = None
    j.detour = None
    j.wake_at = None


def exit_cadence(j: Journey, outcome: Outcome, now: datetime, why: str) -> None:
    if outcome is Outcome.sales_ready:
        promote(j, now, why)
        return
    target = default_recycle(j) if outcome is Outcome.recycle else None
    if target is not None:
        log(j, now, "exit", f"Cadence ended: recycle ({why})")
        recycle(j, now, why, target)
        return
    j.outcome = outcome
    j.phase = Phase.done
    j.next_touch_at = None
    clear_open_work(j)
    stage = {
        Outcome.recycle: Stage.recycled,
        Outcome.disqualified: Stage.disqualified,
    }.get(outcome)
    if stage is not None:
        set_stage(j, stage, now, why)
    log(j, now, "exit", f"Cadence ended: {outcome.value} ({why})")


def set_stage(j: Journey, stage: Stage, now: datetime, why: str) -> None:
    if j.stage is not stage:
        log(j, now, "stage", f"Stage {j.stage.value} → {stage.value} ({why})")
        milestones.emit(j, now, "stage", from_stage=j.stage.value, to_stage=stage.value, reason=why)
        j.stage = stage
        if stage in (Stage.recycled, Stage.opted_out):
            milestones.emit(j, now, stage.value, reason=why)
