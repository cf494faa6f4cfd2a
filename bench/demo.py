"""How fast ``oms demo`` comes up and shows a storm.

Prints one JSON document: seconds from starting ``oms demo`` to the server
answering (target: under 10 s), and to the first outage and the first crew
on site as the API reports them (at ``--speed``).

Usage::

    python bench/demo.py [--speed 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    out: dict[str, float | None] = {"speed": args.speed}
    with tempfile.TemporaryDirectory(prefix="oms-bench-demo-") as tmp:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "oms", "demo", "--port", "0", "--json"],
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stdout is not None
            base = json.loads(proc.stdout.readline())["dispatcher"]["url"].rstrip("/")
            session = requests.Session()
            while True:
                try:
                    if session.get(f"{base}/api/health", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.05)
            out["serving_s"] = round(time.monotonic() - started, 2)
            out["target_serving_s"] = 10.0
            session.post(
                f"{base}/api/login",
                json={"username": "dispatcher", "password": "dispatch-demo"},
                timeout=5,
            )
            out["first_outage_s"] = out["first_crew_on_site_s"] = None
            while time.monotonic() - started < args.timeout:
                if out["first_outage_s"] is None and session.get(f"{base}/api/outages").json():
                    out["first_outage_s"] = round(time.monotonic() - started, 1)
                jobs = session.get(f"{base}/api/jobs").json()
                if any(j["stamps"].get("H") for j in jobs):
                    out["first_crew_on_site_s"] = round(time.monotonic() - started, 1)
                    break
                time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
