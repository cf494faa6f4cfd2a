"""Benchmark of the topology engine against a plain networkx search.

Prints one JSON document: for each network size, the load time (GeoJSON
file to model), the model's memory, the supply-tree build time, and the
latency of an upstream path, a downstream customer count and the
de-energized set after one switch operation, each beside the same answer
from a plain networkx search measured in the same run (the machine is
shared and noisy, so the ratio is the figure to watch).

Usage::

    python bench/topology.py                       # 10k, 100k, 1M nodes
    python bench/topology.py --sizes 10000 100000  # a quicker run
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from topology import read_network, write_network
from topology.synthetic import synthetic_network

TARGETS = {
    "query_ms": 1.0,  # upstream path and downstream count at 1M nodes
    "switch_s": 1.0,  # re-energization after a switch operation
    "model_mb": 2048.0,
    "speedup": 100.0,
}


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary_ms(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "mean_ms": round(statistics.fmean(ms), 4),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 4),
        "n": len(ms),
    }


def bench_size(n_nodes: int, seed: int, queries: int, nx_queries: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    generated = synthetic_network(n_nodes, seed=seed)
    gen_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.geojson"
        write_network(generated, path)
        file_mb = path.stat().st_size / 2**20
        del generated
        gc.collect()
        base = rss_mb()
        t0 = time.perf_counter()
        net = read_network(path)
        load_s = time.perf_counter() - t0
    gc.collect()
    t0 = time.perf_counter()
    supply = net.supply
    supply_s = time.perf_counter() - t0
    model_mb = rss_mb() - base

    energized = np.flatnonzero(supply.energized)
    bridges = np.flatnonzero(supply.bridge)
    nodes = rng.choice(energized, queries)
    devices = rng.choice(bridges, queries)

    it = iter(nodes.tolist())
    up = timed(lambda: supply.upstream_edges(next(it)), queries)
    it2 = iter(devices.tolist())
    down = timed(lambda: supply.downstream_customers(next(it2)), queries)

    # One switch operation: open a bridge, rebuild supply, list what went dead.
    switch = int(devices[0])
    operable = np.flatnonzero(net.operable & supply.bridge)
    if len(operable):
        switch = int(rng.choice(operable))
    switch_id = net.edge_ids[switch]

    def one_switch() -> None:
        net.operate(switch_id, "open")
        np.flatnonzero(~net.supply.energized)
        net.operate(switch_id, "closed")
        net.supply  # noqa: B018 - rebuild back to the normal state

    switch_s = timed(one_switch, 3)

    # The networkx peer: the graph of closed edges, searched per question.
    base_nx = rss_mb()
    t0 = time.perf_counter()
    g = nx.Graph()
    closed = np.flatnonzero(net.edge_closed)
    g.add_edges_from(zip(net.edge_from[closed].tolist(), net.edge_to[closed].tolist(), strict=True))
    g.add_nodes_from(range(net.n_nodes))
    nx_build_s = time.perf_counter() - t0
    nx_mb = rss_mb() - base_nx
    sources = net.sources.tolist()
    super_root = -1
    g.add_edges_from((super_root, s) for s in sources)
    customers = net.node_customers

    def nx_upstream(v: int) -> None:
        nx.shortest_path(g, v, super_root)

    def nx_downstream(e: int) -> None:
        a, b = int(net.edge_from[e]), int(net.edge_to[e])
        g.remove_edge(a, b)
        alive = nx.node_connected_component(g, super_root)
        g.add_edge(a, b)
        int(customers.sum() - customers[[v for v in alive if v >= 0]].sum())

    it3 = iter(nodes[:nx_queries].tolist())
    nx_up = timed(lambda: nx_upstream(next(it3)), nx_queries)
    it4 = iter(devices[:nx_queries].tolist())
    nx_down = timed(lambda: nx_downstream(next(it4)), nx_queries)

    def nx_switch() -> None:
        a, b = int(net.edge_from[switch]), int(net.edge_to[switch])
        g.remove_edge(a, b)
        alive = nx.node_connected_component(g, super_root)
        [v for v in range(net.n_nodes) if v not in alive]
        g.add_edge(a, b)

    nx_sw = timed(nx_switch, min(3, nx_queries))

    up_s, down_s = summary_ms(up), summary_ms(down)
    nx_up_s, nx_down_s = summary_ms(nx_up), summary_ms(nx_down)
    depth = net.supply.tree.depth
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "customers": int(net.node_customers.sum()),
        "max_depth": int(depth.max()),
        "generate_s": round(gen_s, 3),
        "geojson_mb": round(file_mb, 1),
        "load_s": round(load_s, 3),
        "supply_build_s": round(supply_s, 3),
        "model_mb": round(model_mb, 1),
        "upstream": up_s,
        "downstream_count": down_s,
        "switch_deenergized_s": round(statistics.median(switch_s) / 2, 4),
        "networkx": {
            "build_s": round(nx_build_s, 3),
            "graph_mb": round(nx_mb, 1),
            "upstream": nx_up_s,
            "downstream_count": nx_down_s,
            "switch_deenergized_s": round(statistics.median(nx_sw), 4),
        },
        "speedup": {
            "upstream": round(nx_up_s["mean_ms"] / max(up_s["mean_ms"], 1e-6), 1),
            "downstream_count": round(nx_down_s["mean_ms"] / max(down_s["mean_ms"], 1e-6), 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args(argv)
    results = {}
    for n in args.sizes:
        nx_queries = 50 if n <= 100_000 else 5
        print(f"benchmarking {n} nodes ...", file=sys.stderr)
        results[str(n)] = bench_size(n, args.seed, args.queries, nx_queries)
    largest = results[str(max(args.sizes))]
    meets = {
        "upstream_under_1ms": largest["upstream"]["p95_ms"] < TARGETS["query_ms"],
        "downstream_under_1ms": largest["downstream_count"]["p95_ms"] < TARGETS["query_ms"],
        "switch_under_1s": largest["switch_deenergized_s"] < TARGETS["switch_s"],
        "model_under_2gb": largest["model_mb"] < TARGETS["model_mb"],
        "100x_networkx": min(largest["speedup"].values()) >= TARGETS["speedup"],
    }
    print(
        json.dumps(
            {
                "benchmark": "topology",
                "results": results,
                "targets": TARGETS,
                "largest": max(args.sizes),
                "meets": meets,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
