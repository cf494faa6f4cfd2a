"""Loading the network and its companions into the database, and reading them back.

``oms load`` reads every file first (all errors reported, nothing written),
then writes them in one transaction: a changed network (or customers) file
becomes a new network version, stored as one compact blob
(:mod:`topology.binary`) with a searchable ``customers`` table beside it;
crews, units, zones and roads replace the previous ones. Open outages keep
their device ids; those that no longer exist are reported as warnings.

:func:`operated_network` gives the latest version in its state as operated:
normal states overridden by ``device_states`` (SCADA and switching).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from oms.exceptions import NotLoadedError
from oms.intake.events import as_utc, iso
from oms.storage import schema
from oms.storage.inputs import read_crews, read_units, read_zones
from topology import binary
from topology.diff import network_diff
from topology.io import attach_customers, read_customers, read_network
from topology.model import CUSTOMER_FIELDS, Network

__all__ = [
    "apply_register",
    "critical_register",
    "customers_below",
    "device_states",
    "field_in_place",
    "load",
    "load_model",
    "network_version",
    "operated_network",
    "register_entries",
    "register_into_customers",
    "stored_network",
    "with_reported_states",
]


def _file_digest(*paths: str | Path | None) -> str:
    h = hashlib.sha256()
    for p in paths:
        if p is None:
            h.update(b"-")
            continue
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"|")
    return h.hexdigest()


def network_version(conn: Connection) -> int | None:
    """The latest network version number, or None when nothing is loaded."""
    return conn.execute(select(func.max(schema.network_versions.c.version))).scalar()


def stored_network(conn: Connection, version: int | None = None) -> tuple[int, Network]:
    """``(version, network)`` in its normal state; the latest version by default.

    Raises
    ------
    NotLoadedError
        No network has been loaded.
    """
    nv = schema.network_versions
    query = select(nv.c.version, nv.c.model)
    query = query.where(nv.c.version == version) if version else query.order_by(nv.c.version.desc())
    row = conn.execute(query.limit(1)).first()
    if row is None:
        raise NotLoadedError("the database holds no network yet; run `oms load --network FILE`")
    net = binary.loads(row.model)
    apply_register(net, critical_register(conn).values())
    return int(row.version), net


def critical_register(conn: Connection) -> dict[str, dict[str, Any]]:
    """The register's edits (``oms.engine.register``), by customer id."""
    r = schema.critical_register
    rows = conn.execute(select(r)).mappings()
    return {row["customer"]: {**row, "updated_at": iso(as_utc(row["updated_at"]))} for row in rows}


def register_entries(conn: Connection, net: Network) -> list[dict[str, Any]]:
    """Every customer on the register (``net``'s customers with a reason), with
    its contacts, note and last edit, by customer id. O(customers)."""
    cust = net.customers
    if cust is None:
        return []
    edits = critical_register(conn)
    rows = []
    for u in cust.critical_mask().nonzero()[0].tolist():
        edit = edits.get(cust.ids[u]) or {}
        rows.append(
            {
                "customer": cust.ids[u],
                "name": cust.get("name", u),
                "address": cust.get("address", u),
                "phone": cust.get("phone", u),
                "critical": cust.get("critical", u),
                "emergency_plan": cust.get("emergency_plan", u),
                "contacts": list(edit.get("contacts") or []),
                "note": edit.get("note"),
                "updated_at": edit.get("updated_at"),
                "updated_by": edit.get("updated_by"),
            }
        )
    rows.sort(key=lambda r: r["customer"])
    return rows


def apply_register(net: Network, entries: Iterable[Mapping[str, Any]]) -> None:
    """Put the register's edits over the customers file's reasons and plans. O(entries)."""
    cust = net.customers
    if cust is None:
        return
    edits: dict[str, dict[int, Any]] = {"critical": {}, "emergency_plan": {}}
    for entry in entries:
        u = cust.index.get(entry["customer"])
        if u is None:
            continue  # gone from the customers file: the entry waits for it
        for key, column in edits.items():
            column[u] = entry[key]
    for key, column in edits.items():
        if column:
            cust.edit(key, column)


