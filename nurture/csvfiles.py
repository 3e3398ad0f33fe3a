"""Writing CSV files people open in a spreadsheet: every CSV the product writes goes through
``write_rows``, which neutralises values a spreadsheet would run as a formula (CSV injection)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import IO

#: First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell's text with a leading ``'`` when it would start a formula; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_rows(
    out: IO[str], header: Sequence[str], rows: Iterable[Mapping[str, object] | Sequence[object]]
) -> int:
    """Write a header and rows (mappings by column, or sequences) as CSV; returns rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    count = 0
    for row in rows:
        values = [row.get(name) for name in header] if isinstance(row, Mapping) else list(row)
        writer.writerow([safe_cell(value) for value in values])
        count += 1
    return count
