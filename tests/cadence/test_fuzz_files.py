"""Fuzz: random mutations of every sample cadence and rule file never crash `validate`; every
refusal is located (file, line, field)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.cadence.validate import validate_files
from nurture.settings import ROOT

SAMPLES = ROOT / "cadences"
TEMPLATES = ROOT / "templates"
#: Cadences, the scoring and sales rules, and the roster (which validate reads with them).
FILES = sorted(p.name for p in SAMPLES.glob("*.yaml") if not p.name.startswith("_"))
FILES.append("_teams.yaml")
EXTREMES = ["0", "-1", "1e400", "99999999999999999999", ".inf", ".nan", "1.5", "''", "[]", "{}"]
TOKENS = ["[", "]", "{", "}", ": :", "&a ", "*a", "- ", "\t", "'", '"', "\\", "!!python/object:x"]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> bytes:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        how = draw(st.sampled_from(["delete", "duplicate", "number", "token", "indent", "bytes"]))
        if not lines:
            break
        line = lines[at]
        if how == "delete":
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, line)
        elif how == "number" and re.search(r"\d+", line):
            lines[at] = re.sub(r"\d+", draw(st.sampled_from(EXTREMES)), line, count=1)
        elif how == "token":
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.sampled_from(TOKENS)) + line[cut:]
        elif how == "indent":
            lines[at] = line[2:] if line.startswith("  ") else "  " + line
        else:
            lines[at] = line + draw(st.binary(max_size=8)).decode("latin-1")
    data = "".join(lines).encode("utf-8")
    if draw(st.integers(0, 9)) == 0:  # sometimes bytes that are not UTF-8
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + b"\xe9\xff" + data[cut:]
    return data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("cadences")
    for path in SAMPLES.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


@pytest.mark.parametrize("name", FILES)
def test_mutated_sample_files_are_refused_with_a_place(folder: Path, name: str) -> None:
    original = (SAMPLES / name).read_text(encoding="utf-8")
    path = folder / name
    refusals = 0

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(mutated(original))
    def check(data: bytes) -> None:
        nonlocal refusals
        path.write_bytes(data)
        try:
            if name.startswith("_"):  # the roster: checked through a cadence that uses it
                good, problems = validate_files([folder / "standard.yaml"], TEMPLATES)
            else:
                good, problems = validate_files([path], TEMPLATES)
        finally:
            path.write_text(original, encoding="utf-8")
        refusals += bool(problems)
        for problem in problems:
            assert problem.file.startswith(str(folder)), problem
            mutated_file = Path(problem.file).name == name
            text = data if mutated_file else Path(problem.file).read_bytes()
            lines = text.count(b"\n") + 2
            assert 1 <= problem.line <= lines + 2 and problem.column >= 1, problem
            assert problem.field and problem.message, problem
        assert good or problems or name in ("sales.yaml", "scoring.yaml")

    check()
    assert refusals, "no mutation was refused: the fuzzing did not run"
