"""One outage as a dispatcher reads it in one panel: calls, customers out,
evidence timeline, jobs and their stamps, ETR history, audit trail, and
the damage found in the field with what it adds up to.

Read only, as of the ``now`` the caller gives (no wall clock). The
customers out are those below the outage's device in the network as the
engine locates faults (as operated, tripped devices closed), without the
customers of the active outages nested below it (an active outage), as
the engine counts them; a single-customer outage has its one customer.
A big outage lists all its critical customers first (each with its reason,
emergency plan (contract 2) and the register's contacts to call; never
cut), then its callers and the rest up to a limit, and says how many more.

The timeline draws from the event log (calls, last gasps, AMI restores,
ping replies, SCADA, fault indicators) of the outage's customers and
devices from five minutes before it started until five minutes after it
was restored, the pings the engine asked for, the outage's audit trail
(the engine's and the dispatcher's actions), its jobs' dispatch decisions
and alerts. Runs of one kind of meter report (a feeder's last gasps) are
folded into one entry with their count and span.

Cost: one indexed window read of the event log (``ix_events_time``),
the changes feed read for the outage and its jobs (the ETR history), its
damage reports (``ix_damage_reports_outage``) and, when it has critical
customers out, the critical-customer register.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from oms.dispatch.jobs import Job
from oms.engine.damage import roll_up
from oms.intake.events import as_utc, iso
from oms.outages import ACTIVE_STATES, Outage, get_outage, outage_audit
from oms.storage import schema
from oms.storage.loading import critical_register, device_states
from topology.model import Network

__all__ = ["EVIDENCE_TYPES", "outage_detail"]

#: The event types of the timeline (contract 3 telemetry).
EVIDENCE_TYPES = ("call", "ami_last_gasp", "ami_restore", "ami_ping_reply", "scada", "fci")
#: Reports of these types in a row (within :data:`_RUN`) are one timeline entry.
_FOLDED = frozenset({"ami_last_gasp", "ami_restore", "ami_ping_reply", "ping_request"})
_RUN = timedelta(minutes=1)
_MARGIN = timedelta(minutes=5)
#: The most events of the window read (a storm's worth); beyond, the timeline says so.
_MAX_EVENTS = 50_000
#: The most damage reports listed (all of them are added up).
_MAX_DAMAGE = 200


def outage_detail(
    conn: Connection,
    net: Network,
    outage_id: str,
    now: datetime,
    *,
    customer_limit: int = 100,
    timeline_limit: int = 500,
) -> dict[str, Any]:
    """The outage's detail (``GET /api/outages/<id>/detail``).

    ``net`` is the network as operated. Raises
    :class:`~oms.exceptions.OutageNotFound` for an unknown id.
    """
    o = get_outage(conn, outage_id)
    dead, units = _out(conn, net, o)
    since = o.started - _MARGIN
    until = (o.restored + _MARGIN) if o.restored is not None else now
    rows, cut = _window(conn, since, until)
    ids = set(_customer_ids(net, units))
    devices = {d for d in (o.device, *o.section) if d}
    mine = [r for r in rows if r["customer"] in ids or _on(net, dead, devices, r["device"])]
    calls = [_call(net, r) for r in mine if r["type"] == "call"]
    jobs = _jobs(conn, outage_id, now)
    audit = outage_audit(conn, outage_id)
    entries = [_event_entry(r) for r in mine]
    entries += _ping_requests(conn, outage_id)
    entries += [_audit_entry(a) for a in audit]
    entries += _dispatch_entries(conn, [j["id"] for j in jobs])
    entries.sort(key=lambda e: e["time"])
    timeline = _fold(entries)
    return {
        "outage": o.to_dict(),
        "calls": calls,
        "customers": _customer_list(
            conn, net, dead, units, {c["customer"] for c in calls}, customer_limit
        ),
        "timeline": timeline[:timeline_limit],
        "timeline_more": max(0, len(timeline) - timeline_limit),
        "timeline_complete": not cut,
        "jobs": jobs,
        "etr_history": _etr_history(conn, outage_id, [j["id"] for j in jobs]),
        "audit": audit,
        "notices": _notices(conn, outage_id),
        "damage": _damage(conn, outage_id),
    }


# ------------------------------------------------------------ customers out
def _out(conn: Connection, net: Network, o: Outage) -> tuple[np.ndarray, np.ndarray]:
    """The nodes out because of ``o`` (a mask) and its customers' positions."""
    dead = np.zeros(net.n_nodes, dtype=bool)
    cust = net.customers
    if o.kind == "single_customer":
        if cust is not None and o.customer in cust.index:
            return dead, np.array([cust.index[o.customer]], dtype=np.int64)
        return dead, np.empty(0, dtype=np.int64)
    e = net.edge_index.get(o.device or "")
    if e is None:
        return dead, np.empty(0, dtype=np.int64)
    # Where the engine locates faults: as operated, tripped devices closed.
    closed = net.edge_closed.copy()
    for device, row in device_states(conn).items():
        if row["tripped"] and device in net.edge_index:
            closed[net.edge_index[device]] = True
    closed[e] = True
    view = net.with_states(closed)
    supply = view.supply
    dead[supply.downstream_nodes(e)] = True
    if o.state in ACTIVE_STATES:
        for inner in _active_devices(conn, o.id):
            f = view.edge_index.get(inner)
            child = int(supply.tree.edge_child[f]) if f is not None else -1
            if f is not None and f != e and child >= 0 and dead[child]:
                dead[supply.downstream_nodes(f)] = False
    units = np.flatnonzero(dead[cust.node]) if cust is not None else np.empty(0, dtype=np.int64)
    return dead, units


