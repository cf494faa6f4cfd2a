"""Network traces: upstream, downstream, feeder, de-energized, loops, path.

Each trace returns a :class:`TraceResult` whose ``data`` is the JSON
document of contract 4 (ids as strings, id lists sorted unless their order
is a path) and whose ``highlight`` maps a role (``"path"``, ``"nodes"``,
...) to the element ids to draw, for GeoJSON export and maps.

All traces answer for the network's *current* switching state; "downstream
of D" and "de-energized with D open" are the same question.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from topology.exceptions import ElementNotFound, NotEnergizedError, TopologyError
from topology.model import EDGE_KINDS, PROTECTIVE_KINDS, Network
from topology.supply import SpanningTree, reachable_from

__all__ = [
    "TraceResult",
    "dead_nodes",
    "deenergized",
    "downstream",
    "feeder",
    "loops",
    "path",
    "upstream",
]


@dataclass
class TraceResult:
    """The answer of a trace.

    Attributes
    ----------
    data : dict
        The contract-4 JSON document.
    highlight : dict of str to list of str
        Role name to the node or edge ids that play it, for drawing.
    """

    data: dict[str, Any]
    highlight: dict[str, list[str]] = field(default_factory=dict)


def _ids(ids: Sequence[str], positions: Iterable[int]) -> list[str]:
    return sorted(ids[int(i)] for i in positions)


def upstream(net: Network, element: str) -> TraceResult:
    """Path from an element up to the source that feeds it.

    For a node the path starts with the edge above it; for an edge, with the
    edge itself. In a meshed part the path has the fewest edges. A dead
    element has no source and an empty path. O(depth).
    """
    supply = net.supply
    what, i = net.element(element)
    path: list[int] = []
    top: int | None
    if what == "node":
        top = i
    else:
        top = supply.upper_end(i)
        path.append(i)
    source = None
    if top is not None and supply.energized[top]:
        edges, s = supply.tree.climb(top)
        path += edges
        source = net.node_ids[s]
    else:
        path = []
    kinds = net.edge_kind
    ids = [net.edge_ids[e] for e in path]
    return TraceResult(
        {
            "element": element,
            "source": source,
            "path": ids,
            "protective_devices": [
                net.edge_ids[e] for e in path if EDGE_KINDS[kinds[e]] in PROTECTIVE_KINDS
            ],
        },
        {"path": ids, "source": [source] if source else []},
    )


def downstream(net: Network, device: str) -> TraceResult:
    """What loses every path to a source when ``device`` opens.

    O(1) to find, O(result) to list (see :class:`topology.supply.Supply`).
    """
    supply = net.supply
    e = net.edge(device)
    nodes = supply.downstream_nodes(e)
    edges = supply.downstream_edges(e, nodes)
    node_ids = _ids(net.node_ids, nodes)
    edge_ids = _ids(net.edge_ids, edges)
    return TraceResult(
        {
            "device": device,
            "nodes": node_ids,
            "devices": edge_ids,
            "customers": supply.downstream_customers(e),
        },
        {"device": [device], "nodes": node_ids, "edges": edge_ids},
    )


def feeder(net: Network, element: str) -> TraceResult:
    """The feeder an element is on: its breaker, source and the nodes it feeds.

    The feeder breaker is the nearest breaker on the element's upstream
    path; its nodes are those supplied through it in the supply tree (on a
    radial feeder, exactly its downstream). An element with no breaker above
    it (inside a substation) reports ``feeder`` null and the whole supply
    subtree of its source. O(depth + feeder size).

    Raises
    ------
    NotEnergizedError
        The element has no supply, so belongs to no feeder now.
    """
    up = upstream(net, element)
    if up.data["source"] is None:
        raise NotEnergizedError(f"{element} is not energized, so it is on no feeder now")
    supply, tree = net.supply, net.supply.tree
    breaker = next(
        (eid for eid in up.data["path"] if net.kind_of(net.edge_index[eid]) == "breaker"), None
    )
    if breaker is not None:
        b = net.edge_index[breaker]
        below = tree.edge_child[b]
        if below < 0:  # a breaker paralleled by another path: its deeper end
            below = max((net.edge_from[b], net.edge_to[b]), key=lambda v: tree.depth[v])
        top = int(below)
    else:
        top = net.node_index[up.data["source"]]
    nodes = tree.subtree(top)
    node_ids = _ids(net.node_ids, nodes)
    return TraceResult(
        {
            "element": element,
            "feeder": breaker,
            "source": up.data["source"],
            "nodes": node_ids,
            "customers": supply.subtree_customers(top),
        },
        {"nodes": node_ids, "feeder": [breaker] if breaker else []},
    )


def _switched_state(net: Network, open_: Iterable[str], close: Iterable[str]) -> np.ndarray:
    """The closed mask with the operations applied, checked like real switching."""
    from topology.exceptions import NotOperableError

    closed = net.edge_closed.copy()
    operable = net.operable
    for eid, state in [(e, False) for e in open_] + [(e, True) for e in close]:
        e = net.edge(eid)
        if not operable[e]:
            raise NotOperableError(f"{eid} is a {net.kind_of(e)}, not an operable device")
        closed[e] = state
    return closed


def dead_nodes(net: Network, closed: np.ndarray) -> np.ndarray:
    """Positions of the nodes no source reaches through ``closed`` edges. O(n + m)."""
    e = np.flatnonzero(closed)
    order, _ = reachable_from(net.n_nodes, net.edge_from[e], net.edge_to[e], net.sources)
    alive = np.zeros(net.n_nodes + 1, dtype=bool)
    alive[order] = True
    return np.flatnonzero(~alive[: net.n_nodes])


def deenergized(net: Network, open: Iterable[str] = (), close: Iterable[str] = ()) -> TraceResult:
    """Nodes with no supply once the given devices are opened and closed.

    The network itself is not changed. O(n + m).
    """
    closed = _switched_state(net, open, close)
    dead = dead_nodes(net, closed)
    node_ids = _ids(net.node_ids, dead)
    return TraceResult(
        {"nodes": node_ids, "customers": int(net.node_customers[dead].sum())},
        {"nodes": node_ids, "open": sorted(open), "close": sorted(close)},
    )


def loops(net: Network) -> TraceResult:
    """A cycle basis of the closed network: one loop per independent cycle.

    Its size is the cyclomatic number m - n + c of the closed edges; each
    loop is the fundamental cycle of one closed edge outside a spanning
    forest, listed as sorted edge ids. Parallel edges (e.g. two substation
    transformers) form a loop of two. O(n + m + total loop length).
    """
    closed = np.flatnonzero(net.edge_closed)
    a, b = net.edge_from[closed], net.edge_to[closed]
    n = net.n_nodes
    graph = csr_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # One root per component, a source where the component has one.
    rank = np.where(net.node_source, 0, 1) * (n + 1) + np.arange(n)
    order = np.lexsort((rank, labels))
    first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
    tree = SpanningTree(n, closed, net.edge_from, net.edge_to, first)
    cycles = [
        sorted(net.edge_ids[e] for e in tree.cycle(int(e), net.edge_from, net.edge_to))
        for e in tree.nontree
    ]
    cycles.sort()
    return TraceResult({"loops": cycles}, {"loops": sorted({i for c in cycles for i in c})})


def path(net: Network, a: str, b: str, *, through_open: bool = False) -> TraceResult:
    """The path with fewest edges between two elements over closed edges.

    ``a`` and ``b`` are nodes or edges; an edge's path starts (or ends) with
    the edge itself, from whichever of its ends is nearer. With
    ``through_open`` the switch states are ignored (a connectivity path).
    O(n + m).

    Raises
    ------
    TopologyError
        No such path exists in the current state.
    """
    mask = np.ones(net.n_edges, dtype=bool) if through_open else net.edge_closed
    edges = np.flatnonzero(mask)
    ends_a = _ends(net, a)
    ends_b = _ends(net, b)
    n = net.n_nodes
    order, pred = reachable_from(n, net.edge_from[edges], net.edge_to[edges], np.array(ends_a))
    reached = np.zeros(n + 1, dtype=bool)
    reached[order] = True
    targets = [v for v in ends_b if reached[v]]
    if not targets:
        state = "" if through_open else " through closed edges"
        raise TopologyError(f"no path{state} from {a} to {b}")
    # BFS order is by distance: the first target reached is the nearest.
    position = np.empty(n + 1, dtype=np.int64)
    position[order] = np.arange(len(order))
    v = min(targets, key=lambda t: position[t])
    nodes = [v]
    while pred[v] != n:
        nodes.append(int(pred[v]))
        v = int(pred[v])
    nodes.reverse()
    edge_ids = [_edge_between(net, mask, x, y) for x, y in itertools.pairwise(nodes)]
    if net.element(a)[0] == "edge" and a not in edge_ids:
        edge_ids.insert(0, a)
        nodes.insert(0, net.other_end(net.edge_index[a], nodes[0]))
    if net.element(b)[0] == "edge" and b not in edge_ids:
        edge_ids.append(b)
        nodes.append(net.other_end(net.edge_index[b], nodes[-1]))
    node_ids = [net.node_ids[v] for v in nodes]
    return TraceResult(
        {"from": a, "to": b, "edges": edge_ids, "nodes": node_ids},
        {"path": edge_ids, "nodes": node_ids},
    )


def _ends(net: Network, element: str) -> list[int]:
    what, i = net.element(element)
    if what == "node":
        return [i]
    return sorted({int(net.edge_from[i]), int(net.edge_to[i])})


def _edge_between(net: Network, mask: np.ndarray, u: int, v: int) -> str:
    for e in net.edges_at(u):
        if mask[e] and net.other_end(int(e), u) == v:
            return net.edge_ids[e]
    raise ElementNotFound(f"{net.node_ids[u]}-{net.node_ids[v]}", "edge")  # unreachable
