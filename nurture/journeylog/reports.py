"""The reports, read from the journey log (``journey_log``) and its per-lead summary
(``journey_leads``): funnel, steps and channels, the desk, sales, money and win-loss.

Each report is a :class:`Report`: columns, rows, and one line per metric saying what it counts.
The SQL each figure rests on is in README.md ("Reports").
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from nurture.journeylog.costs import Costs, conversation_price, per_channel
from nurture.journeylog.store import JourneyLogRow
from nurture.journeylog.summary import FUNNEL, JourneyLeadRow
from nurture.store import Store

__all__ = ["GROUPS", "KINDS", "Filters", "Report", "build", "z_test"]

KINDS = ("funnel", "steps", "channels", "desk", "sales", "money", "win-loss")
GROUPS = ("step", "channel", "variant", "rep", "week", "cadence", "version", "segment", "source")
#: Call outcomes where a person answered.
CONNECTS = frozenset(
    {
        "call.connected",
        "call.meeting_booked",
        "call.qualified",
        "call.not_interested",
        "call.call_back_later",
    }
)
DISPOSITION_CONNECTS = frozenset(
    {"connected", "meeting_booked", "qualified", "not_interested", "call_back_later"}
)
REPLIES = frozenset({"email.reply", "sms.reply"})


@dataclass(frozen=True)
class Filters:
    """Which journeys a report covers, and how it is grouped."""

    cadence: str | None = None
    version: int | None = None
    segment: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    group_by: str | None = None
    confidence: float = 0.95


@dataclass
class Report:
    """A table of figures with the meaning of each column."""

    kind: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    explain: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        """Each row as ``{column: value}``."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def build(kind: str, store: Store, filters: Filters, costs: Costs | None = None) -> Report:
    """The report ``kind`` (one of :data:`KINDS`)."""
    builders: dict[str, Callable[[], Report]] = {
        "funnel": lambda: funnel(store, filters),
        "steps": lambda: steps(store, filters),
        "channels": lambda: steps(store, filters, default="channel", kind="channels"),
        "desk": lambda: desk(store, filters),
        "sales": lambda: sales(store, filters),
        "money": lambda: money(store, filters, costs or Costs()),
        "win-loss": lambda: win_loss(store, filters),
    }
    if kind not in builders:
        raise ValueError(f"unknown report {kind!r}: one of {', '.join(KINDS)}")
    return builders[kind]()


# ---------------------------------------------------------------- helpers


def _log_where(query: Any, f: Filters) -> Any:
    t = JourneyLogRow
    if f.cadence:
        query = query.where(t.cadence == f.cadence)
    if f.version is not None:
        query = query.where(t.version == f.version)
    if f.segment:
        query = query.where(t.segment == f.segment)
    if f.start:
        query = query.where(t.at >= f.start)
    if f.end:
        query = query.where(t.at < f.end)
    return query


def _lead_where(query: Select[Any], f: Filters) -> Select[Any]:
    t = JourneyLeadRow
    if f.cadence:
        query = query.where(t.cadence == f.cadence)
    if f.version is not None:
        query = query.where(t.version == f.version)
    if f.segment:
        query = query.where(t.segment == f.segment)
    if f.start:
        query = query.where(t.enrolled_at >= f.start)
    if f.end:
        query = query.where(t.enrolled_at < f.end)
    return query


def _leads(store: Store, f: Filters) -> list[Any]:
    """The leads' summary rows (plain rows, attribute access: far cheaper than ORM objects)."""
    columns = JourneyLeadRow.__table__.columns
    with store.session() as session:
        return list(session.execute(_lead_where(select(*columns), f)))


def _week(at: datetime | None) -> str:
    if at is None:
        return "—"
    monday = at.date() - timedelta(days=at.weekday())
    return monday.isoformat()


def _lead_group(lead: Any, group: str | None) -> str:
    if group in (None, "step", "channel", "variant", "rep"):
        return "all"
    if group == "week":
        return _week(lead.enrolled_at)
    return str(getattr(lead, group)) or "—"


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _ratio(amount: float, count: float) -> float | None:
    return round(amount / count, 2) if count else None


def _median_days(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 86400, 2)


def _median_hours(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 3600, 2)


def reached(lead: Any) -> dict[str, datetime | None]:
    """When the lead reached each funnel stage; a later stage implies the earlier ones (a lead
    promoted by a meeting was engaged, whether or not a separate event said so)."""
    times: dict[str, datetime | None] = {
        stage: getattr(lead, f"{stage}_at") for stage in FUNNEL if stage != "won"
    }
    times["won"] = lead.won_at
    if times["enrolled"] is None:  # a journey from before the log: it was enrolled
        times["enrolled"] = min((t for t in times.values() if t), default=None)
    later: datetime | None = None
    for stage in reversed(FUNNEL):
        if times[stage] is None and later is not None:
            times[stage] = later
        later = times[stage] or later
    return times


