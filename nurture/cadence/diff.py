"""What changed between two versions of a cadence: steps added, removed and changed (by step id),
with each change sorted into waits, branches, templates, variants or the step's other settings,
and the cadence's own settings (cycles, limits, calendar...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from nurture.cadence.model import Cadence
from nurture.cadence.steps import StepBase, step_kind

Area = Literal["wait", "branch", "template", "variants", "step"]

#: Words of a field path that put its change in an area (checked in this order).
_AREAS: tuple[tuple[Area, frozenset[str]], ...] = (
    ("variants", frozenset({"variants"})),
    ("branch", frozenset({"branch", "cases", "then", "else", "otherwise", "goto"})),
    ("wait", frozenset({"wait", "within", "due"})),
    ("template", frozenset({"template", "script", "voicemail"})),
)


@dataclass(frozen=True)
class FieldChange:
    """One value that differs: where (a dotted path in the step or the cadence), before, after."""

    path: str
    old: Any
    new: Any
    area: Area = "step"

    def describe(self) -> str:
        """'email.template: intro → intro-short'."""
        return f"{self.path}: {self.before} → {self.after}"

    @property
    def before(self) -> str:
        """The old value in words ('(none)' when it was not set)."""
        return _show(self.old)

    @property
    def after(self) -> str:
        """The new value in words ('(none)' when it is no longer set)."""
        return _show(self.new)


@dataclass(frozen=True)
class StepChange:
    """A step present in both versions whose definition changed."""

    step: str
    kind: str
    changes: list[FieldChange]

    @property
    def areas(self) -> list[Area]:
        """The kinds of change, e.g. ['wait', 'template']."""
        return sorted({c.area for c in self.changes})


@dataclass
class CadenceDiff:
    """Every difference between an old and a new cadence."""

    old: Cadence
    new: Cadence
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[StepChange] = field(default_factory=list)
    reordered: bool = False
    settings: list[FieldChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the two versions run the same way."""
        return not (self.added or self.removed or self.changed or self.reordered or self.settings)

    def in_area(self, area: Area) -> list[tuple[str, FieldChange]]:
        """(step id, change) for every step change in one area (waits, branches...)."""
        return [(s.step, c) for s in self.changed for c in s.changes if c.area == area]

    def lines(self) -> list[str]:
        """The diff as plain lines, for a terminal or a file."""
        out = [
            f"{self.old.name} v{self.old.version} → {self.new.name} v{self.new.version}"
            + ("" if self.new.version > self.old.version else "  (version not higher!)")
        ]
        if self.empty:
            return [*out, "no changes"]
        kinds = {str(s.id): step_kind(s) for s in self.new.steps}
        out += [f"+ step {s} ({kinds[s]}) added" for s in self.added]
        old_kinds = {str(s.id): step_kind(s) for s in self.old.steps}
        out += [f"- step {s} ({old_kinds[s]}) removed" for s in self.removed]
        for change in self.changed:
            out.append(f"~ step {change.step} ({change.kind}): {', '.join(change.areas)} changed")
            out += [f"    {c.area}: {c.describe()}" for c in change.changes]
        if self.reordered:
            old = " ".join(str(s.id) for s in self.old.steps)
            new = " ".join(str(s.id) for s in self.new.steps)
            out += ["~ step order changed", f"    was: {old}", f"    now: {new}"]
        out += [f"~ {c.describe()}" for c in self.settings]
        return out


def diff_cadences(old: Cadence, new: Cadence) -> CadenceDiff:
    """Compare two versions of a cadence step by step id."""
    old_steps = {str(s.id): s for s in old.steps}
    new_steps = {str(s.id): s for s in new.steps}
    result = CadenceDiff(old=old, new=new)
    result.added = [s for s in new_steps if s not in old_steps]
    result.removed = [s for s in old_steps if s not in new_steps]
    for step_id, step in new_steps.items():
        before = old_steps.get(step_id)
        if before is None:
            continue
        changes = _step_changes(before, step)
        if changes:
            result.changed.append(StepChange(step_id, step_kind(step), changes))
    kept_old = [s for s in old_steps if s in new_steps]
    kept_new = [s for s in new_steps if s in old_steps]
    result.reordered = kept_old != kept_new
    result.settings = [
        FieldChange(path, a, b)
        for path, a, b in _compare(_settings(old), _settings(new))
        if path not in ("version",)
    ]
    return result


def _step_changes(old: StepBase, new: StepBase) -> list[FieldChange]:
    if step_kind(old) != step_kind(new):
        return [FieldChange("kind", step_kind(old), step_kind(new))]
    return [
        FieldChange(path, a, b, _area(path))
        for path, a, b in _compare(_dump(old), _dump(new))
        if path != "id"
    ]


def _area(path: str) -> Area:
    words = set(path.replace("[", ".").replace("]", "").split("."))
    for area, names in _AREAS:
        if words & names:
            return area
    return "step"


def _dump(model: StepBase) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _settings(cadence: Cadence) -> dict[str, Any]:
    data = cadence.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("steps", None)
    return data


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _compare(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    a, b = _flatten(old), _flatten(new)
    paths = list(a) + [p for p in b if p not in a]
    return [(p, a.get(p), b.get(p)) for p in paths if a.get(p) != b.get(p)]


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
