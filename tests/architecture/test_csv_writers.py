"""Every CSV the product writes goes through ``nurture.csvfiles.write_rows``, which neutralises
formula prefixes (=, +, -, @, tab, CR): a lead named '=HYPERLINK(...)' never runs in the
spreadsheet a manager opens. No other module makes its own ``csv.writer``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "nurture" / "csvfiles.py"


def writers_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("writer", "DictWriter")
            and isinstance(node.value, ast.Name)
            and node.value.id == "csv"
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: csv.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "csv":
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno}: from csv import {a.name}"
                for a in node.names
                if a.name in ("writer", "DictWriter")
            ]
    return found


def test_one_csv_writer() -> None:
    files = [p for pkg in ("nurture", "activities", "bench") for p in (ROOT / pkg).rglob("*.py")]
    found = [hit for path in files if path != HELPER for hit in writers_in(path)]
    assert found == []
    assert writers_in(HELPER)  # the check sees a writer where there is one
