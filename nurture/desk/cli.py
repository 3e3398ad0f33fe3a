"""``nurture reps ...`` (the rep directory) and ``nurture tasks ...`` (call tasks from a terminal,
through the same service as the desk pages)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from nurture.console import T, aware_time, bold, console, err, fail, problems, run_with_client, tag
from nurture.settings import get_settings

reps_app = typer.Typer(help="The call desk's reps and teams.", no_args_is_help=True)
tasks_app = typer.Typer(
    help="Call tasks: list, show, claim, release, complete.", no_args_is_help=True
)

if TYPE_CHECKING:  # imported lazily at run time (keeps `nurture --help` fast)
    from nurture.desk.service import DeskService
    from nurture.roster.reps import Rep, RepDirectory, Team


def _directory() -> RepDirectory:
    from nurture.roster.reps import RepDirectory
    from nurture.store import Store

    return RepDirectory(Store.from_settings(get_settings()))


# ---------------------------------------------------------------- reps


@reps_app.command("load")
def reps_load(
    file: Annotated[
        Path | None, typer.Argument(help="Roster YAML (default: cadences/_teams.yaml)")
    ] = None,
) -> None:
    """Add or update the teams and people of the roster file (passwords are kept)."""
    from nurture.roster.file import ROSTER_FILE, load_roster
    from nurture.yamlfiles import FileError

    path = file or get_settings().cadences_dir / ROSTER_FILE
    try:
        report = load_roster(_directory(), path)
    except FileError as exc:
        for problem in exc.problems:
            err.print(tag("error", "red", problem))
        raise typer.Exit(1) from None
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"{report.teams} team(s); {len(report.added)} added, {len(report.updated)} updated"
    )
    if report.added:
        console.print("set their passwords with: nurture reps password USERNAME")


@reps_app.command("add")
def reps_add(
    username: Annotated[str, typer.Argument(help="Login name: a-z, 0-9, '.', '_', '-'")],
    name: Annotated[str, typer.Option(help="Full name")],
    queue: Annotated[str, typer.Option(help="The team's call-task queue")],
    email: Annotated[str, typer.Option(help="Email address")] = "",
    role: Annotated[
        list[str] | None,
        typer.Option(help="rep, manager, sales, marketing or admin; repeat for several"),
    ] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "America/New_York",
    hours: Annotated[str, typer.Option(help="Working hours")] = "mon-fri 09:00-17:00",
    manager: Annotated[str | None, typer.Option(help="Manager (default: the team's)")] = None,
    update: Annotated[bool, typer.Option(help="Update the rep if it exists")] = False,
) -> None:
    """Add a rep (or manager) to the directory."""
    from nurture.roster.reps import Rep

    directory = _directory()
    team = directory.team(queue)
    roles = role or ["rep"]
    if manager is None and "manager" not in roles and team is not None:
        manager = team.manager
    try:
        rep = Rep(
            username=username,
            name=name,
            email=email,
            queue=queue,
            roles=frozenset(roles),  # type: ignore[arg-type]  # raw strings: the model validates them
            timezone=timezone,
            hours=hours,
            manager=manager,
        )
    except ValidationError as exc:
        raise fail(problems(exc), 2) from None
    if update:
        saved, created = directory.save(rep)
    else:
        try:
            saved, created = directory.add(rep), True
        except ValueError as exc:
            raise fail(f"{exc} (use --update to change it)") from None
    console.print(
        f"{'added' if created else 'updated'} {saved.username} ({saved.role_label}, queue "
        f"{saved.queue}, {saved.hours} {saved.timezone})"
    )
    if not saved.has_password:
        console.print(f"set a password with: nurture reps password {saved.username}")


@reps_app.command("password")
def reps_password(username: str) -> None:
    """Set a rep's password (asked twice, not echoed)."""
    from nurture.roster.reps import MIN_PASSWORD, RepNotFound

    directory = _directory()
    if directory.get(username) is None:
        raise fail(str(RepNotFound(username)))
    password = typer.prompt(
        f"New password for {username} (at least {MIN_PASSWORD} characters)",
        hide_input=True,
        confirmation_prompt=True,
    )
    try:
        directory.set_password(username, password)
    except ValueError as exc:
        raise fail(str(exc)) from None
    console.print(f"password set for {username}")


