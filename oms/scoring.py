"""Score predicted outages against a simulated storm's ground truth.

The right answer for a sustained fault is the protective device that
operated (for a conductor fault, fault indicators then give the section),
or any device that cuts off exactly the same customers in the normal state.
Only observable faults count: a fault with no evidence at all between its
start and its restoration cannot be located by anyone, and a nested fault
is masked while a fault above it is out (it becomes observable if the upper
one is restored first).

>>> from oms.simulate import StormParams, simulate_storm  # doctest: +SKIP
>>> scenario = simulate_storm(net, StormParams(seed=1))  # doctest: +SKIP
>>> score(net, scenario.truth, outages, evidence=scenario.events)["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from oms.simulate import edge_upper_nodes, normal_supply, parse_time, protective_above
from topology.model import Network
from topology.supply import Supply

__all__ = ["RESULTS", "score"]

#: Per-fault results, best first.
RESULTS = ("right", "one_level", "wrong", "missed", "unobservable")

_RANK = {"right": 0, "one_level": 1, "wrong": 2}
_MOMENTARY_SLACK_S = 300.0


class _Geometry:
    """Subtree ranges, protective parents and feeders in the normal state."""

    def __init__(self, net: Network, supply: Supply) -> None:
        self.net = net
        self.supply = supply
        self.tree = supply.tree
        self.upper = edge_upper_nodes(net, supply)
        self.prot_above = protective_above(net, supply)
        self._feeder: dict[int, int] = {}

    def span(self, e: int) -> tuple[int, int] | None:
        """Pre-order range of the nodes cut off by opening edge ``e``."""
        if e < 0 or not self.supply.bridge[e]:
            return None
        c = int(self.tree.edge_child[e])
        lo = int(self.tree.tin[c])
        return lo, lo + int(self.tree.size[c])

    def customers(self, e: int) -> int:
        return int(self.supply.downstream_customers(e)) if e >= 0 else 0

    def same_customers(self, a: int, b: int) -> bool:
        """Do edges ``a`` and ``b`` cut off exactly the same (non-empty) customers?"""
        if a == b:
            return True
        sa, sb = self.span(a), self.span(b)
        if sa is None or sb is None:
            return False
        nested = (sa[0] <= sb[0] and sb[1] <= sa[1]) or (sb[0] <= sa[0] and sa[1] <= sb[1])
        ca = self.customers(a)
        return nested and ca > 0 and ca == self.customers(b)

    def protective_parent(self, e: int) -> int:
        """The nearest protective edge above edge ``e``, -1 if none."""
        u = int(self.upper[e]) if e >= 0 else -1
        return int(self.prot_above[u]) if u >= 0 else -1

    def strictly_below(self, d: int, e: int) -> bool:
        """Is edge ``d`` (not ``e``) inside the area cut off by ``e``?"""
        if d == e:
            return False
        s, sd = self.span(e), self.span(d)
        return s is not None and sd is not None and s[0] <= sd[0] and sd[1] <= s[1]

    def feeder(self, e: int) -> int:
        """A feeder key: the top protective device above ``e`` (or its source node)."""
        if e in self._feeder:
            return self._feeder[e]
        u = int(self.upper[e]) if e >= 0 else -1
        key = -1
        if u >= 0:
            path = self.supply.upstream_edges(u)
            prot = [p for p in path if self.net.protective[p]]
            if self.net.protective[e]:
                prot.insert(0, e)
            key = prot[-1] if prot else -2 - int(self.tree.top(u))
        self._feeder[e] = key
        return key

    def distance(self, a: int, b: int) -> int:
        """Tree edges between the upper ends of edges ``a`` and ``b``."""
        u, v = int(self.upper[a]), int(self.upper[b])
        if u < 0 or v < 0:
            return 1 << 30
        w = int(self.tree.lca(np.array([u]), np.array([v]))[0])
        d = self.tree.depth
        return int(d[u] + d[v] - 2 * d[w])


def _evidence_index(
    net: Network, evidence: list[dict[str, Any]]
) -> tuple[list[tuple[float, int]], list[tuple[float, int]], list[tuple[float, int]]]:
    """(time, node) of outage evidence from customers and nodes, scada opens, fci faults.

    Times are POSIX seconds. Calls with ``power: on``, restores and
    energized ping replies are not outage evidence.
    """
    customers = net.customers
    phone_index: dict[str, int] = {}
    meter_index: dict[str, int] = {}
    if customers is not None:
        for i, p in enumerate(customers.fields.get("phone") or []):
            if p:
                phone_index.setdefault(str(p), i)
        for i, m in enumerate(customers.fields.get("meter") or []):
            if m:
                meter_index.setdefault(str(m), i)
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
            i = None
            if "customer" in ev:
                i = customers.index.get(ev["customer"])
            elif "phone" in ev:
                i = phone_index.get(str(ev["phone"]))
            elif "meter" in ev:
                i = meter_index.get(str(ev["meter"]))
            if i is not None:
                node = int(customers.node[i])
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
) -> dict[str, Any]:
    """Score predicted outages against a scenario's ground truth.

    Parameters
    ----------
    net : Network
        The network the scenario was simulated on (its normal state is used).
    truth : dict
        :attr:`oms.simulate.Scenario.truth`.
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

    Returns
    -------
    dict
        ``faults``, ``observable``, ``right``, ``one_level``, ``wrong``,
        ``missed``, ``predicted``, ``false``, ``accuracy`` (right /
        observable), ``false_rate`` (false / predicted), ``momentary``,
        ``single_customer``, ``time_to_right_s`` and ``per_fault``.
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

    O(F * (O + log E) + E) for F faults, O outages and E evidence events,
    plus O(depth) per fault-outage pair for the tree distances.
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

    # Masked parts: while a sustained fault above is out.
    for f in sustained:
        cuts = [
            (g["start"], g["restored"])
            for g in sustained
            if g is not f and geo.strictly_below(f["op"], g["op"])
        ]
        f["windows"] = _subtract((f["start"], f["restored"]), cuts)

    # --------------------------------------------------------- evidence
    if evidence is not None:
        points, scada, fci = _evidence_index(net, evidence)
        pt_time = np.array([p[0] for p in points], dtype=float)
        pt_tin = tin[np.array([p[1] for p in points], dtype=np.int64)] if points else pt_time
        for f in sustained:
            first = inf
            span = geo.span(f["op"])
            for lo_t, hi_t in f["windows"]:
                if span is not None and len(points):
                    hit = (
                        (pt_tin >= span[0])
                        & (pt_tin < span[1])
                        & (pt_time >= lo_t)
                        & (pt_time <= hi_t)
                    )
                    if hit.any():
                        first = min(first, float(pt_time[hit].min()))
                for t, e in scada:
                    if e == f["op"] and lo_t <= t <= hi_t:
                        first = min(first, t)
                for t, e in fci:
                    if lo_t <= t <= hi_t and (e == f["op"] or geo.strictly_below(e, f["op"])):
                        first = min(first, t)
            f["first_evidence"] = first
            f["observable"] = first < inf
    else:
        for f in sustained:
            f["observable"] = bool(f["windows"])
            f["first_evidence"] = f["windows"][0][0] if f["windows"] else inf

    # ---------------------------------------------------------- outages
    live = [o for o in outages if o.get("state") != "cancelled"]
    network: list[dict[str, Any]] = []
    for o in live:
        if o.get("kind") != "network":
            continue
        dev = o.get("device")
        started = _time(o.get("started"), -inf)
        network.append(
            {
                "id": o.get("id"),
                "device": dev,
                "e": net.edge_index.get(dev, -1) if dev is not None else -1,
                "started": started,
                "restored": _time(o.get("restored"), inf),
                "located_at": _time(o.get("located_at"), started),
            }
        )

    def classify(f: dict[str, Any], o: dict[str, Any]) -> str | None:
        if not (o["started"] <= f["restored"] and o["restored"] >= f["start"]):
            return None
        op, e = f["op"], o["e"]
        if op < 0 or e < 0:
            return "right" if o["device"] == f["operated"] else None
        if geo.same_customers(op, e):
            return "right"
        if e == geo.protective_parent(op) or (net.protective[e] and geo.protective_parent(e) == op):
            return "one_level"
        if geo.feeder(e) == geo.feeder(op):
            return "wrong"
        return None

    def candidates(faults: list[dict[str, Any]], allowed: set[str]) -> list[tuple[Any, ...]]:
        pairs = []
        for i, f in enumerate(faults):
            for j, o in enumerate(network):
                result = classify(f, o)
                if result is None or result not in allowed:
                    continue
                dist = 0 if result == "right" else geo.distance(f["op"], o["e"])
                lag = abs(o["located_at"] - f["first_evidence"])
                pairs.append((_RANK[result], dist, lag, i, j, result))
        pairs.sort(key=lambda p: p[:5])
        return pairs

    observable = [f for f in sustained if f["observable"]]
    used_fault: dict[int, tuple[int, str]] = {}
    used_outage: set[int] = set()
    for _r, _d, _l, i, j, result in candidates(observable, {"right", "one_level", "wrong"}):
        if i in used_fault or j in used_outage:
            continue
        used_fault[i] = (j, result)
        used_outage.add(j)

    hidden = [f for f in sustained if not f["observable"]]
    hidden_match: dict[int, int] = {}
    for _r, _d, _l, i, j, _result in candidates(hidden, {"right", "one_level"}):
        if i in hidden_match or j in used_outage:
            continue
        hidden_match[i] = j
        used_outage.add(j)

    # ----------------------------------------------------------- report
    counts = {"right": 0, "one_level": 0, "wrong": 0, "missed": 0}
    lags: list[float] = []
    per_fault = []
    obs_pos = {id(f): i for i, f in enumerate(observable)}
    hid_pos = {id(f): i for i, f in enumerate(hidden)}
    for f in sustained:
        outage = None
        if f["observable"]:
            match = used_fault.get(obs_pos[id(f)])
            result = "missed"
            if match is not None:
                outage = network[match[0]]
                result = match[1]
                if result == "right":
                    lags.append(max(0.0, outage["located_at"] - f["first_evidence"]))
            counts[result] += 1
        else:
            result = "unobservable"
            j = hidden_match.get(hid_pos[id(f)])
            outage = network[j] if j is not None else None
        per_fault.append(
            {
                "fault": f["id"],
                "operated": f["operated"],
                "outage": outage["id"] if outage else None,
                "device": outage["device"] if outage else None,
                "result": result,
            }
        )

    # Momentaries: a momentary outage on an equivalent device (or none) near the time.
    momentary_outages = [o for o in live if o.get("kind") == "momentary"]
    taken: set[int] = set()
    detected = 0
    for m in moments:
        for j, o in enumerate(momentary_outages):
            if j in taken:
                continue
            t = _time(o.get("started"), -inf)
            if not (m["start"] - _MOMENTARY_SLACK_S <= t <= m["restored"] + _MOMENTARY_SLACK_S):
                continue
            dev = o.get("device")
            e = net.edge_index.get(dev, -1) if dev is not None else -1
            if dev is None or (e >= 0 and m["op"] >= 0 and geo.same_customers(m["op"], e)):
                taken.add(j)
                detected += 1
                break

    n_observable = len(observable)
    n_predicted = len(network)
    n_false = n_predicted - len(used_outage)
    return {
        "faults": len(sustained),
        "observable": n_observable,
        **counts,
        "predicted": n_predicted,
        "false": n_false,
        "accuracy": counts["right"] / n_observable if n_observable else None,
        "false_rate": n_false / n_predicted if n_predicted else None,
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
    }
