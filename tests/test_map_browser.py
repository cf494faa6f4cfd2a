"""The dispatcher map (issue 14): device symbols, basemap, crew labels, outage order, clock.

The routes (``/map/devices.geojson``, ``/map/trace``, ``/map/basemap.geojson``)
on the test network, and the page in headless Chromium: on the demo data
set (``oms demo``'s database, no storm) and on the two-feeder test network.
The layers themselves are tested in ``tests/test_layers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from conftest import kept_on_server, serve, sign_in
from helpers import DLAT, DLON, LAT0, LON0
from test_dispatcher import _now, _post_events

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
#: The demo's open-point switch on feeder 10, and its depot of five crews (CR03, CR04, CR17-19).
DEMO_SWITCH = "F10-S1"
DEMO_DEPOT = (35.7768, 118.0362)
DEMO_SPEED = 60.0


def _scada(eid: str, device: str, state: str, minutes_ago: float) -> dict[str, Any]:
    event = {"id": eid, "type": "scada", "time": _now(minutes_ago), "device": device}
    return {**event, "state": state, **({"lockout": True} if state == "open" else {})}


def _sign_in_page(page: Any, base: str, user: str, password: str) -> None:
    page.goto(base + "/login?next=/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")


def _view(page: Any, lat: float, lon: float, zoom: float) -> None:
    """Moves the map and waits until the network, the devices and the basemap followed.

    And until nothing moves: after a zoom, Leaflet.markercluster (the calls)
    animates every marker of the map into place for 0.3 s.
    """
    before = page.evaluate(
        "[window.omsMap.networkLoads, window.omsMap.deviceLoads, window.omsMap.basemapLoads]"
    )
    page.evaluate(
        "([lat, lon, z]) => { window.omsMap.map.setView([lat, lon], z, {animate: false}); }",
        [lat, lon, zoom],
    )
    page.wait_for_function(
        """(b) => window.omsMap.networkLoads > b[0] && window.omsMap.deviceLoads > b[1]
                 && window.omsMap.basemapLoads > b[2]""",
        arg=before,
    )
    page.wait_for_function("document.getAnimations().length === 0")


# ------------------------------------------------------------------ routes
def test_map_routes_need_a_session_and_a_good_view(client: Any) -> None:
    for url in ("/map/devices.geojson", "/map/basemap.geojson", "/map/trace?kind=upstream"):
        assert client.get(url).status_code == 401
    sign_in(client, "dora")
    assert client.get("/map/devices.geojson?bbox=1,2,3").status_code == 400
    assert client.get("/map/basemap.geojson?zoom=99").status_code == 400
    assert client.get("/map/trace?kind=sideways&device=SW1").status_code == 400
    assert client.get("/map/trace?kind=upstream").status_code == 400
    assert client.get("/map/trace?kind=upstream&device=NOPE").status_code == 404


def test_devices_route_says_what_reported_each_state(client: Any) -> None:
    token = sign_in(client, "dora")
    _post_events(client, token, [_scada("s-1", "B1", "open", 5)])
    response = client.post(
        "/api/switch",
        json={"device": "SW2", "state": "open", "confirm": True},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()
    doc = client.get("/map/devices.geojson?zoom=18").get_json()
    props = {f["properties"]["id"]: f["properties"] for f in doc["features"]}
    assert doc["shown"] is True
    assert (props["B1"]["state"], props["B1"]["reported"]) == ("tripped", "scada")
    assert (props["SW2"]["state"], props["SW2"]["reported"]) == ("open", "operator")
    assert (props["SW1"]["state"], props["SW1"]["reported"]) == ("closed", None)
    assert props["B1"]["outage"] == "OUT-000001"
    trace = client.get("/map/trace?kind=downstream&device=B1").get_json()
    assert trace["kind"] == "downstream" and trace["edges"] == len(trace["layer"]["features"])


def test_basemap_route_serves_the_zones_of_the_test_network(client: Any) -> None:
    sign_in(client, "dora")
    response = client.get("/map/basemap.geojson")
    doc = response.get_json()
    assert response.mimetype == "application/geo+json" and response.headers.get("ETag")
    assert doc["zones"] == 2 and doc["roads"] == 0  # the test data set has no roads file
    assert {f["properties"]["id"] for f in doc["features"]} == {"Z-W", "Z-E"}
    again = client.get("/map/basemap.geojson", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# ------------------------------------------------------------- demo pages
@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[Any]:
    """An app on a fresh demo database, its clock simulated at 60x (no storm, no ticks)."""
    from oms.config import EngineConfig
    from webmap import create_app
    from webmap.demo import AcceleratedClock, demo_start, prepare

    prepare(tmp_path / "demo.sqlite")
    flask_app = create_app(
        {
            "TESTING": True,
            "OMS_DB": f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "OMS_TICK_S": 0,
            "SECRET_KEY": "t",
            "STREAM_KEEPALIVE_S": 0.5,
            "OMS_CLOCK": AcceleratedClock(demo_start(), DEMO_SPEED),
            "OMS_CLOCK_SPEED": DEMO_SPEED,
            "OMS_ENGINE_CONFIG": EngineConfig(max_clock_skew_s=None),
        }
    )
    yield flask_app
    flask_app.extensions["oms.service"].stop()
    flask_app.extensions["oms.storage.db"].dispose()


@pytest.fixture
def demo(demo_app: Any, page: Any) -> Iterator[tuple[str, Any]]:
    """The demo served, and a page signed in as its dispatcher; nothing may leave the server."""
    with serve(demo_app) as base, kept_on_server(page, base):
        page.set_viewport_size({"width": 1400, "height": 900})
        _sign_in_page(page, base, "dispatcher", "dispatch-demo")
        yield base, page
        page.goto("about:blank")  # ends the event stream, so the server stops at once


@pytest.mark.browser
def test_browser_a_device_at_zoom_18_is_drawn_and_opens_its_actions(
    demo: tuple[str, Any],
) -> None:
    from oms.demodata import demo_network

    _, page = demo
    net = demo_network()
    lon, lat = (float(v) for v in net.node_xy[net.edge_from[net.edge(DEMO_SWITCH)]])
    _view(page, lat, lon, 12)
    assert page.evaluate("window.omsMap.deviceInfo().shown") is False  # too far out
    _view(page, lat, lon, 18)
    symbol = page.locator(f'.oms-device[data-id="{DEMO_SWITCH}"]')
    assert symbol.get_attribute("data-kind") == "switch"
    assert symbol.get_attribute("data-state") == "closed"
    box = symbol.bounding_box()
    at = page.evaluate(
        """([lat, lon]) => {
            const p = window.omsMap.map.latLngToContainerPoint([lat, lon]);
            const r = document.getElementById('map').getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    assert box["x"] <= at[0] <= box["x"] + box["width"]  # drawn where the switch is
    assert box["y"] <= at[1] <= box["y"] + box["height"]
    assert box["width"] >= 12 and box["height"] >= 12
    symbol.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert DEMO_SWITCH in popup.inner_text()
    actions = popup.locator("[data-pop]")
    assert {actions.nth(i).get_attribute("data-pop") for i in range(actions.count())} == {
        "switch",
        "upstream",
        "downstream",
        "plan",
    }
    popup.locator('[data-pop="upstream"]').click()
    page.wait_for_selector("#trace-box:not([hidden])")
    trace = page.evaluate("window.omsMap.trace")
    assert trace["kind"] == "upstream" and trace["device"] == DEMO_SWITCH and trace["edges"] > 1
    assert "Upstream of F10-S1" in page.locator("#trace-box").inner_text()


@pytest.mark.browser
def test_browser_basemap_draws_the_demo_roads_with_no_internet(demo: tuple[str, Any]) -> None:
    _, page = demo
    lat, lon = DEMO_DEPOT
    _view(page, lat, lon, 16)
    info = page.evaluate("window.omsMap.basemapInfo()")
    assert info["roads"] > 20 and info["zones"] >= 1 and info["labels"] == info["zones"]
    painted = page.evaluate(
        """() => {
            const c = window.omsMap.map.getPane('basemap').querySelector('canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 5000  # streets on the canvas under the network
    assert page.locator('.oms-zone-label[data-zone="Z-U2"]').count() == 1


@pytest.mark.browser
def test_browser_crew_labels_at_one_depot_do_not_overlap(demo: tuple[str, Any]) -> None:
    _, page = demo
    lat, lon = DEMO_DEPOT
    for zoom in (15, 17):  # street zooms: labels (below: dots, see the test after)
        _view(page, lat, lon, zoom)
        page.wait_for_function(
            "(z) => window.omsMap.crewLabels && window.omsMap.crewLabels.zoom === z", arg=zoom
        )
        page.wait_for_function("document.getAnimations().length === 0")
        assert page.evaluate("window.omsMap.crewLabels.stacked") >= 5
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('.oms-crew')].map((e) => {
                const r = e.getBoundingClientRect();
                return [e.dataset.label, r.left, r.top, r.right, r.bottom];
            })"""
        )
        assert len(boxes) == 19
        for a, b in combinations(boxes, 2):
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, f"zoom {zoom}: the labels of {a[0]} and {b[0]} overlap"
        assert page.locator(".oms-leader").count() >= 5  # each tied to where its crew is


def _demo_trip(app: Any, device: str, crew: str | None = None) -> None:
    """Trips ``device`` of the demo (a SCADA lockout); ``crew`` reports its GPS on it."""
    from oms.demodata import demo_network
    from webmap.demo import demo_start

    client = app.test_client()
    token = sign_in(client, "dispatcher", "dispatch-demo")
    when = (demo_start() + timedelta(minutes=1)).isoformat()
    trip = {"id": f"trip-{device}", "type": "scada", "time": when, "device": device}
    events: list[dict[str, Any]] = [{**trip, "state": "open", "lockout": True}]
    if crew:
        net = demo_network()
        lon, lat = _device_lonlat(net, device)
        gps = {"id": f"gps-{crew}", "type": "crew_gps", "time": when, "crew": crew}
        events.append({**gps, "lon": lon, "lat": lat})
    _post_events(client, token, events)


def _device_lonlat(net: Any, device: str) -> tuple[float, float]:
    """Where the map draws ``device``'s symbol (webmap.layers: the device points)."""
    from webmap import layers

    edges, xy = layers._device_points(net)
    lon, lat = xy[list(edges).index(net.edge(device))]
    return float(lon), float(lat)


def _reload(page: Any) -> None:
    page.reload()
    page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")


@pytest.mark.browser
def test_browser_trace_below_a_trip_says_what_it_feeds_when_supply_is_back(
    demo_app: Any, demo: tuple[str, Any]
) -> None:
    from oms.demodata import demo_network
    from topology import traces

    _, page = demo
    _demo_trip(demo_app, "F10-B")
    normal = traces.downstream(demo_network().normal(), "F10-T23").data
    assert normal["customers"] > 0
    _reload(page)
    page.evaluate("window.omsMap.showTrace('downstream', 'F10-T23')")
    page.wait_for_selector("#trace-box:not([hidden])")
    text = page.locator("#trace-box").inner_text()
    assert f"{len(normal['nodes'])} nodes" in text, text
    assert f"{normal['customers']} customers below" in text, text
    assert "De-energized now" in text and "F10-B closed again" in text, text
    page.evaluate("window.omsMap.showTrace('upstream', 'F10-T23')")
    page.wait_for_function("window.omsMap.trace && window.omsMap.trace.kind === 'upstream'")
    text = page.locator("#trace-box").inner_text()
    assert "no supply" not in text and "F10-B" in text and "De-energized now" in text, text
    page.evaluate("window.omsMap.showTrace('downstream', 'F3-R1')")  # on a live feeder
    page.wait_for_function("window.omsMap.trace && window.omsMap.trace.device === 'F3-R1'")
    assert "De-energized" not in page.locator("#trace-box").inner_text()


def _boxes(page: Any, selector: str) -> list[list[Any]]:
    """Screen boxes ``[label, left, top, right, bottom]`` of the shown elements of ``selector``."""
    return list(
        page.evaluate(
            """(sel) => [...document.querySelectorAll(sel)]
                .filter((e) => e.offsetParent !== null)
                .map((e) => { const r = e.getBoundingClientRect();
                              const name = e.dataset.label || e.textContent;
                              return [name, r.left, r.top, r.right, r.bottom]; })""",
            selector,
        )
    )


def _apart(a: list[Any], b: list[Any]) -> bool:
    return bool(a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2])


