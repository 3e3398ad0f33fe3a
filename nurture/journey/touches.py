"""A touch step: send the touch now (build its ``Touch``), defer it into allowed hours, or skip
it when the lead cannot be reached on its channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nurture.cadence.steps import PHONE_CHANNELS, CallStep, DirectMailStep, StepBase, Variant
from nurture.cadence.variants import choose, touch_params
from nurture.contracts import Touch
from nurture.events import Channel
from nurture.journey import milestones, planned
from nurture.journey.commands import Command, SendTouch, Wait
from nurture.journey.state import Journey, Phase
from nurture.journey.timeline import log, touch_label, touch_number
from nurture.journey.timing import after, earliest_send, jitter, wait
from nurture.journey.transitions import current_step, leave_touch_step


def touch_step(
    j: Journey, now: datetime, channel: Channel, template: str, step_id: str
) -> Command | None:
    """Send a touch now, defer it into allowed hours, or skip it."""
    missing = _unreachable(j, channel)
    if missing:
        log(j, now, "skip", f"Skipped {channel.value} step {step_id}: {missing}", step_id)
        milestones.emit(
            j,
            now,
            "touch_skipped",
            step=step_id,
            channel=channel.value,
            variant=template,
            reason=missing,
        )
        leave_touch_step(j)
        return None
    planned_at = planned.take_planned(j, channel, now)
    at = planned_at or now  # an email woken early for is judged at its planned time
    earliest, reason = earliest_send(j, channel, at)
    if earliest > at:
        earliest = jitter(j, earliest, f"{step_id}:{j.cycle}:defer", channel)
        wait(j, now, earliest, f"Defer {touch_label(j, channel, template)} ({reason})", step_id)
        milestones.emit(
            j,
            now,
            "touch_deferred",
            step=step_id,
            channel=channel.value,
            variant=template,
            reason=reason,
        )
        if planned.lead_time(j) is not None:
            return None  # the wait (woken early for the email) decides when
        return Wait(until=earliest, summary=j.wake_reason)
    step = current_step(j)
    variant = _variant(j, step, step_id)
    if variant is not None and variant.template is not None:
        template = variant.template
    visit = j.visits.get(step_id, 0) + 1
    j.visits[step_id] = visit
    suffix = f"#{visit}" if visit > 1 else ""
    touch_id = (
        f"{j.lead.id}:{j.cadence.name}:v{j.cadence.version}:e{j.enrolment}"
        f":c{j.cycle}:{step_id}{suffix}"
    )
    call_fields: dict[str, Any] = {}
    if channel is Channel.call and isinstance(step, CallStep):
        call = step.call
        assignee = j.lead.owner if call.assign == "owner" and j.lead.owner else None
        call_fields = {"queue": call.queue, "assignee": assignee, "due": after(j, call.due, now)}
    touch = Touch(
        touch_id=touch_id,
        lead=j.lead,
        channel=channel,
        template=template,
        cadence=j.cadence.name,
        cadence_version=j.cadence.version,
        cycle=j.cycle,
        step_id=step_id,
        number=touch_number(j),
        total=j.cadence.touch_count(),
        summary=touch_label(j, channel, template)
        + (f" · variant {variant.id}" if variant is not None else ""),
        sender=j.cadence.sender_fields,
        caller_id=j.cadence.calendar.caller_id if channel in PHONE_CHANNELS else None,
        mail_format=step.direct_mail.format if isinstance(step, DirectMailStep) else None,
        variant=variant.id if variant is not None else None,
        content=variant.content if variant is not None else None,
        planned_at=planned_at,
        **call_fields,
    )
    j.phase = Phase.sending
    j.pending = touch
    j.wake_at = None
    return SendTouch(touch=touch)


def _variant(j: Journey, step: StepBase, step_id: str) -> Variant | None:
    """The lead's A/B variant of this touch step (None: no variants, a detour, or variants off)."""
    if not j.ab_variants or j.detour is not None:
        return None
    params = touch_params(step)
    if params is None or not params.variants:
        return None
    return choose(params.variants, j.lead.id, step_id)


def _unreachable(j: Journey, channel: Channel) -> str | None:
    if channel in j.stopped:
        return f"{channel.value} stopped ({j.stopped[channel]})"
    if channel is Channel.email and not j.lead.email:
        return "no email address"
    if channel in (Channel.call, Channel.voicemail, Channel.sms) and not j.lead.phone:
        return "no phone number"
    if channel is Channel.direct_mail and j.lead.address is None:
        return "no postal address"
    return None
