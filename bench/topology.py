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
import tracemalloc
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

# Run as ``python bench/topology.py``, Python puts bench/ first on the import
# path, where this very file would shadow the ``topology`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from topology import read_network, write_network  # noqa: E402
from topology.synthetic import synthetic_network  # noqa: E402

TARGETS = {
    "query_ms": 1.0,  # upstream path and downstream count at 1M nodes
    "switch_s": 1.0,  # re-energization after a switch operation
    "model_mb": 2048.0,
    "speedup": 100.0,
}


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux)."""
    return _status_mb("VmRSS")


def reset_peak_rss() -> bool:
    """Reset the process's peak resident memory (VmHWM), where Linux allows it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def deep_mb(*objects: Any) -> tuple[float, float]:
    """What the attributes of ``objects`` hold, in MiB: (everything, numpy arrays only).

    Follows numpy arrays and the builtin containers (lists, tuples, sets,
    dicts) down to their strings and numbers, counting each object once.
    """
    seen: set[int] = set()
    total = arrays = 0
    stack = [value for obj in objects for value in vars(obj).values()]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, np.ndarray):
            # A view counts its header; the array owning the data counts that.
            total += sys.getsizeof(value)
            if value.base is None:
                arrays += value.nbytes
            else:
                stack.append(value.base)
            if value.dtype == object:
                stack.extend(value.ravel().tolist())
            continue
        total += sys.getsizeof(value)
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
    return total / 2**20, arrays / 2**20


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
        "median_ms": round(statistics.median(ms), 4),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 4),
        "n": len(ms),
    }


def ratio(slow: float, fast: float) -> float:
    return round(slow / max(fast, 1e-9), 1)


