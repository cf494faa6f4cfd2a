"""Read-side queries shared by the CLI and the server: the state as of ``now``.

Nothing here writes; every function takes an open connection. Nothing here
reads the wall clock either: the caller says what "now" is. The server
passes its engine service's clock (:meth:`webmap.service.EngineService.now`:
the wall clock live, an accelerated one in ``oms demo``, a fixed one in
tests); the command line passes the engine clock, or the wall clock before
any event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.config import DispatchConfig
from oms.dispatch.jobs import Job
from oms.storage import schema

__all__ = ["engine_clock", "get_job", "list_crews", "list_jobs"]


def engine_clock(conn: Connection) -> datetime | None:
    """The stored engine clock (the time of the latest event applied or timer
    fired), or None when nothing was applied yet. Never the wall clock."""
    value = conn.execute(
        select(schema.engine_state.c.value).where(schema.engine_state.c.key == "clock")
    ).scalar()
    return datetime.fromisoformat(value) if value else None


def list_jobs(
    conn: Connection, now: datetime, open_only: bool = False, crew: str | None = None
) -> list[Job]:
    """Jobs with breaches and warnings as of ``now``, open ones by priority first.

    O(jobs log jobs).
    """
    query = select(schema.jobs)
    if open_only:
        query = query.where(schema.jobs.c.state.notin_(("closed", "cancelled")))
    if crew is not None:
        query = query.where(schema.jobs.c.crew == crew)
    found = [Job.from_row(dict(r)) for r in conn.execute(query).mappings()]
    for job in found:
        if job.open:
            job.evaluate(now)
    found.sort(key=lambda j: (not j.open, -j.priority, j.id))
    return found


def get_job(conn: Connection, job_id: str, now: datetime) -> Job | None:
    """Job ``job_id`` with its breaches and warnings as of ``now``, or None."""
    row = conn.execute(select(schema.jobs).where(schema.jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    job = Job.from_row(dict(row))
    if job.open:
        job.evaluate(now)
    return job


def list_crews(conn: Connection, config: DispatchConfig, now: datetime) -> list[dict[str, Any]]:
    """Crews (contract 4 ``oms crews``) with status, position, staleness and jobs,
    as of ``now`` (an available crew out of its shift then is off shift)."""
    from oms.engine.orders import crew_dicts
    from oms.engine.repository import load_crews

    return crew_dicts(load_crews(conn).values(), now, config)
