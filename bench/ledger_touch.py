"""The touch baseline's activity doing the work every exactly-once touch must do, and no more.

``bench.touches --baseline-ledger`` runs the raw + visibility workflow with this activity in
place of the no-op one (same activity name, so the workflow and its history are unchanged): it
renders the touch's email from ``templates/`` with nurture's renderer and claims it in a send-once
ledger (nurture's ``Store.claim_touch``: one INSERT keyed by the touch id, one commit) on a SQLite
file of its own. What nurture spends beyond this side is overhead, not required work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio import activity

from nurture.cadence.render import Renderer, touch_context
from nurture.events import Channel
from nurture.lead import Lead
from nurture.store import Store


class LedgerTouch:
    """Render and claim one email per call; the lead and sender are fixed."""

    def __init__(
        self,
        store: Store,
        templates_dir: Path,
        templates: tuple[str, ...],
        lead: Lead,
        sender: dict[str, Any],
    ) -> None:
        self.store = store
        self.renderer = Renderer(templates_dir)
        self.templates = templates
        self.lead = lead
        self.sender = sender

    @activity.defn(name="bench_noop_touch")
    def touch(self, number: int) -> int:
        """Render touch ``number`` of this workflow and record it once (as the outbox does)."""
        touch_id = f"{activity.info().workflow_id}:{number}"
        context = touch_context(
            self.lead,
            cadence="bench-touches",
            version=1,
            sender=self.sender,
            touch={"id": touch_id, "number": number, "step": f"email-{number}"},
        )
        template = self.templates[(number - 1) % len(self.templates)]
        rendered = self.renderer.render(Channel.email, template, context)
        self.store.claim_touch(
            touch_id=touch_id,
            lead_id=self.lead.id,
            cadence="bench-touches",
            cadence_version=1,
            cycle=1,
            step_id=f"email-{number}",
            channel=Channel.email.value,
            provider="outbox",
            provider_id=touch_id,
            status="sent",
            summary=f"Email {number} · {template}",
            recipient=self.lead.email,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
        )
        return number
