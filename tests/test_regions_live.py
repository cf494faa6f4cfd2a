"""The live stream across control regions and the page drawing the routes, on a real PostgreSQL.

The two regions of tests/test_regions.py (its fixture, as
tests/test_regions_web.py serves them: a server on the first region's
schema answering across both, and a server of each region through which
events are posted). ``GET /api/regions/stream`` replays both regions'
``changes`` feeds, each message tagged with its region and numbered with
a position per region; a stream resumed from any of its ids gets every
region's changes after it and none twice, and a change posted in one
region reaches an open stream. Only the overview's roles may open it or
the page. In Chromium, ``/regions`` draws both regions' outages and their
totals, and follows a lockout posted in one region through the stream.

The PostgreSQL tests fail under ``CI=true`` without a server (the
``postgres_server`` fixture behind the regions), the browser test without
Chromium.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import test_regions_web
import test_stream
from conftest import PASSWORD, Clock, User, kept_on_server, serve, sign_in
from flask.testing import FlaskClient
from helpers import fuse_clear_of
from test_regions import PERIOD
from test_regions_web import _app, _ok, _stop

from oms.intake.events import iso
from oms.storage.regions import in_region, status
from webmap.accounts import add_user
from webmap.stream import changes_after

#: The two regions, served (tests/test_regions_web.py's fixtures, here under these names).
two_regions = test_regions_web.two_regions
served = test_regions_web.served

_STREAMING = {"STREAM_MAX_S": 10, "STREAM_KEEPALIVE_S": 0.3, "STREAM_POLL_S": 0.05}


class Running(Clock):
    """A clock running at the wall clock's pace from ``now``: the combined
    snapshots age, so another region's change is served within their bound."""

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.began = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self.began)


