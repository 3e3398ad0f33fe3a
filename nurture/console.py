"""What the terminal commands share: the consoles, one-line errors, and running service calls
against Temporal with their refusals turned into exit 1 and the service's own message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from nurture.settings import get_settings

if TYPE_CHECKING:  # imported lazily at run time (keeps `nurture --help` fast)
    from pydantic import ValidationError
    from temporalio.client import Client

#: Markup is off: data (a pattern like '^[a-z0-9]*$', a lead's name) always prints as is; style
#: comes from ``tag`` and ``bold`` instead.
console = Console(markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
T = TypeVar("T")


def tag(word: str, style: str, message: object = "") -> Text:
    """A styled leading word followed by ``message`` printed literally, e.g. 'error …' in red."""
    return Text.assemble((word, style), " ", str(message)) if message != "" else Text(word, style)


def bold(*parts: object) -> Text:
    """Alternate plain and bold parts: ``bold("lead ", lead_id, " on ", name)``."""
    return Text.assemble(*((str(p), "bold") if i % 2 else str(p) for i, p in enumerate(parts)))


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the message as an error; the exit to raise."""
    err.print(tag("error", "red", message))
    return typer.Exit(code)


def problems(exc: ValidationError) -> str:
    """A pydantic error in one line."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def aware_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 option value as an aware time; the UTC offset is required (exit 2 without)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not an ISO 8601 time", 2) from None
    if parsed.tzinfo is None:
        raise fail(f"{option}: add the UTC offset, e.g. {value}+01:00 or {value}Z", 2)
    return parsed


def run_with_client(
    work: Callable[[Client], Awaitable[T]], refusals: tuple[type[BaseException], ...] = ()
) -> T:
    """Connect to Temporal and run ``work``; an unreachable server, a ``LeadError`` (or one of
    ``refusals``, each with a ``message``) and the product's other errors (``nurture.errors``)
    become one line and their exit code."""
    from nurture.errors import FAILED, explain
    from nurture.temporal.client import connect

    settings = get_settings()

    async def main() -> T:
        return await work(await connect(settings))

    try:
        return asyncio.run(main())
    except refusals as exc:
        raise fail(getattr(exc, "message", str(exc)), FAILED) from None
    except Exception as exc:
        found = explain(exc)
        if found is None:
            raise
        lines, code = found
        for line in lines[:-1]:
            err.print(tag("error", "red", line))
        raise fail(lines[-1], code) from None
