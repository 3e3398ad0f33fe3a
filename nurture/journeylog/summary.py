"""One row per lead, kept current as its milestones arrive: when it reached each funnel stage,
its cadence at enrolment, what was spent on it. The funnel, money and win-loss reports read
this table instead of scanning the whole log (``journey_leads``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.store import Base, UTCDateTime

__all__ = ["DISPOSITION_CONNECTS", "FUNNEL", "JourneyLeadRow", "apply"]

#: Call dispositions where a person answered (a conversation took rep time).
DISPOSITION_CONNECTS = frozenset(
    {"connected", "meeting_booked", "qualified", "not_interested", "call_back_later"}
)

#: The funnel's stages in order, each the summary column holding when the lead first got there.
FUNNEL = ("enrolled", "touched", "engaged", "sales_ready", "accepted", "opportunity", "won")
#: Which stage change sets which column.
STAGE_COLUMNS = {
    "engaged": "engaged_at",
    "sales_ready": "sales_ready_at",
    "accepted": "accepted_at",
    "opportunity": "opportunity_at",
    "won": "won_at",
    "lost": "lost_at",
    "recycled": "recycled_at",
    "opted_out": "opted_out_at",
}
#: Touch counters per channel.
CHANNEL_COLUMNS = {
    "email": "emails",
    "sms": "sms",
    "voicemail": "voicemails",
    "direct_mail": "letters",
    "call": "calls",
}


class JourneyLeadRow(Base):
    """A lead's way through the funnel, summed up from its milestones."""

    __tablename__ = "journey_leads"
    __table_args__ = (Index("ix_journey_leads_enrolled", "enrolled_at"),)

    lead_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    cadence: Mapped[str] = mapped_column(String(100), default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    segment: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(100), default="")
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    touched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    engaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sales_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opportunity_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    recycled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    amount: Mapped[float | None] = mapped_column(Float, default=None)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    touches: Mapped[int] = mapped_column(Integer, default=0)
    emails: Mapped[int] = mapped_column(Integer, default=0)
    sms: Mapped[int] = mapped_column(Integer, default=0)
    voicemails: Mapped[int] = mapped_column(Integer, default=0)
    letters: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    tasks_worked: Mapped[int] = mapped_column(Integer, default=0)
    #: Completed calls where a person answered; those of them with a recorded talk time;
    #: the recorded talk time of every completed call (seconds).
    connects: Mapped[int] = mapped_column(Integer, default=0)
    timed_connects: Mapped[int] = mapped_column(Integer, default=0)
    talk_seconds: Mapped[int] = mapped_column(Integer, default=0)


#: The call counters kept with the talk time.
COUNTERS = ("connects", "timed_connects", "talk_seconds")


def empty(lead_id: str) -> dict[str, Any]:
    """A lead's summary before any milestone."""
    values: dict[str, Any] = {c.name: None for c in JourneyLeadRow.__table__.columns}
    values.update(lead_id=lead_id, cadence="", version=0, segment="", source="")
    for column in ("touches", "tasks_worked", *COUNTERS, *CHANNEL_COLUMNS.values()):
        values[column] = 0
    return values


def _first(summary: dict[str, Any], column: str, at: datetime) -> None:
    if summary[column] is None or at < summary[column]:
        summary[column] = at


def apply(summary: dict[str, Any], m: dict[str, Any]) -> None:
    """Fold one new milestone (a journey_log row's values) into the lead's summary."""
    kind, at = m["kind"], m["at"]
    if kind == "enrolled":
        if summary["enrolled_at"] is None:
            summary.update(
                cadence=m["cadence"],
                version=m["version"],
                segment=m["segment"],
                source=m["source"],
            )
        _first(summary, "enrolled_at", at)
    elif kind == "touch_sent":
        summary["touches"] += 1
        column = CHANNEL_COLUMNS.get(m["channel"] or "")
        if column:
            summary[column] += 1
        _first(summary, "touched_at", at)
    elif kind == "stage" and m["to_stage"] in STAGE_COLUMNS:
        _first(summary, STAGE_COLUMNS[m["to_stage"]], at)
    elif kind in ("won", "lost"):
        summary["amount"] = m["amount"] if m["amount"] is not None else summary["amount"]
        summary["reason"] = m["reason"]
    elif kind == "opportunity" and m["amount"] is not None:
        summary["amount"] = m["amount"]
    elif kind == "handoff_declined" and summary["lost_at"] is None:
        summary["reason"] = m["reason"]
    elif kind == "task_completed":
        summary["tasks_worked"] += 1
        talk = m.get("talk_seconds")
        if talk is not None:
            summary["talk_seconds"] += talk
        if m["reason"] in DISPOSITION_CONNECTS:
            summary["connects"] += 1
            summary["timed_connects"] += talk is not None
    elif kind == "finished":
        summary["finished_at"] = at
