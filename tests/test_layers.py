"""The dispatcher map's GeoJSON layers (``webmap.layers``): states, views, simplification."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from helpers import DLAT, DLON, LAT0, LON0, build, two_feeders

from topology import Network
from topology.exceptions import TopologyError
from webmap import basemap, layers


def _ids(doc: dict, **match: str) -> set[str]:
    return {
        f["properties"]["id"]
        for f in doc["features"]
        if "id" in f["properties"] and all(f["properties"].get(k) == v for k, v in match.items())
    }


def _state(net: Network, states: np.ndarray, eid: str) -> str:
    return layers.STATES[states[net.edge(eid)]]


def _box(x0: float, y0: float, x1: float, y1: float) -> layers.Bbox:
    """A bbox in the grid units of ``helpers`` (100 m steps)."""
    return (LON0 + x0 * DLON, LAT0 + y0 * DLAT, LON0 + x1 * DLON, LAT0 + y1 * DLAT)


# ------------------------------------------------------------------ states
def test_normal_state_is_energized_with_the_tie_open() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    assert _state(net, states, "TIE1") == "open"
    others = {eid for eid in net.edge_ids if eid != "TIE1"}
    assert {_state(net, states, e) for e in others} == {"energized"}
    assert layers.state_counts(states) == {
        "energized": net.n_edges - 1,
        "open": 1,
        "deenergized": 0,
        "faulted": 0,
    }


def test_an_open_breaker_deenergizes_its_feeder() -> None:
    net = build(two_feeders())
    net.operate("B1", "open")
    states = layers.edge_states(net)
    assert _state(net, states, "B1") == "open"
    for eid in ("L1", "R1", "L2", "SW1", "L3", "F1", "L4", "X1"):
        assert _state(net, states, eid) == "deenergized", eid
    for eid in ("T1", "T2", "B3", "L8", "B2", "L5", "SW2", "L6"):
        assert _state(net, states, eid) == "energized", eid
    assert _state(net, states, "TIE1") == "open"


def test_an_active_outage_counts_its_device_as_open_and_marks_its_section() -> None:
    net = build(two_feeders())
    outage = {"kind": "network", "state": "predicted", "device": "F1", "section": ["L4"]}
    states = layers.edge_states(net, [outage])
    assert _state(net, states, "L4") == "faulted"
    assert _state(net, states, "X1") == "deenergized"
    assert _state(net, states, "F1") == "deenergized"  # the device that operated
    assert _state(net, states, "L1") == "energized"
    assert bool(net.edge_closed[net.edge("F1")])  # the network itself is not changed


@pytest.mark.parametrize(
    "outage",
    [
        {"kind": "network", "state": "restored", "device": "F1", "section": ["L4"]},
        {"kind": "network", "state": "closed", "device": "F1", "section": []},
        {"kind": "single_customer", "state": "predicted", "device": None, "customer": "a9-1"},
        {"kind": "network", "state": "confirmed", "device": "NOPE", "section": ["NOPE2"]},
    ],
)
def test_outages_that_are_not_active_network_ones_change_nothing(outage: dict) -> None:
    net = build(two_feeders())
    states = layers.edge_states(net, [outage])
    assert layers.state_counts(states)["energized"] == net.n_edges - 1


def test_states_are_cached_until_the_outages_or_the_switching_change() -> None:
    net = build(two_feeders())
    outage = {"kind": "network", "state": "confirmed", "device": "R1", "section": []}
    first = layers.edge_states(net, [outage])
    assert layers.edge_states(net, [dict(outage)]) is first
    assert layers.edge_states(net, []) is not first
    again = layers.edge_states(net, [outage])
    net.operate("SW2", "open")
    changed = layers.edge_states(net, [outage])
    assert changed is not again
    assert _state(net, changed, "L6") == "deenergized"


# ------------------------------------------------------------------ layer
def test_detailed_layer_has_every_edge_with_id_kind_state() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    doc = layers.network_layer(net, states)
    assert doc["type"] == "FeatureCollection"
    assert doc["detail"] is True
    assert doc["edges"] == doc["drawn"] == net.n_edges
    assert _ids(doc, kind="source") == {"S1", "S2"}
    edges = [f for f in doc["features"] if f["properties"]["kind"] != "source"]
    assert {f["properties"]["id"] for f in edges} == set(net.edge_ids)
    tie = next(f for f in edges if f["properties"]["id"] == "TIE1")
    assert tie["properties"] == {"id": "TIE1", "kind": "switch", "state": "open", "operable": True}
    assert tie["geometry"]["type"] == "LineString"
    assert len(tie["geometry"]["coordinates"]) == 2
    assert doc["states"]["open"] == 1
    json.dumps(doc)  # plain JSON types only


def test_faulted_edges_are_drawn_last() -> None:
    net = build(two_feeders())
    outage = {"kind": "network", "state": "confirmed", "device": "F1", "section": ["L4"]}
    doc = layers.network_layer(net, layers.edge_states(net, [outage]))
    edges = [f for f in doc["features"] if f["properties"]["kind"] != "source"]
    assert edges[-1]["properties"]["id"] == "L4"


def test_bbox_keeps_the_edges_that_meet_it() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    # x from 2.5 to 4.5, y from -1.5 to 0.5: around a2 and a3, the top of the lateral.
    doc = layers.network_layer(net, states, _box(2.5, -1.5, 4.5, 0.5))
    assert _ids(doc) == {"L1", "R1", "L2", "F1", "L4"}
    assert doc["edges"] == 5
    assert _ids(doc, kind="source") == set()
    everything = layers.network_layer(net, states, _box(-1, -4, 11, 3))
    assert _ids(everything) - {"S1", "S2"} == set(net.edge_ids)
    nothing = layers.network_layer(net, states, _box(20, 20, 21, 21))
    assert nothing["features"] == [] and nothing["edges"] == 0


def test_bbox_uses_the_edge_geometry_not_only_its_ends() -> None:
    # One edge from (0, 0) to (1, 0) that bends far north through (0.5, 5).
    net = Network(
        node_ids=["s", "n"],
        node_xy=[[0.0, 0.0], [1.0, 0.0]],
        node_source=[True, False],
        edge_ids=["bent"],
        edge_kind=["line"],
        edge_from=[0],
        edge_to=[1],
        geom_offsets=[0, 3],
        geom_coords=[[0.0, 0.0], [0.5, 5.0], [1.0, 0.0]],
    )
    states = layers.edge_states(net)
    doc = layers.network_layer(net, states, (0.4, 4.0, 0.6, 6.0), 10)
    assert _ids(doc) == {"bent"}
    assert doc["features"][0]["geometry"]["coordinates"][1] == [0.5, 5.0]
    assert layers.network_bounds(net) == (0.0, 0.0, 1.0, 5.0)
    simple = layers.network_layer(net, states, None, 8, detail_limit=0)
    (line,) = simple["features"][0]["geometry"]["coordinates"][:1]
    assert simple["features"][0]["properties"]["segments"] == 2  # both bends kept
    assert line[0] == [0.0, 0.0]


def test_simplified_layer_is_one_multilinestring_per_state() -> None:
    net = build(two_feeders())
    net.operate("B2", "open")
    outage = {"kind": "network", "state": "confirmed", "device": "R1", "section": ["L2"]}
    states = layers.edge_states(net, [outage])
    doc = layers.network_layer(net, states, None, 17, detail_limit=0, detail_zoom=20)
    assert doc["detail"] is False
    multi = [f for f in doc["features"] if f["geometry"]["type"] == "MultiLineString"]
    assert sorted(f["properties"]["state"] for f in multi) == ["deenergized", "energized", "open"]
    assert all(f["properties"]["simplified"] for f in multi)
    # The faulted section stays individual, with its id, and sources stay.
    assert _ids(doc) == {"L2", "S1", "S2"}
    assert doc["drawn"] == sum(f["properties"]["segments"] for f in multi) + 1


def test_simplification_drops_what_falls_in_one_cell_and_merges_duplicates() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    close = layers.network_layer(net, states, None, 18, detail_limit=0, detail_zoom=30)
    # At zoom 18 (0.4 m/px) every 100 m edge survives; T1 and T2 are parallel
    # between the same nodes and are drawn once.
    assert close["drawn"] == net.n_edges - 1
    far = layers.network_layer(net, states, None, 6, detail_limit=0, detail_zoom=30)
    # At zoom 6 (1.6 km/px) the whole network is inside one or two cells.
    assert far["drawn"] <= 2


def test_simplification_coarsens_until_the_layer_fits() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    doc = layers.network_layer(
        net, states, None, 18, detail_limit=0, detail_zoom=30, max_segments=4
    )
    assert doc["drawn"] <= 4
    assert doc["cell_px"] > layers.CELL_PX


def test_zoom_defaults_to_fitting_the_view() -> None:
    net = build(two_feeders())
    bounds = layers.network_bounds(net)
    assert bounds is not None
    z = layers.fit_zoom(bounds)
    assert 15 < z < 19  # about 1.4 km wide in 1280 px
    doc = layers.network_layer(net, layers.edge_states(net), bounds)
    assert doc["zoom"] == round(z, 2)


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "1,2,0,3", "1,nan,2,3"])
def test_bad_bbox_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        layers.parse_bbox(text)


def test_bbox_parses() -> None:
    assert layers.parse_bbox("") is None
    assert layers.parse_bbox("8.1,49,8.2,49.5") == (8.1, 49.0, 8.2, 49.5)


# ------------------------------------------------------------ point layers
def test_outages_layer_places_outages_at_device_or_customer() -> None:
    net = build(two_feeders())
    outages = [
        {"id": "OUT-1", "device": "F1", "customer": None, "state": "confirmed"},
        {"id": "OUT-2", "device": None, "customer": "b2-1", "state": "predicted"},
        {"id": "OUT-3", "device": None, "customer": "nowhere", "state": "predicted"},
    ]
    doc = layers.outages_layer(net, outages, {"b2-1": (8.5, 49.5)})
    by_id = {f["properties"]["id"]: f for f in doc["features"]}
    assert set(by_id) == {"OUT-1", "OUT-2"}
    a2, a7 = net.node_xy[net.node("a2")], net.node_xy[net.node("a7")]
    assert by_id["OUT-1"]["geometry"]["coordinates"] == pytest.approx(list((a2 + a7) / 2))
    assert by_id["OUT-2"]["geometry"]["coordinates"] == [8.5, 49.5]
    assert by_id["OUT-1"]["properties"]["state"] == "confirmed"


def test_calls_and_crews_layers_skip_unknown_positions() -> None:
    calls = layers.calls_layer(
        [
            {"id": "c1", "lon": 8.4, "lat": 49.0, "hazard": "wire_down"},
            {"id": "c2", "lon": None, "lat": None},
        ]
    )
    assert [f["properties"] for f in calls["features"]] == [{"id": "c1", "hazard": "wire_down"}]
    crews = layers.crews_layer(
        [{"id": "K1", "lon": 8.4, "lat": 49.0, "status": "available"}, {"id": "K2"}]
    )
    assert [f["properties"]["id"] for f in crews["features"]] == ["K1"]
    assert crews["features"][0]["properties"]["status"] == "available"


# -------------------------------------------------------------------- plans
def test_plan_for_a_tripped_breaker_recloses_it_on_a_copy() -> None:
    net = build(two_feeders())
    net.operate("B1", "open")  # tripped
    net.operate("B2", "open")  # another feeder's trip: must stay open in the plan
    before = net.edge_closed.copy()
    result = layers.plan(net, "B1", reclose=["B1", "B2"], below=True)
    assert np.array_equal(net.edge_closed, before)
    assert result["error"] is None
    assert result["faulted"] == "L1"  # the section right below the breaker
    assert result["isolate"]["open"] == ["B1", "R1"]
    # B2's feeder is dead, so TIE1 cannot pick a3..a6 up.
    assert "TIE1" not in result["restore"]["close"]
    assert set(result["affected_nodes"]) >= {"a1", "a2", "a3", "a6", "a9"}
    assert not set(result["affected_nodes"]) & {"b1", "b2"}


def test_plan_picks_up_through_the_tie_when_the_other_feeder_is_live() -> None:
    net = build(two_feeders())
    net.operate("B1", "open")
    result = layers.plan(net, "B1", reclose=["B1"], below=True)
    assert result["restore"]["close"] == ["TIE1"]
    # B2 may carry 40 customers and has 26: it takes a5 and a6 (13), cut at SW1.
    assert result["restore"]["open"] == ["B1", "R1", "SW1"]
    assert result["restore"]["restored_customers"] == 6 + 7
    doc = layers.plan_layer(net, result)
    roles: dict[str, set[str]] = {}
    for f in doc["features"]:
        roles.setdefault(f["properties"]["role"], set()).add(f["properties"]["id"])
    assert roles["faulted"] == {"L1"}
    assert roles["open"] == {"B1", "R1", "SW1"}
    assert roles["close"] == {"TIE1"}
    assert {"L2", "L3", "L4"} <= roles["isolated"]


def test_plan_on_an_edge_without_supply_reports_why() -> None:
    net = build(two_feeders())
    net.operate("B1", "open")
    result = layers.plan(net, "L2")  # nothing recloses B1: L2 has no supply
    assert result["isolate"] is None and "no supply" in result["error"]
    assert layers.plan_layer(net, result)["features"][-1]["properties"]["role"] == "faulted"


# ----------------------------------------------------------------- devices
DEVICES = {"T1", "T2", "B1", "R1", "SW1", "F1", "X1", "B3", "TIE1", "B2", "SW2"}


def _devices(doc: dict) -> dict[str, dict]:
    return {f["properties"]["id"]: f for f in doc["features"]}


def test_device_layer_draws_every_device_as_a_point_at_street_zoom() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    doc = layers.device_layer(net, states, _box(-1, -4, 11, 3), 18)
    found = _devices(doc)
    assert doc["shown"] is True and doc["devices"] == doc["drawn"] == len(DEVICES)
    assert set(found) == DEVICES  # lines and cables are not devices
    sw1 = found["SW1"]
    assert sw1["geometry"]["type"] == "Point"
    assert sw1["geometry"]["coordinates"] == pytest.approx([LON0 + 5.5 * DLON, LAT0])
    assert sw1["properties"] == {
        "id": "SW1",
        "kind": "switch",
        "state": "closed",
        "operated": "closed",
        "normal": "closed",
        "operable": True,
        "scada": False,
        "reported": None,
        "energized": True,
    }
    assert found["TIE1"]["properties"]["state"] == "open"
    assert found["TIE1"]["properties"]["normal"] == "open"
    assert found["B1"]["properties"]["scada"] is True
    assert found["X1"]["properties"]["operable"] is False


def test_device_states_tell_a_trip_from_an_operation_and_a_presumed_trip() -> None:
    net = build(two_feeders())
    net.operate("B1", "open")  # reported by SCADA: tripped
    net.operate("SW2", "open")  # the operator opened it
    outage = {"id": "OUT-1", "kind": "network", "state": "predicted", "device": "F1"}
    states = layers.edge_states(net, [outage])
    reported = {
        "B1": {"tripped": True, "source": "scada"},
        "SW2": {"tripped": False, "source": "operator"},
    }
    doc = layers.device_layer(net, states, None, 18, reported=reported, outages=[outage])
    props = {i: f["properties"] for i, f in _devices(doc).items()}
    assert (props["B1"]["state"], props["B1"]["operated"], props["B1"]["reported"]) == (
        "tripped",
        "open",
        "scada",
    )
    assert (props["SW2"]["state"], props["SW2"]["reported"]) == ("open", "operator")
    # F1 was never reported open: an active outage at it is a presumed trip.
    assert props["F1"]["state"] == "tripped" and props["F1"]["operated"] == "closed"
    assert props["F1"]["reported"] is None and props["F1"]["outage"] == "OUT-1"
    assert props["R1"]["energized"] is False and props["B2"]["energized"] is True
    restored = {**outage, "state": "restored"}
    again = layers.device_layer(net, states, None, 18, reported=reported, outages=[restored])
    assert _devices(again)["F1"]["properties"]["state"] == "closed"


def test_device_symbols_only_at_street_zoom_unless_few_are_in_view() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    far = layers.device_layer(net, states, None, 12, device_limit=5)
    assert far["shown"] is False and far["features"] == [] and far["devices"] == len(DEVICES)
    assert layers.device_layer(net, states, None, 15, device_limit=5)["drawn"] == len(DEVICES)
    few = layers.device_layer(net, states, _box(4.5, -0.5, 6.5, 0.5), 12, device_limit=5)
    assert few["shown"] is True and set(_devices(few)) == {"SW1"}


def test_device_cap_keeps_the_most_important_kinds() -> None:
    net = build(two_feeders())
    doc = layers.device_layer(net, layers.edge_states(net), None, 18, device_max=4)
    assert doc["devices"] == len(DEVICES) and doc["drawn"] == 4
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds == ["breaker", "breaker", "breaker", "recloser"]


def test_trace_layer_upstream_and_downstream() -> None:
    net = build(two_feeders())
    states = layers.edge_states(net)
    up = layers.trace_layer(net, "upstream", "SW1", states)
    assert up["trace"]["source"] == "S1"
    path = up["trace"]["path"]
    assert path[:5] == ["SW1", "L2", "R1", "L1", "B1"] and path[5] in ("T1", "T2")
    assert _ids(up["layer"], role="upstream") == set(path)
    assert up["edges"] == len(up["layer"]["features"])
    down = layers.trace_layer(net, "downstream", "F1", states)
    assert _ids(down["layer"], role="downstream") == set(down["trace"]["devices"])
    assert {"L4", "X1"} <= set(down["trace"]["devices"]) and down["trace"]["customers"] == 5
    with pytest.raises(ValueError):
        layers.trace_layer(net, "sideways", "F1", states)
    with pytest.raises(TopologyError):
        layers.trace_layer(net, "upstream", "NOPE", states)


def test_trace_below_a_trip_is_of_the_network_with_the_trip_closed() -> None:
    net = build(two_feeders())
    normal = layers.trace_layer(net, "downstream", "F1", layers.edge_states(net))
    tripped = net.with_states(net.copy_state())
    tripped.operate("B1", "open")  # its protection opened it: F1 is below, dead
    states = layers.edge_states(tripped)
    as_operated = layers.trace_layer(tripped, "downstream", "F1", states)
    assert as_operated["trace"]["customers"] == 0 and as_operated["closed"] == []
    down = layers.trace_layer(tripped, "downstream", "F1", states, tripped=["B1"])
    assert down["trace"] == normal["trace"] and down["trace"]["customers"] == 5
    assert down["energized"] is False and down["closed"] == ["B1"]
    assert normal["energized"] is True and normal["closed"] == []
    assert _ids(down["layer"], role="downstream") == set(down["trace"]["devices"])
    up = layers.trace_layer(tripped, "upstream", "F1", states, tripped=["B1", "NOPE"])
    assert up["trace"]["source"] == "S1" and "B1" in up["trace"]["path"]
    assert up["energized"] is False
    # The tripped breaker itself: what it feeds when it closes.
    breaker = layers.trace_layer(tripped, "downstream", "B1", states, tripped=["B1"])
    assert breaker["trace"]["customers"] > 5 and not tripped.edge_closed[tripped.edge("B1")]


# ----------------------------------------------------------------- basemap
def _road(rid: str, cls: str, coords: list, kind: str = "LineString", **props: str) -> dict:
    return {
        "type": "Feature",
        "properties": {"id": rid, "class": cls, **props},
        "geometry": {"type": kind, "coordinates": coords},
    }


ROADS = {
    "type": "FeatureCollection",
    "features": [
        _road("R1", "primary", [[0.0, 0.0], [1.0, 0.0], [2.0, 0.5]], name="Main Road"),
        _road("R2", "residential", [[0.0, 1.0], [0.5, 1.0]]),
        _road(
            "R3", "track", [[[5.0, 5.0], [6.0, 5.0]], [[7.0, 7.0], [7.0, 8.0]]], "MultiLineString"
        ),
        _road("P", "primary", [1.0, 1.0], "Point"),
        _road("BAD", "primary", [[0.0, 0.0]]),
    ],
}
ZONES = [
    {
        "id": "Z-1",
        "area_class": "urban",
        "unit": "U1",
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [3, 2], [0, 2], [0, 0]]]},
    },
    {
        "id": "Z-2",
        "name": "Far Hills",
        "area_class": "remote",
        "unit": "U2",
        "geometry": {"type": "Polygon", "coordinates": [[[10, 10], [11, 10], [11, 11], [10, 10]]]},
    },
]


def test_roads_are_read_into_arrays() -> None:
    roads = basemap.read_roads(json.dumps(ROADS))
    assert roads.ids == ["R1", "R2", "R3", "R3"]  # a MultiLineString is one road per part
    assert roads.names == ["Main Road", None, None, None]
    assert roads.bounds[0].tolist() == [0.0, 0.0, 2.0, 0.5]
    assert roads.major.tolist() == [True, False, False, False]
    with pytest.raises(ValueError):
        basemap.read_roads(b'{"type": "Feature"}')


def test_basemap_has_the_zones_with_a_label_point_and_the_roads_of_the_view() -> None:
    from shapely.geometry import Point, shape

    roads = basemap.read_roads(json.dumps(ROADS))
    doc = basemap.basemap_layer(roads, ZONES, (-1.0, -1.0, 4.0, 3.0), 16)
    zones = [f for f in doc["features"] if f["properties"]["layer"] == "zone"]
    assert [z["properties"]["name"] for z in zones] == ["Z-1"]  # no name: its id
    label = Point(zones[0]["properties"]["label_at"])
    assert shape(ZONES[0]["geometry"]).contains(label)
    assert _ids(doc, layer="road") == {"R1", "R2"} and doc["roads"] == 2 and doc["zones"] == 1
    road = next(f for f in doc["features"] if f["properties"].get("id") == "R1")
    assert road["properties"]["name"] == "Main Road" and road["properties"]["major"] is True
    assert road["geometry"]["coordinates"] == [[0.0, 0.0], [1.0, 0.0], [2.0, 0.5]]
    everything = basemap.basemap_layer(roads, ZONES, None, 16)
    assert [f["properties"]["name"] for f in everything["features"][:2]] == ["Z-1", "Far Hills"]
    assert everything["roads"] == 4


def test_basemap_leaves_minor_roads_out_when_far() -> None:
    roads = basemap.read_roads(json.dumps(ROADS))
    far = basemap.basemap_layer(roads, [], None, basemap.MINOR_ZOOM - 1)
    assert _ids(far, layer="road") == {"R1"}
    assert basemap.basemap_layer(None, ZONES, None, 16)["roads"] == 0


# ---------------------------------------------------------------- at scale
@pytest.fixture(scope="module")
def big() -> Network:
    from topology.synthetic import synthetic_network

    return synthetic_network(100_000, seed=5)


def test_full_extent_of_100k_edges_stays_small_and_fast(big: Network) -> None:
    outage = {
        "kind": "network",
        "state": "confirmed",
        "device": big.edge_ids[int(np.flatnonzero(big.protective)[10])],
        "section": [],
    }
    t0 = time.perf_counter()
    states = layers.edge_states(big, [outage])
    bounds = layers.network_bounds(big)
    assert bounds is not None
    zoom = round(layers.fit_zoom(bounds))
    doc = layers.network_layer(big, states, bounds, zoom)
    body = json.dumps(doc, separators=(",", ":"))
    elapsed = time.perf_counter() - t0
    assert big.n_edges >= 100_000
    assert doc["detail"] is False
    assert doc["edges"] == big.n_edges
    assert doc["drawn"] <= layers.MAX_SEGMENTS
    assert len(doc["features"]) <= len(layers.STATES) + len(big.sources)
    assert doc["states"]["deenergized"] > 0
    assert len(body) < 5_000_000
    assert elapsed < 3.0, elapsed  # typically 0.3 s, including the first preparation


def test_device_symbols_of_a_dense_street_view_of_100k_edges_are_capped(big: Network) -> None:
    states = layers.edge_states(big)
    bounds = layers.network_bounds(big)
    assert bounds is not None
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    half = 360 / (256 * 2**15) * 1200  # a padded 1600 px view at zoom 15
    bbox = (cx - half, cy - half / 2, cx + half, cy + half / 2)
    doc = layers.device_layer(big, states, bbox, 15)
    assert doc["devices"] > layers.DEVICE_MAX and doc["drawn"] == layers.DEVICE_MAX
    ranks = [layers.DEVICE_KINDS.index(f["properties"]["kind"]) for f in doc["features"]]
    assert ranks == sorted(ranks)  # transformers are the ones left out


def test_lower_zooms_draw_fewer_segments(big: Network) -> None:
    states = layers.edge_states(big)
    bounds = layers.network_bounds(big)
    drawn = [layers.network_layer(big, states, bounds, z)["drawn"] for z in (8, 10, 12)]
    assert drawn[0] < drawn[1] <= drawn[2] <= layers.MAX_SEGMENTS


def test_a_street_view_of_100k_edges_is_detailed_and_quick(big: Network) -> None:
    states = layers.edge_states(big)
    v = int(big.edge_from[len(big.edge_ids) // 2])
    x, y = big.node_xy[v]
    bbox = (x - 0.003, y - 0.002, x + 0.003, y + 0.002)  # about 550 m x 450 m
    t0 = time.perf_counter()
    doc = layers.network_layer(big, states, bbox, 17)
    elapsed = time.perf_counter() - t0
    assert doc["detail"] is True
    assert 0 < doc["edges"] < 5000
    ids = _ids(doc) - {big.node_ids[s] for s in big.sources}
    assert len(ids) == doc["edges"]
    for f in doc["features"][:50]:
        xs = [c[0] for c in f["geometry"]["coordinates"]]
        assert min(xs) <= bbox[2] and max(xs) >= bbox[0]
    assert elapsed < 1.0, elapsed


# ------------------------------------------------------------------- JSON
def test_fixed_width_numbers_are_valid_json() -> None:
    values = np.array([0.0, -0.0, 1.23456, -1.23456, 117.85371, -180.0, 9.99996, -0.00004, -35.5])
    rows = layers._fixed(values, 4)
    parsed = [json.loads(bytes(r)) for r in rows]
    assert parsed == pytest.approx([0, 0, 1.2346, -1.2346, 117.8537, -180, 10, 0, -35.5])
    assert [json.loads(bytes(r)) for r in layers._fixed(np.array([-7.0, 12.0]), 0)] == [-7, 12]


def test_to_json_writes_the_same_document_as_json(big: Network) -> None:
    net = build(two_feeders())
    net.operate("B1", "open")
    states = layers.edge_states(net)
    for zoom in (6, 15, 18):
        plain = layers.network_layer(net, states, None, zoom, detail_limit=0, detail_zoom=30)
        fast = layers.network_layer(
            net, states, None, zoom, detail_limit=0, detail_zoom=30, arrays=True
        )
        assert json.loads(layers.to_json(fast)) == json.loads(json.dumps(plain))
    states = layers.edge_states(big)
    bounds = layers.network_bounds(big)
    t0 = time.perf_counter()
    body = layers.to_json(layers.network_layer(big, states, bounds, 11, arrays=True))
    elapsed = time.perf_counter() - t0
    assert json.loads(body) == json.loads(json.dumps(layers.network_layer(big, states, bounds, 11)))
    assert elapsed < 1.0, elapsed  # about 0.05 s
