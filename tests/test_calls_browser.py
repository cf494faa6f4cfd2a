"""The calls owed to customers on the dispatcher's page (issue 16 item 1).

On the two-feeder test network (a9-1 on life support in the customers
file; the engineer puts a6-1 on the register as a hospital with a night
nurse to call) breaker B1 locks out. The dispatcher's Calls tab counts two
welfare calls, a9-1 first, each with its numbers to ring (the register's
contacts before the customer's own phone) and a link that opens the
outage's panel, where a6-1's contacts are listed too. "No answer" with a
note keeps a9-1 in the queue with one attempt and the note; "Reached"
takes it out. From the outage panel the dispatcher puts a5-2 on the
register: the engine's refusal of a contact without a number stays in the
dialog, then the entry is saved and a5-2 is owed a welfare call. The
engineer sees the queue and may keep the register, but records no calls.

SQLite only (the API has its own tests on both databases); the server runs
on the wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import User, kept_on_server

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

NURSE = {"name": "Night nurse", "phone": "+49 30 555", "relation": "carer"}
CARD = "#tab-calls [data-call]"
WELFARE = "#calls-welfare [data-call]"


def _ok(r: Any) -> Any:
    assert r.status_code == 200, (r.status_code, r.get_json())
    return r.get_json()


def _lockout_b1(app: Any) -> str:
    """eng puts a6-1 on the register; B1 locks out ten minutes ago: its outage id."""
    eng = User(app, "eng")
    entry = {"critical": "hospital", "contacts": [NURSE], "emergency_plan": "Ward 3 on battery"}
    _ok(eng.client.put("/api/critical/a6-1", json=entry, headers=eng.headers))
    dora = User(app, "dora")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    trip = {"id": "s-b1", "type": "scada", "time": t0.isoformat(), "device": "B1"}
    _ok(dora.post("/api/events", {**trip, "state": "open", "lockout": True}))
    (outage,) = [o for o in _ok(dora.get("/api/outages")) if o["device"] == "B1"]
    return str(outage["id"])


def _sign_in(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/login?next=/")
    page.fill("#username", user)
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_function("window.omsMap && window.omsMap.loaded")
    page.wait_for_selector("#live.on")


def _welfare(page: Any) -> list[str]:
    found = page.eval_on_selector_all(WELFARE, "els => els.map(e => e.dataset.customer)")
    return list(found)


def _card(page: Any, customer: str) -> Any:
    """The call card of ``customer``, found again (the list redraws)."""
    return page.locator(f"{CARD}[data-customer='{customer}']")


def test_the_outage_panel_lists_a_critical_customers_register_contacts(app: Any) -> None:
    outage = _lockout_b1(app)
    listed = _ok(User(app, "dora").get(f"/api/outages/{outage}/detail"))["customers"]["listed"]
    rows = {c["id"]: c for c in listed}
    assert rows["a6-1"]["critical"] == "hospital"
    assert rows["a6-1"]["contacts"] == [{**NURSE, "email": None}]
    assert rows["a9-1"]["contacts"] == []  # critical, nobody on the register to call
    assert "contacts" not in rows["a5-2"]  # not critical


@pytest.mark.browser
def test_calls_owed_made_and_a_customer_put_on_the_register(
    app: Any, live_server: str, page: Any
) -> None:
    with kept_on_server(page, live_server):
        _sign_in(page, live_server, "dora")
        outage = _lockout_b1(app)
        page.wait_for_function("document.getElementById('count-calls').textContent === '2'")
        page.click(".tabs button[data-tab='calls']")
        assert page.locator("#tab-calls").is_visible() and page.locator("#tab-jobs").is_hidden()
        assert page.text_content("[data-group='welfare'] h3 .count") == "2"
        assert _welfare(page) == ["a9-1", "a6-1"]  # life support first
        assert page.locator(f"{CARD}[data-customer='a9-1'] .badge.critical.life").is_visible()

        # a6-1: the nurse first (a tel: link without spaces), then its own phone.
        links = _card(page, "a6-1").locator(".call-numbers a.tel")
        assert links.count() == 2
        assert links.first.get_attribute("href") == "tel:+4930555"
        assert "Ward 3 on battery" in (_card(page, "a6-1").text_content() or "")

        # The outage link opens the outage's panel, which lists a6-1's contacts.
        _card(page, "a9-1").locator("a.call-outage").click()
        page.wait_for_selector("#detail:not([hidden]) [data-customer='a6-1'] .d-contacts a.tel")
        assert page.text_content("#detail-title") == outage
        page.keyboard.press("Escape")
        page.wait_for_selector("#detail[hidden]", state="attached")

        # No answer, with a note: a9-1 stays, one attempt, the note shown.
        _card(page, "a9-1").locator(".call-note").fill("voicemail, try the neighbour")
        _card(page, "a9-1").locator("[data-call-act='unanswered']").click()
        page.wait_for_selector(f"{CARD}[data-customer='a9-1'] .call-tried[data-attempts='1']")
        tried = _card(page, "a9-1").locator(".call-tried").text_content() or ""
        assert "1 attempt without an answer" in tried and "by dora" in tried
        assert "voicemail, try the neighbour" in tried
        assert _welfare(page) == ["a9-1", "a6-1"]

        # Reached: out of the queue.
        _card(page, "a9-1").locator("[data-call-act='reached']").click()
        page.wait_for_function("document.getElementById('count-calls').textContent === '1'")
        assert _welfare(page) == ["a6-1"]
        dora = User(app, "dora")
        assert [c["customer"] for c in _ok(dora.get("/api/callbacks"))["calls"]] == ["a6-1"]

        # a5-2 onto the register from the outage panel.
        _card(page, "a6-1").locator("a.call-outage").click()
        page.click("#detail button[data-all='customers']")  # a5-2 is past the first rows
        add = "#detail .d-customer[data-customer='a5-2'] button.d-register"
        page.wait_for_selector(add)
        assert page.text_content(add) == "Add to register…"
        page.click(add)
        page.wait_for_selector("#dialog[open] #reg-reason")
        page.fill("#reg-reason", "life_support")
        page.fill("#reg-plan", "Home dialysis")
        page.locator("#dialog tr.reg-contact input[data-field='name']").first.fill("Son")
        page.click("#dialog-ok")
        page.wait_for_function(
            "document.getElementById('dialog-error').textContent"
            ".includes('contacts[0] needs a phone or an email')"
        )
        assert page.locator("#dialog[open]").count() == 1  # refused: the dialog stays
        page.locator("#dialog tr.reg-contact input[data-field='phone']").first.fill("+100 77")
        page.click("#dialog-ok")
        page.wait_for_selector("#dialog[open]", state="detached")
        page.wait_for_function("document.getElementById('count-calls').textContent === '2'")
        # Life support before the hospital, each longest out first.
        assert _welfare(page) == ["a5-2", "a6-1"]
        entry = {e["customer"]: e for e in _ok(dora.get("/api/critical"))}["a5-2"]
        assert entry["critical"] == "life_support" and entry["updated_by"] == "dora"
        son = {"name": "Son", "phone": "+100 77", "email": None, "relation": None}
        assert entry["contacts"] == [son]
        assert entry["emergency_plan"] == "Home dialysis"
        # The panel (read again after the save) lists a5-2 as critical, its contact with it.
        page.wait_for_selector("#detail .critical[data-customer='a5-2'] a[href='tel:+10077']")


@pytest.mark.browser
def test_the_engineer_sees_the_calls_and_keeps_the_register_but_records_no_call(
    app: Any, live_server: str, page: Any
) -> None:
    _lockout_b1(app)
    with kept_on_server(page, live_server):
        _sign_in(page, live_server, "eng")
        page.click(".tabs button[data-tab='calls']")
        page.wait_for_function(f"document.querySelectorAll('{WELFARE}').length == 2")
        assert page.locator("#tab-calls [data-call-act='reached']").count() == 0
        assert page.locator("#tab-calls .call-note").count() == 0
        page.locator(f"{CARD}[data-customer='a6-1'] [data-call-act='register']").click()
        page.wait_for_selector("#dialog[open] #reg-reason")
        assert page.input_value("#reg-reason") == "hospital"
        phone = page.input_value("#dialog tr.reg-contact input[data-field='phone']")
        assert phone == NURSE["phone"]
        page.fill("#reg-note", "ward 3")
        page.click("#dialog-ok")
        page.wait_for_selector("#dialog[open]", state="detached")
        eng = User(app, "eng")
        entry = {e["customer"]: e for e in _ok(eng.get("/api/critical"))}["a6-1"]
        assert entry["note"] == "ward 3" and entry["updated_by"] == "eng"
        assert entry["contacts"] == [{**NURSE, "email": None}]
