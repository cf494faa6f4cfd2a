"""Companion files (crews, units, zones) for any network, to replay storms with crews.

:func:`companions` writes the crews file (contract 2b), the units file (2b')
and the zones file (2c) that :func:`oms.simulation.replay.score_scenario`
loads with ``companions=``, so that the engine dispatches and simulated
crews (:mod:`oms.simulation.crews`) repair and report ``job_restored``, as a
control room learns restoration from its crews. No roads file: travel times
then fall back to straight-line estimates (geodesic distance x 1.4 at
40 km/h, docs/dispatch.md).

- **Zones**: one per substation (source node), the Voronoi cell of the
  substations clipped to the network's bounding box (with a margin), so the
  zones partition the area and every job lies in one. Its area class comes
  from the density of customers served in it: ``urban`` from
  ``urban_per_km2`` (500) customers per km² of the cell's part of the
  network's convex hull, ``remote`` below ``remote_per_km2`` (2), else
  ``rural``.
- **Units**: one repair unit per zone (``U1``...), owning it, with a first
  and a second contact and a leader (made-up phone numbers).
- **Crews**: ``ceil(feeders * crews_per_feeder)`` per substation (0.4: one
  per 2.5 feeders, a network's own staff), at least one, based at the
  substation, of its unit, owning its zone, with skills
  ``line;cable;service`` (every job a network or single-customer outage
  raises needs one of them), no voltage limit and no shift (always on
  duty, as in a storm). A feeder is a breaker, counted at the substation
  nearest to it; a substation without breakers gets one crew.

Deterministic: the same network and ``seed`` give the same files. O((n +
m) s + s log s) for s substations.

>>> paths = companions(net, "/tmp/companions")  # doctest: +SKIP
>>> score_scenario(net, scenario, companions=paths)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from topology.model import Network

__all__ = ["companions"]

_KM_PER_DEG_LAT = 111.32


def _phone(rng: np.random.Generator) -> str:
    # The North-American fictional range 555-01xx.
    return f"+1{int(rng.integers(200, 999))}55501{int(rng.integers(0, 100)):02d}"


def _feeders(net: Network, src: np.ndarray) -> np.ndarray:
    """Breakers counted at the nearest substation (equirectangular distance). O(m s)."""
    count = np.zeros(len(src), dtype=np.int64)
    breakers = np.flatnonzero(net.kind_mask("breaker"))
    if len(breakers) == 0:
        return count
    xy = net.node_xy[net.edge_from[breakers]]
    sxy = net.node_xy[src]
    scale = np.array([math.cos(math.radians(float(np.mean(sxy[:, 1])))), 1.0])
    d = (((xy[:, None, :] - sxy[None, :, :]) * scale) ** 2).sum(axis=2)
    np.add.at(count, d.argmin(axis=1), 1)
    return count


def _cells(net: Network, src: np.ndarray, margin_deg: float) -> list[Any]:
    """The substations' Voronoi cells within the network's bounding box plus a margin."""
    from shapely.geometry import MultiPoint, Point, box
    from shapely.ops import voronoi_diagram

    lo = net.node_xy.min(axis=0) - margin_deg
    hi = net.node_xy.max(axis=0) + margin_deg
    frame = box(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    points = [Point(float(x), float(y)) for x, y in net.node_xy[src]]
    if len(points) == 1:
        return [frame]
    diagram = voronoi_diagram(MultiPoint(points), envelope=frame)
    cells: list[Any] = []
    for p in points:
        cell = next(g for g in diagram.geoms if g.contains(p) or g.touches(p))
        cells.append(cell.intersection(frame))
    return cells


def companions(
    net: Network,
    folder: str | Path,
    seed: int = 0,
    *,
    crews_per_feeder: float = 0.4,
    urban_per_km2: float = 500.0,
    remote_per_km2: float = 2.0,
) -> dict[str, str]:
    """Write ``crews.csv``, ``units.csv`` and ``zones.geojson`` for ``net`` into ``folder``.

    Parameters
    ----------
    net : Network
        Any network with at least one source node, in lon/lat.
    folder : str or Path
        Made if missing; existing files of those names are replaced.
    seed : int
        Seeds the made-up phone numbers.
    crews_per_feeder : float
        Crews per feeder (breaker) at each substation, rounded up; a storm
        with mutual aid has more than a network's own staff (0.4).
    urban_per_km2, remote_per_km2 : float
        Customer densities (per km² of the zone's part of the network's
        convex hull) from which a zone is ``urban``, below which ``remote``.

    Returns
    -------
    dict
        ``{"crews": path, "units": path, "zones": path}`` (strings), as
        :func:`oms.simulation.replay.score_scenario` takes them.
    """
    from shapely.geometry import MultiPoint, mapping

    if crews_per_feeder <= 0:
        raise ValueError("crews_per_feeder must be positive")
    src = net.sources
    if len(src) == 0:
        raise ValueError("the network has no source node")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lat0 = float(np.mean(net.node_xy[:, 1]))
    km2_per_deg2 = _KM_PER_DEG_LAT**2 * math.cos(math.radians(lat0))
    cells = _cells(net, src, margin_deg=0.01)
    hull = MultiPoint([tuple(p) for p in net.node_xy.tolist()]).convex_hull.buffer(0.002)

    # Customers per zone: each node's customers in the cell holding it.
    from shapely import contains_xy

    served = np.zeros(len(src), dtype=np.int64)
    free = np.ones(net.n_nodes, dtype=bool)
    for k, cell in enumerate(cells):
        inside = free & contains_xy(cell, net.node_xy[:, 0], net.node_xy[:, 1])
        served[k] = int(net.node_customers[inside].sum())
        free &= ~inside
    feeders = _feeders(net, src)

    zones: list[dict[str, Any]] = []
    units: list[dict[str, str]] = []
    crews: list[dict[str, str]] = []
    for k, s in enumerate(src):
        sid = str(net.node_ids[s])
        zid, uid = f"Z{k + 1}", f"U{k + 1}"
        area = max(float(cells[k].intersection(hull).area) * km2_per_deg2, 1e-6)
        density = served[k] / area
        area_class = (
            "urban"
            if density >= urban_per_km2
            else ("remote" if density < remote_per_km2 else "rural")
        )
        zones.append(
            {
                "type": "Feature",
                "properties": {
                    "id": zid,
                    "name": f"{sid} area",
                    "area_class": area_class,
                    "unit": uid,
                    "customers": int(served[k]),
                    "customers_per_km2": round(density, 1),
                },
                "geometry": mapping(cells[k]),
            }
        )
        units.append(
            {
                "id": uid,
                "name": f"{sid} repair unit",
                "first_contact": _phone(rng),
                "second_contact": _phone(rng),
                "leader": _phone(rng),
            }
        )
        lon, lat = (float(v) for v in net.node_xy[s])
        n_crews = max(1, math.ceil(int(feeders[k]) * crews_per_feeder - 1e-9))
        for j in range(n_crews):
            crews.append(
                {
                    "id": f"{sid}-CR{j + 1}",
                    "name": f"{sid} line crew {j + 1}",
                    "unit": uid,
                    "skills": "line;cable;service",
                    "zone": zid,
                    "lon": f"{lon:.7f}",
                    "lat": f"{lat:.7f}",
                    "phone": _phone(rng),
                }
            )

    paths = {
        "crews": str(folder / "crews.csv"),
        "units": str(folder / "units.csv"),
        "zones": str(folder / "zones.geojson"),
    }
    _write_csv(paths["units"], units)
    _write_csv(paths["crews"], crews)
    doc = {"type": "FeatureCollection", "features": zones}
    Path(paths["zones"]).write_text(json.dumps(doc) + "\n", encoding="utf-8")
    return paths


def _write_csv(path: str, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
