"""A mutual-aid crew checks in from its handheld on arrival (issue 16 item 4; headless
Chromium, SQLite, the wall clock).

Onboarded with an expected arrival, the crew's handheld offers "Check in"
instead of "Start shift"; checking in sends its GPS position once
(``crew_checkin``), after which the crew is on shift and may be dispatched.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import User
from helpers import DLAT, DLON, LAT0, LON0

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

PHONE = {"width": 390, "height": 844}
HERE = {"longitude": round(LON0 + 2 * DLON, 6), "latitude": round(LAT0 + 1 * DLAT, 6)}


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_an_expected_crew_checks_in_from_its_handheld(
    app: Any, page: Any, live_server: str, chromium: Any
) -> None:
    dora, ada = User(app, "dora"), User(app, "ada")
    arrival = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    csv = (
        "id,name,company,skills,size,vehicles,home_base,arrival,unit,zone\n"
        f"MA1,North 1,Northern Power,line,4,2,Oslo,{arrival.isoformat()},U1,Z-W\n"
    )
    _ok(dora.post("/api/crews/import", data=csv, headers={"Content-Type": "text/csv"}))
    _ok(ada.post("/api/users", {"username": "ma1", "password": "secret-pw-1", "role": "crew",
                                "crew": "MA1"}), 201)  # fmt: skip
    (crew,) = [c for c in _ok(dora.get("/api/crews")) if c["id"] == "MA1"]
    assert crew["expected"] is True

    # The dispatcher sees it expected, with its company.
    desk = chromium.new_context().new_page()
    desk.set_default_timeout(10_000)
    desk.goto(f"{live_server}/login?next=/")
    desk.fill("#username", "dora")
    desk.fill("#password", "secret-pw")
    desk.click("button[type=submit]")
    desk.click(".tabs button[data-tab='crews']")
    card = "#tab-crews [data-crew='MA1']"
    desk.wait_for_selector(f"{card} [data-expected]", state="attached")
    assert "Northern Power · 4 people · 2 vehicles · from Oslo" in (desk.text_content(card) or "")

    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.context.grant_permissions(["geolocation"], origin=live_server)
    page.context.set_geolocation(HERE)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/login?next=/crew/")
    page.fill("#username", "ma1")
    page.fill("#password", "secret-pw-1")
    page.click("button[type=submit]")
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_selector("#shift-btn[data-checkin='1']")
    assert "Check in" in (page.text_content("#shift-btn") or "")
    assert "check in on arrival" in (page.text_content("#gps-status") or "")

    page.click("#shift-btn")
    page.wait_for_function(
        "document.getElementById('shift-btn').textContent === 'End shift'", timeout=15_000
    )
    # The check-in leaves through the outbox: wait for the server to have it.
    deadline = time.monotonic() + 20
    while True:
        (crew,) = [c for c in _ok(dora.get("/api/crews")) if c["id"] == "MA1"]
        if not crew["expected"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert crew["expected"] is False and crew["checked_in"] is not None
    assert (crew["lon"], crew["lat"]) == pytest.approx((HERE["longitude"], HERE["latitude"]))
    # The dispatcher's card follows from the stream: expected no more.
    desk.wait_for_selector(f"{card} [data-expected]", state="detached")
    desk.context.close()
    assert errors == []
