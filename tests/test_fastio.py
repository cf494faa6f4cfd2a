"""The column-wise fast paths of the network readers build exactly what the validating one does.

On every plainly valid file (GeoJSON and GeoPackage) the fast path answers,
and its network equals the one :func:`network_from_features` builds from the
same features: every array, id, name, property, and every warning. On every
other file it steps aside (returns None), so read_network's errors are the
validating reader's, word for word, and valid files it cannot vouch for
(free-form properties, names that are numbers, ...) still load the same.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import DLAT, DLON, LAT0, LON0, edge, node, two_feeders
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from topology import Network, NetworkValidationError, network_from_features, read_network
from topology.fastio import network_from_frames, read_geojson_fast, read_layers_fast
from topology.io import _frame_features, _gis_layers, _read_gis_frames, write_network
from topology.model import EDGE_KINDS, OPERABLE_KINDS

# The GeoJSON fast path needs msgspec; without it GeoJSON takes the validating reader.
needs_msgspec = pytest.mark.skipif(
    importlib.util.find_spec("msgspec") is None, reason="msgspec is not installed"
)


def assert_same(fast: Network | None, slow: Network) -> None:
    """Every attribute of the two networks is equal (arrays in value and dtype), warnings too."""
    assert fast is not None
    for name, value in vars(slow).items():
        if name in ("_supply", "_derived"):  # built on demand from the rest
            continue
        other = getattr(fast, name)
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype, name
            assert np.array_equal(value, other, equal_nan=value.dtype.kind == "f"), name
        else:
            assert value == other, name


def write_geojson(path: Path, features: list[dict[str, Any]], **extra: Any) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path


def read_fast(path: Path, crs: str | None = None) -> Network | None:
    if path.suffix == ".gpkg":
        return read_layers_fast(_gis_layers(path) or [], crs, str(path))
    return read_geojson_fast(path, crs, str(path))


def read_frames_fast(path: Path) -> Network | None:
    frames, file_crs = _read_gis_frames(path)
    return network_from_frames(frames, file_crs, str(path))


def read_slow(path: Path, crs: str | None = None) -> Network:
    if path.suffix in (".gpkg", ".parquet"):
        frames, file_crs = _read_gis_frames(path)
        return network_from_features(_frame_features(frames), crs=crs or file_crs, source=str(path))
    doc = json.loads(path.read_text())
    file_crs = (doc.get("crs") or {}).get("properties", {}).get("name")
    return network_from_features(doc["features"], crs=crs or file_crs, source=str(path))


# ---------------------------------------------------------------- valid files
@st.composite
def networks(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Contract-1 features of every optional shape, valid, in random order.

    Random trees plus extra edges (closed loops, parallel edges), several
    sources, dead islands (warnings), integer ids, names, voltages, customer
    counts as integers or whole floats, null geometry, omitted or null
    lengths (the IEEE feeders of issue 12), 3-D positions, open devices,
    SCADA flags and capacities, given or null.
    """
    n = draw(st.integers(1, 12))
    sources = draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=3))
    maybe = st.one_of(st.none(), st.just("absent"))

    def optional(props: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
        value = draw(st.one_of(maybe, values))
        if value != "absent":
            props[key] = value

    nodes = []
    for i in range(n):
        props: dict[str, Any] = {
            "id": i if draw(st.booleans()) else f"n{i}",
            "kind": "source" if i in sources else "node",
        }
        optional(props, "name", st.text(max_size=6))
        optional(props, "voltage_kv", st.sampled_from([0.4, 10, 20.0, 110]))
        optional(props, "customers", st.one_of(st.integers(0, 50), st.sampled_from([0.0, 3.0])))
        xy = [LON0 + i * DLON, LAT0 + (i % 3) * DLAT]
        if draw(st.booleans()):
            xy.append(draw(st.floats(-10, 300)))
        nodes.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": xy},
            }
        )
    ids = [f["properties"]["id"] for f in nodes]
    pairs = [(draw(st.integers(0, i - 1)), i) for i in range(1, n)]
    pairs += draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4))
    pairs = [(a, b) for a, b in pairs if a != b]
    edges = []
    for k, (a, b) in enumerate(pairs):
        kind = draw(st.sampled_from(EDGE_KINDS))
        props = {"id": f"e{k}", "kind": kind, "from": ids[a], "to": ids[b]}
        if kind in OPERABLE_KINDS:
            optional(props, "normal_state", st.sampled_from(["open", "closed"]))
        else:
            optional(props, "normal_state", st.just("closed"))
        optional(props, "length_m", st.floats(0.0, 5000.0))
        optional(props, "scada", st.booleans())
        optional(props, "capacity_customers", st.integers(0, 500))
        optional(props, "name", st.text(max_size=6))
        geometry = None
        if draw(st.booleans()):
            a_xy, b_xy = nodes[a]["geometry"]["coordinates"], nodes[b]["geometry"]["coordinates"]
            mid = [(a_xy[0] + b_xy[0]) / 2, (a_xy[1] + b_xy[1]) / 2 + DLAT / 3]
            geometry = {"type": "LineString", "coordinates": [a_xy[:2], mid, b_xy[:2]]}
        edges.append({"type": "Feature", "properties": props, "geometry": geometry})
    return draw(st.permutations(nodes + edges))


