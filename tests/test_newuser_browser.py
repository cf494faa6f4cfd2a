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
