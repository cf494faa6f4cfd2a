"""Seeded generators of realistic distribution networks, and the shipped demo area.

Two generators live here:

:func:`synthetic_network`
    A radial 10 kV distribution system of any size (tested past 1,000,000
    nodes), built with whole-array numpy operations: substations (some meshed,
    with two parallel transformers), feeders leaving each bus through a
    breaker, a trunk with midline reclosers and sectionalizing switches, fused
    laterals and taps, distribution transformers, service points carrying
    customer counts, and normally-open ties between the line ends of
    neighbouring feeders. Geometry is generated in a local metric frame and
    returned in WGS84 longitude/latitude.

:func:`demo_area`
    The demo data set shipped in ``fixtures/demo``: a fictional county town
    with its road network (urban grid, suburbs, villages, county roads, farm
    tracks and long mountain roads), a network strung along those roads,
    individual customers, repair units, crews and response zones. Written to
    files by :func:`write_demo`; ``python -m topology.synthetic fixtures/demo``
    regenerates the shipped fixtures.

Both are deterministic for a seed (same numpy and Python versions).

Identifier scheme (short, and node ids never collide with edge ids):

===============  ==========================================================
``S3``           source node of substation 3; ``S3-BUS`` its 10 kV bus
``S3-TR1``       substation transformer (``S3-TR2`` in parallel when meshed)
``F12-B``        breaker of feeder 12
``F12-N40``      medium-voltage node (pole, joint, device terminal)
``F12-V7``       low-voltage node (transformer secondary, LV pole)
``F12-P15``      service point (customers are supplied here)
``F12-L40``      line span (``C`` cable, ``W`` LV line, ``D`` service drop)
``F12-R1``       recloser (``X`` sectionalizer, ``F`` fuse, ``S`` switch,
                 ``T`` distribution transformer)
``TIE4``         normally-open tie switch; ``TIE4-L1`` / ``TIE4-N1`` the
                 spans and poles of the tie line
===============  ==========================================================
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topology.model import EDGE_KINDS, Customers, Network

__all__ = [
    "DEMO_CENTER",
    "DemoArea",
    "demo_area",
    "main",
    "synthetic_customers",
    "synthetic_network",
    "write_demo",
]

#: Centre (lon, lat) of the demo town and default centre of generated networks.
#: The town, its roads and its people are fictional; the place was chosen only
#: for a plausible setting (a county seat between plain and hills).
DEMO_CENTER = (118.052, 35.781)

_EARTH_R = 6_371_008.8
_K = {k: i for i, k in enumerate(EDGE_KINDS)}
_LINE, _CABLE, _BREAKER, _RECLOSER = _K["line"], _K["cable"], _K["breaker"], _K["recloser"]
_SECT, _FUSE, _SWITCH, _TRANSFORMER = (
    _K["sectionalizer"],
    _K["fuse"],
    _K["switch"],
    _K["transformer"],
)

# Edge id prefixes of feeder edges (index = prefix code).
_PREFIXES = ("B", "R", "X", "F", "S", "T", "L", "C", "D", "W")
_P_B, _P_R, _P_X, _P_F, _P_S, _P_T, _P_L, _P_C, _P_D, _P_W = range(10)
_P_TR, _P_TIE = 10, 11  # substation transformer, tie-line span (named apart)
# Node categories of feeder nodes (index = category code).
_CATEGORIES = ("N", "V", "P")
_C_SOURCE, _C_BUS, _C_TIE = 3, 4, 5

# Mean number of nodes a feeder gets per trunk span with the default shape
# parameters (measured); sets the trunk length for a wanted feeder size.
_NODES_PER_TRUNK_SPAN = 23.0


# --------------------------------------------------------------- helpers
def _to_lonlat(xy: np.ndarray, center: tuple[float, float]) -> np.ndarray:
    """Local east/north metres around ``center`` to lon/lat (equirectangular).

    Good to a few parts in 10^4 over 100 km, far below the spread of span
    lengths. O(n).
    """
    lon0, lat0 = center
    k = 180.0 / math.pi / _EARTH_R
    out = np.empty_like(xy, dtype=np.float64)
    out[:, 0] = lon0 + xy[:, 0] * k / math.cos(math.radians(lat0))
    out[:, 1] = lat0 + xy[:, 1] * k
    return out


def _segment_arange(counts: np.ndarray) -> np.ndarray:
    """``[0..c0-1, 0..c1-1, ...]`` for an array of counts. O(sum)."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def _rank_within(keys: np.ndarray) -> np.ndarray:
    """Rank (from 0) of every element among the elements with the same key,
    in array order. O(n log n)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(keys)), 0))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - group_start
    return rank


@dataclass
class _Block:
    """New nodes of one generation step, each with the edge from its parent."""

    xy: np.ndarray
    heading: np.ndarray
    parent: np.ndarray
    kind: np.ndarray
    prefix: np.ndarray
    length: np.ndarray
    feeder: np.ndarray
    category: np.ndarray


def _grow(
    rng: np.random.Generator,
    base: int,
    chain: np.ndarray,
    key: np.ndarray,
    kind: np.ndarray,
    prefix: np.ndarray,
    length: np.ndarray,
    attach: np.ndarray,
    attach_xy: np.ndarray,
    angle: np.ndarray,
    wiggle: float,
    chain_feeder: np.ndarray,
) -> tuple[_Block, np.ndarray, np.ndarray]:
    """Grow one chain of nodes from each attachment node, all chains at once.

    Every step (a span or a zero-length device) makes one node. Steps are
    ordered by ``(chain, key)``; a chain heads at ``angle`` and meanders
    smoothly (two sinusoids of random phase), so lines look like roads
    rather than random walks. Every chain needs at least one step.

    Returns the block of new nodes (numbered from ``base``), the global node
    number of every input step (in input order), and the last node of each
    chain. O(s log s) for s steps.
    """
    n_chains = len(attach)
    order = np.lexsort((key, chain))
    chain = chain[order]
    counts = np.bincount(chain, minlength=n_chains)
    starts = np.cumsum(counts) - counts
    local = np.arange(len(chain), dtype=np.float64) - np.repeat(starts, counts)
    heading = angle[chain].astype(np.float64)
    if wiggle > 0:
        phase = rng.uniform(0.0, 2.0 * np.pi, (2, n_chains))
        slow = rng.uniform(0.04, 0.15, n_chains)
        fast = rng.uniform(0.2, 0.5, n_chains)
        heading = heading + wiggle * (
            0.7 * np.sin(slow[chain] * local + phase[0][chain])
            + 0.3 * np.sin(fast[chain] * local + phase[1][chain])
        )
    step_len = length[order]
    step = np.column_stack([step_len * np.cos(heading), step_len * np.sin(heading)])
    cum = np.cumsum(step, axis=0)
    offset = cum[starts] - step[starts]
    xy = attach_xy[chain] + cum - np.repeat(offset, counts, axis=0)
    parent = base + np.arange(len(chain), dtype=np.int64) - 1
    parent[starts] = attach
    where = np.empty(len(order), dtype=np.int64)
    where[order] = base + np.arange(len(order))
    block = _Block(
        xy=xy,
        heading=heading,
        parent=parent,
        kind=kind[order].astype(np.int8),
        prefix=prefix[order].astype(np.int8),
        length=step_len,
        feeder=chain_feeder[chain],
        category=np.zeros(len(chain), dtype=np.int8),
    )
    return block, where, base + starts + counts - 1


def _chain_steps(
    n_spans: np.ndarray,
    span_kind: np.ndarray,
    span_len: np.ndarray,
    dev_chain: np.ndarray,
    dev_key: np.ndarray,
    dev_kind: np.ndarray,
    dev_prefix: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Step arrays (chain, key, kind, prefix, length) of chains of spans with
    devices between them; spans come first in the output, in chain-major
    order. ``span_kind`` is per chain (line or cable)."""
    span_chain = np.repeat(np.arange(len(n_spans)), n_spans)
    span_key = _segment_arange(n_spans).astype(np.float64)
    sk = span_kind[span_chain]
    chain = np.concatenate([span_chain, dev_chain])
    key = np.concatenate([span_key, dev_key])
    kind = np.concatenate([sk, dev_kind])
    prefix = np.concatenate([np.where(sk == _CABLE, _P_C, _P_L), dev_prefix])
    length = np.concatenate([span_len, np.zeros(len(dev_chain))])
    return chain, key, kind, prefix, length


def _build_ids(
    category: np.ndarray,
    feeder: np.ndarray,
    sub: np.ndarray,
    tie: np.ndarray,
) -> list[str]:
    """Node ids in final order (see the module docstring). O(n log n)."""
    n = len(category)
    ids = np.empty(n, dtype=object)
    fmask = category <= 2
    fpos = np.flatnonzero(fmask)
    rank = _rank_within(feeder[fpos] * 4 + category[fpos]) + 1
    letters = np.array(_CATEGORIES)[category[fpos]].tolist()
    ids[fpos] = [
        f"F{f}-{c}{r}"
        for f, c, r in zip((feeder[fpos] + 1).tolist(), letters, rank.tolist(), strict=True)
    ]
    for code, suffix in ((_C_SOURCE, ""), (_C_BUS, "-BUS")):
        pos = np.flatnonzero(category == code)
        ids[pos] = [f"S{s}{suffix}" for s in (sub[pos] + 1).tolist()]
    tpos = np.flatnonzero(category == _C_TIE)
    if len(tpos):
        rank = _rank_within(tie[tpos]) + 1
        ids[tpos] = [
            f"TIE{t}-N{r}" for t, r in zip((tie[tpos] + 1).tolist(), rank.tolist(), strict=True)
        ]
    return ids.tolist()


