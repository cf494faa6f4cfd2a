"""Travel times over a road network, for sending the nearest crew.

A :class:`RoadGraph` is built from road LineStrings (contract 2d: GeoJSON
with optional ``speed_kmh`` and ``oneway``): every vertex is a node, every
segment an arc weighted by its travel time in seconds (geodesic length over
speed; both directions unless one-way). Points off the road (a crew's GPS,
a faulted device) join the nearest road node over a straight line at
``offroad_kmh``, lengthened by ``detour``.

:meth:`RoadGraph.times_to` answers the dispatcher's question in one
Dijkstra run from the job over the reversed graph: the driving time to the
job from every road node, hence from every crew at once
(``scipy.sparse.csgraph``). Without roads, :func:`straight_line_times`
estimates from geodesic distance with a detour factor and a speed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from oms.exceptions import OMSError

__all__ = ["DEFAULT_SPEED_KMH", "RoadGraph", "geodesic_m", "straight_line_times"]

#: Speed of a road whose feature gives none.
DEFAULT_SPEED_KMH = 40.0
_EARTH_R = 6_371_008.8


def geodesic_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance in metres (haversine; vectorised). Error under 0.5%."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_R * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def straight_line_times(
    origins: np.ndarray, target: Sequence[float], *, detour: float = 1.4, speed_kmh: float = 40.0
) -> np.ndarray:
    """Seconds from each ``origins`` row (lon, lat) to ``target`` without a road graph."""
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    metres = geodesic_m(origins[:, 0], origins[:, 1], target[0], target[1])
    return metres * detour / (speed_kmh / 3.6)


def _search_chunk(job: tuple[csr_matrix, np.ndarray, np.ndarray]) -> np.ndarray:
    graph, sources, wanted = job
    return np.atleast_2d(dijkstra(graph, directed=True, indices=sources))[:, wanted]


@dataclass
class _Snap:
    node: np.ndarray
    seconds: np.ndarray


class RoadGraph:
    """A directed road graph with travel times in seconds.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Longitude, latitude of the road nodes.
    tail, head : ndarray of int
        Arcs, from ``tail`` to ``head``.
    seconds : ndarray of float
        Travel time of each arc.
    offroad_kmh, detour : float
        How points off the road reach it: straight-line distance times
        ``detour`` at ``offroad_kmh``.

    Notes
    -----
    Build O(m log m); :meth:`times_to` O(m + n log n) (one Dijkstra);
    :meth:`snap` O(k log n) for k points.
    """

    def __init__(
        self,
        xy: np.ndarray,
        tail: np.ndarray,
        head: np.ndarray,
        seconds: np.ndarray,
        *,
        offroad_kmh: float = 15.0,
        detour: float = 1.3,
    ) -> None:
        self.xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        n = len(self.xy)
        if n == 0:
            raise OMSError("a road graph needs at least one road")
        self.offroad_mps = offroad_kmh / 3.6
        self.detour = detour
        # Keep the fastest of parallel arcs (csr_matrix would add them up).
        order = np.lexsort((seconds, head, tail))
        tail, head, seconds = tail[order], head[order], seconds[order]
        first = np.r_[True, (np.diff(tail) != 0) | (np.diff(head) != 0)]
        tail, head, seconds = tail[first], head[first], np.maximum(seconds[first], 1e-3)
        self.forward = csr_matrix((seconds, (tail, head)), shape=(n, n))
        self.backward = self.forward.T.tocsr()
        self._lat0 = float(np.mean(self.xy[:, 1]))
        self._scale = np.array([np.cos(np.radians(self._lat0)), 1.0])
        self._tree = cKDTree(self.xy * self._scale)

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    @property
    def n_arcs(self) -> int:
        return int(self.forward.nnz)

    # ------------------------------------------------------------ building
    @classmethod
    def from_features(cls, features: Iterable[dict[str, Any]], **kwargs: Any) -> RoadGraph:
        """Build from GeoJSON LineString (or MultiLineString) road features."""
        index: dict[tuple[float, float], int] = {}
        xy: list[tuple[float, float]] = []
        tails: list[int] = []
        heads: list[int] = []
        speeds: list[float] = []
        oneways: list[bool] = []
        for k, feature in enumerate(features):
            props = feature.get("properties") or {}
            geometry = feature.get("geometry") or {}
            kind = geometry.get("type")
            if kind == "LineString":
                lines = [geometry.get("coordinates") or []]
            elif kind == "MultiLineString":
                lines = geometry.get("coordinates") or []
            else:
                raise OMSError(f"road {props.get('id', f'#{k}')}: geometry must be a LineString")
            speed = props.get("speed_kmh") or DEFAULT_SPEED_KMH
            if not isinstance(speed, int | float) or speed <= 0:
                raise OMSError(f"road {props.get('id', f'#{k}')}: bad speed_kmh {speed!r}")
            oneway = bool(props.get("oneway", False))
            for line in lines:
                ids = []
                for point in line:
                    key = (round(float(point[0]), 7), round(float(point[1]), 7))
                    if key not in index:
                        index[key] = len(xy)
                        xy.append(key)
                    ids.append(index[key])
                for a, b in itertools.pairwise(ids):
                    if a != b:
                        tails.append(a)
                        heads.append(b)
                        speeds.append(float(speed))
                        oneways.append(oneway)
        pts = np.array(xy, dtype=float).reshape(-1, 2)
        tail = np.array(tails, dtype=np.int64)
        head = np.array(heads, dtype=np.int64)
        speed = np.array(speeds, dtype=float)
        metres = geodesic_m(pts[tail, 0], pts[tail, 1], pts[head, 0], pts[head, 1])
        secs = metres / (speed / 3.6)
        both = ~np.array(oneways, dtype=bool)
        return cls(
            pts,
            np.r_[tail, head[both]],
            np.r_[head, tail[both]],
            np.r_[secs, secs[both]],
            **kwargs,
        )

    @classmethod
    def from_geojson(cls, source: str | Path | bytes | dict[str, Any], **kwargs: Any) -> RoadGraph:
        """Build from a roads GeoJSON file, its bytes, or the parsed document."""
        if isinstance(source, dict):
            doc = source
        else:
            try:
                text = source if isinstance(source, bytes) else Path(source).read_bytes()
                doc = json.loads(text)
            except (OSError, ValueError) as exc:
                raise OMSError(f"cannot read roads: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise OMSError("roads must be a GeoJSON FeatureCollection")
        return cls.from_features(doc.get("features") or [], **kwargs)

    # ------------------------------------------------------------- queries
    def snap(self, points: np.ndarray) -> _Snap:
        """Nearest road node of each (lon, lat) point and the seconds to reach it."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        _, node = self._tree.query(pts * self._scale)
        node = np.asarray(node, dtype=np.int64)
        metres = geodesic_m(pts[:, 0], pts[:, 1], self.xy[node, 0], self.xy[node, 1])
        return _Snap(node, metres * self.detour / self.offroad_mps)

    def times_to(self, target: Sequence[float], origins: np.ndarray) -> np.ndarray:
        """Seconds to drive from each origin (lon, lat) to ``target`` (inf if no way).

        One Dijkstra from the target over the reversed arcs.
        """
        origins = np.asarray(origins, dtype=float).reshape(-1, 2)
        if not len(origins):
            return np.empty(0)
        goal = self.snap(np.asarray(target, dtype=float).reshape(1, 2))
        start = self.snap(origins)
        limit = np.inf
        dist = dijkstra(self.backward, directed=True, indices=int(goal.node[0]), limit=limit)
        return np.asarray(dist[start.node] + start.seconds + goal.seconds[0])

    def times_matrix(
        self, targets: np.ndarray, origins: np.ndarray, *, workers: int = 1
    ) -> np.ndarray:
        """Seconds from every origin to every target: shape (targets, origins).

        One Dijkstra per distinct road node on the smaller side.
        """
        targets = np.asarray(targets, dtype=float).reshape(-1, 2)
        origins = np.asarray(origins, dtype=float).reshape(-1, 2)
        goal = self.snap(targets)
        start = self.snap(origins)
        if len(np.unique(start.node)) < len(np.unique(goal.node)):
            # Fewer origins: search forward from each of them instead.
            ahead = self._searches(self.forward, start.node, goal.node, workers).T
        else:
            ahead = self._searches(self.backward, goal.node, start.node, workers)
        return np.asarray(ahead + start.seconds[None, :] + goal.seconds[:, None])

    @staticmethod
    def _searches(
        graph: csr_matrix, sources: np.ndarray, wanted: np.ndarray, workers: int
    ) -> np.ndarray:
        """Dijkstra from every distinct source; the times to ``wanted`` only.

        Sources go in chunks so that memory stays O(chunk * n); with
        ``workers`` > 1 the chunks run in that many processes (the searches
        hold the interpreter lock).
        """
        unique, inverse = np.unique(sources, return_inverse=True)
        chunks = np.array_split(unique, max(1, -(-len(unique) // 64)))
        if workers > 1 and len(chunks) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(_search_chunk, [(graph, c, wanted) for c in chunks]))
        else:
            parts = [_search_chunk((graph, c, wanted)) for c in chunks]
        return np.vstack(parts)[inverse]

    def route(self, origin: Sequence[float], target: Sequence[float]) -> list[list[float]]:
        """The fastest route as a list of [lon, lat], origin and target included."""
        a = self.snap(np.asarray(origin, dtype=float).reshape(1, 2)).node[0]
        b = self.snap(np.asarray(target, dtype=float).reshape(1, 2)).node[0]
        _, pred = dijkstra(self.forward, directed=True, indices=int(a), return_predecessors=True)
        if a != b and pred[b] < 0:
            return []
        path = [int(b)]
        while path[-1] != a:
            path.append(int(pred[path[-1]]))
        coords = [list(map(float, self.xy[v])) for v in reversed(path)]
        return [list(map(float, origin)), *coords, list(map(float, target))]
