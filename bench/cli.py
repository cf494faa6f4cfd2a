"""Wall-clock time of ``oms trace ... --json``, interpreter start-up included.

Runs each trace command as a fresh process (as an engineer or a script
would) on the demo network and on a generated network of about 30,000
nodes, and prints one JSON document with the median and worst of several
runs. Targets: under 2 s on the demo, under 5 s at 30,000 nodes.

Usage::

    python bench/cli.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as ``python bench/cli.py``, Python puts bench/ first on the import path,
# where bench/topology.py would shadow the ``topology`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from topology import write_network  # noqa: E402
from topology.synthetic import synthetic_network  # noqa: E402

TARGET_S = {"demo": 2.0, "synthetic_30k": 5.0}


def pick_elements(net_arg: str) -> dict[str, list[str]]:
    """Representative elements of a network: a deep node, a recloser, a trunk line, a source."""
    from oms.cli.options import load_network

    net = load_network(net_arg, None, None, None)
    supply = net.supply
    deep = int(supply.tree.depth[: net.n_nodes].argmax())
    recloser = next(
        i for i in range(net.n_edges) if net.kind_of(i) == "recloser" and supply.bridge[i]
    )
    path = supply.upstream_edges(deep)
    line = next(e for e in reversed(path) if net.kind_of(e) in ("line", "cable"))
    node, rec, ln = net.node_ids[deep], net.edge_ids[recloser], net.edge_ids[line]
    source = net.node_ids[supply.source_of(deep)]
    return {
        "upstream": [node],
        "downstream": [rec],
        "feeder": [node],
        "deenergized": ["--open", rec],
        "loops": [],
        "isolate": [ln],
        "restore": [ln],
        "path": [node, source],
    }


def time_command(args: list[str], runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        samples.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(samples), 3), "max_s": round(max(samples), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    oms = [sys.executable, "-m", "oms"]
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "net30k.geojson"
        write_network(synthetic_network(30_000, seed=3), big)
        for name, net_arg in (("demo", "demo"), ("synthetic_30k", str(big))):
            timings = {}
            for command, extra in pick_elements(net_arg).items():
                timings[command] = time_command(
                    [*oms, "trace", command, net_arg, *extra, "--json"], args.runs
                )
            worst = max(t["max_s"] for t in timings.values())
            results[name] = {
                "commands": timings,
                "worst_s": worst,
                "target_s": TARGET_S[name],
                "meets": worst < TARGET_S[name],
            }
    print(json.dumps({"benchmark": "cli", "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
