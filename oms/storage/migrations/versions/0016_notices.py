"""Notices: an outage's messages with their recipients, fanned out after the batch.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("outage", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("fanned_out_at", _TZ),
    )
    op.create_index("ix_notices_pending", "notices", ["fanned_out_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_pending", "notices")
    op.drop_table("notices")
