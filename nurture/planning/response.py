"""The response model of a forecast (``cadences/_response.yaml``): how leads answer each touch.

Rates are shares of the touches a lead gets, per channel, overridden per step
(``strategic/intro-email`` for one cadence's step, or ``intro-email`` for any cadence). Each
lead draws from its own random stream (seed and lead id), so a forecast is deterministic with
``--seed`` and does not depend on how leads are split between processes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from nurture.contracts import Touch
from nurture.events import Channel, EngagementEvent, EventKind
from nurture.yamlfiles import parse_model, read_file

RESPONSE_FILE = "_response.yaml"


class Rates(BaseModel):
    """Per touch: the share of leads that do each thing, and after how many hours."""

    model_config = ConfigDict(extra="forbid")

    open: float | None = Field(None, ge=0, le=1, description="email: opened")
    click: float | None = Field(None, ge=0, le=1, description="email: clicked (of all sent)")
    reply: float | None = Field(None, ge=0, le=1, description="email or SMS: replied")
    unsubscribe: float | None = Field(None, ge=0, le=1, description="email: unsubscribed")
    bounce: float | None = Field(None, ge=0, le=1, description="email: bounced")
    worked: float | None = Field(
        None, ge=0, le=1, description="call: the rep works the task before it times out"
    )
    connect: float | None = Field(
        None,
        ge=0,
        le=1,
        description="call: of worked tasks, reached the lead; voicemail: call back",
    )
    meeting: float | None = Field(None, ge=0, le=1, description="call: of connected, booked")
    stop: float | None = Field(None, ge=0, le=1, description="SMS: replied STOP")
    visit: float | None = Field(None, ge=0, le=1, description="direct mail: visited the site")
    delay_hours: dict[str, float] = Field(
        default_factory=dict,
        description="Hours after the touch, per action (open, click, reply, call, visit ...)",
    )


class SalesRates(BaseModel):
    """What sales makes of a sales-ready lead (for the expected opportunities)."""

    model_config = ConfigDict(extra="forbid")

    accept: float = Field(0.7, ge=0, le=1, description="Share of handoffs sales accepts")
    opportunity: float = Field(0.4, ge=0, le=1, description="Share of accepted that open one")


class ResponseModel(BaseModel):
    """How leads answer touches: defaults per channel, overrides per step."""

    model_config = ConfigDict(extra="forbid")

    channels: dict[Channel, Rates] = Field(default_factory=dict)
    steps: dict[str, Rates] = Field(default_factory=dict)
    sales: SalesRates = Field(default_factory=SalesRates)

    def rates(self, cadence: str, step: str, channel: Channel) -> Rates:
        """The rates of one step: the step's own (by ``cadence/step`` or ``step``) over the
        channel's."""
        base = self.channels.get(channel, Rates())
        merged = base.model_dump(exclude_none=True)
        delays = dict(base.delay_hours)
        for key in (step, f"{cadence}/{step}"):
            own = self.steps.get(key)
            if own is not None:
                merged.update(own.model_dump(exclude_none=True, exclude={"delay_hours"}))
                delays.update(own.delay_hours)
        merged["delay_hours"] = delays
        return Rates.model_validate(merged)


#: Hours after the touch when nothing says otherwise.
DEFAULT_DELAYS = {
    "open": 3.0,
    "click": 4.0,
    "reply": 20.0,
    "unsubscribe": 5.0,
    "bounce": 0.1,
    "call": 2.0,
    "stop": 1.0,
    "visit": 72.0,
}


def load_response(path: Path) -> ResponseModel:
    """Read a response model file (located errors on a bad one)."""
    return parse_model(read_file(path), str(path), ResponseModel, "a response file")


@dataclass
class Responder:
    """Draws each lead's answers to its touches from the response model."""

    model: ResponseModel
    seed: int = 0

    def __post_init__(self) -> None:
        self._cache: dict[tuple[str, str, Channel], Rates] = {}

    def stream(self, lead_id: str) -> random.Random:
        """The lead's own random stream."""
        return random.Random(f"{self.seed}:{lead_id}")

    def _rates(self, touch: Touch) -> Rates:
        key = (touch.cadence, touch.step_id, touch.channel)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.model.rates(*key)
        return found

    def answer(self, rng: random.Random, touch: Touch, now: datetime) -> list[EngagementEvent]:
        """The events one touch causes for one lead."""
        r = self._rates(touch)
        out: list[tuple[EventKind, str]] = []
        channel = touch.channel
        if channel is Channel.email:
            if _hit(rng, r.bounce):
                out.append((EventKind.email_bounce, "bounce"))
            elif _hit(rng, r.open):
                opened = r.open or 1.0
                out.append((EventKind.email_open, "open"))
                if _hit(rng, _given(r.click, opened)):
                    out.append((EventKind.email_click, "click"))
                if _hit(rng, _given(r.reply, opened)):
                    out.append((EventKind.email_reply, "reply"))
                elif _hit(rng, _given(r.unsubscribe, opened)):
                    out.append((EventKind.email_unsubscribe, "unsubscribe"))
        elif channel is Channel.call:
            if _hit(rng, r.worked):
                if _hit(rng, r.connect):
                    kind = (
                        EventKind.call_meeting_booked
                        if _hit(rng, r.meeting)
                        else EventKind.call_connected
                    )
                    out.append((kind, "call"))
                else:
                    out.append((EventKind.call_no_answer, "call"))
        elif channel is Channel.voicemail:
            if _hit(rng, r.connect):
                out.append((EventKind.call_connected, "call"))
        elif channel is Channel.sms:
            if _hit(rng, r.reply):
                out.append((EventKind.sms_reply, "reply"))
            elif _hit(rng, r.stop):
                out.append((EventKind.sms_stop, "stop"))
        elif channel is Channel.direct_mail and _hit(rng, r.visit):
            out.append((EventKind.web_visit, "visit"))
        return [
            EngagementEvent(
                id=f"{touch.touch_id}:{kind.value}",
                kind=kind,
                lead_id=touch.lead.id,
                at=now + timedelta(hours=r.delay_hours.get(action, DEFAULT_DELAYS[action])),
                touch_id=touch.touch_id,
                points=None,
                data={},
            )
            for kind, action in out
        ]


def _hit(rng: random.Random, rate: float | None) -> bool:
    return bool(rate) and rng.random() < (rate or 0.0)


def _given(rate: float | None, opened: float) -> float:
    """A share of all sent, as a share of the opened (capped at 1)."""
    return min(1.0, (rate or 0.0) / opened) if opened else 0.0
