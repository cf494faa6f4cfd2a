"""The storm overview in Chromium: the chart and the tables drawn, live updates, the wall display.

SQLite only (the API tests in test_overview.py run on both databases). The
page runs on the wall clock, so events are dated minutes before now.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from conftest import serve, sign_in

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _at(minutes_ago: float = 0) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()


def _events(client: Any, token: str, *events: dict[str, Any]) -> None:
    response = client.post("/api/events", json=list(events), headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["rejected"] == []


def _trip(client: Any, token: str, device: str, minutes_ago: float) -> None:
    event = {"id": f"scada-{device}", "type": "scada", "time": _at(minutes_ago)}
    _events(client, token, {**event, "device": device, "state": "open", "lockout": True})


def _storm(client: Any) -> str:
    """B2 locked out 90 minutes ago (26 customers, S2), automatic dispatch off."""
    token = sign_in(client, "dora")
    _events(client, token, {"id": "auto", "type": "dispatch_auto", "time": _at(100), "auto": False})
    _trip(client, token, "B2", 90)
    return token


def _open(page: Any, base: str, query: str = "") -> None:
    page.goto(f"{base}/login?next={quote('/overview' + query)}")
    page.fill("#username", "dora")
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_function("window.omsOverview && window.omsOverview.ready")
    page.wait_for_selector("#live.on")


def _draws(page: Any) -> dict[str, int]:
    return dict(page.evaluate("({...window.omsOverview.draws})"))


def _font_px(page: Any, selector: str) -> float:
    return float(page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)"))


def _kpi(page: Any, key: str) -> str:
    return str(page.text_content(f"#kpi-{key} b"))


def test_the_page_draws_the_chart_and_the_tables(live_server: str, page: Any, client: Any) -> None:
    _storm(client)
    _open(page, live_server)
    assert _kpi(page, "customers") == "26" and _kpi(page, "outages") == "1"
    assert _kpi(page, "waiting") == "1"
    # The chart: an area and a line through the samples, the figure now at its end.
    area = page.get_attribute("#chart-body svg path.area", "d")
    assert area and area.count("L") > 100  # 121 samples
    assert page.text_content("#chart-body svg text.label.now") == "26"
    assert page.get_attribute("#chart-body svg", "aria-label") == "Customers out, 26 now"
    ticks = page.eval_on_selector_all("#chart-body svg text.tick.x", "els => els.length")
    assert ticks >= 3
    # The tables: S2 and its feeder B2 with the customers out; every zone.
    s2 = page.locator("#group-substation tr[data-id=S2]")
    assert "Substation 2" in s2.inner_text() and "26" in s2.inner_text()
    assert page.locator("#group-feeder tr[data-id=B2]").count() == 1
    zones = page.eval_on_selector_all("#group-zone tbody tr", "els => els.map(e => e.dataset.id)")
    assert zones[:2] == ["Z-E", "Z-W"]  # most customers out first
    assert "waiting" in page.text_content("#oldest-job")
    # Desk controls: another window asks the server again.
    before = page.evaluate("window.omsOverview.fetches")
    page.select_option("#hours", "3")
    page.wait_for_function(f"omsOverview.fetches > {before} && omsOverview.doc.hours === 3")
    # B2 went out 90 minutes ago: the chart starts shortly before, not 3 hours back.
    assert str(page.text_content("#chart-title")).startswith("Customers out, since ")


def test_an_event_updates_the_page_once(live_server: str, page: Any, client: Any) -> None:
    token = _storm(client)
    _open(page, live_server)
    page.wait_for_timeout(800)  # the load's second fetch (after the stream's hello) is done
    drawn, events = _draws(page), page.evaluate("window.omsOverview.events")
    # B1 locks out: its 27 customers out too, on S1's feeder B1 in zone Z-W.
    _trip(client, token, "B1", 1)
    page.wait_for_function("document.querySelector('#kpi-customers b').textContent === '53'")
    page.wait_for_selector("#group-substation tr[data-id=S1]")
    page.wait_for_timeout(800)
    after = _draws(page)
    changes = page.evaluate("window.omsOverview.events") - events
    assert changes >= 1
    for panel in ("kpis", "chart", "substation", "feeder", "zone"):
        assert 1 <= after[panel] - drawn[panel] <= changes, (panel, drawn, after, changes)
    assert page.text_content("#chart-body svg text.label.now") == "53"
    # A crew's position changes none of the tables: they are not drawn again.
    drawn, fetches = after, page.evaluate("window.omsOverview.fetches")
    gps = {"id": "gps-1", "type": "crew_gps", "time": _at(), "crew": "K3", "lon": 8.4, "lat": 49.0}
    _events(client, token, gps)
    page.wait_for_function(f"window.omsOverview.fetches > {fetches}")
    page.wait_for_timeout(600)
    after = _draws(page)
    tables = ("substation", "feeder", "zone")
    assert {p: after[p] for p in tables} == {p: drawn[p] for p in tables}


def test_the_wall_display(live_server: str, page: Any, client: Any) -> None:
    _storm(client)
    page.set_viewport_size({"width": 1920, "height": 1080})
    _open(page, live_server, "?wall=1&hours=3")
    assert page.locator("#hours").count() == 0 and page.locator(".signout").count() == 0
    assert page.evaluate("window.omsOverview.doc.hours") == 3
    # Large type: the figures over 60 px, the tables' text about 30 px (1080 px high).
    assert _font_px(page, "#kpi-customers b") >= 60
    assert _font_px(page, "#group-substation td") >= 28
    # Everything on one screen: nothing below the fold.
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    # One group table at a time, taking turns.
    assert page.evaluate("window.omsOverview.rotateMs") == 15000
    assert page.evaluate("window.omsOverview.shownGroup()") == "substation"
    page.evaluate("window.omsOverview.rotate()")
    assert page.evaluate("window.omsOverview.shownGroup()") == "feeder"
    assert page.locator("#group-feeder tr[data-id=B2]").is_visible()
    assert not page.locator("#group-substation").is_visible()


# Every panel of the wall display, and any of its boxes (a row, a cell, a
# figure, a chart label) that is not wholly inside its panel or whose text
# runs past its own box: what the wall would cut.
_CLIPPED = """() => {
  const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1
    && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  const panels = [...document.querySelectorAll('.kpi, .panel')].filter((p) => p.offsetParent);
  const out = [];
  for (const p of panels) {
    const box = p.getBoundingClientRect();
    if (!inside(box, { left: 0, top: 0, right: innerWidth, bottom: innerHeight })) {
      out.push(`${p.id || p.className}: off the screen`);
    }
    for (const e of p.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (!r.width && !r.height) continue;  // not shown
      const what = `${p.id || p.className} ${e.tagName} ${(e.textContent || '').slice(0, 30)}`;
      if (!inside(r, box)) out.push(`${what}: outside its panel`);
      if (e.clientWidth && e.scrollWidth > e.clientWidth + 1) out.push(`${what}: text cut`);
    }
  }
  return out;
}"""


def _shown_rows(page: Any, panel: str) -> tuple[int, int]:
    """Rows of ``panel``'s table shown, and how many more its last line says."""
    rows = page.locator(f"{panel} tbody tr").count()
    more = page.locator(f"{panel} .more")
    said = int(more.text_content().strip("+ more")) if more.count() else 0
    return rows, said


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_the_wall_display_fits_a_demo_storm(db_url: str, page: Any, size: tuple[int, int]) -> None:
    """A demo storm on the wall: every panel fits, no row or cell is cut, no column
    left out; what does not fit is counted ('+N more'), each group table in its turn."""
    from test_overview import demo_storm_app

    with demo_storm_app(db_url) as app, serve(app) as base:
        page.set_viewport_size({"width": size[0], "height": size[1]})
        _open(page, base, "?wall=1")
        doc = page.evaluate("window.omsOverview.doc")
        assert doc["breaches"]["jobs"] >= 10  # a storm that fills the screen
        for turn, group in enumerate(("substation", "feeder", "zone")):
            if turn:
                page.evaluate("window.omsOverview.rotate()")
            assert page.evaluate("window.omsOverview.shownGroup()") == group
            assert page.evaluate(_CLIPPED) == [], (size, group)
            # Every column, on every screen.
            head = page.locator(f"#group-{group} thead th")
            assert head.count() == 10 and all(head.nth(k).is_visible() for k in range(10))
            assert "first ETR" in head.all_inner_texts() and "out since" in head.all_inner_texts()
            rows, more = _shown_rows(page, f"#group-{group}")
            assert rows >= 1 and rows + more == len(doc["groups"][group]), (group, rows, more)
        rows, more = _shown_rows(page, "#side")
        assert rows >= 1 and rows + more == doc["breaches"]["jobs"]
        # Large type still: the figures, and the tables no less than 60 % of 2.8 vh.
        assert _font_px(page, "#kpi-customers b") >= 0.04 * size[1]
        assert _font_px(page, "#group-zone td") >= 0.6 * 0.028 * size[1]
        assert page.evaluate("document.documentElement.scrollHeight") <= size[1]
        assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
        # The chart starts at the storm, not 12 hours of nothing before it.
        assert page.text_content("#chart-title").startswith("Customers out, since ")
