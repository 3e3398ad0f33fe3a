"""Every table of the store, in one metadata: what the migrations describe.

Importing this module imports each domain's table definitions (they all share
:class:`nurture.store.Base`), so ``Base.metadata`` is complete.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from nurture.channels.email_attempts import EmailAttemptRow
from nurture.inbox.store import InboxRecord
from nurture.journeylog.rollup import JourneyCountRow, JourneySpanRow
from nurture.journeylog.store import JourneyLeadRow, JourneyLogRow
from nurture.leads.migrate_store import MigrationRunRow
from nurture.roster.assignments import AssignmentRecord
from nurture.roster.reps import RepRow, RoundRobinRow, TeamRow
from nurture.store import Base, TouchRecord
from nurture.web.logins import LoginFailureRow

__all__ = ["ALL", "metadata"]

#: Each mapped table class, for the record.
ALL: tuple[type[Base], ...] = (
    TouchRecord,
    InboxRecord,
    AssignmentRecord,
    TeamRow,
    RepRow,
    RoundRobinRow,
    LoginFailureRow,
    JourneyLogRow,
    EmailAttemptRow,
    JourneyLeadRow,
    MigrationRunRow,
    JourneyCountRow,
    JourneySpanRow,
)


def metadata() -> MetaData:
    """The metadata of every table."""
    return Base.metadata
