"""A horizontal bar chart in SVG, drawn on the server for the reports page."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["bars"]

WIDTH, ROW, LABEL = 760, 24, 220
COLOUR = "#2563eb"


def bars(
    title: str, labels: Sequence[str], values: Sequence[float | None], unit: str = ""
) -> Markup:
    """One bar per label, its value written at its end (no bar for a missing value)."""
    top = max((v for v in values if v), default=0) or 1
    plot = WIDTH - LABEL - 70
    parts: list[str] = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 8 + i * ROW
        width = plot * (value or 0) / top
        shown = "—" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".") + unit
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}" '
            f'fill="{COLOUR}"><title>{escape(label)}: {escape(shown)}</title></rect>'
            f'<text x="{LABEL + width + 6:.1f}" y="{y + 15}">{escape(shown)}</text>'
        )
    height = 16 + ROW * len(labels)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        "<style>text{font:12px system-ui,sans-serif;fill:#374151}</style>"
        + "".join(parts)
        + "</svg>"
    )
