"""``oms listen``: telemetry over MQTT, against a real broker.

The broker is ``$OMS_TEST_MQTT`` (``host:port``, default Mosquitto on
``127.0.0.1:1883``). Without it the broker tests are skipped, except under
``CI=true``, where they fail. Every test uses its own topic prefix and
client ids (a uuid) and removes the sessions it made, so tests do not see
each other's messages and the broker keeps nothing behind.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from oms.exceptions import EventError, OMSError

# paho-mqtt is a dependency; only a local run without it may skip these tests.
mqtt = (
    importlib.import_module("paho.mqtt.client")
    if os.environ.get("CI") == "true"
    else pytest.importorskip("paho.mqtt.client")
)
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from oms.cli import cli  # noqa: E402
from oms.engine import OutageEngine  # noqa: E402
from oms.intake.mqtt import Listener, ListenSettings, decode_message, subscriptions  # noqa: E402
from oms.storage.db import connect  # noqa: E402
from oms.storage.schema import events as events_table  # noqa: E402

BROKER = os.environ.get("OMS_TEST_MQTT", "127.0.0.1:1883")
HOST, _, _PORT = BROKER.rpartition(":")
PORT = int(_PORT)
T0 = "2026-03-01T10:00:00+00:00"


def lockout(eid: str = "s1", device: str = "B1") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "scada",
        "time": T0,
        "device": device,
        "state": "open",
        "lockout": True,
    }


# ------------------------------------------------------------ broker helpers
@pytest.fixture(scope="module")
def broker() -> tuple[str, int]:
    """The broker's address; skipped (failed under CI=true) when it is not there."""
    try:
        socket.create_connection((HOST, PORT), timeout=2).close()
    except OSError as exc:
        message = f"no MQTT broker at {HOST}:{PORT}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return HOST, PORT


def forget_session(client_id: str) -> None:
    """Connect with a clean start and no session expiry: the broker drops the session."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    try:
        client.connect(HOST, PORT, clean_start=True, properties=props)
        client.loop_start()
        deadline = time.monotonic() + 5
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


@pytest.fixture
def names(broker: tuple[str, int]) -> Iterator[dict[str, str]]:
    """A unique topic prefix and listener client id; the session is removed afterwards."""
    tag = uuid.uuid4().hex[:10]
    made = {"prefix": f"test-{tag}/oms/", "client_id": f"oms-listen-test-{tag}"}
    yield made
    forget_session(made["client_id"])


class Publisher:
    """A plain MQTT client that publishes with QoS 1 and waits for the broker's PUBACK."""

    def __init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:10]}"
        )
        self.client.connect(HOST, PORT)
        self.client.loop_start()
        self.received: list[tuple[str, bytes]] = []
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))

    def publish(self, topic: str, payload: Any, qos: int = 1) -> None:
        data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        info = self.client.publish(topic, data, qos=qos)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker: tuple[str, int]) -> Iterator[Publisher]:
    pub = Publisher()
    yield pub
    pub.close()


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """A :class:`Listener` running in a thread."""

    def __init__(self, listener: Listener, once: bool = False) -> None:
        self.listener = listener
        self.report: Any = None
        self.thread = threading.Thread(target=self._run, args=(once,), daemon=True)
        self.thread.start()

    def _run(self, once: bool) -> None:
        self.report = self.listener.run(once=once)

    def stop(self) -> Any:
        self.listener.stop()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the listener did not stop"
        return self.report


@contextmanager
def listening(
    db_url: str, names: dict[str, str], *, ready: bool = True, **settings: Any
) -> Iterator[Running]:
    settings = {"host": HOST, "port": PORT, "batch_seconds": 0.2, **names, **settings}
    engine = OutageEngine(connect(db_url))
    running = Running(Listener(engine, ListenSettings(**settings)))
    try:
        if ready:
            assert running.listener.ready.wait(15), "the listener did not subscribe"
        yield running
    finally:
        running.stop()
        engine.db.dispose()


def stored_ids(db_url: str) -> list[str]:
    db = connect(db_url)
    with db.connect() as conn:
        ids = list(conn.execute(select(events_table.c.id).order_by(events_table.c.seq)).scalars())
    db.dispose()
    return ids


