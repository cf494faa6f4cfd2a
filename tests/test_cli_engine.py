"""The database commands of the ``oms`` CLI: contract-4 JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import write_network_files

from oms.cli import cli

T = "2026-03-01T10:00:0{}+00:00"


def run(*args: str, stdin: str | None = None) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    out = result.stdout.strip()
    doc = json.loads(out) if out.startswith(("{", "[")) else out
    return result.exit_code, doc


@pytest.fixture
def db(tmp_path: Path) -> str:
    net_path, cust_path = write_network_files(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    code, doc = run(
        "load", "--db", url, "--network", str(net_path), "--customers", str(cust_path), "--json"
    )
    assert code == 0
    assert set(doc) >= {
        "network_version",
        "nodes",
        "edges",
        "customers",
        "crews",
        "zones",
        "warnings",
    }
    return url


def test_help_everywhere() -> None:
    for args in (
        ["load"],
        ["ingest"],
        ["outages"],
        ["outage"],
        ["outage", "show"],
        ["outage", "confirm"],
        ["outage", "merge"],
        ["outage", "split"],
        ["outage", "repredict"],
        ["outage", "restore"],
        ["outage", "close"],
        ["simulate"],
    ):
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, args
        assert "Usage:" in result.stdout


def test_ingest_outages_and_show(db: str, tmp_path: Path) -> None:
    lines = [
        {"id": "c1", "type": "call", "time": T.format(0), "customer": "a9-2"},
        {"id": "c2", "type": "call", "time": T.format(5), "customer": "a9-3"},
        {"id": "bad", "type": "call", "time": T.format(6), "customer": "ghost"},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\n"
    code, doc = run("ingest", "-", "--db", db, "--json", stdin=stdin)
    assert code == 0
    assert doc["accepted"] == 2 and doc["duplicates"] == 0
    assert doc["rejected"] == [{"line": 3, "error": "unknown customer 'ghost'"}]
    code, outages = run("outages", "--db", db, "--json")
    assert code == 0
    (o,) = outages
    keys = {"id", "kind", "device", "customer", "section", "state", "customers_out", "critical_out"}
    assert keys | {"started", "restored", "etr", "calls"} <= set(o)
    assert (o["kind"], o["device"], o["state"], o["customers_out"]) == (
        "network",
        "F1",
        "predicted",
        5,
    )
    assert o["started"] == T.format(0)
    code, shown = run("outage", "show", o["id"], "--db", db, "--json")
    assert code == 0
    assert [e["id"] for e in shown["evidence"]] == ["c1", "c2"]
    assert shown["audit"][0]["action"] == "predict"
    code, doc = run("outages", "--db", db, "--state", "restored", "--json")
    assert (code, doc) == (0, [])
    code, doc = run("outage", "show", "OUT-999", "--db", db, "--json")
    assert code == 1 and "OUT-999" in doc["error"]


def test_dispatcher_commands(db: str) -> None:
    stdin = json.dumps({"id": "c1", "type": "call", "time": T.format(0), "customer": "a9-2"}) + "\n"
    stdin += (
        json.dumps({"id": "c2", "type": "call", "time": T.format(1), "customer": "a9-3"}) + "\n"
    )
    run("ingest", "-", "--db", db, stdin=stdin)
    (o,) = run("outages", "--db", db, "--json")[1]
    code, doc = run(
        "outage", "confirm", o["id"], "--db", db, "--user", "ann", "--reason", "seen", "--json"
    )
    assert code == 0 and doc["outages"][0]["state"] == "confirmed"
    code, doc = run("outage", "close", o["id"], "--db", db, "--json")
    assert code == 1 and "restore it before closing" in doc["error"]
    assert run("outage", "restore", o["id"], "--db", db, "--json")[0] == 0
    assert run("outage", "close", o["id"], "--db", db, "--json")[0] == 0
    code, shown = run("outage", "show", o["id"], "--db", db, "--json")
    assert shown["state"] == "closed"
    assert [a["action"] for a in shown["audit"]][-3:] == ["confirm", "restore", "close"]
    assert shown["audit"][-3]["actor"] == "ann"


def test_trace_on_the_network_as_operated(db: str) -> None:
    code, doc = run("trace", "downstream", "--db", db, "R1", "--json")
    assert code == 0 and doc["customers"] == 20
    stdin = json.dumps(
        {"id": "s", "type": "switch", "time": T.format(0), "device": "SW1", "state": "open"}
    )
    run("ingest", "-", "--db", db, stdin=stdin + "\n")
    code, doc = run("trace", "downstream", "--db", db, "R1", "--json")
    assert code == 0 and doc["customers"] == 7  # a5 and a6 are cut off already
    code, doc = run("trace", "deenergized", "--db", db, "--json")
    assert code == 0 and doc["customers"] == 13


def test_errors_exit_1_with_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    # A reading command never makes a database (a forgotten --db): usage error.
    result = CliRunner().invoke(cli, ["outages", "--db", url, "--json"])
    assert result.exit_code == 2 and "no database at" in result.output
    assert not (tmp_path / "empty.sqlite").exists()
    code, doc = run("ingest", "-", "--db", url, "--json", stdin="{}\n")
    assert code == 1 and "oms load" in doc["error"]
    bad = tmp_path / "bad.geojson"
    feature = {"type": "Feature", "properties": {"id": "x", "kind": "teleporter"}, "geometry": None}
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    code, doc = run("load", "--db", url, "--network", str(bad), "--json")
    assert code == 1 and "teleporter" in doc["error"]


@pytest.mark.slow
def test_simulate_and_score_on_the_demo(tmp_path: Path) -> None:
    events, truth = tmp_path / "e.jsonl", tmp_path / "t.json"
    code, doc = run(
        "simulate",
        "demo",
        "--seed",
        "2",
        "--events",
        str(events),
        "--truth",
        str(truth),
        "--score",
        "--json",
    )
    assert code == 0
    assert doc["events"] == len(events.read_text().splitlines())
    likelihood, classic = doc["score"]["likelihood"], doc["score"]["classic"]
    assert likelihood["accuracy"] >= 0.9
    assert likelihood["false"] <= 1
    assert likelihood["right"] >= classic["right"]
    assert likelihood["time_to_right_s"]["median"] <= 300


def test_crews_jobs_and_dispatch_json(db: str, tmp_path: Path) -> None:
    from helpers import write_dispatch_files

    files = write_dispatch_files(tmp_path)
    args = [f"--{k}={v}" for k, v in files.items()]
    assert run("load", "--db", db, *args, "--json")[0] == 0
    code, crews = run("crews", "--db", db, "--json")
    assert code == 0
    keys = {"id", "unit", "status", "lon", "lat", "gps_time", "stale", "zone", "skills", "jobs"}
    assert keys <= set(crews[0])
    stdin = json.dumps(
        {
            "id": "s",
            "type": "scada",
            "time": T.format(0),
            "device": "B3",
            "state": "open",
            "lockout": True,
        }
    )
    run("ingest", "-", "--db", db, stdin=stdin + "\n")
    code, jobs = run("jobs", "--db", db, "--json")
    assert code == 0 and len(jobs) == 1
    job = jobs[0]
    assert {
        "id",
        "outage",
        "crew",
        "priority",
        "zone",
        "area_class",
        "stamps",
        "targets",
        "breaches",
    } <= set(job)
    assert set(job["targets"]) == {
        "AB",
        "BC",
        "CD",
        "DE",
        "EF",
        "FG",
        "GH",
        "arrival",
        "restoration",
    }
    code, suggestion = run("dispatch", "suggest", job["id"], "--db", db, "--json")
    assert code == 0
    assert set(suggestion) == {"job", "crew", "rule", "eta_s", "alternatives"}
    assert suggestion["rule"] in ("zone", "nearest")
    code, assigned = run("dispatch", "assign", job["id"], "--db", db, "--json")
    assert code == 0 and assigned["crew"] == suggestion["crew"]
    assert run("job", "accept", job["id"], "--db", db, "--json")[0] == 0
    code, jobs = run("jobs", "--db", db, "--json")
    assert jobs[0]["state"] == "accepted" and jobs[0]["stamps"]["F"] is not None
    code, doc = run(
        "job",
        "close",
        job["id"],
        "--db",
        db,
        "--cause",
        "x",
        "--equipment",
        "y",
        "--actions",
        "z",
        "--outage-start",
        T.format(0),
        "--outage-end",
        T.format(9),
        "--json",
    )
    assert code == 1 and "not restored" in doc["error"]


def test_ingest_from_a_live_pipe_applies_what_waits_once_it_falls_quiet(db: str) -> None:
    """``oms ingest -`` on a pipe still open: a call is applied about a second
    after the pipe falls quiet, not when a later event or the end comes."""
    import subprocess
    import sys
    import time

    from sqlalchemy import select

    from oms.storage import schema
    from oms.storage.db import connect

    proc = subprocess.Popen(
        [sys.executable, "-m", "oms", "ingest", "-", "--db", db, "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    call = {"id": "c1", "type": "call", "time": T.format(0), "customer": "a9-2"}
    try:
        proc.stdin.write((json.dumps(call) + "\n").encode())
        proc.stdin.flush()
        engine = connect(db, upgrade=False)
        ids: list[str] = []
        deadline = time.monotonic() + 30
        while not ids and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            with engine.connect() as conn:
                ids = list(conn.execute(select(schema.events.c.id)).scalars())
        engine.dispose()
        assert proc.poll() is None  # still reading its input
        assert ids == ["c1"]
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["accepted"] == 1
