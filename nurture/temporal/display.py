"""What a running journey shows in Temporal (visibility and the Web UI): the search attributes
that changed since it last published them, its current details and its assign summaries."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from nurture.contracts import AssignRequest
from nurture.journey.state import Journey
from nurture.temporal import visibility

Values = dict[SearchAttributeKey[Any], Any]


def search_attribute_changes(
    journey: Journey, published: Values
) -> tuple[Values, list[SearchAttributeUpdate[Any]]]:
    """The journey's search attribute values now, and the updates from ``published`` to them."""
    values = visibility.journey_values(journey)
    if journey.phase.value == "done":
        # Closing: ExecutionStatus says there is no next touch; clearing it would cost a
        # visibility write per journey for nothing.
        del values[visibility.NEXT_TOUCH_AT]
    changed = [
        k.value_set(v) if v is not None else k.value_unset()
        for k, v in values.items()
        if published.get(k) != v
    ]
    return values, changed


def current_details(journey: Journey) -> str:
    """The UI's current details: where the journey is and what it does next (no personal data)."""
    nxt = journey.wake_reason if journey.phase.value != "done" else "—"
    return (
        f"**{journey.lead.id}** · {journey.cadence.name} v{journey.cadence.version}"
        f" · cycle {journey.cycle}/{journey.cadence.cycles.count}\n\n"
        f"Stage **{journey.stage.value}** · score {journey.score}"
        f" · touches {journey.touches_sent}\n\nNext: {nxt}"
    )


def assign_summary(request: AssignRequest) -> str:
    """The ``assign`` activity's summary: what is assigned, by which rule, in which team."""
    what = "Hand off to sales" if request.purpose == "handoff" else "Assign call task"
    if request.escalation:
        what = "Escalate handoff (SLA breached)"
    return f"{what} · {request.rule.replace('_', '-')} in {request.team}"
