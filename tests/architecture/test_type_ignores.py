"""No ``# type: ignore`` without a one-line reason: after it on the same line
(``# type: ignore[code]  # why``) or as a comment on the line above."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("nurture", "workflows", "activities", "bench", "worker.py")
IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?(?P<rest>.*)")
REASON = re.compile(r"#\s*\w")


def unexplained(source: str) -> list[int]:
    """Line numbers of ``# type: ignore`` comments in ``source`` that give no reason."""
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        ignore = IGNORE.search(token.string)
        if ignore is None or REASON.search(ignore["rest"]):
            continue
        row = token.start[0]
        above = lines[row - 2].strip() if row > 1 else ""
        if not (above.startswith("#") and REASON.match(above) and not IGNORE.search(above)):
            found.append(row)
    return found


def python_files() -> list[Path]:
    return sorted(
        p
        for name in CHECKED
        for p in ([ROOT / name] if name.endswith(".py") else (ROOT / name).rglob("*.py"))
    )


def test_every_type_ignore_gives_its_reason() -> None:
    bare = [
        f"{path.relative_to(ROOT)}:{row}"
        for path in python_files()
        for row in unexplained(path.read_text())
    ]
    assert not bare, "type: ignore without a reason (add '  # why' or fix the type): " + ", ".join(
        bare
    )


def test_the_check_tells_a_reason_from_none() -> None:
    source = (
        "a = f()  # type: ignore[arg-type]\n"
        "b = f()  # type: ignore[arg-type]  # the model validates it\n"
        "# Starlette types handlers loosely\n"
        "c = f()  # type: ignore[arg-type]\n"
        "d = f()  # type: ignore\n"
        "e = '# type: ignore'\n"
        "g = f()  # type: ignore[misc]  #\n"
    )
    assert unexplained(source) == [1, 5, 7]
