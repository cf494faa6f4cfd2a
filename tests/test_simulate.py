"""Storm scenarios and the AMI head-end: contract-3 events consistent with the truth."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import build, two_feeders

from oms.simulation.storms import HeadEnd, Scenario, StormParams, parse_time, simulate_storm
from topology import Customers, Network, attach_customers

EVENT_FIELDS = {
    "call": set(),
    "ami_last_gasp": {"customer"},
    "ami_restore": {"customer"},
    "scada": {"device", "state"},
    "fci": {"device", "fault"},
}


def with_customers(net: Network, meter_every: int = 1) -> Network:
    """Give ``net`` one listed customer per counted customer, with phones and meters."""
    ids, nodes, phones, meters = [], [], [], []
    for v in np.flatnonzero(net.node_customers):
        for _k in range(int(net.node_customers[v])):
            i = len(ids)
            ids.append(f"C{i:03d}")
            nodes.append(v)
            phones.append(f"+49{i:07d}" if i % 2 else None)
            meters.append(f"M{i:03d}" if i % meter_every == 0 else None)
    attach_customers(
        net, Customers(ids, np.array(nodes), {"phone": phones, "meter": meters, "name": ids})
    )
    return net


@pytest.fixture(scope="module")
def demo() -> Network:
    from oms.demodata import demo_network

    return demo_network()


@pytest.fixture(scope="module")
def storm(demo: Network) -> Scenario:
    return simulate_storm(
        demo, StormParams(faults=20, nested_share=0.5, fci_share=0.2, hazard_rate=0.5, seed=7)
    )


@pytest.fixture
def small() -> Network:
    return with_customers(build(two_feeders()), meter_every=2)


def below(net: Network, device: str) -> set[int]:
    return {int(v) for v in net.supply.downstream_nodes(net.edge(device))}


def customer_of(net: Network, event: dict[str, Any]) -> int:
    customers = net.customers
    assert customers is not None
    if "customer" in event:
        return customers.index[event["customer"]]
    phones = customers.fields["phone"]
    return phones.index(event["phone"])


def active(truth: dict[str, Any], t: Any, momentary: bool | None = None) -> list[dict[str, Any]]:
    return [
        f
        for f in truth["faults"]
        if parse_time(f["start"]) <= t <= parse_time(f["restored"])
        and (momentary is None or f["momentary"] == momentary)
    ]


# ------------------------------------------------------------ determinism
def test_same_seed_same_scenario_other_seed_differs(small: Network) -> None:
    a = simulate_storm(small, StormParams(seed=3))
    b = simulate_storm(small, StormParams(seed=3))
    c = simulate_storm(small, StormParams(seed=4))
    assert a.events == b.events
    assert a.truth == b.truth
    assert (a.events, a.truth) != (c.events, c.truth)
    json.dumps(a.truth)  # serialisable


def test_demo_is_deterministic(demo: Network, storm: Scenario) -> None:
    again = simulate_storm(
        demo, StormParams(faults=20, nested_share=0.5, fci_share=0.2, hazard_rate=0.5, seed=7)
    )
    assert again.events == storm.events
    assert again.truth == storm.truth


def test_default_counts_scale_with_network(demo: Network) -> None:
    scenario = simulate_storm(demo, StormParams(seed=1, ami_rate=0.0))
    params = scenario.truth["params"]
    assert params["faults"] == max(3, int(demo.protective.sum()) // 8)
    assert params["noise_calls"] == max(2, int(demo.node_customers.sum()) // 500)
    assert params["momentaries"] == max(1, params["faults"] // 5)
    kinds = Counter(f["momentary"] for f in scenario.truth["faults"])
    assert kinds[False] == params["faults"]
    assert kinds[True] == params["momentaries"]
    assert len(scenario.truth["single_customer"]) == params["noise_calls"]
    assert not any(e["type"].startswith("ami_") for e in scenario.events)


# ---------------------------------------------------------- contract 3
def test_events_follow_contract_3(demo: Network, storm: Scenario) -> None:
    events = storm.events
    assert events
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "sim-000001"
    times = []
    for e in events:
        assert isinstance(e["id"], str)
        assert e["type"] in EVENT_FIELDS, e
        assert EVENT_FIELDS[e["type"]] <= set(e), e
        t = parse_time(e["time"])
        assert t.utcoffset() == timedelta(0)
        assert e["time"].endswith("+00:00")
        times.append(t)
        if e["type"] == "call":
            refs = [k for k in ("customer", "phone", "node", "lon") if k in e]
            assert len(refs) == 1 and refs[0] in ("customer", "phone"), e
            assert e.get("power", "off") in ("on", "off")
            assert e.get("hazard", "wire_down") == "wire_down"
            customer_of(demo, e)  # known
        elif e["type"] in ("ami_last_gasp", "ami_restore"):
            assert demo.customers is not None
            assert e["customer"] in demo.customers.index
        elif e["type"] == "scada":
            assert e["device"] in demo.edge_index
            assert e["state"] in ("open", "closed")
        else:
            assert e["device"] in demo.edge_index
            assert isinstance(e["fault"], bool)
    assert times == sorted(times)
    assert Counter(e["type"] for e in events).keys() >= {"call", "ami_last_gasp", "scada", "fci"}


def test_write_round_trips(tmp_path: Path, small: Network) -> None:
    scenario = simulate_storm(small, StormParams(seed=2))
    scenario.write(tmp_path / "events.jsonl", tmp_path / "truth.json")
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == scenario.events
    assert json.loads((tmp_path / "truth.json").read_text(encoding="utf-8")) == scenario.truth


def test_network_is_not_modified_and_normal_state_is_used(small: Network) -> None:
    small.operate("TIE1", "closed")
    small.operate("SW1", "open")
    before = small.copy_state()
    scenario = simulate_storm(small, StormParams(faults=6, seed=5))
    assert np.array_equal(small.edge_closed, before)
    small.reset_to_normal()
    for f in scenario.truth["faults"]:
        # The customer counts are those of the normal state.
        assert f["customers"] == small.supply.downstream_customers(small.edge(f["operated"]))


# -------------------------------------------------------------- faults
def test_operated_device_is_nearest_protective_above_fault(demo: Network, storm: Scenario) -> None:
    for f in storm.truth["faults"]:
        if f["momentary"]:
            continue
        e = demo.edge(f["edge"])
        op = demo.edge(f["operated"])
        assert demo.protective[op]
        assert f["kind"] == ("segment" if demo.kind_of(e) in ("line", "cable") else "device")
        child = int(demo.supply.tree.edge_child[e])
        start = int(demo.supply.tree.parent[child]) if child >= 0 else int(demo.edge_from[e])
        path = demo.supply.upstream_edges(start)
        protective = [p for p in path if demo.protective[p]]
        assert protective[0] == op
        assert f["customers"] == demo.supply.downstream_customers(op) > 0


def test_nested_faults_are_below_an_active_parent(demo: Network, storm: Scenario) -> None:
    by_id = {f["id"]: f for f in storm.truth["faults"]}
    nested = [f for f in storm.truth["faults"] if f["nested_in"]]
    assert nested, "nested_share=0.5 should nest some faults"
    for f in nested:
        parent = by_id[f["nested_in"]]
        assert parent["operated"] != f["operated"]
        op = demo.edge(f["operated"])
        assert below(demo, f["operated"]) < below(demo, parent["operated"])
        assert int(demo.supply.tree.edge_child[op]) in below(demo, parent["operated"])
        assert parse_time(parent["start"]) <= parse_time(f["start"])
        assert parse_time(f["start"]) < parse_time(parent["restored"])


def test_scada_events_only_on_scada_devices(demo: Network, storm: Scenario) -> None:
    lockouts: dict[str, list[Any]] = {}
    for e in storm.events:
        if e["type"] != "scada":
            continue
        assert demo.edge_scada[demo.edge(e["device"])], e
        if e.get("lockout"):
            lockouts.setdefault(e["device"], []).append(parse_time(e["time"]))
    sustained = [f for f in storm.truth["faults"] if not f["momentary"]]
    operated = {f["operated"] for f in sustained}
    assert set(lockouts) <= operated
    for f in sustained:
        if demo.edge_scada[demo.edge(f["operated"])] and not f["nested_in"]:
            lags = [(t - parse_time(f["start"])).total_seconds() for t in lockouts[f["operated"]]]
            assert any(0 <= lag <= 5 for lag in lags)
            closes = [
                e
                for e in storm.events
                if e["type"] == "scada" and e["device"] == f["operated"] and e["state"] == "closed"
            ]
            assert any(e["time"] == f["restored"] for e in closes)


def test_calls_come_from_affected_customers_or_noise(demo: Network, storm: Scenario) -> None:
    assert demo.customers is not None
    noise = {s["customer"] for s in storm.truth["single_customer"]}
    n_calls = 0
    for e in storm.events:
        if e["type"] != "call" or e.get("power") == "on":
            continue
        n_calls += 1
        i = customer_of(demo, e)
        if demo.customers.ids[i] in noise:
            continue
        node = int(demo.customers.node[i])
        t = parse_time(e["time"])
        assert any(
            node in below(demo, f["operated"]) for f in active(storm.truth, t, momentary=False)
        ), e
    assert n_calls > 10


def test_hazard_calls_are_on_conductor_faults(demo: Network, storm: Scenario) -> None:
    hazards = [e for e in storm.events if e.get("hazard")]
    assert hazards
    assert demo.customers is not None
    for e in hazards:
        node = int(demo.customers.node[customer_of(demo, e)])
        faults = active(storm.truth, parse_time(e["time"]), momentary=False)
        assert any(f["kind"] == "segment" and node in below(demo, f["operated"]) for f in faults)


def test_last_gasps_follow_a_loss_of_supply(demo: Network, storm: Scenario) -> None:
    assert demo.customers is not None
    truth = storm.truth
    starts: dict[int, list[Any]] = {}
    for f in truth["faults"]:
        for v in below(demo, f["operated"]):
            starts.setdefault(v, []).append(parse_time(f["start"]))
    single = {s["customer"]: parse_time(s["start"]) for s in truth["single_customer"]}
    gasps = [e for e in storm.events if e["type"] == "ami_last_gasp"]
    assert gasps
    for e in gasps:
        t = parse_time(e["time"])
        node = int(demo.customers.node[demo.customers.index[e["customer"]]])
        lost = [*starts.get(node, []), single.get(e["customer"], t + timedelta(days=1))]
        assert any(timedelta(0) <= t - s <= timedelta(seconds=61) for s in lost), e


def test_momentaries_are_short_and_not_lockouts(demo: Network, storm: Scenario) -> None:
    moments = [f for f in storm.truth["faults"] if f["momentary"]]
    assert moments
    for f in moments:
        span = (parse_time(f["restored"]) - parse_time(f["start"])).total_seconds()
        assert 2 <= span <= 60
        assert demo.kind_of(demo.edge(f["operated"])) in ("recloser", "breaker")
        assert f["edge"] == f["operated"]
        if demo.edge_scada[demo.edge(f["operated"])]:
            opens = [
                e
                for e in storm.events
                if e["type"] == "scada"
                and e["device"] == f["operated"]
                and e["state"] == "open"
                and e["time"] == f["start"]
            ]
            assert opens and opens[0]["lockout"] is False
    # No calls come from a momentary alone.
    momentary_only = 0
    for e in storm.events:
        if e["type"] == "call" and e.get("power") != "on":
            momentary_only += not active(storm.truth, parse_time(e["time"]), momentary=False)
    noise = len(storm.truth["single_customer"])
    assert momentary_only <= noise


def test_fault_indicators_point_at_the_fault(demo: Network, storm: Scenario) -> None:
    fci = [e for e in storm.events if e["type"] == "fci"]
    assert fci
    assert storm.truth["fci"] == sorted(storm.truth["fci"])
    indicators = set(storm.truth["fci"])
    for e in fci:
        assert e["device"] in indicators
        assert demo.kind_of(demo.edge(e["device"])) in ("line", "cable")
        t = parse_time(e["time"])
        faults = [f for f in active(storm.truth, t, momentary=False) if f["kind"] == "segment"]
        ok = False
        for f in faults:
            lag = (t - parse_time(f["start"])).total_seconds()
            inside = demo.edge(e["device"]) in set(
                demo.supply.downstream_edges(demo.edge(f["operated"]))
            )
            faulted = demo.edge(f["edge"])
            on_path = e["device"] == f["edge"] or int(
                demo.supply.tree.edge_child[faulted]
            ) in below(demo, e["device"])
            if inside and on_path == e["fault"] and (lag <= 10 or f["nested_in"]):
                ok = True
        assert ok, e


# --------------------------------------------------------- node counts
def test_node_counts_only_calls_name_nodes_and_no_ami() -> None:
    net = build(two_feeders())
    scenario = simulate_storm(net, StormParams(faults=5, call_rate=0.5, seed=11))
    calls = [e for e in scenario.events if e["type"] == "call"]
    assert calls
    assert not any(e["type"].startswith("ami_") for e in scenario.events)
    for e in calls:
        assert set(e) - {"id", "type", "time", "power", "hazard"} == {"node"}
        assert net.node_customers[net.node(e["node"])] > 0
    for s in scenario.truth["single_customer"]:
        assert "node" in s
    assert HeadEnd(net, scenario.truth).answer(["a1"], parse_time(scenario.truth["start"])) == []


def test_network_without_protection_gives_no_faults() -> None:
    feats = [f for f in two_feeders() if f["properties"]["kind"] not in ("fuse",)]
    for f in feats:
        if f["properties"]["kind"] in ("breaker", "recloser"):
            f["properties"]["kind"] = "switch"
    net = build(feats)
    scenario = simulate_storm(net, StormParams(seed=1))
    assert scenario.truth["faults"] == []


# ------------------------------------------------------------- head-end
def expected_energized(net: Network, truth: dict[str, Any], t: Any) -> np.ndarray:
    assert net.customers is not None
    dead: set[int] = set()
    for f in active(truth, t):
        if parse_time(f["restored"]) > t:
            dead |= below(net, f["operated"])
    on = np.array([int(v) not in dead for v in net.customers.node])
    for s in truth["single_customer"]:
        if parse_time(s["start"]) <= t < parse_time(s["restored"]):
            on[net.customers.index[s["customer"]]] = False
    return on


def test_headend_energized_matches_truth(demo: Network, storm: Scenario) -> None:
    head = HeadEnd(demo, storm.truth)
    t0 = parse_time(storm.truth["start"])
    for minutes in (0, 20, 45, 70, 150, 400):
        t = t0 + timedelta(minutes=minutes)
        got = head.energized(t)
        assert got.dtype == bool
        assert np.array_equal(got, expected_energized(demo, storm.truth, t))
    assert head.energized(t0 + timedelta(days=2)).all()
    assert not head.energized(t0 + timedelta(minutes=45)).all()


def test_headend_answers_pings(small: Network) -> None:
    scenario = simulate_storm(small, StormParams(faults=4, seed=9, nested_share=0.0))
    head = HeadEnd(small, scenario.truth, reply_rate=1.0, delay_s=20)
    fault = scenario.truth["faults"][0]
    at = parse_time(fault["start"]) + timedelta(seconds=5)
    assert small.customers is not None
    everyone = list(small.customers.ids)
    replies = head.answer(everyone, at)
    metered = [c for c, m in zip(everyone, small.customers.fields["meter"], strict=True) if m]
    assert [r["customer"] for r in replies] == metered
    expected = head.energized(at + timedelta(seconds=20))
    for r in replies:
        assert r["type"] == "ami_ping_reply"
        assert parse_time(r["time"]) == (at + timedelta(seconds=20)).astimezone(timezone.utc)
        assert r["energized"] is bool(expected[small.customers.index[r["customer"]]])
    assert not all(r["energized"] for r in replies)
    more = head.answer(everyone, at)
    ids = [r["id"] for r in replies + more]
    assert len(set(ids)) == len(ids) and all(i.startswith("ping-") for i in ids)
    assert HeadEnd(small, scenario.truth, reply_rate=0.0).answer(everyone, at) == []
    some = HeadEnd(small, scenario.truth, reply_rate=0.5, seed=1).answer(everyone * 20, at)
    assert 0.3 * 20 * len(metered) < len(some) < 0.7 * 20 * len(metered)


# ------------------------------------------------------------ transformers
def test_transformer_share_places_faults_at_transformers() -> None:
    from topology.synthetic import synthetic_customers, synthetic_network

    net = synthetic_network(1500, seed=2)
    attach_customers(net, synthetic_customers(net, seed=2))
    plain = simulate_storm(net, StormParams(seed=5, faults=30))
    assert all(f["kind"] != "transformer" for f in plain.truth["faults"])
    # The default draws nothing more: the same scenario as share 0.
    zero = simulate_storm(net, StormParams(seed=5, faults=30, transformer_share=0.0))
    assert zero.events == plain.events
    scenario = simulate_storm(net, StormParams(seed=5, faults=30, transformer_share=0.5))
    at_tx = [f for f in scenario.truth["faults"] if f["kind"] == "transformer"]
    assert 5 <= len(at_tx) <= 25
    supply = net.supply
    for f in at_tx:
        e, op = net.edge(f["edge"]), net.edge(f["operated"])
        assert net.kind_of(e) == "transformer"
        # The transformer itself, or the fuse right above it with the same customers.
        if op != e:
            assert net.kind_of(op) == "fuse"
            assert supply.downstream_customers(op) == supply.downstream_customers(e)
        assert f["customers"] == supply.downstream_customers(e) > 0


def test_a_storm_dated_in_the_future_is_scored_in_its_own_time(small: Network) -> None:
    """The engine refuses events from the future on live feeds; a replayed
    simulation runs on its own clock (it accepted 0 events before)."""
    from datetime import datetime

    from oms.simulation.replay import score_scenario

    ahead = datetime.now(timezone.utc) + timedelta(days=400)
    scenario = simulate_storm(small, StormParams(faults=3, seed=3, start=ahead))
    result = score_scenario(small, scenario, predictors=("likelihood",))
    # Every event accepted (and the simulated head-end's ping replies).
    assert result["likelihood"]["events"] >= len(scenario.events) > 0
    assert result["likelihood"]["predicted"] > 0
