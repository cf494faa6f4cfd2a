"""Seeded networks in the styles utilities actually build, for developing fault location.

:func:`styled_network` makes a contract-valid network of a few thousand
nodes, with individual customers (:func:`~topology.synthetic.synthetic_customers`,
a ``meter_share`` of them with AMI meters), in one of :data:`STYLES`:

``na_overhead``
    North-American overhead: feeder breakers (SCADA), a midline recloser
    (some on SCADA), fused single-phase laterals with taps, and service
    transformers hung straight on the lateral poles with *no* fuse edge
    (the cutout is an attribute of the transformer, as in most utility GIS
    models); one to three customers per transformer.
``na_fused``
    The same with a fuse edge drawn above every service transformer.
``eu_ring``
    European / Chinese 10 kV: cable feeders from a breaker run through ring
    main units (a node with two load-break switches on the ring), each
    feeding an MV/LV substation (fuse, transformer, LV board); two to four
    LV feeders leave each board through a fuse, with 5-15 service points
    each. The far ends of pairs of feeders meet at a normally-open switch.
``urban_mesh``
    A meshed urban cable grid operated radially: every street-corner node
    is a cable joint with a fused transformer and an LV board of many
    customers; the grid is split into feeders by a breadth-first search
    from the breakers, and every cable between two feeders, or closing a
    loop within one, is a normally-open switch.
``rural_long``
    Long rural feeders (tens of kilometres of 150-400 m spans): a breaker,
    two or three reclosers in series (the first on SCADA), sectionalizers at
    the start of long branches, fuses on laterals, and small transformers
    (one or two customers), every second one fused.

Node ids start with the substation (``S1``, ``S1-BUS``); feeder elements
carry the feeder (``F3-N17``, ``F3-L17``, ``F3-T4``...). Deterministic for a
seed. O(n) to build, plus the contract loader.

>>> net = styled_network("na_overhead", seed=1, n_nodes=1500)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from topology.io import network_from_features
from topology.model import Network
from topology.synthetic.customers import synthetic_customers
from topology.synthetic.geometry import DEMO_CENTER, to_lonlat

__all__ = ["STYLES", "styled_network"]

#: The styles :func:`styled_network` knows.
STYLES = ("na_overhead", "na_fused", "eu_ring", "urban_mesh", "rural_long")


class _Builder:
    """Nodes and edges in a local metric frame, turned into contract-1 features."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.nodes: list[tuple[str, float, float, str, dict[str, Any]]] = []
        self.edges: list[tuple[str, str, str, str, dict[str, Any]]] = []
        self.xy: dict[str, tuple[float, float]] = {}
        self.count: dict[str, int] = {}

    def name(self, prefix: str, code: str) -> str:
        key = f"{prefix}-{code}"
        self.count[key] = self.count.get(key, 0) + 1
        return f"{key}{self.count[key]}"

    def node(self, nid: str, x: float, y: float, kind: str = "node", **props: Any) -> str:
        self.nodes.append((nid, x, y, kind, props))
        self.xy[nid] = (x, y)
        return nid

    def edge(self, eid: str, kind: str, a: str, b: str, **props: Any) -> str:
        self.edges.append((eid, kind, a, b, props))
        return eid

    def span(
        self, prefix: str, a: str, heading: float, length: float, kind: str = "line", **props: Any
    ) -> str:
        """A new node ``length`` m from ``a`` on ``heading`` (degrees), joined by ``kind``."""
        x, y = self.xy[a]
        h = math.radians(heading)
        b = self.node(self.name(prefix, "N"), x + length * math.cos(h), y + length * math.sin(h))
        code = {"line": "L", "cable": "C"}.get(kind, kind[0].upper())
        self.edge(self.name(prefix, code), kind, a, b, **props)
        return b

    def device(self, prefix: str, kind: str, a: str, heading: float, **props: Any) -> str:
        """A zero-length device from ``a`` to a new node just beyond it."""
        return self.span(prefix, a, heading, 3.0, kind, **props)

    def services(self, prefix: str, lv: str, heading: float, n: int, per: tuple[int, int]) -> None:
        """``n`` service points hanging off ``lv`` by service drops, with customers."""
        for k in range(n):
            h = heading + self.rng.uniform(-80, 80) + 180 * (k % 2)
            b = self.span(prefix, lv, h, float(self.rng.uniform(10, 40)))
            self._set_customers(b, int(self.rng.integers(per[0], per[1] + 1)))

    def _set_customers(self, nid: str, c: int) -> None:
        for i in range(len(self.nodes) - 1, -1, -1):
            if self.nodes[i][0] == nid:
                self.nodes[i][4]["customers"] = c
                return

    def substation(self, k: int, x: float, y: float) -> str:
        src = self.node(f"S{k}", x, y, "source", voltage_kv=110)
        bus = self.node(f"S{k}-BUS", x + 20, y, voltage_kv=10)
        self.edge(f"S{k}-TR1", "transformer", src, bus)
        return bus

    def network(self, center: tuple[float, float]) -> Network:
        xy = np.array([[x, y] for _, x, y, _, _ in self.nodes], dtype=float)
        ll = to_lonlat(xy, center)
        feats: list[dict[str, Any]] = []
        for (nid, _, _, kind, props), (lon, lat) in zip(self.nodes, ll.tolist(), strict=True):
            feats.append(
                {
                    "type": "Feature",
                    "properties": {"id": nid, "kind": kind, **props},
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                }
            )
        for eid, kind, a, b, props in self.edges:
            feats.append(
                {
                    "type": "Feature",
                    "properties": {"id": eid, "kind": kind, "from": a, "to": b, **props},
                    "geometry": None,
                }
            )
        return network_from_features(feats)


