"""Reads under storm load: the public page beside a static file, and the dispatcher's lists.

Prints one JSON document. Two configurations, one after the other, each
with its peer measured in the same run (the machine is noisy, so the ratios
say more than the absolute figures):

- ``gunicorn+postgresql`` (production): gunicorn with ``--workers`` gthread
  workers of 16 threads on a fresh PostgreSQL schema;
- ``waitress+sqlite`` (the demo's): waitress with 32 threads, as ``oms
  serve``, on a fresh SQLite file.

Each is loaded with the demo data set and a dispatcher with a device token,
and runs the demo's engine configuration (crews dispatched automatically)
with ``max_clock_skew_s`` null: the storm's events keep their own times,
which run ahead of the wall clock. The server is ``bench_app``: the app of
``webmap.wsgi`` plus one route serving a directory of static files through
Flask's own static-file code (``send_from_directory``), the peer.

While each configuration is measured, a storm is ingested through the
engine's own intake: a feeder process posts the demo network's simulated
storms (seeded; copied with new ids as long as needed) to ``POST
/api/events`` at ``--storm-rate`` events/s (2,000), dated at that rate (a
storm of 2,000 events per second of its own time), each request carrying
every event due by then (at most 5,000: the engine's batch). The rate it
achieved (events accepted per second) is reported per phase.

- ``api`` first (below), then ``public``; after each, every dispatcher
  view's size and one answer's time (``views_after``, ``views_at_end``):
  the storm piles up outages and jobs as it goes.
- ``public``: a closed loop of ``--connections`` keep-alive connections,
  each sending its next request when the last one is answered, on
  ``/public/`` (the page), ``/api/public/outages`` (its JSON) and a static
  file of the same size as each, in alternating rounds of
  ``--public-seconds`` / ``--rounds`` seconds per URL. Requests/s, p50 and
  p99 latency, errors, and the page's throughput as a share of its static
  peer's (target: at least 0.8, p99 < 100 ms, no errors).
- ``api``: an open loop of ``--clients`` clients (100) at ``--rate``
  requests/s in all (200) for ``--api-seconds``, each GETting in turn
  ``/api/outages?open=1``, ``/api/jobs?open=1``, ``/api/crews`` and
  ``/api/overview`` with the dispatcher's token. Latency counts from when
  a request was due, so a slow answer delays the client's next request
  without hiding it (no coordinated omission). p50/p95/p99, per path too,
  achieved rate, errors (target: p95 < 100 ms).

The clients (one asyncio loop, a minimal HTTP/1.1 keep-alive client, the
same for the page and its peer), the feeder, the server and PostgreSQL all
run on this machine and share its cores.

Usage::

    python bench/public_load.py [--postgres URL] [--workers 2] [--connections 16]
                                [--public-seconds 24] [--rounds 3] [--api-seconds 30]
                                [--storm-rate 2000] [--only gunicorn|waitress]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) in sys.path:  # bench/topology.py must not hide the topology package
    sys.path.remove(str(HERE))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password"
#: Most events one feeder request carries (the engine's default batch).
MAX_BATCH = 5000


# ------------------------------------------------------------ the server
def bench_app() -> Any:
    """``webmap.wsgi``'s app plus ``/bench-static/<name>``: files of
    ``$OMS_BENCH_STATIC`` served by Flask's static-file code (the peer)."""
    from flask import send_from_directory

    from webmap import create_app

    app = create_app()
    folder = os.environ["OMS_BENCH_STATIC"]

    def static_peer(name: str) -> Any:
        return send_from_directory(folder, name)

    app.add_url_rule("/bench-static/<path:name>", "bench_static", static_peer)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> str:
    """The demo data set with a dispatcher and its device token."""
    from oms.demodata import demo_path
    from oms.storage.db import connect
    from oms.storage.loading import load
    from webmap.accounts import add_device, add_user

    engine = connect(url)
    load(
        engine,
        network=demo_path("network.geojson"),
        customers=demo_path("customers.csv"),
        crews=demo_path("crews.csv"),
        units=demo_path("units.csv"),
        zones=demo_path("zones.geojson"),
        roads=demo_path("roads.geojson"),
    )
    with engine.begin() as conn:
        add_user(conn, "bench", PASSWORD, "dispatcher")
        _, token = add_device(conn, "bench", "bench client")
    engine.dispose()
    return token


