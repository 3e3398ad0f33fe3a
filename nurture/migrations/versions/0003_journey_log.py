"""The journey log: every milestone of every journey, once (``journey_log``).

Revision ID: 0003_journey_log
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "journey_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("lead_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cadence", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("variant", sa.String(length=200), nullable=True),
        sa.Column("touch_id", sa.String(length=300), nullable=True),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("rep", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_journey_log_kind_at", "journey_log", ["kind", "at"], unique=False)
    op.create_index("ix_journey_log_lead_at", "journey_log", ["lead_id", "at"], unique=False)
    op.create_index("ix_journey_log_touch", "journey_log", ["touch_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_journey_log_touch", table_name="journey_log")
    op.drop_index("ix_journey_log_lead_at", table_name="journey_log")
    op.drop_index("ix_journey_log_kind_at", table_name="journey_log")
    op.drop_table("journey_log")
