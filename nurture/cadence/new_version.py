"""Checking a new version of a live cadence before it is diffed or migrated to: fully validated
(shape, graph, templates), and really the named cadence. Used by ``nurture cadence migrate`` (a
file anywhere) and the web pages (a pasted or uploaded file, checked as if it sat in the
cadences folder in place of the current one)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nurture.cadence.model import Cadence, cadence_files, load_cadence
from nurture.cadence.validate import validate_files
from nurture.yamlfiles import FileError, Problem

#: The validator's complaint when a file's name is not its cadence's name: a new version may sit
#: in any file (only its content counts).
_FILE_NAME = "must match the file name"


def check_new_version(
    path: Path, name: str, templates_dir: Path
) -> tuple[Cadence | None, list[Problem]]:
    """The cadence in ``path`` if it is a valid version of ``name``, else its located problems."""
    if not path.exists():
        return None, [Problem(file=str(path), line=0, column=0, field="", message="no such file")]
    cadences, found = validate_files([path], templates_dir)
    found = [p for p in found if _FILE_NAME not in p.message]
    if not cadences and not found:
        try:
            cadences = [load_cadence(path)]
        except FileError as exc:
            found = exc.problems
    if found or not cadences:
        return None, found
    cadence = cadences[0]
    if cadence.name != name:
        return None, [
            Problem(
                file=str(path),
                line=1,
                column=1,
                field="name",
                message=f"this file is cadence {cadence.name!r}, not {name!r}",
            )
        ]
    return cadence, []


def check_new_text(
    text: str, name: str, shown_as: str, cadences_dir: Path, templates_dir: Path
) -> tuple[Cadence | None, list[Problem]]:
    """Like :func:`check_new_version` for a file's text, validated beside the other cadences and
    the roster of ``cadences_dir``; problems name the file ``shown_as``."""
    with tempfile.TemporaryDirectory(prefix="nurture-new-version-") as tmp:
        folder = Path(tmp)
        for other in cadences_dir.iterdir():  # the neighbours it may name (recycle_to, teams)
            if other.is_file() and other.stem != name:
                (folder / other.name).symlink_to(other.resolve())
        path = folder / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        cadence, problems = check_new_version(path, name, templates_dir)
    return cadence, [_shown(p, path, shown_as, folder, cadences_dir) for p in problems]


def _shown(
    problem: Problem, path: Path, shown_as: str, folder: Path, cadences_dir: Path
) -> Problem:
    """A problem located in the real files: the new text as ``shown_as``, a neighbour by its
    path in the cadences folder."""
    if problem.file == str(path):
        return problem.model_copy(update={"file": shown_as})
    if problem.file.startswith(str(folder)):
        real = cadences_dir / Path(problem.file).name
        return problem.model_copy(update={"file": str(real)})
    return problem


def current_file(cadences_dir: Path, name: str) -> Path | None:
    """The file of cadence ``name`` in the cadences folder, if there is one."""
    return next((p for p in cadence_files(cadences_dir) if p.stem == name), None)
