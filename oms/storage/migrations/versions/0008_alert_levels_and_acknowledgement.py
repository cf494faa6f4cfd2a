"""Alerts: three alarm levels, the job's zone, and who acknowledged each alert when.

Levels stored before (``warning_50``, ``warning_75``, ``alarm``, ``critical``,
``breach`` of any target) are mapped to the documented ones
(``oms.engine.alerts``): a warning before a target, the target reached, a
breach of the standard (arrival or restoration), info for the rest. Alerts
of jobs take their job's zone. A downgrade keeps the mapped levels.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_STANDARD = ("arrival", "restoration")


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("zone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("acknowledged_by", sa.String(64), nullable=True))
    op.create_index("ix_alerts_acknowledged_at", "alerts", ["acknowledged_at"])
    alerts = sa.table(
        "alerts",
        sa.column("seq", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("level", sa.String),
        sa.column("job", sa.String),
        sa.column("zone", sa.String),
        sa.column("detail", sa.JSON),
    )
    jobs = sa.table("jobs", sa.column("id", sa.String), sa.column("zone", sa.String))
    op.execute(alerts.update().where(alerts.c.level.like("warning_%")).values(level="warning"))
    op.execute(alerts.update().where(alerts.c.kind == "capacity").values(level="warning"))
    op.execute(alerts.update().where(alerts.c.kind == "security").values(level="breach"))
    op.execute(
        alerts.update()
        .where(alerts.c.kind.in_(("etr_passed", "ack_timeout", "escalation")))
        .values(level="target")
    )
    # A breach of a segment's limit is a target reached; of arrival or restoration, the standard.
    conn = op.get_bind()
    rows = conn.execute(sa.select(alerts.c.seq, alerts.c.detail).where(alerts.c.kind == "breach"))
    segments = [seq for seq, detail in rows if _target(detail) not in _STANDARD]
    for start in range(0, len(segments), 1000):
        chunk = segments[start : start + 1000]
        op.execute(alerts.update().where(alerts.c.seq.in_(chunk)).values(level="target"))
    zone = sa.select(jobs.c.zone).where(jobs.c.id == alerts.c.job).scalar_subquery()
    op.execute(alerts.update().where(alerts.c.job.is_not(None)).values(zone=zone))


def _target(detail: object) -> object:
    if isinstance(detail, str | bytes):
        detail = json.loads(detail)
    return detail.get("target") if isinstance(detail, dict) else None


def downgrade() -> None:
    op.drop_index("ix_alerts_acknowledged_at", "alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("acknowledged_by")
        batch.drop_column("acknowledged_at")
        batch.drop_column("zone")
