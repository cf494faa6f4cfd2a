"""The handheld's Switching tab in headless Chromium on a 390 x 844 phone
(SQLite): a crew step of an issued order reported done without signal is
kept across a restart, replayed once back online (one ``order_step`` in the
event log, with the time and position of the tap) and the order goes on to
the control room; a clearance issued to the crew is released from the
handheld through the outbox; a step the interlocks warn about is sent again
once the crew acknowledges the warning; a planned outage the crew works on
is listed with its window, devices and reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import User
from sqlalchemy import select

from oms.storage import schema

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

PHONE = {"width": 390, "height": 844}
HERE = {"longitude": 8.4012, "latitude": 49.0007}
#: SW2 opened and tagged by crew K1, then the tie closed by the control room.
STEPS = [
    {"action": "open", "device": "SW2", "performer": "K1"},
    {"action": "place_tag", "device": "SW2", "performer": "K1"},
    {"action": "close", "device": "TIE1"},
]


def _ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.get_json()
    doc: dict[str, Any] = r.get_json()
    return doc


def _issued(app: Any, steps: list[dict[str, Any]], title: str) -> str:
    """An order written by the engineer, approved and issued by the dispatcher; its id."""
    eng, dora = User(app, "eng"), User(app, "dora")
    oid = str(_ok(eng.post("/api/switching/orders", {"title": title, "steps": steps}), 201)["id"])
    _ok(eng.post(f"/api/switching/orders/{oid}/check"))
    _ok(dora.post(f"/api/switching/orders/{oid}/approve"))
    assert _ok(dora.post(f"/api/switching/orders/{oid}/issue"))["state"] == "issued"
    return oid


def _step_events(app: Any, order: str, step: int) -> list[dict[str, Any]]:
    ev = schema.events
    with app.extensions["oms.storage.db"].connect() as conn:
        rows = conn.execute(select(ev.c.id, ev.c.payload).where(ev.c.type == "order_step")).all()
    found = [{"id": r.id, **json.loads(r.payload)} for r in rows]
    return [e for e in found if e.get("order") == order and e.get("step") == step]


@pytest.fixture
def phone(page: Any, live_server: str) -> Iterator[Any]:
    """The page with a GPS position, signed in as k1 on the Switching tab; no script error."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.context.grant_permissions(["geolocation"], origin=live_server)
    page.context.set_geolocation(HERE)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/login?next=/crew/")
    page.fill("#username", "k1")
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/crew/")
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.click("#tab-switching")
    page.wait_for_selector("#switching-view:not([hidden])")
    yield page
    assert errors == []


