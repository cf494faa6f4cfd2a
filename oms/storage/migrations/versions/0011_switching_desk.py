"""The switching desk: switching orders, safety documents, planned outages
(``switching_documents``) and the field's tags, grounds, jumpers and cuts
(``field_changes``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "switching_documents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("source_event", sa.String(128)),
        sa.Column("updated_at", _TZ, nullable=False),
    )
    op.create_index("ix_switching_documents_state", "switching_documents", ["state"])
    op.create_table(
        "field_changes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("placed_at", _TZ, nullable=False),
        sa.Column("removed_at", _TZ),
    )
    op.create_index("ix_field_changes_active", "field_changes", ["active"])


def downgrade() -> None:
    op.drop_index("ix_field_changes_active", "field_changes")
    op.drop_table("field_changes")
    op.drop_index("ix_switching_documents_state", "switching_documents")
    op.drop_table("switching_documents")
