"""The cadence as a graph of steps: where each step can lead, and the checks on that graph
(duplicate ids, jumps to nowhere, loops that never wait)."""

from __future__ import annotations

from typing import Any

from nurture.cadence.model import Cadence
from nurture.cadence.steps import (
    MIN_GAP,
    BranchStep,
    CallStep,
    ExitStep,
    GotoStep,
    StepBase,
    WaitForStep,
    WaitStep,
)


def _targets(step: StepBase) -> list[tuple[tuple[Any, ...], str | None]]:
    """Where a step can jump to, with the location of each reference."""
    if isinstance(step, GotoStep):
        return [(("goto",), step.goto)]
    if isinstance(step, WaitForStep):
        return [
            (("wait_for", "then"), step.wait_for.then),
            (("wait_for", "else"), step.wait_for.else_),
        ]
    if isinstance(step, BranchStep):
        refs = [(("branch", "cases", i, "goto"), c.goto) for i, c in enumerate(step.branch.cases)]
        return [*refs, (("branch", "otherwise"), step.branch.otherwise)]
    return []


def successors(cadence: Cadence, index: int) -> list[int]:
    """Positions a step can lead to (``len(steps)`` = end of cycle)."""
    step = cadence.steps[index]
    ids = cadence.step_index
    following = index + 1
    if isinstance(step, ExitStep):
        return []
    if isinstance(step, GotoStep):
        return [ids[step.goto]] if step.goto in ids else []
    nexts = [following]
    refs = [target for _, target in _targets(step)]
    if isinstance(step, BranchStep) and step.branch.otherwise:
        nexts = []
    return sorted({*nexts, *(ids[t] for t in refs if t in ids)})


def _takes_time(step: StepBase) -> bool:
    return isinstance(step, WaitStep | WaitForStep | CallStep)


def _takes_a_day(step: StepBase) -> bool:
    """A step that holds the lead at least ``MIN_GAP`` (a loop needs one)."""
    if isinstance(step, WaitStep):
        return step.wait.shortest() >= MIN_GAP
    if isinstance(step, WaitForStep):
        return step.wait_for.within.shortest() >= MIN_GAP
    if isinstance(step, CallStep):
        return step.call.due.shortest() >= MIN_GAP
    return False


def _quick_successors(cadence: Cadence, index: int) -> list[int]:
    """Steps reached from ``index`` possibly in less than ``MIN_GAP``. A ``wait_for`` goes on
    to ``then`` as soon as its events come (an automatic open can come seconds after the
    email), so only its ``else`` path is sure to take its ``within``."""
    step = cadence.steps[index]
    inside = [j for j in successors(cadence, index) if j < len(cadence.steps)]
    if not _takes_a_day(step):
        return inside
    if isinstance(step, WaitForStep):
        then = step.wait_for.then
        target = cadence.step_index.get(then) if then is not None else index + 1
        return [target] if target is not None and target < len(cadence.steps) else []
    return []


def check_cadence(cadence: Cadence) -> list[tuple[tuple[Any, ...], str]]:
    """Checks beyond the shape: duplicate ids, jumps to nowhere, loops that never wait."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    seen: dict[str, int] = {}
    for i, step in enumerate(cadence.steps):
        assert step.id is not None
        if step.id in seen:
            problems.append(
                (
                    ("steps", i, "id"),
                    f"duplicate step id {step.id!r} (also step {seen[step.id] + 1})",
                )
            )
        seen.setdefault(step.id, i)
    for i, step in enumerate(cadence.steps):
        for where, target in _targets(step):
            if target is not None and target not in seen:
                problems.append((("steps", i, *where), f"no step with id {target!r}"))
    # A loop among steps that take no time would send touches (or spin) without end.
    untimed = {i for i, s in enumerate(cadence.steps) if not _takes_time(s)}
    graph = {i: [j for j in successors(cadence, i) if j in untimed] for i in untimed}
    loops = _cycles(graph)
    for loop in loops:
        problems.append((("steps", loop[0]), f"loop without a wait: {_ids(cadence, loop)}"))
    if loops:
        return problems
    # A loop that waits only minutes would touch the lead (or wake the journey) all day long.
    graph = {i: _quick_successors(cadence, i) for i in range(len(cadence.steps))}
    for loop in _cycles(graph):
        early = any(isinstance(cadence.steps[i], WaitForStep) for i in loop)
        problems.append(
            (
                ("steps", loop[0]),
                f"loop waits less than {MIN_GAP.days} day per round: {_ids(cadence, loop)}; "
                "give one of its waits at least a day"
                + (" (a wait_for goes to 'then' as soon as its events come)" if early else ""),
            )
        )
    return problems


def _ids(cadence: Cadence, loop: list[int]) -> str:
    return " -> ".join(str(cadence.steps[i].id) for i in [*loop, loop[0]])


def _cycles(graph: dict[int, list[int]]) -> list[list[int]]:
    """One representative loop per strongly connected group (iterative DFS)."""
    state: dict[int, int] = {}
    loops: list[list[int]] = []
    for start in graph:
        if start in state:
            continue
        stack: list[tuple[int, int]] = [(start, 0)]
        path: list[int] = []
        while stack:
            node, edge = stack.pop()
            if edge == 0:
                state[node] = 1
                path.append(node)
            nexts = graph[node]
            if edge < len(nexts):
                stack.append((node, edge + 1))
                nxt = nexts[edge]
                if state.get(nxt) == 1:
                    loops.append(path[path.index(nxt) :])
                elif nxt not in state:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return loops
