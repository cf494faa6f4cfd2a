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
#: Sums of evidence are taken in fixed point, in steps of 2**-30 (about 1e-9)
#: per row, while the total stays well inside 64-bit integers.
_FIXED = float(2**30)
_EXACT_UP_TO = 2.0**61 / _FIXED


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
        ``nodes`` once. O((len(nodes) + len(among)) log len(nodes) per column)."""
        tin = self.supply.tree.tin[nodes]
        keep = tin >= 0
        kept = [np.asarray(values, dtype=np.float64)[keep] for values in columns]
        exact = [len(v) > 0 and np.abs(v).max() * len(v) < _EXACT_UP_TO for v in kept]
        # Sums in fixed point do not depend on the order of the rows at one
        # node, so any sort will do (an unstable one is several times faster).
        order = np.argsort(tin[keep], kind=None if all(exact) else "stable")
        t = tin[keep][order]
        lo = np.searchsorted(t, self.lo[among], side="left")
        hi = np.searchsorted(t, self.hi[among], side="left")
        out = []
        for v, fixed_point in zip(kept, exact, strict=True):
            v = v[order]
            if fixed_point:
                # In fixed point the sums are exact: a device's sum does not
                # depend on the rows of other feeders before it (FeederFaults).
                fixed = np.r_[0, np.cumsum(np.rint(v * _FIXED).astype(np.int64))]
                out.append((fixed[hi] - fixed[lo]) / _FIXED)
            else:
                cum = np.r_[0.0, np.cumsum(v)]
                out.append(cum[hi] - cum[lo])
        return out

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
    """
    forced_set = {int(i) for i in forced}
    order = tree.relevant(np.asarray(nodes, dtype=np.int64), forced_set)
    if not len(order):
        return Prediction([], {})
    gain = (
        base_call * tree.customers[order]
        + base_meter * tree.meters[order]
        + tree.sums(nodes, delta, order)
    )
    is_forced = np.isin(order, np.fromiter(forced_set, dtype=np.int64, count=len(forced_set)))
    here = np.where(is_forced, gain, gain - fault_cost)
    barred_set = {int(i) for i in barred} - forced_set
    if barred_set:
        is_barred = np.isin(order, np.fromiter(barred_set, dtype=np.int64, count=len(barred_set)))
        here = np.where(is_barred, -np.inf, here)
    levels = _Levels(tree, order)
    below = np.zeros(len(order))
    if service_cost is not None and row_base is not None:
        # Supplied, a customer directly below (under no deeper candidate) may
        # be out on its own, when it is the only one there that would be:
        # several at once have a common cause, not as many coincidences.
        # (Every row lies below a relevant candidate, so its nearest one is relevant.)
        own = np.maximum(np.asarray(row_base) + np.asarray(delta) - service_cost, 0.0)
        nearest = tree.node_device[np.asarray(nodes, dtype=np.int64)] + 1  # 0: none
        size = len(tree) + 1
        value = np.bincount(nearest, weights=own, minlength=size)[order + 1]
        count = np.bincount(nearest, weights=own > 0, minlength=size)[order + 1]
        below = np.where(count == 1, value, 0.0)
    chosen = np.zeros(len(order), dtype=bool)
    for idx in levels.bottom_up():
        # At a tie the devices below explain it as well: they stay. A tie
        # is decided by this margin, not by the rounding of sums taken in
        # another order (all rows, or one feeder's: FeederFaults).
        chosen[idx] = is_forced[idx] | (here[idx] > below[idx] + TIE)
        value = np.where(chosen[idx], here[idx], below[idx])
        p = levels.parent[idx]
        has = p >= 0
        np.add.at(below, p[has], value[has])
    devices = levels.extract(chosen, is_forced)
    at = levels.local(devices)
    score = {
        d: (np.inf if d in forced_set else float(here[k]))
        for d, k in zip(devices, at.tolist(), strict=True)
    }
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
    """:func:`most_likely_faults`, found again only on the feeders whose evidence changed.

    The best set of operated devices is a sum of independent parts, one per
    feeder (a top-level candidate and everything below it): no term of the
    model crosses from one feeder to another. So each feeder's devices are
    kept, and a call finds them again only for the feeders where a row of
    evidence appeared, went, or changed its ratio, where a device was
    forced or barred or stopped being so, or where a meter was added. Late
    in a storm a batch touches a few feeders while a hundred thousand
    customers are still out on the others.

    Parameters
    ----------
    tree : DeviceTree
        The tree of one switching state (a new state needs a new instance).
    units : int
        How many units (customers) there are: rows are numbered by unit.

    Notes
    -----
    O(E + R) numpy steps per call to find what changed (E rows, R
    candidates), then :func:`most_likely_faults` on the rows of the changed
    feeders only. The answer is the same as a call on everything: sums of
    evidence are exact (fixed point, :meth:`DeviceTree.sums_of`), and the
    rest of a feeder's search sees only that feeder. A unit keeps its node
    for the life of an instance (a new network version makes a new tree).
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
        self._forced: set[int] = set()
        self._barred: set[int] = set()
        self._scalars: tuple[float, float, float, float | None] | None = None
        self._devices: dict[int, list[int]] = {}

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
        forced_set = {int(i) for i in forced}
        # A set given (SCADA's, thousands) is taken as it is, not read an item at a time.
        given = barred if isinstance(barred, (set, frozenset)) else {int(i) for i in barred}
        barred_set = set(given - forced_set)
        scalars = (base_call, base_meter, fault_cost, service_cost)
        # Rows new or with another ratio (NaN: no row before), and rows gone.
        moved = ~(self._delta[units] == delta) | ~(self._base[units] == row_base)
        gone, gone_at = self._rows.update(units, nodes)
        if scalars != self._scalars:
            changed = np.unique(self.feeder)
        else:
            changed = self._changed_feeders(nodes[moved], gone_at, forced_set, barred_set)
        self._remember(units, delta, row_base, moved, gone)
        self._forced, self._barred, self._scalars = forced_set, barred_set, scalars
        self._meters_seen = len(self.tree.metered_nodes)
        if len(changed):
            self._find(changed, nodes, delta, row_base, forced_set, barred_set, scalars)
        return sorted(d for devices in self._devices.values() for d in devices)

    def _changed_feeders(
        self, moved_at: np.ndarray, gone_at: np.ndarray, forced: set[int], barred: set[int]
    ) -> np.ndarray:
        """Feeders with a row new or changed (at nodes ``moved_at``) or gone
        (at nodes ``gone_at``), a device forced or barred in or out, or a
        meter more."""
        at = np.concatenate([moved_at, gone_at])
        feeders = [self.node_feeder[at]]
        flipped = (forced ^ self._forced) | (barred ^ self._barred)
        if flipped:
            feeders.append(self.feeder[np.fromiter(flipped, dtype=np.int64)])
        metered = self.tree.metered_nodes[self._meters_seen :]
        if metered:
            feeders.append(self.node_feeder[np.asarray(metered, dtype=np.int64)])
        found = np.unique(np.concatenate(feeders))
        return found[found >= 0]

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

    def _find(
        self,
        feeders: np.ndarray,
        nodes: np.ndarray,
        delta: np.ndarray,
        row_base: np.ndarray,
        forced: set[int],
        barred: set[int],
        scalars: tuple[float, float, float, float | None],
    ) -> None:
        """Find again the devices of ``feeders`` (candidate positions of tops)."""
        wanted = np.zeros(len(self.tree), dtype=bool)
        wanted[feeders] = True
        row_feeder = self.node_feeder[nodes]
        rows = (row_feeder >= 0) & wanted[np.maximum(row_feeder, 0)]
        base_call, base_meter, fault_cost, service_cost = scalars
        found = most_likely_faults(
            self.tree,
            nodes[rows],
            delta[rows],
            base_call=base_call,
            base_meter=base_meter,
            fault_cost=fault_cost,
            forced=self._on(forced, wanted),
            barred=self._on(barred, wanted),
            row_base=row_base[rows],
            service_cost=service_cost,
        )
        for f in feeders.tolist():
            self._devices.pop(f, None)
        for d in found.devices:
            self._devices.setdefault(int(self.feeder[d]), []).append(d)

    def _on(self, positions: set[int], wanted: np.ndarray) -> np.ndarray:
        """Those of ``positions`` on the ``wanted`` feeders. O(len(positions))."""
        at = np.fromiter(positions, dtype=np.int64, count=len(positions))
        return at[wanted[self.feeder[at]]]


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
