"""How fast the reports answer over a big journey log: 1,000,000 rows by default, on SQLite and
on PostgreSQL (a throwaway server from tests/support/postgres.py).

The rows are written through ``JourneyLog.record_rows`` (the same insert-or-ignore and per-lead
summary upkeep as the workflow's activity), in batches, as made-up journeys: enrolment, touches
on every channel, engagement, call tasks, stage changes, handoffs, declines, opportunities, wins
and losses. Then each report is timed (best of ``--repeat``; wall clock and this process's CPU
time, which for SQLite is the report's whole cost even on a busy machine) and its headline
figures printed.

    .venv/bin/python -m bench.reports [--rows 1000000] [--only sqlite|postgres] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from nurture.journeylog.costs import load_costs
from nurture.journeylog.reports import KINDS, Filters, build
from nurture.journeylog.store import JourneyLog
from nurture.settings import ROOT
from nurture.store import Store

TARGET_S = 2.0
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CADENCES = (("standard", "standard"), ("strategic", "strategic"), ("long-term-nurture", "recycled"))
STEPS = (
    ("intro-email", "email", ("intro-a", "intro-b")),
    ("sdr-call", "call", ("call-script",)),
    ("value-email", "email", ("value",)),
    ("text-nudge", "sms", ("nudge",)),
    ("voicemail", "voicemail", ("vm",)),
    ("letter", "direct_mail", ("letter",)),
    ("breakup-email", "email", ("breakup",)),
)
REPS = ("amy.sdr", "ben.sdr", "cal.sdr")
AES = ("ann.ae", "bob.ae")


def journey(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """The milestones of one made-up journey."""
    lead = f"B{n:07d}"
    cadence, segment = CADENCES[n % 3]
    at = START + timedelta(minutes=n * 7)
    rows: list[dict[str, Any]] = []

    def add(kind: str, **values: Any) -> None:
        row = {
            "key": f"{lead}:bench:{len(rows) + 1}",
            "lead_id": lead,
            "kind": kind,
            "at": at,
            "cadence": cadence,
            "version": 1,
            "segment": segment,
            "source": ("webinar", "ads", "referral")[n % 3],
            "cycle": 1,
            "step": None,
            "channel": None,
            "variant": None,
            "touch_id": None,
            "from_stage": None,
            "to_stage": None,
            "amount": None,
            "points": None,
            "reason": None,
            "rep": None,
            "talk_seconds": None,
        }
        row.update(values)
        rows.append(row)

    stage = "new"

    def move(to: str) -> None:
        nonlocal stage
        add("stage", from_stage=stage, to_stage=to, reason="bench")
        stage = to

    add("enrolled", reason="enrolled")
    engaged = rng.random() < 0.3
    for step, channel, variants in STEPS:
        at += timedelta(days=2, minutes=rng.randint(0, 600))
        touch = f"{lead}:{cadence}:v1:e1:c1:{step}"
        variant = rng.choice(variants)
        add("touch_sent", step=step, channel=channel, variant=variant, touch_id=touch)
        if stage == "new":
            move("nurturing")
        if channel == "email":
            for kind, chance in (
                ("email.delivered", 0.95),
                ("email.open", 0.4),
                ("email.click", 0.08),
            ):
                if rng.random() < chance:
                    add(
                        "event",
                        step=step,
                        channel="email",
                        variant=variant,
                        touch_id=touch,
                        reason=kind,
                    )
            add("score", points=2, amount=10, reason="email.open +2")
        if channel == "call":
            add("task_created", step=step, channel="call", touch_id=touch, reason="sdr")
            rep = rng.choice(REPS)
            add("task_assigned", step=step, touch_id=touch, rep=rep, reason="round_robin")
            if rng.random() < 0.2:
                add("task_overdue", step=step, touch_id=touch, rep=rep)
            disposition = rng.choice(("no_answer", "connected", "left_voicemail", "meeting_booked"))
            talked = disposition in ("connected", "meeting_booked") and rng.random() < 0.7
            add(
                "task_completed",
                step=step,
                channel="call",
                touch_id=touch,
                rep=rep,
                reason=disposition,
                talk_seconds=rng.randint(60, 1800) if talked else None,
            )
            add(
                "event",
                step=step,
                channel="call",
                touch_id=touch,
                reason=f"call.{disposition}",
                rep=rep,
            )
        if engaged and stage == "nurturing" and rng.random() < 0.5:
            move("engaged")
    if stage == "engaged" and rng.random() < 0.4:
        move("sales_ready")
        ae = rng.choice(AES)
        add("handoff_assigned", rep=ae, reason="sales")
        at += timedelta(hours=rng.randint(1, 30))
        add("sla_met" if rng.random() < 0.7 else "sla_breached", rep=ae)
        if rng.random() < 0.7:
            add("handoff_accepted", rep=ae)
            move("accepted")
            if rng.random() < 0.6:
                at += timedelta(days=5)
                add("opportunity", rep=ae, amount=20000.0)
                move("opportunity")
                at += timedelta(days=20)
                won = rng.random() < 0.35
                outcome = "won" if won else "lost"
                add(
                    outcome,
                    rep=ae,
                    amount=rng.choice((12000.0, 25000.0, 60000.0)),
                    reason="champion" if won else rng.choice(("price", "timing", "competitor")),
                )
                move(outcome)
        else:
            add(
                "handoff_declined", rep=ae, reason=rng.choice(("not_ready", "bad_fit", "no_budget"))
            )
            move("recycled")
            add("recycled", reason="declined")
    add("finished", to_stage=stage, reason="finished")
    return rows


def batches(total: int, seed: int, size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(seed)
    batch: list[dict[str, Any]] = []
    written, n = 0, 0
    while written < total:
        rows = journey(n, rng)[: total - written]
        n += 1
        written += len(rows)
        batch.extend(rows)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(store: Store, total: int, seed: int) -> float:
    log = JourneyLog(store)
    started = time.perf_counter()
    for batch in batches(total, seed):
        log.record_rows(batch)
    return time.perf_counter() - started


def measure(name: str, store: Store, repeat: int) -> dict[str, float]:
    costs = load_costs(ROOT / "cadences")
    times: dict[str, float] = {}
    for kind in KINDS:
        best, cpu = float("inf"), float("inf")
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            report = build(kind, store, Filters(), costs)
            best = min(best, time.perf_counter() - started)
            cpu = min(cpu, time.process_time() - started_cpu)
        times[kind] = best
        verdict = "ok" if best < TARGET_S else "SLOW"
        line = headline(report.as_dicts(), kind)
        print(
            f"  {name:10} {kind:9} {best * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms cpu"
            f"  {verdict}  (load {load()})  {line}",
            flush=True,
        )
    return times


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes): the figures' context on a shared box."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def headline(rows: list[dict[str, Any]], kind: str) -> str:
    if kind == "funnel":
        return " → ".join(f"{r['stage']} {r['leads']}" for r in rows)
    if kind == "money" and rows:
        return "; ".join(f"{r['group']}: per opportunity {r['per opportunity']}" for r in rows)
    return f"{len(rows)} rows"


def counts(store: Store) -> tuple[int, int]:
    """Rows in the log, leads in the summary."""
    with store.engine.connect() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM journey_log")).scalar_one()
        leads = connection.execute(text("SELECT COUNT(*) FROM journey_leads")).scalar_one()
    return int(count), int(leads)


def run(name: str, url: str, rows: int, seed: int, repeat: int) -> bool:
    store = Store(url, upgrade=True)
    try:
        count, leads = counts(store)
        if count:
            print(f"{name}: {count:,} log rows, {leads:,} leads, already there (not written)")
        else:
            took = fill(store, rows, seed)
            count, leads = counts(store)
            rate = count / took
            print(
                f"{name}: {count:,} log rows, {leads:,} leads, written in {took:.0f} s "
                f"({rate:,.0f} rows/s; load {load()})",
                flush=True,
            )
        times = measure(name, store, repeat)
    finally:
        store.close()
    return all(t < TARGET_S for t in times.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument(
        "--sqlite-file",
        type=Path,
        help="keep the SQLite log in this file (and reuse it when it already has rows)",
    )
    args = parser.parse_args()
    ok = True
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_file or Path(tmp) / "bench.db"
            ok &= run("sqlite", f"sqlite:///{path}", args.rows, args.seed, args.repeat)
    if args.only in (None, "postgres"):
        from tests.support.postgres import postgres_server

        with postgres_server() as server:
            ok &= run(
                "postgresql", server.new_database(migrated=False), args.rows, args.seed, args.repeat
            )
    print(f"every report under {TARGET_S:.0f} s: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
