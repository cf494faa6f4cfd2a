"""Control regions as schemas of one PostgreSQL (docs/scaling.md, oms/storage/regions.py).

Two regions hold two different generated networks (ids prefixed per region,
as a utility's GIS keeps them unique) and ingest their own storms at once,
each through its own ``OutageEngine``. Then: each region's data stays in its
schema, the ``oms_all`` views equal the union of the per-region queries, the
combined overview, public page and indices add up, and the indices equal
those of one schema holding both networks and both regions' outage records
(the IEEE 1366 definitions applied to all customers at once). A writer
holding its region's lock does not block the other region's writer.

The PostgreSQL tests fail under ``CI=true`` without a server (the
``postgres_server`` fixture); the combination rules have pure tests too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.outages import ACTIVE_STATES, list_outages
from oms.simulation.regions import merged, prefixed
from oms.simulation.storms import StormParams, simulate_storm
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load, load_model
from oms.storage.postgres import lock_writer
from oms.storage.queries import engine_clock
from oms.storage.regions import (
    Region,
    combine_indices,
    create_views,
    in_region,
    indices,
    list_regions,
    overview_totals,
    parse_region,
    public_outages,
    status,
)
from topology.synthetic.styles import styled_network

START = datetime(2024, 7, 1, 14, 0, tzinfo=timezone.utc)
PERIOD = (START - timedelta(days=1), START + timedelta(days=1))
CONFIG = {"batch_size": 100, "pings": False}


def _schema_of(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1]


def _region_net(name: str) -> Any:
    """Two different styles, side by side on the map, ids and phones their own."""
    if name == "north":
        net = styled_network("na_overhead", seed=3, n_nodes=700, center=(-93.3, 45.1))
        return prefixed(net, "N-", area_code="612")
    net = styled_network("eu_ring", seed=4, n_nodes=700, center=(-93.2, 44.9))
    return prefixed(net, "S-", area_code="651")


def _crews_files(tmp: Path, name: str, net: Any) -> dict[str, Path]:
    lon, lat = net.node_xy[0]
    unit = f"U-{name}"
    units = tmp / f"units-{name}.csv"
    units.write_text(f"id,name,first_contact,second_contact,leader\n{unit},{name},+1,+2,+3\n")
    crews = tmp / f"crews-{name}.csv"
    rows = [f"K-{name}-{k},{name} {k},{unit},line;cable,,{lon},{lat}" for k in (1, 2)]
    crews.write_text("id,name,unit,skills,zone,lon,lat\n" + "\n".join(rows) + "\n")
    return {"units": units, "crews": crews}


@pytest.fixture(scope="module")
def regions(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two loaded regions that ingested their storms at once, the views over them."""
    tmp = tmp_path_factory.mktemp("regions")
    out: dict[str, Any] = {"nets": {}, "lines": {}, "urls": {}, "reports": {}, "spans": {}}
    out["errors"] = []
    for k, name in enumerate(("north", "south")):
        url = postgres_server.create()[0]
        net = _region_net(name)
        db = connect(url)
        load_model(db, net, name)
        load(db, **_crews_files(tmp, name, net))
        db.dispose()
        params = StormParams(seed=10 + k, start=START, faults=8, span_minutes=40.0, call_rate=0.3)
        events = simulate_storm(net, params).events
        out["nets"][name], out["urls"][name] = net, url
        out["lines"][name] = [json.dumps(e) for e in events]
    barrier = threading.Barrier(2)

    def writer(name: str) -> None:
        # Migrated above: Alembic's upgrade is not thread-safe (module-level proxies).
        db = connect(out["urls"][name], upgrade=False)
        try:
            engine = OutageEngine(db, EngineConfig.from_dict(CONFIG))
            barrier.wait(timeout=120)
            t0 = time.monotonic()
            out["reports"][name] = engine.ingest(out["lines"][name])
            out["spans"][name] = (t0, time.monotonic())
        except BaseException as exc:
            barrier.abort()  # the other writer stops waiting
            out["errors"].append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("north", "south")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if out["errors"]:
        raise out["errors"][0]
    out["regions"] = [Region(n, _schema_of(u)) for n, u in out["urls"].items()]
    out["db"] = connect(out["urls"]["north"], upgrade=False)
    create_views(out["db"], out["regions"])
    yield out
    out["db"].dispose()


