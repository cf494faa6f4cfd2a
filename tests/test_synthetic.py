"""Tests of the network generators (topology.synthetic) and the demo data set (oms.demo_build).

The structural checks are independent of the generator: they rebuild
feeders from the closed graph with networkx rather than trusting ids.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from oms.demo_build import DemoArea, demo_area, main, write_demo
from topology import Network, read_network, write_customers_csv
from topology.synthetic import synthetic_network
from topology.synthetic.__main__ import main as synthetic_main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@pytest.fixture(scope="module")
def area() -> DemoArea:
    return demo_area()


@pytest.fixture(scope="module")
def medium() -> Network:
    return synthetic_network(20_000, seed=5)


def feeders_of(net: Network) -> tuple[dict[str, str], set[str]]:
    """Map node id -> breaker id, from the closed graph without the substations.

    Substation nodes are the sources and the buses (the upstream ends of
    breakers); what remains of the closed network falls apart into one
    component per feeder, holding the downstream end of its breaker.
    """
    g = net.to_networkx(closed_only=True)
    breakers = [e for e in range(net.n_edges) if net.kind_of(e) == "breaker"]
    substation = {net.node_ids[v] for v in net.sources}
    substation |= {net.node_ids[net.edge_from[e]] for e in breakers}
    head = {net.node_ids[net.edge_to[e]]: net.edge_ids[e] for e in breakers}
    g.remove_nodes_from(substation)
    feeder: dict[str, str] = {}
    for comp in nx.connected_components(g):
        heads = [head[v] for v in comp if v in head]
        assert len(heads) == 1, f"a feeder with {len(heads)} breakers: {sorted(heads)}"
        for v in comp:
            feeder[v] = heads[0]
    return feeder, substation


def check_structure(net: Network) -> dict[str, Any]:
    """Assert the structure every generated network must have; return counts."""
    # ids unique, nodes and edges apart
    assert len(set(net.node_ids)) == net.n_nodes
    assert len(set(net.edge_ids)) == net.n_edges
    assert not set(net.node_ids) & set(net.edge_ids)
    # coordinates are lon/lat
    assert np.all(np.abs(net.node_xy[:, 0]) <= 180) and np.all(np.abs(net.node_xy[:, 1]) <= 90)
    assert np.isfinite(net.edge_length_m).all() and (net.edge_length_m >= 0).all()

    kinds = Counter(net.kind_of(e) for e in range(net.n_edges))
    ids = {k: [net.edge_ids[e] for e in range(net.n_edges) if net.kind_of(e) == k] for k in kinds}
    g = net.to_networkx()
    source_ids = {net.node_ids[v] for v in net.sources}

    # every breaker is fed from a bus that a transformer joins to a source
    for e in (net.edge_index[b] for b in ids["breaker"]):
        assert net.edge_scada[e]
        bus = net.node_ids[net.edge_from[e]]
        fed = [
            (a, b)
            for a, b, data in g.edges(bus, data=True)
            if data["kind"] == "transformer" and (a in source_ids or b in source_ids)
        ]
        assert fed, f"breaker {net.edge_ids[e]} is not fed from a substation bus"
    assert all(net.edge_scada[net.edge_index[r]] for r in ids["recloser"])

    feeder, substation = feeders_of(net)
    assert set(feeder) | substation == set(net.node_ids)

    # closed network: feeders are trees; the only loops are parallel
    # substation transformers
    closed = net.to_networkx(closed_only=True)
    for bid in ids["breaker"]:
        members = [v for v, f in feeder.items() if f == bid]
        sub = closed.subgraph(members)
        assert sub.number_of_edges() == len(members) - 1, f"feeder {bid} is not a tree"
    parallel = Counter(
        tuple(sorted((net.edge_from[e], net.edge_to[e])))
        for e in range(net.n_edges)
        if net.kind_of(e) == "transformer"
        and net.node_source[[net.edge_from[e], net.edge_to[e]]].any()
    )
    meshed = sum(c - 1 for c in parallel.values())
    cyclomatic = (
        closed.number_of_edges() - closed.number_of_nodes() + nx.number_connected_components(closed)
    )
    assert cyclomatic == meshed
    assert meshed >= 1

    # each feeder has one or two reclosers
    per_feeder = Counter(
        feeder[net.node_ids[net.edge_from[net.edge_index[r]]]] for r in ids["recloser"]
    )
    assert set(per_feeder) == set(ids["breaker"])
    assert set(per_feeder.values()) <= {1, 2}

    # fuses open laterals: a conductor arrives upstream, one leaves downstream
    conductors = {"line", "cable"}
    for fid in ids["fuse"]:
        e = net.edge_index[fid]
        up, down = net.node_ids[net.edge_from[e]], net.node_ids[net.edge_to[e]]
        assert any(d["kind"] in conductors for _, _, d in g.edges(up, data=True)), fid
        assert any(d["kind"] in conductors for _, _, d in g.edges(down, data=True)), fid

    # ties: every normally-open edge is a switch joining two different feeders
    open_edges = np.flatnonzero(~net.edge_normal_closed)
    assert len(open_edges) > 0
    for e in open_edges:
        assert net.kind_of(int(e)) == "switch"
        a, b = net.node_ids[net.edge_from[e]], net.node_ids[net.edge_to[e]]
        assert feeder[a] != feeder[b], net.edge_ids[e]

    # breakers can carry their feeder and then some
    customers = Counter()
    for v, f in feeder.items():
        customers[f] += int(net.node_customers[net.node_index[v]])
    for bid in ids["breaker"]:
        cap = net.edge_capacity[net.edge_index[bid]]
        assert 1.4 * customers[bid] <= cap <= 2.1 * customers[bid] + 20
    return {"kinds": kinds, "feeders": len(ids["breaker"]), "ties": len(open_edges)}


# ------------------------------------------------------------ synthetic
def same(a: Network, b: Network) -> bool:
    return (
        a.node_ids == b.node_ids
        and a.edge_ids == b.edge_ids
        and np.array_equal(a.node_xy, b.node_xy)
        and np.array_equal(a.edge_from, b.edge_from)
        and np.array_equal(a.edge_to, b.edge_to)
        and np.array_equal(a.edge_kind, b.edge_kind)
        and np.array_equal(a.node_customers, b.node_customers)
    )


def test_synthetic_is_deterministic_for_a_seed() -> None:
    assert same(synthetic_network(4000, seed=3), synthetic_network(4000, seed=3))
    assert not same(synthetic_network(4000, seed=3), synthetic_network(4000, seed=4))


@pytest.mark.parametrize("n", [300, 2_000, 12_345, 60_000])
def test_synthetic_node_count_near_target(n: int) -> None:
    net = synthetic_network(n, seed=1)
    assert abs(net.n_nodes - n) <= 0.03 * n


def test_synthetic_rejects_tiny_networks() -> None:
    with pytest.raises(ValueError):
        synthetic_network(10)


def test_synthetic_structure(medium: Network) -> None:
    counts = check_structure(medium)
    kinds = counts["kinds"]
    assert counts["feeders"] >= 10
    assert kinds["fuse"] > counts["feeders"] and kinds["transformer"] > kinds["fuse"]
    assert kinds["sectionalizer"] > 0 and kinds["cable"] > 0
    # about one customer per 2-4 nodes
    assert 2.0 <= medium.n_nodes / medium.node_customers.sum() <= 4.0
    # ties are many, some between substations
    assert counts["ties"] >= counts["feeders"] // 2


def test_synthetic_geography(medium: Network) -> None:
    spans = medium.edge_length_m[medium.kind_mask("line", "cable")]
    mv = spans[spans >= 30]
    assert np.median(mv) > 60 and mv.max() <= 150.01
    lon, lat = medium.node_xy.T
    assert np.ptp(lon) < 1.0 and np.ptp(lat) < 1.0  # one service area, not a continent
    # lengths agree with geodesic distances between the end nodes
    from pyproj import Geod

    e = np.flatnonzero(medium.kind_mask("line"))[:500]
    a, b = medium.node_xy[medium.edge_from[e]], medium.node_xy[medium.edge_to[e]]
    _, _, d = Geod(ellps="WGS84").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert np.allclose(d, medium.edge_length_m[e], rtol=0.01, atol=0.05)


def test_synthetic_loads_through_the_engine(medium: Network) -> None:
    supply = medium.supply
    assert supply.energized.all()
    # opening a breaker drops exactly its feeder's customers
    feeder, _ = feeders_of(medium)
    bid = next(e for e in medium.edge_ids if e.endswith("-B"))
    expected = sum(
        int(medium.node_customers[medium.node_index[v]]) for v, f in feeder.items() if f == bid
    )
    from topology import downstream

    assert downstream(medium, bid).data["customers"] == expected


@pytest.mark.slow
def test_synthetic_200k() -> None:
    net = synthetic_network(200_000, seed=11)
    assert abs(net.n_nodes - 200_000) <= 0.02 * 200_000
    assert len(set(net.node_ids)) == net.n_nodes
    closed = net.edge_normal_closed
    # a closed forest plus the meshed substations: m_closed - n + sources == meshed
    meshed = sum(1 for e in net.edge_ids if e.endswith("-TR2"))
    assert int(closed.sum()) - net.n_nodes + len(net.sources) == meshed
    assert net.supply.energized.all()


# ----------------------------------------------------------------- demo
def test_demo_structure_and_size(area: DemoArea) -> None:
    net = area.network
    counts = check_structure(net)
    assert len(net.sources) >= 2
    assert 8 <= counts["feeders"] <= 14
    assert 5 <= counts["ties"] <= 15
    assert 10_000 <= net.n_nodes <= 25_000
    assert 4_000 <= len(net.customers) <= 8_000
    stats = area.stats()
    assert stats["feeders"] == counts["feeders"] and stats["customers"] == len(net.customers)
    # every feeder but perhaps one remote one has a tie
    feeder, _ = feeders_of(net)
    tied = {
        feeder[net.node_ids[v]]
        for e in np.flatnonzero(~net.edge_normal_closed)
        for v in (net.edge_from[e], net.edge_to[e])
    }
    assert len(tied) >= counts["feeders"] - 1


def test_demo_lines_follow_roads(area: DemoArea) -> None:
    from shapely.geometry import LineString, Point
    from shapely.strtree import STRtree

    roads = [LineString(f["geometry"]["coordinates"]) for f in area.roads["features"]]
    tree = STRtree(roads)
    net = area.network
    drawn = np.flatnonzero(np.diff(net.geom_offsets) >= 2)
    heads = set(net.edge_to[net.kind_mask("breaker")].tolist())  # cable exits leave the yard
    mv = [
        e
        for e in drawn
        if net.kind_of(int(e)) in ("line", "cable") and net.edge_from[e] not in heads
    ][::25]
    deg = 1e-5  # about 1 m
    for e in mv:
        mid = net.edge_coords(int(e))[1] if len(net.edge_coords(int(e))) > 2 else None
        point = Point(mid if mid is not None else net.edge_coords(int(e)).mean(axis=0))
        nearest = roads[tree.nearest(point)]
        assert nearest.distance(point) < 5 * deg, net.edge_ids[e]
    # spans 40-120 m on medium voltage (device terminals excepted)
    n_mv = net.node_voltage_kv[net.edge_from] >= 10
    spans = net.edge_length_m[net.kind_mask("line") & n_mv]
    assert np.percentile(spans, 5) >= 30 and np.percentile(spans, 95) <= 130


def test_demo_customers(area: DemoArea) -> None:
    c = area.network.customers
    assert c is not None
    assert len(set(c.ids)) == len(c)
    phones = c.fields["phone"]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"\+86\d{10,11}", p) for p in phones)
    assert len(set(c.fields["meter"])) == len(c) and len(set(c.fields["account"])) == len(c)
    service_points = {v for v, nid in enumerate(area.network.node_ids) if "-P" in nid}
    assert set(c.node.tolist()) <= service_points
    critical = Counter(x for x in c.fields["critical"] if x)
    assert set(critical) == {"life_support", "hospital", "water"}
    assert 0.005 <= sum(critical.values()) / len(c) <= 0.02
    # each customer lies near its service point (within ~50 m)
    xy = area.network.node_xy[c.node]
    d = np.hypot(
        (np.array(c.fields["lon"]) - xy[:, 0]) * np.cos(np.radians(xy[:, 1])),
        np.array(c.fields["lat"]) - xy[:, 1],
    )
    assert d.max() * 111_000 < 50


def test_demo_critical_customers_have_emergency_plans(area: DemoArea) -> None:
    """Every critical customer has its own plan, with a contact number no
    customer, unit or crew has; nobody else has one."""
    c = area.network.customers
    assert c is not None
    plans = c.fields["emergency_plan"]
    assert [bool(p) for p in plans] == [bool(x) for x in c.fields["critical"]]
    planned = [(x, p) for x, p in zip(c.fields["critical"], plans, strict=True) if p]
    assert len({p for _, p in planned}) == len(planned)  # varied: no two alike
    taken = set(c.fields["phone"]) | {crew["phone"] for crew in area.crews}
    taken |= {u[k] for u in area.units for k in ("first_contact", "second_contact", "leader")}
    contacts = [re.findall(r"\+86\d{10,11}", p) for _, p in planned]
    assert all(len(found) == 1 for found in contacts)
    numbers = [found[0] for found in contacts]
    assert len(set(numbers)) == len(numbers) and not set(numbers) & taken
    for reason, plan in planned:
        if reason == "life_support":
            assert re.search(r"battery|cylinder|sessions stop|backup", plan) and "; call " in plan
        else:  # hospitals and water: a standby generator, or where to hook one up
            assert "generator" in plan


def test_demo_zones_cover_customers_and_crews(area: DemoArea) -> None:
    import shapely
    from shapely.geometry import shape

    zones = {f["properties"]["id"]: f for f in area.zones["features"]}
    assert 6 <= len(zones) <= 12
    classes = Counter(f["properties"]["area_class"] for f in zones.values())
    assert set(classes) == {"urban", "rural", "remote"}
    units = {u["id"] for u in area.units}
    assert all(f["properties"]["unit"] in units for f in zones.values())
    geoms = [shape(f["geometry"]) for f in zones.values()]
    assert all(g.is_valid and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms)
    # zones do not overlap
    total = sum(g.area for g in geoms)
    assert shapely.union_all(geoms).area == pytest.approx(total, rel=1e-6)
    c = area.network.customers
    assert c is not None
    lon, lat = np.array(c.fields["lon"]), np.array(c.fields["lat"])
    covered = np.zeros(len(lon), dtype=bool)
    for g in geoms:
        covered |= shapely.contains_xy(g, lon, lat)
    assert covered.all()
    # customers in every class of area
    for cls in ("urban", "rural", "remote"):
        inside = np.zeros(len(lon), dtype=bool)
        for f, g in zip(zones.values(), geoms, strict=True):
            if f["properties"]["area_class"] == cls:
                inside |= shapely.contains_xy(g, lon, lat)
        assert inside.any(), cls
    # crews: their zone exists and contains their start; most zones owned
    owned = set()
    for crew in area.crews:
        if crew["zone"]:
            assert crew["zone"] in zones
            owned.add(crew["zone"])
            g = shape(zones[crew["zone"]]["geometry"])
            assert shapely.contains_xy(g, crew["lon"], crew["lat"]), crew["id"]
    assert len(owned) >= 0.8 * len(zones)


def test_demo_units_and_crews(area: DemoArea) -> None:
    assert 3 <= len(area.units) <= 5
    for u in area.units:
        assert u["first_contact"] and u["second_contact"] and u["leader"]
        assert u["first_contact"] != u["second_contact"]
    units = {u["id"] for u in area.units}
    assert 15 <= len(area.crews) <= 25
    assert len({c["id"] for c in area.crews}) == len(area.crews)
    skills = {"line", "cable", "tree", "service", "emergency"}
    night = 0
    for crew in area.crews:
        assert crew["unit"] in units
        assert set(crew["skills"].split(";")) <= skills
        assert set(crew["voltage_kv"].split(";")) <= {"0.4", "10"}
        assert TIME.match(crew["shift_start"]) and TIME.match(crew["shift_end"])
        night += crew["shift_end"] < crew["shift_start"]
    assert night >= 2
    phones = [c["phone"] for c in area.crews]
    assert len(set(phones)) == len(phones)


def test_demo_roads(area: DemoArea) -> None:
    features = area.roads["features"]
    assert all(f["geometry"]["type"] == "LineString" for f in features)
    assert all(len(f["geometry"]["coordinates"]) >= 2 for f in features)
    assert all(isinstance(f["properties"]["oneway"], bool) for f in features)
    assert 1 <= sum(f["properties"]["oneway"] for f in features) <= 30
    speeds = {f["properties"]["speed_kmh"] for f in features}
    assert min(speeds) >= 15 and max(speeds) <= 100 and len(speeds) >= 4
    # one connected road network: roads meet at shared end points
    g = nx.Graph()
    for f in features:
        coords = f["geometry"]["coordinates"]
        g.add_edge(tuple(coords[0]), tuple(coords[-1]))
    assert nx.is_connected(g)


@pytest.mark.slow
def test_demo_is_deterministic(area: DemoArea) -> None:
    again = demo_area()
    assert same(area.network, again.network)
    assert area.crews == again.crews and area.zones == again.zones
    plans = area.network.customers.fields["emergency_plan"]
    assert plans == again.network.customers.fields["emergency_plan"]


@pytest.mark.slow
def test_write_demo_round_trip(tmp_path: Path, area: DemoArea) -> None:
    paths = write_demo(tmp_path, area=area)
    assert sorted(p.name for p in paths) == sorted(
        [
            "network.geojson",
            "customers.csv",
            "crews.csv",
            "units.csv",
            "zones.geojson",
            "roads.geojson",
        ]
    )
    net = read_network(tmp_path / "network.geojson", customers=tmp_path / "customers.csv")
    assert net.node_ids == area.network.node_ids
    assert len(net.customers) == len(area.network.customers)
    assert [w for w in net.warnings if "loop" not in w.message] == []
    with (tmp_path / "crews.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "id",
        "name",
        "unit",
        "skills",
        "zone",
        "lon",
        "lat",
        "voltage_kv",
        "shift_start",
        "shift_end",
        "phone",
    ]
    with (tmp_path / "units.csv").open(newline="") as fh:
        assert next(csv.reader(fh)) == ["id", "name", "first_contact", "second_contact", "leader"]
    zones = json.loads((tmp_path / "zones.geojson").read_text())
    assert zones["type"] == "FeatureCollection"


@pytest.mark.slow
def test_main_writes_demo_and_synthetic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "demo")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["feeders"] >= 8 and "network.geojson" in summary["files"]
    assert synthetic_main([str(tmp_path / "big"), "--nodes", "3000", "--seed", "2"]) == 0
    net = read_network(tmp_path / "big" / "network.geojson")
    assert abs(net.n_nodes - 3000) < 100


def test_shipped_fixtures_match_the_generator(area: DemoArea, tmp_path: Path) -> None:
    """fixtures/demo is what ``python -m oms.demo_build fixtures/demo`` writes."""
    net = read_network(FIXTURES / "network.geojson", customers=FIXTURES / "customers.csv")
    assert net.node_ids == area.network.node_ids, "regenerate fixtures/demo"
    assert net.customers.ids == area.network.customers.ids
    written = tmp_path / "customers.csv"
    write_customers_csv(area.network, written)
    assert written.read_bytes() == (FIXTURES / "customers.csv").read_bytes()
    assert (FIXTURES / "roads.geojson").exists() and (FIXTURES / "zones.geojson").exists()
    total = sum(p.stat().st_size for p in FIXTURES.iterdir())
    assert total < 15 * 2**20
