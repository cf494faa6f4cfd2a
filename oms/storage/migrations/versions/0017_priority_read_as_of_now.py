"""Jobs: the priority without its age, and how it ages, so it is read as of now.

A waiting job's priority grew by a step every 10 minutes, and each step
rewrote the job and sent it to every dispatcher again (in a large storm,
more than 40 % of the job writes). Now the row keeps the priority
without its age (``priority_base``) and the rule it ages by; readers
find the priority as of their time. Rows from before keep a null base
(and their stored priority): the engine gives an open job one from its
outage's figures the first time it looks at it after it starts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("priority_base", sa.Float()))
        batch.add_column(
            sa.Column("age_per_10_min", sa.Float(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("age_cap_min", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("age_cap_min")
        batch.drop_column("age_per_10_min")
        batch.drop_column("priority_base")
