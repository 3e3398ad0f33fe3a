"""The journey engine: a pure, deterministic state machine of one lead's way through a cadence.

The workflow (or the simulator, or a test) owns a :class:`~nurture.journey.state.Journey` and
drives it with these calls; each updates the journey it is given and nothing else (no clock, no
randomness, no I/O):

- ``start(lead, cadence, calendar, now)`` -> a new journey;
- ``advance(journey, now)`` -> the one thing to do next (:mod:`nurture.journey.commands`);
- ``on_touch_result``, ``on_assigned``, ``on_cadence_loaded`` after the matching command;
- ``on_event(journey, event, now)`` whenever an engagement event arrives (at any moment);
- the people's actions, each with its ``refuse_*`` check for the workflow's update validators:
  the call desk (``claim_task``, ``release_task``, ``complete_task``), sales (``accept_handoff``,
  ``decline_handoff``, ``close_opportunity``), ``pause`` / ``resume`` and ``migrate`` (a move to a
  newer cadence version, applied at the next wait);
- ``hold(journey, error, now)`` when any of these raised (a bug): the journey waits for an
  operator's ``resume_any`` (retry) or ``skip_step``.

The rules live in the modules beside this one, one concern each.
"""

from nurture.journey.commands import ActionRefused, EngineError
from nurture.journey.desk import (
    claim_task,
    complete_task,
    on_assigned,
    refuse_task_action,
    release_task,
    task_view,
)
from nurture.journey.engagement import on_event
from nurture.journey.fault import (
    FAULT_STAGE,
    hold,
    refuse_resume_any,
    refuse_skip,
    resume_any,
    skip_step,
)
from nurture.journey.migrate import migrate, refuse_migrate
from nurture.journey.pause import pause, refuse_pause, refuse_resume, resume
from nurture.journey.sales import (
    accept_handoff,
    close_opportunity,
    decline_handoff,
    handoff_view,
    refuse_handoff_action,
)
from nurture.journey.steps import advance, on_cadence_loaded, on_touch_result, start

__all__ = [
    "FAULT_STAGE",
    "ActionRefused",
    "EngineError",
    "accept_handoff",
    "advance",
    "claim_task",
    "close_opportunity",
    "complete_task",
    "decline_handoff",
    "handoff_view",
    "hold",
    "migrate",
    "on_assigned",
    "on_cadence_loaded",
    "on_event",
    "on_touch_result",
    "pause",
    "refuse_handoff_action",
    "refuse_migrate",
    "refuse_pause",
    "refuse_resume",
    "refuse_resume_any",
    "refuse_skip",
    "refuse_task_action",
    "release_task",
    "resume",
    "resume_any",
    "skip_step",
    "start",
    "task_view",
]
