"""One clock: every read path takes "now" from the engine service's clock.

The server's engine service has an injected clock (the wall clock in
production, an accelerated one in ``oms demo``, a fixed one here). Crew
shifts, job breaches, reports, the public page, the dispatcher's map and
``/api/health`` must answer as of that clock, never as of the wall clock.

Each test fixes the service clock at 10:05 (the day crews on shift) or at
00:05 UTC (just after midnight: the night crew on shift, and the latest
event on the day before), and reads at several wall-clock hours frozen with
time-machine: just after midnight, the 03:10 UTC of a failed CI run, noon
and the evening, on other days than the service clock's. Every wall hour is
on the other side of the crews' shifts than one of the two service clocks,
so an hour-dependent read of the wall clock fails in every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from conftest import sign_in
from flask import Flask
from flask.testing import FlaskClient
from helpers import customers_csv, two_feeders

from oms.dispatch.timeline import Status, Targets, evaluate

UTC = timezone.utc

#: The service clock: 10:05 (day crews K1-K3 on, night crew K4 off), and
#: 00:05 just after midnight (the other way round).
SERVICE = [
    datetime(2026, 3, 1, 10, 5, tzinfo=UTC),
    datetime(2026, 3, 1, 0, 5, tzinfo=UTC),
]
#: The wall clock, frozen: months after the service clock, and once before it.
WALLS = [
    datetime(2026, 7, 15, 0, 5, tzinfo=UTC),
    datetime(2026, 7, 15, 3, 10, tzinfo=UTC),
    datetime(2026, 7, 15, 12, 0, tzinfo=UTC),
    datetime(2025, 12, 31, 21, 30, tzinfo=UTC),
]
CREWS = ("K1", "K2", "K3", "K4")


class Clock:
    """The engine service's clock, moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(params=SERVICE, ids=lambda t: f"service{t:%H%M}")
def clock(request: pytest.FixtureRequest, app: Flask) -> Clock:
    """The app's engine service runs on this clock."""
    fixed = Clock(request.param)
    app.extensions["oms.service"].clock = fixed
    return fixed


@contextmanager
def wall_clock_at(wall: datetime) -> Iterator[None]:
    """The wall clock (``datetime.now``, ``time.time``) frozen at ``wall``."""
    with time_machine.travel(wall, tick=False):
        assert datetime.now(UTC) == wall
        yield


class User:
    """A signed-in test client (sign in again after moving the wall clock back)."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.headers = {"X-CSRFToken": sign_in(self.client, username)}

    def get(self, url: str, **kw: Any) -> Any:
        response = self.client.get(url, **kw)
        assert response.status_code == 200, (url, response.status_code, response.get_json())
        return response.get_json()

    def post(self, url: str, body: Any) -> Any:
        response = self.client.post(url, json=body, headers=self.headers)
        assert response.status_code == 200, (url, response.status_code, response.get_json())
        return response.get_json()


def _event(eid: str, etype: str, t: datetime, **fields: Any) -> dict[str, Any]:
    return {"id": eid, "type": etype, "time": t.isoformat(), **fields}


def _lockout(user: User, device: str, t: datetime) -> None:
    user.post(
        "/api/events", _event(f"s-{device}", "scada", t, device=device, state="open", lockout=True)
    )


def _phone(customer_id: str) -> str:
    rows = customers_csv(two_feeders()).splitlines()
    head = rows[0].split(",")
    found = [dict(zip(head, r.split(","), strict=True)) for r in rows[1:]]
    return next(c["phone"] for c in found if c["id"] == customer_id)


def _shifts(now: datetime) -> dict[str, str]:
    """Each crew's status at ``now``: day crews 07:00-19:00, K4 20:00-06:00."""
    day = 7 <= now.hour < 19
    night = now.hour >= 20 or now.hour < 6
    on = {"K1": day, "K2": day, "K3": day, "K4": night}
    return {c: "available" if on[c] else "off_shift" for c in CREWS}


def _status(job: dict[str, Any], now: datetime) -> Status:
    """The job's breaches and warnings at ``now``, from its stamps and targets."""
    stamps = {k: datetime.fromisoformat(v) for k, v in job["stamps"].items() if v}
    segments = {k: v for k, v in job["targets"].items() if k not in ("arrival", "restoration")}
    return evaluate(stamps, Targets(segments, job["targets"]["restoration"]), now)


# ------------------------------------------------------------------ crews
def test_crews_and_clocks_follow_the_service_clock(app: Flask, clock: Clock) -> None:
    """A fresh server (no event applied yet): shifts and clocks as of the service clock."""
    from oms.storage.queries import engine_clock, list_crews

    expected = _shifts(clock())
    dispatch = app.extensions["oms.service"].config.dispatch
    differed = 0
    for wall in WALLS:
        with wall_clock_at(wall):
            differed += _shifts(wall) != expected
            dora = User(app, "dora")
            assert {c["id"]: c["status"] for c in dora.get("/api/crews")} == expected, wall
            layer = dora.get("/map/crews.geojson")["features"]
            assert {f["properties"]["id"]: f["properties"]["status"] for f in layer} == expected
            assert [c["status"] for c in User(app, "k1").get("/api/crews")] == [expected["K1"]]
            assert dora.get("/api/health")["clock"] == clock().isoformat()
            assert dora.get("/api/clock")["now"] == clock().isoformat()
            assert dora.get("/map/summary")["clock"] == clock().isoformat()
            # The views take now from their caller; the engine clock is only
            # the stored one, never the wall clock.
            with app.extensions["oms.storage.db"].connect() as conn:
                assert engine_clock(conn) is None
                crews = list_crews(conn, dispatch, clock())
            assert {c["id"]: c["status"] for c in crews} == expected
    assert differed  # at some wall hour the wall clock would have answered otherwise


