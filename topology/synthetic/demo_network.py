"""The demo network: feeders strung along the roads of the demo area.

:class:`DemoNetworkBuilder` places three substations on the roads
(:mod:`topology.synthetic.roads`), splits the road graph among them and
each substation's shortest-path tree into feeders of balanced load, and
builds every feeder along its roads: a breaker and a cable exit, a trunk on
the heaviest road path with reclosers and sectionalizing switches, fused
laterals (a sectionalizer or switch on long ones), poles whose spans follow
the road geometry, distribution transformers with LV lines along the road
and service points beside it, and normally-open ties on roads where two
feeders meet (``docs/demo-network.md``, steps 2-5). It is small (~10,000
nodes), so it is written for clarity with plain Python loops.

Who lives at the service points is not decided here: the demo data set
(:mod:`oms.demo_build`) makes the customers, then asks the builder to size
the breakers for them (:meth:`DemoNetworkBuilder.size_breakers`) and to
assemble the :class:`~topology.model.Network` (:meth:`DemoNetworkBuilder.network`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from topology.model import Customers, Network
from topology.synthetic.geometry import cumlen, cut, point_at, to_lonlat
from topology.synthetic.roads import Roads, Segment

__all__ = ["DemoNetworkBuilder", "ServicePoint"]


@dataclass(frozen=True)
class _Style:
    """How a line is built in an area: pole spacing (m), chance of a
    transformer per pole, LV poles each way of a transformer (inclusive
    range) and service points per LV node (inclusive range)."""

    span: tuple[float, float]
    tx: float
    lv: tuple[int, int]
    sp: tuple[int, int]


_AREA = {
    "urban": _Style(span=(40.0, 55.0), tx=0.36, lv=(2, 3), sp=(1, 3)),
    "suburb": _Style(span=(40.0, 60.0), tx=0.32, lv=(2, 3), sp=(1, 3)),
    "village": _Style(span=(40.0, 60.0), tx=0.36, lv=(2, 4), sp=(1, 2)),
    "rural": _Style(span=(70.0, 110.0), tx=0.12, lv=(1, 2), sp=(1, 2)),
    "remote": _Style(span=(80.0, 120.0), tx=0.07, lv=(0, 2), sp=(1, 2)),
}
# Weight of a road metre when balancing feeders (customers per metre, roughly).
_LOAD = {"urban": 3.0, "suburb": 3.0, "village": 3.0, "rural": 0.4, "remote": 0.3}

# The substations: name, where (near a town point, or a village junction),
# feeders, voltage and whether meshed (two transformers in parallel).
_SUBSTATIONS = (
    ("Qingshui 110 kV Substation", (380.0, 260.0), 5, 110.0, True),
    ("Chengxi 110 kV Substation", (-1250.0, -600.0), 4, 110.0, False),
    ("Wangzhuang 35 kV Substation", "Wangzhuang", 3, 35.0, False),
)


class _Ids:
    """Per-feeder counters for element ids (``F3-N12``, ``F3-L40`` ...)."""

    def __init__(self, stem: str) -> None:
        self.stem = stem
        self.count: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self.count[prefix] = self.count.get(prefix, 0) + 1
        return f"{self.stem}-{prefix}{self.count[prefix]}"


class _Builder:
    """Nodes and edges of the demo network under construction."""

    def __init__(self) -> None:
        self.node_ids: list[str] = []
        self.node_xy: list[np.ndarray] = []
        self.node_kv: list[float] = []
        self.node_name: list[str | None] = []
        self.node_source: list[bool] = []
        self.edge_ids: list[str] = []
        self.edge_kind: list[str] = []
        self.edge_from: list[int] = []
        self.edge_to: list[int] = []
        self.edge_closed: list[bool] = []
        self.edge_scada: list[bool] = []
        self.edge_cap: list[float] = []
        self.edge_name: list[str | None] = []
        self.edge_geom: list[np.ndarray | None] = []
        self.edge_len: list[float] = []

    def node(
        self, nid: str, xy: Any, kv: float, *, name: str | None = None, source: bool = False
    ) -> int:
        self.node_ids.append(nid)
        self.node_xy.append(np.asarray(xy, dtype=np.float64))
        self.node_kv.append(kv)
        self.node_name.append(name)
        self.node_source.append(source)
        return len(self.node_ids) - 1

    def edge(
        self,
        eid: str,
        kind: str,
        a: int,
        b: int,
        geom: np.ndarray | None = None,
        *,
        closed: bool = True,
        scada: bool = False,
        name: str | None = None,
    ) -> int:
        if geom is not None and len(geom) >= 2:
            length = float(cumlen(geom)[-1])
        else:
            geom = None
            length = float(np.hypot(*(self.node_xy[a] - self.node_xy[b])))
        self.edge_ids.append(eid)
        self.edge_kind.append(kind)
        self.edge_from.append(a)
        self.edge_to.append(b)
        self.edge_closed.append(closed)
        self.edge_scada.append(scada)
        self.edge_cap.append(math.nan)
        self.edge_name.append(name)
        self.edge_geom.append(geom)
        self.edge_len.append(round(length, 2))
        return len(self.edge_ids) - 1


@dataclass
class _Pole:
    """A medium-voltage pole where a transformer may stand."""

    node: int
    poly: np.ndarray
    cum: np.ndarray
    s: float
    seg: Segment
    leaf: bool


@dataclass
class ServicePoint:
    """A service point of the demo network, where customers are supplied.

    ``node`` is its node number, ``xy`` its position in local metres,
    ``area`` the area class of the road it stands on, ``road`` that road's
    name, ``side`` the side of the road (+1 or -1) and ``feeder`` the
    number of its feeder (from 0).
    """

    node: int
    xy: np.ndarray
    area: str
    road: str
    side: int
    feeder: int


@dataclass
class _FeederTree:
    """One feeder's part of the road tree: the children of every junction,
    road metres and load below it, and the load of the road to it."""

    kids: dict[int, list[int]]
    raw: dict[int, float]
    load: dict[int, float]
    weight: dict[int, float]

    def heavy_path(self, v: int) -> list[int]:
        """From ``v`` down the heaviest child each time, to a leaf."""
        path = [v]
        while self.kids[path[-1]]:
            path.append(max(self.kids[path[-1]], key=lambda c: self.load[c] + self.weight[c]))
        return path


class _Partition:
    """Feeders of every substation over its shortest-path tree of roads.

    ``label`` gives the feeder of every junction; feeders are dicts
    (``sub``, ``entry`` junction, ``express`` path from the substation
    junction; ``dead`` once merged into another).
    """

    def __init__(
        self,
        children: dict[int, list[int]],
        weight: dict[int, float],
        dist: dict[int, float],
        paths: dict[int, list[int]],
    ) -> None:
        self.children, self.weight, self.dist, self.paths = children, weight, dist, paths
        self.label: dict[int, int] = {}
        self.feeders: list[dict[str, Any]] = []

    def load(self, f: int) -> float:
        return sum(self.weight[v] for v, o in self.label.items() if o == f)

    def subtree(self, v: int, owner: int) -> list[int]:
        out, stack = [], [v]
        while stack:
            x = stack.pop()
            out.append(x)
            stack.extend(c for c in self.children[x] if self.label.get(c) == owner)
        return out

    def substation(self, s: int, root: int, n_feeders: int) -> None:
        """One feeder per road leaving the substation, then merge the light
        ones and split the heavy ones until it has ``n_feeders``."""
        mine: list[int] = []
        for c in self.children[root]:
            f = len(self.feeders)
            self.feeders.append({"sub": s, "entry": root, "express": [root]})
            mine.append(f)
            stack = [c]
            while stack:
                x = stack.pop()
                self.label[x] = f
                stack.extend(self.children[x])
        fair = sum(self.load(f) for f in mine) / n_feeders
        while len(mine) > 1 and (
            len(mine) > n_feeders or min(self.load(f) for f in mine) < 0.4 * fair
        ):  # merge the lightest into the next lightest
            mine.sort(key=self.load)
            gone, keep = mine[0], mine[1]
            for v, o in list(self.label.items()):
                if o == gone:
                    self.label[v] = keep
            mine.remove(gone)
            self.feeders[gone]["dead"] = True
        while len(mine) < n_feeders:  # split the heaviest at its balance point
            mine.append(self.split(s, max(mine, key=self.load)))

    def split(self, s: int, big: int) -> int:
        """Cut feeder ``big`` at the junction that best balances the load
        on either side; returns the new feeder, beyond that junction."""
        children, weight, label = self.children, self.weight, self.label
        total = self.load(big)
        owned = [v for v, o in label.items() if o == big]
        below: dict[int, float] = {}
        for v in sorted(owned, key=lambda v: -self.dist[v]):
            below[v] = sum(below[c] + weight[c] for c in children[v] if label.get(c) == big)
        best = max(
            (v for v in owned if below[v] > 0),
            key=lambda v: min(below[v], total - below[v] - weight[v]),
        )
        f = len(self.feeders)
        self.feeders.append({"sub": s, "entry": best, "express": self.paths[best]})
        for c in children[best]:
            if label.get(c) == big:
                for x in self.subtree(c, big):
                    label[x] = f
        return f

    def live(self) -> list[dict[str, Any]]:
        """The feeders left, each with its ``owned`` junctions, by
        substation and then by size (largest first)."""
        live = [f for f in self.feeders if not f.get("dead")]
        remap = {id(f): k for k, f in enumerate(live)}
        new_label = {v: remap[id(self.feeders[o])] for v, o in self.label.items()}
        for fd in live:
            fd["owned"] = sorted(v for v, o in new_label.items() if o == remap[id(fd)])
        live.sort(key=lambda f: (f["sub"], -len(f["owned"])))
        return live


class DemoNetworkBuilder:
    """Strings feeders along the roads of the demo area.

    Call :meth:`build`, then (once customers are known) :meth:`size_breakers`
    and :meth:`network`. Every random draw comes from ``rng``, in the order
    of these calls. After :meth:`build`, ``service_points`` lists the
    :class:`ServicePoint` s in node order and ``feeder_names`` the feeders
    (``F3 Renmin Road``: id and the road its trunk starts on).
    """

    def __init__(self, roads: Roads, marks: dict[str, Any], rng: np.random.Generator) -> None:
        import networkx as nx

        self.roads = roads
        self.marks = marks
        self.rng = rng
        self.b = _Builder()
        self.jxy = np.array(roads.xy)
        g = nx.Graph()
        for k, seg in enumerate(roads.segs):
            if g.has_edge(seg.a, seg.b) and g[seg.a][seg.b]["length"] <= seg.length:
                continue
            g.add_edge(seg.a, seg.b, seg=k, length=seg.length)
        self.g = g
        self.service_points: list[ServicePoint] = []
        self.feeder_names: list[str] = []
        self.breakers: list[int] = []
        self.tx_count: dict[str, int] = {}

    # ------------------------------------------------------------ helpers
    def seg_between(self, u: int, v: int) -> tuple[Segment, np.ndarray]:
        """The road from junction ``u`` to ``v`` and its polyline oriented u -> v."""
        seg = self.roads.segs[self.g[u][v]["seg"]]
        poly = seg.coords if seg.a == u else seg.coords[::-1]
        return seg, poly

    def spans(
        self,
        ids: _Ids,
        start: int,
        u: int,
        v: int,
        *,
        kind: str | None = None,
        spacing: tuple[float, float] | None = None,
        node_prefix: str = "N",
        edge_prefix: str | None = None,
        poles: list[_Pole] | None = None,
        leaf: bool = False,
    ) -> int:
        """Spans of line along the road u -> v from node ``start``; returns the
        node at ``v``. Poles are recorded for transformers when ``poles``."""
        seg, poly = self.seg_between(u, v)
        cum = cumlen(poly)
        length = float(cum[-1])
        area = _AREA[seg.area]
        lo, hi = spacing or area.span
        n = max(1, round(length / self.rng.uniform(lo, hi)))
        s_at = length * np.arange(1, n + 1) / n
        if n > 1:
            s_at[:-1] += self.rng.uniform(-0.15, 0.15, n - 1) * length / n
        if kind is None:
            kind = "cable" if self.is_cable(seg) else "line"
        prefix = edge_prefix or ("C" if kind == "cable" else "L")
        prev, s_prev = start, 0.0
        for k, s in enumerate(s_at.tolist()):
            xy = poly[-1] if k == n - 1 else point_at(poly, cum, s)[0]
            node = self.b.node(ids(node_prefix), xy, 10.0)
            self.b.edge(ids(prefix), kind, prev, node, cut(poly, cum, s_prev, s))
            if poles is not None:
                poles.append(_Pole(node, poly, cum, s, seg, leaf and k == n - 1))
            prev, s_prev = node, s
        return prev

    def is_cable(self, seg: Segment) -> bool:
        """Underground in the old town centre and along the town's main streets."""
        if seg.area != "urban":
            return False
        mid = seg.coords[len(seg.coords) // 2]
        return bool(np.hypot(*mid) < 650.0 or seg.cls == "primary")

    # ------------------------------------------------------------ feeders
    def partition(
        self, subs: list[tuple[int, int]]
    ) -> tuple[dict[int, int], dict[int, list[int]], list[dict[str, Any]]]:
        """Split the road graph among substations (nearest by road) and each
        substation's shortest-path tree into feeders of balanced load.

        Returns the tree parent of every junction, children lists and the
        feeders (``sub``, ``entry`` junction, ``express`` path from the
        substation junction, ``owned`` child junctions).
        """
        import networkx as nx

        roots = [j for j, _ in subs]
        dist, paths = nx.multi_source_dijkstra(self.g, roots, weight="length")
        parent: dict[int, int] = {}
        children: dict[int, list[int]] = {v: [] for v in self.g}
        for v in sorted(dist, key=lambda v: (dist[v], v)):
            if v in roots:
                continue
            p = paths[v][-2]
            parent[v] = p
            children[p].append(v)
        weight = {
            v: self.g[parent[v]][v]["length"] * _LOAD[self.seg_between(parent[v], v)[0].area]
            for v in parent
        }
        split = _Partition(children, weight, dist, paths)
        for s, (root, n_feeders) in enumerate(subs):
            split.substation(s, root, n_feeders)
        self.parent, self.children = parent, children
        self.weight, self.dist = weight, dist
        return parent, children, split.live()

    def build(self) -> None:
        """Substations, feeders, ties, transformers and service points."""
        town = self.marks["town"]

        def nearest(p: Sequence[float], pool: list[int]) -> int:
            xy = self.jxy[pool]
            return pool[int(np.argmin(np.hypot(*(xy - np.asarray(p)).T)))]

        def site(where: tuple[float, float] | str) -> int:
            if isinstance(where, str):  # a village: a third of the way along it
                pool = self.marks["villages"][where]
                return int(pool[len(pool) // 3])
            return nearest(where, town)

        sub_defs = [(name, site(w), n, kv, meshed) for name, w, n, kv, meshed in _SUBSTATIONS]
        _, children, feeders = self.partition([(j, n) for _, j, n, _, _ in sub_defs])
        self.feeders = feeders
        buses: list[int] = []
        self.sub_names = [d[0] for d in sub_defs]
        for s, (name, j, _, kv, meshed) in enumerate(sub_defs):
            xy = self.jxy[j] + np.array([45.0, 45.0])
            src = self.b.node(f"S{s + 1}", xy, kv, name=name, source=True)
            bus = self.b.node(f"S{s + 1}-BUS", xy + np.array([15.0, 0.0]), 10.0)
            for t in range(2 if meshed else 1):
                self.b.edge(
                    f"S{s + 1}-TR{t + 1}",
                    "transformer",
                    src,
                    bus,
                    name=f"{name} main transformer #{t + 1}",
                )
            buses.append(bus)
        self.junction_node: list[dict[int, int]] = []
        for k, f in enumerate(feeders):
            self.build_feeder(k, f, buses[f["sub"]], children)
        self.build_ties()

    def build_feeder(
        self, k: int, f: dict[str, Any], bus: int, children: dict[int, list[int]]
    ) -> None:
        """Feeder ``k``: breaker, cable exit and express section to its
        roads, then its lines along them (:meth:`_string`) and its LV side."""
        ids = _Ids(f"F{k + 1}")
        tree = self._feeder_tree(f, children)
        trunk = tree.heavy_path(f["entry"])
        node = self._feeder_head(k, ids, f, bus, trunk)
        at: dict[int, int] = {f["entry"]: node}
        self.junction_node.append(at)
        trunk_devices = self._trunk_devices(trunk)
        poles: list[_Pole] = []
        self._string(ids, tree, trunk, trunk_devices, (f["entry"], node), at, poles)
        self.build_lv(ids, k, poles)

    def _feeder_tree(self, f: dict[str, Any], children: dict[int, list[int]]) -> _FeederTree:
        owned = set(f["owned"])
        kids = {v: [c for c in children[v] if c in owned] for v in [f["entry"], *f["owned"]]}
        raw: dict[int, float] = {}
        load: dict[int, float] = {}
        for v in sorted(kids, key=lambda v: -self.dist[v]):
            raw[v] = sum(raw[c] + self.g[v][c]["length"] for c in kids[v])
            load[v] = sum(load[c] + self.weight[c] for c in kids[v])
        return _FeederTree(kids=kids, raw=raw, load=load, weight=self.weight)

    def _feeder_head(self, k: int, ids: _Ids, f: dict[str, Any], bus: int, trunk: list[int]) -> int:
        """The breaker (named after the road the trunk starts on), a cable
        exit from the substation to the road and an express section along
        roads another feeder serves; returns the node at the entry junction."""
        b = self.b
        road = self.seg_between(trunk[0], trunk[1])[0].name if len(trunk) > 1 else "bus"
        self.feeder_names.append(f"F{k + 1} {road}")
        bus_xy = b.node_xy[bus]
        head = b.node(ids("N"), bus_xy, 10.0)
        self.breakers.append(
            b.edge(f"F{k + 1}-B", "breaker", bus, head, scada=True, name=self.feeder_names[-1])
        )
        root = f["express"][0]
        node = b.node(ids("N"), self.jxy[root], 10.0)
        b.edge(ids("C"), "cable", head, node, np.vstack([bus_xy, self.jxy[root]]))
        for u, v in zip(f["express"][:-1], f["express"][1:], strict=True):
            seg, _ = self.seg_between(u, v)
            if self.is_cable(seg) or seg.area in ("urban", "suburb"):
                node = self.spans(ids, node, u, v, kind="cable", spacing=(180.0, 260.0))
            else:
                node = self.spans(ids, node, u, v)
        return node

    def _trunk_devices(self, trunk: list[int]) -> dict[int, list[str]]:
        """Devices on the trunk by distance along it, by the junction they
        stand after: switches at ~20 % and ~55 %, reclosers at ~40 % and,
        on long feeders, ~75 %."""
        rng = self.rng
        cum = np.cumsum([0.0] + [self.g[a][c]["length"] for a, c in itertools.pairwise(trunk)])
        total = float(cum[-1]) or 1.0
        trunk_devices: dict[int, list[str]] = {}

        def place(frac: float, kind: str) -> None:
            if len(trunk) > 1:
                i = min(max(int(np.searchsorted(cum, frac * total)), 1), len(trunk) - 1)
                trunk_devices.setdefault(trunk[i], []).append(kind)

        place(rng.uniform(0.15, 0.25), "switch")
        place(rng.uniform(0.33, 0.45), "recloser")
        place(rng.uniform(0.5, 0.6), "switch")
        if total > 2500.0 or rng.random() < 0.5:
            place(rng.uniform(0.68, 0.8), "recloser")
        return trunk_devices

    def _device(self, ids: _Ids, kind: str, a: int) -> int:
        """A device at node ``a`` (zero length); returns its far node."""
        letter = {"recloser": "R", "switch": "S", "sectionalizer": "X", "fuse": "F"}[kind]
        node = self.b.node(ids("N"), self.b.node_xy[a], 10.0)
        self.b.edge(
            ids(letter),
            kind,
            a,
            node,
            scada=kind == "recloser" or (kind == "switch" and self.rng.random() < 0.5),
        )
        return node

    def _string(
        self,
        ids: _Ids,
        tree: _FeederTree,
        trunk: list[int],
        trunk_devices: dict[int, list[str]],
        head: tuple[int, int],
        at: dict[int, int],
        poles: list[_Pole],
    ) -> None:
        """Lines along the feeder's roads, depth first from the entry: the
        trunk, laterals off it (each starting with a fuse; long ones get a
        sectionalizer or switch about halfway) and taps off the laterals
        (fused when long), from ``head`` (the entry junction and its node).
        Records the node at every junction in ``at``."""
        rng, g, kids = self.rng, self.g, tree.kids
        trunk_set = set(trunk)
        lateral_devices: dict[int, str] = {}
        stack: list[tuple[int, int, bool]] = [(*head, True)]
        while stack:
            u, n_u, on_trunk = stack.pop()
            order = sorted(kids[u], key=lambda c: (c not in trunk_set, c))
            branch_children = [c for c in order if c not in trunk_set]
            cont: int | None = None
            if on_trunk:
                cont = next((c for c in order if c in trunk_set), None)
            elif kids[u]:
                cont = max(kids[u], key=lambda c: tree.load[c] + self.weight[c])
                branch_children = [c for c in order if c != cont]
            for c in branch_children:  # laterals and taps leave here
                start = n_u
                if on_trunk or tree.raw[c] + g[u][c]["length"] >= 400.0:
                    start = self._device(ids, "fuse", n_u)
                    lat = tree.heavy_path(c)
                    lat_len = tree.raw[c] + g[u][c]["length"]
                    if lat_len > 700.0 and len(lat) > 2:
                        lcum = np.cumsum([g[x][y]["length"] for x, y in itertools.pairwise(lat)])
                        i = int(np.searchsorted(lcum, 0.45 * lcum[-1]))
                        kind = "sectionalizer" if rng.random() < 0.5 else "switch"
                        lateral_devices[lat[min(i + 1, len(lat) - 1)]] = kind
                n_c = self.spans(ids, start, u, c, poles=poles, leaf=not kids[c])
                at[c] = n_c
                if c in lateral_devices:
                    n_c = self._device(ids, lateral_devices[c], n_c)
                stack.append((c, n_c, False))
            if cont is not None:
                n_c = self.spans(ids, n_u, u, cont, poles=poles, leaf=not kids[cont])
                at[cont] = n_c
                for kind in trunk_devices.get(cont, []) if on_trunk else []:
                    n_c = self._device(ids, kind, n_c)
                if not on_trunk and cont in lateral_devices:
                    n_c = self._device(ids, lateral_devices[cont], n_c)
                stack.append((cont, n_c, on_trunk))

    def build_lv(self, ids: _Ids, k: int, poles: list[_Pole]) -> None:
        """Distribution transformers on poles, LV lines along the road, service points."""
        rng, b = self.rng, self.b
        for pole in poles:
            area = _AREA[pole.seg.area]
            p_tx = max(area.tx, 0.75) if pole.leaf else area.tx
            if rng.random() >= p_tx:
                continue
            road = pole.seg.name
            self.tx_count[road] = self.tx_count.get(road, 0) + 1
            lv = b.node(ids("V"), b.node_xy[pole.node], 0.4)
            b.edge(ids("T"), "transformer", pole.node, lv, name=f"{road} #{self.tx_count[road]}")
            lv_nodes = [(lv, pole.s)]
            for direction in (-1.0, 1.0):
                prev, s_prev = lv, pole.s
                for _ in range(int(rng.integers(area.lv[0], area.lv[1] + 1))):
                    s = s_prev + direction * rng.uniform(35.0, 45.0)
                    if not 0.0 <= s <= float(pole.cum[-1]):
                        break
                    xy = point_at(pole.poly, pole.cum, s)[0]
                    node = b.node(ids("V"), xy, 0.4)
                    b.edge(ids("W"), "line", prev, node, cut(pole.poly, pole.cum, s_prev, s))
                    lv_nodes.append((node, s))
                    prev, s_prev = node, s
            for node, s in lv_nodes:
                self._service_points(ids, k, pole, area, node, s)

    def _service_points(
        self, ids: _Ids, k: int, pole: _Pole, area: _Style, node: int, s: float
    ) -> None:
        """Service points beside the road at LV node ``node`` (arc length ``s``),
        on alternating sides, each with its service drop."""
        rng, b = self.rng, self.b
        for i in range(int(rng.integers(area.sp[0], area.sp[1] + 1))):
            side = 1 if (i + int(s)) % 2 == 0 else -1
            foot, tangent = point_at(pole.poly, pole.cum, s + rng.uniform(-15.0, 15.0))
            normal = np.array([-tangent[1], tangent[0]])
            xy = foot + side * normal * rng.uniform(12.0, 30.0)
            sp = b.node(ids("P"), xy, 0.4)
            kind = "cable" if self.is_cable(pole.seg) else "line"
            b.edge(ids("D"), kind, node, sp)
            self.service_points.append(ServicePoint(sp, xy, pole.seg.area, pole.seg.name, side, k))

    def build_ties(self) -> None:
        """Normally-open ties on roads where two feeders meet (non-tree roads):
        every feeder that can have one gets one, then more, ties between
        substations first, up to twelve."""
        pairs = self._tie_candidates()
        chosen: list[tuple[float, int, int, int, int]] = []
        ties_of = [0] * len(self.junction_node)
        used: set[int] = set()
        for cand in pairs:  # every feeder that can have a tie gets one
            _, u, v, fa, fb = cand
            if (ties_of[fa] == 0 or ties_of[fb] == 0) and u not in used and v not in used:
                chosen.append(cand)
                ties_of[fa] += 1
                ties_of[fb] += 1
                used.update((u, v))
        subs = [f["sub"] for f in self.feeders]
        extra = sorted(
            (c for c in pairs if c not in chosen),
            key=lambda c: (subs[c[3]] == subs[c[4]], c[0]),  # other substations first
        )
        for cand in extra:
            if len(chosen) >= 12:
                break
            _, u, v, fa, fb = cand
            if max(ties_of[fa], ties_of[fb]) >= 3 or u in used or v in used:
                continue
            chosen.append(cand)
            ties_of[fa] += 1
            ties_of[fb] += 1
            used.update((u, v))
        chosen.sort(key=lambda c: (min(c[3], c[4]), max(c[3], c[4])))
        for t, (_, u, v, fa, fb) in enumerate(chosen):
            ids = _Ids(f"TIE{t + 1}")
            last = self.spans(ids, self.junction_node[fa][u], u, v)
            self.b.edge(
                f"TIE{t + 1}",
                "switch",
                last,
                self.junction_node[fb][v],
                closed=False,
                scada=self.rng.random() < 0.5,
                name=f"Tie F{fa + 1}-F{fb + 1}",
            )
        self.n_ties = len(chosen)

    def _tie_candidates(self) -> list[tuple[float, int, int, int, int]]:
        """The shortest road (length, u, v, feeder a, feeder b) joining each
        pair of feeders outside the road tree, shortest first."""
        tree = {(min(v, p), max(v, p)) for v, p in self.parent.items()}
        owner: dict[int, list[int]] = {}
        for f, at in enumerate(self.junction_node):
            for j in at:
                owner.setdefault(j, []).append(f)
        best: dict[tuple[int, int], tuple[float, int, int, int, int]] = {}
        for u, v, data in sorted(self.g.edges(data=True)):
            if (min(u, v), max(u, v)) in tree:
                continue
            for fa in owner.get(u, []):
                for fb in owner.get(v, []):
                    if fa == fb:
                        continue
                    key = (min(fa, fb), max(fa, fb))
                    cand = (data["length"], u, v, fa, fb)
                    if key not in best or cand < best[key]:
                        best[key] = cand
        return sorted(best.values())

    # ---------------------------------------------------- once customers are known
    def size_breakers(self, customer_nodes: Sequence[int]) -> None:
        """Breaker capacities: 1.5-2x the customers each feeder carries,
        rounded up to tens; ``customer_nodes`` is the node of every customer."""
        per_feeder = np.zeros(len(self.breakers))
        feeder_of_node = {sp.node: sp.feeder for sp in self.service_points}
        for node in customer_nodes:
            per_feeder[feeder_of_node[node]] += 1
        for k, e in enumerate(self.breakers):
            cap = math.ceil(per_feeder[k] * self.rng.uniform(1.5, 2.0) / 10.0) * 10
            self.b.edge_cap[e] = float(cap)

    def network(self, center: tuple[float, float], customers: Customers | None = None) -> Network:
        """The network built, in lon/lat around ``center`` rounded to 7
        decimals (about 1 cm), with drawn edges ending exactly on their nodes."""
        b = self.b
        xy = to_lonlat(np.array(b.node_xy), center)
        offsets = [0]
        coords: list[np.ndarray] = []
        for g in b.edge_geom:
            if g is not None:
                coords.append(g)
            offsets.append(offsets[-1] + (0 if g is None else len(g)))
        geom = to_lonlat(np.vstack(coords), center) if coords else np.zeros((0, 2))
        # keep edge ends exactly on their (rounded) nodes
        xy = np.round(xy, 7)
        geom = np.round(geom, 7)
        off = np.array(offsets)
        has = np.diff(off) >= 2
        idx = np.flatnonzero(has)
        geom[off[idx]] = xy[np.array(b.edge_from)[idx]]
        geom[off[idx + 1] - 1] = xy[np.array(b.edge_to)[idx]]
        return Network(
            node_ids=b.node_ids,
            node_xy=xy,
            node_source=b.node_source,
            edge_ids=b.edge_ids,
            edge_kind=b.edge_kind,
            edge_from=b.edge_from,
            edge_to=b.edge_to,
            edge_normal_closed=b.edge_closed,
            edge_length_m=b.edge_len,
            edge_scada=b.edge_scada,
            edge_capacity=b.edge_cap,
            customers=customers,
            geom_offsets=off,
            geom_coords=geom,
            node_name=b.node_name,
            edge_name=b.edge_name,
            node_voltage_kv=b.node_kv,
        )
