"""Outages revealed by the restoration of another (nested outages, leftovers).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outages") as batch:
        batch.add_column(sa.Column("revealed_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outages") as batch:
        batch.drop_column("revealed_by")