@reps_app.command("deactivate")
def reps_deactivate(username: str) -> None:
    """Take a rep off the desk (no login, no new tasks); their open tasks stay theirs."""
    from nurture.roster.reps import RepNotFound

    try:
        _directory().update(username, active=False)
    except RepNotFound as exc:
        raise fail(str(exc)) from None
    console.print(f"{username} deactivated")


def _manager_of(rep: Rep, teams: dict[str, Team]) -> str:
    """A rep's manager: their own, else their team's (managers: none)."""
    if rep.is_manager:
        return rep.manager or ""
    team = teams.get(rep.queue)
    return rep.manager or (team.manager if team else None) or ""


@reps_app.command("list")
def reps_list(queue: Annotated[str | None, typer.Option(help="Only this queue")] = None) -> None:
    """The reps and managers, by queue."""
    directory = _directory()
    teams = {t.queue: t for t in directory.teams()}
    table = Table("queue", "username", "name", "roles", "time zone", "hours", "manager", "login")
    reps = directory.all()
    for rep in reps:
        if queue and rep.queue != queue:
            continue
        table.add_row(
            rep.queue,
            rep.username,
            rep.name,
            rep.role_label,
            rep.timezone,
            rep.hours,
            _manager_of(rep, teams),
            ("password set" if rep.has_password else "no password")
            + ("" if rep.active else ", inactive"),
        )
    console.print(table)


# ---------------------------------------------------------------- tasks


def _run(work: Callable[[DeskService], Awaitable[T]]) -> T:
    """Connect, run ``work`` with the desk service, and turn its errors into an exit."""
    from nurture.desk.service import DeskService, LeadError
    from nurture.store import Store

    store = Store.from_settings(get_settings())
    return run_with_client(lambda client: work(DeskService(client, store)), (LeadError,))


def _known_rep(username: str) -> str:
    rep = _directory().get(username)
    if rep is None or not rep.active:
        raise fail(f"no active rep {username!r} (see `nurture reps list`)")
    return rep.username


@tasks_app.command("list")
def tasks_list(
    rep: Annotated[str | None, typer.Option(help="The tasks assigned to this rep")] = None,
    queue: Annotated[
        str | None, typer.Option(help="The queue's unassigned tasks (with --rep: ignored)")
    ] = None,
) -> None:
    """Open call tasks by deadline group and priority (default: every queue)."""
    from nurture.desk.service import TaskBoard

    async def work(desk: DeskService) -> TaskBoard:
        if rep:
            return await desk.my_tasks(rep)
        if queue:
            return await desk.queue_tasks(queue)
        return await desk.all_tasks()

    board = _run(work)
    now = datetime.now(UTC)
    table = Table("group", "priority", "lead", "due (UTC)", "score", "segment", "queue", "assignee")
    for group, rows in board.groups():
        for row in rows:
            late = now - row.due
            when = f"{row.due:%Y-%m-%d %H:%M}" + (
                f" ({int(late.total_seconds() // 60)} min late)" if late.total_seconds() > 0 else ""
            )
            table.add_row(
                group.label,
                str(row.priority),
                row.lead_id,
                when,
                str(row.score),
                row.segment,
                row.queue,
                row.assignee or "",
            )
    console.print(table)
    console.print(f"{board.total} task(s)" + (" (list truncated)" if board.truncated else ""))


@tasks_app.command("show")
def tasks_show(lead_id: str) -> None:
    """A lead's open task, with the lead and the call script."""
    detail = _run(lambda desk: desk.detail(lead_id))
    lead, task = detail.journey.lead, detail.task
    console.print(
        bold(
            "",
            lead.full_name or lead.id,
            f" · {lead.title or '?'} at {lead.company or '?'}"
            f" · {lead.phone or 'no phone'} · their time {detail.lead_local_time:%a %H:%M}"
            f" {detail.timezone}",
        )
    )
    console.print(
        f"task {task.task_id} · queue {task.queue} · "
        f"{task.assignee or 'unassigned'} · due {task.due:%Y-%m-%d %H:%M} UTC · "
        f"score {detail.journey.score} · stage {detail.journey.stage.value}"
    )
    console.print(detail.script or "(no script in the outbox)", highlight=False, markup=False)


