"""A/B variants: a stable, weighted choice per lead and step; validation; the touch, the ledger
and the providers' metadata carry the variant; ``nurture cadence variants``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.touches import TouchActivities
from nurture.cadence.model import Cadence, parse_cadence
from nurture.cadence.render import Rendered
from nurture.cadence.validate import validate_files
from nurture.cadence.variants import choose, step_variants
from nurture.channels.outbox import OutboxChannel
from nurture.channels.sendgrid import build_mail
from nurture.cli import app
from nurture.journey.state import Journey
from nurture.leads.enrollment import new_journey
from nurture.planning import simulate
from nurture.store import Store
from nurture.yamlfiles import FileError
from tests.conftest import FIXTURE_CADENCES, FIXTURE_TEMPLATES, make_lead

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)

AB = """\
name: ab
version: 1
sender: {name: Test Sender, email: sender@example.com}
calendar:
  timezone: UTC
  business_hours: {mon: "00:00-24:00", tue: "00:00-24:00", wed: "00:00-24:00",
    thu: "00:00-24:00", fri: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00"}
  jitter_minutes: 0
cycles: {count: 3, gap: {days: 2}}
steps:
  - id: hello
    email:
      template: hello
      variants:
        - {id: long, weight: 3, template: hello}
        - {id: short, weight: 1, template: hello-short}
  - wait: {days: 1}
  - id: letter
    direct_mail: {template: letter}
"""


def ab_cadence(text: str = AB) -> Cadence:
    return parse_cadence(text, "ab.yaml")


def test_choice_is_stable_and_follows_the_weights() -> None:
    variants = step_variants(ab_cadence())[0][1]
    picks = Counter(choose(variants, f"L{i}", "hello").id for i in range(8000))
    assert 0.72 < picks["long"] / 8000 < 0.78  # weights 3:1
    assert all(
        choose(variants, f"L{i}", "hello") == choose(variants, f"L{i}", "hello") for i in range(50)
    )
    # another step splits leads independently
    other = [choose(variants, f"L{i}", "letter").id for i in range(2000)]
    same = [choose(variants, f"L{i}", "hello").id for i in range(2000)]
    assert other != same


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ("[{id: a, weight: 0, template: hello}, {id: b, template: hello}]", "greater than 0"),
        ("[{id: a, template: hello}, {id: a, template: hello-short}]", "a repeated"),
        ("[{id: a, template: hello}]", "at least 2"),
    ],
)
def test_validation_refuses_bad_weights_and_ids(variants: str, message: str) -> None:
    text = AB.replace(
        """      variants:
        - {id: long, weight: 3, template: hello}
        - {id: short, weight: 1, template: hello-short}""",
        f"      variants: {variants}",
    )
    with pytest.raises(FileError) as caught:
        ab_cadence(text)
    assert message in str(caught.value)


def test_validation_renders_every_variant(tmp_path: Path) -> None:
    path = tmp_path / "ab.yaml"
    path.write_text(AB.replace("template: hello-short", "template: missing-one"))
    good, problems = validate_files([path], FIXTURE_TEMPLATES)
    assert not good
    assert [p.field for p in problems] == ["steps[0].email.variants[1].template"]
    assert "missing-one" in problems[0].message
    path.write_text(AB)
    good, problems = validate_files([path], FIXTURE_TEMPLATES)
    assert problems == [] and len(good) == 1


def _journey(lead_id: str) -> Journey:
    return new_journey(make_lead(lead_id, timezone="UTC"), ab_cadence(), T0)


def test_each_lead_gets_one_variant_in_every_cycle_and_after_continue_as_new() -> None:
    seen: Counter[str] = Counter()
    for i in range(40):
        run = simulate.run(_journey(f"L{i}"), T0, roundtrip=True)
        hello = [t.touch for t in run.touches if t.touch.step_id == "hello"]
        assert len(hello) == 3 and run.continued_as_new == 2
        assert len({t.variant for t in hello}) == 1, "one variant per lead, every cycle"
        variant = hello[0].variant
        assert variant is not None
        assert {t.template for t in hello} == {"hello" if variant == "long" else "hello-short"}
        assert all(f"variant {variant}" in t.summary for t in hello)
        letters = [t.touch for t in run.touches if t.touch.step_id == "letter"]
        assert all(t.variant is None for t in letters)
        seen[variant] += 1
    assert set(seen) == {"long", "short"}


def test_journeys_from_before_variants_send_the_step_template() -> None:
    journey = _journey("L1")
    journey.ab_variants = False  # what the workflow sets when replaying an older history
    run = simulate.run(journey, T0)
    assert {t.touch.template for t in run.touches if t.touch.step_id == "hello"} == {"hello"}
    assert all(t.touch.variant is None for t in run.touches)


def test_the_ledger_and_sendgrid_carry_the_variant() -> None:
    run = simulate.run(_journey("L7"), T0, until=T0)
    touch = run.touches[0].touch
    assert touch.variant in ("long", "short")
    rendered = Rendered(subject="Hi", text="Hello", html="<p>Hello</p>")
    store = Store("sqlite://", upgrade=True)
    OutboxChannel(store).send(touch, rendered)
    row = store.get_touch(touch.touch_id)
    assert row is not None and row.variant == touch.variant
    body = build_mail(touch, rendered, None).get()
    assert body["personalizations"][0]["custom_args"]["variant"] == touch.variant
    assert f"ab:hello:{touch.variant}" in body["categories"]


def test_cli_lists_the_variants(tmp_path: Path) -> None:
    path = tmp_path / "ab.yaml"
    path.write_text(AB)
    result = CliRunner().invoke(app, ["cadence", "variants", str(path)])
    assert result.exit_code == 0, result.output
    assert "long" in result.output and "75%" in result.output and "hello-short" in result.output


SMS_AB = AB.replace(
    """  - id: letter
    direct_mail: {template: letter}""",
    """  - id: text
    sms:
      template: nudge
      variants:
        - {id: file, template: nudge}
        - {id: inline, content: "Hi {{ lead.first_name }}, 2 minutes for a call?"}""",
)


def test_an_sms_variant_may_be_inline_text(tmp_path: Path) -> None:
    path = tmp_path / "ab.yaml"
    path.write_text(SMS_AB)
    assert validate_files([path], FIXTURE_TEMPLATES)[1] == []
    found = {}
    for i in range(40):
        run = simulate.run(
            new_journey(make_lead(f"S{i}", timezone="UTC"), ab_cadence(SMS_AB), T0), T0
        )
        text = next(t.touch for t in run.touches if t.touch.step_id == "text")
        found[text.variant] = text
    inline = found["inline"]
    assert inline.content is not None and found["file"].content is None
    store = Store("sqlite://", upgrade=True)
    activities = TouchActivities(store, FIXTURE_TEMPLATES, FIXTURE_CADENCES)
    assert activities.deliver_touch(inline).status == "sent"
    row = store.get_touch(inline.touch_id)
    assert row is not None and row.body_text == "Hi Ann, 2 minutes for a call?"
    assert row.variant == "inline"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("{{ lead.nope }}", "inline content"),
        ("", "either a 'template' or a 'content'"),
    ],
)
def test_inline_content_is_checked(tmp_path: Path, change: str, message: str) -> None:
    text = SMS_AB.replace(
        'content: "Hi {{ lead.first_name }}, 2 minutes for a call?"',
        f'content: "{change}"' if change else "weight: 2",
    )
    path = tmp_path / "ab.yaml"
    path.write_text(text)
    _, problems = validate_files([path], FIXTURE_TEMPLATES)
    assert any(message in p.message for p in problems), problems


def test_inline_content_is_refused_on_email(tmp_path: Path) -> None:
    path = tmp_path / "ab.yaml"
    path.write_text(
        AB.replace("{id: short, weight: 1, template: hello-short}", '{id: short, content: "Hi"}')
    )
    _, problems = validate_files([path], FIXTURE_TEMPLATES)
    assert [p.field for p in problems] == ["steps[0].email.variants[1].content"]
    assert "email needs a template" in problems[0].message
