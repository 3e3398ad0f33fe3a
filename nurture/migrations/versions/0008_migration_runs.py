"""The migration runs of the migrate page (``migration_runs``): their input, progress and result,
so that any web process shows them.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "migration_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("cadence", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("started", stamp, nullable=False),
        sa.Column("updated", stamp, nullable=False),
        sa.Column("finished", stamp, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_migration_runs_cadence_started", "migration_runs", ["cadence", "started"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_migration_runs_cadence_started", table_name="migration_runs")
    op.drop_table("migration_runs")
