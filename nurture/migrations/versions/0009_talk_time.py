"""Call talk time, and counts that keep the reports fast on a million-row journey log.

- ``journey_log.talk_seconds``: a completed call task's recorded talk time;
- ``journey_leads.connects / timed_connects / talk_seconds``: per lead, the calls where a person
  answered, those with a recorded talk time, and the talk time summed (the money report prices
  rep time from the summary alone);
- ``ix_journey_log_lead_kind`` replaces ``ix_journey_log_lead_at``: a lead's rows of one kind;
- ``journey_counts``: milestones counted per UTC day, cadence, version, segment, kind, step,
  channel, variant, reason and rep; ``journey_spans``: each call task's time to first attempt.

Existing rows are counted from the log here; from then on they are kept current in the same
transaction as the log rows (nurture/journeylog/rollup.py).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

CONNECTS = ("connected", "meeting_booked", "qualified", "not_interested", "call_back_later")
COUNTED = (
    "touch_sent",
    "event",
    "task_created",
    "task_assigned",
    "task_claimed",
    "task_completed",
    "task_overdue",
    "handoff_assigned",
    "handoff_escalated",
    "handoff_accepted",
    "handoff_declined",
    "sla_met",
    "sla_breached",
)
KEYS = ("cadence", "version", "segment", "kind", "step", "channel", "variant", "reason", "rep")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("journey_log", sa.Column("talk_seconds", sa.Integer(), nullable=True))
    # a lead's milestones of one kind (the attribution reads sales-ready leads' touches)
    op.drop_index("ix_journey_log_lead_at", table_name="journey_log")
    op.create_index("ix_journey_log_lead_kind", "journey_log", ["lead_id", "kind", "at"])
    with op.batch_alter_table("journey_leads") as batch:
        for name in ("connects", "timed_connects", "talk_seconds"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "journey_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cadence", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("rep", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("talk_seconds", sa.Integer(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", *KEYS),
    )
    op.create_table(
        "journey_spans",
        sa.Column("touch_id", sa.String(length=300), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cadence", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("rep", sa.String(length=64), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("touch_id"),
    )
    _backfill()


def _backfill() -> None:
    """Count the rows already in the log (the same figures rollup.fold keeps from now on)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    day = "date(l.at)" if sqlite else "CAST(l.at AT TIME ZONE 'UTC' AS DATE)"
    op.execute(
        "UPDATE journey_leads SET connects = x.n FROM (SELECT lead_id, COUNT(*) AS n"
        " FROM journey_log WHERE kind = 'task_completed'"
        f" AND reason IN ({_quoted(CONNECTS)}) GROUP BY lead_id) AS x"
        " WHERE x.lead_id = journey_leads.lead_id"
    )
    # An overdue queue task is credited to its last assigned rep, else its queue.
    owner = (
        "COALESCE(l.rep, (SELECT o.rep FROM journey_log o WHERE o.touch_id = l.touch_id"
        " AND o.kind IN ('task_assigned', 'task_claimed') AND o.rep IS NOT NULL"
        " AND o.at <= l.at ORDER BY o.at DESC, o.id DESC LIMIT 1),"
        " (SELECT 'queue ' || COALESCE(c.reason, '—') FROM journey_log c"
        " WHERE c.touch_id = l.touch_id AND c.kind = 'task_created' LIMIT 1), '')"
    )
    keys = ", ".join(KEYS)
    op.execute(
        f"INSERT INTO journey_counts (day, {keys}, n, talk_seconds, timed)"
        f" SELECT d, {keys}, COUNT(*), COALESCE(SUM(talk_seconds), 0), COUNT(talk_seconds)"
        f" FROM (SELECT {day} AS d, l.cadence, l.version, COALESCE(l.segment, '') AS segment,"
        " l.kind, COALESCE(l.step, '') AS step, COALESCE(l.channel, '') AS channel,"
        " COALESCE(l.variant, '') AS variant, COALESCE(l.reason, '') AS reason,"
        f" CASE WHEN l.kind = 'task_overdue' THEN {owner} ELSE COALESCE(l.rep, '') END AS rep,"
        f" l.talk_seconds FROM journey_log l WHERE l.kind IN ({_quoted(COUNTED)})) AS x"
        f" GROUP BY d, {keys}"
    )
    seconds = (
        "ROUND((julianday(f.at) - julianday(c.at)) * 86400.0, 3)"
        if sqlite
        else "ROUND(EXTRACT(EPOCH FROM f.at - c.at), 3)"
    )
    first = day.replace("l.at", "f.at")
    op.execute(
        "INSERT INTO journey_spans (touch_id, day, cadence, version, segment, rep, seconds)"
        f" SELECT f.touch_id, {first}, f.cadence, f.version, COALESCE(f.segment, ''),"
        f" COALESCE(f.rep, '—'), {seconds} FROM"
        " (SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.touch_id ORDER BY l.at, l.id) AS nth"
        " FROM journey_log l WHERE l.kind = 'task_completed' AND l.touch_id IS NOT NULL) AS f"
        " JOIN journey_log c ON c.touch_id = f.touch_id AND c.kind = 'task_created'"
        " WHERE f.nth = 1 ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("journey_spans")
    op.drop_table("journey_counts")
    with op.batch_alter_table("journey_leads") as batch:
        for name in ("talk_seconds", "timed_connects", "connects"):
            batch.drop_column(name)
    op.drop_index("ix_journey_log_lead_kind", table_name="journey_log")
    op.create_index("ix_journey_log_lead_at", "journey_log", ["lead_id", "at"])
    with op.batch_alter_table("journey_log") as batch:
        batch.drop_column("talk_seconds")
