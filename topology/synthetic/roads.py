"""The road network of the demo area: a fictional county town and its county.

:func:`make_roads` lays out, in metres around the town centre, a jittered
street grid turned 12 degrees with a one-way pair downtown, two suburbs,
six villages with county roads, farm tracks and township roads, the G205
national road running out of the area, and two mountain roads to hamlets
(``docs/demo-network.md``, step 1). Roads are split at every junction, so
segments meet at shared end points and form one connected network; the
demo network is strung along them (:mod:`topology.synthetic.demo_network`)
and :func:`roads_geojson` writes them as contract 2d.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from topology.synthetic.geometry import polar, to_lonlat

__all__ = ["TOWN", "Roads", "Segment", "make_roads", "roads_geojson"]

#: Name of the (fictional) town.
TOWN = "Qingshui"

_EW_NAMES = (
    "Huanghe Road",
    "Changjiang Road",
    "Nanhuan Road",
    "Gongye Road",
    "Xingfu Road",
    "Dongfeng Road",
    "Chaoyang Road",
    "Heping Road",
    "Renmin Road",
    "Jiefang Road",
    "Xinhua Road",
    "Shengli Road",
    "Wenhua Road",
    "Jianshe Road",
    "Beihuan Road",
    "Taishan Road",
    "Yimeng Road",
)
_NS_NAMES = (
    "Binhe Street",
    "Xiangyang Street",
    "Xihuan Street",
    "Qingnian Street",
    "Yucai Street",
    "Minzhu Street",
    "Fuqian Street",
    "Gulou Street",
    "Wenchang Street",
    "Zhongshan Street",
    "Changchun Street",
    "Shuguang Street",
    "Kangle Street",
    "Taiping Street",
    "Hongqi Street",
    "Yingbin Street",
    "Donghuan Street",
    "Guangming Street",
    "Dongfang Street",
)
_VILLAGES = (
    # name, angle (deg), distance (m)
    ("Lijiazhuang", 10.0, 6500.0),
    ("Wangzhuang", 70.0, 5000.0),
    ("Zhaocun", 128.0, 7000.0),
    ("Dongguan", 190.0, 6000.0),
    ("Xiaohe", 250.0, 6800.0),
    ("Beiliu", 312.0, 5500.0),
)


@dataclass
class Segment:
    """A road between two junctions, in local metres.

    ``area`` is the kind of place it runs through (``urban``, ``suburb``,
    ``village``, ``rural`` or ``remote``); it sets how a line along it is
    built.
    """

    a: int
    b: int
    coords: np.ndarray
    cls: str
    name: str
    speed: float
    area: str
    oneway: bool = False

    @property
    def length(self) -> float:
        return float(np.hypot(*np.diff(self.coords, axis=0).T).sum())


class Roads:
    """A road network under construction: junctions and the roads between them."""

    def __init__(self) -> None:
        self.xy: list[tuple[float, float]] = []
        self.segs: list[Segment] = []

    def junction(self, p: Sequence[float]) -> int:
        self.xy.append((float(p[0]), float(p[1])))
        return len(self.xy) - 1

    def add(
        self,
        pts: Any,
        cls: str,
        name: str,
        speed: float,
        area: str,
        *,
        start: int | None = None,
        end: int | None = None,
        split: Sequence[int] = (),
        oneway: bool = False,
    ) -> list[int]:
        """Add a road along ``pts``, split into segments at the given vertex
        indices (new junctions there); returns the junctions along it."""
        pts = np.array(pts, dtype=np.float64)
        if start is None:
            start = self.junction(pts[0])
        else:
            pts[0] = self.xy[start]
        if end is None:
            end = self.junction(pts[-1])
        else:
            pts[-1] = self.xy[end]
        cuts = sorted({k for k in split if 0 < k < len(pts) - 1})
        junctions = [start, *[self.junction(pts[k]) for k in cuts], end]
        bounds = [0, *cuts, len(pts) - 1]
        for k in range(len(junctions) - 1):
            self.segs.append(
                Segment(
                    junctions[k],
                    junctions[k + 1],
                    pts[bounds[k] : bounds[k + 1] + 1].copy(),
                    cls,
                    name,
                    speed,
                    area,
                    oneway,
                )
            )
        return junctions

    def at(self, j: int) -> np.ndarray:
        """Position of junction ``j``."""
        return np.array(self.xy[j])

    def extreme(self, direction: np.ndarray, pool: list[int]) -> int:
        """The junction of ``pool`` farthest in ``direction``."""
        xy = np.array([self.xy[v] for v in pool])
        return pool[int(np.argmax(xy @ direction))]

    def nearest(self, p: np.ndarray, pool: list[int]) -> int:
        """The junction of ``pool`` nearest ``p``."""
        xy = np.array([self.xy[v] for v in pool])
        return pool[int(np.argmin(np.hypot(*(xy - p).T)))]


def _meander(
    p: np.ndarray, q: np.ndarray, rng: np.random.Generator, step: float, amp: float
) -> np.ndarray:
    """A road-like polyline from ``p`` to ``q``: vertices every ~``step`` m,
    bending smoothly up to about ``amp`` m off the straight line."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    d = q - p
    dist = float(np.hypot(*d))
    n = max(2, math.ceil(dist / step))
    t = np.linspace(0.0, 1.0, n + 1)
    normal = np.array([-d[1], d[0]]) / max(dist, 1e-9)
    a1, a2, a3 = rng.normal(0, 1, 3) * np.array([amp, amp * 0.5, amp * 0.25])
    phase = rng.uniform(0, 2 * np.pi)
    off = a1 * np.sin(np.pi * t) + a2 * np.sin(2 * np.pi * t) + a3 * np.sin(3 * np.pi * t + phase)
    off += np.sin(np.pi * t) * np.cumsum(rng.normal(0, amp * 0.03, n + 1))
    off[0] = off[-1] = 0.0
    return p + t[:, None] * d + off[:, None] * normal


