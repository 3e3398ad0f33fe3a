"""A journey of quick steps writes its journey log once, at the end, not at every short wait
(time-skipping server); its history still replays."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from temporalio.testing import WorkflowEnvironment

from nurture.cadence.model import Cadence, parse_cadence
from nurture.journey.state import JourneyInput
from nurture.journeylog.store import JourneyLog
from nurture.leads.enrollment import new_journey
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import make_lead
from tests.workflows.test_replay import replay
from workflows.lead import LeadJourneyWorkflow

HOURS = ", ".join(
    f'{day}: "00:00-24:00"' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)


def all_day_cadence(name: str, steps: list[str]) -> Cadence:
    """A UTC cadence of these step lines, open around the clock (no contact hours, no holidays)."""
    head = [
        f"name: {name}",
        "version: 1",
        "audience: {segments: [quick]}",
        "sender: {name: Test Sender, email: sender@example.com}",
        "calendar: {timezone: UTC, jitter_minutes: 0, business_hours: {" + HOURS + "}}",
        "steps:",
    ]
    return parse_cadence("\n".join(head + [f"  - {step}" for step in steps]) + "\n", f"{name}.yaml")


#: Three emails a second apart, so every wait is short whatever time the time-skipping server's
#: clock has reached.
QUICK_EMAILS = all_day_cadence(
    "quick-emails",
    [
        "{id: one, email: {template: hello}}",
        "wait: {seconds: 1}",
        "{id: two, email: {template: hello}}",
        "wait: {seconds: 1}",
        "{id: three, email: {template: hello}}",
    ],
)


async def test_quick_steps_flush_the_log_once(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("LOG-quick", segment="quick")
    journey = new_journey(lead, QUICK_EMAILS, datetime.now(UTC))
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=worker.task_queue,
    )
    result = await handle.result()
    assert result.touches_sent == 3
    history = await handle.fetch_history()
    markers = Counter(
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    )
    assert markers["core_local_activity"] == 1  # the finish's flush; two 1 s waits wrote none
    kinds = Counter(r.kind for r in JourneyLog(store).rows(lead.id))
    assert kinds["enrolled"] == 1 and kinds["touch_sent"] == 3 and kinds["finished"] == 1
    final = await handle.query(LeadJourneyWorkflow.state)
    assert final.milestones == []
    await replay([history])
