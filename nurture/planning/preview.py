"""Preview a cadence for one lead: every touch in order, when it goes out (the lead's local time),
the branch that led to it, and the message as the lead would get it.

The journey runs through the real engine (:mod:`nurture.planning.simulate`); an engagement path
(``click@intro-email``, ``reply@c2/tips-email+2d``) answers chosen touches, so marketing can see
where each path leads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from nurture.cadence.model import Cadence
from nurture.cadence.render import Rendered, Renderer, RenderError, render_inline, touch_context
from nurture.cadence.variants import shares, touch_params
from nurture.calendar import CalendarSnapshot
from nurture.contracts import Touch
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey, JourneyEntry
from nurture.lead import Lead
from nurture.leads.enrollment import Rules, new_journey, snapshot_calendar
from nurture.planning import simulate

#: Short names for the events of an engagement path (``click@step``); full kinds work too.
SHORT_KINDS: dict[str, EventKind] = {
    "open": EventKind.email_open,
    "click": EventKind.email_click,
    "reply": EventKind.email_reply,
    "bounce": EventKind.email_bounce,
    "unsubscribe": EventKind.email_unsubscribe,
    "connect": EventKind.call_connected,
    "connected": EventKind.call_connected,
    "meeting": EventKind.call_meeting_booked,
    "qualified": EventKind.call_qualified,
    "no-answer": EventKind.call_no_answer,
    "not-interested": EventKind.call_not_interested,
    "text-reply": EventKind.sms_reply,
    "stop": EventKind.sms_stop,
    "visit": EventKind.web_visit,
    "form": EventKind.form_submitted,
}
#: Decisions shown beside the touch they led to.
ROUTE_KINDS = frozenset({"branch", "wait_for", "skip", "stop", "exit", "cycle", "recycle"})
_ENGAGE = re.compile(
    r"^(?P<kind>[a-z_.-]+)@(?:c(?P<cycle>\d+)/)?(?P<step>[A-Za-z0-9_.-]+?)"
    r"(?:\+(?P<delay>\d+)(?P<unit>[mhd]))?$"
)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
#: How long after its touch an engagement happens unless the path says (``click@step+2h``).
DEFAULT_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class Engagement:
    """One event of an engagement path: ``kind`` in answer to the touch of ``step``."""

    kind: EventKind
    step: str
    cycle: int | None = None
    delay: timedelta = DEFAULT_DELAY

    def __str__(self) -> str:
        cycle = f"c{self.cycle}/" if self.cycle else ""
        return f"{self.kind.value}@{cycle}{self.step}"


def parse_engagement(text: str) -> list[Engagement]:
    """``click@intro-email,reply@c2/tips-email+2d`` -> engagements; ``ValueError`` explains."""
    found: list[Engagement] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = _ENGAGE.match(part)
        if match is None:
            raise ValueError(
                f"{part!r}: write KIND@STEP, e.g. click@intro-email, reply@c2/tips-email+2d"
            )
        name = match["kind"]
        kind = SHORT_KINDS.get(name)
        if kind is None:
            try:
                kind = EventKind(name)
            except ValueError:
                known = ", ".join([*SHORT_KINDS, "or a full kind like email.click"])
                raise ValueError(f"{part!r}: unknown event {name!r} (use {known})") from None
        delay = DEFAULT_DELAY
        if match["delay"]:
            delay = timedelta(**{_UNITS[match["unit"]]: int(match["delay"])})
        cycle = int(match["cycle"]) if match["cycle"] else None
        found.append(Engagement(kind, match["step"], cycle, delay))
    return found


@dataclass
class VariantMessage:
    """One A/B variant of a touch step, its share of leads and its message for this lead."""

    id: str
    share: float
    source: str
    picked: bool
    rendered: Rendered | None = None
    error: str | None = None


@dataclass
class PreviewTouch:
    """One planned touch, with its local time, the decisions before it and its message
    (and, on a step with A/B variants, every variant's message; the lead's is ``picked``)."""

    at: datetime
    local: datetime
    touch: Touch
    route: list[str] = field(default_factory=list)
    engaged: list[str] = field(default_factory=list)
    rendered: Rendered | None = None
    error: str | None = None
    variants: list[VariantMessage] = field(default_factory=list)


@dataclass
class Preview:
    """What one lead would get from a cadence."""

    cadence: Cadence
    lead: Lead
    start: datetime
    touches: list[PreviewTouch]
    timeline: list[JourneyEntry]
    ending: str
    unused: list[Engagement] = field(default_factory=list)


def first_moment(lead: Lead, cadence: Cadence, day: date | None, now: datetime) -> datetime:
    """When the preview starts: 09:00 of ``day`` in the lead's zone, else ``now``."""
    if day is None:
        return now
    zone = ZoneInfo(lead.timezone or cadence.calendar.timezone)
    return datetime.combine(day, time(9, 0), tzinfo=zone)


