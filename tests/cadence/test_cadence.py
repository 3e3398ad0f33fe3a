"""Cadence files: shape, step graph, templates, cross-file references and the validate command."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cadence.graph import check_cadence
from nurture.cadence.model import Cadence, cadence_files, parse_cadence
from nurture.cadence.steps import STEP_KINDS
from nurture.cadence.validate import validate_files
from nurture.cli import app
from nurture.settings import ROOT, get_settings
from nurture.yamlfiles import FileError, Problem
from tests.conftest import FIXTURE_CADENCES, FIXTURE_TEMPLATES

SAMPLE_CADENCES = ROOT / "cadences"
SAMPLE_TEMPLATES = ROOT / "templates"

#: Lines 1-7 of every test file; steps start on line 8 (``steps:``), first step on line 9.
HEAD = """\
name: {name}
version: 1
sender: {name: Test Sender, email: sender@example.com}
calendar:
  timezone: UTC
  country: US
  jitter_minutes: 0
"""


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A copy of the fixture templates plus one that uses an undefined variable."""
    folder = tmp_path / "templates"
    shutil.copytree(FIXTURE_TEMPLATES, folder)
    (folder / "sms" / "broken.txt").write_text("Hi {{ lead.first_name }},\n{{ lead.nickname }}\n")
    return folder


def write(folder: Path, name: str, body: str, head: str = HEAD) -> Path:
    """Write ``<folder>/<name>.yaml`` with the standard head and ``body`` (dedented)."""
    path = folder / f"{name}.yaml"
    path.write_text(head.replace("{name}", name) + textwrap.dedent(body), encoding="utf-8")
    return path


def problems_of(path: Path, templates: Path) -> list[Problem]:
    """Validate one file; it must not be reported good."""
    good, problems = validate_files([path], templates)
    assert good == []
    assert problems, "expected at least one problem"
    return problems


def only(problems: list[Problem]) -> Problem:
    """The one problem."""
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# ---------------------------------------------------------------- good files


def test_sample_cadences_are_valid() -> None:
    """The shipped cadences validate against the shipped templates."""
    paths = cadence_files(SAMPLE_CADENCES)
    assert {p.stem for p in paths} == {"strategic", "standard", "long-term-nurture"}
    good, problems = validate_files(paths, SAMPLE_TEMPLATES)
    assert problems == []
    assert sorted(c.name for c in good) == ["long-term-nurture", "standard", "strategic"]


def test_fixture_cadences_are_valid() -> None:
    """The test fixtures validate against the fixture templates."""
    good, problems = validate_files(cadence_files(FIXTURE_CADENCES), FIXTURE_TEMPLATES)
    assert problems == []
    assert {"drip", "mixed"} <= {c.name for c in good}


def test_unnamed_steps_get_positional_ids() -> None:
    """Steps without an id are called step-N by position."""
    cadence = parse_cadence(
        HEAD.replace("{name}", "x")
        + "steps:\n  - email: {template: hello}\n  - wait: {days: 1}\n  - id: end\n"
        "    email: {template: hello}\n"
    )
    assert [s.id for s in cadence.steps] == ["step-1", "step-2", "end"]
    assert cadence.touch_count() == 2


def test_cadence_files_skip_helpers(tmp_path: Path) -> None:
    """Files starting with _ or scoring are not cadences."""
    for name in ("a.yaml", "b.yml", "_draft.yaml", "scoring.yaml", "notes.txt"):
        (tmp_path / name).write_text("x: 1\n")
    assert [p.name for p in cadence_files(tmp_path)] == ["a.yaml", "b.yml"]


# ---------------------------------------------------------------- located problems


def test_unknown_step_kind(tmp_path: Path, templates: Path) -> None:
    """An unknown step key is reported at the step, listing the known kinds."""
    path = write(
        tmp_path,
        "kinds",
        """\
        steps:
          - id: a
            email: {template: hello}
          - id: b
            tweet: {template: hello}
        """,
    )
    problem = only(problems_of(path, templates))
    assert (problem.file, problem.line, problem.column, problem.field) == (
        str(path),
        11,
        5,
        "steps[1]",
    )
    assert "unknown step kind" in problem.message
    assert "tweet" in problem.message
    for kind in STEP_KINDS:
        assert kind in problem.message


