"""The crew handheld: shell, manifest, service worker, feeder states, and offline replay.

The browser tests drive the real page in headless Chromium (SQLite only):
actions taken offline wait in IndexedDB across a reload, are replayed once
the handheld is back online, and the server applies each exactly once; an
action that the dispatcher's recall made stale is refused and the page
shows why.
"""

from __future__ import annotations

import json
import struct
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import sign_in
from sqlalchemy import func, select

from oms.storage import schema

JOB = "JOB-000001"


def _post(client: Any, token: str, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers={"X-CSRFToken": token})


def _signed(app: Any, username: str) -> tuple[Any, str]:
    """A client of its own signed in as ``username``, and its CSRF token."""
    client = app.test_client()
    return client, sign_in(client, username)


def _job_for_k1(app: Any, t0: datetime) -> tuple[Any, str]:
    """A SCADA lockout of B1 at ``t0`` and its job assigned to K1; the dispatcher's client."""
    dora, token = _signed(app, "dora")
    lockout = {
        "id": "s1",
        "type": "scada",
        "time": t0.isoformat(),
        "device": "B1",
        "state": "open",
        "lockout": True,
    }
    r = _post(dora, token, "/api/events", lockout)
    assert r.status_code == 200, r.get_json()
    body = {"crew": "K1", "time": (t0 + timedelta(minutes=1)).isoformat()}
    r = _post(dora, token, f"/api/jobs/{JOB}/assign", body)
    assert r.status_code == 200, r.get_json()
    return dora, token


def _events(app: Any, etype: str, job: str = JOB) -> list[dict[str, Any]]:
    ev = schema.events
    with app.extensions["oms.storage.db"].connect() as conn:
        rows = conn.execute(select(ev.c.id, ev.c.payload).where(ev.c.type == etype)).all()
    found = [{"id": r.id, **json.loads(r.payload)} for r in rows]
    return [e for e in found if e.get("job") == job]


def _event_count(app: Any) -> int:
    with app.extensions["oms.storage.db"].connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.events)).scalar() or 0)


# ------------------------------------------------------------ the shell
def test_shell_needs_no_session_and_links_the_app(client: Any) -> None:
    r = client.get("/crew/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for link in (
        "/crew/manifest.webmanifest",
        "/static/crew.js",
        "/static/crew.css",
        "/vendor/leaflet/leaflet.js",
        "/vendor/leaflet/leaflet.css",
    ):
        assert link in html
    for path in ("/static/crew.js", "/static/crew.css"):
        assert client.get(path).status_code == 200
    assert client.get("/crew").status_code in (301, 308)  # to /crew/


def test_service_worker_scope_and_version(client: Any) -> None:
    r = client.get("/crew/sw.js")
    assert r.status_code == 200
    assert r.mimetype == "text/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/crew/"
    assert r.headers["Cache-Control"] == "no-cache"
    source = r.get_data(as_text=True)
    assert "__VERSION__" not in source
    from webmap.crew import shell_version

    assert f"'{shell_version()}'" in source
    for cached in ("/static/crew.js", "/static/crew.css", "/vendor/leaflet/leaflet.js"):
        assert cached in source


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_manifest_is_installable(client: Any) -> None:
    r = client.get("/crew/manifest.webmanifest")
    assert r.status_code == 200
    assert r.mimetype == "application/manifest+json"
    doc = json.loads(r.get_data(as_text=True))
    assert doc["start_url"] == "/crew/" and doc["scope"] == "/crew/"
    assert doc["display"] == "standalone"
    sizes = set()
    for icon in doc["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200, icon["src"]
        w, h = _png_size(png.data)
        assert f"{w}x{h}" == icon["sizes"]
        assert len(png.data) < 50_000
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    assert any(i.get("purpose") == "maskable" for i in doc["icons"])


# ---------------------------------------------------- switch states
def test_feeder_states_along_the_path(app: Any, client: Any) -> None:
    assert client.get("/api/crew/feeder?element=B1").status_code == 401
    _job_for_k1(app, datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc))
    crew, _ = _signed(app, "k1")
    assert crew.get("/api/crew/feeder").status_code == 400
    assert crew.get("/api/crew/feeder?element=NOPE").status_code == 404
    doc = crew.get("/api/crew/feeder?element=B1").get_json()
    upstream = crew.get("/api/trace/upstream?element=B1").get_json()
    assert doc["path"] == upstream["path"]
    assert doc["protective_devices"] == upstream["protective_devices"]
    assert doc["source"] == "S1" and doc["energized"]
    b1 = doc["devices"][0]
    assert b1 == {
        "id": "B1",
        "kind": "breaker",
        "name": None,
        "state": "open",
        "normal_state": "closed",
        "protective": True,
        "operable": True,
    }
    assert all(d["state"] == "closed" for d in doc["devices"][1:])
    # Below the open breaker: dead, so only the element itself.
    dead = crew.get("/api/crew/feeder?element=R1").get_json()
    assert not dead["energized"] and [d["id"] for d in dead["devices"]] == ["R1"]


