"""The switching desk in headless Chromium (issue 15): the switching page and the map.

An order written on the page by the engineer, studied as it is written,
checked (its warning named), not offered to its own writer's approval (the
two-person rule, said on the page), approved and issued by the dispatcher,
and carried out from the page, a step's interlock warning acknowledged rule
by rule; a crew's step reported by radio recorded by the dispatcher; and a
clearance that blocks the dispatcher's switching of its device on the map,
with the tag drawn beside the device (and in the field changes' table) and
the network shown as built (said on the map) and as operated;
the map's switching dialog asking to acknowledge a warning, box by box; a
draft order from an outage's plan, asked for from the outage panel; and a
planned outage requested with its risk check, approved by another person and
its order written; a safety document refused with its unmet points listed; a
checked order edited back to draft; a step passed over with its reason; and
the device list each step action offers.

SQLite only (the API has its own tests on both databases); the server runs
on the wall clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from conftest import User, kept_on_server
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from oms.storage import schema

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _sign_in(page: Any, base: str, user: str, where: str) -> None:
    page.goto(f"{base}/login?next={where}")
    page.fill("#username", user)
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")


def _open_switching(page: Any, base: str, user: str) -> None:
    _sign_in(page, base, user, "/switching")
    page.wait_for_function("window.omsSwitching && window.omsSwitching.loaded")
    page.wait_for_selector("#live.on")


def _state(page: Any) -> str:
    return str(page.get_attribute("#order-detail .detail-head .badge", "data-state"))


def _step(page: Any, n: int, action: str, device: str) -> None:
    row = page.locator("#new-steps tr").nth(n)
    row.locator(".step-action").select_option(action)
    row.locator(".step-device").fill(device)


def test_browser_an_order_from_writing_to_completed(
    app: Any, live_server: str, page: Any, chromium: Any
) -> None:
    dora = User(app, "dora")  # asks the server what was done
    with kept_on_server(page, live_server):
        _open_switching(page, live_server, "eng")
        # The engineer writes the order: close the tie, then open SW2 (b3 and
        # b4 move from B2 to B1 with nobody cut off), studied as it is written.
        page.click("#new-order")
        page.fill("#new-title", "Move b3-b4 to B1")
        _step(page, 0, "close", "TIE1")
        page.fill("#new-steps tr .step-note", "tell K1 first")
        page.click("#add-step")
        _step(page, 1, "open", "SW2")
        live = "#new-study .study tr[data-seq='2']"
        page.wait_for_selector(live)
        warning = page.locator("#new-study tr[data-seq='1'] .finding.warn[data-rule='parallel']")
        assert "close TIE1 parallels B1 and B2" in warning.inner_text()
        assert page.locator(f"{live} td.lost").inner_text() == "0"
        page.click("#save-order")
        page.wait_for_selector("#order-detail #order-title")
        oid = page.text_content("#order-title")
        assert _state(page) == "draft" and page.locator("#orders-list [data-id]").count() == 1
        assert "tell K1 first" in page.text_content("#order-detail tr[data-seq='1'] .step-note")

        # Studied again from the order, checked; its writer may not approve it.
        page.click("#order-actions [data-act='study']")
        page.wait_for_selector("#order-detail .study tr[data-seq='2']")
        page.click("#order-actions [data-act='check']")
        page.wait_for_selector("#order-detail .badge[data-state='checked']")
        # The order keeps the study's counts: the warning is named from its study now.
        page.wait_for_function(
            "document.getElementById('checked-warnings')?.textContent.includes('parallel (step 1)')"
        )
        approve = page.locator("#order-actions [data-act='approve']")
        assert approve.is_disabled() and "two-person rule" in str(approve.get_attribute("title"))
        assert _state(page) == "checked"
        # Issuing is the dispatcher's (the route's rule): not offered to the engineer.
        assert page.locator("#order-actions [data-act='issue']").count() == 0

        # The dispatcher, at another desk, approves and issues it.
        desk = chromium.new_context()
        other = desk.new_page()
        other.set_default_timeout(10_000)
        try:
            with kept_on_server(other, live_server):
                _open_switching(other, live_server, "dora")
                other.click(f"#orders-list [data-id='{oid}']")
                other.click("#order-actions [data-act='approve']")
                other.wait_for_selector("#order-detail .badge[data-state='approved']")
                # The engineer's page follows the stream.
                page.wait_for_selector("#order-detail .badge[data-state='approved']")
                other.click("#order-actions [data-act='issue']")
                other.wait_for_selector("#order-detail .badge[data-state='issued']")

                # Step 1 closes the tie: the engine warns; the page asks, naming it.
                other.click("[data-do='1']")
                other.wait_for_selector("#dialog[open] .ack")
                box = other.locator("#dialog .ack")
                assert "close TIE1 parallels B1 and B2" in box.inner_text()
                assert other.locator("#dialog input[name=ack]").evaluate_all(
                    "(bs) => bs.map((b) => [b.value, b.checked])"
                ) == [["parallel", False]]
                # Not ticked: nothing is sent.
                other.click("#dialog-ok")
                assert "Tick each warning" in other.text_content("#dialog-error")
                order = dora.get(f"/api/switching/orders/{oid}").get_json()
                assert order["steps"][0]["done"] is False
                other.check("#dialog input[data-rule='parallel']")
                other.click("#dialog-ok")
                other.wait_for_selector("#dialog", state="hidden")
                other.wait_for_selector("#order-detail tr[data-seq='1'].done")
                assert "parallel" in other.locator("#order-detail tr[data-seq='1']").inner_text()
                assert _state(other) == "in_progress"
                other.click("[data-do='2']")
                other.wait_for_selector("#order-detail .badge[data-state='completed']")
                page.wait_for_selector("#order-detail .badge[data-state='completed']")
                # The count says what it counts: the completed order is listed, not open.
                assert other.text_content("#count-orders") == "0 open"
                assert other.locator("#orders-list [data-id]").count() == 1
        finally:
            desk.close()
    order = dora.get(f"/api/switching/orders/{oid}").get_json()
    assert [(s["done_by"], s["acknowledged"]) for s in order["steps"]] == [
        ("dora", ["parallel"]),
        ("dora", []),
    ]
    assert order["steps"][0]["note"] == "tell K1 first"
    assert [s["state"] for s in order["signatures"]] == [
        "draft",
        "checked",
        "approved",
        "issued",
        "in_progress",
        "completed",
    ]


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _feature(doc: dict[str, Any], device: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        f["properties"] for f in doc["features"] if f["properties"]["id"] == device
    )
    return found


def _open_map(page: Any, base: str) -> None:
    _sign_in(page, base, "dora", "/")
    page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")
    page.wait_for_selector("#live.on")


def _switch_from_map(page: Any, device: str, state: str) -> None:
    """Clicks the device's symbol, then the popup's switching button (its dialog opens).

    Tried again when the dialog does not open: the live stream may redraw the
    symbols under the click on a loaded machine (a CI run timed out here)."""
    for attempt in range(3):
        x, y = page.evaluate(
            """(id) => {
                const p = window.omsMap.map.latLngToContainerPoint(window.omsMap.devicePoint(id));
                const r = document.getElementById('map').getBoundingClientRect();
                return [r.left + p.x, r.top + p.y];
            }""",
            device,
        )
        page.mouse.click(x, y)
        try:
            button = f".leaflet-popup-content [data-pop='switch'][data-state='{state}']"
            page.click(button, timeout=8000)
            page.wait_for_selector("#dialog[open]", timeout=8000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def test_browser_a_clearance_blocks_switching_its_device(
    app: Any, live_server: str, page: Any
) -> None:
    dora, eng = User(app, "dora"), User(app, "eng")
    _ok(dora.post("/api/switch", {"device": "SW2", "state": "open", "confirm": True}))
    tag = [{"action": "place_tag", "device": "SW2", "tag": "clearance"}]
    oid = _ok(eng.post("/api/switching/orders", {"title": "Tag SW2", "steps": tag}), 201)["id"]
    _ok(eng.post(f"/api/switching/orders/{oid}/check"))
    _ok(dora.post(f"/api/switching/orders/{oid}/approve"))
    _ok(dora.post(f"/api/switching/orders/{oid}/issue"))
    _ok(dora.post(f"/api/switching/orders/{oid}/steps/1"))
    points = [{"device": "SW2", "state": "open"}]
    body = {"kind": "clearance", "crew": "K1", "points": points, "work": "bushings"}
    sd = _ok(eng.post("/api/switching/safety", body), 201)["id"]
    assert _ok(dora.post(f"/api/switching/safety/{sd}/issue"))["state"] == "issued"

    with kept_on_server(page, live_server):
        _open_map(page, live_server)
        # The tag is drawn beside SW2, which is open.
        page.wait_for_function(
            "window.omsMap.fieldInfo().some((f) => f.device === 'SW2' && f.changes.includes('tag'))"
        )
        page.wait_for_selector(".oms-field-row[data-device='SW2'] .oms-field.tag")
        assert page.evaluate("window.omsMap.deviceState('SW2')") == "open"

        # The dispatcher's switching dialog on SW2: the engine's refusal, nothing operated.
        _switch_from_map(page, "SW2", "closed")
        page.click("#dialog-ok")
        error = page.locator("#dialog-error")
        page.wait_for_function("document.getElementById('dialog-error').textContent !== ''")
        assert f"clearance {sd} issued to K1 holds SW2 open" in error.inner_text()
        assert "remove the tag before operating it" in error.inner_text()
        assert page.locator("#dialog .ack").count() == 0  # a refusal is not acknowledged
        assert page.locator("#dialog[open]").count() == 1
        page.click("#dialog-cancel")
        assert _feature(_ok(dora.get("/map/devices.geojson")), "SW2")["operated"] == "open"
        assert page.evaluate("window.omsMap.deviceState('SW2')") == "open"

        # As built: SW2 in its normal state, no field changes, said on the map; then as operated.
        assert page.locator("#as-built-label").is_hidden()
        page.click("#map-view [data-view='normal']")
        page.wait_for_function("window.omsMap.deviceState('SW2') === 'closed'")
        page.wait_for_function("window.omsMap.fieldInfo().length === 0")
        assert "not the network now" in page.locator("#as-built-label").inner_text()
        page.click("#map-view [data-view='operated']")
        page.wait_for_function("window.omsMap.deviceState('SW2') === 'open'")
        page.wait_for_selector(".oms-field-row[data-device='SW2']")
        assert page.locator("#as-built-label").is_hidden()

        # The switching page's table of field changes: each column under its heading.
        page.goto(f"{live_server}/switching")
        page.wait_for_function("window.omsSwitching && window.omsSwitching.loaded")
        page.click("#tab-field")
        page.wait_for_selector("#field-list tr[data-kind='tag']")
        heads, cells = page.evaluate(
            """() => ['th', 'tbody tr:first-child td'].map((s) => Array.from(
                document.querySelectorAll(`#field-list table ${s}`),
                (e) => Math.round(e.getBoundingClientRect().left)))"""
        )
        assert len(heads) == 8 and heads == cells


def test_browser_the_maps_switching_dialog_asks_to_acknowledge_warnings(
    app: Any, live_server: str, page: Any
) -> None:
    dora = User(app, "dora")
    with kept_on_server(page, live_server):
        _open_map(page, live_server)
        # Closing the tie parallels B1 and B2: a warning, nothing operated yet.
        _switch_from_map(page, "TIE1", "closed")
        page.click("#dialog-ok")
        page.wait_for_selector("#dialog .ack")
        assert "close TIE1 parallels B1 and B2" in page.locator("#dialog .ack").inner_text()
        rules = page.locator("#dialog input[name=ack]").evaluate_all(
            "(bs) => bs.map((b) => b.value)"
        )
        assert "parallel" in rules
        assert page.text_content("#dialog-ok") == "Acknowledge and close TIE1"
        devices = _ok(dora.get("/map/devices.geojson"))
        assert _feature(devices, "TIE1")["operated"] == "open"
        # Ticked one by one, every one, it goes through.
        page.click("#dialog-ok")
        assert "Tick each warning" in page.text_content("#dialog-error")
        for rule in rules:
            page.check(f"#dialog input[data-rule='{rule}']")
        page.click("#dialog-ok")
        page.wait_for_selector("#dialog", state="hidden")
        page.wait_for_function("window.omsMap.deviceState('TIE1') === 'closed'")
    assert _feature(_ok(dora.get("/map/devices.geojson")), "TIE1")["operated"] == "closed"
    # The event log holds the one switching applied, with what was acknowledged.
    ev = schema.events
    with app.extensions["oms.storage.db"].connect() as conn:
        rows = conn.execute(select(ev.c.payload).where(ev.c.type == "switch")).all()
    assert [json.loads(r.payload)["acknowledge"] for r in rows] == [rules]


def test_browser_an_order_from_the_outage_panel(app: Any, live_server: str, page: Any) -> None:
    dora = User(app, "dora")
    now = datetime.now(timezone.utc).isoformat()
    trip = {"id": "scada-1", "type": "scada", "time": now, "device": "R1", "state": "open"}
    _ok(dora.post("/api/events", {**trip, "lockout": True}))
    [outage] = _ok(dora.get("/api/outages"))
    with kept_on_server(page, live_server):
        _sign_in(page, live_server, "dora", "/")
        page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")
        page.evaluate(f"location.hash = '#outage/{outage['id']}'")
        # The outage panel opens the switching page with the outage filled in ...
        with page.context.expect_page() as opened:
            page.click("#detail [data-act='order']")
        desk = opened.value
        with kept_on_server(desk, live_server):
            desk.wait_for_function("window.omsSwitching && window.omsSwitching.loaded")
            assert desk.input_value("#from-outage") == outage["id"]
            assert desk.locator("#orders-list [data-id]").count() == 0  # nothing written yet
            # ... where the operator asks for the draft of its plan.
            desk.click("#from-outage-go")
            desk.wait_for_selector("#order-detail .badge[data-state='draft']")
            assert f"outage {outage['id']}" in desk.text_content("#order-detail")
            actions = desk.locator("#order-detail table.steps tbody tr").evaluate_all(
                "(rs) => rs.map((r) => r.children[1].textContent)"
            )
            assert actions[0] == "open" and actions[-1] == "close"


def test_browser_a_planned_outage_requested_approved_and_its_order(
    app: Any, live_server: str, page: Any
) -> None:
    dora = User(app, "dora")
    with kept_on_server(page, live_server):
        _open_switching(page, live_server, "eng")
        page.click("#tab-planned")
        page.click("#new-planned")
        page.fill("#po-applicant", "Lines")
        page.fill("#po-reason", "Replace poles")
        page.fill("#po-devices", "SW2")
        page.check(".po-crew[value='K1']")
        page.click("#po-request")
        row = page.locator("#planned-list tr[data-id='PO-000001']")
        row.wait_for()
        # Its risk check: SW2 cuts off b4 and b3 (6 customers).
        assert "6 customers" in row.locator(".risk").inner_text()
        # Its requester may not approve it: the button says why instead of being refused.
        approve = row.locator("[data-act='approve']")
        assert approve.is_disabled() and "two-person rule" in str(approve.get_attribute("title"))
        # Approved at another desk: the row follows, and offers to write its order.
        assert _ok(dora.post("/api/planned/PO-000001/approve"))["state"] == "approved"
        row.locator(".badge[data-state='approved']").wait_for()
        row.locator("[data-act='order']").click()
        page.wait_for_selector("#pane-orders:not([hidden]) #order-editor")
        assert page.input_value("#new-steps tr .step-device") == "SW2"
        page.click("#save-order")
        page.wait_for_selector("#order-detail .badge[data-state='draft']")
        assert "planned outage PO-000001" in page.text_content("#order-detail")
    order = _ok(dora.get("/api/switching/orders/SO-000001"))
    assert (order["planned"], [s["device"] for s in order["steps"]]) == ("PO-000001", ["SW2"])
    assert _ok(dora.get("/api/planned/PO-000001"))["order"] == "SO-000001"


def test_browser_a_safety_document_refused_with_its_unmet_points(
    app: Any, live_server: str, page: Any
) -> None:
    with kept_on_server(page, live_server):
        _open_switching(page, live_server, "dora")
        page.click("#tab-safety")
        page.click("#new-safety")
        page.select_option("#sd-crew", "K1")
        page.fill("#sd-work", "bushings")
        page.fill("#safety-points .point-device", "SW2")
        page.click("#sd-create")
        row = page.locator("#safety-list tr[data-id='SD-000001']")
        row.wait_for()
        assert "SW2 open · tag" in row.inner_text()
        row.locator("[data-act='issue']").click()
        unmet = page.locator("#safety-list tr.refusal-row[data-for='SD-000001'] li")
        unmet.first.wait_for()
        assert unmet.all_inner_texts() == [
            "point 1: SW2 is closed, not open",
            "point 1: SW2 has no clearance tag",
        ]
        assert row.locator(".badge").get_attribute("data-state") == "draft"
        row.locator("[data-act='cancel']").click()
        page.wait_for_selector("#safety-list tr[data-id='SD-000001']", state="detached")
        page.uncheck("#safety-open")  # finished ones too
        page.wait_for_selector(
            "#safety-list tr[data-id='SD-000001'] .badge[data-state='cancelled']"
        )
    assert _ok(User(app, "eng").get("/api/switching/safety/SD-000001"))["state"] == "cancelled"


def test_browser_a_checked_order_edited_goes_back_to_draft(
    app: Any, live_server: str, page: Any
) -> None:
    eng = User(app, "eng")
    body = {"title": "Open SW2", "steps": [{"action": "open", "device": "SW2"}]}
    oid = _ok(eng.post("/api/switching/orders", body), 201)["id"]
    _ok(eng.post(f"/api/switching/orders/{oid}/check"))
    with kept_on_server(page, live_server):
        _open_switching(page, live_server, "eng")
        page.click(f"#orders-list [data-id='{oid}']")
        page.click("#order-actions [data-act='edit']")
        # The same editor, filled with the order, saying a checked order goes back to draft.
        assert page.input_value("#new-title") == "Open SW2"
        assert page.input_value("#new-steps tr .step-device") == "SW2"
        assert "goes back to draft" in page.text_content("#edit-notice")
        page.fill("#new-title", "Move b3-b4 to B1")
        _step(page, 0, "close", "TIE1")
        page.click("#add-step")
        _step(page, 1, "open", "SW2")
        page.wait_for_selector("#new-study .study tr[data-seq='2']")  # studied live
        page.click("#save-order")
        page.wait_for_selector("#order-detail .badge[data-state='draft']")
        assert "edited" in page.text_content("#order-detail .signatures li:last-child")
    order = _ok(eng.get(f"/api/switching/orders/{oid}"))
    assert order["title"] == "Move b3-b4 to B1" and order["state"] == "draft"
    assert [(s["action"], s["device"]) for s in order["steps"]] == [
        ("close", "TIE1"),
        ("open", "SW2"),
    ]


def test_browser_a_crews_step_recorded_from_the_radio(
    app: Any, live_server: str, page: Any
) -> None:
    dora, eng = User(app, "dora"), User(app, "eng")
    steps = [{"action": "close", "device": "TIE1", "performer": "K1"}]  # parallels: a warning
    oid = _ok(eng.post("/api/switching/orders", {"title": "Tie", "steps": steps}), 201)["id"]
    for action, user in (("check", eng), ("approve", dora), ("issue", dora)):
        _ok(user.post(f"/api/switching/orders/{oid}/{action}"))
    with kept_on_server(page, live_server):
        _open_switching(page, live_server, "dora")
        page.click(f"#orders-list [data-id='{oid}']")
        page.click("#order-detail [data-record='1']")
        assert "crew K1" in page.text_content("#dialog-title")
        page.click("#dialog-ok")
        # The same acknowledgement as the control room's own steps.
        page.check("#dialog input[data-rule='parallel']")
        page.click("#dialog-ok")
        page.wait_for_selector("#order-detail .badge[data-state='completed']")
    step = _ok(dora.get(f"/api/switching/orders/{oid}"))["steps"][0]
    assert (step["done_by"], step["acknowledged"]) == ("dora", ["parallel"])


def test_browser_a_step_passed_over_with_its_reason(app: Any, live_server: str, page: Any) -> None:
    dora, eng = User(app, "dora"), User(app, "eng")
    steps = [{"action": "open", "device": "SW1"}, {"action": "close", "device": "SW1"}]
    oid = _ok(eng.post("/api/switching/orders", {"title": "SW1", "steps": steps}), 201)["id"]
    for action, user in (("check", eng), ("approve", dora), ("issue", dora)):
        _ok(user.post(f"/api/switching/orders/{oid}/{action}"))
    with kept_on_server(page, live_server):
        _open_switching(page, live_server, "dora")
        page.click(f"#orders-list [data-id='{oid}']")
        # Offered for the next step only.
        page.click("#order-detail [data-skip='1']")
        assert page.locator("#order-detail [data-skip]").count() == 1
        page.click("#dialog-ok")  # no reason: the engine's refusal, in the dialog
        page.wait_for_function("document.getElementById('dialog-error').textContent !== ''")
        assert "needs its reason" in page.text_content("#dialog-error")
        page.fill("#dialog-reason", "opened by hand")
        page.click("#dialog-ok")
        row = page.locator("#order-detail tr[data-seq='1'].skipped")
        row.wait_for()
        assert "passed over: opened by hand" in row.inner_text()
        assert _state(page) == "in_progress"
        page.wait_for_selector("#order-detail [data-skip='2']")
    step = _ok(dora.get(f"/api/switching/orders/{oid}"))["steps"][0]
    assert (step["done"], step["skipped"], step["note"]) == (True, True, "opened by hand")
    assert _feature(_ok(dora.get("/map/devices.geojson")), "SW1")["operated"] == "closed"


def test_browser_each_step_action_offers_the_devices_it_fits(
    app: Any, live_server: str, page: Any
) -> None:
    def offered() -> list[str]:
        found: list[str] = page.locator("#new-steps .step-device").evaluate(
            "(i) => Array.from(i.list.options, (o) => o.value)"
        )
        return found

    with kept_on_server(page, live_server):
        _open_switching(page, live_server, "eng")
        page.click("#new-order")
        # Switching devices to operate or tag; conductors to cut; any edge to ground.
        assert offered() == ["B1", "B2", "B3", "F1", "R1", "SW1", "SW2", "TIE1"]
        _step(page, 0, "cut", "L3")
        assert offered() == ["L1", "L2", "L3", "L4", "L5", "L6", "L8"]
        # The cut is studied live: a6's 7 customers lose supply.
        page.wait_for_selector("#new-study .study tr[data-seq='1']")
        assert page.locator("#new-study tr[data-seq='1'] td.lost").inner_text() == "7"
        page.select_option("#new-steps .step-action", "apply_ground")
        assert len(offered()) == 18 and {"T1", "X1", "L8", "TIE1"} <= set(offered())