def test_step_with_two_kinds(tmp_path: Path, templates: Path) -> None:
    """A step with two kinds is not guessed at."""
    path = write(
        tmp_path,
        "two",
        """\
        steps:
          - email: {template: hello}
            sms: {template: nudge}
        """,
    )
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (9, "steps[0]")
    assert "unknown step kind" in problem.message


def test_duplicate_step_id(tmp_path: Path, templates: Path) -> None:
    """The second use of an id is reported, naming the first."""
    path = write(
        tmp_path,
        "dup",
        """\
        steps:
          - id: a
            email: {template: hello}
          - wait: {days: 1}
          - id: a
            email: {template: hello}
        """,
    )
    problem = only(problems_of(path, templates))
    assert (problem.file, problem.line, problem.field) == (str(path), 12, "steps[2].id")
    assert "duplicate step id 'a'" in problem.message
    assert "step 1" in problem.message


@pytest.mark.parametrize(
    ("body", "line", "field"),
    [
        ("  - wait: {days: 1}\n  - goto: nowhere\n", 12, "steps[2].goto"),
        (
            "  - wait_for:\n      any: [email.open]\n      within: {days: 1}\n"
            "      then: nowhere\n",
            14,
            "steps[1].wait_for.then",
        ),
        (
            "  - wait_for:\n      any: [email.open]\n      within: {days: 1}\n"
            "      else: nowhere\n",
            14,
            "steps[1].wait_for.else",
        ),
        (
            "  - branch:\n      cases:\n        - when: {score_at_least: 5}\n"
            "          goto: nowhere\n",
            14,
            "steps[1].branch.cases[0].goto",
        ),
        (
            "  - id: w\n    wait: {days: 1}\n  - branch:\n      cases:\n"
            "        - when: {score_at_least: 5}\n          goto: w\n      otherwise: nowhere\n",
            17,
            "steps[2].branch.otherwise",
        ),
    ],
)
def test_jump_to_nowhere(tmp_path: Path, templates: Path, body: str, line: int, field: str) -> None:
    """Every kind of jump to a missing id is located at the reference."""
    path = write(tmp_path, "jump", "steps:\n  - id: a\n    email: {template: hello}\n" + body)
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (line, field)
    assert problem.message == "no step with id 'nowhere'"


def test_zero_delay_loop(tmp_path: Path, templates: Path) -> None:
    """A goto loop with no wait in it is rejected, naming its steps."""
    path = write(
        tmp_path,
        "loop",
        """\
        steps:
          - id: a
            email: {template: hello}
          - id: b
            goto: c
          - id: c
            goto: b
        """,
    )
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (11, "steps[1]")
    assert problem.message == "loop without a wait: b -> c -> b"


def test_loop_through_a_touch_but_no_wait_is_rejected(tmp_path: Path, templates: Path) -> None:
    """A branch back to an email (a touch takes no time) is a zero-delay loop."""
    path = write(
        tmp_path,
        "spin",
        """\
        steps:
          - id: a
            email: {template: hello}
          - id: again
            branch:
              cases:
                - when: {score_below: 100}
                  goto: a
        """,
    )
    problem = only(problems_of(path, templates))
    assert problem.field == "steps[0]"
    assert "loop without a wait" in problem.message


def test_loop_with_a_wait_is_fine(tmp_path: Path, templates: Path) -> None:
    """Loops that wait (wait, wait_for or a call task) are allowed."""
    path = write(
        tmp_path,
        "okloop",
        """\
        steps:
          - id: a
            email: {template: hello}
          - wait: {days: 1}
          - id: again
            branch:
              cases:
                - when: {score_below: 100}
                  goto: a
        """,
    )
    good, problems = validate_files([path], templates)
    assert problems == []
    assert [c.name for c in good] == ["okloop"]


