"""The dispatcher map's own basemap: the network's roads and zones, with no internet.

A control room often has no internet and no tile server. The data loaded
with the network already draws the streets: the roads file (``oms load
--roads``, kept in the ``documents`` table, the same one crews' travel
times are read from) and the zones (``zones`` table). :func:`read_roads`
parses the roads once into arrays; :func:`basemap_layer` answers one view:
the roads whose bounding box meets it (the minor classes only from
:data:`MINOR_ZOOM` on, as a paper map leaves out side streets at county
scale), with coordinates rounded to what the zoom resolves, and the zones
with a point to write their name at.

Pure functions (no database, no Flask); :mod:`webmap.dispatcher` reads the
rows and serves ``/map/basemap.geojson``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from webmap.layers import Bbox, fit_zoom

__all__ = ["MAJOR_CLASSES", "MINOR_ZOOM", "Roads", "basemap_layer", "read_roads"]

#: Road classes drawn at every zoom (OpenStreetMap's ``highway`` values).
MAJOR_CLASSES = frozenset({"motorway", "trunk", "primary", "secondary"})
#: The other roads (tertiary, residential, tracks ...) from this zoom on.
MINOR_ZOOM = 13.0


@dataclass(frozen=True)
class Roads:
    """Road centre lines as arrays: each road's vertices ``coords[offsets[i]:offsets[i+1]]``."""

    ids: list[str]
    names: list[str | None]
    classes: list[str]
    offsets: np.ndarray  # (k + 1,)
    coords: np.ndarray  # (vertices, 2) lon/lat
    bounds: np.ndarray  # (k, 4) minlon, minlat, maxlon, maxlat
    major: np.ndarray  # (k,) bool: drawn at every zoom


def read_roads(content: bytes | str) -> Roads:
    """Parse a roads GeoJSON (LineStrings and MultiLineStrings; other geometries skipped).

    A MultiLineString becomes one road per part. Raises ``ValueError`` when
    the content is not a GeoJSON FeatureCollection. O(vertices).
    """
    doc = json.loads(content)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValueError("roads must be a GeoJSON FeatureCollection")
    ids: list[str] = []
    names: list[str | None] = []
    classes: list[str] = []
    parts: list[np.ndarray] = []
    for k, feature in enumerate(doc.get("features") or []):
        props = (feature or {}).get("properties") or {}
        geometry = (feature or {}).get("geometry") or {}
        if geometry.get("type") == "LineString":
            lines = [geometry.get("coordinates")]
        elif geometry.get("type") == "MultiLineString":
            lines = geometry.get("coordinates") or []
        else:
            continue
        for line in lines:
            try:
                xy = np.asarray(line, dtype=float)
            except (TypeError, ValueError):
                continue
            if xy.ndim != 2 or len(xy) < 2 or xy.shape[1] < 2 or not np.isfinite(xy).all():
                continue
            ids.append(str(props.get("id", f"road-{k}")))
            names.append(str(props["name"]) if props.get("name") else None)
            classes.append(str(props.get("class") or "unclassified"))
            parts.append(xy[:, :2])
    counts = np.array([len(p) for p in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    coords = np.concatenate(parts) if parts else np.empty((0, 2))
    bounds = np.empty((len(parts), 4))
    if parts:
        bounds[:, 0:2] = np.minimum.reduceat(coords, offsets[:-1], axis=0)
        bounds[:, 2:4] = np.maximum.reduceat(coords, offsets[:-1], axis=0)
    major = np.array([c in MAJOR_CLASSES for c in classes], dtype=bool)
    return Roads(ids, names, classes, offsets, coords, bounds, major)


def _decimals(zoom: float) -> int:
    """Decimals of degrees that resolve about a pixel at ``zoom`` (5 at street level)."""
    pixel_deg = 360.0 / (256.0 * 2.0**zoom)
    return int(min(6, max(3, math.ceil(-math.log10(pixel_deg)))))


def _meets(bounds: np.ndarray, bbox: Bbox | None) -> np.ndarray:
    if bbox is None:
        return np.ones(len(bounds), dtype=bool)
    x0, y0, x1, y1 = bbox
    return (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)


def _zone_features(zones: Iterable[Mapping[str, Any]], bbox: Bbox | None) -> list[dict[str, Any]]:
    """Zone polygons meeting ``bbox``, each with ``label_at``: a point inside it for its name."""
    from shapely.geometry import box, shape

    view = box(*bbox) if bbox is not None else None
    features = []
    for z in zones:
        geometry = z["geometry"]
        polygon = shape(geometry)
        if view is not None and not polygon.intersects(view):
            continue
        spot = polygon.representative_point()
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "layer": "zone",
                    "id": z["id"],
                    "name": z.get("name") or z["id"],
                    "area_class": z.get("area_class"),
                    "unit": z.get("unit"),
                    "label_at": [round(spot.x, 6), round(spot.y, 6)],
                },
                "geometry": geometry,
            }
        )
    return features


def basemap_layer(
    roads: Roads | None,
    zones: Iterable[Mapping[str, Any]] = (),
    bbox: Bbox | None = None,
    zoom: float | None = None,
) -> dict[str, Any]:
    """The basemap of one view: a GeoJSON FeatureCollection of zones, then roads.

    Parameters
    ----------
    roads : Roads or None
        :func:`read_roads` of the loaded roads file (None: no roads loaded).
    zones : iterable of mappings
        Rows of the zones table: ``id``, ``geometry`` (GeoJSON polygon),
        ``area_class``, ``unit`` and ``name`` when there is one.
    bbox, zoom
        The view, as for :func:`webmap.layers.network_layer`.

    Returns
    -------
    dict
        ``{"type", "features", "roads": roads drawn, "zones": zones drawn,
        "zoom"}``. Zone features have ``layer: "zone"``, ``id``, ``name``
        (the id when the zone has none), ``area_class``, ``unit``,
        ``label_at``; road features ``layer: "road"``, ``id``, ``class``,
        ``major`` and ``name`` when named.

    Notes
    -----
    O(roads) numpy work for the bbox test, O(vertices drawn) to build them.
    """
    if zoom is None:
        zoom = fit_zoom(bbox) if bbox is not None else 12.0
    features = _zone_features(zones, bbox)
    n_zones = len(features)
    if roads is not None and len(roads.ids):
        wanted = _meets(roads.bounds, bbox)
        if zoom < MINOR_ZOOM:
            wanted &= roads.major
        decimals = _decimals(zoom)
        for i in np.flatnonzero(wanted):
            line = np.round(roads.coords[roads.offsets[i] : roads.offsets[i + 1]], decimals)
            props: dict[str, Any] = {
                "layer": "road",
                "id": roads.ids[i],
                "class": roads.classes[i],
                "major": bool(roads.major[i]),
            }
            if roads.names[i]:
                props["name"] = roads.names[i]
            features.append(
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": {"type": "LineString", "coordinates": line.tolist()},
                }
            )
    return {
        "type": "FeatureCollection",
        "features": features,
        "zones": n_zones,
        "roads": len(features) - n_zones,
        "zoom": round(float(zoom), 2),
    }
