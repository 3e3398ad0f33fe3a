"""Which adapter carries each channel, the start-up config check, and deliver_touch end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from activities.touches import TouchActivities
from nurture import settings as settings_module
from nurture.channels.lob import LobChannel
from nurture.channels.outbox import OutboxChannel
from nurture.channels.registry import (
    ConfigError,
    build_channels,
    check_config,
    config_problems,
    providers,
    queue_rates,
)
from nurture.channels.sendgrid import SendGridChannel
from nurture.channels.twilio import TwilioChannel
from nurture.cli import app
from nurture.events import Channel
from nurture.settings import Settings
from nurture.store import Store
from tests.channels.conftest import TWILIO_SID, make_touch
from tests.channels.stub import ProviderStub
from tests.conftest import FIXTURE_CADENCES, FIXTURE_TEMPLATES

TWILIO = {
    "twilio_account_sid": TWILIO_SID,
    "twilio_auth_token": "token",
    "twilio_from": "+14155550100",
    "public_url": "https://nurture.example.com",
}
ALL = {
    "sendgrid_api_key": "SG.key",
    "lob_api_key": "test_key",
    "lob_from_address": "adr_1234",
    **TWILIO,
}


def test_defaults_are_valid_and_everything_goes_to_the_outbox(store: Store) -> None:
    check_config(Settings())
    channels = build_channels(Settings(), store)
    assert {type(c) for c in channels.values()} == {OutboxChannel}
    assert set(providers(Settings()).values()) == {"outbox"}


def test_configured_providers_carry_their_channels_and_calls_stay_in_the_outbox(
    store: Store,
) -> None:
    channels = build_channels(Settings(**ALL), store)
    assert isinstance(channels[Channel.email], SendGridChannel)
    assert isinstance(channels[Channel.sms], TwilioChannel)
    assert channels[Channel.voicemail] is channels[Channel.sms]
    assert isinstance(channels[Channel.direct_mail], LobChannel)
    assert isinstance(channels[Channel.call], OutboxChannel)
    activities = TouchActivities(
        store, FIXTURE_TEMPLATES, FIXTURE_CADENCES, {Channel.call: channels[Channel.email]}
    )
    assert isinstance(activities.channels[Channel.call], OutboxChannel)


def test_queue_rates_follow_each_provider() -> None:
    rates = queue_rates(Settings(sendgrid_rate=10, twilio_rate=1, lob_rate=2.5))
    assert rates == {
        Channel.email: 10,
        Channel.call: None,
        Channel.voicemail: 1,
        Channel.sms: 1,
        Channel.direct_mail: 2.5,
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"twilio_account_sid": TWILIO_SID}, "NURTURE_TWILIO_AUTH_TOKEN is missing"),
        ({**TWILIO, "twilio_account_sid": "SK123"}, "NURTURE_TWILIO_ACCOUNT_SID must be 'AC'"),
        ({**TWILIO, "twilio_from": "4155550100"}, "NURTURE_TWILIO_FROM='4155550100' is not E.164"),
        ({**TWILIO, "public_url": "http://127.0.0.1:8000"}, "Twilio cannot fetch"),
        ({**TWILIO, "twilio_api_base": "localhost:4010"}, "NURTURE_TWILIO_API_BASE"),
        ({"public_url": "nurture.example.com"}, "NURTURE_PUBLIC_URL='nurture.example.com' is not"),
        ({"sendgrid_api_key": "abc"}, "NURTURE_SENDGRID_API_KEY does not look like a key"),
        ({"sendgrid_api_key": "SG.k", "sendgrid_host": "ftp://x"}, "NURTURE_SENDGRID_HOST"),
        ({"sendgrid_unsubscribe_group": 0, "sendgrid_api_key": "SG.k"}, "positive group id"),
        ({"sendgrid_api_key": "SG.k"}, "NURTURE_NOTICE_FROM is missing (handoff notices"),
        (
            {"sendgrid_api_key": "SG.k", "notice_from": "Handoffs <handoffs@example.com>"},
            "NURTURE_NOTICE_FROM='Handoffs <handoffs@example.com>' is not an email address",
        ),
        ({"notice_from": "handoffs@"}, "NURTURE_NOTICE_FROM='handoffs@' is not an email"),
        ({"lob_api_key": "test_k"}, "NURTURE_LOB_FROM_ADDRESS is missing"),
        ({"lob_api_key": "k", "lob_from_address": "adr_1"}, "NURTURE_LOB_API_KEY does not"),
        ({"lob_api_key": "test_k", "lob_from_address": "1 Main St"}, "a Lob address id"),
        ({"twilio_rate": 0}, "NURTURE_TWILIO_RATE must be a positive"),
    ],
)
def test_half_configured_or_malformed_providers_are_refused(
    values: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError, match="provider configuration") as caught:
        check_config(Settings(**values))  # type: ignore[arg-type]
    assert expected in str(caught.value)


def test_the_twilio_token_alone_only_verifies_webhooks_and_starts(store: Store) -> None:
    """Verifying Twilio's signatures needs only the auth token; sending needs the rest."""
    settings = Settings(twilio_auth_token="token-for-webhooks-only")
    assert config_problems(settings) == []
    assert providers(settings)[Channel.sms] == "outbox"
    missing = config_problems(Settings(twilio_auth_token="t", twilio_from="+14155550100"))
    assert any("NURTURE_TWILIO_ACCOUNT_SID is missing" in p for p in missing)


