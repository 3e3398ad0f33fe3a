"""The "new version" part of the diff and migrate forms: the cadence's file on disk, a pasted
text or an uploaded file, fully validated as a version of the cadence (located problems if not)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException
from starlette.datastructures import FormData, UploadFile

from nurture.cadence.model import Cadence
from nurture.cadence.new_version import check_new_text, check_new_version, current_file
from nurture.settings import Settings
from nurture.yamlfiles import MAX_FILE_BYTES, Problem

#: Where the new version comes from.
SOURCES = {"file": "the file on disk", "paste": "pasted text", "upload": "an uploaded file"}


@dataclass
class NewFile:
    """The new version as the form gave it: where from, its text, and the checked cadence."""

    source: str = "file"
    label: str = ""
    text: str = ""
    cadence: Cadence | None = None
    problems: list[Problem] = field(default_factory=list)


def cadence_path(settings: Settings, name: str) -> Path:
    """The cadence's file in the cadences folder; 404 if there is none."""
    path = current_file(settings.cadences_dir, name)
    if path is None:
        raise HTTPException(404, f"no cadence named {name!r}")
    return path


def on_disk(settings: Settings, name: str) -> NewFile:
    """The cadence's current file, checked."""
    path = cadence_path(settings, name)
    cadence, problems = check_new_version(path, name, settings.templates_dir)
    return NewFile("file", path.name, "", cadence, problems)


async def read_new_file(form: FormData, settings: Settings, name: str) -> NewFile:
    """The new version the form names (field ``source``: file, paste or upload), checked."""
    source = str(form.get("source") or "file")
    if source == "file":
        return on_disk(settings, name)
    if source == "paste":
        text, label = str(form.get("text") or ""), f"pasted {name}.yaml"
    elif source == "upload":
        upload = form.get("upload")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _refused(source, "", "choose a file to upload")
        raw = await upload.read(MAX_FILE_BYTES + 1)
        label = Path(upload.filename).name
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refused(source, label, "the file is not UTF-8 text")
    else:
        raise HTTPException(400, f"source: one of {', '.join(SOURCES)}")
    if not text.strip():
        return _refused(source, label, "the new version is empty: paste or upload a cadence")
    cadence, problems = check_new_text(
        text, name, label, settings.cadences_dir, settings.templates_dir
    )
    return NewFile(source, label, text, cadence, problems)


def _refused(source: str, label: str, message: str) -> NewFile:
    problem = Problem(file=label or "(none)", line=0, column=0, field="", message=message)
    return NewFile(source, label, "", None, [problem])