# ------------------------------------------------------ synthetic network
def synthetic_network(
    n_nodes: int,
    seed: int = 0,
    *,
    customers_per_transformer: float = 3.0,
    tie_fraction: float = 0.5,
    meshed_fraction: float = 0.35,
    feeders_per_substation: tuple[int, int] = (4, 10),
    span_m: tuple[float, float] = (30.0, 150.0),
    cable_fraction: float = 0.2,
    tie_reach_m: float = 400.0,
    feeder_nodes: float | None = None,
    center: tuple[float, float] = DEMO_CENTER,
) -> Network:
    """A seeded, realistic radial 10 kV distribution network of about ``n_nodes`` nodes.

    Structure (North-American / Chinese style overhead-and-cable system):

    - substations on a jittered grid, each a source node (110 kV) and a
      10 kV bus joined by one transformer, or by two in parallel (a meshed
      substation, the only closed loops of the network);
    - 4-10 feeders per substation, each leaving the bus through a breaker
      (SCADA, with ``capacity_customers`` 1.5-2x the feeder's customers), a
      cable exit and a meandering trunk of 30-150 m spans, with one or two
      midline reclosers (SCADA) and one or two normally closed
      sectionalizing switches;
    - laterals off trunk poles, each starting with a fuse; long laterals
      get a sectionalizer or a switch midway; short taps off laterals,
      some fused;
    - distribution transformers (edge kind ``transformer``) from poles to
      low-voltage nodes, and service points under them (service drops of
      10-40 m) carrying the customer counts;
    - normally-open tie switches between line ends of different feeders
      that come within ``tie_reach_m`` (neighbouring feeders of the same
      substation and of different substations), each with its tie line.

    Parameters
    ----------
    n_nodes : int
        Wanted number of nodes (at least 100). Whole feeders are sampled
        until their count is closest to the target, then service points
        are added or removed to hit it: the result has exactly ``n_nodes``
        nodes (on very small networks, under ~300 nodes, it may be a few
        percent off).
    seed : int
        Seed of the generator; the same seed gives the same network.
    customers_per_transformer : float
        Mean customers per distribution transformer (about 2.5 service
        points each). The default gives about one customer per 2.3 nodes.
    tie_fraction : float
        Share (0-1) of the pairs of neighbouring feeders (line ends within
        ``tie_reach_m``) that get a tie; every feeder with a neighbour gets
        at least one.
    meshed_fraction : float
        Share of substations with two parallel transformers.
    feeders_per_substation : (int, int)
        Inclusive range of feeders per substation.
    span_m : (float, float)
        Range of span lengths in metres.
    cable_fraction : float
        Share of feeders built as underground cable throughout (the others
        are overhead lines with a cable exit from the substation).
    tie_reach_m : float
        Longest tie line, in metres.
    feeder_nodes : float, optional
        Mean nodes per feeder; default ``clip(n_nodes / 20, 60, 1500)``.
    center : (float, float)
        Longitude and latitude of the middle of the service area.

    Returns
    -------
    Network
        Node ids, edge ids and kinds as in the module docstring; customer
        counts in ``node_customers`` (no individual customers); edges
        without drawn geometry (straight between their nodes); lengths in
        metres.

    Notes
    -----
    Time O(n log n) and memory O(n), all in numpy apart from building the id
    strings: measured at about 2 s and 0.72 GB peak process memory for
    1,000,000 nodes (0.3 s and 140 MB for 100,000) on a 2-core machine.

    Examples
    --------
    >>> net = synthetic_network(5_000, seed=1)
    >>> abs(net.n_nodes - 5_000) < 250
    True
    """
    if n_nodes < 100:
        raise ValueError(f"n_nodes must be at least 100, not {n_nodes}")
    lo_f, hi_f = feeders_per_substation
    if not 1 <= lo_f <= hi_f:
        raise ValueError(f"bad feeders_per_substation {feeders_per_substation!r}")
    span_lo, span_hi = span_m
    rng = np.random.default_rng(seed)
    fs = float(np.clip(n_nodes / 20.0, 60.0, 1500.0)) if feeder_nodes is None else feeder_nodes
    t_mean = max(3.0, fs / _NODES_PER_TRUNK_SPAN)
    f0 = int(n_nodes / fs * 1.5) + 4

    # ---- counts only: sample a generous number of feeders, then keep the
    # prefix whose node count is closest to the target.
    while True:
        shape = _sample_shape(rng, f0, t_mean, lo_f, hi_f)
        total = np.cumsum(shape.feeder_size) + 2 * (shape.sub_of_feeder + 1)
        if total[-1] >= n_nodes:
            break
        f0 *= 2
    n_feeders = int(np.argmin(np.abs(total - n_nodes))) + 1
    shape = shape.cut(n_feeders)
    n_subs = int(shape.sub_of_feeder[-1]) + 1

    # ---- geography of substations and feeder directions
    mean_span = 0.5 * (span_lo + span_hi)
    reach = t_mean * mean_span * 0.85
    spacing = max(2000.0, 1.5 * reach)
    side = math.ceil(math.sqrt(n_subs))
    gi, gj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    cells = np.column_stack([gi.ravel(), gj.ravel()]).astype(np.float64) - (side - 1) / 2.0
    radius = np.hypot(cells[:, 0], cells[:, 1]) + rng.uniform(0, 0.3, len(cells))
    cells = cells[np.argsort(radius, kind="stable")[:n_subs]]
    sub_xy = cells * spacing + rng.uniform(-0.25, 0.25, (n_subs, 2)) * spacing
    meshed = rng.random(n_subs) < meshed_fraction

    f_sub = shape.sub_of_feeder
    first_of_sub = np.searchsorted(f_sub, np.arange(n_subs))
    per_sub = np.bincount(f_sub, minlength=n_subs)
    k_in_sub = np.arange(n_feeders) - first_of_sub[f_sub]
    phase = rng.uniform(0, 2 * np.pi, n_subs)
    f_angle = phase[f_sub] + 2 * np.pi * k_in_sub / per_sub[f_sub] + rng.normal(0, 0.12, n_feeders)
    f_cable = rng.random(n_feeders) < cable_fraction
    f_kind = np.where(f_cable, _CABLE, _LINE).astype(np.int8)

    blocks: list[_Block] = []
    # sources 0..S-1, buses S..2S-1, heads 2S..2S+F-1
    bus_xy = sub_xy + np.array([25.0, 0.0])
    zeros_s = np.zeros(n_subs)
    blocks.append(
        _Block(
            sub_xy,
            zeros_s,
            np.full(n_subs, -1, dtype=np.int64),
            np.full(n_subs, -1, dtype=np.int8),
            np.full(n_subs, -1, dtype=np.int8),
            zeros_s,
            np.full(n_subs, -1, dtype=np.int64),
            np.full(n_subs, _C_SOURCE, dtype=np.int8),
        )
    )
    blocks.append(
        _Block(
            bus_xy,
            zeros_s,
            np.arange(n_subs, dtype=np.int64),
            np.full(n_subs, _TRANSFORMER, dtype=np.int8),
            np.full(n_subs, _P_TR, dtype=np.int8),
            np.full(n_subs, 25.0),
            np.full(n_subs, -1, dtype=np.int64),
            np.full(n_subs, _C_BUS, dtype=np.int8),
        )
    )
    head = 2 * n_subs + np.arange(n_feeders)
    blocks.append(
        _Block(
            bus_xy[f_sub],
            f_angle,
            n_subs + f_sub.astype(np.int64),
            np.full(n_feeders, _BREAKER, dtype=np.int8),
            np.full(n_feeders, _P_B, dtype=np.int8),
            np.zeros(n_feeders),
            np.arange(n_feeders, dtype=np.int64),
            np.zeros(n_feeders, dtype=np.int8),
        )
    )
    base = 2 * n_subs + n_feeders

    def span_lengths(k: int) -> np.ndarray:
        return rng.uniform(span_lo, span_hi, k)

    # ---- trunks: chain = feeder; cable exit of 1-2 spans on overhead feeders
    t_kind = np.repeat(f_kind, shape.trunk)
    t_local = _segment_arange(shape.trunk)
    exit_spans = rng.integers(1, 3, n_feeders)
    t_kind[t_local < np.repeat(exit_spans, shape.trunk)] = _CABLE
    chain, key, kind, prefix, length = _chain_steps(
        shape.trunk,
        np.zeros(n_feeders, dtype=np.int8),  # replaced just below
        span_lengths(int(shape.trunk.sum())),
        shape.tdev_feeder,
        shape.tdev_pos - 0.5,
        shape.tdev_kind,
        shape.tdev_prefix,
    )
    n_ts = int(shape.trunk.sum())
    kind[:n_ts] = t_kind
    prefix[:n_ts] = np.where(t_kind == _CABLE, _P_C, _P_L)
    block, where, trunk_last = _grow(
        rng,
        base,
        chain,
        key,
        kind,
        prefix,
        length,
        head,
        bus_xy[f_sub],
        f_angle,
        0.35,
        np.arange(n_feeders, dtype=np.int64),
    )
    blocks.append(block)
    base += len(block.parent)
    trunk_span_node = where[:n_ts]
    trunk_start = np.cumsum(shape.trunk) - shape.trunk
    heading = np.concatenate([b.heading for b in blocks])
    node_xy = np.concatenate([b.xy for b in blocks])

    # ---- laterals: fuse first, spans, a mid device on long ones
    n_lat = len(shape.lat_feeder)
    lat_attach = trunk_span_node[trunk_start[shape.lat_feeder] + shape.lat_pos]
    side_sign = np.where(rng.random(n_lat) < 0.5, -1.0, 1.0)
    lat_angle = heading[lat_attach] + side_sign * np.pi / 2 + rng.normal(0, 0.25, n_lat)
    dev_chain = np.concatenate([np.arange(n_lat), shape.ldev_lat])
    dev_key = np.concatenate([np.full(n_lat, -0.5), shape.ldev_pos - 0.5])
    dev_kind = np.concatenate([np.full(n_lat, _FUSE, dtype=np.int8), shape.ldev_kind])
    dev_prefix = np.concatenate([np.full(n_lat, _P_F, dtype=np.int8), shape.ldev_prefix])
    n_ls = int(shape.lat_len.sum())
    chain, key, kind, prefix, length = _chain_steps(
        shape.lat_len,
        f_kind[shape.lat_feeder],
        span_lengths(n_ls),
        dev_chain,
        dev_key,
        dev_kind,
        dev_prefix,
    )
    block, where, lat_last = _grow(
        rng,
        base,
        chain,
        key,
        kind,
        prefix,
        length,
        lat_attach,
        node_xy[lat_attach],
        lat_angle,
        0.3,
        shape.lat_feeder,
    )
    blocks.append(block)
    base += len(block.parent)
    lat_span_node = where[:n_ls]
    lat_start = np.cumsum(shape.lat_len) - shape.lat_len
    heading = np.concatenate([heading, block.heading])
    node_xy = np.concatenate([node_xy, block.xy])

    # ---- taps off lateral poles, some fused
    n_tap = len(shape.tap_lat)
    tap_feeder = shape.lat_feeder[shape.tap_lat]
    tap_attach = lat_span_node[lat_start[shape.tap_lat] + shape.tap_pos]
    side_sign = np.where(rng.random(n_tap) < 0.5, -1.0, 1.0)
    tap_angle = heading[tap_attach] + side_sign * np.pi / 2 + rng.normal(0, 0.3, n_tap)
    fused = np.flatnonzero(shape.tap_fused)
    n_tps = int(shape.tap_len.sum())
    chain, key, kind, prefix, length = _chain_steps(
        shape.tap_len,
        f_kind[tap_feeder],
        span_lengths(n_tps),
        fused,
        np.full(len(fused), -0.5),
        np.full(len(fused), _FUSE, dtype=np.int8),
        np.full(len(fused), _P_F, dtype=np.int8),
    )
    block, where, tap_last = _grow(
        rng,
        base,
        chain,
        key,
        kind,
        prefix,
        length,
        tap_attach,
        node_xy[tap_attach],
        tap_angle,
        0.3,
        tap_feeder,
    )
    blocks.append(block)
    base += len(block.parent)
    tap_span_node = where[:n_tps]
    node_xy = np.concatenate([node_xy, block.xy])
    del heading

    # ---- ties between line ends of different feeders
    ends = np.concatenate([trunk_last, lat_last, tap_last])
    end_feeder = np.concatenate([np.arange(n_feeders), shape.lat_feeder, tap_feeder])
    ties = _pick_ties(rng, node_xy[ends], end_feeder, f_sub, tie_reach_m, tie_fraction)
    tie_a = ends[ties[:, 0]] if len(ties) else np.zeros(0, dtype=np.int64)
    tie_b = ends[ties[:, 1]] if len(ties) else np.zeros(0, dtype=np.int64)
    tie_fa = end_feeder[ties[:, 0]] if len(ties) else np.zeros(0, dtype=np.int64)
    tie_fb = end_feeder[ties[:, 1]] if len(ties) else np.zeros(0, dtype=np.int64)
    n_ties = len(tie_a)
    vec = node_xy[tie_a] - node_xy[tie_b]
    dist = np.maximum(np.hypot(vec[:, 0], vec[:, 1]), 1.0)
    tie_spans = np.maximum(1, np.ceil(dist / 110.0)).astype(np.int64)
    tchain = np.repeat(np.arange(n_ties), tie_spans)
    frac = (_segment_arange(tie_spans) + 1) / tie_spans[tchain]
    txy = node_xy[tie_b][tchain] + vec[tchain] * frac[:, None]
    tie_nodes = len(tchain)
    tparent = base + np.arange(tie_nodes, dtype=np.int64) - 1
    tstarts = np.cumsum(tie_spans) - tie_spans
    tparent[tstarts] = tie_b
    tblock = _Block(
        txy,
        np.zeros(tie_nodes),
        tparent,
        f_kind[tie_fb][tchain],
        np.full(tie_nodes, _P_TIE, dtype=np.int8),
        dist[tchain] / tie_spans[tchain],
        tie_fb[tchain],
        np.full(tie_nodes, _C_TIE, dtype=np.int8),
    )
    blocks.append(tblock)
    tie_last = base + tstarts + tie_spans - 1
    tie_base = base
    base += tie_nodes
    node_xy = np.concatenate([node_xy, txy])

    # ---- distribution transformers (co-located LV node) and service points
    span_nodes = np.concatenate([trunk_span_node, lat_span_node, tap_span_node])
    tx_attach = span_nodes[shape.tx_flag]
    tx_feeder = np.concatenate(
        [
            np.repeat(np.arange(n_feeders), shape.trunk),
            np.repeat(shape.lat_feeder, shape.lat_len),
            np.repeat(tap_feeder, shape.tap_len),
        ]
    )[shape.tx_flag]
    n_tx = len(tx_attach)
    blocks.append(
        _Block(
            node_xy[tx_attach],
            np.zeros(n_tx),
            tx_attach,
            np.full(n_tx, _TRANSFORMER, dtype=np.int8),
            np.full(n_tx, _P_T, dtype=np.int8),
            np.zeros(n_tx),
            tx_feeder,
            np.ones(n_tx, dtype=np.int8),
        )
    )
    lv_node = base + np.arange(n_tx)
    base += n_tx
    # hit the target exactly by adding or removing service points
    sp_per_tx = _adjust_service_points(rng, shape.sp_per_tx, n_nodes - base)
    n_sp = int(sp_per_tx.sum())
    sp_attach = np.repeat(lv_node, sp_per_tx)
    sp_feeder = np.repeat(tx_feeder, sp_per_tx)
    sp_angle = rng.uniform(0, 2 * np.pi, n_sp)
    sp_len = rng.uniform(10.0, 40.0, n_sp)
    sp_xy = np.repeat(node_xy[tx_attach], sp_per_tx, axis=0) + np.column_stack(
        [sp_len * np.cos(sp_angle), sp_len * np.sin(sp_angle)]
    )
    blocks.append(
        _Block(
            sp_xy,
            np.zeros(n_sp),
            sp_attach,
            f_kind[sp_feeder],
            np.full(n_sp, _P_D, dtype=np.int8),
            sp_len,
            sp_feeder,
            np.full(n_sp, 2, dtype=np.int8),
        )
    )
    lam = max(customers_per_transformer / 2.5 - 1.0, 0.0)
    node_customers_gen = np.zeros(base + n_sp, dtype=np.int64)
    node_customers_gen[base:] = 1 + rng.poisson(lam, n_sp)
    tie_of_node = np.full(base + n_sp, -1, dtype=np.int64)
    tie_of_node[tie_base : tie_base + tie_nodes] = tchain
    del sp_xy, node_xy

    return _assemble(
        rng,
        blocks,
        n_subs=n_subs,
        n_feeders=n_feeders,
        f_sub=f_sub,
        first_of_sub=first_of_sub,
        meshed=meshed,
        node_customers=node_customers_gen,
        tie_of_node=tie_of_node,
        tie_a=tie_a,
        tie_last=tie_last,
        tie_fa=tie_fa,
        tie_fb=tie_fb,
        center=center,
    )


