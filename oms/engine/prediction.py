"""Fault location: which protective devices most likely operated, given the evidence.

Two predictors work on the same :class:`DeviceTree` and the same evidence:

:func:`most_likely_faults`
    Treats fault location as inference. A hypothesis is a set of operated
    (dead) protective devices. Every customer contributes the log-likelihood
    ratio of what was observed of it (a call, a last gasp, a ping reply, a
    report of supply, or nothing at all) between "dead" and "supplied"; a
    device costs a prior per fault. On the radial supply tree the best set is
    found exactly, bottom-up, by dynamic programming: each candidate keeps the
    better of "operated here" (everything below is dead: the sum of its
    customers' ratios, minus the prior) and "supplied, children decide" (the
    sum of its candidate children's best values). See
    ``docs/fault-location.md`` for the model and its parameters.

:func:`classic_rollup`
    The threshold rules of commercial OMS, kept for comparison: a device is
    out when enough reports lie below it, and it absorbs its children when
    enough of them are out.

Both cost O(E log E + R) per call, where E is the number of customers (or
nodes) with evidence and R the candidate devices above them, after an
O(n) :class:`DeviceTree` build per switching state.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from oms.config import ClassicRules
from topology.model import Network
from topology.supply import Supply

__all__ = [
    "OUTAGE_POINTS",
    "DeviceTree",
    "FeederFaults",
    "Prediction",
    "RowsGone",
    "classic_rollup",
    "most_likely_faults",
]

#: The kinds of edge an outage can be located at, by default: every
#: protective device, and service transformers (most GIS models draw a
#: transformer's cutout fuse as an attribute of the transformer, not as an
#: edge of its own).
OUTAGE_POINTS = ("breaker", "recloser", "sectionalizer", "fuse", "transformer")


#: Log-likelihood differences smaller than this are ties.
TIE = 1e-6
#: Sums of evidence, and the search's values, are taken in fixed point, in
#: steps of 2**-30 (about 1e-9) per row, while every sum stays well inside
#: 64-bit integers: exact, so they do not depend on the order of the terms,
#: and a search kept up row by row (:class:`FeederFaults`) finds what a
#: search of everything finds, to the bit.
_FIXED = float(2**30)
_EXACT_UP_TO = 2.0**61 / _FIXED


@dataclass(frozen=True)
class _Scale:
    """Numbers in fixed point (int64, exact sums), or as floats where a sum
    could leave the integers' range."""

    fixed: bool

    def __call__(self, values: object) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return np.rint(v * _FIXED).astype(np.int64) if self.fixed else v

    def real(self, values: np.ndarray) -> np.ndarray:
        return values / _FIXED if self.fixed else values

    @functools.cached_property
    def tie(self) -> np.ndarray:
        return self(TIE)


def _search_scale(
    tree: DeviceTree, delta: np.ndarray, own: np.ndarray, scalars: tuple[float, ...]
) -> _Scale:
    """Fixed point if no value of the search can leave the exact range: it is
    bounded by every base ratio over every customer (or meter: units that
    are nodes may have more meters than customers), every row's ratio and
    own-service value, and every candidate's cost. O(rows + candidates)."""
    base_call, base_meter, fault_cost = scalars
    meters = int(tree.meters[tree.parent < 0].sum())
    bound = (
        abs(base_call) * tree.customer_total
        + abs(base_meter) * max(tree.customer_total, meters)
        + abs(fault_cost) * len(tree)
        + float(np.abs(delta).sum())
        + float(own.sum())
    )
    return _Scale(bool(bound < _EXACT_UP_TO))


def _operated(
    here: np.ndarray, below: np.ndarray, forced: np.ndarray, barred: np.ndarray, tie: object
) -> np.ndarray:
    """Whether each candidate operated: forced, or not barred and explaining
    its evidence better (``here``: its value if it operated) than what lies
    below it does (``below``). At a tie, within ``tie``, the devices below
    explain it as well: they stay (the smaller outage)."""
    return forced | (~barred & (here > below + tie))


def _own_service(
    delta: np.ndarray, row_base: np.ndarray | None, service_cost: float | None
) -> np.ndarray:
    """Per row, the log-likelihood gained if the customer's own service
    failed, at ``service_cost``, rather than all being supplied (0: none)."""
    if service_cost is None or row_base is None:
        return np.zeros(len(delta))
    return np.maximum(np.asarray(row_base) + delta - service_cost, 0.0)


