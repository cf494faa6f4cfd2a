"""The public outage page in headless Chromium on the demo data set (issue 14):
areas by place name, the map of outage areas, and a phone number looked up
as people write it at home. Nothing leaves the server; no personal data or
device id reaches the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import kept_on_server, serve, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[Any]:
    """An app on a fresh demo database, its clock 30 minutes after the demo's
    start, with feeder 10's breaker locked out a minute after it."""
    from oms.config import EngineConfig
    from webmap import create_app
    from webmap.demo import demo_start, prepare

    prepare(tmp_path / "demo.sqlite")
    app = create_app(
        {
            "TESTING": True,
            "OMS_DB": f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "OMS_TICK_S": 0,
            "SECRET_KEY": "t",
            "STREAM_KEEPALIVE_S": 0.5,
            "OMS_ENGINE_CONFIG": EngineConfig(max_clock_skew_s=None),
        }
    )
    start = demo_start()
    app.extensions["oms.service"].clock = lambda: start + timedelta(minutes=30)
    client = app.test_client()
    token = sign_in(client, "dispatcher", "dispatch-demo")
    trip = {
        "id": "trip-F10-B",
        "type": "scada",
        "time": (start + timedelta(minutes=1)).isoformat(),
        "device": "F10-B",
        "state": "open",
        "lockout": True,
    }
    r = client.post("/api/events", json=trip, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.get_json()["accepted"] == 1, r.get_json()
    yield app
    app.extensions["oms.service"].stop()
    app.extensions["oms.storage.db"].dispose()


@pytest.fixture
def public(demo_app: Any, page: Any) -> Iterator[tuple[str, Any]]:
    """The public page on a phone's screen; nothing may leave the server."""
    with serve(demo_app) as base, kept_on_server(page, base):
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/public/")
        yield base, page
        page.goto("about:blank")


def _below_f10_b() -> list[str]:
    """Phone numbers of the demo customers fed through F10-B."""
    from oms.demodata import demo_network

    net = demo_network()
    below = set(net.supply.downstream_nodes(net.edge_index["F10-B"]).tolist())
    cust = net.customers
    assert cust is not None
    return [str(p) for u, p in enumerate(cust.fields["phone"]) if int(cust.node[u]) in below]


def test_browser_areas_by_place_name_on_a_map(public: tuple[str, Any]) -> None:
    _, page = public
    page.wait_for_selector("#areas .area.out")
    names = page.eval_on_selector_all(
        "#areas .area .top span:first-child", "s => s.map(x => x.textContent)"
    )
    assert any(n.startswith("Qingshui ") for n in names), names
    assert not any(n.startswith(("Z-", "Area Z-")) for n in names), names
    # The map: one polygon per zone, coloured by its customers out.
    page.wait_for_selector("#map path[data-zone][data-out]")
    paths = page.eval_on_selector_all(
        "#map path[data-zone]",
        "ps => ps.map(p => [p.dataset.zone, +p.dataset.out, p.getAttribute('fill')])",
    )
    assert len(paths) == 10
    out = {zone: n for zone, n, _ in paths}
    listed = page.eval_on_selector_all(
        "#areas .area[data-area]",
        "as => as.map(a => [a.dataset.area, a.classList.contains('out')])",
    )
    assert {z for z, n in out.items() if n > 0} == {a for a, hit in listed if hit and a}
    # Each area out says whether the fault is there or in an area nearby; the page
    # says how an area counts (its own customers) and where an outage is listed.
    said = page.eval_on_selector_all("#areas .area.out .muted", "ds => ds.map(d => d.textContent)")
    assert said and all("with the fault here" in t or "area nearby" in t for t in said), said
    assert "whichever outage cuts them off" in " ".join(
        (page.text_content("#areas-note") or "").split()
    )
    colours = {zone: fill for zone, _, fill in paths}
    hit = next(z for z, n in out.items() if n > 0)
    calm = next(z for z, n in out.items() if n == 0)
    assert colours[hit] != colours[calm] and colours[calm] == "#cfe8d5"
    # Its tooltip names the place and the count; no device or customer.
    page.hover(f"#map path[data-zone='{hit}']")
    tip = page.wait_for_selector(".leaflet-tooltip").text_content() or ""
    assert "customers out" in tip and "F10" not in tip
    assert page.text_content(".map-legend")
    text = page.text_content("body") or ""
    assert "F10-B" not in text
    for phone in _below_f10_b()[:50]:
        assert phone not in text and phone[3:] not in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_browser_phone_lookup_without_the_country_code(public: tuple[str, Any]) -> None:
    _, page = public
    mobile = next(p for p in _below_f10_b() if p.startswith("+861"))
    national = mobile[3:]
    page.check("input[value=phone]")
    for written in (f"{national[:3]} {national[3:7]} {national[7:]}", f"0{national}"):
        page.fill("#q", written)
        page.click("#lookup button")
        page.wait_for_selector("#case h3")
        assert "Case " in (page.text_content("#case h3") or "")
        footer = page.text_content("#case p.muted:last-child") or ""
        assert footer.startswith("Qingshui ") or "Plain" in footer or "Hills" in footer, footer
        page.evaluate("document.getElementById('case').replaceChildren()")
    page.fill("#q", "139 0000 0000")
    page.click("#lookup button")
    page.wait_for_selector("#case .error")
    assert "no current outage" in (page.text_content("#case .error") or "")