# ---------------------------------------------------------------- funnel


def funnel(store: Store, f: Filters) -> Report:
    """Enrolled → touched → engaged → sales-ready → accepted → opportunity → won."""
    groups: dict[str, list[dict[str, datetime | None]]] = defaultdict(list)
    for lead in _leads(store, f):
        groups[_lead_group(lead, f.group_by)].append(reached(lead))
    report = Report(
        "funnel",
        "Funnel",
        ["group", "stage", "leads", "from previous %", "from enrolled %", "median days"],
        explain={
            "leads": "leads that reached the stage (a later stage counts the earlier ones)",
            "from previous %": "share of the previous stage's leads that reached this one",
            "from enrolled %": "share of enrolled leads that reached this stage",
            "median days": "median time from the previous stage to this one, for leads with both",
        },
    )
    for group in sorted(groups):
        leads = groups[group]
        enrolled = sum(1 for t in leads if t["enrolled"])
        previous: str | None = None
        for stage in FUNNEL:
            count = sum(1 for t in leads if t[stage])
            before = sum(1 for t in leads if t[previous]) if previous else count
            spans = [
                t[stage] - t[previous]  # type: ignore[operator]
                for t in leads
                if previous and t[stage] and t[previous]
            ]
            report.rows.append(
                [
                    group,
                    stage.replace("_", "-"),
                    count,
                    _pct(count, before) if previous else None,
                    _pct(count, enrolled),
                    _median_days(spans) if previous else None,
                ]
            )
            previous = stage
    return report


# ---------------------------------------------------------------- steps and channels


