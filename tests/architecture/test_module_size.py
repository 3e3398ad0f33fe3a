"""No module of the product over 500 lines: a bigger one is split by concern, not squeezed."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 500


def test_no_module_over_the_limit() -> None:
    sizes = {
        path.relative_to(ROOT): len(path.read_text().splitlines())
        for folder in ("nurture", "workflows", "activities")
        for path in (ROOT / folder).rglob("*.py")
    }
    sizes[Path("worker.py")] = len((ROOT / "worker.py").read_text().splitlines())
    assert len(sizes) > 50, "the walk found the modules"
    over = {str(p): n for p, n in sizes.items() if n > LIMIT}
    assert not over, f"modules over {LIMIT} lines (split one by concern): {over}"