def _queued(page: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const req = indexedDB.open('oms-crew');
            req.onsuccess = () => {
                const all = req.result.transaction('outbox').objectStore('outbox').getAll();
                all.onsuccess = () => resolve(all.result);
                all.onerror = () => reject(all.error);
            };
            req.onerror = () => reject(req.error);
        })"""
    )
    return items


def _step(order: str, seq: int) -> str:
    return f"[data-order='{order}'] [data-step='{seq}']"


def _done(page: Any, order: str, seq: int) -> None:
    """Done, and the second tap that confirms it."""
    button = f"{_step(order, seq)} button[data-done]"
    page.click(button)
    page.wait_for_selector(f"{button}.confirm")
    page.click(button)


def _sent(page: Any) -> None:
    page.wait_for_function("document.getElementById('net').dataset.queued === '0'", timeout=20_000)


def _focus(page: Any) -> None:
    """The crew comes back to the app (what a phone's visibility change does)."""
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")


def test_a_step_done_offline_is_replayed_once_and_a_clearance_released(
    app: Any, phone: Any, live_server: str
) -> None:
    page = phone
    oid = _issued(app, STEPS, "SW2 maintenance")
    _focus(page)
    page.wait_for_selector(f"{_step(oid, 1)} button[data-done]")
    # Only the crew's next step can be reported; the control room's is shown read-only.
    assert page.locator(f"[data-order='{oid}'] button[data-done]").count() == 1
    assert "control room" in (page.text_content(_step(oid, 3)) or "")
    assert page.text_content(f"[data-order='{oid}'] [data-where]") == "Your turn: step 1"
    assert page.text_content("#switching-n") == "1"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.context.set_offline(True)
    _done(page, oid, 1)
    page.wait_for_selector(f"{_step(oid, 1)}[data-state='queued']")
    assert "queued" in (page.text_content(_step(oid, 1)) or "")
    (item,) = _queued(page)
    assert item["path"] == f"/api/switching/orders/{oid}/steps/1"
    assert item["body"]["id"] == item["id"]
    assert (item["body"]["lon"], item["body"]["lat"]) == (HERE["longitude"], HERE["latitude"])
    # The crew's next step is step 2 now, on the handheld.
    page.wait_for_selector(f"{_step(oid, 2)} button[data-done]")
    assert not _step_events(app, oid, 1)

    # A restart without signal: the order from IndexedDB, the step still queued.
    page.reload()
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_selector(f"{_step(oid, 1)}[data-state='queued']")
    assert "Offline" in (page.text_content("#net") or "")
    assert not _step_events(app, oid, 1)

    page.context.set_offline(False)
    _sent(page)
    page.wait_for_selector(f"{_step(oid, 1)}[data-state='done']")
    assert _queued(page) == []
    (event,) = _step_events(app, oid, 1)
    assert event["id"] == item["id"] and event["user"] == "k1" and event["crew"] == "K1"
    k1 = User(app, "k1")
    step = _ok(k1.get(f"/api/switching/orders/{oid}"))["steps"][0]
    assert step["done"] and step["done_by"] == "k1"
    assert datetime.fromisoformat(step["done_at"]) == datetime.fromisoformat(item["body"]["time"])
    assert (step["lon"], step["lat"]) == (HERE["longitude"], HERE["latitude"])
    # The same report again (a lost answer): a duplicate, nothing twice.
    again = k1.post(item["path"], item["body"])
    assert again.status_code == 200 and len(_step_events(app, oid, 1)) == 1

    # The order goes on: the crew's step 2, then the control room's step 3.
    _done(page, oid, 2)
    page.wait_for_selector(f"{_step(oid, 2)}[data-state='done']")
    where = f"[data-order='{oid}'] [data-where]"
    assert page.text_content(where) == "Waiting for the control room: step 3"
    assert page.locator(f"[data-order='{oid}'] button[data-done]").count() == 0
    dora = User(app, "dora")
    assert _ok(dora.post(f"/api/switching/orders/{oid}/steps/3"))["state"] == "completed"
    page.wait_for_function(
        f"document.querySelector(\"{where}\").textContent.startsWith('Completed')"
    )
    assert page.get_attribute(_step(oid, 3), "data-state") == "done"

    # A clearance on the isolated, tagged SW2, issued to K1, released from the handheld.
    eng = User(app, "eng")
    body = {"kind": "clearance", "crew": "K1", "points": [{"device": "SW2"}], "work": "bushings"}
    sd = str(_ok(eng.post("/api/switching/safety", body), 201)["id"])
    assert _ok(dora.post(f"/api/switching/safety/{sd}/issue"))["state"] == "issued"
    _focus(page)
    card = f"[data-safety='{sd}']"
    page.wait_for_selector(f"{card} button[data-release]")
    assert "bushings" in (page.text_content(card) or "")
    assert "SW2" in (page.text_content(f"{card} .points") or "")
    page.context.set_offline(True)
    page.click(f"{card} button[data-release]")
    page.click(f"{card} button[data-release].confirm")
    page.wait_for_function(
        f"document.querySelector(\"{card}\").textContent.includes('Release queued')"
    )
    assert _ok(k1.get(f"/api/switching/safety/{sd}"))["state"] == "issued"
    page.context.set_offline(False)
    _sent(page)
    page.wait_for_function(f"document.querySelector(\"{card}\").textContent.includes('Released')")
    doc = _ok(k1.get(f"/api/switching/safety/{sd}"))
    assert doc["state"] == "released" and doc["signatures"][-1]["user"] == "k1"

    # A planned outage K1 works on: its window, devices and reason.
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(days=9)
    body = {
        "applicant": "Lines",
        "reason": "pole replacement",
        "devices": ["SW2"],
        "start": start.isoformat(),
        "end": (start + timedelta(hours=3)).isoformat(),
        "crews": ["K1"],
    }
    po = str(_ok(eng.post("/api/planned", body), 201)["id"])
    assert _ok(dora.post(f"/api/planned/{po}/approve"))["state"] == "approved"
    _focus(page)
    card = f"[data-planned='{po}']"
    page.wait_for_selector(card)
    text = page.text_content(card) or ""
    assert "pole replacement" in text and "SW2" in text and "Approved" in text
    local = start.astimezone()  # the browser's time zone is this process's
    window = page.text_content(f"{card} [data-window]") or ""
    # Another day by the handheld's locale, its month by name ("Dec 7, 08:00"), never "7/12".
    month = page.evaluate(
        "(m) => new Date(2000, m - 1, 15).toLocaleDateString([], {month: 'short'})", local.month
    )
    start_text = window.split(" – ")[0]
    assert month in start_text and str(local.day) in start_text and f"{local:%H:%M}" in start_text
    assert "/" not in window


def test_a_warning_is_acknowledged_by_the_crew_and_sent_again(
    app: Any, phone: Any, live_server: str
) -> None:
    page = phone
    # Closing the tie while both feeders are closed parallels them: a warning.
    oid = _issued(app, [{"action": "close", "device": "TIE1", "performer": "K1"}], "Tie in")
    _focus(page)
    _done(page, oid, 1)
    acknowledge = "#rejected [data-acknowledge='parallel']"
    page.wait_for_selector(acknowledge)
    text = page.text_content("#rejected") or ""
    assert f"Step 1 of {oid}" in text and "(acknowledge: parallel)" in text
    page.wait_for_selector(f"{_step(oid, 1)}[data-state='refused']")
    assert not _step_events(app, oid, 1)
    page.click(acknowledge)  # found again: the banner may be drawn anew meanwhile
    page.wait_for_selector(f"{_step(oid, 1)}[data-state='done']")
    assert page.locator("#rejected .banner").count() == 0
    (event,) = _step_events(app, oid, 1)
    assert event["acknowledge"] == ["parallel"]
    step = _ok(User(app, "k1").get(f"/api/switching/orders/{oid}"))["steps"][0]
    assert step["acknowledged"] == ["parallel"] and step["done_by"] == "k1"
