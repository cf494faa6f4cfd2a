"""Server-side sign-in sessions, and who handed each intake request over.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("remote", sa.String(64)),
    )
    op.create_index("ix_sessions_username", "sessions", ["username"])
    with op.batch_alter_table("intake") as batch:
        batch.add_column(sa.Column("sender", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake") as batch:
        batch.drop_column("sender")
    op.drop_index("ix_sessions_username", "sessions")
    op.drop_table("sessions")