@pytest.mark.postgres
def test_each_region_keeps_its_own_data(regions: Any) -> None:
    for name, prefix in (("north", "N-"), ("south", "S-")):
        report = regions["reports"][name]
        assert report.accepted == len(regions["lines"][name]) and not report.rejected
        db = connect(regions["urls"][name], upgrade=False)
        with db.connect() as conn:
            events = conn.execute(select(schema.events.c.id, schema.events.c.device)).all()
            outages = list_outages(conn)
        db.dispose()
        assert len(events) == len(regions["lines"][name])
        assert {d[:2] for _, d in events if d} == {prefix}
        assert outages and all(
            (o.device or o.customer or "").startswith(prefix) for o in outages
        ), "an outage of the other region"
    # The two writers ran at the same time (each in its own schema's lock).
    (a0, a1), (b0, b1) = regions["spans"].values()
    assert max(a0, b0) < min(a1, b1)


@pytest.mark.postgres
def test_a_writer_holding_its_lock_does_not_block_the_other_region(
    postgres_server: Any,
) -> None:
    urls = {n: postgres_server.create()[0] for n in ("north", "south")}
    engines = {}
    for name, url in urls.items():
        db = connect(url)
        load_model(db, _region_net(name), name)
        engines[name] = (db, OutageEngine(db, EngineConfig.from_dict(CONFIG)))

    def call(name: str, cid: str, k: int) -> str:
        when = (START + timedelta(minutes=k)).isoformat()
        return json.dumps({"id": f"{name}-{k}", "type": "call", "time": when, "customer": cid})

    north_db, north = engines["north"]
    south = engines["south"][1]
    holder = north_db.connect()
    holder.begin()
    lock_writer(holder)  # north's writer lock, held by an open transaction
    done: dict[str, float] = {}

    def ingest(name: str, engine: OutageEngine, cid: str) -> None:
        engine.ingest([call(name, cid, 1)])
        done[name] = time.monotonic()

    blocked = threading.Thread(target=ingest, args=("north", north, "N-C0000001"))
    blocked.start()
    t0 = time.monotonic()
    ingest("south", south, "S-C0000001")
    assert "south" in done and done["south"] - t0 < 10
    time.sleep(0.5)
    assert "north" not in done, "north's writer did not wait for north's lock"
    holder.rollback()
    holder.close()
    blocked.join(timeout=30)
    assert "north" in done
    for db, _ in engines.values():
        db.dispose()


@pytest.mark.postgres
def test_union_views_equal_the_per_region_queries(regions: Any) -> None:
    db = regions["db"]
    assert list_regions(db) == sorted(regions["regions"], key=lambda r: r.name)
    with db.connect() as conn:
        viewed = {
            t: sorted(
                tuple(r) for r in conn.execute(text(f"SELECT region, * FROM oms_all.{t}")).all()
            )
            for t in ("outages", "jobs", "crews", "customers", "events")
        }
    expected: dict[str, list[tuple[Any, ...]]] = {t: [] for t in viewed}
    for region in regions["regions"]:
        with in_region(db, region) as conn:
            for t in ("outages", "jobs", "crews"):
                rows = conn.execute(select(getattr(schema, t))).all()
                expected[t] += [(region.name, region.name, *r) for r in rows]
            customers = conn.execute(select(schema.customers.c.critical)).scalars().all()
            n_critical = sum(1 for c in customers if c)
            expected["customers"].append((region.name, region.name, len(customers), n_critical))
            seqs = conn.execute(select(schema.events.c.seq)).scalars().all()
            expected["events"].append((region.name, region.name, len(seqs), max(seqs)))
    for t in viewed:
        assert viewed[t] == sorted(expected[t]), t
    assert {r[0] for r in viewed["jobs"]} == {"north", "south"}
    assert len({r[0] for r in viewed["crews"]}) == 2