def _adjust_service_points(
    rng: np.random.Generator, sp_per_tx: np.ndarray, wanted: int
) -> np.ndarray:
    """Service points per transformer, changed by as few as needed to total
    ``wanted`` (each transformer keeps at least one). O(n)."""
    out = sp_per_tx.copy()
    d = wanted - int(out.sum())
    if d > 0 and len(out):
        np.add.at(out, rng.integers(0, len(out), d), 1)
    elif d < 0:
        spare = np.repeat(np.arange(len(out)), out - 1)
        drop = rng.choice(spare, min(-d, len(spare)), replace=False)
        np.subtract.at(out, drop, 1)
    return out


@dataclass
class _Shape:
    """Sizes of every part of every feeder, before any geometry."""

    sub_of_feeder: np.ndarray
    trunk: np.ndarray
    tdev_feeder: np.ndarray
    tdev_pos: np.ndarray
    tdev_kind: np.ndarray
    tdev_prefix: np.ndarray
    lat_feeder: np.ndarray
    lat_pos: np.ndarray
    lat_len: np.ndarray
    ldev_lat: np.ndarray
    ldev_pos: np.ndarray
    ldev_kind: np.ndarray
    ldev_prefix: np.ndarray
    tap_lat: np.ndarray
    tap_pos: np.ndarray
    tap_len: np.ndarray
    tap_fused: np.ndarray
    tx_flag: np.ndarray
    sp_per_tx: np.ndarray
    feeder_size: np.ndarray

    def cut(self, n_feeders: int) -> _Shape:
        """The same shape restricted to the first ``n_feeders`` feeders.

        Every array is sorted by feeder, so this keeps a prefix of each.
        """
        nl = int(np.searchsorted(self.lat_feeder, n_feeders))
        ntd = int(np.searchsorted(self.tdev_feeder, n_feeders))
        nld = int(np.searchsorted(self.ldev_lat, nl))
        ntp = int(np.searchsorted(self.tap_lat, nl))
        n_spans = (
            int(self.trunk[:n_feeders].sum())
            + int(self.lat_len[:nl].sum())
            + int(self.tap_len[:ntp].sum())
        )
        # span flags are stored trunk spans | lateral spans | tap spans
        t_all, l_all = int(self.trunk.sum()), int(self.lat_len.sum())
        tx_flag = np.concatenate(
            [
                self.tx_flag[: int(self.trunk[:n_feeders].sum())],
                self.tx_flag[t_all : t_all + int(self.lat_len[:nl].sum())],
                self.tx_flag[t_all + l_all : t_all + l_all + int(self.tap_len[:ntp].sum())],
            ]
        )
        assert len(tx_flag) == n_spans
        # transformers are numbered in span order: keep those of kept spans
        tx_rank = np.cumsum(self.tx_flag) - 1
        kept_spans = np.zeros(len(self.tx_flag), dtype=bool)
        kept_spans[: int(self.trunk[:n_feeders].sum())] = True
        kept_spans[t_all : t_all + int(self.lat_len[:nl].sum())] = True
        kept_spans[t_all + l_all : t_all + l_all + int(self.tap_len[:ntp].sum())] = True
        kept_tx = tx_rank[self.tx_flag & kept_spans]
        sp_per_tx = self.sp_per_tx[kept_tx]
        return _Shape(
            sub_of_feeder=self.sub_of_feeder[:n_feeders],
            trunk=self.trunk[:n_feeders],
            tdev_feeder=self.tdev_feeder[:ntd],
            tdev_pos=self.tdev_pos[:ntd],
            tdev_kind=self.tdev_kind[:ntd],
            tdev_prefix=self.tdev_prefix[:ntd],
            lat_feeder=self.lat_feeder[:nl],
            lat_pos=self.lat_pos[:nl],
            lat_len=self.lat_len[:nl],
            ldev_lat=self.ldev_lat[:nld],
            ldev_pos=self.ldev_pos[:nld],
            ldev_kind=self.ldev_kind[:nld],
            ldev_prefix=self.ldev_prefix[:nld],
            tap_lat=self.tap_lat[:ntp],
            tap_pos=self.tap_pos[:ntp],
            tap_len=self.tap_len[:ntp],
            tap_fused=self.tap_fused[:ntp],
            tx_flag=tx_flag,
            sp_per_tx=sp_per_tx,
            feeder_size=self.feeder_size[:n_feeders],
        )


def _sample_shape(
    rng: np.random.Generator,
    n_feeders: int,
    t_mean: float,
    lo_f: int,
    hi_f: int,
) -> _Shape:
    """Sample the sizes of ``n_feeders`` feeders (vectorised, O(nodes))."""
    fidx = np.arange(n_feeders, dtype=np.int64)
    per_sub = rng.integers(lo_f, hi_f + 1, n_feeders)
    sub_of_feeder = np.searchsorted(np.cumsum(per_sub), fidx, side="right").astype(np.int64)
    trunk = np.maximum(3, np.rint(t_mean * rng.lognormal(0.0, 0.3, n_feeders))).astype(np.int64)

    # trunk devices: recloser at 30-45 %, a second at 60-80 % on most
    # feeders; sectionalizing switches at 15-25 % and 50-60 %
    def at(frac_lo: float, frac_hi: float) -> np.ndarray:
        pos = np.rint(trunk * rng.uniform(frac_lo, frac_hi, n_feeders)).astype(np.int64)
        return np.clip(pos, 1, trunk - 1)

    r1, r2, s1, s2 = at(0.30, 0.45), at(0.60, 0.80), at(0.15, 0.25), at(0.50, 0.58)
    has_r2 = (trunk >= 8) & (rng.random(n_feeders) < 0.6)
    has_s1 = trunk >= 5
    has_s2 = (trunk >= 12) & (rng.random(n_feeders) < 0.5)
    tdev_feeder = np.concatenate([fidx, fidx[has_r2], fidx[has_s1], fidx[has_s2]])
    tdev_pos = np.concatenate([r1, r2[has_r2], s1[has_s1], s2[has_s2]]).astype(np.float64)
    n_r = n_feeders + int(has_r2.sum())
    n_s = len(tdev_feeder) - n_r
    tdev_kind = np.concatenate(
        [np.full(n_r, _RECLOSER, dtype=np.int8), np.full(n_s, _SWITCH, dtype=np.int8)]
    )
    tdev_prefix = np.concatenate(
        [np.full(n_r, _P_R, dtype=np.int8), np.full(n_s, _P_S, dtype=np.int8)]
    )
    order = np.argsort(tdev_feeder, kind="stable")
    tdev_feeder, tdev_pos = tdev_feeder[order], tdev_pos[order]
    tdev_kind, tdev_prefix = tdev_kind[order], tdev_prefix[order]

    # laterals: ~0.6 per trunk pole, geometric length (mean ~8 spans)
    n_lat_f = rng.poisson(0.6 * trunk)
    lat_feeder = np.repeat(fidx, n_lat_f)
    n_lat = len(lat_feeder)
    lat_pos = 1 + (rng.random(n_lat) * (trunk[lat_feeder] - 1)).astype(np.int64)
    lat_len = np.minimum(rng.geometric(1 / 8.0, n_lat), 40).astype(np.int64)
    long_lat = np.flatnonzero(lat_len >= 10)
    ldev_pos = (1 + rng.random(len(long_lat)) * (lat_len[long_lat] - 1)).astype(np.int64)
    is_sect = rng.random(len(long_lat)) < 0.5
    ldev_kind = np.where(is_sect, _SECT, _SWITCH).astype(np.int8)
    ldev_prefix = np.where(is_sect, _P_X, _P_S).astype(np.int8)

    # taps: ~0.2 per lateral pole, short, 30 % fused
    n_tap_l = rng.poisson(0.2 * lat_len)
    tap_lat = np.repeat(np.arange(n_lat, dtype=np.int64), n_tap_l)
    n_tap = len(tap_lat)
    tap_pos = (rng.random(n_tap) * lat_len[tap_lat]).astype(np.int64)
    tap_len = np.minimum(rng.geometric(1 / 4.0, n_tap), 15).astype(np.int64)
    tap_fused = rng.random(n_tap) < 0.3
    tap_feeder = lat_feeder[tap_lat]

    # transformers on poles: 8 % of trunk poles, 30 % of lateral/tap poles
    n_ts, n_ls, n_ps = int(trunk.sum()), int(lat_len.sum()), int(tap_len.sum())
    p_tx = np.concatenate([np.full(n_ts, 0.08), np.full(n_ls + n_ps, 0.30)])
    tx_flag = rng.random(n_ts + n_ls + n_ps) < p_tx
    span_feeder = np.concatenate(
        [np.repeat(fidx, trunk), np.repeat(lat_feeder, lat_len), np.repeat(tap_feeder, tap_len)]
    )
    tx_feeder = span_feeder[tx_flag]
    sp_per_tx = np.minimum(1 + rng.poisson(1.5, len(tx_feeder)), 8).astype(np.int64)

    size = (
        1
        + trunk
        + np.bincount(tdev_feeder, minlength=n_feeders)
        + np.bincount(lat_feeder, weights=lat_len + 1, minlength=n_feeders).astype(np.int64)
        + np.bincount(lat_feeder[long_lat], minlength=n_feeders)
        + np.bincount(tap_feeder, weights=tap_len + tap_fused, minlength=n_feeders).astype(np.int64)
        + np.bincount(tx_feeder, weights=1 + sp_per_tx, minlength=n_feeders).astype(np.int64)
    )
    return _Shape(
        sub_of_feeder=sub_of_feeder,
        trunk=trunk,
        tdev_feeder=tdev_feeder,
        tdev_pos=tdev_pos,
        tdev_kind=tdev_kind,
        tdev_prefix=tdev_prefix,
        lat_feeder=lat_feeder,
        lat_pos=lat_pos,
        lat_len=lat_len,
        ldev_lat=long_lat.astype(np.int64),
        ldev_pos=ldev_pos.astype(np.float64),
        ldev_kind=ldev_kind,
        ldev_prefix=ldev_prefix,
        tap_lat=tap_lat,
        tap_pos=tap_pos,
        tap_len=tap_len,
        tap_fused=tap_fused,
        tx_flag=tx_flag,
        sp_per_tx=sp_per_tx,
        feeder_size=size.astype(np.int64),
    )


