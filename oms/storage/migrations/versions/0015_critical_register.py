"""The critical-customer register's edits and the calls made to customers.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "critical_register",
        sa.Column("customer", sa.String(64), primary_key=True),
        sa.Column("critical", sa.String(64)),
        sa.Column("emergency_plan", sa.Text()),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("event", sa.String(128), nullable=False),
    )
    op.create_table(
        "customer_contacts",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("customer", sa.String(64), nullable=False),
        sa.Column("outage", sa.String(32)),
        sa.Column("time", _TZ, nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("note", sa.Text()),
        sa.Column("username", sa.String(64), nullable=False),
    )
    op.create_index("ix_customer_contacts_customer", "customer_contacts", ["customer", "time"])


def downgrade() -> None:
    op.drop_index("ix_customer_contacts_customer", "customer_contacts")
    op.drop_table("customer_contacts")
    op.drop_table("critical_register")