# --------------------------------------------- the replay contract
def test_replay_contract_of_a_crew_action(app: Any) -> None:
    _job_for_k1(app, datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc))
    crew, token = _signed(app, "k1")
    body = {"id": "crew-h1-0001", "time": "2026-03-01T11:05:00+01:00"}
    first = _post(crew, token, f"/api/jobs/{JOB}/arrive", body)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["accepted"] == 1
    again = _post(crew, token, f"/api/jobs/{JOB}/arrive", body)
    assert again.status_code == 200
    assert again.get_json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    other = _post(crew, token, f"/api/jobs/{JOB}/depart", body)
    assert other.status_code == 409
    assert len(_events(app, "job_arrive")) == 1
    job = crew.get(f"/api/jobs/{JOB}").get_json()
    assert job["state"] == "on_site"
    assert job["stamps"]["H"] == "2026-03-01T10:05:00+00:00"  # the time pressed, in UTC


def test_action_after_a_recall_is_refused_with_the_reason(app: Any) -> None:
    dora, dtoken = _job_for_k1(app, datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc))
    recall = {"reason": "wrong crew", "time": "2026-03-01T10:03:00+00:00"}
    assert _post(dora, dtoken, f"/api/jobs/{JOB}/recall", recall).status_code == 200
    crew, token = _signed(app, "k1")
    r = _post(crew, token, f"/api/jobs/{JOB}/arrive", {"id": "crew-h1-0002"})
    assert r.status_code in (404, 422)
    doc = r.get_json()
    reason = doc["rejected"][0]["error"] if r.status_code == 422 else doc["error"]
    assert JOB in reason
    assert not _events(app, "job_arrive")


