"""The lead workflow's journey-log writes: which wait writes the waiting milestones, and when,
and the write itself (a base class of ``LeadJourneyWorkflow``, run in its sandbox)."""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from nurture.journey import milestones
    from nurture.journey.commands import Wait
    from nurture.journey.state import Journey
    from nurture.temporal.patches import (
        JOURNEY_LOG_BATCH_PATCH,
        JOURNEY_LOG_COALESCE_PATCH,
        JOURNEY_LOG_LOCAL_PATCH,
    )

#: The write's retries (the same as a send's).
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


class JourneyLogWrites:
    """When and how the workflow writes its journey's milestones."""

    lead_journey: Journey
    #: The last wait was ended early by engagement events only (no desk or sales action).
    event_wake: bool

    def _flush_later(self, command: object, now: datetime) -> datetime | None:
        """When a wait that resumes after events woke the journey writes its milestones instead
        of now (``None``: now, or as :meth:`_flush_before` says). A desk or sales action's
        milestones are written at once, for the reports."""
        event_wake, self.event_wake = self.event_wake, False
        if not event_wake or not isinstance(command, Wait):
            return None
        at = milestones.put_off(self.lead_journey, command.until, now)
        if at is None or not workflow.patched(JOURNEY_LOG_COALESCE_PATCH):
            return None
        return at

    def _flush_before(self, wait: Wait) -> bool:
        """Whether this wait writes the waiting milestones first (journeys from before the
        batch patch flush at every wait)."""
        journey = self.lead_journey
        if not journey.milestones or milestones.flush_due(journey, wait.until):
            return True
        return not workflow.patched(JOURNEY_LOG_BATCH_PATCH)

    async def _flush_milestones(self) -> None:
        """Write the journey's new milestones to the journey log in one local activity."""
        batch = milestones.take(self.lead_journey)
        if not batch:
            return
        summary = f"Journey log · {len(batch)} milestone{'s' if len(batch) > 1 else ''}"
        # A local activity: run by this worker inside the workflow task (one marker in history,
        # no task queue round trip, nothing left pending when a worker stops); a worker that dies
        # mid-write leaves the task to be retried, the key makes it harmless. Journeys that began
        # writing their log with a regular activity keep doing so.
        local = workflow.patched(JOURNEY_LOG_LOCAL_PATCH)
        write = workflow.execute_local_activity if local else workflow.execute_activity
        await write(
            "record_milestones",
            batch,
            summary=summary,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=WRITE_RETRY,
        )
        milestones.written(self.lead_journey, len(batch))
