"""``nurture handoff ...``: the sales handoff from a terminal, through the same service as the
handoff pages. Refusals (stale, repeated, someone else's) exit 1 with the workflow's message."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from nurture.cadence.sales import DeclineReason
from nurture.console import T, bold, console, fail, problems, run_with_client

if TYPE_CHECKING:  # imported lazily at run time (keeps `nurture --help` fast)
    from nurture.contracts import HandoffView
    from nurture.sales.service import HandoffService

handoff_app = typer.Typer(
    help="Sales-ready leads: list, show, accept, decline, record the outcome.",
    no_args_is_help=True,
)
OUTCOMES = ("opportunity", "won", "lost")
HandoffOption = Annotated[
    str | None, typer.Option("--handoff", help="The handoff id (default: the lead's current one)")
]


def _run(work: Callable[[HandoffService], Awaitable[T]]) -> T:
    from nurture.sales.service import HandoffService

    return run_with_client(lambda client: work(HandoffService(client)))


def _request_id() -> str:
    return f"cli-{uuid.uuid4()}"


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "—"


def _summary(view: HandoffView) -> str:
    manager = f" (manager {view.manager})" if view.manager else ""
    return f"handoff {view.handoff_id}: {view.status.value}, owner {view.owner or '?'}{manager}"


@handoff_app.command("list")
def handoff_list(
    owner: Annotated[str | None, typer.Option(help="Only leads of this CRM owner")] = None,
    assignee: Annotated[
        str | None, typer.Option(help="Only handoffs assigned to this rep (owner or manager)")
    ] = None,
) -> None:
    """Handoffs waiting for accept or decline, the earliest SLA deadline first."""
    from nurture.sales.service import sla_left

    listed = _run(lambda s: s.waiting(owner=owner, assignee=assignee))
    now = datetime.now(UTC)
    table = Table("lead", "SLA due", "left", "score", "segment", "owner", "team", "why")
    for row in listed.rows:
        view = row.view
        table.add_row(
            row.lead_id,
            _when(view.due),
            sla_left(view.due, now),
            str(view.score),
            row.segment,
            view.owner or "being assigned",
            view.team,
            view.why,
        )
    for gone in listed.unanswered:
        table.add_row(gone.lead_id, "?", "", "", "", "", "", f"did not answer: {gone.reason}")
    console.print(table)
    console.print(f"{len(listed.rows)} waiting" + (" (list truncated)" if listed.truncated else ""))
    if listed.unanswered:
        console.print(
            f"{len(listed.unanswered)} journey(s) did not answer their handoff query: "
            + ", ".join(g.workflow_id for g in listed.unanswered)
            + " (is their worker running and able to replay them?)",
            style="yellow",
        )


@handoff_app.command("show")
def handoff_show(lead_id: str) -> None:
    """A lead's handoff: who, why, the SLA, and the journey so far."""
    detail = _run(lambda s: s.show(lead_id))
    lead, journey, view = detail.lead, detail.journey, detail.handoff
    console.print(
        bold(
            "",
            lead.id,
            f" {lead.full_name or ''} · {lead.title or '?'} at {lead.company or '?'} — stage ",
            journey.stage.value,
            f", score {journey.score}",
        ),
    )
    if view is None:
        console.print(f"lead {lead.id} has not been handed to sales")
    else:
        console.print(_summary(view) + f", team {view.team}", highlight=False)
        console.print(f"why: {view.why} · CRM owner {lead.owner or '—'}", highlight=False)
        if view.due:
            console.print(f"SLA due {_when(view.due)} ({detail.time_left})")
        if view.escalations:
            console.print(f"escalated {view.escalations} time(s)")
        if view.decline_reason:
            console.print(f"declined: {view.decline_reason.label} {view.decline_text}".rstrip())
    table = Table("when (UTC)", "cycle", "what")
    for entry in detail.timeline:
        table.add_row(f"{entry.at:%Y-%m-%d %H:%M}", str(entry.cycle), entry.text)
    console.print(table)


@handoff_app.command("accept")
def handoff_accept(
    lead_id: str,
    rep: Annotated[str, typer.Option(help="Who accepts (the owner or their manager)")],
    handoff: HandoffOption = None,
) -> None:
    """Accept a sales-ready lead."""
    from nurture.contracts import AcceptHandoff

    async def work(service: HandoffService) -> HandoffView:
        handoff_id = handoff or (await service.current(lead_id)).handoff_id
        try:
            action = AcceptHandoff(handoff_id=handoff_id, rep=rep)
        except ValidationError as exc:
            raise fail(problems(exc), 2) from None
        return await service.accept(lead_id, action, _request_id())

    view = _run(work)
    console.print(f"{lead_id}: accepted by {rep} ({view.handoff_id})", highlight=False)


@handoff_app.command("decline")
def handoff_decline(
    lead_id: str,
    rep: Annotated[str, typer.Option(help="Who declines (the owner or their manager)")],
    reason: Annotated[DeclineReason, typer.Option(help="Why the lead goes back")],
    text: Annotated[str, typer.Option(help="In words (needed for 'other')")] = "",
    handoff: HandoffOption = None,
) -> None:
    """Decline a sales-ready lead with a reason: back to nurture, or disqualified."""
    from nurture.contracts import DeclineHandoff

    async def work(service: HandoffService) -> str:
        handoff_id = handoff or (await service.current(lead_id)).handoff_id
        try:
            action = DeclineHandoff(handoff_id=handoff_id, rep=rep, reason=reason, text=text)
        except ValidationError as exc:
            raise fail(problems(exc), 2) from None
        await service.decline(lead_id, action, _request_id())
        detail = await service.show(lead_id)
        return detail.journey.stage.value

    stage = _run(work)
    console.print(f"{lead_id}: declined by {rep} ({reason.label.lower()}); stage now {stage}")


@handoff_app.command("close")
def handoff_close(
    lead_id: str,
    rep: Annotated[str, typer.Option(help="Who records it (the owner or their manager)")],
    outcome: Annotated[str, typer.Option(help="opportunity, won or lost")],
    reason: Annotated[str, typer.Option(help="Why (needed for lost)")] = "",
    amount: Annotated[float | None, typer.Option(help="Deal amount")] = None,
    handoff: HandoffOption = None,
) -> None:
    """Record an accepted lead's outcome: an opportunity opened, then won or lost."""
    from nurture.contracts import CloseOpportunity

    if outcome not in OUTCOMES:
        raise fail(f"unknown outcome {outcome!r}; one of: {', '.join(OUTCOMES)}", 2)

    async def work(service: HandoffService) -> HandoffView:
        handoff_id = handoff or (await service.current(lead_id)).handoff_id
        try:
            action = CloseOpportunity(
                handoff_id=handoff_id,
                rep=rep,
                outcome=outcome,  # type: ignore[arg-type]  # a raw string: the model validates it
                reason=reason,
                amount=amount,
            )
        except ValidationError as exc:
            raise fail(problems(exc), 2) from None
        return await service.close(lead_id, action, _request_id())

    view = _run(work)
    console.print(f"{lead_id}: {view.status.value} recorded by {rep}", highlight=False)
