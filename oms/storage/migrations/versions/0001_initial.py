"""Initial schema: network, intake, outages and engine state.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:32:57.417205
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crews",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("voltage_kv", sa.JSON(), nullable=False),
        sa.Column("shift_start", sa.String(length=5), nullable=True),
        sa.Column("shift_end", sa.String(length=5), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("gps_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("meter", sa.String(length=64), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("critical", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_meter", ["meter"], unique=False)
        batch_op.create_index("ix_customers_phone", ["phone"], unique=False)

    op.create_table(
        "device_states",
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("tripped", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("device"),
    )
    op.create_table(
        "documents",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "engine_state",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_customer", ["customer"], unique=False)
        batch_op.create_index("ix_events_time", ["time"], unique=False)

    op.create_table(
        "network_versions",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "outages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=True),
        sa.Column("customer", sa.String(length=64), nullable=True),
        sa.Column("section", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("customers_out", sa.Integer(), nullable=False),
        sa.Column("critical_out", sa.Integer(), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("etr", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("hazard", sa.Boolean(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=32), nullable=True),
        sa.Column("located_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outages", schema=None) as batch_op:
        batch_op.create_index("ix_outages_state", ["state"], unique=False)

    op.create_table(
        "ping_requests",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer", sa.String(length=64), nullable=False),
        sa.Column("meter", sa.String(length=64), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outage", sa.String(length=32), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("first_contact", sa.String(length=40), nullable=False),
        sa.Column("second_contact", sa.String(length=40), nullable=False),
        sa.Column("leader", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "zones",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("area_class", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outage_audit",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("outage", sa.String(length=32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outage"],
            ["outages.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("outage_audit", schema=None) as batch_op:
        batch_op.create_index("ix_outage_audit_outage", ["outage"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outage_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_outage_audit_outage")

    op.drop_table("outage_audit")
    op.drop_table("zones")
    op.drop_table("units")
    op.drop_table("ping_requests")
    with op.batch_alter_table("outages", schema=None) as batch_op:
        batch_op.drop_index("ix_outages_state")

    op.drop_table("outages")
    op.drop_table("network_versions")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_time")
        batch_op.drop_index("ix_events_customer")

    op.drop_table("events")
    op.drop_table("engine_state")
    op.drop_table("documents")
    op.drop_table("device_states")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_phone")
        batch_op.drop_index("ix_customers_meter")

    op.drop_table("customers")
    op.drop_table("crews")
