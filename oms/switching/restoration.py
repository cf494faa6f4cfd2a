"""An outage's isolation and restoration plan as the steps of a switching order. No I/O.

The plan is FLISR's (:mod:`topology.flisr`): isolate the faulted section,
then restore the healthy parts (reclose the tripped device, pick dead parts
up through ties). As order steps: every device the plan opens (isolation
and sectionalizing), then every device it closes, in the plan's order:
break before make.

:func:`plan` is the one plan (the map's plan layer and the outage panel
show it, the desk drafts orders from it): on the network as operated, with
the devices that tripped and would feed the dead part holding the fault
closed again, so it describes the switching from the state before the
trip; :func:`outage_plan_steps` leaves out what the network as operated has
done already.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oms.exceptions import ActionError
from topology.exceptions import TopologyError
from topology.model import Network

__all__ = ["outage_plan_steps", "plan"]


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
        if net.edge_closed[d] or not net.is_operable(d):
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
    conductors = [x for x in others if not net.is_operable(x)]
    pick = conductors or others
    return min(pick, key=lambda x: net.edge_ids[x]) if pick else device


def plan(
    net: Network,
    element: str,
    *,
    reclose: Sequence[str] = (),
    below: bool = False,
) -> dict[str, Any]:
    """The isolation and restoration plan for a fault on ``element`` (an edge id).

    The plan is made on a view of ``net`` in the switching state in which the
    devices of ``reclose`` (those that tripped) that would feed the dead part
    holding ``element`` are closed again, so it describes the switching from
    the state before this trip (other feeders' trips stay open); ``net`` is
    not changed. With ``below``, ``element`` is
    the operated device and the fault is taken to be in the section right
    below it.

    Returns
    -------
    dict
        ``{"faulted", "isolate": doc | None, "restore": doc | None, "error":
        str | None, "affected_nodes"}`` with the documents of ``oms trace
        isolate`` and ``oms trace restore`` (contract 4); ``affected_nodes``
        are the nodes that had supply before the fault and have none once it
        is isolated (what the plan is about; not those dead for other
        reasons).

    Notes
    -----
    O(n + m) per switching step (see :mod:`topology.flisr`).
    """
    from topology import flisr

    e0 = net.edge(element)
    closed = net.edge_closed.copy()
    closed[_feeding(net, e0, [net.edge_index[d] for d in reclose if d in net.edge_index])] = True
    trial = net.with_states(closed)
    e = e0
    if below:
        e = _below(trial, e)
    faulted = trial.edge_ids[e]
    result: dict[str, Any] = {"faulted": faulted, "isolate": None, "restore": None, "error": None}
    try:
        result["isolate"] = flisr.isolate(trial, faulted).data
        result["restore"] = flisr.restore(trial, faulted).data
    except TopologyError as exc:
        result["error"] = str(exc)
        return result
    before = trial.supply.energized
    dead = result["isolate"]["deenergized_nodes"]
    result["affected_nodes"] = [v for v in dead if before[trial.node_index[v]]]
    return result


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
    try:
        found = plan(net, element, reclose=reclose, below=below)
    except TopologyError as exc:
        raise ActionError(f"no switching plan for {outage_id}: {exc}") from None
    if found["error"]:
        raise ActionError(f"no switching plan for {outage_id}: {found['error']}")
    isolate, restore = found["isolate"], found["restore"]

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
