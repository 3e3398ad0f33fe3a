"""The layout's rules: no import cycles among project modules (nor among nurture's domains), and
nothing in ``nurture`` imports the Temporal shell (``workflows``, ``activities``); only the CLI,
itself a composition root, starts ``worker.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("nurture", "workflows", "activities")
SHELL = ("workflows", "activities")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    found["worker"] = ROOT / "worker.py"
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``path`` imports, at any depth in the file (lazy imports count)."""
    me = module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in modules and name != me:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def domain(module: str) -> str:
    """``nurture.desk.pages`` -> ``nurture.desk``; top-level modules stand alone."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "nurture" else parts[0]


def test_no_import_cycles_among_modules() -> None:
    assert cycles(graph()) == []


def test_no_import_cycles_among_domains() -> None:
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        here = domain(module)
        # a package's __init__ importing its own modules is not an arrow between domains
        edges.setdefault(here, set()).update(domain(t) for t in targets if domain(t) != here)
    assert cycles(edges) == []


@pytest.mark.parametrize("shell", SHELL)
def test_nurture_never_imports_the_temporal_shell(shell: str) -> None:
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in graph().items()
        if module.startswith("nurture")
        for target in targets
        if target == shell or target.startswith(shell + ".")
    )
    assert offenders == []


def test_only_the_cli_starts_the_worker() -> None:
    importers = sorted(m for m, targets in graph().items() if "worker" in targets)
    assert importers == ["nurture.cli"]


def test_the_checks_see_the_code() -> None:
    """Guard against a walker that finds nothing (and so passes whatever the code does)."""
    edges = graph()
    assert len(edges) > 60
    assert "nurture.journey.engine" in edges["workflows.lead"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