def z_test(hits_a: int, n_a: int, hits_b: int, n_b: int) -> tuple[float, float]:
    """Two-proportion z-test (pooled): (z, two-sided p-value)."""
    if not n_a or not n_b:
        return 0.0, 1.0
    pooled = (hits_a + hits_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return 0.0, 1.0
    z = (hits_a / n_a - hits_b / n_b) / spread
    return z, math.erfc(abs(z) / math.sqrt(2))


def _attribution(
    store: Store, f: Filters, key: Callable[[Any], str]
) -> tuple[Counter[str], dict[str, float]]:
    """Sales-ready leads credited to touches: last touch, and position-based (40% first,
    40% last, 20% shared by the ones between)."""
    t, s = JourneyLogRow, JourneyLeadRow
    query = (
        select(t.lead_id, t.step, t.channel, t.variant, t.at)
        .join(s, s.lead_id == t.lead_id)
        .where(t.kind == "touch_sent", s.sales_ready_at.is_not(None), t.at <= s.sales_ready_at)
        .order_by(t.lead_id, t.at, t.id)
    )
    with store.session() as session:
        rows = session.execute(_log_where(query, f)).all()
    paths: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        paths[row.lead_id].append(row)
    last: Counter[str] = Counter()
    position: dict[str, float] = defaultdict(float)
    for path in paths.values():
        last[key(path[-1])] += 1
        if len(path) == 1:
            position[key(path[0])] += 1
        elif len(path) == 2:
            position[key(path[0])] += 0.5
            position[key(path[1])] += 0.5
        else:
            position[key(path[0])] += 0.4
            position[key(path[-1])] += 0.4
            for middle in path[1:-1]:
                position[key(middle)] += 0.2 / (len(path) - 2)
    return last, position


def steps(store: Store, f: Filters, default: str = "step", kind: str = "steps") -> Report:
    """What each step (or channel, or variant) sent and what came of it."""
    group = f.group_by if f.group_by in ("step", "channel", "variant") else default
    t = JourneyLogRow
    query = (
        select(t.step, t.channel, t.variant, t.kind, t.reason, func.count().label("n"))
        .where(t.kind.in_(("touch_sent", "event")))
        .group_by(t.step, t.channel, t.variant, t.kind, t.reason)
    )
    with store.session() as session:
        counted = session.execute(_log_where(query, f)).all()

    def key(row: Any) -> str:
        if group == "channel":
            return str(row.channel or "(no touch)")
        if group == "variant":
            return f"{row.step or '(no touch)'} · {row.variant or '—'}"
        return str(row.step or "(no touch)")

    names = ("sent", "delivered", "opened", "clicked", "replied", "connects", "meetings")
    figures: dict[str, Counter[str]] = defaultdict(Counter)
    for row in counted:
        k, n, what = key(row), row.n, row.reason or ""
        if row.kind == "touch_sent":
            figures[k]["sent"] += n
        elif what.endswith(".delivered"):
            figures[k]["delivered"] += n
        elif what == "email.open":
            figures[k]["opened"] += n
        elif what == "email.click":
            figures[k]["clicked"] += n
        elif what in REPLIES:
            figures[k]["replied"] += n
        if what in CONNECTS:
            figures[k]["connects"] += n
        if what == "call.meeting_booked":
            figures[k]["meetings"] += n
    last, position = _attribution(store, f, key)
    report = Report(
        kind,
        f"Steps by {group}",
        [group, *names, "sales-ready (last touch)", "sales-ready (position)", "response %"],
        explain={
            "sent": "touches that went out (call steps: call tasks created)",
            "delivered": "delivery events from the provider (email, SMS, voicemail, mail)",
            "opened": "email opens (every open event)",
            "clicked": "email clicks",
            "replied": "email and SMS replies",
            "connects": "calls where a person answered (connected, meeting, qualified, "
            "not interested, call back)",
            "meetings": "calls that booked a meeting",
            "sales-ready (last touch)": "sales-ready leads whose last touch before promotion "
            "was this one",
            "sales-ready (position)": "sales-ready leads credited 40% to the first touch, 40% to "
            "the last and 20% shared by the touches between",
            "response %": "(clicks + replies + connects) / sent",
        },
    )
    for k in sorted(set(figures) | set(last) | set(position)):
        c = figures[k]
        hits = c["clicked"] + c["replied"] + c["connects"]
        report.rows.append(
            [
                k,
                *(c[n] for n in names),
                last[k],
                round(position.get(k, 0.0), 2),
                _pct(hits, c["sent"]),
            ]
        )
    if group == "variant":
        _variant_tests(report, figures, f.confidence)
    return report


def _variant_tests(report: Report, figures: dict[str, Counter[str]], confidence: float) -> None:
    """Per step with two or more variants: the best two compared on response rate."""
    by_step: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for k, c in figures.items():
        step, _, variant = k.partition(" · ")
        by_step[step].append((variant, c["clicked"] + c["replied"] + c["connects"], c["sent"]))
    for step, variants in sorted(by_step.items()):
        ranked = sorted((v for v in variants if v[2]), key=lambda v: v[1] / v[2], reverse=True)
        if len(ranked) < 2:
            continue
        (a, hits_a, n_a), (b, hits_b, n_b) = ranked[:2]
        z, p = z_test(hits_a, n_a, hits_b, n_b)
        diff = 100 * (hits_a / n_a - hits_b / n_b)
        verdict = (
            f"winner {a}" if p < 1 - confidence else f"no winner at {confidence:.0%} confidence"
        )
        report.notes.append(
            f"{step}: {a} vs {b}: +{diff:.1f} points response, z={z:.2f}, p={p:.4f} → {verdict}"
        )


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
        rows = session.execute(_log_where(query, f)).all()
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
                _pct(c["connects"], c["worked"]),
                c["meetings"],
                _median_hours(spans[rep]),
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
        rows = session.execute(_log_where(query, f)).all()
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
                _median_hours(to_accept[rep]),
            ]
        )
    for reason, count in declines.most_common():
        report.notes.append(f"declined — {reason}: {count}")
    leads = _leads(store, f)
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


# ---------------------------------------------------------------- money


def _connects(store: Store, f: Filters) -> Counter[str]:
    """Connected calls per lead (their conversation costs rep time)."""
    t = JourneyLogRow
    query = (
        select(t.lead_id, func.count().label("n"))
        .where(t.kind == "task_completed", t.reason.in_(DISPOSITION_CONNECTS))
        .group_by(t.lead_id)
    )
    with store.session() as session:
        return Counter({row.lead_id: row.n for row in session.execute(_log_where(query, f))})


def lead_cost(lead: Any, costs: Costs, connects: int = 0) -> dict[str, float]:
    """What was spent on a lead, per channel (calls: the rep time of worked tasks, plus the
    conversation of each connect)."""
    price = per_channel(costs)
    return {
        "email": lead.emails * price["email"],
        "sms": lead.sms * price["sms"],
        "voicemail": lead.voicemails * price["voicemail"],
        "direct_mail": lead.letters * price["direct_mail"],
        "call": lead.tasks_worked * price["call"] + connects * conversation_price(costs),
    }


