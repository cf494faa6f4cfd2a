"""Reading and writing networks (contract 1) and customers (contract 2).

A network file is a GeoJSON FeatureCollection in lon/lat WGS84, or in the
CRS named by its ``crs`` member or given to the reader; GeoPackage (layers
``nodes`` and ``edges``), GeoParquet and shapefile pairs go through
geopandas with the same properties. Reading validates everything first and
raises :class:`~topology.exceptions.NetworkValidationError` listing every
error with its feature id: a file with errors is never half-loaded.

Plainly valid files are built from whole columns by :mod:`topology.fastio`
(GeoJSON decoded with msgspec, GIS layers as data frames); any other goes
through :func:`network_from_features`, the one place the rules live. The
GeoJSON paths import no geopandas, so the command line answers quickly.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from topology.exceptions import Issue, NetworkFileError, NetworkValidationError
from topology.model import (
    CUSTOMER_FIELDS,
    EDGE_KINDS,
    NODE_KINDS,
    OPERABLE_KINDS,
    Customers,
    Network,
)

__all__ = [
    "attach_customers",
    "edge_feature",
    "highlight_to_geojson",
    "network_from_features",
    "network_to_geojson",
    "node_feature",
    "read_customers",
    "read_network",
    "write_customers_csv",
    "write_network",
]

_NODE_PROPS = {"id", "kind", "name", "voltage_kv", "customers"}
_EDGE_PROPS = {
    "id",
    "kind",
    "from",
    "to",
    "name",
    "normal_state",
    "length_m",
    "scada",
    "capacity_customers",
}
# Shapefile field names are cut at 10 characters.
_SHAPEFILE_NAMES = {"capacity_c": "capacity_customers", "normal_sta": "normal_state"}
_GIS_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_GIS_SUFFIXES = {".gpkg", ".parquet", ".geoparquet", ".shp"}


# ---------------------------------------------------------------- reading
def read_network(
    path: str | os.PathLike[str],
    *,
    crs: str | None = None,
    customers: str | os.PathLike[str] | None = None,
) -> Network:
    """Read and validate a network file, optionally with its customers.

    Parameters
    ----------
    path : path-like
        GeoJSON (``.geojson``/``.json``), GeoPackage, GeoParquet, or a
        shapefile of a ``nodes``/``edges`` pair (or a folder holding both).
    crs : str, optional
        CRS of the coordinates (e.g. ``"EPSG:3857"``) when the file does not
        name one; they are transformed to WGS84.
    customers : path-like, optional
        A customers CSV (contract 2); the nodes' ``customers`` counts are
        then ignored.

    Returns
    -------
    Network
        With ``warnings`` (closed loops, unreachable nodes) attached.

    Raises
    ------
    NetworkFileError
        The file cannot be read at all.
    NetworkValidationError
        The file holds errors; every one is listed.

    Notes
    -----
    O(n + m) after parsing. Plainly valid files are built from whole columns
    (:mod:`topology.fastio`); any other goes through
    :func:`network_from_features`, whose errors and warnings are the rules.
    """
    from topology.fastio import network_from_frames, read_geojson_fast, read_layers_fast

    path = Path(path)
    if not path.exists():
        raise NetworkFileError(f"{path}: no such file")
    # The fast paths build from whole columns, or answer None when anything
    # is not plainly valid; the validating reader then gives its own verdict.
    if path.is_dir() or path.suffix.lower() in _GIS_SUFFIXES:
        layers = (
            _gis_layers(path) if path.suffix.lower() not in (".parquet", ".geoparquet") else None
        )
        net = read_layers_fast(layers, crs, str(path)) if layers else None
        if net is None:
            frames, file_crs = _read_gis_frames(path)
            net = network_from_frames(frames, crs or file_crs, str(path))
        if net is None:
            features = _frame_features(frames)
            net = network_from_features(features, crs=crs or file_crs, source=str(path))
    else:
        net = read_geojson_fast(path, crs, str(path))
        if net is None:
            features, file_crs = _read_geojson_features(path)
            net = network_from_features(features, crs=crs or file_crs, source=str(path))
    if customers is not None:
        attach_customers(net, read_customers(customers, net))
    return net


def _read_geojson_features(path: Path) -> tuple[list[Any], str | None]:
    try:
        with path.open("rb") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError) as exc:
        raise NetworkFileError(f"{path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise NetworkFileError(
            f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise NetworkFileError(f"{path}: not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise NetworkFileError(f"{path}: 'features' must be a list")
    return features, _crs_member(doc.get("crs"), path)


def _crs_member(member: Any, path: Path) -> str | None:
    if member is None:
        return None
    try:
        name = member["properties"]["name"]
        if not isinstance(name, str):
            raise TypeError
    except (TypeError, KeyError) as exc:
        raise NetworkFileError(
            f"{path}: the 'crs' member must be "
            '{"type": "name", "properties": {"name": "EPSG:NNNN"}}'
        ) from exc
    return name


def _gis_layers(path: Path) -> list[tuple[Path, str | None]] | None:
    """The (file, layer) of the nodes and the edges of a GeoPackage or shapefile network.

    None for a shapefile not named as a ``*nodes.shp``/``*edges.shp`` pair.
    """
    if path.is_dir():
        return [(path / f"{layer}.shp", None) for layer in ("nodes", "edges")]
    if path.suffix.lower() == ".gpkg":
        return [(path, layer) for layer in ("nodes", "edges")]
    stem = path.stem
    if not (stem.endswith("nodes") or stem.endswith("edges")):
        return None
    base = stem[: -len("nodes")]
    return [(path.with_name(f"{base}{layer}.shp"), None) for layer in ("nodes", "edges")]


def _read_gis_frames(path: Path) -> tuple[list[Any], str | None]:
    """The GeoDataFrames of a GIS network (nodes before edges) and their CRS."""
    import geopandas as gpd

    frames: list[Any] = []
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            frames = [gpd.read_parquet(path)]
        else:
            layers = _gis_layers(path)
            if layers is None:
                raise NetworkFileError(
                    f"{path}: a shapefile network is a pair named *nodes.shp and *edges.shp"
                )
            frames = [gpd.read_file(file, layer=layer) for file, layer in layers]
    except NetworkFileError:
        raise
    except Exception as exc:  # the GIS drivers raise many types
        raise NetworkFileError(f"{path}: cannot read: {exc}") from exc
    crs_names = {f.crs.to_string() for f in frames if f.crs is not None}
    if len(crs_names) > 1:
        raise NetworkFileError(f"{path}: the layers have different CRS: {sorted(crs_names)}")
    return frames, (crs_names.pop() if crs_names else None)


def _frame_features(frames: list[Any]) -> list[Any]:
    """GeoJSON-like features of GIS frames, with what GIS drivers store as missing left out."""
    features: list[Any] = []
    for frame in frames:
        columns = [_SHAPEFILE_NAMES.get(c, c) for c in frame.columns]
        geom_col = frame.geometry.name
        for row in frame.itertuples(index=False, name=None):
            props: dict[str, Any] = {}
            geometry = None
            for col, value in zip(columns, row, strict=True):
                if col == geom_col:
                    geometry = None if value is None or value.is_empty else value.__geo_interface__
                elif not _is_missing(value):
                    value = value.item() if isinstance(value, np.generic) else value
                    if col == "scada":  # GIS drivers store booleans as text or 0/1
                        value = _GIS_BOOLEANS.get(str(value).lower(), value)
                    props[col] = value
            features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return features


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


class _Collector:
    """Collects issues for one file, each tagged with the element id."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def error(self, element: str | None, message: str) -> None:
        self.issues.append(Issue(element, message, "error"))

    @property
    def failed(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_position(pos: Any) -> tuple[float, float] | None:
    if (
        isinstance(pos, (list, tuple))
        and len(pos) >= 2
        and _finite_number(pos[0])
        and _finite_number(pos[1])
    ):
        return float(pos[0]), float(pos[1])
    return None


def network_from_features(
    features: Iterable[Any], *, crs: str | None = None, source: str | None = None
) -> Network:
    """Validate contract-1 features and build a :class:`Network`.

    Every error of every feature is collected before anything is built;
    warnings (closed loops, nodes no source reaches) are attached to the
    result as ``net.warnings``.

    Raises
    ------
    NetworkValidationError
        Listing every error, each with the feature id (or ``feature #k``
        when the feature has no usable id).
    """
    issues = _Collector()
    seen: dict[str, int] = {}
    nodes: list[tuple[str, bool, tuple[float, float], dict[str, Any]]] = []
    edges: list[tuple[str, str, Any, Any, dict[str, Any], list[tuple[float, float]] | None]] = []

    for k, feature in enumerate(features, start=1):
        where = f"feature #{k}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            issues.error(where, "not a GeoJSON Feature with a 'properties' object")
            continue
        props = feature["properties"]
        fid = props.get("id")
        if isinstance(fid, int) and not isinstance(fid, bool):
            fid = str(fid)
        if not isinstance(fid, str) or not fid:
            issues.error(where, "missing 'id' (a non-empty string)")
            continue
        if fid in seen:
            issues.error(fid, f"duplicate id (also feature #{seen[fid]})")
            continue
        seen[fid] = k
        kind = props.get("kind")
        geometry = feature.get("geometry")
        if kind in NODE_KINDS:
            nodes.extend(_parse_node(fid, kind, props, geometry, issues))
        elif kind in EDGE_KINDS:
            edges.extend(_parse_edge(fid, kind, props, geometry, issues))
        else:
            issues.error(
                fid,
                f"unknown kind {kind!r}; expected one of {', '.join(NODE_KINDS + EDGE_KINDS)}",
            )

    node_index = {nid: i for i, (nid, *_rest) in enumerate(nodes)}
    for eid, _kind, a, b, _props, _coords in edges:
        for end, ref in (("from", a), ("to", b)):
            if not isinstance(ref, (str, int)) or isinstance(ref, bool):
                issues.error(eid, f"missing '{end}' (a node id)")
            elif str(ref) not in node_index:
                what = "an edge, not a node" if str(ref) in seen else "no such node"
                issues.error(eid, f"'{end}' names {ref!r}: {what}")
        if a is not None and a == b:
            issues.error(eid, f"connects node {a!r} to itself")

    if not nodes and not issues.failed:
        issues.error(None, "the file holds no nodes: a network needs at least a source node")
    elif not issues.failed and not any(is_source for _, is_source, _, _ in nodes):
        issues.error(
            None, "the network has no source node (kind 'source'): nothing could be energized"
        )
    transformer = _transformer(crs, issues)
    if issues.failed:
        raise NetworkValidationError(issues.issues, source)

    node_xy = np.array([xy for _, _, xy, _ in nodes], dtype=np.float64).reshape(-1, 2)
    offsets = np.zeros(len(edges) + 1, dtype=np.int64)
    flat: list[tuple[float, float]] = []
    for i, (*_head, coords) in enumerate(edges):
        if coords:
            flat.extend(coords)
        offsets[i + 1] = len(flat)
    geom = np.array(flat, dtype=np.float64).reshape(-1, 2)

    def edge_prop(name: str, default: Any) -> list[Any]:
        return [p.get(name, default) for *_h, p, _c in edges]

    node_props = {
        i: extra
        for i, (*_h, p) in enumerate(nodes)
        if (extra := {k: v for k, v in p.items() if k not in _NODE_PROPS})
    }
    edge_props = {
        i: extra
        for i, (*_h, p, _c) in enumerate(edges)
        if (extra := {k: v for k, v in p.items() if k not in _EDGE_PROPS})
    }
    return _finish_network(
        crs,
        transformer,
        source,
        node_ids=[n[0] for n in nodes],
        node_xy=node_xy,
        node_source=[n[1] for n in nodes],
        node_customers=[n[3].get("customers") or 0 for n in nodes],
        node_name=[n[3].get("name") for n in nodes],
        node_voltage_kv=[
            np.nan if n[3].get("voltage_kv") is None else n[3]["voltage_kv"] for n in nodes
        ],
        edge_ids=[e[0] for e in edges],
        edge_kind=[e[1] for e in edges],
        edge_from=[node_index[str(e[2])] for e in edges],
        edge_to=[node_index[str(e[3])] for e in edges],
        edge_normal_closed=[s != "open" for s in edge_prop("normal_state", "closed")],
        edge_length_m=[np.nan if v is None else v for v in edge_prop("length_m", None)],
        edge_scada=[bool(v) for v in edge_prop("scada", False)],
        edge_capacity=[np.nan if v is None else v for v in edge_prop("capacity_customers", None)],
        edge_name=edge_prop("name", None),
        geom_offsets=offsets,
        geom_coords=geom,
        node_props=node_props,
        edge_props=edge_props,
    )


def _finish_network(
    crs: str | None,
    transformer: Any,
    source: str | None,
    *,
    node_ids: list[str],
    node_xy: np.ndarray,
    edge_ids: list[str],
    geom_offsets: np.ndarray,
    geom_coords: np.ndarray,
    **columns: Any,
) -> Network:
    """The last checks and the build, shared by every reader once each feature is valid.

    Transforms the coordinates to WGS84 with ``transformer`` (from
    :func:`_transformer` for ``crs``), refuses coordinates that are not
    lon/lat after that (:class:`NetworkValidationError`), builds the
    :class:`Network` from the columns and attaches its structural warnings.
    """
    issues = _Collector()
    if transformer is not None and _degrees_in_projected(transformer, node_xy, geom_coords):
        issues.error(
            None,
            f"the CRS is {crs}, a projected CRS (metres or feet), but every "
            "coordinate lies within +-180, +-90: they look like lon/lat degrees "
            "(give EPSG:4326, or no CRS, in the file's crs member or --crs)",
        )
        raise NetworkValidationError(issues.issues, source)
    if transformer is not None:
        for arr in (node_xy, geom_coords):
            if len(arr):
                arr[:, 0], arr[:, 1] = transformer.transform(arr[:, 0], arr[:, 1])
    # Out of range after the transformation: metres under a geographic CRS,
    # or the wrong projected one. Say which CRS the numbers were read in.
    hint = f"read in {crs}" if crs else "no CRS given, so read as lon/lat degrees"
    _check_lonlat(node_xy, node_ids, "node", issues, hint)
    bad_edges = _bad_lonlat_rows(geom_coords)
    for row in bad_edges[:1000]:
        e = int(np.searchsorted(geom_offsets, row, side="right") - 1)
        issues.error(edge_ids[e], f"geometry outside WGS84 lon/lat range (wrong CRS? {hint})")
    if issues.failed:
        raise NetworkValidationError(issues.issues, source)
    net = Network(
        node_ids=node_ids,
        node_xy=node_xy,
        edge_ids=edge_ids,
        geom_offsets=geom_offsets,
        geom_coords=geom_coords,
        **columns,
    )
    from topology.validation import structural_warnings

    net.warnings = structural_warnings(net)
    return net


def _parse_node(
    fid: str, kind: str, props: dict[str, Any], geometry: Any, issues: _Collector
) -> list[tuple[str, bool, tuple[float, float], dict[str, Any]]]:
    ok = True
    xy = None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        issues.error(fid, "a node needs Point geometry")
        ok = False
    else:
        xy = _parse_position(geometry.get("coordinates"))
        if xy is None:
            issues.error(fid, "Point coordinates must be two finite numbers")
            ok = False
    customers = props.get("customers")
    if customers is not None and not (
        _finite_number(customers) and customers >= 0 and float(customers).is_integer()
    ):
        issues.error(fid, f"'customers' must be a whole number >= 0, not {customers!r}")
        ok = False
    voltage = props.get("voltage_kv")
    if voltage is not None and not (_finite_number(voltage) and voltage > 0):
        issues.error(fid, f"'voltage_kv' must be a positive number, not {voltage!r}")
        ok = False
    if not ok or xy is None:
        return []
    return [(fid, kind == "source", xy, props)]


def _parse_edge(
    fid: str, kind: str, props: dict[str, Any], geometry: Any, issues: _Collector
) -> list[tuple[str, str, Any, Any, dict[str, Any], list[tuple[float, float]] | None]]:
    ok = True
    state = props.get("normal_state", "closed")
    if state is None:
        state = "closed"
    if state not in ("open", "closed"):
        issues.error(fid, f"'normal_state' must be 'open' or 'closed', not {state!r}")
        ok = False
    elif state == "open" and kind not in OPERABLE_KINDS:
        issues.error(fid, f"a {kind} cannot be normally open; only operable devices can")
        ok = False
    length = props.get("length_m")
    if length is not None and not (_finite_number(length) and length >= 0):
        issues.error(fid, f"'length_m' must be a number >= 0, not {length!r}")
        ok = False
    scada = props.get("scada")
    if scada is not None and not isinstance(scada, bool):
        issues.error(fid, f"'scada' must be true or false, not {scada!r}")
        ok = False
    capacity = props.get("capacity_customers")
    if capacity is not None and not (_finite_number(capacity) and capacity >= 0):
        issues.error(fid, f"'capacity_customers' must be a number >= 0, not {capacity!r}")
        ok = False
    coords: list[tuple[float, float]] | None = None
    if geometry is not None:
        if not isinstance(geometry, dict) or geometry.get("type") != "LineString":
            issues.error(fid, "an edge needs LineString geometry or null")
            ok = False
        else:
            raw = geometry.get("coordinates")
            parsed = [_parse_position(p) for p in raw] if isinstance(raw, (list, tuple)) else [None]
            if len(parsed) < 2 or any(p is None for p in parsed):
                issues.error(fid, "LineString needs two or more positions of finite numbers")
                ok = False
            else:
                coords = [p for p in parsed if p is not None]
    if not ok:
        return []
    return [(fid, kind, props.get("from"), props.get("to"), props, coords)]


def _transformer(crs: str | None, issues: _Collector) -> Any:
    """A pyproj transformer to WGS84 lon/lat, or None when already WGS84."""
    if crs is None:
        return None
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        issues.error(None, f"unknown CRS {crs!r}")
        return None
    wgs84 = CRS.from_epsg(4326)
    if parsed == wgs84 or parsed == CRS.from_user_input("OGC:CRS84"):
        return None
    return Transformer.from_crs(parsed, wgs84, always_xy=True)


def _degrees_in_projected(transformer: Any, node_xy: np.ndarray, geom: np.ndarray) -> bool:
    """Whether coordinates given in a projected CRS look like degrees instead.

    A network of more than a handful of nodes never fits within 180 x 90
    metres (or feet) of a projection's origin; degrees always do.
    """
    source = transformer.source_crs
    if source is None or not source.is_projected or len(node_xy) < 3:
        return False
    xy = np.vstack([node_xy, geom]) if len(geom) else node_xy
    xy = xy[np.isfinite(xy).all(axis=1)]
    return bool(len(xy)) and not len(_bad_lonlat_rows(xy))


def _bad_lonlat_rows(xy: np.ndarray) -> np.ndarray:
    return np.flatnonzero(
        ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
    )


def _check_lonlat(xy: np.ndarray, ids: list[str], what: str, issues: _Collector, hint: str) -> None:
    for row in _bad_lonlat_rows(xy)[:1000]:
        issues.error(ids[row], f"{what} position outside WGS84 lon/lat range (wrong CRS? {hint})")


# ------------------------------------------------------------- customers
def read_customers(path: str | os.PathLike[str], net: Network) -> Customers:
    """Read and validate a customers CSV (contract 2) against a network.

    Raises
    ------
    NetworkValidationError
        Listing every bad row as ``line N`` (the header is line 1) with the
        customer id and the reason.
    NetworkFileError
        The file cannot be read or lacks the ``id``/``node`` columns.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NetworkFileError(f"{path}: cannot read: {exc}") from exc
    if not rows:
        raise NetworkFileError(f"{path}: empty file; expected a header with id,node")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("id", "node") if c not in header]
    if missing:
        raise NetworkFileError(f"{path}: missing column(s) {', '.join(missing)}")
    col = {name: header.index(name) for name in header}
    issues = _Collector()
    ids: list[str] = []
    nodes: list[int] = []
    fields: dict[str, list[Any]] = {name: [] for name in CUSTOMER_FIELDS if name in col}
    seen: dict[str, int] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            issues.error(f"line {lineno}", f"{len(row)} fields, the header has {len(header)}")
            continue
        cid = row[col["id"]].strip()
        node = row[col["node"]].strip()
        where = f"line {lineno}"
        if not cid:
            issues.error(where, "empty customer id")
            continue
        where = f"line {lineno} ({cid})"
        if cid in seen:
            issues.error(where, f"duplicate customer id (also line {seen[cid]})")
            continue
        seen[cid] = lineno
        if node not in net.node_index:
            issues.error(where, f"node {node!r} is not a node of the network")
            continue
        values: dict[str, Any] = {}
        for name in fields:
            text = row[col[name]].strip()
            values[name] = text or None
        lonlat_ok = True
        for name, limit in (("lon", 180.0), ("lat", 90.0)):
            raw = values.get(name)
            if raw is None:
                continue
            try:
                number = float(raw)
            except ValueError:
                number = math.nan
            if not (math.isfinite(number) and abs(number) <= limit):
                issues.error(where, f"{name} {raw!r} is not a number within ±{limit:g}")
                lonlat_ok = False
            else:
                values[name] = number
        if ("lon" in values) != ("lat" in values) or (values.get("lon") is None) != (
            values.get("lat") is None
        ):
            issues.error(where, "give both lon and lat, or neither")
            lonlat_ok = False
        if not lonlat_ok:
            continue
        ids.append(cid)
        nodes.append(net.node_index[node])
        for name in fields:
            fields[name].append(values[name])
    if issues.failed:
        raise NetworkValidationError(issues.issues, str(path))
    return Customers(ids=ids, node=np.array(nodes, dtype=np.int64), fields=fields)


def attach_customers(net: Network, customers: Customers) -> None:
    """Make ``customers`` the network's customers; counts come from them alone.

    :meth:`~topology.model.Network.set_customers`, kept for its callers.
    """
    net.set_customers(customers)


def write_customers_csv(net: Network, path: str | os.PathLike[str]) -> None:
    """Write the network's customers as a contract-2 CSV."""
    customers = net.customers
    if customers is None:
        raise ValueError("the network has no individual customers to write")
    names = ["id", "node", *CUSTOMER_FIELDS]
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for i, cid in enumerate(customers.ids):
            row: list[Any] = [cid, net.node_ids[customers.node[i]]]
            for name in CUSTOMER_FIELDS:
                value = customers.get(name, i)
                row.append("" if value is None else value)
            writer.writerow(row)


# ---------------------------------------------------------------- writing
def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def node_feature(net: Network, v: int, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The contract-1 Feature of node position ``v`` (with optional extra properties)."""
    props: dict[str, Any] = {
        "id": net.node_ids[v],
        "kind": "source" if net.node_source[v] else "node",
    }
    if net.node_name[v] is not None:
        props["name"] = net.node_name[v]
    if math.isfinite(net.node_voltage_kv[v]):
        props["voltage_kv"] = float(net.node_voltage_kv[v])
    if net.node_customers[v]:
        props["customers"] = int(net.node_customers[v])
    props.update(net.node_props.get(v, {}))
    props.update(extra or {})
    x, y = net.node_xy[v]
    return {
        "type": "Feature",
        "properties": {k: _clean(val) for k, val in props.items()},
        "geometry": {"type": "Point", "coordinates": [round(float(x), 7), round(float(y), 7)]},
    }


def edge_feature(net: Network, e: int, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The contract-1 Feature of edge position ``e`` (with optional extra properties)."""
    props: dict[str, Any] = {
        "id": net.edge_ids[e],
        "kind": net.kind_of(e),
        "from": net.node_ids[net.edge_from[e]],
        "to": net.node_ids[net.edge_to[e]],
        "normal_state": "closed" if net.edge_normal_closed[e] else "open",
        "length_m": round(float(net.edge_length_m[e]), 2),
    }
    if net.edge_name[e] is not None:
        props["name"] = net.edge_name[e]
    if net.edge_scada[e]:
        props["scada"] = True
    if math.isfinite(net.edge_capacity[e]):
        props["capacity_customers"] = net.edge_capacity[e]
    props.update(net.edge_props.get(e, {}))
    props.update(extra or {})
    a, b = net.geom_offsets[e], net.geom_offsets[e + 1]
    geometry = None
    if b - a >= 2:
        geometry = {
            "type": "LineString",
            "coordinates": [
                [round(float(x), 7), round(float(y), 7)] for x, y in net.geom_coords[a:b]
            ],
        }
    return {
        "type": "Feature",
        "properties": {k: _clean(val) for k, val in props.items()},
        "geometry": geometry,
    }


def network_to_geojson(net: Network) -> dict[str, Any]:
    """The whole network as a contract-1 FeatureCollection (normal states).

    Nodes first, then edges, in model order; O(n + m).
    """
    features = [node_feature(net, v) for v in range(net.n_nodes)]
    features += [edge_feature(net, e) for e in range(net.n_edges)]
    return {"type": "FeatureCollection", "features": features}


def write_network(net: Network, path: str | os.PathLike[str]) -> None:
    """Write the network by file extension: GeoJSON, GeoPackage or GeoParquet.

    A GeoPackage gets the layers ``nodes`` and ``edges``; GeoParquet one
    table with both. Edges with null geometry are written as straight lines
    in the GIS formats, which have no null-geometry convention of ours.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    doc = network_to_geojson(net)
    if suffix in (".geojson", ".json"):
        with path.open("w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"))
        return
    if suffix not in (".gpkg", ".parquet", ".geoparquet"):
        raise NetworkFileError(f"{path}: unknown output format (use .geojson, .gpkg or .parquet)")
    import geopandas as gpd

    n = net.n_nodes
    for e, feature in enumerate(doc["features"][n:]):
        if feature["geometry"] is None:
            feature["geometry"] = {
                "type": "LineString",
                "coordinates": net.edge_coords(e).tolist(),
            }
    nodes = gpd.GeoDataFrame.from_features(doc["features"][:n], crs="EPSG:4326")
    edges = gpd.GeoDataFrame.from_features(doc["features"][n:], crs="EPSG:4326")
    if suffix == ".gpkg":
        if path.exists():
            path.unlink()
        nodes.to_file(path, layer="nodes", driver="GPKG")
        edges.to_file(path, layer="edges", driver="GPKG")
    else:
        import pandas as pd

        both = gpd.GeoDataFrame(pd.concat([nodes, edges], ignore_index=True), crs="EPSG:4326")
        both.to_parquet(path)


def highlight_to_geojson(
    net: Network, highlight: Mapping[str, Iterable[str]], result: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A FeatureCollection of the elements of a trace result, each tagged with its role.

    Every feature carries its contract-1 properties plus ``role``; an element
    in several roles appears once per role. The trace's JSON document is
    kept in the collection's foreign member ``result``.
    """
    features = []
    for role, ids in highlight.items():
        for element_id in ids:
            what, i = net.element(element_id)
            make = node_feature if what == "node" else edge_feature
            feature = make(net, i, {"role": role})
            if feature["geometry"] is None:
                feature["geometry"] = {
                    "type": "LineString",
                    "coordinates": net.edge_coords(i).round(7).tolist(),
                }
            features.append(feature)
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if result is not None:
        doc["result"] = dict(result)
    return doc
