"""Outages: the record, its state machine, and reading them from the database.

States and the moves between them::

    predicted ──> confirmed ──> restored ──> closed
        │  └──────────────────────^
        └──> cancelled   (withdrawn by the predictor, or merged into another)

``predicted``: located by the fault-location engine from calls and meters.
``confirmed``: certain: a SCADA lockout, a ping answered dead, or the
dispatcher. ``restored``: supply is back (SCADA close, meter restores,
callers, a crew or the dispatcher). ``closed``: the case is finished.
``cancelled`` outages are kept for the audit but not listed by default.

Kinds: ``network`` (a protective device operated), ``single_customer`` (a
service drop or meter: a call that no network outage explains) and
``momentary`` (supply back within ``momentary_s``, 5 minutes by default:
counted for MAIFI, no job).

Start time: the SCADA trip time when a device reported its opening, else the
first evidence of no supply below the device since its last restoration.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from oms.exceptions import OutageNotFound
from oms.intake.events import as_utc, iso
from oms.storage import schema

if TYPE_CHECKING:
    from topology.model import Network
from oms.vocabulary import OutageKind, OutageState, values

__all__ = [
    "ACTIVE_STATES",
    "KINDS",
    "STATES",
    "Outage",
    "case_key",
    "case_ref",
    "get_outage",
    "list_outages",
    "normal_case_ref",
    "outage_audit",
    "outage_evidence",
    "outage_places",
]

#: engine_state key of the secret that case references are made with.
CASE_KEY = "case_key"

STATES = values(OutageState)
ACTIVE_STATES = values((OutageState.PREDICTED, OutageState.CONFIRMED))
KINDS = values(OutageKind)


@dataclass(eq=False)  # an outage is itself (ids are unique): compared and hashed by identity
class Outage:
    """One outage, as the engine keeps it and the database stores it."""

    id: str
    kind: str
    device: str | None
    customer: str | None
    state: str
    started: datetime
    located_at: datetime
    updated_at: datetime
    section: list[str] = field(default_factory=list)
    customers_out: int = 0
    critical_out: int = 0
    restored: datetime | None = None
    closed: datetime | None = None
    etr: datetime | None = None
    calls: int = 0
    hazard: bool = False
    confirmed_by: str | None = None
    pinned: bool = False
    merged_into: str | None = None
    #: The outage whose restoration showed this one was still out below it.
    revealed_by: str | None = None
    #: The row as this process last wrote it (the writer's, to write only what changed).
    written: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    # The moves of the state machine (the engine audits each one).
    def confirm(self, by: str) -> None:
        """Certain now: ``by`` is ``scada``, ``ami_ping`` or ``dispatcher``."""
        self.state, self.confirmed_by = "confirmed", by

    def unconfirm(self) -> None:
        """Back to a prediction (the dispatcher handed it back, or it moved)."""
        self.state, self.confirmed_by = "predicted", None

    def move(self, device: str, t: datetime) -> None:
        """Located at another device from ``t`` on."""
        self.device, self.located_at = device, t

    def restore(self, t: datetime, momentary_s: float) -> None:
        """Supply is back at ``t``; a network outage shorter than ``momentary_s`` was momentary."""
        self.state, self.restored = "restored", t
        if self.kind == "network" and (t - self.started).total_seconds() < momentary_s:
            self.kind = "momentary"

    def close(self, t: datetime) -> None:
        self.state, self.closed = "closed", t

    def cancel(self, merged_into: str | None = None) -> None:
        """Withdrawn, or merged into another outage."""
        self.state, self.merged_into = "cancelled", merged_into

    def row(self) -> dict[str, Any]:
        """The database row."""
        return {
            "id": self.id,
            "kind": self.kind,
            "device": self.device,
            "customer": self.customer,
            "section": list(self.section),
            "state": self.state,
            "customers_out": int(self.customers_out),
            "critical_out": int(self.critical_out),
            "started": self.started,
            "restored": self.restored,
            "closed": self.closed,
            "etr": self.etr,
            "calls": int(self.calls),
            "hazard": bool(self.hazard),
            "confirmed_by": self.confirmed_by,
            "located_at": self.located_at,
            "pinned": bool(self.pinned),
            "merged_into": self.merged_into,
            "updated_at": self.updated_at,
            "revealed_by": self.revealed_by,
        }

    @classmethod
    def from_row(cls, row: Any) -> Outage:
        values = dict(row)
        for key in ("started", "restored", "closed", "etr", "located_at", "updated_at"):
            values[key] = as_utc(values[key])
        values["section"] = list(values.get("section") or [])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The contract-4 JSON object of ``oms outages``."""
        return {
            "id": self.id,
            "kind": self.kind,
            "device": self.device,
            "customer": self.customer,
            "section": sorted(self.section),
            "state": self.state,
            "customers_out": int(self.customers_out),
            "critical_out": int(self.critical_out),
            "started": iso(self.started),
            "restored": iso(self.restored),
            "etr": iso(self.etr),
            "calls": int(self.calls),
            "hazard": bool(self.hazard),
            "confirmed_by": self.confirmed_by,
            "located_at": iso(self.located_at),
            "merged_into": self.merged_into,
            "revealed_by": self.revealed_by,
        }


