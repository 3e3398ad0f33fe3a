"""Small SVG charts drawn on the server for the forecast page: stacked bars per day (with an
optional capacity line and flagged days) and a cumulative line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 1000, 220
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 56, 28, 12
PALETTE = ["#2563eb", "#d97706", "#ea580c", "#059669", "#7c3aed", "#db2777", "#0891b2"]


def _frame(title: str, top: float, days: Sequence[date], body: list[str], legend: str) -> Markup:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    axis: list[str] = []
    for n in range(5):
        value = top * n / 4
        y = PAD_TOP + plot_h - plot_h * n / 4
        axis.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_num(value)}</text>'
        )
    step = max(1, len(days) // 12)
    bar = (WIDTH - PAD_LEFT) / max(1, len(days))
    for i in range(0, len(days), step):
        x = PAD_LEFT + bar * i
        axis.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" class="tick">{days[i]:%d %b}</text>')
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + 24}" width="{WIDTH}" height="{HEIGHT + 24}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        "<style>text{font:11px system-ui,sans-serif;fill:#374151}line.grid{stroke:#e5e7eb}"
        "rect.over{fill:#fecaca}path.cap{stroke:#111827;stroke-width:1.5;fill:none;"
        "stroke-dasharray:4 2}path.line{stroke:#2563eb;stroke-width:2;fill:none}</style>"
        + "".join(axis)
        + "".join(body)
        + f'<g transform="translate({PAD_LEFT},{HEIGHT + 14})">{legend}</g></svg>'
    )


def _num(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def _legend(names: Sequence[str], colours: Sequence[str]) -> str:
    parts, x = [], 0
    for name, colour in zip(names, colours, strict=True):
        parts.append(
            f'<rect x="{x}" y="-9" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="0">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return "".join(parts)


def stacked_bars(
    title: str,
    days: Sequence[date],
    series: dict[str, Sequence[float]],
    *,
    capacity: Sequence[float] | None = None,
    flagged: Sequence[bool] | None = None,
) -> Markup:
    """One bar per day, stacked by series; a dashed capacity line; flagged days shaded red."""
    names = [n for n in series if any(series[n])] or list(series)[:1]
    totals = [sum(series[n][i] for n in names) for i in range(len(days))]
    top = max([*totals, *(capacity or []), 1.0]) * 1.05
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    bar = (WIDTH - PAD_LEFT) / max(1, len(days))
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(names))]
    body: list[str] = []
    for i, day in enumerate(days):
        x = PAD_LEFT + bar * i
        if flagged and flagged[i]:
            body.append(
                f'<rect class="over" x="{x:.1f}" y="{PAD_TOP}" width="{bar:.1f}" '
                f'height="{plot_h}"><title>{day}: over capacity</title></rect>'
            )
        y: float = PAD_TOP + plot_h
        for name, colour in zip(names, colours, strict=True):
            value = series[name][i]
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar - 0.6, 0.6):.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{day} {escape(name)}: '
                f"{value:,.0f}</title></rect>"
            )
    legend_names, legend_colours = list(names), list(colours)
    if capacity is not None:
        points = []
        for i, value in enumerate(capacity):
            x = PAD_LEFT + bar * i
            y = PAD_TOP + plot_h - plot_h * value / top
            points.append(f"{'M' if i == 0 else 'L'} {x:.1f} {y:.1f} H {x + bar:.1f}")
        body.append(f'<path class="cap" d="{" ".join(points)}"/>')
        legend_names.append("capacity (dashed)")
        legend_colours.append("#111827")
    return _frame(title, top, days, body, _legend(legend_names, legend_colours))


def cumulative_line(title: str, days: Sequence[date], values: Sequence[float], name: str) -> Markup:
    """A running total per day as a line."""
    running, total = [], 0.0
    for value in values:
        total += value
        running.append(total)
    top = max([*running, 1.0]) * 1.05
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    bar = (WIDTH - PAD_LEFT) / max(1, len(days))
    path = " ".join(
        f"{'M' if i == 0 else 'L'} {PAD_LEFT + bar * (i + 1):.1f} "
        f"{PAD_TOP + plot_h - plot_h * v / top:.1f}"
        for i, v in enumerate(running)
    )
    body = [f'<path class="line" d="{path}"><title>{escape(name)}: {total:,.0f}</title></path>']
    return _frame(title, top, days, body, _legend([name], ["#2563eb"]))