def _pick_ties(
    rng: np.random.Generator,
    end_xy: np.ndarray,
    end_feeder: np.ndarray,
    f_sub: np.ndarray,
    reach: float,
    fraction: float,
) -> np.ndarray:
    """Choose tie pairs among line ends: rows ``(end_a, end_b)``.

    Candidates are the nearest ends (k-d tree) of other feeders within
    ``reach``; the closest pair per feeder pair is kept. Every feeder with a
    candidate gets one tie, then more are added up to ``fraction`` of the
    feeder pairs, ties between substations first (at most 3 ties per
    feeder, each line end used once).
    O(e log e) for e line ends plus a Python loop over the feeder pairs.
    """
    from scipy.spatial import cKDTree

    if len(end_xy) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    tree = cKDTree(end_xy)
    k = min(8, len(end_xy))
    dist, nbr = tree.query(end_xy, k=k, distance_upper_bound=reach)
    i = np.repeat(np.arange(len(end_xy)), k)
    j, d = nbr.ravel(), dist.ravel()
    ok = np.isfinite(d) & (j < len(end_xy))
    i, j, d = i[ok], j[ok], d[ok]
    ok = end_feeder[i] < end_feeder[j]
    i, j, d = i[ok], j[ok], d[ok]
    if not len(i):
        return np.zeros((0, 2), dtype=np.int64)
    order = np.lexsort((j, i, d))
    i, j, d = i[order], j[order], d[order]
    n_f = int(end_feeder.max()) + 1
    pair_key = end_feeder[i] * n_f + end_feeder[j]
    _, first = np.unique(pair_key, return_index=True)
    first = np.sort(first)  # closest pairs first
    i, j = i[first], j[first]
    fa, fb = end_feeder[i].tolist(), end_feeder[j].tolist()
    target = round(fraction * len(i))
    ties_of = np.zeros(n_f, dtype=np.int64)
    used: set[int] = set()
    chosen: list[tuple[int, int]] = []
    taken = np.zeros(len(i), dtype=bool)
    il, jl = i.tolist(), j.tolist()
    for k_, (a, b) in enumerate(zip(il, jl, strict=True)):
        if (ties_of[fa[k_]] == 0 or ties_of[fb[k_]] == 0) and a not in used and b not in used:
            chosen.append((a, b))
            used.update((a, b))
            ties_of[fa[k_]] += 1
            ties_of[fb[k_]] += 1
            taken[k_] = True
    same_sub = (f_sub[end_feeder[i]] == f_sub[end_feeder[j]]).astype(np.float64)
    # then the others, ties to other substations first, in random order
    for k_ in np.argsort(same_sub + rng.random(len(il)), kind="stable").tolist():
        if len(chosen) >= target:
            break
        a, b = il[k_], jl[k_]
        if taken[k_] or a in used or b in used or max(ties_of[fa[k_]], ties_of[fb[k_]]) >= 3:
            continue
        chosen.append((a, b))
        used.update((a, b))
        ties_of[fa[k_]] += 1
        ties_of[fb[k_]] += 1
    chosen.sort()
    return np.array(chosen, dtype=np.int64).reshape(-1, 2)


def _assemble(
    rng: np.random.Generator,
    blocks: list[_Block],
    *,
    n_subs: int,
    n_feeders: int,
    f_sub: np.ndarray,
    first_of_sub: np.ndarray,
    meshed: np.ndarray,
    node_customers: np.ndarray,
    tie_of_node: np.ndarray,
    tie_a: np.ndarray,
    tie_last: np.ndarray,
    tie_fa: np.ndarray,
    tie_fb: np.ndarray,
    center: tuple[float, float],
) -> Network:
    """Order the generated nodes by substation and feeder, name everything and
    build the :class:`Network`. O(n log n)."""
    xy = np.concatenate([b.xy for b in blocks])
    parent = np.concatenate([b.parent for b in blocks])
    kind = np.concatenate([b.kind for b in blocks])
    prefix = np.concatenate([b.prefix for b in blocks])
    length = np.concatenate([b.length for b in blocks])
    feeder = np.concatenate([b.feeder for b in blocks])
    category = np.concatenate([b.category for b in blocks])
    del blocks
    n = len(parent)
    sub = np.where(feeder >= 0, f_sub[np.maximum(feeder, 0)], 0)
    sub[:n_subs] = np.arange(n_subs)
    sub[n_subs : 2 * n_subs] = np.arange(n_subs)
    group = np.where(feeder >= 0, 2 * feeder + 1, 2 * first_of_sub[sub])
    order = np.argsort(group, kind="stable")
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    del group

    node_ids = _build_ids(category[order], feeder[order], sub[order], tie_of_node[order])

    # tree edges (one per non-source node, parent -> node), in node order,
    # then the parallel substation transformers and the tie switches
    child = order[parent[order] >= 0]
    extra_bus = n_subs + np.flatnonzero(meshed)
    n_ties = len(tie_a)
    e_from = np.concatenate([pos[parent[child]], pos[parent[extra_bus]], pos[tie_a]])
    e_to = np.concatenate([pos[child], pos[extra_bus], pos[tie_last]])
    e_kind = np.concatenate(
        [
            kind[child],
            np.full(len(extra_bus), _TRANSFORMER, dtype=np.int8),
            np.full(n_ties, _SWITCH, dtype=np.int8),
        ]
    )
    e_len = np.concatenate([length[child], length[extra_bus], np.zeros(n_ties)])
    sort_key = np.concatenate([2 * pos[child], 2 * pos[extra_bus] + 1, 2 * pos[tie_last] + 1])
    e_order = np.argsort(sort_key, kind="stable")
    e_from, e_to, e_kind, e_len = e_from[e_order], e_to[e_order], e_kind[e_order], e_len[e_order]
    m = len(e_from)

    # ---- edge ids
    e_prefix = np.concatenate(
        [prefix[child], np.full(len(extra_bus), _P_TR, dtype=np.int8), np.full(n_ties, -1)]
    )[e_order]
    e_feeder = np.concatenate([feeder[child], np.full(len(extra_bus), -1), np.full(n_ties, -1)])[
        e_order
    ]
    e_sub = np.concatenate([sub[child], sub[extra_bus], np.zeros(n_ties, dtype=np.int64)])[e_order]
    e_tie = np.concatenate([tie_of_node[child], np.full(len(extra_bus), -1), np.arange(n_ties)])[
        e_order
    ]
    edge_ids = np.empty(m, dtype=object)
    fe = np.flatnonzero((e_feeder >= 0) & (e_prefix < _P_TR))
    rank = _rank_within(e_feeder[fe] * 16 + e_prefix[fe]) + 1
    letters = np.array(_PREFIXES)[e_prefix[fe]].tolist()
    edge_ids[fe] = [
        f"F{f}-{c}{r}"
        for f, c, r in zip((e_feeder[fe] + 1).tolist(), letters, rank.tolist(), strict=True)
    ]
    br = np.flatnonzero(e_kind == _BREAKER)
    edge_ids[br] = [f"F{f}-B" for f in (e_feeder[br] + 1).tolist()]
    tr = np.flatnonzero(e_prefix == _P_TR)
    rank = _rank_within(e_sub[tr]) + 1
    edge_ids[tr] = [
        f"S{s}-TR{r}" for s, r in zip((e_sub[tr] + 1).tolist(), rank.tolist(), strict=True)
    ]
    tl = np.flatnonzero(e_prefix == _P_TIE)
    rank = _rank_within(e_tie[tl]) + 1
    edge_ids[tl] = [
        f"TIE{t}-L{r}" for t, r in zip((e_tie[tl] + 1).tolist(), rank.tolist(), strict=True)
    ]
    ts = np.flatnonzero(e_prefix == -1)
    edge_ids[ts] = [f"TIE{t}" for t in (e_tie[ts] + 1).tolist()]

    # ---- states, SCADA, capacity, names, voltages, customers
    closed = e_prefix != -1
    scada = (e_kind == _BREAKER) | (e_kind == _RECLOSER)
    sw = np.flatnonzero((e_kind == _SWITCH) & closed & (e_feeder >= 0))
    # normally closed switches: ~40 % remote-controlled; ties: half
    scada[sw] = rng.random(len(sw)) < 0.4
    scada[ts] = rng.random(len(ts)) < 0.5
    cust = node_customers[order]
    node_feeder = feeder[order]
    f_customers = np.bincount(
        node_feeder[node_feeder >= 0], weights=cust[node_feeder >= 0], minlength=n_feeders
    )
    capacity = np.full(m, np.nan)
    capacity[br] = (
        np.ceil(f_customers[e_feeder[br]] * rng.uniform(1.5, 2.0, len(br)) / 10.0 + 1.0) * 10.0
    )
    edge_name: list[str | None] = [None] * m
    for e in br.tolist():
        edge_name[e] = f"Feeder F{e_feeder[e] + 1}"
    for e in ts.tolist():
        t = int(e_tie[e])
        edge_name[e] = f"Tie F{tie_fa[t] + 1}-F{tie_fb[t] + 1}"
    node_name: list[str | None] = [None] * n
    cat_sorted = category[order]
    src = np.flatnonzero(cat_sorted == _C_SOURCE)
    for v in src.tolist():
        node_name[v] = f"Substation {node_ids[v]}"
    volt = np.where(cat_sorted == 0, 10.0, 0.4)
    volt[cat_sorted == _C_SOURCE] = 110.0
    volt[(cat_sorted == _C_BUS) | (cat_sorted == _C_TIE)] = 10.0

    return Network(
        node_ids=node_ids,
        node_xy=_to_lonlat(xy[order], center),
        node_source=cat_sorted == _C_SOURCE,
        edge_ids=edge_ids.tolist(),
        edge_kind=e_kind,
        edge_from=e_from,
        edge_to=e_to,
        edge_normal_closed=closed,
        edge_length_m=np.round(e_len, 2),
        edge_scada=scada,
        edge_capacity=capacity,
        node_customers=cust,
        node_name=node_name,
        edge_name=edge_name,
        node_voltage_kv=volt,
    )


