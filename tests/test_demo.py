"""``oms demo``: a fresh demo database, storms at accelerated time, the server up fast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from oms.storage import schema
from oms.storage.db import connect
from webmap.demo import AcceleratedClock, DemoStorm, StormSettings, demo_config, demo_start, prepare
from webmap.service import EngineService

pytestmark = pytest.mark.slow


def test_accelerated_clock_runs_fast() -> None:
    clock = AcceleratedClock(demo_start(), 60.0)
    first = clock()
    time.sleep(0.2)
    elapsed = (clock() - first).total_seconds()
    assert 10 <= elapsed <= 30
    assert first.hour == 9 and first.tzinfo is not None


def test_storms_play_until_crews_reach_jobs(tmp_path: Path) -> None:
    users = prepare(tmp_path / "demo.sqlite")
    assert {u[0] for u in users} >= {"dispatcher", "admin", "cr01"}
    db = connect(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    service = EngineService(db, demo_config(), clock=AcceleratedClock(demo_start(), 240.0))
    storm = DemoStorm(service, StormSettings(faults=4, span_min=10, seed=3), step_s=0.1)
    storm.start()
    try:
        deadline = time.monotonic() + 90
        arrived = 0
        while time.monotonic() < deadline and not arrived:
            time.sleep(1.0)
            with db.connect() as conn:
                arrived = (
                    conn.execute(
                        select(func.count())
                        .select_from(schema.jobs)
                        .where(schema.jobs.c.state.in_(("on_site", "made_safe", "repaired")))
                    ).scalar()
                    or 0
                )
        assert arrived, "no crew reached a job"
        with db.connect() as conn:
            outages = conn.execute(select(func.count()).select_from(schema.outages)).scalar()
            gps = conn.execute(
                select(func.count())
                .select_from(schema.events)
                .where(schema.events.c.type == "crew_gps")
            ).scalar()
        assert outages and gps
    finally:
        storm.stop()


def test_oms_demo_serves(tmp_path: Path) -> None:
    # How fast it serves is measured by bench/demo.py, not asserted here.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms", "demo", "--port", "0", "--json", "--seconds", "30"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        doc = json.loads(proc.stdout.readline())
        base = doc["dispatcher"]["url"].rstrip("/")
        up = False
        while not up and time.monotonic() - started < 120:
            try:
                up = requests.get(f"{base}/api/health", timeout=1).status_code == 200
            except requests.RequestException:
                time.sleep(0.1)
        assert up
        assert requests.get(f"{base}/public/", timeout=5).status_code == 200
        login = requests.post(
            f"{base}/api/login",
            json={"username": "dispatcher", "password": "dispatch-demo"},
            timeout=5,
        )
        assert login.status_code == 200
        # The database's URL, for the command line beside the demo.
        listed = subprocess.run(
            [sys.executable, "-m", "oms", "outages", "--db", doc["database"]["url"], "--json"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert listed.returncode == 0, listed.stderr
        assert isinstance(json.loads(listed.stdout), list)
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
        code = proc.wait(timeout=30)
    assert code == 0
    # The demo database was temporary: nothing is left in the working directory.
    assert list(tmp_path.iterdir()) == []


def test_oms_demo_keeps_a_named_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "oms", "demo", "--port", "0", "--seconds", "0", "--db-file", "kept"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kept").exists()


def test_oms_demo_on_a_busy_port_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "oms", "demo", "--port", str(port), "--seconds", "0"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert "--port" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.browser
def test_demo_end_to_end_in_chromium(tmp_path: Path, page: Any) -> None:
    """oms demo in headless Chromium: the map loads, outages appear, a crew reaches a job."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms", "demo", "--port", "0", "--json", "--speed", "120"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        doc = json.loads(proc.stdout.readline())
        login = doc["dispatcher"]
        page.goto(login["url"].rstrip("/") + "/login")
        page.fill("#username", login["user"])
        page.fill("#password", login["password"])
        page.click("button[type=submit]")
        page.wait_for_function("window.omsMap && window.omsMap.networkCount() > 0", timeout=30_000)
        page.wait_for_function("window.omsMap.outageIds().length > 0", timeout=90_000)
        # A crew reaches a job: its arrival stamp (H) comes through the live stream.
        page.wait_for_function(
            """() => {
                 return window.omsMap.jobs().some(j => j.stamps && j.stamps.H);
               }""",
            timeout=180_000,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