def touch_variables(touch: Touch) -> dict[str, object]:
    """The ``touch`` variables a template sees (the same as the send activity gives)."""
    return {
        "id": touch.touch_id,
        "number": touch.number,
        "total": touch.total,
        "cycle": touch.cycle,
        "step": touch.step_id,
        "channel": touch.channel.value,
    }


def render_touch(renderer: Renderer, touch: Touch) -> tuple[Rendered | None, str | None]:
    """The message of a touch, or why it cannot be rendered."""
    context = touch_context(
        touch.lead,
        cadence=touch.cadence,
        version=touch.cadence_version,
        sender=touch.sender,
        touch=touch_variables(touch),
    )
    try:
        if touch.content is not None:  # an inline variant, as the send activity renders it
            return render_inline(touch.content, context), None
        return renderer.render(touch.channel, touch.template, context), None
    except RenderError as exc:
        return None, str(exc)


def variant_messages(
    touch: Touch, cadence: Cadence | None, renderer: Renderer | None
) -> list[VariantMessage]:
    """Every variant of the touch's step (none without variants), each rendered for the lead;
    the lead's own is ``picked`` (the engine's choice, carried on the touch)."""
    step = None
    if cadence is not None and touch.step_id in cadence.step_index:
        step = cadence.steps[cadence.step_index[touch.step_id]]
    params = touch_params(step) if step is not None else None
    if params is None or not params.variants:
        return []
    weights = shares(params.variants)
    found: list[VariantMessage] = []
    for variant in params.variants:
        message = VariantMessage(
            variant.id, weights[variant.id], variant.describe(), variant.id == touch.variant
        )
        if renderer is not None:
            arm = touch.model_copy(
                update={"template": variant.template or touch.template, "content": variant.content}
            )
            message.rendered, message.error = render_touch(renderer, arm)
        found.append(message)
    return found


def preview(
    cadence: Cadence,
    lead: Lead,
    start: datetime,
    *,
    cadences: dict[str, Cadence],
    rules: Rules | None = None,
    engage: list[Engagement] | None = None,
    renderer: Renderer | None = None,
    months: int = 12,
) -> Preview:
    """Run the lead through the cadence (and its recycles) for ``months`` or until it ends."""
    journey = new_journey(lead, cadence, start, rules)
    waiting = list(engage or [])
    planned: list[PreviewTouch] = []
    seen = 0

    def respond(j: Journey, touch: Touch, now: datetime) -> list[EngagementEvent]:
        nonlocal seen
        route = [e.text for e in j.timeline[seen:] if _is_route(e)]
        seen = len(j.timeline)
        item = PreviewTouch(now, j.business_calendar().local(now), touch, route)
        events: list[EngagementEvent] = []
        for wanted in list(waiting):
            if wanted.step == touch.step_id and wanted.cycle in (None, touch.cycle):
                waiting.remove(wanted)
                item.engaged.append(str(wanted))
                events.append(
                    EngagementEvent(
                        id=f"preview-{len(planned)}-{len(events)}",
                        kind=wanted.kind,
                        lead_id=lead.id,
                        at=now + wanted.delay,
                        touch_id=touch.touch_id,
                    )
                )
        planned.append(item)
        return events

    until = start + timedelta(days=round(months * 365 / 12))

    def calendar_for(j: Journey, recycled_into: Cadence, today: date) -> CalendarSnapshot:
        return snapshot_calendar(j.lead, recycled_into, today)  # as the load_cadence activity

    sim = simulate.run(
        journey, start, respond=respond, cadences=cadences, until=until, calendar_for=calendar_for
    )
    for item in planned:
        if renderer is not None:
            item.rendered, item.error = render_touch(renderer, item.touch)
        item.variants = variant_messages(
            item.touch, _version(cadences, cadence, item.touch), renderer
        )
    return Preview(
        cadence=cadence,
        lead=lead,
        start=start,
        touches=planned,
        timeline=sim.journey.timeline,
        ending=_ending(sim, until),
        unused=waiting,
    )


def _version(cadences: dict[str, Cadence], first: Cadence, touch: Touch) -> Cadence | None:
    """The cadence a touch came from (the previewed one, or a recycle's)."""
    if touch.cadence == first.name:
        return first
    return cadences.get(touch.cadence)


def _is_route(entry: JourneyEntry) -> bool:
    """A decision worth showing beside the next touch (a wait_for's outcome, not its start)."""
    if entry.kind == "wait_for":
        return "→" in entry.text
    return entry.kind in ROUTE_KINDS


def _ending(sim: simulate.Simulation, until: datetime) -> str:
    stage = sim.journey.stage.value.replace("_", "-")
    if sim.finish is not None:
        return f"{sim.finish.outcome.value} (stage {stage})"
    if sim.ended_at is not None and sim.ended_at >= until:
        return f"still running at the end of the preview (stage {stage})"
    return f"waiting for people (stage {stage})"


def load_cadences(directory: Path) -> dict[str, Cadence]:
    """Every cadence of a folder by name (for recycles)."""
    from nurture.cadence.model import cadence_files, load_cadence

    return {p.stem: load_cadence(p) for p in cadence_files(directory)}