class DeviceTree:
    """The outage points of a switching state, nested as the supply tree nests them.

    Outage points are the devices an outage can be located at: protective
    devices, and (by default) transformers, except a transformer that cuts
    off nobody or exactly the customers of the device above it.

    Parameters
    ----------
    net : Network
        The network; its customers (or node counts) give the weights.
    supply : Supply
        The supply analysis of the state to predict in (devices that tripped
        count as closed here: the question is which of them opened).
    metered : ndarray of bool, optional
        Per node, the number of customers with an AMI meter (default none).
    outage_points : iterable of str, optional
        Edge kinds that are outage points (default :data:`OUTAGE_POINTS`).

    Attributes
    ----------
    candidate : ndarray of int
        Edge positions of the candidate devices: outage points in the supply
        tree that are bridges (opening them cuts someone off).
    child : ndarray of int
        Per candidate, the node just below it.
    parent : ndarray of int
        Per candidate, the position (in ``candidate``) of the nearest
        candidate above it, -1 at the top.
    node_device : ndarray of int
        Per node, the position of the nearest candidate above it, -1 if none.

    Notes
    -----
    Built in O(n + sum of the candidates' subtree sizes over nesting levels),
    i.e. O(n * nesting depth), which is a handful of levels on real feeders.
    """

    def __init__(
        self,
        net: Network,
        supply: Supply,
        metered: np.ndarray | None = None,
        outage_points: Iterable[str] = OUTAGE_POINTS,
    ) -> None:
        self.net = net
        self.supply = supply
        tree = supply.tree
        points = net.kind_mask(*outage_points)
        cand = np.flatnonzero(points & supply.bridge & (tree.edge_child >= 0))
        redundant = self._redundant(cand)
        if redundant.any():
            cand = cand[~redundant]
        self._build(cand, metered)

    @functools.cached_property
    def monitored(self) -> frozenset[int]:
        """Positions of the candidates SCADA monitors. O(candidates), once."""
        return frozenset(np.flatnonzero(self.net.edge_scada[self.candidate]).tolist())

    def _redundant(self, cand: np.ndarray) -> np.ndarray:
        """Outage points that are not protective devices (transformers) and cut
        off nobody, or exactly the customers of the candidate just above them:
        the device that operated there is the one above (a transformer's
        cutout fuse drawn as its own edge). O(n * nesting depth)."""
        net, tree = self.net, self.supply.tree
        plain = ~net.protective[cand]
        if not plain.any():
            return plain
        counts = np.zeros(net.n_nodes + 1, dtype=np.float64)
        counts[: net.n_nodes] = net.node_customers
        cum = np.r_[0.0, np.cumsum(counts[tree.pre])]
        child = tree.edge_child[cand]
        customers = cum[tree.tin[child] + tree.size[child]] - cum[tree.tin[child]]
        order = np.argsort(tree.depth[child], kind="stable")
        above = np.full(net.n_nodes + 1, -1, dtype=np.int64)
        for i in order.tolist():  # shallow first: deeper candidates overwrite
            u = child[i]
            above[tree.pre[tree.tin[u] : tree.tin[u] + tree.size[u]]] = i
        parent_node = tree.parent[child]
        upper = np.where(parent_node < net.n_nodes, above[np.minimum(parent_node, net.n_nodes)], -1)
        same = (upper >= 0) & (customers == np.where(upper >= 0, customers[upper], -1))
        return plain & ((customers == 0) | same)

    def _build(self, cand: np.ndarray, metered: np.ndarray | None) -> None:
        net, tree = self.net, self.supply.tree
        n = net.n_nodes
        child = tree.edge_child[cand]
        order = np.argsort(tree.depth[child], kind="stable")
        cand, child = cand[order], child[order]
        self.candidate = cand
        self.child = child
        self.position = {int(e): i for i, e in enumerate(cand)}
        node_device = np.full(n + 1, -1, dtype=np.int64)
        tin, size, pre = tree.tin, tree.size, tree.pre
        for i, u in enumerate(child):  # shallow first: deeper devices overwrite
            node_device[pre[tin[u] : tin[u] + size[u]]] = i
        self.node_device = node_device[:n]
        upper = tree.parent[child]
        self.parent = np.where(upper < n, node_device[np.minimum(upper, n)], -1)
        # Nesting level of each candidate (0 at the top); parents come first.
        level = np.zeros(len(cand), dtype=np.int64)
        parent_list = self.parent.tolist()
        for i, p in enumerate(parent_list):
            if p >= 0:
                level[i] = level[p] + 1
        self.level = level
        self.lo = tin[child]
        self.hi = tin[child] + size[child]
        node_counts = np.zeros(n + 1, dtype=np.float64)
        node_counts[:n] = net.node_customers
        cum = np.r_[0.0, np.cumsum(node_counts[pre])]
        self.customers = (cum[self.hi] - cum[self.lo]).astype(np.int64)
        meters = np.zeros(n + 1, dtype=np.float64)
        if metered is not None:
            meters[:n] = metered
        cum_m = np.r_[0.0, np.cumsum(meters[pre])]
        self.meters = (cum_m[self.hi] - cum_m[self.lo]).astype(np.int64)
        #: Nodes given a meter (:meth:`add_meter`) and nodes whose critical
        #: customers changed (:meth:`add_critical`) since the tree was built, in
        #: order: where ``meters`` and ``critical`` changed, for a reader that
        #: remembers how many of each it saw.
        self.metered_nodes: list[int] = []
        self.critical_nodes: list[int] = []
        critical = np.zeros(n + 1, dtype=np.float64)
        if net.customers is not None:
            crit = net.customers.critical_mask()
            np.add.at(critical, net.customers.node[crit], 1)
        cum_c = np.r_[0.0, np.cumsum(critical[pre])]
        self.critical = (cum_c[self.hi] - cum_c[self.lo]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.candidate)

    def add_meter(self, node: int) -> None:
        """One more metered customer at ``node``. O(nesting depth)."""
        self.metered_nodes.append(node)
        d = int(self.node_device[node])
        while d >= 0:
            self.meters[d] += 1
            d = int(self.parent[d])

    def add_critical(self, node: int, delta: int) -> None:
        """A customer at ``node`` put on (+1) or taken off (-1) the register. O(nesting depth)."""
        self.critical_nodes.append(node)
        d = int(self.node_device[node])
        while d >= 0:
            self.critical[d] += delta
            d = int(self.parent[d])

    def contains(self, i: int, node: int) -> bool:
        """Whether candidate ``i`` feeds node ``node``. O(1)."""
        t = self.supply.tree.tin[node]
        return bool(self.lo[i] <= t < self.hi[i])

    def below(self, i: int, j: int) -> bool:
        """Whether candidate ``j`` lies strictly below candidate ``i``. O(1)."""
        return i != j and bool(self.lo[i] <= self.lo[j] < self.hi[i])

    def sums(self, nodes: np.ndarray, values: np.ndarray, among: np.ndarray) -> np.ndarray:
        """Per candidate in ``among``, the sum of ``values`` at ``nodes`` below it.

        O((len(nodes) + len(among)) log len(nodes)).
        """
        return self.sums_of(nodes, [values], among)[0]

    def sums_of(
        self, nodes: np.ndarray, columns: list[np.ndarray], among: np.ndarray
    ) -> list[np.ndarray]:
        """:meth:`sums` of each of ``columns`` (values at ``nodes``), sorting
        ``nodes`` once: in fixed point where that is exact, so a sum does not
        depend on the order of the rows. O((len(nodes) + len(among)) log
        len(nodes) per column)."""
        scales = []
        for values in columns:
            v = np.asarray(values, dtype=np.float64)
            scales.append(_Scale(len(v) > 0 and np.abs(v).sum() < _EXACT_UP_TO))
        sums = self._range_sums(nodes, [q(v) for q, v in zip(scales, columns, strict=True)], among)
        return [q.real(v) for q, v in zip(scales, sums, strict=True)]

    def _range_sums(
        self, nodes: np.ndarray, columns: list[np.ndarray], among: np.ndarray
    ) -> list[np.ndarray]:
        """Per candidate in ``among``, the sum of each column's values at the
        ``nodes`` below it, in the columns' own type (fixed point, or floats
        summed in the order of the rows at one node)."""
        tin = self.supply.tree.tin[np.asarray(nodes, dtype=np.int64)]
        keep = tin >= 0
        kept = [np.asarray(values)[keep] for values in columns]
        # Integer sums do not depend on the order of the rows at one node, so
        # any sort will do (an unstable one is several times faster).
        floats = any(v.dtype.kind == "f" for v in kept)
        order = np.argsort(tin[keep], kind="stable" if floats else None)
        t = tin[keep][order]
        lo = np.searchsorted(t, self.lo[among], side="left")
        hi = np.searchsorted(t, self.hi[among], side="left")
        out = []
        for v in kept:
            cum = np.r_[v.dtype.type(0), np.cumsum(v[order])]
            out.append(cum[hi] - cum[lo])
        return out

    @functools.cached_property
    def customer_total(self) -> int:
        """Customers on the network (a bound on any candidate's). O(n), once."""
        return int(self.net.node_customers.sum())

    def ancestors(self, positions: np.ndarray) -> np.ndarray:
        """``positions`` and every candidate above them (repeats possible).
        O(answer) numpy steps, one per nesting level."""
        found = [positions[positions >= 0]]
        up = found[0]
        while len(up):
            up = self.parent[up]
            up = np.unique(up[up >= 0])
            found.append(up)
        return np.concatenate(found)

    def relevant(self, nodes: Iterable[int], devices: Iterable[int] = ()) -> np.ndarray:
        """Candidates above any of ``nodes`` or ``devices`` (candidate positions),
        in an order where every candidate comes after all candidates below it.

        O(result + nesting depth) numpy steps: one step up per nesting level
        for the whole frontier at once.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        extra = np.fromiter((int(d) for d in devices), dtype=np.int64)
        start = np.concatenate([self.node_device[nodes], extra])
        seen = np.zeros(len(self.candidate), dtype=bool)
        # The devices right above the rows, once each: a mask, not a sort of
        # every row (late in a storm, over a hundred thousand of them).
        seen[start[start >= 0]] = True
        frontier = np.flatnonzero(seen)
        while len(frontier):
            seen[frontier] = True
            up = np.unique(self.parent[frontier])
            frontier = up[up >= 0]
            frontier = frontier[~seen[frontier]]
        out = np.flatnonzero(seen)
        # Intervals of distinct candidates start at distinct pre-order numbers.
        return out[np.argsort(-self.lo[out], kind="stable")]


@dataclass
class Prediction:
    """The result of a predictor.

    Attributes
    ----------
    devices : list of int
        Candidate positions predicted operated: the topmost chosen ones,
        plus forced ones nested below them.
    score : dict of int to float
        Log-likelihood gain of each predicted device (inf when forced).
    """

    devices: list[int]
    score: dict[int, float]


class _Levels:
    """The relevant candidates grouped by nesting level, with local parent indices."""

    def __init__(self, tree: DeviceTree, order: np.ndarray) -> None:
        self.order = order
        local = np.full(len(tree) + 1, -1, dtype=np.int64)
        local[order] = np.arange(len(order))
        self._local = local
        up = tree.parent[order]
        self.parent = np.where(up >= 0, local[up], -1)
        level = tree.level[order]
        by_level = np.argsort(level, kind="stable")
        cuts = np.flatnonzero(np.diff(level[by_level])) + 1
        self.groups = np.split(by_level, cuts)  # shallow first

    def local(self, positions: list[int]) -> np.ndarray:
        """The index in ``order`` of each of ``positions`` (all relevant)."""
        return self._local[np.asarray(positions, dtype=np.int64)]

    def bottom_up(self) -> list[np.ndarray]:
        return self.groups[::-1]

    def extract(self, chosen: np.ndarray, forced: np.ndarray) -> list[int]:
        """Topmost chosen candidates, plus forced ones below them (candidate positions)."""
        blocked = np.zeros(len(self.order), dtype=bool)
        for idx in self.groups:
            p = self.parent[idx]
            has = p >= 0
            blocked[idx[has]] = blocked[p[has]] | chosen[p[has]]
        pick = (chosen & ~blocked) | (forced & blocked)
        return sorted(self.order[pick].tolist())


def most_likely_faults(
    tree: DeviceTree,
    nodes: np.ndarray,
    delta: np.ndarray,
    *,
    base_call: float,
    base_meter: float,
    fault_cost: float,
    forced: Iterable[int] = (),
    barred: Iterable[int] = (),
    row_base: np.ndarray | None = None,
    service_cost: float | None = None,
) -> Prediction:
    """The most likely set of operated devices.

    Parameters
    ----------
    tree : DeviceTree
    nodes : ndarray of int
        Supply node of each customer with evidence (repeats allowed).
    delta : ndarray of float
        Per such customer, its log-likelihood ratio (dead vs supplied) minus
        the ratio of a customer of whom nothing was heard (``base_call``, plus
        ``base_meter`` for a metered one).
    base_call, base_meter : float
        Log-likelihood ratio of hearing nothing from a customer, and the
        extra for a metered one (zero when last gasps are not expected).
    fault_cost : float
        Prior cost of each operated device.
    forced : iterable of int
        Candidate positions known operated (SCADA lockout, dispatcher).
    barred : iterable of int
        Candidate positions known not operated (a SCADA-monitored device
        that reported no trip); forced ones stay forced.
    row_base : ndarray of float, optional
        Per evidence row, the ratio of hearing nothing from that customer
        (``base_call``, plus ``base_meter`` if metered); with
        ``service_cost``, its ratio dead vs supplied is ``row_base + delta``.
    service_cost : float, optional
        Prior cost of one customer's own service failing (a drop, a meter):
        a customer may be out on its own, at this cost, instead of a device
        above it, when it is the only customer directly below its nearest
        candidate that would be (several at once share a cause). A device
        is then chosen only when it explains its customers better than their
        own services would (one customer's gasp and dead ping under a fuse
        whose other customer answered "energized" is that customer's
        problem). None: no such alternative.

    Returns
    -------
    Prediction
        Devices only: customers out on their own are left to the
        single-customer rules.

    Notes
    -----
    Exact on the supply tree; O(E log E + R) for E evidence rows and R
    relevant candidates, in a handful of numpy steps per nesting level.
    Values are in fixed point (:data:`_FIXED`) unless they could leave its
    range: a tie is decided by the margin :data:`TIE`, never by rounding.
    """
    forced_set = {int(i) for i in forced}
    nodes = np.asarray(nodes, dtype=np.int64)
    order = tree.relevant(nodes, forced_set)
    if not len(order):
        return Prediction([], {})
    delta = np.asarray(delta, dtype=np.float64)
    own = _own_service(delta, row_base, service_cost)
    q = _search_scale(tree, delta, own, (base_call, base_meter, fault_cost))
    (sums,) = tree._range_sums(nodes, [q(delta)], order)
    gain = q(base_call) * tree.customers[order] + q(base_meter) * tree.meters[order] + sums
    is_forced = np.isin(order, np.fromiter(forced_set, dtype=np.int64, count=len(forced_set)))
    here = np.where(is_forced, gain, gain - q(fault_cost))
    barred_set = {int(i) for i in barred} - forced_set
    is_barred = np.isin(order, np.fromiter(barred_set, dtype=np.int64, count=len(barred_set)))
    # Supplied, a customer directly below (under no deeper candidate) may be
    # out on its own, when it is the only one there that would be: several
    # at once have a common cause, not as many coincidences. (Every row
    # lies below a relevant candidate, so its nearest one is relevant.)
    own_q = q(own)
    nearest = tree.node_device[nodes] + 1  # 0: none
    own_at = np.zeros(len(tree) + 1, dtype=own_q.dtype)
    np.add.at(own_at, nearest, own_q)
    count = np.bincount(nearest[own_q > 0], minlength=len(tree) + 1)
    below = np.where(count[order + 1] == 1, own_at[order + 1], 0)
    levels = _Levels(tree, order)
    chosen = np.zeros(len(order), dtype=bool)
    for idx in levels.bottom_up():
        chosen[idx] = _operated(here[idx], below[idx], is_forced[idx], is_barred[idx], q.tie)
        value = np.where(chosen[idx], here[idx], below[idx])
        p = levels.parent[idx]
        has = p >= 0
        np.add.at(below, p[has], value[has])
    devices = levels.extract(chosen, is_forced)
    at = levels.local(devices)
    real = q.real(here[at])
    score = {d: (np.inf if d in forced_set else float(real[k])) for k, d in enumerate(devices)}
    return Prediction(devices, score)


class RowsGone:
    """Which units had a row at the last call and have none now.

    Parameters
    ----------
    units : int
        How many units there are.

    Notes
    -----
    O(rows) a call: a unit's last call is stamped on it, so no array the
    size of the network is built each time.
    """

    def __init__(self, units: int) -> None:
        self._stamp = np.zeros(units, dtype=np.int64)
        self._calls = 0
        self._units = np.empty(0, dtype=np.int64)
        self._nodes = np.empty(0, dtype=np.int64)

    def update(self, units: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The units of the last call that are not among ``units`` (rows now,
        at ``nodes``), and the nodes they were at; ``units`` are remembered."""
        self._calls += 1
        self._stamp[units] = self._calls
        gone = self._stamp[self._units] != self._calls
        found = self._units[gone], self._nodes[gone]
        self._units, self._nodes = units.copy(), nodes.copy()
        return found