def make_roads(rng: np.random.Generator) -> tuple[Roads, dict[str, Any]]:
    """The road network of the demo area, in metres around the town centre.

    Returns the roads and landmarks used to place substations and zones:
    junction lists of the town grid (``town``), of each suburb
    (``suburbs``), of each village (``villages``, by name) and of each
    hamlet (``hamlets``, by name).
    """
    roads = Roads()
    marks: dict[str, Any] = {"villages": {}, "hamlets": {}}
    marks["town"] = _town(roads, rng)
    marks["suburbs"] = _suburbs(roads, rng, marks["town"])
    _villages(roads, rng, marks)
    _township_roads(roads, rng, marks)
    _mountain_roads(roads, rng, marks)
    return roads, marks


def _town(roads: Roads, rng: np.random.Generator) -> list[int]:
    """The town: a jittered, slightly rotated grid inside an ellipse, with
    two main streets and a one-way pair downtown; returns its junctions."""
    theta = math.radians(12.0)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    sx, sy = 185.0, 160.0
    grid: dict[tuple[int, int], int] = {}
    for i in range(-9, 10):
        for j in range(-8, 9):
            x, y = i * sx, j * sy
            if (x / 1650.0) ** 2 + (y / 1250.0) ** 2 > 1.0:
                continue
            main = i == 0 or j == 0
            jitter = rng.uniform(-5, 5, 2) if main else rng.uniform(-16, 16, 2)
            grid[(i, j)] = roads.junction(rot @ np.array([x, y]) + jitter)
    for (i, j), a in sorted(grid.items()):
        for di, dj in ((1, 0), (0, 1)):
            b = grid.get((i + di, j + dj))
            if b is None:
                continue
            main = (dj == 0 and j == 0) or (di == 0 and i == 0)
            if not main and rng.random() < 0.07:
                continue  # a block without a through street
            pa, pb = roads.at(a), roads.at(b)
            pts: Any = [pa, pb]
            if rng.random() < 0.3:  # a slight bend
                mid = (pa + pb) / 2 + rng.normal(0, 4, 2)
                pts = [pa, mid, pb]
            name = _EW_NAMES[j + 8] if dj == 0 else _NS_NAMES[i + 9]
            cls, speed = ("primary", 50.0) if main else ("residential", 30.0)
            oneway = False
            if dj == 0 and j in (1, -1) and -3 <= i < 3:
                oneway = True  # a one-way pair downtown: j=1 eastbound, j=-1 westbound
                if j == -1:
                    pts = pts[::-1]
            start, end = (a, b) if not (oneway and j == -1) else (b, a)
            roads.add(pts, cls, name, speed, "urban", start=start, end=end, oneway=oneway)
    return sorted(grid.values())