def test_every_problem_is_listed_at_once() -> None:
    problems = config_problems(Settings(twilio_from="123", lob_api_key="bad"))
    assert len(problems) >= 4
    mocked = {**TWILIO, "public_url": "http://127.0.0.1:8000", "twilio_api_base": "http://x:1"}
    assert config_problems(Settings(**mocked)) == []  # a mock API: loopback callbacks are fine
    sendgrid = {"sendgrid_api_key": "SG.k", "notice_from": "handoffs@example.com"}
    assert config_problems(Settings(**sendgrid, notice_from_name="Nurture")) == []


def test_the_cli_refuses_to_start_a_worker_on_a_bad_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NURTURE_TWILIO_ACCOUNT_SID", TWILIO_SID)
    settings_module.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker"])
    finally:
        settings_module.get_settings.cache_clear()
    assert result.exit_code == 2
    assert "NURTURE_TWILIO_AUTH_TOKEN is missing" in result.output


def test_the_cli_refuses_sendgrid_without_a_notice_sender(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NURTURE_SENDGRID_API_KEY", "SG.key")
    monkeypatch.delenv("NURTURE_NOTICE_FROM", raising=False)
    settings_module.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker"])
    finally:
        settings_module.get_settings.cache_clear()
    assert result.exit_code == 2
    assert "NURTURE_NOTICE_FROM is missing" in result.output


def test_deliver_touch_renders_sends_once_and_returns_the_ledger_after(
    tmp_path: Path, stub: ProviderStub
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'ledger.db'}", upgrade=True)
    settings = Settings(sendgrid_api_key="SG.key", sendgrid_host=stub.url)
    activities = TouchActivities(
        store, FIXTURE_TEMPLATES, FIXTURE_CADENCES, build_channels(settings, store)
    )
    touch = make_touch(Channel.email, "hello", template="hello")
    env = ActivityEnvironment()
    first = env.run(activities.deliver_touch, touch)
    assert (first.status, first.provider, first.provider_id) == ("sent", "sendgrid", "sg-1")
    [request] = stub.creates("/v3/mail/send")
    assert request.touch_id == touch.touch_id
    assert request.body["personalizations"][0]["to"][0]["email"] == "l7@example.com"
    again = env.run(activities.deliver_touch, touch)
    assert again == first and len(stub.creates("/v3/mail/send")) == 1
    rows = store.list_touches()
    assert [(r.status, r.provider, r.body_html is not None) for r in rows] == [
        ("sent", "sendgrid", True)
    ]
    call = env.run(activities.deliver_touch, make_touch(Channel.call, "ring", template="discovery"))
    assert call.provider == "outbox"
