"""Read models served from snapshots (webmap/snapshots.py): when they are
rebuilt, 304s, the staleness bound on the engine service's clock, what each
role sees, several processes, and the same answers as the direct reads."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import T0, Clock, User
from flask import Flask

from webmap.snapshots import COST_SHARE, Snapshot, Snapshots, due

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def _snap(state: tuple[Any, ...] = (1,), built: datetime = NOW) -> Snapshot:
    return Snapshot(state, built, b"[]", "e", [])


def _at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


# ------------------------------------------------------------- the rule
def test_a_view_never_built_is_built() -> None:
    assert due(None, (1,), NOW, 1.0, timed=False)


def test_an_unchanged_database_rebuilds_nothing_however_old() -> None:
    assert not due(_snap(), (1,), _at(3600), 1.0, timed=False)


def test_a_change_rebuilds_once_the_bound_has_passed_and_not_before() -> None:
    assert not due(_snap(), (2,), _at(0.99), 1.0, timed=False)
    assert due(_snap(), (2,), _at(1.0), 1.0, timed=False)
    # A bound of 0: at every change, and still never without one.
    assert due(_snap(), (2,), NOW, 0.0, timed=False)
    assert not due(_snap(), (1,), NOW, 0.0, timed=False)


def test_a_view_of_the_clock_is_rebuilt_each_bound_without_a_change() -> None:
    assert not due(_snap(), (1,), _at(9.9), 10.0, timed=True)
    assert due(_snap(), (1,), _at(10), 10.0, timed=True)


def test_a_slow_view_is_rebuilt_at_most_once_per_four_builds() -> None:
    slow = _snap()
    slow.cost = 0.5  # its last build took half a second
    assert not due(slow, (2,), _at(1.99), 1.0, timed=True)
    assert due(slow, (2,), _at(2.0), 1.0, timed=True)
    slow.cost = 0.1  # fast again: the bound is the bound
    assert due(slow, (2,), _at(1.0), 1.0, timed=True)
    assert due(slow, (2,), NOW, 0.0, timed=False)  # a bound of 0 stays exact


def test_a_clock_set_back_rebuilds() -> None:
    assert due(_snap(), (1,), _at(-1), 1.0, timed=False)


def test_one_build_for_many_readers_at_once() -> None:
    store = Snapshots()
    started = threading.Event()

    def build() -> list[int]:
        started.set()
        time.sleep(0.05)
        return [1]

    got: list[Snapshot] = []
    readers = [
        threading.Thread(
            target=lambda: got.append(
                store.get("v", lambda: (1,), NOW, 1.0, False, build, json.dumps)
            )
        )
        for _ in range(8)
    ]
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    assert store.builds["v"] == 1
    assert {s.body for s in got} == {b"[1]"}


def test_within_the_bound_the_database_is_not_asked() -> None:
    store = Snapshots()
    asked: list[int] = []

    def state() -> tuple[int]:
        asked.append(1)
        return (len(asked),)  # moves at every look

    store.get("v", state, NOW, 1.0, False, lambda: [1], json.dumps)
    store.get("v", state, _at(0.9), 1.0, False, lambda: [2], json.dumps)
    assert len(asked) == 1
    assert store.get("v", state, _at(1), 1.0, False, lambda: [3], json.dumps).body == b"[3]"


def test_readers_never_queue_behind_a_rebuild_once_a_view_exists() -> None:
    store = Snapshots()
    store.get("v", lambda: (1,), NOW, 1.0, False, lambda: ["old"], json.dumps)
    lock = store._build_lock("v")
    lock.acquire()  # a rebuild under way, however long it takes
    try:
        for late in (1.5, 2, 30):
            got = store.get("v", lambda: (2,), _at(late), 1.0, False, lambda: ["new"], json.dumps)
            assert got.doc == ["old"]
        first: list[Snapshot] = []
        waiting = threading.Thread(  # a view never built: nothing to serve meanwhile
            target=lambda: first.append(
                store.get("w", lambda: (2,), _at(2), 1.0, False, lambda: ["w"], json.dumps)
            )
        )
        store._build_lock("w").acquire()
        waiting.start()
        waiting.join(0.2)
        assert waiting.is_alive()
        store._build_lock("w").release()
    finally:
        lock.release()
    waiting.join(5)
    assert first[0].doc == ["w"]
    # The next reader after the rebuild is free rebuilds it.
    assert store.get("v", lambda: (2,), _at(31), 1.0, False, lambda: ["new"], json.dumps).doc == [
        "new"
    ]


def test_least_recently_used_views_go_first() -> None:
    store = Snapshots(max_views=2)
    for key in ("a", "b", "a", "c"):
        store.get(key, lambda: (1,), NOW, 1.0, False, lambda: [], json.dumps)
    assert set(store.builds) == {"a", "c"}


# --------------------------------------------------------------- served
def _lockout(user: User, device: str = "B1", minutes: float = 1) -> None:
    event = {
        "id": f"s-{device}-{minutes}",
        "type": "scada",
        "time": (T0 + timedelta(minutes=minutes)).isoformat(),
        "device": device,
        "state": "open",
        "lockout": True,
    }
    r = user.post("/api/events", event)
    assert r.status_code == 200, r.get_json()


def _builds(app: Flask, key: Any) -> int:
    return int(app.extensions["oms.snapshots"].builds.get(key, 0))


def snapshot_bound(app: Flask, key: Any, every: float = 1.0) -> float:
    """Seconds after its build that view ``key`` is rebuilt at a change: the
    bound, stretched by a slow first build (cold caches on a loaded machine)."""
    snapshot = app.extensions["oms.snapshots"]._peek(key)
    # Up to the millisecond: a clock moves by whole microseconds.
    return math.ceil(max(every, COST_SHARE * snapshot.cost) * 1000) / 1000


@pytest.fixture
def bounded(app: Flask, clock: Clock) -> Iterator[Flask]:
    """The app with the production bounds (the suite's ``app`` rebuilds at every change)."""
    app.config.update(OMS_SNAPSHOT_S=1.0, OMS_PUBLIC_REFRESH_S=10.0)
    yield app


def test_rebuilt_after_a_change_once_the_bound_passed(
    bounded: Flask, dora: User, clock: Clock
) -> None:
    first = dora.get("/api/outages")
    assert first.status_code == 200 and first.get_json() == []
    assert first.headers["Cache-Control"] == "private, no-cache"
    _lockout(dora)
    # Within the bound: the snapshot as it was, not rebuilt.
    assert dora.get("/api/outages").headers["ETag"] == first.headers["ETag"]
    assert _builds(bounded, ("outages", None, False)) == 1
    clock.advance(seconds=snapshot_bound(bounded, ("outages", None, False)))
    after = dora.get("/api/outages")
    assert [o["device"] for o in after.get_json()] == ["B1"]
    assert after.headers["ETag"] != first.headers["ETag"]
    assert _builds(bounded, ("outages", None, False)) == 2


def test_an_unchanged_list_is_not_rebuilt_and_answers_304(
    bounded: Flask, dora: User, clock: Clock
) -> None:
    _lockout(dora)
    first = dora.get("/api/outages")
    clock.advance(hours=1)
    again = dora.get("/api/outages", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert _builds(bounded, ("outages", None, False)) == 1
    other = dora.get("/api/outages", headers={"If-None-Match": '"not-it"'})
    assert other.status_code == 200 and other.data == first.data


def test_views_of_the_clock_are_rebuilt_each_bound(
    bounded: Flask, dora: User, clock: Clock
) -> None:
    _lockout(dora)
    dora.get("/api/jobs?open=1")
    clock.advance(seconds=0.5)
    dora.get("/api/jobs?open=1")
    assert _builds(bounded, ("jobs", True)) == 1
    clock.advance(seconds=snapshot_bound(bounded, ("jobs", True)) - 0.5)
    dora.get("/api/jobs?open=1")
    assert _builds(bounded, ("jobs", True)) == 2  # breaches move with the clock


def test_the_public_bound_is_its_own(bounded: Flask, dora: User, clock: Clock) -> None:
    public = bounded.test_client()
    quiet = public.get("/api/public/outages")
    assert quiet.headers["Cache-Control"] == "public, max-age=10"
    _lockout(dora)
    clock.advance(seconds=9)
    stale = public.get("/api/public/outages")
    assert stale.get_json()["totals"]["outages"] == 0
    # A proxy may keep it only until the bound ends.
    assert stale.headers["Cache-Control"] == "public, max-age=1"
    clock.advance(seconds=snapshot_bound(bounded, ("public", "outages"), 10.0) - 9)
    assert public.get("/api/public/outages").get_json()["totals"]["outages"] == 1


def test_each_role_sees_its_own(bounded: Flask, dora: User, k1: User, k2: User) -> None:
    _lockout(dora)
    r = dora.post("/api/jobs/JOB-000001/assign", {"crew": "K1"})
    assert r.status_code == 200, r.get_json()
    staff = dora.get("/api/jobs").get_json()
    assert [j["crew"] for j in staff] == ["K1"]
    assert k1.get("/api/jobs").get_json() == staff
    assert k2.get("/api/jobs").get_json() == []
    assert [c["id"] for c in k2.get("/api/crews").get_json()] == ["K2"]
    own = k1.get("/api/jobs")
    assert own.headers["ETag"] != k2.get("/api/jobs").headers["ETag"]
    # One build served all three.
    assert _builds(bounded, ("jobs", False)) == 1
    assert k1.get("/api/jobs", headers={"If-None-Match": own.headers["ETag"]}).status_code == 304


def test_the_same_answers_as_the_direct_reads(bounded: Flask, dora: User, clock: Clock) -> None:
    from oms.storage.overview import overview
    from oms.storage.queries import list_crews, list_jobs
    from webmap import api, public
    from webmap.db import get_conn, network, service

    _lockout(dora)
    _lockout(dora, "B2", 2)
    assert dora.post("/api/jobs/JOB-000001/assign", {"crew": "K1"}).status_code == 200
    clock.advance(seconds=1)
    served = {
        url: dora.get(url).get_json()
        for url in (
            "/api/outages",
            "/api/outages?state=predicted",
            "/api/jobs",
            "/api/jobs?open=1",
            "/api/crews",
            "/api/overview?hours=2",
            "/api/public/outages",
            "/api/public/areas",
        )
    }
    with bounded.test_request_context():
        conn, svc = get_conn(), service()
        now = svc.now(conn)
        direct = {
            "/api/outages": api.outages_doc(None),
            "/api/outages?state=predicted": api.outages_doc("predicted"),
            "/api/jobs": [j.to_dict() for j in list_jobs(conn, now)],
            "/api/jobs?open=1": [j.to_dict() for j in list_jobs(conn, now, True)],
            "/api/crews": list_crews(conn, svc.config.dispatch, now),
            "/api/overview?hours=2": overview(conn, network(), now, svc.config.dispatch, hours=2.0),
            "/api/public/outages": public.outages_by_area(conn, now),
            "/api/public/areas": public.areas_doc(),
        }
        crew_jobs = [j.to_dict() for j in list_jobs(conn, now, crew="K1")]
    for url, doc in direct.items():
        assert served[url] == json.loads(json.dumps(doc, default=str)), url
    assert len(served["/api/outages"]) == 2
    k1 = User(bounded, "k1")
    assert k1.get("/api/jobs").get_json() == json.loads(json.dumps(crew_jobs, default=str))


def test_a_change_through_one_process_reaches_another(
    bounded: Flask, web_db: str, dora: User, clock: Clock
) -> None:
    """Two apps on one database, as two gunicorn workers: each holds its own
    snapshots and sees the other's change within the bound."""
    from oms.config import EngineConfig
    from webmap import create_app

    other = create_app(
        {
            "TESTING": True,
            "OMS_DB": web_db,
            "OMS_TICK_S": 0,
            "SECRET_KEY": "test",
            "OMS_ENGINE_CONFIG": EngineConfig(max_clock_skew_s=None),
            "OMS_SNAPSHOT_S": 1.0,
        }
    )
    other.extensions["oms.service"].clock = clock
    try:
        reader = User(other, "dora")
        assert reader.get("/api/outages").get_json() == []
        _lockout(dora)  # through the first process
        assert reader.get("/api/outages").get_json() == []  # within the bound
        clock.advance(seconds=snapshot_bound(other, ("outages", None, False)))
        assert [o["device"] for o in reader.get("/api/outages").get_json()] == ["B1"]
    finally:
        other.extensions["oms.service"].stop()
        other.extensions["oms.storage.db"].dispose()


def test_the_public_page_is_one_rendering_without_a_session(bounded: Flask) -> None:
    public = bounded.test_client()
    first = public.get("/public/")
    assert first.status_code == 200
    assert 'name="csrf-token" content=""' in first.get_data(as_text=True)
    assert "Set-Cookie" not in first.headers
    again = public.get("/public/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
