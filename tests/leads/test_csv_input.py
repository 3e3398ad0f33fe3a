"""Broken leads files: every problem on its line, the good rows still enrolled; CSV output
never carries a live spreadsheet formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from nurture.csvfiles import safe_cell, write_rows
from nurture.leads.csvrows import MAX_FIELD_CHARS
from nurture.leads.enrollment import read_leads

HEADER = "id,email,first_name,segment,owner\n"


def read(tmp_path: Path, body: bytes) -> tuple[list[tuple[int, str]], list[str]]:
    path = tmp_path / "leads.csv"
    path.write_bytes(HEADER.encode() + body)
    leads, errors = read_leads(path)
    return [(line, lead.id) for line, lead in leads], [str(e) for e in errors]


def test_latin1_rows_are_reported_by_line(tmp_path: Path) -> None:
    body = "a1,a@example.com,Ann,x,o\na2,b@example.com,Zoë,x,o\na3,c@example.com,Cy,x,o\n"
    good, errors = read(tmp_path, body.encode("latin-1"))
    assert good == [(2, "a1"), (4, "a3")]
    assert errors == [
        "line 3: not UTF-8: byte 0xeb at column 20; save the file as UTF-8 (in Excel: 'CSV UTF-8')"
    ]


def test_unclosed_quote_loses_only_its_row(tmp_path: Path) -> None:
    body = b'a1,a@example.com,"Ann,x,o\na2,b@example.com,Bo,x,o\na3,c@example.com,Cy,x,o\n'
    good, errors = read(tmp_path, body)
    assert good == [(3, "a2"), (4, "a3")]
    assert errors == ["line 2: a quote is never closed; close it or remove it"]


def test_unclosed_quote_closed_by_a_later_row(tmp_path: Path) -> None:
    body = b'a1,a@example.com,"Ann,x,o\na2,b@example.com,"Bo",x,o\na3,c@example.com,Cy,x,o\n'
    good, errors = read(tmp_path, body)
    assert (4, "a3") in good
    assert errors[0].startswith("line 2: ")


def test_a_real_multiline_value_is_kept(tmp_path: Path) -> None:
    good, errors = read(tmp_path, b'a1,a@example.com,"Ann\nMarie",x,o\na2,b@example.com,B,x,o\n')
    assert (good, errors) == ([(2, "a1"), (4, "a2")], [])


def test_control_characters_and_long_values_are_refused(tmp_path: Path) -> None:
    long = "x" * (MAX_FIELD_CHARS + 1)
    body = f"a1,a@example.com,A\x00nn,x,o\na2,b@example.com,{long},x,o\na3,c@example.com,C,x,o\n"
    good, errors = read(tmp_path, body.encode())
    assert good == [(4, "a3")]
    assert errors == [
        "line 2 (a1): 'first_name' contains a control character (NUL)",
        "line 3 (a2): 'first_name' has 10,001 characters; at most 10,000",
    ]


def test_a_short_row_names_its_missing_columns(tmp_path: Path) -> None:
    good, errors = read(tmp_path, b"a1,a@example.com,Ann\na2,b@example.com,Bo,x,o\n")
    assert good == [(3, "a2")]
    assert errors == ["line 2 (a1): missing columns segment, owner (the row has 3 of 5 values)"]


def test_formula_prefixes_are_neutralised_on_write() -> None:
    out = io.StringIO()
    rows = [
        {"name": '=HYPERLINK("http://x")', "note": "+1 555", "n": -3},
        {"name": "@SUM(A1)", "note": "\tx", "n": 2.5},
        ["-cmd", "\rx", "plain"],
    ]
    assert write_rows(out, ["name", "note", "n"], rows) == 3
    read_back = list(csv.reader(io.StringIO(out.getvalue())))
    assert read_back[1] == ['\'=HYPERLINK("http://x")', "'+1 555", "-3"]
    assert read_back[2] == ["'@SUM(A1)", "'\tx", "2.5"]
    assert read_back[3] == ["'-cmd", "'\rx", "plain"]
    assert safe_cell(None) == "" and safe_cell("fine") == "fine"
