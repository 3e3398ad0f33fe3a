"""The people reports: the call desk (tasks per rep) and sales (handoffs, SLA, declines)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from nurture.journeylog.basics import (
    DISPOSITION_CONNECTS,
    Filters,
    Report,
    log_where,
    median_hours,
    pct,
    summaries,
)
from nurture.journeylog.store import JourneyLogRow
from nurture.store import Store

# ---------------------------------------------------------------- the desk


def desk(store: Store, f: Filters) -> Report:
    """Call tasks per rep: created, worked, overdue, connects, meetings, time to first attempt."""
    t = JourneyLogRow
    query = (
        select(t.kind, t.rep, t.reason, t.touch_id, t.at)
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
    first: dict[str, tuple[str, timedelta]] = {}
    per: dict[str, Counter[str]] = defaultdict(Counter)
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
            per[rep]["worked"] += 1
            per[rep]["connects"] += row.reason in DISPOSITION_CONNECTS
            per[rep]["meetings"] += row.reason == "meeting_booked"
            if task in created and task not in first:
                first[task] = (rep, row.at - created[task])
    spans: dict[str, list[timedelta]] = defaultdict(list)
    for rep, span in first.values():
        spans[rep].append(span)
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
            "hours to first attempt",
        ],
        explain={
            "tasks created": "call tasks created for the rep (the lead's owner) or the queue",
            "worked": "tasks the rep completed with a disposition",
            "overdue": "tasks that passed their due time while the rep held them",
            "connects": "completed calls where a person answered",
            "connect %": "connects / worked",
            "meetings": "calls that booked a meeting",
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
                median_hours(spans[rep]),
            ]
        )
    return report


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
    to_accept: dict[str, list[timedelta]] = defaultdict(list)
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
                to_accept[rep].append(row.at - handed.pop(row.lead_id))
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
    leads = summaries(store, f)
    recycled = [lead for lead in leads if lead.recycled_at]
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
