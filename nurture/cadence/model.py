"""The cadence file: pydantic models of marketing's YAML, loading, and located validation.

A cadence is a list of steps run once per cycle. See ``cadences/README.md`` for the annotated format
and ``nurture cadence schema`` for its JSON Schema.
"""

from __future__ import annotations

from datetime import time, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nurture.calendar import DAY_NAMES, DailyWindow, intersect, parse_window
from nurture.events import Channel, EventKind
from nurture.lead import InputCountry, InputTimeZone, e164_number, from_input
from nurture.yamlfiles import parse_model

SLUG = r"^[a-z0-9][a-z0-9-]*$"
#: The widest window in which calls, voicemail drops and texts may reach a lead (local time).
LEGAL_CONTACT_HOURS = "08:00-21:00"
PHONE_CHANNELS = frozenset({Channel.call, Channel.voicemail, Channel.sms})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Outcome(StrEnum):
    """How a cadence ends for a lead."""

    finished = "finished"
    sales_ready = "sales_ready"
    recycle = "recycle"
    disqualified = "disqualified"


class Delay(_Model):
    """A length of time: calendar (``days``, ``hours``, ``minutes``, ``seconds``) or business time
    (``business_days`` or ``business_hours``), optionally landing at a local time (``at``)."""

    days: float = Field(0, ge=0)
    hours: float = Field(0, ge=0)
    minutes: float = Field(0, ge=0)
    seconds: float = Field(0, ge=0)
    business_days: int | None = Field(None, ge=0)
    business_hours: float | None = Field(None, ge=0)
    at: time | None = Field(None, description="Local time of day to land at, e.g. '09:30'")

    @field_validator("at", mode="before")
    @classmethod
    def _wall_time(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str | time):
            raise ValueError('write a time of day in quotes, e.g. at: "09:30"')
        return value

    @field_validator("at")
    @classmethod
    def _naive(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("a time of day is local to the lead: leave out the time zone")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Delay:
        calendar = self.calendar_part() > timedelta(0)
        business = [self.business_days is not None, self.business_hours is not None]
        if sum(business) + calendar > 1:
            raise ValueError(
                "use either calendar time, business_days or business_hours, not several"
            )
        if self.business_hours is not None and self.at is not None:
            raise ValueError("'at' goes with days or business_days, not business_hours")
        if not (calendar or self.business_days or self.business_hours or self.at):
            raise ValueError("a delay must be longer than zero (or name a time of day with 'at')")
        return self

    def calendar_part(self) -> timedelta:
        """The calendar-time part as a timedelta."""
        return timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )

    def describe(self) -> str:
        """Plain words, e.g. '2 business days at 09:30'."""
        if self.business_days is not None:
            text = _plural(self.business_days, "business day")
        elif self.business_hours is not None:
            text = _plural(self.business_hours, "business hour")
        else:
            parts = [
                _plural(v, unit)
                for v, unit in (
                    (self.days, "day"),
                    (self.hours, "hour"),
                    (self.minutes, "minute"),
                    (self.seconds, "second"),
                )
                if v
            ]
            text = " ".join(parts)
        if self.at is not None:
            text = f"{text} at {self.at:%H:%M}" if text else f"until {self.at:%H:%M}"
        return text


def _plural(value: float, unit: str) -> str:
    number = int(value) if float(value).is_integer() else value
    return f"{number} {unit}{'' if number == 1 else 's'}"


# ---------------------------------------------------------------- steps


class TouchParams(_Model):
    """A message rendered from ``templates/<medium>/<template>``."""

    template: str = Field(description="Template name under the channel's templates folder")


class DirectMailParams(TouchParams):
    """A letter or postcard rendered from ``templates/mail/<template>.html``."""

    format: Literal["letter", "postcard"] = "letter"


class CallTimeout(StrEnum):
    """What happens when nobody completes a call task by its due time."""

    skip = "skip"
    reassign = "reassign"
    escalate = "escalate"
    voicemail = "voicemail"


class CallParams(_Model):
    """A call task for a person on the teleprospecting team."""

    script: str = Field(description="Call script under templates/call/")
    queue: str = Field(pattern=SLUG, description="The team queue the task lands in")
    assign: Literal["owner", "round_robin"] = "owner"
    due: Delay = Field(
        default_factory=lambda: Delay(business_days=1), description="How long the team has"
    )
    on_timeout: CallTimeout = CallTimeout.skip
    voicemail: str | None = Field(None, description="Voicemail template when on_timeout=voicemail")

    @model_validator(mode="after")
    def _voicemail_named(self) -> CallParams:
        if self.on_timeout is CallTimeout.voicemail and not self.voicemail:
            raise ValueError("on_timeout: voicemail needs a 'voicemail' template")
        return self