# ====================================================================== demo
# Everything below builds the shipped demo area. It is small (~15,000
# nodes), so it is written for clarity with plain Python loops.

_TOWN = "Qingshui"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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
_SURNAMES = _words(
    "Wang Li Zhang Liu Chen Yang Zhao Huang Zhou Wu Xu Sun Hu Zhu Gao Lin He Guo Ma Luo "
    "Liang Song Zheng Xie Han Tang Feng Yu Dong Xiao Cheng Cao Yuan Deng Fu Shen Zeng Peng "
    "Lu Su Jiang Cai Jia Ding Wei Xue Ye Yan Pan Du Dai Xia Zhong Tian Ren Fan Fang Shi Yao"
)
_GIVEN = _words(
    "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Juan Tao Ming Chao Xiulan Xia "
    "Ping Gang Guiying Hua Jian Hui Xin Yu Hao Lin Bo Rui Lan Qing Jiahui Zihan Haoran Yuxuan "
    "Shuang Dan Kai Peng Xiaoming Guoqiang Jianguo Fenglan Yumei Chunhua Zhiqiang Wenjing "
    "Hong Bin Feng Ning Yun Ting Chen Xue"
)
_SHOPS = (
    "Supermarket",
    "Noodle House",
    "Pharmacy",
    "Hardware Store",
    "Mobile Phone Shop",
    "Bakery",
    "Tea House",
    "Barber Shop",
    "Hotpot Restaurant",
    "Stationery Shop",
    "Clinic",
    "Bank Branch",
)
_MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 "
    "176 177 178 180 181 182 183 185 186 187 188 189"
)

# Per area: pole spacing (m), chance of a transformer per pole, LV poles each
# way of a transformer (inclusive range), service points per LV node
# (inclusive range), and the customer mix at a service point.


@dataclass(frozen=True)
class _Style:
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


@dataclass
class _Segment:
    """A road between two junctions, in local metres."""

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


class _Roads:
    """A road network under construction: junctions and the roads between them."""

    def __init__(self) -> None:
        self.xy: list[tuple[float, float]] = []
        self.segs: list[_Segment] = []

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
                _Segment(
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


def _polar(angle_deg: float, r: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([r * math.cos(a), r * math.sin(a)])


def _make_roads(rng: np.random.Generator) -> tuple[_Roads, dict[str, Any]]:
    """The road network of the demo area, in metres around the town centre.

    Returns the roads and landmarks (junction lists of the town grid,
    villages and hamlets) used to place substations and zones.
    """
    roads = _Roads()
    marks: dict[str, Any] = {"villages": {}, "hamlets": {}}

    # ---- the town: a jittered, slightly rotated grid inside an ellipse
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
    town_segs: list[int] = []
    for (i, j), a in sorted(grid.items()):
        for di, dj in ((1, 0), (0, 1)):
            b = grid.get((i + di, j + dj))
            if b is None:
                continue
            main = (dj == 0 and j == 0) or (di == 0 and i == 0)
            if not main and rng.random() < 0.07:
                continue  # a block without a through street
            pa, pb = np.array(roads.xy[a]), np.array(roads.xy[b])
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
            town_segs.append(len(roads.segs) - 1)
    marks["town"] = sorted(grid.values())

    def extreme(direction: np.ndarray, pool: list[int]) -> int:
        xy = np.array([roads.xy[v] for v in pool])
        return pool[int(np.argmax(xy @ direction))]

    def nearest(p: np.ndarray, pool: list[int]) -> int:
        xy = np.array([roads.xy[v] for v in pool])
        return pool[int(np.argmin(np.hypot(*(xy - p).T)))]

    # ---- suburbs: sparser grids joined to the town by connector roads
    suburbs = (
        ("Xincheng", np.array([2350.0, 1750.0]), 25.0, (5, 4), ("Jinxiu", "Fuyuan", "Huayuan")),
        ("Nanyuan", np.array([-2250.0, -1650.0]), -8.0, (4, 4), ("Taoyuan", "Lize", "Kangjia")),
    )
    marks["suburbs"] = []
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
                pu, pv = np.array(roads.xy[u]), np.array(roads.xy[v])
                mid = (pu + pv) / 2 + rng.normal(0, 10, 2)
                street = f"{stems[(i + j) % len(stems)]} {'Road' if dj == 0 else 'Lane'}"
                roads.add([pu, mid, pv], "residential", street, 30.0, "suburb", start=u, end=v)
        pool = sorted(sg.values())
        marks["suburbs"].append(pool)
        for k in range(2):  # two connectors to the town
            s_j = sorted(pool, key=lambda v: np.hypot(*(np.array(roads.xy[v]))))[k * 2]
            t_j = nearest(np.array(roads.xy[s_j]), marks["town"])
            link = _meander(np.array(roads.xy[t_j]), np.array(roads.xy[s_j]), rng, 90.0, 40.0)
            roads.add(link, "tertiary", f"{name} Avenue", 50.0, "suburb", start=t_j, end=s_j)

    # ---- villages: a main street with side lanes; county roads to town
    ring_ends: list[tuple[int, int]] = []
    for k, (vname, ang, dist) in enumerate(_VILLAGES):
        center = _polar(ang, dist)
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
            p0 = np.array(roads.xy[main_j[int(jn)]])
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
        # county road from the town edge to the village end nearer the town
        direction = _polar(ang, 1.0)
        t_j = extreme(direction, marks["town"])
        v_end = min((main_j[0], main_j[-1]), key=lambda v: np.hypot(*np.array(roads.xy[v])))
        v_far = main_j[-1] if v_end == main_j[0] else main_j[0]
        national = k in (0, 3)
        pts = _meander(np.array(roads.xy[t_j]), np.array(roads.xy[v_end]), rng, 120.0, 220.0)
        splits = sorted(rng.choice(range(3, len(pts) - 3), 2, replace=False).tolist())
        rname = "G205 National Road" if national else f"X{21 + k:03d} County Road"
        cls, speed = ("primary", 80.0) if national else ("secondary", 70.0)
        along = roads.add(pts, cls, rname, speed, "rural", start=t_j, end=v_end, split=splits)
        for jn in along[1:-1]:  # farm tracks
            p0 = np.array(roads.xy[jn])
            tangent = _polar(ang + 90 * rng.choice([-1, 1]) + rng.normal(0, 15), 1.0)
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
            q = _polar(ang + rng.uniform(-4, 4), 14500.0)
            pts = _meander(np.array(roads.xy[v_far]), q, rng, 150.0, 300.0)
            split = [len(pts) // 2]
            roads.add(pts, cls, rname, speed, "rural", start=v_far, split=split)
        ring_ends.append((v_end, v_far))

    # township roads between neighbouring villages (one gap in the ring)
    names = [v[0] for v in _VILLAGES]
    for k in range(len(_VILLAGES) - 1):
        pa = marks["villages"][names[k]]
        pb = marks["villages"][names[k + 1]]
        best = min(
            ((a, b) for a in pa for b in pb),
            key=lambda ab: np.hypot(*(np.array(roads.xy[ab[0]]) - np.array(roads.xy[ab[1]]))),
        )
        pts = _meander(np.array(roads.xy[best[0]]), np.array(roads.xy[best[1]]), rng, 130.0, 250.0)
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

    # ---- remote mountain roads to hamlets
    mountain = (
        ("Zhaocun", 135.0, 12500.0, "Shangyu", "Shanyu Mountain Road", "Songling"),
        ("Xiaohe", 235.0, 10500.0, "Xiagou", "Xigou Mountain Road", None),
    )
    for vname, ang, length, hamlet, rname, branch in mountain:
        v0 = extreme(_polar(ang, 1.0), marks["villages"][vname])
        p0 = np.array(roads.xy[v0])
        q = p0 + _polar(ang, length)
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
            pb = np.array(roads.xy[b0])
            q = pb + _polar(ang + 70, 3200.0)
            bj = roads.add(
                _meander(pb, q, rng, 90.0, 400.0),
                "unclassified",
                f"{branch} Road",
                35.0,
                "remote",
                start=b0,
            )
            marks["hamlets"][branch] = _hamlet(roads, rng, bj[-1], branch, ang + 70)
    return roads, marks


def _hamlet(roads: _Roads, rng: np.random.Generator, j0: int, name: str, ang: float) -> list[int]:
    """A few short lanes around junction ``j0``; returns the hamlet's junctions."""
    p0 = np.array(roads.xy[j0])
    pool = [j0]
    for k, da in enumerate((-80.0, 80.0, 0.0)):
        q = p0 + _polar(ang + da + rng.normal(0, 10), rng.uniform(250, 380))
        pts = [p0, (p0 + q) / 2 + rng.normal(0, 8, 2), q]
        pool += roads.add(
            pts, "residential", f"{name} Lane {k + 1}", 20.0, "village", start=j0, split=[1]
        )[1:]
    return pool


def _cumlen(poly: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(poly, axis=0).T))])