@needs_msgspec
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(features=networks())
def test_fast_geojson_equals_the_validating_reader(tmp_path: Path, features: list[dict]) -> None:
    path = write_geojson(tmp_path / "net.geojson", features)
    slow = network_from_features(features, source=str(path))
    assert_same(read_fast(path), slow)
    assert_same(read_network(path), slow)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(features=networks())
def test_fast_geopackage_equals_the_validating_reader(tmp_path: Path, features: list[dict]) -> None:
    assume(any("from" in f["properties"] for f in features))  # an edges layer to write
    path = tmp_path / "net.gpkg"
    write_network(network_from_features(features), path)
    slow = read_slow(path)
    assert_same(read_fast(path), slow)
    assert_same(read_frames_fast(path), slow)


@needs_msgspec
def test_the_generated_feeders_take_the_fast_path(tmp_path: Path) -> None:
    from topology.synthetic import synthetic_network

    net = synthetic_network(3000, seed=3)
    for suffix in (".geojson", ".gpkg", ".parquet"):
        path = tmp_path / f"net{suffix}"
        write_network(net, path)
        slow = read_slow(path)
        fast = read_frames_fast(path) if suffix == ".parquet" else read_fast(path)
        assert_same(fast, slow)
        assert fast is not None and fast.warnings == slow.warnings
        if suffix == ".gpkg":
            assert_same(read_frames_fast(path), slow)


@pytest.mark.filterwarnings("ignore:Column names longer than 10 characters")
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_a_shapefile_pair_takes_the_fast_path(tmp_path: Path) -> None:
    net = network_from_features(two_feeders())
    write_network(net, tmp_path / "net.gpkg")
    frames, _ = _read_gis_frames(tmp_path / "net.gpkg")
    for frame, layer in zip(frames, ("nodes", "edges"), strict=True):
        frame.to_file(tmp_path / f"{layer}.shp")  # capacity_customers becomes capacity_c
    layers = _gis_layers(tmp_path)
    assert layers is not None
    fast = read_layers_fast(layers, None, str(tmp_path))
    slow, _crs = _read_gis_frames(tmp_path)
    assert_same(fast, network_from_features(_frame_features(slow), crs=_crs, source=str(tmp_path)))
    assert fast is not None and fast.edge_capacity[fast.edge("B1")] == 60


@needs_msgspec
def test_a_crs_member_or_argument_is_applied_as_by_the_validating_reader(tmp_path: Path) -> None:
    from pyproj import Transformer

    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    features = two_feeders()
    for f in features:
        if f["geometry"]:
            f["geometry"]["coordinates"] = list(to_merc.transform(*f["geometry"]["coordinates"]))
    crs = {"type": "name", "properties": {"name": "EPSG:3857"}}
    path = write_geojson(tmp_path / "merc.geojson", features, crs=crs)
    assert_same(read_fast(path), read_slow(path))
    plain = write_geojson(tmp_path / "plain.geojson", features)
    assert_same(read_fast(plain, "EPSG:3857"), read_slow(plain, "EPSG:3857"))


