"""The initial schema (release 0.1): touches, inbox, assignments, desk reps, teams, round robin,
login failures.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "assignments",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "desk_login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_desk_login_failures_at", "desk_login_failures", ["at"], unique=False)
    op.create_index(
        "ix_desk_login_failures_client_at", "desk_login_failures", ["client", "at"], unique=False
    )
    op.create_index(
        "ix_desk_login_failures_username_at",
        "desk_login_failures",
        ["username", "at"],
        unique=False,
    )

    op.create_table(
        "desk_reps",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.String(length=200), nullable=False),
        sa.Column("manager", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_index(op.f("ix_desk_reps_queue"), "desk_reps", ["queue"], unique=False)

    op.create_table(
        "desk_round_robin",
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("last_username", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("queue"),
    )
    op.create_table(
        "desk_teams",
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manager", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("queue"),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("raw_kind", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=True),
        sa.Column("event_json", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("lead_id", sa.String(length=255), nullable=True),
        sa.Column("touch_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index(op.f("ix_inbox_lead_id"), "inbox", ["lead_id"], unique=False)
    op.create_index("ix_inbox_status_received", "inbox", ["status", "received_at"], unique=False)

    op.create_table(
        "touches",
        sa.Column("touch_id", sa.String(length=255), nullable=False),
        sa.Column("lead_id", sa.String(length=255), nullable=False),
        sa.Column("cadence", sa.String(length=255), nullable=False),
        sa.Column("cadence_version", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("touch_id"),
    )
    op.create_index(
        "ix_touches_channel_created", "touches", ["channel", "created_at"], unique=False
    )
    op.create_index("ix_touches_lead_created", "touches", ["lead_id", "created_at"], unique=False)
    op.create_index(op.f("ix_touches_lead_id"), "touches", ["lead_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_touches_lead_id"), table_name="touches")
    op.drop_index("ix_touches_lead_created", table_name="touches")
    op.drop_index("ix_touches_channel_created", table_name="touches")

    op.drop_table("touches")
    op.drop_index("ix_inbox_status_received", table_name="inbox")
    op.drop_index(op.f("ix_inbox_lead_id"), table_name="inbox")

    op.drop_table("inbox")
    op.drop_table("desk_teams")
    op.drop_table("desk_round_robin")
    op.drop_index(op.f("ix_desk_reps_queue"), table_name="desk_reps")

    op.drop_table("desk_reps")
    op.drop_index("ix_desk_login_failures_username_at", table_name="desk_login_failures")
    op.drop_index("ix_desk_login_failures_client_at", table_name="desk_login_failures")
    op.drop_index("ix_desk_login_failures_at", table_name="desk_login_failures")

    op.drop_table("desk_login_failures")
    op.drop_table("assignments")
