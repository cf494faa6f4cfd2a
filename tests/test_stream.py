"""The live stream ``/stream`` (Server-Sent Events): messages, replay, crews, processes.

The stream is read as a WSGI iterator (``buffered=False``): each ``next()``
runs the generator until its next message, so a test can post an event and
then read what it caused, without threads. The two-process test opens two
apps on one database, reads app 2's stream in a thread and ingests through
app 1: on PostgreSQL the change must arrive at once (LISTEN/NOTIFY), well
before the stream's own wake-up would have found it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import sign_in
from flask import Flask
from flask.testing import FlaskClient

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def ev(eid: str, seconds: float, device: str, state: str = "open") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "scada",
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        "device": device,
        "state": state,
        "lockout": state == "open",
    }


QUIET = {"stop_at": lambda m: "comment" in m}  # read until caught up and quiet


def changes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages about changes (not the hello, not keep-alive comments)."""
    return [m for m in messages if m.get("event") not in (None, "hello")]


def parse(raw: str) -> dict[str, Any]:
    """One SSE message: ``{"id", "event", "data", "retry"}``, or ``{"comment"}``."""
    message: dict[str, Any] = {}
    for line in raw.split("\n"):
        if line.startswith(":"):
            message["comment"] = line[1:].strip()
            continue
        field, _, value = line.partition(": ")
        message[field] = json.loads(value) if field == "data" else value
    return message


class Ended(Exception):
    """The stream ended."""


class Stream:
    """``/stream`` (or another stream at ``path``) opened and read by a thread
    of its own, with a client of its own.

    The stream's generator keeps its app and request contexts pushed in the
    thread that iterates it while it waits (and the test client runs it to
    its first message inside ``get``), so that thread must not be the one
    making the test's other requests. ``stop_at``: the reader closes the
    stream after the first message it accepts (else the stream runs for
    ``STREAM_MAX_S``). ``wait``: how long :meth:`next` waits by default.
    """

    def __init__(
        self,
        client: FlaskClient,
        *,
        stop_at: Callable[[dict[str, Any]], bool] | None = None,
        path: str = "/stream",
        wait: float = 10,
        **kw: Any,
    ) -> None:
        self.stop_at = stop_at
        self.path, self.wait = path, wait
        self.queue: queue.Queue[dict[str, Any] | BaseException | None] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(client, kw), daemon=True)
        self.thread.start()

    def _read(self, client: FlaskClient, kw: dict[str, Any]) -> None:
        response = None
        buffer = ""
        try:
            response = client.get(self.path, buffered=False, **kw)
            assert response.status_code == 200, response.get_data()
            assert response.mimetype == "text/event-stream"
            assert response.headers["Cache-Control"] == "no-cache"
            for chunk in response.response:
                buffer += chunk.decode()
                while "\n\n" in buffer:
                    raw, buffer = buffer.split("\n\n", 1)
                    message = parse(raw)
                    self.queue.put(message)
                    if self.stop_at is not None and self.stop_at(message):
                        return
        except BaseException as exc:  # handed to the test's thread
            self.queue.put(exc)
        finally:
            if response is not None:
                response.close()  # ends the generator, in the thread that ran it
            self.queue.put(None)

    def next(self, timeout: float | None = None) -> dict[str, Any]:
        """The next message, waiting at most ``timeout`` seconds (``wait``)."""
        item = self.queue.get(timeout=self.wait if timeout is None else timeout)
        if item is None:
            self.queue.put(None)
            raise Ended
        if isinstance(item, BaseException):
            raise item
        return item

    def until(self, kind: str, ref: str | None = None, timeout: float = 10) -> dict[str, Any]:
        """The first message of ``kind`` (about ``ref``), skipping the others."""
        while True:
            message = self.next(timeout)
            if message.get("event") == kind and (ref is None or message["data"]["ref"] == ref):
                return message

    def rest(self) -> list[dict[str, Any]]:
        """Every message until the stream ends."""
        out = []
        try:
            while True:
                out.append(self.next())
        except Ended:
            self.thread.join(timeout=10)
            return out


@pytest.fixture
def streaming(app: Flask) -> Flask:
    """Fast keep-alives (a keep-alive after a replay: caught up), a fixed engine clock."""
    app.config.update(STREAM_MAX_S=10, STREAM_KEEPALIVE_S=0.3, STREAM_POLL_S=0.05)
    app.extensions["oms.service"].clock = lambda: T0 + timedelta(minutes=5)
    return app