def outages(db_url: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["outages", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


# ------------------------------------------------------- decoding (no broker)
def test_decode_routes_fills_and_rejects() -> None:
    p = "oms/"
    array, items = decode_message("oms/scada", json.dumps({"id": "a", "time": T0}).encode(), p)
    assert not array and items[0][1] == {"id": "a", "time": T0, "type": "scada"}
    array, items = decode_message("oms/scada/SUB1", json.dumps([{"type": "fci"}]).encode(), p)
    assert array and items[0][1]["type"] == "fci"
    [(_, gps)] = decode_message(
        "oms/crews/K1/gps", b'{"time": "%s", "lon": 1, "lat": 2}' % T0.encode(), p
    )[1]
    assert gps == {
        "time": T0,
        "lon": 1,
        "lat": 2,
        "type": "crew_gps",
        "crew": "K1",
        "id": f"gps:K1:{T0}",
    }
    [(_, wrong_crew)] = decode_message("oms/crews/K1/gps", b'{"crew": "K2"}', p)[1]
    assert isinstance(wrong_crew, EventError) and "K2" in str(wrong_crew)
    [(_, no_type)] = decode_message("oms/ami", b'{"id": "x"}', p)[1]
    assert isinstance(no_type, EventError) and "type" in str(no_type)
    [(_, misplaced)] = decode_message("oms/calls", b'{"type": "scada"}', p)[1]
    assert isinstance(misplaced, EventError) and "does not belong on oms/calls" in str(misplaced)
    [(_, action)] = decode_message("oms/events", b'{"type": "outage_close"}', p)[1]
    assert isinstance(action, EventError)
    [(_, fine), (_, bad)] = decode_message("oms/events", b'[{"type": "call"}, 3]', p)[1]
    assert fine == {"type": "call"} and isinstance(bad, EventError)
    for topic, payload in [
        ("oms/calls", b"not json"),
        ("oms/calls", b""),
        ("oms/calls", b"\xff"),
        ("oms/calls", b'"text"'),
        ("oms/crews/K1", b"{}"),
        ("oms/other", b"{}"),
    ]:
        with pytest.raises(EventError):
            decode_message(topic, payload, p)


def test_settings() -> None:
    s = ListenSettings(prefix="site1/oms")
    assert s.prefix == "site1/oms/" and s.rejected_topic == "site1/oms/rejected"
    assert subscriptions("") == ["scada/#", "ami/#", "calls/#", "crews/+/gps", "events/#"]
    for bad in ({"prefix": "oms/#"}, {"protocol": "4"}, {"client_id": ""}, {"max_batch": 0}):
        with pytest.raises(OMSError):
            ListenSettings(**bad)
    result = CliRunner().invoke(cli, ["listen", "--prefix", "a/+/", "--db", "sqlite://"])
    assert result.exit_code == 2 and "may not contain" in result.output


# ---------------------------------------------------------- against the broker
def test_every_topic_reaches_the_engine(
    loaded_db: str, tmp_path: Path, names: dict[str, str], publisher: Publisher
) -> None:
    from helpers import write_dispatch_files

    from oms.storage.loading import load

    files = write_dispatch_files(tmp_path)
    db = connect(loaded_db)
    load(db, crews=files["crews"], units=files["units"], zones=files["zones"])
    db.dispose()
    p = names["prefix"]
    with listening(loaded_db, names) as running:
        publisher.publish(f"{p}scada", lockout())
        publisher.publish(
            f"{p}scada/feeder-b",
            {"id": "f1", "type": "fci", "time": T0, "device": "L5", "fault": True},
        )
        publisher.publish(
            f"{p}ami",
            [
                {"id": "g1", "type": "ami_last_gasp", "time": T0, "meter": "M-c2-1"},
                {"id": "g2", "type": "ami_last_gasp", "time": T0, "customer": "c2-2"},
            ],
        )
        publisher.publish(
            f"{p}calls", {"id": "c1", "time": T0, "customer": "b3-1", "hazard": "wire_down"}
        )
        publisher.publish(f"{p}crews/K1/gps", {"time": T0, "lon": 8.41, "lat": 49.001})
        publisher.publish(
            f"{p}events",
            {
                "id": "e1",
                "type": "ami_restore",
                "time": "2026-03-01T10:05:00+00:00",
                "meter": "M-c2-1",
            },
        )
        wait_until(lambda: len(stored_ids(loaded_db)) == 7, what="7 events in the log")
        report = running.stop()
    assert sorted(stored_ids(loaded_db)) == sorted(
        ["s1", "f1", "g1", "g2", "c1", f"gps:K1:{T0}", "e1"]
    )
    assert report.accepted == 7 and report.rejected_total == 0 and report.connects == 1
    found = {o["device"]: o for o in outages(loaded_db)}
    assert found["B1"]["state"] == "confirmed" and found["B1"]["kind"] == "network"
    crews = CliRunner().invoke(cli, ["crews", "--db", loaded_db, "--json"])
    k1 = next(c for c in json.loads(crews.stdout) if c["id"] == "K1")
    assert (k1["lon"], k1["lat"], k1["gps_time"]) == (8.41, 49.001, T0)


def test_duplicates_are_harmless_and_bad_messages_are_rejected(
    loaded_db: str, names: dict[str, str], publisher: Publisher
) -> None:
    p = names["prefix"]
    publisher.subscribe(f"{p}rejected")
    with listening(loaded_db, names) as running:
        publisher.publish(f"{p}scada", lockout())
        publisher.publish(f"{p}scada", lockout())  # the same again: a duplicate
        publisher.publish(f"{p}scada", {**lockout(), "device": "R1"})  # same id, other content
        publisher.publish(f"{p}calls", b"{not json")
        publisher.publish(f"{p}scada", [lockout("s2", "B9"), lockout("s3", "B2")])
        wait_until(lambda: "s3" in stored_ids(loaded_db), what="s3 after the bad messages")
        wait_until(lambda: len(publisher.received) == 3, what="3 republished rejections")
        report = running.stop()
    assert stored_ids(loaded_db) == ["s1", "s3"]
    assert (report.accepted, report.duplicates, report.rejected_total) == (2, 1, 3)
    errors = {(r.topic, r.index, r.id): r.error for r in report.rejected}
    assert (
        "conflict" in errors[(f"{p}scada", None, "s1")]
        or "different" in errors[(f"{p}scada", None, "s1")]
    )
    assert "not valid JSON" in errors[(f"{p}calls", None, None)]
    assert "B9" in errors[(f"{p}scada", 0, "s2")]
    echoed = [json.loads(payload) for _, payload in publisher.received]
    assert {e["topic"] for e in echoed} == {f"{p}scada", f"{p}calls"}
    assert any(e["payload"] == "{not json" for e in echoed)
    assert {o["device"] for o in outages(loaded_db)} == {"B1", "B2"}


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_messages_sent_while_the_listener_is_down_arrive(
    loaded_db: str, names: dict[str, str], publisher: Publisher, protocol: str
) -> None:
    p = names["prefix"]
    with listening(loaded_db, names, protocol=protocol):
        pass  # the first start makes the session and its subscriptions
    sent = [f"g{i}" for i in range(40)]
    for i in range(0, 40, 4):  # arrays and single events, while nobody listens
        chunk = [
            {"id": eid, "type": "ami_last_gasp", "time": T0, "customer": "b1-1"}
            for eid in sent[i : i + 4]
        ]
        if i % 8:
            publisher.publish(f"{p}ami", chunk)
        else:
            for one in chunk:
                publisher.publish(f"{p}ami", one)
    publisher.publish(f"{p}scada", lockout())
    engine = OutageEngine(connect(loaded_db))
    settings = ListenSettings(host=HOST, port=PORT, protocol=protocol, **names)
    report = Listener(engine, settings).run(once=True)
    engine.db.dispose()
    assert sorted(stored_ids(loaded_db)) == sorted([*sent, "s1"])
    assert report.accepted == 41 and report.duplicates == 0


@pytest.mark.slow
def test_database_errors_are_retried_and_a_failing_event_is_set_aside(
    loaded_db: str, names: dict[str, str], publisher: Publisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = names["prefix"]
    calls = {"n": 0}
    real = OutageEngine.ingest_objects

    def flaky(self: OutageEngine, numbered: Any, **kw: Any) -> Any:
        numbered = list(numbered)
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("INSERT", {}, Exception("database is away"))
        if any(obj.get("id") == "boom" for _, obj in numbered):
            raise RuntimeError("a bug")
        return real(self, numbered, **kw)

    monkeypatch.setattr(OutageEngine, "ingest_objects", flaky)
    with listening(loaded_db, names, batch_seconds=1.0, batch_idle=1.0) as running:
        publisher.publish(f"{p}scada", [lockout(), lockout("boom", "B2"), lockout("s3", "R1")])
        wait_until(lambda: len(stored_ids(loaded_db)) == 2, what="the batch after the retries")
        report = running.stop()
    assert stored_ids(loaded_db) == ["s1", "s3"]
    assert calls["n"] >= 6  # two failures, one with the bug, then one at a time
    assert [(r.id, r.index) for r in report.rejected] == [("boom", 1)]
    assert "could not be applied" in report.rejected[0].error


class Proxy:
    """A TCP relay to the broker that the test can take down and bring back."""

    def __init__(self) -> None:
        self.port = 0
        self.conns: list[socket.socket] = []
        self.server: socket.socket | None = None
        self.up()

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self.port = server.getsockname()[1]
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection((HOST, PORT))
            self.conns += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        """The broker goes away: no new connections, and the open ones are cut."""
        assert self.server is not None
        self.server.close()
        for conn in self.conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.conns = []


@pytest.mark.slow
def test_reconnects_when_the_broker_goes_away(
    loaded_db: str, names: dict[str, str], publisher: Publisher
) -> None:
    p = names["prefix"]
    proxy = Proxy()
    try:
        with listening(
            loaded_db, names, port=proxy.port, keepalive=2, reconnect_min=1, reconnect_max=2
        ) as running:
            publisher.publish(f"{p}scada", lockout())
            wait_until(lambda: stored_ids(loaded_db) == ["s1"], what="s1")
            proxy.down()
            wait_until(lambda: not running.listener.ready.is_set(), what="the listener to notice")
            publisher.publish(f"{p}scada", lockout("s2", "B2"))  # kept by the broker meanwhile
            time.sleep(1.5)  # a reconnection attempt or two fail
            proxy.up()
            wait_until(lambda: running.listener.ready.is_set(), what="the reconnection")
            publisher.publish(f"{p}calls", {"id": "c1", "time": T0, "customer": "c2-1"})
            wait_until(lambda: len(stored_ids(loaded_db)) == 3, what="all three events")
            report = running.stop()
    finally:
        proxy.down()
    assert stored_ids(loaded_db) == ["s1", "s2", "c1"]
    assert report.connects >= 2 and report.accepted == 3


# --------------------------------------------------- the command, killed and run again
def oms_listen(db_url: str, names: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[str]:
    """``oms listen`` as a process; its stderr goes to ``log``."""
    with open(log, "a", encoding="utf-8") as err:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "oms", "listen", "--db", db_url),
                *("--host", HOST, "--port", str(PORT)),
                *("--prefix", names["prefix"], "--client-id", names["client_id"]),
                *("--max-batch", "20", "--batch-seconds", "0.2", *extra),
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def wait_listening(proc: subprocess.Popen[str], log: Path, times: int = 1) -> None:
    """Wait until the listener's log reports its subscriptions (the ``times``-th time)."""

    def subscribed() -> bool:
        assert proc.poll() is None, log.read_text()
        return log.read_text().count("listening on") >= times

    wait_until(subscribed, timeout=60, what="oms listen to subscribe")


def topic_of(event: dict[str, Any], prefix: str) -> str:
    kind = event["type"]
    if kind == "call":
        return f"{prefix}calls"
    if kind.startswith("ami_"):
        return f"{prefix}ami"
    if kind == "crew_gps":
        return f"{prefix}crews/{event['crew']}/gps"
    return f"{prefix}scada"


@pytest.mark.slow
def test_sigkill_mid_stream_then_restart_keeps_every_event_once(
    db_url: str, tmp_path: Path, names: dict[str, str], publisher: Publisher
) -> None:
    from oms.demodata import demo_network
    from oms.simulation.storms import StormParams, simulate_storm

    events = simulate_storm(demo_network(), StormParams(seed=3)).events[:600]
    file = tmp_path / "events.jsonl"
    file.write_text("".join(json.dumps(e) + "\n" for e in events))
    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    runner = CliRunner()
    for url in (reference, db_url):
        assert runner.invoke(cli, ["load", "--db", url, "--network", "demo"]).exit_code == 0
    done = runner.invoke(cli, ["ingest", str(file), "--db", reference, "--json"])
    assert json.loads(done.stdout)["accepted"] == len(events)

    log = tmp_path / "listen.log"
    first = oms_listen(db_url, names, log)
    wait_listening(first, log)
    db = connect(db_url)

    def count() -> int:
        with db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events_table)).scalar() or 0)

    killed_at = 0
    for i, event in enumerate(events):
        publisher.publish(topic_of(event, names["prefix"]), event)
        if not killed_at and i >= len(events) // 2:
            wait_until(lambda: count() >= len(events) // 4, what="a quarter of the events")
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed_at = count()
    assert first.returncode == -signal.SIGKILL
    assert 0 < killed_at < len(events)

    second = oms_listen(db_url, names, log, "--json")
    wait_listening(second, log, times=2)
    wait_until(lambda: count() == len(events), timeout=120, what="every event")
    time.sleep(0.5)  # the last acknowledgements go out
    second.send_signal(signal.SIGTERM)  # a clean stop: finish, acknowledge, disconnect
    out, _ = second.communicate(timeout=30)
    assert second.returncode == 0, log.read_text()
    report = json.loads(out)
    assert report["rejected"] == []
    assert report["accepted"] == len(events) - killed_at

    # Nothing is left unacknowledged: a third run gets nothing.
    third = oms_listen(db_url, names, log, "--once", "--json")
    out, _ = third.communicate(timeout=60)
    assert third.returncode == 0, log.read_text()
    assert json.loads(out)["messages"] == 0
    db.dispose()

    ids = stored_ids(db_url)
    assert len(ids) == len(set(ids)) == len(events)
    assert ids == [e["id"] for e in events]  # in the order published
    keys = ("kind", "device", "customer", "state", "started", "restored", "customers_out", "calls")
    assert sorted(tuple(o[k] for k in keys) for o in outages(db_url)) == sorted(
        tuple(o[k] for k in keys) for o in outages(reference)
    )


def test_openfmb_profiles_through_the_broker_reach_the_engine(
    loaded_db: str, names: dict[str, str], publisher: Publisher
) -> None:
    from test_openfmb import status

    fmb = names["prefix"].replace("/oms/", "/openfmb/")
    with listening(
        loaded_db, names, openfmb_prefix=fmb, openfmb_devices={"uuid-b1": "B1"}
    ) as running:
        topic, body = status(
            "breakermodule", "uuid-b1", {"phs3": {"stVal": "DbPosKind_open"}}, message="b1-trip"
        )
        publisher.publish(f"{fmb}{topic}", body)
        publisher.publish(f"{fmb}{topic}", body)  # sent again: a duplicate
        wrong, _ = status("switchmodule", "nowhere", {"phs3": {"stVal": "DbPosKind_open"}})
        publisher.publish(f"{fmb}{wrong}", _)
        publisher.publish(f"{fmb}metermodule/MeterReadingProfile/m", b"\x08\x01")  # protobuf
        wait_until(lambda: "openfmb:b1-trip:scada" in stored_ids(loaded_db), what="the trip")
        wait_until(lambda: running.listener.report.rejected_total >= 2, what="two rejections")
        report = running.stop()
    assert stored_ids(loaded_db).count("openfmb:b1-trip:scada") == 1
    found = {o["device"]: o for o in outages(loaded_db)}
    assert found["B1"]["state"] == "confirmed"
    reasons = json.dumps(report.to_dict())
    assert "nowhere" in reasons and "protobuf profiles are not read" in reasons
