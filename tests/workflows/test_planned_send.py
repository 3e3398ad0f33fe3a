"""Planned email sends on the time-skipping server: with cancellable sends on (an 11-minute send
delay), an email after a wait is started ahead of its planned time and SendGrid (the counting
stand-in) gets that planned time as ``send_at``; the email's timeline line has both times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sendgrid import SendGridAPIClient
from temporalio.testing import WorkflowEnvironment

from activities.touches import TouchActivities
from nurture.cadence.model import parse_cadence
from nurture.channels.sendgrid import SendGridChannel
from nurture.events import Channel
from nurture.journey.planned import START_MARGIN
from nurture.journey.state import JourneyInput
from nurture.leads.enrollment import new_journey
from nurture.settings import Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.channels.stub import ProviderStub
from tests.conftest import FIXTURE_CADENCES, FIXTURE_TEMPLATES, make_lead
from worker import build_worker
from workflows.lead import LeadJourneyWorkflow

DELAY = timedelta(minutes=11)
CADENCE = parse_cadence(
    """name: planned
version: 1
sender: {name: Test Sender, email: sender@example.com}
calendar:
  timezone: UTC
  business_hours: {mon: "00:00-24:00", tue: "00:00-24:00", wed: "00:00-24:00", thu: "00:00-24:00", fri: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00"}
  jitter_minutes: 0
steps:
  - id: hello
    email: {template: hello}
  - wait: {days: 2}
  - id: again
    email: {template: hello}
  - wait: {days: 1}
""",  # noqa: E501
    "planned.yaml",
)


@pytest_asyncio.fixture(loop_scope="session")
async def sendgrid_worker(
    env: WorkflowEnvironment, store: Store
) -> AsyncIterator[tuple[Settings, ProviderStub]]:
    """A worker whose emails go to the SendGrid stand-in as scheduled sends (11 minutes)."""
    with ProviderStub() as stub:
        email = SendGridChannel(
            store, SendGridAPIClient("SG.test-key", host=stub.url), send_delay=DELAY, timeout=5
        )
        touches = TouchActivities(
            store, FIXTURE_TEMPLATES, FIXTURE_CADENCES, channels={Channel.email: email}
        )
        settings = Settings(
            task_queue=f"planned-{id(store)}",
            templates_dir=FIXTURE_TEMPLATES,
            cadences_dir=FIXTURE_CADENCES,
        )
        with ThreadPoolExecutor(8) as executor:
            async with build_worker(env.client, settings, executor, touches):
                yield settings, stub


async def test_an_email_reaches_the_lead_at_its_planned_time(
    env: WorkflowEnvironment, sendgrid_worker: tuple[Settings, ProviderStub]
) -> None:
    settings, stub = sendgrid_worker
    lead = make_lead("L-planned")
    journey = new_journey(lead, CADENCE, datetime.now(UTC))
    handle = await env.client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )
    await env.sleep(timedelta(days=2, hours=1))
    timeline = await handle.query(LeadJourneyWorkflow.journey)
    sends = {s.touch_id: s.body for s in stub.creates("/v3/mail/send")}
    first, again = (f"{lead.id}:planned:v1:e1:c1:{step}" for step in ("hello", "again"))
    assert set(sends) == {first, again}

    first_line = next(e for e in timeline if e.kind == "touch" and e.step == "hello")
    # At enrolment the email is due at once: SendGrid delivers it a delay after it was posted.
    reaches = datetime.fromtimestamp(sends[first]["send_at"], UTC)
    assert f"reaches the lead {reaches:%a %d %b %H:%M} UTC" in first_line.text

    # The wait counts from that send (it was not planned); the second email is planned 2 days
    # later and started ahead of its planned time.
    planned = first_line.at + timedelta(days=2)
    assert sends[again]["send_at"] == int(planned.timestamp())
    assert sends[again]["batch_id"] != sends[first]["batch_id"]
    line = next(e for e in timeline if e.kind == "touch" and e.step == "again")
    started_ahead = planned - line.at
    assert DELAY <= started_ahead <= DELAY + START_MARGIN + timedelta(seconds=5)
    assert f"reaches the lead {planned:%a %d %b %H:%M} UTC" in line.text
    state = await handle.query(LeadJourneyWorkflow.state)
    assert state.email_lead == DELAY.total_seconds() and state.touches_sent == 2
    await handle.terminate("test done")