def bench_size(
    n_nodes: int, seed: int, queries: int, nx_up_queries: int, nx_queries: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    generated = synthetic_network(n_nodes, seed=seed)
    gen_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.geojson"
        t0 = time.perf_counter()
        write_network(generated, path)
        write_s = time.perf_counter() - t0
        file_mb = path.stat().st_size / 2**20
        del generated
        gc.collect()
        base = rss_mb()
        peak_reset = reset_peak_rss()
        t0 = time.perf_counter()
        net = read_network(path)
        load_s = time.perf_counter() - t0
    gc.collect()
    # Loading already builds supply (validation needs it); time a fresh build.
    net.reset_to_normal()
    t0 = time.perf_counter()
    supply = net.supply
    supply_s = time.perf_counter() - t0
    model_rss_mb = rss_mb() - base
    load_peak_mb = _status_mb("VmHWM") - base if peak_reset else float("nan")
    model_mb, arrays_mb = deep_mb(net, supply, supply.tree)

    energized = np.flatnonzero(supply.energized)
    bridges = np.flatnonzero(supply.bridge)
    nodes = rng.choice(energized, queries)
    devices = rng.choice(bridges, queries)

    it = iter(nodes.tolist())
    up = timed(lambda: supply.upstream_edges(next(it)), queries)
    it2 = iter(devices.tolist())
    down = timed(lambda: supply.downstream_customers(next(it2)), queries)

    # One switch operation: open an operable bridge (a device whose opening
    # de-energizes something), rebuild supply and list what went dead; then
    # close it again and rebuild supply (re-energization). Timed separately.
    operable = np.flatnonzero(net.operable & supply.bridge)
    switch = int(rng.choice(operable)) if len(operable) else int(devices[0])
    switch_id = net.edge_ids[switch]
    dead_before = ~supply.energized
    expected_dead = np.sort(supply.downstream_nodes(switch))
    dead_sets: list[np.ndarray] = []

    def open_switch() -> None:
        net.operate(switch_id, "open")
        dead_sets.append(np.flatnonzero(~net.supply.energized))

    def close_switch() -> None:
        net.operate(switch_id, "closed")
        net.supply  # noqa: B018 - rebuild in the normal state

    open_s: list[float] = []
    close_s: list[float] = []
    for _ in range(3):
        open_s += timed(open_switch, 1)
        close_s += timed(close_switch, 1)
    supply = net.supply
    ours_dead = np.setdiff1d(dead_sets[-1], np.flatnonzero(dead_before))

    # The networkx peer: the graph of closed edges, searched per question.
    closed = np.flatnonzero(net.edge_closed)

    def nx_graph() -> nx.Graph:
        g = nx.Graph()
        g.add_edges_from(
            zip(net.edge_from[closed].tolist(), net.edge_to[closed].tolist(), strict=True)
        )
        g.add_nodes_from(range(net.n_nodes))
        return g

    # Its memory: what a second, traced build keeps allocated (the resident
    # size would hide it in memory freed earlier in this process).
    gc.collect()
    tracemalloc.start()
    traced = nx_graph()
    nx_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del traced
    gc.collect()
    t0 = time.perf_counter()
    g = nx_graph()
    nx_build_s = time.perf_counter() - t0
    sources = net.sources.tolist()
    super_root = -1
    g.add_edges_from((super_root, s) for s in sources)
    customers = net.node_customers
    live_customers = int(customers[supply.energized].sum())

    def nx_upstream(v: int) -> list[int]:
        return nx.shortest_path(g, v, super_root)

    def nx_downstream(e: int) -> int:
        a, b = int(net.edge_from[e]), int(net.edge_to[e])
        g.remove_edge(a, b)
        alive = nx.node_connected_component(g, super_root)
        g.add_edge(a, b)
        return live_customers - int(customers[[v for v in alive if v >= 0]].sum())

    def nx_deenergized(e: int) -> list[int]:
        a, b = int(net.edge_from[e]), int(net.edge_to[e])
        g.remove_edge(a, b)
        alive = nx.node_connected_component(g, super_root)
        dead = [v for v in range(net.n_nodes) if v not in alive]
        g.add_edge(a, b)
        return dead

    nx_answers: dict[str, list[Any]] = {"upstream": [], "downstream": [], "deenergized": []}
    it3 = iter(nodes[:nx_up_queries].tolist())
    nx_up = timed(lambda: nx_answers["upstream"].append(nx_upstream(next(it3))), nx_up_queries)
    it4 = iter(devices[:nx_queries].tolist())
    nx_down = timed(lambda: nx_answers["downstream"].append(nx_downstream(next(it4))), nx_queries)
    nx_sw = timed(lambda: nx_answers["deenergized"].append(nx_deenergized(switch)), 3)

    # Same answers? (upstream: same number of edges to the nearest source,
    # since both are shortest paths; the networkx path ends at the super root.)
    agree = {
        "upstream": all(
            len(p) - 2 == len(supply.upstream_edges(v))
            for v, p in zip(nodes[:nx_up_queries].tolist(), nx_answers["upstream"], strict=True)
        ),
        "downstream_count": all(
            c == supply.downstream_customers(e)
            for e, c in zip(devices[:nx_queries].tolist(), nx_answers["downstream"], strict=True)
        ),
        "deenergized": np.array_equal(ours_dead, expected_dead)
        and np.array_equal(
            np.setdiff1d(nx_answers["deenergized"][-1], np.flatnonzero(dead_before)),
            expected_dead,
        ),
    }

    up_s, down_s = summary_ms(up), summary_ms(down)
    nx_up_s, nx_down_s = summary_ms(nx_up), summary_ms(nx_down)
    open_med, close_med = statistics.median(open_s), statistics.median(close_s)
    nx_sw_med = statistics.median(nx_sw)
    depth = supply.tree.depth
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "customers": int(net.node_customers.sum()),
        "max_depth": int(depth.max()),
        "switch": switch_id,
        "switch_deenergized_nodes": len(expected_dead),
        "generate_s": round(gen_s, 3),
        "write_geojson_s": round(write_s, 3),
        "geojson_mb": round(file_mb, 1),
        "load_s": round(load_s, 3),
        "supply_build_s": round(supply_s, 3),
        "model_mb": round(model_mb, 1),
        "model_arrays_mb": round(arrays_mb, 1),
        "model_rss_mb": round(model_rss_mb, 1),
        "load_peak_rss_mb": round(load_peak_mb, 1),
        "upstream": up_s,
        "downstream_count": down_s,
        "switch_deenergized_s": round(open_med, 4),
        "switch_reenergized_s": round(close_med, 4),
        "networkx": {
            "build_s": round(nx_build_s, 3),
            "graph_mb": round(nx_mb, 1),
            "upstream": nx_up_s,
            "downstream_count": nx_down_s,
            "switch_deenergized_s": round(nx_sw_med, 4),
        },
        "speedup": {
            "upstream": ratio(nx_up_s["mean_ms"], up_s["mean_ms"]),
            "downstream_count": ratio(nx_down_s["mean_ms"], down_s["mean_ms"]),
            "switch_deenergized": ratio(nx_sw_med, open_med),
        },
        "agree_with_networkx": agree,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args(argv)
    results = {}
    for n in args.sizes:
        # networkx's upstream path (a bidirectional search) is cheap enough
        # to sample well; its downstream count searches the whole graph.
        nx_up_queries = min(args.queries, 200)
        nx_queries = 50 if n <= 100_000 else 5
        print(f"benchmarking {n} nodes ...", file=sys.stderr)
        results[str(n)] = bench_size(n, args.seed, args.queries, nx_up_queries, nx_queries)
    largest = results[str(max(args.sizes))]
    meets = {
        "upstream_under_1ms": largest["upstream"]["p95_ms"] < TARGETS["query_ms"],
        "downstream_under_1ms": largest["downstream_count"]["p95_ms"] < TARGETS["query_ms"],
        "switch_under_1s": max(largest["switch_deenergized_s"], largest["switch_reenergized_s"])
        < TARGETS["switch_s"],
        "model_under_2gb": largest["model_mb"] < TARGETS["model_mb"],
        "process_under_2gb_after_load": largest["model_rss_mb"] < TARGETS["model_mb"],
        "100x_networkx_per_query": min(
            largest["speedup"]["upstream"], largest["speedup"]["downstream_count"]
        )
        >= TARGETS["speedup"],
        "agree_with_networkx": all(
            all(r["agree_with_networkx"].values()) for r in results.values()
        ),
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
