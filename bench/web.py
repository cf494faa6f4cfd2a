"""Speed of the server: API latency under load, event-to-map latency, map first render.

Prints one JSON document. Set-up: a fresh PostgreSQL schema with the demo
network, customers, crews, units, zones and roads; gunicorn with several
gthread workers on loopback (``--workers``); a bearer token of a
dispatcher's device.

- ``api``: 100 concurrent clients (``--clients``), each sending a request
  every ``clients / rate`` seconds (open loop: 200 requests/s in all by
  default) for ``--seconds``: reads of outages, jobs, crews and the health
  check, and one in ten a crew GPS report (a write through the engine).
  p50/p95/p99 latency, achieved rate and errors. Target: p95 < 100 ms.
- ``event_to_stream``: a SCADA event posted to ``/api/events`` until its
  change arrives on an open ``/stream`` (what the map draws from), p50/p95
  over ``--events`` round trips. Target: p95 < 1 s.
- ``map_first_render``: headless Chromium (Debian's) signs in and loads the
  dispatcher map, until the network layer is drawn
  (``window.omsMap.networkCount() > 0``), for the demo network and a
  synthetic network of ``--big-segments`` (100,000) segments served by
  waitress on SQLite. Target: under 3 s.

Usage::

    python bench/web.py [--postgres URL] [--workers 4] [--clients 100] [--rate 200]
                        [--seconds 20] [--events 40] [--skip-map]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) in sys.path:  # bench/topology.py must not hide the topology package
    sys.path.remove(str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import requests  # noqa: E402
import sqlalchemy  # noqa: E402

CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


def prepare(url: str, network: Any = None) -> str:
    """Load the demo (or ``network``) with its companions; a dispatcher and a token."""
    from oms.demodata import demo_path
    from oms.storage.db import connect
    from oms.storage.loading import load, load_model
    from webmap.accounts import add_device, add_user

    engine = connect(url)
    if network is None:
        load(
            engine,
            network=demo_path("network.geojson"),
            customers=demo_path("customers.csv"),
            crews=demo_path("crews.csv"),
            units=demo_path("units.csv"),
            zones=demo_path("zones.geojson"),
            roads=demo_path("roads.geojson"),
        )
    else:
        load_model(engine, network, "bench")
    with engine.begin() as conn:
        add_user(conn, "bench", PASSWORD, "dispatcher")
        _, token = add_device(conn, "bench", "bench client")
    engine.dispose()
    return token


def wait_up(base: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if requests.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not come up")


def api_load(base: str, token: str, clients: int, rate: float, seconds: float) -> dict[str, Any]:
    """Open-loop load: each client fires every ``clients / rate`` s. Latencies in ms.

    The clients are asyncio tasks on one aiohttp session (keep-alive
    connections, one per client), so the load generator itself stays light
    on the shared CPUs.
    """
    import asyncio

    import aiohttp

    from oms.demodata import demo_network

    net = demo_network()
    lons, lats = net.node_xy[:, 0], net.node_xy[:, 1]
    crews = [f"CR{k:02d}" for k in range(1, 20)]
    interval = clients / rate
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {}
    errors: list[str] = []
    start = datetime.now(timezone.utc)
    paths = ("/api/outages", "/api/jobs?open=1", "/api/crews", "/api/health")

    async def client(k: int, session: aiohttp.ClientSession, stop_at: float) -> None:
        rng = np.random.default_rng(k)
        loop = asyncio.get_running_loop()
        due = loop.time() + rng.uniform(0, interval)
        n = 0
        while due < stop_at:
            await asyncio.sleep(max(due - loop.time(), 0))
            n += 1
            choice = rng.random()
            t0 = time.perf_counter()
            try:
                if choice < 0.1:
                    i = int(rng.integers(len(lons)))
                    body = {
                        "id": f"gps-{k}-{n}-{uuid.uuid4().hex[:6]}",
                        "time": (start + timedelta(seconds=n)).isoformat(),
                        "lon": float(lons[i]),
                        "lat": float(lats[i]),
                    }
                    url = f"{base}/api/crews/{crews[k % len(crews)]}/gps"
                    key = "POST /api/crews/{id}/gps"
                    async with session.post(url, json=body) as r:
                        await r.read()
                        status = r.status
                else:
                    key = "GET " + paths[int(choice * 10) % 4]
                    async with session.get(base + paths[int(choice * 10) % 4]) as r:
                        await r.read()
                        status = r.status
                ms = (time.perf_counter() - t0) * 1000
                latencies.append(ms)
                by_path.setdefault(key, []).append(ms)
                if status >= 400:
                    errors.append(str(status))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                errors.append(repr(exc)[:100])
            due += interval

    async def run() -> float:
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(
            headers=headers, connector=connector, timeout=timeout
        ) as session:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            stop_at = t0 + seconds
            await asyncio.gather(*(client(k, session, stop_at) for k in range(clients)))
            return loop.time() - t0

    took = asyncio.run(run())
    return {
        "clients": clients,
        "target_rate": rate,
        "achieved_rate": round(len(latencies) / took, 1),
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "p99_ms": pct(latencies, 99),
        "target_p95_ms": 100,
        "p95_ms_by_request": {k: pct(v, 95) for k, v in sorted(by_path.items())},
    }


def event_to_stream(base: str, token: str, events: int) -> dict[str, Any]:
    """Seconds from POST /api/events to the change arriving on /stream."""
    auth = {"Authorization": f"Bearer {token}"}
    arrived: queue.Queue[tuple[str, float]] = queue.Queue()

    def listen() -> None:
        with requests.get(f"{base}/stream", headers=auth, stream=True, timeout=120) as r:
            ref = None
            for line in r.iter_lines(decode_unicode=True):
                if line.startswith("data: ") and '"device"' in line:
                    ref = json.loads(line[6:]).get("ref")
                    arrived.put((ref, time.perf_counter()))

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)
    devices = ["F1-R1", "F2-R1", "F3-R1", "F4-R1"]
    t = datetime.now(timezone.utc)
    waits: list[float] = []
    for k in range(events):
        device = devices[k % len(devices)]
        state = "open" if (k // len(devices)) % 2 == 0 else "closed"
        t += timedelta(seconds=30)
        event = {"id": f"lat-{uuid.uuid4().hex}", "type": "scada", "time": t.isoformat()}
        event.update(device=device, state=state)
        while not arrived.empty():
            arrived.get_nowait()
        t0 = time.perf_counter()
        requests.post(f"{base}/api/events", json=event, headers=auth, timeout=30)
        try:
            while True:
                ref, when = arrived.get(timeout=10)
                if ref == device:
                    waits.append(when - t0)
                    break
        except queue.Empty:
            waits.append(float("inf"))
        time.sleep(0.2)
    finite = [w * 1000 for w in waits if np.isfinite(w)]
    return {
        "events": events,
        "lost": len(waits) - len(finite),
        "p50_ms": pct(finite, 50),
        "p95_ms": pct(finite, 95),
        "target_p95_ms": 1000,
    }


def map_render(base: str, network_label: str) -> dict[str, Any]:
    """Seconds from opening the map (signed in) to the network layer drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("#username", "bench")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            page.goto(f"{base}/")
            page.wait_for_function(
                "window.omsMap && window.omsMap.networkCount() > 0", timeout=60_000
            )
            times.append(time.perf_counter() - t0)
            count = page.evaluate("window.omsMap.networkCount()")
        browser.close()
    return {
        "network": network_label,
        "first_render_s": round(times[0], 2),
        "median_render_s": round(statistics.median(times), 2),
        "features_drawn": count,
        "target_s": 3.0,
    }


