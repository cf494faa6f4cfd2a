"""A summary of a network model, for ``oms network info`` and reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from topology.model import EDGE_KINDS, Network
from topology.traces import loops

__all__ = ["describe_network"]


def describe_network(net: Network) -> dict[str, Any]:
    """Counts by kind, feeders, customers, lengths, loops and extent.

    O(n + m + total loop length).
    """
    by_kind = {}
    for code, kind in enumerate(EDGE_KINDS):
        mask = net.edge_kind == code
        if mask.any():
            by_kind[kind] = {
                "count": int(mask.sum()),
                "length_km": float(net.edge_length_m[mask].sum() / 1000.0),
                "scada": int((mask & net.edge_scada).sum()),
            }
    critical = int(net.customers.critical_mask().sum()) if net.customers is not None else 0
    xy = net.node_xy
    bbox = [round(float(v), 6) for v in (*xy.min(axis=0), *xy.max(axis=0))] if len(xy) else []
    return {
        "nodes": net.n_nodes,
        "sources": int(net.node_source.sum()),
        "edges": net.n_edges,
        "edges_by_kind": by_kind,
        "feeders": int(net.kind_mask("breaker").sum()),
        "normally_open": sorted(net.edge_ids[e] for e in np.flatnonzero(~net.edge_normal_closed)),
        "customers": int(net.node_customers.sum()),
        "critical_customers": critical,
        "energized_customers": int(net.node_customers[net.supply.energized].sum()),
        "loops": len(loops(net).data["loops"]),
        "unreachable_nodes": int((~net.supply.energized).sum()),
        "bbox": bbox,
        "warnings": len(net.warnings),
    }
