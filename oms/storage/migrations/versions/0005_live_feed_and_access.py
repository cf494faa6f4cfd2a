"""The live feed of changes, the intake queue, users, handheld devices and the access audit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("time", _TZ, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "intake",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("submitted_at", _TZ, nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("done_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_intake_status", "intake", ["status"])
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("crew", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.Column("last_seen", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["username"], ["users.username"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("time", _TZ, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=32), nullable=True),
        sa.Column("remote", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_audit_time", "audit", ["time"])
    op.create_index("ix_audit_username", "audit", ["username"])


def downgrade() -> None:
    op.drop_index("ix_audit_username", table_name="audit")
    op.drop_index("ix_audit_time", table_name="audit")
    op.drop_table("audit")
    op.drop_table("devices")
    op.drop_table("users")
    op.drop_index("ix_intake_status", table_name="intake")
    op.drop_table("intake")
    op.drop_table("changes")
