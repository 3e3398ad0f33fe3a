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


def test_a_loop_through_a_call_needs_a_wait() -> None:
    """A call step ends when the rep logs an outcome (minutes later): with an open after the
    email, this loop sent an email and a call task every few minutes."""
    cadence = parse_cadence(
        HEAD + "steps:\n  - id: a\n    email: {template: x}\n"
        "  - call: {script: s, queue: sdr, due: {days: 2}, on_timeout: skip}\n"
        "  - wait_for: {any: [email.open], within: {days: 2}, then: a}\n",
        "c.yaml",
    )
    [(where, message)] = check_cadence(cadence)
    assert where == ("steps", 0)
    assert message.startswith("loop waits less than 1 day per round: a -> step-2 -> step-3 -> a")


def test_a_loop_back_when_nothing_came_is_fine() -> None:
    """The ``else`` path of a day-long wait_for is sure to take its ``within``."""
    cadence = parse_cadence(
        HEAD + "steps:\n  - id: a\n    email: {template: x}\n"
        "  - wait_for: {any: [email.open], within: {days: 2}, then: done, else: a}\n"
        "  - id: done\n    exit: {outcome: finished}\n",
        "c.yaml",
    )
    assert check_cadence(cadence) == []


def test_the_documented_limits_are_the_code_s() -> None:
    """cadences/README.md's limits table says what the code enforces."""
    from nurture.cadence.model import Cycles
    from nurture.cadence.steps import (
        MAX_BUSINESS_DAYS,
        MAX_BUSINESS_HOURS,
        MAX_DELAY_DAYS,
        MIN_GAP,
    )
    from nurture.settings import ROOT
    from nurture.yamlfiles import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

    table = (ROOT / "cadences" / "README.md").read_text(encoding="utf-8")
    count = Cycles.model_fields["count"].metadata
    rows = [
        f"| file size | {MAX_FILE_BYTES // 1024} KiB (`MAX_FILE_BYTES`) |",
        f"| nesting | {MAX_DEPTH} levels of maps/lists |",
        f"| aliases | the file may expand to at most {MAX_NODES:,} values |",
        f"| one delay, calendar time | at most {MAX_DELAY_DAYS} days (2 years) in all |",
        f"| one delay, `business_days` | at most {MAX_BUSINESS_DAYS} (about a year) |",
        f"| one delay, `business_hours` | at most {MAX_BUSINESS_HOURS:,} (a year of 8-hour days) |",
        f"| steps per cadence | at most {MAX_STEPS} |",
        f"| `cycles.count` | {count[0].ge} to {count[1].le} |",
        f"a sales rule's `cool_down` | at least {MIN_GAP.days} day |",
    ]
    for row in rows:
        assert row in table, row
