"""Rendering touches: every channel, strict variables, HTML escaping, one-line subjects."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nurture.cadence.model import cadence_files, load_cadence
from nurture.cadence.render import (
    Renderer,
    RenderError,
    _inline_template,
    render_inline,
    sample_lead,
    touch_context,
)
from nurture.cadence.steps import TOUCH_KINDS, CallStep
from nurture.events import Channel
from nurture.lead import Lead
from nurture.settings import ROOT
from tests.conftest import FIXTURE_TEMPLATES, make_lead

SAMPLE_TEMPLATES = ROOT / "templates"
SAMPLE_CADENCES = [load_cadence(p) for p in cadence_files(ROOT / "cadences")]


def context(lead: Lead, cycle: int = 1, **sender: Any) -> dict[str, Any]:
    """The template variables for touch 1 of a test cadence."""
    return touch_context(
        lead,
        cadence="drip",
        version=3,
        sender={"name": "Test Sender", "email": "sender@example.com", "reply_to": None, **sender},
        touch={
            "id": "t1",
            "number": 1,
            "total": 4,
            "cycle": cycle,
            "step": "hello",
            "channel": "email",
        },
    )


def make_templates(tmp_path: Path, files: dict[str, str]) -> Renderer:
    """A renderer over a folder holding these files."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Renderer(tmp_path)


def uses(cadence_steps: list[Any]) -> list[tuple[Channel, str]]:
    """The (channel, template) pairs a list of steps renders."""
    found: list[tuple[Channel, str]] = []
    for step in cadence_steps:
        if isinstance(step, CallStep):
            found.append((Channel.call, step.call.script))
            if step.call.voicemail:
                found.append((Channel.voicemail, step.call.voicemail))
            continue
        for kind, channel in TOUCH_KINDS.items():
            params = getattr(step, kind, None)
            if params is not None:
                found.append((channel, params.template))
    return found


# ---------------------------------------------------------------- fixture templates


def test_fixture_email() -> None:
    """An email has a subject, HTML and text."""
    rendered = Renderer(FIXTURE_TEMPLATES).render(Channel.email, "hello", context(make_lead()))
    assert rendered.subject == "Hello Ann (1/4)"
    assert rendered.html == "<p>Hi Ann at Acme, from Test Sender.</p>"
    assert rendered.text == "Hi Ann at Acme, from Test Sender."


@pytest.mark.parametrize(
    ("channel", "name", "text", "html"),
    [
        (Channel.sms, "nudge", "Hi Ann, a quick nudge. Reply STOP to opt out.", None),
        (Channel.voicemail, "missed", "Hi Ann, sorry I missed you.", None),
        (
            Channel.call,
            "discovery",
            "Ask Ann Lee (VP Sales) about budget, authority, need, timeframe.",
            None,
        ),
        (
            Channel.direct_mail,
            "letter",
            None,
            "<p>Dear Ann Lee,</p><p>A letter for Acme.</p>",
        ),
    ],
)
def test_fixture_other_channels(
    channel: Channel, name: str, text: str | None, html: str | None
) -> None:
    """Text channels render text; direct mail renders HTML; nothing else is set."""
    rendered = Renderer(FIXTURE_TEMPLATES).render(channel, name, context(make_lead()))
    assert (rendered.subject, rendered.text, rendered.html) == (None, text, html)


def test_files_and_missing() -> None:
    """The files a touch needs, and which of them are missing."""
    renderer = Renderer(FIXTURE_TEMPLATES)
    assert renderer.files(Channel.email, "hello") == {
        "subject": "email/hello.subject.txt",
        "html": "email/hello.html",
        "text": "email/hello.txt",
    }
    assert renderer.missing(Channel.email, "hello") == []
    assert renderer.missing(Channel.sms, "nope") == ["sms/nope.txt"]


def test_missing_template_names_the_file() -> None:
    """A missing template is a RenderError naming the file."""
    with pytest.raises(RenderError, match=r"^templates/sms/nope\.txt: not found$"):
        Renderer(FIXTURE_TEMPLATES).render(Channel.sms, "nope", context(make_lead()))


