"""Every contract-valid network loads, whatever its feature order, and traces agree with networkx.

Contract 1 allows null geometry (drawn straight between the end nodes) and
omitted lengths anywhere in the file, parallel edges, several sources,
closed loops and open operable devices. Hypothesis draws such networks in
random feature order; loading must never fail, and the de-energized set and
every edge's downstream set must equal a plain networkx search.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
from helpers import DLAT, DLON, LAT0, LON0
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topology import network_from_features, traces
from topology.model import OPERABLE_KINDS

KINDS = ["line", "cable", "breaker", "recloser", "sectionalizer", "fuse", "switch", "transformer"]


@st.composite
def networks(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A contract-1 feature list: a random tree plus extra edges, in random order."""
    n = draw(st.integers(2, 14))
    sources = draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=3))
    nodes = [
        {
            "type": "Feature",
            "properties": {
                "id": f"n{i}",
                "kind": "source" if i in sources else "node",
                "customers": draw(st.integers(0, 4)),
            },
            "geometry": {"type": "Point", "coordinates": [LON0 + i * DLON, LAT0 + (i % 3) * DLAT]},
        }
        for i in range(n)
    ]
    pairs = [(draw(st.integers(0, i - 1)), i) for i in range(1, n)]
    pairs += draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4))
    pairs = [(a, b) for a, b in pairs if a != b]
    edges = []
    for k, (a, b) in enumerate(pairs):
        kind = draw(st.sampled_from(KINDS))
        props: dict[str, Any] = {"id": f"e{k}", "kind": kind, "from": f"n{a}", "to": f"n{b}"}
        if kind in OPERABLE_KINDS and draw(st.booleans()) and draw(st.booleans()):
            props["normal_state"] = "open"
        if draw(st.booleans()):
            props["length_m"] = draw(st.floats(0.0, 5000.0))
        geometry = None
        if draw(st.booleans()):
            a_xy, b_xy = nodes[a]["geometry"]["coordinates"], nodes[b]["geometry"]["coordinates"]
            mid = [(a_xy[0] + b_xy[0]) / 2, (a_xy[1] + b_xy[1]) / 2 + DLAT / 3]
            geometry = {"type": "LineString", "coordinates": [a_xy, mid, b_xy]}
        edges.append({"type": "Feature", "properties": props, "geometry": geometry})
    features = nodes + edges
    return draw(st.permutations(features))


def _graph(features: list[dict[str, Any]], without: str | None = None) -> nx.MultiGraph:
    g = nx.MultiGraph()
    for f in features:
        p = f["properties"]
        if "from" not in p:
            g.add_node(p["id"])
        elif p.get("normal_state", "closed") == "closed" and p["id"] != without:
            g.add_edge(p["from"], p["to"], key=p["id"])
    return g


def _dead(features: list[dict[str, Any]], without: str | None = None) -> set[str]:
    g = _graph(features, without)
    sources = [f["properties"]["id"] for f in features if f["properties"]["kind"] == "source"]
    alive: set[str] = set()
    for s in sources:
        alive |= nx.node_connected_component(g, s)
    return set(g.nodes) - alive


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_any_contract_valid_network_loads_and_traces_agree(features: list[dict[str, Any]]) -> None:
    net = network_from_features(features)
    assert (net.edge_length_m >= 0).all()
    dead = set(traces.deenergized(net).data["nodes"])
    assert dead == _dead(features)
    for f in features:
        p = f["properties"]
        if "from" not in p or p.get("normal_state", "closed") == "open":
            continue
        lost = set(traces.downstream(net, p["id"]).data["nodes"])
        assert lost == _dead(features, without=p["id"]) - dead, p["id"]


def test_null_geometries_at_the_end_of_the_file_load() -> None:
    # The IEEE feeders converted from OpenDSS end with devices drawn as null geometry.
    node = {"type": "Point", "coordinates": [LON0, LAT0]}
    far = {"type": "Point", "coordinates": [LON0 + DLON, LAT0]}
    features = [
        {"type": "Feature", "properties": {"id": "s", "kind": "source"}, "geometry": node},
        {"type": "Feature", "properties": {"id": "a", "kind": "node"}, "geometry": far},
        {"type": "Feature", "properties": {"id": "b", "kind": "node"}, "geometry": far},
        {
            "type": "Feature",
            "properties": {"id": "L", "kind": "line", "from": "s", "to": "a"},
            "geometry": {
                "type": "LineString",
                "coordinates": [node["coordinates"], far["coordinates"]],
            },
        },
        {
            "type": "Feature",
            "properties": {"id": "SW", "kind": "switch", "from": "a", "to": "b"},
            "geometry": None,
        },
        {
            "type": "Feature",
            "properties": {"id": "T", "kind": "transformer", "from": "a", "to": "b"},
            "geometry": None,
        },
    ]
    net = network_from_features(features)
    assert 60 < net.edge_length_m[net.edge_index["L"]] < 120
    assert net.edge_length_m[net.edge_index["SW"]] == 0.0
