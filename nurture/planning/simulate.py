"""Run journeys through the engine without Temporal: forecasts, tests and "what will this do"."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from nurture.cadence.model import Cadence
from nurture.cadence.steps import Outcome
from nurture.calendar import CalendarSnapshot
from nurture.contracts import Assignment, AssignRequest, Touch, TouchResult
from nurture.events import EngagementEvent
from nurture.journey import engine
from nurture.journey.commands import Assign, ContinueAsNew, Finish, LoadCadence, SendTouch, Wait
from nurture.journey.state import Journey, Phase

#: Given a touch just sent and when, the events it will cause (e.g. an open an hour later).
Responder = Callable[[Journey, Touch, datetime], Iterable[EngagementEvent]]
#: Given a lead and cadence, the calendar snapshot for a recycle (default: same zone, no holidays).
CalendarFor = Callable[[Journey, Cadence, date], CalendarSnapshot]


@dataclass
class SentTouch:
    """A touch the simulated journey made."""

    at: datetime
    touch: Touch


@dataclass
class Simulation:
    """The outcome of one simulated journey."""

    journey: Journey
    touches: list[SentTouch] = field(default_factory=list)
    finish: Finish | None = None
    ended_at: datetime | None = None
    continued_as_new: int = 0


#: Every simulated touch goes out (the engine only reads the result).
_SENT = TouchResult()


def _same_calendar(journey: Journey, cadence: Cadence, today: date) -> CalendarSnapshot:
    return journey.calendar


def _assign(request: AssignRequest) -> Assignment:
    """A stand-in for the rep directory: the owner, else a rep named after the team."""
    manager = f"{request.team}-manager"
    rep = {"owner": request.owner, "manager": manager}.get(request.rule, f"{request.team}-rep")
    return Assignment(rep=rep, manager=manager)


def run(
    journey: Journey,
    start: datetime,
    *,
    events: Iterable[EngagementEvent] = (),
    respond: Responder | None = None,
    cadences: dict[str, Cadence] | None = None,
    calendar_for: CalendarFor = _same_calendar,
    until: datetime | None = None,
    roundtrip: bool = False,
    assign: Callable[[AssignRequest], Assignment] = _assign,
    stop_at_handoff: bool = True,
    max_commands: int = 100_000,
) -> Simulation:
    """Drive a journey from ``start`` until it finishes (or ``until``).

    ``events`` arrive at their ``at`` time; ``respond`` adds events caused by each touch. With
    ``roundtrip`` the journey is serialized and read back at each continue-as-new, as in Temporal.
    A journey handed to sales ends the simulation (``stop_at_handoff``) with a sales-ready
    ``Finish``; otherwise it goes on, and a wait for people with no events left ends it unfinished.
    """
    result = Simulation(journey=journey)
    counter = itertools.count()
    queue: list[tuple[datetime, int, EngagementEvent]] = [(e.at, next(counter), e) for e in events]
    heapq.heapify(queue)
    now = start
    for _ in range(max_commands):
        command = engine.advance(result.journey, now)
        if stop_at_handoff and result.journey.phase is Phase.handoff:
            result.finish = Finish(outcome=Outcome.sales_ready, stage=result.journey.stage)
            break
        if isinstance(command, Assign):
            engine.on_assigned(result.journey, assign(command.request), now)
        elif isinstance(command, SendTouch):
            result.touches.append(SentTouch(now, command.touch))
            engine.on_touch_result(result.journey, _SENT, now)
            for event in respond(result.journey, command.touch, now) if respond else ():
                heapq.heappush(queue, (event.at, next(counter), event))
        elif isinstance(command, Wait):
            wake = command.until
            if wake is None and not queue:
                break  # waiting for people, and nobody will come
            if queue and (wake is None or queue[0][0] < wake):
                at, _, event = heapq.heappop(queue)
                now = max(now, at)
                engine.on_event(result.journey, event, now)
            else:
                assert wake is not None
                now = wake
            if until is not None and now >= until:
                break
        elif isinstance(command, LoadCadence):
            cadence = (cadences or {})[command.name]
            snapshot = calendar_for(result.journey, cadence, now.date())
            engine.on_cadence_loaded(result.journey, cadence, snapshot, now)
        elif isinstance(command, ContinueAsNew):
            result.continued_as_new += 1
            if roundtrip:
                result.journey = Journey.model_validate_json(result.journey.model_dump_json())
        else:
            result.finish = command
            break
    else:
        raise RuntimeError(f"journey of {journey.lead.id} did not finish in {max_commands} steps")
    result.ended_at = now
    return result