# ------------------------------------------------------- in the browser
def _open_crew_page(page: Any, base: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{base}/login?next=/crew/")
    page.fill("#username", "k1")
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/crew/")
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_selector(f"[data-job='{JOB}']")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    _wait_sent(page)


def _wait_sent(page: Any, timeout: float = 20_000) -> None:
    page.wait_for_function("document.getElementById('net').dataset.queued === '0'", timeout=timeout)


def _queued(page: Any) -> list[dict[str, Any]]:
    """The outbox in IndexedDB, read the way the page does."""
    items: list[dict[str, Any]] = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const req = indexedDB.open('oms-crew');
            req.onsuccess = () => {
                const t = req.result.transaction('outbox', 'readonly');
                const all = t.objectStore('outbox').getAll();
                all.onsuccess = () => resolve(all.result);
                all.onerror = () => reject(all.error);
            };
            req.onerror = () => reject(req.error);
        })"""
    )
    return sorted(items, key=lambda i: i["seq"])


def _press(page: Any, action: str) -> None:
    page.click(f"#stages button[data-action='{action}']")
    page.wait_for_selector(f"#stages button[data-action='{action}'].pending")


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_offline_actions_survive_a_reload_and_replay_once(
    app: Any, live_server: str, page: Any
) -> None:
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    _job_for_k1(app, t0)
    _open_crew_page(page, live_server)
    assert len(_events(app, "job_delivered")) == 1  # the handheld's delivery receipt
    cached = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                for (const req of await (await caches.open(name)).keys()) {
                    urls.push(new URL(req.url).pathname);
                }
            }
            return urls;
        }"""
    )
    shell = ("/crew/", "/static/crew.js", "/static/crew.css", "/crew/manifest.webmanifest")
    vendored = ("/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css")
    for path in (*shell, *vendored):
        assert path in cached, path

    page.context.set_offline(True)
    page.click(f"[data-job='{JOB}']")
    page.wait_for_selector("#detail-view:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for action in ("accept", "depart", "arrive"):
        _press(page, action)
    page.wait_for_function("document.getElementById('net').dataset.queued === '3'")
    assert "Offline" in page.text_content("#net")
    queued = _queued(page)
    assert [i["action"] for i in queued] == ["accept", "depart", "arrive"]
    for item in queued:
        assert item["id"].startswith("crew-") and item["body"]["id"] == item["id"]
        assert datetime.fromisoformat(item["body"]["time"]).tzinfo is not None
    assert not _events(app, "job_arrive")

    # A restart without signal: the shell comes from the service worker, the
    # job list and the outbox from IndexedDB.
    page.reload()
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_function("document.getElementById('net').dataset.queued === '3'")
    assert [i["id"] for i in _queued(page)] == [i["id"] for i in queued]
    page.wait_for_selector("#stages button[data-action='arrive'].pending")
    assert not _events(app, "job_arrive")

    page.context.set_offline(False)
    _wait_sent(page)
    assert _queued(page) == []
    arrivals = _events(app, "job_arrive")
    assert len(arrivals) == 1
    arrive = next(i for i in queued if i["action"] == "arrive")
    assert arrivals[0]["id"] == arrive["id"]
    assert arrivals[0]["crew"] == "K1" and arrivals[0]["user"] == "k1"
    page.wait_for_selector("#stages button[data-action='arrive'].done")

    # Replaying the same actions again changes nothing.
    crew, token = _signed(app, "k1")
    before = _event_count(app)
    for item in queued:
        r = _post(crew, token, item["path"], item["body"])
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["duplicates"] == 1 and r.get_json()["accepted"] == 0
    assert _event_count(app) == before
    assert len(_events(app, "job_arrive")) == 1
    job = crew.get(f"/api/jobs/{JOB}").get_json()
    assert job["state"] == "on_site"
    stamp = datetime.fromisoformat(job["stamps"]["H"])
    assert stamp == datetime.fromisoformat(arrive["body"]["time"])


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_recall_while_offline_is_shown_not_overwritten(
    app: Any, live_server: str, page: Any
) -> None:
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    dora, dtoken = _job_for_k1(app, t0)
    _open_crew_page(page, live_server)

    page.context.set_offline(True)
    page.click(f"[data-job='{JOB}']")
    _press(page, "accept")
    _press(page, "arrive")
    recall = {"reason": "sent to the wrong crew"}
    r = _post(dora, dtoken, f"/api/jobs/{JOB}/recall", recall)
    assert r.status_code == 200, r.get_json()

    page.context.set_offline(False)
    page.wait_for_selector("#rejected .banner", timeout=20_000)
    _wait_sent(page)
    banners = page.locator("#rejected .banner")
    assert banners.count() == 2
    text = page.text_content("#rejected") or ""
    assert "Not applied: Accept on JOB-000001" in text
    assert "Not applied: Arrived on JOB-000001" in text
    assert JOB in page.text_content("#rejected .reason")  # the server's reason
    assert not _events(app, "job_arrive") and not _events(app, "job_accept")
    # The refused actions stay on the handheld until the crew dismisses them.
    assert [i["status"] for i in _queued(page)] == ["rejected", "rejected"]
    page.reload()
    page.wait_for_selector("#rejected .banner")
    assert page.locator("#rejected .banner").count() == 2
    page.locator("#rejected .banner button").first.click()
    page.wait_for_function("document.querySelectorAll('#rejected .banner').length === 1")
    assert len(_queued(page)) == 1
    # The job left the crew's list.
    page.wait_for_selector(f"#jobs [data-job='{JOB}']", state="detached")


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_signed_out_goes_to_login_and_gps_is_throttled(
    app: Any, live_server: str, page: Any
) -> None:
    page.goto(f"{live_server}/crew/")
    page.wait_for_url(f"{live_server}/login?next=/crew/")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    _job_for_k1(app, t0)
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server)
    context.set_geolocation({"longitude": 8.401, "latitude": 49.0005})
    _open_crew_page(page, live_server)
    # On shift (the crew holds a job): the first fix goes out at once.
    page.wait_for_function("document.getElementById('shift-btn').textContent === 'End shift'")
    ev = schema.events

    def fixes() -> list[dict[str, Any]]:
        with app.extensions["oms.storage.db"].connect() as conn:
            rows = conn.execute(select(ev.c.payload).where(ev.c.type == "crew_gps")).all()
        return [json.loads(r.payload) for r in rows]

    page.wait_for_function("document.getElementById('gps-status').textContent.includes('Sharing')")
    deadline = datetime.now() + timedelta(seconds=10)
    while not fixes() and datetime.now() < deadline:
        page.wait_for_timeout(200)
    sent = fixes()
    assert len(sent) == 1
    assert sent[0]["crew"] == "K1"
    assert (sent[0]["lon"], sent[0]["lat"]) == (8.401, 49.0005)
    assert sent[0]["id"].startswith("crew-")
    # A fix a few metres away a moment later is not sent (throttled).
    context.set_geolocation({"longitude": 8.4011, "latitude": 49.0005})
    page.wait_for_timeout(1500)
    assert len(fixes()) == 1
    crews = app.test_client()
    sign_in(crews, "k1")
    k1 = crews.get("/api/crews").get_json()[0]
    assert (k1["lon"], k1["lat"]) == (8.401, 49.0005)


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_registered_handheld_works_with_its_bearer_token(
    app: Any, live_server: str, page: Any
) -> None:
    from webmap.accounts import add_device, revoke_device

    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    _job_for_k1(app, t0)
    db = app.extensions["oms.storage.db"]
    with db.begin() as conn:
        device, token = add_device(conn, "k1", "van 3 tablet")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/crew/#token={token}")  # no session cookie at all
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_selector(f"[data-job='{JOB}']")
    assert token not in page.url  # the setup link's token leaves the address bar
    _wait_sent(page)
    page.click(f"[data-job='{JOB}']")
    page.click("#stages button[data-action='accept']")
    page.wait_for_selector("#stages button[data-action='accept'].done")
    accepted = _events(app, "job_accept")
    assert len(accepted) == 1 and accepted[0]["id"].startswith(f"crew-{device.id}-")
    # Revoked: the next action waits in the outbox and the crew is asked to sign in.
    with db.begin() as conn:
        revoke_device(conn, device.id)
    page.click("#stages button[data-action='depart']")
    page.wait_for_selector("#auth-banner:not([hidden])")
    assert [i["action"] for i in _queued(page)] == ["depart"]
    assert not _events(app, "job_depart")
