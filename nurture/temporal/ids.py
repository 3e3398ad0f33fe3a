"""The names nurture gives things in Temporal: workflow ids, the workflow type, task queues.

A lead's journey is one workflow chain for life, ``lead-{lead_id}``: enrolling the same lead twice
yields one journey. None of these names carry personal data (they are not encrypted).
"""

from __future__ import annotations

from nurture.events import Channel

#: The workflow type of a lead's journey (``workflows/lead.py``).
JOURNEY_WORKFLOW = "LeadJourney"
WORKFLOW_PREFIX = "lead-"


def workflow_id(lead_id: str) -> str:
    """The journey's workflow id."""
    return f"{WORKFLOW_PREFIX}{lead_id}"


def lead_id_of(workflow_id: str) -> str:
    """The lead id in a journey's workflow id."""
    return workflow_id.removeprefix(WORKFLOW_PREFIX)


def touch_queue(task_queue: str, channel: Channel) -> str:
    """The task queue a channel's sends run on (its own, so each provider gets a rate limit)."""
    return f"{task_queue}-{channel.value}"