def _active_devices(conn: Connection, other_than: str) -> list[str]:
    o = schema.outages
    rows = conn.execute(
        select(o.c.device).where(
            o.c.state.in_(ACTIVE_STATES),
            o.c.kind == "network",
            o.c.id != other_than,
            o.c.device.is_not(None),
        )
    ).scalars()
    return sorted(set(rows))


def _customer_ids(net: Network, units: np.ndarray) -> list[str]:
    cust = net.customers
    return [] if cust is None else [cust.ids[u] for u in units.tolist()]


def _customer(net: Network, u: int) -> dict[str, Any]:
    cust = net.customers
    assert cust is not None
    return {
        "id": cust.ids[u],
        "name": cust.get("name", u),
        "address": cust.get("address", u),
        "phone": cust.get("phone", u),
        "critical": cust.get("critical", u) or None,
        "emergency_plan": cust.get("emergency_plan", u),
        "node": net.node_ids[int(cust.node[u])],
    }


def _customer_list(
    conn: Connection,
    net: Network,
    dead: np.ndarray,
    units: np.ndarray,
    callers: set[str],
    limit: int,
) -> dict[str, Any]:
    """Every critical customer out (whatever ``limit``), then callers, then by
    id up to ``limit`` in all; ``critical`` counts the critical ones listed,
    each with its register ``contacts`` (the people to call)."""
    cust = net.customers
    if cust is None:  # counts at nodes, nobody by name
        total = int(net.node_customers[dead].sum())
        return {"total": total, "critical": 0, "listed": [], "more": total}
    mask = cust.critical_mask()
    first = sorted(units.tolist(), key=lambda u: (cust.ids[u] not in callers, u))
    critical = [u for u in first if mask[u]]
    rest = [u for u in first if not mask[u]]
    # The critical ones are never cut: a panel must not hide a life-support customer.
    shown = critical + rest[: max(0, limit - len(critical))]
    register = critical_register(conn) if critical else {}
    listed = []
    for u in shown:
        row = _customer(net, u)
        row["called"] = row["id"] in callers
        if mask[u]:
            row["contacts"] = list((register.get(row["id"]) or {}).get("contacts") or [])
        listed.append(row)
    return {
        "total": len(units),
        "critical": len(critical),
        "listed": listed,
        "more": len(units) - len(shown),
    }


# ------------------------------------------------------------ the event log
def _window(conn: Connection, since: datetime, until: datetime) -> tuple[list[Any], bool]:
    """The telemetry of the window, oldest first, and whether it was cut at :data:`_MAX_EVENTS`."""
    ev = schema.events
    rows = (
        conn.execute(
            select(
                ev.c.seq, ev.c.id, ev.c.type, ev.c.time, ev.c.customer, ev.c.device, ev.c.payload
            )
            .where(ev.c.time >= since, ev.c.time <= until, ev.c.type.in_(EVIDENCE_TYPES))
            .order_by(ev.c.seq)
            .limit(_MAX_EVENTS + 1)
        )
        .mappings()
        .all()
    )
    return list(rows[:_MAX_EVENTS]), len(rows) > _MAX_EVENTS


def _on(net: Network, dead: np.ndarray, devices: set[str], device: str | None) -> bool:
    """Whether a device report belongs to the outage: its device or section, or
    an edge in the area it cut off."""
    if device is None:
        return False
    if device in devices:
        return True
    e = net.edge_index.get(device)
    return e is not None and bool(dead[net.edge_to[e]] and dead[net.edge_from[e]])


def _call(net: Network, r: Any) -> dict[str, Any]:
    p = json.loads(r["payload"])
    cust = net.customers
    who: dict[str, Any] = {}
    if cust is not None and r["customer"] in cust.index:
        who = _customer(net, cust.index[r["customer"]])
    return {
        "time": iso(as_utc(r["time"])),
        "event": r["id"],
        "customer": r["customer"],
        "name": who.get("name"),
        "address": who.get("address"),
        "phone": who.get("phone"),
        "critical": who.get("critical"),
        "power": p.get("power", "off"),
        "hazard": p.get("hazard"),
        "note": p.get("note"),
    }


def _event_entry(r: Any) -> dict[str, Any]:
    p = json.loads(r["payload"])
    extra = {
        k: p[k] for k in ("state", "lockout", "fault", "energized", "hazard", "note") if k in p
    }
    return {
        "time": iso(as_utc(r["time"])),
        "type": r["type"],
        "customer": r["customer"],
        "device": r["device"],
        "actor": None,
        "detail": extra,
    }


