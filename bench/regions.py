"""Two control regions on one PostgreSQL: two writers at once against one writer.

Two different generated networks (``topology.synthetic.styles`` or
``topology.synthetic``, ids prefixed per region as
:mod:`oms.simulation.regions` does), each with its own simulated storm
(:mod:`oms.simulation.storms`), are ingested

- (a) by one writer process into one schema holding both networks, the
  two storms merged in time order (one region covering both: the peer);
- (a2) by one writer process into the two regions' schemas, one after the
  other (what regions cost without running at once);
- (b) by two writer processes at once, each into its own region's schema.

Each run starts from freshly loaded schemas; the engines are built before
the clock starts (a barrier starts both writers of (b) together), so what
is timed is ``OutageEngine.ingest``. Prints one JSON document: events/s of
each writer and combined (all events over the wall time from the first
start to the last end), the ratios (b)/(a) and (b)/(a2), and the machine's
load while each ran (the share of all CPUs busy, from ``/proc/stat``,
PostgreSQL's own work included, and the 1-minute load average).

Usage::

    python bench/regions.py                       # 2 x ~20,000 nodes
    python bench/regions.py --nodes 5000 --faults 20   # faults per 1,000 customers
    python bench/regions.py --postgres postgresql+psycopg2://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) in sys.path:  # bench/topology.py must not hide the topology package
    sys.path.remove(str(HERE))
sys.path.insert(0, str(HERE.parent))

import sqlalchemy  # noqa: E402

from oms.config import EngineConfig  # noqa: E402
from oms.engine import OutageEngine  # noqa: E402
from oms.simulation.regions import merged, prefixed  # noqa: E402
from oms.simulation.storms import StormParams, simulate_storm  # noqa: E402
from oms.storage.db import connect  # noqa: E402
from oms.storage.loading import load_model  # noqa: E402
from topology import Network  # noqa: E402
from topology.synthetic import synthetic_customers, synthetic_network  # noqa: E402
from topology.synthetic.styles import styled_network  # noqa: E402

#: The two regions: name, id prefix, phone area code, centre, how the network is made.
REGIONS = (
    ("north", "N-", "612", (-93.30, 45.10), "synthetic"),
    ("south", "S-", "651", (-93.10, 44.90), "eu_ring"),
)


def region_network(kind: str, nodes: int, seed: int, center: tuple[float, float]) -> Network:
    if kind == "synthetic":
        net = synthetic_network(nodes, seed=seed, customers_per_transformer=6.0, center=center)
        net.set_customers(synthetic_customers(net, seed, meter_share=0.9))
        return net
    return styled_network(kind, seed=seed, n_nodes=nodes, meter_share=0.9, center=center)


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class Schemas:
    """Fresh schemas of one database, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def new(self, net: Network, source: str) -> str:
        name = f"bench_{source}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{name}"'))
        self.made.append(name)
        sep = "&" if "?" in self.url else "?"
        url = f"{self.url}{sep}options=-csearch_path%3D{name}"
        db = connect(url)
        load_model(db, net, source)
        db.dispose()
        return url

    def drop(self) -> None:
        with self.admin.connect() as conn:
            for name in self.made:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA "{name}" CASCADE'))
        self.admin.dispose()


def writer(
    jobs: list[tuple[str, list[str]]], batch_size: int, barrier: Any, out: Any, key: str
) -> None:
    """One writer process: build an engine per (url, lines), then ingest them in turn."""
    config = EngineConfig.from_dict({"batch_size": batch_size, "pings": False})
    engines = [(connect(url), lines) for url, lines in jobs]
    built = [(OutageEngine(db, config), lines) for db, lines in engines]
    barrier.wait()
    t0 = time.monotonic()
    cpu0 = time.process_time()
    accepted = 0
    for engine, lines in built:
        report = engine.ingest(lines)
        accepted += report.accepted
        if report.rejected:
            raise SystemExit(f"{key}: {len(report.rejected)} lines rejected: {report.rejected[:3]}")
    cpu = time.process_time() - cpu0
    out[key] = {"start": t0, "end": time.monotonic(), "accepted": accepted, "cpu_s": cpu}
    for db, _ in engines:
        db.dispose()