def engine_config_file(folder: Path) -> Path:
    """The demo's engine configuration, events accepted at any time, as JSON."""
    from webmap.demo import demo_config

    path = folder / "engine.json"
    doc = replace(demo_config(), max_clock_skew_s=None).to_dict()
    path.write_text(json.dumps(doc, default=list), encoding="utf-8")
    return path


def start_server(kind: str, url: str, port: int, env: dict[str, str], workers: int) -> Any:
    env = {**os.environ, **env, "OMS_DATABASE_URL": url}
    if kind == "gunicorn":
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            "16",
            # As docs/server.md runs it: keep-alive longer than the clients'
            # idle gaps, so the server never closes a connection as a request
            # is sent on it.
            "--keep-alive",
            "75",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "3",
            "bench.public_load:bench_app()",
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "waitress",
            f"--listen=127.0.0.1:{port}",
            "--threads=32",
            "--channel-timeout=3600",
            # oms serve keeps waitress's 100: the 100 clients and the feeder
            # would be one too many (a connection past it waits, unserved).
            "--connection-limit=1000",
            "--call",
            "bench.public_load:bench_app",
        ]
    return subprocess.Popen(cmd, env=env, cwd=str(ROOT), start_new_session=True)


def stop(process: Any) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_up(base: str, timeout: float = 90.0) -> None:
    import requests

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if requests.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server at {base} did not come up")


# ------------------------------------------------------------ the storm
_STORMS: dict[int, list[dict[str, Any]]] = {}


def storm_events(copy: int, run: str) -> list[dict[str, Any]]:
    """Copy ``copy`` of the demo storms: seed ``copy % 4 + 1`` (each simulated
    once), in their order, with ids made unique (times are set when sent)."""
    from oms.demodata import demo_network
    from oms.simulation.storms import StormParams, simulate_storm

    seed = copy % 4 + 1
    if seed not in _STORMS:
        start = datetime.now(timezone.utc)
        _STORMS[seed] = simulate_storm(demo_network(), StormParams(seed=seed, start=start)).events
    return [{**e, "id": f"{e['id']}-{run}-{copy}"} for e in _STORMS[seed]]


def feed(base: str, token: str, rate: float, log: Path) -> None:
    """Post the storm at ``rate`` events/s until stopped; after each request
    append ``monotonic_time accepted rejected sent`` to ``log``.

    Event ``k`` is dated ``k / rate`` seconds after the feed began: a storm
    of ``rate`` events per second of its own time, as the engine batches
    them (a simulated storm spans hours; sent at this rate with its own
    times, each request would span hours and be cut into many batches).
    """
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    run = uuid.uuid4().hex[:6]
    pending: list[dict[str, Any]] = []
    copy = sent = accepted = rejected = 0
    t0, began = time.monotonic(), datetime.now(timezone.utc)
    with log.open("a", encoding="utf-8") as out:
        while True:
            due = min(int(rate * (time.monotonic() - t0)) - sent, MAX_BATCH)
            if due <= 0:
                time.sleep(0.02)
                continue
            while len(pending) < due:
                pending.extend(storm_events(copy, run))
                copy += 1
            batch, pending = pending[:due], pending[due:]
            for k, event in enumerate(batch, start=sent):
                event["time"] = (began + timedelta(seconds=k / rate)).isoformat()
            try:
                r = session.post(f"{base}/api/events", json=batch, timeout=120)
                doc = r.json()
                accepted += int(doc.get("accepted", 0))
                rejected += len(doc.get("rejected", []))
            except (requests.RequestException, ValueError):
                rejected += len(batch)
            sent += len(batch)
            out.write(f"{time.monotonic()} {accepted} {rejected} {sent}\n")
            out.flush()


def ingest_rate(log: Path, start: float, end: float) -> dict[str, Any]:
    """Events accepted per second between two monotonic times, from the feeder's log."""
    text = log.read_text() if log.exists() else ""
    rows = [tuple(map(float, line.split())) for line in text.splitlines() if line]
    before = [r for r in rows if r[0] <= start]
    within = [r for r in rows if r[0] <= end]
    a0, j0 = (before[-1][1], before[-1][2]) if before else (0.0, 0.0)
    a1, j1 = (within[-1][1], within[-1][2]) if within else (0.0, 0.0)
    return {
        "events_per_s": round((a1 - a0) / (end - start), 1),
        "accepted": int(a1 - a0),
        "rejected": int(j1 - j0),
    }


