"""Reconciliation: after a dev-server run of leads with random engagement, declines, wins and
losses, the reports say what the journeys themselves say (their ``journey`` query).

Shared by the test (tests/journeylog/test_reconciliation.py, a reduced size) and the benchmark
(bench/reconcile.py, a few hundred leads).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError

from nurture.cadence.sales import DeclineReason
from nurture.contracts import AcceptHandoff, CloseOpportunity, DeclineHandoff, HandoffView
from nurture.events import EngagementEvent, EventKind
from nurture.journey.state import Journey, JourneyEntry, JourneyInput, Phase
from nurture.journeylog.costs import load_costs
from nurture.journeylog.reports import Filters, build
from nurture.leads.enrollment import new_journey
from nurture.settings import ROOT, Settings
from nurture.store import Store
from nurture.temporal.ids import workflow_id
from tests.conftest import eventually, fixture_cadence, make_lead
from tests.journeylog.test_journey_log_workflow import add_sales_team
from tests.workflows.test_handoff import RULES
from workflows.lead import LeadJourneyWorkflow

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
STAGES = ("sales_ready", "accepted", "opportunity", "won", "lost")


async def run_lead(client: Client, settings: Settings, n: int, seed: int) -> str:
    """One lead on the quick cadence, with what the dice say; returns its workflow id."""
    rng = random.Random(seed * 1_000_003 + n)  # the lead's own dice: the same run every time
    lead = make_lead(f"R{n:03d}", segment="quick", owner="", fields={"source": f"s{n % 3}"})
    journey = new_journey(lead, fixture_cadence("quick"), datetime.now(UTC), RULES)
    handle = await client.start_workflow(
        LeadJourneyWorkflow.run,
        JourneyInput(journey=journey),
        id=workflow_id(lead.id),
        task_queue=settings.task_queue,
    )
    roll = rng.random()
    if roll < 0.25:
        return handle.id
    kind = EventKind.email_open if roll < 0.45 else EventKind.email_reply
    await handle.signal(
        LeadJourneyWorkflow.event,
        EngagementEvent(id=f"e{n}", kind=kind, lead_id=lead.id, at=datetime.now(UTC)),
    )
    if kind is EventKind.email_open:
        return handle.id

    async def assigned() -> HandoffView | None:
        view = await handle.query(LeadJourneyWorkflow.handoff)
        return view if view is not None and view.owner else None

    async def answer(accept: bool) -> HandoffView:
        """Accept or decline the handoff; under load it can be between owners (an escalation
        re-assigning it): then ask again, as a rep would."""
        while True:
            view = await eventually(assigned, timeout=60)
            rep = view.owner or ""
            try:
                if accept:
                    action: Any = AcceptHandoff(handoff_id=view.handoff_id, rep=rep)
                    await handle.execute_update(LeadJourneyWorkflow.accept_handoff, action)
                else:
                    reason = rng.choice((DeclineReason.not_ready, DeclineReason.bad_fit))
                    action = DeclineHandoff(handoff_id=view.handoff_id, rep=rep, reason=reason)
                    await handle.execute_update(LeadJourneyWorkflow.decline_handoff, action)
                return view
            except WorkflowUpdateFailedError as exc:
                if "try again" not in str(exc.cause) and "belongs to" not in str(exc.cause):
                    raise
                await asyncio.sleep(0.5)

    fate = (0.1, 0.35, 0.5, 0.6, 0.8, 0.9)[n % 6]  # declined, accepted, won, won, lost, lost
    if fate < 0.3:
        await answer(accept=False)
        return handle.id
    handoff = await answer(accept=True)
    rep, hid = handoff.owner or "", handoff.handoff_id
    if fate < 0.45:
        return handle.id
    await handle.execute_update(
        LeadJourneyWorkflow.close_opportunity,
        CloseOpportunity(handoff_id=hid, rep=rep, outcome="opportunity", amount=1000.0 * n),
    )
    won = fate < 0.75
    await handle.execute_update(
        LeadJourneyWorkflow.close_opportunity,
        CloseOpportunity(
            handoff_id=hid,
            rep=rep,
            outcome="won" if won else "lost",
            amount=1000.0 * n if won else None,
            reason="" if won else rng.choice(("price", "timing")),
        ),
    )
    return handle.id


async def settled(client: Client, wid: str) -> Journey | None:
    """The journey once it is quiet: every milestone written, nothing more to come soon."""
    journey = await client.get_workflow_handle(wid).query(LeadJourneyWorkflow.state)
    quiet = journey.phase in (Phase.done, Phase.cooling_down, Phase.handoff)
    return journey if quiet and not journey.milestones else None


def stages_reached(timeline: list[JourneyEntry]) -> set[str]:
    stages = {e.text.split(" → ")[1].split(" ")[0] for e in timeline if e.kind == "stage"}
    return stages


@dataclass
class Reconciled:
    """What a run found: the reports' funnel and money, and what the journeys said."""

    leads: int
    seconds: float
    funnel: dict[str, int]
    money: dict[str, Any]
    truth: Counter[str] = field(default_factory=Counter)


