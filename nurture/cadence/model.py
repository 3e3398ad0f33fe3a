"""The cadence file: its settings (audience, sender, calendar, limits, cycles), loading, finding.

A cadence is a list of steps (``nurture.cadence.steps``) run once per cycle. See
``cadences/README.md`` for the annotated format and ``nurture cadence schema`` for its JSON Schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nurture.cadence.steps import (
    MAX_STEPS,
    MIN_GAP,
    PHONE_CHANNELS,
    SLUG,
    STEP_KINDS,
    TOUCH_KINDS,
    Delay,
    FileModel,
    Outcome,
    Step,
    at_least,
)
from nurture.calendar import DAY_NAMES, DailyWindow, intersect, parse_window
from nurture.events import Channel, EventKind
from nurture.lead import InputCountry, InputTimeZone, e164_number, from_input
from nurture.yamlfiles import parse_model, read_file

#: The widest window in which calls, voicemail drops and texts may reach a lead (local time).
LEGAL_CONTACT_HOURS = "08:00-21:00"


class Audience(FileModel):
    """Who the cadence is for; enrolment without ``--cadence`` routes by segment."""

    segments: list[str] = Field(default_factory=list)
    default: bool = Field(False, description="Take leads whose segment no cadence names")


class Sender(FileModel):
    """Who emails come from."""

    name: str
    email: str
    reply_to: str | None = None


def _weekdays(window: str) -> dict[str, str | None]:
    return dict.fromkeys(DAY_NAMES[:5], window)


class CalendarConfig(FileModel):
    """Business time in the lead's zone: hours per weekday, holidays, hours per channel."""

    timezone: InputTimeZone = Field("America/New_York", description="When the lead has none")
    country: InputCountry = Field("US", description="Holiday calendar when the lead has none")
    subdivision: str | None = Field(None, description="State/province holidays, e.g. 'CA'")
    business_hours: dict[str, str | None] = Field(
        default_factory=lambda: _weekdays("09:00-17:00"),
        description="Per weekday (mon..sun) 'HH:MM-HH:MM'; a missing day is closed",
    )
    channel_hours: dict[Channel, str] = Field(
        default_factory=dict,
        description="Allowed local hours per channel on business days (default: business hours)",
    )
    jitter_minutes: int = Field(
        10, ge=0, le=240, description="Spread timed waits so leads don't all wake at once"
    )
    caller_id: str | None = Field(
        None,
        description="E.164 number voicemail drops and texts come from (a number of the Twilio "
        "account); default NURTURE_TWILIO_FROM",
    )

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        return e164_number(value, "caller id") if from_input(info) else value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for day, window in value.items():
            if day not in DAY_NAMES:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(DAY_NAMES)}")
            if window is not None:
                parse_window(window)
        if not any(value.values()):
            raise ValueError(
                "no open business time: give at least one weekday its hours, e.g. mon: 09:00-17:00"
            )
        return value

    @field_validator("channel_hours")
    @classmethod
    def _channel_hours(cls, value: dict[Channel, str]) -> dict[Channel, str]:
        legal = parse_window(LEGAL_CONTACT_HOURS)
        for channel, text in value.items():
            window = parse_window(text)
            if channel in PHONE_CHANNELS and intersect(window, legal) != window:
                raise ValueError(
                    f"{channel} may only reach leads between {LEGAL_CONTACT_HOURS} local time; "
                    f"{text!r} is wider"
                )
        return value

    @cached_property
    def weekly_hours(self) -> dict[int, DailyWindow]:
        """Business hours as weekday -> window."""
        return {
            DAY_NAMES.index(day): parse_window(text)
            for day, text in self.business_hours.items()
            if text
        }

    def channel_window(self, channel: Channel) -> Mapping[int, DailyWindow]:
        """When a channel may reach the lead, per weekday (capped for phone channels).

        Read-only, and the same object every time: a calendar checks it once and remembers it.
        """
        return self._channel_windows[channel]

    @cached_property
    def _channel_windows(self) -> dict[Channel, Mapping[int, DailyWindow]]:
        return {channel: MappingProxyType(self._window_of(channel)) for channel in Channel}

    def _window_of(self, channel: Channel) -> dict[int, DailyWindow]:
        configured = self.channel_hours.get(channel)
        legal = parse_window(LEGAL_CONTACT_HOURS) if channel in PHONE_CHANNELS else None
        windows: dict[int, DailyWindow] = {}
        for day, hours in self.weekly_hours.items():
            window: DailyWindow | None = parse_window(configured) if configured else hours
            if legal is not None and window is not None:
                window = intersect(window, legal)
            if window is not None:
                windows[day] = window
        return windows


class Limits(FileModel):
    """Per-lead contact limits (they count touches from every cadence the lead has been in)."""

    max_touches_per_week: int | None = Field(None, ge=1, description="Across all channels")
    max_per_channel_per_day: int | None = Field(
        None, ge=1, description="Touches per channel per local day (1 = at most one email a day)"
    )
    quiet_after_conversation: Delay | None = Field(
        None, description="No touch for this long after a live conversation (call connected)"
    )


class ExitRule(FileModel):
    """When any of ``events`` happens, the cadence ends with ``outcome``."""

    events: list[EventKind] = Field(min_length=1)
    outcome: Outcome = Outcome.sales_ready


