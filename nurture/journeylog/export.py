"""CSV export of a report, safe to open in a spreadsheet (``nurture.csvfiles``)."""

from __future__ import annotations

import io

from nurture.csvfiles import safe_cell, write_rows
from nurture.journeylog.reports import Report

__all__ = ["safe_cell", "to_csv"]


def to_csv(report: Report) -> str:
    """The report as CSV text: a header row, then one row per line of the report."""
    out = io.StringIO()
    write_rows(out, report.columns, report.rows)
    return out.getvalue()
