"""CSV export of a report, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import Any

from nurture.journeylog.reports import Report

__all__ = ["safe_cell", "to_csv"]

#: A text cell starting with one of these is a formula to Excel, Sheets and LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The cell as a spreadsheet will show it: text that would start a formula gets a leading
    apostrophe (numbers stay numbers)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(report: Report) -> str:
    """The report as CSV text: a header row, then one row per line of the report."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in report.columns])
    for row in report.rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