# ------------------------------------------------------------ overhead (NA, rural)
def _overhead(
    b: _Builder,
    n_nodes: int,
    *,
    span_m: tuple[float, float],
    trunk_spans: tuple[int, int],
    reclosers: int,
    sectionalizers: bool,
    fused_share: float,
    customers: tuple[int, int],
    lateral_spans: tuple[int, int],
) -> None:
    rng = b.rng
    feeder = 0
    sub = 0
    ends: list[tuple[str, str]] = []  # (feeder prefix, trunk end node)
    while len(b.nodes) < n_nodes:
        sub += 1
        bus = b.substation(sub, sub * 9000.0, float(rng.uniform(-500, 500)))
        for f in range(int(rng.integers(3, 6))):
            if len(b.nodes) >= n_nodes:
                break
            feeder += 1
            pre = f"F{feeder}"
            heading = 360.0 * f / 5 + float(rng.uniform(-20, 20))
            v = b.device(pre, "breaker", bus, heading, scada=True)
            n_trunk = int(rng.integers(*trunk_spans))
            at_recloser = sorted(
                rng.choice(
                    np.arange(2, n_trunk - 1), size=min(reclosers, n_trunk - 3), replace=False
                )
            )
            for k in range(n_trunk):
                if k in at_recloser:
                    first = k == at_recloser[0]
                    v = b.device(
                        pre, "recloser", v, heading, scada=bool(first or rng.random() < 0.3)
                    )
                heading += float(rng.uniform(-10, 10))
                v = b.span(pre, v, heading, float(rng.uniform(*span_m)))
                if k % 2 == 1 and len(b.nodes) < n_nodes:
                    side = heading + (90 if (k // 2) % 2 else -90)
                    _lateral(
                        b,
                        pre,
                        v,
                        side,
                        fused_share,
                        customers,
                        lateral_spans,
                        span_m,
                        sectionalizers,
                        depth=0,
                    )
            ends.append((pre, v))
    # Normally-open ties between the trunk ends of consecutive feeders.
    for (p1, a), (_, c) in zip(ends[::2], ends[1::2], strict=False):
        b.edge(b.name(p1, "TIE"), "switch", a, c, normal_state="open")


def _lateral(
    b: _Builder,
    pre: str,
    v: str,
    heading: float,
    fused_share: float,
    customers: tuple[int, int],
    spans: tuple[int, int],
    span_m: tuple[float, float],
    sectionalizers: bool,
    depth: int,
) -> None:
    rng = b.rng
    long = sectionalizers and depth == 0 and rng.random() < 0.4
    kind = "sectionalizer" if long else "fuse"
    u = b.device(pre, kind, v, heading)
    n = int(rng.integers(*spans)) * (2 if long else 1)
    for k in range(n):
        heading += float(rng.uniform(-25, 25))
        u = b.span(pre, u, heading, float(rng.uniform(*span_m)) * 0.6)
        if long and k == n // 2:
            u = b.device(pre, "fuse", u, heading)
        if rng.random() < 0.7:
            t_from = u
            if rng.random() < fused_share:
                t_from = b.device(pre, "fuse", u, heading + 90)
            lv = b.span(pre, t_from, heading + 90, 3.0, "transformer")
            b.services(pre, lv, heading, int(rng.integers(1, 3)), customers)
        if depth < 1 and k == 1 and rng.random() < 0.5:
            _lateral(
                b,
                pre,
                u,
                heading - 90,
                fused_share,
                customers,
                spans,
                span_m,
                sectionalizers,
                depth + 1,
            )


# ------------------------------------------------------------ ring main units
def _eu_ring(b: _Builder, n_nodes: int) -> None:
    rng = b.rng
    feeder = 0
    sub = 0
    while len(b.nodes) < n_nodes:
        sub += 1
        bus = b.substation(sub, sub * 6000.0, 0.0)
        ends: list[tuple[str, str]] = []
        for f in range(int(rng.integers(4, 8))):
            if len(b.nodes) >= n_nodes:
                break
            feeder += 1
            pre = f"F{feeder}"
            heading = 360.0 * f / 8 + float(rng.uniform(-10, 10))
            v = b.device(pre, "breaker", bus, heading, scada=True)
            for _ in range(int(rng.integers(5, 10))):
                heading += float(rng.uniform(-20, 20))
                joint = b.span(pre, v, heading, float(rng.uniform(200, 500)), "cable")
                # Ring main unit: load-break switch in, out, and a fused transformer tee.
                rmu = b.device(pre, "switch", joint, heading)
                tee = b.device(pre, "fuse", rmu, heading + 90)
                board = b.span(pre, tee, heading + 90, 3.0, "transformer")
                for lv_feeder in range(int(rng.integers(2, 5))):
                    h = heading + 90 + (lv_feeder - 1.5) * 40
                    u = b.device(pre, "fuse", board, h)
                    for _k in range(int(rng.integers(2, 5))):
                        u = b.span(pre, u, h + float(rng.uniform(-20, 20)), 40.0, "cable")
                        b.services(pre, u, h, int(rng.integers(1, 4)), (1, 4))
                v = b.device(pre, "switch", rmu, heading)
            ends.append((pre, v))
        for (p1, a), (_, c) in zip(ends[::2], ends[1::2], strict=False):
            b.edge(b.name(p1, "NOP"), "switch", a, c, normal_state="open")


# ------------------------------------------------------------ urban mesh
def _urban_mesh(b: _Builder, n_nodes: int) -> None:
    rng = b.rng
    # Each grid corner becomes ~1 joint + fuse + transformer + board + services.
    per_corner = 4 + 3 * 2
    side = max(4, int(math.sqrt(n_nodes / per_corner)))
    pitch = 150.0
    grid = {
        (i, j): b.node(
            f"G{i}-{j}", i * pitch + rng.uniform(-20, 20), j * pitch + rng.uniform(-20, 20)
        )
        for i in range(side)
        for j in range(side)
    }
    # Substations on the grid's edge, each with breakers into neighbouring corners.
    feeders: list[tuple[str, tuple[int, int]]] = []
    n_subs = max(1, side // 6)
    for s in range(n_subs):
        j = int((s + 0.5) * side / n_subs)
        for i_side, x in ((0, -300.0), (side - 1, side * pitch + 300.0)):
            k = len(feeders) // 3 + 1
            bus = b.substation(k * 10 + i_side, x, j * pitch)
            for jj in sorted({min(side - 1, max(0, j + dj)) for dj in (-1, 0, 1)}):
                if any(cell == (i_side, jj) for _, cell in feeders):
                    continue
                pre = f"F{len(feeders) + 1}"
                b.edge(f"{pre}-B", "breaker", bus, grid[(i_side, jj)], scada=True)
                feeders.append((pre, (i_side, jj)))
    # Radial operation: breadth-first from every feeder head at once.
    owner: dict[tuple[int, int], int] = {}
    queue: deque[tuple[int, int]] = deque()
    for f, (_, cell) in enumerate(feeders):
        if cell not in owner:
            owner[cell] = f
            queue.append(cell)
    tree_edges: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    while queue:
        cell = queue.popleft()
        i, j = cell
        nbrs = [(i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)]
        rng.shuffle(nbrs)
        for nb in nbrs:
            if nb in grid and nb not in owner:
                owner[nb] = owner[cell]
                tree_edges.add((cell, nb))
                queue.append(nb)
    for (i, j), u in grid.items():
        for nb in ((i + 1, j), (i, j + 1)):
            if nb not in grid:
                continue
            pre = feeders[owner[(i, j)]][0]
            closed = ((i, j), nb) in tree_edges or (nb, (i, j)) in tree_edges
            if closed:
                b.edge(b.name(pre, "C"), "cable", u, grid[nb])
            else:
                b.edge(b.name(pre, "NOP"), "switch", u, grid[nb], normal_state="open")
        pre = feeders[owner[(i, j)]][0]
        tee = b.device(pre, "fuse", u, 45.0)
        board = b.span(pre, tee, 45.0, 5.0, "transformer")
        for lv in range(2):
            lv_head = b.device(pre, "fuse", board, 45.0 + 90 * lv)
            b.services(pre, lv_head, 45.0 + 90 * lv, 3, (2, 8))


_BUILDERS: dict[str, Callable[[_Builder, int], None]] = {
    "na_overhead": lambda b, n: _overhead(
        b,
        n,
        span_m=(40, 90),
        trunk_spans=(14, 24),
        reclosers=1,
        sectionalizers=False,
        fused_share=0.0,
        customers=(1, 3),
        lateral_spans=(3, 8),
    ),
    "na_fused": lambda b, n: _overhead(
        b,
        n,
        span_m=(40, 90),
        trunk_spans=(14, 24),
        reclosers=1,
        sectionalizers=False,
        fused_share=1.0,
        customers=(1, 3),
        lateral_spans=(3, 8),
    ),
    "eu_ring": _eu_ring,
    "urban_mesh": _urban_mesh,
    "rural_long": lambda b, n: _overhead(
        b,
        n,
        span_m=(150, 400),
        trunk_spans=(30, 50),
        reclosers=3,
        sectionalizers=True,
        fused_share=0.5,
        customers=(1, 2),
        lateral_spans=(4, 10),
    ),
}


def styled_network(
    style: str,
    seed: int = 0,
    *,
    n_nodes: int = 3000,
    meter_share: float = 1.0,
    center: tuple[float, float] = DEMO_CENTER,
) -> Network:
    """A seeded network of about ``n_nodes`` nodes in ``style`` (see :data:`STYLES`).

    Parameters
    ----------
    style : str
        One of :data:`STYLES`.
    seed : int
        The same seed gives the same network and customers.
    n_nodes : int
        Roughly the number of nodes (whole feeders are added until it is
        reached).
    meter_share : float
        Share of customers with an AMI meter (``meter`` column).
    center : (float, float)
        Longitude and latitude of the local frame's origin.

    Returns
    -------
    Network
        Loaded through the contract-1 reader, with individual customers
        attached (ids ``C0000001``..., phones, meters).
    """
    if style not in _BUILDERS:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    b = _Builder(np.random.default_rng(seed))
    _BUILDERS[style](b, n_nodes)
    net = b.network(center)
    net.set_customers(synthetic_customers(net, seed=seed, meter_share=meter_share))
    return net
