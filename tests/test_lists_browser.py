"""The dispatcher's lists in Chromium: alarms acknowledged, filters, sorts, bulk close, no churn.

SQLite only (the API tests in test_alerts.py run on both databases). The
page runs on the wall clock, so events are dated minutes before now.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import sign_in
from sqlalchemy import func, select

from oms.storage import schema

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
pytestmark = [pytest.mark.browser, SQLITE_ONLY]


def _at(minutes_ago: float = 0) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()


def _post(client: Any, token: str, url: str, body: Any, status: int = 200) -> Any:
    response = client.post(url, json=body, headers={"X-CSRFToken": token})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _events(client: Any, token: str, *events: dict[str, Any]) -> None:
    assert _post(client, token, "/api/events", list(events))["rejected"] == []


def _trip(client: Any, token: str, device: str, minutes_ago: float, state: str = "open") -> None:
    event = {"id": f"scada-{device}-{state}", "type": "scada", "time": _at(minutes_ago)}
    _events(client, token, {**event, "device": device, "state": state, "lockout": True})


def _open(page: Any, base: str) -> None:
    page.goto(base + "/login?next=/")
    page.fill("#username", "dora")
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_function("window.omsMap && window.omsMap.ready && window.omsMap.loaded")
    page.wait_for_selector("#live.on")


def _late_jobs(client: Any, token: str) -> None:
    """B1 locked out 50 minutes ago, nobody sent: its targets ran out (alerts of every level)."""
    _events(client, token, {"id": "auto", "type": "dispatch_auto", "time": _at(51), "auto": False})
    _trip(client, token, "B1", 50)
    gps = {
        "id": "gps-now",
        "type": "crew_gps",
        "time": _at(),
        "crew": "K3",
        "lon": 8.4,
        "lat": 49.0,
    }
    _events(client, token, gps)


def _ids(page: Any, selector: str, attr: str) -> list[str]:
    return list(
        page.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute('{attr}'))")
    )


def test_acknowledging_an_alert_drops_the_count(live_server: str, page: Any, client: Any) -> None:
    token = sign_in(client, "dora")
    _late_jobs(client, token)
    waiting = client.get("/api/alerts/summary").get_json()["unacknowledged"]
    assert waiting >= 3
    _open(page, live_server)
    page.wait_for_function(f"document.querySelector('#kpi-alarms b').textContent === '{waiting}'")
    assert "alarm" in (page.get_attribute("#kpi-alarms", "class") or "")  # a breach waits
    page.click("#kpi-alarms")  # to the alerts, those to acknowledge
    page.wait_for_selector("#tab-alerts:not([hidden]) .card.alert")
    first = page.locator(".card.alert").first
    seq = int(first.get_attribute("data-alert") or 0)
    first.locator('[data-act="ack"]').click()
    page.wait_for_function(
        f"document.querySelector('#kpi-alarms b').textContent === '{waiting - 1}'"
    )
    page.wait_for_selector(f'[data-alert="{seq}"]', state="detached")  # only those to acknowledge
    (done,) = client.get("/api/alerts?acknowledged=1").get_json()
    assert (done["seq"], done["acknowledged_by"]) == (seq, "dora")

    # Bulk: everything the filters show, once the dispatcher confirmed how many.
    page.click("#ack-shown")
    page.wait_for_selector("#dialog[open]")
    assert page.inner_text("#dialog-title") == f"Acknowledge {waiting - 1} alerts?"
    assert client.get("/api/alerts/summary").get_json()["unacknowledged"] == waiting - 1
    page.click("#dialog-ok")
    page.wait_for_function("document.querySelector('#kpi-alarms b').textContent === '0'")
    page.wait_for_selector("#cards-alerts .empty")
    assert client.get("/api/alerts/summary").get_json()["unacknowledged"] == 0
    page.select_option('[data-filters="alerts"] [data-filter="ack"]', "done")
    page.wait_for_function(f"document.querySelectorAll('.card.alert.acked').length === {waiting}")
    assert "dora" in page.locator(".card.alert.acked .ack-by").first.inner_text()


def test_alerts_filter_by_level(live_server: str, page: Any, client: Any) -> None:
    token = sign_in(client, "dora")
    _late_jobs(client, token)
    every = client.get("/api/alerts").get_json()
    _open(page, live_server)
    page.click('[data-tab="alerts"]')
    page.wait_for_function(f"document.querySelectorAll('.card.alert').length === {len(every)}")
    for level in ("breach", "target", "info"):
        page.select_option('[data-filters="alerts"] [data-filter="state"]', level)
        want = sorted(str(a["seq"]) for a in every if a["level"] == level)
        assert want, level
        page.wait_for_function(
            f"Array.from(document.querySelectorAll('.card.alert'))"
            f".every(c => c.classList.contains('lvl-{level}'))"
            f" && document.querySelectorAll('.card.alert').length === {len(want)}"
        )
        assert sorted(_ids(page, ".card.alert", "data-alert")) == want
    page.select_option('[data-filters="alerts"] [data-filter="state"]', "")
    page.select_option('[data-filters="alerts"] [data-filter="zone"]', "Z-W")
    page.wait_for_function(
        f"document.querySelectorAll('.card.alert').length === "
        f"{sum(1 for a in every if a['zone'] == 'Z-W')}"
    )


def test_jobs_sort_and_filter_and_keep_them_across_updates(
    live_server: str, page: Any, client: Any
) -> None:
    token = sign_in(client, "dora")
    _events(client, token, {"id": "auto", "type": "dispatch_auto", "time": _at(31), "auto": False})
    _trip(client, token, "B1", 30)
    _trip(client, token, "B2", 20)
    jobs = client.get("/api/jobs?open=1").get_json()
    assert len(jobs) == 2
    _open(page, live_server)
    page.wait_for_selector("[data-job]")
    sort = '[data-filters="jobs"] [data-filter="sort"]'
    orders = {
        "priority": [
            j["id"] for j in sorted(jobs, key=lambda j: (-j["priority"], j["stamps"]["A"]))
        ],
        "id": sorted(j["id"] for j in jobs),
        "oldest": [j["id"] for j in sorted(jobs, key=lambda j: j["stamps"]["A"])],
    }
    for name, want in [*orders.items(), ("priority", orders["priority"])]:
        page.select_option(sort, name)
        page.wait_for_function(
            "want => JSON.stringify(Array.from(document.querySelectorAll('#cards-jobs [data-job]'),"
            " e => e.dataset.job)) === JSON.stringify(want)",
            arg=want,
        )
    page.select_option(sort, "id")
    page.fill('[data-filters="jobs"] input', "B2")
    (b2,) = [j["id"] for j in jobs if j["device"] == "B2"]
    page.wait_for_function(
        f"document.querySelectorAll('#cards-jobs [data-job]').length === 1"
        f" && document.querySelector('[data-job=\"{b2}\"]') !== null"
    )
    assert page.inner_text("#count-jobs") == "1/2"
    # A live change keeps the filter, the sort and the card.
    card = page.query_selector(f'[data-job="{b2}"]')
    _post(client, token, f"/api/jobs/{b2}/assign", {"crew": "K2"})
    page.wait_for_function(
        f"document.querySelector('[data-job=\"{b2}\"] .crew').textContent.includes('K2')"
    )
    assert page.evaluate("c => c.isConnected", card)  # the same card, updated in place
    assert page.input_value('[data-filters="jobs"] input') == "B2"
    assert page.input_value(sort) == "id"
    assert len(_ids(page, "#cards-jobs [data-job]", "data-job")) == 1


def test_bulk_close_of_restored_outages(live_server: str, page: Any, client: Any) -> None:
    token = sign_in(client, "dora")
    _trip(client, token, "B1", 30)
    _trip(client, token, "B2", 29)
    _trip(client, token, "B1", 5, "closed")
    _trip(client, token, "B2", 4, "closed")
    restored = [o["id"] for o in client.get("/api/outages?state=restored").get_json()]
    assert len(restored) == 2
    _open(page, live_server)
    page.click('[data-tab="outages"]')
    page.wait_for_selector("#bulk-close:not([disabled])")
    assert page.inner_text("#bulk-close") == "Close restored shown (2)"
    # Only what the filters show: narrowed to one outage's device, one.
    device = client.get(f"/api/outages/{restored[0]}").get_json()["device"]
    page.fill('[data-filters="outages"] input', device)
    page.wait_for_function(
        "document.querySelector('#bulk-close').textContent === 'Close restored shown (1)'"
    )
    # Asked first, with what will be closed; cancelled, nothing is.
    page.click("#bulk-close")
    page.wait_for_selector("dialog[open] #bulk-close-ids")
    assert page.inner_text("#dialog-title") == "Close 1 restored outage?"
    assert page.inner_text("#dialog-ok") == "Close 1 outage"
    items = page.eval_on_selector_all("#bulk-close-ids li b", "els => els.map(e => e.textContent)")
    assert items == [restored[0]]
    assert device in page.inner_text("#bulk-close-ids")
    page.click("#dialog-cancel")
    page.wait_for_selector("dialog[open]", state="detached")
    states = {o["id"]: o["state"] for o in client.get("/api/outages").get_json()}
    assert [states[oid] for oid in restored] == ["restored", "restored"]
    page.fill('[data-filters="outages"] input', "")
    for oid in restored:
        page.check(f'[data-outage="{oid}"] [data-act="pick"]')
    page.wait_for_function(
        "document.querySelector('#bulk-close').textContent === 'Close 2 selected'"
    )
    page.click("#bulk-close")
    page.wait_for_selector("dialog[open] #dialog-ok")
    assert page.inner_text("#dialog-ok") == "Close 2 outages"
    page.click("#dialog-ok")
    for oid in restored:
        page.wait_for_selector(f'[data-outage="{oid}"]', state="detached")
    for oid in restored:
        detail = client.get(f"/api/outages/{oid}").get_json()
        assert detail["state"] == "closed"
        assert [a["actor"] for a in detail["audit"] if a["action"] == "close"] == ["dora"]
    page.wait_for_function("document.querySelector('#bulk-close').disabled")


# ---------------------------------------------------------------- churn
#: Counts what changes in the jobs panel, leaving out what the clocks paint every
#: second (countdowns, ages, a card's severity colour): a batch is a redraw.
WATCH = """() => {
  const panel = document.querySelector('#tab-jobs');
  const w = { batches: 0, replaced: 0 };
  const painted = (r) => {
    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    if (el && el.closest('.cd, .age')) return true;
    return r.type === 'attributes' && r.attributeName === 'class';
  };
  new MutationObserver((records) => {
    const drawn = records.filter((r) => !painted(r));
    if (drawn.length) w.batches += 1;
    for (const r of drawn) {
      for (const n of r.removedNodes) {
        if (n.dataset && n.dataset.job && !n.isConnected) w.replaced += 1;
      }
    }
  }).observe(panel, { childList: true, subtree: true, attributes: true, characterData: true });
  window.jobsWatch = w;
}"""


def _job_changes(app: Any, after: int) -> int:
    """Job changes in the live feed after ``after`` (what the jobs panel may redraw for)."""
    c = schema.changes
    with app.extensions["oms.storage.db"].connect() as conn:
        query = select(func.count()).where((c.c.seq > after) & (c.c.kind == "job"))
        return int(conn.execute(query).scalar() or 0)


def _steps_between(client: Any, t0: float, t1: float) -> int:
    """Priority steps of the open jobs between ``t0`` and ``t1`` (epoch s): one
    every 10 minutes since each one's A."""
    steps = 0
    for job in client.get("/api/jobs?open=1").get_json():
        a = datetime.fromisoformat(job["stamps"]["A"]).timestamp()
        steps += int((t1 - a) // 600) - int((t0 - a) // 600)
    return steps


def _last_change(app: Any) -> int:
    with app.extensions["oms.storage.db"].connect() as conn:
        return int(conn.execute(select(func.max(schema.changes.c.seq))).scalar() or 0)


def test_the_jobs_panel_is_drawn_once_per_change_and_in_place(
    live_server: str, page: Any, client: Any, app: Any
) -> None:
    token = sign_in(client, "dora")
    _events(client, token, {"id": "auto", "type": "dispatch_auto", "time": _at(31), "auto": False})
    _trip(client, token, "B1", 30)
    _trip(client, token, "B2", 20)
    _open(page, live_server)
    page.wait_for_selector("[data-job]")
    time.sleep(0.5)  # the first lists drawn
    page.evaluate(WATCH)
    start, watched = _last_change(app), time.time()
    card = page.query_selector('[data-job="JOB-000001"]')
    # A storm of changes the jobs panel does not show: crews driving about, ten seconds.
    sent = 0
    for n in range(20):
        gps = {"id": f"gps-{n}", "type": "crew_gps", "time": _at(), "crew": "K3"}
        _events(client, token, {**gps, "lon": 8.4 + n * 1e-4, "lat": 49.0})
        sent += 1
        time.sleep(0.5)
    page.wait_for_function(
        "Array.from(document.querySelectorAll('[data-crew=\"K3\"] .meta')).length > 0"
    )
    time.sleep(0.3)
    idle = page.evaluate("window.jobsWatch")
    stats = page.evaluate("window.omsMap.panelStats && window.omsMap.panelStats.jobs")
    changed = _job_changes(app, start)  # a warning falling due, say
    # A waiting job's priority steps every 10 minutes with no document sent:
    # the page ages it and redraws its card once at each step.
    steps = _steps_between(client, watched, time.time())
    print(
        f"\njobs panel during {sent} crew changes, {changed} job changes and {steps} "
        f"priority steps in 10 s: {idle}, list stats {stats}"
    )
    assert idle["replaced"] == 0 and idle["batches"] <= changed + steps
    assert changed < sent
    for job in client.get("/api/jobs?open=1").get_json():
        shown = page.text_content(f'[data-job="{job["id"]}"] .prio')
        assert shown == str(round(job["priority"])), (job["id"], shown)
    # Changes it shows: each job change is drawn once, in place.
    for n, crew in enumerate(("K1", "K2")):
        job = f"JOB-00000{n + 1}"
        _post(client, token, f"/api/jobs/{job}/assign", {"crew": crew})
        page.wait_for_function(
            f"document.querySelector('[data-job=\"{job}\"] .crew').textContent.includes('{crew}')"
        )
        time.sleep(0.3)
    busy = page.evaluate("window.jobsWatch")
    changed = _job_changes(app, start)
    print(f"jobs panel after 2 assignments, {changed} job changes in all: {busy}")
    assert busy["replaced"] == 0 and idle["batches"] < busy["batches"] <= changed
    assert page.evaluate("c => c.isConnected", card)  # a click on it lands on it
