"""The lead workflow: a thin, deterministic shell that carries out the journey engine's commands."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from nurture import engine, visibility
    from nurture.engine import (
        ContinueAsNew,
        Finish,
        Journey,
        JourneyEntry,
        LoadCadence,
        LoadedCadence,
        LoadRequest,
        SendTouch,
        TouchResult,
        Wait,
    )
    from nurture.events import EngagementEvent
    from workflows.contracts import JourneyResult, LeadJourneyInput, touch_queue

SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


@workflow.defn(name="LeadJourney")
class LeadJourneyWorkflow:
    """One lead's cadence, from enrolment to its last touch, handoff or recycle."""

    @workflow.init
    def __init__(self, input: LeadJourneyInput) -> None:
        self.lead_journey = input.journey
        self.inbox: list[EngagementEvent] = list(input.inbox)
        self.history_limit = input.history_limit
        self.published: dict[Any, Any] = visibility.journey_values(input.journey)

    @workflow.run
    async def run(self, input: LeadJourneyInput) -> JourneyResult:
        journey = self.lead_journey
        while True:
            self._apply_inbox()
            command = engine.advance(journey, workflow.now())
            self._publish()
            match command:
                case SendTouch(touch=touch):
                    result = await workflow.execute_activity(
                        "deliver_touch",
                        touch,
                        result_type=TouchResult,
                        task_queue=touch_queue(workflow.info().task_queue, touch.channel),
                        summary=touch.summary,
                        start_to_close_timeout=timedelta(minutes=2),
                        retry_policy=SEND_RETRY,
                    )
                    engine.on_touch_result(journey, result, workflow.now())
                case Wait(until=until, summary=summary):
                    if self._history_is_long():
                        await self._continue_as_new()
                    await self._sleep(until - workflow.now(), summary)
                case LoadCadence(name=name):
                    loaded = await workflow.execute_activity(
                        "load_cadence",
                        LoadRequest(name=name, lead=journey.lead),
                        result_type=LoadedCadence,
                        summary=f"Load cadence {name}",
                        retry_policy=SEND_RETRY,
                        start_to_close_timeout=timedelta(minutes=1),
                    )
                    engine.on_cadence_loaded(
                        journey, loaded.cadence, loaded.calendar, workflow.now()
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

    @workflow.signal
    def event(self, event: EngagementEvent) -> None:
        """An engagement event; re-deliveries (same id) are dropped."""
        if event.id not in self.lead_journey.seen_events and all(
            e.id != event.id for e in self.inbox
        ):
            self.inbox.append(event)

    @workflow.query
    def state(self) -> Journey:
        """The whole journey state."""
        return self.lead_journey

    @workflow.query
    def journey(self) -> list[JourneyEntry]:
        """Every touch, wait, event, branch and stage change so far."""
        return self.lead_journey.timeline

    async def _sleep(self, delay: timedelta, summary: str) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(
                lambda: bool(self.inbox), timeout=delay, timeout_summary=summary
            )

    def _apply_inbox(self) -> None:
        while self.inbox:
            engine.on_event(self.lead_journey, self.inbox.pop(0), workflow.now())

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.history_limit
        )

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            LeadJourneyInput(
                journey=self.lead_journey, inbox=self.inbox, history_limit=self.history_limit
            )
        )

    def _publish(self) -> None:
        """Keep search attributes and the UI's current details in step with the journey."""
        journey = self.lead_journey
        values = visibility.journey_values(journey)
        changed = [
            k.value_set(v) if v is not None else k.value_unset()
            for k, v in values.items()
            if self.published.get(k) != v
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self.published = values
        nxt = journey.wake_reason if journey.phase.value != "done" else "—"
        workflow.set_current_details(
            f"**{journey.lead.id}** · {journey.cadence.name} v{journey.cadence.version}"
            f" · cycle {journey.cycle}/{journey.cadence.cycles.count}\n\n"
            f"Stage **{journey.stage.value}** · score {journey.score}"
            f" · touches {journey.touches_sent}\n\nNext: {nxt}"
        )
