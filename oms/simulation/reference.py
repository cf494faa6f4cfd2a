"""An exact maximum-a-posteriori reference for fault location (an oracle to score against).

What could anyone predict from the evidence a storm produced? This module
answers with the same candidate set as the engine (its
:class:`~oms.engine.prediction.DeviceTree`, with the same ``outage_points``)
and the same likelihood (:class:`~oms.config.PredictionParams`:
``llr_call``, ``llr_no_call``, ``llr_gasp``, ``llr_no_gasp``, ``llr_ping``,
``fault_cost``), but none of the engine's incremental machinery: it looks
at the *final* evidence of every fault window at once, as an oracle that
knows when supply came back would.

- :func:`unit_llr` gives each unit (customer, or node when the network has
  no customer list) the log-likelihood ratio, dead versus supplied, of what
  was heard of it: a call, a last gasp, a ping answered "no supply", or
  silence (which counts against "dead" for a metered customer while AMI
  delivers).
- :func:`map_faults` finds the set of outage points that maximises the sum
  of the ratios of the units cut off, minus ``fault_cost`` per device not
  known to have operated (SCADA): exact, by dynamic programming over the
  nesting of the candidates. :func:`objective` evaluates any set, so tests
  can check the maximum by brute force.
- :func:`reference_outages` cuts a storm into windows at every sustained
  fault's start and restoration (from the ground truth), predicts each
  window from the evidence still standing at its end (reports from units
  that have been out without interruption since they reported, SCADA
  lockouts not yet closed) and strings the windows into outages, which
  :func:`oms.simulation.scoring.score` scores like the engine's.

Pure: no database, no engine. Reports of supply (restores, energized ping
replies) are not used: the oracle knows from the truth whose supply came
back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from oms.config import PredictionParams
from oms.engine.prediction import OUTAGE_POINTS, DeviceTree
from oms.simulation.scoring import unit_lookup
from oms.simulation.storms import format_time, merge_intervals, normal_supply, parse_time
from topology.model import Network

__all__ = [
    "UnitEvidence",
    "map_faults",
    "objective",
    "reference_outages",
    "unit_llr",
]


@dataclass
class UnitEvidence:
    """What was heard of each unit (arrays indexed by unit).

    Attributes
    ----------
    node : ndarray of int
        The unit's node.
    count : ndarray of int
        Customers the unit stands for (1 for a customer; a node's count).
    metered : ndarray of bool
        Whether the unit has an AMI meter.
    call, gasp, ping_dead : ndarray of bool
        A call reporting no supply, a last gasp, a ping answered "no supply".
    """

    node: np.ndarray
    count: np.ndarray
    metered: np.ndarray
    call: np.ndarray
    gasp: np.ndarray
    ping_dead: np.ndarray

    @classmethod
    def silent(cls, net: Network, metered_default: bool = False) -> UnitEvidence:
        """Units of ``net`` (its customers, else its nodes) of whom nothing was heard."""
        cust = net.customers
        if cust is not None:
            node = np.asarray(cust.node, dtype=np.int64)
            count = np.ones(len(node), dtype=np.int64)
            meters = cust.fields.get("meter")
            metered = (
                np.array([bool(m) for m in meters], dtype=bool)
                if meters is not None
                else np.full(len(node), metered_default, dtype=bool)
            )
        else:
            node = np.arange(net.n_nodes, dtype=np.int64)
            count = np.asarray(net.node_customers, dtype=np.int64)
            metered = np.zeros(net.n_nodes, dtype=bool)
        n = len(node)
        return cls(
            node,
            count,
            metered,
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
        )


def unit_llr(ev: UnitEvidence, p: PredictionParams, *, ami_live: bool | None = None) -> np.ndarray:
    """Per unit, log P(what was heard | dead) - log P(what was heard | supplied).

    A unit standing for ``count`` customers is ``count`` customers of whom
    at most one called. Metered silence counts (``llr_no_gasp``) only while
    AMI delivers (``ami_live``, default: ``ami_delivery > 0``); a gasp counts
    ``llr_gasp`` in every case. O(units).
    """
    live = p.ami_delivery > 0 if ami_live is None else ami_live
    out = ev.count * p.llr_no_call + np.where(ev.call, p.llr_call - p.llr_no_call, 0.0)
    metered = ev.metered | ev.gasp  # a meter heard from is a meter
    out = out + np.where(ev.gasp, p.llr_gasp, np.where(metered & live, p.llr_no_gasp, 0.0))
    return out + np.where(ev.ping_dead, p.llr_ping, 0.0)


def _gains(tree: DeviceTree, node: np.ndarray, llr: np.ndarray) -> np.ndarray:
    """Per candidate, the sum of ``llr`` over the units below it. O(U log U + R)."""
    tin = tree.supply.tree.tin[node]
    keep = tin >= 0
    order = np.argsort(tin[keep], kind="stable")
    t = tin[keep][order]
    cum = np.r_[0.0, np.cumsum(np.asarray(llr, dtype=np.float64)[keep][order])]
    lo = np.searchsorted(t, tree.lo, side="left")
    hi = np.searchsorted(t, tree.hi, side="left")
    return np.asarray(cum[hi] - cum[lo], dtype=np.float64)


def objective(
    tree: DeviceTree,
    node: np.ndarray,
    llr: np.ndarray,
    devices: Iterable[int],
    fault_cost: float,
    forced: Iterable[int] = (),
    service_cost: float | None = None,
) -> float:
    """Log-likelihood ratio of a hypothesis against "nothing operated".

    The sum of ``llr`` over the units cut off by any device of ``devices``
    (candidate positions), minus ``fault_cost`` per device that is not
    ``forced`` and not below another device of the set; with
    ``service_cost``, each other unit is out on its own when that is more
    likely (``max(0, llr - service_cost)``). O(U + R).
    """
    chosen = sorted({int(d) for d in devices})
    forced_set = {int(f) for f in forced}
    tin = tree.supply.tree.tin[node]
    dead = np.zeros(len(node), dtype=bool)
    cost = 0.0
    for d in chosen:
        dead |= (tin >= tree.lo[d]) & (tin < tree.hi[d])
        covered = any(tree.below(o, d) for o in chosen)
        if d not in forced_set and not covered:
            cost += fault_cost
    ratios = np.asarray(llr, dtype=np.float64)
    own = 0.0
    if service_cost is not None:
        own = float(_own_service(tree, node, ratios, service_cost)[~dead].sum())
    return float(ratios[dead].sum()) - cost + own


def _own_service(
    tree: DeviceTree, node: np.ndarray, llr: np.ndarray, service_cost: float
) -> np.ndarray:
    """Per unit, what being out on its own adds (``llr - service_cost`` when positive),
    for the only such unit directly below its nearest candidate (or below none);
    0 for the others: several at once share a cause. O(U + R)."""
    own = np.maximum(np.asarray(llr, dtype=np.float64) - service_cost, 0.0)
    nearest = tree.node_device[node]  # -1: below no candidate
    positive = own > 0
    counts = np.bincount(nearest[positive] + 1, minlength=len(tree) + 1)
    return np.where(positive & (counts[nearest + 1] == 1), own, 0.0)


def map_faults(
    tree: DeviceTree,
    node: np.ndarray,
    llr: np.ndarray,
    fault_cost: float,
    forced: Iterable[int] = (),
    barred: Iterable[int] = (),
    service_cost: float | None = None,
) -> tuple[list[int], float]:
    """The most likely set of operated devices, and its :func:`objective`.

    Exact by dynamic programming over the nesting of every candidate (not
    only those with evidence): a candidate is either operated (its units'
    ratios, minus the cost unless forced) or supplied, its children deciding
    (and, with ``service_cost``, each unit directly below it out on its own
    when that is more likely).
    Forced devices are always operated, ``barred`` ones (SCADA-monitored,
    no trip reported) never unless forced; forced ones below an operated device are
    listed too (nested outages), as the engine does. Ties go to "supplied".
    O(U log U + R) plus a Python loop over the R candidates.

    Returns
    -------
    (list of int, float)
        Sorted candidate positions, and the objective of the set.
    """
    n = len(tree)
    if n == 0:
        return [], 0.0
    gain = _gains(tree, node, llr)
    forced_set = {int(f) for f in forced}
    is_forced = np.zeros(n, dtype=bool)
    if forced_set:
        is_forced[list(forced_set)] = True
    here = np.where(is_forced, gain, gain - fault_cost)
    for b in barred:
        if not is_forced[int(b)]:
            here[int(b)] = -np.inf
    parent = tree.parent.tolist()
    below = np.zeros(n)
    outside = 0.0  # units under no candidate, out on their own or not
    if service_cost is not None:
        own = _own_service(tree, node, llr, service_cost)
        inclusive = _gains(tree, node, own)
        below = inclusive.copy()
        for i in range(n):
            if parent[i] >= 0:
                below[parent[i]] -= inclusive[i]
        outside = float(own.sum() - sum(inclusive[i] for i in range(n) if parent[i] < 0))
    chosen = np.zeros(n, dtype=bool)
    value = np.zeros(n)
    # Candidates are sorted shallow first: a parent's index precedes its children's.
    for i in range(n - 1, -1, -1):
        chosen[i] = bool(is_forced[i] or here[i] > below[i])
        value[i] = here[i] if chosen[i] else below[i]
        if parent[i] >= 0:
            below[parent[i]] += value[i]
    blocked = np.zeros(n, dtype=bool)
    for i in range(n):
        p = parent[i]
        if p >= 0:
            blocked[i] = blocked[p] or chosen[p]
    pick = (chosen & ~blocked) | (is_forced & blocked)
    total = float(sum(value[i] for i in range(n) if parent[i] < 0)) + outside
    return sorted(np.flatnonzero(pick).tolist()), total


# ------------------------------------------------------------ storm windows
def _dead_intervals(
    net: Network, truth: dict[str, Any], unit_node: np.ndarray
) -> dict[int, list[tuple[float, float]]]:
    """Per unit, the merged intervals (POSIX seconds) without supply, from the truth."""
    supply = normal_supply(net)
    tree = supply.tree
    tin = tree.tin[unit_node]
    order = np.argsort(tin, kind="stable")
    sorted_tin = tin[order]
    raw: dict[int, list[tuple[float, float]]] = {}
    for f in truth.get("faults", []):
        e = net.edge_index.get(f["operated"], -1)
        if e < 0 or not supply.bridge[e]:
            continue
        c = int(tree.edge_child[e])
        lo, hi = int(tree.tin[c]), int(tree.tin[c] + tree.size[c])
        a, b = np.searchsorted(sorted_tin, [lo, hi])
        s, r = parse_time(f["start"]).timestamp(), parse_time(f["restored"]).timestamp()
        for u in order[a:b].tolist():
            raw.setdefault(u, []).append((s, r))
    cust = net.customers
    for x in truth.get("single_customer", []):
        key = x.get("customer") if cust is not None else x.get("node")
        index = cust.index if cust is not None else net.node_index
        u = index.get(key) if key is not None else None
        if u is None or not x.get("start") or not x.get("restored"):
            continue
        raw.setdefault(int(u), []).append(
            (parse_time(x["start"]).timestamp(), parse_time(x["restored"]).timestamp())
        )
    return {u: merge_intervals(ivs) for u, ivs in raw.items()}


def reference_outages(
    net: Network,
    truth: dict[str, Any],
    evidence: Sequence[dict[str, Any]],
    params: PredictionParams | None = None,
) -> list[dict[str, Any]]:
    """The exact MAP reference's outages over a storm, for :func:`~oms.simulation.scoring.score`.

    Parameters
    ----------
    net : Network
        The network the storm was simulated on (its normal state).
    truth : dict
        The scenario's ground truth (fault starts and restorations cut the
        windows; the units' dead intervals say which reports still stand).
    evidence : sequence of dict
        The storm's events and any ping replies.
    params : PredictionParams, optional
        The likelihood and the outage points (default: the engine's
        defaults, with ``ami_delivery`` as the engine is told it).

    Returns
    -------
    list of dict
        Network outages (``id`` ``REF-n``, ``kind``, ``device``, ``state``,
        ``started``, ``restored``, ``located_at``): one per run of windows in
        which the MAP set holds the device.

    Notes
    -----
    A report (call, last gasp, dead ping reply) counts at the end of a window
    when its unit has been out without interruption from the report to the
    end; a SCADA open counts (forced) until the device reports closed.
    O(W (U log U + R)) for W windows, U units and R candidates.
    """
    p = params or PredictionParams()
    supply = normal_supply(net)
    tree = DeviceTree(net, supply, outage_points=p.outage_points or OUTAGE_POINTS)
    silent = UnitEvidence.silent(net, p.metered_default)
    by_id, by_phone, by_meter = unit_lookup(net)
    dead = _dead_intervals(net, truth, silent.node)

    reports: list[tuple[float, int, str]] = []  # time, unit, what
    scada: list[tuple[float, int, bool]] = []  # time, edge, open
    for ev in evidence:
        kind = ev.get("type")
        try:
            t = parse_time(ev["time"]).timestamp()
        except (KeyError, TypeError, ValueError):
            continue
        if kind == "scada":
            e = net.edge_index.get(ev.get("device", ""), -1)
            if e >= 0 and ev.get("state") in ("open", "closed"):
                scada.append((t, e, ev.get("state") == "open"))
            continue
        if kind == "call" and ev.get("power", "off") != "on":
            what = "call"
        elif kind == "ami_last_gasp":
            what = "gasp"
        elif kind == "ami_ping_reply" and not ev.get("energized", True):
            what = "ping"
        else:
            continue
        u: int | None = None
        if "node" in ev and net.customers is None:
            u = by_id.get(ev["node"])
        elif "customer" in ev:
            u = by_id.get(ev["customer"])
        elif "phone" in ev:
            u = by_phone.get(str(ev["phone"]))
        elif "meter" in ev:
            u = by_meter.get(str(ev["meter"]))
        if u is not None:
            reports.append((t, int(u), what))
    reports.sort()
    scada.sort()
    monitored = np.flatnonzero(net.edge_scada[tree.candidate]).tolist()

    cuts = set()
    for f in truth.get("faults", []):
        if f.get("momentary"):
            continue
        cuts.add(parse_time(f["start"]).timestamp())
        cuts.add(parse_time(f["restored"]).timestamp())
    bounds = sorted(cuts)
    open_since: dict[int, float] = {}
    outages: list[dict[str, Any]] = []

    def close(dev: int, since: float, until: float) -> None:
        outages.append(
            {
                "id": f"REF-{len(outages) + 1}",
                "kind": "network",
                "device": net.edge_ids[int(tree.candidate[dev])],
                "state": "restored",
                "started": _iso(since),
                "restored": _iso(until),
                "located_at": _iso(since),
            }
        )

    for a, b in pairwise(bounds):
        heard = UnitEvidence(
            silent.node,
            silent.count,
            silent.metered,
            np.zeros(len(silent.node), dtype=bool),
            np.zeros(len(silent.node), dtype=bool),
            np.zeros(len(silent.node), dtype=bool),
        )
        heard_gasp = False  # the head-end is seen delivering (as the engine's ami_live)
        for t, u, what in reports:
            if t >= b:
                break
            heard_gasp |= what == "gasp"
            if not any(s <= t and r >= b for s, r in dead.get(u, ())):
                continue
            getattr(heard, {"call": "call", "gasp": "gasp", "ping": "ping_dead"}[what])[u] = True
        state: dict[int, bool] = {}
        for t, e, is_open in scada:
            if t >= b:
                break
            state[e] = is_open
        forced = [tree.position[e] for e, o in state.items() if o and e in tree.position]
        # SCADA-monitored devices that did not report opening did not operate,
        # while the feed is seen reporting (as the engine).
        scada_live = any(b - t < p.window_hours * 3600.0 for t, _e, _o in scada if t < b)
        barred = monitored if scada_live else []
        ami_live = p.ami_delivery > 0 and heard_gasp
        llr = unit_llr(heard, p, ami_live=ami_live)
        devices, _ = map_faults(
            tree, heard.node, llr, p.fault_cost, forced, barred, p.service_fault_cost
        )
        now = set(devices)
        for d in [d for d in open_since if d not in now]:
            close(d, open_since.pop(d), a)
        for d in devices:
            open_since.setdefault(d, a)
    if bounds:
        for d, since in sorted(open_since.items()):
            close(d, since, bounds[-1])
    return outages


def _iso(t: float) -> str:
    from datetime import datetime, timezone

    return format_time(datetime.fromtimestamp(t, tz=timezone.utc))
