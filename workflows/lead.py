"""The lead workflow: a thin, deterministic shell that carries out the journey engine's commands.

No ``from __future__ import annotations`` here: the sandbox runs this module afresh for every
workflow run, and string annotations would make the SDK evaluate every handler's hints each time.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, assert_never

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from nurture.contracts import (
        AcceptHandoff,
        Assignment,
        CallTaskView,
        ClaimTask,
        CloseOpportunity,
        CompleteTask,
        DeclineHandoff,
        HandoffView,
        LoadedCadence,
        LoadRequest,
        MigrateLead,
        PauseLead,
        ReleaseTask,
        ResumeLead,
        SkipStep,
        TouchResult,
    )
    from nurture.events import EngagementEvent, EventKind
    from nurture.journey import engine, milestones
    from nurture.journey.commands import Assign, ContinueAsNew, Finish, LoadCadence, SendTouch, Wait
    from nurture.journey.engine import ActionRefused
    from nurture.journey.state import Journey, JourneyEntry, JourneyInput, JourneyResult
    from nurture.temporal import display, visibility
    from nurture.temporal.ids import touch_queue
    from nurture.temporal.patches import (
        ENGINE_FAULT_PATCH,
        JOURNEY_LOG_PATCH,
        LATE_CONFIRM,
        OWNER_HOURS_PATCH,
        PATCH_MIGRATE,
        PATCH_VARIANTS,
        PLANNED_SEND,
        WAIT_CLOCK_PATCH,
    )

from workflows.journey_log import JourneyLogWrites

T = TypeVar("T")
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
#: A send whose worker stopped heartbeating this long ago (activities/heartbeat.py beats every
#: 2 s, each forwarded) is retried now, not after the start-to-close timeout. (20 s was tried:
#: as many retries of live sends on the overloaded chaos dev server, README "Delivery
#: certainty figures", and slower recovery from a kill.)
SEND_HEARTBEAT_TIMEOUT = timedelta(seconds=10)


@workflow.defn(name="LeadJourney")
class LeadJourneyWorkflow(JourneyLogWrites):
    """One lead's cadence, from enrolment to its last touch, handoff or recycle."""

    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        self.lead_journey = input.journey
        self.inbox: list[EngagementEvent] = list(input.inbox)
        self.history_limit = input.history_limit
        self.published: dict[Any, Any] = visibility.journey_values(input.journey)
        self.woken = False
        #: The last wait was ended early by engagement events only (no desk or sales action).
        self.event_wake = False

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        journey = self.lead_journey
        if journey.milestone_chain is not None or workflow.patched(JOURNEY_LOG_PATCH):
            info = workflow.info()
            fresh = info.continued_run_id is None and journey.enrolment == 1
            milestones.enable(journey, info.first_execution_run_id, workflow.now(), fresh=fresh)
        # Journeys recorded before A/B variants replay without them.
        journey.ab_variants = workflow.patched(PATCH_VARIANTS)
        while True:
            if journey.fault is not None:  # held by a failed action: wait for the operator
                await self._until_cleared()
            try:
                self._apply_inbox()
                command = engine.advance(journey, workflow.now())
            except Exception as exc:
                await self._hold(exc)
                continue
            self._publish()
            # asked before the flush, so a replay asks in the same workflow task
            wait_clock = isinstance(command, Wait) and workflow.patched(WAIT_CLOCK_PATCH)
            decided_at = workflow.now()
            flush_at = self._flush_later(command, decided_at)
            if isinstance(command, Finish):
                milestones.finished(journey, workflow.now())
            if not isinstance(command, (SendTouch, Assign, LoadCadence, Wait)) or (
                isinstance(command, Wait) and flush_at is None and self._flush_before(command)
            ):
                await self._flush_milestones()
            match command:
                case SendTouch(touch=touch):
                    result = await workflow.execute_activity(
                        "deliver_touch",
                        touch,
                        result_type=TouchResult,
                        task_queue=touch_queue(workflow.info().task_queue, touch.channel),
                        summary=touch.summary,
                        start_to_close_timeout=timedelta(minutes=2),
                        heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
                        retry_policy=SEND_RETRY,
                    )
                    result = self._planned(result)
                    await self._guard(engine.on_touch_result, journey, result, workflow.now())
                case Wait(until=until, summary=summary):
                    if self._history_is_long():
                        await self._continue_as_new()
                    # The wait counts from when it was decided, not from after the journey-log
                    # flush: a replay resolves that local activity in an earlier workflow task
                    # than a loaded worker may have, and a clock read after it would differ.
                    start = decided_at if wait_clock else workflow.now()
                    if flush_at is not None:  # wake to write the log, then wait on (next loop)
                        await self._sleep(flush_at - start, f"Journey log, then: {summary}")
                    else:
                        await self._sleep(until - start if until else None, summary)
                case Assign(request=request):
                    if request.escalation:  # metrics are not commands: replays are unchanged
                        _sla_breached()
                    assignment = await workflow.execute_activity(
                        "assign",
                        request,
                        result_type=Assignment,
                        summary=display.assign_summary(request),
                        start_to_close_timeout=timedelta(minutes=1),
                        retry_policy=SEND_RETRY,
                    )
                    await self._guard(
                        engine.on_assigned,
                        journey,
                        assignment,
                        workflow.now(),
                        request.purpose == "handoff" and workflow.patched(OWNER_HOURS_PATCH),
                    )
                case LoadCadence(name=name):
                    loaded = await workflow.execute_activity(
                        "load_cadence",
                        LoadRequest(name=name, lead=journey.lead),
                        result_type=LoadedCadence,
                        summary=f"Load cadence {name}",
                        retry_policy=SEND_RETRY,
                        start_to_close_timeout=timedelta(minutes=1),
                    )
                    await self._guard(
                        engine.on_cadence_loaded,
                        journey,
                        loaded.cadence,
                        loaded.calendar,
                        workflow.now(),
                        loaded.scoring,
                        loaded.sales,
                    )
                case ContinueAsNew():
                    await self._continue_as_new()
                case Finish(outcome=outcome, stage=stage):
                    return JourneyResult(
                        outcome=outcome,
                        stage=stage,
                        touches_sent=journey.touches_sent,
                        cycle=journey.cycle,
                    )
                case _:
                    assert_never(command)

    @workflow.signal
    def event(self, event: EngagementEvent) -> None:
        """An engagement event; re-deliveries (same id) are dropped."""
        if event.id not in self.lead_journey.seen_events and all(
            e.id != event.id for e in self.inbox
        ):
            self.inbox.append(event)

    # ------------------------------------------------------------ the call desk

    @workflow.update
    def claim_task(self, action: ClaimTask) -> CallTaskView:
        """A rep takes the open call task from the team queue (first claim wins)."""
        return self._act(lambda now: engine.claim_task(self.lead_journey, action, now))

    @claim_task.validator
    def _check_claim(self, action: ClaimTask) -> None:
        engine.refuse_task_action(self.lead_journey, action, workflow.now())

    @workflow.update
    def release_task(self, action: ReleaseTask) -> CallTaskView:
        """A rep puts the call task back into the team queue."""
        return self._act(lambda now: engine.release_task(self.lead_journey, action, now))

    @release_task.validator
    def _check_release(self, action: ReleaseTask) -> None:
        engine.refuse_task_action(self.lead_journey, action, workflow.now())

    @workflow.update
    def complete_task(self, action: CompleteTask) -> CallTaskView:
        """A rep records the call's disposition; the journey goes where it leads."""
        return self._act(lambda now: engine.complete_task(self.lead_journey, action, now))

    @complete_task.validator
    def _check_complete(self, action: CompleteTask) -> None:
        engine.refuse_task_action(self.lead_journey, action, workflow.now())

    @workflow.query
    def call_task(self) -> CallTaskView | None:
        """The open call task, if any."""
        return engine.task_view(self.lead_journey)

    # ------------------------------------------------------------ the sales handoff

    @workflow.update
    def accept_handoff(self, action: AcceptHandoff) -> HandoffView:
        """Sales accepts the lead."""
        return self._act(lambda now: engine.accept_handoff(self.lead_journey, action, now))

    @accept_handoff.validator
    def _check_accept(self, action: AcceptHandoff) -> None:
        engine.refuse_handoff_action(self.lead_journey, action)

    @workflow.update
    def decline_handoff(self, action: DeclineHandoff) -> HandoffView:
        """Sales declines the lead with a reason; it is recycled or disqualified."""
        return self._act(lambda now: engine.decline_handoff(self.lead_journey, action, now))

    @decline_handoff.validator
    def _check_decline(self, action: DeclineHandoff) -> None:
        engine.refuse_handoff_action(self.lead_journey, action)

    @workflow.update
    def close_opportunity(self, action: CloseOpportunity) -> HandoffView:
        """An accepted lead became an opportunity, or was won or lost."""
        return self._act(lambda now: engine.close_opportunity(self.lead_journey, action, now))

    @close_opportunity.validator
    def _check_close(self, action: CloseOpportunity) -> None:
        engine.refuse_handoff_action(self.lead_journey, action)

    @workflow.query
    def handoff(self) -> HandoffView | None:
        """The current (or last) handoff to sales."""
        return engine.handoff_view(self.lead_journey)

    # ------------------------------------------------------------ pause and resume

    @workflow.update
    def pause(self, action: PauseLead) -> str:
        """Hold the lead's touches until a date or until resumed."""
        return self._act(
            lambda now: (
                engine.pause(self.lead_journey, action.until, action.reason, now)
                or self.lead_journey.timeline[-1].text
            )
        )

    @pause.validator
    def _check_pause(self, action: PauseLead) -> None:
        engine.refuse_pause(self.lead_journey, action.until, workflow.now())

    @workflow.update
    def resume(self, action: ResumeLead) -> str:
        """Resume a paused lead (its plan moves by the time it was paused), or retry the step of
        a journey held on an error."""
        return self._act(
            lambda now: (
                engine.resume_any(self.lead_journey, now, action.reason)
                or self.lead_journey.timeline[-1].text
            )
        )

    @resume.validator
    def _check_resume(self, action: ResumeLead) -> None:
        engine.refuse_resume_any(self.lead_journey)

    @workflow.update
    def skip_step(self, action: SkipStep) -> str:
        """Move a journey held on an error past the step that failed."""
        return self._act(lambda now: engine.skip_step(self.lead_journey, now, action.reason))

    @skip_step.validator
    def _check_skip(self, action: SkipStep) -> None:
        engine.refuse_skip(self.lead_journey)

    # ------------------------------------------------------------ a newer cadence version

    @workflow.update
    def migrate(self, action: MigrateLead) -> str:
        """Move the lead to a newer version of its cadence at its next wait."""
        if not workflow.patched(PATCH_MIGRATE):  # only histories from before migrations lack it
            raise ApplicationError("this journey cannot migrate", non_retryable=True)
        return self._act(lambda now: engine.migrate(self.lead_journey, action, now))

    @migrate.validator
    def _check_migrate(self, action: MigrateLead) -> None:
        engine.refuse_migrate(self.lead_journey, action)

    # ------------------------------------------------------------ reading

    @workflow.query
    def state(self) -> Journey:
        """The whole journey state."""
        return self.lead_journey

    @workflow.query
    def journey(self) -> list[JourneyEntry]:
        """Every touch, wait, event, branch and stage change so far."""
        return self.lead_journey.timeline

    def _act(self, action: Callable[[datetime], T]) -> T:
        """Run a desk, sales or pause action on the journey and wake the main loop."""
        try:
            result = action(workflow.now())
        except ActionRefused as exc:  # the validator passed, so this is a race: refuse cleanly
            raise ApplicationError(str(exc), type="ActionRefused", non_retryable=True) from None
        except Exception as exc:  # an engine bug: the action fails, the journey is held
            if not self._record_fault(exc):
                raise
            self.woken = True
            raise ApplicationError(
                f"the journey failed on this action and is held: {exc}",
                type="EngineFault",
                non_retryable=True,
            ) from None
        self.woken = True
        self._publish()
        return result

    async def _guard(self, step: Callable[..., object], *args: Any) -> None:
        """Run an engine callback; if it raises, hold the journey (the loop then carries on)."""
        try:
            step(*args)
        except Exception as exc:
            await self._hold(exc)

    async def _hold(self, error: Exception) -> None:
        """The engine raised: without the patch (old histories) fail the task as before; with it,
        record the fault, show it (LeadStage 'fault'), alert, and wait for an operator."""
        if not self._record_fault(error):
            raise error
        await self._until_cleared()

    async def _until_cleared(self) -> None:
        """Wait until an operator resumes or skips the failed step."""
        journey = self.lead_journey
        await workflow.wait_condition(lambda: journey.fault is None)
        self.woken = False

    def _record_fault(self, error: Exception) -> bool:
        """Record an engine fault (timeline, LeadStage 'fault', log, metric); False for old
        histories, which failed the task instead."""
        if not workflow.patched(ENGINE_FAULT_PATCH):
            return False
        journey = self.lead_journey
        fault = engine.hold(journey, error, workflow.now())
        workflow.logger.error(
            "journey %s held on an engine fault at step %s: %s",
            workflow.info().workflow_id,
            fault.step,
            fault.error,
        )
        workflow.metric_meter().create_counter(
            "nurture_engine_faults", "Journeys held because the engine raised"
        ).add(1)
        self._publish()
        return True

    async def _sleep(self, delay: timedelta | None, summary: str) -> None:
        try:
            await workflow.wait_condition(
                lambda: bool(self.inbox) or self.woken, timeout=delay, timeout_summary=summary
            )
            self.event_wake = not self.woken
        except TimeoutError:
            self.event_wake = False
        self.woken = False

    def _planned(self, result: TouchResult) -> TouchResult:
        """The result's send time and email lead time count only under the planned-send patch
        (histories from before it replay as they ran)."""
        lead = result.email_lead
        news = result.send_at is not None or (
            lead is not None and (lead or None) != self.lead_journey.email_lead
        )
        if not news or workflow.patched(PLANNED_SEND):
            return result
        return result.model_copy(update={"send_at": None, "email_lead": None})

    def _apply_inbox(self) -> None:
        while self.inbox:
            event = self.inbox.pop(0)
            # Only an event about a touch skipped as delivery unknown behaves differently.
            late = (
                bool(event.touch_id)
                and any(u.touch_id == event.touch_id for u in self.lead_journey.unknown_touches)
            ) or event.kind is EventKind.touch_confirmed
            late_confirm = late and workflow.patched(LATE_CONFIRM)
            engine.on_event(self.lead_journey, event, workflow.now(), late_confirm=late_confirm)

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.history_limit
        )

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            JourneyInput(
                journey=self.lead_journey, inbox=self.inbox, history_limit=self.history_limit
            )
        )

    def _publish(self) -> None:
        """Keep search attributes and the UI's current details in step with the journey."""
        values, changed = display.search_attribute_changes(self.lead_journey, self.published)
        if changed:
            workflow.upsert_search_attributes(changed)
            self.published = values
        workflow.set_current_details(display.current_details(self.lead_journey))


def _sla_breached() -> None:
    """Count an SLA breach (the SDK's metric meter; not counted again on replay)."""
    workflow.metric_meter().create_counter(
        "nurture_sla_breaches", "Handoffs escalated because sales did not answer within the SLA"
    ).add(1)