# ------------------------------------------------------------------- jobs
def test_jobs_and_reports_follow_the_service_clock(app: Flask, clock: Clock) -> None:
    """Breaches, warnings and report defaults as of the service clock, not the
    wall clock's, nor the time of the latest event (20 minutes earlier)."""
    from oms.storage.queries import engine_clock, get_job, list_jobs

    reported = clock() - timedelta(minutes=20)
    _lockout(User(app, "dora"), "B1", reported)
    for wall in WALLS:
        with wall_clock_at(wall):
            dora, eng = User(app, "dora"), User(app, "eng")
            (job,) = dora.get("/api/jobs")
            now = _status(job, clock())
            # 20 minutes in: segments breached; arrival (45 min) not yet.
            assert now.breaches and "arrival" not in now.breaches
            assert _status(job, reported).breaches != now.breaches
            assert _status(job, wall).breaches != now.breaches
            assert (job["breaches"], job["warnings"]) == (now.breaches, now.warnings), wall
            assert dora.get(f"/api/jobs/{job['id']}")["breaches"] == now.breaches
            assert dora.get("/api/jobs?open=1")[0]["breaches"] == now.breaches
            with app.extensions["oms.storage.db"].connect() as conn:
                assert engine_clock(conn) == reported  # the latest event's time
                (listed,) = list_jobs(conn, clock(), open_only=True)
                one = get_job(conn, job["id"], clock())
            assert listed.breaches == now.breaches
            assert one is not None and one.breaches == now.breaches
            # Clocks after an event: still the service clock's.
            assert dora.get("/api/health")["clock"] == clock().isoformat()
            assert dora.get("/map/summary")["clock"] == clock().isoformat()
            # The bulletin's day is the service clock's (at 00:05 not the
            # day of the latest event); compliance runs until it.
            assert eng.get("/api/reports/bulletin")["day"] == clock().date().isoformat()
            compliance = eng.get("/api/reports/compliance")
            assert compliance["jobs"] == 1 and compliance["segments"]["CD"]["breached"] == 1
    # Later on the service clock the arrival target breaches too.
    clock.advance(minutes=30)
    with wall_clock_at(WALLS[0]):
        dora = User(app, "dora")
        assert "arrival" in dora.get("/api/jobs")[0]["breaches"]
        # An event stamped ahead of the service clock is applied already:
        # reads are never as of a time before it (the engine clock's).
        ahead = clock() + timedelta(minutes=15)
        dora.post("/api/events", _event("c-ahead", "call", ahead, phone=_phone("b1-1")))
        assert dora.get("/api/health")["clock"] == ahead.isoformat()


# ----------------------------------------------------------------- public
def test_public_pages_and_calls_follow_the_service_clock(app: Flask, clock: Clock) -> None:
    """The public page's cases and times, and the map's recent calls."""
    dora = User(app, "dora")
    # B1 tripped three hours ago and closed again two hours ago (a case
    # restored within the last day is still found by phone); B2 tripped ten
    # minutes ago; a call came in half an hour ago.
    _lockout(dora, "B1", clock() - timedelta(hours=3))
    closed = _event(
        "s-B1-closed", "scada", clock() - timedelta(hours=2), device="B1", state="closed"
    )
    dora.post("/api/events", closed)
    dora.post(
        "/api/events", _event("c1", "call", clock() - timedelta(minutes=30), phone=_phone("b1-1"))
    )
    _lockout(dora, "B2", clock() - timedelta(minutes=10))
    updated = clock().isoformat()
    for wall in WALLS:
        with wall_clock_at(wall):
            public = app.test_client()
            by_phone = public.get("/api/public/case", query_string={"phone": _phone("a1-1")})
            assert by_phone.status_code == 200, (wall, by_phone.get_json())
            doc = by_phone.get_json()
            assert (doc["status"], doc["updated"]) == ("restored", updated)
            outages = public.get("/api/public/outages").get_json()
            assert outages["updated"] == updated
            (item,) = [i for a in outages["areas"] for i in a["items"]]
            assert item["etr"] is not None
            by_id = public.get("/api/public/case", query_string={"case": item["case"]}).get_json()
            assert (by_id["status"], by_id["etr"]) == ("active", item["etr"])
            assert by_id["updated"] == updated
            calls = User(app, "dora").get("/map/calls.geojson", query_string={"hours": 1})
            assert [f["properties"]["id"] for f in calls["features"]] == ["c1"]
    # Later on the service clock: the call is older than an hour, and a day
    # after its restoration the case is no longer current.
    with wall_clock_at(WALLS[0]):
        clock.advance(minutes=31)
        assert User(app, "dora").get("/map/calls.geojson?hours=1")["features"] == []
        clock.advance(hours=22)
        public = app.test_client()
        assert (
            public.get("/api/public/case", query_string={"phone": _phone("a1-1")}).status_code
            == 404
        )
