"""The search box and the outage panel in real Chromium (headless Debian Chromium, SQLite).

Two customers below fuse F1 call (a9-1 behind it is on life support): the
dispatcher finds things from the top bar with the keyboard, opens the
fuse's outage by its URL, reloads it, goes back, and confirms it from the
panel.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import sign_in
from emergency_plans import PLAN, PLANNED, load_plans

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _now(minutes_ago: float = 0) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()


@pytest.fixture
def fuse(client: Any) -> str:
    """Calls from a9-2 and a9-3: the outage at fuse F1; its id."""
    token = sign_in(client, "dora")
    events = [
        {"id": "c1", "type": "call", "time": _now(6), "customer": "a9-2", "note": "tree on line"},
        {"id": "c2", "type": "call", "time": _now(5), "customer": "a9-3"},
    ]
    response = client.post("/api/events", json=events, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    found = [o for o in client.get("/api/outages").get_json() if o["device"] == "F1"]
    assert len(found) == 1, found
    return str(found[0]["id"])


def _open_map(page: Any, base: str) -> None:
    page.goto(base + "/login?next=/")
    page.fill("#username", "dora")
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")


def _hits(page: Any) -> list[str]:
    return list(page.evaluate("window.omsMap.search().hits"))


def test_browser_search_box_with_the_keyboard(live_server: str, page: Any, fuse: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _open_map(page, live_server)
    page.keyboard.press("/")  # the box, from anywhere on the page
    assert page.evaluate("document.activeElement.id") == "search-input"
    page.keyboard.type("a9-")
    page.wait_for_selector('#search-results [data-id="a9-1"]')
    assert _hits(page)[:2] == ["customer:a9-1", "customer:a9-2"]
    box = page.locator("#search-input")
    assert box.get_attribute("aria-expanded") == "true"
    assert page.evaluate("window.omsMap.search().active") == 0
    page.keyboard.press("ArrowDown")
    assert page.evaluate("window.omsMap.search().active") == 1
    assert box.get_attribute("aria-activedescendant") == "search-hit-1"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # wraps round to the last
    assert page.evaluate("window.omsMap.search().active") == len(_hits(page)) - 1
    page.keyboard.press("Escape")
    assert page.locator("#search-results").is_hidden()
    page.keyboard.press("Escape")
    assert box.input_value() == ""

    # A device by its name: Enter flies the map there and marks it.
    box.fill("substation 2")
    page.wait_for_function("window.omsMap.search().hits[0] === 'node:S2'")
    page.keyboard.press("Enter")
    page.wait_for_function("window.omsMap.searchChosen === 'node:S2'")
    assert page.locator("#search-results").is_hidden()
    page.wait_for_selector(".leaflet-tooltip:has-text('S2 · Substation 2')")
    page.wait_for_function("window.omsMap.map.getZoom() >= 18", timeout=5000)
    ms = page.evaluate("window.omsMap.searchMs")
    assert ms < 1000, f"search answered in {ms:.0f} ms"
    assert errors == []


def test_browser_search_opens_an_outage_panel(live_server: str, page: Any, fuse: str) -> None:
    _open_map(page, live_server)
    page.click("#search-input")
    page.keyboard.type(fuse)
    page.keyboard.press("Enter")  # before the answer: goes to the best hit when it comes
    page.wait_for_selector("#detail:not([hidden]) [data-section=calls]")
    assert page.evaluate("location.hash") == f"#outage/{fuse}"
    assert page.locator("#detail-title").inner_text() == fuse


def test_browser_outage_panel_by_url_back_and_actions(
    live_server: str, page: Any, fuse: str
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _open_map(page, live_server)
    assert page.locator("#detail").is_hidden()
    page.goto(f"{live_server}/#outage/{fuse}")
    panel = page.locator("#detail")
    page.wait_for_selector('#detail [data-section=calls] tr[data-customer="a9-2"]')
    calls = panel.locator("[data-section=calls]").inner_text()
    assert "Customer a9-2" in calls and "Customer a9-3" in calls and "tree on line" in calls
    critical = panel.locator('[data-section=customers] li[data-customer="a9-1"]')
    assert "life support" in critical.inner_text() and "Customer a9-1" in critical.inner_text()
    first = panel.locator("[data-section=customers] li").first
    assert first.get_attribute("data-customer") == "a9-1"  # critical first
    assert panel.locator("[data-section=timeline] [data-type=call]").count() == 2
    assert panel.locator("[data-section=jobs] [data-job]").count() == 1

    # A deep link: the panel comes back after a reload; Back leaves it.
    page.reload()
    page.wait_for_selector(
        '#detail:not([hidden]) [data-section=customers] li[data-customer="a9-1"]'
    )
    page.go_back()
    page.wait_for_selector("#detail", state="hidden")
    page.go_forward()
    page.wait_for_selector("#detail:not([hidden]) [data-section=calls]")

    # The outage's own actions, from the panel; the panel follows the change.
    panel.locator('[data-act="confirm"]').click()
    page.fill("#confirm-reason", "fuse seen blown")
    page.locator("#dialog-ok").click()
    page.wait_for_selector("#detail .d-head .badge.confirmed")
    page.wait_for_selector("#detail [data-section=audit] :text('fuse seen blown')")
    page.keyboard.press("Escape")
    page.wait_for_selector("#detail", state="hidden")

    # The id on an outage card opens it again.
    page.click('[data-tab="outages"]')
    page.click(f'[data-outage="{fuse}"] .id')
    page.wait_for_selector("#detail:not([hidden]) [data-section=calls]")
    assert page.evaluate("location.hash") == f"#outage/{fuse}"
    assert errors == []


def test_browser_outage_panel_shows_the_emergency_plans(
    app: Any, live_server: str, page: Any, fuse: str, tmp_path: Path
) -> None:
    load_plans(app, tmp_path)  # a9-1 (life support) has a plan; a9-2 is not critical
    _open_map(page, live_server)
    page.goto(f"{live_server}/#outage/{fuse}")
    planned = page.locator(f'#detail [data-section=customers] li[data-customer="{PLANNED}"]')
    page.wait_for_selector(f'#detail [data-section=customers] li[data-customer="{PLANNED}"]')
    text = planned.inner_text()
    assert "life support" in text and all(line in text for line in PLAN.split("\n"))
    assert planned.locator("[data-plan] br").count() == 1
    other = page.locator('#detail [data-section=customers] li[data-customer="a9-2"]')
    assert other.locator(".d-plan").count() == 0  # a plan is shown for critical customers