@pytest.mark.browser
def test_browser_crews_below_street_zoom_are_dots_and_zone_names_do_not_collide(
    demo: tuple[str, Any],
) -> None:
    _, page = demo
    lat, lon = DEMO_DEPOT
    for zoom in (13, 12):
        _view(page, lat, lon, zoom)
        page.wait_for_function(
            "(z) => window.omsMap.crewLabels && window.omsMap.crewLabels.zoom === z", arg=zoom
        )
        labels = page.evaluate("window.omsMap.crewLabels")
        assert labels["far"] is True and labels["stacked"] == 0
        dots = _boxes(page, ".oms-crew")
        assert len(dots) == labels["groups"] < 19  # crews at one place share a dot
        assert page.locator(".oms-leader").count() == 0  # no column of labels
        for d in dots:
            assert d[3] - d[1] <= 32 and d[4] - d[2] <= 20, d  # a dot (with a count), no name
        for a, b in combinations(dots, 2):
            assert _apart(a, b), f"zoom {zoom}: crew dots overlap"
        depot = page.locator(".oms-crew[data-count]").evaluate_all(
            "(es) => es.map((e) => Number(e.dataset.count))"
        )
        assert max(depot) >= 5  # the five crews of the depot: one dot, their count
        zones = _boxes(page, ".oms-zone-label")
        assert zones
        for a, b in combinations(zones, 2):
            assert _apart(a, b), f"zoom {zoom}: the names {a[0]} and {b[0]} overlap"
    page.locator(".oms-crew[data-count]").first.hover()  # the names on hover
    page.wait_for_selector(".leaflet-tooltip:has-text('crews here')")


