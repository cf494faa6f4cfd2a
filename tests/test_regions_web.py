"""The web routes across control regions (webmap/regions.py), on a real PostgreSQL.

Two regions are built as tests/test_regions.py builds them (its fixture:
two generated networks in two schemas, each ingesting its own storm with
its own writer, and the ``oms_all`` views over them). One server is served
against the first region's schema and answers across both; each region
also gets a server of its own, whose single-region routes are what the
combined routes must equal once combined: the overview's totals added up,
the open outages the union of both regions' ``GET /api/outages?open=1``
(each with its region, at the same position as on the region's map), the
indices ``combine_indices`` of both regions' ``GET /api/reports/indices``,
and the public document ``public_outages`` of both regions'
``GET /api/public/outages`` (case references made with each region's own
key). Without the views (SQLite, or PostgreSQL before ``oms regions views``)
every route answers 404 saying to run it.

The PostgreSQL tests fail under ``CI=true`` without a server (the
``postgres_server`` fixture behind the regions).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import test_regions
from conftest import PASSWORD, Clock, User
from flask import Flask
from sqlalchemy import text
from test_regions import PERIOD
from test_snapshots import snapshot_bound

from oms.intake.events import iso
from oms.storage.db import connect
from oms.storage.regions import (
    ALL_SCHEMA,
    combine_indices,
    combine_totals,
    indices,
    public_outages,
    status,
)
from webmap.accounts import add_user
from webmap.openapi.metadata import problem

ROUTES = (
    "/api/regions",
    "/api/regions/overview",
    "/api/regions/outages",
    "/api/regions/reports/indices",
    "/api/regions/public/outages",
)
#: Each combined route's endpoint and its single-region counterpart's (same roles).
COUNTERPARTS = {
    "regions.regions_status": "overview.overview_json",
    "regions.regions_overview": "overview.overview_json",
    "regions.regions_outages": "api.outages",
    "regions.regions_indices": "api.report",
}
_OPEN = ("predicted", "confirmed", "restored")

#: The two regions of tests/test_regions.py: its module fixture, here under this name.
two_regions = test_regions.regions


def _app(url: str, clock: Clock, **config: Any) -> Flask:
    from webmap import create_app

    app = create_app({"TESTING": True, "OMS_DB": url, "OMS_TICK_S": 0, "SECRET_KEY": "t", **config})
    app.extensions["oms.service"].clock = clock
    return app


def _stop(app: Flask) -> None:
    app.extensions["oms.service"].stop()
    app.extensions["oms.storage.db"].dispose()


@pytest.fixture(scope="module")
def served(two_regions: Any) -> Iterator[dict[str, Any]]:
    """The combined server (on north's schema), a server per region, their users and clock."""
    for name, url in two_regions["urls"].items():
        db = connect(url, upgrade=False)
        with db.begin() as conn:
            add_user(conn, "dora", PASSWORD, "dispatcher")
            if name == "north":
                add_user(conn, "eng", PASSWORD, "engineer")
                add_user(conn, "k1", PASSWORD, "crew", "K-north-1")
        db.dispose()
    # After every region's engine clock: one "now" for every server.
    clocks = [datetime.fromisoformat(r["clock"]) for r in status(two_regions["db"])]
    clock = Clock(max(clocks) + timedelta(minutes=10))
    # The defaults' snapshot bounds (1 s, 10 s public): served from snapshots.
    web = _app(two_regions["urls"]["north"], clock)
    own = {
        name: _app(url, clock, OMS_SNAPSHOT_S=0, OMS_PUBLIC_REFRESH_S=0)
        for name, url in two_regions["urls"].items()
    }
    try:
        yield {
            **two_regions,
            "web": web,
            "own": own,
            "clock": clock,
            "users": {u: User(web, u) for u in ("dora", "eng", "k1")},
            "own_users": {name: User(app, "dora") for name, app in own.items()},
        }
    finally:
        for app in (web, *own.values()):
            _stop(app)


def _ok(response: Any) -> Any:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    return response.get_json(force=True)


def _documented(app: Flask, endpoint: str, body: Any) -> None:
    """``body`` is what the OpenAPI description of ``endpoint`` says a 200 carries."""
    schema = app.view_functions[endpoint].operation.ok[200].schema
    assert problem(schema, body) is None, problem(schema, body)


def _region_gets(served: dict[str, Any], url: str) -> dict[str, Any]:
    """``url`` on each region's own server, by region name."""
    return {name: _ok(user.get(url)) for name, user in sorted(served["own_users"].items())}


@pytest.mark.postgres
def test_status_is_each_regions(served: dict[str, Any]) -> None:
    got = _ok(served["users"]["dora"].get("/api/regions"))
    assert got == status(served["db"])
    assert [r["region"] for r in got] == ["north", "south"]
    for row in got:
        assert datetime.fromisoformat(row["clock"]).utcoffset() == timedelta(0)
        assert row["events"] == len(served["lines"][row["region"]])
    _documented(served["web"], "regions.regions_status", got)


@pytest.mark.postgres
def test_overview_totals_add_up_the_regions_own(served: dict[str, Any]) -> None:
    got = _ok(served["users"]["dora"].get("/api/regions/overview"))
    per = {n: d["totals"] for n, d in _region_gets(served, "/api/overview").items()}
    now = served["clock"]()
    assert got == combine_totals(per, now)
    assert got["as_of"] == iso(now)
    for key in ("outages", "customers_out", "critical_out", "jobs_open", "jobs_breached"):
        assert got[key] == per["north"][key] + per["south"][key], key
    assert got["outages"] > 0 and got["customers_out"] > 0
    assert sum(got["crews"].values()) == 4  # two crews per region
    assert got["regions"] == per
    _documented(served["web"], "regions.regions_overview", got)


@pytest.mark.postgres
def test_outages_are_the_union_of_the_regions_lists(served: dict[str, Any]) -> None:
    response = served["users"]["dora"].get("/api/regions/outages")
    assert response.mimetype == "application/geo+json"
    got = _ok(response)
    assert got["type"] == "FeatureCollection"
    by_key = {(f["properties"]["region"], f["properties"]["id"]): f for f in got["features"]}
    assert len(by_key) == len(got["features"])
    lists = _region_gets(served, "/api/outages?open=1")
    maps = _region_gets(served, "/map/outages.geojson")
    expected = {(n, o["id"]): {**o, "region": n} for n, found in lists.items() for o in found}
    assert set(by_key) == set(expected)
    assert {n for n, _ in by_key} == {"north", "south"}
    for key, feature in by_key.items():
        assert feature["properties"] == expected[key], key
    # Where each region's own map draws it (a network outage: always).
    for name, layer in maps.items():
        drawn = {f["properties"]["id"]: f["geometry"] for f in layer["features"]}
        for (region, oid), feature in by_key.items():
            if region == name:
                assert feature["geometry"] == drawn.get(oid), (region, oid)
                if feature["properties"]["device"]:
                    assert feature["geometry"] is not None
    # And the view's count.
    with served["db"].connect() as conn:
        count = conn.execute(
            text(f"SELECT count(*) FROM {ALL_SCHEMA}.outages WHERE state = ANY(:s)"),
            {"s": list(_OPEN)},
        ).scalar()
    assert len(got["features"]) == count > 0
    starts = [datetime.fromisoformat(f["properties"]["started"]) for f in got["features"]]
    assert starts == sorted(starts)
    _documented(served["web"], "regions.regions_outages", got)


@pytest.mark.postgres
def test_indices_combine_the_regions_reports(served: dict[str, Any]) -> None:
    start, end = (iso(t) for t in PERIOD)
    args = {"start": start, "end": end}
    got = _ok(served["users"]["eng"].get("/api/regions/reports/indices", query_string=args))
    per = {
        n: _ok(user.get("/api/reports/indices", query_string=args))
        for n, user in sorted(served["own_users"].items())
    }
    assert got == combine_indices(per)
    assert got == indices(served["db"], served["regions"], *PERIOD)
    assert got["period"] == {"start": start, "end": end}
    assert got["customers_served"] == sum(d["customers_served"] for d in per.values())
    interrupted = got["all"]["customers_interrupted"]
    assert interrupted == sum(d["all"]["customers_interrupted"] for d in per.values()) > 0
    assert got["all"]["SAIFI"] == round(interrupted / got["customers_served"], 5)
    _documented(served["web"], "regions.regions_indices", got)
    # The default period: the year to now, as the single-region report's.
    default = _ok(served["users"]["dora"].get("/api/regions/reports/indices"))
    now = served["clock"]()
    assert default["period"] == {"start": iso(now - timedelta(days=365)), "end": iso(now)}
    bad = served["users"]["dora"].get("/api/regions/reports/indices?start=yesterday")
    assert bad.status_code == 400 and "start" in bad.get_json()["error"]


@pytest.mark.postgres
def test_the_public_document_tags_every_regions_areas(served: dict[str, Any]) -> None:
    anonymous = served["web"].test_client()
    response = anonymous.get("/api/regions/public/outages")
    got = _ok(response)
    per = {n: _ok(app.test_client().get("/api/public/outages")) for n, app in served["own"].items()}
    assert got == public_outages(per)
    assert sorted((a["region"], a["area"]) for a in got["areas"]) == [
        ("north", None),
        ("south", None),
    ]
    for name, doc in per.items():
        # Each region's areas as its own page gives them, in its order, tagged.
        mine = [a for a in got["areas"] if a["region"] == name]
        assert [{k: v for k, v in a.items() if k != "region"} for a in mine] == doc["areas"]
    served_total = sum(len(served["nets"][n].customers) for n in per)
    assert got["totals"]["customers_served"] == served_total
    assert got["totals"]["customers_out"] == sum(d["totals"]["customers_out"] for d in per.values())
    assert got["totals"]["customers_out"] > 0
    # Case references: each region's own (its own page's); none shared.
    cases = [i["case"] for a in got["areas"] for i in a["items"]]
    assert cases and len(set(cases)) == len(cases)
    # No personal data: no customer id, phone number or device id.
    body = response.get_data(as_text=True)
    assert not re.search(r"[NS]-C\d{7}|\+1(612|651)\d{7}", body)
    for area in got["areas"]:
        for item in area["items"]:
            assert set(item) <= {
                "case",
                "customers_out",
                "started",
                "etr",
                "stage",
                "stage_label",
                "hazard",
            }
    _documented(served["web"], "regions.regions_public_outages", got)


@pytest.mark.postgres
def test_the_public_document_is_a_cached_snapshot(served: dict[str, Any]) -> None:
    web, clock = served["web"], served["clock"]
    client = web.test_client()
    first = client.get("/api/regions/public/outages")
    assert first.status_code == 200 and first.headers["Cache-Control"].startswith(
        "public, max-age="
    )
    etag = first.headers["ETag"].strip('"')
    again = client.get("/api/regions/public/outages", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304
    builds = web.extensions["oms.snapshots"].builds
    key = ("regions", "public", "outages")
    before = builds[key]
    client.get("/api/regions/public/outages")
    assert builds[key] == before  # younger than OMS_PUBLIC_REFRESH_S: no build
    # Past the bound as the rule has it (a slow first build stretches it).
    step = snapshot_bound(web, key, 10.0) + 1
    clock.advance(seconds=step)
    try:
        assert client.get("/api/regions/public/outages").status_code == 200
        assert builds[key] == before + 1  # a change in any region is seen within the bound
    finally:
        clock.advance(seconds=-step)


@pytest.mark.postgres
def test_roles_are_the_single_region_routes(served: dict[str, Any]) -> None:
    web, users = served["web"], served["users"]
    for endpoint, counterpart in COUNTERPARTS.items():
        assert (
            web.view_functions[endpoint].access.roles
            == web.view_functions[counterpart].access.roles
        )
    assert not hasattr(web.view_functions["regions.regions_public_outages"], "access")
    anonymous = web.test_client()
    for url in ROUTES[:-1]:
        assert anonymous.get(url).status_code == 401, url
        assert users["k1"].get(url).status_code == 403, url
        assert users["eng"].get(url).status_code == 200, url
    assert anonymous.get(ROUTES[-1]).status_code == 200


@pytest.mark.postgres
def test_without_the_views_every_route_says_to_make_them(served: dict[str, Any]) -> None:
    hidden = f"oms_all_hidden_{uuid.uuid4().hex[:8]}"
    db = served["db"]
    with db.begin() as conn:
        conn.execute(text(f'ALTER SCHEMA "{ALL_SCHEMA}" RENAME TO "{hidden}"'))
    app = _app(served["urls"]["north"], served["clock"])  # no snapshots yet
    try:
        _all_404(app)
    finally:
        _stop(app)
        with db.begin() as conn:
            conn.execute(text(f'ALTER SCHEMA "{hidden}" RENAME TO "{ALL_SCHEMA}"'))
    assert _ok(served["users"]["dora"].get("/api/regions")) == status(db)


@pytest.mark.postgres
def test_a_region_whose_schema_is_gone_is_named_not_a_server_error(
    served: dict[str, Any],
) -> None:
    """The views still list a region whose schema was renamed since: every
    route reading it answers 503 naming the region and what to do (the
    public ones without either), and answers again once the schema is back."""
    south = next(r for r in served["regions"] if r.name == "south")
    moved = f"{south.schema}_moved"
    db = served["db"]
    with db.begin() as conn:
        conn.execute(text(f'ALTER SCHEMA "{south.schema}" RENAME TO "{moved}"'))
    app = _app(served["urls"]["north"], served["clock"])  # no snapshots yet
    try:
        dora, anonymous = User(app, "dora"), app.test_client()
        # The status too: the views follow a renamed schema and would answer for it.
        for url in (*ROUTES, "/api/regions/public/areas", "/api/regions/stream"):
            response = (anonymous if "public" in url else dora).get(url)
            body = response.get_json(force=True)
            assert response.status_code == 503, (url, body)
            if "public" in url:  # no schema names or remedies for the public
                assert body["error"] == "outage information is not available just now"
            else:
                assert body["error"].startswith("region south:"), (url, body)
                assert "oms regions views" in body["error"], (url, body)
    finally:
        with db.begin() as conn:
            conn.execute(text(f'ALTER SCHEMA "{moved}" RENAME TO "{south.schema}"'))
    try:
        assert _ok(User(app, "dora").get("/api/regions/overview"))["regions"].keys() == {
            "north",
            "south",
        }
    finally:
        _stop(app)


def test_on_sqlite_every_route_says_to_make_the_views(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'oms.sqlite'}", Clock(PERIOD[1]))
    try:
        with app.extensions["oms.storage.db"].begin() as conn:
            add_user(conn, "dora", PASSWORD, "dispatcher")
        _all_404(app)
    finally:
        _stop(app)


def _all_404(app: Flask) -> None:
    dora, anonymous = User(app, "dora"), app.test_client()
    for url in ROUTES:
        client = anonymous if "public" in url else dora
        response = client.get(url)
        assert response.status_code == 404, (url, response.get_data(as_text=True))
        assert "oms regions views" in response.get_json()["error"], url
