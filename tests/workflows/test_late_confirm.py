"""A late confirmation reaches the journey: an email whose send ended ``unknown`` is skipped,
then SendGrid's confirmation (a ``touch.confirmed`` event) records it as sent on the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from nurture.events import EngagementEvent, EventKind
from nurture.settings import Settings
from nurture.store import Store
from tests.conftest import fixture_cadence, make_lead
from tests.workflows.test_lead_journey import start
from workflows.lead import LeadJourneyWorkflow


async def test_a_confirmed_unknown_email_is_counted_on_the_journey(
    env: WorkflowEnvironment, worker: Settings, store: Store
) -> None:
    lead = make_lead("L-late")
    cadence = fixture_cadence("drip")
    touch_id = f"{lead.id}:drip:v{cadence.version}:e1:c1:hello"
    store.record_touch(  # the send's answer was lost: the ledger says unknown
        touch_id=touch_id,
        lead_id=lead.id,
        cadence="drip",
        cadence_version=cadence.version,
        cycle=1,
        step_id="hello",
        channel="email",
        provider="sendgrid",
        status="unknown",
        error="delivery unknown (SendGrid answer lost); not resent",
        summary="email",
    )
    handle = await start(env.client, worker, lead, "drip")
    await env.sleep(timedelta(hours=1))
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.touches_sent == 0 and [u.touch_id for u in state.unknown_touches] == [touch_id]
    confirmed = EngagementEvent(
        id=f"confirmed:{touch_id}",
        kind=EventKind.touch_confirmed,
        lead_id=lead.id,
        at=datetime.now(UTC),
        touch_id=touch_id,
    )
    await handle.signal(LeadJourneyWorkflow.event, confirmed)
    await env.sleep(timedelta(minutes=1))
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.touches_sent == 1 and state.unknown_touches == []
    timeline = await handle.query(LeadJourneyWorkflow.journey)
    assert [e.kind for e in timeline if e.touch_id == touch_id] == ["skip", "confirm"]
    assert any("confirmed sent" in e.text for e in timeline)
    await handle.terminate("test done")
