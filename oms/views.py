"""Read-side queries shared by the CLI and the server: the state as of the engine clock.

Nothing here writes; every function takes an open connection.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms import schema
from oms.config import DispatchConfig
from oms.jobs import Job

__all__ = ["engine_clock", "get_job", "list_crews", "list_jobs"]


def engine_clock(conn: Connection) -> datetime:
    """The engine clock (the time of the latest event applied), or now if none yet."""
    value = conn.execute(
        select(schema.engine_state.c.value).where(schema.engine_state.c.key == "clock")
    ).scalar()
    return datetime.fromisoformat(value) if value else datetime.now(timezone.utc)


def list_jobs(conn: Connection, open_only: bool = False, crew: str | None = None) -> list[Job]:
    """Jobs with breaches and warnings as of the engine clock, open ones by priority first.

    O(jobs log jobs).
    """
    now = engine_clock(conn)
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


def get_job(conn: Connection, job_id: str) -> Job | None:
    row = conn.execute(select(schema.jobs).where(schema.jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    job = Job.from_row(dict(row))
    if job.open:
        job.evaluate(engine_clock(conn))
    return job


def list_crews(conn: Connection, config: DispatchConfig) -> list[dict[str, Any]]:
    """Crews (contract 4 ``oms crews``) with status, position, staleness and jobs."""
    from oms.orders import crew_dicts, load_crews

    return crew_dicts(load_crews(conn).values(), engine_clock(conn), config)