# ------------------------------------------- files the fast path steps aside for
def _base() -> list[dict[str, Any]]:
    return copy.deepcopy(two_feeders())


def _props(features: list[dict[str, Any]], fid: str) -> dict[str, Any]:
    return next(f for f in features if f["properties"]["id"] == fid)["properties"]


def _set(fid: str, **props: Any) -> Any:
    def change(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _props(features, fid).update(props)
        return features

    return change


def _geometry(fid: str, geometry: Any) -> Any:
    def change(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
        next(f for f in features if f["properties"]["id"] == fid)["geometry"] = geometry
        return features

    return change


def _drop(key: str, fid: str) -> Any:
    def change(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
        del _props(features, fid)[key]
        return features

    return change


def _add(*extra: dict[str, Any]) -> Any:
    return lambda features: [*features, *extra]


# Each error network_from_features names, made in an otherwise valid file.
ERRORS = {
    "duplicate id": _add(node("a1", 1, 1)),
    "node id of an edge": _add(node("L1", 1, 1)),
    "unknown kind": _add(node("pole", 1, 1, "pole")),
    "no kind": _drop("kind", "a2"),
    "missing id": _add({"type": "Feature", "properties": {"kind": "node"}, "geometry": None}),
    "empty id": _set("a2", id=""),
    "float id": _set("a2", id=2.0),
    "boolean id": _set("a2", id=True),
    "not a feature": _add([1, 2]),
    "properties not an object": _add({"type": "Feature", "properties": [], "geometry": None}),
    "node without geometry": _geometry("a3", None),
    "node drawn as a line": _geometry(
        "a3", {"type": "LineString", "coordinates": [[8, 49], [8, 49.1]]}
    ),
    "node position of one number": _geometry("a3", {"type": "Point", "coordinates": [8]}),
    "node position as text": _geometry("a3", {"type": "Point", "coordinates": ["8", "49"]}),
    "negative customers": _set("a1", customers=-3),
    "fractional customers": _set("a1", customers=2.5),
    "customers as text": _set("a1", customers="2"),
    "customers as boolean": _set("a1", customers=True),
    "zero voltage": _set("BUS1", voltage_kv=0),
    "voltage as text": _set("BUS1", voltage_kv="10"),
    "dangling to": _set("L1", to="ghost"),
    "to names an edge": _set("L1", to="L2"),
    "missing from": _drop("from", "L1"),
    "null to": _set("L1", to=None),
    "from as float": _set("L1", **{"from": 1.5}),
    "self loop": _set("L1", to="a1"),
    "open line": _set("L1", normal_state="open"),
    "unknown state": _set("SW1", normal_state="ajar"),
    "negative length": _set("L1", length_m=-1),
    "length as text": _set("L1", length_m="100"),
    "scada as number": _set("B1", scada=1),
    "scada as text": _set("B1", scada="yes"),
    "negative capacity": _set("B1", capacity_customers=-5),
    "edge drawn as a point": _geometry("L1", {"type": "Point", "coordinates": [8.4, 49]}),
    "edge of one position": _geometry("L1", {"type": "LineString", "coordinates": [[8.4, 49]]}),
    "edge of no position": _geometry("L1", {"type": "LineString", "coordinates": []}),
    "multilinestring": _geometry(
        "L1", {"type": "MultiLineString", "coordinates": [[[8, 49], [8, 49.1]]]}
    ),
    "geometry without type": _geometry("L1", {"coordinates": [[8, 49], [8, 49.1]]}),
    "node outside lon/lat": _geometry(
        "a3", {"type": "Point", "coordinates": [500000.0, 5400000.0]}
    ),
    "edge outside lon/lat": _geometry(
        "L1", {"type": "LineString", "coordinates": [[8, 49], [8, 91]]}
    ),
    "no source": lambda fs: [f for f in fs if f["properties"].get("kind") != "source"],
    "no nodes": lambda fs: [edge("x", "line", "a", "b")],
}


@needs_msgspec
@pytest.mark.parametrize("mistake", ERRORS)
def test_a_file_with_an_error_gets_the_validating_readers_words(
    tmp_path: Path, mistake: str
) -> None:
    features = ERRORS[mistake](_base())
    path = write_geojson(tmp_path / "bad.geojson", features)
    with pytest.raises(NetworkValidationError) as expected:
        network_from_features(features, source=str(path))
    with pytest.raises(NetworkValidationError) as got:
        read_network(path)
    assert str(got.value) == str(expected.value)
    assert got.value.errors == expected.value.errors
    # The fast path steps aside, except for the checks on whole coordinate
    # arrays, which both paths share (lon/lat range, CRS).
    if "lon/lat" in mistake:
        with pytest.raises(NetworkValidationError) as fast:
            read_fast(path)
        assert str(fast.value) == str(expected.value)
    else:
        assert read_fast(path) is None


@needs_msgspec
def test_crs_errors_get_the_validating_readers_words(tmp_path: Path) -> None:
    for crs, features in (
        ("EPSG:999999", _base()),
        ("EPSG:3857", _base()),  # degrees under a projected CRS
    ):
        member = {"type": "name", "properties": {"name": crs}}
        path = write_geojson(tmp_path / "crs.geojson", features, crs=member)
        with pytest.raises(NetworkValidationError) as expected:
            network_from_features(features, crs=crs, source=str(path))
        with pytest.raises(NetworkValidationError) as got:
            read_network(path)
        assert str(got.value) == str(expected.value)


# Valid files the fast path does not vouch for: the validating reader loads them.
VALID_BUT_UNUSUAL = {
    "free-form property": _set("a1", feeder="F1"),
    "edge property on a node": _set("a1", length_m=3),
    "null node property on an edge": _set("L1", voltage_kv=None),
    "name that is a number": _set("a1", name=7),
    "name that is an object": _set("L1", name={"en": "x"}),
    "position with text beyond x, y": _geometry(
        "a3", {"type": "Point", "coordinates": [8.4, 49, "z"]}
    ),
    "customers beyond 2**53": _set("a1", customers=2**60),
}


@needs_msgspec
@pytest.mark.parametrize("case", VALID_BUT_UNUSUAL)
def test_a_valid_file_the_fast_path_cannot_vouch_for_loads_as_before(
    tmp_path: Path, case: str
) -> None:
    features = VALID_BUT_UNUSUAL[case](_base())
    path = write_geojson(tmp_path / "odd.geojson", features)
    assert read_fast(path) is None
    assert_same(read_network(path), network_from_features(features, source=str(path)))


@needs_msgspec
@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode(),  # a byte-order mark
        lambda text: text.encode("utf-16"),
        lambda text: text.replace('"a1"', '"\\ud800"').encode(),  # a lone surrogate
        lambda text: text.replace('"customers": 2', '"customers": 2, "customers": 3').encode(),
    ],
    ids=["bom", "utf-16", "lone surrogate", "repeated key"],
)
def test_json_the_fast_decoder_does_not_take_loads_as_before(tmp_path: Path, encode: Any) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": _base()})
    path = tmp_path / "odd.geojson"
    path.write_bytes(encode(text))
    doc = json.loads(path.read_bytes())
    assert_same(read_network(path), network_from_features(doc["features"], source=str(path)))


def test_geopackage_errors_get_the_validating_readers_words(tmp_path: Path) -> None:
    import geopandas as gpd

    net = network_from_features(two_feeders())
    path = tmp_path / "net.gpkg"
    write_network(net, path)
    edges = gpd.read_file(path, layer="edges")
    for column, value in (("to", "ghost"), ("normal_state", "open"), ("scada", "maybe")):
        bad = edges.copy()
        bad.loc[bad["id"] == "L1", column] = value
        bad.to_file(path, layer="edges", driver="GPKG")
        assert read_fast(path) is None and read_frames_fast(path) is None
        with pytest.raises(NetworkValidationError) as expected:
            read_slow(path)
        with pytest.raises(NetworkValidationError) as got:
            read_network(path)
        assert str(got.value) == str(expected.value)
