"""Fuzz: random mutations of the example leads files never crash reading them; every problem is
on a real line, and every row is either enrolled or reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.leads.enrollment import read_leads
from nurture.settings import ROOT

FILES = ["leads.csv", "bad-leads.csv"]
PIECES = [
    b'"',
    b",",
    b"\n",
    b"\r",
    b"\x00",
    b"\xe9",
    b"\xff\xfe",
    b"=cmd",
    b"\t",
    b'""',
    b"x" * 20_000,
]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["insert", "delete", "truncate", "bytes"]))
        if how == "insert":
            data = data[:at] + draw(st.sampled_from(PIECES)) + data[at:]
        elif how == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif how == "truncate":
            data = data[:at]
        else:
            data = data[:at] + draw(st.binary(max_size=6)) + data[at:]
    return data


@pytest.mark.parametrize("name", FILES)
def test_mutated_leads_files_never_crash(tmp_path: Path, name: str) -> None:
    original = (ROOT / "examples" / name).read_bytes()
    path = tmp_path / name
    seen = {"rows": 0, "problems": 0}

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(mutated(original))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        leads, errors = read_leads(path)
        seen["rows"] += len(leads)
        seen["problems"] += len(errors)
        lines = max(data.count(b"\n") + data.count(b"\r") + 1, 1)
        for error in errors:
            assert 1 <= error.line <= lines, (error, lines)
            assert error.message
        assert len({lead.id for _, lead in leads}) == len(leads)  # duplicates reported, not kept
        for line, lead in leads:
            assert 2 <= line <= lines
            values = [
                lead.first_name,
                lead.last_name,
                lead.company,
                lead.title,
                *lead.fields.values(),
            ]
            assert not any("\x00" in (v or "") for v in values)

    check()
    assert seen["rows"] and seen["problems"], seen  # the fuzzing ran: rows read, rows refused