def money(store: Store, f: Filters, costs: Costs) -> Report:
    """Cost per touch, sales-ready lead, accepted lead, opportunity and won deal."""
    leads = _leads(store, f)
    connects = _connects(store, Filters(cadence=f.cadence, version=f.version, segment=f.segment))
    if f.group_by == "channel":
        return _money_by_channel(leads, costs, connects)
    groups: dict[str, list[Any]] = defaultdict(list)
    for lead in leads:
        groups[_lead_group(lead, f.group_by or "cadence")].append(lead)
    report = Report(
        "money",
        "Cost per result",
        [
            "group",
            "leads",
            "touches",
            "cost",
            "per touch",
            "sales-ready",
            "per sales-ready",
            "accepted",
            "per accepted",
            "opportunities",
            "per opportunity",
            "won",
            "per won",
            "won amount",
        ],
        explain={
            "cost": "touches × their channel's price (cadences/_costs.yaml) + rep time: worked "
            "call tasks × task minutes, connects × conversation minutes, × price per minute",
            "per touch": "cost / touches sent",
            "per sales-ready": "cost / leads that became sales-ready",
            "per accepted": "cost / leads sales accepted",
            "per opportunity": "cost / leads that became an opportunity (or were won)",
            "per won": "cost / won deals",
            "won amount": "sum of the won deals' amounts",
        },
    )
    for group in sorted(groups):
        members = groups[group]
        cost = sum(sum(lead_cost(lead, costs, connects[lead.lead_id]).values()) for lead in members)
        touches = sum(lead.touches for lead in members)
        stages = [reached(lead) for lead in members]
        counts = {
            s: sum(1 for t in stages if t[s]) for s in ("sales_ready", "accepted", "opportunity")
        }
        won = sum(1 for lead in members if lead.won_at)
        amount = sum(lead.amount or 0 for lead in members if lead.won_at)
        report.rows.append(
            [
                group,
                len(members),
                touches,
                round(cost, 2),
                _ratio(cost, touches),
                counts["sales_ready"],
                _ratio(cost, counts["sales_ready"]),
                counts["accepted"],
                _ratio(cost, counts["accepted"]),
                counts["opportunity"],
                _ratio(cost, counts["opportunity"]),
                won,
                _ratio(cost, won),
                round(amount, 2),
            ]
        )
    return report


def _money_by_channel(leads: Iterable[Any], costs: Costs, connects: Counter[str]) -> Report:
    spent: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    opportunities = 0
    for lead in leads:
        for channel, amount in lead_cost(lead, costs, connects[lead.lead_id]).items():
            spent[channel] += amount  # type: ignore[assignment]
        sent.update(
            email=lead.emails,
            sms=lead.sms,
            voicemail=lead.voicemails,
            direct_mail=lead.letters,
            call=lead.tasks_worked,
        )
        opportunities += bool(reached(lead)["opportunity"])
    report = Report(
        "money",
        "Cost by channel",
        ["channel", "touches", "cost", "per touch", "share of cost per opportunity"],
        explain={
            "touches": "touches sent (calls: call tasks worked)",
            "cost": "touches × the channel's price (calls: minutes × price per minute)",
            "per touch": "cost / touches",
            "share of cost per opportunity": "the channel's cost / every opportunity",
        },
    )
    for channel in sorted(spent):
        report.rows.append(
            [
                channel,
                sent[channel],
                round(spent[channel], 2),
                _ratio(spent[channel], sent[channel]),
                _ratio(spent[channel], opportunities),
            ]
        )
    return report


# ---------------------------------------------------------------- win-loss


def win_loss(store: Store, f: Filters) -> Report:
    """Won and lost deals by segment, source, cadence or reason."""
    group = (
        f.group_by if f.group_by in ("segment", "source", "cadence", "version", "week") else None
    )
    by = group or "reason"
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    amounts: Counter[str] = Counter()
    for lead in _leads(store, f):
        if not (lead.won_at or lead.lost_at):
            continue
        k = (lead.reason or "—") if by == "reason" else _lead_group(lead, by)
        outcome = "won" if lead.won_at else "lost"
        rows[k][outcome] += 1
        if outcome == "won":
            amounts[k] += lead.amount or 0
    report = Report(
        "win-loss",
        f"Win-loss by {by}",
        [by, "won", "lost", "win %", "won amount"],
        explain={
            "won": "deals won",
            "lost": "deals lost",
            "win %": "won / (won + lost)",
            "won amount": "sum of the won deals' amounts",
            "reason": "the reason sales gave when recording the win or the loss",
        },
    )
    for k in sorted(rows):
        c = rows[k]
        report.rows.append(
            [k, c["won"], c["lost"], _pct(c["won"], c["won"] + c["lost"]), round(amounts[k], 2)]
        )
    return report
