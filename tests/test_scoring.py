"""Scoring predicted outages against ground truth (DESIGN.md, "Fault location")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from helpers import build, two_feeders

from oms.simulation.scoring import score
from oms.simulation.storms import Scenario, StormParams, simulate_storm
from topology import Network

T0 = datetime(2026, 1, 15, 14, 0, tzinfo=timezone.utc)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def fault(
    fid: str,
    edge: str,
    operated: str,
    start: float,
    restored: float,
    nested_in: str | None = None,
    momentary: bool = False,
) -> dict[str, Any]:
    return {
        "id": fid,
        "edge": edge,
        "kind": "segment" if edge.startswith("L") else "device",
        "operated": operated,
        "start": at(start),
        "restored": at(restored),
        "customers": 0,
        "nested_in": nested_in,
        "momentary": momentary,
    }


def truth(*faults: dict[str, Any], single: int = 0) -> dict[str, Any]:
    return {
        "params": {},
        "start": at(0),
        "end": at(600),
        "faults": list(faults),
        "single_customer": [{"node": "b2", "time": at(5)} for _ in range(single)],
        "fci": [],
    }


def outage(
    oid: str,
    device: str | None,
    start: float,
    restored: float | None = None,
    kind: str = "network",
    state: str = "predicted",
    located: float | None = None,
) -> dict[str, Any]:
    return {
        "id": oid,
        "kind": kind,
        "device": device,
        "state": state,
        "started": at(start),
        "restored": None if restored is None else at(restored),
        "located_at": at(start if located is None else located),
    }


def call(node: str, minutes: float, **extra: Any) -> dict[str, Any]:
    return {"id": f"c-{node}-{minutes}", "type": "call", "time": at(minutes), "node": node, **extra}


@pytest.fixture
def net() -> Network:
    return build(two_feeders())


FUSE = fault("fault-1", "L4", "F1", 0, 120)  # 5 customers at a9
RECLOSER = fault("fault-2", "L2", "R1", 10, 90)  # 20 customers, a3..a6


# ----------------------------------------------------------- the results
def test_perfect_prediction_is_all_right(net: Network) -> None:
    r = score(net, truth(FUSE, RECLOSER), [outage("o1", "F1", 2), outage("o2", "R1", 12, 90)])
    assert r["faults"] == r["observable"] == r["right"] == 2
    assert r["accuracy"] == 1.0
    assert r["false"] == 0 and r["false_rate"] == 0.0
    assert r["missed"] == r["one_level"] == r["wrong"] == 0
    assert {p["fault"]: p["outage"] for p in r["per_fault"]} == {"fault-1": "o1", "fault-2": "o2"}


def test_device_cutting_off_the_same_customers_is_right(net: Network) -> None:
    for device in ("X1", "L4"):  # below F1, but the same 5 customers
        r = score(net, truth(FUSE), [outage("o1", device, 3)])
        assert r["right"] == 1, device
        assert r["per_fault"][0]["device"] == device
    # SW1 is below R1 but cuts off fewer customers: not right.
    r = score(net, truth(RECLOSER), [outage("o1", "SW1", 12)])
    assert r["right"] == 0


def test_one_level_above_or_below(net: Network) -> None:
    r = score(net, truth(FUSE), [outage("o1", "B1", 1)])
    assert (r["right"], r["one_level"], r["accuracy"]) == (0, 1, 0.0)
    assert r["per_fault"][0]["result"] == "one_level"
    below = fault("fault-3", "L1", "B1", 0, 60)
    for device in ("R1", "F1"):
        r = score(net, truth(below), [outage("o1", device, 1)])
        assert r["one_level"] == 1, device
    assert r["false"] == 0


def test_wrong_device_in_the_same_feeder(net: Network) -> None:
    r = score(net, truth(RECLOSER), [outage("o1", "SW1", 12)])
    assert r["wrong"] == 1 and r["false"] == 0
    assert r["per_fault"][0]["result"] == "wrong"
    # Another feeder's device is not an answer at all.
    r = score(net, truth(RECLOSER), [outage("o1", "B3", 12)])
    assert (r["wrong"], r["missed"], r["false"]) == (0, 1, 1)


def test_missing_prediction_is_missed(net: Network) -> None:
    r = score(net, truth(FUSE, RECLOSER), [outage("o2", "R1", 12)])
    assert (r["right"], r["missed"], r["observable"]) == (1, 1, 2)
    assert r["accuracy"] == 0.5
    assert r["predicted"] == 1 and r["false_rate"] == 0.0
    assert {p["fault"]: p["result"] for p in r["per_fault"]}["fault-1"] == "missed"


def test_extra_outages_are_false(net: Network) -> None:
    outages = [
        outage("o1", "F1", 2),
        outage("o2", "B2", 20, 40),  # nothing there
        outage("o3", "F1", 200, 210),  # right device, after the fault was restored
    ]
    r = score(net, truth(FUSE), outages)
    assert r["right"] == 1
    assert (r["predicted"], r["false"]) == (3, 2)
    assert r["false_rate"] == pytest.approx(2 / 3)


def test_outage_must_overlap_the_fault_in_time(net: Network) -> None:
    r = score(net, truth(FUSE), [outage("o1", "F1", 121, 150)])
    assert (r["missed"], r["false"]) == (1, 1)


def test_cancelled_outages_are_ignored(net: Network) -> None:
    r = score(net, truth(FUSE), [outage("o1", "F1", 2, state="cancelled")])
    assert (r["predicted"], r["missed"], r["false"]) == (0, 1, 0)
    assert r["false_rate"] is None


def test_each_outage_serves_one_fault(net: Network) -> None:
    # Two faults under B1, one outage at B1: one level off for both, but it
    # can only count once; the roll-up climbed too high.
    r = score(net, truth(FUSE, RECLOSER), [outage("o1", "B1", 11)])
    assert r["one_level"] == 1 and r["missed"] == 1
    assert r["false"] == 0


def test_best_match_first(net: Network) -> None:
    # B1 is one level off for F1 and R1; F1 right for F1: F1 takes o2 and
    # R1 gets B1.
    r = score(net, truth(FUSE, RECLOSER), [outage("o1", "B1", 11), outage("o2", "F1", 1)])
    results = {p["fault"]: (p["outage"], p["result"]) for p in r["per_fault"]}
    assert results == {"fault-1": ("o2", "right"), "fault-2": ("o1", "one_level")}


# ------------------------------------------------------- observability
def test_fault_without_evidence_is_not_observable(net: Network) -> None:
    t = truth(FUSE, RECLOSER)
    evidence = [call("a9", 5), call("c2", 20), call("a3", 95), call("a4", 30, power="on")]
    r = score(net, t, [outage("o1", "F1", 6)], evidence=evidence)
    assert (r["faults"], r["observable"], r["right"], r["missed"]) == (2, 1, 1, 0)
    assert {p["fault"]: p["result"] for p in r["per_fault"]}["fault-2"] == "unobservable"
    # A SCADA open of the operated device is evidence too.
    scada = {"id": "s1", "type": "scada", "time": at(10), "device": "R1", "state": "open"}
    r = score(net, t, [outage("o1", "F1", 6)], evidence=[*evidence, scada])
    assert (r["observable"], r["missed"]) == (2, 1)


def test_nested_fault_masked_while_parent_is_out(net: Network) -> None:
    parent = fault("fault-1", "L1", "B1", 0, 120)
    child = fault("fault-2", "L4", "F1", 10, 60, nested_in="fault-1")
    evidence = [call("a1", 5), call("a9", 20)]
    r = score(net, truth(parent, child), [outage("o1", "B1", 6)], evidence=evidence)
    assert (r["observable"], r["right"], r["missed"], r["false"]) == (1, 1, 0, 0)
    assert r["accuracy"] == 1.0
    # Without evidence every unmasked fault counts: still only the parent.
    r = score(net, truth(parent, child), [outage("o1", "B1", 6)])
    assert r["observable"] == 1


def test_nested_fault_observable_after_parent_restored(net: Network) -> None:
    parent = fault("fault-1", "L1", "B1", 0, 120)
    child = fault("fault-2", "L4", "F1", 10, 180, nested_in="fault-1")
    t = truth(parent, child)
    outages = [outage("o1", "B1", 6, 120), outage("o2", "F1", 125, located=125)]
    # The a9 call during the parent's outage is the parent's evidence.
    r = score(net, t, outages, evidence=[call("a1", 5), call("a9", 20)])
    assert (r["observable"], r["right"], r["false"]) == (1, 1, 0)  # o2 not false either
    r = score(net, t, outages, evidence=[call("a1", 5), call("a9", 122)])
    assert (r["observable"], r["right"], r["false"]) == (2, 2, 0)
    assert r["time_to_right_s"]["n"] == 2
    assert r["time_to_right_s"]["median"] == pytest.approx((60 + 180) / 2)


def test_time_to_right(net: Network) -> None:
    outages = [outage("o1", "F1", 8, located=8), outage("o2", "R1", 12, located=30)]
    evidence = [call("a9", 5), call("a4", 15), call("a9", 2)]  # file order is not time order
    r = score(net, truth(FUSE, RECLOSER), outages, evidence=evidence)
    assert r["right"] == 2
    ttr = r["time_to_right_s"]
    assert ttr["n"] == 2
    assert ttr["median"] == pytest.approx((360 + 900) / 2)
    assert ttr["p90"] == pytest.approx(360 + 0.9 * 540)


def test_momentaries_and_single_customers_are_counted(net: Network) -> None:
    blink = fault("fault-9", "R1", "R1", 30, 30.5, momentary=True)
    t = truth(FUSE, blink, single=2)
    outages = [
        outage("o1", "F1", 1),
        outage("m1", "R1", 30, 30.5, kind="momentary"),
        outage("s1", None, 6, kind="single_customer"),
    ]
    r = score(net, t, outages)
    assert r["faults"] == 1 and r["right"] == 1
    assert r["momentary"] == {"faults": 1, "detected": 1}
    assert r["single_customer"] == {"truth": 2, "predicted": 1}
    assert r["predicted"] == 1 and r["false"] == 0
    r = score(net, t, [outage("m1", "B2", 30, 31, kind="momentary")])
    assert r["momentary"]["detected"] == 0


# ---------------------------------------------------------- simulated
@pytest.fixture(scope="module")
def demo_storm() -> tuple[Network, Scenario]:
    from oms.demodata import demo_network

    demo = demo_network()
    return demo, simulate_storm(demo, StormParams(faults=20, nested_share=0.4, seed=13))


def test_truth_as_prediction_scores_perfectly(demo_storm: tuple[Network, Scenario]) -> None:
    demo, scenario = demo_storm
    outages = [
        outage("", None, 0)
        | {
            "id": f"o{k}",
            "kind": "momentary" if f["momentary"] else "network",
            "device": f["operated"],
            "started": f["start"],
            "restored": f["restored"],
            "located_at": f["start"],
        }
        for k, f in enumerate(scenario.truth["faults"])
    ]
    r = score(demo, scenario.truth, outages, evidence=scenario.events)
    assert r["faults"] == 20
    assert 0 < r["observable"] <= 20
    assert r["accuracy"] == 1.0
    assert r["right"] == r["observable"]
    assert r["false"] == 0 and r["missed"] == 0
    assert r["momentary"]["detected"] == r["momentary"]["faults"] > 0
    assert r["time_to_right_s"]["n"] == r["right"]
    # Rolling every outage up to its feeder breaker is much worse.
    breaker = demo.kind_mask("breaker")
    rolled = []
    for o in outages:
        if o["kind"] != "network":
            continue
        path = demo.supply.upstream_edges(int(demo.edge_from[demo.edge(o["device"])]))
        top = [p for p in [demo.edge(o["device"]), *path] if breaker[p]]
        rolled.append(o | {"device": demo.edge_ids[top[-1]]})
    r2 = score(demo, scenario.truth, rolled, evidence=scenario.events)
    assert r2["accuracy"] < 0.8
    assert r2["right"] + r2["one_level"] + r2["wrong"] + r2["missed"] == r2["observable"]


# --------------------------------------------- levels, F1, customers, ETRs
def test_too_high_and_too_low(net: Network) -> None:
    r = score(net, truth(FUSE), [outage("o1", "B1", 1)])
    assert (r["too_high"], r["too_low"]) == (1, 0)
    assert r["per_fault"][0]["level"] == "too_high"
    r = score(net, truth(RECLOSER), [outage("o1", "SW1", 12)])
    assert (r["too_high"], r["too_low"], r["wrong"]) == (0, 1, 1)
    r = score(net, truth(FUSE), [outage("o1", "F1", 1)])
    assert (r["too_high"], r["too_low"]) == (0, 0)
    assert r["per_fault"][0]["level"] is None


def test_precision_recall_f1(net: Network) -> None:
    r = score(net, truth(FUSE, RECLOSER), [outage("o1", "F1", 2), outage("o2", "B3", 12)])
    assert (r["right"], r["predicted"], r["observable"]) == (1, 2, 2)
    assert r["precision"] == r["recall"] == r["f1"] == 0.5
    r = score(net, truth(FUSE), [])
    assert r["precision"] is None and r["f1"] is None and r["recall"] == 0.0


def test_customers_out_error(net: Network) -> None:
    # Exactly right over the fault's life: no error.
    r = score(net, truth(FUSE), [outage("o1", "F1", 0, 120)], step_s=60)
    assert r["customers_out"]["mae"] == 0.0
    assert r["customers_out"]["truth_peak"] == 5
    # The breaker instead of the fuse: every customer of B1's feeder out.
    r = score(net, truth(FUSE), [outage("o1", "B1", 0, 120)], step_s=60)
    assert r["customers_out"]["predicted_peak"] == 27
    assert r["customers_out"]["mae"] == pytest.approx(22.0)


def test_etr_accuracy(net: Network) -> None:
    etrs = {"o1": {"first": at(60), "final": at(130)}, "o2": {"first": at(100), "final": None}}
    r = score(
        net,
        truth(FUSE, RECLOSER),
        [outage("o1", "F1", 2), outage("o2", "R1", 12)],
        etrs=etrs,
    )
    e = r["etr"]
    assert e["n"] == 2
    # FUSE restored at 120: first ETR 60 min early, final 10 late; RECLOSER at 90: 10 late.
    assert e["first_mae_min"] == pytest.approx(35.0)
    assert e["final_mae_min"] == pytest.approx(10.0)
    assert e["restored_before_first"] == 0.5
    assert e["restored_before_final"] == 1.0
    assert score(net, truth(FUSE), [outage("o1", "F1", 2)])["etr"]["n"] == 0


def test_restoration_times_and_critical_minutes(net: Network) -> None:
    """FUSE (5 customers, out 0-120) and RECLOSER (20 customers, out 10-90): half
    the 25 customers are back at 90 min, all at 120; a life-support customer
    at a9 is out 120 minutes, one at a5 80."""
    from topology.model import Customers

    r = score(net, truth(FUSE, RECLOSER), [outage("o1", "B1", 0, 60)])["restoration"]
    assert (r["truth"]["customers_interrupted"], r["truth"]["t50_min"]) == (25, 90.0)
    assert (r["truth"]["t90_min"], r["truth"]["t100_min"]) == (120.0, 120.0)
    # As recorded: the breaker's 27 customers, all back at 60 minutes.
    assert (r["recorded"]["customers_interrupted"], r["recorded"]["t100_min"]) == (27, 60.0)
    r = r["truth"]
    nodes = [net.node_index[v] for v in ("a9", "a9", "a5", "b1")]
    net.set_customers(
        Customers(
            ["c1", "c2", "c3", "c4"],
            nodes,
            {"critical": ["life_support", None, "hospital", "water"]},
        )
    )
    r = score(net, truth(FUSE, RECLOSER), [])["restoration"]["truth"]
    assert r["customers_interrupted"] == 3
    assert r["critical"] == {"interrupted": 2, "minutes": 200.0, "max_minutes": 120.0}
    # Restored after the storm's end: its time counts; the critical minutes
    # are counted up to the end.
    r = score(net, truth(fault("f", "L4", "F1", 0, 10_000)), [])["restoration"]["truth"]
    assert r["t100_min"] == 10_000.0 and r["critical"]["minutes"] == 600.0
