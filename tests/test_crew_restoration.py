"""Crew-driven restoration (issue 16 item 7): supply back when crews have done the work.

Covers the storm truth's ``repair_minutes`` and ``depends``
(:mod:`oms.simulation.storms`), :class:`oms.simulation.storms.Restoration`,
the simulated crews' work (:mod:`oms.simulation.crews`) and the replay and
scoring in both modes (:func:`oms.simulation.replay.score_scenario`): the
default mode is unchanged, and fewer crews restore later than more crews.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from oms.demodata import demo_network
from oms.simulation.companions import companions
from oms.simulation.crews import CrewSimulator, _Plan
from oms.simulation.replay import score_scenario
from oms.simulation.storms import Restoration, Scenario, StormParams, simulate_storm
from topology import Network
from topology.synthetic.styles import styled_network
from topology.traces import upstream

T0 = datetime(2026, 1, 15, 10, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo() -> Network:
    return demo_network()


@pytest.fixture(scope="module")
def storm(demo: Network) -> Scenario:
    return simulate_storm(demo, StormParams(seed=11, faults=6, noise_calls=4))


def _fuse_and_above(net: Network) -> tuple[str, str]:
    """A fuse of the demo and the first protective device above it."""
    for e in range(net.n_edges):
        if net.kind_of(e) == "fuse":
            fuse = net.edge_ids[e]
            above = upstream(net, fuse).data["protective_devices"][1:]
            if above:
                return fuse, above[0]
    raise AssertionError("the demo has a fused lateral")


def _fault(fid: str, device: str, start: datetime, minutes: float) -> dict[str, Any]:
    return {
        "id": fid,
        "operated": device,
        "start": start.isoformat(),
        "restored": (start + timedelta(hours=1)).isoformat(),
        "repair_minutes": minutes,
        "momentary": False,
    }


# ------------------------------------------------------------------ truth
def test_the_storm_events_are_those_before_repair_minutes_existed(storm: Scenario) -> None:
    # The events of this storm hashed before crew-driven restoration was
    # added: repair minutes come from a random stream of their own.
    digest = hashlib.sha256(json.dumps(storm.events, sort_keys=True).encode()).hexdigest()
    assert digest == "2628264487520062e67e29b508b035303d54ce75be6d90dae5ee439ef28fb6ce"


def test_every_fault_and_problem_has_its_work_and_events_their_dependencies(
    storm: Scenario,
) -> None:
    truth = storm.truth
    sustained = [f for f in truth["faults"] if not f["momentary"]]
    assert all(f["repair_minutes"] >= 10 for f in sustained)
    assert all("repair_minutes" not in f for f in truth["faults"] if f["momentary"])
    assert all(x["repair_minutes"] >= 10 and x["id"] for x in truth["single_customer"])
    ids = {e["id"]: e for e in storm.events}
    known = {f["id"] for f in truth["faults"]} | {x["id"] for x in truth["single_customer"]}
    assert set(truth["depends"]) <= set(ids)
    kinds: dict[str, int] = {}
    for eid, dep in truth["depends"].items():
        event = ids[eid]
        assert set(dep.get("after", [])) <= known
        kind = event["type"] + ("/" + dep["supply"] if "supply" in dep else "")
        kinds[kind] = kinds.get(kind, 0) + 1
        if event["type"] == "ami_restore":
            assert dep["after"] and dep["supply"] == "on"
        if event["type"] == "call" and event.get("power") != "on":
            assert dep["supply"] == "off"
    assert kinds.get("ami_restore/on", 0) > 0 and kinds.get("call/off", 0) > 0
    # Every SCADA close of a sustained fault follows that fault's restoration.
    closes = [e for e in storm.events if e["type"] == "scada" and e["state"] == "closed"]
    assert any(truth["depends"].get(e["id"], {}).get("after") for e in closes)


def test_another_seed_draws_other_repair_minutes(demo: Network) -> None:
    a = simulate_storm(demo, StormParams(seed=1, faults=6))
    b = simulate_storm(demo, StormParams(seed=2, faults=6))
    minutes = [[f.get("repair_minutes") for f in s.truth["faults"]] for s in (a, b)]
    assert minutes[0] != minutes[1]


# ------------------------------------------------------------ restoration
def test_crews_mode_keeps_faults_out_until_restored_and_nested_ones_behind_the_upper(
    demo: Network,
) -> None:
    fuse, above = _fuse_and_above(demo)
    truth = {
        "start": T0.isoformat(),
        "end": (T0 + timedelta(hours=2)).isoformat(),
        "faults": [
            _fault("fault-1", above, T0, 60),
            _fault("fault-2", fuse, T0 + timedelta(minutes=5), 30),
        ],
        "single_customer": [],
    }
    assert Restoration(demo, truth).restored["fault-1"] == T0 + timedelta(hours=1)
    r = Restoration(demo, truth, "crews")
    assert r.out("fault-1", T0 + timedelta(days=3))  # nobody has worked it
    assert r.above("fault-2") == ["fault-1"] and r.at_device(fuse) == ["fault-2"]
    assert "fault-2" in r.below(above)
    customers = demo.customers
    assert customers is not None
    below_fuse = [
        customers.ids[i]
        for i in range(len(customers))
        if fuse in upstream(demo, demo.node_ids[int(customers.node[i])]).data["path"]
    ]
    ref = {"customer": below_fuse[0]}
    r.restore("fault-2", T0 + timedelta(minutes=50))
    at = T0 + timedelta(minutes=70)
    assert not r.supplied(ref, at)  # repaired under a fault still out
    r.restore("fault-1", T0 + timedelta(minutes=80))
    assert r.supplied(ref, T0 + timedelta(minutes=81))
    # An AMI restore that followed fault-2 moves with the later restoration...
    dep = {"after": ["fault-2"], **ref, "supply": "on"}
    moved = r.moved(dep, T0 + timedelta(minutes=65, seconds=30))  # 30 s after the truth
    assert moved == T0 + timedelta(minutes=50, seconds=30)
    # ...and is not true then (fault-1 still holds the meter out).
    assert moved is not None and not r.holds(dep, moved)
    assert r.holds(dep, T0 + timedelta(minutes=81))
    with pytest.raises(ValueError, match="already restored"):
        r.restore("fault-1", T0)
    with pytest.raises(ValueError, match="restoration mode"):
        Restoration(demo, truth, "wishful")


def _plan(arrive: datetime) -> _Plan:
    safe = arrive + timedelta(minutes=10)
    steps = [
        (arrive, "job_arrive", {}),
        (safe, "job_made_safe", {}),
        (safe + timedelta(minutes=45), "job_repaired", {}),
        (safe + timedelta(minutes=47), "job_restored", {}),
        (
            safe + timedelta(minutes=57),
            "job_close",
            {"closeout": {"cause": "storm damage", "outage_start": T0.isoformat()}},
        ),
    ]
    return _Plan("JOB-1", steps, arrive=arrive)


def _play(sim: CrewSimulator, plan: _Plan, job: Any, net: Network) -> list[tuple[datetime, str]]:
    """Play one crew's plan to its end, a minute at a time."""
    out = []
    now = plan.steps[0][0]
    while plan.steps:
        horizon = now + timedelta(minutes=1)
        sim._work("CR1", plan, job, horizon, net)
        while plan.steps and plan.steps[0][0] <= horizon:
            w, e, x = plan.steps.pop(0)
            out.append((w, e, x))
        now = horizon
    return out