def _device_pixel(page: Any, device: str) -> tuple[float, float]:
    return tuple(
        page.evaluate(
            """(id) => {
                const p = window.omsMap.map.latLngToContainerPoint(window.omsMap.devicePoint(id));
                const r = document.getElementById('map').getBoundingClientRect();
                return [r.left + p.x, r.top + p.y];
            }""",
            device,
        )
    )


@pytest.mark.browser
def test_browser_a_device_under_its_crew_and_outage_opens_on_a_click(
    demo_app: Any, demo: tuple[str, Any]
) -> None:
    from oms.demodata import demo_network

    _, page = demo
    _demo_trip(demo_app, "F10-B", crew="CR16")
    _reload(page)
    page.wait_for_function("window.omsMap.outageIds().length >= 1")
    net = demo_network()
    for device in ("F10-B", "TIE5"):
        lon, lat = _device_lonlat(net, device)
        _view(page, lat, lon, 18)
        page.wait_for_function(
            "() => window.omsMap.crewLabels && window.omsMap.crewLabels.zoom === 18"
        )
        page.wait_for_function("document.getAnimations().length === 0")
        x, y = _device_pixel(page, device)
        if device == "F10-B":  # the crew's label is beside its position, not on it
            label = page.locator('.oms-crew[data-label="CR16"]').bounding_box()
            assert not (
                label["x"] <= x <= label["x"] + label["width"]
                and label["y"] <= y <= label["y"] + label["height"]
            )
        page.mouse.click(x, y)
        # Devices drawn on one spot (the substation's breakers and transformer,
        # a tie and a transformer on one pole): the click asks which is meant.
        page.wait_for_selector(".device-chooser")
        listed = page.locator(".device-chooser button").evaluate_all(
            "(bs) => bs.map((b) => b.dataset.device)"
        )
        assert device in listed and len(listed) >= 2
        if device == "TIE5":
            assert listed == ["F10-T23", "TIE5"]
        page.click(f".device-chooser button[data-device='{device}']")
        page.locator(".leaflet-popup-content h4", has_text=device).wait_for()
        assert page.locator(".leaflet-popup-content h4").last.inner_text() == device
    page.mouse.click(*_device_pixel(page, "F10-T23"))  # the other one on that spot
    page.click(".device-chooser button[data-device='F10-T23']")
    page.locator(".leaflet-popup-content h4", has_text="F10-T23").wait_for()