def user(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    return client, {"X-CSRFToken": sign_in(client, username)}


def streamer(app: Flask, username: str) -> FlaskClient:
    """A signed-in client for a :class:`Stream` only."""
    client = app.test_client()
    sign_in(client, username)
    return client


def post(client: FlaskClient, headers: dict[str, str], url: str, body: Any) -> Any:
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_posted_event_appears_on_the_stream(streaming: Flask) -> None:
    dora, csrf = user(streaming, "dora")
    seen: set[str] = set()

    def quiet_after_the_job(m: dict[str, Any]) -> bool:
        # A keep-alive may come before the post is applied on a loaded
        # machine (it ended the stream in one CI run): stop at one after it.
        seen.add(m.get("event", ""))
        return "comment" in m and "job" in seen

    stream = Stream(streamer(streaming, "dora"), stop_at=quiet_after_the_job)
    hello = stream.next()
    assert hello["event"] == "hello" and hello["id"] == "0" and hello["data"] == {"seq": 0}
    post(dora, csrf, "/api/events", ev("s1", 0, "B1"))
    outage = stream.until("outage")
    assert int(outage["id"]) > 0
    data = outage["data"]
    assert data["ref"] == data["data"]["id"]
    assert data["data"]["device"] == "B1" and data["data"]["state"] == "confirmed"
    # As the REST API has it, which adds where it is worked (read-time places).
    (rest,) = [o for o in dora.get("/api/outages").get_json() if o["id"] == data["ref"]]
    assert {k: rest[k] for k in data["data"]} == data["data"]
    assert set(rest) - set(data["data"]) == {"zone", "crews"}
    # The same batch: the breaker's new state and the job raised, numbered in order.
    batch = {m["event"]: m for m in (stream.next(), stream.next())}
    assert batch["device"]["data"]["ref"] == "B1"
    assert batch["device"]["data"]["data"]["state"] == "open"
    assert batch["job"]["data"]["data"]["outage"] == data["ref"]
    ids = [int(m["id"]) for m in (outage, batch["device"], batch["job"])]
    assert sorted(ids) == list(range(ids[0], ids[0] + 3))
    # Quiet now: a keep-alive comment.
    assert stream.next() == {"comment": "keep-alive"}
    assert stream.rest() == []


def test_last_event_id_replays_what_was_missed(streaming: Flask) -> None:
    dora, csrf = user(streaming, "dora")
    post(dora, csrf, "/api/events", ev("s1", 0, "B1"))
    first = Stream(streamer(streaming, "dora"), stop_at=lambda m: m.get("event") == "hello")
    (hello,) = first.rest()
    seen = int(hello["id"])  # where "now" was
    assert seen > 0
    # Missed while disconnected:
    post(dora, csrf, "/api/events", ev("s2", 60, "B2"))
    post(dora, csrf, "/api/events", ev("s3", 120, "B1", "closed"))
    replay = Stream(streamer(streaming, "dora"), headers={"Last-Event-ID": str(seen)}, **QUIET)
    assert replay.next() == {
        "retry": "1000",
        "id": str(seen),
        "event": "hello",
        "data": {"seq": seen},
    }
    messages = changes(replay.rest())
    ids = [int(m["id"]) for m in messages]
    assert ids == sorted(ids) and min(ids) > seen
    outages = {
        m["data"]["data"]["device"]: m["data"]["data"] for m in messages if m["event"] == "outage"
    }
    assert set(outages) == {"B1", "B2"}
    assert outages["B1"]["state"] == "restored"
    # ?since= does the same; from 0, everything.
    again = Stream(streamer(streaming, "dora"), query_string={"since": str(seen)}, **QUIET)
    assert [int(m["id"]) for m in changes(again.rest())] == ids
    everything = Stream(streamer(streaming, "dora"), query_string={"since": "0"}, **QUIET)
    all_ids = [int(m["id"]) for m in changes(everything.rest())]
    assert all_ids[0] == 1 and all_ids[-len(ids) :] == ids


def test_a_position_past_the_feeds_end_starts_from_its_end(streaming: Flask) -> None:
    """An id from another database (or made up) past the last change would,
    taken as given, never see a change: the stream starts from its end."""
    dora, csrf = user(streaming, "dora")
    post(dora, csrf, "/api/events", ev("s1", 0, "B1"))
    stream = Stream(
        streamer(streaming, "dora"),
        headers={"Last-Event-ID": str(10**12)},
        stop_at=lambda m: m.get("event") == "outage",
    )
    hello = stream.next()
    assert 0 < int(hello["id"]) < 10**12
    post(dora, csrf, "/api/events", ev("s2", 60, "B2"))
    (outage,) = [m for m in stream.rest() if m.get("event") == "outage"]
    assert outage["data"]["data"]["device"] == "B2"


def test_a_crew_sees_only_its_own_crew_and_jobs(streaming: Flask) -> None:
    dora, csrf = user(streaming, "dora")
    post(dora, csrf, "/api/events", ev("s1", 0, "B1"))
    post(dora, csrf, "/api/events", ev("s2", 30, "B2"))
    jobs = {j["device"]: j["id"] for j in dora.get("/api/jobs").get_json()}
    post(dora, csrf, f"/api/jobs/{jobs['B1']}/assign", {"crew": "K1"})
    post(dora, csrf, f"/api/jobs/{jobs['B2']}/assign", {"crew": "K2"})
    mine = changes(Stream(streamer(streaming, "k1"), query_string={"since": "0"}, **QUIET).rest())
    everyone = changes(
        Stream(streamer(streaming, "dora"), query_string={"since": "0"}, **QUIET).rest()
    )

    def refs(messages: list[dict[str, Any]], kind: str) -> set[str]:
        return {m["data"]["ref"] for m in messages if m["event"] == kind}

    assert refs(everyone, "crew") >= {"K1", "K2"}
    assert refs(mine, "crew") == {"K1"}
    assert refs(everyone, "job") == {jobs["B1"], jobs["B2"]}
    assert refs(mine, "job") == {jobs["B1"]}
    assert all(m["data"]["data"]["crew"] == "K1" for m in mine if m["event"] == "job")
    assert all(m["data"]["data"].get("crew") in ("K1", None) for m in mine if m["event"] == "alert")
    assert refs(mine, "outage") == refs(everyone, "outage")  # outages are no secret


def test_the_stream_needs_a_sign_in(streaming: Flask) -> None:
    response = streaming.test_client().get("/stream")
    assert response.status_code == 401
    assert response.get_json()["status"] == 401


def test_a_handheld_streams_with_its_token(streaming: Flask) -> None:
    admin, csrf = user(streaming, "ada")
    doc = admin.post(
        "/api/devices", json={"username": "k1", "name": "tablet"}, headers=csrf
    ).get_json()
    bearer = {"Authorization": f"Bearer {doc['token']}"}
    stream = Stream(
        streaming.test_client(), headers=bearer, stop_at=lambda m: m.get("event") == "hello"
    )
    assert [m["event"] for m in stream.rest()] == ["hello"]


def test_revoking_a_handheld_or_signing_out_ends_its_open_stream(streaming: Flask) -> None:
    """Issue 13 probe 4: a revoked handheld kept its live stream for up to an hour."""
    streaming.config.update(STREAM_AUTH_S=0.2, STREAM_MAX_S=30)
    admin, csrf = user(streaming, "ada")
    doc = admin.post(
        "/api/devices", json={"username": "k1", "name": "tablet"}, headers=csrf
    ).get_json()
    stream = Stream(streaming.test_client(), headers={"Authorization": f"Bearer {doc['token']}"})
    assert stream.next()["event"] == "hello"
    revoked = admin.post(f"/api/devices/{doc['id']}/revoke", headers=csrf)
    assert revoked.status_code in (200, 204), revoked.get_json()
    started = time.monotonic()
    assert stream.until("signed_out", timeout=5)["event"] == "signed_out"
    assert time.monotonic() - started < 3
    # A browser's stream ends when its session is signed out (from anywhere).
    dora = streaming.test_client()
    token = sign_in(dora, "dora")
    session_stream = Stream(dora)
    assert session_stream.next()["event"] == "hello"
    other = streaming.test_client()
    cookie = dora.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value)
    other.post("/logout", headers={"X-CSRFToken": token})
    assert session_stream.until("signed_out", timeout=5)["event"] == "signed_out"