class WaitForParams(_Model):
    """Wait for engagement: any (or all) of some events within a time, then branch."""

    any: list[EventKind] | None = None
    all: list[EventKind] | None = None
    within: Delay
    then: str | None = Field(None, description="Step when the events came (default: next)")
    else_: str | None = Field(
        None, alias="else", description="Step when time ran out (default: next)"
    )

    @model_validator(mode="after")
    def _one_list(self) -> WaitForParams:
        if bool(self.any) == bool(self.all):
            raise ValueError("wait_for needs exactly one non-empty list: 'any' or 'all'")
        return self

    @property
    def kinds(self) -> list[EventKind]:
        """The events waited for."""
        return list(self.any or self.all or [])


class FieldCondition(_Model):
    """A test on a lead field (built-in like ``title`` or a CRM field)."""

    name: str
    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    present: bool | None = None


class Condition(_Model):
    """All given tests must hold."""

    score_at_least: int | None = None
    score_below: int | None = None
    segment: list[str] | None = None
    field: FieldCondition | None = None
    last_disposition: list[EventKind] | None = None
    engaged: list[EventKind] | None = Field(
        None, description="True if any of these events happened in this cycle"
    )


class BranchCase(_Model):
    """``when`` the condition holds, ``goto`` that step."""

    when: Condition
    goto: str


class BranchParams(_Model):
    """The first case that holds decides; otherwise go to ``otherwise`` (default: next)."""

    cases: list[BranchCase] = Field(min_length=1)
    otherwise: str | None = None


class ExitParams(_Model):
    """End the cadence for this lead."""

    outcome: Outcome = Outcome.finished


class _StepBase(_Model):
    kind: ClassVar[str]
    id: str | None = Field(None, pattern=SLUG, description="Step id, for goto and touch ids")


class EmailStep(_StepBase):
    """Send an email."""

    kind: ClassVar[str] = "email"
    email: TouchParams


class CallStep(_StepBase):
    """Create a call task for the team."""

    kind: ClassVar[str] = "call"
    call: CallParams


class VoicemailStep(_StepBase):
    """Drop a voicemail."""

    kind: ClassVar[str] = "voicemail"
    voicemail: TouchParams


class SmsStep(_StepBase):
    """Send a text message."""

    kind: ClassVar[str] = "sms"
    sms: TouchParams


class DirectMailStep(_StepBase):
    """Send a letter or postcard."""

    kind: ClassVar[str] = "direct_mail"
    direct_mail: DirectMailParams


class WaitStep(_StepBase):
    """Wait a while."""

    kind: ClassVar[str] = "wait"
    wait: Delay


class WaitForStep(_StepBase):
    """Wait for engagement."""

    kind: ClassVar[str] = "wait_for"
    wait_for: WaitForParams


class BranchStep(_StepBase):
    """Choose the next step."""

    kind: ClassVar[str] = "branch"
    branch: BranchParams


class GotoStep(_StepBase):
    """Jump to a step."""

    kind: ClassVar[str] = "goto"
    goto: str


class ExitStep(_StepBase):
    """End the cadence."""

    kind: ClassVar[str] = "exit"
    exit: ExitParams


STEP_KINDS: dict[str, type[_StepBase]] = {
    "email": EmailStep,
    "call": CallStep,
    "voicemail": VoicemailStep,
    "sms": SmsStep,
    "direct_mail": DirectMailStep,
    "wait": WaitStep,
    "wait_for": WaitForStep,
    "branch": BranchStep,
    "goto": GotoStep,
    "exit": ExitStep,
}
TOUCH_KINDS: dict[str, Channel] = {
    "email": Channel.email,
    "call": Channel.call,
    "voicemail": Channel.voicemail,
    "sms": Channel.sms,
    "direct_mail": Channel.direct_mail,
}


def _step_kind(value: Any) -> str | None:
    if isinstance(value, _StepBase):
        return value.kind
    if isinstance(value, dict):
        found = [k for k in value if k in STEP_KINDS]
        return found[0] if len(found) == 1 else None
    return None