def _point_at(poly: np.ndarray, cum: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Point at arc length ``s`` along ``poly`` and the unit direction there."""
    s = min(max(s, 0.0), float(cum[-1]))
    i = int(np.searchsorted(cum, s, side="right")) - 1
    i = min(max(i, 0), len(poly) - 2)
    d = poly[i + 1] - poly[i]
    seg = float(cum[i + 1] - cum[i])
    t = (s - cum[i]) / seg if seg > 0 else 0.0
    norm = float(np.hypot(*d)) or 1.0
    return poly[i] + t * d, d / norm


def _cut(poly: np.ndarray, cum: np.ndarray, s0: float, s1: float) -> np.ndarray:
    """The part of ``poly`` between arc lengths ``s0`` and ``s1`` (reversed if s0 > s1)."""
    if s0 > s1:
        return _cut(poly, cum, s1, s0)[::-1]
    inner = poly[(cum > s0) & (cum < s1)]
    return np.vstack([_point_at(poly, cum, s0)[0], inner, _point_at(poly, cum, s1)[0]])


class _Ids:
    """Per-feeder counters for element ids (``F3-N12``, ``F3-L40`` ...)."""

    def __init__(self, stem: str) -> None:
        self.stem = stem
        self.count: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self.count[prefix] = self.count.get(prefix, 0) + 1
        return f"{self.stem}-{prefix}{self.count[prefix]}"


class _Builder:
    """Nodes, edges and customers of the demo network under construction."""

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
            length = float(_cumlen(geom)[-1])
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
    seg: _Segment
    leaf: bool


@dataclass
class _ServicePoint:
    node: int
    xy: np.ndarray
    area: str
    road: str
    side: int
    feeder: int


class _DemoNetworkBuilder:
    """Strings feeders along the roads: see :func:`demo_area`."""

    def __init__(self, roads: _Roads, marks: dict[str, Any], rng: np.random.Generator) -> None:
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
        self.service_points: list[_ServicePoint] = []
        self.feeder_names: list[str] = []
        self.breakers: list[int] = []
        self.tx_count: dict[str, int] = {}

    # ------------------------------------------------------------ helpers
    def seg_between(self, u: int, v: int) -> tuple[_Segment, np.ndarray]:
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
        cum = _cumlen(poly)
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
            xy = poly[-1] if k == n - 1 else _point_at(poly, cum, s)[0]
            node = self.b.node(ids(node_prefix), xy, 10.0)
            self.b.edge(ids(prefix), kind, prev, node, _cut(poly, cum, s_prev, s))
            if poles is not None:
                poles.append(_Pole(node, poly, cum, s, seg, leaf and k == n - 1))
            prev, s_prev = node, s
        return prev

    def is_cable(self, seg: _Segment) -> bool:
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
        label: dict[int, int] = {}
        feeders: list[dict[str, Any]] = []

        def subtree(v: int, owner: int) -> list[int]:
            out, stack = [], [v]
            while stack:
                x = stack.pop()
                out.append(x)
                stack.extend(c for c in children[x] if label.get(c) == owner)
            return out

        def load(f: int) -> float:
            return sum(weight[v] for v, o in label.items() if o == f)

        for s, (root, n_feeders) in enumerate(subs):
            mine: list[int] = []
            for c in children[root]:
                f = len(feeders)
                feeders.append({"sub": s, "entry": root, "express": [root]})
                mine.append(f)
                stack = [c]
                while stack:
                    x = stack.pop()
                    label[x] = f
                    stack.extend(children[x])
            fair = sum(load(f) for f in mine) / n_feeders
            while len(mine) > 1 and (
                len(mine) > n_feeders or min(load(f) for f in mine) < 0.4 * fair
            ):  # merge the lightest into the next lightest
                mine.sort(key=load)
                gone, keep = mine[0], mine[1]
                for v, o in list(label.items()):
                    if o == gone:
                        label[v] = keep
                mine.remove(gone)
                feeders[gone]["dead"] = True
            while len(mine) < n_feeders:  # split the heaviest at its balance point
                big = max(mine, key=load)
                total = load(big)
                owned = [v for v, o in label.items() if o == big]
                below: dict[int, float] = {}
                for v in sorted(owned, key=lambda v: -dist[v]):
                    below[v] = sum(below[c] + weight[c] for c in children[v] if label.get(c) == big)
                best = max(
                    (v for v in owned if below[v] > 0),
                    key=lambda v: min(below[v], total - below[v] - weight[v]),
                )
                f = len(feeders)
                feeders.append({"sub": s, "entry": best, "express": paths[best]})
                for c in children[best]:
                    if label.get(c) == big:
                        for x in subtree(c, big):
                            label[x] = f
                mine.append(f)
        live = [f for f in feeders if not f.get("dead")]
        remap = {id(f): k for k, f in enumerate(live)}
        new_label = {v: remap[id(feeders[o])] for v, o in label.items()}
        for fd in live:
            fd["owned"] = sorted(v for v, o in new_label.items() if o == remap[id(fd)])
        live.sort(key=lambda f: (f["sub"], -len(f["owned"])))
        self.parent, self.children = parent, children
        self.weight, self.dist = weight, dist
        return parent, children, live

    def build(self) -> None:
        """Substations, feeders, ties, transformers and service points."""
        town = self.marks["town"]

        def nearest(p: Sequence[float], pool: list[int]) -> int:
            xy = self.jxy[pool]
            return pool[int(np.argmin(np.hypot(*(xy - np.asarray(p)).T)))]

        wang = self.marks["villages"]["Wangzhuang"]
        sub_defs = [
            ("Qingshui 110 kV Substation", nearest((380.0, 260.0), town), 5, 110.0, True),
            ("Chengxi 110 kV Substation", nearest((-1250.0, -600.0), town), 4, 110.0, False),
            ("Wangzhuang 35 kV Substation", wang[len(wang) // 3], 3, 35.0, False),
        ]
        _, children, feeders = self.partition([(j, n) for _, j, n, _, _ in sub_defs])
        self.feeders = feeders
        buses: list[int] = []
        self.sub_names = [d[0] for d in sub_defs]
        for s, (name, j, _, kv, meshed) in enumerate(sub_defs):
            site = self.jxy[j] + np.array([45.0, 45.0])
            src = self.b.node(f"S{s + 1}", site, kv, name=name, source=True)
            bus = self.b.node(f"S{s + 1}-BUS", site + np.array([15.0, 0.0]), 10.0)
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
        rng = self.rng
        b = self.b
        ids = _Ids(f"F{k + 1}")
        owned = set(f["owned"])
        entry = f["entry"]
        kids = {v: [c for c in children[v] if c in owned] for v in [entry, *f["owned"]]}
        raw: dict[int, float] = {}
        load: dict[int, float] = {}
        for v in sorted(kids, key=lambda v: -self.dist[v]):
            raw[v] = sum(raw[c] + self.g[v][c]["length"] for c in kids[v])
            load[v] = sum(load[c] + self.weight[c] for c in kids[v])

        def heavy_path(v: int) -> list[int]:
            path = [v]
            while kids[path[-1]]:
                path.append(max(kids[path[-1]], key=lambda c: load[c] + self.weight[c]))
            return path

        trunk = heavy_path(entry)
        road = self.seg_between(trunk[0], trunk[1])[0].name if len(trunk) > 1 else "bus"
        self.feeder_names.append(f"F{k + 1} {road}")
        bus_xy = b.node_xy[bus]
        head = b.node(ids("N"), bus_xy, 10.0)
        self.breakers.append(
            b.edge(f"F{k + 1}-B", "breaker", bus, head, scada=True, name=self.feeder_names[-1])
        )
        # cable exit from the substation to the road
        root = f["express"][0]
        node = b.node(ids("N"), self.jxy[root], 10.0)
        b.edge(ids("C"), "cable", head, node, np.vstack([bus_xy, self.jxy[root]]))
        # express section along roads another feeder serves, to the entry
        for u, v in zip(f["express"][:-1], f["express"][1:], strict=True):
            seg, _ = self.seg_between(u, v)
            if self.is_cable(seg) or seg.area in ("urban", "suburb"):
                node = self.spans(ids, node, u, v, kind="cable", spacing=(180.0, 260.0))
            else:
                node = self.spans(ids, node, u, v)
        at: dict[int, int] = {entry: node}
        self.junction_node.append(at)

        # devices on the trunk by distance along it
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
        trunk_set = set(trunk)
        lateral_devices: dict[int, str] = {}
        poles: list[_Pole] = []

        def device(kind: str, a: int, xy: np.ndarray) -> int:
            letter = {"recloser": "R", "switch": "S", "sectionalizer": "X", "fuse": "F"}[kind]
            node = b.node(ids("N"), xy, 10.0)
            b.edge(
                ids(letter),
                kind,
                a,
                node,
                scada=kind == "recloser" or (kind == "switch" and rng.random() < 0.5),
            )
            return node

        stack: list[tuple[int, int, bool]] = [(entry, node, True)]
        while stack:
            u, n_u, on_trunk = stack.pop()
            order = sorted(kids[u], key=lambda c: (c not in trunk_set, c))
            branch_children = [c for c in order if c not in trunk_set]
            cont: int | None = None
            if on_trunk:
                cont = next((c for c in order if c in trunk_set), None)
            elif kids[u]:
                cont = max(kids[u], key=lambda c: load[c] + self.weight[c])
                branch_children = [c for c in order if c != cont]
            for c in branch_children:  # laterals and taps leave here
                start = n_u
                if on_trunk or raw[c] + self.g[u][c]["length"] >= 400.0:
                    start = device("fuse", n_u, b.node_xy[n_u])
                    lat = heavy_path(c)
                    lat_len = raw[c] + self.g[u][c]["length"]
                    if lat_len > 700.0 and len(lat) > 2:
                        lcum = np.cumsum(
                            [self.g[x][y]["length"] for x, y in itertools.pairwise(lat)]
                        )
                        i = int(np.searchsorted(lcum, 0.45 * lcum[-1]))
                        kind = "sectionalizer" if rng.random() < 0.5 else "switch"
                        lateral_devices[lat[min(i + 1, len(lat) - 1)]] = kind
                n_c = self.spans(ids, start, u, c, poles=poles, leaf=not kids[c])
                at[c] = n_c
                if c in lateral_devices:
                    n_c = device(lateral_devices[c], n_c, b.node_xy[n_c])
                stack.append((c, n_c, False))
            if cont is not None:
                n_c = self.spans(ids, n_u, u, cont, poles=poles, leaf=not kids[cont])
                at[cont] = n_c
                for kind in trunk_devices.get(cont, []) if on_trunk else []:
                    n_c = device(kind, n_c, b.node_xy[n_c])
                if not on_trunk and cont in lateral_devices:
                    n_c = device(lateral_devices[cont], n_c, b.node_xy[n_c])
                stack.append((cont, n_c, on_trunk))
        self.build_lv(ids, k, poles)

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
                    xy = _point_at(pole.poly, pole.cum, s)[0]
                    node = b.node(ids("V"), xy, 0.4)
                    b.edge(ids("W"), "line", prev, node, _cut(pole.poly, pole.cum, s_prev, s))
                    lv_nodes.append((node, s))
                    prev, s_prev = node, s
            for node, s in lv_nodes:
                for i in range(int(rng.integers(area.sp[0], area.sp[1] + 1))):
                    side = 1 if (i + int(s)) % 2 == 0 else -1
                    foot, tangent = _point_at(pole.poly, pole.cum, s + rng.uniform(-15.0, 15.0))
                    normal = np.array([-tangent[1], tangent[0]])
                    xy = foot + side * normal * rng.uniform(12.0, 30.0)
                    sp = b.node(ids("P"), xy, 0.4)
                    kind = "cable" if self.is_cable(pole.seg) else "line"
                    b.edge(ids("D"), kind, node, sp)
                    self.service_points.append(
                        _ServicePoint(sp, xy, pole.seg.area, pole.seg.name, side, k)
                    )

    def build_ties(self) -> None:
        """Normally-open ties on roads where two feeders meet (non-tree roads)."""
        rng, b = self.rng, self.b
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
        pairs = sorted(best.values())
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
            a_node = self.junction_node[fa][u]
            last = self.spans(ids, a_node, u, v)
            b.edge(
                f"TIE{t + 1}",
                "switch",
                last,
                self.junction_node[fb][v],
                closed=False,
                scada=rng.random() < 0.5,
                name=f"Tie F{fa + 1}-F{fb + 1}",
            )
        self.n_ties = len(chosen)


class _People:
    """Unique fictional names, phone numbers, meter and account numbers."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.phones: set[str] = set()
        self.meters: set[str] = set()
        self.accounts: set[str] = set()

    def name(self) -> str:
        rng = self.rng
        given = _GIVEN[int(rng.integers(len(_GIVEN)))]
        if rng.random() < 0.35:
            given += _GIVEN[int(rng.integers(len(_GIVEN)))].lower()
        return f"{_SURNAMES[int(rng.integers(len(_SURNAMES)))]} {given}"

    def _unique(self, pool: set[str], make: Any) -> str:
        while True:
            value = make()
            if value not in pool:
                pool.add(value)
                return str(value)

    def phone(self, landline: bool = False) -> str:
        """E.164 number: a mobile, or a landline of the (fictional) local area code."""
        rng = self.rng
        if landline:
            return self._unique(self.phones, lambda: f"+86539{rng.integers(2000000, 8999999)}")
        return self._unique(
            self.phones,
            lambda: (
                "+86"
                + _MOBILE_PREFIXES[int(rng.integers(len(_MOBILE_PREFIXES)))]
                + f"{int(rng.integers(0, 100_000_000)):08d}"
            ),
        )

    def meter(self) -> str:
        return self._unique(self.meters, lambda: f"M{int(self.rng.integers(10**9, 10**10))}")

    def account(self) -> str:
        return self._unique(self.accounts, lambda: f"53{int(self.rng.integers(10**7, 10**8))}")


def _customers(
    builder: _DemoNetworkBuilder, people: _People, rng: np.random.Generator
) -> dict[str, list[Any]]:
    """Individual customers at the service points, with ~1 % critical.

    Returns the columns of contract 2 (``node`` as positions), in local metres.
    """
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "id",
            "node",
            "name",
            "phone",
            "address",
            "x",
            "y",
            "meter",
            "account",
            "critical",
        )
    }
    house_no: dict[str, list[int]] = {}

    def address(sp: _ServicePoint) -> str:
        numbers = house_no.setdefault(sp.road, [1, 2])
        side = 0 if sp.side > 0 else 1
        no = numbers[side]
        numbers[side] += 2
        place = _TOWN if sp.area in ("urban", "suburb") else f"{_TOWN} County"
        return f"{no} {sp.road}, {place}"

    def add(sp: _ServicePoint, name: str, addr: str, landline: bool, critical: str = "") -> None:
        k = len(rows["id"]) + 1
        rows["id"].append(f"C{k:05d}")
        rows["node"].append(sp.node)
        rows["name"].append(name)
        rows["phone"].append(people.phone(landline))
        rows["address"].append(addr)
        jitter = rng.uniform(-6.0, 6.0, 2)
        rows["x"].append(float(sp.xy[0] + jitter[0]))
        rows["y"].append(float(sp.xy[1] + jitter[1]))
        rows["meter"].append(people.meter())
        rows["account"].append(people.account())
        rows["critical"].append(critical)

    # landmarks: who is critical for what reason
    def nearest_sp(p: Any, area: str | None = None) -> int:
        best, best_d = -1, math.inf
        for i, sp in enumerate(builder.service_points):
            if area and sp.area != area:
                continue
            d = float(np.hypot(*(sp.xy - np.asarray(p))))
            if d < best_d:
                best, best_d = i, d
        return best

    special: dict[int, tuple[str, str]] = {
        nearest_sp((-420.0, 380.0), "urban"): (f"{_TOWN} County People's Hospital", "hospital"),
        nearest_sp((900.0, -700.0), "urban"): (
            f"{_TOWN} Traditional Medicine Hospital",
            "hospital",
        ),
        nearest_sp((-1200.0, 800.0), "urban"): (f"{_TOWN} Water Works", "water"),
    }
    for vname in ("Lijiazhuang", "Zhaocun", "Xiaohe"):
        pool = builder.marks["villages"][vname]
        p = builder.jxy[pool].mean(axis=0)
        special[nearest_sp(p, "village")] = (f"{vname} Township Health Centre", "hospital")
    for angle in (40.0, 160.0, 280.0):
        special[nearest_sp(_polar(angle, 3500.0), "rural")] = (
            f"{_TOWN} Pumping Station No. {len(special) - 5}",
            "water",
        )

    for i, sp in enumerate(builder.service_points):
        if i in special:
            name, reason = special[i]
            add(sp, name, address(sp), True, reason)
            continue
        addr = address(sp)
        r = rng.random()
        if sp.area in ("urban", "suburb") and r < (0.035 if sp.area == "urban" else 0.05):
            n_flats = int(rng.integers(6, 25))
            building = addr
            for flat in range(n_flats):
                floor, unit = 1 + flat // 4, 1 + flat % 4
                add(sp, people.name(), f"Flat {floor}0{unit}, {building}", False)
        elif sp.area == "urban" and r < 0.24:
            shop = _SHOPS[int(rng.integers(len(_SHOPS)))]
            owner = people.name().split()[0]
            add(sp, f"{owner}'s {shop}", addr, True)
        else:
            add(sp, people.name(), addr, False)
            if sp.area == "village" and rng.random() < 0.08:
                add(sp, people.name(), addr, False)
    # life-support customers at home: about 0.8 % of households
    homes = [
        i
        for i, (crit, name) in enumerate(zip(rows["critical"], rows["name"], strict=True))
        if not crit and "'" not in name
    ]
    n_life = round(0.008 * len(rows["id"]))
    for i in sorted(rng.choice(homes, n_life, replace=False).tolist()):
        rows["critical"][i] = "life_support"
    return rows