def _suburbs(roads: Roads, rng: np.random.Generator, town: list[int]) -> list[list[int]]:
    """Two suburbs: sparser grids joined to the town by two avenues each;
    returns the junctions of each."""
    suburbs = (
        ("Xincheng", np.array([2350.0, 1750.0]), 25.0, (5, 4), ("Jinxiu", "Fuyuan", "Huayuan")),
        ("Nanyuan", np.array([-2250.0, -1650.0]), -8.0, (4, 4), ("Taoyuan", "Lize", "Kangjia")),
    )
    pools: list[list[int]] = []
    for name, center, angle, (nx_, ny_), stems in suburbs:
        rad = math.radians(angle)
        r2 = np.array([[math.cos(rad), -math.sin(rad)], [math.sin(rad), math.cos(rad)]])
        sg: dict[tuple[int, int], int] = {}
        for i in range(nx_):
            for j in range(ny_):
                p = center + r2 @ np.array(
                    [(i - (nx_ - 1) / 2) * 235.0, (j - (ny_ - 1) / 2) * 215.0]
                )
                sg[(i, j)] = roads.junction(p + rng.uniform(-25, 25, 2))
        for (i, j), u in sorted(sg.items()):
            for di, dj in ((1, 0), (0, 1)):
                v = sg.get((i + di, j + dj))
                if v is None or (rng.random() < 0.12 and 0 < i < nx_ - 1):
                    continue
                pu, pv = roads.at(u), roads.at(v)
                mid = (pu + pv) / 2 + rng.normal(0, 10, 2)
                street = f"{stems[(i + j) % len(stems)]} {'Road' if dj == 0 else 'Lane'}"
                roads.add([pu, mid, pv], "residential", street, 30.0, "suburb", start=u, end=v)
        pool = sorted(sg.values())
        pools.append(pool)
        for k in range(2):  # two connectors to the town
            s_j = sorted(pool, key=lambda v: np.hypot(*roads.at(v)))[k * 2]
            t_j = roads.nearest(roads.at(s_j), town)
            link = _meander(roads.at(t_j), roads.at(s_j), rng, 90.0, 40.0)
            roads.add(link, "tertiary", f"{name} Avenue", 50.0, "suburb", start=t_j, end=s_j)
    return pools


