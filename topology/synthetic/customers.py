"""Individual customers for a generated network that carries customer counts.

A network fixture, not an outage concept: it fills the customer table of
:class:`topology.model.Customers` (contract 2) with placeholder values, one
row per customer counted in ``node_customers``, so that benchmarks and
tests can exercise code that works on individual customers. The demo data
set's customers, with names, addresses and landmarks, are made in
:mod:`oms.demo_build`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from topology.model import Customers, Network

__all__ = ["synthetic_customers"]


def synthetic_customers(
    net: Network, seed: int = 0, *, meter_share: float = 1.0, critical_share: float = 0.002
) -> Customers:
    """Individual customers for a network that carries customer counts per node.

    One customer per counted customer, at that node: ids ``C0000001``...,
    phones ``+1555`` and seven digits, meters ``M0000001``... for a
    ``meter_share`` of them, and a ``critical_share`` on life support or a
    hospital. Attach with :func:`topology.attach_customers`. O(customers).
    """
    rng = np.random.default_rng(seed)
    node = np.repeat(np.arange(net.n_nodes), net.node_customers)
    count = len(node)
    ids = [f"C{i:07d}" for i in range(1, count + 1)]
    metered = rng.random(count) < meter_share
    critical = rng.random(count) < critical_share
    reasons = rng.choice(["life_support", "hospital"], count)
    fields: dict[str, list[Any]] = {
        "phone": [f"+1555{i:07d}" for i in range(1, count + 1)],
        "meter": [f"M{i:07d}" if m else None for i, m in enumerate(metered, start=1)],
        "critical": [str(r) if c else None for r, c in zip(reasons, critical, strict=True)],
    }
    return Customers(ids=ids, node=node, fields=fields)
