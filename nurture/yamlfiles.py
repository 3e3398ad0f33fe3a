"""YAML files with located errors: every problem names the file, line, column and field.

Used for every file marketing writes: cadences, scoring and sales rules, the roster. Loading is
strict: a file over ``MAX_FILE_BYTES`` is refused before parsing, text that is not UTF-8 is refused
with its byte offset, a key given twice is an error naming both lines, nesting deeper than
``MAX_DEPTH`` and aliases expanding past ``MAX_NODES`` are refused, and so are ``.inf``/``.nan``.
"""

from __future__ import annotations

import math
from pathlib import Path
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


#: Largest YAML file accepted (a real cadence is a few KiB).
MAX_FILE_BYTES = 256 * 1024
#: Deepest nesting of maps and lists accepted (a cadence needs about 8).
MAX_DEPTH = 32
#: Most nodes a file may expand to, counting every alias use (stops "billion laughs" files).
MAX_NODES = 50_000


def _problem(file: str, message: str, line: int = 1, column: int = 1) -> FileError:
    return FileError(
        [Problem(file=file, line=line, column=column, field="(file)", message=message)]
    )


def _too_big(file: str, size: int) -> FileError:
    return _problem(
        file, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes (256 KiB)"
    )


def decode(data: bytes, file: str) -> str:
    """UTF-8 text of a file's bytes; refuses big files and non-UTF-8 bytes (with their offset)."""
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(file, len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _problem(
            file,
            f"not UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start}; "
            "save the file as UTF-8",
            line,
            column,
        ) from None


def read_file(path: Path) -> str:
    """A YAML file's text, checked by ``decode`` (size first, without reading a huge file)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _too_big(str(path), size)
    return decode(path.read_bytes(), str(path))


class _StrictLoader(yaml.SafeLoader):
    """The safe loader without non-finite numbers."""

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a finite number", node.start_mark
            )
        return float(value)


_StrictLoader.add_constructor(
    "tag:yaml.org,2002:float",
    _StrictLoader.construct_yaml_float,
)


def _at(mark: Any) -> tuple[int, int]:
    """1-based line and column of a YAML mark (1, 1 without one)."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _check_events(text: str, file: str) -> None:
    """Refuse too-deep nesting and alias bombs before anything recursive runs."""
    depth, total = 0, 0
    sizes: dict[str, int] = {}
    open_: list[tuple[str | None, int]] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        mark = event.start_mark
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            total += 1
            if depth > MAX_DEPTH:
                raise _problem(
                    file,
                    f"nested more than {MAX_DEPTH} levels deep",
                    *_at(mark),
                )
            open_.append((event.anchor, total))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = open_.pop()
            if anchor is not None:
                sizes[anchor] = total - start + 1
        elif isinstance(event, yaml.ScalarEvent):
            total += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            total += sizes.get(event.anchor or "", 1)
        if total > MAX_NODES:
            raise _problem(
                file,
                f"expands to more than {MAX_NODES:,} values (aliases included)",
                *_at(mark),
            )


def _duplicate_keys(root: yaml.Node | None, file: str) -> list[Problem]:
    """Every key given twice in one map, naming both lines (walked without recursion)."""
    problems: list[Problem] = []
    todo = [root] if root is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    first = seen.get(key.value)
                    if first is not None:
                        mark = key.start_mark
                        problems.append(
                            Problem(
                                file=file,
                                line=mark.line + 1,
                                column=mark.column + 1,
                                field=str(key.value),
                                message=f"key {key.value!r} given twice: on line "
                                f"{first.start_mark.line + 1} and line {mark.line + 1}",
                            )
                        )
                    else:
                        seen[key.value] = key
                todo.append(value)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return problems


def load_yaml(text: str, file: str) -> tuple[Any, LocatedYaml]:
    """Strictly load a YAML document; returns the data and its located nodes."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise _too_big(file, len(text.encode("utf-8", "replace")))
    try:
        _check_events(text, file)
        located = LocatedYaml(text)
        duplicates = _duplicate_keys(located.root, file)
        if duplicates:
            raise FileError(duplicates)
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None)
        message = f"not valid YAML: {problem or exc}"
        raise _problem(file, message, *_at(getattr(exc, "problem_mark", None))) from None
    return data, located


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
    data, located = load_yaml(text, file)
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
