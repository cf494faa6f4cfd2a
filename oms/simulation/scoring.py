"""Score predicted outages against a simulated storm's ground truth.

The right answer for a sustained fault is the protective device that
operated (for a conductor fault, fault indicators then give the section),
or any device that cuts off exactly the same customers in the normal state.
Only observable faults count: a fault with no evidence at all between its
start and its restoration cannot be located by anyone, and a nested fault
is masked while a fault above it is out (it becomes observable if the upper
one is restored first).

>>> from oms.simulation.storms import StormParams, simulate_storm  # doctest: +SKIP
>>> scenario = simulate_storm(net, StormParams(seed=1))  # doctest: +SKIP
>>> score(net, scenario.truth, outages, evidence=scenario.events)["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from oms.simulation.storms import edge_upper_nodes, normal_supply, parse_time, protective_above
from topology.model import Network
from topology.supply import Supply

__all__ = ["RESULTS", "score", "unit_lookup"]

#: Per-fault results, best first.
RESULTS = ("right", "one_level", "wrong", "missed", "unobservable")

_RANKS = ("right", "one_level", "wrong", "wrong")
_MOMENTARY_SLACK_S = 300.0


class _Geometry:
    """Pre-order ranges, protective parents and feeders of edges, in the normal state.

    All arrays are indexed by edge position and built in O(n + m).
    """

    def __init__(self, net: Network, supply: Supply) -> None:
        self.net = net
        self.supply = supply
        tree = supply.tree
        self.tree = tree
        m = net.n_edges
        self.upper = edge_upper_nodes(net, supply)
        has_upper = self.upper >= 0
        up = np.maximum(self.upper, 0)
        prot_above = protective_above(net, supply)
        #: nearest protective edge above each edge (-1: none)
        self.parent = np.where(has_upper, prot_above[up], -1)
        # Pre-order range cut off by each edge ([-1, -1) when nothing).
        self.lo = np.full(m, -1, dtype=np.int64)
        self.hi = np.full(m, -1, dtype=np.int64)
        cut = np.flatnonzero(supply.bridge)
        child = tree.edge_child[cut]
        self.lo[cut] = tree.tin[child]
        self.hi[cut] = tree.tin[child] + tree.size[child]
        # A position for "is this edge below that device": its lower node
        # when it has one, else its upper end.
        lower = np.where(tree.edge_child >= 0, tree.edge_child, up)
        self.pos = np.where(has_upper | (tree.edge_child >= 0), tree.tin[lower], -2)
        # Customers cut off by each edge: prefix sums over the pre-order.
        per_node = np.zeros(net.n_nodes + 1, dtype=np.int64)
        per_node[: net.n_nodes] = net.node_customers
        cum = np.r_[0, np.cumsum(per_node[tree.pre])]
        self.customers = np.zeros(m, dtype=np.int64)
        self.customers[cut] = cum[self.hi[cut]] - cum[self.lo[cut]]
        # Feeder key: the top-most protective edge above (or the edge itself),
        # else minus two minus the source node.
        top = _top_protective(net, supply)
        feeder = np.where(has_upper, top[up], -1)
        own = (feeder < 0) & net.protective & has_upper
        feeder[own] = np.flatnonzero(own)
        lonely = (feeder < 0) & has_upper
        if lonely.any():
            feeder[lonely] = [-2 - tree.top(int(u)) for u in self.upper[lonely]]
        self.feeder = feeder

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Tree edges between the upper ends of edges ``a`` and ``b`` (vectorised)."""
        u, v = self.upper[a], self.upper[b]
        out = np.full(len(a), 1 << 30, dtype=np.int64)
        ok = (u >= 0) & (v >= 0)
        if ok.any():
            w = self.tree.lca(u[ok], v[ok])
            d = self.tree.depth
            out[ok] = d[u[ok]] + d[v[ok]] - 2 * d[w]
        return out


