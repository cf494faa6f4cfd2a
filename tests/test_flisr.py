"""Fault isolation and service restoration on networks with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import build, edge, node, two_feeders

from topology import (
    IsolationError,
    Network,
    NotEnergizedError,
    TopologyError,
    deenergized,
    isolate,
    restore,
)


def test_isolate_fault_on_trunk_section(net: Network) -> None:
    d = isolate(net, "L2").data
    assert d["open"] == ["R1", "SW1"]
    assert d["deenergized_nodes"] == ["a3", "a4", "a5", "a6"]
    assert d["section_nodes"] == ["a3", "a4"]


def test_isolate_fault_on_lateral_opens_only_the_fuse(net: Network) -> None:
    d = isolate(net, "L4").data
    assert d["open"] == ["F1"]
    assert d["deenergized_nodes"] == ["a7", "a8", "a9"]


def test_isolate_leaves_dead_end_laterals_alone(net: Network) -> None:
    d = isolate(net, "L1").data
    # F1's lateral has no other supply: opening it would change nothing.
    assert d["open"] == ["B1", "R1"]


def test_isolate_refuses_open_or_dead_edges(net: Network) -> None:
    with pytest.raises(TopologyError, match="open"):
        isolate(net, "TIE1")
    net.operate("B3", "open")
    with pytest.raises(NotEnergizedError):
        isolate(net, "L8")


def test_restore_fault_at_feeder_end_only_recloses(net: Network) -> None:
    d = restore(net, "L3")
    data = d.data
    assert data["tripped"] == "R1"
    assert data["open"] == ["SW1"]
    assert data["close"] == ["R1"]
    # Right after isolation a3..a6 are dead (R1 tripped): a3, a4 come back
    # by reclosing R1; a5, a6 sit in the faulted section.
    assert data["restored_customers"] == 7
    assert data["unrestored_customers"] == 13
    assert [s["action"] for s in data["steps"]] == ["open", "close"]


def test_restore_picks_up_downstream_through_tie(net: Network) -> None:
    data = restore(net, "L2").data
    assert data["open"] == ["R1", "SW1"]
    assert data["close"] == ["TIE1"]
    assert data["restored_customers"] == 13
    assert data["unrestored_customers"] == 7
    assert data["pickups"] == [{"tie": "TIE1", "feeder": "B2", "customers": 13}]


def test_restore_respects_capacity_and_sectionalizes(net: Network) -> None:
    # B2 carries 26 and may carry 40: spare 14. a3..a6 (20) do not fit
    # whole; opening SW1 leaves a5, a6 (13), which do.
    data = restore(net, "L1").data
    assert data["tripped"] == "B1"
    assert data["open"] == ["B1", "R1", "SW1"]
    assert data["close"] == ["TIE1"]
    assert data["restored_customers"] == 13
    assert data["unrestored_customers"] == 14
    assert {"action": "open", "device": "SW1", "why": "sectionalize"} in data["steps"]


def test_restore_without_room_restores_nothing_downstream() -> None:
    features = [
        f
        if f["properties"]["id"] != "B2"
        else edge("B2", "breaker", "S2", "b1", capacity_customers=30)
        for f in two_feeders()
    ]
    net = build(features)
    data = restore(net, "L1").data
    assert data["close"] == []
    assert data["restored_customers"] == 0
    assert data["unrestored_customers"] == 27


def test_restore_fault_on_lateral_recloses_nothing(net: Network) -> None:
    data = restore(net, "L4").data
    assert data["tripped"] == "F1"
    assert data["open"] == ["F1"]
    assert data["close"] == []
    assert data["restored_customers"] == 0
    assert data["unrestored_customers"] == 5


def test_restore_result_is_consistent_with_deenergized(net: Network) -> None:
    for faulted in ["L1", "L2", "L3", "L4", "L5", "L6", "L8"]:
        data = restore(net, faulted).data
        final = deenergized(
            net, open=data["open"], close=[c for c in data["close"] if c != data["tripped"]]
        ).data
        interrupted_then_dead = final["customers"]
        assert data["unrestored_customers"] <= interrupted_then_dead, faulted
        faulted_section = isolate(net, faulted).data["section_nodes"]
        assert set(faulted_section) <= set(final["nodes"]), faulted


def test_restore_uses_the_tie_with_room_of_two() -> None:
    features = [
        *two_feeders(),
        node("S3", 7, 3, "source"),
        node("d1", 7, 2, customers=1),
        edge("B4", "breaker", "S3", "d1", capacity_customers=100),
        edge("TIE2", "switch", "d1", "a5", normal_state="open"),
    ]
    net = build(features)
    data = restore(net, "L2").data
    assert data["close"] == ["TIE2"]  # B2 has room for 14 only; B4 for 99
    assert data["pickups"][0]["feeder"] == "B4"
    assert data["restored_customers"] == 13
    assert np.all(net.edge_closed == net.edge_normal_closed)  # query left no trace


@pytest.mark.parametrize("seed", range(25))
def test_restore_plan_properties_on_random_networks(seed: int) -> None:
    from helpers import random_network

    from topology.supply import SpanningTree

    net = random_network(seed, n=80, extra=seed % 4, sources=2 + seed % 2, capacity=True)
    energized = net.supply.energized.copy()
    for e in np.flatnonzero(net.edge_closed & ~net.operable)[:15]:
        faulted = net.edge_ids[e]
        a, b = net.edge_from[e], net.edge_to[e]
        if not (energized[a] or energized[b]):
            continue
        try:
            data = restore(net, faulted).data
        except IsolationError:
            continue
        iso = isolate(net, faulted).data
        closed = net.edge_closed.copy()
        for d in data["open"]:
            closed[net.edge(d)] = False
        for d in data["close"]:
            closed[net.edge(d)] = True
        tree = SpanningTree(
            net.n_nodes, np.flatnonzero(closed), net.edge_from, net.edge_to, net.sources
        )
        alive = tree.reached[: net.n_nodes]
        # the faulted section stays dead
        assert not alive[[net.node(v) for v in iso["section_nodes"]]].any(), faulted
        # nothing that had supply and still has it is counted; the sums add up
        # no ties picked up beyond a breaker's capacity
        for pick in data["pickups"]:
            if pick["feeder"] is None:
                continue
            br = net.edge(pick["feeder"])
            cap = net.edge_capacity[br]
            if np.isfinite(cap) and tree.edge_child[br] >= 0:
                below = tree.subtree(int(tree.edge_child[br]))
                assert net.node_customers[below].sum() <= cap, (faulted, pick)
        # the query left the network as it was
        assert np.array_equal(net.edge_closed, net.edge_normal_closed)


def test_a_section_holding_a_source_cannot_be_isolated() -> None:
    net = build(
        [node("S", 0, 0, "source"), node("n", 1, 0, customers=1), edge("L", "line", "S", "n")]
    )
    with pytest.raises(IsolationError, match="holds source S"):
        isolate(net, "L")
