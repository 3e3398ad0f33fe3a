"""A person holds several roles: ``desk_reps.role`` keeps its name and holds a comma-separated list
("rep,sales"), so it grows from 16 to 100 characters.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("desk_reps") as table:
        table.alter_column("role", existing_type=sa.String(length=16), type_=sa.String(length=100))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("desk_reps") as table:
        table.alter_column("role", existing_type=sa.String(length=100), type_=sa.String(length=16))
