"""Speed of crew dispatch on a large road graph.

Prints one JSON document: the time of one nearest-crew decision with 1,000
crews on a road graph of about 100,000 nodes (one reverse Dijkstra from the
job reaches every crew), and of a storm batch assignment of 2,000 waiting
jobs to 500 crews (travel-time matrix by one Dijkstra per crew, then
``linear_sum_assignment``), beside a brute-force networkx Dijkstra per crew
for the single decision, measured in the same run. Targets (issue 4): one
decision under 50 ms; the batch under 10 s.

Usage::

    python bench/dispatch.py [--side 316] [--crews 1000] [--jobs 2000] [--batch-crews 500]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) in sys.path:  # bench/topology.py must not hide the topology package
    sys.path.remove(str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

from oms.dispatch.roads import RoadGraph, geodesic_m  # noqa: E402
from oms.dispatch.rules import CrewView, DispatchRules, JobView, assign_batch, suggest  # noqa: E402

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)


def grid_roads(side: int, seed: int) -> RoadGraph:
    """A jittered street grid of ``side`` x ``side`` nodes, about 100 m apart."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    lon = 118.0 + ii.ravel() * 0.0011 + rng.normal(0, 0.0002, side * side)
    lat = 35.7 + jj.ravel() * 0.0009 + rng.normal(0, 0.0002, side * side)
    xy = np.c_[lon, lat]
    idx = np.arange(side * side).reshape(side, side)
    tail = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    head = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    speed = rng.choice([30.0, 50.0, 80.0], len(tail), p=[0.6, 0.3, 0.1])
    secs = geodesic_m(xy[tail, 0], xy[tail, 1], xy[head, 0], xy[head, 1]) / (speed / 3.6)
    return RoadGraph(xy, np.r_[tail, head], np.r_[head, tail], np.r_[secs, secs])


def crews_at(points: np.ndarray) -> list[CrewView]:
    return [
        CrewView(
            f"C{k}",
            "U1",
            None,
            ("line",),
            (10.0,),
            float(x),
            float(y),
            gps_time=NOW - timedelta(minutes=1),
        )
        for k, (x, y) in enumerate(points)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--side", type=int, default=316, help="grid side (316: about 100,000 nodes)"
    )
    parser.add_argument("--crews", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--batch-crews", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    roads = grid_roads(args.side, args.seed)
    build_s = time.perf_counter() - t0
    crews = crews_at(roads.xy[rng.choice(roads.n_nodes, args.crews, replace=False)])

    samples = []
    for _ in range(args.repeat):
        x, y = roads.xy[rng.integers(roads.n_nodes)]
        job = JobView("J", float(x), float(y), None, ("line",), 10.0, 1.0)
        t0 = time.perf_counter()
        suggest(job, crews, NOW, roads=roads)
        samples.append(time.perf_counter() - t0)

    # The peer: a plain networkx Dijkstra from each crew to the job.
    import networkx as nx

    g = nx.DiGraph()
    coo = roads.forward.tocoo()
    g.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    x, y = roads.xy[rng.integers(roads.n_nodes)]
    target = int(roads.snap(np.array([[x, y]])).node[0])
    t0 = time.perf_counter()
    lengths = nx.single_source_dijkstra_path_length(g.reverse(copy=False), target)
    peer_s = time.perf_counter() - t0
    assert len(lengths) > 0

    batch_crews = crews_at(roads.xy[rng.choice(roads.n_nodes, args.batch_crews, replace=False)])
    jobs = [
        JobView(f"J{k}", float(x), float(y), None, ("line",), 10.0, float(rng.integers(1, 100)))
        for k, (x, y) in enumerate(roads.xy[rng.choice(roads.n_nodes, args.jobs, replace=False)])
    ]
    t0 = time.perf_counter()
    rules = DispatchRules(workers=os.cpu_count() or 1)
    decisions = assign_batch(jobs, batch_crews, NOW, roads=roads, rules=rules)
    batch_s = time.perf_counter() - t0
    assigned = sum(1 for d in decisions if d.crew is not None)

    one_ms = statistics.median(samples) * 1000
    doc = {
        "road_graph": {"nodes": roads.n_nodes, "arcs": roads.n_arcs, "build_s": round(build_s, 3)},
        "nearest_crew": {
            "crews": args.crews,
            "median_ms": round(one_ms, 2),
            "p95_ms": round(sorted(samples)[int(0.95 * (len(samples) - 1))] * 1000, 2),
            "networkx_one_search_ms": round(peer_s * 1000, 1),
            "speedup_vs_networkx": round(peer_s * 1000 / one_ms, 1),
            "target_ms": 50.0,
            "meets_target": one_ms < 50.0,
        },
        "storm_batch": {
            "jobs": args.jobs,
            "crews": args.batch_crews,
            "assigned": assigned,
            "seconds": round(batch_s, 2),
            "processes": rules.workers,
            "target_s": 10.0,
            "meets_target": batch_s < 10.0,
        },
    }
    json.dump(doc, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
