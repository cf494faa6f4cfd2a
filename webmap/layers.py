"""GeoJSON layers of the dispatcher's live map, built from a network and its state.

Pure functions (no database, no Flask): :mod:`webmap.dispatcher` feeds them
what it read, the tests and the benchmark call them directly.

The network layer
-----------------
:func:`edge_states` (:mod:`oms.edge_states`, shared with the GIS layers)
gives every edge one of :data:`STATES`: ``energized``, ``deenergized``
(counting the device of every active network outage as open), ``open``
(an operable device open as operated) or ``faulted`` (the faulted section
of an active network outage).

:func:`network_layer` answers one map request: the edges whose bounding box
meets ``bbox`` at zoom ``zoom``. When the view holds few edges
(``detail_limit``) or the zoom is close (``detail_zoom``) every edge is one
``LineString`` feature with its id, kind and state, so the dispatcher can
click it. Otherwise the view is **simplified** the way vector tiles are: every
segment's ends are snapped to a grid of ``cell_px`` screen pixels at that
zoom (Web Mercator), segments that fall inside one cell vanish, identical
snapped segments of the same state are drawn once, and each state becomes
one ``MultiLineString``. The snapped point of a cell is a real vertex of the
network in it, so lines stay connected and in place to within a pixel or
two. The result holds at most ``max_segments`` segments (the grid coarsens
by doubling until it does), whatever the network's size: a full-extent view
of 100,000 edges is a few thousand segments and well under a megabyte.
Faulted edges and sources are always drawn one by one.

The per-network preparation (edge bounding boxes, segment arrays in Web
Mercator) is done once per geometry (cached per :class:`~topology.model.Network`
object and by a digest of its coordinates); states are cached per network,
switching state and set of active outages. :func:`to_json` writes a layer
built with ``arrays=True``, its coordinates straight from numpy.

Complexity: preparation O(m + vertices); a request O(segments in view) with
numpy, plus O(features) to build the dicts.

The device layer
----------------
Switches, breakers, reclosers, sectionalizers, fuses and transformers are
often zero-length edges, invisible as lines. :func:`device_layer` gives each
one a Point (the middle of the edge) with its kind and its state as a
symbol shows it (:data:`DEVICE_STATES`), at street zooms
(``zoom >= DEVICE_ZOOM``) or in any view holding at most ``DEVICE_LIMIT``
devices. :func:`trace_layer` draws an upstream or downstream trace.

The switching desk
------------------
:func:`field_layer` gives the tags, grounds, jumpers and cuts in place and
the devices of the orders under way, one Point per device.
:func:`as_built` is the network in its normal states (the map's "as built"
view, :data:`VIEWS`).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from oms.edge_states import (
    DEENERGIZED,
    ENERGIZED,
    FAULTED,
    OPEN,
    STATES,
    edge_states,
    outage_position,
)
from oms.engine.damage import ASSETS
from oms.outages import ACTIVE_STATES
from oms.switching.restoration import plan
from topology.model import EDGE_KINDS, Network

__all__ = [
    "ACTIVE_ORDER_STATES",
    "CELL_PX",
    "DAMAGE_ASSETS",
    "DETAIL_LIMIT",
    "DETAIL_MAX",
    "DETAIL_ZOOM",
    "DEVICE_KINDS",
    "DEVICE_LIMIT",
    "DEVICE_MAX",
    "DEVICE_STATES",
    "DEVICE_ZOOM",
    "FIELD_KINDS",
    "MAX_SEGMENTS",
    "STATES",
    "TRACE_KINDS",
    "VIEWS",
    "Bbox",
    "Coordinates",
    "as_built",
    "calls_layer",
    "crews_layer",
    "damage_layer",
    "device_layer",
    "edge_states",
    "field_layer",
    "fit_zoom",
    "network_bounds",
    "network_layer",
    "outage_position",
    "outages_layer",
    "parse_bbox",
    "plan",
    "plan_layer",
    "state_counts",
    "to_json",
    "trace_layer",
]

#: At this zoom and closer every edge is its own feature.
DETAIL_ZOOM = 16.0
#: A view with at most this many edges is drawn edge by edge at any zoom.
DETAIL_LIMIT = 4000
#: ... and never more than this many, however close the zoom.
DETAIL_MAX = 30_000
#: Grid cell of the simplification, in screen pixels.
CELL_PX = 2.0
#: Most segments a simplified layer holds.
MAX_SEGMENTS = 40_000
#: Edge kinds drawn as device symbols, the most important first (kept first when capped).
DEVICE_KINDS = ("breaker", "recloser", "sectionalizer", "switch", "fuse", "transformer")
#: A device symbol's state: as operated, or ``tripped`` (opened by its protection, as
#: reported, or presumed from an active outage at it).
DEVICE_STATES = ("closed", "open", "tripped")
#: Device symbols at this zoom and closer (street level) ...
DEVICE_ZOOM = 15.0
#: ... and at any zoom when the view holds at most this many devices.
DEVICE_LIMIT = 300
#: Most symbols one answer holds (the least important kinds are left out first).
DEVICE_MAX = 1500

Bbox = tuple[float, float, float, float]
_MAX_LAT = 85.0511287798
_TILE = 256.0


# ------------------------------------------------------------------ helpers
def parse_bbox(text: str | None) -> Bbox | None:
    """``"minlon,minlat,maxlon,maxlat"`` -> a tuple, or None when empty.

    Raises ``ValueError`` on anything else (four finite numbers, min <= max).
    """
    if not text:
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError("bbox must be minlon,minlat,maxlon,maxlat")
    x0, y0, x1, y1 = (float(p) for p in parts)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x0 > x1 or y0 > y1:
        raise ValueError("bbox must be four finite numbers with min <= max")
    return (x0, y0, x1, y1)


def _mercator(lonlat: np.ndarray) -> np.ndarray:
    """Web Mercator world coordinates at zoom 0 (0..256 across), for lon/lat rows."""
    lon = lonlat[..., 0]
    lat = np.clip(lonlat[..., 1], -_MAX_LAT, _MAX_LAT)
    x = (lon + 180.0) / 360.0 * _TILE
    rad = np.radians(lat)
    y = (1.0 - np.log(np.tan(rad) + 1.0 / np.cos(rad)) / math.pi) / 2.0 * _TILE
    return np.stack([x, y], axis=-1)


def fit_zoom(bbox: Bbox, width_px: float = 1280.0, height_px: float = 900.0) -> float:
    """The zoom at which ``bbox`` fits a viewport of the given size (Web Mercator)."""
    a = _mercator(np.array([[bbox[0], bbox[3]], [bbox[2], bbox[1]]], dtype=float))
    dx = max(float(a[1, 0] - a[0, 0]), 1e-12)
    dy = max(float(a[1, 1] - a[0, 1]), 1e-12)
    return float(max(0.0, min(math.log2(width_px / dx), math.log2(height_px / dy), 22.0)))


def _decimals(zoom: float, cell_px: float) -> int:
    """Decimals of degrees that resolve a fraction of a grid cell at ``zoom``."""
    cell_deg = 360.0 / (_TILE * 2.0**zoom) * cell_px
    return int(min(6, max(2, math.ceil(-math.log10(cell_deg)) + 1)))


def _segment_arange(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])`` without the Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)


# ------------------------------------------------------------- preparation
@dataclass(frozen=True)
class _Prepared:
    """What every request on one network needs, computed once per network."""

    bounds: np.ndarray  # (m, 4) minlon, minlat, maxlon, maxlat of each edge
    seg_edge: np.ndarray  # (s,) edge of each segment
    seg_lonlat: np.ndarray  # (s, 2, 2) ends of each segment, lon/lat
    seg_world: np.ndarray  # (s, 2, 2) the same in Web Mercator at zoom 0


_prepared: weakref.WeakKeyDictionary[Network, _Prepared] = weakref.WeakKeyDictionary()
_by_geometry: dict[bytes, _Prepared] = {}
_lock = threading.Lock()


def _geometry_key(net: Network) -> bytes:
    """A digest of what the preparation depends on (coordinates and endpoints). O(m + n)."""
    h = hashlib.blake2b(digest_size=16)
    for arr in (net.node_xy, net.edge_from, net.edge_to, net.geom_offsets, net.geom_coords):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.digest()


def _prepare(net: Network) -> _Prepared:
    """Edge bounds and segments of ``net``. O(m + vertices), cached.

    Cached per network object, and by content: the server builds a new
    :class:`Network` object after every switching operation, with the same
    geometry, which then costs only a digest of the coordinates.
    """
    with _lock:
        found = _prepared.get(net)
    if found is not None:
        return found
    key = _geometry_key(net)
    with _lock:
        found = _by_geometry.get(key)
        if found is not None:
            _prepared[net] = found
            return found
    m = net.n_edges
    offsets = net.geom_offsets
    counts = np.diff(offsets)
    geometric = counts >= 2
    ends_a = net.node_xy[net.edge_from]
    ends_b = net.node_xy[net.edge_to]
    bounds = np.empty((m, 4), dtype=np.float64)
    bounds[:, 0] = np.minimum(ends_a[:, 0], ends_b[:, 0])
    bounds[:, 1] = np.minimum(ends_a[:, 1], ends_b[:, 1])
    bounds[:, 2] = np.maximum(ends_a[:, 0], ends_b[:, 0])
    bounds[:, 3] = np.maximum(ends_a[:, 1], ends_b[:, 1])
    straight = np.flatnonzero(~geometric)
    parts_edge = [straight]
    parts_xy = [np.stack([ends_a[straight], ends_b[straight]], axis=1)]
    geo = np.flatnonzero(geometric)
    if len(geo):
        coords = net.geom_coords
        starts = offsets[geo]
        vcounts = counts[geo]
        # The vertices of the geometric edges, edge after edge, then their bounds.
        verts = coords[np.repeat(starts, vcounts) + _segment_arange(vcounts)]
        first_vertex = np.cumsum(vcounts) - vcounts
        bounds[geo, 0:2] = np.minimum.reduceat(verts, first_vertex, axis=0)
        bounds[geo, 2:4] = np.maximum.reduceat(verts, first_vertex, axis=0)
        seg_counts = vcounts - 1
        first = np.repeat(starts, seg_counts) + _segment_arange(seg_counts)
        parts_edge.append(np.repeat(geo, seg_counts))
        parts_xy.append(np.stack([coords[first], coords[first + 1]], axis=1))
    seg_edge = np.concatenate(parts_edge).astype(np.int64)
    seg_lonlat = np.concatenate(parts_xy).reshape(-1, 2, 2)
    prepared = _Prepared(bounds, seg_edge, seg_lonlat, _mercator(seg_lonlat))
    with _lock:
        _prepared[net] = prepared
        _by_geometry[key] = prepared
        while len(_by_geometry) > 2:  # the current network and the one before
            _by_geometry.pop(next(iter(_by_geometry)))
    return prepared


def network_bounds(net: Network) -> Bbox | None:
    """``(minlon, minlat, maxlon, maxlat)`` of every node and vertex, or None if empty."""
    if net.n_nodes == 0:
        return None
    xy = net.node_xy if not len(net.geom_coords) else np.vstack([net.node_xy, net.geom_coords])
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


# ------------------------------------------------------------------ states
def state_counts(states: np.ndarray) -> dict[str, int]:
    """Edges per state name. O(m)."""
    counts = np.bincount(states, minlength=len(STATES))
    return {name: int(counts[i]) for i, name in enumerate(STATES)}


# ----------------------------------------------------------- network layer
def _in_bbox(prep: _Prepared, bbox: Bbox | None) -> np.ndarray:
    """Boolean mask of the edges whose bounding box meets ``bbox``. O(m)."""
    b = prep.bounds
    if bbox is None:
        return np.ones(len(b), dtype=bool)
    x0, y0, x1, y1 = bbox
    return (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)


def _edge_feature(net: Network, e: int, state: int, decimals: int = 6) -> dict[str, Any]:
    kind = EDGE_KINDS[net.edge_kind[e]]
    props: dict[str, Any] = {
        "id": net.edge_ids[e],
        "kind": kind,
        "state": STATES[state],
        "operable": net.is_operable(e),
    }
    name = net.edge_name[e]
    if name:
        props["name"] = name
    coords = np.round(net.edge_coords(e), decimals).tolist()
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "LineString", "coordinates": coords},
    }


def _source_features(net: Network, bbox: Bbox | None) -> list[dict[str, Any]]:
    features = []
    for v in net.sources:
        x, y = net.node_xy[v]
        if bbox is not None and not (bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]):
            continue
        props: dict[str, Any] = {"id": net.node_ids[v], "kind": "source"}
        if net.node_name[v]:
            props["name"] = net.node_name[v]
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
            }
        )
    return features


def _simplified(
    prep: _Prepared,
    edges: np.ndarray,
    states: np.ndarray,
    zoom: float,
    cell_px: float,
    max_segments: int,
    arrays: bool = False,
) -> tuple[list[dict[str, Any]], int, float]:
    """Snapped, de-duplicated segments of ``edges`` (a mask), one MultiLineString per state.

    Returns the features, the number of segments and the cell size used (px).
    """
    segs = np.flatnonzero(edges[prep.seg_edge])
    st = states[prep.seg_edge[segs]]
    keep = st != FAULTED  # faulted edges are drawn one by one
    segs, st = segs[keep], st[keep].astype(np.int64)
    world = prep.seg_world[segs]
    lonlat = prep.seg_lonlat[segs]
    cell = cell_px
    while True:
        scale = 2.0**zoom / cell
        ix = np.floor(world[..., 0] * scale).astype(np.int64)
        iy = np.floor(world[..., 1] * scale).astype(np.int64)
        key = (ix << 31) + iy  # (k, 2); both under 2**31 up to zoom 22 at 1 px
        moved = key[:, 0] != key[:, 1]
        k1 = np.minimum(key[:, 0], key[:, 1])[moved]
        k2 = np.maximum(key[:, 0], key[:, 1])[moved]
        s = st[moved]
        order = np.lexsort((k2, k1, s))
        k1, k2, s = k1[order], k2[order], s[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (np.diff(k1) != 0) | (np.diff(k2) != 0) | (np.diff(s) != 0)
        if first.sum() <= max_segments or cell > 4096:
            break
        cell *= 2.0
    k1, k2, s = k1[first], k2[first], s[first]
    # The drawn point of a cell: the first segment end that fell in it.
    flat_key = key.reshape(-1)
    cells, first_at = np.unique(flat_key, return_index=True)
    decimals = _decimals(zoom, cell)
    rep = np.round(lonlat.reshape(-1, 2)[first_at], decimals)
    a = rep[np.searchsorted(cells, k1)]
    b = rep[np.searchsorted(cells, k2)]
    features = []
    for code in np.unique(s):
        mask = s == code
        lines = np.stack([a[mask], b[mask]], axis=1)
        coords: Any = Coordinates(lines, decimals) if arrays else lines.tolist()
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "state": STATES[int(code)],
                    "simplified": True,
                    "segments": len(lines),
                },
                "geometry": {"type": "MultiLineString", "coordinates": coords},
            }
        )
    return features, len(s), cell


def network_layer(
    net: Network,
    states: np.ndarray,
    bbox: Bbox | None = None,
    zoom: float | None = None,
    *,
    detail_zoom: float = DETAIL_ZOOM,
    detail_limit: int = DETAIL_LIMIT,
    cell_px: float = CELL_PX,
    max_segments: int = MAX_SEGMENTS,
    arrays: bool = False,
) -> dict[str, Any]:
    """The network drawn for one view: a GeoJSON FeatureCollection.

    Parameters
    ----------
    net : Network
        The network as operated.
    states : ndarray
        :func:`edge_states` of ``net``.
    bbox : (minlon, minlat, maxlon, maxlat), optional
        The view (the client pads it so small pans need no new request);
        the whole network when None.
    zoom : float, optional
        The map's zoom; when None, the zoom at which ``bbox`` (or the
        network) fills a 1280 x 900 viewport.
    detail_zoom, detail_limit : float, int
        Edge by edge with at most ``detail_limit`` edges in view, or at
        ``zoom >= detail_zoom`` with at most :data:`DETAIL_MAX`; simplified
        otherwise.
    cell_px, max_segments : float, int
        Grid of the simplification in pixels, and the most segments it keeps
        (the grid doubles until the layer fits).
    arrays : bool
        Leave the simplified coordinates as :class:`Coordinates` (numpy) for
        :func:`to_json`, which writes them ten times faster than ``json``
        writes lists; plain lists otherwise.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...], "detail": bool,
        "edges": edges in view, "drawn": edges or segments drawn, "zoom",
        "cell_px" (simplified only), "states": {state: edges in view}}``.
        Detailed features have ``id``, ``kind``, ``state``, ``operable``
        (and ``name``); simplified ones ``state``, ``simplified``,
        ``segments``; sources are Points with ``kind: "source"``.

    Notes
    -----
    O(m) numpy work for the bbox test, O(segments in view) for the
    simplification, O(features) Python work to build the dicts.
    """
    prep = _prepare(net)
    mask = _in_bbox(prep, bbox)
    in_view = np.flatnonzero(mask)
    if zoom is None:
        zoom = fit_zoom(bbox or network_bounds(net) or (0.0, 0.0, 1.0, 1.0))
    view_states = states[in_view]
    counts = np.bincount(view_states, minlength=len(STATES)) if len(in_view) else np.zeros(4)
    detail = len(in_view) <= detail_limit or (
        zoom >= detail_zoom and len(in_view) <= max(detail_limit, DETAIL_MAX)
    )
    doc: dict[str, Any] = {"type": "FeatureCollection", "detail": bool(detail)}
    if detail:
        order = in_view[np.argsort(view_states, kind="stable")]  # faulted drawn last
        features = [_edge_feature(net, int(e), int(states[e])) for e in order]
        drawn = len(features)
    else:
        features, drawn, cell = _simplified(prep, mask, states, zoom, cell_px, max_segments, arrays)
        faulted = in_view[view_states == FAULTED]
        features.extend(_edge_feature(net, int(e), FAULTED) for e in faulted)
        drawn += len(faulted)
        doc["cell_px"] = cell
    features.extend(_source_features(net, bbox))
    doc.update(
        features=features,
        edges=len(in_view),
        drawn=drawn,
        zoom=round(float(zoom), 2),
        states={name: int(counts[i]) for i, name in enumerate(STATES)},
    )
    return doc


# ------------------------------------------------------------ device layer
_devices: weakref.WeakKeyDictionary[Network, tuple[np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _device_points(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """The device edges of ``net`` (most important kind first) and where each is drawn.

    The middle vertex of an edge with a geometry of three or more points,
    else the middle of its two ends (a zero-length device: its node), as
    :func:`outage_position` places an outage. O(m), cached per network.
    """
    with _lock:
        found = _devices.get(net)
    if found is not None:
        return found
    codes = [EDGE_KINDS.index(k) for k in DEVICE_KINDS]
    rank = np.full(len(EDGE_KINDS), len(codes), dtype=np.int64)
    rank[codes] = np.arange(len(codes))
    edges = np.flatnonzero(rank[net.edge_kind] < len(codes))
    edges = edges[np.argsort(rank[net.edge_kind[edges]], kind="stable")]
    xy = (net.node_xy[net.edge_from[edges]] + net.node_xy[net.edge_to[edges]]) / 2.0
    counts = np.diff(net.geom_offsets)[edges]
    long = np.flatnonzero(counts > 2)
    xy[long] = net.geom_coords[net.geom_offsets[edges[long]] + counts[long] // 2]
    two = np.flatnonzero(counts == 2)
    start = net.geom_offsets[edges[two]]
    xy[two] = (net.geom_coords[start] + net.geom_coords[start + 1]) / 2.0
    with _lock:
        _devices[net] = (edges, xy)
    return edges, xy


def device_layer(
    net: Network,
    states: np.ndarray,
    bbox: Bbox | None = None,
    zoom: float | None = None,
    *,
    reported: Mapping[str, Mapping[str, Any]] | None = None,
    outages: Iterable[Mapping[str, Any]] = (),
    device_zoom: float = DEVICE_ZOOM,
    device_limit: int = DEVICE_LIMIT,
    device_max: int = DEVICE_MAX,
) -> dict[str, Any]:
    """The devices of a view as Points, one symbol each: a GeoJSON FeatureCollection.

    Parameters
    ----------
    net : Network
        The network as operated (its devices in their reported states).
    states : ndarray
        :func:`edge_states` of ``net`` (whether a device has supply).
    bbox, zoom
        The view, as for :func:`network_layer`.
    reported : mapping of str to mapping, optional
        Device id -> its reported state: ``tripped`` (bool, opened by its
        protection) and ``source`` (``"scada"`` or ``"operator"``, what
        reported it), as ``device_states`` holds them.
    outages : iterable of mappings
        Outages as the API gives them; the device of an active network
        outage is drawn tripped (presumed, when nothing reported it open).
    device_zoom, device_limit, device_max : float, int, int
        Symbols at ``zoom >= device_zoom`` or with at most ``device_limit``
        devices in view; never more than ``device_max`` (breakers first,
        transformers last: :data:`DEVICE_KINDS`).

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features", "shown": bool,
        "from_zoom": device_zoom, "devices": devices in view, "drawn", "zoom"}``. Each feature has
        ``id``, ``kind``, ``state`` (:data:`DEVICE_STATES`), ``operated``
        (``closed``/``open`` in the network as operated), ``normal``,
        ``operable``, ``scada`` (telemetered), ``reported`` (``scada``,
        ``operator`` or null: the normal state, or presumed), ``energized``,
        and ``name`` and ``outage`` (an active outage at it) when there are.

    Notes
    -----
    O(devices) numpy work for the bbox test, O(drawn) to build the dicts.
    """
    edges, xy = _device_points(net)
    if bbox is None:
        inside = np.arange(len(edges))
    else:
        x0, y0, x1, y1 = bbox
        inside = np.flatnonzero(
            (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        )
    if zoom is None:
        zoom = fit_zoom(bbox or network_bounds(net) or (0.0, 0.0, 1.0, 1.0))
    shown = len(inside) <= device_limit or zoom >= device_zoom
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "shown": bool(shown),
        "from_zoom": device_zoom,
    }
    features: list[dict[str, Any]] = []
    if shown:
        reported = reported or {}
        at_outage: dict[str, str] = {}
        for o in outages:
            if o.get("kind", "network") == "network" and o.get("state") in ACTIVE_STATES:
                at_outage.setdefault(str(o.get("device")), str(o.get("id")))
        pick = inside[:device_max]  # kept in DEVICE_KINDS order
        features = _device_features(net, edges[pick], xy[pick], states, reported, at_outage)
    doc.update(
        features=features,
        devices=len(inside),
        drawn=len(features),
        zoom=round(float(zoom), 2),
    )
    return doc


def _device_features(
    net: Network,
    edges: np.ndarray,
    xy: np.ndarray,
    states: np.ndarray,
    reported: Mapping[str, Mapping[str, Any]],
    at_outage: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The features of the devices ``edges`` drawn at ``xy``. O(len(edges)), the columns
    read with numpy once (``net.operable`` is a mask over every edge)."""
    columns = zip(
        edges.tolist(),
        np.round(xy, 7).tolist(),
        net.edge_closed[edges].tolist(),
        net.edge_normal_closed[edges].tolist(),
        net.operable[edges].tolist(),
        net.edge_scada[edges].tolist(),
        (states[edges] == ENERGIZED).tolist(),
        net.edge_kind[edges].tolist(),
        strict=True,
    )
    features = []
    for e, point, closed, normal, operable, scada, energized, kind in columns:
        eid = net.edge_ids[e]
        operated = "closed" if closed else "open"
        row = reported.get(eid) or {}
        outage = at_outage.get(eid)
        tripped = (not closed and row.get("tripped")) or outage is not None
        props: dict[str, Any] = {
            "id": eid,
            "kind": EDGE_KINDS[kind],
            "state": "tripped" if tripped else operated,
            "operated": operated,
            "normal": "closed" if normal else "open",
            "operable": operable,
            "scada": scada,
            "reported": row.get("source"),
            "energized": energized,
        }
        if net.edge_name[e]:
            props["name"] = net.edge_name[e]
        if outage is not None:
            props["outage"] = outage
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": point},
            }
        )
    return features


