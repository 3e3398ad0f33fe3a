"""Activity: write a journey's batch of milestones to the journey log (insert or ignore)."""

from __future__ import annotations

from temporalio import activity

from nurture.journey.milestones import Milestone
from nurture.journeylog.store import JourneyLog
from nurture.store import Store


class JourneyLogActivities:
    """The journey log's one side effect, bound to a store."""

    def __init__(self, store: Store) -> None:
        self.log = JourneyLog(store)

    @activity.defn(name="record_milestones")
    def record_milestones(self, milestones: list[Milestone]) -> int:
        """Write the milestones; a retry or replay writes none twice. Returns how many were new."""
        return self.log.record(milestones)
