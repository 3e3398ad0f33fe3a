"""YAML files with located errors: every problem names the file, line, column and field.

Used for every file marketing writes: cadences, scoring and sales rules, the roster.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from nurture.lead import INPUT


class Problem(BaseModel):
    """One thing wrong in a cadence file, located by file, line and field."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: {self.message}"


class FileError(ValueError):
    """A file could not be loaded; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def field_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


class LocatedYaml:
    """A YAML document with the line/column of every key and list item."""

    def __init__(self, text: str) -> None:
        self.root = yaml.compose(text, Loader=yaml.SafeLoader)

    def find(self, loc: tuple[Any, ...]) -> tuple[int, int, tuple[Any, ...]]:
        """Position of the deepest node on ``loc``, and ``loc`` without pydantic's union tags."""
        node = self.root
        mark = node.start_mark if node is not None else None
        path: list[Any] = []
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next((kv for kv in node.value if kv[0].value == part), None)
                if match is None:
                    continue
                mark, node = match[0].start_mark, match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    break
                node = node.value[part]
                mark = node.start_mark
            else:
                continue
            path.append(part)
        if mark is None:
            return 1, 1, tuple(path)
        return mark.line + 1, mark.column + 1, tuple(path)


def _message(error: Any, kinds: tuple[str, ...]) -> str:
    kind = error["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found") and kinds:
        value = error.get("input")
        keys = sorted(k for k in value if k != "id") if isinstance(value, dict) else value
        return f"unknown step kind {keys}; a step has exactly one of: {', '.join(kinds)}"
    if kind == "extra_forbidden":
        return "unknown field"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


M = TypeVar("M", bound=BaseModel)


def parse_model(text: str, file: str, model: type[M], what: str, kinds: tuple[str, ...] = ()) -> M:
    """Parse a YAML file into ``model``; raises ``FileError`` with file/line/field problems.

    ``kinds``: the tags of a tagged union in the model (named in an unknown-tag message).
    """
    try:
        data = yaml.safe_load(text)
        located = LocatedYaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise FileError(
            [
                Problem(
                    file=file,
                    line=line,
                    column=column,
                    field="(file)",
                    message=f"not valid YAML: {exc}",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise FileError(
            [
                Problem(
                    file=file, line=1, column=1, field="(file)", message=f"{what} is a YAML mapping"
                )
            ]
        )
    try:
        return model.model_validate(data, context=INPUT)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            line, column, path = located.find(tuple(error["loc"]))
            problems.append(
                Problem(
                    file=file,
                    line=line,
                    column=column,
                    field=field_path(path),
                    message=_message(error, kinds),
                )
            )
        raise FileError(problems) from None