# ------------------------------------------------------------ the client
class Client:
    """One keep-alive HTTP/1.1 connection: GET, read the status and the body."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.extra = extra.encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def get(self, path: str) -> tuple[int, int]:
        """Status and body length of ``GET path``."""
        await self.connect()
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n".encode() + self.extra + b"\r\n")
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        status = int(head[9:12])
        if b"transfer-encoding: chunked" in head:
            size = 0
            while True:
                n = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(n + 2)
                size += n
                if n == 0:
                    break
        else:
            at = head.find(b"content-length:")
            if at < 0:
                raise ValueError(f"no length in the answer to {path}")
            length = int(head[at + 15 : head.index(b"\r\n", at)])
            size = len(await self.reader.readexactly(length))
        if b"connection: close" in head:
            self.close()
        return status, size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def pct(values: list[float], q: float) -> float | None:
    import numpy as np

    return round(float(np.percentile(values, q)), 1) if values else None


async def closed_loop(port: int, path: str, connections: int, seconds: float) -> dict[str, Any]:
    """As many requests as ``connections`` keep-alive connections get answered."""
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    async def one() -> None:
        client = Client("127.0.0.1", port)
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                status, _ = await client.get(path)
                if status != 200:
                    errors.append(str(status))
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                errors.append(repr(exc)[:80])
                client.close()
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
        client.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    return {"took": time.perf_counter() - t0, "latencies": latencies, "errors": errors}


async def open_loop(
    port: int, token: str, clients: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Each client sends its next GET every ``clients / rate`` s; latency from when due."""
    import numpy as np

    paths = ("/api/outages?open=1", "/api/jobs?open=1", "/api/crews", "/api/overview")
    interval = clients / rate
    by_path: dict[str, list[float]] = {p: [] for p in paths}
    errors: list[str] = []
    loop = asyncio.get_running_loop()

    auth = {"Authorization": f"Bearer {token}"}
    clients_ = [Client("127.0.0.1", port, auth) for _ in range(clients)]
    # Connected first, and each view built once (loading the network model
    # takes seconds): the latencies are the requests', not a cold start's.
    await asyncio.gather(*(c.connect() for c in clients_))
    for path in paths:
        await clients_[0].get(path)
    stop_at = loop.time() + seconds

    async def one(k: int) -> None:
        client = clients_[k]
        due = loop.time() + float(np.random.default_rng(k).uniform(0, interval))
        n = k
        while due < stop_at:
            await asyncio.sleep(max(due - loop.time(), 0))
            path = paths[n % len(paths)]
            n += 1
            try:
                status, _ = await client.get(path)
                if status != 200:
                    errors.append(f"{status} {path}")
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                errors.append(repr(exc)[:80])
                client.close()
            by_path[path].append((loop.time() - due) * 1000)
            due += interval
        client.close()

    t0 = loop.time()
    await asyncio.gather(*(one(k) for k in range(clients)))
    took = loop.time() - t0
    every = [x for v in by_path.values() for x in v]
    return {
        "clients": clients,
        "target_rate": rate,
        "achieved_rate": round(len(every) / took, 1),
        "requests": len(every),
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50_ms": pct(every, 50),
        "p95_ms": pct(every, 95),
        "p99_ms": pct(every, 99),
        "target_p95_ms": 100,
        "p95_ms_by_path": {p: pct(v, 95) for p, v in by_path.items()},
    }


def view_sizes(port: int, token: str) -> dict[str, Any]:
    """Each dispatcher view's size and one answer's time (a rebuild when due):
    how much the storm has piled up."""

    async def run() -> dict[str, Any]:
        client = Client("127.0.0.1", port, {"Authorization": f"Bearer {token}"})
        out: dict[str, Any] = {}
        try:
            for path in ("/api/outages?open=1", "/api/jobs?open=1", "/api/crews", "/api/overview"):
                t0 = time.perf_counter()
                status, size = await client.get(path)
                out[path] = {"status": status, "bytes": size, "ms": _ms(t0)}
        finally:
            client.close()
        return out

    return asyncio.run(run())


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def body_size(port: int, path: str) -> int:
    async def run() -> int:
        client = Client("127.0.0.1", port)
        try:
            return (await client.get(path))[1]
        finally:
            client.close()

    return asyncio.run(run())