@tasks_app.command("claim")
def tasks_claim(lead_id: str, rep: Annotated[str, typer.Option(help="Who claims it")]) -> None:
    """Take a lead's task from the team queue."""
    username = _known_rep(rep)

    async def work(desk: DeskService) -> str:
        task = await desk.task(lead_id)
        view = await desk.claim(lead_id, task.task_id, username)
        return view.task_id

    console.print(f"{lead_id}: task {_run(work)} claimed by {username}")


@tasks_app.command("release")
def tasks_release(lead_id: str, rep: Annotated[str, typer.Option(help="Who holds it")]) -> None:
    """Put a held task back into the team queue."""
    username = _known_rep(rep)

    async def work(desk: DeskService) -> str:
        task = await desk.task(lead_id)
        return (await desk.release(lead_id, task.task_id, username)).queue

    console.print(f"{lead_id}: task back in the {_run(work)} queue")


@tasks_app.command("complete")
def tasks_complete(
    lead_id: str,
    rep: Annotated[str, typer.Option(help="Who made the call")],
    disposition: Annotated[
        str,
        typer.Option(
            help="connected, left_voicemail, no_answer, bad_number, not_interested, "
            "do_not_call, meeting_booked, call_back_later, qualified"
        ),
    ],
    notes: Annotated[str, typer.Option(help="Call notes")] = "",
    meeting_at: Annotated[
        str | None, typer.Option(help="meeting_booked: ISO time with offset")
    ] = None,
    call_back_at: Annotated[
        str | None, typer.Option(help="call_back_later: ISO time with offset")
    ] = None,
    budget: Annotated[str | None, typer.Option(help="qualified: budget")] = None,
    authority: Annotated[str | None, typer.Option(help="qualified: authority")] = None,
    need: Annotated[str | None, typer.Option(help="qualified: need")] = None,
    timeframe: Annotated[str | None, typer.Option(help="qualified: timeframe")] = None,
    event_id: Annotated[
        str | None, typer.Option(help="Idempotency key (default: a new UUID)")
    ] = None,
    talk_minutes: Annotated[
        float | None, typer.Option(help="How long you talked, in minutes (when known)")
    ] = None,
) -> None:
    """Record how a call went; the journey moves on accordingly."""
    from nurture.contracts import CompleteTask, Disposition, Qualification

    username = _known_rep(rep)
    try:
        chosen = Disposition(disposition)
    except ValueError:
        names = ", ".join(d.value for d in Disposition)
        raise fail(f"unknown disposition {disposition!r}; one of: {names}", 2) from None
    bant = {"budget": budget, "authority": authority, "need": need, "timeframe": timeframe}
    try:
        qualification = Qualification(**bant) if any(bant.values()) else None  # type: ignore[arg-type]  # a raw string: the model validates it
    except ValidationError as exc:
        raise fail(f"qualified needs all four BANT answers: {problems(exc)}", 2) from None
    meeting = aware_time(meeting_at, "--meeting-at")
    call_back = aware_time(call_back_at, "--call-back-at")

    async def work(desk: DeskService) -> str:
        task = await desk.task(lead_id)
        try:
            action = CompleteTask(
                task_id=task.task_id,
                rep=username,
                disposition=chosen,
                notes=notes,
                meeting_at=meeting,
                call_back_at=call_back,
                qualification=qualification,
                talk_seconds=None if talk_minutes is None else round(talk_minutes * 60),
                event_id=event_id or f"cli-{uuid.uuid4()}",
            )
        except ValidationError as exc:
            raise fail(problems(exc), 2) from None
        view = await desk.complete(lead_id, action)
        return view.task_id

    task_id = _run(work)
    console.print(f"{lead_id}: task {task_id} completed ({chosen.label.lower()}) by {username}")
