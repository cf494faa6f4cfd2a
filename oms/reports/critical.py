"""Critical customers out: who, for how long, and whether they were reached.

The storm room's list of the customers whose supply matters most (life
support, hospitals, water, telecom: the customers file's ``critical``
reason, with their ``emergency_plan``): every one interrupted in a period,
by the outages recorded (network, switching and planned outages below
which it is, in the normal state; its own single-customer outages), with
the minutes it was without supply (the union of those outages' intervals,
up to the end of the period or now), whether it is out now, its register
contacts, and when it was first reached after it lost supply
(``reached_at``, with ``reached_by``: ``call`` for a call answered, as
recorded by a ``customer_contact`` event, or ``message`` for a notification
delivered; null when neither was; the message may be about an outage
merged since), and the calls that reached nobody (``attempts``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.intake.events import as_utc, iso
from oms.outages import list_outages
from oms.storage import schema
from oms.storage.callbacks import contact_history
from oms.storage.loading import critical_register, customers_below, stored_network

__all__ = ["critical_report"]


def critical_report(
    conn: Connection, start: datetime, end: datetime, now: datetime
) -> dict[str, Any]:
    """Critical customers interrupted by outages that overlap [start, end).

    Returns ``{"period", "critical_customers", "interrupted", "out_now",
    "reached", "not_reached", "customers": [...]}``, the customers longest
    out first. O(outages x customers below them).
    """
    _, net = stored_network(conn)
    cust = net.customers
    doc: dict[str, Any] = {"period": {"start": iso(start), "end": iso(end)}}
    if cust is None:
        return {
            **doc,
            "critical_customers": 0,
            "interrupted": 0,
            "out_now": 0,
            "reached": 0,
            "not_reached": 0,
            "customers": [],
        }
    critical = cust.critical_mask()
    stop = min(end, now)
    spans: dict[int, list[tuple[datetime, datetime, str, bool]]] = {}
    for o in list_outages(conn):
        if o.state == "cancelled" or o.kind == "momentary":
            continue
        until = o.restored or stop
        if not (o.started < end and until > start):
            continue
        if o.kind == "single_customer":
            u = cust.index.get(o.customer or "", -1)
            units = np.array([u] if u >= 0 else [], dtype=np.int64)
        else:
            units = customers_below(net, o.device or "")
        for u in units[critical[units]].tolist():
            spans.setdefault(u, []).append(
                (max(o.started, start), min(until, stop), o.id, o.restored is None)
            )
    ids = {cust.ids[u] for u in spans}
    reached = _first_delivered(conn, ids)
    calls = contact_history(conn, ids)
    register = critical_register(conn)
    rows = []
    for u, items in spans.items():
        cid = cust.ids[u]
        outages = sorted({oid for _, _, oid, _ in items})
        lost = min(a for a, _, _, _ in items)
        first = [(t, "message") for t in reached.get(cid, []) if t >= lost]
        first += [
            (c["time"], "call") for c in calls.get(cid, []) if c["reached"] and c["time"] >= lost
        ]
        tried = [c for c in calls.get(cid, []) if not c["reached"] and c["time"] >= lost]
        rows.append(
            {
                "customer": cid,
                "name": cust.get("name", u),
                "critical": cust.get("critical", u),
                "phone": cust.get("phone", u),
                "address": cust.get("address", u),
                "emergency_plan": cust.get("emergency_plan", u),
                "outages": outages,
                "first_out": iso(lost),
                "minutes_out": round(_union_minutes([(a, b) for a, b, _, _ in items]), 1),
                "out_now": any(still for _, _, _, still in items),
                "contacts": list((register.get(cid) or {}).get("contacts") or []),
                "reached_at": iso(min(first)[0]) if first else None,
                "reached_by": min(first)[1] if first else None,
                "attempts": len(tried),
            }
        )
    rows.sort(key=lambda r: (-r["minutes_out"], r["customer"]))
    return {
        **doc,
        "critical_customers": int(critical.sum()),
        "interrupted": len(rows),
        "out_now": sum(1 for r in rows if r["out_now"]),
        "reached": sum(1 for r in rows if r["reached_at"]),
        "not_reached": sum(1 for r in rows if not r["reached_at"]),
        "customers": rows,
    }


def _union_minutes(intervals: list[tuple[datetime, datetime]]) -> float:
    total, current = 0.0, None
    for a, b in sorted(intervals):
        if current is None or a > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (a, b)
        else:
            current = (current[0], max(current[1], b))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total / 60


def _first_delivered(conn: Connection, customers: set[str]) -> dict[str, list[datetime]]:
    """Customer -> when messages were delivered to it (any outage's)."""
    n = schema.notifications
    out: dict[str, list[datetime]] = {}
    ids = sorted(customers)
    for k in range(0, len(ids), 1000):
        rows = conn.execute(
            select(n.c.customer, n.c.sent_at).where(
                n.c.customer.in_(ids[k : k + 1000]), n.c.status == "sent"
            )
        )
        for customer, sent_at in rows:
            when = as_utc(sent_at)
            if when is not None:
                out.setdefault(customer, []).append(when)
    return out
