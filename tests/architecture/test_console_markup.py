"""The terminal consoles print every string literally (``nurture.console``: markup off, so a
pattern like '^[a-z0-9]*$' or a lead's name survives). Rich markup written in the code would
then print as text ("[dim]leads: ...[/dim]" under `nurture report`): style goes through
``style=``, ``tag`` or ``bold`` instead."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: An opening or closing rich tag: [/], [/dim], [bold], [red], [dim italic], [bold red] ...
STYLE = (
    r"(bold|dim|italic|underline|reverse|strike|b|i|u|s"
    r"|red|green|yellow|blue|magenta|cyan|white|grey\d*)"
)
MARKUP = re.compile(rf"\[/\]|\[/?{STYLE}( {STYLE})*\]")


def markup_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MARKUP.search(node.value)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {match.group()}")
    return found


def test_no_rich_markup_in_terminal_strings() -> None:
    files = [
        p for pkg in ("nurture", "activities", "workflows") for p in (ROOT / pkg).rglob("*.py")
    ]
    found = [hit for path in [*files, ROOT / "worker.py"] for hit in markup_in(path)]
    assert found == []


def test_the_check_sees_markup() -> None:
    assert MARKUP.search("  [dim]leads: ...[/dim]")
    assert MARKUP.search("3 journeys ...[/]")
    assert not MARKUP.search("String should match pattern '^[a-z0-9][a-z0-9-]*$'")
    assert not MARKUP.search("steps[2].call.queue")
