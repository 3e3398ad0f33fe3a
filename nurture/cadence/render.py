"""Rendering touches from ``templates/`` with Jinja2 (strict: an unknown variable is an error)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)
from pydantic import BaseModel

from nurture.events import Channel
from nurture.lead import Lead, PostalAddress

#: Template files per channel: part -> path pattern under ``templates/``.
TEMPLATE_FILES: dict[Channel, dict[str, str]] = {
    Channel.email: {
        "subject": "email/{name}.subject.txt",
        "html": "email/{name}.html",
        "text": "email/{name}.txt",
    },
    Channel.call: {"text": "call/{name}.txt"},
    Channel.voicemail: {"text": "voicemail/{name}.txt"},
    Channel.sms: {"text": "sms/{name}.txt"},
    Channel.direct_mail: {"html": "mail/{name}.html"},
}


class Rendered(BaseModel):
    """A rendered touch: subject (email), text and/or HTML."""

    subject: str | None = None
    text: str | None = None
    html: str | None = None


class RenderError(ValueError):
    """A template is missing or failed to render; the message names the file."""


class Renderer:
    """Renders touch templates from one templates folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(directory),
            undefined=StrictUndefined,
            autoescape=select_autoescape(["html"]),
            keep_trailing_newline=False,
            auto_reload=False,
        )

    def files(self, channel: Channel, name: str) -> dict[str, str]:
        """The template files a touch needs, relative to the templates folder."""
        return {
            part: pattern.format(name=name) for part, pattern in TEMPLATE_FILES[channel].items()
        }

    def missing(self, channel: Channel, name: str) -> list[str]:
        """Template files that do not exist."""
        return [f for f in self.files(channel, name).values() if not (self.directory / f).is_file()]

    def render(self, channel: Channel, name: str, context: dict[str, Any]) -> Rendered:
        """Render every part of a touch; raises ``RenderError`` naming the file on failure."""
        parts: dict[str, str] = {}
        for part, file in self.files(channel, name).items():
            try:
                parts[part] = self.env.get_template(file).render(context).strip()
            except TemplateNotFound:
                raise RenderError(f"templates/{file}: not found") from None
            except TemplateError as exc:
                line = getattr(exc, "lineno", None) or _template_line(exc, file)
                where = f" line {line}" if line else ""
                raise RenderError(f"templates/{file}{where}: {exc.message}") from None
        if "subject" in parts:
            parts["subject"] = " ".join(parts["subject"].split())
        return Rendered(**parts)


#: Channels whose message is one text, so a variant may carry it inline (``content``).
INLINE_CHANNELS = frozenset({Channel.sms, Channel.voicemail})


#: The environment of inline texts (no loader: a variant's text is its own template).
_INLINE = Environment(undefined=StrictUndefined)


@lru_cache(maxsize=256)
def _inline_template(content: str) -> Template:
    """An inline text compiled once (a cadence's few variants are sent again and again)."""
    return _INLINE.from_string(content)


def render_inline(content: str, context: dict[str, Any]) -> Rendered:
    """Render a variant's inline text (sms, voicemail) like a template's text part."""
    try:
        text = _inline_template(content).render(context)
    except TemplateError as exc:
        raise RenderError(f"inline content: {exc.message}") from None
    return Rendered(text=text.strip())


def _template_line(exc: BaseException, file: str) -> int | None:
    """The template line a render error happened on (Jinja maps its frames to template lines)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(file):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def touch_context(
    lead: Lead,
    *,
    cadence: str,
    version: int,
    sender: dict[str, Any] | None,
    touch: dict[str, Any],
) -> dict[str, Any]:
    """The variables a template sees: ``lead``, ``sender``, ``cadence`` and ``touch``."""
    return {
        "lead": {**lead.model_dump(), "full_name": lead.full_name},
        "sender": sender,
        "cadence": {"name": cadence, "version": version},
        "touch": touch,
    }


def sample_lead(fields: dict[str, str] | None = None) -> Lead:
    """A complete made-up lead for previews and template validation."""
    return Lead(
        id="sample-1",
        email="pat.example@example.com",
        phone="+14155550123",
        first_name="Pat",
        last_name="Example",
        company="Example Corp",
        title="VP Operations",
        segment="standard",
        owner="sam.rep",
        timezone="America/Chicago",
        country="US",
        address=PostalAddress(
            line1="1 Main St", city="Springfield", state="IL", postal_code="62701"
        ),
        fields=dict(fields or {}),
    )