def list_outages(
    conn: Connection, state: str | None = None, *, states: Iterable[str] | None = None
) -> list[Outage]:
    """Outages ordered by start time; all but cancelled ones unless ``state``
    (one) or ``states`` (any of them) says."""
    q = select(schema.outages)
    if state is not None:
        q = q.where(schema.outages.c.state == state)
    elif states is not None:
        q = q.where(schema.outages.c.state.in_(list(states)))
    else:
        q = q.where(schema.outages.c.state != "cancelled")
    rows = conn.execute(q.order_by(schema.outages.c.started, schema.outages.c.id)).mappings()
    return [Outage.from_row(r) for r in rows]


def get_outage(conn: Connection, outage_id: str) -> Outage:
    row = conn.execute(select(schema.outages).where(schema.outages.c.id == outage_id)).mappings()
    found = row.first()
    if found is None:
        raise OutageNotFound(f"no outage with id {outage_id!r}")
    return Outage.from_row(found)


def outage_audit(conn: Connection, outage_id: str) -> list[dict[str, Any]]:
    """The audit trail of one outage, oldest first."""
    a = schema.outage_audit
    rows = conn.execute(select(a).where(a.c.outage == outage_id).order_by(a.c.seq)).mappings()
    return [
        {
            "time": iso(as_utc(r["time"])),
            "actor": r["actor"],
            "action": r["action"],
            "reason": r["reason"],
            "detail": r["detail"],
        }
        for r in rows
    ]


def outage_places(
    conn: Connection, net: Network | None, outages: list[Outage]
) -> dict[str, dict[str, Any]]:
    """Each outage's ``zone`` and ``crews``, by outage id.

    The zone is its latest job's (the zone containing the point the crew is
    sent to, as the order book places a job), else the zone containing that
    point as the order book would place it: the node its device feeds, or
    its one customer. ``crews``: the crews on its jobs, sorted. ``net`` is
    the network as operated (None: zones from jobs only). O(jobs of these
    outages + zones per outage without a job).
    """
    from oms.dispatch.jobs import Zones

    j = schema.jobs
    ids = [o.id for o in outages]
    zone: dict[str, str | None] = {}
    crews: dict[str, set[str]] = {i: set() for i in ids}
    for start in range(0, len(ids), 500):  # bounded IN lists
        rows = conn.execute(
            select(j.c.outage, j.c.zone, j.c.crew)
            .where(j.c.outage.in_(ids[start : start + 500]))
            .order_by(j.c.id)
        )
        for r in rows:
            if r.zone is not None:
                zone[r.outage] = r.zone  # the latest job's wins
            if r.crew is not None:
                crews[r.outage].add(r.crew)
    unplaced = [o for o in outages if o.id not in zone]
    if unplaced and net is not None:
        stored = [dict(r) for r in conn.execute(select(schema.zones)).mappings()]
        zones = Zones(stored) if stored else None
        for o in unplaced:
            point = _point_of(net, o)
            zone[o.id] = zones.locate(*point)[0] if zones and point else None
    return {i: {"zone": zone.get(i), "crews": sorted(crews[i])} for i in ids}


