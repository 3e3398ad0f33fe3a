"""The ``nurture`` command: run the product, enrol leads, validate cadences, look at journeys."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nurture.commands.cadence import cadence_app
from nurture.commands.db import db_app, upgrade_store
from nurture.commands.temporal import temporal_app
from nurture.console import bold, console, err, tag
from nurture.desk.cli import reps_app, tasks_app
from nurture.inbox.cli import app as inbox_app
from nurture.journeylog.cli import report_command
from nurture.leads import cadence_cli as changes_cli
from nurture.leads.cli import register as register_pause_commands
from nurture.planning import cli as planning_cli
from nurture.sales.cli import handoff_app
from nurture.settings import ROOT, Settings, get_settings

app = typer.Typer(help="Multi-touch lead nurture cadences on Temporal.", no_args_is_help=True)
lead_app = typer.Typer(help="Look at one lead's journey.", no_args_is_help=True)
app.add_typer(cadence_app, name="cadence")
app.add_typer(lead_app, name="lead")
app.add_typer(db_app, name="db")
app.add_typer(temporal_app, name="temporal")
app.add_typer(inbox_app, name="inbox")
app.add_typer(reps_app, name="reps")
app.add_typer(tasks_app, name="tasks")
app.add_typer(handoff_app, name="handoff")
app.command("report")(report_command)
changes_cli.register(cadence_app)
register_pause_commands(lead_app, cadence_app)  # lead/cadence pause and resume
cadence_app.command("preview")(planning_cli.preview_command)
app.command("forecast")(planning_cli.forecast_command)


# ---------------------------------------------------------------- cadences


# ---------------------------------------------------------------- enrolment


async def _enroll(settings: Settings, csv_path: Path, cadence_name: str | None) -> bool:
    from nurture.cadence.model import cadence_files, find_cadence, load_cadence
    from nurture.leads.enrollment import enroll_many, load_rules, read_leads
    from nurture.temporal.client import connect

    leads, errors = read_leads(csv_path)
    for error in errors:
        err.print(tag("rejected", "red", f"{csv_path}:{error}"))
    cadence = find_cadence(settings.cadences_dir, cadence_name) if cadence_name else None
    cadences = [load_cadence(p) for p in cadence_files(settings.cadences_dir)]
    client = await connect(settings)
    with Progress(
        TextColumn("enrolling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("enroll", total=len(leads))
        report = await enroll_many(
            client,
            leads,
            cadences,
            settings.task_queue,
            cadence=cadence,
            on_done=lambda: progress.advance(task),
            rules=load_rules(settings.cadences_dir),
        )
    for error in report.rejected:
        err.print(tag("rejected", "red", f"{csv_path}:{error}"))
    console.print(
        f"{len(report.started)} enrolled, {len(report.already_enrolled)} already "
        f"enrolled, {len(errors) + len(report.rejected)} rejected"
    )
    return not (errors or report.rejected)


@app.command()
def enroll(
    csv_path: Annotated[Path, typer.Argument(help="Leads CSV (header: id,email,phone,...)")],
    cadence: Annotated[str | None, typer.Option(help="Cadence name (default: by segment)")] = None,
) -> None:
    """Enrol leads from a CSV file; the same lead twice is one journey."""
    ok = asyncio.run(_enroll(get_settings(), csv_path, cadence))
    if not ok:
        raise typer.Exit(1)


# ---------------------------------------------------------------- inspecting


@app.command()
def outbox(
    lead: Annotated[str | None, typer.Option(help="Only this lead")] = None,
    channel: Annotated[
        str | None, typer.Option(help="email, call, voicemail, sms, direct_mail")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 20,
) -> None:
    """List touches in the local outbox."""
    from nurture.store import Store

    store = Store.from_settings(get_settings())
    table = Table("sent (UTC)", "lead", "channel", "touch", "to")
    for row in store.list_touches(lead_id=lead, channel=channel, limit=limit):
        table.add_row(
            f"{row.created_at:%Y-%m-%d %H:%M:%S}",
            row.lead_id,
            row.channel,
            row.subject or row.summary,
            row.recipient or "",
        )
    console.print(table)
    console.print(f"{store.count_touches(lead_id=lead, channel=channel)} touch(es) in all")


async def _journey(settings: Settings, lead_id: str) -> None:
    from nurture.journey.state import Journey
    from nurture.temporal import calls
    from nurture.temporal.client import connect

    client = await connect(settings)
    journey: Journey = await calls.query(client, lead_id, "state", Journey)
    console.print(
        bold(
            "",
            journey.lead.id,
            f" {journey.lead.full_name} · {journey.lead.company}"
            f" — {journey.cadence.name} v{journey.cadence.version}, cycle "
            f"{journey.cycle}/{journey.cadence.cycles.count}, stage ",
            journey.stage.value,
            f", score {journey.score}",
        )
    )
    table = Table("when (UTC)", "cycle", "what")
    for entry in journey.timeline:
        table.add_row(f"{entry.at:%Y-%m-%d %H:%M}", str(entry.cycle), entry.text)
    console.print(table)
    if journey.wake_reason:
        console.print(f"next: {journey.wake_reason}")


@lead_app.command("show")
def lead_show(lead_id: str) -> None:
    """Show a lead's journey: every touch, wait, event and stage change."""
    asyncio.run(_journey(get_settings(), lead_id))


