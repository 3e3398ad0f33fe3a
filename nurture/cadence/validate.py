"""Full validation of cadence files: shape, step graph, templates and cross-file references."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nurture.cadence.graph import check_cadence
from nurture.cadence.model import Cadence, cadence_files, parse_cadence
from nurture.cadence.render import (
    INLINE_CHANNELS,
    Renderer,
    RenderError,
    render_inline,
    sample_lead,
    touch_context,
)
from nurture.cadence.sales import Recycle, SalesRules
from nurture.cadence.scoring import ScoringModel
from nurture.cadence.steps import TOUCH_KINDS, CallStep, EmailStep, step_kind
from nurture.events import Channel
from nurture.lead import Lead
from nurture.roster.file import ROSTER_FILE, Roster
from nurture.yamlfiles import FileError, LocatedYaml, Problem, field_path, parse_model, read_file


@dataclass(frozen=True)
class Known:
    """What other files define, for cross-file checks."""

    cadences: set[str]
    #: The call desk's team queues (``_teams.yaml``); None when there is no roster to check.
    teams: set[str] | None = None


def _template_refs(cadence: Cadence) -> list[tuple[tuple[Any, ...], Channel, str]]:
    """Every template a cadence uses, with where it is named."""
    refs: list[tuple[tuple[Any, ...], Channel, str]] = []
    for i, step in enumerate(cadence.steps):
        kind = step_kind(step)
        if isinstance(step, CallStep):
            refs.append((("steps", i, "call", "script"), Channel.call, step.call.script))
            if step.call.voicemail:
                refs.append(
                    (("steps", i, "call", "voicemail"), Channel.voicemail, step.call.voicemail)
                )
        elif kind in TOUCH_KINDS:
            params = getattr(step, kind)
            refs.append((("steps", i, kind, "template"), TOUCH_KINDS[kind], params.template))
            refs.extend(
                (("steps", i, kind, "variants", v, "template"), TOUCH_KINDS[kind], variant.template)
                for v, variant in enumerate(params.variants or [])
                if variant.template is not None
            )
    return refs


def semantic_problems(
    cadence: Cadence, renderer: Renderer, known: Known, stem: str | None = None
) -> list[tuple[tuple[Any, ...], str]]:
    """Problems beyond the shape, as (location, message)."""
    problems = check_cadence(cadence)
    if stem is not None and cadence.name != stem:
        problems.append((("name",), f"name {cadence.name!r} must match the file name {stem!r}"))
    if cadence.sender is None and any(isinstance(s, EmailStep) for s in cadence.steps):
        problems.append((("sender",), "a cadence with email steps needs a 'sender'"))
    recycle = cadence.cycles.recycle_to
    if recycle is not None and recycle not in known.cadences:
        problems.append((("cycles", "recycle_to"), f"no cadence named {recycle!r}"))
    if known.teams is not None:
        for i, step in enumerate(cadence.steps):
            if isinstance(step, CallStep) and step.call.queue not in known.teams:
                problems.append((("steps", i, "call", "queue"), _no_team(step.call.queue, known)))
    lead = sample_lead(cadence.sample_lead)
    sender = cadence.sender.model_dump() if cadence.sender else None
    for where, channel, name in _template_refs(cadence):
        touch = {
            "id": "sample",
            "number": 1,
            "total": cadence.touch_count(),
            "cycle": 1,
            "step": "sample",
            "channel": str(channel),
        }
        context = touch_context(
            lead, cadence=cadence.name, version=cadence.version, sender=sender, touch=touch
        )
        try:
            renderer.render(channel, name, context)
        except RenderError as exc:
            problems.append((where, str(exc)))
    problems += _inline_problems(cadence, lead, sender)
    return problems


def _inline_problems(
    cadence: Cadence, lead: Lead, sender: dict[str, Any] | None
) -> list[tuple[tuple[Any, ...], str]]:
    """Variants with inline ``content``: only on sms and voicemail steps, and they must render."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, step in enumerate(cadence.steps):
        kind = step_kind(step)
        params = getattr(step, kind, None) if kind in TOUCH_KINDS else None
        for v, variant in enumerate(getattr(params, "variants", None) or []):
            if variant.content is None:
                continue
            where = ("steps", i, kind, "variants", v, "content")
            if TOUCH_KINDS[kind] not in INLINE_CHANNELS:
                problems.append(
                    (where, f"inline content is for sms and voicemail; {kind} needs a template")
                )
                continue
            touch = {
                "id": "sample",
                "number": 1,
                "total": cadence.touch_count(),
                "cycle": 1,
                "step": str(step.id),
                "channel": str(TOUCH_KINDS[kind]),
            }
            context = touch_context(
                lead, cadence=cadence.name, version=cadence.version, sender=sender, touch=touch
            )
            try:
                render_inline(variant.content, context)
            except RenderError as exc:
                problems.append((where, str(exc)))
    return problems