def test_streams_hold_no_pooled_connection(streaming: Flask) -> None:
    """An open stream holds no connection of the pool; a finished one leaves none
    checked out, nor one in autocommit (PostgreSQL: it listens on its own)."""
    dora, csrf = user(streaming, "dora")
    db = streaming.extensions["oms.storage.db"]
    streaming.config["STREAM_MAX_S"] = 1.5
    hello = {"stop_at": lambda m: m.get("event") == "hello"}
    streams = [Stream(streamer(streaming, "dora")) for _ in range(3)]
    for s in streams:
        assert s.next()["event"] == "hello"
    samples = []
    for _ in range(20):
        samples.append(db.pool.checkedout())
        time.sleep(0.03)
    assert min(samples) == 0, samples  # between their short reads of the feed
    for s in streams:
        s.rest()
    for _ in range(3):
        assert len(Stream(streamer(streaming, "dora"), **hello).rest()) == 1
    assert db.pool.checkedout() == 0
    if db.dialect.name == "postgresql":
        raws = [db.raw_connection() for _ in range(db.pool.size())]
        try:
            assert not any(r.driver_connection.autocommit for r in raws)
        finally:
            for r in raws:
                r.close()
    post(dora, csrf, "/api/events", ev("s1", 0, "B1"))  # the engine still writes


