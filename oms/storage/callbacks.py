"""The calls the control room owes customers, in the order to make them (read-only).

Three kinds of call, critical customers before everyone else:

1. ``welfare``: a critical customer (life support first, then the other
   reasons) out now and not reached by a call since it lost supply (a
   text message is no welfare check): its register contacts are called,
   then its own phone. Longest out first.
2. ``restored_critical``: a critical customer whose supply came back within
   ``hours`` and who was not reached since: to confirm supply is back and
   the emergency plan can stand down.
3. ``callback``: a customer who called about an outage restored within
   ``hours`` and has not been called back since the restoration. Oldest
   restoration first.

A call is recorded with a ``customer_contact`` event
(:mod:`oms.engine.register`); one that did not reach anybody leaves the
customer in the queue with its ``attempts`` counted, so the next
dispatcher sees who was tried and when.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.intake.events import as_utc, iso
from oms.outages import list_outages
from oms.storage import schema
from oms.storage.loading import critical_register, customers_below, stored_network

__all__ = ["KINDS", "callback_queue", "contact_history"]

KINDS = ("welfare", "restored_critical", "callback")
#: Reasons called before the others, in this order (any other reason after them).
_FIRST_REASONS = ("life_support", "hospital", "water")


def contact_history(conn: Connection, customers: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Customer -> the calls made to it (``customer_contacts``), oldest first."""
    c = schema.customer_contacts
    out: dict[str, list[dict[str, Any]]] = {}
    ids = sorted(customers)
    for k in range(0, len(ids), 1000):
        rows = conn.execute(
            select(c).where(c.c.customer.in_(ids[k : k + 1000])).order_by(c.c.time)
        ).mappings()
        for r in rows:
            out.setdefault(r["customer"], []).append({**r, "time": as_utc(r["time"])})
    return out


def _callers(conn: Connection, since: datetime) -> list[tuple[str, datetime]]:
    """(customer, time) of the calls logged since ``since``."""
    ev = schema.events
    rows = conn.execute(
        select(ev.c.customer, ev.c.time).where(
            ev.c.type == "call", ev.c.time >= since, ev.c.customer.is_not(None)
        )
    )
    return [(r.customer, as_utc(r.time)) for r in rows]  # type: ignore[misc]


def callback_queue(
    conn: Connection, now: datetime, *, hours: float = 24.0, limit: int = 500
) -> dict[str, Any]:
    """The calls to make as of ``now``, most urgent first.

    Returns ``{"as_of", "counts": {kind: n}, "calls": [...]}``; each call
    names its ``kind``, the customer (name, reason, address, emergency
    plan), the ``outage``, ``since`` (lost or got back supply), ``minutes``
    since then, the numbers to ``call`` (register contacts first, then the
    customer's phone) and the ``attempts`` made since without reaching
    anyone (the ``last_attempt`` with its note). At most ``limit`` calls.

    O(outages x customers below them + calls and contacts of the period).
    """
    _, net = stored_network(conn)
    cust = net.customers
    doc: dict[str, Any] = {"as_of": iso(now), "counts": dict.fromkeys(KINDS, 0), "calls": []}
    if cust is None:
        return doc
    critical = cust.critical_mask()
    horizon = now - timedelta(hours=hours)
    # Per critical customer: when it lost supply (out now) or got it back (recently).
    out_since: dict[int, tuple[datetime, str]] = {}
    back_at: dict[int, tuple[datetime, str]] = {}
    restored_outages: list[tuple[datetime, Any]] = []
    for o in list_outages(conn):
        if o.state == "cancelled" or o.kind == "momentary":
            continue
        if o.restored is not None and o.restored < horizon:
            continue
        if o.kind == "single_customer":
            u = cust.index.get(o.customer or "", -1)
            units = np.array([u] if u >= 0 else [], dtype=np.int64)
        else:
            units = customers_below(net, o.device or "")
        if o.restored is not None:
            restored_outages.append((o.restored, (o, units)))
        for u in units[critical[units]].tolist():
            if o.restored is None:
                if u not in out_since or o.started < out_since[u][0]:
                    out_since[u] = (o.started, o.id)
            elif u not in back_at or o.restored > back_at[u][0]:
                back_at[u] = (o.restored, o.id)
    for u in out_since:
        back_at.pop(u, None)  # out again: a welfare call, not a confirmation

    callers: dict[str, list[tuple[datetime, str]]] = {}
    if restored_outages:
        calls = _callers(conn, min(o.started for _, (o, _) in restored_outages))
        by_customer: dict[str, list[datetime]] = {}
        for cid, t in calls:
            by_customer.setdefault(cid, []).append(t)
        for restored, (o, units) in restored_outages:
            for u in units.tolist():
                cid = cust.ids[u]
                if any(o.started <= t <= restored for t in by_customer.get(cid, ())):
                    callers.setdefault(cid, []).append((restored, o.id))

    wanted = {cust.ids[u] for u in (*out_since, *back_at)} | set(callers)
    history = contact_history(conn, wanted)
    register = critical_register(conn)

    def reached_since(cid: str, since: datetime) -> bool:
        return any(c["reached"] and c["time"] >= since for c in history.get(cid, ()))

    def entry(kind: str, u: int, since: datetime, outage: str) -> dict[str, Any]:
        cid = cust.ids[u]
        tried = [c for c in history.get(cid, ()) if c["time"] >= since and not c["reached"]]
        contacts = list((register.get(cid) or {}).get("contacts") or [])
        numbers = [
            {"name": c["name"], "phone": c.get("phone"), "email": c.get("email")} for c in contacts
        ]
        if cust.get("phone", u):
            numbers.append({"name": cust.get("name", u), "phone": cust.get("phone", u)})
        last = tried[-1] if tried else None
        return {
            "kind": kind,
            "customer": cid,
            "name": cust.get("name", u),
            "critical": cust.get("critical", u) or None,
            "address": cust.get("address", u),
            "emergency_plan": cust.get("emergency_plan", u),
            "outage": outage,
            "since": iso(since),
            "minutes": round((now - since).total_seconds() / 60, 1),
            "call": numbers,
            "attempts": len(tried),
            "last_attempt": None
            if last is None
            else {"time": iso(last["time"]), "user": last["username"], "note": last["note"]},
        }

    def reason_rank(u: int) -> int:
        reason = cust.get("critical", u)
        return _FIRST_REASONS.index(reason) if reason in _FIRST_REASONS else len(_FIRST_REASONS)

    welfare = [
        entry("welfare", u, t, oid)
        for u, (t, oid) in sorted(out_since.items(), key=lambda kv: (reason_rank(kv[0]), kv[1][0]))
        if not reached_since(cust.ids[u], t)
    ]
    confirm = [
        entry("restored_critical", u, t, oid)
        for u, (t, oid) in sorted(back_at.items(), key=lambda kv: (reason_rank(kv[0]), kv[1][0]))
        if not reached_since(cust.ids[u], t)
    ]
    back = []
    for cid, items in callers.items():
        restored, oid = max(items)
        u = cust.index[cid]
        if critical[u] or reached_since(cid, restored):
            continue  # a critical one is confirmed above
        back.append(entry("callback", u, restored, oid))
    back.sort(key=lambda c: (c["since"], c["customer"]))
    doc["counts"] = {
        "welfare": len(welfare),
        "restored_critical": len(confirm),
        "callback": len(back),
    }
    doc["calls"] = [*welfare, *confirm, *back][:limit]
    return doc
