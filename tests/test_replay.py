"""Storms replayed end to end: the engine dispatches, simulated crews work the jobs.

Covers :mod:`oms.simulation.replay` and :mod:`oms.simulation.crews`: with as many crews as jobs
open at once, arrivals meet their targets; with too few, the breaches fall
on the repair centre's dispatch segment and the capacity alarm fires; crews
report GPS along the road while driving and on a heartbeat otherwise.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from oms.config import EngineConfig
from oms.demodata import demo_network, demo_path
from oms.engine import OutageEngine
from oms.intake.events import parse_time
from oms.simulation.crews import CrewSimulator, _along
from oms.simulation.replay import _response, replay, score_scenario
from oms.simulation.storms import HeadEnd, Scenario, StormParams, simulate_storm
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load, load_model
from topology import Network

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo() -> Network:
    return demo_network()


def companions(crews: str | None = None) -> dict[str, str]:
    return {
        "crews": crews or str(demo_path("crews.csv")),
        "units": str(demo_path("units.csv")),
        "zones": str(demo_path("zones.geojson")),
        "roads": str(demo_path("roads.geojson")),
    }


def run(
    net: Network, scenario: Scenario, tmp: Path, crews: str | None = None
) -> tuple[OutageEngine, dict[str, Any]]:
    db = connect(f"sqlite:///{tmp / 'replay.sqlite'}")
    load_model(db, net, "demo")
    paths = companions(crews)
    load(db, crews=paths["crews"], units=paths["units"], zones=paths["zones"], roads=paths["roads"])
    cfg = EngineConfig()
    cfg = replace(cfg, dispatch=replace(cfg.dispatch, auto_dispatch=True))
    engine = OutageEngine(db, cfg)
    seed = int(scenario.truth["params"]["seed"])
    replay(
        engine,
        scenario.events,
        HeadEnd(net, scenario.truth),
        crews=CrewSimulator(seed=seed, truth=scenario.truth),
    )
    return engine, _response(engine, scenario)["response"]


@pytest.fixture(scope="module")
def enough(demo: Network, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    scenario = simulate_storm(demo, StormParams(seed=11, faults=6, noise_calls=4))
    engine, response = run(demo, scenario, tmp_path_factory.mktemp("enough"))
    return engine, response, scenario


def test_enough_crews_meet_the_arrival_targets(enough: tuple[Any, ...]) -> None:
    _, response, _ = enough
    assert response["jobs"] >= 8
    assert response["crews"] >= response["peak_open_jobs"]
    assert response["arrivals_within_target"] >= 0.95
    assert response["arrival_minutes"]["n"] == response["jobs"]  # every job was reached


def test_every_job_is_restored_and_closed_with_its_stamps_in_order(enough: tuple[Any, ...]) -> None:
    engine, _, _ = enough
    with engine.db.connect() as conn:
        rows = list(conn.execute(select(schema.jobs)).mappings())
    worked = [r for r in rows if r["state"] != "cancelled"]  # merged or momentary
    assert len(worked) >= 8
    for r in worked:
        stamps = {k: parse_time(v) for k, v in r["stamps"].items()}
        assert r["state"] == "closed", r["id"]
        order = [stamps[k] for k in ("A", "B", "C", "D", "E", "F", "G", "H")]
        assert order == sorted(order), r["id"]
        assert stamps["closed"] >= stamps["restored"]


def test_crews_report_gps_along_the_road_while_driving(enough: tuple[Any, ...]) -> None:
    engine, _, _ = enough
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(schema.events.c.payload).order_by(schema.events.c.time, schema.events.c.seq)
        ).scalars()
        events = [json.loads(p) if isinstance(p, str) else p for p in rows]
    by_crew: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e.get("crew"):
            by_crew.setdefault(e["crew"], []).append(e)
    driving_fixes = 0
    for crew_events in by_crew.values():
        moving = False
        for e in crew_events:
            if e["type"] == "job_depart":
                moving = True
            elif e["type"] == "job_arrive":
                moving = False
            elif e["type"] == "crew_gps" and moving:
                driving_fixes += 1
        # No crew goes without a fix for longer than the stale age.
        times = [parse_time(e["time"]) for e in crew_events if e["type"] == "crew_gps"]
        gaps = np.diff([t.timestamp() for t in times])
        assert len(times) > 2 and gaps.max() <= engine.config.dispatch.stale_gps_s
    assert driving_fixes > 0


def test_too_few_crews_breach_at_dispatch_and_raise_the_capacity_alarm(
    demo: Network, tmp_path: Path
) -> None:
    few = tmp_path / "crews.csv"
    with open(demo_path("crews.csv"), newline="", encoding="utf-8") as src:
        reader = csv.DictReader(src)
        rows = [r for r in reader if r["id"] in ("CR01", "CR09", "CR17")]
        fields = reader.fieldnames
    assert fields is not None
    with few.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    scenario = simulate_storm(demo, StormParams(seed=12, faults=10, noise_calls=6))
    engine, response = run(demo, scenario, tmp_path, crews=str(few))
    assert response["peak_open_jobs"] > response["crews"]
    assert response["arrivals_within_target"] < 0.95
    breaches = response["breaches_by_segment"]
    # Waiting for a free crew is the repair centre's dispatch segment (C to D).
    assert breaches["CD"] == max(breaches.values()) > 0
    assert set(response["capacity_alarms"]) >= {"U1", "U2", "U5"}
    with engine.db.connect() as conn:
        breached = conn.execute(
            select(schema.alerts.c.detail).where(schema.alerts.c.kind == "breach")
        ).scalars()
        targets = {(d if isinstance(d, dict) else json.loads(d))["target"] for d in breached}
    assert "CD" in targets


def test_score_scenario_adds_response_and_indices(demo: Network) -> None:
    scenario = simulate_storm(demo, StormParams(seed=13, faults=3, noise_calls=2))
    out = score_scenario(demo, scenario, predictors=("likelihood",), companions=companions())
    result = out["likelihood"]
    assert result["response"]["jobs"] >= 3
    assert 0 <= result["response"]["arrivals_within_target"] <= 1
    assert result["indices"]["SAIFI"] > 0


def test_along_a_path_by_length() -> None:
    path = [[0.0, 0.0], [0.0, 0.001], [0.0, 0.003]]
    assert _along(path, 0.0) == (0.0, 0.0)
    assert _along(path, 1.0) == pytest.approx((0.0, 0.003))
    lon, lat = _along(path, 0.5)
    assert lon == 0 and lat == pytest.approx(0.0015, rel=1e-3)
    assert _along([[5.0, 6.0]], 0.3) == (5.0, 6.0)


def test_a_recalled_crew_stops_its_plan(demo: Network, tmp_path: Path) -> None:
    scenario = simulate_storm(demo, StormParams(seed=14, faults=2, noise_calls=0))
    db = connect(f"sqlite:///{tmp_path / 'recall.sqlite'}")
    load_model(db, demo, "demo")
    paths = companions()
    load(db, crews=paths["crews"], units=paths["units"], zones=paths["zones"], roads=paths["roads"])
    engine = OutageEngine(db, EngineConfig())  # the dispatcher assigns by hand
    sim = CrewSimulator(seed=1, truth=scenario.truth)
    first = parse_time(scenario.events[0]["time"])
    batch = [e for e in scenario.events if parse_time(e["time"]) <= first + timedelta(minutes=20)]
    engine.ingest_objects(enumerate(batch, start=1))
    job = next(j for j in engine.book.jobs.values() if j.state == "waiting")
    now = engine.clock.isoformat()
    action = {"time": now, "job": job.id, "user": "dispatcher"}
    engine.ingest_objects([(len(batch) + 1, {"id": "assign-1", "type": "job_assign", **action})])
    assert job.crew is not None
    sim.respond(engine)
    assert sim.plans[job.crew].job == job.id
    crew = job.crew
    recall = {"id": "recall-1", "type": "job_recall", "reason": "misrouted", **action}
    report = engine.ingest_objects([(len(batch) + 2, recall)])
    assert report.accepted == 1 and job.crew is None
    sim.respond(engine)
    assert crew not in sim.plans


def _fuse_and_above(net: Network) -> tuple[str, str]:
    """A fuse of the demo and the first protective device above it."""
    from topology.traces import upstream

    for e in range(net.n_edges):
        if net.kind_of(e) == "fuse":
            fuse = net.edge_ids[e]
            above = upstream(net, fuse).data["protective_devices"][1:]
            if above:
                return fuse, above[0]
    raise AssertionError("the demo has a fused lateral")


@pytest.mark.parametrize("own_fault", [False, True])
def test_a_crew_below_a_device_still_out_restores_supply_only_with_it(
    demo: Network, own_fault: bool
) -> None:
    # The recloser above the fuse is out 10:00-13:00. A crew sent to the fuse
    # (predicted one level too low, or with a fault of its own repaired at
    # 11:00) cannot bring supply back before the recloser is.
    from types import SimpleNamespace

    from oms.simulation.crews import _Plan

    fuse, above = _fuse_and_above(demo)
    t0 = datetime(2026, 1, 15, 10, tzinfo=timezone.utc)
    faults = [
        {
            "operated": above,
            "start": t0.isoformat(),
            "restored": (t0 + timedelta(hours=3)).isoformat(),
        }
    ]
    if own_fault:
        span = {
            "start": (t0 + timedelta(minutes=5)).isoformat(),
            "restored": (t0 + timedelta(hours=1)).isoformat(),
        }
        faults.append({"operated": fuse, **span})
    sim = CrewSimulator(seed=1, truth={"faults": faults})
    done = t0 + timedelta(minutes=40)
    plan = _Plan(
        "JOB-1", [(done, "job_repaired", {}), (done + timedelta(minutes=1), "job_restored", {})]
    )
    job = SimpleNamespace(
        kind="network", device=fuse, customer=None, stamps={"D": t0 + timedelta(minutes=10)}
    )
    sim._await_truth(plan, job, done, demo)
    restored = next(w for w, e, _ in plan.steps if e == "job_restored")
    assert restored >= t0 + timedelta(hours=3) - timedelta(minutes=2)
