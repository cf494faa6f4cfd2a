"""Per-batch cost proportional to the change (issue 17): the engine decides as before.

The faster paths (the relevant candidates found a nesting level at a time,
work limited to what changed) must not change a single decision. Two
checks:

- a storm replayed on two styled networks, with a head-end answering
  pings, ends with exactly the outages the engine gave before the change:
  the digest of (id, kind, device, customer, state, customers out, start,
  restoration) of every outage was computed with the code of commit
  294df89 (before issue 17 item 2). A change of the simulator, of the
  styled networks or of an engine rule changes it too: recompute it then
  with the code before that change (``_digest`` below) and say why;
- each rewritten function against the plain form it replaced, on random
  inputs; the event log appended in bulk (``COPY`` on PostgreSQL, the
  driver's ``executemany`` on SQLite) reads back as SQLAlchemy's own insert
  stored it, with the same idempotency.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import check_figures_of_everything
from sqlalchemy import insert, select

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.engine.orders import OrderBook
from oms.engine.prediction import DeviceTree
from oms.simulation.replay import replay
from oms.simulation.storms import HeadEnd, StormParams, simulate_storm
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load_model
from topology.synthetic.styles import styled_network

#: Computed with the engine before issue 17 item 2 (commit 294df89).
BEFORE = {
    ("na_fused", 3): ("f5c6dc2327a52e0b3479c9ee9c8e7e6923d4485f3675844f2b7c014fd14d73cd", 173),
    ("eu_ring", 5): ("606251701e322de8b15cdd7f9d6dc049c6a2dd4890e54546afb840c250e7b492", 64),
}


def _digest(style: str, seed: int, tmp: Path) -> tuple[str, int]:
    net = styled_network(style, seed, n_nodes=3000, meter_share=0.8)
    scenario = simulate_storm(net, StormParams(seed=seed))
    db = connect(f"sqlite:///{tmp / 'storm.sqlite'}")
    load_model(db, net, style)
    engine = OutageEngine(db, EngineConfig())
    replay(engine, scenario.events, HeadEnd(net, scenario.truth))
    rows = [
        [
            o["id"],
            o["kind"],
            o.get("device"),
            o.get("customer"),
            o["state"],
            o["customers_out"],
            o["started"],
            o.get("restored"),
        ]
        for o in engine.snapshot()
    ]
    db.dispose()
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest(), len(rows)


@pytest.mark.slow
@pytest.mark.parametrize(("style", "seed"), sorted(BEFORE))
def test_a_storm_ends_with_the_outages_of_the_engine_before(
    style: str, seed: int, tmp_path: Path
) -> None:
    assert _digest(style, seed, tmp_path) == BEFORE[(style, seed)]


def _order_book(style: str, seed: int, crews: bool, tmp: Path) -> dict[str, list[Any]]:
    """A storm replayed with jobs, notifications and (with ``crews``) simulated
    crews under automatic dispatch; the order book's rows as stored (without
    sequence numbers and the per-database case references)."""
    from dataclasses import replace

    from oms.simulation.companions import companions
    from oms.simulation.crews import CrewSimulator
    from oms.storage.loading import load

    net = styled_network(style, seed, n_nodes=1500, meter_share=0.8)
    scenario = simulate_storm(net, StormParams(seed=seed))
    db = connect(f"sqlite:///{tmp / 'book.sqlite'}")
    load_model(db, net, style)
    config, simulator = EngineConfig(), None
    if crews:
        paths = companions(net, tmp, seed=seed, crews_per_feeder=1.0)
        load(db, crews=paths["crews"], units=paths["units"], zones=paths["zones"])
        config = replace(config, dispatch=replace(config.dispatch, auto_dispatch=True))
        simulator = CrewSimulator(seed=seed, truth=scenario.truth)
    replay(OutageEngine(db, config), scenario.events, HeadEnd(net, scenario.truth), crews=simulator)
    ref = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
    out: dict[str, list[Any]] = {}
    with db.begin() as conn:
        for table in (schema.jobs, schema.dispatch_decisions, schema.alerts, schema.notifications):
            rows = []
            for r in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                row = {k: v for k, v in r.items() if k not in ("seq", "key")}
                if "message" in row:
                    row["message"] = ref.sub("REF", row["message"])
                rows.append(row)
            out[table.name] = rows
    db.dispose()
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("style", "seed", "crews"),
    # urban_mesh 9: jobs finishing left a new job the place of one still open,
    # so the jobs looked at were taken in another order than every job's.
    [("eu_ring", 5, False), ("na_overhead", 2, True), ("urban_mesh", 9, False)],
)
def test_the_order_book_looks_only_at_what_changed_and_decides_as_if_it_looked_at_everything(
    style: str, seed: int, crews: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs, dispatch decisions, alerts and notifications in the same order, with
    the same times and contents, whether the order book looks at every open
    job every batch (the oracle) or only at the jobs whose outage changed,
    which changed, or whose time came (priority steps, passed ETRs, target
    warnings, acknowledgement timeouts, history medians that moved)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    incremental = _order_book(style, seed, crews, tmp_path / "a")
    monkeypatch.setattr(OrderBook, "incremental", False)
    everything = _order_book(style, seed, crews, tmp_path / "b")
    assert [len(v) for v in incremental.values()] == [len(v) for v in everything.values()]
    assert incremental == everything


def _relevant_plain(tree: DeviceTree, nodes: np.ndarray, devices: set[int]) -> np.ndarray:
    """The walk ``DeviceTree.relevant`` did before: up from each start, one at a time."""
    seen: set[int] = set()
    starts = set(np.unique(tree.node_device[nodes]).tolist()) | devices
    for i in starts:
        while i >= 0 and i not in seen:
            seen.add(i)
            i = int(tree.parent[i])
    out = np.fromiter(seen, dtype=np.int64, count=len(seen))
    return out[np.argsort(-tree.lo[out], kind="stable")]


@pytest.mark.parametrize("style", ["na_fused", "eu_ring", "urban_mesh"])
def test_relevant_candidates_are_those_of_the_plain_walk(style: str) -> None:
    net = styled_network(style, 2, n_nodes=2000)
    tree = DeviceTree(net, net.supply)
    rng = np.random.default_rng(7)
    for k in (0, 1, 5, 50, 500):
        nodes = rng.integers(0, net.n_nodes, k)
        devices = {int(d) for d in rng.integers(0, len(tree), k // 5)}
        got = tree.relevant(nodes, devices)
        assert got.tolist() == _relevant_plain(tree, nodes, devices).tolist()


def test_the_bulk_appended_log_reads_back_as_an_insert_stores_it(loaded_db: str) -> None:
    db = connect(loaded_db)
    engine = OutageEngine(db, EngineConfig.from_dict({"pings": False}))
    t0 = datetime(2026, 3, 1, 10, 0, 0, 250000, tzinfo=timezone.utc)
    events = [
        # Quotes, commas, a backslash, non-ASCII and a line break escaped in JSON.
        {
            "id": 'e"1,',
            "type": "call",
            "time": t0.isoformat(),
            "customer": "a3-1",
            "note": 'says "no power", \\ café\nline two',
        },
        {
            "id": "e2",
            "type": "scada",
            "time": (t0 + timedelta(seconds=3)).isoformat(),
            "device": "R1",
            "state": "open",
        },
        {
            "id": "e3",
            "type": "ami_last_gasp",
            "time": (t0 + timedelta(seconds=4))
            .astimezone(timezone(timedelta(hours=-5)))
            .isoformat(),
            "customer": "b1-1",
        },
    ]
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    assert engine.ingest(lines).accepted == 3
    ev = schema.events
    with db.begin() as conn:
        got = [tuple(r) for r in conn.execute(select(ev).order_by(ev.c.seq))]
        # The same rows as SQLAlchemy's insert stores them, under other ids.
        conn.execute(
            insert(ev),
            [
                {**r._asdict(), "id": "x" + r.id}
                for r in conn.execute(select(*ev.c[1:]).order_by(ev.c.seq))
            ],
        )
        ref = [
            tuple(r) for r in conn.execute(select(ev).where(ev.c.id.like("x%")).order_by(ev.c.seq))
        ]
        conn.execute(ev.delete().where(ev.c.id.like("x%")))
        if db.dialect.name == "sqlite":  # stored text, not only what reads back
            raw = conn.exec_driver_sql("SELECT time, received_at FROM events ORDER BY seq").all()
            raw_ref = [(r[3], r[4]) for r in ref]
            assert [tuple(r) for r in raw] == [
                tuple(
                    ev.c.time.type.dialect_impl(db.dialect).bind_processor(db.dialect)(v)
                    for v in row
                )
                for row in raw_ref
            ]
    assert [r[2:] for r in got] == [r[2:] for r in ref]
    assert [r[1] for r in got] == [e["id"] for e in events]
    assert [r[6] for r in got] == lines  # the payload as received
    assert [r[7:] for r in got] == [("a3-1", None), (None, "R1"), ("b1-1", None)]
    # Idempotent as before: the same lines are duplicates, a changed one a conflict.
    again = engine.ingest(lines)
    assert (again.accepted, again.duplicates) == (0, 3)
    changed = engine.ingest([json.dumps({**events[1], "state": "closed"})])
    assert changed.codes() == {"conflict"}
    with db.connect() as conn:
        assert conn.execute(select(ev.c.id)).scalars().all() == [e["id"] for e in events]
    db.dispose()


def test_bulk_inserts_store_what_sqlalchemys_insert_stores(db_url: str) -> None:
    """JSON (None included), datetimes with offsets, NULLs, quotes and line breaks."""
    from oms.engine.repository import _bulk_insert

    db = connect(db_url)
    t = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    data = [{"a": 'x"y,\nz\\', "b": [1, 2.5, None], "c": "café"}, None, [], "text"]
    ch = schema.changes
    with db.begin() as conn:
        rows = [{"time": t, "kind": "k", "ref": f"r{i}", "data": d} for i, d in enumerate(data)]
        _bulk_insert(conn, ch, rows)
        conn.execute(insert(ch), [{**r, "ref": "x" + r["ref"]} for r in rows])
        got = conn.execute(select(ch.c.time, ch.c.kind, ch.c.data).order_by(ch.c.seq)).all()
        assert got[:4] == got[4:]
        assert [r.data for r in got[:4]] == data
        if db.dialect.name == "sqlite":
            raw = conn.exec_driver_sql("SELECT time, data FROM changes ORDER BY seq").all()
            assert raw[:4] == raw[4:]
        n = schema.notifications
        note = {
            "customer": "c1",
            "outage": None,
            "kind": "restored",
            "channel": "sms",
            "address": "+1 555",
            "message": 'Power is back, "thanks"',
            "status": "queued",
            "attempts": 0,
            "created_at": t,
        }
        _bulk_insert(conn, n, [{**note, "key": "k1"}])
        conn.execute(insert(n), [{**note, "key": "k2"}])
        got = conn.execute(select(*n.c[2:]).order_by(n.c.seq)).all()
        assert got[0] == got[1]
    db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("reload_fails", [False, True])
def test_rows_written_only_where_they_changed_read_back_as_the_records_held(
    reload_fails: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs and outages are updated with only the columns that changed since
    this process wrote them (priority ageing, a renewed ETR): after a storm
    with crews, every stored row reads back as the record the engine holds,
    also after a batch whose transaction failed once its rows were written
    (the engine reloads and must not take them as stored), and when reading
    the state again failed too (the next transaction reads it first)."""
    from dataclasses import replace

    from oms.dispatch.jobs import Job
    from oms.engine import repository
    from oms.outages import Outage
    from oms.simulation.companions import companions
    from oms.simulation.crews import CrewSimulator
    from oms.storage.loading import load

    net = styled_network("na_overhead", 2, n_nodes=1500, meter_share=0.8)
    scenario = simulate_storm(net, StormParams(seed=2))
    db = connect(f"sqlite:///{tmp_path / 'rows.sqlite'}")
    load_model(db, net, "na_overhead")
    paths = companions(net, tmp_path, seed=2, crews_per_feeder=1.0)
    load(db, crews=paths["crews"], units=paths["units"], zones=paths["zones"])
    config = EngineConfig()
    config = replace(config, dispatch=replace(config.dispatch, auto_dispatch=True))
    engine = OutageEngine(db, config)
    # One transaction late in the storm (a tick of the clock: no event, so
    # the log does not say it failed) fails once its rows were written.
    writes, failed = [0], []
    real_register = repository._write_register

    def register_once_failing(conn: Any, core: Any) -> None:
        real_register(conn, core)
        writes[0] += 1
        if writes[0] == 870:
            failed.append(core.clock)
            raise RuntimeError("the disk is full")

    real_load = repository.Repository.load

    loads: list[int] = []

    def load_failing_after_the_write(self: Any, config: Any) -> Any:
        loads.append(writes[0])
        if reload_fails and len(failed) == 1:
            failed.append(None)
            raise RuntimeError("the database went away")
        return real_load(self, config)

    monkeypatch.setattr(repository.Repository, "load", load_failing_after_the_write)
    monkeypatch.setattr(repository, "_write_register", register_once_failing)
    shapes: list[tuple[str, ...]] = []
    real_update = repository._bulk_update

    def update(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
        if table is schema.jobs and rows:
            shapes.append(tuple(rows[0]))
        real_update(conn, table, rows)

    monkeypatch.setattr(repository, "_bulk_update", update)
    simulator = CrewSimulator(seed=2, truth=scenario.truth)
    with pytest.raises(RuntimeError, match="went away" if reload_fails else "disk is full"):
        replay(engine, scenario.events, HeadEnd(net, scenario.truth), crews=simulator)
    assert len(failed) == (2 if reload_fails else 1)
    replay(engine, scenario.events, HeadEnd(net, scenario.truth), crews=simulator)
    # Read again after the failure (and once more when that failed).
    assert loads == [870] * len(failed)
    book = engine.core.book
    assert book is not None and book.jobs
    with db.connect() as conn:
        stored_jobs = {
            r["id"]: Job.from_row(r).row() for r in conn.execute(select(schema.jobs)).mappings()
        }
        stored_outages = {
            r["id"]: Outage.from_row(r).row()
            for r in conn.execute(select(schema.outages)).mappings()
        }
    held_jobs = {j: job.row() for j, job in book.jobs.items()}
    assert {j: stored_jobs[j] for j in held_jobs} == held_jobs
    held = {o.id: o.row() for o in engine.core.outages.open.values()}
    assert {i: stored_outages[i] for i in held} == held
    # Most updates were of a column or two (priorities ageing, estimates renewed).
    assert min(len(cols) for cols in shapes) == 3 and len(max(shapes, key=len)) > 20
    db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(("style", "seed"), [("na_fused", 3), ("eu_ring", 5), ("urban_mesh", 9)])
def test_the_prediction_kept_per_feeder_is_the_prediction_on_everything_every_batch(
    style: str, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a storm (pings answered), the devices found again only on the
    feeders whose evidence changed are, at every batch, those a search of
    every row finds: exact ties included, which rounding in sums taken over
    other rows must not decide."""
    from oms.engine import reconcile
    from oms.engine.prediction import most_likely_faults

    compared: list[int] = []
    kept = reconcile.predict

    def predict(core: Any, table: Any) -> list[int]:
        got = kept(core, table)
        tree, p = core.tree, core.config.prediction
        forced = [tree.position[e] for e in core.devices.tripped if e in tree.position]
        forced += [
            pos
            for o in core.outages.active()
            if o.pinned and (pos := core.position(o.device)) is not None
        ]
        everything = most_likely_faults(
            tree,
            table.nodes,
            table.delta,
            base_call=p.llr_no_call,
            base_meter=table.base_meter,
            fault_cost=p.fault_cost,
            forced=forced,
            barred=reconcile._scada_closed(core),
            row_base=p.llr_no_call
            + np.where(core.units.metered[table.units], table.base_meter, 0.0),
            service_cost=p.service_fault_cost,
        )
        assert got == everything.devices, f"batch {len(compared)} at {core.clock}"
        compared.append(len(got))
        return got

    monkeypatch.setattr(reconcile, "predict", predict)
    net = styled_network(style, seed, n_nodes=6000, meter_share=0.8)
    scenario = simulate_storm(net, StormParams(seed=seed, faults=40))
    db = connect(f"sqlite:///{tmp_path / 'feeders.sqlite'}")
    load_model(db, net, style)
    replay(OutageEngine(db, EngineConfig()), scenario.events, HeadEnd(net, scenario.truth))
    db.dispose()
    assert len(compared) > 50 and max(compared) > 5


@pytest.mark.slow
@pytest.mark.parametrize(
    ("style", "seed", "fci_share"),
    [("na_fused", 3, 0.0), ("eu_ring", 5, 0.5), ("urban_mesh", 9, 0.0)],
)
def test_the_figures_looked_at_per_feeder_are_the_figures_of_everything_every_batch(
    style: str, seed: int, fci_share: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a storm (pings answered, fault indicators on one network), the
    figures of outages on feeders where nothing changed are left as they
    were: after every batch they are, for every outage, what a look at
    every outage and every row finds (customers and critical customers out,
    calls, hazard, faulted section, confirmed by a dead ping)."""
    from oms.engine import reconcile

    compared: list[int] = []
    kept = reconcile.update_figures

    def update_figures(core: Any, table: Any, placed: Any, t: datetime) -> None:
        kept(core, table, placed, t)
        at = f"at batch {len(compared)} ({core.clock})"
        compared.append(check_figures_of_everything(core, table, placed, at))

    monkeypatch.setattr(reconcile, "update_figures", update_figures)
    net = styled_network(style, seed, n_nodes=6000, meter_share=0.8)
    scenario = simulate_storm(net, StormParams(seed=seed, faults=40, fci_share=fci_share))
    db = connect(f"sqlite:///{tmp_path / 'figures.sqlite'}")
    load_model(db, net, style)
    replay(OutageEngine(db, EngineConfig()), scenario.events, HeadEnd(net, scenario.truth))
    db.dispose()
    assert len(compared) > 50 and max(compared) > 5


@pytest.mark.slow
@pytest.mark.parametrize(("style", "seed"), [("na_fused", 3), ("eu_ring", 5), ("urban_mesh", 9)])
def test_the_evidence_table_looked_at_per_unit_is_the_table_of_everything_every_batch(
    style: str, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a storm (pings answered), the evidence table that looks again
    only at units whose evidence changed or whose next time has come is, at
    every batch, the table a look at every unit with live evidence gives:
    every row, every value, and the units to forget."""
    from oms.engine.core import EngineCore
    from oms.engine.timebase import to_seconds

    compared: list[int] = []
    kept = EngineCore.table

    def table(core: EngineCore) -> Any:
        assert core.clock is not None
        args = (
            to_seconds(core.clock),
            core.config.prediction,
            core.units.metered,
            core.units.node,
            core.blinks_until,
        )
        everything = core.ev.table(*args, everything=True)
        got = kept(core)
        at = f"batch {len(compared)} at {core.clock}"
        for name in ("units", "nodes", "delta", "dead", "on", "off", "pdead"):
            assert np.array_equal(getattr(got, name), getattr(everything, name)), (name, at)
        for name in ("dead_t", "since_t", "fresh_t", "gasp_t", "on_t"):
            a, b = getattr(got, name), getattr(everything, name)
            assert np.array_equal(a, b, equal_nan=True), (name, at)
        for name in ("stale", "settled"):
            assert set(getattr(got, name)) == set(getattr(everything, name)), (name, at)
        assert (got.base_meter, got.ami_live) == (everything.base_meter, everything.ami_live)
        compared.append(len(got.units))
        return got

    monkeypatch.setattr(EngineCore, "table", table)
    net = styled_network(style, seed, n_nodes=6000, meter_share=0.8)
    scenario = simulate_storm(net, StormParams(seed=seed, faults=40))
    db = connect(f"sqlite:///{tmp_path / 'evidence.sqlite'}")
    load_model(db, net, style)
    replay(OutageEngine(db, EngineConfig()), scenario.events, HeadEnd(net, scenario.truth))
    db.dispose()
    assert len(compared) > 50 and max(compared) > 100