def test_email_needs_all_three_parts(tmp_path: Path) -> None:
    """An email without its .txt part fails, naming that part."""
    renderer = make_templates(tmp_path, {"email/x.subject.txt": "S", "email/x.html": "<p>H</p>"})
    with pytest.raises(RenderError, match=r"templates/email/x\.txt: not found"):
        renderer.render(Channel.email, "x", context(make_lead()))


# ---------------------------------------------------------------- strictness


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    """StrictUndefined: an unknown variable is an error naming the template file and line."""
    renderer = make_templates(
        tmp_path, {"sms/x.txt": "Hi {{ lead.first_name }},\nabout {{ lead.nickname }}\n"}
    )
    with pytest.raises(RenderError) as caught:
        renderer.render(Channel.sms, "x", context(make_lead()))
    message = str(caught.value)
    assert message.startswith("templates/sms/x.txt line 2: ")
    assert "nickname" in message


def test_undefined_crm_field_is_an_error(tmp_path: Path) -> None:
    """An unguarded CRM field is undefined for leads without it; .get() with a default works."""
    renderer = make_templates(
        tmp_path,
        {
            "sms/raw.txt": "{{ lead.fields.industry }}",
            "sms/guarded.txt": "{{ lead.fields.get('industry', 'your industry') }}",
        },
    )
    with pytest.raises(RenderError, match=r"templates/sms/raw\.txt"):
        renderer.render(Channel.sms, "raw", context(make_lead()))
    assert renderer.render(Channel.sms, "guarded", context(make_lead())).text == "your industry"
    with_field = make_lead(fields={"industry": "Retail"})
    assert renderer.render(Channel.sms, "raw", context(with_field)).text == "Retail"


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    """A template syntax error is located."""
    renderer = make_templates(tmp_path, {"voicemail/x.txt": "ok\n{% if %}\n"})
    with pytest.raises(RenderError, match=r"^templates/voicemail/x\.txt line 2: "):
        renderer.render(Channel.voicemail, "x", context(make_lead()))


# ---------------------------------------------------------------- escaping and whitespace


def test_html_is_escaped_text_and_subject_are_not(tmp_path: Path) -> None:
    """Lead fields are escaped in HTML parts only."""
    renderer = make_templates(
        tmp_path,
        {
            "email/x.subject.txt": "For {{ lead.company }}",
            "email/x.html": "<p>For {{ lead.company }}</p>",
            "email/x.txt": "For {{ lead.company }}",
            "mail/x.html": "<p>{{ lead.company }}</p>",
        },
    )
    company = "<script>alert(1)</script> Smith & Sons"
    lead = make_lead(company=company)
    rendered = renderer.render(Channel.email, "x", context(lead))
    assert rendered.html == ("<p>For &lt;script&gt;alert(1)&lt;/script&gt; Smith &amp; Sons</p>")
    assert "<script>" not in (rendered.html or "")
    assert rendered.text == f"For {company}"
    assert rendered.subject == f"For {company}"
    letter = renderer.render(Channel.direct_mail, "x", context(lead))
    assert letter.html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; Smith &amp; Sons</p>"


def test_subject_is_one_line_and_parts_are_trimmed(tmp_path: Path) -> None:
    """Subjects are folded onto one line; every part is stripped."""
    renderer = make_templates(
        tmp_path,
        {
            "email/x.subject.txt": "\n  Hello\n   {{ lead.first_name }}\t\n  again  \n",
            "email/x.html": "\n\n<p>x</p>\n\n",
            "email/x.txt": "  line one\nline two  \n\n",
        },
    )
    rendered = renderer.render(Channel.email, "x", context(make_lead()))
    assert rendered.subject == "Hello Ann again"
    assert rendered.html == "<p>x</p>"
    assert rendered.text == "line one\nline two"


def test_subject_with_a_newline_in_a_lead_field(tmp_path: Path) -> None:
    """A newline coming from data cannot split the subject either."""
    renderer = make_templates(
        tmp_path,
        {"email/x.subject.txt": "Hi {{ lead.company }}", "email/x.html": "h", "email/x.txt": "t"},
    )
    lead = make_lead(company="Acme\r\nBcc: victim@example.com")
    subject = renderer.render(Channel.email, "x", context(lead)).subject
    assert subject == "Hi Acme Bcc: victim@example.com"


