"""Reading and writing networks and customers, and every kind of bad input."""

from __future__ import annotations

import csv
import gc
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import DLON, LAT0, LON0, build, edge, node, two_feeders, write

from topology import (
    Customers,
    NetworkFileError,
    NetworkValidationError,
    downstream,
    read_customers,
    read_network,
    write_customers_csv,
    write_network,
)


def errors_of(features: list[dict], **kw: object) -> dict[str | None, list[str]]:
    with pytest.raises(NetworkValidationError) as info:
        build(features)
    out: dict[str | None, list[str]] = {}
    for issue in info.value.errors:
        out.setdefault(issue.element, []).append(issue.message)
    return out


def test_reads_the_network(tmp_path: Path) -> None:
    net = read_network(write(tmp_path, two_feeders()))
    assert net.n_nodes == 18 and net.n_edges == 18
    assert int(net.node_customers.sum()) == 61
    assert list(net.node_ids[s] for s in net.sources) == ["S1", "S2"]
    assert not net.edge_normal_closed[net.edge("TIE1")]
    assert net.edge_scada[net.edge("B1")] and net.edge_capacity[net.edge("B1")] == 60
    # lengths default to the geodesic distance between the end nodes (~100 m)
    assert 95 < net.edge_length_m[net.edge("L1")] < 105
    assert [w.ids for w in net.warnings] == [("T1", "T2")]


def test_every_error_is_reported_at_once_with_its_feature() -> None:
    features = [
        *two_feeders(),
        node("S1", 0, 0, "source"),  # duplicate
        node("bad-kind", 1, 1, "pole"),
        {"type": "Feature", "properties": {"kind": "node"}, "geometry": None},
        node("no-geom", 1, 1) | {"geometry": None},
        node("nan", 1, 1) | {"geometry": {"type": "Point", "coordinates": [float("nan"), 1]}},
        node("neg", 1, 1, customers=-3),
        edge("dangling", "line", "a1", "nowhere"),
        edge("missing-to", "line", "a1", None),
        edge("self", "line", "a1", "a1"),
        edge("open-line", "line", "a1", "a2", normal_state="open"),
        edge("weird-state", "switch", "a1", "a2", normal_state="ajar"),
        edge("to-edge", "line", "a1", "L1"),
        edge("neg-len", "line", "a1", "a2", length_m=-1),
        edge("scada-str", "breaker", "a1", "a2", scada="yes"),
        edge("point-geom", "line", "a1", "a2")
        | {"geometry": {"type": "Point", "coordinates": [1, 2]}},
        edge("short-geom", "line", "a1", "a2")
        | {"geometry": {"type": "LineString", "coordinates": [[1, 2]]}},
        edge("bad-cap", "breaker", "a1", "a2", capacity_customers="lots"),
    ]
    errors = errors_of(features)
    assert "duplicate id" in errors["S1"][0]
    assert "unknown kind 'pole'" in errors["bad-kind"][0]
    assert "missing 'id'" in errors[f"feature #{len(two_feeders()) + 3}"][0]
    assert "Point geometry" in errors["no-geom"][0]
    assert "finite" in errors["nan"][0]
    assert "customers" in errors["neg"][0]
    assert "'to' names 'nowhere': no such node" in errors["dangling"]
    assert "missing 'to'" in errors["missing-to"][0]
    assert "to itself" in errors["self"][0]
    assert "cannot be normally open" in errors["open-line"][0]
    assert "normal_state" in errors["weird-state"][0]
    assert "an edge, not a node" in errors["to-edge"][0]
    assert "length_m" in errors["neg-len"][0]
    assert "scada" in errors["scada-str"][0]
    assert "LineString" in errors["point-geom"][0]
    assert "two or more" in errors["short-geom"][0]
    assert "capacity_customers" in errors["bad-cap"][0]