def device_states(conn: Connection) -> dict[str, dict[str, Any]]:
    """Switch states as operated, where they were reported: id -> row."""
    rows = conn.execute(select(schema.device_states)).mappings()
    return {r["device"]: dict(r) for r in rows}


def operated_network(engine: Engine) -> Network:
    """The latest network as operated: its devices in their reported states,
    with the jumpers and cuts in place. O(n + m)."""
    with engine.connect() as conn:
        _, net = stored_network(conn)
        states = device_states(conn)
        field = field_in_place(conn)
    return with_reported_states(net, states, field)


def field_in_place(conn: Connection) -> list[tuple[str, str]]:
    """``(kind, device)`` of the jumpers and cuts in place (temporary network changes)."""
    fc = schema.field_changes
    rows = conn.execute(
        select(fc.c.kind, fc.c.device).where(
            fc.c.active.is_(True), fc.c.kind.in_(("jumper", "cut"))
        )
    )
    return [(kind, device) for kind, device in rows]


def with_reported_states(
    net: Network,
    states: dict[str, dict[str, Any]],
    field: Iterable[tuple[str, str]] = (),
) -> Network:
    """``net`` with its operable devices in the reported ``states`` (id -> row), as a view.

    Devices not reported are in their normal state; ids ``net`` lacks are
    ignored. ``field``: the jumpers (the edge conducts) and cuts (the
    conductor is open) in place, as ``(kind, device)``. ``net`` itself is not
    changed (see :meth:`~topology.model.Network.with_states`). O(n + m).
    """
    closed = net.edge_normal_closed.copy()
    for device, row in states.items():
        e = net.edge_index.get(device)
        if e is not None and net.is_operable(e):
            closed[e] = row["state"] == "closed"
    cut = np.zeros(net.n_edges, dtype=bool)
    changes = [(k, net.edge_index[d]) for k, d in field if d in net.edge_index]
    for kind, e in changes:
        if kind == "cut":
            cut[e], closed[e] = True, False
    for kind, e in changes:
        if kind == "jumper":
            closed[e] = True
    return net.with_states(closed, cut=cut)


def _customer_rows(net: Network) -> list[dict[str, Any]]:
    cust = net.customers
    if cust is None:
        return []
    cols = {name: cust.fields.get(name) for name in CUSTOMER_FIELDS}
    rows = []
    for i, cid in enumerate(cust.ids):
        row: dict[str, Any] = {"id": cid, "node": net.node_ids[cust.node[i]]}
        for name, column in cols.items():
            row[name] = None if column is None else column[i]
        rows.append(row)
    return rows


def _write_version(conn: Connection, net: Network, source: str, digest: str, now: datetime) -> int:
    pk = conn.execute(
        insert(schema.network_versions).values(
            loaded_at=now,
            source=source,
            digest=digest,
            nodes=net.n_nodes,
            edges=net.n_edges,
            customers=int(net.node_customers.sum()),
            model=binary.dumps(net),
            warnings=[i.as_dict() for i in net.warnings],
        )
    ).inserted_primary_key
    assert pk is not None  # a single-row INSERT always has one
    version = pk[0]
    conn.execute(delete(schema.customers))
    rows = _customer_rows(net)
    for start in range(0, len(rows), 20000):
        conn.execute(insert(schema.customers), rows[start : start + 20000])
    register_into_customers(conn, critical_register(conn).values())
    return int(version)


def register_into_customers(conn: Connection, entries: Iterable[Mapping[str, Any]]) -> None:
    """The searchable ``customers`` table shows the register's edits. O(entries)."""
    c = schema.customers
    for entry in entries:
        conn.execute(
            update(c)
            .where(c.c.id == entry["customer"])
            .values(critical=entry["critical"], emergency_plan=entry["emergency_plan"])
        )