class Cycles(FileModel):
    """How often the steps run, and what follows the last cycle."""

    count: int = Field(1, ge=1, le=24)
    gap: Delay | None = Field(None, description="Pause between cycles")
    after_last: Literal["finish", "recycle"] = "finish"
    recycle_to: str | None = Field(
        None, description="Cadence to recycle into (after the last cycle or an exit to recycle)"
    )
    cool_down: Delay | None = Field(None, description="Pause before the recycle cadence starts")

    @model_validator(mode="after")
    def _coherent(self) -> Cycles:
        if self.count > 1 and self.gap is None:
            raise ValueError("several cycles need a 'gap'")
        if self.after_last == "recycle" and not (self.recycle_to and self.cool_down):
            raise ValueError("after_last: recycle needs 'recycle_to' and 'cool_down'")
        if self.recycle_to and not self.cool_down:
            raise ValueError("'recycle_to' needs a 'cool_down'")
        at_least(self.gap, MIN_GAP, "the gap between cycles")
        at_least(self.cool_down, MIN_GAP, "the cool-down before a recycle")
        return self


DEFAULT_STOP_ON: dict[Channel, list[EventKind]] = {
    Channel.email: [
        EventKind.email_bounce,
        EventKind.email_unsubscribe,
        EventKind.email_spam_report,
    ],
    Channel.call: [EventKind.call_do_not_call, EventKind.call_wrong_number],
    Channel.voicemail: [EventKind.call_do_not_call, EventKind.call_wrong_number],
    Channel.sms: [EventKind.sms_stop, EventKind.call_wrong_number],
    Channel.direct_mail: [EventKind.mail_returned],
}
DEFAULT_EXIT_ON = [
    ExitRule(
        events=[
            EventKind.email_reply,
            EventKind.sms_reply,
            EventKind.call_meeting_booked,
            EventKind.call_qualified,
        ],
        outcome=Outcome.sales_ready,
    )
]


class Cadence(FileModel):
    """A cadence file: which touches, waits and branches a lead goes through, cycle after cycle."""

    name: str = Field(pattern=SLUG)
    version: int = Field(ge=1, description="Bump on every change; running leads keep theirs")
    description: str = ""
    audience: Audience = Field(default_factory=Audience)
    sender: Sender | None = None
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    limits: Limits = Field(default_factory=Limits)
    exit_on: list[ExitRule] = Field(default_factory=lambda: list(DEFAULT_EXIT_ON))
    stop_on: dict[Channel, list[EventKind]] = Field(
        default_factory=dict,
        description="Per channel: events that stop it (a listed channel replaces its default)",
    )
    cycles: Cycles = Field(default_factory=Cycles)
    sample_lead: dict[str, str] = Field(
        default_factory=dict, description="CRM fields for rendering templates during validation"
    )
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _name_steps(self) -> Cadence:
        for index, step in enumerate(self.steps):
            if step.id is None:
                object.__setattr__(step, "id", f"step-{index + 1}")
        return self

    @cached_property
    def stop_rules(self) -> dict[Channel, list[EventKind]]:
        """Stop rules with the defaults filled in."""
        return {**DEFAULT_STOP_ON, **self.stop_on}

    @cached_property
    def step_index(self) -> dict[str, int]:
        """Step id -> position."""
        return {step.id: i for i, step in enumerate(self.steps) if step.id}

    @cached_property
    def touch_numbers(self) -> list[int]:
        """Per position: how many touch steps stand up to and including it ('Email 3/12')."""
        numbers, count = [], 0
        for step in self.steps:
            count += step.kind in TOUCH_KINDS
            numbers.append(count)
        return numbers

    @cached_property
    def sender_fields(self) -> dict[str, Any] | None:
        """The sender as a touch carries it (each touch validates its own copy)."""
        return self.sender.model_dump() if self.sender else None

    def touch_count(self) -> int:
        """Touch steps in one cycle."""
        return self.touch_numbers[-1] if self.steps else 0


# ---------------------------------------------------------------- loading and validation


def parse_cadence(text: str, file: str = "<cadence>") -> Cadence:
    """Parse and check the shape of one cadence; raises ``FileError`` with located problems."""
    return parse_model(text, file, Cadence, "a cadence file", tuple(STEP_KINDS))


def load_cadence(path: Path) -> Cadence:
    """Load one cadence file (shape only; see ``check_files`` for the full validation)."""
    return parse_cadence(read_file(path), str(path))


#: Files beside the cadences that are not cadences: the scoring model, sales rules, teams.
RULE_FILES = frozenset({"scoring", "sales", "teams"})


def cadence_files(directory: Path) -> list[Path]:
    """The cadence files in a folder (``*.yaml``/``*.yml``, not the scoring model)."""
    return sorted(
        p
        for p in [*directory.glob("*.yaml"), *directory.glob("*.yml")]
        if not p.name.startswith("_") and p.stem not in RULE_FILES
    )


def find_cadence(directory: Path, name: str) -> Cadence:
    """Load the cadence called ``name`` from a folder."""
    for path in cadence_files(directory):
        if path.stem == name:
            return load_cadence(path)
    known = ", ".join(p.stem for p in cadence_files(directory)) or "none"
    raise LookupError(f"no cadence named {name!r} in {directory} (known: {known})")