Step = Annotated[
    Annotated[EmailStep, Tag("email")]
    | Annotated[CallStep, Tag("call")]
    | Annotated[VoicemailStep, Tag("voicemail")]
    | Annotated[SmsStep, Tag("sms")]
    | Annotated[DirectMailStep, Tag("direct_mail")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[WaitForStep, Tag("wait_for")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[GotoStep, Tag("goto")]
    | Annotated[ExitStep, Tag("exit")],
    Discriminator(_step_kind),
]


def step_kind(step: _StepBase) -> str:
    """The kind of a step: ``email``, ``wait_for``..."""
    return step.kind


# ---------------------------------------------------------------- cadence


class Audience(_Model):
    """Who the cadence is for; enrolment without ``--cadence`` routes by segment."""

    segments: list[str] = Field(default_factory=list)
    default: bool = Field(False, description="Take leads whose segment no cadence names")


class Sender(_Model):
    """Who emails come from."""

    name: str
    email: str
    reply_to: str | None = None


def _weekdays(window: str) -> dict[str, str | None]:
    return dict.fromkeys(DAY_NAMES[:5], window)


class CalendarConfig(_Model):
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

    def channel_window(self, channel: Channel) -> dict[int, DailyWindow]:
        """When a channel may reach the lead, per weekday (capped for phone channels)."""
        return self._channel_windows[channel]

    @cached_property
    def _channel_windows(self) -> dict[Channel, dict[int, DailyWindow]]:
        return {channel: self._window_of(channel) for channel in Channel}

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


class Limits(_Model):
    """Per-lead contact limits (they count touches from every cadence the lead has been in)."""

    max_touches_per_week: int | None = Field(None, ge=1, description="Across all channels")
    max_per_channel_per_day: int | None = Field(
        None, ge=1, description="Touches per channel per local day (1 = at most one email a day)"
    )
    quiet_after_conversation: Delay | None = Field(
        None, description="No touch for this long after a live conversation (call connected)"
    )


class ExitRule(_Model):
    """When any of ``events`` happens, the cadence ends with ``outcome``."""

    events: list[EventKind] = Field(min_length=1)
    outcome: Outcome = Outcome.sales_ready


class Cycles(_Model):
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


class Cadence(_Model):
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
    steps: list[Step] = Field(min_length=1)

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

    def touch_count(self) -> int:
        """Touch steps in one cycle."""
        return self.touch_numbers[-1] if self.steps else 0


# ---------------------------------------------------------------- loading and validation


def parse_cadence(text: str, file: str = "<cadence>") -> Cadence:
    """Parse and check the shape of one cadence; raises ``FileError`` with located problems."""
    return parse_model(text, file, Cadence, "a cadence file", tuple(STEP_KINDS))


def load_cadence(path: Path) -> Cadence:
    """Load one cadence file (shape only; see ``check_files`` for the full validation)."""
    return parse_cadence(path.read_text(encoding="utf-8"), str(path))


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


def _targets(step: _StepBase) -> list[tuple[tuple[Any, ...], str | None]]:
    """Where a step can jump to, with the location of each reference."""
    if isinstance(step, GotoStep):
        return [(("goto",), step.goto)]
    if isinstance(step, WaitForStep):
        return [
            (("wait_for", "then"), step.wait_for.then),
            (("wait_for", "else"), step.wait_for.else_),
        ]
    if isinstance(step, BranchStep):
        refs = [(("branch", "cases", i, "goto"), c.goto) for i, c in enumerate(step.branch.cases)]
        return [*refs, (("branch", "otherwise"), step.branch.otherwise)]
    return []


def successors(cadence: Cadence, index: int) -> list[int]:
    """Positions a step can lead to (``len(steps)`` = end of cycle)."""
    step = cadence.steps[index]
    ids = cadence.step_index
    following = index + 1
    if isinstance(step, ExitStep):
        return []
    if isinstance(step, GotoStep):
        return [ids[step.goto]] if step.goto in ids else []
    nexts = [following]
    refs = [target for _, target in _targets(step)]
    if isinstance(step, BranchStep) and step.branch.otherwise:
        nexts = []
    return sorted({*nexts, *(ids[t] for t in refs if t in ids)})


def _takes_time(step: _StepBase) -> bool:
    return isinstance(step, WaitStep | WaitForStep | CallStep)


def check_cadence(cadence: Cadence) -> list[tuple[tuple[Any, ...], str]]:
    """Checks beyond the shape: duplicate ids, jumps to nowhere, loops that never wait."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    seen: dict[str, int] = {}
    for i, step in enumerate(cadence.steps):
        assert step.id is not None
        if step.id in seen:
            problems.append(
                (
                    ("steps", i, "id"),
                    f"duplicate step id {step.id!r} (also step {seen[step.id] + 1})",
                )
            )
        seen.setdefault(step.id, i)
    for i, step in enumerate(cadence.steps):
        for where, target in _targets(step):
            if target is not None and target not in seen:
                problems.append((("steps", i, *where), f"no step with id {target!r}"))
    # A loop among steps that take no time would send touches (or spin) without end.
    untimed = {i for i, s in enumerate(cadence.steps) if not _takes_time(s)}
    graph = {i: [j for j in successors(cadence, i) if j in untimed] for i in untimed}
    for loop in _cycles(graph):
        ids = " -> ".join(str(cadence.steps[i].id) for i in [*loop, loop[0]])
        problems.append((("steps", loop[0]), f"loop without a wait: {ids}"))
    return problems


def _cycles(graph: dict[int, list[int]]) -> list[list[int]]:
    """One representative loop per strongly connected group (iterative DFS)."""
    state: dict[int, int] = {}
    loops: list[list[int]] = []
    for start in graph:
        if start in state:
            continue
        stack: list[tuple[int, int]] = [(start, 0)]
        path: list[int] = []
        while stack:
            node, edge = stack.pop()
            if edge == 0:
                state[node] = 1
                path.append(node)
            nexts = graph[node]
            if edge < len(nexts):
                stack.append((node, edge + 1))
                nxt = nexts[edge]
                if state.get(nxt) == 1:
                    loops.append(path[path.index(nxt) :])
                elif nxt not in state:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return loops