def _villages(roads: Roads, rng: np.random.Generator, marks: dict[str, Any]) -> None:
    """Six villages, each a main street with four side lanes, reached from
    the town by a county road with farm tracks (two of them the G205
    national road, which runs on out of the area); fills ``marks["villages"]``."""
    for k, (vname, ang, dist) in enumerate(_VILLAGES):
        main_j = _village(roads, rng, marks, vname, ang, dist)
        # county road from the town edge to the village end nearer the town
        t_j = roads.extreme(polar(ang, 1.0), marks["town"])
        v_end = min((main_j[0], main_j[-1]), key=lambda v: np.hypot(*roads.at(v)))
        v_far = main_j[-1] if v_end == main_j[0] else main_j[0]
        national = k in (0, 3)
        pts = _meander(roads.at(t_j), roads.at(v_end), rng, 120.0, 220.0)
        splits = sorted(rng.choice(range(3, len(pts) - 3), 2, replace=False).tolist())
        rname = "G205 National Road" if national else f"X{21 + k:03d} County Road"
        cls, speed = ("primary", 80.0) if national else ("secondary", 70.0)
        along = roads.add(pts, cls, rname, speed, "rural", start=t_j, end=v_end, split=splits)
        for jn in along[1:-1]:  # farm tracks
            p0 = roads.at(jn)
            tangent = polar(ang + 90 * rng.choice([-1, 1]) + rng.normal(0, 15), 1.0)
            q = p0 + tangent * rng.uniform(350, 900)
            roads.add(
                _meander(p0, q, rng, 100.0, 30.0),
                "track",
                f"{vname} farm track",
                20.0,
                "rural",
                start=jn,
            )
        if national:  # the national road runs on out of the area
            q = polar(ang + rng.uniform(-4, 4), 14500.0)
            pts = _meander(roads.at(v_far), q, rng, 150.0, 300.0)
            split = [len(pts) // 2]
            roads.add(pts, cls, rname, speed, "rural", start=v_far, split=split)


def _village(
    roads: Roads,
    rng: np.random.Generator,
    marks: dict[str, Any],
    vname: str,
    ang: float,
    dist: float,
) -> list[int]:
    """One village: its main street and four lanes; records its junctions in
    ``marks["villages"]`` and returns those of the main street."""
    center = polar(ang, dist)
    orient = math.radians(ang + rng.uniform(-50, 50))
    axis = np.array([math.cos(orient), math.sin(orient)])
    half = rng.uniform(600, 800)
    n_j = int(rng.integers(8, 11))
    pts = [center + axis * (-half + 2 * half * t) for t in np.linspace(0, 1, n_j)]
    pts = [p + rng.normal(0, 8, 2) for p in pts]
    main_j = roads.add(
        pts, "tertiary", f"{vname} Main Street", 40.0, "village", split=range(1, n_j - 1)
    )
    village_pool = list(main_j)
    perp = np.array([-axis[1], axis[0]])
    for lane, jn in enumerate(sorted(rng.choice(range(1, n_j - 1), 4, replace=False))):
        side = 1.0 if lane % 2 == 0 else -1.0
        length = rng.uniform(220, 480)
        p0 = roads.at(main_j[int(jn)])
        lane_pts = [p0 + side * perp * length * t + rng.normal(0, 6, 2) for t in (0, 0.5, 1)]
        lane_j = roads.add(
            lane_pts,
            "residential",
            f"{vname} Lane {lane + 1}",
            20.0,
            "village",
            start=main_j[int(jn)],
            split=[1],
        )
        village_pool += lane_j[1:]
    marks["villages"][vname] = village_pool
    return main_j


def _township_roads(roads: Roads, rng: np.random.Generator, marks: dict[str, Any]) -> None:
    """Township roads between neighbouring villages (one gap in the ring)."""
    names = [v[0] for v in _VILLAGES]
    for k in range(len(_VILLAGES) - 1):
        pa = marks["villages"][names[k]]
        pb = marks["villages"][names[k + 1]]
        best = min(
            ((a, b) for a in pa for b in pb),
            key=lambda ab: np.hypot(*(roads.at(ab[0]) - roads.at(ab[1]))),
        )
        pts = _meander(roads.at(best[0]), roads.at(best[1]), rng, 130.0, 250.0)
        roads.add(
            pts,
            "tertiary",
            f"Y{31 + k:03d} Township Road",
            60.0,
            "rural",
            start=best[0],
            end=best[1],
            split=[len(pts) // 2],
        )


def _mountain_roads(roads: Roads, rng: np.random.Generator, marks: dict[str, Any]) -> None:
    """Two long, winding mountain roads into the hills to three hamlets;
    fills ``marks["hamlets"]``."""
    mountain = (
        ("Zhaocun", 135.0, 12500.0, "Shangyu", "Shanyu Mountain Road", "Songling"),
        ("Xiaohe", 235.0, 10500.0, "Xiagou", "Xigou Mountain Road", None),
    )
    for vname, ang, length, hamlet, rname, branch in mountain:
        v0 = roads.extreme(polar(ang, 1.0), marks["villages"][vname])
        p0 = roads.at(v0)
        q = p0 + polar(ang, length)
        pts = _meander(p0, q, rng, 90.0, 900.0)
        # hairpins: add a small fast wobble
        pts[1:-1] += rng.normal(0, 25, (len(pts) - 2, 2))
        n = len(pts)
        js = roads.add(
            pts, "secondary", rname, 40.0, "remote", start=v0, split=[n // 4, n // 2, 3 * n // 4]
        )
        marks["hamlets"][hamlet] = _hamlet(roads, rng, js[-1], hamlet, ang)
        if branch:
            b0 = js[2]
            pb = roads.at(b0)
            q = pb + polar(ang + 70, 3200.0)
            bj = roads.add(
                _meander(pb, q, rng, 90.0, 400.0),
                "unclassified",
                f"{branch} Road",
                35.0,
                "remote",
                start=b0,
            )
            marks["hamlets"][branch] = _hamlet(roads, rng, bj[-1], branch, ang + 70)


def _hamlet(roads: Roads, rng: np.random.Generator, j0: int, name: str, ang: float) -> list[int]:
    """A few short lanes around junction ``j0``; returns the hamlet's junctions."""
    p0 = roads.at(j0)
    pool = [j0]
    for k, da in enumerate((-80.0, 80.0, 0.0)):
        q = p0 + polar(ang + da + rng.normal(0, 10), rng.uniform(250, 380))
        pts = [p0, (p0 + q) / 2 + rng.normal(0, 8, 2), q]
        pool += roads.add(
            pts, "residential", f"{name} Lane {k + 1}", 20.0, "village", start=j0, split=[1]
        )[1:]
    return pool


def roads_geojson(roads: Roads, center: tuple[float, float]) -> dict[str, Any]:
    """The roads as a contract-2d FeatureCollection (one LineString per
    segment, ``id`` ``RD1``..., ``name``, ``class``, ``speed_kmh``,
    ``oneway``), in lon/lat rounded to 7 decimals."""
    features = []
    for k, seg in enumerate(roads.segs):
        coords = to_lonlat(seg.coords, center)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "id": f"RD{k + 1}",
                    "name": seg.name,
                    "class": seg.cls,
                    "speed_kmh": seg.speed,
                    "oneway": seg.oneway,
                },
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[round(float(x), 7), round(float(y), 7)] for x, y in coords],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
