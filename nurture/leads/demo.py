"""The ``make up`` demo tour: a few leads on ``examples/demo/demo.yaml`` (seconds-long waits), so
that within two minutes a newcomer sees touches in the outbox (an A/B email, an SMS), call tasks
on the desk, a sales handoff and an event in the inbox.

The leads live where it is early afternoon now (texts and calls are legal 08:00-21:00 local).
One lead replies to its first email through the inbox (as a provider webhook would): its cadence
stops and it is handed to sales.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from nurture.cadence.model import Cadence, load_cadence
from nurture.events import EngagementEvent, EventKind
from nurture.inbox.delivery import Deliverer, TemporalLink
from nurture.inbox.store import Inbox, InboxItem
from nurture.lead import Lead
from nurture.leads.enrollment import EnrollReport, enroll_many, load_rules
from nurture.roster.reps import RepDirectory
from nurture.settings import ROOT, Settings
from nurture.store import Store

DEMO_CADENCE = ROOT / "examples" / "demo" / "demo.yaml"
#: The demo login: the sdr team's manager, also an admin (cadences/_teams.yaml).
DEMO_USER = "dana.brooks"
#: Seconds after enrolment when the first demo lead replies (after its first email).
REPLY_AFTER = 8.0

_PEOPLE = [
    ("Avery", "Stone", "Northwind Mills", "VP Operations"),
    ("Blake", "Ortiz", "Harbor Freight Lines", "Director of Planning"),
    ("Casey", "Lindqvist", "Summit Packaging", "Head of Supply Chain"),
    ("Devon", "Mbeki", "Keystone Tools", "COO"),
]


@dataclass
class DemoRun:
    """What the demo seeding did."""

    enrolled: EnrollReport
    cadence: Cadence
    replied: list[str] = field(default_factory=list)


def awake_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is early afternoon now (contact hours for hours to come)."""
    hour = (now or datetime.now(UTC)).hour
    offset = (13 - hour + 12) % 24 - 12
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs are inverted


def demo_leads(now: datetime | None = None) -> list[Lead]:
    """The demo's leads (fictional people on example.com addresses and 555 numbers); their ids
    carry the start time (``demo-1203-091500-1``), so every start of the demo has new leads."""
    now = now or datetime.now(UTC)
    zone, stamp = awake_zone(now), f"{now:%m%d-%H%M%S}"
    return [
        Lead(
            id=f"demo-{stamp}-{number}",
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}@example.com",
            phone=f"+1415555{159 + number:04d}",
            company=company,
            title=title,
            segment="demo",
            timezone=zone,
            fields={"industry": "Manufacturing"},
        )
        for number, (first, last, company, title) in enumerate(_PEOPLE, start=1)
    ]


def demo_password(store: Store, username: str = DEMO_USER) -> str | None:
    """A fresh random password for the demo user (None if the roster has no such person)."""
    reps = RepDirectory(store)
    if reps.get(username) is None:
        return None
    password = secrets.token_urlsafe(12)
    reps.set_password(username, password)
    return password


async def seed(
    client: Client,
    settings: Settings,
    store: Store,
    *,
    cadence_path: Path = DEMO_CADENCE,
    reply_after: float = REPLY_AFTER,
) -> DemoRun:
    """Enrol the demo leads, then (in ``reply_after`` seconds) post the first one's reply."""
    cadence = load_cadence(cadence_path)
    leads = demo_leads()
    rules = load_rules(settings.cadences_dir)
    report = await enroll_many(
        client, [(0, lead) for lead in leads], [cadence], settings.task_queue, rules=rules
    )
    run = DemoRun(enrolled=report, cadence=cadence)
    if leads[0].id in report.started:
        await asyncio.sleep(reply_after)
        await reply(client, settings, store, leads[0].id)
        run.replied.append(leads[0].id)
    return run


async def reply(client: Client, settings: Settings, store: Store, lead_id: str) -> None:
    """The lead answers its first email, as the inbox receives a provider's webhook."""
    event = EngagementEvent(
        id=f"demo:{lead_id}:reply",
        kind=EventKind.email_reply,
        lead_id=lead_id,
        at=datetime.now(UTC),
        data={"snippet": "Sounds interesting - can we talk next week?"},
    )
    inbox = Inbox(store)
    accepted = await asyncio.to_thread(inbox.accept, [InboxItem.of(event, "demo")])

    async def connect(_: Settings) -> Client:
        return client

    await Deliverer(inbox, TemporalLink(settings, connect=connect)).deliver(accepted.ids)


_RUNNING: set[asyncio.Task[DemoRun | None]] = set()


def start_in_background(client: Client, settings: Settings) -> None:
    """Run :func:`start` beside the worker and the web app (a failure is printed, not raised)."""
    task = asyncio.create_task(_start_safely(client, settings))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def _start_safely(client: Client, settings: Settings) -> DemoRun | None:
    from nurture.console import err

    try:
        return await start(client, settings)
    except Exception as exc:  # the demo is a tour: the product runs on without it
        err.print(f"demo tour stopped: {exc!r}", highlight=False)
        return None


async def start(
    client: Client,
    settings: Settings,
    *,
    cadence_path: Path = DEMO_CADENCE,
    reply_after: float = REPLY_AFTER,
) -> DemoRun:
    """``nurture up``'s demo: print the demo login (a new password each start), run the tour."""
    from nurture.console import console

    store = Store.from_settings(settings)
    try:
        password = demo_password(store)
        web = f"http://{settings.web_host}:{settings.web_port}"
        if password is not None:
            console.print(
                f"demo login: {DEMO_USER} / {password}  (manager + admin; {web}/desk/login;"
                " a new password at every demo start)",
                style="bold",
                highlight=False,
            )
        run = await seed(
            client, settings, store, cadence_path=cadence_path, reply_after=reply_after
        )
    finally:
        store.close()
    console.print(
        f"demo tour: {len(run.enrolled.started)} lead(s) on {run.cadence.name} "
        f"(waits of seconds): touches at {web}/outbox, call tasks at {web}/desk/queue, "
        f"a handoff at {web}/handoffs, the reply at {web}/inbox",
        highlight=False,
    )
    return run