@pytest.mark.postgres
def test_status_and_the_command_line(regions: Any) -> None:
    runner = CliRunner()
    from oms.cli import cli

    url = regions["urls"]["north"]
    args = ["regions", "views", "--db", url, "--json"]
    for r in regions["regions"]:
        args += ["--region", f"{r.name}={r.schema}"]
    made = runner.invoke(cli, args)
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["views"][0] == "regions"
    shown = runner.invoke(cli, ["regions", "status", "--db", url, "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    assert rows == status(regions["db"])
    for row, region in zip(rows, sorted(regions["regions"], key=lambda r: r.name), strict=True):
        with in_region(regions["db"], region) as conn:
            open_outages = list_outages(conn, states=ACTIVE_STATES)
            assert row["clock"] == engine_clock(conn).isoformat()
        assert row["outages_open"] == len(open_outages)
        assert row["customers_out"] == sum(o.customers_out for o in open_outages)
        assert row["events"] == len(regions["lines"][row["region"]])
    bad = runner.invoke(cli, ["regions", "views", "--db", url, "--region", "north", "--json"])
    assert bad.exit_code == 1 and "expected NAME=SCHEMA" in bad.output


@pytest.mark.postgres
def test_the_overview_totals_add_up_and_match_the_views(regions: Any) -> None:
    db = regions["db"]
    now = START + timedelta(minutes=50)
    totals = overview_totals(db, regions["regions"], now)
    per = totals["regions"]
    assert totals["outages"] == per["north"]["outages"] + per["south"]["outages"] > 0
    with db.connect() as conn:
        active = conn.execute(
            text(
                "SELECT count(*), sum(customers_out) FROM oms_all.outages"
                " WHERE state = ANY(:s) AND started <= :now"
            ),
            {"s": list(ACTIVE_STATES), "now": now},
        ).one()
    assert (totals["outages"], totals["customers_out"]) == (active[0], active[1])
    assert sum(totals["crews"].values()) == 4


@pytest.mark.postgres
def test_the_public_outages_document_across_regions(regions: Any) -> None:
    from webmap import create_app
    from webmap.public import outages_by_area

    now = START + timedelta(minutes=50)
    docs = {}
    for name, url in regions["urls"].items():
        app = create_app({"TESTING": True, "OMS_DB": url, "OMS_TICK_S": 0, "SECRET_KEY": "t"})
        with app.app_context(), connect(url, upgrade=False).connect() as conn:
            docs[name] = outages_by_area(conn, now)
        app.extensions["oms.service"].stop()
        app.extensions["oms.storage.db"].dispose()
    doc = public_outages(docs)
    served = {n: len(regions["nets"][n].customers) for n in docs}
    assert doc["totals"]["customers_served"] == sum(served.values())
    assert doc["totals"]["customers_out"] == sum(
        d["totals"]["customers_out"] for d in docs.values()
    )
    assert doc["totals"]["customers_out"] > 0
    # Both regions' customers in no zone: two areas, told apart by their region.
    assert sorted((a["region"], a["area"]) for a in doc["areas"]) == [
        ("north", None),
        ("south", None),
    ]
    by_area = [a["customers_out"] for a in doc["areas"]]
    assert by_area == sorted(by_area, reverse=True)


@pytest.mark.postgres
def test_combined_indices_equal_one_data_set_holding_every_region(
    regions: Any, postgres_server: Any
) -> None:
    from oms.reports.reliability import indices as one_indices

    combined = indices(regions["db"], regions["regions"], *PERIOD)
    # One schema holding both networks and both regions' outage records.
    url = postgres_server.create()[0]
    single = connect(url)
    load_model(single, merged([regions["nets"]["north"], regions["nets"]["south"]]), "all")
    with single.begin() as target:
        for region in regions["regions"]:
            with in_region(regions["db"], region) as conn:
                rows = [dict(r) for r in conn.execute(select(schema.outages)).mappings()]
            for row in rows:
                for key in ("id", "merged_into", "revealed_by"):
                    if row[key] is not None:
                        row[key] = f"{region.name[0]}{row[key]}"
            target.execute(schema.outages.insert(), rows)
    with single.connect() as conn:
        whole = one_indices(conn, *PERIOD)
    single.dispose()
    got, want = combined["all"], whole["all"]
    assert got["customers_interrupted"] > 0 and got["MAIFI"] > 0
    assert combined["customers_served"] == whole["customers_served"]
    for key in ("interruptions", "customers_interrupted", "SAIFI"):
        assert got[key] == want[key], key
    tolerance = {"customer_minutes": 0.1, "SAIDI": 1e-3, "CAIDI": 1e-3, "ASAI": 1e-7}
    tolerance |= {"CAIFI": 1e-5, "MAIFI": 1e-5, "CEMI-3": 1e-6}
    for key, tol in tolerance.items():
        assert got[key] == pytest.approx(want[key], abs=tol * 1.01), key
    assert combined["daily_saidi"] == pytest.approx(whole["daily_saidi"], abs=1e-4)
    # Not a mean of the regions' indices: the regions serve different numbers.
    per = combined["regions"]
    mean = (per["north"]["all"]["SAIDI"] + per["south"]["all"]["SAIDI"]) / 2
    assert abs(mean - got["SAIDI"]) > 1e-3


# -------------------------------------------------------------- pure rules
def _doc(served: int, daily: dict[str, float], **figures: Any) -> dict[str, Any]:
    part = {
        "interruptions": 1,
        "customers_interrupted": 0,
        "customer_minutes": 0.0,
        "MAIFI": 0.0,
        "CAIFI": None,
        "CEMI-3": 0.0,
        **figures,
    }
    return {
        "period": {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-11T00:00:00+00:00"},
        "customers_served": served,
        "all": part,
        "planned": part,
        "daily_saidi": daily,
    }


def test_indices_are_sums_over_all_customers_not_a_mean() -> None:
    a = _doc(100, {}, customers_interrupted=50, customer_minutes=3000.0, CAIFI=1.25)
    b = _doc(900, {}, customers_interrupted=90, customer_minutes=900.0, CAIFI=1.0, MAIFI=0.1)
    doc = combine_indices({"a": a, "b": b})
    assert doc["customers_served"] == 1000
    assert doc["all"]["SAIFI"] == 0.14  # (50 + 90) / 1000, not (0.5 + 0.1) / 2
    assert doc["all"]["SAIDI"] == 3.9  # (3000 + 900) / 1000
    assert doc["all"]["CAIFI"] == round(140 / (40 + 90), 5)
    assert doc["all"]["MAIFI"] == 0.09
    assert doc["excluding_med"] is None and doc["major_event_days"] == []


def test_major_event_days_are_found_on_the_combined_daily_saidi() -> None:
    days = [f"2024-07-{d:02d}" for d in range(1, 11)]
    quiet = dict.fromkeys(days, 1.0)
    a = _doc(100, {**quiet, days[3]: 1.0}, interruptions=10, customers_interrupted=100)
    # Region b's storm day is a major event day of all customers' SAIDI.
    b = _doc(100, {**quiet, days[3]: 500.0}, interruptions=20, customers_interrupted=300)
    with pytest.raises(Exception, match="major event days"):
        combine_indices({"a": a, "b": b}, med_min_days=5)
    since = _doc(100, {}, interruptions=4, customers_interrupted=60)
    after = _doc(100, {}, interruptions=1, customers_interrupted=10)
    doc = combine_indices(
        {"a": a, "b": b},
        med_min_days=5,
        med_day_indices={days[3]: {"a": (after, after), "b": (since, after)}},
    )
    assert doc["major_event_days"] == [days[3]]
    assert doc["excluding_med"]["interruptions"] == 30 - 3
    assert doc["excluding_med"]["customers_interrupted"] == 400 - 50
    assert doc["excluding_med"]["CAIFI"] is None


def test_region_names_are_checked() -> None:
    assert parse_region("north=oms_north") == Region("north", "oms_north")
    for bad in ("north", "=x", "North=x", "north=oms-north", 'n=x"; drop', "n=oms_all"):
        with pytest.raises(Exception, match=r"region|schema"):
            parse_region(bad)
