"""Reads from a streaming replica (``OMS_READ_DB``), writes on the primary.

The replica here is a second schema holding a copy of the primary's data
set, which a test brings up to date by hand as streaming replication would:
what matters is which database each request reads. A real hot standby is
read-only and cannot be migrated; the app opens it without migrating.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, Clock, User
from flask import Flask

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.exceptions import StorageError
from oms.storage.db import connect

pytestmark = pytest.mark.postgres

TRIP = {"id": "s1", "type": "scada", "time": T0.isoformat(), "device": "B1", "state": "open",
        "lockout": True}  # fmt: skip


@pytest.fixture
def primary_and_replica(postgres_server: Any) -> Iterator[tuple[str, str, Flask]]:
    from webmap import create_app

    primary, _ = postgres_server.create("web")
    replica, _ = postgres_server.create("web")
    clock = Clock(T0)
    app = create_app(
        {
            "TESTING": True,
            "OMS_DB": primary,
            "OMS_READ_DB": replica,
            "OMS_TICK_S": 0,
            "OMS_CLOCK": clock,
            "SECRET_KEY": "test",
            "OMS_ENGINE_CONFIG": EngineConfig(max_clock_skew_s=None),
            "OMS_SNAPSHOT_S": 0,
            "OMS_PUBLIC_REFRESH_S": 0,
        }
    )
    yield primary, replica, app
    app.extensions["oms.service"].stop()
    for key in ("oms.storage.db", "oms.storage.read_db"):
        app.extensions[key].dispose()


def _devices(user: User) -> set[str]:
    response = user.get("/api/outages")
    assert response.status_code == 200, response.get_json()
    return {o["device"] for o in response.get_json()}


def test_gets_read_the_replica_and_writes_go_to_the_primary(
    primary_and_replica: tuple[str, str, Flask],
) -> None:
    primary, replica, app = primary_and_replica
    dora = User(app, "dora")  # signs in against the primary
    response = dora.post("/api/events", json=TRIP)
    assert response.status_code == 200 and response.get_json()["accepted"] == 1
    with connect(primary).connect() as conn:
        from sqlalchemy import select

        from oms.storage import schema

        stored = conn.execute(select(schema.outages.c.device)).scalars().all()
    assert stored == ["B1"]  # written on the primary
    assert _devices(dora) == set()  # read from the replica, not caught up yet
    public = app.test_client().get("/api/public/outages")
    assert public.status_code == 200 and public.get_json()["totals"]["outages"] == 0
    # Replication catches up: the replica now holds the same outage.
    OutageEngine(connect(replica)).ingest_objects([(1, TRIP)])
    assert _devices(dora) == {"B1"}
    assert app.test_client().get("/api/public/outages").get_json()["totals"]["outages"] == 1


def test_without_a_replica_everything_reads_the_primary(app: Flask, clock: Clock) -> None:
    assert "oms.storage.read_db" not in app.extensions
    dora = User(app, "dora")
    assert dora.post("/api/events", json=TRIP).status_code == 200
    assert _devices(dora) == {"B1"}


def test_a_replica_that_is_not_there_is_named_and_not_created(web_db: str, tmp_path: Path) -> None:
    from webmap import create_app

    missing = tmp_path / "replica.sqlite"
    with pytest.raises(StorageError, match="OMS_READ_DB: no database file at"):
        create_app({"OMS_DB": web_db, "OMS_READ_DB": f"sqlite:///{missing}", "OMS_TICK_S": 0})
    assert not missing.exists()