def test_context_variables() -> None:
    """Templates see lead (with full_name), sender, cadence and touch."""
    lead = make_lead(fields={"industry": "Retail"})
    ctx = context(lead)
    assert ctx["lead"]["full_name"] == "Ann Lee"
    assert ctx["lead"]["fields"] == {"industry": "Retail"}
    assert ctx["lead"]["address"]["city"] == "Springfield"
    assert ctx["cadence"] == {"name": "drip", "version": 3}
    assert ctx["sender"]["name"] == "Test Sender"
    assert ctx["touch"]["cycle"] == 1


def test_sample_lead() -> None:
    """The documented validation sample lead, with the cadence's CRM fields."""
    lead = sample_lead({"industry": "Logistics"})
    assert (lead.full_name, lead.company, lead.title) == (
        "Pat Example",
        "Example Corp",
        "VP Operations",
    )
    assert (lead.email, lead.phone, lead.timezone) == (
        "pat.example@example.com",
        "+14155550123",
        "America/Chicago",
    )
    assert lead.address is not None and lead.address.city == "Springfield"
    assert lead.fields == {"industry": "Logistics"}


# ---------------------------------------------------------------- the shipped templates


SAMPLE_USES = sorted(
    {(channel, name) for cadence in SAMPLE_CADENCES for channel, name in uses(cadence.steps)}
)


@pytest.mark.parametrize(("channel", "name"), SAMPLE_USES, ids=lambda v: str(v))
def test_sample_templates_render_for_the_sample_lead(channel: Channel, name: str) -> None:
    """Every template the sample cadences use renders every part for the sample lead."""
    fields = {k: v for c in SAMPLE_CADENCES for k, v in c.sample_lead.items()}
    rendered = Renderer(SAMPLE_TEMPLATES).render(channel, name, context(sample_lead(fields)))
    parts = Renderer(SAMPLE_TEMPLATES).files(channel, name)
    for part in parts:
        value = getattr(rendered, part)
        assert value, f"{name}: empty {part}"
    if rendered.subject is not None:
        assert "\n" not in rendered.subject


@pytest.mark.parametrize(("channel", "name"), SAMPLE_USES, ids=lambda v: str(v))
def test_sample_templates_render_for_a_sparse_lead(channel: Channel, name: str) -> None:
    """Real leads have gaps: no names, company, title or CRM fields must not break a template."""
    if channel is Channel.direct_mail:
        lead = Lead.model_validate({"id": "s1", "address": sample_lead().address})
    elif channel is Channel.email:
        lead = Lead(id="s1", email="s1@example.com")
    else:
        lead = Lead(id="s1", phone="+14155550123")
    rendered = Renderer(SAMPLE_TEMPLATES).render(channel, name, context(lead))
    # A missing value printed as "None" (prose such as "None of these..." is fine).
    assert not re.search(r"\bNone\b(?! of)", rendered.model_dump_json(exclude_none=True))


@pytest.mark.parametrize("cycle", range(1, 7))
def test_monthly_insight_renders_each_issue(cycle: int) -> None:
    """The long-term nurture email varies with the cycle; all six issues render."""
    lead = sample_lead({"industry": "Retail"})
    rendered = Renderer(SAMPLE_TEMPLATES).render(
        Channel.email, "ltn-monthly-insight", context(lead, cycle=cycle)
    )
    assert rendered.subject and rendered.html and rendered.text


def test_inline_text_is_compiled_once_and_rendered_for_each_lead() -> None:
    content = "Hi {{ lead.first_name }}, a note from {{ sender.name }} (inline-cache test)."
    before = _inline_template.cache_info()
    ann = render_inline(content, {"lead": {"first_name": "Ann"}, "sender": {"name": "Sam"}})
    bob = render_inline(content, {"lead": {"first_name": "Bob"}, "sender": {"name": "Sam"}})
    assert (ann.text, bob.text) == (
        "Hi Ann, a note from Sam (inline-cache test).",
        "Hi Bob, a note from Sam (inline-cache test).",
    )
    after = _inline_template.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    for _ in range(2):  # the cached template stays strict
        with pytest.raises(RenderError, match="inline content"):
            render_inline(content, {"lead": {}, "sender": {"name": "Sam"}})
