"""What changed between two versions of a network (a GIS refresh). No I/O.

:func:`network_diff` compares by id: nodes and edges added and removed;
nodes moved (further than ``tolerance_m``); edges reconnected (other end
nodes), of another kind, with another normal state, or redrawn (their
geometry moved further than ``tolerance_m`` at some vertex, or gained or
lost vertices); customers added, removed, or moved to another node.
O(n + m + vertices) with dictionaries and numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from topology.model import Network

__all__ = ["network_diff"]

_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)


def _far(a: np.ndarray, b: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Row-wise: points ``a`` and ``b`` (lon, lat) further apart than ``tolerance_m``."""
    lat = np.radians((a[:, 1] + b[:, 1]) / 2)
    dx = (a[:, 0] - b[:, 0]) * np.cos(lat) * _M_PER_DEG
    dy = (a[:, 1] - b[:, 1]) * _M_PER_DEG
    return np.asarray(np.hypot(dx, dy) > tolerance_m)


def _ids(values: list[str], limit: int) -> list[str]:
    return sorted(values)[:limit]


def network_diff(
    old: Network, new: Network, *, tolerance_m: float = 0.5, limit: int = 100
) -> dict[str, Any]:
    """The changes from ``old`` to ``new``, by id.

    Returns a dict with, for ``nodes``, ``edges`` and ``customers``, the
    counts (``added``, ``removed``, and ``moved``; for edges also
    ``reconnected``, ``kind``, ``normal_state``, ``redrawn``) and, under
    ``ids``, the first ``limit`` ids of each (sorted).
    """
    doc: dict[str, Any] = {}

    # Nodes.
    old_nodes, new_nodes = old.node_index, new.node_index
    kept = [n for n in new.node_ids if n in old_nodes]
    oi = np.array([old_nodes[n] for n in kept], dtype=np.int64)
    ni = np.array([new_nodes[n] for n in kept], dtype=np.int64)
    moved = (
        [kept[k] for k in np.flatnonzero(_far(old.node_xy[oi], new.node_xy[ni], tolerance_m))]
        if len(kept)
        else []
    )
    nodes = {
        "added": [n for n in new.node_ids if n not in old_nodes],
        "removed": [n for n in old.node_ids if n not in new_nodes],
        "moved": moved,
    }

    # Edges.
    old_edges = old.edge_index
    edges: dict[str, list[str]] = {
        "added": [],
        "removed": [e for e in old.edge_ids if e not in new.edge_index],
        "reconnected": [],
        "kind": [],
        "normal_state": [],
        "redrawn": [],
    }
    for e_new, eid in enumerate(new.edge_ids):
        e_old = old_edges.get(eid)
        if e_old is None:
            edges["added"].append(eid)
            continue
        ends_old = {old.node_ids[old.edge_from[e_old]], old.node_ids[old.edge_to[e_old]]}
        ends_new = {new.node_ids[new.edge_from[e_new]], new.node_ids[new.edge_to[e_new]]}
        if ends_old != ends_new:
            edges["reconnected"].append(eid)
        if old.kind_of(e_old) != new.kind_of(e_new):
            edges["kind"].append(eid)
        if bool(old.edge_normal_closed[e_old]) != bool(new.edge_normal_closed[e_new]):
            edges["normal_state"].append(eid)
        a, b = old.edge_coords(e_old), new.edge_coords(e_new)
        if len(a) != len(b) or (len(a) and _far(a, b, tolerance_m).any()):
            edges["redrawn"].append(eid)

    # Customers.
    customers: dict[str, list[str]] = {"added": [], "removed": [], "moved": []}
    oc, nc = old.customers, new.customers
    if oc is not None or nc is not None:
        old_at = {} if oc is None else {c: old.node_ids[oc.node[i]] for i, c in enumerate(oc.ids)}
        new_at = {} if nc is None else {c: new.node_ids[nc.node[i]] for i, c in enumerate(nc.ids)}
        customers["added"] = [c for c in new_at if c not in old_at]
        customers["removed"] = [c for c in old_at if c not in new_at]
        customers["moved"] = [c for c, n in new_at.items() if c in old_at and old_at[c] != n]

    for name, parts in (("nodes", nodes), ("edges", edges), ("customers", customers)):
        doc[name] = {k: len(v) for k, v in parts.items()}
        doc[name]["ids"] = {k: _ids(v, limit) for k, v in parts.items() if v}
    doc["changed"] = any(
        n for part in (nodes, edges, customers) for n in (len(v) for v in part.values())
    )
    return doc
