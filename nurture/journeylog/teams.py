"""The people reports: the call desk (tasks per rep) and sales (handoffs, SLA, declines)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import func, select

from nurture.journeylog.basics import (
    Filters,
    Report,
    count_where,
    counted,
    log_where,
    median_hours,
    pct,
    summaries,
)
from nurture.journeylog.rollup import JourneyCountRow, JourneySpanRow
from nurture.journeylog.store import JourneyLogRow
from nurture.journeylog.summary import DISPOSITION_CONNECTS, JourneyLeadRow
from nurture.store import Store

# ---------------------------------------------------------------- the desk


def desk(store: Store, f: Filters) -> Report:
    """Call tasks per rep: created, worked, overdue, connects, meetings, talk time, time to
    first attempt."""
    per, spans = _desk_counts(store, f) if counted(f) else _desk_from_log(store, f)
    report = Report(
        "desk",
        "The call desk by rep",
        [
            "rep",
            "tasks created",
            "worked",
            "overdue",
            "connects",
            "connect %",
            "meetings",
            "talk minutes",
            "talk minutes per call",
            "hours to first attempt",
        ],
        explain={
            "tasks created": "call tasks created for the rep (the lead's owner) or the queue",
            "worked": "tasks the rep completed with a disposition",
            "overdue": "tasks that passed their due time while the rep held them",
            "connects": "completed calls where a person answered",
            "connect %": "connects / worked",
            "meetings": "calls that booked a meeting",
            "talk minutes": "talk time the rep recorded when completing calls",
            "talk minutes per call": "talk minutes / completed calls with a recorded talk time",
            "hours to first attempt": "median time from task created to its first completion",
        },
    )
    for rep in sorted(per):
        c = per[rep]
        report.rows.append(
            [
                rep,
                c["created"],
                c["worked"],
                c["overdue"],
                c["connects"],
                pct(c["connects"], c["worked"]),
                c["meetings"],
                round(c["talk"] / 60, 1),
                round(c["talk"] / 60 / c["timed"], 1) if c["timed"] else None,
                median_hours(spans[rep]),
            ]
        )
    return report


def _desk_counts(
    store: Store, f: Filters
) -> tuple[dict[str, Counter[str]], dict[str, list[float]]]:
    """The desk's figures from the per-day counts and the tasks' spans (kept as rows arrive)."""
    c, s = JourneyCountRow, JourneySpanRow
    query = count_where(
        select(
            c.kind,
            c.rep,
            c.reason,
            func.sum(c.n),
            func.sum(c.talk_seconds),
            func.sum(c.timed),
        )
        .where(c.kind.in_(("task_created", "task_overdue", "task_completed")))
        .group_by(c.kind, c.rep, c.reason),
        f,
    )
    per: dict[str, Counter[str]] = defaultdict(Counter)
    spans: dict[str, list[float]] = defaultdict(list)
    with store.session() as session:
        for kind, rep, reason, n, talk, timed in session.execute(query):
            if kind == "task_created":
                per[rep or f"queue {reason or '—'}"]["created"] += n
            elif kind == "task_overdue":
                per[rep or "—"]["overdue"] += n
            else:
                _worked(per[rep or "—"], reason, n, talk, timed)
        for rep, seconds in session.execute(count_where(select(s.rep, s.seconds), f, s)):
            spans[rep].append(seconds)
    return per, spans


def _worked(c: Counter[str], disposition: str | None, n: int, talk: int, timed: int) -> None:
    c["worked"] += n
    c["connects"] += n if disposition in DISPOSITION_CONNECTS else 0
    c["meetings"] += n if disposition == "meeting_booked" else 0
    c["talk"] += talk
    c["timed"] += timed


def _desk_from_log(
    store: Store, f: Filters
) -> tuple[dict[str, Counter[str]], dict[str, list[float]]]:
    """The desk's figures from the log's task rows (a period not on day boundaries)."""
    t = JourneyLogRow
    query = (
        select(t.kind, t.rep, t.reason, t.touch_id, t.at, t.talk_seconds)
        .where(
            t.kind.in_(
                ("task_created", "task_assigned", "task_claimed", "task_completed", "task_overdue")
            )
        )
        .order_by(t.at, t.id)
    )
    with store.session() as session:
        rows = session.execute(log_where(query, f)).all()
    owner: dict[str, str] = {}
    created: dict[str, datetime] = {}
    first: set[str] = set()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    spans: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        task = row.touch_id or ""
        if row.kind == "task_created":
            created[task] = row.at
            owner[task] = row.rep or f"queue {row.reason or '—'}"
            per[owner[task]]["created"] += 1
        elif row.kind in ("task_assigned", "task_claimed") and row.rep:
            owner[task] = row.rep
        elif row.kind == "task_overdue":
            per[row.rep or owner.get(task, "—")]["overdue"] += 1
        elif row.kind == "task_completed":
            rep = row.rep or "—"
            talk = row.talk_seconds
            _worked(per[rep], row.reason, 1, talk or 0, talk is not None)
            if task in created and task not in first:
                first.add(task)
                spans[rep].append((row.at - created[task]).total_seconds())
    return per, spans


# ---------------------------------------------------------------- sales


def sales(store: Store, f: Filters) -> Report:
    """Handoffs per rep, the SLA, time to accept, declines by reason, recycled then won over."""
    t = JourneyLogRow
    kinds = (
        "handoff_assigned",
        "handoff_escalated",
        "handoff_accepted",
        "handoff_declined",
        "sla_met",
        "sla_breached",
    )
    query = (
        select(t.lead_id, t.kind, t.rep, t.reason, t.at)
        .where(t.kind.in_(kinds))
        .order_by(t.lead_id, t.at, t.id)
    )
    with store.session() as session:
        rows = session.execute(log_where(query, f)).all()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    to_accept: dict[str, list[float]] = defaultdict(list)
    declines: Counter[str] = Counter()
    handed: dict[str, datetime] = {}
    for row in rows:
        rep = row.rep or "—"
        if row.kind == "handoff_assigned":
            per[rep]["handoffs"] += 1
            handed[row.lead_id] = row.at
        elif row.kind == "handoff_escalated":
            per[rep]["handoffs"] += 1
            per[rep]["escalated to"] += 1
        elif row.kind == "handoff_accepted":
            per[rep]["accepted"] += 1
            if row.lead_id in handed:
                to_accept[rep].append((row.at - handed.pop(row.lead_id)).total_seconds())
        elif row.kind == "handoff_declined":
            per[rep]["declined"] += 1
            declines[row.reason or "—"] += 1
            handed.pop(row.lead_id, None)
        elif row.kind == "sla_met":
            per[rep]["SLA met"] += 1
        elif row.kind == "sla_breached":
            per[rep]["SLA breached"] += 1
    report = Report(
        "sales",
        "Sales handoffs by rep",
        [
            "rep",
            "handoffs",
            "escalated to",
            "accepted",
            "declined",
            "SLA met",
            "SLA breached",
            "hours to accept",
        ],
        explain={
            "handoffs": "sales-ready leads assigned to the rep (first owner or after escalation)",
            "escalated to": "handoffs the rep received because another missed the SLA",
            "accepted": "handoffs the rep accepted",
            "declined": "handoffs the rep declined (reasons below)",
            "SLA met": "accepted or declined inside the SLA",
            "SLA breached": "the SLA ran out while the handoff was the rep's",
            "hours to accept": "median time from the handoff's assignment to its acceptance",
        },
    )
    for rep in sorted(per):
        c = per[rep]
        report.rows.append(
            [
                rep,
                c["handoffs"],
                c["escalated to"],
                c["accepted"],
                c["declined"],
                c["SLA met"],
                c["SLA breached"],
                median_hours(to_accept[rep]),
            ]
        )
    for reason, count in declines.most_common():
        report.notes.append(f"declined — {reason}: {count}")
    recycled = summaries(store, f, JourneyLeadRow.recycled_at.is_not(None))
    won_over = [
        lead
        for lead in recycled
        if (lead.opportunity_at or lead.won_at)
        and (lead.opportunity_at or lead.won_at) > lead.recycled_at
    ]
    report.notes.append(
        f"recycled leads that later became an opportunity: {len(won_over)} of {len(recycled)}"
    )
    return report