class FeederFaults:
    """:func:`most_likely_faults` kept up row by row along the paths that changed.

    The search's values are sums: a candidate's gain is the sum of its
    rows' ratios (and the base ratios of its customers), and its value is
    its gain or the sum of its children's values. So each candidate keeps
    its sums, in fixed point (exact: :data:`_FIXED`), and a call adds what
    changed (rows that appeared, went, or changed their ratio; devices
    forced, barred or released; meters added) to the candidates above it,
    then decides those candidates again, deepest first. Late in a storm a
    batch changes a few hundred rows under a handful of nesting levels
    while a hundred thousand customers are still out elsewhere.

    The devices are kept per feeder (a top-level candidate and everything
    below it: no term of the model crosses feeders), and taken again from
    the feeders where a decision changed.

    Parameters
    ----------
    tree : DeviceTree
        The tree of one switching state (a new state needs a new instance).
    units : int
        How many units (customers) there are: rows are numbered by unit.

    Notes
    -----
    O(E) numpy steps per call to find the rows that changed (E rows), then
    O(C * nesting depth) for C changed rows, and O(chosen devices x depth)
    in Python on the feeders whose decisions changed. The answer is the
    one :func:`most_likely_faults` finds on every row, to the bit: the same
    fixed-point sums, compared the same way. Values that could leave the
    fixed-point range (absurd ratios) are searched on every row in floats.
    A unit keeps its node for the life of an instance (a new network
    version makes a new tree).
    """

    def __init__(self, tree: DeviceTree, units: int) -> None:
        self.tree = tree
        top = np.arange(len(tree), dtype=np.int64)
        for i, p in enumerate(tree.parent.tolist()):  # parents come first
            if p >= 0:
                top[i] = top[p]
        #: Per candidate, its feeder (the top-level candidate above it, or itself);
        #: per node, the feeder it is on (-1: none).
        self.feeder = top
        under = tree.node_device >= 0  # none at all when nothing is fed (all opened)
        self.node_feeder = np.full(len(tree.node_device), -1, dtype=np.int64)
        self.node_feeder[under] = top[tree.node_device[under]]
        self._delta = np.full(units, np.nan)
        self._base = np.full(units, np.nan)
        self._rows = RowsGone(units)
        self._meters_seen = len(tree.metered_nodes)
        self._scalars: tuple[float, float, float, float | None] | None = None
        self._sums: _PathSums | None = None

    def update(
        self,
        units: np.ndarray,
        nodes: np.ndarray,
        delta: np.ndarray,
        row_base: np.ndarray,
        *,
        base_call: float,
        base_meter: float,
        fault_cost: float,
        forced: Iterable[int] = (),
        barred: Iterable[int] = (),
        service_cost: float | None = None,
    ) -> list[int]:
        """The devices :func:`most_likely_faults` finds on these rows (one
        per unit in ``units``, each at ``nodes`` with ``delta`` and
        ``row_base``), as candidate positions, sorted."""
        # As the search of everything reads them (own-service values of
        # float32 rows would round otherwise).
        units, nodes = np.asarray(units, dtype=np.int64), np.asarray(nodes, dtype=np.int64)
        delta = np.asarray(delta, dtype=np.float64)
        row_base = np.asarray(row_base, dtype=np.float64)
        forced_set = {int(i) for i in forced}
        # A set given (SCADA's, thousands) is taken as it is, not read an item at a time.
        given = barred if isinstance(barred, (set, frozenset)) else {int(i) for i in barred}
        barred_set = set(given - forced_set)
        scalars = (base_call, base_meter, fault_cost, service_cost)
        own = _own_service(delta, row_base, service_cost)
        q = _search_scale(self.tree, delta, own, scalars[:3])
        # Rows new or with another ratio (NaN: no row before), and rows gone.
        moved = ~(self._delta[units] == delta) | ~(self._base[units] == row_base)
        gone, gone_at = self._rows.update(units, nodes)
        sums = self._sums
        if not q.fixed:
            sums = None  # found on every row, in floats; afresh when back in range
        elif sums is None or scalars != self._scalars:
            sums = _PathSums(self.tree, self.feeder, scalars[:3])
            rows = _row_terms(delta, row_base, q, service_cost)
            sums.settle(
                np.concatenate([sums.add(nodes, *rows), sums.force(forced_set, barred_set)])
            )
        else:
            before, after = units[moved], (delta[moved], row_base[moved])
            old = _row_terms(self._delta[before], self._base[before], q, service_cost)
            ended = _row_terms(self._delta[gone], self._base[gone], q, service_cost)
            new = _row_terms(*after, q, service_cost)
            # Each row's change: what it adds now less what it added before.
            change = [np.concatenate([n - o, -e]) for n, o, e in zip(new, old, ended, strict=True)]
            changed = [
                sums.add(np.concatenate([nodes[moved], gone_at]), *change),
                sums.force(forced_set, barred_set),
            ]
            metered = self.tree.metered_nodes[self._meters_seen :]
            if metered:
                nearest = self.tree.node_device[np.asarray(metered, dtype=np.int64)]
                changed.append(self.tree.ancestors(nearest))
            sums.settle(np.concatenate(changed))
        self._remember(units, delta, row_base, moved, gone)
        self._scalars, self._sums = scalars, sums
        self._meters_seen = len(self.tree.metered_nodes)
        if sums is None:
            return most_likely_faults(
                self.tree,
                nodes,
                delta,
                base_call=base_call,
                base_meter=base_meter,
                fault_cost=fault_cost,
                forced=forced_set,
                barred=barred_set,
                row_base=row_base,
                service_cost=service_cost,
            ).devices
        return sums.devices()

    def _remember(
        self,
        units: np.ndarray,
        delta: np.ndarray,
        row_base: np.ndarray,
        moved: np.ndarray,
        gone: np.ndarray,
    ) -> None:
        """The rows as of now, written where they changed. O(rows)."""
        self._delta[gone] = np.nan
        self._base[gone] = np.nan
        changed = units[moved]
        self._delta[changed] = delta[moved]
        self._base[changed] = row_base[moved]