def test_missing_template(tmp_path: Path, templates: Path) -> None:
    """A template file that doesn't exist is reported at the template field."""
    path = write(tmp_path, "missing", "steps:\n  - id: a\n    email: {template: nope}\n")
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.column, problem.field) == (10, 13, "steps[0].email.template")
    assert "templates/email/nope" in problem.message
    assert "not found" in problem.message


def test_missing_call_voicemail_template(tmp_path: Path, templates: Path) -> None:
    """The voicemail template of a call step is checked too."""
    path = write(
        tmp_path,
        "callvm",
        """\
        steps:
          - id: ring
            call:
              script: discovery
              queue: sdr
              on_timeout: voicemail
              voicemail: nope
        """,
    )
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (14, "steps[0].call.voicemail")
    assert "templates/voicemail/nope.txt: not found" in problem.message


def test_template_failing_with_strict_undefined(tmp_path: Path, templates: Path) -> None:
    """A template using an unknown variable fails to render for the sample lead."""
    path = write(tmp_path, "strict", "steps:\n  - id: a\n    sms: {template: broken}\n")
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (10, "steps[0].sms.template")
    assert "templates/sms/broken.txt" in problem.message
    assert "nickname" in problem.message


def test_sample_lead_fields_reach_templates(tmp_path: Path, templates: Path) -> None:
    """``sample_lead`` fields are what validation renders CRM fields with."""
    (templates / "sms" / "crm.txt").write_text("In {{ lead.fields['industry'] }}")
    body = "steps:\n  - id: a\n    sms: {template: crm}\n"
    assert only(problems_of(write(tmp_path, "crm", body), templates)).field == (
        "steps[0].sms.template"
    )
    fine = write(tmp_path, "crm", "sample_lead: {industry: Retail}\n" + body)
    assert validate_files([fine], templates)[1] == []


def test_bad_time_zone_and_country(tmp_path: Path, templates: Path) -> None:
    """Both calendar problems are reported, each on its own line."""
    head = HEAD.replace("timezone: UTC", "timezone: Mars/Olympus").replace(
        "country: US", "country: XX"
    )
    path = write(tmp_path, "zone", "steps:\n  - email: {template: hello}\n", head=head)
    problems = problems_of(path, templates)
    located = {(p.line, p.column, p.field) for p in problems}
    assert located == {(5, 3, "calendar.timezone"), (6, 3, "calendar.country")}
    messages = " ".join(p.message for p in problems)
    assert "unknown time zone 'Mars/Olympus'" in messages
    assert "unknown country 'XX'" in messages


def test_unquoted_time_of_day(tmp_path: Path, templates: Path) -> None:
    """``at: 10:00`` is YAML's 600; it is rejected with a hint to quote it."""
    path = write(
        tmp_path,
        "unquoted",
        "steps:\n  - email: {template: hello}\n  - wait: {business_days: 1, at: 10:00}\n",
    )
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (10, "steps[1].wait.at")
    assert "quotes" in problem.message


def test_quoted_time_of_day_is_fine() -> None:
    """A quoted time parses."""
    cadence = parse_cadence(
        HEAD.replace("{name}", "q")
        + 'steps:\n  - email: {template: hello}\n  - wait: {business_days: 1, at: "10:00"}\n'
    )
    assert cadence.steps[1].wait.describe() == "1 business day at 10:00"


@pytest.mark.parametrize("channel", ["call", "voicemail", "sms"])
def test_phone_channel_window_wider_than_the_legal_cap(
    tmp_path: Path, templates: Path, channel: str
) -> None:
    """Phone channels may never be configured outside 08:00-21:00."""
    head = HEAD + f"  channel_hours: {{{channel}: '07:30-20:00'}}\n"
    path = write(tmp_path, "wide", "steps:\n  - email: {template: hello}\n", head=head)
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (8, "calendar.channel_hours")
    assert "08:00-21:00" in problem.message


def test_email_window_may_be_wide(tmp_path: Path, templates: Path) -> None:
    """The legal cap is for phone channels only."""
    head = HEAD + "  channel_hours: {email: '06:00-23:00', call: '08:00-21:00'}\n"
    path = write(tmp_path, "wide", "steps:\n  - email: {template: hello}\n", head=head)
    assert validate_files([path], templates)[1] == []