async def _send_event(
    settings: Settings,
    lead_id: str,
    kind: str,
    touch: str | None,
    points: int | None,
    data: dict[str, str | int | float | bool | None],
) -> str:
    """Accept the event into the inbox (so nothing is lost), then deliver it; its status."""
    from nurture.events import EngagementEvent, EventKind
    from nurture.inbox.delivery import Deliverer, TemporalLink
    from nurture.inbox.store import Inbox, InboxItem
    from nurture.store import Store

    event = EngagementEvent(
        id=f"cli-{uuid.uuid4()}",
        kind=EventKind(kind),
        lead_id=lead_id,
        at=datetime.now(UTC),
        touch_id=touch,
        points=points,
        data=data,
    )
    inbox = Inbox(Store.from_settings(settings))
    inbox.accept([InboxItem.of(event, "cli")])
    report = await Deliverer(inbox, TemporalLink(settings)).deliver([event.id])
    if report.delivered:
        return "delivered"
    if report.unknown_lead:
        return f"kept in the inbox: no running journey for lead {lead_id}"
    return f"kept in the inbox, to be delivered later: {report.error or 'Temporal unreachable'}"


@app.command()
def event(
    lead_id: str,
    kind: Annotated[str, typer.Argument(help="e.g. email.open, call.meeting_booked")],
    touch: Annotated[str | None, typer.Option(help="The touch id it answers")] = None,
    points: Annotated[int | None, typer.Option(help="Score change (score.adjusted)")] = None,
    data: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE, repeatable (e.g. page=/pricing)")
    ] = None,
) -> None:
    """Record an engagement event for a lead (through the inbox: never lost)."""
    from nurture.events import EventKind

    if kind not in {k.value for k in EventKind}:
        err.print(f"unknown event kind {kind!r}; one of: {', '.join(k.value for k in EventKind)}")
        raise typer.Exit(2)
    pairs = [item.partition("=") for item in data or []]
    if any(not sep or not key for key, sep, _ in pairs):
        err.print("--data takes KEY=VALUE")
        raise typer.Exit(2)
    fields: dict[str, str | int | float | bool | None] = {k: v for k, _, v in pairs}
    status = asyncio.run(_send_event(get_settings(), lead_id, kind, touch, points, fields))
    console.print(f"{kind} for {lead_id}: {status}")
    if status != "delivered":
        raise typer.Exit(1)


# ---------------------------------------------------------------- the store's schema


def main() -> None:
    """The ``nurture`` command: the product's errors (not found, unreachable, refused, a store at
    another schema revision) end it with one line and an exit code, never a traceback; it exits
    right after its output even if the Temporal SDK's native threads linger."""
    from nurture.errors import explain

    code = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # anything else is a bug: its traceback, exit 1
        found = explain(exc)
        if found is None:
            raise
        lines, code = found
        for line in lines:
            err.print(tag("error", "red", line))
    _exit_now(code)


def _exit_now(code: int) -> None:
    """Flush the output and end the process (no wait on lingering native threads)."""
    import logging

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)


# ---------------------------------------------------------------- running


def _check_providers(settings: Settings) -> None:
    """Stop with every production and provider setting problem listed (before anything
    starts)."""
    from nurture.channels.registry import ConfigError, check_config
    from nurture.settings import ProductionConfigError

    try:
        settings.check_production()
        check_config(settings)
    except (ConfigError, ProductionConfigError) as exc:
        err.print(tag("error", "red", exc))
        raise typer.Exit(2) from None


def _check_production(settings: Settings) -> None:
    """Stop with every missing production setting listed."""
    from nurture.settings import ProductionConfigError

    try:
        settings.check_production()
    except ProductionConfigError as exc:
        err.print(tag("error", "red", exc))
        raise typer.Exit(2) from None


@app.command()
def worker() -> None:
    """Run a worker (lead workflows and touch activities)."""
    import worker as worker_module

    _check_providers(get_settings())
    asyncio.run(worker_module.main())


