"""The steps of a cadence: touches (email, call, voicemail, SMS, direct mail), waits, branches,
gotos and exits, and the delays between them, as pydantic models of marketing's YAML."""

from __future__ import annotations

from datetime import time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from nurture.events import Channel, EventKind

SLUG = r"^[a-z0-9][a-z0-9-]*$"
PHONE_CHANNELS = frozenset({Channel.call, Channel.voicemail, Channel.sms})

# Bounds (documented in cadences/README.md): past them a journey would overflow the calendar or
# never get anywhere, so the file is refused.
#: Longest delay in calendar time (any mix of days, hours, minutes, seconds): two years.
MAX_DELAY_DAYS = 730
#: Most business days in one delay (about a year).
MAX_BUSINESS_DAYS = 260
#: Most business hours in one delay (about a year of 8-hour days).
MAX_BUSINESS_HOURS = 2080
#: Most steps in one cadence.
MAX_STEPS = 200
#: Shortest pause between cycles, before a recycle, and around any loop of steps.
MIN_GAP = timedelta(days=1)


class FileModel(BaseModel):
    """Base of the cadence file's models: unknown keys are refused, values are frozen, numbers
    are finite."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class Outcome(StrEnum):
    """How a cadence ends for a lead."""

    finished = "finished"
    sales_ready = "sales_ready"
    recycle = "recycle"
    disqualified = "disqualified"


class Delay(FileModel):
    """A length of time: calendar (``days``, ``hours``, ``minutes``, ``seconds``) or business time
    (``business_days`` or ``business_hours``), optionally landing at a local time (``at``)."""

    days: float = Field(0, ge=0, le=MAX_DELAY_DAYS)
    hours: float = Field(0, ge=0, le=MAX_DELAY_DAYS * 24)
    minutes: float = Field(0, ge=0, le=MAX_DELAY_DAYS * 24 * 60)
    seconds: float = Field(0, ge=0, le=MAX_DELAY_DAYS * 24 * 3600)
    business_days: int | None = Field(None, ge=0, le=MAX_BUSINESS_DAYS)
    business_hours: float | None = Field(None, ge=0, le=MAX_BUSINESS_HOURS)
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
        days = self.days + self.hours / 24 + self.minutes / 1440 + self.seconds / 86400
        if days > MAX_DELAY_DAYS:
            raise ValueError(f"a delay is at most {MAX_DELAY_DAYS} days; this one is {days:g}")
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
        return self.calendar_span

    @cached_property
    def calendar_span(self) -> timedelta:
        """:meth:`calendar_part`, computed once (a delay is frozen; the engine asks often)."""
        return timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )

    def shortest(self) -> timedelta:
        """The least time this delay can take (a business day counts as a day, a business hour
        as an hour; landing at a time of day alone may take no time)."""
        if self.business_days is not None:
            return timedelta(days=self.business_days)
        if self.business_hours is not None:
            return timedelta(hours=self.business_hours)
        return self.calendar_part()

    def describe(self) -> str:
        """Plain words, e.g. '2 business days at 09:30'."""
        return self.words

    @cached_property
    def words(self) -> str:
        """:meth:`describe`, computed once (every wait's timeline line needs it)."""
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


class Variant(FileModel):
    """One arm of an A/B test: each lead gets one variant of the step, by weight."""

    id: str = Field(pattern=SLUG, description="Variant id, e.g. 'a' or 'short-subject'")
    weight: float = Field(1, gt=0, description="Relative share of leads (default 1)")
    template: str | None = Field(None, description="The variant's template (same channel folder)")
    content: str | None = Field(
        None, description="Inline text instead of a template (sms and voicemail only)"
    )

    @model_validator(mode="after")
    def _template_or_content(self) -> Variant:
        if (self.template is None) == (self.content is None):
            raise ValueError("a variant needs either a 'template' or a 'content', not both")
        return self

    def describe(self) -> str:
        """Its template, or the start of its inline text."""
        if self.template is not None:
            return self.template
        text = " ".join(str(self.content).split())
        return f"inline: {text[:40]}{'…' if len(text) > 40 else ''}"


class TouchParams(FileModel):
    """A message rendered from ``templates/<medium>/<template>``, optionally in A/B variants."""

    template: str = Field(description="Template name under the channel's templates folder")
    variants: list[Variant] | None = Field(
        None, min_length=2, description="A/B variants: each lead gets one, by weight"
    )

    @field_validator("variants")
    @classmethod
    def _unique_ids(cls, value: list[Variant] | None) -> list[Variant] | None:
        ids = [v.id for v in value or []]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise ValueError(f"variant ids must be unique: {', '.join(doubled)} repeated")
        return value


class DirectMailParams(TouchParams):
    """A letter or postcard rendered from ``templates/mail/<template>.html``."""

    format: Literal["letter", "postcard"] = "letter"


class CallTimeout(StrEnum):
    """What happens when nobody completes a call task by its due time."""

    skip = "skip"
    reassign = "reassign"
    escalate = "escalate"
    voicemail = "voicemail"


class CallParams(FileModel):
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


class WaitForParams(FileModel):
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


class FieldCondition(FileModel):
    """A test on a lead field (built-in like ``title`` or a CRM field)."""

    name: str
    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    present: bool | None = None


class Condition(FileModel):
    """All given tests must hold."""

    score_at_least: int | None = None
    score_below: int | None = None
    segment: list[str] | None = None
    field: FieldCondition | None = None
    last_disposition: list[EventKind] | None = None
    engaged: list[EventKind] | None = Field(
        None, description="True if any of these events happened in this cycle"
    )


class BranchCase(FileModel):
    """``when`` the condition holds, ``goto`` that step."""

    when: Condition
    goto: str


class BranchParams(FileModel):
    """The first case that holds decides; otherwise go to ``otherwise`` (default: next)."""

    cases: list[BranchCase] = Field(min_length=1)
    otherwise: str | None = None


class ExitParams(FileModel):
    """End the cadence for this lead."""

    outcome: Outcome = Outcome.finished


class StepBase(FileModel):
    kind: ClassVar[str]
    id: str | None = Field(None, pattern=SLUG, description="Step id, for goto and touch ids")


class EmailStep(StepBase):
    """Send an email."""

    kind: ClassVar[str] = "email"
    email: TouchParams


class CallStep(StepBase):
    """Create a call task for the team."""

    kind: ClassVar[str] = "call"
    call: CallParams


class VoicemailStep(StepBase):
    """Drop a voicemail."""

    kind: ClassVar[str] = "voicemail"
    voicemail: TouchParams


class SmsStep(StepBase):
    """Send a text message."""

    kind: ClassVar[str] = "sms"
    sms: TouchParams


class DirectMailStep(StepBase):
    """Send a letter or postcard."""

    kind: ClassVar[str] = "direct_mail"
    direct_mail: DirectMailParams


class WaitStep(StepBase):
    """Wait a while."""

    kind: ClassVar[str] = "wait"
    wait: Delay


class WaitForStep(StepBase):
    """Wait for engagement."""

    kind: ClassVar[str] = "wait_for"
    wait_for: WaitForParams


class BranchStep(StepBase):
    """Choose the next step."""

    kind: ClassVar[str] = "branch"
    branch: BranchParams


class GotoStep(StepBase):
    """Jump to a step."""

    kind: ClassVar[str] = "goto"
    goto: str


class ExitStep(StepBase):
    """End the cadence."""

    kind: ClassVar[str] = "exit"
    exit: ExitParams


STEP_KINDS: dict[str, type[StepBase]] = {
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
    if isinstance(value, StepBase):
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


def step_kind(step: StepBase) -> str:
    """The kind of a step: ``email``, ``wait_for``..."""
    return step.kind


def at_least(delay: Delay | None, shortest: timedelta, what: str) -> None:
    """Refuse a pause shorter than ``shortest`` (raises ValueError naming ``what``)."""
    if delay is not None and delay.shortest() < shortest:
        raise ValueError(
            f"{what} must be at least {_plural(shortest.days, 'day')}; "
            f"{delay.describe()!r} is shorter"
        )