def test_recycle_to_a_missing_cadence(tmp_path: Path, templates: Path) -> None:
    """``recycle_to`` must name a cadence in the same folder."""
    body = (
        "cycles:\n  count: 2\n  gap: {days: 1}\n  after_last: recycle\n"
        "  recycle_to: ghost\n  cool_down: {days: 3}\n"
        "steps:\n  - email: {template: hello}\n"
    )
    path = write(tmp_path, "recycler", body)
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.column, problem.field) == (12, 3, "cycles.recycle_to")
    assert problem.message == "no cadence named 'ghost'"
    write(tmp_path, "ghost", "steps:\n  - email: {template: hello}\n")
    good, problems = validate_files([path], templates)
    assert problems == []
    assert [c.name for c in good] == ["recycler"]


def test_name_must_match_the_file(tmp_path: Path, templates: Path) -> None:
    """The cadence name is the file stem."""
    path = tmp_path / "other.yaml"
    path.write_text(HEAD.replace("{name}", "wrong") + "steps:\n  - email: {template: hello}\n")
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (1, "name")
    assert "'wrong'" in problem.message
    assert "'other'" in problem.message


def test_email_steps_need_a_sender(tmp_path: Path, templates: Path) -> None:
    """No sender with email steps is a problem located at the file."""
    head = HEAD.replace("sender: {name: Test Sender, email: sender@example.com}\n", "")
    path = write(tmp_path, "nosender", "steps:\n  - email: {template: hello}\n", head=head)
    problems = problems_of(path, templates)
    assert any(p.field == "sender" and "needs a 'sender'" in p.message for p in problems)


def test_invalid_yaml_reports_a_line(tmp_path: Path, templates: Path) -> None:
    """A YAML syntax error is located."""
    path = write(tmp_path, "broken", "steps:\n  - email: {template: hello\n  - wait: 1\n")
    problem = only(problems_of(path, templates))
    assert problem.field == "(file)"
    assert problem.line in (9, 10)
    assert problem.message.startswith("not valid YAML")


def test_not_a_mapping(tmp_path: Path, templates: Path) -> None:
    """A YAML list is not a cadence."""
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (1, "(file)")


def test_unknown_top_level_key(tmp_path: Path, templates: Path) -> None:
    """A typo like ``exit_one`` is reported, not ignored."""
    path = write(tmp_path, "typo", "exit_one: []\nsteps:\n  - email: {template: hello}\n")
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.column, problem.field, problem.message) == (
        8,
        1,
        "exit_one",
        "unknown field",
    )


def test_every_problem_of_a_file_is_reported(tmp_path: Path, templates: Path) -> None:
    """Semantic problems are all listed, not just the first."""
    path = write(
        tmp_path,
        "many",
        """\
        steps:
          - id: a
            email: {template: nope}
          - id: a
            wait: {days: 1}
          - goto: nowhere
          - id: b
            sms: {template: broken}
        """,
    )
    fields = sorted(p.field for p in problems_of(path, templates))
    assert fields == [
        "steps[0].email.template",
        "steps[1].id",
        "steps[2].goto",
        "steps[3].sms.template",
    ]


def test_several_files_problems_and_good_ones(tmp_path: Path, templates: Path) -> None:
    """A bad file doesn't hide a good one, and each problem names its file."""
    bad = write(tmp_path, "bad", "steps:\n  - goto: nowhere\n")
    good_path = write(tmp_path, "good", "steps:\n  - email: {template: hello}\n")
    good, problems = validate_files([bad, good_path], templates)
    assert [c.name for c in good] == ["good"]
    assert {p.file for p in problems} == {str(bad)}