def _top_protective(net: Network, supply: Supply) -> np.ndarray:
    """For every node, the protective edge nearest the source on its path (-1: none).

    Level by level over the tree depth, O(n) work.
    """
    tree = supply.tree
    n = net.n_nodes
    out = np.full(n + 1, -1, dtype=np.int64)
    reached = np.flatnonzero(tree.reached[:n])
    order = reached[np.argsort(tree.depth[reached], kind="stable")]
    depths = tree.depth[order]
    prot = net.protective
    for level in np.split(order, np.flatnonzero(np.diff(depths)) + 1):
        if not len(level):
            continue
        above = out[tree.parent[level]]
        pe = tree.parent_edge[level]
        own = (pe >= 0) & prot[np.maximum(pe, 0)]
        out[level] = np.where(above >= 0, above, np.where(own, pe, -1))
    return out


def unit_lookup(net: Network) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Unit positions by id (customer, or node without customers), by phone and by meter."""
    cust = net.customers
    if cust is None:
        return dict(net.node_index), {}, {}
    phones: dict[str, int] = {}
    meters: dict[str, int] = {}
    for i, ph in enumerate(cust.fields.get("phone") or []):
        if ph:
            phones.setdefault(str(ph), i)
    for i, m in enumerate(cust.fields.get("meter") or []):
        if m:
            meters.setdefault(str(m), i)
    return dict(cust.index), phones, meters


def _evidence_index(
    net: Network, evidence: list[dict[str, Any]]
) -> tuple[list[tuple[float, int]], list[tuple[float, int]], list[tuple[float, int]]]:
    """(time, node) of outage evidence from customers and nodes, scada opens, fci faults.

    Times are POSIX seconds. Calls with ``power: on``, restores and
    energized ping replies are not outage evidence.
    """
    customers = net.customers
    _, phone_index, meter_index = unit_lookup(net)
    points: list[tuple[float, int]] = []
    scada: list[tuple[float, int]] = []
    fci: list[tuple[float, int]] = []
    for ev in evidence:
        kind = ev.get("type")
        try:
            t = parse_time(ev["time"]).timestamp()
        except (KeyError, TypeError, ValueError):
            continue
        if kind == "scada":
            if ev.get("state") == "open" and ev.get("device") in net.edge_index:
                scada.append((t, net.edge_index[ev["device"]]))
            continue
        if kind == "fci":
            if ev.get("fault") and ev.get("device") in net.edge_index:
                fci.append((t, net.edge_index[ev["device"]]))
            continue
        if kind == "call":
            if ev.get("power", "off") == "on":
                continue
        elif kind == "ami_ping_reply":
            if ev.get("energized", True):
                continue
        elif kind != "ami_last_gasp":
            continue
        node = -1
        if "node" in ev and ev["node"] in net.node_index:
            node = net.node_index[ev["node"]]
        elif customers is not None:
            ci: int | None = None
            if "customer" in ev:
                ci = customers.index.get(ev["customer"])
            elif "phone" in ev:
                ci = phone_index.get(str(ev["phone"]))
            elif "meter" in ev:
                ci = meter_index.get(str(ev["meter"]))
            if ci is not None:
                node = int(customers.node[ci])
        if node >= 0:
            points.append((t, node))
    return points, scada, fci


def _subtract(window: tuple[float, float], cuts: list[tuple[float, float]]) -> list[list[float]]:
    """The parts of ``window`` outside every interval of ``cuts``."""
    parts = [[window[0], window[1]]]
    for a, b in sorted(cuts):
        nxt = []
        for lo, hi in parts:
            if b <= lo or a >= hi:
                nxt.append([lo, hi])
                continue
            if lo < a:
                nxt.append([lo, a])
            if b < hi:
                nxt.append([b, hi])
        parts = nxt
    return parts


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.quantile(np.asarray(values, dtype=float), q))


def _time(text: Any, default: float) -> float:
    if not text:
        return default
    if isinstance(text, datetime):
        return text.timestamp()
    return parse_time(str(text)).timestamp()


def score(
    net: Network,
    truth: dict[str, Any],
    outages: list[dict[str, Any]],
    *,
    evidence: list[dict[str, Any]] | None = None,
    etrs: Mapping[str, Mapping[str, Any]] | None = None,
    step_s: float = 60.0,
) -> dict[str, Any]:
    """Score predicted outages against a scenario's ground truth.

    Parameters
    ----------
    net : Network
        The network the scenario was simulated on (its normal state is used).
    truth : dict
        :attr:`oms.simulation.storms.Scenario.truth`.
    outages : list of dict
        Predicted outages with ``id``, ``kind`` (``network``,
        ``single_customer``, ``momentary``), ``device`` (edge id or None),
        ``state`` (``cancelled`` ones are ignored), ``started``,
        ``restored`` (None while out) and ``located_at`` (when the outage was
        first predicted at its current device; ``started`` if missing).
    evidence : list of dict, optional
        The scenario's events (and any ping replies). A fault is observable
        when evidence about it falls inside its unmasked life: a call, last
        gasp or dead ping reply from below its operated device, a SCADA open
        of that device, or a fault indicator below it. Without evidence every
        unmasked fault counts as observable, from its start.
    etrs : mapping, optional
        Per outage id, ``{"first": time, "final": time}``: the first ETR
        given for it and the last one before its restoration (as the replay
        reads them from the jobs). Gives ``etr``.
    step_s : float
        Sampling step of the customers-out comparison.

    Returns
    -------
    dict
        ``faults``, ``observable``, ``right``, ``one_level``, ``wrong``,
        ``missed``, ``predicted``, ``false``, ``accuracy`` (right /
        observable), ``false_rate`` (false / predicted), ``momentary``,
        ``single_customer``, ``time_to_right_s``, ``per_fault`` and
        ``false_outages`` (the network outages matched to no fault); and
        ``too_high`` / ``too_low`` (of the faults matched to a device that is
        not right, those where it lies above / below the right one; the
        one-level ones included), ``precision`` (right / predicted),
        ``recall`` (right / observable), ``f1``, ``customers_out`` (the
        customers out in the truth and as predicted, sampled every
        ``step_s`` over the storm: mean absolute error, means, peaks) and
        ``etr`` (over the observable faults matched to an outage with an
        ETR: mean absolute error of the first and of the final ETR against
        the actual restoration, in minutes, and the share restored by each).
        Ratios are None when their denominator is 0.

    Notes
    -----
    Matching is greedy, best first: each observable fault takes at most one
    network outage whose time interval overlaps its life, and each outage
    serves at most one fault. ``right``: the same device or one cutting off
    the same customers; ``one_level``: the nearest protective device above
    the operated one, or one whose nearest protective device above is the
    operated one; ``wrong``: any other outage in the same feeder (the
    nearest in the tree counts). An outage that would be right or one level
    off for an unobservable fault is not counted false.

    O(n + m) for the normal-state arrays, then O(F * (F + O + E)) numpy work
    for F sustained faults, O outages and E evidence events, plus O(depth)
    numpy steps for the tree distances of the candidate pairs.
    """
    supply = normal_supply(net)
    geo = _Geometry(net, supply)
    tin = supply.tree.tin
    inf = float("inf")

    # ------------------------------------------------------------ truth
    sustained: list[dict[str, Any]] = []
    moments: list[dict[str, Any]] = []
    for f in truth.get("faults", []):
        item = {
            "id": f["id"],
            "operated": f["operated"],
            "op": net.edge_index.get(f["operated"], -1),
            "start": _time(f["start"], -inf),
            "restored": _time(f.get("restored"), inf),
        }
        (moments if f.get("momentary") else sustained).append(item)
    nf = len(sustained)
    f_op = np.array([f["op"] for f in sustained], dtype=np.int64)
    f_start = np.array([f["start"] for f in sustained], dtype=float)
    f_rest = np.array([f["restored"] for f in sustained], dtype=float)
    f_lo = np.where(f_op >= 0, geo.lo[np.maximum(f_op, 0)], -1)
    f_hi = np.where(f_op >= 0, geo.hi[np.maximum(f_op, 0)], -1)

    # Masked parts: while a sustained fault above is out.
    for k, f in enumerate(sustained):
        above = (f_lo <= f_lo[k]) & (f_hi[k] <= f_hi) & (f_op != f_op[k]) & (f_lo >= 0)
        above &= f_lo[k] >= 0
        cuts = list(zip(f_start[above].tolist(), f_rest[above].tolist(), strict=True))
        f["windows"] = _subtract((f["start"], f["restored"]), cuts)

    # --------------------------------------------------------- evidence
    if evidence is not None:
        points, scada, fci = _evidence_index(net, evidence)
        pt_time = np.array([p[0] for p in points], dtype=float)
        pt_tin = tin[np.array([p[1] for p in points], dtype=np.int64)] if points else pt_time
        sc_time = np.array([s[0] for s in scada], dtype=float)
        sc_dev = np.array([s[1] for s in scada], dtype=np.int64)
        fci_time = np.array([x[0] for x in fci], dtype=float)
        fci_pos = geo.pos[np.array([x[1] for x in fci], dtype=np.int64)] if fci else fci_time
        for k, f in enumerate(sustained):
            first = inf
            lo, hi = f_lo[k], f_hi[k]
            for lo_t, hi_t in f["windows"]:
                hits = [
                    pt_time[(pt_tin >= lo) & (pt_tin < hi) & (pt_time >= lo_t) & (pt_time <= hi_t)],
                    sc_time[(sc_dev == f["op"]) & (sc_time >= lo_t) & (sc_time <= hi_t)],
                    fci_time[
                        (fci_pos >= lo) & (fci_pos < hi) & (fci_time >= lo_t) & (fci_time <= hi_t)
                    ],
                ]
                for h in hits:
                    if len(h):
                        first = min(first, float(h.min()))
            f["first_evidence"] = first
            f["observable"] = first < inf
    else:
        for f in sustained:
            f["observable"] = bool(f["windows"])
            f["first_evidence"] = f["windows"][0][0] if f["windows"] else inf

    # ---------------------------------------------------------- outages
    live = [o for o in outages if o.get("state") != "cancelled"]
    network = [o for o in live if o.get("kind") == "network"]
    no = len(network)
    o_dev = [o.get("device") for o in network]
    o_e = np.array(
        [net.edge_index.get(d, -1) if d is not None else -1 for d in o_dev], dtype=np.int64
    )
    o_start = np.array([_time(o.get("started"), -inf) for o in network], dtype=float)
    o_rest = np.array([_time(o.get("restored"), inf) for o in network], dtype=float)
    o_loc = np.array(
        [_time(o.get("located_at"), s) for o, s in zip(network, o_start, strict=True)],
        dtype=float,
    )
    known = o_e >= 0
    oe = np.maximum(o_e, 0)
    o_lo = np.where(known, geo.lo[oe], -1)
    o_hi = np.where(known, geo.hi[oe], -1)
    o_cust = np.where(known, geo.customers[oe], 0)
    o_parent = np.where(known, geo.parent[oe], -2)
    o_prot = known & net.protective[oe]
    o_feeder = np.where(known, geo.feeder[oe], -(1 << 40))

    def candidates(which: list[int], allowed: int) -> list[tuple[Any, ...]]:
        """(rank, distance, lag, fault, outage) for every admissible pair, best first."""
        rows: list[tuple[int, int, int, float]] = []  # rank, fault, outage, lag
        for k in which:
            f = sustained[k]
            op = int(f_op[k])
            overlap = (o_start <= f_rest[k]) & (o_rest >= f_start[k])
            if not overlap.any():
                continue
            if op < 0:
                right = overlap & np.array([d == f["operated"] for d in o_dev], dtype=bool)
                one = deeper = wrong = np.zeros(no, dtype=bool)
            else:
                lo, hi = f_lo[k], f_hi[k]
                nested = ((lo <= o_lo) & (o_hi <= hi)) | ((o_lo <= lo) & (hi <= o_hi))
                nested &= (o_lo >= 0) & (lo >= 0)
                same = nested & (o_cust == geo.customers[op]) & (o_cust > 0)
                right = overlap & ((o_e == op) | same)
                one = overlap & ~right & ((o_e == geo.parent[op]) | (o_prot & (o_parent == op)))
                deeper = overlap & ~right & ~one & nested & (o_feeder == geo.feeder[op])
                wrong = overlap & ~right & ~one & ~deeper & (o_feeder == geo.feeder[op])
            for rank, mask in enumerate((right, one, deeper, wrong)):
                if rank > allowed:
                    break
                for j in np.flatnonzero(mask):
                    rows.append((rank, k, int(j), abs(float(o_loc[j]) - f["first_evidence"])))
        if not rows:
            return []
        ks = np.array([r[1] for r in rows], dtype=np.int64)
        js = np.array([r[2] for r in rows], dtype=np.int64)
        dist = np.zeros(len(rows), dtype=np.int64)
        far = np.array([r[0] > 0 for r in rows]) & (f_op[ks] >= 0) & (o_e[js] >= 0)
        if far.any():
            dist[far] = geo.distance(f_op[ks[far]], o_e[js[far]])
        pairs = [(r[0], int(d), r[3], r[1], r[2]) for r, d in zip(rows, dist, strict=True)]
        pairs.sort()
        return pairs

    observable = [k for k in range(nf) if sustained[k]["observable"]]
    hidden = [k for k in range(nf) if not sustained[k]["observable"]]
    match: dict[int, tuple[int, str]] = {}
    used: set[int] = set()
    for rank, _d, _l, k, j in candidates(observable, 3):
        if k not in match and j not in used:
            match[k] = (j, _RANKS[rank])
            used.add(j)
    for rank, _d, _l, k, j in candidates(hidden, 1):
        if k not in match and j not in used:
            match[k] = (j, _RANKS[rank])
            used.add(j)

    # ----------------------------------------------------------- report
    counts = {"right": 0, "one_level": 0, "wrong": 0, "missed": 0}
    levels = {"too_high": 0, "too_low": 0}
    lags: list[float] = []
    per_fault = []
    etr_rows: list[tuple[float, float | None, float | None]] = []  # restored, first, final
    for k, f in enumerate(sustained):
        j, result = match.get(k, (None, "missed"))
        level = None
        if j is not None and result != "right" and f_lo[k] >= 0 and o_lo[j] >= 0:
            if o_lo[j] <= f_lo[k] and f_hi[k] <= o_hi[j]:
                level = "too_high"
            elif f_lo[k] <= o_lo[j] and o_hi[j] <= f_hi[k]:
                level = "too_low"
        if not f["observable"]:
            result = "unobservable"
        else:
            counts[result] += 1
            if level is not None:
                levels[level] += 1
            if result == "right" and j is not None:
                lags.append(max(0.0, float(o_loc[j]) - f["first_evidence"]))
            if j is not None and etrs is not None and f["restored"] < inf:
                given = etrs.get(str(network[j].get("id")))
                if given is not None and (given.get("first") or given.get("final")):
                    etr_first = _time(given.get("first"), inf) if given.get("first") else None
                    etr_final = _time(given.get("final"), inf) if given.get("final") else etr_first
                    etr_rows.append((f["restored"], etr_first, etr_final))
        per_fault.append(
            {
                "fault": f["id"],
                "operated": f["operated"],
                "outage": None if j is None else network[j].get("id"),
                "device": None if j is None else o_dev[j],
                "result": result,
                "level": level,
            }
        )

    # Momentaries: a momentary outage on an equivalent device (or none) near the time.
    momentary_outages = [o for o in live if o.get("kind") == "momentary"]
    taken: set[int] = set()
    detected = 0
    for mo in moments:
        op = mo["op"]
        for j, o in enumerate(momentary_outages):
            if j in taken:
                continue
            t = _time(o.get("started"), -inf)
            if not mo["start"] - _MOMENTARY_SLACK_S <= t <= mo["restored"] + _MOMENTARY_SLACK_S:
                continue
            dev = o.get("device")
            e = net.edge_index.get(dev, -1) if dev is not None else -1
            same = dev is None or dev == mo["operated"]
            if not same and e >= 0 and op >= 0 and geo.lo[op] >= 0 and geo.lo[e] >= 0:
                nested = (geo.lo[op] <= geo.lo[e] and geo.hi[e] <= geo.hi[op]) or (
                    geo.lo[e] <= geo.lo[op] and geo.hi[op] <= geo.hi[e]
                )
                same = nested and geo.customers[e] == geo.customers[op] > 0
            if same:
                taken.add(j)
                detected += 1
                break

    n_observable = len(observable)
    n_false = no - len(used)
    precision = counts["right"] / no if no else None
    recall = counts["right"] / n_observable if n_observable else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else (0.0 if precision is not None and recall is not None else None)
    )
    return {
        "faults": nf,
        "observable": n_observable,
        **counts,
        **levels,
        "predicted": no,
        "false": n_false,
        "accuracy": counts["right"] / n_observable if n_observable else None,
        "false_rate": n_false / no if no else None,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "customers_out": _customers_out(net, geo, truth, sustained, live, step_s),
        "restoration": _restoration(net, geo, truth, sustained, live),
        "etr": _etr_accuracy(etr_rows),
        "momentary": {"faults": len(moments), "detected": detected},
        "single_customer": {
            "truth": len(truth.get("single_customer", [])),
            "predicted": sum(1 for o in live if o.get("kind") == "single_customer"),
        },
        "time_to_right_s": {
            "median": _quantile(lags, 0.5),
            "p90": _quantile(lags, 0.9),
            "n": len(lags),
        },
        "per_fault": per_fault,
        "false_outages": [
            {"outage": o.get("id"), "device": o.get("device"), "started": o.get("started")}
            for j, o in enumerate(network)
            if j not in used
        ],
    }


def _customers_out(
    net: Network,
    geo: _Geometry,
    truth: dict[str, Any],
    sustained: list[dict[str, Any]],
    live: list[dict[str, Any]],
    step_s: float,
) -> dict[str, Any]:
    """Customers out in the truth and as predicted, sampled over the storm.

    Truth: the customers below every sustained fault's operated device while
    it is out, plus the single-customer problems. Predicted: the customers
    below every network outage's device while it is open (each counted
    once), plus open single-customer outages. O(S (F + O) + S n) numpy work
    for S samples.
    """
    inf = float("inf")
    try:
        t0 = _time(truth.get("start"), 0.0)
        t1 = _time(truth.get("end"), t0)
    except ValueError:
        return {"mae": None, "truth_mean": None, "predicted_mean": None}
    if not t1 > t0 or step_s <= 0:
        return {"mae": None, "truth_mean": None, "predicted_mean": None}
    samples = np.arange(t0, t1, step_s)
    tree = geo.tree
    per_pos = np.zeros(len(tree.pre) + 1, dtype=np.int64)
    per_node = np.zeros(net.n_nodes + 1, dtype=np.int64)
    per_node[: net.n_nodes] = net.node_customers
    per_pos[: len(tree.pre)] = per_node[tree.pre]

    def ranges(items: list[tuple[int, float, float]]) -> tuple[np.ndarray, ...]:
        e = np.array([i[0] for i in items], dtype=np.int64)
        a = np.array([i[1] for i in items], dtype=float)
        b = np.array([i[2] for i in items], dtype=float)
        ok = (e >= 0) & (geo.lo[np.maximum(e, 0)] >= 0) if len(e) else np.zeros(0, dtype=bool)
        return geo.lo[e[ok]], geo.hi[e[ok]], a[ok], b[ok]

    truth_items = [(int(f["op"]), f["start"], f["restored"]) for f in sustained]
    pred_items = []
    pred_single: list[tuple[float, float]] = []
    for o in live:
        a, b = _time(o.get("started"), -inf), _time(o.get("restored"), inf)
        if o.get("kind") == "network" and o.get("device") is not None:
            pred_items.append((net.edge_index.get(o["device"], -1), a, b))
        elif o.get("kind") == "single_customer":
            pred_single.append((a, b))
    truth_single = [
        (_time(x.get("start") or x.get("time"), -inf), _time(x.get("restored"), inf))
        for x in truth.get("single_customer", [])
    ]
    t_r, p_r = ranges(truth_items), ranges(pred_items)
    ts = np.array(truth_single, dtype=float).reshape(-1, 2)
    ps = np.array(pred_single, dtype=float).reshape(-1, 2)

    def out_at(r: tuple[np.ndarray, ...], singles: np.ndarray, t: float) -> int:
        lo, hi, a, b = r
        on = (a <= t) & (t < b)
        cover = np.zeros(len(per_pos) + 1, dtype=np.int64)
        np.add.at(cover, lo[on], 1)
        np.add.at(cover, hi[on], -1)
        dead = np.cumsum(cover)[: len(per_pos)] > 0
        extra = int(((singles[:, 0] <= t) & (t < singles[:, 1])).sum()) if len(singles) else 0
        return int(per_pos[dead].sum()) + extra

    truth_out = np.array([out_at(t_r, ts, float(t)) for t in samples], dtype=float)
    pred_out = np.array([out_at(p_r, ps, float(t)) for t in samples], dtype=float)
    busy = (truth_out > 0) | (pred_out > 0)
    if not busy.any():
        return {"mae": 0.0, "truth_mean": 0.0, "predicted_mean": 0.0}
    err = np.abs(truth_out - pred_out)[busy]
    return {
        "mae": round(float(err.mean()), 1),
        "truth_mean": round(float(truth_out[busy].mean()), 1),
        "predicted_mean": round(float(pred_out[busy].mean()), 1),
        "truth_peak": int(truth_out.max()),
        "predicted_peak": int(pred_out.max()),
        "samples": int(busy.sum()),
    }


def _restoration(
    net: Network,
    geo: _Geometry,
    truth: dict[str, Any],
    sustained: list[dict[str, Any]],
    live: list[dict[str, Any]],
) -> dict[str, Any]:
    """How fast the storm's customers got supply back: by the truth, and as
    the outage records say (what a control room would report).

    A customer is back when the last outage above it is restored
    (single-customer ones count one customer each). Gives the minutes from
    the storm's start until 50%, 90% and 100% of the customers interrupted
    were back (None when some never are), and the critical customers'
    minutes without supply (the union of the intervals above each, up to
    the storm's end). O(F n) for F faults or outages.
    """
    inf = float("inf")
    t0 = _time(truth.get("start"), 0.0)
    t1 = _time(truth.get("end"), t0)
    truth_spans = [(int(f["op"]), f["start"], f["restored"]) for f in sustained]
    truth_single = [_time(x.get("restored"), inf) for x in truth.get("single_customer", [])]
    recorded_spans, recorded_single = [], []
    for o in live:
        a, b = _time(o.get("started"), -inf), _time(o.get("restored"), inf)
        if o.get("kind") == "single_customer":
            recorded_single.append(b)
        elif o.get("kind") in ("network", "switching") and o.get("device") in net.edge_index:
            recorded_spans.append((net.edge_index[o["device"]], a, b))
    return {
        "truth": _back(net, geo, truth_spans, truth_single, t0, t1),
        "recorded": _back(net, geo, recorded_spans, recorded_single, t0, t1),
    }


def _back(
    net: Network,
    geo: _Geometry,
    spans: list[tuple[int, float, float]],
    singles: list[float],
    t0: float,
    t1: float,
) -> dict[str, Any]:
    inf = float("inf")
    tree = geo.tree
    back = np.full(len(tree.pre), -inf)  # per pre-order position: supply back for good
    ranges: list[tuple[int, int, float, float]] = []
    for e, a, b in spans:
        if e < 0 or geo.lo[e] < 0:
            continue
        lo, hi = int(geo.lo[e]), int(geo.hi[e])
        np.maximum(back[lo:hi], b, out=back[lo:hi])
        ranges.append((lo, hi, a, b))
    per_pos = np.zeros(len(tree.pre), dtype=np.int64)
    valid = tree.pre < net.n_nodes
    per_pos[valid] = net.node_customers[tree.pre[valid]]
    hit = (back > -inf) & (per_pos > 0)
    ordered = np.sort(np.r_[np.repeat(back[hit], per_pos[hit]), np.array(singles, dtype=float)])
    out: dict[str, Any] = {"customers_interrupted": len(ordered)}
    for share in (50, 90, 100):
        if not len(ordered):
            out[f"t{share}_min"] = None
            continue
        at = float(ordered[max(int(np.ceil(share / 100 * len(ordered))) - 1, 0)])
        out[f"t{share}_min"] = round((at - t0) / 60, 1) if at < inf else None
    out["critical"] = _critical_minutes(net, tree, ranges, t1)
    return out


def _critical_minutes(
    net: Network, tree: Any, spans: list[tuple[int, int, float, float]], end: float
) -> dict[str, Any]:
    """Critical customers interrupted and their minutes out (union of intervals)."""
    cust = net.customers
    if cust is None or not spans:
        return {"interrupted": 0, "minutes": 0.0, "max_minutes": None}
    critical = np.flatnonzero(cust.critical_mask())
    minutes = []
    for u in critical.tolist():
        t = int(tree.tin[int(cust.node[u])])
        covering = sorted(
            (a, min(b, end)) for lo, hi, a, b in spans if t >= 0 and lo <= t < hi and a < end
        )
        if not covering:
            continue
        total, cur_a, cur_b = 0.0, covering[0][0], covering[0][1]
        for a, b in covering[1:]:
            if a > cur_b:
                total += cur_b - cur_a
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        total += cur_b - cur_a
        minutes.append(total / 60)
    return {
        "interrupted": len(minutes),
        "minutes": round(float(sum(minutes)), 1),
        "max_minutes": round(float(max(minutes)), 1) if minutes else None,
    }


def _etr_accuracy(rows: list[tuple[float, float | None, float | None]]) -> dict[str, Any]:
    """ETR errors in minutes and the share of faults restored by their ETR."""
    firsts = [(r, a) for r, a, _ in rows if a is not None and a < float("inf")]
    finals = [(r, b) for r, _, b in rows if b is not None and b < float("inf")]

    def mae(pairs: list[tuple[float, float]]) -> float | None:
        return round(float(np.mean([abs(e - r) for r, e in pairs])) / 60, 1) if pairs else None

    def share(pairs: list[tuple[float, float]]) -> float | None:
        return round(sum(1 for r, e in pairs if r <= e) / len(pairs), 4) if pairs else None

    return {
        "n": len(rows),
        "first_mae_min": mae(firsts),
        "final_mae_min": mae(finals),
        "restored_before_first": share(firsts),
        "restored_before_final": share(finals),
    }
