"""Every trace on the hand-built two-feeder network, whose answers are known."""

from __future__ import annotations

import pytest

from topology import (
    ElementNotFound,
    Network,
    NotEnergizedError,
    NotOperableError,
    TopologyError,
    deenergized,
    downstream,
    feeder,
    loops,
    path,
    upstream,
)


def test_upstream_from_a_node_on_a_lateral(net: Network) -> None:
    d = upstream(net, "a9").data
    assert d == {
        "element": "a9",
        "source": "S1",
        "path": ["X1", "L4", "F1", "L1", "B1", "T1"],
        "protective_devices": ["F1", "B1"],
    }


def test_upstream_from_an_edge_starts_with_it(net: Network) -> None:
    d = upstream(net, "L2").data
    assert d["path"] == ["L2", "R1", "L1", "B1", "T1"]
    assert d["protective_devices"] == ["R1", "B1"]


def test_upstream_of_source_is_empty(net: Network) -> None:
    assert upstream(net, "S1").data == {
        "element": "S1",
        "source": "S1",
        "path": [],
        "protective_devices": [],
    }


def test_upstream_follows_the_tie_when_it_is_closed(net: Network) -> None:
    net.operate("R1", "open")
    net.operate("TIE1", "closed")
    d = upstream(net, "a4").data
    assert d["source"] == "S2"
    assert d["path"] == ["SW1", "L3", "TIE1", "L6", "SW2", "L5", "B2"]


def test_downstream_of_trunk_recloser(net: Network) -> None:
    d = downstream(net, "R1").data
    assert d == {
        "device": "R1",
        "nodes": ["a3", "a4", "a5", "a6"],
        "devices": ["L2", "L3", "SW1"],
        "customers": 20,
    }


def test_downstream_of_feeder_breaker(net: Network) -> None:
    d = downstream(net, "B1").data
    assert d["nodes"] == ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"]
    assert d["customers"] == 27
    assert "TIE1" not in d["devices"]  # still fed from S2 at its other end


def test_downstream_of_one_parallel_transformer_is_nothing(net: Network) -> None:
    assert downstream(net, "T1").data["nodes"] == []
    net.operate("B3", "open")  # unrelated; T2 still parallels T1
    assert downstream(net, "T2").data["customers"] == 0


def test_downstream_of_open_tie_is_nothing_and_of_closed_loop_too(net: Network) -> None:
    assert downstream(net, "TIE1").data["customers"] == 0
    net.operate("TIE1", "closed")
    assert downstream(net, "B1").data["customers"] == 0  # now fed both ways
    assert downstream(net, "F1").data["customers"] == 5


def test_downstream_equals_deenergized_with_device_open(net: Network) -> None:
    for device in ["B1", "R1", "F1", "SW1", "SW2", "B2", "B3"]:
        d = downstream(net, device).data
        e = deenergized(net, open=[device]).data
        assert d["nodes"] == e["nodes"], device
        assert d["customers"] == e["customers"], device


def test_deenergized_with_several_operations(net: Network) -> None:
    d = deenergized(net, open=["B1", "SW2"], close=["TIE1"]).data
    assert d["nodes"] == ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b3", "b4"]
    assert d["customers"] == 33
    assert deenergized(net).data == {"nodes": [], "customers": 0}
    with pytest.raises(NotOperableError):
        deenergized(net, open=["L1"])
    with pytest.raises(ElementNotFound, match="nope"):
        deenergized(net, open=["nope"])


def test_feeder(net: Network) -> None:
    d = feeder(net, "a9").data
    assert d["feeder"] == "B1"
    assert d["source"] == "S1"
    assert d["nodes"] == ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"]
    assert d["customers"] == 27
    assert feeder(net, "L8").data["feeder"] == "B3"
    inside = feeder(net, "BUS1").data
    assert inside["feeder"] is None and inside["customers"] == 35


def test_feeder_of_dead_element_raises(net: Network) -> None:
    net.operate("B3", "open")
    with pytest.raises(NotEnergizedError):
        feeder(net, "c2")


def test_loops_lists_parallel_transformers_and_closed_ties(net: Network) -> None:
    assert loops(net).data == {"loops": [["T1", "T2"]]}
    net.operate("TIE1", "closed")  # two sources joined: a path, not a loop
    assert loops(net).data == {"loops": [["T1", "T2"]]}


def test_loops_on_a_ring(net: Network) -> None:
    from helpers import build, edge, two_feeders

    ring = build([*two_feeders(), edge("RING", "line", "a6", "a1")])
    assert loops(ring).data["loops"] == [
        ["L1", "L2", "L3", "R1", "RING", "SW1"],
        ["T1", "T2"],
    ]
    assert downstream(ring, "R1").data["customers"] == 0


def test_path(net: Network) -> None:
    d = path(net, "a9", "a4").data
    assert d["edges"] == ["X1", "L4", "F1", "R1", "L2"]
    assert d["nodes"] == ["a9", "a8", "a7", "a2", "a3", "a4"]
    with pytest.raises(TopologyError, match="no path"):
        path(net, "a6", "b3")
    through = path(net, "a6", "b3", through_open=True).data
    assert through["edges"] == ["TIE1"]


def test_path_between_edges_includes_them(net: Network) -> None:
    d = path(net, "L1", "L2").data
    assert d["edges"] == ["L1", "R1", "L2"]
    assert len(d["nodes"]) == len(d["edges"]) + 1


def test_unknown_element(net: Network) -> None:
    with pytest.raises(ElementNotFound, match="'zz'"):
        upstream(net, "zz")
    with pytest.raises(ElementNotFound):
        downstream(net, "a1")  # a node is not a device


def test_one_edge_kind_questions_agree_with_the_masks(net: Network) -> None:
    """``is_protective``/``is_operable`` (O(1), for one edge) say what the
    whole-network masks say, for every edge."""
    assert [net.is_protective(e) for e in range(net.n_edges)] == net.protective.tolist()
    assert [net.is_operable(e) for e in range(net.n_edges)] == net.operable.tolist()
    assert any(net.is_operable(e) and not net.is_protective(e) for e in range(net.n_edges))
