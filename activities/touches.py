"""Activities: render and send a touch (once per touch id), load a cadence for a recycle."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from temporalio import activity

from nurture.cadence import find_cadence
from nurture.channels.outbox import OutboxChannel
from nurture.engine import LoadedCadence, LoadRequest, Touch, TouchResult
from nurture.enrollment import snapshot_calendar
from nurture.render import Renderer, RenderError, touch_context
from nurture.settings import Settings
from nurture.store import Store


class TouchActivities:
    """The side effects of a journey, bound to one store and one templates folder."""

    def __init__(self, store: Store, templates_dir: Path, cadences_dir: Path) -> None:
        self.store = store
        self.renderer = Renderer(templates_dir)
        self.cadences_dir = cadences_dir
        self.outbox = OutboxChannel(store)

    @classmethod
    def from_settings(cls, settings: Settings) -> TouchActivities:
        """Activities on the configured store, templates and cadences."""
        return cls(Store(settings.store_url), settings.templates_dir, settings.cadences_dir)

    @activity.defn(name="deliver_touch")
    def deliver_touch(self, touch: Touch) -> TouchResult:
        """Render a touch from its templates and send it through its channel, at most once."""
        done = self.store.get_touch(touch.touch_id)
        if done is not None:
            return TouchResult(
                status="sent",
                provider=done.provider,
                provider_id=done.provider_id,
                subject=done.subject,
            )
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
            rendered = self.renderer.render(touch.channel, touch.template, context)
        except RenderError as exc:
            activity.logger.warning("touch %s not rendered: %s", touch.touch_id, exc)
            return TouchResult(status="skipped", error=str(exc))
        return self.outbox.send(touch, rendered)

    @activity.defn(name="load_cadence")
    def load_cadence(self, request: LoadRequest) -> LoadedCadence:
        """Load a cadence file by name with the lead's calendar (for a recycle)."""
        cadence = find_cadence(self.cadences_dir, request.name)
        return LoadedCadence(
            cadence=cadence, calendar=snapshot_calendar(request.lead, cadence, date.today())
        )
