"""Which call task to make first: a pure priority from the lead's score, its segment and how
close to (or past) its deadline the task is. Higher is more urgent.

``priority = segment weight + fit/behaviour score + urgency``, all in score points:

* **segment weight** (:data:`SEGMENT_WEIGHTS`): strategic accounts 50, standard 20, recycled
  leads 0, any other segment 10 — a strategic lead outranks a standard one with a 30-point
  higher score.
* **score**: the lead score, clamped to 0..100 so one runaway score cannot bury overdue work.
* **urgency**: 0 while the deadline is more than :data:`SOON` away, rising linearly to
  :data:`AT_DUE` (40) at the deadline; once overdue, 40 plus :data:`PER_HOUR_LATE` (4) per hour
  late, capped at :data:`MAX_URGENCY` (120, reached 20 hours late).

So an overdue task of an average lead (score 30, standard) scores 90+, ahead of a fresh task of
the same lead (50) but behind a strategic lead with score 80 that is due now (170).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

SEGMENT_WEIGHTS: dict[str, int] = {"strategic": 50, "standard": 20, "recycled": 0}
#: Weight of a segment not in :data:`SEGMENT_WEIGHTS` (including none).
OTHER_SEGMENT = 10
MAX_SCORE = 100
#: Urgency starts rising this long before the deadline.
SOON = timedelta(hours=8)
AT_DUE = 40
PER_HOUR_LATE = 4
MAX_URGENCY = 120


class Bucket(StrEnum):
    """How a task's deadline stands at ``now`` (the desk groups tasks by it)."""

    overdue = "overdue"
    due_now = "due_now"
    upcoming = "upcoming"

    @property
    def label(self) -> str:
        """Words for the page headings."""
        return {"overdue": "Overdue", "due_now": "Due now", "upcoming": "Upcoming"}[self.value]


def bucket(due: datetime, now: datetime) -> Bucket:
    """Overdue once the deadline has passed; due now within :data:`SOON` of it; else upcoming."""
    if due <= now:
        return Bucket.overdue
    return Bucket.due_now if due - now <= SOON else Bucket.upcoming


def urgency(due: datetime, now: datetime) -> int:
    """Points for how close to, or past, the deadline the task is (see the module docs)."""
    left = (due - now).total_seconds() / 3600
    if left > 0:
        soon = SOON.total_seconds() / 3600
        return round(AT_DUE * max(0.0, 1 - left / soon))
    return min(MAX_URGENCY, AT_DUE + round(-left * PER_HOUR_LATE))


def segment_weight(segment: str | None) -> int:
    """Points for the lead's segment (case-insensitive)."""
    if not segment:
        return OTHER_SEGMENT
    return SEGMENT_WEIGHTS.get(segment.strip().lower(), OTHER_SEGMENT)


def priority(score: int | None, segment: str | None, due: datetime, now: datetime) -> int:
    """The task's priority at ``now``: segment weight + clamped score + urgency."""
    clamped = max(0, min(MAX_SCORE, score or 0))
    return segment_weight(segment) + clamped + urgency(due, now)
