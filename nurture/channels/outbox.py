"""The local outbox: the embedded default for every channel; a 'sent' touch is a store row."""

from __future__ import annotations

from typing import Any

from nurture.cadence.render import Rendered
from nurture.contracts import Touch, TouchResult
from nurture.events import Channel
from nurture.store import Store


def recipient(touch: Touch) -> str | None:
    """Where a touch goes: email address, phone number, postal address or team queue."""
    lead = touch.lead
    if touch.channel is Channel.email:
        return lead.email
    if touch.channel is Channel.direct_mail:
        return lead.address.one_line() if lead.address else None
    if touch.channel is Channel.call:
        return f"{lead.phone} · queue {touch.queue} · {touch.assignee or 'unassigned'}"
    return lead.phone


def ledger_row(touch: Touch, rendered: Rendered) -> dict[str, Any]:
    """The touch ledger's columns for a rendered touch, whichever channel sends it."""
    return {
        "touch_id": touch.touch_id,
        "lead_id": touch.lead.id,
        "cadence": touch.cadence,
        "cadence_version": touch.cadence_version,
        "cycle": touch.cycle,
        "step_id": touch.step_id,
        "channel": touch.channel.value,
        "recipient": recipient(touch),
        "subject": rendered.subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
        "summary": touch.summary,
        "variant": touch.variant,
    }


class OutboxChannel:
    """Stores each touch once (keyed by touch id) where people and tests can read it."""

    name = "outbox"

    def __init__(self, store: Store) -> None:
        self.store = store

    def send(self, touch: Touch, rendered: Rendered) -> TouchResult:
        """Record the touch; a second call with the same touch id changes nothing."""
        row = self.store.claim_touch(
            **ledger_row(touch, rendered),
            provider=self.name,
            provider_id=touch.touch_id,
            status="sent",
        )
        if row is None:  # recorded now
            return TouchResult(
                status="sent",
                provider=self.name,
                provider_id=touch.touch_id,
                subject=rendered.subject,
            )
        if row.status != "sent":  # a provider's attempt, from before the outbox took over
            why = f"{row.status} through {row.provider}; the outbox does not resend it"
            return TouchResult(
                status="failed" if row.status == "failed" else "skipped",
                provider=row.provider,
                error=row.error or why,
            )
        return TouchResult(
            status="sent", provider=row.provider, provider_id=row.provider_id, subject=row.subject
        )
