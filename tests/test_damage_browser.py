"""Damage assessment in headless Chromium (issue 16 item 2; SQLite, the wall clock).

A crew on a 390 x 844 phone reports damage from its job's detail without
signal: the asset, repair time, skills, materials, a note, the GPS place and
a photo from the camera (a large PNG, made a JPEG of at most 1600 px on the
handheld). Both wait in the outbox ("queued" on the job, across a restart)
and nothing reaches the server; back online they are sent once (one photo,
one report naming it) and the job's estimate moves to the report's time
plus its repair time. From the job list, a report for no job, its place
typed in, goes under the outage the server finds around that place.
The dispatcher sees the report on the map (a symbol by asset, in the
legend too) and, clicking it, in the outage's panel with the photo as a
thumbnail.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import User
from helpers import DLAT, DLON, LAT0, LON0
from sqlalchemy import select

from oms.engine.damage import ASSETS
from oms.storage import schema

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

PHONE = {"width": 390, "height": 844}
HERE = {"longitude": round(LON0 + 3 * DLON, 6), "latitude": round(LAT0 - 1 * DLAT, 6)}
REPAIR_H = 10


def _png(width: int, height: int) -> bytes:
    """A plain PNG picture (a camera's size) with a red band, made without Pillow."""
    row = b"\x00" + b"\x20\x60\xa0" * width
    band = b"\x00" + b"\xd0\x20\x20" * width
    raw = b"".join(band if height // 3 <= y < height // 2 else row for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no start of frame")


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _network_job(app: Any) -> tuple[str, str]:
    """B1 locked out ten minutes ago, its job assigned to K1: (job, outage)."""
    dora = User(app, "dora")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    trip = {"id": "s-b1", "type": "scada", "time": t0.isoformat(), "device": "B1"}
    _ok(dora.post("/api/events", {**trip, "state": "open", "lockout": True}))
    (job,) = [j for j in _ok(dora.get("/api/jobs?open=1")) if j.get("device") == "B1"]
    t = (t0 + timedelta(minutes=1)).isoformat()
    _ok(dora.post(f"/api/jobs/{job['id']}/assign", {"crew": "K1", "time": t}))
    return str(job["id"]), str(job["outage"])


def _received(app: Any, page: Any, job: str) -> None:
    """The handheld shows the job and its delivery receipt has reached the server.

    The receipt is an outbox item of its own; a test that counts the outbox
    waits for it first, or it races the handheld's own send.
    """
    page.evaluate("window.omsCrew.refreshJobs()")
    page.wait_for_selector(f"[data-job='{job}']")
    dora = User(app, "dora")
    deadline = time.monotonic() + 20
    while not (_ok(dora.get(f"/api/jobs/{job}")).get("stamps") or {}).get("E"):
        assert time.monotonic() < deadline, "the handheld never confirmed delivery"
        time.sleep(0.1)
    page.wait_for_function("window.omsCrew.state.outbox.every((i) => i.status !== 'queued')")


def _stored(app: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """The damage reports and the photos the server has."""
    d, p = schema.damage_reports, schema.photos
    with app.extensions["oms.storage.db"].connect() as conn:
        reports = [dict(b) for b in conn.execute(select(d.c.body)).scalars()]
        photos = conn.execute(select(p.c.id, p.c.content_type, p.c.content)).all()
    return reports, list(photos)


def _queued(page: Any) -> list[dict[str, Any]]:
    """The outbox in IndexedDB (a photo's Blob as its type and size)."""
    items: list[dict[str, Any]] = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const req = indexedDB.open('oms-crew');
            req.onsuccess = () => {
                const all = req.result.transaction('outbox').objectStore('outbox').getAll();
                all.onsuccess = () => resolve(all.result.map((i) => ({
                    ...i, blob: i.blob ? { type: i.blob.type, size: i.blob.size } : null,
                })));
                all.onerror = () => reject(all.error);
            };
            req.onerror = () => reject(req.error);
        })"""
    )
    return sorted(items, key=lambda i: i["seq"])


@pytest.fixture
def phone(page: Any, live_server: str) -> Iterator[Any]:
    """The handheld signed in as k1, with a GPS position; no script error."""
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
    yield page
    assert errors == []


def _report_offline(page: Any, job: str) -> None:
    """From the job's detail: the form filled in, the photo taken and the report sent, offline."""
    page.click(f"[data-job='{job}']")
    page.wait_for_selector("#detail-view:not([hidden])")
    page.click("#damage-report")
    page.wait_for_selector("#damage-view:not([hidden])")
    assert job in (page.text_content("#dmg-for") or "")
    page.wait_for_selector("#dmg-where[data-source='gps']")
    assert float(page.input_value("#dmg-lat")) == pytest.approx(HERE["latitude"])
    assert float(page.input_value("#dmg-lon")) == pytest.approx(HERE["longitude"])
    page.context.set_offline(True)
    page.select_option("#dmg-asset", "pole")
    page.fill("#dmg-hours", str(REPAIR_H))
    page.check("#dmg-skills input[value='line']")
    page.check("#dmg-skills input[value='tree']")
    page.fill("#dmg-materials", "pole 12 m\n\ncrossarm 2.4 m\n")
    page.fill("#dmg-note", "snapped at the base")
    picture = {"name": "pole.png", "mimeType": "image/png", "buffer": _png(2400, 1800)}
    page.set_input_files("#dmg-photo", files=[picture])
    page.wait_for_selector("#dmg-photos li[data-photo='0']")
    assert page.locator("#dmg-photos [data-busy]").count() == 0
    page.click("#dmg-send")


def test_damage_reported_offline_reaches_the_job_the_panel_and_the_map(
    app: Any, phone: Any, live_server: str, chromium: Any
) -> None:
    page = phone
    job, outage = _network_job(app)
    dora = User(app, "dora")
    _received(app, page, job)
    before = _ok(dora.get(f"/api/jobs/{job}"))

    _report_offline(page, job)
    # Back on the job, the report queued; the photo and the report in the outbox.
    page.wait_for_selector("#detail-view:not([hidden]) #damage-list [data-state='queued']")
    assert "queued" in (page.text_content("#damage-list [data-state='queued']") or "")
    photo_item, report_item = _queued(page)
    assert photo_item["action"] == "photo" and photo_item["blob"]["type"] == "image/jpeg"
    assert 0 < photo_item["blob"]["size"] < 5 * 1024 * 1024
    assert report_item["path"] == "/api/damage" and report_item["photoRefs"] == [photo_item["id"]]
    body = report_item["body"]
    assert body["outage"] == outage and body["asset"] == "pole"
    assert body["repair_minutes"] == REPAIR_H * 60 and body["skills"] == ["line", "tree"]
    assert body["materials"] == ["pole 12 m", "crossarm 2.4 m"]
    assert (body["lon"], body["lat"]) == (HERE["longitude"], HERE["latitude"])
    assert _stored(app) == ([], [])
    # A restart without signal: the photo and the report still wait, shown queued.
    page.reload()
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_selector(f"#damage-list [data-damage='{body['id']}'][data-state='queued']")
    assert [i["id"] for i in _queued(page)] == [photo_item["id"], report_item["id"]]
    assert _queued(page)[0]["blob"] == photo_item["blob"]

    page.context.set_offline(False)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_function("document.getElementById('net').dataset.queued === '0'", timeout=20_000)
    page.wait_for_selector(f"#damage-list [data-damage='{body['id']}'][data-state='sent']")
    assert _queued(page) == []
    (report,), (photo,) = _stored(app)  # each sent once
    assert report["id"] == body["id"] and report["photos"] == [photo.id]
    assert (report["crew"], report["user"], report["outage"]) == ("K1", "k1", outage)
    assert report["note"] == "snapped at the base"
    assert photo.content_type == "image/jpeg" and _jpeg_size(bytes(photo.content)) == (1600, 1200)
    # The job's estimate: the report's time plus its repair time, later than before.
    after = _ok(dora.get(f"/api/jobs/{job}"))
    etr = datetime.fromisoformat(after["etr"])
    assert etr == datetime.fromisoformat(body["time"]) + timedelta(hours=REPAIR_H)
    assert after["etr_source"] == "assessed"
    assert before["etr"] is None or etr > datetime.fromisoformat(before["etr"])
    page.wait_for_function(
        "document.getElementById('damage-total').textContent.includes('from the assessment')"
    )
    assert "Damage report sent: Pole, under " + outage in (page.text_content("#alerts") or "")

    # The dispatcher: the report on the map, by asset (and in the legend).
    desk = chromium.new_context().new_page()
    desk.set_default_timeout(10_000)
    errors: list[str] = []
    desk.on("pageerror", lambda e: errors.append(str(e)))
    desk.goto(f"{live_server}/login?next=/")
    desk.fill("#username", "dora")
    desk.fill("#password", "secret-pw")
    desk.click("button[type=submit]")
    desk.wait_for_function("window.omsMap && window.omsMap.damageLoads > 0")
    drawn = desk.evaluate("window.omsMap.damageInfo()")
    assert drawn == [{"id": body["id"], "asset": "pole", "outage": outage, "photos": [photo.id]}]
    legend = desk.eval_on_selector_all(
        "#legend-damage .oms-damage", "els => els.map((e) => e.dataset.asset)"
    )
    assert legend == list(ASSETS)
    # Clicking the symbol opens the outage's panel: the report, with its photo.
    at = [HERE["latitude"], HERE["longitude"]]
    desk.evaluate("(at) => window.omsMap.map.setView(at, 18, { animate: false })", at)
    symbol = "#map .leaflet-damage-pane .oms-damage[data-asset='pole']"
    card = f"#detail [data-section='damage'] [data-damage='{body['id']}']"
    # The layer is drawn anew when the stream says a report came (damage events):
    # a click on a symbol being replaced is lost, so it is found and clicked again.
    for attempt in range(5):
        desk.wait_for_selector(symbol)
        desk.click(symbol)
        try:
            desk.wait_for_selector(card, timeout=3_000)
            break
        except Exception:
            if attempt == 4:
                raise
    assert desk.evaluate("location.hash") == f"#outage/{outage}"
    text = desk.text_content(card) or ""
    assert "pole" in text and "crew K1" in text and "repair 10 h" in text
    assert "needs line, tree" in text and "pole 12 m, crossarm 2.4 m" in text
    thumb = f"{card} img[data-photo='{photo.id}']"
    desk.wait_for_function(
        f'(() => {{ const i = document.querySelector("{thumb}"); '
        "return i && i.complete && i.naturalWidth > 0; })()"
    )
    assert desk.evaluate(f'document.querySelector("{thumb}").naturalWidth') == 1600
    summary = desk.text_content("#detail [data-section='damage'] .d-damage-sum") or ""
    assert "1 pole" in summary and "repair 10 h in all" in summary
    assert errors == []
    desk.context.close()


def test_damage_reported_for_no_job_goes_under_the_outage_around_its_place(
    app: Any, phone: Any
) -> None:
    from helpers import build, two_feeders

    page = phone
    job, outage = _network_job(app)
    _received(app, page, job)
    net = build(two_feeders())
    lon, lat = (round(float(v), 6) for v in net.node_xy[net.node_index["a5"]])  # below B1
    page.click("#damage-new")
    page.wait_for_selector("#damage-view:not([hidden])")
    assert "For no job" in (page.text_content("#dmg-for") or "")
    assert page.is_hidden("#tabs")
    page.wait_for_selector("#dmg-where[data-source='gps']")
    # What is missing is said, and nothing is sent.
    page.select_option("#dmg-asset", "tree_on_line")
    page.click("#dmg-send")
    assert "Give the estimated repair time" in (page.text_content("#dmg-error") or "")
    page.fill("#dmg-minutes", "45")
    page.fill("#dmg-lat", "")
    page.click("#dmg-send")
    assert "Give the place" in (page.text_content("#dmg-error") or "")
    assert _queued(page) == []
    # The crew types the place where the tree is.
    page.fill("#dmg-lat", str(lat))
    page.fill("#dmg-lon", str(lon))
    page.click("#dmg-send")
    page.wait_for_selector("#list-view:not([hidden])")
    sent = f"Tree on the line, under {outage}"
    page.wait_for_function(f"document.getElementById('alerts').textContent.includes('{sent}')")
    (report,), photos = _stored(app)
    assert (report["lon"], report["lat"], report["outage"]) == (lon, lat, outage)
    assert report["repair_minutes"] == 45 and report["photos"] == [] and photos == []