@pytest.mark.browser
def test_browser_clock_says_it_is_simulated(demo: tuple[str, Any]) -> None:
    _, page = demo
    page.wait_for_function("document.getElementById('clock').title.includes('simulated')")
    title = page.get_attribute("#clock", "title")
    assert title.startswith("System time (simulated, x60)") and "Local" not in title
    assert page.get_attribute("#clock", "data-speed") == "60"


#: What the top bar must show whole: the brand, the search box, every figure, the alarms,
#: the live state, the clock, the overview link, the user and the sign-out button.
TOPBAR = (
    "#topbar .brand",
    "#search-input",
    *(f"#kpi-{k}" for k in ("outages", "customers", "critical", "waiting", "breached", "crews")),
    "#kpi-alarms",
    "#live",
    "#clock",
    "#overview-link",
    "#topbar .user",
    "#topbar .signout button",
)


@pytest.mark.browser
def test_browser_top_bar_fits_ordinary_screens(demo: tuple[str, Any]) -> None:
    _, page = demo
    page.wait_for_function("document.getElementById('live').classList.contains('on')")
    for width, height in ((1366, 768), (1600, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)
        boxes = page.evaluate(
            """(sels) => sels.map((s) => {
                const e = document.querySelector(s);
                const r = e.getBoundingClientRect();
                // Seen where it is: the element itself (or its text) is at its middle, not
                // something drawn over it or a parent clipping it.
                const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
                const hit = document.elementFromPoint(x, y);
                return {s, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom,
                        seen: Boolean(hit && (e.contains(hit) || hit.contains(e))),
                        cut: e.scrollWidth > e.clientWidth + 1};
            })""",
            list(TOPBAR),
        )
        for b in boxes:
            where = f"{width}x{height}: {b['s']}"
            assert b["x1"] - b["x0"] > 10, where
            assert b["x0"] >= 0 and b["x1"] <= width, where
            assert b["y0"] >= 0 and b["y1"] <= 48, where
            assert b["seen"] and not b["cut"], where
        for a, b in combinations(boxes, 2):
            apart_x = a["x1"] <= b["x0"] or b["x1"] <= a["x0"]
            apart = apart_x or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            assert apart, f"{width}x{height}: {a['s']} and {b['s']} overlap"
        # The search box's placeholder is read whole (an input's scrollWidth ignores it).
        room, text = page.evaluate(
            """() => {
                const i = document.getElementById('search-input'), cs = getComputedStyle(i);
                const ctx = document.createElement('canvas').getContext('2d');
                ctx.font = cs.font;
                const pad = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight);
                return [i.clientWidth - pad, ctx.measureText(i.placeholder).width];
            }"""
        )
        assert text <= room, f"{width}x{height}: the search placeholder is cut"


#: The map's controls a notice must leave clear, and the list beside the map.
MAP_CONTROLS = (
    ".legend",
    ".leaflet-control-scale",
    ".leaflet-control-zoom",
    ".leaflet-control-layers",
    ".leaflet-control-attribution",
    "#panel",
)


@pytest.mark.browser
def test_browser_toasts_cover_no_control_and_the_legend_holds_its_lines(
    demo: tuple[str, Any],
) -> None:
    _, page = demo
    for width, height in ((1366, 768), (1600, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate(
            """async () => {
                const { toast } = await import('/static/js/dispatcher/toast.js');
                document.getElementById('toasts').replaceChildren();
                toast('F10-S1 opened', 'ok');
                toast('Devices: the server did not answer in time, try again', 'error');
                toast('Breach: JOB-000003 has waited longer than its target', 'breach');
            }"""
        )
        found = page.evaluate(
            """(sels) => {
                const box = (e) => { const r = e.getBoundingClientRect();
                                     return [r.left, r.top, r.right, r.bottom]; };
                const legend = document.querySelector('.legend');
                return {
                    toasts: [...document.querySelectorAll('#toasts .toast')].map(box),
                    controls: sels.map((s) => [s, box(document.querySelector(s))]),
                    map: box(document.getElementById('map')),
                    legend: box(legend),
                    lines: [...legend.querySelectorAll(':scope > div')].map(box),
                    scrolls: legend.scrollHeight > legend.clientHeight,
                };
            }""",
            list(MAP_CONTROLS),
        )
        assert len(found["toasts"]) == 3
        mx0, my0, mx1, my1 = found["map"]
        for t in found["toasts"]:
            assert mx0 <= t[0] and t[2] <= mx1 and my0 <= t[1] and t[3] <= my1, t  # on the map
            for name, c in found["controls"]:
                apart = t[2] <= c[0] or c[2] <= t[0] or t[3] <= c[1] or c[3] <= t[1]
                assert apart, f"{width}x{height}: a notice covers {name}"
        lx0, ly0, lx1, ly1 = found["legend"]
        assert my0 <= ly0 and ly1 <= my1  # the legend on the map
        # The switching desk's symbols are in it too.
        kinds = page.locator("#legend-field .oms-field").evaluate_all(
            "(es) => es.map((e) => e.dataset.kind)"
        )
        assert kinds == ["tag", "ground", "jumper", "cut"]
        assert page.locator("#legend-field .oms-order-ring").count() == 2
        if not found["scrolls"]:
            for line in found["lines"]:  # each line inside the box (the padding included)
                assert lx0 <= line[0] and line[2] <= lx1 and ly0 <= line[1] and line[3] <= ly1 - 4


# ------------------------------------------------------- two-feeder pages
def _at(x: float, y: float) -> tuple[float, float]:
    """Lat/lon of a point on the 100 m grid of ``helpers``."""
    return LAT0 + y * DLAT, LON0 + x * DLON


@pytest.mark.browser
@SQLITE_ONLY
def test_browser_restored_outage_stays_under_an_active_one(
    live_server: str, page: Any, client: Any
) -> None:
    token = sign_in(client, "dora")
    # B3 locks out first and stays out; B1, just south-east of it, locks out
    # later and is back: the restored marker is the newer and the lower one
    # on screen, which Leaflet alone would draw on top.
    _post_events(client, token, [_scada("s-1", "B3", "open", 60)])
    _post_events(client, token, [_scada("s-2", "B1", "open", 30)])
    _post_events(client, token, [_scada("s-3", "B1", "closed", 20)])
    states = {o["device"]: o["state"] for o in client.get("/api/outages").get_json()}
    assert states == {"B3": "confirmed", "B1": "restored"}
    _sign_in_page(page, live_server, "dora", "secret-pw")
    page.wait_for_function("window.omsMap.outageIds().length === 2")
    b3, b1 = _at(1.0, 0.5), _at(1.5, 0.0)  # the middles of B3 and B1
    lat, lon = (b3[0] + b1[0]) / 2, (b3[1] + b1[1]) / 2
    page.evaluate(
        "([lat, lon]) => { window.omsMap.map.setView([lat, lon], 15, {animate: false}); }",
        [lat, lon],
    )
    page.wait_for_timeout(300)
    on_top = page.evaluate(
        """([lat, lon]) => {
            const p = window.omsMap.map.latLngToContainerPoint([lat, lon]);
            const r = document.getElementById('map').getBoundingClientRect();
            // The topmost outage marker there (a device symbol is drawn above both).
            const outage = (e) => e.closest('.leaflet-marker-icon')?.querySelector('.oms-outage');
            const hit = document.elementsFromPoint(r.left + p.x, r.top + p.y).find(outage);
            return hit && outage(hit).className;
        }""",
        [lat, lon],
    )
    assert on_top is not None and "confirmed" in on_top, on_top
    page.goto("about:blank")


@pytest.mark.browser
@SQLITE_ONLY
def test_browser_clock_on_real_time_says_so(live_server: str, page: Any) -> None:
    _sign_in_page(page, live_server, "dora", "secret-pw")
    page.wait_for_function("document.getElementById('clock').title.includes('real time')")
    assert page.get_attribute("#clock", "data-speed") is None
    page.goto("about:blank")