def test_shape_errors_raise_cadence_error_with_all_problems() -> None:
    """``parse_cadence`` raises one error listing every shape problem."""
    text = (
        "name: Bad Name\nversion: 0\nsteps:\n  - wait: {days: 0}\n"
        "  - call: {script: s, queue: q, on_timeout: voicemail}\n"
    )
    with pytest.raises(FileError) as caught:
        parse_cadence(text, "x.yaml")
    fields = {p.field for p in caught.value.problems}
    assert {"name", "version", "steps[0].wait", "steps[1].call"} <= fields
    assert all(p.file == "x.yaml" for p in caught.value.problems)
    assert str(caught.value).startswith("x.yaml:")


def test_delay_rules() -> None:
    """A delay is one kind of time, longer than zero."""
    base = HEAD.replace("{name}", "d") + "steps:\n  - email: {template: hello}\n  - wait: "
    for bad in ("{days: 1, business_days: 1}", "{business_hours: 2, at: '10:00'}", "{}"):
        with pytest.raises(FileError):
            parse_cadence(base + bad + "\n")
    until = parse_cadence(base + "{at: '15:00'}\n").steps[1]
    assert until.wait.describe() == "until 15:00"


def test_check_cadence_is_clean_for_samples() -> None:
    """The graph checks find nothing in the shipped cadences."""
    for path in cadence_files(SAMPLE_CADENCES):
        assert check_cadence(parse_cadence(path.read_text())) == []


def test_json_schema_has_every_step_kind() -> None:
    """The exported schema knows every step kind, by its YAML name."""
    schema = Cadence.model_json_schema(by_alias=True)
    text = str(schema)
    defs = schema["$defs"]
    for kind in STEP_KINDS:
        assert any(kind in d.get("properties", {}) for d in defs.values()), kind
    assert "else" in defs["WaitForParams"]["properties"]
    assert "in" in defs["FieldCondition"]["properties"]
    assert "email.open" in text


