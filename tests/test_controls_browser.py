"""Honest controls in the dispatcher page, in headless Chromium (issue 14): the
plan box ticks the steps already carried out and does not offer them, and the
switching dialog does not offer an operation into the state a device has."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _post(client: Any, token: str, path: str, body: Any) -> Any:
    r = client.post(path, json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _open_map(page: Any, base: str) -> None:
    page.goto(base + "/login?next=/")
    page.fill("#username", "dora")
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")
    page.wait_for_selector("#live.on")


def test_browser_plan_steps_done_are_ticked_and_not_offered(
    live_server: str, page: Any, client: Any
) -> None:
    token = sign_in(client, "dora")
    trip = {
        "id": "scada-1",
        "type": "scada",
        "time": datetime.now(timezone.utc).isoformat(),
        "device": "B1",
        "state": "open",
        "lockout": True,
    }
    assert _post(client, token, "/api/events", trip)["accepted"] == 1
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 900})
    _open_map(page, live_server)
    page.click('[data-tab="outages"]')
    page.locator('[data-outage="OUT-000001"] [data-act="plan"]').click()
    page.wait_for_selector("#plan-box:not([hidden])")
    steps = page.eval_on_selector_all(
        "#plan-box li[data-device]", "ls => ls.map(l => [l.dataset.device, l.dataset.planned])"
    )
    assert steps[0] == ["B1", "open"] and ["R1", "open"] in steps, steps

    # The breaker that tripped is open already: its step is done, with why, and no button.
    b1 = page.locator("#plan-box li[data-device='B1']")
    page.wait_for_selector("#plan-box li[data-device='B1'].done")
    assert "✓" in b1.inner_text() and "tripped" in b1.inner_text()
    assert not b1.locator("button").is_visible()
    assert page.locator("#plan-box li.done").count() == 1

    # A step carried out from the box is ticked with who and when.
    r1 = page.locator("#plan-box li[data-device='R1']")
    r1.locator("button").click()
    page.locator("#dialog-ok").click()
    page.wait_for_selector("#plan-box li[data-device='R1'].done")
    assert "done by you at" in r1.inner_text()
    assert not r1.locator("button").is_visible()

    # Another desk's switching arrives on the live stream: its step is ticked too.
    _post(client, token, "/api/switch", {"device": "SW1", "state": "open", "confirm": True})
    page.wait_for_selector("#plan-box li[data-device='SW1'].done", timeout=8000)
    assert "switched" in page.locator("#plan-box li[data-device='SW1']").inner_text()
    tie = page.locator("#plan-box li[data-device='TIE1']")
    assert "done" not in (tie.get_attribute("class") or "") and tie.locator("button").is_visible()

    # The dialog, asked for what a device already is, says so and offers nothing.
    page.evaluate(
        "import('/static/js/dispatcher/switching.js')"
        ".then(m => m.switchDialog('SW1', 'open', 'switch', { current: 'open' }))"
    )
    page.wait_for_selector("#dialog[open] .already")
    assert "SW1 is already open" in page.locator("#dialog").inner_text()
    assert page.locator("#dialog-ok").count() == 0
    page.locator("#dialog-cancel").click()
    assert errors == []
    page.goto("about:blank")