def _no_team(queue: str, known: Known, lost: str = "its call tasks") -> str:
    teams = ", ".join(sorted(known.teams or ())) or "none"
    return f"no team {queue!r} in {ROSTER_FILE} (teams: {teams}): nobody would get {lost}"


def _check_scoring(text: str, file: str, known: Known) -> list[Problem]:
    try:
        parse_model(text, file, ScoringModel, "a scoring file")
    except FileError as exc:
        return exc.problems
    return []


def _check_sales(text: str, file: str, known: Known) -> list[Problem]:
    try:
        rules = parse_model(text, file, SalesRules, "a sales file")
    except FileError as exc:
        return exc.problems
    located = LocatedYaml(text)
    targets: list[tuple[tuple[Any, ...], str]] = [
        (("decline", reason.value, "recycle_to"), rule.recycle_to)
        for reason, rule in rules.decline.items()
        if isinstance(rule, Recycle)
    ]
    if rules.not_interested is not None:
        targets.append((("not_interested", "recycle_to"), rules.not_interested.recycle_to))
    found = [
        (loc, f"no cadence named {name!r}") for loc, name in targets if name not in known.cadences
    ]
    if known.teams is not None:
        found += [
            (("teams", i, "team"), _no_team(rule.team, known, "its handoffs"))
            for i, rule in enumerate(rules.teams)
            if rule.team not in known.teams
        ]
    return [_located(file, located, loc, message) for loc, message in found]


def _located(file: str, located: LocatedYaml, loc: tuple[Any, ...], message: str) -> Problem:
    line, column, _ = located.find(loc)
    return Problem(file=file, line=line, column=column, field=field_path(loc), message=message)


def _roster_teams(folder: Path) -> tuple[set[str] | None, list[Problem]]:
    """The team queues of the folder's roster (None if it has none or it is broken)."""
    path = folder / ROSTER_FILE
    if not path.exists():
        return None, []
    try:
        roster = parse_model(read_file(path), str(path), Roster, "a roster file")
    except FileError as exc:
        return None, exc.problems
    return {team.queue for team in roster.teams}, []


#: The files beside the cadences that have their own shape (see ``RULE_FILES``).
RULE_CHECKS: dict[str, Callable[[str, str, Known], list[Problem]]] = {
    "scoring": _check_scoring,
    "sales": _check_sales,
}


def rule_files(directory: Path) -> list[Path]:
    """The scoring and sales files present in a cadences folder."""
    return [
        directory / f"{stem}.yaml" for stem in RULE_CHECKS if (directory / f"{stem}.yaml").exists()
    ]


def validate_files(paths: list[Path], templates_dir: Path) -> tuple[list[Cadence], list[Problem]]:
    """Validate cadence files (and scoring/sales files) against each other, the templates and the
    call desk's roster beside them; returns the good cadences and every problem found."""
    renderer = Renderer(templates_dir)
    names = {p.stem for p in paths if p.stem not in RULE_CHECKS}
    problems: list[Problem] = []
    rosters: dict[Path, set[str] | None] = {}
    for folder in sorted({p.parent for p in paths}):
        names |= {p.stem for p in cadence_files(folder)}
        rosters[folder], broken = _roster_teams(folder)
        problems.extend(broken)
    cadences: list[Cadence] = []
    for path in paths:
        known = Known(names, rosters[path.parent])
        try:
            text = read_file(path)
        except FileError as exc:
            problems.extend(exc.problems)
            continue
        if path.stem in RULE_CHECKS:
            problems.extend(RULE_CHECKS[path.stem](text, str(path), known))
            continue
        try:
            cadence = parse_cadence(text, str(path))
        except FileError as exc:
            problems.extend(exc.problems)
            continue
        located = LocatedYaml(text)
        found = semantic_problems(cadence, renderer, known, path.stem)
        problems.extend(_located(str(path), located, loc, message) for loc, message in found)
        if not found:
            cadences.append(cadence)
    return cadences, problems
