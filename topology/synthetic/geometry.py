"""The local metric frame the generators work in, and polylines in it.

Generators place everything in east/north metres around a centre and turn
the result into WGS84 longitude/latitude at the end (:func:`to_lonlat`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DEMO_CENTER", "EARTH_R", "cumlen", "cut", "point_at", "polar", "to_lonlat"]

#: Centre (lon, lat) of the demo town and default centre of generated networks.
#: The town, its roads and its people are fictional; the place was chosen only
#: for a plausible setting (a county seat between plain and hills).
DEMO_CENTER = (118.052, 35.781)

#: Mean radius of the Earth, metres.
EARTH_R = 6_371_008.8


def to_lonlat(xy: np.ndarray, center: tuple[float, float]) -> np.ndarray:
    """Local east/north metres around ``center`` to lon/lat (equirectangular).

    Good to a few parts in 10^4 over 100 km, far below the spread of span
    lengths. O(n).
    """
    lon0, lat0 = center
    k = 180.0 / math.pi / EARTH_R
    out = np.empty_like(xy, dtype=np.float64)
    out[:, 0] = lon0 + xy[:, 0] * k / math.cos(math.radians(lat0))
    out[:, 1] = lat0 + xy[:, 1] * k
    return out


def polar(angle_deg: float, r: float) -> np.ndarray:
    """The point at distance ``r`` from the centre, ``angle_deg`` counter-clockwise from east."""
    a = math.radians(angle_deg)
    return np.array([r * math.cos(a), r * math.sin(a)])


def cumlen(poly: np.ndarray) -> np.ndarray:
    """Arc length at every vertex of ``poly`` (from 0)."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(poly, axis=0).T))])


def point_at(poly: np.ndarray, cum: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Point at arc length ``s`` along ``poly`` and the unit direction there."""
    s = min(max(s, 0.0), float(cum[-1]))
    i = int(np.searchsorted(cum, s, side="right")) - 1
    i = min(max(i, 0), len(poly) - 2)
    d = poly[i + 1] - poly[i]
    seg = float(cum[i + 1] - cum[i])
    t = (s - cum[i]) / seg if seg > 0 else 0.0
    norm = float(np.hypot(*d)) or 1.0
    return poly[i] + t * d, d / norm


def cut(poly: np.ndarray, cum: np.ndarray, s0: float, s1: float) -> np.ndarray:
    """The part of ``poly`` between arc lengths ``s0`` and ``s1`` (reversed if s0 > s1)."""
    if s0 > s1:
        return cut(poly, cum, s1, s0)[::-1]
    inner = poly[(cum > s0) & (cum < s1)]
    return np.vstack([point_at(poly, cum, s0)[0], inner, point_at(poly, cum, s1)[0]])
