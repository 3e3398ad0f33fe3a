"""Migration runs started from the web page: each runs in the background of the web process
(:func:`nurture.leads.migrate.migrate_cadence`, as the CLI does) while its page polls the
progress; the latest runs are kept in memory for their pages."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.client import Client

from nurture.contracts import MigrateLead
from nurture.journey.migrate import MovePlan
from nurture.leads.migrate import MigrationReport, migrate_cadence, refusals
from nurture.temporal.calls import LeadError

log = logging.getLogger(__name__)

#: Finished runs kept for their pages (the oldest go first).
KEEP = 30


@dataclass
class MigrationRun:
    """One dry run or migration: its input, where it is, and its result."""

    id: str
    action: MigrateLead
    segment: str | None
    dry_run: bool
    by: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    label: str = "Listing the running leads"
    done: int = 0
    total: int = 0
    plans: list[MovePlan] = field(default_factory=list)
    report: MigrationReport | None = None
    error: str | None = None
    finished: datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def stage(self, label: str, total: int) -> None:
        """A new stage of the run (``nurture.leads.migrate.Progress``)."""
        self.label, self.total, self.done = label, total, 0

    def advance(self) -> None:
        """One more lead read or moved."""
        self.done += 1

    @property
    def running(self) -> bool:
        """True until the run has finished (or failed)."""
        return self.finished is None

    @property
    def name(self) -> str:
        """The cadence's name."""
        return self.action.cadence.name

    @property
    def where(self) -> str | None:
        """The visibility filter of the segment, if one was chosen."""
        return f"Segment = '{self.segment}'" if self.segment else None

    @property
    def movable(self) -> list[MovePlan]:
        """The leads the dry run found able to move."""
        return [p for p in self.plans if p.refused is None]

    @property
    def refused(self) -> dict[str, str]:
        """Every refused lead and why (the dry run's and the updates' refusals)."""
        if self.report is not None:
            return refusals(self.plans, self.report)
        return {p.lead_id: p.refused for p in self.plans if p.refused is not None}

    async def run(self, client: Client) -> None:
        """Carry out the run; errors end it with words on its page."""
        try:
            self.plans, self.report = await migrate_cadence(
                client, self.action, self.where, self.dry_run, self
            )
            self.plans.sort(key=lambda p: p.lead_id)
        except LeadError as exc:
            self.error = exc.message
        except Exception as exc:  # the page must say it failed rather than poll forever
            log.exception("migration run %s on %s failed", self.id, self.name)
            self.error = f"the run failed: {type(exc).__name__}: {exc}"
        finally:
            self.finished = datetime.now(UTC)
            what = "dry run" if self.dry_run else "migration"
            moved = len(self.report.moved) if self.report else 0
            log.info(
                "%s %s of %s to v%d by %s: %d lead(s) read, %d moved%s",
                what,
                self.id,
                self.name,
                self.action.cadence.version,
                self.by,
                len(self.plans),
                moved,
                f", error: {self.error}" if self.error else "",
            )


class MigrationRuns:
    """The web process's runs: start one, find one, and at most one migration per cadence."""

    def __init__(self) -> None:
        self.runs: dict[str, MigrationRun] = {}

    def get(self, run_id: str) -> MigrationRun | None:
        """A run by its id."""
        return self.runs.get(run_id)

    def busy(self, name: str) -> MigrationRun | None:
        """A migration (not a dry run) still running on cadence ``name``."""
        return next(
            (r for r in self.runs.values() if r.name == name and r.running and not r.dry_run),
            None,
        )

    def start(
        self,
        client: Client,
        action: MigrateLead,
        segment: str | None,
        dry_run: bool,
        by: str,
    ) -> MigrationRun:
        """Start a run in the background; ``LeadError`` (409) if a migration of the same
        cadence still runs."""
        if not dry_run and (other := self.busy(action.cadence.name)) is not None:
            raise LeadError(
                f"a migration of {other.name} to v{other.action.cadence.version} is still"
                f" running (started by {other.by}); wait for it to finish",
                409,
            )
        run = MigrationRun(
            id=secrets.token_urlsafe(9), action=action, segment=segment, dry_run=dry_run, by=by
        )
        self._forget_old()
        self.runs[run.id] = run
        run.task = asyncio.get_running_loop().create_task(run.run(client))
        return run

    def _forget_old(self) -> None:
        finished = sorted((r for r in self.runs.values() if not r.running), key=lambda r: r.started)
        for old in finished[: max(0, len(finished) - KEEP + 1)]:
            del self.runs[old.id]