def test_a_crew_where_nothing_failed_patrols_and_closes_no_fault_found(demo: Network) -> None:
    fuse, above = _fuse_and_above(demo)
    truth = {"faults": [_fault("fault-1", fuse, T0, 60)], "single_customer": []}
    r = Restoration(demo, truth, "crews")
    sim = CrewSimulator(seed=1, truth=truth, restoration=r)
    # A transformer elsewhere: no fault at it, above it or below it.
    other = next(
        demo.edge_ids[e]
        for e in range(demo.n_edges)
        if demo.kind_of(e) == "transformer"
        and fuse not in upstream(demo, demo.edge_ids[e]).data["path"]
        and demo.edge_ids[e] not in (fuse, above)
    )
    job = SimpleNamespace(id="JOB-1", kind="network", device=other, customer=None)
    arrive = T0 + timedelta(minutes=30)
    played = _play(sim, _plan(arrive), job, demo)
    kinds = [e for _, e, _ in played]
    assert kinds == ["job_arrive", "job_restored", "job_close"]
    restored = played[1][0]
    assert arrive + timedelta(minutes=15) <= restored <= arrive + timedelta(minutes=30)
    assert played[2][2]["closeout"]["cause"] == "no fault found"
    assert sim.no_fault == {"JOB-1"}
    assert r.out("fault-1", T0 + timedelta(days=1))  # nothing was done to it