#: The traces :func:`trace_layer` draws, and the role of their edges.
TRACE_KINDS = ("upstream", "downstream")


def trace_layer(
    net: Network,
    kind: str,
    device: str,
    states: np.ndarray,
    tripped: Iterable[str] = (),
    limit: int = 20_000,
) -> dict[str, Any]:
    """An upstream or downstream trace from ``device`` (an edge id) with its edges as a layer.

    The trace is of the network with its ``tripped`` devices (those their
    protection opened) closed again: what the device feeds, and is fed
    through, once supply is back, as ``oms trace`` answers on the normal
    state. A device below a trip has no supply now, and traced as operated
    it would find nothing; its switching by operators stays as it is.

    Returns ``{"kind", "device", "trace": the contract-4 document (``oms
    trace upstream|downstream``), "layer": LineStrings with ``role`` (the
    trace's kind; at most ``limit``), "edges": how many the trace names,
    "energized": whether the device has supply now (``states``),
    "closed": the tripped devices closed for the trace}``.
    Raises :class:`~topology.exceptions.TopologyError` for an unknown edge
    and ``ValueError`` for another kind. O(depth) upstream, O(result)
    downstream; O(n_edges) more when a device is tripped.
    """
    from topology import traces

    if kind not in TRACE_KINDS:
        raise ValueError(f"trace must be one of {', '.join(TRACE_KINDS)}")
    e = net.edge(device)
    closed = sorted(
        t for t in set(tripped) if t in net.edge_index and not net.edge_closed[net.edge_index[t]]
    )
    traced = _with_closed(net, tuple(closed))
    if kind == "upstream":
        data = traces.upstream(traced, device).data
        ids = data["path"]
    else:
        data = traces.downstream(traced, device).data
        ids = data["devices"]
    features = []
    for eid in ids[:limit]:
        f = _edge_feature(net, net.edge_index[eid], int(states[net.edge_index[eid]]))
        f["properties"]["role"] = kind
        features.append(f)
    return {
        "kind": kind,
        "device": device,
        "trace": data,
        "edges": len(ids),
        "energized": bool(states[e] == ENERGIZED),
        "closed": closed,
        "layer": _collection(features),
    }