def load_model(engine: Engine, net: Network, source: str = "model") -> int:
    """Store an in-memory network (with its customers) as a new version; its number."""
    with engine.begin() as conn:
        return _write_version(conn, net, source, "-", datetime.now(timezone.utc))


def load(
    engine: Engine,
    *,
    network: str | Path | None = None,
    customers: str | Path | None = None,
    crews: str | Path | None = None,
    units: str | Path | None = None,
    zones: str | Path | None = None,
    roads: str | Path | None = None,
    crs: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Load the given files into the database (contract 4, ``oms load``).

    Returns
    -------
    dict
        ``network_version``, ``nodes``, ``edges``, ``customers``, ``crews``,
        ``zones``, ``warnings`` (list of str), and ``changed`` (whether a new
        network version was written).

    Raises
    ------
    topology.NetworkValidationError, topology.NetworkFileError
        A file has errors; nothing is written.
    NotLoadedError
        Customers without a network, and none in the database.
    """
    now = now or datetime.now(timezone.utc)
    warnings: list[str] = []
    net: Network | None = None
    digest = None
    with engine.connect() as conn:
        current = network_version(conn)
        if network is not None:
            net = read_network(network, crs=crs, customers=customers)
            digest = _file_digest(network, customers)
        elif customers is not None:
            _, net = stored_network(conn)
            attach_customers(net, read_customers(customers, net))
            digest = _file_digest(None, customers)
        if digest is not None and current is not None:
            same = conn.execute(
                select(schema.network_versions.c.digest).where(
                    schema.network_versions.c.version == current
                )
            ).scalar()
            if same == digest:
                net = None  # unchanged: keep the current version
        unit_rows = read_units(units) if units else None
        unit_ids = (
            {u["id"] for u in unit_rows}
            if unit_rows is not None
            else set(conn.execute(select(schema.units.c.id)).scalars()) or None
        )
        zone_rows = read_zones(zones, unit_ids) if zones else None
        zone_ids = (
            {z["id"] for z in zone_rows}
            if zone_rows is not None
            else set(conn.execute(select(schema.zones.c.id)).scalars()) or None
        )
        crew_rows = read_crews(crews, unit_ids, zone_ids) if crews else None
        roads_blob = Path(roads).read_bytes() if roads else None

    diff: dict[str, Any] | None = None
    with engine.begin() as conn:
        version = current
        if net is not None:
            warnings += [str(i) for i in net.warnings]
            if current is not None:
                diff = network_diff(stored_network(conn)[1], net)
            version = _write_version(conn, net, str(network or customers), digest or "-", now)
            warnings += _live_state_lost(conn, net)
            # A running engine reloads: its next write finds the generation moved.
            generation = conn.execute(
                select(schema.engine_state.c.value).where(schema.engine_state.c.key == "generation")
            ).scalar()
            conn.execute(
                delete(schema.engine_state).where(schema.engine_state.c.key == "generation")
            )
            conn.execute(
                insert(schema.engine_state).values(
                    key="generation", value=str(int(generation or 0) + 1)
                )
            )
            lost = conn.execute(
                select(schema.outages.c.id, schema.outages.c.device).where(
                    schema.outages.c.state.in_(("predicted", "confirmed"))
                )
            ).all()
            for oid, device in lost:
                if device is not None and device not in net.edge_index:
                    warnings.append(
                        f"open outage {oid} is on {device}, which is not in the new network"
                    )
        if unit_rows is not None:
            conn.execute(delete(schema.units))
            if unit_rows:
                conn.execute(insert(schema.units), unit_rows)
        if zone_rows is not None:
            conn.execute(delete(schema.zones))
            if zone_rows:
                conn.execute(insert(schema.zones), zone_rows)
        if crew_rows is not None:
            # Crews onboarded while running (mutual aid, contractors) are not in
            # the file: they stay unless the file names them.
            kept = _onboarded_crews(conn) - {c["id"] for c in crew_rows}
            conn.execute(delete(schema.crews).where(schema.crews.c.id.not_in(kept)))
            if kept:
                warnings.append(
                    f"kept {len(kept)} crew(s) onboarded while running: {', '.join(sorted(kept))}"
                )
            if crew_rows:
                conn.execute(insert(schema.crews), [{**c, "gps_time": None} for c in crew_rows])
        if roads_blob is not None:
            conn.execute(delete(schema.documents).where(schema.documents.c.name == "roads"))
            conn.execute(
                insert(schema.documents).values(
                    name="roads", loaded_at=now, source=str(roads), content=roads_blob
                )
            )
        if version is None:
            raise NotLoadedError("no network loaded yet: give --network FILE")
        row = (
            conn.execute(
                select(schema.network_versions).where(schema.network_versions.c.version == version)
            )
            .mappings()
            .one()
        )
        n_crews = conn.execute(select(func.count()).select_from(schema.crews)).scalar()
        n_zones = conn.execute(select(func.count()).select_from(schema.zones)).scalar()
    return {
        "network_version": int(version),
        "changed": net is not None,
        "nodes": int(row["nodes"]),
        "edges": int(row["edges"]),
        "customers": int(row["customers"]),
        "crews": int(n_crews or 0),
        "zones": int(n_zones or 0),
        "warnings": warnings,
        "diff": diff,
    }


def _live_state_lost(conn: Connection, net: Network) -> list[str]:
    """Warnings for what is live on devices the new version no longer has.

    Reported switch states of such devices are dropped; field changes in
    place (tags, grounds, jumpers, cuts) and open switching documents that
    name them are kept, and said.
    """
    ds, fc = schema.device_states, schema.field_changes
    warnings = []
    stale = [d for d in conn.execute(select(ds.c.device)).scalars() if d not in net.edge_index]
    if stale:
        conn.execute(delete(ds).where(ds.c.device.in_(stale)))
        warnings.append(
            f"dropped the reported states of {len(stale)} device(s) no longer in the network: "
            + ", ".join(sorted(stale)[:20])
        )
    placed = conn.execute(select(fc.c.kind, fc.c.device).where(fc.c.active.is_(True))).all()
    for kind, device in placed:
        if device not in net.edge_index:
            warnings.append(f"a {kind} is in place on {device}, which is not in the new network")
    docs = schema.switching_documents
    for doc_id, body in conn.execute(
        select(docs.c.id, docs.c.body).where(docs.c.state.not_in(("completed", "cancelled")))
    ):
        items = [*(body or {}).get("steps", []), *(body or {}).get("points", [])]
        named = {i.get("device") for i in items if isinstance(i, dict)}
        gone = sorted(d for d in named if isinstance(d, str) and d not in net.edge_index)
        if gone:
            warnings.append(f"{doc_id} names {', '.join(gone)}, not in the new network")
    return warnings


def _onboarded_crews(conn: Connection) -> set[str]:
    """Crews added by ``crew_add`` events (docs/mutual-aid.md) still in the crews table."""
    ev = schema.events
    added = {
        json.loads(payload).get("crew")
        for payload in conn.execute(select(ev.c.payload).where(ev.c.type == "crew_add")).scalars()
    }
    present = set(conn.execute(select(schema.crews.c.id)).scalars())
    return {c for c in added if isinstance(c, str)} & present


def customers_below(net: Network, device: str) -> np.ndarray:
    """Positions of the customers (or nodes, without a customers file) that
    lose supply when ``device`` opens, in the network's current state. O(n)."""
    e = net.edge_index.get(device)
    if e is None:
        return np.empty(0, dtype=np.int64)
    nodes = net.supply.downstream_nodes(e)
    if net.customers is None:
        return np.asarray(nodes, dtype=np.int64)
    dead = np.zeros(net.n_nodes, dtype=bool)
    dead[nodes] = True
    return np.flatnonzero(dead[net.customers.node])
