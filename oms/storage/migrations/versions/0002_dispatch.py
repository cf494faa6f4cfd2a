"""Dispatch: jobs, crew state, dispatch decisions and alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:36:57.184698
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=True),
        sa.Column("crew", sa.String(length=64), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("contact", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_job", ["job"], unique=False)

    op.create_table(
        "crew_state",
        sa.Column("crew", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("gps_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("jobs", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crew"),
    )
    op.create_table(
        "dispatch_decisions",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("crew", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("eta_s", sa.Float(), nullable=True),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("dispatch_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_dispatch_decisions_job", ["job"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("outage", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=True),
        sa.Column("customer", sa.String(length=64), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("area_class", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("voltage_kv", sa.Float(), nullable=True),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("crew", sa.String(length=64), nullable=True),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("breaches", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("hazard", sa.Boolean(), nullable=False),
        sa.Column("etr", sa.DateTime(timezone=True), nullable=True),
        sa.Column("etr_source", sa.String(length=8), nullable=True),
        sa.Column("closeout", sa.JSON(), nullable=True),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_outage", ["outage"], unique=False)
        batch_op.create_index("ix_jobs_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state")
        batch_op.drop_index("ix_jobs_outage")

    op.drop_table("jobs")
    with op.batch_alter_table("dispatch_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_dispatch_decisions_job")

    op.drop_table("dispatch_decisions")
    op.drop_table("crew_state")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_job")

    op.drop_table("alerts")