def _row_terms(
    delta: np.ndarray, row_base: np.ndarray, q: _Scale, service_cost: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What rows add to :class:`_PathSums` (``delta`` NaN: no row, nought
    each): ratio, one row, own-service value, and one if that is positive.
    O(len(delta))."""
    present = ~np.isnan(delta)
    delta = np.where(present, delta, 0.0)
    own = np.where(
        present, q(_own_service(delta, np.where(present, row_base, 0.0), service_cost)), 0
    )
    return q(delta), present.astype(np.int64), own, (own > 0).astype(np.int64)


class _PathSums:
    """The search of :func:`most_likely_faults` on every candidate, in fixed
    point, as sums kept up by adding what changed (:class:`FeederFaults`).

    Per candidate: the sum of its rows' ratios and how many rows lie below
    it; the own-service values of the rows directly below it and how many
    are positive; the sum of its children's values; its value, and whether
    it is chosen. A candidate with no row and no forced device below it is
    not searched at all: value 0, never chosen.
    """

    def __init__(
        self, tree: DeviceTree, feeder: np.ndarray, scalars: tuple[float, float, float]
    ) -> None:
        self.tree, self.feeder = tree, feeder
        size = len(tree)
        self.sum = np.zeros(size, dtype=np.int64)
        self.rows = np.zeros(size, dtype=np.int64)
        self.own = np.zeros(size, dtype=np.int64)
        self.own_rows = np.zeros(size, dtype=np.int64)
        self.kids = np.zeros(size, dtype=np.int64)
        self.value = np.zeros(size, dtype=np.int64)
        self.chosen = np.zeros(size, dtype=bool)
        self.forced = np.zeros(size, dtype=bool)
        self.barred = np.zeros(size, dtype=bool)
        self.forced_below = np.zeros(size, dtype=np.int64)  # forced at or below
        q = _Scale(True)
        self._call, self._meter, self._cost = (int(q(x)) for x in scalars)
        self._tie = int(q.tie)
        self._parent = tree.parent.tolist()
        #: Per feeder, its chosen candidates, and the devices taken from them.
        self._chosen_in: dict[int, set[int]] = {}
        #: Candidates forced or released since the devices were last taken.
        self._forced_flipped = np.empty(0, dtype=np.int64)
        self._devices: dict[int, list[int]] = {}

    def add(
        self,
        nodes: np.ndarray,
        ratio: np.ndarray,
        rows: np.ndarray,
        own: np.ndarray,
        own_rows: np.ndarray,
    ) -> np.ndarray:
        """Add, per row at ``nodes``, ``ratio`` and ``rows`` to every candidate
        above it, and ``own`` and ``own_rows`` (own-service values, and how
        many are positive) to the nearest; returns those candidates.
        O(rows + candidates above them x depth)."""
        tree = self.tree
        nearest = tree.node_device[np.asarray(nodes, dtype=np.int64)]
        keep = nearest >= 0
        nearest = nearest[keep]
        np.add.at(self.own, nearest, own[keep])
        np.add.at(self.own_rows, nearest, own_rows[keep])
        # Summed per nearest candidate first: many rows share one.
        at, inverse = np.unique(nearest, return_inverse=True)
        ratio_at = np.zeros(len(at), dtype=np.int64)
        rows_at = np.zeros(len(at), dtype=np.int64)
        np.add.at(ratio_at, inverse, ratio[keep])
        np.add.at(rows_at, inverse, rows[keep])
        return self._add_up(at, [(self.sum, ratio_at), (self.rows, rows_at)])

    def _add_up(self, at: np.ndarray, adds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Add, for each ``(total, values)`` of ``adds``, the values (one per
        position of ``at``) to ``total`` at ``at`` and at every candidate
        above; returns those candidates. O(len(at) x nesting depth)."""
        touched = [at]
        while len(at):
            for total, values in adds:
                np.add.at(total, at, values)
            at = self.tree.parent[at]
            up = at >= 0
            at, adds = at[up], [(total, values[up]) for total, values in adds]
            touched.append(at)
        return np.concatenate(touched)

    def force(self, forced: set[int], barred: set[int]) -> np.ndarray:
        """Devices known operated (``forced``) and known not (``barred``, none
        of them forced) from now on; returns the candidates whose decision
        that may change. O(changes x depth)."""
        was = set(np.flatnonzero(self.forced).tolist())
        flipped = np.fromiter(was ^ forced, dtype=np.int64)
        count = np.where(self.forced[flipped], -1, 1)
        self.forced[flipped] = ~self.forced[flipped]
        above_flipped = self._add_up(flipped, [(self.forced_below, count)])
        now = np.zeros(len(self.barred), dtype=bool)
        now[np.fromiter(barred, dtype=np.int64, count=len(barred))] = True
        turned = np.flatnonzero(now != self.barred)
        self.barred = now
        self._forced_flipped = np.concatenate([self._forced_flipped, flipped])
        return np.concatenate([above_flipped, self.tree.ancestors(turned)])

    def settle(self, changed: np.ndarray) -> None:
        """Decide ``changed`` again, deepest first, and take the devices again
        from the feeders where a decision changed. ``changed`` holds every
        candidate whose inputs changed and every candidate above them
        (:meth:`add`, :meth:`force`, :meth:`DeviceTree.ancestors`): a value
        that changed changes its parent's. O(candidates decided, in numpy
        steps per nesting level)."""
        tree = self.tree
        at = np.unique(changed)
        level = tree.level[at]
        by_level = np.argsort(-level, kind="stable")
        at, level = at[by_level], level[by_level]
        flipped = []
        for idx in np.split(at, np.flatnonzero(np.diff(level)) + 1):
            gain = self._call * tree.customers[idx] + self._meter * tree.meters[idx] + self.sum[idx]
            here = np.where(self.forced[idx], gain, gain - self._cost)
            below = np.where(self.own_rows[idx] == 1, self.own[idx], 0) + self.kids[idx]
            # Not searched (no row, nothing forced below): never chosen,
            # and then its value, all below it, is nought.
            searched = (self.rows[idx] > 0) | (self.forced_below[idx] > 0)
            chosen = searched & _operated(
                here, below, self.forced[idx], self.barred[idx], self._tie
            )
            value = np.where(chosen, here, below)
            parent = tree.parent[idx]
            has = parent >= 0
            np.add.at(self.kids, parent[has], (value - self.value[idx])[has])
            self.value[idx] = value
            flipped.append(idx[chosen != self.chosen[idx]])
            self.chosen[idx] = chosen
        # A device forced may be taken below a chosen one (or no longer be).
        changed_feeders = set(self.feeder[self._forced_flipped].tolist())
        self._forced_flipped = self._forced_flipped[:0]
        for d in np.concatenate(flipped).tolist():
            f = int(self.feeder[d])
            changed_feeders.add(f)
            mine = self._chosen_in.setdefault(f, set())
            if self.chosen[d]:
                mine.add(d)
            else:
                mine.discard(d)
        for f in changed_feeders:
            devices = self._take(self._chosen_in.get(f, set()))
            if devices:
                self._devices[f] = devices
            else:
                self._devices.pop(f, None)
                self._chosen_in.pop(f, None)

    def _take(self, chosen: set[int]) -> list[int]:
        """The topmost of ``chosen``, and forced ones below them (as
        :meth:`_Levels.extract`). O(len(chosen) x depth)."""
        parent, is_chosen, forced = self._parent, self.chosen, self.forced
        out = []
        for d in chosen:
            p = parent[d]
            while p >= 0 and not is_chosen[p]:
                p = parent[p]
            if p < 0 or forced[d]:
                out.append(d)
        return out

    def devices(self) -> list[int]:
        """Every feeder's devices, sorted."""
        return sorted(d for devices in self._devices.values() for d in devices)


def classic_rollup(
    tree: DeviceTree,
    nodes: np.ndarray,
    reports: np.ndarray,
    rules: ClassicRules,
    forced: Iterable[int] = (),
) -> Prediction:
    """The classic threshold roll-up (see :class:`~oms.config.ClassicRules`).

    Parameters
    ----------
    tree : DeviceTree
    nodes : ndarray of int
        Supply node of each customer that reported no supply (call or gasp).
    reports : ndarray of float
        Reports per such customer (1 each, usually).
    rules : ClassicRules
    forced : iterable of int
        Candidate positions known operated (SCADA lockouts).

    Notes
    -----
    O(E log E + R), like :func:`most_likely_faults`.
    """
    forced_set = {int(i) for i in forced}
    order = tree.relevant(np.asarray(nodes, dtype=np.int64), forced_set)
    if not len(order):
        return Prediction([], {})
    total = tree.sums(nodes, reports, order)
    is_forced = np.isin(order, np.fromiter(forced_set, dtype=np.int64, count=len(forced_set)))
    levels = _Levels(tree, order)
    covered = np.zeros(len(order))  # reports explained by predicted devices below
    kids_out = np.zeros(len(order), dtype=np.int64)
    out = np.zeros(len(order), dtype=bool)
    customers = np.maximum(tree.customers[order], 1)
    for idx in levels.bottom_up():
        free = total[idx] - covered[idx]
        out[idx] = (
            is_forced[idx]
            | (kids_out[idx] >= rules.min_children)
            | ((free >= rules.min_calls) & (free / customers[idx] >= rules.min_share))
        )
        p = levels.parent[idx]
        has = p >= 0
        np.add.at(covered, p[has], np.where(out[idx], total[idx], covered[idx])[has])
        np.add.at(kids_out, p[has], out[idx][has].astype(np.int64))
    devices = levels.extract(out, is_forced)
    at = levels.local(devices).tolist()
    return Prediction(devices, {d: float(total[k]) for d, k in zip(devices, at, strict=True)})