@app.command()
def web(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Run the web app (outbox viewer, webhooks, call desk)."""
    import uvicorn

    from nurture.store import Store

    settings = get_settings()
    _check_production(settings)
    Store.from_settings(settings).close()  # migrated when asked, else refuses clearly
    asyncio.run(_require_search_attributes(settings))
    json_logs = settings.log_format == "json"
    if json_logs:
        from nurture.logs import configure_logging

        configure_logging(settings)
    from nurture import listeners
    from nurture.app import create_app

    web_servers = listeners.servers(
        create_app(settings),
        settings,
        host=host,
        port=port,
        log_config=None if json_logs else uvicorn.config.LOGGING_CONFIG,
    )
    asyncio.run(listeners.serve(web_servers))


async def _require_search_attributes(settings: Settings) -> None:
    """Refuse to start (with the fix) when the namespace lacks a search attribute."""
    from nurture.temporal.client import connect
    from nurture.temporal.setup import check_search_attributes

    await check_search_attributes(await connect(settings))


def _listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def _demo_roster(settings: Settings) -> None:
    """Load the example reps and teams on a first demo run, so call tasks find people."""
    from nurture.roster.file import ROSTER_FILE, load_if_empty
    from nurture.roster.reps import RepDirectory
    from nurture.store import Store

    store = Store.from_settings(settings)
    try:
        report = load_if_empty(RepDirectory(store), settings.cadences_dir)
    finally:
        store.close()
    if report is not None:
        console.print(
            f"call desk: {len(report.added)} people in {report.teams} teams loaded from "
            f"{settings.cadences_dir / ROSTER_FILE}"
        )


#: How long `nurture up` waits for the worker and the web app to stop.
STOP_TIMEOUT = 30.0


async def _run_all(settings: Settings, demo: Path | None) -> None:
    from nurture import listeners
    from nurture.app import create_app
    from nurture.leads import demo as demo_tour
    from nurture.temporal.client import connect
    from nurture.temporal.setup import check_search_attributes
    from worker import build_worker

    client = await connect(settings)
    await check_search_attributes(client)
    web_servers = listeners.servers(create_app(settings), settings, log_level="warning")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(stop_signal, stop.set)
    worker = build_worker(client, settings)
    worker_task = asyncio.create_task(worker.run())
    web_task = asyncio.create_task(listeners.serve(web_servers))
    if demo is not None:
        _demo_roster(settings)
        await _enroll(settings, demo, None)
        demo_tour.start_in_background(client, settings)
    console.print(
        "\n",
        tag("nurture is running", "bold green"),
        "\n"
        f"  Temporal Web UI   http://127.0.0.1:{settings.ui_port}/namespaces/"
        f"{settings.temporal_namespace}/workflows  (each lead is a workflow lead-<id>)\n"
        f"  Outbox (web app)  http://{settings.web_host}:{settings.web_port}/outbox\n"
        f"  Call desk         http://{settings.web_host}:{settings.web_port}/desk"
        f"  (to log in: nurture reps password USERNAME, e.g. alex.rep)\n"
        + (
            f"  Webhooks, /events http://{settings.web_host}:{settings.webhook_port}\n"
            if settings.webhook_port is not None
            else ""
        )
        + "  A lead's journey  nurture lead show <id>\n"
        "Press Ctrl-C to stop.",
        sep="",
    )
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({worker_task, web_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    # SIGTERM/SIGHUP (or one part ending): stop the web app and the worker, then return.
    for server in web_servers:
        server.should_exit = True
    if not worker_task.done():
        await asyncio.wait_for(
            asyncio.gather(*(part.shutdown() for part in worker.workers)), STOP_TIMEOUT
        )
    stopped.cancel()
    await asyncio.wait_for(asyncio.gather(worker_task, web_task), STOP_TIMEOUT)
    console.print("stopping")


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="Enrol the demo leads (examples/leads.csv)")] = True,
) -> None:
    """Run everything locally: Temporal dev server + Web UI, worker, web app, demo leads."""
    from nurture.temporal.client import start_dev_server

    settings = get_settings()
    _check_providers(settings)
    upgrade_store(settings)
    server: subprocess.Popen[bytes] | None = None
    # SIGTERM (a service manager, `kill`) and SIGHUP (the terminal closed) stop it as Ctrl-C does,
    # so the dev server below is stopped too instead of left holding its ports.
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, signal.default_int_handler)
    try:
        if _listening(settings.temporal_address):
            console.print(f"using the Temporal server already at {settings.temporal_address}")
        else:
            console.print(f"starting the Temporal dev server (data in {settings.data_dir})")
            server = start_dev_server(settings)
        asyncio.run(_run_all(settings, ROOT / "examples" / "leads.csv" if demo else None))
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        if server is not None:
            _stop_process(server)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a child, then kill it if it has not ended within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
