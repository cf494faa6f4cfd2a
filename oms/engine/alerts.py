"""Alerts: what the dispatcher's alarm list and a crew's handheld are told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.dispatch.jobs import Job

__all__ = ["alert"]


def alert(
    time: datetime,
    kind: str,
    level: str,
    job: Job | None = None,
    *,
    crew: str | None = None,
    contact: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "time": time,
        "kind": kind,
        "level": level,
        "job": job.id if job else None,
        "crew": crew,
        "unit": job.unit if job else None,
        "contact": contact,
        "detail": detail or {},
    }