def _zones(roads: _Roads, marks: dict[str, Any]) -> list[tuple[str, str, str, str, Any]]:
    """Response zones ``(id, name, area_class, unit, polygon in metres)``.

    The town (grid and suburbs) is urban, the plain out to 11 km (and
    around the villages) rural, the hills beyond remote; each is cut into
    sectors. Together they cover the whole area without overlap.
    """
    from shapely.geometry import MultiPoint, Point, Polygon, box
    from shapely.ops import unary_union

    jxy = np.array(roads.xy)
    town_pts = jxy[marks["town"] + [v for pool in marks["suburbs"] for v in pool]]
    town = MultiPoint([tuple(p) for p in town_pts]).convex_hull.buffer(350.0, quad_segs=4)
    village_pts = [tuple(p) for pool in marks["villages"].values() for p in jxy[pool]]
    plain = unary_union(
        [Point(0, 0).buffer(11000.0, quad_segs=16), MultiPoint(village_pts).buffer(1500.0)]
    )
    all_xy = np.vstack([seg.coords for seg in roads.segs])
    lo, hi = all_xy.min(axis=0) - 2500.0, all_xy.max(axis=0) + 2500.0
    outer = box(lo[0], lo[1], hi[0], hi[1]).union(plain.buffer(1000.0))

    def wedge(a0: float, a1: float) -> Any:
        angles = np.radians(np.linspace(a0, a1, 32))
        ring = [(0.0, 0.0)] + [(1e6 * math.cos(a), 1e6 * math.sin(a)) for a in angles]
        return Polygon(ring)

    quarters = (
        ("North", 45.0, 135.0),
        ("West", 135.0, 225.0),
        ("South", 225.0, 315.0),
        ("East", -45.0, 45.0),
    )
    zones: list[tuple[str, str, str, str, Any]] = []
    for name, a0, a1 in quarters:
        zones.append(
            (
                f"Z-U{len(zones) + 1}",
                f"{_TOWN} {name}",
                "urban",
                "U1",
                town.intersection(wedge(a0, a1)),
            )
        )
    rural = plain.difference(town)
    for name, a0, a1 in quarters:
        unit = "U2" if name in ("North", "East") else "U3"
        zones.append(
            (
                f"Z-R{len(zones) - 3}",
                f"{name} Plain",
                "rural",
                unit,
                rural.intersection(wedge(a0, a1)),
            )
        )
    remote = outer.difference(plain)
    for k, (name, a0, a1) in enumerate(
        (("Northern Hills", 0.0, 180.0), ("Southern Hills", 180.0, 360.0))
    ):
        zones.append((f"Z-M{k + 1}", name, "remote", "U4", remote.intersection(wedge(a0, a1))))
    return zones


def _units_and_crews(
    zones: list[tuple[str, str, str, str, Any]],
    roads: _Roads,
    people: _People,
    rng: np.random.Generator,
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Repair units (contract 2b') and crews (contract 2b), positions in metres."""
    from shapely.geometry import Point

    units = [
        {"id": "U1", "name": f"{_TOWN} Urban Repair Team"},
        {"id": "U2", "name": "Eastern Rural Repair Team"},
        {"id": "U3", "name": "Western Rural Repair Team"},
        {"id": "U4", "name": "Mountain District Repair Team"},
        {"id": "U5", "name": "Regional Emergency Team"},
    ]
    for u in units:
        u["first_contact"] = people.phone()
        u["second_contact"] = people.phone()
        u["leader"] = people.phone()
    jxy = np.array(roads.xy)

    def depot(poly: Any) -> np.ndarray:
        """A road junction inside the zone near its middle (crews start on roads)."""
        target = np.array(poly.representative_point().coords[0])
        order = np.argsort(np.hypot(*(jxy - target).T))
        for j in order[:400].tolist():
            if poly.contains(Point(*jxy[j])):
                return jxy[j]
        return target

    crews: list[dict[str, Any]] = []

    def crew(
        name: str,
        unit: str,
        zone: str,
        skills: str,
        kv: str,
        shift: tuple[str, str],
        where: np.ndarray,
    ) -> None:
        xy = where + rng.uniform(-20.0, 20.0, 2)
        crews.append(
            {
                "id": f"CR{len(crews) + 1:02d}",
                "name": name,
                "unit": unit,
                "skills": skills,
                "zone": zone,
                "x": float(xy[0]),
                "y": float(xy[1]),
                "voltage_kv": kv,
                "shift_start": shift[0],
                "shift_end": shift[1],
                "phone": people.phone(),
            }
        )

    day, late, night = ("08:00", "17:00"), ("14:00", "22:00"), ("20:00", "08:00")
    for zid, zname, area, unit, poly in zones:
        home = depot(poly)
        short = zname.replace(f"{_TOWN} ", "Town ")
        if area == "urban":
            crew(f"{short} Line Crew", unit, zid, "line;cable;service", "0.4;10", day, home)
            crew(f"{short} Service Crew", unit, zid, "service", "0.4", late, home)
        elif area == "rural":
            crew(f"{short} Crew", unit, zid, "line;tree;service", "0.4;10", day, home)
        else:
            crew(
                f"{short} Crew",
                unit,
                zid,
                "line;tree;service;emergency",
                "0.4;10",
                ("07:30", "16:30"),
                home,
            )
    east = next(z for z in zones if z[0] == "Z-U4")
    crew("Town Night Crew", "U1", east[0], "line;cable;service", "0.4;10", night, depot(east[4]))
    north = next(z for z in zones if z[0] == "Z-R1")
    crew("North Plain Tree Crew", "U2", north[0], "tree;line", "0.4;10", day, depot(north[4]))
    base = depot(next(z for z in zones if z[0] == "Z-U2")[4])
    crew("Emergency Crew 1", "U5", "", "line;cable;tree;service;emergency", "0.4;10", day, base)
    crew(
        "Emergency Crew 2",
        "U5",
        "",
        "line;cable;tree;service;emergency",
        "0.4;10",
        ("22:00", "06:00"),
        base,
    )
    crew("Cable Jointing Crew", "U5", "", "cable;emergency", "10", day, base)
    return units, crews


@dataclass
class DemoArea:
    """The demo data set: a network with customers, roads, zones, units and crews.

    Attributes
    ----------
    network : Network
        The network in its normal state, with individual customers.
    roads : dict
        Contract-2d GeoJSON FeatureCollection (LineStrings with ``name``,
        ``class``, ``speed_kmh``, ``oneway``).
    zones : dict
        Contract-2c GeoJSON FeatureCollection (``id``, ``name``,
        ``area_class``, ``unit``).
    units : list of dict
        Contract-2b' rows (``id``, ``name``, ``first_contact``,
        ``second_contact``, ``leader``).
    crews : list of dict
        Contract-2b rows (``id``, ``name``, ``unit``, ``skills``, ``zone``,
        ``lon``, ``lat``, ``voltage_kv``, ``shift_start``, ``shift_end``,
        ``phone``).
    name : str
        Name of the (fictional) town.
    center : (float, float)
        Longitude and latitude of the town centre.
    seed : int
        The seed it was made with.
    """

    network: Network
    roads: dict[str, Any]
    zones: dict[str, Any]
    units: list[dict[str, str]]
    crews: list[dict[str, Any]]
    name: str = _TOWN
    center: tuple[float, float] = DEMO_CENTER
    seed: int = 7
    feeder_names: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        """Counts and lengths describing the data set (as in docs/demo-network.md)."""
        net = self.network
        kinds = {k: int((net.edge_kind == i).sum()) for i, k in enumerate(EDGE_KINDS)}
        customers = net.customers
        critical: dict[str, int] = {}
        if customers is not None:
            for c in customers.fields.get("critical", []):
                if c:
                    critical[c] = critical.get(c, 0) + 1
        zone_classes: dict[str, int] = {}
        for f in self.zones["features"]:
            cls = f["properties"]["area_class"]
            zone_classes[cls] = zone_classes.get(cls, 0) + 1
        road_km: dict[str, float] = {}
        for f in self.roads["features"]:
            coords = np.array(f["geometry"]["coordinates"])
            lat = math.radians(float(coords[:, 1].mean()))
            d = np.diff(coords, axis=0) * np.array([math.cos(lat), 1.0]) * math.pi / 180 * _EARTH_R
            cls = f["properties"]["class"]
            road_km[cls] = road_km.get(cls, 0.0) + float(np.hypot(*d.T).sum()) / 1000.0
        mv = net.kind_mask("line", "cable") & (net.node_voltage_kv[net.edge_from] >= 10)
        return {
            "substations": int(net.node_source.sum()),
            "meshed_substations": int(sum(1 for e in net.edge_ids if e.endswith("-TR2"))),
            "feeders": kinds["breaker"],
            "nodes": net.n_nodes,
            "edges": net.n_edges,
            "edge_kinds": kinds,
            "ties": int((~net.edge_normal_closed).sum()),
            "service_points": int(sum(1 for n in net.node_ids if "-P" in n)),
            "customers": int(net.node_customers.sum()),
            "critical_customers": critical,
            "mv_line_km": round(float(net.edge_length_m[mv].sum()) / 1000.0, 1),
            "zones": zone_classes,
            "units": len(self.units),
            "crews": len(self.crews),
            "night_crews": sum(1 for c in self.crews if c["shift_end"] < c["shift_start"]),
            "roads": len(self.roads["features"]),
            "road_km": {k: round(v, 1) for k, v in sorted(road_km.items())},
            "road_km_total": round(sum(road_km.values()), 1),
            "oneway_roads": sum(1 for f in self.roads["features"] if f["properties"]["oneway"]),
        }

    def write(self, directory: str | Path) -> list[Path]:
        """Write the six files of the data set; see :func:`write_demo`."""
        return write_demo(directory, area=self)


def _round_coords(xy: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 7), round(float(y), 7)] for x, y in xy]


