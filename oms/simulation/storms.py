"""Storm scenarios with ground truth, and an AMI head-end that answers pings.

:func:`simulate_storm` places sustained faults, momentary interruptions and
single-customer problems on a network in its normal state and writes the
evidence they would produce as contract-3 events: customer calls, AMI last
gasps and restores, SCADA lockouts and fault circuit indicators. The ground
truth (which edge faulted, which protective device operated, when it was
restored) comes with it, so that the outage engine's predictions can be
scored (:mod:`oms.simulation.scoring`). :class:`HeadEnd` answers the engine's pings
from the same truth.

Pure: no database, no outage engine, no wall clock. The same network,
parameters and seed always give the same scenario.

The model
---------
- A sustained fault sits on an energized edge (conductors weighted by
  length, devices by the mean conductor length). The protective device that
  operates is the nearest protective edge above it (the faulted edge itself
  excluded); everything downstream of that device loses supply from the
  fault's start until its restoration (start plus a lognormal repair time).
- A nested fault is placed strictly below the operated device of a fault
  that is still out. Its own device only sees fault current once the parent
  is restored, so its SCADA lockout, indicators and calls come after that;
  if the parent outlives it, it leaves no evidence of its own (masked).
- Calls come from a ``call_rate`` share of the customers who lose supply,
  after a lognormal delay (median 8 minutes), while still out. About 2% of
  the callers call again once supply is back (``"power": "on"``).
- Meters (customers with a ``meter``) send a last gasp within 60 s of losing
  supply (and before it returns) and a restore within 60 s of its return,
  each delivered with probability ``ami_rate``.
- Momentary interruptions open a recloser or breaker for 2-40 s.
- Single-customer problems (noise) are customers outside every fault's area
  that lose supply alone (a service drop, a meter base): one call each; the
  meter sees the loss like any other.
- Each sustained fault and single-customer problem also carries the work a
  crew needs on site once it is made safe (``repair_minutes``), lognormal by
  kind (:data:`REPAIR_MINUTES`), drawn from a random stream of its own so
  that every other draw is what it was before it existed. The default
  (``truth``) restoration mode ignores it: supply comes back at the
  ``restored`` time. In the crew-driven mode (:class:`Restoration`) supply
  comes back when a simulated crew has done that work.
- Every event that follows a restoration (a SCADA close, AMI restores,
  calls with supply back) or that a restoration could make untrue (a call
  while out, a nested fault's lockout and indicators, which wait for the
  faults above) is listed in the truth's ``depends`` (see
  :func:`simulate_storm`), so that the crew-driven replay can move it with
  the restoration it follows, or drop it.

Times are whole seconds after ``params.start``; events are printed in UTC
ISO 8601 with offset.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from os import PathLike
from typing import Any, TypeVar

import numpy as np

from topology.model import Network
from topology.supply import Supply

__all__ = [
    "DEFAULT_START",
    "REPAIR_MINUTES",
    "RESTORATION_MODES",
    "HeadEnd",
    "Restoration",
    "Scenario",
    "StormParams",
    "edge_upper_nodes",
    "format_time",
    "merge_intervals",
    "normal_supply",
    "parse_time",
    "protective_above",
    "simulate_storm",
]

#: The default storm start.
DEFAULT_START = datetime(2026, 1, 15, 14, 0, tzinfo=timezone.utc)

_CALL_DELAY_MEDIAN_S = 8 * 60.0
_CALL_DELAY_SIGMA = 0.8
_REPAIR_SIGMA = 0.5
_MIN_REPAIR_S = 10 * 60
_POWER_ON_SHARE = 0.02
_PHONE_SHARE = 0.2
_AMI_WINDOW_S = 60.0

#: Work on site after making safe, in minutes, by what failed: (median,
#: sigma) of a lognormal, at least 10 minutes. A conductor fault (``segment``:
#: a wire down, a broken pole or crossarm, a tree in the line) takes longest;
#: a ``device`` fault is mostly a fuse or a failed switch to replace; a
#: ``transformer`` is changed; a ``single_customer`` problem is a service
#: drop or a meter base.
REPAIR_MINUTES: dict[str, tuple[float, float]] = {
    "segment": (150.0, 0.6),
    "device": (60.0, 0.5),
    "transformer": (120.0, 0.4),
    "single_customer": (45.0, 0.5),
}
_MIN_WORK_MIN = 10.0
#: The repair minutes' own random stream (a child of the storm's seed), so
#: that the storm's other draws stay as they were.
_WORK_STREAM = 1
#: Restoration modes: supply back when the truth says, or when crews have
#: done the work.
RESTORATION_MODES = ("truth", "crews")


@dataclass
class StormParams:
    """Parameters of :func:`simulate_storm`.

    Attributes
    ----------
    faults : int or None
        Sustained faults; None scales with the network:
        ``max(3, protective devices // 8)``.
    span_minutes : float
        Faults, momentaries and single-customer problems start uniformly in
        ``[start, start + span]``.
    start : datetime
        Start of the storm (timezone-aware).
    call_rate : float
        Share of the affected customers who call.
    ami_rate : float
        Delivery rate of last gasps and restores from customers with a
        meter; 0 disables AMI.
    noise_calls : int or None
        Single-customer problems elsewhere; None gives ``max(2, customers // 500)``.
    momentaries : int or None
        Momentary interruptions; None gives ``max(1, faults // 5)``.
    nested_share : float
        Share of faults placed below the operated device of an earlier fault
        while that one is still out.
    fci_share : float
        Share of line and cable edges carrying a fault circuit indicator.
    hazard_rate : float
        Share of conductor faults reported with one ``wire_down`` hazard call.
    repair_median_minutes : float
        Median of the lognormal repair time (at least 10 minutes).
    transformer_share : float
        Share of sustained faults placed at a service transformer (a
        transformer with a protective device above it that cuts off
        customers): the transformer's own cutout operates, so its device in
        the truth is the transformer, or the fuse right above it when that
        fuse cuts off exactly the same customers. 0 (the default) keeps every
        fault on conductors and devices, as before this parameter existed.
    seed : int
        Seed of the random generator.
    """

    faults: int | None = None
    span_minutes: float = 60.0
    start: datetime = field(default_factory=lambda: DEFAULT_START)
    call_rate: float = 0.10
    ami_rate: float = 0.80
    noise_calls: int | None = None
    momentaries: int | None = None
    nested_share: float = 0.15
    fci_share: float = 0.0
    hazard_rate: float = 0.05
    repair_median_minutes: float = 120.0
    transformer_share: float = 0.0
    seed: int = 0


@dataclass
class Scenario:
    """A simulated storm: the events it produces and the ground truth.

    Attributes
    ----------
    events : list of dict
        Contract-3 events sorted by time, ids ``sim-000001``...
    truth : dict
        JSON-serialisable ground truth: ``params``, ``start``, ``end``,
        ``faults`` (sustained and momentary), ``single_customer``, ``fci``.
    """

    events: list[dict[str, Any]]
    truth: dict[str, Any]

    def write(self, events_path: str | PathLike[str], truth_path: str | PathLike[str]) -> None:
        """Write the events as JSON lines and the truth as one JSON document (UTF-8)."""
        with open(events_path, "w", encoding="utf-8") as fh:
            for event in self.events:
                fh.write(json.dumps(event, ensure_ascii=False) + "\n")
        with open(truth_path, "w", encoding="utf-8") as fh:
            json.dump(self.truth, fh, ensure_ascii=False, indent=1)
            fh.write("\n")


# ---------------------------------------------------------------- helpers
def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with offset, whole seconds: ``2026-01-15T14:03:07+00:00``."""
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: times must carry a time zone")
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time with offset (``Z`` accepted) into an aware datetime."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time {text!r} has no offset")
    return t


T = TypeVar("T", int, float)


def merge_intervals(intervals: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """Overlapping or touching ``(start, end)`` intervals joined, in order. O(k log k)."""
    out: list[list[T]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def normal_supply(net: Network) -> Supply:
    """The supply analysis of the network's normal state, without touching ``net``.

    ``net.supply`` itself when the current state is the normal one; otherwise
    that of a :meth:`~topology.model.Network.normal` view. O(n + m).
    """
    if np.array_equal(net.edge_closed, net.edge_normal_closed):
        return net.supply
    return net.normal().supply


def protective_above(net: Network, supply: Supply) -> np.ndarray:
    """For every node, the nearest protective edge on its path to the source.

    The node's own parent edge counts; -1 when there is none (or the node is
    dead). Level by level over the tree depth: O(n) work in O(depth) numpy
    steps. The result has length ``n_nodes + 1`` (the virtual root last).
    """
    tree = supply.tree
    n = net.n_nodes
    out = np.full(n + 1, -1, dtype=np.int64)
    reached = np.flatnonzero(tree.reached[:n])
    if not len(reached):
        return out
    order = reached[np.argsort(tree.depth[reached], kind="stable")]
    depths = tree.depth[order]
    prot = net.protective
    for level in np.split(order, np.flatnonzero(np.diff(depths)) + 1):
        pe = tree.parent_edge[level]
        own = (pe >= 0) & prot[np.maximum(pe, 0)]
        out[level] = np.where(own, pe, out[tree.parent[level]])
    return out


def edge_upper_nodes(net: Network, supply: Supply) -> np.ndarray:
    """The end of every edge nearer a source in ``supply``'s state; -1 if dead or open.

    A tree edge's parent end, else (a closed edge on a loop) the shallower
    energized end. O(m).
    """
    tree = supply.tree
    closed = supply.net.edge_closed
    upper = np.full(net.n_edges, -1, dtype=np.int64)
    child = tree.edge_child
    is_tree = child >= 0
    upper[is_tree] = tree.parent[child[is_tree]]
    a, b = net.edge_from, net.edge_to
    other = ~is_tree & closed & (tree.reached[a] | tree.reached[b])
    da = np.where(tree.reached[a], tree.depth[a], np.iinfo(np.int64).max)
    db = np.where(tree.reached[b], tree.depth[b], np.iinfo(np.int64).max)
    upper[other] = np.where(da[other] <= db[other], a[other], b[other])
    return upper


def _transformer_candidates(
    net: Network,
    supply: Supply,
    upper: np.ndarray,
    prot_above: np.ndarray,
    prot_customers: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Service transformers a fault can be placed at, and the device that operates.

    A transformer qualifies when it is an energized bridge that cuts off
    customers and has a protective device above it (which rules out
    substation transformers). The device that operates is the transformer
    itself (its cutout), or the fuse right above it when that fuse cuts off
    exactly the same customers (a cutout drawn as an edge of its own). O(m).
    """
    tree = supply.tree
    tx = np.flatnonzero(net.kind_mask("transformer") & supply.bridge & (tree.edge_child >= 0))
    if not len(tx):
        return tx, tx
    child = tree.edge_child[tx]
    per_node = np.zeros(net.n_nodes + 1, dtype=np.int64)
    per_node[: net.n_nodes] = net.node_customers
    cum = np.r_[0, np.cumsum(per_node[tree.pre])]
    customers = cum[tree.tin[child] + tree.size[child]] - cum[tree.tin[child]]
    up = upper[tx]
    above = np.where(up >= 0, prot_above[np.maximum(up, 0)], -1)
    keep = (customers > 0) & (above >= 0)
    tx, customers, above = tx[keep], customers[keep], above[keep]
    fuse = net.kind_mask("fuse")[above] & (prot_customers[above] == customers)
    return tx, np.where(fuse, above, tx)


class _Areas:
    """Subtree tests and the customers (or customer nodes) below a device.

    Units are the customers when the network lists them, else the nodes
    with a customer count; they are kept sorted by the pre-order position
    of their node so that a device's units are one slice.
    """

    def __init__(self, net: Network, supply: Supply) -> None:
        self.net = net
        self.supply = supply
        tree = supply.tree
        if net.customers is not None:
            self.unit_node = np.asarray(net.customers.node, dtype=np.int64)
            self.unit_count = np.ones(len(self.unit_node), dtype=np.int64)
        else:
            self.unit_node = np.flatnonzero(net.node_customers > 0).astype(np.int64)
            self.unit_count = net.node_customers[self.unit_node].astype(np.int64)
        tin = tree.tin[self.unit_node]
        live = tin >= 0
        self.order = np.flatnonzero(live)[np.argsort(tin[live], kind="stable")]
        self.sorted_tin = tin[self.order]
        # Pre-order range [edge_lo, edge_hi) cut off by each edge; -1 when none.
        self.edge_lo = np.full(net.n_edges, -1, dtype=np.int64)
        self.edge_hi = np.full(net.n_edges, -1, dtype=np.int64)
        cut = np.flatnonzero(supply.bridge)
        child = tree.edge_child[cut]
        self.edge_lo[cut] = tree.tin[child]
        self.edge_hi[cut] = tree.tin[child] + tree.size[child]

    def span(self, e: int) -> tuple[int, int] | None:
        """Pre-order range ``[lo, hi)`` of the nodes cut off by opening ``e``."""
        if not self.supply.bridge[e]:
            return None
        c = int(self.supply.tree.edge_child[e])
        lo = int(self.supply.tree.tin[c])
        return lo, lo + int(self.supply.tree.size[c])

    def lo(self, e: int) -> int:
        """Pre-order position of the node below ``e`` (-1 when ``e`` cuts off nothing)."""
        s = self.span(e)
        return -1 if s is None else s[0]

    def units(self, e: int) -> np.ndarray:
        """Positions of the units below edge ``e``, in pre-order. O(log n + result)."""
        s = self.span(e)
        if s is None:
            return np.empty(0, dtype=np.int64)
        i, j = np.searchsorted(self.sorted_tin, s)
        return self.order[i:j]

    def contains(self, e: int, nodes: np.ndarray) -> np.ndarray:
        """Boolean per node: is it cut off by opening ``e``?"""
        s = self.span(e)
        tin = self.supply.tree.tin[nodes]
        if s is None:
            return np.zeros(len(nodes), dtype=bool)
        return (tin >= s[0]) & (tin < s[1])

    def strictly_below(self, d: int, e: int) -> bool:
        """Is device ``d`` (a different edge) cut off by opening ``e``?"""
        if d == e:
            return False
        s = self.span(e)
        sd = self.span(d)
        return s is not None and sd is not None and s[0] <= sd[0] and sd[1] <= s[1]


@dataclass
class _Fault:
    edge: int
    kind: str
    op: int
    start: int
    restored: int
    momentary: bool = False
    parent: int | None = None  # index of the fault it is nested in
    visible: int = 0  # when the operated device first sees fault current


class _Events:
    """Events keyed by float seconds after the start, sorted at the end.

    An event may carry what it depends on (its entry in the truth's
    ``depends``), kept apart from the event itself.
    """

    def __init__(self) -> None:
        self.items: list[tuple[float, int, dict[str, Any]]] = []
        self.depends: dict[int, dict[str, Any]] = {}

    def add(
        self, t: float, payload: dict[str, Any], depends: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if depends:
            self.depends[len(self.items)] = depends
        self.items.append((float(t), len(self.items), payload))
        return payload

    def finish(
        self, start: datetime, prefix: str = "sim-"
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The events with ids and times, and the dependencies by event id."""
        out = []
        depends: dict[str, dict[str, Any]] = {}
        for k, (t, i, payload) in enumerate(sorted(self.items, key=lambda x: (x[0], x[1]))):
            when = start + timedelta(seconds=math.floor(t))
            eid = f"{prefix}{k + 1:06d}"
            out.append({"id": eid, "time": format_time(when), **payload})
            if i in self.depends:
                depends[eid] = self.depends[i]
        return out, depends


def _default_counts(net: Network, params: StormParams) -> tuple[int, int, int]:
    faults = params.faults
    if faults is None:
        faults = max(3, int(net.protective.sum()) // 8)
    noise = params.noise_calls
    if noise is None:
        noise = max(2, int(net.node_customers.sum()) // 500)
    momentaries = params.momentaries
    if momentaries is None:
        momentaries = max(1, faults // 5)
    return int(faults), int(noise), int(momentaries)


def _params_dict(params: StormParams, faults: int, noise: int, momentaries: int) -> dict[str, Any]:
    d = asdict(params)
    d["start"] = format_time(params.start)
    d.update(faults=faults, noise_calls=noise, momentaries=momentaries)
    return d


# --------------------------------------------------------------- simulate
def simulate_storm(net: Network, params: StormParams | None = None) -> Scenario:
    """Simulate a storm on ``net`` (in its normal state): events and ground truth.

    Parameters
    ----------
    net : Network
        Any contract-1/2 network. With individual customers, calls name the
        customer (or their phone) and meters send AMI events; with node
        customer counts only, calls name the node and there is no AMI.
        ``net`` is not modified.
    params : StormParams, optional
        Defaults as documented on :class:`StormParams`.

    Returns
    -------
    Scenario
        Events sorted by time and the ground truth. Fewer faults than asked
        are placed when the network has too few candidate edges (an edge
        qualifies when a protective device above it cuts off customers).

    Notes
    -----
    O(n + m) to analyse the network, then O(F (F + m)) for F faults at worst
    (candidate masks), plus the events produced. Deterministic for a seed.
    """
    params = params or StormParams()
    if params.start.tzinfo is None:
        raise ValueError("StormParams.start must be timezone-aware")
    rng = np.random.default_rng(params.seed)
    n_faults, n_noise, n_momentary = _default_counts(net, params)
    supply = normal_supply(net)
    tree = supply.tree
    areas = _Areas(net, supply)
    span_s = max(0.0, params.span_minutes * 60.0)

    # Candidate faulted edges: energized, with a protective device above
    # that cuts off somebody.
    upper = edge_upper_nodes(net, supply)
    prot_above = protective_above(net, supply)
    op_of = np.where(upper >= 0, prot_above[np.maximum(upper, 0)], -1)
    prot_customers = np.zeros(net.n_edges, dtype=np.int64)
    for dev in np.flatnonzero(net.protective):
        prot_customers[dev] = supply.downstream_customers(int(dev))
    ok = op_of >= 0
    ok[ok] = prot_customers[op_of[ok]] > 0
    candidates = np.flatnonzero(ok)
    conductor = net.kind_mask("line", "cable")
    mean_len = float(net.edge_length_m[conductor].mean()) if conductor.any() else 50.0
    weight_all = np.where(conductor, np.maximum(net.edge_length_m, 1.0), max(mean_len, 1.0))
    cand_tin = tree.tin[upper[candidates]] if len(candidates) else np.empty(0, np.int64)
    cand_op = op_of[candidates]
    tx = _transformer_candidates(net, supply, upper, prot_above, prot_customers)
    tx_pools = (tx[0], tree.tin[upper[tx[0]]], tx[1]) if len(tx[0]) else None

    def pick(mask: np.ndarray, pool: np.ndarray | None = None) -> int | None:
        if not mask.any():
            return None
        if pool is not None:
            return int(rng.choice(pool[mask]))
        w = weight_all[candidates[mask]]
        return int(rng.choice(candidates[mask], p=w / w.sum()))

    # ---------------------------------------------------- sustained faults
    # Arrays over the faults placed so far: times and the operated device's
    # pre-order range, so that the active ones are found in numpy.
    pre_len = len(tree.pre) + 1
    f_start = np.zeros(n_faults, dtype=np.int64)
    f_rest = np.zeros(n_faults, dtype=np.int64)
    f_lo = np.zeros(n_faults, dtype=np.int64)
    f_hi = np.zeros(n_faults, dtype=np.int64)
    f_op = np.zeros(n_faults, dtype=np.int64)
    faults: list[_Fault] = []
    starts = np.sort(np.round(rng.uniform(0.0, span_s, n_faults))).astype(np.int64)
    median_repair = max(params.repair_median_minutes, 1e-3) * 60.0
    op_at = op_of.copy()
    if tx_pools is not None:
        op_at[tx_pools[0]] = tx_pools[2]
    for t0 in starts:
        t0 = int(t0)
        duration = max(_MIN_REPAIR_S, round(rng.lognormal(math.log(median_repair), _REPAIR_SIGMA)))
        k = len(faults)
        active = np.flatnonzero((f_start[:k] <= t0) & (t0 < f_rest[:k]))
        busy = np.zeros(net.n_edges, dtype=bool)
        busy[f_op[active]] = True
        # At a transformer (drawn only when asked for, so that scenarios
        # without them stay as they were), else on any candidate edge.
        at_tx = (
            params.transformer_share > 0
            and tx_pools is not None
            and rng.random() < params.transformer_share
        )
        pool, pool_tin, pool_op = (
            tx_pools if at_tx and tx_pools is not None else (None, cand_tin, cand_op)
        )
        not_same_op = ~busy[pool_op]
        chosen: int | None = None
        if len(active) and rng.random() < params.nested_share:
            for i in rng.permutation(active):
                inside = (pool_tin >= f_lo[i]) & (pool_tin < f_hi[i])
                chosen = pick(inside & not_same_op, pool)
                if chosen is not None:
                    break
        if chosen is None:
            # Away from every active fault, so that nesting stays deliberate.
            cover = np.zeros(pre_len, dtype=np.int64)
            np.add.at(cover, f_lo[active], 1)
            np.add.at(cover, f_hi[active], -1)
            outside = np.cumsum(cover)[pool_tin] == 0
            chosen = pick(outside & not_same_op, pool)
            if chosen is None:
                chosen = pick(not_same_op, pool)
        if chosen is None:
            continue
        op = int(op_at[chosen]) if pool is not None else int(op_of[chosen])
        kind = "transformer" if pool is not None else "segment" if conductor[chosen] else "device"
        faults.append(_Fault(chosen, kind, op, t0, t0 + int(duration), visible=t0))
        f_start[k], f_rest[k], f_op[k] = t0, t0 + int(duration), op
        f_lo[k], f_hi[k] = areas.edge_lo[op], areas.edge_hi[op]

    # Nesting and visibility, whatever placed them: the parent is the
    # nearest fault above that is out when this one starts; the device sees
    # fault current once every fault above it that covers the moment is gone.
    nf = len(faults)
    f_start, f_rest, f_lo, f_hi, f_op = (a[:nf] for a in (f_start, f_rest, f_lo, f_hi, f_op))
    for k, f in enumerate(faults):
        above = (f_lo <= f_lo[k]) & (f_hi[k] <= f_hi) & (f_op != f_op[k]) & (f_lo >= 0)
        out_then = above & (f_start <= f.start) & (f.start < f_rest)
        if out_then.any():
            # The nearest: the deepest subtree, i.e. the latest pre-order start.
            cands = np.flatnonzero(out_then)
            f.parent = int(cands[np.argmax(f_lo[cands])])
        visible = f.start
        while True:
            covering = above & (f_start <= visible) & (visible < f_rest)
            if not covering.any():
                break
            visible = int(f_rest[covering].max())
        f.visible = visible
    # The faults above whose restoration a nested fault's device waits for.
    waits_for: list[list[str]] = []
    for k, f in enumerate(faults):
        above = (f_lo <= f_lo[k]) & (f_hi[k] <= f_hi) & (f_op != f_op[k]) & (f_lo >= 0)
        waited = above & (f_start < f.visible) & (f_rest > f.start) & (f_rest <= f.visible)
        waits_for.append(
            [f"fault-{i + 1}" for i in np.flatnonzero(waited)] if f.visible > f.start else []
        )

    # -------------------------------------------------------- momentaries
    reclosers = np.flatnonzero(net.kind_mask("recloser", "breaker") & (prot_customers > 0))
    if not len(reclosers):
        reclosers = np.flatnonzero(net.protective & (prot_customers > 0))
    momentaries: list[_Fault] = []
    if len(reclosers):
        for _ in range(n_momentary):
            d = int(rng.choice(reclosers))
            lo, hi = areas.edge_lo[d], areas.edge_hi[d]
            # A device at or below a sustained fault's device: prefer a
            # moment when that area has supply.
            covers = (f_lo <= lo) & (hi <= f_hi)
            t0 = round(rng.uniform(0.0, span_s))
            dur = int(rng.integers(2, 41))
            for _try in range(20):
                # No overlap at all with an outage of this device or above it.
                if not (covers & (f_start <= t0 + dur + 60) & (t0 - 60 < f_rest)).any():
                    break
                t0 = round(rng.uniform(0.0, span_s))
            momentaries.append(_Fault(d, "device", d, t0, t0 + dur, momentary=True, visible=t0))

    # ----------------------------------------------------------- noise
    n_units = len(areas.unit_node)
    touched = np.zeros(n_units, dtype=bool)
    for f in [*faults, *momentaries]:
        touched[areas.units(f.op)] = True
    free = np.flatnonzero(~touched & (areas.unit_count > 0) & (tree.tin[areas.unit_node] >= 0))
    noise_units = (
        rng.choice(free, size=min(n_noise, len(free)), replace=False)
        if len(free)
        else np.empty(0, dtype=np.int64)
    )
    noise: list[tuple[int, int, int, int]] = []  # unit, call time, start, restored
    for u in np.sort(noise_units):
        call_t = round(rng.uniform(0.0, span_s))
        lead = round(rng.uniform(120.0, 1200.0))
        s0 = max(0, call_t - lead)
        rep = max(_MIN_REPAIR_S, round(rng.lognormal(math.log(median_repair), _REPAIR_SIGMA)))
        noise.append((int(u), call_t, s0, call_t + int(rep)))

    # ---------------------------------------------------------- events
    events = _Events()
    customers = net.customers
    has_customers = customers is not None
    meters = np.zeros(n_units, dtype=bool)
    phones: list[Any] = [None] * n_units
    if customers is not None:
        meters = np.array([bool(m) for m in customers.fields.get("meter", [None] * n_units)])
        phones = list(customers.fields.get("phone", [None] * n_units))

    def unit_key(u: int) -> dict[str, Any]:
        if customers is None:
            return {"node": net.node_ids[areas.unit_node[u]]}
        return {"customer": customers.ids[u]}

    def unit_ref(u: int, allow_phone: bool = True) -> dict[str, Any]:
        if customers is None:
            return {"node": net.node_ids[areas.unit_node[u]]}
        phone = phones[u]
        if allow_phone and phone and rng.random() < _PHONE_SHARE:
            return {"phone": str(phone)}
        return {"customer": customers.ids[u]}

    # Single-customer problems are named in the order the truth lists them.
    single_ids = {
        x[0]: f"single-{i + 1}" for i, x in enumerate(sorted(noise, key=lambda x: (x[1], x[0])))
    }
    # Dead intervals per unit (for AMI, power-on calls and the head-end),
    # with the fault or problem behind each (None: a momentary).
    dead: dict[int, list[tuple[int, int]]] = {}
    causes: dict[int, list[tuple[int, int, str | None]]] = {}
    for k, f in enumerate([*faults, *momentaries]):
        fid = None if f.momentary else f"fault-{k + 1}"
        for u in areas.units(f.op):
            dead.setdefault(int(u), []).append((f.start, f.restored))
            causes.setdefault(int(u), []).append((f.start, f.restored, fid))
    if has_customers:
        for u, _call_t, s0, r in noise:
            dead.setdefault(u, []).append((s0, r))
            causes.setdefault(u, []).append((s0, r, single_ids[u]))
    merged = {u: merge_intervals(ivs) for u, ivs in dead.items()}

    def back_on(u: int, t: float) -> tuple[int, int] | None:
        for a, b in merged.get(u, []):
            if a <= t < b:
                return a, b
        return None

    def ended_by(u: int, a: float, b: float) -> list[str]:
        """The faults and problems whose restoration ends unit ``u``'s dead interval."""
        return sorted({c for s, r, c in causes.get(u, []) if c and a <= s and r <= b})

    call_log: list[tuple[int, float]] = []  # (unit, time) of fault calls

    for k, f in enumerate(faults):
        op_id = net.edge_ids[f.op]
        base, end = f.visible, f.restored
        visible = base < end
        fid = f"fault-{k + 1}"
        # A nested fault's evidence waits for the faults above, and is void
        # once it is restored itself.
        waits = {"after": waits_for[k], "while": fid} if waits_for[k] else {}
        if net.edge_scada[f.op] and visible:
            events.add(
                base + rng.uniform(1.0, 5.0),
                {"type": "scada", "device": op_id, "state": "open", "lockout": True},
                waits,
            )
            events.add(end, {"type": "scada", "device": op_id, "state": "closed"}, {"after": [fid]})
        if not visible:
            continue
        out_call = {"after": waits_for[k]} if waits_for[k] else {}
        units = areas.units(f.op)
        callers: list[tuple[int, dict[str, Any]]] = []
        if len(units):
            k = rng.binomial(areas.unit_count[units], params.call_rate)
            who = np.repeat(units, k)
            delays = rng.lognormal(math.log(_CALL_DELAY_MEDIAN_S), _CALL_DELAY_SIGMA, len(who))
            for u, dly in zip(who, delays, strict=True):
                t = base + float(dly)
                if t < end:
                    payload = events.add(
                        t,
                        {"type": "call", **unit_ref(int(u))},
                        {**out_call, **unit_key(int(u)), "supply": "off"},
                    )
                    callers.append((int(u), payload))
                    call_log.append((int(u), t))
        if f.kind == "segment" and len(units) and rng.random() < params.hazard_rate:
            if callers:
                callers[int(rng.integers(len(callers)))][1]["hazard"] = "wire_down"
            else:
                u = int(rng.choice(units))
                t = base + float(rng.uniform(0.1, 0.9)) * min(end - base, 1800)
                events.add(
                    t,
                    {"type": "call", **unit_ref(u, False), "hazard": "wire_down"},
                    {**out_call, **unit_key(u), "supply": "off"},
                )
                call_log.append((u, t))

    # FCI: indicators on the path from the operated device to a conductor fault.
    fci_edges = np.empty(0, dtype=np.int64)
    conductors = np.flatnonzero(conductor)
    if params.fci_share > 0 and len(conductors):
        n_fci = min(len(conductors), max(1, round(params.fci_share * len(conductors))))
        fci_edges = np.sort(rng.choice(conductors, size=n_fci, replace=False))
    if len(fci_edges):
        has_fci = np.zeros(net.n_edges, dtype=bool)
        has_fci[fci_edges] = True
        for k, f in enumerate(faults):
            if f.kind != "segment" or f.visible >= f.restored:
                continue
            waits = {"after": waits_for[k], "while": f"fault-{k + 1}"} if waits_for[k] else {}
            path = {f.edge}
            v = int(upper[f.edge])
            while v >= 0 and v != tree.root:
                pe = int(tree.parent_edge[v])
                if pe < 0 or pe == f.op:
                    break
                path.add(pe)
                v = int(tree.parent[v])
            below = supply.downstream_edges(f.op)
            below = np.union1d(below, list(path))
            for e in below[has_fci[below]]:
                events.add(
                    f.visible + rng.uniform(1.0, 10.0),
                    {"type": "fci", "device": net.edge_ids[e], "fault": int(e) in path},
                    waits,
                )

    for m in momentaries:
        if net.edge_scada[m.op]:
            op_id = net.edge_ids[m.op]
            events.add(
                m.start + 0.5,
                {"type": "scada", "device": op_id, "state": "open", "lockout": False},
            )
            events.add(m.restored, {"type": "scada", "device": op_id, "state": "closed"})

    for u, call_t, _s0, _r in noise:
        events.add(call_t, {"type": "call", **unit_ref(u)})

    # AMI: last gasp and restore per dead interval, each delivered or lost.
    if has_customers and params.ami_rate > 0:
        assert customers is not None
        for u in sorted(merged):
            if not meters[u]:
                continue
            cid = customers.ids[u]
            for a, b in merged[u]:
                # A gasp is stamped while the meter is dying: before supply returns.
                gasp = a + rng.uniform(0.0, min(_AMI_WINDOW_S, max(b - a - 1.0, 0.0)))
                back = b + rng.uniform(0.0, _AMI_WINDOW_S)
                back = max(back, gasp + 1.0)
                if rng.random() < params.ami_rate:
                    events.add(gasp, {"type": "ami_last_gasp", "customer": cid})
                if rng.random() < params.ami_rate:
                    ended = ended_by(u, a, b)
                    events.add(
                        back,
                        {"type": "ami_restore", "customer": cid},
                        {"after": ended, "customer": cid, "supply": "on"} if ended else None,
                    )

    # Some callers call again once supply is back.
    for u, t in call_log:
        if rng.random() < _POWER_ON_SHARE:
            dead_then = back_on(u, t)
            if dead_then is not None:
                delay = rng.lognormal(math.log(600.0), 0.5)
                ended = ended_by(u, *dead_then)
                events.add(
                    dead_then[1] + delay,
                    {"type": "call", **unit_ref(u), "power": "on"},
                    {"after": ended, **unit_key(u), "supply": "on"} if ended else None,
                )

    # ----------------------------------------------------------- truth
    start = params.start.astimezone(timezone.utc)

    def iso(t: float) -> str:
        return format_time(start + timedelta(seconds=math.floor(t)))

    work_rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(_WORK_STREAM,)))

    def work_minutes(kind: str) -> float:
        median, sigma = REPAIR_MINUTES[kind]
        return round(max(_MIN_WORK_MIN, float(work_rng.lognormal(math.log(median), sigma))), 1)

    truth_faults = []
    for k, f in enumerate([*faults, *momentaries]):
        item = {
            "id": f"fault-{k + 1}",
            "edge": net.edge_ids[f.edge],
            "kind": f.kind,
            "operated": net.edge_ids[f.op],
            "start": iso(f.start),
            "restored": iso(f.restored),
            "customers": int(supply.downstream_customers(f.op)),
            "nested_in": None if f.parent is None else f"fault-{f.parent + 1}",
            "momentary": f.momentary,
        }
        if not f.momentary:
            item["repair_minutes"] = work_minutes(f.kind)
        truth_faults.append(item)
    key = "customer" if has_customers else "node"
    single = []
    for u, call_t, s0, r in sorted(noise, key=lambda x: (x[1], x[0])):
        ref = customers.ids[u] if customers is not None else net.node_ids[areas.unit_node[u]]
        single.append(
            {
                "id": single_ids[u],
                key: ref,
                "time": iso(call_t),
                "start": iso(s0),
                "restored": iso(r),
                "repair_minutes": work_minutes("single_customer"),
            }
        )
    finished, depends = events.finish(start)
    last = [f.restored for f in [*faults, *momentaries]] + [x[3] for x in noise] + [span_s]
    end_t = max(last)
    if finished:
        end_t = max(end_t, (parse_time(finished[-1]["time"]) - start).total_seconds())
    truth = {
        "params": _params_dict(params, n_faults, n_noise, n_momentary),
        "start": format_time(start),
        "end": iso(end_t),
        "faults": truth_faults,
        "single_customer": single,
        "fci": sorted(net.edge_ids[e] for e in fci_edges),
        "depends": depends,
    }
    return Scenario(finished, truth)


# ------------------------------------------------------------ restoration
class Restoration:
    """When supply comes back behind each fault of a scenario.

    In the ``truth`` mode every fault is restored at the truth's time. In the
    ``crews`` mode (the crew-driven replay) a sustained fault, or the
    single-customer problem of a listed customer, is out from its start
    until a simulated crew has done its work and calls :meth:`restore`
    (never, if no crew does); momentaries keep the truth's times. A customer
    has supply when no fault above it (nor its own problem) is out: a nested
    fault repaired under one still out gives nobody supply.

    Crews coordinate through it: a crew working a fault claims it
    (:meth:`claim`), one called away releases it (:meth:`release`) with the
    minutes it worked (the next crew does the rest), and a restoration once
    given is final.

    Parameters
    ----------
    net : Network
        The network the scenario was simulated on (its normal state).
    truth : dict
        :attr:`Scenario.truth`.
    mode : {"truth", "crews"}
        See above.

    Notes
    -----
    Fault ids are the truth's (``fault-<k>``, ``single-<k>``). Single-customer
    problems on a network without individual customers have no customer to
    visit: they are left out (they never darken a customer here, as before).
    """

    def __init__(self, net: Network, truth: dict[str, Any], mode: str = "truth") -> None:
        if mode not in RESTORATION_MODES:
            raise ValueError(f"restoration mode {mode!r}: one of {', '.join(RESTORATION_MODES)}")
        self.net = net
        self.mode = mode
        self._supply = normal_supply(net)
        self._areas = _Areas(net, self._supply)
        tin = self._supply.tree.tin
        self.ids: list[str] = []
        self._start: list[datetime] = []
        self._truth: list[datetime] = []
        self._span: list[tuple[int, int]] = []  # pre-order range of the nodes out
        self._op: list[int] = []  # the operated edge; -1 for a single customer
        self._customer: list[int] = []  # the customer of a single problem; -1 else
        self._repair_s: list[float] = []
        self.restored: dict[str, datetime] = {}
        self.claimed: dict[str, str] = {}
        self._worked_s: dict[str, float] = {}
        crewed = mode == "crews"
        for f in truth.get("faults", []):
            op = self.net.edge(f["operated"])
            span = self._areas.span(op) or (-1, -1)
            self._add(f, f["id"], span, op, -1, crewed and not f.get("momentary"))
        customers = net.customers
        for k, x in enumerate(truth.get("single_customer", [])):
            if customers is None or "customer" not in x or "start" not in x:
                continue
            i = customers.index.get(x["customer"])
            if i is None or not x.get("restored"):
                continue
            lo = int(tin[int(customers.node[i])])
            self._add(x, x.get("id", f"single-{k + 1}"), (lo, lo + 1), -1, i, crewed)
        self.index = {fid: k for k, fid in enumerate(self.ids)}

    def _add(
        self,
        item: dict[str, Any],
        fid: str,
        span: tuple[int, int],
        op: int,
        customer: int,
        crewed: bool,
    ) -> None:
        self.ids.append(fid)
        self._start.append(parse_time(item["start"]))
        self._truth.append(parse_time(item["restored"]))
        self._span.append(span)
        self._op.append(op)
        self._customer.append(customer)
        self._repair_s.append(60.0 * float(item.get("repair_minutes") or _MIN_WORK_MIN))
        if not crewed:
            self.restored[fid] = self._truth[-1]

    # ---------------------------------------------------------- supply
    def out(self, fid: str, at: datetime) -> bool:
        """Is the fault out at ``at`` (started, and not restored by then)?"""
        k = self.index[fid]
        back = self.restored.get(fid)
        return self._start[k] <= at and (back is None or at < back)

    def energized(self, at: datetime) -> np.ndarray:
        """Supply per customer (in :class:`~topology.model.Customers` order) at ``at``.

        Per node when the network has no individual customers. O(F log n + n)
        for F faults.
        """
        tree = self._supply.tree
        n = self.net.n_nodes
        dead_pre = np.zeros(len(tree.pre) + 1, dtype=np.int64)
        singles = []
        for k, fid in enumerate(self.ids):
            if not self.out(fid, at):
                continue
            if self._customer[k] >= 0:
                singles.append(self._customer[k])
            elif self._span[k][0] >= 0:
                dead_pre[self._span[k][0]] += 1
                dead_pre[self._span[k][1]] -= 1
        cover = np.cumsum(dead_pre)[:-1]
        node_on = tree.reached[:n].copy()
        tin = tree.tin[:n]
        node_on[node_on] = cover[tin[node_on]] == 0
        if self.net.customers is None:
            return node_on
        on = node_on[self.net.customers.node]
        on[singles] = False
        return on

    def supplied(self, ref: dict[str, Any], at: datetime) -> bool:
        """Has the customer (``{"customer": id}``) or node (``{"node": id}``) supply at ``at``?

        O(F) for F faults.
        """
        customers = self.net.customers
        i = -1
        if "customer" in ref and customers is not None:
            i = customers.index[ref["customer"]]
            node = int(customers.node[i])
        else:
            node = self.net.node_index[ref["node"]]
        if not self._supply.tree.reached[node]:
            return False
        t = int(self._supply.tree.tin[node])
        for k, fid in enumerate(self.ids):
            lo, hi = self._span[k]
            mine = self._customer[k] == i if self._customer[k] >= 0 else lo <= t < hi
            if mine and self.out(fid, at):
                return False
        return True

    # ---------------------------------------------------- what crews find
    def at_device(self, edge: str) -> list[str]:
        """Faults at ``edge``, or at a device cutting off exactly its nodes."""
        e = self.net.edge(edge)
        span = self._areas.span(e)
        return [
            fid
            for k, fid in enumerate(self.ids)
            if self._customer[k] < 0
            and (self._op[k] == e or (span is not None and self._span[k] == span))
        ]

    def below(self, edge: str) -> list[str]:
        """Network faults strictly below ``edge``, the topmost first."""
        span = self._areas.span(self.net.edge(edge))
        if span is None:
            return []
        found = [
            k
            for k in range(len(self.ids))
            if self._customer[k] < 0
            and self._span[k][0] >= 0
            and span[0] <= self._span[k][0]
            and self._span[k][1] <= span[1]
            and self._span[k] != span
        ]
        found.sort(key=lambda k: (self._span[k][0], -self._span[k][1], self._start[k]))
        return [self.ids[k] for k in found]

    def above(self, fid: str) -> list[str]:
        """Network faults whose outage covers ``fid``'s (equal ones only if older)."""
        k = self.index[fid]
        lo, hi = self._span[k]
        if lo < 0:
            return []
        out = []
        for j, other in enumerate(self.ids):
            a, b = self._span[j]
            if j == k or self._customer[j] >= 0 or a < 0 or not (a <= lo and hi <= b):
                continue
            if (a, b) == (lo, hi) and not self._start[j] < self._start[k]:
                continue
            out.append(other)
        return out

    def single_of(self, customer: str) -> list[str]:
        """The single-customer problems of ``customer``."""
        customers = self.net.customers
        i = customers.index.get(customer, -2) if customers is not None else -2
        return [fid for k, fid in enumerate(self.ids) if self._customer[k] == i]

    # ------------------------------------------------------ crews' work
    def claim(self, fid: str, crew: str) -> None:
        """``crew`` works ``fid`` from now on."""
        self.claimed[fid] = crew

    def release(self, fid: str, worked_s: float) -> None:
        """The crew working ``fid`` was called away after ``worked_s`` seconds of work."""
        self.claimed.pop(fid, None)
        self._worked_s[fid] = self._worked_s.get(fid, 0.0) + max(0.0, worked_s)

    def remaining_s(self, fid: str) -> float:
        """Seconds of work ``fid`` still needs (at least a minute)."""
        k = self.index[fid]
        return max(60.0, self._repair_s[k] - self._worked_s.get(fid, 0.0))

    def restore(self, fid: str, at: datetime) -> None:
        """Supply comes back behind ``fid`` at ``at`` (given once, final)."""
        if fid in self.restored:
            raise ValueError(f"{fid} is already restored")
        self.restored[fid] = at
        self.claimed.pop(fid, None)

    # ------------------------------------------------- evidence, scoring
    def moved(self, depends: dict[str, Any], at: datetime) -> datetime | None:
        """The time of an event at ``at`` (the truth's) that follows the
        restorations ``depends["after"]``: moved by as much as the latest of
        them moved; None while one of them is not restored."""
        after = depends.get("after") or []
        if not after:
            return at
        if any(fid not in self.restored for fid in after):
            return None
        now = max(self.restored[fid] for fid in after)
        then = max(self._truth[self.index[fid]] for fid in after)
        return at + (now - then)

    def holds(self, depends: dict[str, Any], at: datetime) -> bool:
        """Is an event at ``at`` still true: its fault (``while``) out, its
        customer or node without supply (``supply: off``) or with it (``on``)?"""
        if "while" in depends and not self.out(depends["while"], at):
            return False
        if "supply" in depends:
            ref: dict[str, Any] = {k: depends[k] for k in ("customer", "node") if k in depends}
            return self.supplied(ref, at) == (depends["supply"] == "on")
        return True

    def as_truth(self, truth: dict[str, Any], end: datetime | None = None) -> dict[str, Any]:
        """``truth`` with these restoration times (None: never restored), its
        ``end`` at the latest of them, ``end`` and its own."""
        times = [parse_time(truth["end"])] + ([end] if end is not None else [])

        def back(item: dict[str, Any], fid: str) -> str | None:
            if fid not in self.index:
                return item.get("restored")
            when = self.restored.get(fid)
            if when is None:
                return None
            times.append(when)
            return format_time(when)

        faults = [{**f, "restored": back(f, f["id"])} for f in truth.get("faults", [])]
        single = [
            {**x, "restored": back(x, x.get("id", f"single-{k + 1}"))}
            for k, x in enumerate(truth.get("single_customer", []))
        ]
        return {
            **truth,
            "faults": faults,
            "single_customer": single,
            "end": format_time(max(times)),
        }


# --------------------------------------------------------------- head-end
class HeadEnd:
    """An AMI head-end answering pings from a scenario's ground truth.

    Parameters
    ----------
    net : Network
        The network the scenario was simulated on.
    truth : dict
        :attr:`Scenario.truth` (or the JSON read back).
    reply_rate : float
        Share of pinged meters that answer.
    delay_s : float
        Seconds from the ping to the reply; the reply reports the supply at
        the reply time.
    seed : int
        Seed for the lost replies.
    restoration : Restoration, optional
        When supply comes back (the crew-driven replay's, updated as crews
        work); by default the truth's times.

    Notes
    -----
    Customers without a meter never answer; a network without individual
    customers has no AMI, and :meth:`answer` returns nothing.
    """

    def __init__(
        self,
        net: Network,
        truth: dict[str, Any],
        *,
        reply_rate: float = 0.95,
        delay_s: float = 20,
        seed: int = 0,
        restoration: Restoration | None = None,
    ) -> None:
        self.net = net
        self.reply_rate = float(reply_rate)
        self.delay = timedelta(seconds=float(delay_s))
        self._rng = np.random.default_rng(seed)
        self._count = 0
        self.restoration = restoration or Restoration(net, truth)
        customers = net.customers
        if customers is not None:
            column = customers.fields.get("meter")
            self._meter = np.array(
                [bool(m) for m in (column or [None] * len(customers))], dtype=bool
            )
        else:
            self._meter = np.zeros(0, dtype=bool)

    def energized(self, at: datetime) -> np.ndarray:
        """Supply per customer (or per node) at ``at``: :meth:`Restoration.energized`."""
        return self.restoration.energized(at)

    def answer(self, customer_ids: Sequence[str], at: datetime) -> list[dict[str, Any]]:
        """``ami_ping_reply`` events for a ping of ``customer_ids`` sent at ``at``.

        Each reply's time is ``at + delay_s`` (whole seconds) and reports the
        supply then; a ``1 - reply_rate`` share gets no reply, nor do unknown
        customers and customers without a meter. Ids are ``ping-<n>``,
        unique for this head-end. O(F log n + n + len(customer_ids)).
        """
        customers = self.net.customers
        if customers is None or not len(customer_ids):
            return []
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        when = (at + self.delay).astimezone(timezone.utc).replace(microsecond=0)
        on = self.energized(when)
        stamp = format_time(when)
        replies = []
        for cid in customer_ids:
            i = customers.index.get(cid)
            if i is None or not self._meter[i]:
                continue
            if self._rng.random() >= self.reply_rate:
                continue
            self._count += 1
            replies.append(
                {
                    "id": f"ping-{self._count}",
                    "type": "ami_ping_reply",
                    "time": stamp,
                    "customer": cid,
                    "energized": bool(on[i]),
                }
            )
        return replies