def test_a_file_with_errors_is_never_half_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, [*two_feeders(), edge("x", "line", "a1", "ghost")])
    with pytest.raises(NetworkValidationError) as info:
        read_network(path)
    assert info.value.source == str(path)
    assert "x: 'to' names 'ghost'" in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match="no such file"):
        read_network(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(NetworkFileError, match="line 1"):
        read_network(bad)
    bad.write_text('{"type": "Feature"}')
    with pytest.raises(NetworkFileError, match="FeatureCollection"):
        read_network(bad)


def test_crs_member_transforms_coordinates(tmp_path: Path) -> None:
    from pyproj import Transformer

    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    features = two_feeders()
    for f in features:
        if f["geometry"]:
            f["geometry"]["coordinates"] = list(to_merc.transform(*f["geometry"]["coordinates"]))
    crs = {"type": "name", "properties": {"name": "EPSG:3857"}}
    net = read_network(write(tmp_path, features, crs=crs))
    assert np.allclose(net.node_xy[net.node("S1")], [LON0, LAT0])
    assert np.allclose(net.node_xy[net.node("a1")], [LON0 + 2 * DLON, LAT0])
    # the same file without its crs member, with the CRS given to the reader
    net2 = read_network(write(tmp_path, features, "plain.geojson"), crs="EPSG:3857")
    assert np.allclose(net2.node_xy, net.node_xy)


def test_unknown_crs_and_out_of_range_coordinates(tmp_path: Path) -> None:
    crs = {"type": "name", "properties": {"name": "EPSG:999999"}}
    with pytest.raises(NetworkValidationError, match="unknown CRS"):
        read_network(write(tmp_path, two_feeders(), crs=crs))
    features = two_feeders()
    features[0]["geometry"]["coordinates"] = [500000.0, 5400000.0]
    with pytest.raises(NetworkValidationError, match="S1: node position outside WGS84"):
        read_network(write(tmp_path, features))


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    net = build(two_feeders())
    out = tmp_path / f"copy{suffix}"
    write_network(net, out)
    back = read_network(out)
    assert sorted(back.node_ids) == sorted(net.node_ids)
    assert sorted(back.edge_ids) == sorted(net.edge_ids)
    assert downstream(back, "B1").data == downstream(net, "B1").data
    assert not back.edge_normal_closed[back.edge("TIE1")]
    assert back.edge_capacity[back.edge("B2")] == 40


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_shapefile_pair(tmp_path: Path) -> None:
    import geopandas as gpd

    doc = json.loads(write(tmp_path, two_feeders()).read_text())
    nodes = [f for f in doc["features"] if f["properties"]["kind"] in ("source", "node")]
    edges = [f for f in doc["features"] if f not in nodes]
    net = build(two_feeders())
    for f in edges:
        f["geometry"] = {
            "type": "LineString",
            "coordinates": net.edge_coords(net.edge(f["properties"]["id"])).tolist(),
        }
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame.from_features(nodes, crs="EPSG:4326").to_file(folder / "nodes.shp")
    gpd.GeoDataFrame.from_features(edges, crs="EPSG:4326").to_file(folder / "edges.shp")
    back = read_network(folder)
    assert back.edge_capacity[back.edge("B1")] == 60  # 'capacity_c' in the .dbf
    assert downstream(back, "R1").data["customers"] == 20
    assert read_network(folder / "edges.shp").n_nodes == 18


CUSTOMERS = """id,node,name,phone,lon,lat,critical
c1,a9,Ann,+1 555 0100,8.4042,48.9975,life_support
c2,a9,Bob,+1 555 0101,,,
c3,b1,Cy,+1 555 0102,8.41,49.001,
"""


def test_customers_replace_node_counts(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(CUSTOMERS)
    net = read_network(write(tmp_path, two_feeders()), customers=tmp_path / "c.csv")
    assert int(net.node_customers.sum()) == 3
    assert downstream(net, "F1").data["customers"] == 2
    assert net.customers is not None and net.customers.critical_mask().tolist() == [
        True,
        False,
        False,
    ]
    assert net.customers.get("lon", 1) is None
    out = tmp_path / "out.csv"
    write_customers_csv(net, out)
    again = read_customers(out, net)
    assert list(again.ids) == ["c1", "c2", "c3"] and again.get("phone", 2) == "+1 555 0102"


def test_an_emergency_plan_is_read_and_written_back(tmp_path: Path) -> None:
    """Contract 2's optional ``emergency_plan``: free text (commas, quotes, a
    line break) survives a round trip; a file without the column still reads."""
    net = build(two_feeders())
    plan = 'Oxygen concentrator, 4 h battery; call son "Bo" +1 555 0199\npriority restoration'
    path = tmp_path / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(
            [
                ["id", "node", "critical", "emergency_plan"],
                ["c1", "a9", "life_support", plan],
                ["c2", "a9", "", ""],
            ]
        )
    customers = read_customers(path, net)
    assert customers.get("emergency_plan", 0) == plan
    assert customers.get("emergency_plan", 1) is None
    net.set_customers(customers)
    out = tmp_path / "out.csv"
    write_customers_csv(net, out)
    with out.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header[-1] == "emergency_plan"
    again = read_customers(out, net)
    assert again.get("emergency_plan", 0) == plan and again.get("emergency_plan", 1) is None
    (tmp_path / "old.csv").write_text(CUSTOMERS)  # written before the column existed
    assert read_customers(tmp_path / "old.csv", net).get("emergency_plan", 0) is None


def test_bad_customers_are_all_reported_with_line_numbers(tmp_path: Path) -> None:
    net = build(two_feeders())
    path = tmp_path / "c.csv"
    path.write_text(
        "id,node,lon,lat\n"
        "c1,a9,8.4,49.0\n"
        "c1,a9,8.4,49.0\n"  # line 3: duplicate
        "c2,ghost,,\n"  # line 4: unknown node
        "c3,a1,east,49\n"  # line 5: bad lon
        ",a1,,\n"  # line 6: no id
        "c4,a1,8.4,\n"  # line 7: half a position
        "c5,a1\n"  # line 8: short row
    )
    with pytest.raises(NetworkValidationError) as info:
        read_customers(path, net)
    where = [i.element for i in info.value.errors]
    assert where == ["line 3 (c1)", "line 4 (c2)", "line 5 (c3)", "line 6", "line 7 (c4)", "line 8"]
    path.write_text("id,name\nc1,x\n")
    with pytest.raises(NetworkFileError, match="missing column"):
        read_customers(path, net)


def test_ids_and_columns_are_tuples_the_collector_stops_reading() -> None:
    """At a million nodes a list of ids is read again at every full
    collection; a tuple of strings is left alone after the first."""
    net = build(two_feeders())
    customers = Customers(["c1", "c2"], np.array([0, 1]), {"phone": ["+1 555 0101", None]})
    gc.collect()
    held = [net.node_ids, net.edge_ids, net.node_name, net.edge_name, customers.ids]
    held += customers.fields.values()
    assert all(isinstance(s, tuple) and not gc.is_tracked(s) for s in held)


def test_a_customer_column_is_edited_into_a_new_tuple() -> None:
    customers = Customers(["c1", "c2"], np.array([0, 1]), {"phone": ["+1 555 0101", None]})
    customers.edit("phone", {1: "+1 555 0102"})
    customers.edit("critical", {0: "life support"})
    assert customers.fields["phone"] == ("+1 555 0101", "+1 555 0102")
    assert customers.fields["critical"] == ("life support", None)
