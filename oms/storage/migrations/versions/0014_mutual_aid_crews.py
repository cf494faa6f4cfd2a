"""Mutual-aid and contractor crews: company, people, vehicles, home base, arrival, check-in.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-13 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("crews") as batch:
        batch.add_column(sa.Column("company", sa.String(128), nullable=True))
        batch.add_column(sa.Column("size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("vehicles", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("home_base", sa.Text(), nullable=True))
        batch.add_column(sa.Column("arrival", _TZ, nullable=True))
    with op.batch_alter_table("crew_state") as batch:
        batch.add_column(sa.Column("checked_in", _TZ, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crew_state") as batch:
        batch.drop_column("checked_in")
    with op.batch_alter_table("crews") as batch:
        for column in ("arrival", "home_base", "vehicles", "size", "company"):
            batch.drop_column(column)
