"""The reports, read from the journey log (``journey_log``) and its per-lead summary
(``journey_leads``): funnel, steps and channels, the desk, sales, money and win-loss.

Each report is a :class:`Report`: columns, rows, and one line per metric saying what it counts.
The SQL each figure rests on is in README.md ("Reports").
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import case, func, select

from nurture.journeylog.basics import (
    CONNECTS,
    REPLIES,
    Filters,
    Report,
    count_where,
    counted,
    epoch,
    group_column,
    grouped,
    lead_group,
    lead_where,
    log_where,
    median_days,
    pct,
    ratio,
    reached_column,
    summaries,
)
from nurture.journeylog.costs import Costs, conversation_price, per_channel, talk_price
from nurture.journeylog.rollup import JourneyCountRow
from nurture.journeylog.store import JourneyLogRow
from nurture.journeylog.summary import COUNTERS, FUNNEL, JourneyLeadRow
from nurture.journeylog.teams import desk, sales
from nurture.store import Store

__all__ = ["GROUPS", "KINDS", "Filters", "Report", "build", "z_test"]

KINDS = ("funnel", "steps", "channels", "desk", "sales", "money", "win-loss")
GROUPS = ("step", "channel", "variant", "rep", "week", "cadence", "version", "segment", "source")


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


# ---------------------------------------------------------------- funnel


def funnel(store: Store, f: Filters) -> Report:
    """Enrolled → touched → engaged → sales-ready → accepted → opportunity → won."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(FUNNEL))
    spans: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in FUNNEL])
    for group, *times in _stage_times(store, f):
        # no enrolment time = the earliest other; a later stage implies the earlier ones
        if times[0] is None:
            times[0] = min((t for t in times if t is not None), default=None)
        later = None
        for i in range(len(FUNNEL) - 1, -1, -1):
            if times[i] is None:
                times[i] = later
            else:
                later = times[i]
        tally, gaps = counts[group], spans[group]
        for i, at in enumerate(times):
            if at is not None:
                tally[i] += 1
                if i and times[i - 1] is not None:
                    gaps[i].append(at - times[i - 1])
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
    for group in sorted(counts):
        tally = counts[group]
        for i, stage in enumerate(FUNNEL):
            report.rows.append(
                [
                    group,
                    stage.replace("_", "-"),
                    tally[i],
                    pct(tally[i], tally[i - 1]) if i else None,
                    pct(tally[i], tally[0]),
                    median_days(spans[group][i]) if i else None,
                ]
            )
    return report


def _stage_times(store: Store, f: Filters) -> list[Any]:
    """Per lead: its group, then when it reached each funnel stage (epoch seconds or None)."""
    t = JourneyLeadRow
    dialect = store.engine.dialect.name
    columns = [epoch(getattr(t, f"{stage}_at"), dialect) for stage in FUNNEL]
    query = lead_where(select(group_column(f.group_by, dialect), *columns), f)
    with store.session() as session:
        return [list(row) for row in session.execute(query)]


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
    dialect = store.engine.dialect.name
    paths: dict[str, list[Any]] = defaultdict(list)
    with store.session() as session:
        # the few sales-ready leads first, then their touches by the lead index
        query = select(s.lead_id, epoch(s.sales_ready_at, dialect))
        ready = {
            lead: at for lead, at in session.execute(query.where(s.sales_ready_at.is_not(None)))
        }
        leads = sorted(ready)
        for start in range(0, len(leads), 500):
            query = log_where(
                select(t.lead_id, t.step, t.channel, t.variant, epoch(t.at, dialect))
                .where(t.lead_id.in_(leads[start : start + 500]), t.kind == "touch_sent")
                .order_by(t.lead_id, t.at, t.id),
                f,
            )
            for row in session.execute(query):
                if row.at <= ready[row.lead_id]:
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
    if counted(f):  # the per-day counts kept as rows arrive
        r = JourneyCountRow
        query = count_where(
            select(r.step, r.channel, r.variant, r.kind, r.reason, func.sum(r.n).label("n"))
            .where(r.kind.in_(("touch_sent", "event")))
            .group_by(r.step, r.channel, r.variant, r.kind, r.reason),
            f,
        )
    else:  # a period not on day boundaries: from the log itself
        t = JourneyLogRow
        query = log_where(
            select(t.step, t.channel, t.variant, t.kind, t.reason, func.count().label("n"))
            .where(t.kind.in_(("touch_sent", "event")))
            .group_by(t.step, t.channel, t.variant, t.kind, t.reason),
            f,
        )
    with store.session() as session:
        rows = session.execute(query).all()

    def key(row: Any) -> str:
        if group == "channel":
            return str(row.channel or "(no touch)")
        if group == "variant":
            return f"{row.step or '(no touch)'} · {row.variant or '—'}"
        return str(row.step or "(no touch)")

    names = ("sent", "delivered", "opened", "clicked", "replied", "connects", "meetings")
    figures: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
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
                pct(hits, c["sent"]),
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


