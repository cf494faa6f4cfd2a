"""Each outage of ``GET /api/outages`` carries its zone and crews (SQLite and PostgreSQL).

On the two-feeder network of ``helpers`` (zone Z-W west of x = 7.5, Z-E
east): the fuse F1's outage (calls at a9) gets a job in Z-W and crew K1 is
sent there; breaker B2 trips and closes again within a minute (a momentary
outage, in Z-E). An outage without a job is placed where a crew would be
sent: the node its device feeds, or its one customer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import T0, Clock, User
from flask import Flask
from test_api import ev, ok, outage_at


def test_outages_carry_their_zone_and_crews(app: Flask) -> None:
    clock = Clock(T0 + timedelta(minutes=5))
    app.extensions["oms.service"].clock = clock
    dora = User(app, "dora")
    calls = [ev(f"c{i}", "call", i, customer=f"a9-{i}") for i in (2, 3)]
    ok(dora.post("/api/events", json=calls))
    blink = [
        ev("s1", "scada", 30, device="B2", state="open", lockout=True),
        ev("s2", "scada", 60, device="B2", state="closed"),
    ]
    ok(dora.post("/api/events", json=blink))
    fuse = outage_at(dora, "F1")
    (job,) = [j for j in ok(dora.get("/api/jobs")) if j["outage"] == fuse["id"]]
    assert (fuse["zone"], fuse["crews"]) == ("Z-W", [])  # no crew yet
    assert ok(dora.post(f"/api/jobs/{job['id']}/assign", json={"crew": "K1"}))["accepted"] == 1
    fuse, breaker = outage_at(dora, "F1"), outage_at(dora, "B2")
    assert fuse["zone"] == job["zone"] == "Z-W" and fuse["crews"] == ["K1"]
    assert breaker["kind"] == "momentary" and breaker["crews"] == []
    assert breaker["zone"] == "Z-E"
    (listed,) = ok(dora.get("/api/outages?state=" + breaker["state"]))
    assert (listed["zone"], listed["crews"]) == ("Z-E", [])


def test_an_outage_without_a_job_is_placed_where_a_crew_would_go(app: Flask) -> None:
    from oms.outages import get_outage, outage_places
    from webmap.db import get_conn, network

    clock = Clock(T0 + timedelta(minutes=5))
    app.extensions["oms.service"].clock = clock
    dora = User(app, "dora")
    ok(
        dora.post(
            "/api/events", json=ev("s1", "scada", 30, device="B2", state="open", lockout=True)
        )
    )
    ok(dora.post("/api/events", json=[ev(f"c{i}", "call", 40, customer=f"a9-{i}") for i in (2, 3)]))
    ok(dora.post("/api/events", json=ev("lone", "call", 50, customer="c2-1")))
    with app.test_request_context():
        conn, net = get_conn(), network()
        ids = {o["device"] or o["customer"]: o["id"] for o in ok(dora.get("/api/outages"))}
        # The same outages under ids no job refers to.
        found = [replace(get_outage(conn, i), id=f"X-{k}") for k, i in ids.items()]
        places = outage_places(conn, net, found)
        assert places == {
            "X-B2": {"zone": "Z-E", "crews": []},  # b1, the node B2 feeds
            "X-F1": {"zone": "Z-W", "crews": []},  # a7, below the fuse
            "X-c2-1": {"zone": "Z-W", "crews": []},  # its one customer
        }
        assert outage_places(conn, None, found)["X-B2"] == {"zone": None, "crews": []}
