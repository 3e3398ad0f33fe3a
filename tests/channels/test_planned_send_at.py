"""SendGrid's ``send_at`` for a planned email (nurture/channels/sendgrid_certainty.py
``send_time``): the planned time when it is at least the delay away, else now + the delay; the
channel's result says when SendGrid delivers it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sendgrid import SendGridAPIClient

from nurture.channels.sendgrid import SendGridChannel
from nurture.channels.sendgrid_certainty import send_time
from nurture.events import Channel
from nurture.store import Store, utcnow
from tests.channels.conftest import EMAIL, make_touch
from tests.channels.stub import ProviderStub

NOW = datetime(2026, 12, 3, 9, 0, 0, 500_000, tzinfo=UTC)
DELAY = timedelta(minutes=11)


def test_the_planned_time_is_kept_when_it_is_at_least_the_delay_away() -> None:
    planned = NOW.replace(microsecond=0) + timedelta(minutes=12)
    assert send_time(NOW, DELAY, planned) == planned
    assert send_time(NOW, DELAY, NOW + timedelta(days=2)) == (NOW + timedelta(days=2)).replace(
        microsecond=0
    )


def test_a_planned_time_nearer_than_the_delay_or_past_becomes_now_plus_the_delay() -> None:
    floor = (NOW + DELAY).replace(microsecond=0)
    assert send_time(NOW, DELAY, NOW + timedelta(minutes=5)) == floor
    assert send_time(NOW, DELAY, NOW - timedelta(hours=1)) == floor
    assert send_time(NOW, DELAY, None) == floor


def test_the_channel_schedules_at_the_planned_time_and_says_so(store: Store) -> None:
    planned = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    with ProviderStub() as stub:
        adapter = SendGridChannel(
            store, SendGridAPIClient("SG.test-key", host=stub.url), send_delay=DELAY, timeout=5
        )
        result = adapter.send(make_touch(Channel.email, planned_at=planned), EMAIL)
        [mail] = stub.creates("/v3/mail/send")
    assert result.status == "sent" and result.send_at == planned
    assert mail.body["send_at"] == int(planned.timestamp()) and mail.body["batch_id"]