@pytest.fixture(scope="module")
def live(served: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A combined server on a running clock, with fast keep-alives."""
    clock = Running(served["clock"]())
    web = _app(served["urls"]["north"], clock, **_STREAMING)
    try:
        yield {**served, "web": web, "clock": clock}
    finally:
        _stop(web)


def _stream(
    client: FlaskClient, stop_at: Callable[[dict[str, Any]], bool], **kw: Any
) -> test_stream.Stream:
    """``/api/regions/stream`` read by a thread of its own (tests/test_stream.py's
    ``Stream``), closed after the first message ``stop_at`` accepts."""
    return test_stream.Stream(client, stop_at=stop_at, path="/api/regions/stream", wait=20, **kw)


def _quiet(message: dict[str, Any]) -> bool:
    return "comment" in message  # caught up: a keep-alive


def _client(live: dict[str, Any], username: str) -> FlaskClient:
    """A client of the combined server signed in as ``username`` (for a stream only)."""
    client = live["web"].test_client()
    sign_in(client, username)
    return client


def _positions(sse_id: str) -> dict[str, int]:
    return {name: int(seq) for name, seq in (p.split(":") for p in sse_id.split(","))}


def _feed(live: dict[str, Any], after: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
    """Each region's changes after its position, read from its own schema."""
    out = {}
    for region in live["regions"]:
        with in_region(live["db"], region) as conn:
            rows = changes_after(conn, after[region.name], 10**6)
        out[region.name] = [(c["seq"], c["kind"], c["ref"], c["data"]) for c in rows]
    return out


def _streamed(messages: list[dict[str, Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """The changes of ``messages`` by region, each with the sequence number its id gives."""
    out: dict[str, list[tuple[Any, ...]]] = {"north": [], "south": []}
    for m in messages:
        region = m["data"]["region"]
        seq = _positions(m["id"])[region]
        out[region].append((seq, m["event"], m["data"]["ref"], m["data"]["data"]))
    return out


def _latest(live: dict[str, Any]) -> dict[str, int]:
    """Each region's last change."""
    return {n: rows[-1][0] for n, rows in _feed(live, {"north": 0, "south": 0}).items()}


def _changes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("event") not in (None, "hello")]


def _post(live: dict[str, Any], region: str, event: dict[str, Any]) -> None:
    """``event`` posted on ``region``'s own server, dated now."""
    body = {"id": f"live-{uuid.uuid4().hex[:10]}", "time": iso(live["clock"]()), **event}
    got = _ok(live["own_users"][region].post("/api/events", json=[body]))
    assert got["rejected"] == [], got


def _gps(live: dict[str, Any], region: str) -> None:
    lon, lat = live["nets"][region].node_xy[1]
    crew = f"K-{region}-1"
    _post(live, region, {"type": "crew_gps", "crew": crew, "lon": float(lon), "lat": float(lat)})


# ------------------------------------------------------------ the stream
@pytest.mark.postgres
def test_the_stream_replays_both_regions_changes_tagged(live: dict[str, Any]) -> None:
    start = {"north": 0, "south": 0}
    expected = _feed(live, start)
    assert expected["north"] and expected["south"]
    stream = _stream(_client(live, "dora"), _quiet, headers={"Last-Event-ID": "north:0,south:0"})
    hello = stream.next()
    assert hello["event"] == "hello" and hello["id"] == "north:0,south:0"
    assert hello["data"] == {"regions": start}
    messages = _changes(stream.rest())
    assert _streamed(messages) == expected
    assert {m["data"]["region"] for m in messages} == {"north", "south"}
    for m in messages:
        assert set(m["data"]) == {"region", "ref", "data"}
    # Each id: every region's last change sent so far, never going back.
    seen = dict(start)
    for m in messages:
        at = _positions(m["id"])
        assert all(at[n] >= seen[n] for n in seen), (seen, at)
        assert [n for n in seen if at[n] != seen[n]] == [m["data"]["region"]]
        seen = at
    assert seen == {n: rows[-1][0] for n, rows in expected.items()}


@pytest.mark.postgres
def test_last_event_id_resumes_without_repeats_or_gaps(live: dict[str, Any]) -> None:
    def south_crew(m: dict[str, Any]) -> bool:
        return m.get("event") == "crew" and m["data"]["region"] == "south"

    # A stream with no id starts from now: its hello names every region's latest.
    first = _stream(_client(live, "dora"), south_crew)
    hello = first.next()
    now = _positions(hello["id"])
    assert now == _latest(live)
    # A change posted in one region reaches it, tagged.
    _gps(live, "south")
    got = _changes(first.rest())  # (keep-alives may come before it)
    assert got[-1]["data"]["ref"] == "K-south-1" and got[-1]["data"]["region"] == "south"
    assert _streamed(got) == _feed(live, now)
    last = got[-1]["id"]
    assert _positions(last)["north"] == now["north"] and _positions(last)["south"] > now["south"]
    # While away: a change in each region. Resuming from the last id gets both, nothing twice.
    _gps(live, "north")
    _gps(live, "south")
    missed = _feed(live, _positions(last))
    # (with what the clock moving on changed besides: outages and jobs)
    assert ("crew", "K-north-1") in [r[1:3] for r in missed["north"]]
    assert ("crew", "K-south-1") in [r[1:3] for r in missed["south"]]
    for kw in ({"headers": {"Last-Event-ID": last}}, {"query_string": {"since": last}}):
        resumed = _stream(_client(live, "dora"), _quiet, **kw)
        hello = resumed.next()
        assert hello["id"] == last and hello["data"] == {"regions": _positions(last)}
        assert _streamed(_changes(resumed.rest())) == missed, kw


@pytest.mark.postgres
def test_a_region_the_id_does_not_name_starts_from_its_latest(live: dict[str, Any]) -> None:
    latest = _latest(live)
    stream = _stream(_client(live, "eng"), _quiet, headers={"Last-Event-ID": "north:0"})
    assert stream.next()["data"] == {"regions": {"north": 0, "south": latest["south"]}}
    assert {m["data"]["region"] for m in _changes(stream.rest())} == {"north"}


@pytest.mark.postgres
def test_a_position_past_a_regions_end_starts_from_its_end(live: dict[str, Any]) -> None:
    """Taken as given, a position past a region's last change (an id from
    another database, or made up) would never send that region's changes."""
    latest = _latest(live)
    far = f"north:{10**12},south:{latest['south']}"
    stream = _stream(_client(live, "eng"), _quiet, headers={"Last-Event-ID": far})
    assert stream.next()["data"] == {"regions": latest}
    assert _changes(stream.rest()) == []


@pytest.mark.postgres
def test_only_the_overviews_roles_open_the_stream_and_the_page(live: dict[str, Any]) -> None:
    web = live["web"]
    rule = web.view_functions["overview.overview_json"].access.roles
    assert web.view_functions["regions.regions_stream"].access.roles == rule
    assert web.view_functions["regions_page.page"].access.roles == rule
    anonymous = web.test_client()
    assert anonymous.get("/api/regions/stream").status_code == 401
    assert anonymous.get("/regions").status_code == 302  # to the sign-in form
    crew = web.test_client()
    sign_in(crew, "k1")
    assert crew.get("/api/regions/stream").status_code == 403
    assert crew.get("/regions").status_code == 403
    hello = _stream(_client(live, "eng"), lambda m: True).rest()
    assert [m["event"] for m in hello] == ["hello"]
    page = _client(live, "eng").get("/regions")
    assert page.status_code == 200 and "regions.js" in page.get_data(as_text=True)
    # The overview links to it where there are regions.
    assert 'href="/regions"' in _client(live, "dora").get("/overview").get_data(as_text=True)


def test_on_sqlite_there_is_no_stream_nor_page(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'oms.sqlite'}", Clock(PERIOD[1]))
    try:
        with app.extensions["oms.storage.db"].begin() as conn:
            add_user(conn, "dora", PASSWORD, "dispatcher")
        dora = User(app, "dora")
        for url in ("/api/regions/stream", "/regions"):
            response = dora.get(url)
            assert response.status_code == 404, url
        assert "oms regions views" in dora.get("/api/regions/stream").get_json()["error"]
        overview = dora.get("/overview")
        assert overview.status_code == 200 and 'href="/regions"' not in overview.get_data(
            as_text=True
        )
    finally:
        _stop(app)


# ------------------------------------------------------------ the page
def _free_fuse(live: dict[str, Any], region: str) -> str:
    """A fuse with customers under it, neither above nor below an open outage of ``region``."""
    outages = _ok(live["own_users"][region].get("/api/outages?open=1"))
    return fuse_clear_of(live["nets"][region], [o["device"] for o in outages if o["device"]])


def _row(page: Any, region: str, key: str) -> str:
    return str(page.text_content(f"#totals tr[data-region={region}] td[data-key={key}]"))


def _own_totals(live: dict[str, Any], region: str) -> dict[str, Any]:
    totals: dict[str, Any] = _ok(live["own_users"][region].get("/api/overview"))["totals"]
    return totals


@pytest.mark.postgres
def test_the_page_draws_both_regions_and_follows_the_stream(
    live: dict[str, Any], page: Any
) -> None:
    with serve(live["web"]) as base, kept_on_server(page, base):
        page.goto(f"{base}/login?next=/regions")
        page.fill("#username", "dora")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_function("window.omsRegions && window.omsRegions.ready")
        page.wait_for_selector("#live.on")
        for name in ("north", "south"):
            page.wait_for_selector(f"path.outage[data-region={name}]", state="attached")
            own = _own_totals(live, name)
            assert _row(page, name, "outages") == f"{own['outages']:,}"
            assert _row(page, name, "customers_out") == f"{own['customers_out']:,}"
            assert page.locator(f"#legend [data-region={name}]").count() == 1
        north, south = _own_totals(live, "north"), _own_totals(live, "south")
        total = page.text_content("#totals tr.total td[data-key=customers_out]")
        assert total == f"{north['customers_out'] + south['customers_out']:,}"
        markers = page.evaluate("window.omsRegions.markers")
        with live["db"].connect() as conn:
            drawn = {r["region"]: r for r in status(conn)}
        assert set(markers) == set(drawn) and all(markers.values())
        # A lockout in the south: its outage and totals arrive through the stream.
        fuse = _free_fuse(live, "south")
        _post(live, "south", {"type": "scada", "device": fuse, "state": "open", "lockout": True})
        (new,) = [
            o
            for o in _ok(live["own_users"]["south"].get("/api/outages?open=1"))
            if o["device"] == fuse
        ]
        after = _own_totals(live, "south")
        assert after["customers_out"] > south["customers_out"]
        page.wait_for_selector(
            f"path.outage[data-region=south][data-outage='{new['id']}']", state="attached"
        )
        expected = f"{after['customers_out']:,}"
        page.wait_for_function(
            "e => document.querySelector("
            "'#totals tr[data-region=south] td[data-key=customers_out]').textContent === e",
            arg=expected,
        )
        total = page.text_content("#totals tr.total td[data-key=customers_out]")
        assert total == f"{north['customers_out'] + after['customers_out']:,}"
        assert page.evaluate("window.omsRegions.events") >= 1