def test_a_change_through_one_process_reaches_a_stream_on_another(web_db: str) -> None:
    """Two apps on one database, as two server processes: app 1 ingests, app 2 streams.

    The stream on app 2 would not look again for 30 s by itself (the
    keep-alive), so on PostgreSQL the change must come by NOTIFY; on SQLite
    the stream polls every 50 ms.
    """
    from webmap import create_app

    config = {"TESTING": True, "OMS_DB": web_db, "OMS_TICK_S": 0, "SECRET_KEY": "test"}
    apps = [create_app(config), create_app(config)]
    try:
        apps[1].config.update(STREAM_MAX_S=20, STREAM_KEEPALIVE_S=30, STREAM_POLL_S=0.05)
        listener = streamer(apps[1], "dora")
        writer, csrf = user(apps[0], "dora")
        stream = Stream(listener, stop_at=lambda m: m.get("event") == "outage")
        assert stream.next()["event"] == "hello"  # app 2 listens from here on
        sent = time.monotonic()
        post(writer, csrf, "/api/events", ev("s1", 0, "B1"))
        outage = stream.until("outage", timeout=10)
        arrived = time.monotonic()
        assert outage["data"]["data"]["device"] == "B1"
        assert arrived - sent < 3.0
        assert stream.rest() == []  # and it closed
    finally:
        for a in apps:
            a.extensions["oms.storage.db"].dispose()


def test_a_crew_streams_the_switching_documents_that_concern_it(streaming: Flask) -> None:
    eng, eng_csrf = user(streaming, "eng")
    dora, csrf = user(streaming, "dora")
    steps = [
        {"action": "open", "device": "SW2", "performer": "K1"},
        {"action": "place_tag", "device": "SW1", "performer": "K2", "tag": "caution"},
        {"action": "remove_tag", "device": "SW1"},
    ]
    mine = eng.post(
        "/api/switching/orders", json={"title": "K1's", "steps": steps[:1]}, headers=eng_csrf
    ).get_json()["id"]
    theirs = eng.post(
        "/api/switching/orders", json={"title": "K2's", "steps": steps[1:]}, headers=eng_csrf
    ).get_json()["id"]
    for oid in (mine, theirs):
        post(eng, eng_csrf, f"/api/switching/orders/{oid}/check", {})
        post(dora, csrf, f"/api/switching/orders/{oid}/approve", {})
    post(dora, csrf, f"/api/switching/orders/{mine}/issue", {})
    k1 = changes(Stream(streamer(streaming, "k1"), query_string={"since": "0"}, **QUIET).rest())
    k2 = changes(Stream(streamer(streaming, "k2"), query_string={"since": "0"}, **QUIET).rest())
    orders = {m["data"]["ref"] for m in k1 if m["event"] == "order"}
    # K1 sees its order once issued (not the drafts before); K2 sees neither
    # (its own order is not issued).
    assert orders == {mine}
    assert all(m["data"]["data"]["state"] == "issued" for m in k1 if m["event"] == "order")
    assert not any(m["event"] == "order" for m in k2)