async def reconcile(
    client: Client,
    settings: Settings,
    store: Store,
    leads: int,
    *,
    seed: int = 13,
    concurrency: int = 32,
    timeout: float = 60,
) -> Reconciled:
    """Run ``leads`` journeys to a quiet state, then check every report figure below against
    the journeys' own ``journey`` query (AssertionError when one differs)."""
    add_sales_team(store)
    started = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> Journey:
        async with gate:
            wid = await run_lead(client, settings, n, seed)
            try:
                return await eventually(lambda: settled(client, wid), timeout=timeout)
            except WorkflowQueryFailedError as exc:  # keep the history that failed to replay
                history = await client.get_workflow_handle(wid).fetch_history()
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                saved = ARTIFACTS / f"replay-failed-{wid}.json"
                saved.write_text(history.to_json())
                raise AssertionError(f"{wid}: {exc} (history: {saved})") from exc
            except AssertionError:
                state = await client.get_workflow_handle(wid).query(LeadJourneyWorkflow.state)
                raise AssertionError(
                    f"{wid} not settled: {state.phase} {state.stage} {len(state.milestones)} "
                    f"{[e.text for e in state.timeline][-4:]}"
                ) from None

    journeys = await asyncio.gather(*(one(n) for n in range(leads)))
    seconds = time.perf_counter() - started

    # what the journeys say
    truth: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    for j in journeys:
        timeline = await client.get_workflow_handle(workflow_id(j.lead.id)).query(
            LeadJourneyWorkflow.journey
        )
        stages = stages_reached(timeline)
        truth["enrolled"] += 1
        # a later stage counts the earlier ones (a reply can promote before the first touch)
        truth["touched"] += any(e.kind == "touch" for e in timeline) or bool(stages & {*STAGES})
        truth["engaged"] += bool(stages & {"engaged", *STAGES})
        truth["sales-ready"] += bool(stages & set(STAGES))
        truth["accepted"] += bool(stages & {"accepted", "opportunity", "won", "lost"})
        truth["opportunity"] += bool(stages & {"opportunity", "won", "lost"})
        truth["won"] += "won" in stages
        truth["lost"] += "lost" in stages
        sent.update(e.step for e in timeline if e.kind == "touch" and e.step)

    # what the reports say
    funnel = {r["stage"]: r["leads"] for r in build("funnel", store, Filters()).as_dicts()}
    steps = {r["step"]: r["sent"] for r in build("steps", store, Filters()).as_dicts() if r["sent"]}
    win_loss = build("win-loss", store, Filters()).as_dicts()
    costs = load_costs(ROOT / "cadences")
    money = build("money", store, Filters(), costs).as_dicts()
    assert funnel == {k: truth[k] for k in funnel}, (funnel, truth)
    assert steps == dict(sent)
    assert sum(r["won"] for r in win_loss) == truth["won"]
    assert sum(r["lost"] for r in win_loss) == truth["lost"]
    (quick,) = money
    expected_cost = (
        sent["hello"] * costs.email
        + sent["nudge"] * costs.sms
        + sent["letter"] * costs.direct_mail.letter
    )
    assert quick["cost"] == round(expected_cost, 2)
    assert quick["opportunities"] == truth["opportunity"]
    return Reconciled(leads, seconds, funnel, quick, truth)
