"""The journey log's per-lead summary (``journey_leads``): when each lead first reached each
funnel stage, its cadence at enrolment, touches per channel — kept current as milestones arrive;
and an index the steps report counts from (``ix_journey_log_counts``).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "journey_leads",
        sa.Column("lead_id", sa.String(length=255), nullable=False),
        sa.Column("cadence", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        *(
            sa.Column(f"{name}_at", stamp, nullable=True)
            for name in (
                "enrolled",
                "touched",
                "engaged",
                "sales_ready",
                "accepted",
                "opportunity",
                "won",
                "lost",
                "recycled",
                "opted_out",
                "finished",
            )
        ),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "touches",
                "emails",
                "sms",
                "voicemails",
                "letters",
                "calls",
                "tasks_worked",
            )
        ),
        sa.PrimaryKeyConstraint("lead_id"),
    )
    op.create_index("ix_journey_leads_enrolled", "journey_leads", ["enrolled_at"], unique=False)
    op.create_index(
        "ix_journey_log_counts",
        "journey_log",
        ["kind", "step", "channel", "variant", "reason"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_journey_log_counts", table_name="journey_log")
    op.drop_index("ix_journey_leads_enrolled", table_name="journey_leads")
    op.drop_table("journey_leads")
