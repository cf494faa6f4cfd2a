"""The exact MAP reference (oms.simulation.reference): an oracle for the engine's DP.

Brute force over every set of candidates on tiny networks checks the
reference's dynamic programming; the reference then checks the engine's
``most_likely_faults`` on small ones.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
import pytest
from helpers import build, two_feeders

from oms.config import PredictionParams
from oms.engine.prediction import DeviceTree, most_likely_faults
from oms.simulation.reference import (
    UnitEvidence,
    map_faults,
    objective,
    reference_outages,
    unit_llr,
)
from oms.simulation.scoring import score
from oms.simulation.storms import StormParams, normal_supply, simulate_storm
from topology import Network, attach_customers
from topology.synthetic import synthetic_customers, synthetic_network


@pytest.fixture(scope="module")
def tiny() -> Network:
    return _with_customers(build(two_feeders()), 3, 0.5)


def _with_customers(net: Network, seed: int, meter_share: float) -> Network:
    attach_customers(net, synthetic_customers(net, seed=seed, meter_share=meter_share))
    return net


def _random_evidence(
    net: Network, rng: np.random.Generator, p: float
) -> tuple[UnitEvidence, list[int]]:
    ev = UnitEvidence.silent(net)
    n = len(ev.node)
    ev.call[:] = rng.random(n) < p
    ev.gasp[:] = ev.metered & (rng.random(n) < p)
    ev.ping_dead[:] = rng.random(n) < p / 4
    return ev, []


def _brute(
    tree: DeviceTree,
    node: np.ndarray,
    llr: np.ndarray,
    cost: float,
    forced: list[int],
    barred: tuple[int, ...] = (),
):
    best = -np.inf
    free = [i for i in range(len(tree)) if i not in forced and i not in barred]
    for k in range(len(free) + 1):
        for subset in combinations(free, k):
            best = max(best, objective(tree, node, llr, [*subset, *forced], cost, forced))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_reference_is_the_brute_force_maximum(tiny: Network, seed: int) -> None:
    tree = DeviceTree(tiny, normal_supply(tiny))
    assert 2 <= len(tree) <= 8
    rng = np.random.default_rng(seed)
    params = PredictionParams(fault_cost=float(rng.uniform(0.5, 6)))
    ev, _ = _random_evidence(tiny, rng, float(rng.uniform(0.05, 0.5)))
    llr = unit_llr(ev, params)
    forced = [int(rng.integers(len(tree)))] if seed % 3 == 0 else []
    devices, value = map_faults(tree, ev.node, llr, params.fault_cost, forced)
    assert value == pytest.approx(_brute(tree, ev.node, llr, params.fault_cost, forced))
    assert objective(tree, ev.node, llr, devices, params.fault_cost, forced) == pytest.approx(value)
    assert set(forced) <= set(devices)


@pytest.mark.parametrize("seed", range(6))
def test_barred_devices_are_left_out_of_the_maximum(tiny: Network, seed: int) -> None:
    tree = DeviceTree(tiny, normal_supply(tiny))
    rng = np.random.default_rng(100 + seed)
    # Calls only (no meters expected): a unit's ratio beyond silence is its delta.
    params = PredictionParams(fault_cost=float(rng.uniform(0.5, 6)), ami_delivery=0.0)
    ev, _ = _random_evidence(tiny, rng, float(rng.uniform(0.05, 0.5)))
    llr = unit_llr(ev, params)
    barred = (int(rng.integers(len(tree))),)
    devices, value = map_faults(tree, ev.node, llr, params.fault_cost, [], barred)
    assert value == pytest.approx(_brute(tree, ev.node, llr, params.fault_cost, [], barred))
    assert barred[0] not in devices
    delta = llr - ev.count * params.llr_no_call
    heard = delta != 0
    engine = most_likely_faults(
        tree,
        ev.node[heard],
        delta[heard],
        base_call=params.llr_no_call,
        base_meter=0.0,
        fault_cost=params.fault_cost,
        barred=barred,
    ).devices
    assert objective(tree, ev.node, llr, engine, params.fault_cost) == pytest.approx(value)


def _engine_value(
    tree: DeviceTree, ev: UnitEvidence, p: PredictionParams, service: bool = False
) -> list[int]:
    """The engine's DP on the same evidence, put as the engine's evidence table puts it."""
    base_meter = p.llr_no_gasp if p.ami_delivery > 0 else 0.0
    metered = ev.metered | ev.gasp
    delta = np.where(ev.call, p.llr_call - p.llr_no_call, 0.0)
    delta += np.where(ev.gasp, p.llr_gasp - np.where(metered, base_meter, 0.0), 0.0)
    delta += np.where(ev.ping_dead, p.llr_ping, 0.0)
    heard = ev.call | ev.gasp | ev.ping_dead
    row_base = p.llr_no_call + np.where(metered, base_meter, 0.0)
    return most_likely_faults(
        tree,
        ev.node[heard],
        delta[heard],
        base_call=p.llr_no_call,
        base_meter=base_meter,
        fault_cost=p.fault_cost,
        row_base=row_base[heard] if service else None,
        service_cost=p.service_fault_cost if service else None,
    ).devices


@pytest.mark.parametrize("seed", range(8))
def test_a_customers_own_service_is_the_alternative_to_the_device_above(
    tiny: Network, seed: int
) -> None:
    """With the service alternative, the reference is still the brute-force maximum,
    and the engine's DP reaches it."""
    rng = np.random.default_rng(200 + seed)
    params = PredictionParams(
        fault_cost=float(rng.uniform(0.5, 6)), service_fault_cost=float(rng.uniform(3, 9))
    )
    ev, _ = _random_evidence(tiny, rng, float(rng.uniform(0.05, 0.5)))
    metered = np.bincount(ev.node[ev.metered | ev.gasp], minlength=tiny.n_nodes)
    tree = DeviceTree(tiny, normal_supply(tiny), metered)
    llr = unit_llr(ev, params)
    cost, own = params.fault_cost, params.service_fault_cost
    devices, value = map_faults(tree, ev.node, llr, cost, service_cost=own)
    best = max(
        objective(tree, ev.node, llr, [*subset], cost, service_cost=own)
        for k in range(len(tree) + 1)
        for subset in combinations(range(len(tree)), k)
    )
    assert value == pytest.approx(best)
    assert objective(tree, ev.node, llr, devices, cost, service_cost=own) == pytest.approx(value)
    engine = _engine_value(tree, ev, params, service=True)
    assert objective(tree, ev.node, llr, engine, cost, service_cost=own) == pytest.approx(value)


