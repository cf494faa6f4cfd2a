"""An outage's isolation and restoration plan as the steps of a switching order. No I/O.

The plan is FLISR's (:mod:`topology.flisr`): isolate the faulted section,
then restore the healthy parts (reclose the tripped device, pick dead parts
up through ties). As order steps: every device the plan opens (isolation
and sectionalizing), then every device it closes, in the plan's order:
break before make.

It is made as ``POST /api/outages/<id>/order`` makes it
(``webmap.layers.plan``): on the network as operated, with the devices that
tripped and would feed the dead part holding the fault closed again, so the
plan describes the switching from the state before the trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oms.exceptions import ActionError
from topology.exceptions import TopologyError
from topology.model import Network

__all__ = ["outage_plan_steps"]


def _feeding(net: Network, e: int, candidates: Sequence[int]) -> list[int]:
    """The open ``candidates`` whose closing would feed the dead part holding edge ``e``.

    Empty when ``e`` has supply. O(n + m) (connected components of the closed edges).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    alive = net.supply.energized
    ends = (int(net.edge_from[e]), int(net.edge_to[e]))
    if all(alive[v] for v in ends) or not candidates:
        return []
    closed = np.flatnonzero(net.edge_closed)
    n = net.n_nodes
    graph = csr_matrix(
        (np.ones(len(closed), dtype=np.int8), (net.edge_from[closed], net.edge_to[closed])),
        shape=(n, n),
    )
    labels = connected_components(graph, directed=False)[1]
    island = {int(labels[v]) for v in ends if not alive[v]}
    found = []
    for d in candidates:
        a, b = int(net.edge_from[d]), int(net.edge_to[d])
        if net.edge_closed[d] or not net.operable[d]:
            continue
        if (labels[a] in island and alive[b]) or (labels[b] in island and alive[a]):
            found.append(d)
    return found


def _below(net: Network, device: int) -> int:
    """The edge to treat as faulted when only the operated device is known: the
    first closed conductor (or other edge) at its downstream end, else itself."""
    child = int(net.supply.tree.edge_child[device])
    if child < 0:
        return device
    others = [int(x) for x in net.edges_at(child) if int(x) != device and net.edge_closed[x]]
    conductors = [x for x in others if not net.operable[x]]
    pick = conductors or others
    return min(pick, key=lambda x: net.edge_ids[x]) if pick else device


def outage_plan_steps(
    net: Network,
    outage_id: str,
    section: Sequence[str],
    device: str | None,
    reclose: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The steps (``order_create``'s ``steps``) of the plan for an outage.

    ``net`` is the network as operated (tripped devices open), ``section``
    and ``device`` the outage's: the fault is on the section's first edge,
    else in the section right below the device; ``reclose`` the devices that
    tripped. ``net`` is not changed. O(n + m) per switching step.

    Raises
    ------
    ActionError
        A single customer's outage (no device), or no plan (the reason).
    """
    if section:
        element, below = sorted(section)[0], False
    elif device:
        element, below = device, True
    else:
        raise ActionError(f"{outage_id} is a single customer's outage: no switching plan")
    from topology import flisr

    try:
        e = net.edge(element)
        closed = net.edge_closed.copy()
        candidates = [net.edge_index[d] for d in reclose if d in net.edge_index]
        closed[_feeding(net, e, candidates)] = True
        trial = net.with_states(closed)
        faulted = trial.edge_ids[_below(trial, e) if below else e]
        isolate = flisr.isolate(trial, faulted).data
        restore = flisr.restore(trial, faulted).data
    except TopologyError as exc:
        raise ActionError(f"no switching plan for {outage_id}: {exc}") from None

    # The plan starts from before the trip; a device already open (the one
    # that tripped) or closed is not operated again (found by a new-user
    # trial: the draft opened a tripped recloser first, so checking it was
    # refused: 'already open at this step').
    def now_closed(d: str) -> bool:
        return bool(net.edge_closed[net.edge_index[d]])

    opens = sorted(d for d in set(isolate["open"]) | set(restore["open"]) if now_closed(d))
    steps = [{"action": "open", "device": d} for d in opens]
    steps += [{"action": "close", "device": d} for d in restore["close"] if not now_closed(d)]
    if not steps:
        raise ActionError(f"the plan for {outage_id} operates nothing")
    return steps
