"""One table of every benchmark's ratio and its target, from the rows ``make bench`` collected
(``NURTURE_BENCH_RESULTS``, JSON lines written by each benchmark's report).

    NURTURE_BENCH_RESULTS=data/bench.jsonl .venv/bin/python -m bench.summary
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS_ENV


def main() -> None:
    """Print the table; exit 1 when a target failed or nothing was measured."""
    path = Path(os.environ.get(RESULTS_ENV) or (sys.argv[1] if len(sys.argv) > 1 else ""))
    if not path.is_file():
        print(f"no results: set {RESULTS_ENV} to the file the benchmarks wrote")
        raise SystemExit(1)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    header = ("benchmark", "metric", "nurture", "baseline", "ratio", "target", "result")
    lines = [
        (
            r["bench"],
            r["metric"],
            f"{r['nurture']:,.2f}",
            f"{r['baseline']:,.2f}",
            f"{r['ratio']:.3f}",
            r["target"],
            r["verdict"],
        )
        for r in rows
    ]
    widths = [max(len(c) for c in column) for column in zip(header, *lines, strict=True)]
    print("\nEvery ratio and its target (baselines: see bench/README.md)")
    for cells in (header, tuple("-" * w for w in widths), *lines):
        print(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
    failed = [r for r in rows if r["verdict"] == "FAIL"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} targets met")
    raise SystemExit(1 if failed or not rows else 0)


if __name__ == "__main__":
    main()
