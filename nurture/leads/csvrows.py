"""Reading a leads CSV defensively: every problem is reported on its line and costs only that
row. Limits (documented in README "Leads files"): the file at most ``MAX_FILE_BYTES``, a value at
most ``MAX_FIELD_CHARS`` characters, no control characters but tab and line breaks, UTF-8 text.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

#: Largest leads file accepted.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: Longest value in one cell (a long note is a few hundred characters).
MAX_FIELD_CHARS = 10_000
#: Physical lines one quoted value may span before it counts as an unclosed quote.
MAX_FIELD_LINES = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAMES = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL"}


@dataclass
class Rows:
    """The header, the good records (first line, values by column) and the problems by line."""

    header: list[str] = field(default_factory=list)
    records: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[tuple[int, str | None, str]] = field(default_factory=list)


def _lines(data: bytes, rows: Rows) -> list[tuple[int, str]]:
    """Physical lines as (number, text); a line that is not UTF-8 is reported and left out."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            rows.problems.append(
                (
                    number,
                    None,
                    f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}; "
                    "save the file as UTF-8 (in Excel: 'CSV UTF-8')",
                )
            )
            continue
        lines.append((number, text))
    return lines


def _record(lines: list[tuple[int, str]], start: int) -> tuple[list[str] | None, int, str | None]:
    """Parse the record starting at ``lines[start]``: (values, lines used, problem)."""
    used = 0

    def feed() -> str:
        nonlocal used
        if start + used >= len(lines) or used >= MAX_FIELD_LINES:
            raise StopIteration
        used += 1
        return lines[start + used - 1][1]

    class _Feed:
        def __iter__(self) -> _Feed:
            return self

        def __next__(self) -> str:
            return feed()

    try:
        values = next(csv.reader(_Feed(), strict=True))
    except csv.Error as exc:
        if "end of data" in str(exc) or used >= MAX_FIELD_LINES:
            return None, 1, "a quote is never closed; close it or remove it"
        return None, max(used, 1), f"bad quoting: {exc}"
    except StopIteration:
        return None, max(used, 1), None
    return values, used, None


def _cell_problem(column: str, value: str) -> str | None:
    if len(value) > MAX_FIELD_CHARS:
        return f"{column!r} has {len(value):,} characters; at most {MAX_FIELD_CHARS:,}"
    found = _CONTROL.search(value)
    if found:
        char = found.group()
        name = _NAMES.get(char, f"0x{ord(char):02x}")
        return f"{column!r} contains a control character ({name})"
    return None


def read_rows(data: bytes) -> Rows:
    """Header and records of a CSV file's bytes, each bad line or row reported and skipped."""
    rows = Rows()
    if len(data) > MAX_FILE_BYTES:
        rows.problems.append(
            (1, None, f"file is {len(data):,} bytes; at most {MAX_FILE_BYTES:,} (split it)")
        )
        return rows
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS * MAX_FIELD_LINES))
    lines = _lines(data, rows)
    index = 0
    while index < len(lines) and not lines[index][1].strip():
        index += 1
    if index >= len(lines):
        return rows
    values, used, problem = _record(lines, index)
    if values is None or problem:
        rows.problems.append((lines[index][0], None, f"header: {problem or 'empty'}"))
        return rows
    rows.header = [value.strip() for value in values]
    index += used
    while index < len(lines):
        number, text = lines[index]
        if not text.strip():
            index += 1
            continue
        values, used, problem = _record(lines, index)
        if values is not None and used > 1 and len(values) != len(rows.header):
            # A quoted value ran over line ends and took other rows' values with it.
            values, used, problem = None, 1, "a quote is never closed; close it or remove it"
        index += used
        if values is None:
            rows.problems.append((number, None, problem or "unreadable row"))
            continue
        lead_id = values[0].strip() or None if values else None
        why = _row_problem(rows.header, values)
        if why:
            rows.problems.append((number, lead_id, why))
            continue
        rows.records.append((number, dict(zip(rows.header, values, strict=True))))
    rows.problems.sort(key=lambda p: p[0])
    return rows


def _row_problem(header: list[str], values: list[str]) -> str | None:
    if len(values) < len(header):
        missing = header[len(values) :]
        return (
            f"missing {'column' if len(missing) == 1 else 'columns'} {', '.join(missing)} "
            f"(the row has {len(values)} of {len(header)} values)"
        )
    if len(values) > len(header):
        return f"{len(values) - len(header)} value(s) more than the header's {len(header)} columns"
    for column, value in zip(header, values, strict=True):
        problem = _cell_problem(column, value)
        if problem:
            return problem
    return None