def demo_area(seed: int = 7) -> DemoArea:
    """Generate the demo area of the fictional county town of Qingshui.

    First a road network is laid out (a jittered urban grid with one-way
    streets downtown, two suburbs, six villages, county and national roads
    with farm tracks, two long mountain roads to hamlets), then the network
    is strung along the roads: three substations (one meshed, with two
    parallel transformers), twelve feeders each owning the roads nearest
    its substation (balanced by expected load), a trunk along the heaviest
    road path with reclosers and sectionalizing switches, fused laterals
    (a sectionalizer or switch on long ones), poles every 40-120 m whose
    spans follow the road geometry, distribution transformers with LV lines
    along the road and service points beside it, and normally-open ties on
    roads where two feeders meet. Customers are individuals (about 1 %
    critical), with fictional names, unique phone numbers, meters and
    accounts.

    Parameters
    ----------
    seed : int
        Seed; the shipped fixtures use 7.

    Returns
    -------
    DemoArea

    Notes
    -----
    About 10,000 nodes and 6,400 customers; runs in about a second.
    O(n log n) apart from the feeder partition, which is quadratic in the
    number of road junctions (a few hundred).
    """
    rng = np.random.default_rng(seed)
    roads, marks = _make_roads(rng)
    builder = _DemoNetworkBuilder(roads, marks, rng)
    builder.build()
    people = _People(rng)
    rows = _customers(builder, people, rng)
    zones = _zones(roads, marks)
    units, crews = _units_and_crews(zones, roads, people, rng)
    center = DEMO_CENTER
    b = builder.b

    # breaker capacities: 1.5-2x the customers each feeder carries
    per_feeder = np.zeros(len(builder.breakers))
    feeder_of_node = {sp.node: sp.feeder for sp in builder.service_points}
    for node in rows["node"]:
        per_feeder[feeder_of_node[node]] += 1
    for k, e in enumerate(builder.breakers):
        b.edge_cap[e] = float(math.ceil(per_feeder[k] * rng.uniform(1.5, 2.0) / 10.0) * 10)

    xy = _to_lonlat(np.array(b.node_xy), center)
    offsets = [0]
    coords: list[np.ndarray] = []
    for g in b.edge_geom:
        if g is not None:
            coords.append(g)
        offsets.append(offsets[-1] + (0 if g is None else len(g)))
    geom = _to_lonlat(np.vstack(coords), center) if coords else np.zeros((0, 2))
    # keep edge ends exactly on their (rounded) nodes
    xy = np.round(xy, 7)
    geom = np.round(geom, 7)
    off = np.array(offsets)
    has = np.diff(off) >= 2
    idx = np.flatnonzero(has)
    geom[off[idx]] = xy[np.array(b.edge_from)[idx]]
    geom[off[idx + 1] - 1] = xy[np.array(b.edge_to)[idx]]

    cust_ll = np.round(_to_lonlat(np.column_stack([rows["x"], rows["y"]]), center), 7)
    customers = Customers(
        ids=rows["id"],
        node=np.array(rows["node"], dtype=np.int64),
        fields={
            "name": rows["name"],
            "phone": rows["phone"],
            "address": rows["address"],
            "lon": cust_ll[:, 0].tolist(),
            "lat": cust_ll[:, 1].tolist(),
            "meter": rows["meter"],
            "account": rows["account"],
            "critical": [c or None for c in rows["critical"]],
        },
    )
    net = Network(
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

    road_features = []
    for k, seg in enumerate(roads.segs):
        road_features.append(
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
                    "coordinates": _round_coords(_to_lonlat(seg.coords, center)),
                },
            }
        )
    zone_features = []
    for zid, zname, area, unit, poly in zones:
        zone_features.append(
            {
                "type": "Feature",
                "properties": {"id": zid, "name": zname, "area_class": area, "unit": unit},
                "geometry": _geometry_lonlat(poly, center),
            }
        )
    for c in crews:
        lon, lat = _to_lonlat(np.array([[c.pop("x"), c.pop("y")]]), center)[0]
        c["lon"], c["lat"] = round(float(lon), 7), round(float(lat), 7)
    crew_order = (
        "id",
        "name",
        "unit",
        "skills",
        "zone",
        "lon",
        "lat",
        "voltage_kv",
        "shift_start",
        "shift_end",
        "phone",
    )
    crews = [{k: c[k] for k in crew_order} for c in crews]
    unit_order = ("id", "name", "first_contact", "second_contact", "leader")
    units = [{k: u[k] for k in unit_order} for u in units]
    return DemoArea(
        network=net,
        roads={"type": "FeatureCollection", "features": road_features},
        zones={"type": "FeatureCollection", "features": zone_features},
        units=units,
        crews=crews,
        center=center,
        seed=seed,
        feeder_names=builder.feeder_names,
    )


def _geometry_lonlat(geom: Any, center: tuple[float, float]) -> dict[str, Any]:
    """A shapely (Multi)Polygon in local metres as a GeoJSON geometry in lon/lat."""
    import shapely
    from shapely.geometry import mapping

    doc = mapping(shapely.transform(geom.buffer(0), lambda c: _to_lonlat(c, center).round(7)))

    def lists(obj: Any) -> Any:
        if isinstance(obj, (tuple, list)):
            return [lists(o) for o in obj]
        return float(obj)

    return {"type": doc["type"], "coordinates": lists(doc["coordinates"])}


def synthetic_customers(
    net: Network, seed: int = 0, *, meter_share: float = 1.0, critical_share: float = 0.002
) -> Customers:
    """Individual customers for a network that carries customer counts per node.

    One customer per counted customer, at that node: ids ``C0000001``...,
    phones ``+1555`` and seven digits, meters ``M0000001``... for a
    ``meter_share`` of them, and a ``critical_share`` on life support or a
    hospital. Attach with :func:`topology.attach_customers`. O(customers).
    """
    rng = np.random.default_rng(seed)
    node = np.repeat(np.arange(net.n_nodes), net.node_customers)
    count = len(node)
    ids = [f"C{i:07d}" for i in range(1, count + 1)]
    metered = rng.random(count) < meter_share
    critical = rng.random(count) < critical_share
    reasons = rng.choice(["life_support", "hospital"], count)
    fields: dict[str, list[Any]] = {
        "phone": [f"+1555{i:07d}" for i in range(1, count + 1)],
        "meter": [f"M{i:07d}" if m else None for i, m in enumerate(metered, start=1)],
        "critical": [str(r) if c else None for r, c in zip(reasons, critical, strict=True)],
    }
    return Customers(ids=ids, node=node, fields=fields)


def write_demo(directory: str | Path, seed: int = 7, *, area: DemoArea | None = None) -> list[Path]:
    """Write the demo data set to ``directory`` (created if needed).

    Files: ``network.geojson`` (contract 1), ``customers.csv`` (2),
    ``crews.csv`` (2b), ``units.csv`` (2b'), ``zones.geojson`` (2c) and
    ``roads.geojson`` (2d); GeoJSON written compactly with coordinates
    rounded to 7 decimals (about 1 cm).

    Parameters
    ----------
    directory : path-like
        Where to write.
    seed : int
        Seed of :func:`demo_area` (ignored when ``area`` is given).
    area : DemoArea, optional
        An area already generated.

    Returns
    -------
    list of Path
        The files written. O(size of the data set).
    """
    from topology.io import network_to_geojson, write_customers_csv

    area = area if area is not None else demo_area(seed)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def dump(name: str, doc: dict[str, Any]) -> None:
        path = out / name
        with path.open("w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"), ensure_ascii=False)
            fh.write("\n")
        paths.append(path)

    def table(name: str, rows: list[dict[str, Any]]) -> None:
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)

    dump("network.geojson", network_to_geojson(area.network))
    path = out / "customers.csv"
    write_customers_csv(area.network, path)
    paths.append(path)
    table("crews.csv", area.crews)
    table("units.csv", area.units)
    dump("zones.geojson", area.zones)
    dump("roads.geojson", area.roads)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m topology.synthetic DIRECTORY [--seed N] [--nodes N]``.

    Without ``--nodes`` writes the demo data set (see :func:`write_demo`);
    with it, writes ``network.geojson`` of a :func:`synthetic_network` of
    that many nodes. Prints a JSON summary on stdout.
    """
    parser = argparse.ArgumentParser(
        prog="python -m topology.synthetic",
        description="Generate the demo data set, or a synthetic network of a given size.",
    )
    parser.add_argument("directory", help="output directory")
    parser.add_argument("--seed", type=int, default=None, help="seed (demo default 7, else 0)")
    parser.add_argument("--nodes", type=int, default=None, help="write a synthetic network")
    args = parser.parse_args(argv)
    if args.nodes is not None:
        from topology.io import write_network

        net = synthetic_network(args.nodes, seed=0 if args.seed is None else args.seed)
        out = Path(args.directory)
        out.mkdir(parents=True, exist_ok=True)
        write_network(net, out / "network.geojson")
        summary: dict[str, Any] = {
            "nodes": net.n_nodes,
            "edges": net.n_edges,
            "customers": int(net.node_customers.sum()),
        }
    else:
        area = demo_area(7 if args.seed is None else args.seed)
        paths = write_demo(args.directory, area=area)
        summary = {**area.stats(), "files": {p.name: p.stat().st_size for p in paths}}
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
