"""Damage assessment: reports from the field (``damage_reports``) and their photos.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-12 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "damage_reports",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("outage", sa.String(32)),
        sa.Column("time", _TZ, nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
    )
    op.create_index("ix_damage_reports_outage", "damage_reports", ["outage"])
    op.create_table(
        "photos",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("username", sa.String(64)),
        sa.Column("uploaded_at", _TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("photos")
    op.drop_index("ix_damage_reports_outage", "damage_reports")
    op.drop_table("damage_reports")
