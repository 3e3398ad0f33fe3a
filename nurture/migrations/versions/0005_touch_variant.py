"""A/B variants: the touch ledger records which variant of a step a lead got (``touches.variant``),
so engagement is attributed per variant.

Revision ID: 0005
Revises: 0004 (email attempts)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("touches") as table:
        table.add_column(sa.Column("variant", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("touches") as table:
        table.drop_column("variant")