def serve_waitress(url: str) -> tuple[str, Any]:
    from waitress.server import create_server

    from webmap import create_app

    app = create_app({"OMS_DB": url, "OMS_TICK_S": 0})
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=16)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "OMS_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--big-segments", type=int, default=100_000)
    parser.add_argument("--skip-map", action="store_true")
    args = parser.parse_args()

    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.postgres else "?"
    url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        token = prepare(url)
        env = {**os.environ, "OMS_DATABASE_URL": url, "OMS_SECRET_KEY": uuid.uuid4().hex}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(args.workers),
                "-k",
                "gthread",
                "--threads",
                "16",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--graceful-timeout",
                "3",
                "webmap.wsgi:app",
            ],
            env=env,
            cwd=str(HERE.parent),
            start_new_session=True,
        )
        wait_up(base)
        out["server"] = {"gunicorn_workers": args.workers, "database": "postgresql"}
        out["event_to_stream"] = event_to_stream(base, token, args.events)
        out["api"] = api_load(base, token, args.clients, args.rate, args.seconds)
        if not args.skip_map:
            out["map_first_render"] = [map_render(base, "demo")]
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:  # open streams: stop it anyway
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    if not args.skip_map:
        from topology.synthetic import synthetic_network

        with tempfile.TemporaryDirectory(prefix="oms-bench-web-") as tmp:
            net = synthetic_network(args.big_segments)
            big_url = f"sqlite:///{Path(tmp) / 'big.sqlite'}"
            prepare(big_url, net)
            big_base, big_server = serve_waitress(big_url)
            wait_up(big_base)
            out["map_first_render"].append(
                map_render(big_base, f"synthetic, {net.n_edges} segments")
            )
            big_server.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
