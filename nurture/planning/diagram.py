"""The step graph of a cadence as an SVG drawn on the server: one box per step, top to bottom in
file order, the next step below, jumps (branches, waits for engagement, gotos) as labelled arcs
on the right, exits to the left, and the cycle loop and the recycle target under the last step.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from nurture.cadence.graph import successors
from nurture.cadence.model import Cadence
from nurture.cadence.steps import (
    BranchStep,
    CallStep,
    Condition,
    ExitStep,
    GotoStep,
    StepBase,
    WaitForStep,
    WaitStep,
    step_kind,
)

ROW = 58
BOX_W, BOX_H = 300, 40
LEFT = 230
TOP = 20
#: Fill colour per kind of step.
COLOURS = {
    "email": "#dbeafe",
    "call": "#fde68a",
    "voicemail": "#fed7aa",
    "sms": "#d1fae5",
    "direct_mail": "#e9d5ff",
    "wait": "#f3f4f6",
    "wait_for": "#e0f2fe",
    "branch": "#fef9c3",
    "goto": "#f3f4f6",
    "exit": "#fecaca",
}


@dataclass
class Edge:
    """A jump from one step to another (or to the end of the cycle)."""

    source: int
    target: int
    label: str


def describe_step(step: StepBase) -> str:
    """A step in a few words for its box."""
    kind = step_kind(step)
    if isinstance(step, CallStep):
        return f"call task · {step.call.script} → {step.call.queue}"
    if isinstance(step, WaitStep):
        return f"wait {step.wait.describe()}"
    if isinstance(step, WaitForStep):
        params = step.wait_for
        kinds = ", ".join(k.value for k in params.any or params.all or [])
        return f"wait for {kinds} ≤ {params.within.describe()}"
    if isinstance(step, BranchStep):
        return "branch"
    if isinstance(step, GotoStep):
        return f"go to {step.goto}"
    if isinstance(step, ExitStep):
        return f"exit: {step.exit.outcome.value}"
    params = getattr(step, kind)
    return f"{kind.replace('_', ' ')} · {params.template}"


def condition_text(when: Condition) -> str:
    """A branch case in words: ``engaged email.click, web.visit``."""
    parts: list[str] = []
    for name, value in when.model_dump(exclude_none=True, by_alias=True, mode="json").items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items())
        parts.append(f"{name.replace('_', ' ')} {value}")
    return "; ".join(parts) or "always"


def jumps(cadence: Cadence) -> list[Edge]:
    """The labelled jumps of the graph (not the plain fall-through to the next step)."""
    ids = cadence.step_index
    end = len(cadence.steps)

    def at(target: str | None, default: int) -> int:
        return ids.get(target or "", default)

    edges: list[Edge] = []
    for i, step in enumerate(cadence.steps):
        if isinstance(step, BranchStep):
            for case in step.branch.cases:
                edges.append(Edge(i, at(case.goto, end), condition_text(case.when)))
            if step.branch.otherwise:
                edges.append(Edge(i, at(step.branch.otherwise, end), "otherwise"))
        elif isinstance(step, WaitForStep):
            params = step.wait_for
            if params.then:
                edges.append(Edge(i, at(params.then, i + 1), "engaged"))
            if params.else_:
                edges.append(Edge(i, at(params.else_, i + 1), "no engagement"))
        elif isinstance(step, GotoStep):
            edges.append(Edge(i, at(step.goto, end), "go to"))
    return edges


def _y(row: int) -> int:
    return TOP + row * ROW


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def render_svg(cadence: Cadence) -> Markup:
    """The cadence's step graph as an inline ``<svg>`` element."""
    steps = cadence.steps
    end = len(steps)
    edges = jumps(cadence)
    parts: list[str] = []
    mid = LEFT + BOX_W / 2
    for i, step in enumerate(steps):
        kind = step_kind(step)
        y = _y(i)
        parts.append(
            f'<g class="step step-{kind}" data-step="{escape(step.id or "")}">'
            f'<rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{COLOURS.get(kind, "#fff")}" stroke="#6b7280"/>'
            + _text(LEFT + 8, y + 16, step.id or "", "id")
            + _text(LEFT + 8, y + 32, _clip(describe_step(step), 44), "what")
            + "</g>"
        )
        falls_through = not (isinstance(step, BranchStep) and step.branch.otherwise)
        if falls_through and (i + 1) in successors(cadence, i):
            parts.append(
                f'<line x1="{mid}" y1="{y + BOX_H}" x2="{mid}" y2="{_y(i + 1)}" '
                'class="next" marker-end="url(#arrow)"/>'
            )
        if isinstance(step, ExitStep):
            parts.append(
                f'<line x1="{LEFT}" y1="{y + BOX_H / 2}" x2="{LEFT - 40}" y2="{y + BOX_H / 2}" '
                'class="exit" marker-end="url(#arrow)"/>'
                + _text(
                    LEFT - 46, y + BOX_H / 2 + 4, f"exit: {step.exit.outcome.value}", "exit", "end"
                )
            )
    # the end of a cycle
    y_end = _y(end)
    parts.append(
        f'<g class="end"><rect x="{LEFT}" y="{y_end}" width="{BOX_W}" height="{BOX_H}" rx="20" '
        'fill="#ecfdf5" stroke="#047857"/>'
        + _text(mid, y_end + 25, "end of cycle", "id", "middle")
        + "</g>"
    )
    from_same: dict[int, int] = {}
    for n, edge in enumerate(edges):
        nth = from_same[edge.source] = from_same.get(edge.source, -1) + 1
        parts.append(_arc(edge, n, nth))
    cycles = cadence.cycles
    right = LEFT + BOX_W
    if cycles.count > 1 and cycles.gap is not None:
        x = LEFT - 24
        parts.append(
            f'<path d="M {LEFT} {y_end + BOX_H / 2} H {x} V {_y(0) + BOX_H / 2} H {LEFT}" '
            'class="cycle" fill="none" marker-end="url(#arrow)"/>'
            + _text(
                x - 4,
                y_end + BOX_H / 2 - 6,
                f"{cycles.count} cycles, {cycles.gap.describe()} apart",
                "cycle",
                "end",
            )
        )
    y_after = y_end + BOX_H + 30
    if cycles.after_last == "recycle" and cycles.recycle_to:
        wait = f" after {cycles.cool_down.describe()}" if cycles.cool_down else ""
        after = f"recycle into {cycles.recycle_to}{wait}"
    else:
        after = "finished"
    parts.append(
        f'<line x1="{mid}" y1="{y_end + BOX_H}" x2="{mid}" y2="{y_after}" class="next" '
        'marker-end="url(#arrow)"/>'
        f'<g class="after"><rect x="{LEFT}" y="{y_after}" width="{BOX_W}" height="{BOX_H}" '
        'rx="6" fill="#f5f3ff" stroke="#6d28d9"/>'
        + _text(mid, y_after + 25, after, "id", "middle")
        + "</g>"
    )
    width = right + 60 + 40 * max(1, len(edges)) + 260
    height = y_after + BOX_H + TOP
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cadence-graph" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Step graph of {escape(cadence.name)}">'
        "<title>Step graph</title><defs>"
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#374151"/></marker></defs>'
        "<style>text{font:12px system-ui,sans-serif;fill:#111827}text.id{font-weight:600}"
        "text.what{fill:#374151}text.jump{fill:#1d4ed8}text.exit{fill:#b91c1c}"
        "text.cycle{fill:#047857}path.jump,path.cycle{fill:none}"
        "line.next{stroke:#374151;stroke-width:1.5}path.jump{stroke:#1d4ed8;stroke-width:1.3}"
        "path.cycle{stroke:#047857;stroke-width:1.3;stroke-dasharray:5 3}"
        "line.exit{stroke:#b91c1c;stroke-width:1.5}</style>"
    )
    return Markup(head + "".join(parts) + "</svg>")


def _arc(edge: Edge, n: int, nth: int) -> str:
    """A jump as a bracket on the right of the boxes, labelled at its start."""
    right = LEFT + BOX_W
    x = right + 30 + 40 * n
    y1 = _y(edge.source) + BOX_H / 2 + (n % 3 - 1) * 6
    y2 = _y(edge.target) + BOX_H / 2 + (n % 3 - 1) * 6
    path = f"M {right} {y1:.0f} H {x} V {y2:.0f} H {right}"
    label = _text(x + 4, (y1 + y2) / 2 + 4 + 13 * nth, _clip(edge.label, 48), "jump")
    return (
        f'<g class="edge" data-from="{edge.source}" data-to="{edge.target}">'
        f"<title>{escape(edge.label)}</title>"
        f'<path d="{path}" class="jump" fill="none" marker-end="url(#arrow)"/>{label}</g>'
    )


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
