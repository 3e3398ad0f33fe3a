"""Schema bounds: numbers the engine cannot run are refused at validate, with their place."""

from __future__ import annotations

import pytest

from nurture.cadence.graph import check_cadence
from nurture.cadence.model import parse_cadence
from nurture.cadence.steps import MAX_STEPS
from nurture.yamlfiles import FileError

HEAD = "name: c\nversion: 1\ncalendar: {timezone: UTC}\n"


def refused(text: str) -> str:
    with pytest.raises(FileError) as caught:
        parse_cadence(HEAD + text, "c.yaml")
    return "\n".join(str(p) for p in caught.value.problems)


@pytest.mark.parametrize(
    ("wait", "field"),
    [
        ("{days: 99999999999999999999999}", "steps[1].wait.days"),
        ("{hours: 1e300}", "steps[1].wait.hours"),
        ("{business_days: 99999999999999}", "steps[1].wait.business_days"),
        ("{business_hours: 1000000000}", "steps[1].wait.business_hours"),
        ("{days: 700, hours: 2000}", "steps[1].wait"),
    ],
)
def test_huge_delays_are_refused(wait: str, field: str) -> None:
    text = refused(f"steps:\n  - sms: {{template: x}}\n  - wait: {wait}\n")
    assert f": {field}: " in text, text


def test_too_many_steps() -> None:
    steps = "".join("  - wait: {days: 1}\n" for _ in range(MAX_STEPS + 1))
    assert f"at most {MAX_STEPS} items" in refused("steps:\n" + steps)


def test_no_open_business_time() -> None:
    """`business_hours: {}` used to pass validate and wedge the journey at run time."""
    with pytest.raises(FileError) as caught:
        parse_cadence(
            "name: c\nversion: 1\ncalendar: {timezone: UTC, business_hours: {}}\n"
            "steps:\n  - wait: {days: 1}\n",
            "c.yaml",
        )
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (3, "calendar.business_hours")
    assert "no open business time" in problem.message


@pytest.mark.parametrize(
    "cycles",
    [
        "{count: 3, gap: {minutes: 5}}",
        "{recycle_to: other, cool_down: {seconds: 1}}",
        "{count: 2, gap: {business_hours: 2}}",
    ],
)
def test_tiny_gaps_between_cycles_are_refused(cycles: str) -> None:
    text = refused(f"cycles: {cycles}\nsteps:\n  - wait: {{days: 1}}\n")
    assert "must be at least 1 day" in text, text


def test_a_loop_that_waits_minutes_is_refused() -> None:
    cadence = parse_cadence(
        HEAD + "steps:\n  - id: a\n    sms: {template: x}\n  - wait: {minutes: 1}\n  - goto: a\n",
        "c.yaml",
    )
    [(where, message)] = check_cadence(cadence)
    assert where == ("steps", 0)
    assert message.startswith("loop waits less than 1 day per round: a -> step-2 -> step-3 -> a")


def test_a_loop_that_waits_a_day_is_fine() -> None:
    cadence = parse_cadence(
        HEAD + "steps:\n  - id: a\n    sms: {template: x}\n  - wait: {days: 1}\n  - goto: a\n",
        "c.yaml",
    )
    assert check_cadence(cadence) == []


@pytest.mark.parametrize(
    "wait_for",
    [
        "{any: [email.open], within: {days: 2}, then: a}",
        "{all: [email.open, web.visit], within: {business_days: 5}, then: a, else: end}",
    ],
)
def test_a_loop_back_on_engagement_is_refused(wait_for: str) -> None:
    """A wait_for's ``then`` comes as soon as the events do: an automatic open seconds after
    each email sent another email at once (a touch storm validate used to accept)."""
    cadence = parse_cadence(
        HEAD + f"steps:\n  - id: a\n    email: {{template: x}}\n  - wait_for: {wait_for}\n"
        "  - id: end\n    wait: {days: 1}\n",
        "c.yaml",
    )
    [(where, message)] = check_cadence(cadence)
    assert where == ("steps", 0)
    assert message.startswith("loop waits less than 1 day per round: a -> step-2 -> a"), message
    assert "a wait_for goes to 'then' as soon as its events come" in message


def test_a_loop_back_when_nothing_came_is_fine() -> None:
    """The ``else`` path of a day-long wait_for is sure to take its ``within``."""
    cadence = parse_cadence(
        HEAD + "steps:\n  - id: a\n    email: {template: x}\n"
        "  - wait_for: {any: [email.open], within: {days: 2}, then: done, else: a}\n"
        "  - id: done\n    exit: {outcome: finished}\n",
        "c.yaml",
    )
    assert check_cadence(cadence) == []