#: The view of a network with its tripped devices closed, kept while the network lives
#: (the cached network changes with every switch or trip: one view each suffices).
_restored: weakref.WeakKeyDictionary[Network, tuple[tuple[str, ...], Network]] = (
    weakref.WeakKeyDictionary()
)


def _with_closed(net: Network, devices: tuple[str, ...]) -> Network:
    """``net`` with ``devices`` closed, as a view; ``net`` itself when there are none."""
    if not devices:
        return net
    with _lock:
        found = _restored.get(net)
    if found is not None and found[0] == devices:
        return found[1]
    closed = net.copy_state()
    closed[[net.edge_index[d] for d in devices]] = True
    view = net.with_states(closed)
    with _lock:
        _restored[net] = (devices, view)
    return view


# ------------------------------------------------------------ fast JSON
@dataclass(frozen=True)
class Coordinates:
    """Segments ``(k, 2, 2)`` (lon/lat) of a MultiLineString, written by :func:`to_json`."""

    lines: np.ndarray
    decimals: int

    def tolist(self) -> list[Any]:
        return np.round(self.lines, self.decimals).tolist()


def _fixed(values: np.ndarray, decimals: int) -> np.ndarray:
    """Numbers as fixed-width ASCII rows (``uint8``, one row per value). O(n).

    Each row is a valid JSON number preceded by spaces: the sign, then the
    integer digits right-aligned, a point and exactly ``decimals`` digits.
    """
    scale = 10**decimals
    scaled = np.rint(values * scale).astype(np.int64)
    negative = scaled < 0
    mag = np.abs(scaled)
    whole, frac = mag // scale, mag % scale
    width_int = len(str(int(whole.max()))) if len(whole) else 1
    width = 1 + width_int + (1 + decimals if decimals else 0)
    out = np.full((len(values), width), ord(" "), dtype=np.uint8)
    n_digits = np.ones(len(values), dtype=np.int64)
    for j in range(width_int):
        digit = ((whole // 10**j) % 10 + ord("0")).astype(np.uint8)
        if j:
            shown = whole >= 10**j
            n_digits += shown
            digit = np.where(shown, digit, ord(" ")).astype(np.uint8)
        out[:, width_int - j] = digit
    rows = np.flatnonzero(negative)
    out[rows, width_int - n_digits[rows]] = ord("-")
    if decimals:
        out[:, width_int + 1] = ord(".")
        for j in range(decimals):
            out[:, width - 1 - j] = (frac // 10**j) % 10 + ord("0")
    return out


def _lines_json(c: Coordinates) -> bytes:
    """``[[[x, y], [x, y]], ...]`` for the segments of ``c``, built with numpy."""
    k = len(c.lines)
    if k == 0:
        return b"[]"
    x = _fixed(c.lines[..., 0].reshape(-1), c.decimals)
    y = _fixed(c.lines[..., 1].reshape(-1), c.decimals)
    sep = {text: np.frombuffer(text, dtype=np.uint8) for text in (b"[[", b",", b"],[", b"]],")}
    pieces: list[np.ndarray] = [
        sep[b"[["],
        x[0::2],
        sep[b","],
        y[0::2],
        sep[b"],["],
        x[1::2],
        sep[b","],
        y[1::2],
        sep[b"]],"],
    ]
    width = sum(p.shape[-1] for p in pieces)
    rows = np.empty((k, width), dtype=np.uint8)
    col = 0
    for p in pieces:
        rows[:, col : col + p.shape[-1]] = p  # a separator broadcasts over the rows
        col += p.shape[-1]
    return b"[" + rows.tobytes()[:-1] + b"]"


def to_json(doc: Any) -> bytes:
    """Compact JSON of a layer, writing :class:`Coordinates` with numpy.

    The rest goes through :func:`json.dumps`; O(size).
    """
    raw: list[bytes] = []
    token = uuid.uuid4().hex

    def swap(obj: Any) -> Any:
        if isinstance(obj, Coordinates):
            raw.append(_lines_json(obj))
            return f"{token}:{len(raw) - 1}"
        if isinstance(obj, dict):
            return {k: swap(v) for k, v in obj.items()}
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):
            return [swap(v) for v in obj]
        return obj

    text = json.dumps(swap(doc), separators=(",", ":")).encode()
    for i, body in enumerate(raw):
        text = text.replace(f'"{token}:{i}"'.encode(), body, 1)
    return text


# ------------------------------------------------------------ point layers
def _point(lon: float | None, lat: float | None, props: dict[str, Any]) -> dict[str, Any] | None:
    if lon is None or lat is None:
        return None
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
    }


def _collection(features: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [f for f in features if f is not None]}


def outages_layer(
    net: Network,
    outages: Iterable[Mapping[str, Any]],
    customer_xy: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Outages as Points carrying the API's outage object in ``properties``.

    A network outage sits at the middle of its device; a single-customer one
    at the customer (``customer_xy``: id -> (lon, lat)). An outage with no
    position is left out. O(outages).
    """
    features = []
    for o in outages:
        pos = outage_position(net, o.get("device"))
        if pos is None and o.get("customer") and customer_xy:
            pos = customer_xy.get(str(o["customer"]))
        if pos is not None:
            features.append(_point(pos[0], pos[1], dict(o)))
    return _collection(features)


def calls_layer(calls: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Calls as Points: each mapping has ``lon``, ``lat`` and the properties to keep."""
    return _collection(
        _point(c.get("lon"), c.get("lat"), {k: v for k, v in c.items() if k not in ("lon", "lat")})
        for c in calls
    )


def crews_layer(crews: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Crews (the API's crew objects) as Points at their last position."""
    return _collection(_point(c.get("lon"), c.get("lat"), dict(c)) for c in crews)


# -------------------------------------------------------------------- plans
def plan_layer(net: Network, result: Mapping[str, Any], limit: int = 20_000) -> dict[str, Any]:
    """The edges a plan names, as LineStrings with a ``role``.

    Roles: ``faulted``, ``open`` (to open: isolation and sectionalizing),
    ``close`` (reclose and pick-up ties) and ``isolated`` (edges between the
    ``affected_nodes``: without supply once the faulted section is isolated,
    at most ``limit``). O(n + m).
    """
    features: list[dict[str, Any]] = []
    iso = result.get("isolate") or {}
    rest = result.get("restore") or {}
    dead_ids = result.get("affected_nodes") or []
    if dead_ids:
        dead = np.zeros(net.n_nodes, dtype=bool)
        dead[[net.node_index[v] for v in dead_ids if v in net.node_index]] = True
        edges = np.flatnonzero(dead[net.edge_from] & dead[net.edge_to])[:limit]
        for e in edges:
            f = _edge_feature(net, int(e), DEENERGIZED)
            f["properties"]["role"] = "isolated"
            features.append(f)
    roles = (
        ("open", sorted(set(iso.get("open") or []) | set(rest.get("open") or []))),
        ("close", rest.get("close") or []),
        ("faulted", [result["faulted"]] if result.get("faulted") else []),
    )
    for role, ids in roles:
        for eid in ids:
            e = net.edge_index.get(eid)
            if e is None:
                continue
            f = _edge_feature(net, e, ENERGIZED if net.edge_closed[e] else OPEN)
            f["properties"]["role"] = role
            features.append(f)
    return _collection(features)


# ------------------------------------------------------- the switching desk
#: Field changes drawn on the map, in the order their symbols sit side by side.
FIELD_KINDS = ("tag", "ground", "jumper", "cut")
#: Orders whose devices the map highlights: issued and under way.
ACTIVE_ORDER_STATES = ("issued", "in_progress")
#: The network views the map draws: as operated now, or as built (normal states).
VIEWS = ("operated", "normal")

_built: weakref.WeakKeyDictionary[Network, Network] = weakref.WeakKeyDictionary()


def as_built(net: Network) -> Network:
    """``net`` with every device in its normal state and nothing cut: a view, cached
    per network object. O(n + m) once."""
    with _lock:
        found = _built.get(net)
    if found is None:
        found = net.normal()
        with _lock:
            _built[net] = found
    return found


def field_layer(
    net: Network,
    changes: Iterable[Mapping[str, Any]],
    orders: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Field changes in place and the devices of active orders: one Point per device.

    Parameters
    ----------
    net : Network
        Where each device is drawn (the middle of its edge, as
        :func:`outage_position` and the device symbols).
    changes : iterable of mappings
        Field changes as the API gives them (tags, grounds, jumpers, cuts);
        removed ones are left out.
    orders : iterable of mappings
        Switching orders as the API gives them; only those issued or under
        way (:data:`ACTIVE_ORDER_STATES`) count.

    Returns
    -------
    dict
        A FeatureCollection. Each feature's ``properties``: ``device``,
        ``kind`` (the edge's kind), ``changes`` (``id``, ``kind``, ``tag``,
        ``document``, ``order``, ``step``, ``placed_by``, ``placed_at``; in
        :data:`FIELD_KINDS` order, then oldest first), ``orders`` (``id``,
        ``title``, ``state``, ``steps``: the numbers of the steps not done on
        the device, ``next``: whether the order's next step is one of them).
        A device of an order whose steps on it are all done is not
        highlighted; ids the network lacks are left out.

    Notes
    -----
    O(changes + steps of the active orders).
    """
    by_device: dict[str, dict[str, Any]] = {}

    def entry(device: Any) -> dict[str, Any] | None:
        if not isinstance(device, str) or device not in net.edge_index:
            return None
        if device not in by_device:
            kind = net.kind_of(net.edge_index[device])
            by_device[device] = {"device": device, "kind": kind, "changes": [], "orders": []}
        return by_device[device]

    keep = ("id", "kind", "tag", "document", "order", "step", "placed_by", "placed_at")
    for c in changes:
        found = entry(c.get("device"))
        if found is not None and not c.get("removed_at") and c.get("kind") in FIELD_KINDS:
            found["changes"].append({k: c.get(k) for k in keep})
    for o in orders:
        if o.get("state") not in ACTIVE_ORDER_STATES:
            continue
        pending: dict[str, list[int]] = {}
        for s in o.get("steps") or []:
            if not s.get("done"):
                pending.setdefault(str(s.get("device")), []).append(int(s["seq"]))
        for device, seqs in pending.items():
            found = entry(device)
            if found is not None:
                found["orders"].append(
                    {
                        "id": o.get("id"),
                        "title": o.get("title"),
                        "state": o.get("state"),
                        "steps": seqs,
                        "next": o.get("next_step") in seqs,
                    }
                )
    features = []
    for device in sorted(by_device):
        props = by_device[device]
        if not props["changes"] and not props["orders"]:
            continue
        props["changes"].sort(key=lambda c: (FIELD_KINDS.index(c["kind"]), str(c["placed_at"])))
        pos = outage_position(net, device)
        if pos is not None:
            features.append(_point(pos[0], pos[1], props))
    return _collection(features)


# ------------------------------------------------------------------- damage
#: The asset kinds of damage reports (:data:`oms.engine.damage.ASSETS`): a symbol each.
DAMAGE_ASSETS = ASSETS


def damage_layer(
    reports: Iterable[Mapping[str, Any]],
    open_outages: Iterable[str],
    since: datetime | None = None,
) -> dict[str, Any]:
    """Damage reports as Points where they were found, the oldest first (drawn under).

    Parameters
    ----------
    reports : iterable of mappings
        Damage reports as the API gives them (``GET /api/damage``): ``lon``,
        ``lat``, ``time``, ``outage``, ``asset``...
    open_outages : iterable of str
        The outages the map shows: a report under one of them is kept, however old.
    since : datetime, optional
        A report under no outage is kept when made at or after this (all of
        them when None); one under an outage no longer open is history, left out.

    Returns
    -------
    dict
        A FeatureCollection; each feature's ``properties`` is the report
        without its place.

    Notes
    -----
    O(reports log reports).
    """
    shown = set(open_outages)
    kept = []
    for r in reports:
        outage = r.get("outage")
        if outage is not None:
            if outage not in shown:
                continue
        elif since is not None and datetime.fromisoformat(str(r["time"])) < since:
            continue
        kept.append(r)
    kept.sort(key=lambda r: (datetime.fromisoformat(str(r["time"])), str(r.get("id"))))
    return _collection(
        _point(r.get("lon"), r.get("lat"), {k: v for k, v in r.items() if k not in ("lon", "lat")})
        for r in kept
    )