def _ping_requests(conn: Connection, outage_id: str) -> list[dict[str, Any]]:
    pr = schema.ping_requests
    rows = conn.execute(
        select(pr.c.customer, pr.c.requested_at, pr.c.purpose).where(pr.c.outage == outage_id)
    ).all()
    return [
        {
            "time": iso(as_utc(r.requested_at)),
            "type": "ping_request",
            "customer": r.customer,
            "device": None,
            "actor": "system",
            "detail": {"purpose": r.purpose},
        }
        for r in rows
    ]


def _audit_entry(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": a["time"],
        "type": "action",
        "customer": None,
        "device": (a["detail"] or {}).get("device"),
        "actor": a["actor"],
        "detail": {"action": a["action"], "reason": a["reason"]},
    }


def _dispatch_entries(conn: Connection, jobs: list[str]) -> list[dict[str, Any]]:
    """The jobs' dispatch decisions and alerts (targets warned or breached, escalations)."""
    if not jobs:
        return []
    dd, al = schema.dispatch_decisions, schema.alerts
    out = [
        {
            "time": iso(as_utc(r.time)),
            "type": "dispatch",
            "customer": None,
            "device": None,
            "actor": r.actor,
            "detail": {"job": r.job, "crew": r.crew, "rule": r.rule},
        }
        for r in conn.execute(select(dd).where(dd.c.job.in_(jobs)))
    ]
    out += [
        {
            "time": iso(as_utc(r.time)),
            "type": "alert",
            "customer": None,
            "device": None,
            "actor": "system",
            "detail": {"job": r.job, "kind": r.kind, "level": r.level, "crew": r.crew, **r.detail},
        }
        for r in conn.execute(select(al).where(al.c.job.in_(jobs)))
    ]
    return out


def _fold(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of one kind of meter report (or ping request) become one entry with
    ``count``, ``until`` and their first customers."""
    out: list[dict[str, Any]] = []
    for e in entries:
        last = out[-1] if out else None
        if (
            last is not None
            and e["type"] in _FOLDED
            and last["type"] == e["type"]
            and last["detail"] == e["detail"]
            and datetime.fromisoformat(e["time"]) - datetime.fromisoformat(last["until"]) <= _RUN
        ):
            last["count"] += 1
            last["until"] = e["time"]
            if len(last["customers"]) < 5 and e["customer"]:
                last["customers"].append(e["customer"])
            continue
        out.append(
            {
                **e,
                "count": 1,
                "until": e["time"],
                "customers": [e["customer"]] if e["customer"] else [],
            }
        )
    return out


# --------------------------------------------------------------------- jobs
def _jobs(conn: Connection, outage_id: str, now: datetime) -> list[dict[str, Any]]:
    j = schema.jobs
    rows = conn.execute(select(j).where(j.c.outage == outage_id).order_by(j.c.id)).mappings()
    found = []
    for row in rows:
        job = Job.from_row(dict(row))
        if job.open:
            job.evaluate(now)
        found.append(job.to_dict())
    return found


def _etr_history(conn: Connection, outage_id: str, jobs: list[str]) -> list[dict[str, Any]]:
    """Every estimate the outage showed, when it was given and where it came from
    (the job's source: ``history``, ``crew``, ``renewed``), oldest first."""
    ch = schema.changes
    rows = list(
        conn.execute(
            select(ch.c.seq, ch.c.time, ch.c.kind, ch.c.data).where(
                ch.c.kind.in_(("outage", "job")), ch.c.ref.in_([outage_id, *jobs])
            )
        ).all()
    )
    # A job's change before its outage's of the same instant: it says where the ETR came from.
    rows.sort(key=lambda r: (as_utc(r.time), r.kind != "job", r.seq))
    out: list[dict[str, Any]] = []
    source: str | None = None
    for r in rows:
        data = r.data or {}
        if r.kind == "job":
            source = data.get("etr_source") or source
        etr = data.get("etr")
        if etr is not None and not (out and out[-1]["etr"] == etr):
            out.append({"time": iso(as_utc(r.time)), "etr": etr, "source": source})
    return out


def _notices(conn: Connection, outage_id: str) -> dict[str, int]:
    """Customer notices about the outage, by kind (``acknowledged``, ``etr_changed``...)."""
    n = schema.notifications
    rows = conn.execute(
        select(n.c.kind, func.count()).where(n.c.outage == outage_id).group_by(n.c.kind)
    ).all()
    return {kind: int(count) for kind, count in sorted(rows)}


def _damage(conn: Connection, outage_id: str) -> dict[str, Any]:
    """The outage's damage reports, newest first (at most :data:`_MAX_DAMAGE`), and
    what all of them add up to (:func:`oms.engine.damage.roll_up`)."""
    d = schema.damage_reports
    rows = conn.execute(
        select(d.c.body).where(d.c.outage == outage_id).order_by(d.c.time.desc(), d.c.id)
    ).scalars()
    found = [dict(body) for body in rows]
    return {
        "reports": found[:_MAX_DAMAGE],
        "more": max(0, len(found) - _MAX_DAMAGE),
        "summary": roll_up(found),
    }
