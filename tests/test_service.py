"""The engine service: one writer for every server process, timers on the leader only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oms.storage import schema
from oms.storage.db import connect
from webmap.service import EngineService, IntakeTimeout

T0 = "2026-03-01T10:00:00+00:00"


def lockout(eid: str, device: str = "B1") -> dict[str, Any]:
    event = {"id": eid, "type": "scada", "time": T0, "device": device, "state": "open"}
    return {**event, "lockout": True}


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_single_process_applies_at_once(loaded_db: str) -> None:
    service = EngineService(connect(loaded_db))
    report = service.ingest([lockout("s1")])
    assert (report.accepted, report.duplicates, report.rejected) == (1, 0, [])
    again = service.ingest([lockout("s1"), {"id": "bad", "type": "scada"}])
    assert again.duplicates == 1 and again.rejected[0]["line"] == 2


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL schema with the two-feeder network (several processes share PostgreSQL)."""
    from conftest import postgres_url
    from helpers import write_network_files

    from oms.storage.loading import load

    for url in postgres_url(request):
        net_path, cust_path = write_network_files(tmp_path)
        engine = connect(url)
        load(engine, network=net_path, customers=cust_path)
        engine.dispose()
        yield url


@pytest.mark.postgres
def test_processes_hand_events_to_the_one_writer(pg_db: str) -> None:
    loaded_db = pg_db
    first = EngineService(connect(loaded_db, pool_size=4))
    second = EngineService(connect(loaded_db, pool_size=4), intake_timeout_s=10)
    try:
        first.start(0.2)
        wait_for(lambda: first._leader_conn is not None)
        second.start(0.2)
        time.sleep(0.5)
        assert first.leader and not second.leader  # one advisory lock, one writer
        results: list[Any] = []

        def post(k: int) -> None:
            results.append(second.ingest([lockout(f"s{k}", "B1" if k % 2 else "B2")]))

        threads = [threading.Thread(target=post, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        assert sorted(r.accepted for r in results) == [1] * 6
        dup = second.ingest([lockout("s1", "B1"), lockout("s1", "B2")])
        assert dup.duplicates == 1 and "different content" in dup.rejected[0]["error"]
        with first.db.connect() as conn:
            events = conn.execute(select(func.count()).select_from(schema.events)).scalar()
            pending = conn.execute(
                select(func.count())
                .select_from(schema.intake)
                .where(schema.intake.c.status == "pending")
            ).scalar()
        assert events == 6 and pending == 0
        # The writer goes away: the other process takes over within a tick.
        first.stop()
        wait_for(lambda: second._leader_conn is not None)
        assert second.ingest([lockout("s9", "R1")]).accepted == 1
    finally:
        first.stop()
        second.stop()


@pytest.mark.postgres
def test_a_hung_leader_is_replaced_within_its_lease(pg_db: str) -> None:
    """A leader that stops (SIGSTOP, swapping) keeps its session open but idle:
    the server ends it after the lease, and another process takes over."""
    first = EngineService(connect(pg_db, pool_size=4), lease_s=1.5)
    second = EngineService(connect(pg_db, pool_size=4), lease_s=1.5, intake_timeout_s=10)
    try:
        first.start(0.2)
        wait_for(lambda: first._leader_conn is not None)
        # Hang: its threads stop, its leader session stays open and silent.
        first._stop.set()
        for thread in first._threads:
            thread.join(timeout=5)
        assert first._leader_conn is not None
        second.start(0.2)
        started = time.monotonic()
        wait_for(lambda: second._leader_conn is not None, timeout=10)
        assert time.monotonic() - started < 6
        assert second.ingest([lockout("s1", "R1")]).accepted == 1
    finally:
        first.stop()
        second.stop()


@pytest.mark.postgres
def test_no_writer_times_out(pg_db: str) -> None:
    service = EngineService(connect(pg_db), intake_timeout_s=0.5)
    service.shared = True  # as if another process held the writer's lock
    try:
        with pytest.raises(IntakeTimeout, match="no server process"):
            service.ingest([lockout("s1")])
    finally:
        service.stop()  # its result listener must not outlive the database


def test_tick_fires_timers_on_the_injected_clock(loaded_db: str) -> None:
    now = [datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)]
    service = EngineService(connect(loaded_db), clock=lambda: now[0])
    service.ingest([lockout("s1")])
    now[0] = datetime(2026, 3, 1, 10, 30, tzinfo=timezone.utc)
    service.tick()
    assert service.engine.clock == now[0]
    service.tick()  # the clock never moves back, and a tick at the same time is a no-op
    assert service.engine.clock == now[0]
