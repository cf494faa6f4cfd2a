"""Read-side queries shared by the CLI and the server: the state as of ``now``.

Nothing here writes; every function takes an open connection. Nothing here
reads the wall clock either: the caller says what "now" is. The server
passes its engine service's clock (:meth:`webmap.service.EngineService.now`:
the wall clock live, an accelerated one in ``oms demo``, a fixed one in
tests); the command line passes the engine clock, or the wall clock before
any event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.config import DispatchConfig
from oms.dispatch.jobs import Job
from oms.storage import schema

if TYPE_CHECKING:
    from topology.model import Network

__all__ = [
    "critical_customers_out",
    "customer_positions",
    "engine_clock",
    "get_job",
    "list_crews",
    "list_jobs",
    "storm_state",
]


def engine_clock(conn: Connection) -> datetime | None:
    """The stored engine clock (the time of the latest event applied or timer
    fired), or None when nothing was applied yet. Never the wall clock."""
    value = conn.execute(
        select(schema.engine_state.c.value).where(schema.engine_state.c.key == "clock")
    ).scalar()
    return datetime.fromisoformat(value) if value else None


def storm_state(conn: Connection) -> dict[str, Any]:
    """Storm mode as the engine last stored it (:mod:`oms.engine.storm`):
    ``{"on": false}`` when it never was on."""
    import json

    value = conn.execute(
        select(schema.engine_state.c.value).where(schema.engine_state.c.key == "dispatch_modes")
    ).scalar()
    state = (json.loads(value) if value else {}).get("storm") or {"on": False}
    return {k: v for k, v in state.items() if k != "dispatch_before"}


#: After every time: a job without stamp A sorts last among its equals.
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


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
    # Equal priorities: the oldest first, as the dispatcher's list has them.
    found.sort(key=lambda j: (not j.open, -j.priority, j.stamps.get("A") or _NEVER, j.id))
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


def critical_customers_out(
    conn: Connection, net: Network, outage_id: str, limit: int = 50
) -> dict[str, Any]:
    """The critical customers ``outage_id`` has out, by reason, address and id.

    The customers out are those the outage panel counts
    (:mod:`oms.storage.outage_detail`: below the outage's device as the
    engine locates faults, without active outages nested below it). Gives
    ``total`` and the first ``limit`` in ``listed`` (``id``, ``name``,
    ``address``, ``phone``, ``critical``, ``node``). ``net`` is the network
    as operated. Raises :class:`~oms.exceptions.OutageNotFound`. O(customers out).
    """
    from oms.outages import get_outage
    from oms.storage.outage_detail import _out  # one definition of who an outage has out

    _, units = _out(conn, net, get_outage(conn, outage_id))
    cust = net.customers
    if cust is None:
        return {"total": 0, "listed": []}
    found = [u for u in units.tolist() if cust.get("critical", u)]
    found.sort(key=lambda u: (cust.get("critical", u), cust.get("address", u) or "", cust.ids[u]))
    listed = [
        {
            "id": cust.ids[u],
            "name": cust.get("name", u),
            "address": cust.get("address", u),
            "phone": cust.get("phone", u),
            "critical": cust.get("critical", u),
            "node": net.node_ids[int(cust.node[u])],
        }
        for u in found[:limit]
    ]
    return {"total": len(found), "listed": listed}


def customer_positions(
    conn: Connection, net: Network, ids: Iterable[str]
) -> dict[str, tuple[float, float]]:
    """Positions of customers: their own, else their supply node's. O(ids)."""
    wanted = sorted(set(ids))
    found: dict[str, tuple[float, float]] = {}
    c = schema.customers
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(c.c.id, c.c.lon, c.c.lat, c.c.node).where(c.c.id.in_(chunk))
        for row in conn.execute(query):
            if row.lon is not None and row.lat is not None:
                found[row.id] = (float(row.lon), float(row.lat))
            elif row.node in net.node_index:
                x, y = net.node_xy[net.node_index[row.node]]
                found[row.id] = (float(x), float(y))
    return found