# ---------------------------------------------------------------- money


def lead_cost(lead: Any, costs: Costs) -> dict[str, float]:
    """What was spent on a lead (or a group of leads: their sums), per channel (calls: the
    rep time of worked tasks, plus each conversation: its recorded talk time, else the costs
    file's minutes per connect)."""
    price = per_channel(costs)
    untimed = lead.connects - lead.timed_connects
    return {
        "email": lead.emails * price["email"],
        "sms": lead.sms * price["sms"],
        "voicemail": lead.voicemails * price["voicemail"],
        "direct_mail": lead.letters * price["direct_mail"],
        "call": lead.tasks_worked * price["call"]
        + untimed * conversation_price(costs)
        + talk_price(costs, lead.talk_seconds),
    }


def money(store: Store, f: Filters, costs: Costs) -> Report:
    """Cost per touch, sales-ready lead, accepted lead, opportunity and won deal."""
    if f.group_by == "channel":
        return _money_by_channel(grouped(store, f, None, *_money_columns()), costs)
    groups = grouped(store, f, f.group_by or "cadence", *_money_columns())
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
            "call tasks × task minutes, plus each call's recorded talk time (connects without "
            "one: the conversation minutes), × price per minute",
            "per touch": "cost / touches sent",
            "per sales-ready": "cost / leads that became sales-ready",
            "per accepted": "cost / leads sales accepted",
            "per opportunity": "cost / leads that became an opportunity (or were won)",
            "per won": "cost / won deals",
            "won amount": "sum of the won deals' amounts",
        },
    )
    for g in groups:
        cost = sum(lead_cost(g, costs).values())
        report.rows.append(
            [
                g.grp,
                g.leads,
                g.touches,
                round(cost, 2),
                ratio(cost, g.touches),
                g.sales_ready,
                ratio(cost, g.sales_ready),
                g.accepted,
                ratio(cost, g.accepted),
                g.opportunity,
                ratio(cost, g.opportunity),
                g.won,
                ratio(cost, g.won),
                round(g.won_amount or 0, 2),
            ]
        )
    return report


def _money_columns() -> list[Any]:
    """The money report's sums over a group of leads (what :func:`lead_cost` reads, and the
    leads that reached each stage)."""
    t = JourneyLeadRow
    counters = (
        "touches",
        "emails",
        "sms",
        "voicemails",
        "letters",
        "tasks_worked",
        *COUNTERS,
    )
    won = t.won_at.is_not(None)
    return [
        func.count().label("leads"),
        *(func.coalesce(func.sum(getattr(t, c)), 0).label(c) for c in counters),
        *(
            func.sum(case((reached_column(s), 1), else_=0)).label(s)
            for s in ("sales_ready", "accepted", "opportunity")
        ),
        func.sum(case((won, 1), else_=0)).label("won"),
        func.sum(case((won, t.amount), else_=0)).label("won_amount"),
    ]


def _money_by_channel(groups: Iterable[Any], costs: Costs) -> Report:
    spent: defaultdict[str, float] = defaultdict(float)
    sent: Counter[str] = Counter()
    opportunities = 0
    for g in groups:
        for channel, amount in lead_cost(g, costs).items():
            spent[channel] += amount
        sent.update(
            email=g.emails,
            sms=g.sms,
            voicemail=g.voicemails,
            direct_mail=g.letters,
            call=g.tasks_worked,
        )
        opportunities += g.opportunity
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
                ratio(spent[channel], sent[channel]),
                ratio(spent[channel], opportunities),
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
    t = JourneyLeadRow
    for lead in summaries(store, f, t.won_at.is_not(None) | t.lost_at.is_not(None)):
        if not (lead.won_at or lead.lost_at):
            continue
        k = (lead.reason or "—") if by == "reason" else lead_group(lead, by)
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
            [k, c["won"], c["lost"], pct(c["won"], c["won"] + c["lost"]), round(amounts[k], 2)]
        )
    return report