def test_a_crew_below_the_fault_takes_it_on_and_restores_after_both_repairs(
    demo: Network,
) -> None:
    fuse, above = _fuse_and_above(demo)
    truth = {
        "faults": [_fault("fault-1", above, T0, 90), _fault("fault-2", fuse, T0, 30)],
        "single_customer": [],
    }
    r = Restoration(demo, truth, "crews")
    sim = CrewSimulator(seed=1, truth=truth, restoration=r)
    job = SimpleNamespace(id="JOB-1", kind="network", device=fuse, customer=None)
    arrive = T0 + timedelta(minutes=20)
    played = _play(sim, _plan(arrive), job, demo)
    safe = arrive + timedelta(minutes=10)
    # The fuse's own 30 minutes, then the recloser above it: 90 more.
    assert r.restored["fault-2"] == safe + timedelta(minutes=32)
    assert r.restored["fault-1"] == safe + timedelta(minutes=32 + 92)
    restored = next(w for w, e, _ in played if e == "job_restored")
    assert restored == r.restored["fault-1"]
    close = next(x for _, e, x in played if e == "job_close")
    assert close["closeout"]["outage_end"] == restored.isoformat()
    assert sim.no_fault == set()


def test_a_crew_called_away_leaves_its_work_done_to_the_next(demo: Network) -> None:
    fuse, _ = _fuse_and_above(demo)
    truth = {"faults": [_fault("fault-1", fuse, T0, 60)], "single_customer": []}
    r = Restoration(demo, truth, "crews")
    sim = CrewSimulator(seed=1, truth=truth, restoration=r)
    job = SimpleNamespace(id="JOB-1", kind="network", device=fuse, customer=None)
    plan = _plan(T0)
    safe = T0 + timedelta(minutes=10)
    sim._work("CR1", plan, job, safe, demo)
    assert r.claimed == {"fault-1": "CR1"}
    sim._leave(plan, safe + timedelta(minutes=20))
    assert r.claimed == {} and r.remaining_s("fault-1") == 40 * 60


# ------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def styled() -> tuple[Network, Scenario]:
    net = styled_network("na_overhead", seed=3, n_nodes=800)
    return net, simulate_storm(net, StormParams(seed=3, faults=8, span_minutes=60))


@pytest.mark.slow
def test_the_default_mode_is_the_truth_mode(
    styled: tuple[Network, Scenario], tmp_path: Path
) -> None:
    net, scenario = styled
    paths = companions(net, tmp_path, seed=3)
    runs = [
        score_scenario(net, scenario, predictors=("likelihood",), companions=paths, **kw)
        for kw in ({}, {"restoration": "truth"})
    ]
    for run in runs:
        run["likelihood"].pop("seconds")
    assert runs[0] == runs[1]
    assert "mode" not in runs[0]["likelihood"]["restoration"]


@pytest.mark.slow
def test_fewer_crews_restore_later_than_more_crews(
    styled: tuple[Network, Scenario], tmp_path: Path
) -> None:
    net, scenario = styled
    out = {}
    for per_feeder in (0.4, 3.0):
        paths = companions(net, tmp_path / str(per_feeder), seed=3, crews_per_feeder=per_feeder)
        result = score_scenario(
            net, scenario, predictors=("likelihood",), companions=paths, restoration="crews"
        )["likelihood"]
        out[per_feeder] = result
    few, many = out[0.4], out[3.0]
    assert few["response"]["crews"] < many["response"]["crews"]
    assert few["restoration"]["mode"] == "crews"
    t90 = {k: v["restoration"]["truth"]["t90_min"] for k, v in out.items()}
    assert t90[3.0] is not None
    assert t90[0.4] is None or t90[0.4] > t90[3.0]
    # With enough crews every sustained fault was restored by one.
    sustained = {f["id"] for f in scenario.truth["faults"] if not f["momentary"]}
    assert not sustained & set(many["restoration"]["unrestored"])
    assert many["restoration"]["truth"]["customers_interrupted"] > 0
    with pytest.raises(ValueError, match="needs crews"):
        score_scenario(net, scenario, predictors=("likelihood",), restoration="crews")