def public_load(
    port: int, static: Path, connections: int, seconds: float, rounds: int
) -> dict[str, Any]:
    """The page and its JSON against static files of their sizes, in alternating rounds."""
    targets = {"page": "/public/", "json": "/api/public/outages"}
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for name, path in targets.items():
        size = body_size(port, path)
        (static / f"{name}.bin").write_bytes(os.urandom(size // 2).hex().encode().ljust(size))
        urls[name], urls[f"{name}_static"] = path, f"/bench-static/{name}.bin"
        sizes[name] = size
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in urls}
    for _ in range(rounds):
        for key, path in urls.items():
            runs[key].append(asyncio.run(closed_loop(port, path, connections, seconds / rounds)))
    out: dict[str, Any] = {"connections": connections}
    for key, got in runs.items():
        latencies = [x for r in got for x in r["latencies"]]
        errors = [e for r in got for e in r["errors"]]
        out[key] = {
            "path": urls[key],
            "bytes": sizes[key.removesuffix("_static")],
            "requests_per_s": round(len(latencies) / sum(r["took"] for r in got), 1),
            "p50_ms": pct(latencies, 50),
            "p99_ms": pct(latencies, 99),
            "errors": len(errors),
            "first_errors": errors[:3],
        }
    for name in targets:
        page, peer = out[name], out[f"{name}_static"]
        page["throughput_vs_static"] = round(page["requests_per_s"] / peer["requests_per_s"], 2)
        page["p99_vs_static"] = round(page["p99_ms"] / peer["p99_ms"], 2)
    return out


# ----------------------------------------------------------------- a run
def measure(kind: str, url: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    token = prepare(url)
    static = folder / f"static-{kind}"
    static.mkdir()
    env = {
        "OMS_SECRET_KEY": uuid.uuid4().hex,
        "OMS_ENGINE_CONFIG": str(engine_config_file(folder)),
        "OMS_BENCH_STATIC": str(static),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(kind, url, port, env, args.workers)
    log = folder / f"feed-{kind}.log"
    feeder = None
    try:
        wait_up(base)
        feeder = (
            None
            if not args.storm_rate
            else subprocess.Popen(
                [sys.executable, __file__, "--feed", base, token, str(args.storm_rate), str(log)],
                cwd=str(ROOT),
                start_new_session=True,
            )
        )
        time.sleep(args.warmup)  # the storm under way: outages, jobs, crews moving
        out: dict[str, Any] = {}
        t0 = time.monotonic()
        out["api"] = asyncio.run(open_loop(port, token, args.clients, args.rate, args.api_seconds))
        t1 = time.monotonic()
        out["api"]["storm_ingested"] = ingest_rate(log, t0, t1)
        out["api"]["views_after"] = view_sizes(port, token)
        out["public"] = public_load(
            port, static, args.connections, args.public_seconds, args.rounds
        )
        out["public"]["storm_ingested"] = ingest_rate(log, t1, time.monotonic())
        out["views_at_end"] = view_sizes(port, token)
        out["storm_target_events_per_s"] = args.storm_rate
        return out
    finally:
        if feeder is not None:
            stop(feeder)
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "OMS_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--public-seconds", type=float, default=24.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--api-seconds", type=float, default=30.0)
    parser.add_argument("--storm-rate", type=float, default=2000.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--only", choices=("gunicorn", "waitress"))
    parser.add_argument("--feed", nargs=4, metavar=("BASE", "TOKEN", "RATE", "LOG"))
    args = parser.parse_args()
    if args.feed:
        base, token, rate, log = args.feed
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        feed(base, token, float(rate), Path(log))
        return

    import sqlalchemy

    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()},
        "note": "the clients, the storm feeder, the server and PostgreSQL share these cores",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="oms-bench-public-") as tmp:
        folder = Path(tmp)
        if args.only in (None, "gunicorn"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = sqlalchemy.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
            try:
                out["gunicorn+postgresql"] = {
                    "workers": args.workers,
                    **measure("gunicorn", url, args, folder),
                }
            finally:
                with admin.connect() as conn:
                    conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        if args.only in (None, "waitress"):
            url = f"sqlite:///{folder / 'bench.sqlite'}"
            out["waitress+sqlite"] = {"threads": 32, **measure("waitress", url, args, folder)}
    out["machine"]["load_average_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
