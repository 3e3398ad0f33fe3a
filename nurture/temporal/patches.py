"""Every ``workflow.patched()`` id the lead workflow has, with what it guards (README, "Replay
safety and changing the workflow": a change to the commands a running journey issues ships
behind a new one here; a journey recorded before it replays the old way)."""

#: Engine faults hold the journey (timeline, LeadStage 'fault', log, metric) instead of failing
#: the workflow task on every attempt.
ENGINE_FAULT_PATCH = "2026-12-engine-fault"
#: A handoff's SLA runs in the assigned owner's working hours, shown in the owner's zone.
OWNER_HOURS_PATCH = "2026-12-handoff-owner-hours"
#: Journeys started from this release on keep a journey log (milestones flushed at waits).
JOURNEY_LOG_PATCH = "2026-12-journey-log"
#: ... and write it with a local activity (earlier journey-log journeys used a regular one).
JOURNEY_LOG_LOCAL_PATCH = "2026-12-journey-log-local"
#: ... and a short wait leaves its milestones for a later flush (milestones.FLUSH_LAG).
JOURNEY_LOG_BATCH_PATCH = "2026-12-journey-log-batch"
#: ... and a wait resumed after engagement events writes its milestones no later than
#: milestones.FLUSH_LAG after the oldest, not at once (milestones.put_off): one write per burst.
JOURNEY_LOG_COALESCE_PATCH = "2026-12-journey-log-coalesce"
#: A/B variants of touch steps (nurture/cadence/variants.py).
PATCH_VARIANTS = "2026-12-variants"
#: Moving running leads to a newer cadence version (nurture/journey/migrate.py).
PATCH_MIGRATE = "2026-12-migrate"
#: An event confirming a touch skipped as delivery unknown counts it as sent.
LATE_CONFIRM = "2026-12-late-confirm"
#: Emails sent as scheduled sends are planned (started ahead, send_at = planned time).
PLANNED_SEND = "2026-12-planned-send"
#: A wait's timer is measured from when the engine decided it (before the journey-log
#: flush), so a replay gives the same timer whichever workflow task resolved the flush.
WAIT_CLOCK_PATCH = "2026-12-wait-clock"
