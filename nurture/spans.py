"""A span of time in words for people: ``less than a minute``, ``35 min``, ``2 h 05 min``,
``3 days`` (with ``2 h`` after the days when asked)."""

from __future__ import annotations


def span_words(seconds: int, hours_after_days: bool = False) -> str:
    """``seconds`` (sign ignored) in words."""
    span = abs(seconds)
    if span < 60:
        return "less than a minute"
    if span < 3600:
        return f"{span // 60} min"
    if span < 86400:
        return f"{span // 3600} h {span % 3600 // 60:02d} min"
    days, hours = span // 86400, span % 86400 // 3600
    text = f"{days} day{'s' if days > 1 else ''}"
    return text + (f" {hours} h" if hours_after_days and hours else "")
