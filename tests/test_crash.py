"""A process killed with SIGKILL mid-ingest loses nothing and doubles nothing.

The storm is ingested twice: once without interruption, and once by an
``oms ingest`` process that is killed (SIGKILL) part-way and then run again
on the same database with the same file. Both must end with the same
outages and the same event log.
"""

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
from sqlalchemy import func, select

from oms.demodata import demo_network
from oms.simulation.storms import StormParams, simulate_storm
from oms.storage.db import connect
from oms.storage.schema import events as events_table

pytestmark = pytest.mark.slow

KEYS = ("kind", "device", "customer", "state", "started", "restored", "customers_out", "calls")


def oms(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oms", *args], capture_output=True, text=True, env=env, check=False
    )


def outages(url: str) -> list[tuple[Any, ...]]:
    result = oms("outages", "--db", url, "--json")
    assert result.returncode == 0, result.stderr
    return sorted(tuple(o[k] for k in KEYS) for o in json.loads(result.stdout))


def event_ids(url: str) -> list[str]:
    db = connect(url)
    with db.connect() as conn:
        ids = list(conn.execute(select(events_table.c.id).order_by(events_table.c.seq)).scalars())
    db.dispose()
    return ids


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    folder = tmp_path_factory.mktemp("storm")
    scenario = simulate_storm(demo_network(), StormParams(seed=3))
    events = folder / "events.jsonl"
    scenario.write(events, folder / "truth.json")
    config = folder / "engine.json"
    config.write_text(json.dumps({"batch_size": 10, "pings": False}))
    return events, config, len(scenario.events)


def test_sigkill_mid_ingest_then_rerun_matches_an_uninterrupted_run(
    db_url: str, tmp_path: Path, storm: tuple[Path, Path, int]
) -> None:
    events, config, total = storm
    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    for url in (reference, db_url):
        loaded = oms("load", "--db", url, "--network", "demo", "--json")
        assert loaded.returncode == 0, loaded.stderr
    done = oms("ingest", str(events), "--db", reference, "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == total

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oms",
            "ingest",
            str(events),
            "--db",
            db_url,
            "--config",
            str(config),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = connect(db_url)
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with db.connect() as conn:
            count = conn.execute(select(func.count()).select_from(events_table)).scalar() or 0
        if count >= total // 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    db.dispose()
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert 0 < count < total

    again = oms("ingest", str(events), "--db", db_url, "--config", str(config), "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["rejected"] == []
    assert report["accepted"] + report["duplicates"] == total
    assert report["duplicates"] >= count

    assert event_ids(db_url) == event_ids(reference)
    assert outages(db_url) == outages(reference)
