"""What a new dispatcher's first session found, in real Chromium (SQLite).

The outage panel shows every critical customer it counts; alarm cards say
what happened in words that match their level; the alert filters are
labelled and acknowledging many asks first; the outages filter finds an
outage by its zone and its crew.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import sign_in
from flask import Flask
from test_critical_lists import CRITICAL, load_critical

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _at(minutes_ago: float = 0) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()


def _events(client: Any, token: str, *events: dict[str, Any]) -> None:
    response = client.post("/api/events", json=list(events), headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rejected"] == []


def _lockout(client: Any, token: str, device: str, minutes_ago: float) -> str:
    """``device`` locked out ``minutes_ago``; its outage's id."""
    event = {"id": f"scada-{device}", "type": "scada", "time": _at(minutes_ago), "device": device}
    _events(client, token, {**event, "state": "open", "lockout": True})
    (found,) = [o for o in client.get("/api/outages").get_json() if o["device"] == device]
    return str(found["id"])


def _open(page: Any, base: str, after: str = "/") -> None:
    page.goto(f"{base}/login?next={after}")
    page.fill("#username", "dora")
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")
    page.wait_for_selector("#live.on")


def test_the_outage_panel_shows_every_critical_customer_it_counts(
    app: Flask, live_server: str, page: Any, client: Any, tmp_path: Path
) -> None:
    load_critical(app, tmp_path)
    token = sign_in(client, "dora")
    outage = _lockout(client, token, "B1", 5)
    _open(page, live_server)
    page.goto(f"{live_server}/#outage/{outage}")
    section = page.locator("#detail [data-section=customers]")
    page.wait_for_selector('#detail [data-section=customers] li[data-customer="a9-1"]')
    said = section.locator(".d-critical").inner_text()
    assert said == f"{len(CRITICAL)} critical customers out"
    shown = section.locator("li.d-customer.critical:visible")
    assert sorted(shown.evaluate_all("els => els.map(e => e.dataset.customer)")) == sorted(CRITICAL)
    # The others wait behind "Show all" (27 listed, 14 critical shown).
    assert section.locator("li.d-customer:visible").count() == len(CRITICAL)
    section.locator("button.d-all").click()
    assert section.locator("li.d-customer:visible").count() == 27


def _late_jobs(client: Any, token: str) -> None:
    """B1 locked out 50 minutes ago, nobody sent: its targets ran out (alerts of every level)."""
    _events(client, token, {"id": "auto", "type": "dispatch_auto", "time": _at(51), "auto": False})
    _lockout(client, token, "B1", 50)
    gps = {"id": "gps-now", "type": "crew_gps", "time": _at(), "crew": "K3"}
    _events(client, token, {**gps, "lon": 8.4, "lat": 49.0})


def test_alarm_cards_say_what_happened_in_words_of_their_level(
    live_server: str, page: Any, client: Any
) -> None:
    token = sign_in(client, "dora")
    _late_jobs(client, token)
    every = client.get("/api/alerts?limit=500").get_json()
    (job,) = [j for j in client.get("/api/jobs").get_json() if j["device"] == "B1"]
    limits = job["targets"]
    _open(page, live_server)
    page.click('[data-tab="alerts"]')
    page.wait_for_function(f"document.querySelectorAll('.card.alert').length === {len(every)}")
    said = {
        int(seq): (title, badge)
        for seq, title, badge in page.eval_on_selector_all(
            ".card.alert",
            "els => els.map(e => [e.dataset.alert, e.querySelector('header .id').textContent,"
            " e.querySelector('header .badge').textContent])",
        )
    }
    seen = set()
    for a in every:
        title, badge = said[a["seq"]]
        target = a["detail"].get("target")
        if a["kind"] == "breach" and a["level"] == "target":
            assert title == f"{target} limit passed ({round(limits[target])} min)"
            assert badge == "target reached"
        elif a["kind"] == "breach":
            assert a["level"] == "breach" and target in ("arrival", "restoration")
            assert title == f"{target.title()} commitment breached ({round(limits[target])} min)"
            assert badge == "breach"
        elif a["kind"] == "warning":
            assert f"{a['detail']['share']}% of its limit used" in title and badge == "warning"
        if a["level"] != "breach":
            assert "breach" not in title.lower(), title  # no word that contradicts the badge
        seen.add((a["kind"], a["level"]))
    assert {("breach", "target"), ("breach", "breach")} <= seen
    # The alert filters name what they filter.
    row = '[data-filters="alerts"]'
    first = "el => el.options[0].textContent"
    assert page.eval_on_selector(f'{row} [data-filter="unit"]', first) == "all units"
    assert page.eval_on_selector(f'{row} [data-filter="zone"]', first) == "all zones"
    assert page.eval_on_selector(f'{row} [data-filter="state"]', first) == "all levels"
    # Acknowledging one needs no confirmation; many do (how many said), Cancel keeps them.
    waiting = client.get("/api/alerts/summary").get_json()["unacknowledged"]
    page.click("#ack-shown")
    page.wait_for_selector("#dialog[open]")
    assert page.inner_text("#dialog-title") == f"Acknowledge {waiting} alerts?"
    assert page.inner_text("#dialog-ok") == f"Acknowledge {waiting}"
    page.click("#dialog-cancel")
    assert client.get("/api/alerts/summary").get_json()["unacknowledged"] == waiting


def test_the_outages_filter_finds_an_outage_by_its_zone_and_crew(
    live_server: str, page: Any, client: Any
) -> None:
    token = sign_in(client, "dora")
    west = _lockout(client, token, "B1", 10)  # zone Z-W
    east = _lockout(client, token, "B2", 8)  # zone Z-E
    (job,) = [j for j in client.get("/api/jobs").get_json() if j["outage"] == west]
    response = client.post(
        f"/api/jobs/{job['id']}/assign", json={"crew": "K1"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200, response.get_json()
    _open(page, live_server)
    page.click('[data-tab="outages"]')
    page.wait_for_selector(f'[data-outage="{east}"]')
    box = '[data-filters="outages"] [data-filter="text"]'
    for text, want in (("z-w", [west]), ("Z-E", [east]), ("k1", [west]), ("K2", [])):
        page.fill(box, text)
        page.wait_for_function(
            "want => JSON.stringify(Array.from(document.querySelectorAll("
            "'#cards-outages .card.outage'), e => e.dataset.outage)) === JSON.stringify(want)",
            arg=want,
        )
    page.fill(box, "")
    card = page.locator(f'#cards-outages [data-outage="{west}"]')
    assert "zone Z-W" in card.inner_text()


def test_plan_from_the_outage_panel_is_shown_not_hidden_under_it(
    live_server: str, page: Any, client: Any
) -> None:
    """The plan's box sits in the side list, which the outage panel covers:
    pressing Plan in the panel shows the plan, the panel steps aside."""
    token = sign_in(client, "dora")
    outage = _lockout(client, token, "B1", 5)
    page.set_viewport_size({"width": 1400, "height": 900})
    _open(page, live_server)
    page.goto(f"{live_server}/#outage/{outage}")
    page.locator("#detail [data-act='plan']").click()
    page.wait_for_selector("#plan-box:not([hidden]) li[data-device]:not(.done) button")
    page.wait_for_selector("#detail", state="hidden")
    # Nothing lies over the plan's steps: a step's button is what a click there meets.
    on_top = page.evaluate(
        """() => {
            const b = document.querySelector('#plan-box li[data-device]:not(.done) button');
            b.scrollIntoView({ block: 'center' });
            const r = b.getBoundingClientRect();
            return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === b;
        }"""
    )
    assert on_top
    assert "#outage/" not in page.url
