"""Which adapter carries each channel, the providers' send rates, and the start-up config check.

A channel goes through its provider when the provider's key is set, else through the local
outbox; call tasks always go to the outbox (the call desk reads them there).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from nurture.channels.base import Sender
from nurture.channels.outbox import OutboxChannel
from nurture.events import Channel
from nurture.settings import Settings
from nurture.store import Store

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
LOB_ADDRESS_ID = re.compile(r"^adr_[A-Za-z0-9]+$")


class ConfigError(ValueError):
    """The provider configuration is incomplete or malformed; the message lists every problem."""


def providers(settings: Settings) -> dict[Channel, str]:
    """The name of the provider that carries each channel."""
    names = dict.fromkeys(Channel, OutboxChannel.name)
    if settings.sendgrid_api_key:
        names[Channel.email] = "sendgrid"
    if settings.twilio_account_sid:
        names[Channel.sms] = names[Channel.voicemail] = "twilio"
    if settings.lob_api_key:
        names[Channel.direct_mail] = "lob"
    return names


def build_channels(settings: Settings, store: Store) -> dict[Channel, Sender]:
    """The adapter for every channel: configured providers, the outbox for the rest."""
    from nurture.channels.lob import LobChannel
    from nurture.channels.sendgrid import SendGridChannel
    from nurture.channels.twilio import TwilioChannel

    built: dict[str, Sender] = {OutboxChannel.name: OutboxChannel(store)}
    makers: dict[str, Callable[[Settings, Store], Sender]] = {
        "sendgrid": SendGridChannel.from_settings,
        "twilio": TwilioChannel.from_settings,
        "lob": LobChannel.from_settings,
    }
    channels: dict[Channel, Sender] = {}
    for channel, name in providers(settings).items():
        if name not in built:
            built[name] = makers[name](settings, store)
        channels[channel] = built[name]
    return channels


def queue_rates(settings: Settings) -> dict[Channel, float | None]:
    """Max sends per second on each channel's task queue (None: unlimited).

    Twilio limits messages (per sender) and calls (per second) separately, so ``twilio_rate``
    applies to each of the SMS and voicemail queues.
    """
    return {
        Channel.email: settings.sendgrid_rate,
        Channel.call: None,
        Channel.voicemail: settings.twilio_rate,
        Channel.sms: settings.twilio_rate,
        Channel.direct_mail: settings.lob_rate,
    }


def _http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env(field: str) -> str:
    return f"NURTURE_{field.upper()}"


def _email_problem(value: str) -> str | None:
    """Why ``value`` is not an email address (None: it is one)."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def config_problems(settings: Settings) -> list[str]:
    """Every problem with the provider settings, as one line each (empty: all good)."""
    s, problems = settings, []

    def need(field: str, because: str) -> None:
        if not getattr(s, field):
            problems.append(f"{_env(field)} is missing ({because})")

    def url(field: str) -> None:
        value = getattr(s, field)
        if value and not _http_url(value):
            problems.append(f"{_env(field)}={value!r} is not an http(s) URL")

    url("public_url")
    if s.sendgrid_api_key:
        if not (s.secret("sendgrid_api_key") or "").startswith("SG."):
            problems.append(f"{_env('sendgrid_api_key')} does not look like a key (starts 'SG.')")
        url("sendgrid_host")
        if s.sendgrid_unsubscribe_group is not None and s.sendgrid_unsubscribe_group <= 0:
            problems.append(f"{_env('sendgrid_unsubscribe_group')} must be a positive group id")
        need("notice_from", "handoff notices to reps are emailed through SendGrid from it")
    if s.notice_from and (why := _email_problem(s.notice_from)):
        problems.append(f"{_env('notice_from')}={s.notice_from!r} is not an email address ({why})")
    # The auth token alone only verifies Twilio's webhooks; sending needs the SID and the number.
    twilio = ("twilio_account_sid", "twilio_auth_token", "twilio_from")
    if s.twilio_account_sid or s.twilio_from:
        for field in twilio:
            need(field, "SMS and voicemail through Twilio need an account SID, token and number")
        if s.twilio_account_sid and not TWILIO_SID.match(s.twilio_account_sid):
            problems.append(f"{_env('twilio_account_sid')} must be 'AC' and 32 hex digits")
        if s.twilio_from and not E164.match(s.twilio_from):
            problems.append(f"{_env('twilio_from')}={s.twilio_from!r} is not E.164 (+14155550123)")
        url("twilio_api_base")
        if not s.twilio_api_base and _http_url(s.public_url) and _loopback(s.public_url):
            problems.append(
                f"{_env('public_url')}={s.public_url!r} is on this machine: Twilio cannot fetch "
                "the voicemail TwiML or post status callbacks there"
            )
    if s.lob_api_key:
        if not (s.secret("lob_api_key") or "").startswith(("test_", "live_")):
            problems.append(f"{_env('lob_api_key')} does not look like a key (test_... / live_...)")
        url("lob_host")
        need("lob_from_address", "letters through Lob need a return address")
        if s.lob_from_address and not LOB_ADDRESS_ID.match(s.lob_from_address):
            problems.append(f"{_env('lob_from_address')} must be a Lob address id (adr_...)")
    for field in ("sendgrid_rate", "twilio_rate", "lob_rate"):
        rate = getattr(s, field)
        if rate is not None and rate <= 0:
            problems.append(f"{_env(field)} must be a positive number of sends per second")
    return problems


def check_config(settings: Settings) -> None:
    """Raise ``ConfigError`` listing every provider setting that is missing or malformed."""
    problems = config_problems(settings)
    if problems:
        raise ConfigError("provider configuration:\n" + "\n".join(f"  - {p}" for p in problems))
