"""Engagement events: the one model shared by webhooks, the call desk, the CLI and the workflow."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field


class Channel(StrEnum):
    """A medium a touch goes out on."""

    email = "email"
    call = "call"
    voicemail = "voicemail"
    sms = "sms"
    direct_mail = "direct_mail"


class EventKind(StrEnum):
    """What a lead did, or what happened to a touch; ``<medium>.<what>``."""

    email_delivered = "email.delivered"
    email_open = "email.open"
    email_click = "email.click"
    email_reply = "email.reply"
    email_bounce = "email.bounce"
    email_unsubscribe = "email.unsubscribe"
    email_spam_report = "email.spam_report"
    call_connected = "call.connected"
    call_voicemail_left = "call.voicemail_left"
    call_no_answer = "call.no_answer"
    call_wrong_number = "call.wrong_number"
    call_do_not_call = "call.do_not_call"
    call_meeting_booked = "call.meeting_booked"
    call_not_interested = "call.not_interested"
    call_back_later = "call.call_back_later"
    call_qualified = "call.qualified"
    voicemail_delivered = "voicemail.delivered"
    sms_delivered = "sms.delivered"
    sms_reply = "sms.reply"
    sms_stop = "sms.stop"
    mail_delivered = "mail.delivered"
    mail_returned = "mail.returned"
    form_submitted = "form.submitted"
    web_visit = "web.visit"
    score_adjusted = "score.adjusted"
    touch_confirmed = "touch.confirmed"  # a provider proved an ``unknown`` touch went out

    @property
    def is_call_outcome(self) -> bool:
        """True for the dispositions that complete a call task."""
        return self.value.startswith("call.")


#: Events that show the lead paying attention (they move a lead from nurturing to engaged).
ENGAGEMENT_KINDS: frozenset[EventKind] = frozenset(
    {
        EventKind.email_open,
        EventKind.email_click,
        EventKind.email_reply,
        EventKind.call_connected,
        EventKind.call_meeting_booked,
        EventKind.call_qualified,
        EventKind.sms_reply,
        EventKind.form_submitted,
        EventKind.web_visit,
    }
)


class EngagementEvent(BaseModel):
    """One thing that happened to a lead; ``id`` makes re-deliveries harmless."""

    id: str = Field(min_length=1, max_length=200, description="Unique event id (idempotency key)")
    kind: EventKind
    lead_id: str
    at: AwareDatetime
    touch_id: str | None = Field(None, description="The touch this event answers, if any")
    points: int | None = Field(None, description="Score change, for score.adjusted")
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
