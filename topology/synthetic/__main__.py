"""``python -m topology.synthetic DIRECTORY --nodes N [--seed S]``.

Writes a :func:`~topology.synthetic.synthetic_network` of N nodes to
``DIRECTORY/network.geojson`` and prints a JSON summary. The demo data set
is written by ``python -m oms.demo_build DIRECTORY``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write a synthetic network; returns the exit status."""
    from topology.io import write_network
    from topology.synthetic import synthetic_network

    parser = argparse.ArgumentParser(
        prog="python -m topology.synthetic",
        description="Generate a synthetic network of a given size "
        "(the demo data set: python -m oms.demo_build).",
    )
    parser.add_argument("directory", help="output directory")
    parser.add_argument("--nodes", type=int, required=True, help="number of nodes")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    args = parser.parse_args(argv)
    net = synthetic_network(args.nodes, seed=args.seed)
    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    write_network(net, out / "network.geojson")
    summary: dict[str, Any] = {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "customers": int(net.node_customers.sum()),
    }
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
