"""The storm overview: ``GET /api/overview`` and its page (SQLite and PostgreSQL).

On the two-feeder network of ``helpers`` (substation S1 feeds B1 and B3,
S2 feeds B2; zone Z-W west, Z-E east) a storm is driven through the API:
B2 locks out (26 customers), customers below fuse F1 call (5, one on life
support), B2 is closed again 50 minutes later. Then a demo storm is played
through the engine on the demo network and every figure of the overview
is checked against the outages, jobs and crews in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import T0, Clock, User
from flask import Flask
from sqlalchemy import select
from test_api import ev, job_of, ok, outage_at, trip

from oms.storage import schema
from oms.vocabulary import CrewStatus, values

BELOW_FUSE = [f"a9-{k}" for k in range(1, 6)]
STATUSES = values(CrewStatus)


@pytest.fixture
def storm(dora: User, clock: Clock) -> dict[str, str]:
    """B2 locks out at T0 + 1 min; F1's customers call at + 10 min; B2 closes at + 60 min.

    K1 is sent to F1's job; automatic dispatch is off, so B2's job waits.
    """
    ok(dora.post("/api/events", json=ev("auto", "dispatch_auto", 0, auto=False)))
    trip(dora, "s1", "B2", 60)
    calls = [
        ev("c1", "call", 600, customer="a9-2"),
        ev("c2", "call", 610, customer="a9-3"),
        *(ev(f"g{i}", "ami_last_gasp", 615, customer=c) for i, c in enumerate(BELOW_FUSE)),
    ]
    ok(dora.post("/api/events", json=calls))
    clock.now = T0 + timedelta(minutes=20)
    fuse = outage_at(dora, "F1")["id"]
    breaker = outage_at(dora, "B2")["id"]
    fuse_job = job_of(dora, fuse)["id"]
    ok(dora.post(f"/api/jobs/{fuse_job}/assign", json={"crew": "K1"}))
    return {"fuse": fuse, "breaker": breaker, "fuse_job": fuse_job}


def overview(user: User, query: str = "") -> dict[str, Any]:
    doc: dict[str, Any] = ok(user.get(f"/api/overview{query}"))
    return doc


def row(doc: dict[str, Any], group: str, key: str | None) -> dict[str, Any]:
    found = [r for r in doc["groups"][group] if r["id"] == key]
    assert len(found) == 1, (group, key, doc["groups"][group])
    return found[0]


def crews(**counts: int) -> dict[str, int]:
    return {s: counts.get(s, 0) for s in STATUSES}


def test_totals_and_groups_of_a_storm(dora: User, storm: dict[str, str], clock: Clock) -> None:
    doc = overview(dora)
    assert doc["as_of"] == clock().isoformat() and doc["hours"] == 12
    t = doc["totals"]
    assert (t["outages"], t["customers_out"], t["critical_out"]) == (2, 31, 1)
    assert (t["jobs_open"], t["jobs_waiting"]) == (2, 1)
    assert t["crews"] == crews(assigned=1, available=2, off_shift=1)  # K4 works nights
    # By substation: S2's lockout, S1's fuse (on feeder B1), with K1 sent there.
    s2, s1 = doc["groups"]["substation"]  # most customers out first
    assert (s2["id"], s2["name"], s2["customers_out"], s2["critical_out"]) == (
        "S2",
        "Substation 2",
        26,
        0,
    )
    assert (s2["outages"], s2["jobs_open"], s2["jobs_waiting"], s2["crews"]) == (1, 1, 1, crews())
    assert (s1["id"], s1["customers_out"], s1["critical_out"], s1["jobs_waiting"]) == (
        "S1",
        5,
        1,
        0,
    )
    assert s1["crews"] == crews(assigned=1)
    b1 = row(doc, "feeder", "B1")
    assert (b1["outages"], b1["customers_out"], b1["crews"]) == (1, 5, crews(assigned=1))
    assert row(doc, "feeder", "B2")["customers_out"] == 26
    assert [r["id"] for r in doc["groups"]["feeder"]] == ["B2", "B1"]  # B3: nothing going on
    # By zone: every zone, crews without a job in their home zone.
    west, east = row(doc, "zone", "Z-W"), row(doc, "zone", "Z-E")
    assert (west["name"], west["area_class"], west["unit"]) == ("Z-W", "urban", "U1")  # no name
    assert west["customers_out"] == 5
    assert west["crews"] == crews(assigned=1, available=1)  # K1 on the fuse, K3 at home
    assert (east["area_class"], east["customers_out"], east["crews"]) == (
        "rural",
        26,
        crews(available=1),
    )
    assert row(doc, "zone", None)["crews"] == crews(off_shift=1)  # K4 has no zone
    # ETRs are the outages' own.
    listed = {o["id"]: o for o in ok(dora.get("/api/outages"))}
    etrs = sorted(o["etr"] for o in listed.values() if o["etr"])
    assert (t["etr_earliest"], t["etr_latest"]) == (etrs[0], etrs[-1])
    assert s2["etr_latest"] == listed[storm["breaker"]]["etr"]
    assert t["oldest_started"] == listed[storm["breaker"]]["started"] == ev("x", "x", 60)["time"]


def test_oldest_unassigned_job_and_breaches(
    dora: User, storm: dict[str, str], clock: Clock
) -> None:
    doc = overview(dora)
    oldest = doc["oldest_unassigned"]
    breaker_job = job_of(dora, storm["breaker"])
    assert (oldest["id"], oldest["outage"], oldest["state"]) == (
        breaker_job["id"],
        storm["breaker"],
        "waiting",
    )
    assert (oldest["feeder"], oldest["substation"], oldest["zone"]) == ("B2", "S2", "Z-E")
    assert oldest["reported"] == breaker_job["stamps"]["A"]
    early = {b["id"]: b["breaches"] for b in doc["breaches"]["listed"]}
    assert early == {j["id"]: j["breaches"] for j in ok(dora.get("/api/jobs")) if j["breaches"]}
    clock.now = T0 + timedelta(hours=3)  # every target of the waiting job has run out
    doc = overview(dora)
    assert "arrival" in doc["breaches"]["by_target"]
    jobs = ok(dora.get("/api/jobs?open=1"))
    breached = [j for j in jobs if j["breaches"]]
    assert doc["totals"]["jobs_breached"] == doc["breaches"]["jobs"] == len(breached) > 0
    assert {b["id"] for b in doc["breaches"]["listed"]} == {j["id"] for j in breached}
    by_target: dict[str, int] = {}
    for j in breached:
        for b in j["breaches"]:
            by_target[b] = by_target.get(b, 0) + 1
    assert doc["breaches"]["by_target"] == by_target
    assert row(doc, "substation", "S2")["jobs_breached"] == sum(
        1 for j in breached if j["id"] == breaker_job["id"]
    )
    assert doc["alarms"]["unacknowledged"] == len(ok(dora.get("/api/alerts?acknowledged=0")))


def test_customers_out_over_time(dora: User, storm: dict[str, str], clock: Clock) -> None:
    blink = [  # B3 (8 customers) trips and recloses in 30 s: momentary, left out
        ev("s3", "scada", 1800, device="B3", state="open", lockout=True),
        ev("s4", "scada", 1830, device="B3", state="closed"),
    ]
    ok(dora.post("/api/events", json=blink))
    assert outage_at(dora, "B3")["kind"] == "momentary"
    ok(dora.post("/api/events", json=ev("s2", "scada", 3600, device="B2", state="closed")))
    clock.now = T0 + timedelta(hours=2)
    doc = overview(dora, "?hours=3")
    series = doc["series"]
    assert len(series) == 121 and series[-1]["time"] == doc["as_of"]
    # The window reaches back to T0 - 1 h, the storm began at T0 + 1 min: the
    # series starts a tenth of the rest (11.9 min) before B2's lockout.
    start = T0 + timedelta(minutes=1) - (clock() - T0 - timedelta(minutes=1)) / 10
    assert series[0]["time"] == start.isoformat()
    step = (clock() - start) / 120

    def at(minutes: float) -> dict[str, Any]:
        when = T0 + timedelta(minutes=minutes)
        k = round((when - start) / step)
        point: dict[str, Any] = series[k]
        assert abs(datetime.fromisoformat(point["time"]) - when) < step / 2
        return point

    assert at(-10)["customers_out"] == 0 and at(-10)["outages"] == 0
    assert (at(3)["customers_out"], at(3)["outages"]) == (26, 1)  # B2 from T0 + 1 min
    both = at(30)  # the fuse's customers from their calls, 10 min after T0
    assert (both["customers_out"], both["critical_out"], both["outages"]) == (31, 1, 2)
    assert (at(90)["customers_out"], at(90)["outages"]) == (5, 1)  # B2 closed at + 60 min
    assert series[-1]["customers_out"] == doc["totals"]["customers_out"] == 5
    assert doc["peak"]["customers_out"] == 31 and doc["peak"]["outages"] == 2
    # From when the engine knew of the fuse's outage (the calls' batch), not its first call.
    known = datetime.fromisoformat(doc["peak"]["time"])
    assert T0 + timedelta(seconds=600) <= known <= T0 + timedelta(seconds=615)
    restored = outage_at(dora, "B2")
    assert restored["state"] == "restored"
    assert row(doc, "substation", "S1")["customers_out"] == 5
    assert [r["id"] for r in doc["groups"]["substation"]] == ["S1", "S2"]  # S2: its waiting job
    assert row(doc, "substation", "S2")["outages"] == 0


def test_the_series_starts_near_the_first_outage(
    dora: User, storm: dict[str, str], clock: Clock
) -> None:
    """A 12-hour window over a storm of minutes is not 11 hours of flat zero."""
    clock.now = T0 + timedelta(hours=2)
    doc = overview(dora)  # 12 h back from T0 + 2 h; B2 out from T0 + 1 min
    first = T0 + timedelta(minutes=1)
    start = datetime.fromisoformat(doc["series"][0]["time"])
    assert first - timedelta(minutes=15) <= start < first
    assert doc["hours"] == 12 and doc["series"][-1]["time"] == doc["as_of"]
    assert doc["series"][0]["customers_out"] == 0 and doc["series"][-1]["customers_out"] == 31
    # Never shorter than half an hour: 19 minutes into the storm, from 11 minutes before it.
    clock.now = T0 + timedelta(minutes=20)
    doc = overview(dora)
    assert doc["series"][0]["time"] == (clock() - timedelta(minutes=30)).isoformat()
    assert doc["peak"]["customers_out"] == 31


def test_a_short_window_starts_with_what_was_out_already(
    dora: User, storm: dict[str, str], clock: Clock
) -> None:
    doc = overview(dora, "?hours=1")  # from T0 - 40 min: before the storm
    assert doc["series"][0]["customers_out"] == 0 and doc["series"][-1]["customers_out"] == 31
    clock.now = T0 + timedelta(hours=5)
    doc = overview(dora, "?hours=1")  # from T0 + 4 h: both out all along
    assert {p["customers_out"] for p in doc["series"]} == {31}
    assert doc["peak"] == {"time": doc["series"][0]["time"], "customers_out": 31, "outages": 2}
    assert dora.get("/api/overview?hours=1&hours=2").status_code == 400


def test_staff_only_and_the_window_is_checked(app: Flask, dora: User, clock: Clock) -> None:
    assert User(app, "k1").get("/api/overview").status_code == 403
    assert User(app, "eng").get("/api/overview").status_code == 200
    assert User(app, "ada").get("/api/overview").status_code == 200
    assert app.test_client().get("/api/overview").status_code == 401
    for bad in ("0", "-1", "169", "nan", "soon"):
        assert dora.get(f"/api/overview?hours={bad}").status_code == 400, bad
    empty = overview(dora)
    assert empty["totals"]["outages"] == 0 and empty["oldest_unassigned"] is None
    assert all(p["customers_out"] == 0 for p in empty["series"])
    assert [r["id"] for r in empty["groups"]["zone"]] == ["Z-E", "Z-W", None]


def test_the_page_and_the_wall_display(app: Flask, dora: User, clock: Clock) -> None:
    page = dora.get("/overview")
    assert page.status_code == 200 and b'id="overview"' in page.data
    assert b"/static/overview.js" in page.data and b'"wall": false' in page.data
    wall = dora.get("/overview?wall=1")
    assert wall.status_code == 200 and b'"wall": true' in wall.data
    assert b'class="wall"' in wall.data
    assert User(app, "k1").get("/overview").status_code == 403
    signed_out = app.test_client().get("/overview")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    assert b'href="/overview"' in dora.get("/").data  # from the dispatcher's top bar


# ------------------------------------------------------------ the demo storm
@pytest.fixture
def demo_app(db_url: str) -> Iterator[Flask]:
    """The demo data set with the first 40 minutes of a demo storm played through the engine."""
    with demo_storm_app(db_url) as app:
        yield app


@contextmanager
def demo_storm_app(db_url: str) -> Iterator[Flask]:
    """The app on the demo data set after the first 40 minutes of a demo storm
    (its clock stopped there); the browser tests use it too."""
    from oms.demodata import demo_files, demo_network
    from oms.engine import OutageEngine
    from oms.simulation.crews import CrewSimulator
    from oms.simulation.replay import LiveReplay
    from oms.simulation.storms import HeadEnd, StormParams, simulate_storm
    from oms.storage.db import connect
    from oms.storage.loading import load
    from webmap import create_app
    from webmap.accounts import add_user
    from webmap.demo import demo_config

    db = connect(db_url)
    load(db, **demo_files())
    with db.begin() as conn:
        add_user(conn, "dora", "secret-pw", "dispatcher")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    net = demo_network()
    played = simulate_storm(net, StormParams(span_minutes=40, seed=3, start=start))
    replay = LiveReplay(
        OutageEngine(db, demo_config()),
        played.events,
        HeadEnd(net, played.truth),
        CrewSimulator(seed=3, truth=played.truth),
    )
    now = start
    while now < start + timedelta(minutes=40):
        now += timedelta(seconds=60)
        replay.advance(now)
    db.dispose()
    app = create_app(
        {"TESTING": True, "OMS_DB": db_url, "OMS_TICK_S": 0, "SECRET_KEY": "t"}
        | {"OMS_ENGINE_CONFIG": demo_config(), "OMS_CLOCK": lambda: now}
    )
    try:
        yield app
    finally:
        app.extensions["oms.service"].stop()
        app.extensions["oms.storage.db"].dispose()


def test_a_demo_storm_adds_up(demo_app: Flask) -> None:
    dora = User(demo_app, "dora")
    doc = overview(dora)
    outages = ok(dora.get("/api/outages"))
    active = [o for o in outages if o["state"] in ("predicted", "confirmed")]
    jobs = ok(dora.get("/api/jobs?open=1"))
    crew_list = ok(dora.get("/api/crews"))
    assert len(active) >= 5  # a storm, not a quiet day
    t = doc["totals"]
    assert t["outages"] == len(active)
    assert t["customers_out"] == sum(o["customers_out"] for o in active)
    assert t["critical_out"] == sum(o["critical_out"] for o in active)
    assert t["jobs_open"] == len(jobs)
    assert t["jobs_waiting"] == sum(1 for j in jobs if j["state"] == "waiting")
    assert t["jobs_breached"] == sum(1 for j in jobs if j["breaches"])
    assert t["crews"] == crews(**_count(c["status"] for c in crew_list))
    # The database itself, read apart from the API.
    with demo_app.extensions["oms.storage.db"].connect() as conn:
        o = schema.outages
        stored = conn.execute(
            select(o.c.customers_out).where(o.c.state.in_(("predicted", "confirmed")))
        ).scalars()
        assert t["customers_out"] == sum(stored)
    # Every grouping covers every outage once: its rows add up to the totals.
    for group in ("substation", "feeder", "zone"):
        rows = doc["groups"][group]
        for key in ("outages", "customers_out", "critical_out", "jobs_open", "jobs_waiting"):
            assert sum(r[key] for r in rows) == t[key], (group, key)
    # Every demo device is on a feeder of a named substation.
    assert all(r["id"] is not None for r in doc["groups"]["feeder"] if r["outages"])
    names = {r["name"] for r in doc["groups"]["substation"]}
    assert names <= {
        "Qingshui 110 kV Substation",
        "Chengxi 110 kV Substation",
        "Wangzhuang 35 kV Substation",
    }
    zones = {r["id"]: r["name"] for r in doc["groups"]["zone"] if r["id"]}
    assert len(zones) == 10 and all(name and name != zid for zid, name in zones.items())
    feeders = {r["id"] for r in doc["groups"]["feeder"]}
    assert {o["id"] for o in active} and feeders <= {f"F{k}-B" for k in range(1, 13)}
    # Working crews count once in substations and feeders, every crew once in the zones.
    busy = sum(1 for c in crew_list if c["jobs"] and c["status"] not in ("available", "off_shift"))
    assert sum(sum(r["crews"].values()) for r in doc["groups"]["zone"]) == len(crew_list)
    assert sum(sum(r["crews"].values()) for r in doc["groups"]["substation"]) <= busy
    # The series starts at the storm (a small lead before its first outage), not 12 h back.
    first = min(datetime.fromisoformat(o["started"]) for o in outages)
    now = datetime.fromisoformat(doc["as_of"])
    start = datetime.fromisoformat(doc["series"][0]["time"])
    assert first - (now - first) * 0.15 <= start <= first
    # The series ends at what is out now, and never above its peak.
    assert doc["series"][-1]["customers_out"] == t["customers_out"]
    assert doc["peak"]["customers_out"] == max(
        doc["peak"]["customers_out"], *(p["customers_out"] for p in doc["series"])
    )
    if waiting := [j for j in jobs if j["state"] == "waiting"]:
        first = min(waiting, key=lambda j: (j["stamps"]["A"], j["id"]))
        assert doc["oldest_unassigned"]["id"] == first["id"]


def _count(statuses: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return out