def run(groups: dict[str, list[tuple[str, list[str]]]], batch_size: int) -> dict[str, Any]:
    """Run one writer process per group at once; their spans and the machine's load."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(groups) + 1)
    manager = ctx.Manager()
    out = manager.dict()
    procs = [
        ctx.Process(target=writer, args=(jobs, batch_size, barrier, out, key))
        for key, jobs in groups.items()
    ]
    for p in procs:
        p.start()
    barrier.wait()
    busy0, total0 = cpu_times()
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a writer failed (exit {p.exitcode})")
    busy1, total1 = cpu_times()
    spans = dict(out)
    manager.shutdown()
    start = min(s["start"] for s in spans.values())
    end = max(s["end"] for s in spans.values())
    events = sum(s["accepted"] for s in spans.values())
    writers = {
        key: {
            "events": s["accepted"],
            "seconds": round(s["end"] - s["start"], 2),
            "events_per_s": round(s["accepted"] / (s["end"] - s["start"]), 1),
            # The writer's own CPU (its share of the wall time: how much of a
            # core it got; PostgreSQL's work for it is in cpu_busy_share).
            "cpu_s": round(s["cpu_s"], 2),
        }
        for key, s in sorted(spans.items())
    }
    return {
        "writers": writers,
        "events": events,
        "wall_s": round(end - start, 2),
        "combined_events_per_s": round(events / (end - start), 1),
        "cpu_busy_share": round((busy1 - busy0) / max(total1 - total0, 1.0), 3),
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20_000, help="nodes of each region")
    parser.add_argument(
        "--faults", type=float, default=10.0, help="sustained faults per 1,000 customers"
    )
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "OMS_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args(argv)
    nets: dict[str, Network] = {}
    lines: dict[str, list[str]] = {}
    stamped: list[tuple[str, str]] = []
    for k, (name, prefix, area, center, kind) in enumerate(REGIONS):
        t0 = time.perf_counter()
        net = prefixed(
            region_network(kind, args.nodes, args.seed + k, center), prefix, area_code=area
        )
        params = StormParams(
            seed=args.seed + 10 + k,
            faults=max(3, round(args.faults * int(net.node_customers.sum()) / 1000)),
            span_minutes=60.0,
            call_rate=0.3,
            ami_rate=0.6,
            nested_share=0.1,
            repair_median_minutes=40.0,
        )
        events = simulate_storm(net, params).events
        for e in events:  # event ids are unique across the utility, as its ids are
            e["id"] = prefix + e["id"]
        nets[name] = net
        lines[name] = [json.dumps(e) for e in events]
        stamped += [(e["time"], line) for e, line in zip(events, lines[name], strict=True)]
        print(
            f"{name}: {kind} {net.n_nodes} nodes, {len(net.customers or [])} customers, "
            f"{len(events)} events ({time.perf_counter() - t0:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
    # One region covering both: the storms as its intake would receive them, in time order.
    both = [line for _, line in sorted(stamped, key=lambda x: x[0])]
    schemas = Schemas(args.postgres)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "regions": {
            name: {
                "nodes": nets[name].n_nodes,
                "customers": int(nets[name].node_customers.sum()),
                "events": len(lines[name]),
                "event_types": dict(Counter(json.loads(x)["type"] for x in lines[name])),
            }
            for name in nets
        },
        "batch_size": args.batch_size,
    }
    try:
        print("(a) one writer, one schema holding both networks...", file=sys.stderr, flush=True)
        whole = schemas.new(merged(list(nets.values())), "all")
        results["a_one_writer_one_schema"] = run({"all": [(whole, both)]}, args.batch_size)
        print("(a2) one writer, the two schemas in turn...", file=sys.stderr, flush=True)
        urls = {name: schemas.new(net, name) for name, net in nets.items()}
        results["a2_one_writer_two_schemas"] = run(
            {"all": [(urls[n], lines[n]) for n in nets]}, args.batch_size
        )
        print("(b) two writers at once, a schema each...", file=sys.stderr, flush=True)
        urls = {name: schemas.new(net, name) for name, net in nets.items()}
        results["b_two_writers"] = run({n: [(urls[n], lines[n])] for n in nets}, args.batch_size)
    finally:
        schemas.drop()
    b = results["b_two_writers"]["combined_events_per_s"]
    results["ratio_b_over_a"] = round(
        b / results["a_one_writer_one_schema"]["combined_events_per_s"], 2
    )
    results["ratio_b_over_a2"] = round(
        b / results["a2_one_writer_two_schemas"]["combined_events_per_s"], 2
    )
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
