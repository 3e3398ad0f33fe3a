"""Search attributes: the non-personal facts about a journey that Temporal visibility can list."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

LEAD_STAGE = SearchAttributeKey.for_keyword("LeadStage")
LEAD_SCORE = SearchAttributeKey.for_int("LeadScore")
CADENCE = SearchAttributeKey.for_keyword("Cadence")
CADENCE_VERSION = SearchAttributeKey.for_int("CadenceVersion")
SEGMENT = SearchAttributeKey.for_keyword("Segment")
OWNER = SearchAttributeKey.for_keyword("Owner")
CYCLE = SearchAttributeKey.for_int("Cycle")
NEXT_TOUCH_AT = SearchAttributeKey.for_datetime("NextTouchAt")
CALL_TASK_QUEUE = SearchAttributeKey.for_keyword("CallTaskQueue")
CALL_TASK_ASSIGNEE = SearchAttributeKey.for_keyword("CallTaskAssignee")
CALL_TASK_DUE = SearchAttributeKey.for_datetime("CallTaskDue")

ALL_KEYS: list[SearchAttributeKey[Any]] = [
    LEAD_STAGE,
    LEAD_SCORE,
    CADENCE,
    CADENCE_VERSION,
    SEGMENT,
    OWNER,
    CYCLE,
    NEXT_TOUCH_AT,
    CALL_TASK_QUEUE,
    CALL_TASK_ASSIGNEE,
    CALL_TASK_DUE,
]

_CLI_TYPES = {"KEYWORD": "Keyword", "INT": "Int", "DATETIME": "Datetime"}


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return flags


def journey_values(journey: Any) -> dict[SearchAttributeKey[Any], Any]:
    """The search attribute values of a journey (``None`` = unset)."""
    task = journey.call_task
    return {
        LEAD_STAGE: "fault" if getattr(journey, "fault", None) else journey.stage.value,
        LEAD_SCORE: journey.score,
        CADENCE: journey.cadence.name,
        CADENCE_VERSION: journey.cadence.version,
        SEGMENT: journey.lead.segment or None,
        OWNER: journey.lead.owner or None,
        CYCLE: journey.cycle,
        NEXT_TOUCH_AT: journey.next_touch_at,
        CALL_TASK_QUEUE: task.queue if task else None,
        CALL_TASK_ASSIGNEE: (task.assignee or None) if task else None,
        CALL_TASK_DUE: task.due if task else None,
    }


def typed(values: dict[SearchAttributeKey[Any], Any]) -> TypedSearchAttributes:
    """The set values as ``TypedSearchAttributes`` (for starting a workflow)."""
    return TypedSearchAttributes(
        [SearchAttributePair(k, v) for k, v in values.items() if v is not None]
    )