def _point_of(net: Network, o: Outage) -> tuple[float, float] | None:
    """Where a crew would be sent for ``o``: its customer, or the node its device feeds."""
    cust = net.customers
    if o.kind == "single_customer":
        if cust is None or o.customer not in cust.index:
            return None
        u = cust.index[o.customer]
        lon, lat = cust.get("lon", u), cust.get("lat", u)
        if lon is not None and lat is not None:
            return float(lon), float(lat)
        node = int(cust.node[u])
    else:
        e = net.edge_index.get(o.device or "")
        if e is None:
            return None
        child = int(net.supply.tree.edge_child[e])
        node = child if child >= 0 else int(net.edge_to[e])
    return float(net.node_xy[node, 0]), float(net.node_xy[node, 1])


def outage_evidence(conn: Connection, o: Outage, limit: int = 1000) -> list[dict[str, Any]]:
    """The events behind an outage: reports from its customers and its devices.

    Reports count from five minutes before it started until it was restored;
    at most ``limit``, oldest first.
    """
    from datetime import timedelta

    from oms.storage.loading import customers_below, stored_network

    ev = schema.events
    since = o.started - timedelta(minutes=5)
    window = ev.c.time >= since
    if o.restored is not None:
        window = window & (ev.c.time <= o.restored)
    customers: list[str] = []
    devices = [d for d in [o.device, *o.section] if d]
    if o.kind == "single_customer" and o.customer:
        customers = [o.customer]
    elif o.device:
        _, net = stored_network(conn)
        if net.customers is not None:
            ids = net.customers.ids
            customers = [ids[u] for u in customers_below(net, o.device).tolist()]
    found: list[Any] = []
    if devices:
        found += (
            conn.execute(select(ev).where(window & ev.c.device.in_(devices)).limit(limit))
            .mappings()
            .all()
        )
    for start in range(0, len(customers), 1000):
        if len(found) >= limit:
            break
        chunk = customers[start : start + 1000]
        found += (
            conn.execute(select(ev).where(window & ev.c.customer.in_(chunk)).limit(limit))
            .mappings()
            .all()
        )
    found.sort(key=lambda r: r["seq"])
    return [
        {
            "seq": int(r["seq"]),
            "id": r["id"],
            "type": r["type"],
            "time": iso(as_utc(r["time"])),
            "customer": r["customer"],
            "device": r["device"],
            "payload": json.loads(r["payload"]),
        }
        for r in found[:limit]
    ]


# -------------------------------------------------------- public case references
#: Crockford's base 32: no I, L, O or U, so nobody mistakes 0 for O or 1 for I.
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REF_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def case_ref(key: str, outage_id: str) -> str:
    """The reference a customer is given for an outage: unguessable, unlike the id.

    A keyed hash (HMAC-SHA256 with this database's secret ``key``) of the
    outage id, 60 bits as 12 characters of Crockford's base 32 in groups of
    four (``K7QF-2MXH-4PZA``). Only who was told it, or who reads the public
    list of network outages, can look a case up by it.
    """
    digest = hmac.new(key.encode(), outage_id.encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big") >> 4
    text = "".join(_REF_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(12)))
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def normal_case_ref(text: str) -> str | None:
    """A case reference as people type it (any case, with or without dashes or
    spaces, O for 0, I or L for 1) in the form :func:`case_ref` gives, or None."""
    plain = "".join(text.split()).replace("-", "").upper().translate(_REF_READ_AS)
    if len(plain) != 12 or any(ch not in _REF_ALPHABET for ch in plain):
        return None
    return "-".join(plain[i : i + 4] for i in range(0, 12, 4))


def case_key(conn: Connection) -> str:
    """This database's case-reference secret, made on first use (by any process)."""
    es = schema.engine_state
    key = conn.execute(select(es.c.value).where(es.c.key == CASE_KEY)).scalar()
    if key is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(es).values(key=CASE_KEY, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another process made it first: use theirs
        key = conn.execute(select(es.c.value).where(es.c.key == CASE_KEY)).scalar_one()
    return str(key)
