"""What a forecast's touches cost (``cadences/_costs.yaml``) and how much the call desk can do
(its reps' working hours from the roster, ``cadences/_teams.yaml``)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from nurture.calendar import DailyWindow
from nurture.events import Channel
from nurture.roster.file import ROSTER_FILE, read_roster
from nurture.roster.hours import parse_hours
from nurture.yamlfiles import parse_model, read_file

COSTS_FILE = "_costs.yaml"


class MailPrices(BaseModel):
    """Direct mail per piece."""

    model_config = ConfigDict(extra="forbid")

    letter: float = Field(1.35, ge=0)
    postcard: float = Field(0.72, ge=0)


class Costs(BaseModel):
    """Prices per touch and the call desk's time."""

    model_config = ConfigDict(extra="forbid")

    currency: str = "USD"
    email: float = Field(0.0012, ge=0)
    sms: float = Field(0.0083, ge=0)
    voicemail: float = Field(0.045, ge=0)
    direct_mail: MailPrices = Field(default_factory=MailPrices)
    call_task_minute: float = Field(0.85, ge=0, description="Rep time, per minute")
    call_task_minutes: float = Field(6, ge=0, description="Minutes per call task worked")
    conversation_minutes: float = Field(12, ge=0, description="Extra minutes when connected")
    call_time_share: float = Field(
        0.6, gt=0, le=1, description="Share of a rep's working hours spent on call tasks"
    )

    def touch_price(self, channel: Channel, mail_format: str | None = None) -> float:
        """The price of one touch (call tasks cost rep time, counted apart)."""
        if channel is Channel.direct_mail:
            return (
                self.direct_mail.postcard if mail_format == "postcard" else self.direct_mail.letter
            )
        return {
            Channel.email: self.email,
            Channel.sms: self.sms,
            Channel.voicemail: self.voicemail,
        }.get(channel, 0.0)


def load_costs(path: Path) -> Costs:
    """Read a costs file (located errors on a bad one); defaults when it does not exist."""
    if not path.exists():
        return Costs()
    return parse_model(read_file(path), str(path), Costs, "a costs file")


def _minutes(window: DailyWindow) -> float:
    end = 24 * 60 if window.end == time.max else window.end.hour * 60 + window.end.minute
    return end - (window.start.hour * 60 + window.start.minute)


class Desk(BaseModel):
    """Working minutes per weekday of each call-task queue's reps."""

    queues: dict[str, list[float]] = Field(default_factory=dict)
    reps: dict[str, int] = Field(default_factory=dict)

    def minutes(self, queue: str, day: date) -> float:
        """The queue's reps' working minutes on a day (0 for a queue nobody works)."""
        week = self.queues.get(queue)
        return week[day.weekday()] if week else 0.0


def load_desk(cadences_dir: Path) -> Desk:
    """The desk's capacity from the roster beside the cadences (empty without one)."""
    path = cadences_dir / ROSTER_FILE
    desk = Desk()
    if not path.exists():
        return desk
    _, reps = read_roster(path)
    for rep in reps:
        if "rep" not in rep.roles or not rep.active:
            continue
        week = desk.queues.setdefault(rep.queue, [0.0] * 7)
        for weekday, window in parse_hours(rep.hours).items():
            week[weekday] += _minutes(window)
        desk.reps[rep.queue] = desk.reps.get(rep.queue, 0) + 1
    return desk


def day_of(at: datetime) -> date:
    """The day a forecast counts a moment on (UTC)."""
    return at.date()
