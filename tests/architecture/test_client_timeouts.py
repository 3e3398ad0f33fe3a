"""Every call to Temporal has a timeout (issue 11: no command may hang on a server that accepts
the connection and never answers): the client methods below always get ``rpc_timeout=`` (or
``timeout=`` for the raw services)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CALLS = {
    "list_workflows",
    "count_workflows",
    "start_workflow",
    "execute_workflow",
    "signal_with_start_workflow",
    "execute_update",
    "start_update",
    "signal_workflow_execution",
    "list_search_attributes",
    "add_search_attributes",
    "fetch_history",
}


def untimed_calls(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CALLS
            and not {k.arg for k in node.keywords} & {"rpc_timeout", "timeout"}
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.func.attr}")
    return found


def test_every_client_call_has_a_timeout() -> None:
    files = [p for pkg in ("nurture", "activities") for p in (ROOT / pkg).rglob("*.py")]
    assert [hit for path in [*files, ROOT / "worker.py"] for hit in untimed_calls(path)] == []


def test_the_check_sees_an_untimed_call(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("async def f(c):\n    async for e in c.list_workflows('q'):\n        pass\n")
    assert untimed_calls(sample, tmp_path) == ["x.py:2: list_workflows"]
