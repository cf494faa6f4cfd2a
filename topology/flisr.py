"""Fault isolation and service restoration (FLISR).

Given a faulted edge, :func:`isolate` finds the switching that cuts the
faulted section off from every source, and :func:`restore` the switching
that then gives supply back to the healthy parts: reclose the protective
device that tripped, and pick the dead parts up through normally-open
ties, within the feeders' customer capacity, splitting a dead part at an
operable device when no single tie can carry all of it.

Definitions used here:

- The *faulted section* is what the faulted edge reaches through closed
  edges that cannot be operated (conductors, transformers): it can only be
  de-energized as a whole.
- A closed operable device on the section's boundary is opened when the
  far side can be fed by a source in *some* switching state (through any
  edge, open ties included, without crossing the section). A fused lateral
  with no other supply is left alone: it is dead anyway and opening it adds
  a switching step for nothing.
- The protective device that *tripped* is the nearest protective device
  above the faulted edge in the current supply tree.
- Restored and unrestored customers are counted among those that had supply
  before the fault and have none right after isolation (the tripped device
  still open, the isolation devices opened).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from topology.exceptions import IsolationError, NotEnergizedError, TopologyError
from topology.model import Network
from topology.supply import SpanningTree
from topology.traces import TraceResult

__all__ = ["isolate", "restore"]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = csr_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


@dataclass
class _Isolation:
    faulted: int
    section: np.ndarray  # node positions of the faulted section
    open: list[int]  # devices to open, edge positions


def _isolation(net: Network, e: int) -> _Isolation:
    if not net.edge_closed[e]:
        raise TopologyError(f"{net.edge_ids[e]} is open: a fault there carries no current")
    supply = net.supply
    a, b = int(net.edge_from[e]), int(net.edge_to[e])
    if not (supply.energized[a] or supply.energized[b]):
        raise NotEnergizedError(f"{net.edge_ids[e]} has no supply: there is nothing to isolate")
    operable = net.operable
    closed = net.edge_closed
    # The section: closed, non-operable edges reach it from the faulted edge.
    seen = {a, b}
    stack = [a, b]
    boundary: set[int] = set()
    while stack:
        v = stack.pop()
        for x in net.edges_at(v):
            x = int(x)
            if x == e or not closed[x]:
                continue
            if operable[x]:
                boundary.add(x)
                continue
            w = net.other_end(x, v)
            if w not in seen:
                seen.add(w)
                stack.append(w)
    section = np.fromiter(seen, dtype=np.int64)
    inside = section[net.node_source[section]]
    if len(inside):
        raise IsolationError(
            f"the faulted section of {net.edge_ids[e]} holds source "
            f"{net.node_ids[inside[0]]} with no operable device between: it cannot be "
            "isolated by switching"
        )
    in_section = np.zeros(net.n_nodes, dtype=bool)
    in_section[section] = True
    # Which far sides could ever be fed: components of the whole graph (any
    # state) without the section, checked for a source.
    keep = ~in_section[net.edge_from] & ~in_section[net.edge_to]
    labels = _components(net.n_nodes, net.edge_from[keep], net.edge_to[keep])
    fed_labels = np.zeros(labels.max() + 1 if len(labels) else 1, dtype=bool)
    fed_labels[labels[net.node_source & ~in_section]] = True
    to_open = []
    for x in sorted(boundary):
        u, w = int(net.edge_from[x]), int(net.edge_to[x])
        far = w if in_section[u] else u
        if in_section[u] and in_section[w]:
            to_open.append(x)  # both ends in the section: a device inside it
        elif fed_labels[labels[far]]:
            to_open.append(x)
    return _Isolation(e, section, to_open)


def _dead_after(net: Network, closed: np.ndarray) -> np.ndarray:
    tree = SpanningTree(
        net.n_nodes, np.flatnonzero(closed), net.edge_from, net.edge_to, net.sources
    )
    return ~tree.reached[: net.n_nodes]


def isolate(net: Network, faulted: str) -> TraceResult:
    """Devices to open so that the faulted edge has no path to any source.

    Returns the contract-4 document ``{"faulted", "open", "deenergized_nodes"}``
    where ``deenergized_nodes`` are all the nodes without supply once the
    devices are opened, plus ``section_nodes`` (the faulted section).
    O(n + m).

    Raises
    ------
    TopologyError
        The faulted edge is open, has no supply (``NotEnergizedError``), or
        its section holds a source (``IsolationError``).
    """
    iso = _isolation(net, net.edge(faulted))
    closed = net.edge_closed.copy()
    closed[iso.open] = False
    dead = np.flatnonzero(_dead_after(net, closed))
    open_ids = sorted(net.edge_ids[x] for x in iso.open)
    dead_ids = sorted(net.node_ids[v] for v in dead)
    section_ids = sorted(net.node_ids[v] for v in iso.section)
    return TraceResult(
        {
            "faulted": faulted,
            "open": open_ids,
            "deenergized_nodes": dead_ids,
            "section_nodes": section_ids,
        },
        {"faulted": [faulted], "open": open_ids, "deenergized": dead_ids},
    )


class _State:
    """Supply in a trial switching state, with feeder loads for capacity checks."""

    def __init__(self, net: Network, closed: np.ndarray) -> None:
        self.net = net
        self.closed = closed
        self.tree = SpanningTree(
            net.n_nodes, np.flatnonzero(closed), net.edge_from, net.edge_to, net.sources
        )
        self.alive = self.tree.reached[: net.n_nodes]
        customers = np.zeros(net.n_nodes + 1, dtype=np.int64)
        customers[: net.n_nodes] = net.node_customers
        self._cum = np.r_[0, np.cumsum(customers[self.tree.pre])]

    def feeder_breaker(self, v: int) -> int | None:
        """Nearest breaker above live node ``v``."""
        breakers = self.net.kind_mask("breaker")
        tree = self.tree
        while tree.parent[v] != tree.root:
            x = int(tree.parent_edge[v])
            if breakers[x]:
                return x
            v = int(tree.parent[v])
        return None

    def load(self, breaker: int) -> int:
        """Customers fed through ``breaker`` now."""
        c = int(self.tree.edge_child[breaker])
        if c < 0:
            return 0
        t = self.tree.tin[c]
        return int(self._cum[t + self.tree.size[c]] - self._cum[t])


def _island_part(
    net: Network, island: set[int], closed: np.ndarray, entry: int, cut: int | None
) -> set[int]:
    """Nodes of ``island`` reached from ``entry`` over closed edges, ``cut`` opened."""
    seen = {entry}
    stack = [entry]
    while stack:
        v = stack.pop()
        for x in net.edges_at(v):
            x = int(x)
            if x == cut or not closed[x]:
                continue
            w = net.other_end(x, v)
            if w in island and w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


@dataclass(frozen=True)
class _Pickup:
    """Close ``tie`` (after opening ``cut``, if any) to feed ``customers`` from ``breaker``."""

    tie: int
    cut: int | None
    breaker: int | None
    customers: int
    spare_after: float

    def key(self) -> tuple[int, bool, float, int, int]:
        # Most customers first, then no extra switching, then the feeder
        # left with the most room, then by position (deterministic).
        return (
            self.customers,
            self.cut is None,
            self.spare_after,
            -self.tie,
            -(self.cut if self.cut is not None else -1),
        )


def _best_pickup(
    net: Network, closed: np.ndarray, wanted: np.ndarray, barred: set[int]
) -> _Pickup | None:
    """The best single pickup of dead ``wanted`` nodes through one open tie.

    O(n + m) for the state, plus, for a part too large for any tie, one
    search of the part per operable device inside it.
    """
    state = _State(net, closed)
    dead = ~state.alive & wanted
    if not dead.any():
        return None
    operable = net.operable
    keep = closed & dead[net.edge_from] & dead[net.edge_to]
    labels = _components(net.n_nodes, net.edge_from[keep], net.edge_to[keep])
    best: _Pickup | None = None
    for t in np.flatnonzero(~closed & operable).tolist():
        if t in barred:
            continue
        u, w = int(net.edge_from[t]), int(net.edge_to[t])
        if dead[u] and state.alive[w]:
            entry, live = u, w
        elif dead[w] and state.alive[u]:
            entry, live = w, u
        else:
            continue
        breaker = state.feeder_breaker(live)
        spare = np.inf
        if breaker is not None and np.isfinite(net.edge_capacity[breaker]):
            spare = float(net.edge_capacity[breaker] - state.load(breaker))
        island = set(np.flatnonzero(labels == labels[entry]).tolist())
        whole = int(net.node_customers[list(island)].sum())
        options: list[tuple[int, int | None]] = [(whole, None)] if whole <= spare else []
        if not options:
            cuts = {
                int(x)
                for v in island
                for x in net.edges_at(v)
                if closed[x] and operable[x] and int(x) not in barred
            }
            for x in sorted(cuts):
                part = _island_part(net, island, closed, entry, x)
                got = int(net.node_customers[list(part)].sum())
                if 0 < got <= spare and len(part) < len(island):
                    options.append((got, x))
        for got, cut in options:
            pick = _Pickup(t, cut, breaker, got, float(spare - got))
            if got > 0 and (best is None or pick.key() > best.key()):
                best = pick
    return best


def restore(net: Network, faulted: str) -> TraceResult:
    """Isolate the fault, reclose upstream and pick up what is left through ties.

    Returns ``{"faulted", "open", "close", "restored_customers",
    "unrestored_customers"}`` (contract 4) plus ``tripped`` (the protective
    device assumed to have operated), ``steps`` (the switching plan in
    order) and ``pickups`` (per tie: the feeder breaker that takes the load
    and how many customers).

    A tie is used only if the picking-up feeder's ``capacity_customers``
    (on its breaker) allows the extra customers; when no tie can take a
    whole dead part, it is split at one operable device at a time, taking
    the split that restores the most customers, until nothing more fits.
    O(n + m) per switching step.
    """
    e = net.edge(faulted)
    iso = _isolation(net, e)
    supply = net.supply
    tripped = None
    top = supply.upper_end(e)
    if top is not None:
        tripped = next((x for x in supply.upstream_edges(top) if net.is_protective(x)), None)
    opened = set(iso.open)
    closed = net.edge_closed.copy()
    closed[list(opened)] = False
    if tripped is not None:
        closed[tripped] = False
    dead_iso = ~_State(net, closed).alive
    affected = dead_iso & supply.energized
    in_section = np.zeros(net.n_nodes, dtype=bool)
    in_section[iso.section] = True

    steps: list[dict[str, str]] = [
        {"action": "open", "device": net.edge_ids[x], "why": "isolate"} for x in sorted(opened)
    ]
    to_close: list[int] = []
    if tripped is not None and tripped not in opened:
        closed[tripped] = True
        to_close.append(tripped)
        steps.append({"action": "close", "device": net.edge_ids[tripped], "why": "reclose"})

    pickups: list[dict[str, object]] = []
    barred = opened | {e} | ({tripped} if tripped is not None else set())
    while (pick := _best_pickup(net, closed, affected & ~in_section, barred)) is not None:
        if pick.cut is not None:
            closed[pick.cut] = False
            opened.add(pick.cut)
            barred.add(pick.cut)
            steps.append(
                {"action": "open", "device": net.edge_ids[pick.cut], "why": "sectionalize"}
            )
        closed[pick.tie] = True
        to_close.append(pick.tie)
        barred.add(pick.tie)
        steps.append({"action": "close", "device": net.edge_ids[pick.tie], "why": "pick up"})
        pickups.append(
            {
                "tie": net.edge_ids[pick.tie],
                "feeder": net.edge_ids[pick.breaker] if pick.breaker is not None else None,
                "customers": pick.customers,
            }
        )

    final_dead = ~_State(net, closed).alive
    restored = int(net.node_customers[affected & ~final_dead].sum())
    unrestored = int(net.node_customers[affected & final_dead].sum())
    open_ids = sorted(net.edge_ids[x] for x in opened)
    close_ids = sorted(net.edge_ids[x] for x in to_close)
    return TraceResult(
        {
            "faulted": faulted,
            "open": open_ids,
            "close": close_ids,
            "restored_customers": restored,
            "unrestored_customers": unrestored,
            "tripped": net.edge_ids[tripped] if tripped is not None else None,
            "steps": steps,
            "pickups": pickups,
        },
        {
            "faulted": [faulted],
            "open": open_ids,
            "close": close_ids,
            "deenergized": sorted(net.node_ids[v] for v in np.flatnonzero(final_dead)),
        },
    )
