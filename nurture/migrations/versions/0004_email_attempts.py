"""Table ``email_attempts``: each request an email touch made to SendGrid (its scheduled-send
batch), so an unclear send is cancelled and resent, or looked up, instead of left unknown.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "email_attempts",
        sa.Column("touch_id", sa.String(length=255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=255), nullable=True),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("touch_id", "attempt"),
    )
    op.create_index(
        "ix_email_attempts_status_send_at", "email_attempts", ["status", "send_at"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_email_attempts_status_send_at", table_name="email_attempts")
    op.drop_table("email_attempts")
