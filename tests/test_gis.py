"""Live outages out to GIS (issue 18 item 4): the GeoPackage export and the
PostGIS layers, read back with GDAL's own reader (``ogrinfo``) as QGIS would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from oms.cli import cli
from oms.engine import OutageEngine
from oms.storage.db import connect

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
OGRINFO = shutil.which("ogrinfo")


@pytest.fixture
def ogrinfo() -> str:
    if OGRINFO is None:
        message = "GDAL's ogrinfo is not installed (Debian: apt-get install gdal-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return OGRINFO


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _storm(url: str) -> None:
    """B1 locks out, a customer below it calls, K1 reports its position."""
    events = [
        {"id": "t1", "type": "scada", "time": _at(0), "device": "B1", "state": "open",
         "lockout": True},
        {"id": "c1", "type": "call", "time": _at(2), "customer": "a5-1", "hazard": "wire_down"},
        {"id": "g1", "type": "crew_gps", "time": _at(3), "crew": "K1", "lon": 8.4, "lat": 49.0},
    ]  # fmt: skip
    report = OutageEngine(connect(url)).ingest_objects(list(enumerate(events, 1))).to_dict()
    assert report["accepted"] == 3, report


def _summary(ogr: str, source: str, layer: str) -> str:
    done = subprocess.run(
        [ogr, "-ro", "-so", source, layer], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _count(summary: str) -> int:
    found = re.search(r"Feature Count: (\d+)", summary)
    assert found, summary
    return int(found.group(1))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_geopackage_holds_every_layer_as_gdal_reads_it(
    web_db: str, tmp_path: Path, ogrinfo: str
) -> None:
    _storm(web_db)
    out = tmp_path / "live.gpkg"
    r = CliRunner().invoke(cli, ["export", str(out), "--db", web_db, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    counts = doc["features"]
    assert counts["outages"] == 1 and counts["crews"] >= 1 and counts["calls"] == 1
    assert counts["network"] == 18 and counts["deenergized"] > 0
    for layer, geometry in (
        ("network", "Line String"),
        ("deenergized", "Line String"),
        ("outages", "Point"),
        ("crews", "Point"),
        ("calls", "Point"),
    ):
        summary = _summary(ogrinfo, str(out), layer)
        assert f"Geometry: {geometry}" in summary and "EPSG" in summary, summary
        assert _count(summary) == counts[layer]
    import geopandas as gpd

    outages = gpd.read_file(out, layer="outages")
    row = outages.iloc[0]
    assert (row["device"], row["state"], row["kind"]) == ("B1", "confirmed", "network")
    dead = gpd.read_file(out, layer="deenergized")
    assert {"L1", "R1", "L3"} <= set(dead["id"]) and "B2" not in set(dead["id"])
    calls = gpd.read_file(out, layer="calls")
    assert calls.iloc[0]["hazard"] == "wire_down"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_publishing_needs_postgis(web_db: str) -> None:
    r = CliRunner().invoke(cli, ["gis", "publish", "--db", web_db])
    assert r.exit_code == 1 and "need PostgreSQL with PostGIS" in r.output


def _pg_source(url: str) -> tuple[str, str]:
    """An OGR connection string for the test's schema, and that schema."""
    u = make_url(url)
    options = str(u.query.get("options", ""))
    schema = options.split("search_path=")[-1]
    host = u.host or "127.0.0.1"
    source = f"PG:host={host} port={u.port or 5432} user={u.username} dbname={u.database}"
    if u.password:
        source += f" password={u.password}"
    return f"{source} schemas={schema}", schema


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
def test_postgis_layers_follow_the_engine_and_gdal_reads_them(web_db: str, ogrinfo: str) -> None:
    _storm(web_db)
    r = CliRunner().invoke(cli, ["gis", "publish", "--db", web_db, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["features"]["outages"] == 1
    source, schema = _pg_source(web_db)
    summary = _summary(ogrinfo, source, "gis_outages")
    assert "Geometry: Point" in summary and _count(summary) == 1
    assert _count(_summary(ogrinfo, source, "gis_network")) == 18
    engine = connect(web_db)
    with engine.connect() as conn:
        indexes: Any = conn.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = :s AND indexdef LIKE '%gist%'"
            ),
            {"s": schema},
        ).scalars()
        assert {
            f"gis_{n}_geom" for n in ("network", "deenergized", "outages", "crews", "calls")
        } <= set(indexes)
    # Supply back: published again, the outage and the dead edges are gone.
    closed = {"id": "t2", "type": "scada", "time": _at(30), "device": "B1", "state": "closed"}
    assert OutageEngine(engine).ingest_objects([(1, closed)]).to_dict()["accepted"] == 1
    r = CliRunner().invoke(cli, ["gis", "publish", "--db", web_db, "--json"])
    features = json.loads(r.output)["features"]
    assert features["outages"] == 0 and "network" not in features  # same version: kept
    assert _count(_summary(ogrinfo, source, "gis_outages")) == 0
    dead = _summary(ogrinfo, source, "gis_deenergized")
    assert _count(dead) == features["deenergized"]  # open ties only
