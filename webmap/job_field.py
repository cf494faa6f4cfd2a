"""A job as a crew reads it in the field (``GET /api/jobs/<id>``).

- :func:`customer_record`: a service job's customer as the customers file
  has it (contract 2: name, address, phone, account, meter, critical reason,
  emergency plan)
  and where the customer is supplied from: the supply transformer (the
  nearest transformer above the customer's node, below the feeder breaker)
  and the feeder (the nearest breaker above it, named as the network names
  it). A customer cut off now is placed on the network in its normal state,
  where the crew will find the supply.
- :func:`critical_premises`: the critical customers a network job's outage
  has out, by name, address, reason, phone and emergency plan.

The emergency plan is the customers file's optional free text (contract 2):
None where the file gives none, and the handheld then says no plan is on file.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.storage import schema
from oms.storage.queries import critical_customers_out
from topology.model import Network

__all__ = ["CRITICAL_LIMIT", "critical_premises", "customer_record", "supply_of"]

_UNKNOWN: dict[str, Any] = {
    "transformer": None,
    "feeder": None,
    "source": None,
    "source_name": None,
}
#: The most critical premises listed under a network job (the rest are counted).
CRITICAL_LIMIT = 50


def _edge(net: Network, e: int) -> dict[str, Any]:
    return {"id": net.edge_ids[e], "name": net.edge_name[e]}


def _climb(net: Network, node: str) -> tuple[list[int], str | None]:
    """The edges from ``node`` up to its source and the source, as operated;
    on the normal-state network when no source reaches it now."""
    from topology import traces

    up = traces.upstream(net, node).data
    if up["source"] is None:
        normal = net.with_states(net.edge_normal_closed)
        up = traces.upstream(normal, node).data
    return [net.edge_index[eid] for eid in up["path"]], up["source"]


def supply_of(net: Network, node: str) -> dict[str, Any]:
    """The supply transformer, feeder (breaker) and source (its id and name) above ``node``.

    ``transformer`` is None when no transformer lies between the node and
    its feeder breaker (a customer on the medium-voltage feeder), ``feeder``
    when no breaker is above it. O(depth); O(n + m) for a node dead now.
    """
    if node not in net.node_index:
        return dict(_UNKNOWN)
    path, source = _climb(net, node)
    transformer = feeder = None
    for e in path:
        kind = net.kind_of(e)
        if kind == "breaker":
            feeder = _edge(net, e)
            break
        if kind == "transformer" and transformer is None:
            transformer = _edge(net, e)
    name = net.node_name[net.node_index[source]] if source in net.node_index else None
    return {"transformer": transformer, "feeder": feeder, "source": source, "source_name": name}


def customer_record(conn: Connection, net: Network | None, customer: str) -> dict[str, Any] | None:
    """The customer's record and supply (None for an unknown customer)."""
    c = schema.customers
    row = conn.execute(
        select(
            c.c.id,
            c.c.name,
            c.c.phone,
            c.c.address,
            c.c.account,
            c.c.meter,
            c.c.critical,
            c.c.emergency_plan,
            c.c.node,
        ).where(c.c.id == customer)
    ).first()
    if row is None:
        return None
    doc = dict(row._mapping)
    doc["critical"] = doc["critical"] or None
    doc["emergency_plan"] = doc["emergency_plan"] or None
    supply = supply_of(net, row.node) if net is not None else _UNKNOWN
    return {**doc, **supply}


def critical_premises(conn: Connection, net: Network, outage: str) -> dict[str, Any]:
    """The critical customers ``outage`` has out: ``total`` and the first
    :data:`CRITICAL_LIMIT` in ``listed`` (id, name, address, phone, critical,
    emergency_plan)."""
    found = critical_customers_out(conn, net, outage, CRITICAL_LIMIT)
    cust = net.customers
    for premises in found["listed"]:
        premises["emergency_plan"] = (
            None if cust is None else cust.get("emergency_plan", cust.index[premises["id"]])
        )
    return found