# ---------------------------------------------------------------- the command


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Fresh settings before and after the test."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_cli_validate_bad_file(tmp_path: Path, templates: Path, env: pytest.MonkeyPatch) -> None:
    """One ``file:line:col: field: message`` line per problem, exit status 1."""
    env.setenv("NURTURE_TEMPLATES_DIR", str(templates))
    path = write(
        tmp_path,
        "bad",
        "steps:\n  - id: a\n    email: {template: hello}\n  - wait: {days: 1}\n  - goto: nowhere\n",
    )
    result = CliRunner().invoke(app, ["cadence", "validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    expected = f"{path}:12:5: steps[2].goto: no step with id 'nowhere'"
    assert any(line.endswith(expected) for line in lines), result.output
    assert "1 problem(s)" in result.output


def test_cli_validate_good_file(tmp_path: Path, templates: Path, env: pytest.MonkeyPatch) -> None:
    """A good file exits 0 with an ok line."""
    env.setenv("NURTURE_TEMPLATES_DIR", str(templates))
    path = write(tmp_path, "fine", "steps:\n  - email: {template: hello}\n")
    result = CliRunner().invoke(app, ["cadence", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok fine v1" in result.output


def test_cli_validate_samples(env: pytest.MonkeyPatch) -> None:
    """Without arguments every file of the cadences folder is checked: all good."""
    env.setenv("NURTURE_CADENCES_DIR", str(SAMPLE_CADENCES))
    env.setenv("NURTURE_TEMPLATES_DIR", str(SAMPLE_TEMPLATES))
    result = CliRunner().invoke(app, ["cadence", "validate"])
    assert result.exit_code == 0, result.output
    for name in ("strategic", "standard", "long-term-nurture"):
        assert f"ok {name} v1" in result.output


def test_cli_validate_folder_with_a_bad_file(
    tmp_path: Path, templates: Path, env: pytest.MonkeyPatch
) -> None:
    """Any error in the folder makes the exit status non-zero; the good files are still listed."""
    write(tmp_path, "good", "steps:\n  - email: {template: hello}\n")
    write(tmp_path, "bad", "steps:\n  - id: a\n    email: {template: nope}\n")
    env.setenv("NURTURE_CADENCES_DIR", str(tmp_path))
    env.setenv("NURTURE_TEMPLATES_DIR", str(templates))
    result = CliRunner().invoke(app, ["cadence", "validate"])
    assert result.exit_code == 1
    assert "ok good v1" in result.output
    assert "steps[0].email.template" in result.output


def test_cli_validate_empty_folder(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    """No cadence files at all is an error too."""
    env.setenv("NURTURE_CADENCES_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["cadence", "validate"])
    assert result.exit_code == 2


def test_cli_schema(tmp_path: Path) -> None:
    """``cadence schema --out`` writes the JSON Schema."""
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(app, ["cadence", "schema", "--out", str(out)])
    assert result.exit_code == 0
    assert '"wait_for"' in out.read_text()


def test_committed_schema_is_current() -> None:
    """cadences/cadence.schema.json (for editors) matches the models."""
    committed = json.loads((ROOT / "cadences" / "cadence.schema.json").read_text())
    assert committed == Cadence.model_json_schema(by_alias=True), (
        "run: nurture cadence schema --out cadences/cadence.schema.json"
    )


ROSTER = """\
teams:
  - queue: sdr
    name: Sales development
    timezone: America/New_York
    hours: mon-fri 09:00-17:00
    reps:
      - {username: ann.rep, name: Ann, email: ann@example.com}
  - queue: sales
    name: Account executives
    timezone: America/New_York
    hours: mon-fri 09:00-17:00
    reps:
      - {username: bob.ae, name: Bob, email: bob@example.com}
"""
CALL = """\
steps:
  - id: ring
    call: {script: discovery, queue: QUEUE}
"""


def test_call_queues_and_sales_teams_must_be_roster_teams(tmp_path: Path, templates: Path) -> None:
    """With a roster beside the cadences, a call step's queue and a sales rule's team must be
    one of its teams: otherwise nobody would ever see those tasks or handoffs."""
    caller = write(tmp_path, "caller", CALL.replace("QUEUE", "strategic-sdr"))
    sales = tmp_path / "sales.yaml"
    sales.write_text("teams:\n  - {team: sales, sla: {days: 1}}\n  - {team: ae, sla: {days: 2}}\n")
    assert validate_files([caller, sales], templates)[1] == []  # no roster: nothing to check

    (tmp_path / "_teams.yaml").write_text(ROSTER)
    problems = validate_files([caller, sales], templates)[1]
    assert [(Path(p.file).name, p.line, p.field) for p in problems] == [
        ("caller.yaml", 10, "steps[0].call.queue"),
        ("sales.yaml", 3, "teams[1].team"),
    ]
    assert problems[0].message == (
        "no team 'strategic-sdr' in _teams.yaml (teams: sales, sdr): "
        "nobody would get its call tasks"
    )
    assert problems[1].message.endswith("nobody would get its handoffs")

    fixed = write(tmp_path, "caller", CALL.replace("QUEUE", "sdr"))
    assert validate_files([fixed], templates) == ([parse_cadence(fixed.read_text())], [])


def test_a_broken_roster_is_reported(tmp_path: Path, templates: Path) -> None:
    (tmp_path / "_teams.yaml").write_text(ROSTER.replace("queue: sales", "queue: sdr"))
    caller = write(tmp_path, "caller", CALL.replace("QUEUE", "sdr"))
    problem = only(validate_files([caller], templates)[1])
    assert Path(problem.file).name == "_teams.yaml"
    assert "a queue appears in two teams" in problem.message


def test_a_caller_id_must_be_an_e164_number(tmp_path: Path, templates: Path) -> None:
    head = HEAD + "  caller_id: 555-0100\n"
    path = write(tmp_path, "callerid", "steps:\n  - email: {template: hello}\n", head=head)
    problem = only(problems_of(path, templates))
    assert (problem.line, problem.field) == (8, "calendar.caller_id")
    assert "caller id '555-0100' is not in E.164 form" in problem.message
    head = HEAD + '  caller_id: "+13125550199"\n'
    fine = write(tmp_path, "callerid", "steps:\n  - email: {template: hello}\n", head=head)
    good, problems = validate_files([fine], templates)
    assert problems == [] and good[0].calendar.caller_id == "+13125550199"
