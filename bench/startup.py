"""Start-up time of the ``oms`` command, hyperfine-style, against the bare interpreter.

Each command runs as a fresh process (as an engineer's shell loop would),
several times after a warm-up run, and one JSON document gives the mean,
median, min, max and standard deviation of each, plus the ratio against
the peer measured in the same run: ``python -c pass`` (interpreter start-up
alone), and ``python -c "import numpy, scipy.sparse.csgraph"`` for the
trace (the libraries any array-based trace must load). The machine is
shared and noisy: read the ratios beside the absolute figures.

Targets (issue 10): ``oms --help`` and ``oms --version`` under 0.3 s;
``oms trace downstream demo F1-B --json`` under 1 s (parsed network cached,
as it is from the second run on).

Usage::

    python bench/startup.py [--runs 10] [--oms PATH_TO_OMS_SCRIPT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_S = {"help": 0.3, "version": 0.3, "trace_downstream_cached": 1.0}


def measure(args: list[str], runs: int, env: dict[str, str], warmup: int = 1) -> dict[str, float]:
    """Times of ``runs`` fresh processes of ``args`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        subprocess.run(args, check=True, capture_output=True, env=env)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - t0)
    return {
        "mean_s": round(statistics.fmean(samples), 4),
        "median_s": round(statistics.median(samples), 4),
        "min_s": round(min(samples), 4),
        "max_s": round(max(samples), 4),
        "stdev_s": round(statistics.stdev(samples), 4) if len(samples) > 1 else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--oms", default=shutil.which("oms"), help="The installed oms script (default: on PATH)."
    )
    args = parser.parse_args(argv)
    oms = [args.oms] if args.oms else [sys.executable, "-m", "oms"]
    python = [sys.executable]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "OMS_CACHE_DIR": cache}
        peer_start = measure([*python, "-c", "pass"], args.runs, env)
        peer_libs = measure([*python, "-c", "import numpy, scipy.sparse.csgraph"], args.runs, env)
        trace = [*oms, "trace", "downstream", "demo", "F1-B", "--json"]
        commands = {
            "help": ([*oms, "--help"], peer_start),
            "version": ([*oms, "--version"], peer_start),
            "trace_downstream_cached": (trace, peer_libs),
        }
        for name, (command, peer) in commands.items():
            figures = measure(command, args.runs, env)
            results[name] = {
                **figures,
                "peer_median_s": peer["median_s"],
                "ratio_to_peer": round(figures["median_s"] / peer["median_s"], 2),
                "target_s": TARGET_S[name],
                "meets": figures["median_s"] < TARGET_S[name],
            }
        # The first run on a network file parses it (no cache yet).
        cold_env = {**os.environ, "OMS_CACHE_DIR": ""}
        results["trace_downstream_uncached"] = measure(trace, max(3, args.runs // 3), cold_env)
    doc = {
        "benchmark": "startup",
        "runs": args.runs,
        "command": " ".join(oms),
        "peers": {"python -c pass": peer_start, "import numpy, scipy.sparse.csgraph": peer_libs},
        "results": results,
    }
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
