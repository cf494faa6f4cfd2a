"""The public outage page across control regions (``/regions/public/``), on a real PostgreSQL.

The two regions of tests/test_regions.py (its fixture, served as
tests/test_regions_web.py serves them: a server on the first region's
schema answering across both, and a server of each region), each given
response zones of the same two ids (``Z-W`` and ``Z-E``: zone ids are each
region's own). The page is served without sign-in, with the public page's
cache headers, and 404s where there are no regions. ``GET
/api/regions/public/areas`` is both regions' ``GET /api/public/areas``
tagged with the region; ``GET /api/regions/public/case`` answers a case
reference or a phone number as the region owning it answers it, plus its
region, an unknown one with the single-region 404, and shares the public
lookups' rate limit. In Chromium the page lists and maps both regions'
areas, finds a case of each region by its reference and says an unknown
one is not found; nothing it fetches carries a customer id or phone number.

The PostgreSQL tests fail under ``CI=true`` without a server (the
``postgres_server`` fixture behind the regions), the browser test without
Chromium.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import test_regions
import test_regions_web
from conftest import Clock, kept_on_server, serve
from helpers import fuse_clear_of
from test_regions import CONFIG, PERIOD
from test_regions_web import _app, _documented, _ok, _stop

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.intake.events import iso
from oms.outages import ACTIVE_STATES, list_outages
from oms.storage.db import connect
from oms.storage.loading import load
from oms.storage.queries import engine_clock

#: The regions of tests/test_regions.py, and the servers of tests/test_regions_web.py
#: (``served`` asks for ``two_regions``: here, the regions with their zones).
regions = test_regions.regions
served = test_regions_web.served

#: A customer id or phone number of either region (tests/test_regions.py's networks).
PERSONAL = re.compile(r"[NS]-C\d{7}|\+1(612|651)\d{7}")
#: A well-formed case reference that no region made.
UNKNOWN = "ZZZZ-ZZZZ-ZZZZ"


def _zones_file(tmp: Path, name: str, net: Any) -> Path:
    """Two zones covering the region's network, split at its middle longitude,
    with the same ids as the other region's and names of its own."""
    xy = net.node_xy
    west, east = float(xy[:, 0].min()) - 0.05, float(xy[:, 0].max()) + 0.05
    south, north = float(xy[:, 1].min()) - 0.05, float(xy[:, 1].max()) + 0.05
    middle = float((xy[:, 0].min() + xy[:, 0].max()) / 2)

    def zone(zid: str, label: str, x0: float, x1: float, area_class: str) -> dict[str, Any]:
        ring = [[x0, south], [x1, south], [x1, north], [x0, north], [x0, south]]
        return {
            "type": "Feature",
            "properties": {
                "id": zid,
                "name": f"{name.title()} {label}",
                "area_class": area_class,
                "unit": f"U-{name}",
            },
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }

    path = tmp / f"zones-{name}.geojson"
    features = [
        zone("Z-W", "West", west, middle, "urban"),
        zone("Z-E", "East", middle, east, "rural"),
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _free_fuse(net: Any, conn: Any) -> str:
    """A fuse with customers under it, neither above nor below an active outage."""
    active = [o.device for o in list_outages(conn) if o.state in ACTIVE_STATES and o.device]
    return fuse_clear_of(net, active)


@pytest.fixture(scope="module")
def two_regions(regions: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The regions, each with its two zones loaded and a fuse locked out after its
    storm (an active network outage: a case each region's public page lists)."""
    tmp = tmp_path_factory.mktemp("zones")
    for name, url in regions["urls"].items():
        net = regions["nets"][name]
        db = connect(url, upgrade=False)
        try:
            load(db, zones=_zones_file(tmp, name, net))
            with db.connect() as conn:
                fuse, clock = _free_fuse(net, conn), engine_clock(conn)
            assert clock is not None
            trip = {
                "id": f"public-{name}-lockout",
                "type": "scada",
                "time": iso(clock + timedelta(minutes=1)),
                "device": fuse,
                "state": "open",
                "lockout": True,
            }
            report = OutageEngine(db, EngineConfig.from_dict(CONFIG)).ingest([json.dumps(trip)])
            assert report.accepted == 1, report
        finally:
            db.dispose()
    return regions


def _own(served: dict[str, Any], name: str) -> Any:
    """An anonymous client of ``name``'s own server."""
    return served["own"][name].test_client()


def _cases(served: dict[str, Any], name: str) -> list[str]:
    """The case references ``name``'s own public page lists."""
    doc = _ok(_own(served, name).get("/api/public/outages"))
    return [i["case"] for a in doc["areas"] for i in a["items"]]


# ------------------------------------------------------------ the routes
@pytest.mark.postgres
def test_the_page_is_served_without_sign_in_and_cached_as_the_public_one(
    served: dict[str, Any],
) -> None:
    anonymous = served["web"].test_client()
    page = anonymous.get("/regions/public/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "regions-public.js" in html and 'id="lookup"' in html and 'id="map"' in html
    assert "/static/public.js" not in html  # its own entry, not the single-region one's
    own = _own(served, "north").get("/public/")
    assert page.headers["Cache-Control"] == "public, max-age=10"
    assert own.headers["Cache-Control"] == "public, max-age=0"  # its server's bound (0)
    again = anonymous.get("/regions/public/", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    assert anonymous.get("/regions/public").status_code == 308  # to the trailing slash


@pytest.mark.postgres
def test_the_areas_are_every_regions_zones_tagged(served: dict[str, Any]) -> None:
    response = served["web"].test_client().get("/api/regions/public/areas")
    assert response.mimetype == "application/geo+json"
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    got = _ok(response)
    expected = []
    for name in ("north", "south"):
        for f in _ok(_own(served, name).get("/api/public/areas"))["features"]:
            props = {**f["properties"], "region": name}
            expected.append((f"{name}/{f['id']}", props, f["geometry"]))
    # By region, then zone id.
    assert [(f["id"], f["properties"], f["geometry"]) for f in got["features"]] == sorted(
        expected, key=lambda x: x[0]
    )
    assert [f["properties"]["id"] for f in got["features"]] == ["Z-E", "Z-W"] * 2
    _documented(served["web"], "regions.regions_public_areas", got)
    # And the outages document's areas are those zones, by region.
    doc = _ok(served["web"].test_client().get("/api/regions/public/outages"))
    zoned = {(a["region"], a["area"]) for a in doc["areas"] if a["area"]}
    assert zoned == {(r, z) for r in ("north", "south") for z in ("Z-E", "Z-W")}


@pytest.mark.postgres
def test_a_case_is_answered_by_the_region_owning_it(served: dict[str, Any]) -> None:
    anonymous = served["web"].test_client()
    for name in ("north", "south"):
        ref = _cases(served, name)[0]
        own = _ok(_own(served, name).get("/api/public/case", query_string={"case": ref}))
        response = anonymous.get("/api/regions/public/case", query_string={"case": ref})
        assert response.headers["Cache-Control"] == "no-store"
        got = _ok(response)
        assert got == {**own, "region": name}
        _documented(served["web"], "regions.regions_public_case", got)
        # As typed: lower case, no dashes.
        loose = ref.replace("-", "").lower()
        assert _ok(anonymous.get(f"/api/regions/public/case?case={loose}"))["case"] == ref
    missing = anonymous.get(f"/api/regions/public/case?case={UNKNOWN}")
    assert (
        missing.status_code == 404 and missing.get_json()["error"] == f"no current case {UNKNOWN}"
    )
    for bad in ("", "?case=OUT-000001", f"?case={UNKNOWN}&phone=123", "?phone=12"):
        assert anonymous.get(f"/api/regions/public/case{bad}").status_code == 400, bad


@pytest.mark.postgres
def test_a_phone_number_finds_its_case_in_its_region(served: dict[str, Any]) -> None:
    net = served["nets"]["south"]
    cust = net.customers
    opened = [
        o["device"]
        for o in _ok(served["own_users"]["south"].get("/api/outages?open=1"))
        if o["device"] and o["state"] in ("predicted", "confirmed") and o["customers_out"]
    ]
    below = set(net.supply.downstream_nodes(net.edge_index[opened[0]]).tolist())
    phone = next(
        str(p) for u, p in enumerate(cust.fields["phone"]) if p and int(cust.node[u]) in below
    )
    own = _ok(_own(served, "south").get("/api/public/case", query_string={"phone": phone}))
    client = served["web"].test_client()
    got = _ok(client.get("/api/regions/public/case", query_string={"phone": phone}))
    assert got == {**own, "region": "south"}
    assert not PERSONAL.search(json.dumps(got))
    unknown = client.get("/api/regions/public/case", query_string={"phone": "+16129999999"})
    assert unknown.status_code == 404


@pytest.mark.postgres
def test_lookups_across_regions_share_the_public_rate_limit(served: dict[str, Any]) -> None:
    app = _app(served["urls"]["north"], served["clock"], PUBLIC_LOOKUP_LIMIT=3)
    try:
        client = app.test_client()
        assert client.get(f"/api/public/case?case={UNKNOWN}").status_code == 404
        for _ in range(2):
            assert client.get(f"/api/regions/public/case?case={UNKNOWN}").status_code == 404
        refused = client.get(f"/api/regions/public/case?case={UNKNOWN}")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert client.get(f"/api/public/case?case={UNKNOWN}").status_code == 429
    finally:
        _stop(app)


def test_on_sqlite_there_is_no_page_across_regions(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'oms.sqlite'}", Clock(PERIOD[1]))
    try:
        anonymous = app.test_client()
        assert anonymous.get("/regions/public/").status_code == 404
        for url in ("/api/regions/public/areas", f"/api/regions/public/case?case={UNKNOWN}"):
            response = anonymous.get(url)
            assert response.status_code == 404, url
            assert "oms regions views" in response.get_json()["error"], url
        assert anonymous.get("/public/").status_code == 200  # the region's own page
    finally:
        _stop(app)


# ------------------------------------------------------------ the page
@pytest.fixture
def public(served: dict[str, Any], page: Any) -> Iterator[tuple[Any, list[Any]]]:
    """The page on a phone's screen, the requests it made; nothing leaves the server."""
    made: list[Any] = []
    with serve(served["web"]) as base, kept_on_server(page, base):
        page.on("requestfinished", lambda request: made.append(request))
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/regions/public/")
        yield page, made
        page.goto("about:blank")


def _look_up(page: Any, ref: str) -> None:
    page.evaluate("document.getElementById('case').replaceChildren()")
    page.fill("#q", ref)
    page.click("#lookup button")
    page.wait_for_selector("#case h3, #case .error")


@pytest.mark.postgres
@pytest.mark.browser
def test_browser_every_regions_areas_and_a_case_of_each(
    served: dict[str, Any], public: tuple[Any, list[Any]]
) -> None:
    page, made = public
    for name in ("north", "south"):
        page.wait_for_selector(f"#areas .area.out[data-region={name}]")
        # The same zone ids in both regions: a polygon each, coloured by its own figures.
        for zone in ("Z-W", "Z-E"):
            page.wait_for_selector(f"#map path[data-zone={zone}][data-region={name}][data-out]")
    doc = _ok(served["web"].test_client().get("/api/regions/public/outages"))
    drawn = page.eval_on_selector_all(
        "#map path[data-zone]",
        "ps => ps.map(p => [p.dataset.region, p.dataset.zone, +p.dataset.out])",
    )
    assert sorted(drawn) == sorted(
        [a["region"], a["area"], a["customers_out"]] for a in doc["areas"] if a["area"]
    )
    names = page.eval_on_selector_all(
        "#areas .area .top span:first-child", "s => s.map(x => x.textContent)"
    )
    assert "North West, north (urban)" in names and "South East, south (rural)" in names
    served_line = page.text_content("#t-served") or ""
    for name in ("north", "south"):
        assert f"{name}: {doc['regions'][name]['customers_out']:,} out" in served_line
    assert page.text_content("#t-out") == f"{doc['totals']['customers_out']:,}"
    # A case of each region, by the reference the list shows for it.
    for name in ("north", "south"):
        ref = page.get_attribute(f"#areas .area[data-region={name}] [data-case]", "data-case")
        assert ref in _cases(served, name)
        _look_up(page, ref)
        assert page.text_content("#case h3").startswith(f"Case {ref}: ")
        footer = page.text_content("#case p.muted:last-child") or ""
        assert f", {name} (" in footer, footer
        assert page.locator("#case .steps li.reached").count() >= 1
    _look_up(page, UNKNOWN)
    assert page.text_content("#case .error") == f"no current case {UNKNOWN}"
    # Nothing fetched carries a customer id or phone number.
    urls = [r.url for r in made]
    for part in ("/api/regions/public/outages", "/api/regions/public/areas"):
        assert any(part in u for u in urls), part
    assert sum("/api/regions/public/case?case=" in u for u in urls) == 3
    assert not any("/api/public/" in u for u in urls)  # the single-region documents: none
    for request in made:
        body = request.response().body().decode("utf-8", "replace")
        assert not PERSONAL.search(body), request.url
