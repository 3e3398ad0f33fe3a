"""Activities: render and send a touch (once per touch id), load a cadence for a recycle."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from temporalio import activity

from activities.heartbeat import heartbeating
from nurture.cadence.model import find_cadence
from nurture.cadence.render import Renderer, RenderError, render_inline, touch_context
from nurture.channels.base import Sender, settled_result
from nurture.channels.outbox import OutboxChannel
from nurture.channels.registry import build_channels
from nurture.channels.sendgrid import SendGridChannel
from nurture.contracts import LoadedCadence, LoadRequest, Touch, TouchResult
from nurture.events import Channel
from nurture.leads.enrollment import load_rules, snapshot_calendar
from nurture.metrics import TOUCHES
from nurture.settings import Settings
from nurture.store import Store


class TouchActivities:
    """The side effects of a journey, bound to one store and one templates folder."""

    def __init__(
        self,
        store: Store,
        templates_dir: Path,
        cadences_dir: Path,
        channels: Mapping[Channel, Sender] | None = None,
    ) -> None:
        """``channels`` picks the adapter per channel (default: the outbox for every one)."""
        self.store = store
        self.renderer = Renderer(templates_dir)
        self.cadences_dir = cadences_dir
        outbox = OutboxChannel(store)
        self.channels: dict[Channel, Sender] = {c: outbox for c in Channel}
        self.channels.update(channels or {})
        self.channels[Channel.call] = outbox  # the call desk reads call tasks from the outbox
        email = self.channels[Channel.email]
        delay = email.send_delay if isinstance(email, SendGridChannel) else None
        #: Reported with every result: the journeys plan emails this far ahead (0: off).
        self.email_lead = delay.total_seconds() if delay is not None else 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TouchActivities:
        """Activities on the configured store, templates, cadences and providers."""
        store = Store.from_settings(settings)
        channels = build_channels(settings, store)
        return cls(store, settings.templates_dir, settings.cadences_dir, channels)

    @activity.defn(name="deliver_touch")
    def deliver_touch(self, touch: Touch) -> TouchResult:
        """Render a touch and send it through its channel's adapter, at most once per touch id.

        A touch the ledger already settled (sent, failed, unknown) returns that result; one an
        earlier attempt left in flight is resumed by the adapter (see nurture/channels/base.py).
        """
        _log_start(touch)
        began = time.monotonic()
        with heartbeating():  # from the start: a slow store or render is not a dead worker
            result = self._reported(self._deliver(touch))
        took = time.monotonic() - began
        if took > LATE_START:
            activity.logger.info("touch %s: the send took %.1f s", touch.touch_id, took)
        return result

    def _deliver(self, touch: Touch) -> TouchResult:
        done = self.store.get_touch(touch.touch_id)
        settled = settled_result(done) if done is not None else None
        if settled is not None:
            return settled
        context = touch_context(
            touch.lead,
            cadence=touch.cadence,
            version=touch.cadence_version,
            sender=touch.sender,
            touch={
                "id": touch.touch_id,
                "number": touch.number,
                "total": touch.total,
                "cycle": touch.cycle,
                "step": touch.step_id,
                "channel": touch.channel.value,
            },
        )
        try:
            rendered = (
                render_inline(touch.content, context)
                if touch.content is not None
                else self.renderer.render(touch.channel, touch.template, context)
            )
        except RenderError as exc:
            activity.logger.warning("touch %s not rendered: %s", touch.touch_id, exc)
            return _counted(touch, TouchResult(status="skipped", error=str(exc)))
        return _counted(touch, self.channels[touch.channel].send(touch, rendered))

    def _reported(self, result: TouchResult) -> TouchResult:
        """The result with the email lead time the journey plans with."""
        return result.model_copy(update={"email_lead": self.email_lead})

    @activity.defn(name="load_cadence")
    def load_cadence(self, request: LoadRequest) -> LoadedCadence:
        """Load a cadence file by name with the lead's calendar (for a recycle)."""
        cadence = find_cadence(self.cadences_dir, request.name)
        rules = load_rules(self.cadences_dir)
        return LoadedCadence(
            cadence=cadence,
            calendar=snapshot_calendar(request.lead, cadence, date.today()),
            scoring=rules.scoring,
            sales=rules.sales,
        )


#: An attempt this many seconds behind its start on the server is logged: the heartbeat timeout
#: runs from that start, so a worker this slow to begin risks having the send retried under it.
LATE_START = 3.0


def _log_start(touch: Touch) -> None:
    """Log a retried send's attempt (when it was due, when it started) and any attempt this
    worker began late: a kill-to-retry gap splits into the retry's backoff and its wait in the
    channel's task queue; a late beginning shows a worker too busy to heartbeat in time."""
    if not activity.in_activity():
        return
    info = activity.info()
    late = (datetime.now(UTC) - info.started_time).total_seconds()
    if info.attempt > 1 or late > LATE_START:
        waited = (info.started_time - info.current_attempt_scheduled_time).total_seconds()
        activity.logger.info(
            "touch %s attempt %d: due %s, started %s (%.1f s in the queue), began here %.1f s "
            "later",
            touch.touch_id,
            info.attempt,
            info.current_attempt_scheduled_time.isoformat(),
            info.started_time.isoformat(),
            waited,
            late,
        )


def _counted(touch: Touch, result: TouchResult) -> TouchResult:
    """Count a touch's outcome (nurture_touches_total) once it is settled."""
    TOUCHES.labels(touch.channel.value, result.provider or "none", result.status).inc()
    return result
