"""Migration runs started from the web page: each runs in the background of the web process
(:func:`nurture.leads.migrate.migrate_cadence`, as the CLI does) and writes its progress to the
store every second (:mod:`nurture.leads.migrate_store`), where its page reads it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import UTC, datetime

from temporalio.client import Client

from nurture.contracts import MigrateLead
from nurture.leads.migrate import migrate_cadence
from nurture.leads.migrate_store import MigrationRun, MigrationRunStore
from nurture.store import Store
from nurture.temporal.calls import LeadError

log = logging.getLogger(__name__)

#: Seconds between two writes of a run's progress.
WRITE_EVERY = 1.0


class MigrationRuns:
    """Start runs in the background (at most one migration per cadence at a time), find runs."""

    def __init__(self, store: Store) -> None:
        self.saved = MigrationRunStore(store)
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, run_id: str) -> MigrationRun | None:
        """A run by its id (from any web process)."""
        return self.saved.get(run_id)

    def of_cadence(self, name: str) -> list[MigrationRun]:
        """The latest runs of a cadence, newest first."""
        return self.saved.of_cadence(name)

    def busy(self, name: str) -> MigrationRun | None:
        """A migration (not a dry run) still running on cadence ``name``."""
        return next((r for r in self.of_cadence(name) if r.running and not r.dry_run), None)

    async def start(
        self,
        client: Client,
        action: MigrateLead,
        segment: str | None,
        dry_run: bool,
        by: str,
    ) -> MigrationRun:
        """Start a run in the background; ``LeadError`` (409) if a migration of the same
        cadence still runs."""
        name = action.cadence.name
        if not dry_run and (other := await asyncio.to_thread(self.busy, name)) is not None:
            raise LeadError(
                f"a migration of {other.name} to v{other.action.cadence.version} is still"
                f" running (started by {other.by}); wait for it to finish",
                409,
            )
        run = MigrationRun(
            id=secrets.token_urlsafe(12), action=action, segment=segment, dry_run=dry_run, by=by
        )
        await asyncio.to_thread(self.saved.forget_old)
        await asyncio.to_thread(self.saved.save, run)
        task = asyncio.get_running_loop().create_task(self._run(run, client))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def _run(self, run: MigrationRun, client: Client) -> None:
        done = asyncio.Event()
        writer = asyncio.get_running_loop().create_task(self._write_progress(run, done))
        try:
            await _carry_out(run, client)
        finally:
            done.set()
            await writer  # one write at a time: the last one is the result
            await asyncio.to_thread(self.saved.save, run)
            _log_done(run)

    async def _write_progress(self, run: MigrationRun, done: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), WRITE_EVERY)
            if done.is_set():
                return
            try:
                await asyncio.to_thread(self.saved.save, run)
            except Exception:  # the run goes on; the next write may succeed
                log.exception("could not write the progress of migration run %s", run.id)


async def _carry_out(run: MigrationRun, client: Client) -> None:
    """The run itself; errors end it with words on its page."""
    try:
        run.plans, run.report = await migrate_cadence(
            client, run.action, run.where, run.dry_run, run
        )
        run.plans.sort(key=lambda p: p.lead_id)
    except LeadError as exc:
        run.error = exc.message
    except Exception as exc:  # the page must say it failed rather than poll forever
        log.exception("migration run %s on %s failed", run.id, run.name)
        run.error = f"the run failed: {type(exc).__name__}: {exc}"
    finally:
        run.finished = datetime.now(UTC)


def _log_done(run: MigrationRun) -> None:
    log.info(
        "%s %s of %s to v%d by %s: %d lead(s) read, %d moved, %d refused%s",
        "dry run" if run.dry_run else "migration",
        run.id,
        run.name,
        run.action.cadence.version,
        run.by,
        len(run.plans),
        len(run.report.moved) if run.report else 0,
        len(run.refused),
        f", error: {run.error}" if run.error else "",
    )