@pytest.mark.parametrize("seed", range(6))
def test_engine_dp_reaches_the_reference_maximum(seed: int) -> None:
    net = _with_customers(synthetic_network(400, seed=seed), seed, 0.6)
    ev = UnitEvidence.silent(net)
    metered = np.bincount(ev.node[ev.metered], minlength=net.n_nodes)
    tree = DeviceTree(net, normal_supply(net), metered)
    rng = np.random.default_rng(seed)
    # Evidence from a few dead devices, plus noise.
    dead = np.zeros(len(ev.node), dtype=bool)
    tin = tree.supply.tree.tin[ev.node]
    for d in rng.choice(len(tree), size=4, replace=False):
        dead |= (tin >= tree.lo[d]) & (tin < tree.hi[d])
    ev.call[:] = (dead & (rng.random(len(dead)) < 0.15)) | (rng.random(len(dead)) < 0.003)
    ev.gasp[:] = dead & ev.metered & (rng.random(len(dead)) < 0.8)
    for ami in (0.8, 0.0):
        p = replace(PredictionParams(), ami_delivery=ami)
        if ami == 0:
            ev.gasp[:] = False
        llr = unit_llr(ev, p)
        ref, value = map_faults(tree, ev.node, llr, p.fault_cost)
        engine = _engine_value(tree, ev, p)
        assert objective(tree, ev.node, llr, engine, p.fault_cost) == pytest.approx(value)
        assert engine == ref


def test_reference_outages_on_a_storm_find_the_observable_faults() -> None:
    net = _with_customers(synthetic_network(1500, seed=4), 4, 1.0)
    scenario = simulate_storm(net, StormParams(seed=2, faults=12, transformer_share=0.3))
    outages = reference_outages(net, scenario.truth, scenario.events)
    assert all(o["device"] in net.edge_index for o in outages)
    r = score(net, scenario.truth, outages, evidence=scenario.events)
    assert r["observable"] > 0
    assert r["recall"] >= 0.9
    assert r["precision"] >= 0.8
