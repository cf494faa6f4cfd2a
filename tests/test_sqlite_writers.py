"""Two processes writing one SQLite database (the server and a command, say):
each waits for the other's write lock; none writes over the other's commit.

Before the writer took SQLite's write lock at the start of its transaction,
the stale check read outside it: the second writer failed ("another process
kept writing") or, with the wrong timing, set the outage counter back, after
which every new outage was refused as a duplicate for good.
"""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers import customers_csv, two_feeders, write
from sqlalchemy import func, select

from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load

T0 = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
CUSTOMERS = ["a1-1", "a3-1", "a4-1", "a5-1", "a6-1", "a9-1", "b1-1", "b2-1", "b3-1", "c2-1"]


def _writer(url: str, k: int, n: int) -> list[str]:
    from oms.config import EngineConfig
    from oms.engine import OutageEngine

    engine = OutageEngine(connect(url), EngineConfig.from_dict({"max_clock_skew_s": None}))
    errors = []
    for i in range(n):
        event = {
            "id": f"w{k}-{i}",
            "type": "call",
            "time": (T0 + timedelta(seconds=10 * i + k)).isoformat(),
            "customer": CUSTOMERS[(3 * i + k) % len(CUSTOMERS)],
        }
        try:
            engine.ingest_objects([(1, event)])
        except Exception as exc:  # every failure is the finding
            errors.append(f"{type(exc).__name__}: {exc}")
    return errors


def test_two_processes_write_one_sqlite_database_without_losing_a_commit(
    tmp_path: Path,
) -> None:
    (tmp_path / "customers.csv").write_text(customers_csv(two_feeders()))
    url = f"sqlite:///{tmp_path}/oms.sqlite"
    load(connect(url), network=write(tmp_path, two_feeders()), customers=tmp_path / "customers.csv")
    with mp.get_context("spawn").Pool(2) as pool:
        errors = pool.starmap(_writer, [(url, 0, 40), (url, 1, 40)])
    assert errors == [[], []]
    with connect(url).connect() as conn:
        ids = list(conn.execute(select(schema.events.c.id)).scalars())
        last = conn.execute(select(func.max(schema.outages.c.id))).scalar()
        counter = conn.execute(
            select(schema.engine_state.c.value).where(schema.engine_state.c.key == "next_outage")
        ).scalar()
    assert len([i for i in ids if i.startswith("w")]) == 80
    assert last is not None and int(counter) > int(last.split("-")[1])
