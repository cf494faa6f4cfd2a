"""Fast paths of the network readers: whole columns, no feature dictionaries.

:func:`topology.io.read_network` tries these first. Each builds the
:class:`~topology.model.Network` from columns (numpy arrays and one list per
attribute) and returns None whenever it cannot vouch that the validating
reader (:func:`topology.io.network_from_features`) would build the same
network without a word of complaint: an unexpected property, a value of
another type, a duplicate or dangling id, a geometry the contract refuses,
anything that reader would report. The caller then runs that reader, so
errors and their messages have one source of truth and are exactly its own;
the fast path only checks, in bulk, that none of them applies.

- GeoJSON is decoded by msgspec against typed structures of contract 1
  (one per kind, so a node carrying an edge's property or a value of the
  wrong JSON type fails the decoding itself), a batch of features at a time:
  the file's bytes are split into one raw slice per feature first, so only
  one batch of decoded features is alive at once. GDAL's GeoJSON driver was
  measured too and rejected: slower than the standard ``json`` module, and
  it turns a number among strings into a string without a trace, which
  would hide errors the contract must report.
- GeoPackages and shapefiles are read by GDAL (pyogrio) as Arrow batches,
  with only one batch's geometries (shapely, from WKB) alive at once;
  GeoParquet, or any of them without pyarrow, as the data frames the
  validating reader reads too. Either way the columns are converted as
  whole arrays, geometry through shapely's vectorised coordinate access.

msgspec is an install requirement; should it be missing, GeoJSON is read by the
validating reader (as a file the fast path cannot vouch for is).
"""

import functools
import itertools
import math
import operator
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar, Union

import numpy as np

from topology.exceptions import NetworkFileError
from topology.io import (
    _EDGE_PROPS,
    _GIS_BOOLEANS,
    _NODE_PROPS,
    _SHAPEFILE_NAMES,
    _Collector,
    _crs_member,
    _finish_network,
    _transformer,
)
from topology.model import EDGE_KINDS, NODE_KINDS, OPERABLE_KINDS, Network

__all__ = ["network_from_frames", "read_geojson_fast", "read_layers_fast"]

#: Features decoded at once: bounds what the decoded Python objects hold.
BATCH = 20_000
# Integers above 2**53 lose their value as floats: let the exact reader count them.
_EXACT_FLOAT_INT = 2.0**53
_OPERABLE_CODES = np.array([k in OPERABLE_KINDS for k in EDGE_KINDS])
_KIND_CODE = {k: i for i, k in enumerate(EDGE_KINDS)}


# ------------------------------------------------------------- the columns
class _Columns:
    """One reader's columns, nodes and edges each in file order.

    Numbers are float arrays with NaN where the property is absent or null;
    ids and end-node references are as read (str, or int to be spelt as str).
    """

    def __init__(self) -> None:
        self.node_ids: list[Any] = []
        self.node_source: list[np.ndarray] = []
        self.node_xy: list[np.ndarray] = []
        self.node_customers: list[np.ndarray] = []
        self.node_voltage: list[np.ndarray] = []
        self.node_name: list[Any] = []
        self.edge_ids: list[Any] = []
        self.edge_kind: list[np.ndarray] = []
        self.edge_from: list[Any] = []
        self.edge_to: list[Any] = []
        self.edge_closed: list[np.ndarray] = []
        self.edge_length: list[np.ndarray] = []
        self.edge_scada: list[np.ndarray] = []
        self.edge_capacity: list[np.ndarray] = []
        self.edge_name: list[Any] = []
        self.geom_counts: list[np.ndarray] = []
        self.geom_coords: list[np.ndarray] = []


def _cat(parts: list[np.ndarray], dtype: Any, width: int = 0) -> np.ndarray:
    if not parts:
        return np.zeros((0, width) if width else 0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)


def _as_ids(values: list[Any]) -> list[Any]:
    # The validating reader spells an integer id as its decimal string.
    if set(map(type, values)) <= {str}:
        return values
    return [v if type(v) is str else str(v) for v in values]


def _optional(values: np.ndarray, ok: np.ndarray) -> bool:
    """Whether every present (non-NaN) value passes ``ok`` (given as a mask)."""
    return bool((np.isnan(values) | ok).all())


def _build(cols: _Columns, crs: str | None, source: str | None) -> Network | None:
    """Check in bulk what :func:`network_from_features` checks; build, or None."""
    node_ids = _as_ids(cols.node_ids)
    edge_ids = _as_ids(cols.edge_ids)
    cols.node_ids = cols.edge_ids = []
    n, m = len(node_ids), len(edge_ids)
    # One index of every id: unique across nodes and edges alike; nodes first.
    index = dict(zip(itertools.chain(node_ids, edge_ids), itertools.count()))
    if len(index) != n + m or "" in index:
        return None
    node_source = _cat(cols.node_source, bool)
    if not n or not node_source.any():
        return None
    node_xy = _cat(cols.node_xy, np.float64, 2)
    customers = _cat(cols.node_customers, np.float64)
    voltage = _cat(cols.node_voltage, np.float64)
    kind = _cat(cols.edge_kind, np.int8)
    closed = _cat(cols.edge_closed, bool)
    length = _cat(cols.edge_length, np.float64)
    capacity = _cat(cols.edge_capacity, np.float64)
    counts = _cat(cols.geom_counts, np.int64)
    coords = _cat(cols.geom_coords, np.float64, 2)
    with np.errstate(invalid="ignore"):
        valid = (
            np.isfinite(node_xy).all()
            and np.isfinite(coords).all()
            and _optional(
                customers,
                (customers >= 0) & (customers < _EXACT_FLOAT_INT) & (customers % 1 == 0),
            )
            and _optional(voltage, np.isfinite(voltage) & (voltage > 0))
            and _optional(length, np.isfinite(length) & (length >= 0))
            and _optional(capacity, np.isfinite(capacity) & (capacity >= 0))
            and (closed | _OPERABLE_CODES[kind]).all()
        )
    if not valid:
        return None
    ends = [
        np.fromiter(map(index.get, _as_ids(refs), itertools.repeat(-1)), np.int64, m)
        for refs in (cols.edge_from, cols.edge_to)
    ]
    cols.edge_from = cols.edge_to = []
    del index
    edge_from, edge_to = ends
    # -1: no such id; n and above: an edge's.
    if m and (min(edge_from.min(), edge_to.min()) < 0 or max(edge_from.max(), edge_to.max()) >= n):
        return None
    if (edge_from == edge_to).any():
        return None
    issues = _Collector()
    transformer = _transformer(crs, issues)
    if issues.failed:
        return None
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return _finish_network(
        crs,
        transformer,
        source,
        node_ids=node_ids,
        node_xy=node_xy,
        node_source=node_source,
        node_customers=np.where(np.isnan(customers), 0, customers).astype(np.int64),
        node_name=cols.node_name,
        node_voltage_kv=voltage,
        edge_ids=edge_ids,
        edge_kind=kind,
        edge_from=edge_from,
        edge_to=edge_to,
        edge_normal_closed=closed,
        edge_length_m=length,
        edge_scada=_cat(cols.edge_scada, bool),
        edge_capacity=capacity,
        edge_name=cols.edge_name,
        geom_offsets=offsets,
        geom_coords=coords,
        node_props={},
        edge_props={},
    )


def _positions(rows: list[list[float]]) -> np.ndarray | None:
    """(x, y) of each position (further ordinates dropped), or None if one has fewer than two."""
    lengths = set(map(len, rows))
    if lengths == {2} or not rows:
        return np.array(rows, dtype=np.float64).reshape(-1, 2)
    if min(lengths) < 2:
        return None
    return np.array([r[:2] for r in rows], dtype=np.float64)


# ------------------------------------------------------------------ GeoJSON
@functools.cache
def _geojson_types() -> tuple[Any, Any, Any, Any]:
    """msgspec structures of contract 1: (collection, list of features, Point, LineString)."""
    import msgspec

    # gc=False: these hold no cycles, and the collector tracking millions of
    # them cost 40 % of the decoding.
    options = {"tag_field": "kind", "forbid_unknown_fields": True, "kw_only": True, "gc": False}

    class NodeProps(msgspec.Struct, **options):  # type: ignore[call-arg]
        node: ClassVar[bool] = True
        source: ClassVar[bool]
        id: str | int
        name: str | None = None
        voltage_kv: float | None = None
        customers: int | float | None = None

    class EdgeProps(msgspec.Struct, **options):  # type: ignore[call-arg]
        node: ClassVar[bool] = False
        code: ClassVar[int]
        id: str | int
        from_: str | int = msgspec.field(name="from")
        to: str | int
        name: str | None = None
        normal_state: str | None = None
        length_m: float | None = None
        scada: bool | None = None
        capacity_customers: float | None = None

    # One structure per kind, tagged by the kind: an unknown kind fails decoding.
    props = tuple(
        type(kind, (NodeProps,), {"source": kind == "source"}, tag=kind)  # type: ignore[call-arg]
        for kind in NODE_KINDS
    ) + tuple(
        type(kind, (EdgeProps,), {"code": code}, tag=kind)  # type: ignore[call-arg]
        for code, kind in enumerate(EDGE_KINDS)
    )
    assert set(_NODE_PROPS) | set(_EDGE_PROPS) == {
        "kind",
        *NodeProps.__struct_fields__,
        *(f if f != "from_" else "from" for f in EdgeProps.__struct_fields__),
    }

    class Point(msgspec.Struct, tag="Point", tag_field="type", gc=False):
        coordinates: list[float]

    class LineString(msgspec.Struct, tag="LineString", tag_field="type", gc=False):
        coordinates: list[list[float]]

    class Feature(msgspec.Struct, gc=False):
        properties: Union[props]  # type: ignore[valid-type]  # noqa: UP007
        geometry: Point | LineString | None = None

    class Collection(msgspec.Struct, gc=False):
        features: list[msgspec.Raw]
        type: Any = None
        crs: Any = None

    return (
        msgspec.json.Decoder(Collection),
        msgspec.json.Decoder(list[Feature]),
        Point,
        LineString,
    )


def read_geojson_fast(path: Path, crs: str | None, source: str | None) -> Network | None:
    """The network of a contract-1 GeoJSON file, or None to leave it to the validating reader.

    ``crs`` is the caller's CRS, which wins over the file's ``crs`` member.
    O(file size); at most :data:`BATCH` decoded features are alive at once.
    """
    try:
        import msgspec
    except ImportError:
        return None
    collection_type, batch_type, point, line = _geojson_types()
    try:
        data = path.read_bytes()
        collection = collection_type.decode(data)
    except (OSError, msgspec.DecodeError):
        return None
    if collection.type != "FeatureCollection":
        return None
    try:
        file_crs = _crs_member(collection.crs, path)
    except NetworkFileError:
        return None
    raws = collection.features
    del collection
    cols = _Columns()
    for start in range(0, len(raws), BATCH):
        try:
            batch = batch_type.decode(b"[" + b",".join(raws[start : start + BATCH]) + b"]")
        except msgspec.DecodeError:
            return None
        if not _add_geojson_batch(cols, batch, point, line):
            return None
    del raws, data
    return _build(cols, crs or file_crs, source)


def _take(name: str, items: list[Any]) -> list[Any]:
    return list(map(attrgetter(name), items))


def _add_geojson_batch(cols: _Columns, batch: list[Any], point: type, line: type) -> bool:
    props = _take("properties", batch)
    is_node = _take("node", props)
    nprops = list(itertools.compress(props, is_node))
    eprops = list(itertools.compress(props, map(operator.not_, is_node)))
    geoms = _take("geometry", batch)
    del batch, props
    # Nodes: a Point each.
    node_geoms = list(itertools.compress(geoms, is_node))
    if not set(map(type, node_geoms)) <= {point}:
        return False
    xy = _positions(_take("coordinates", node_geoms))
    if xy is None:
        return False
    cols.node_xy.append(xy)
    cols.node_ids += _take("id", nprops)
    cols.node_source.append(np.array(_take("source", nprops), dtype=bool))
    cols.node_name += _take("name", nprops)
    try:
        cols.node_voltage.append(np.array(_take("voltage_kv", nprops), dtype=np.float64))
        cols.node_customers.append(np.array(_take("customers", nprops), dtype=np.float64))
    except OverflowError:  # an integer beyond any float
        return False
    # Edges: a LineString of two or more positions, or null geometry.
    edge_geoms = list(itertools.compress(geoms, map(operator.not_, is_node)))
    present = [g for g in edge_geoms if g is not None]
    if not set(map(type, present)) <= {line}:
        return False
    counts = np.array([0 if g is None else len(g.coordinates) for g in edge_geoms], np.int64)
    if len(present) != np.count_nonzero(counts >= 2):
        return False
    coords = _positions(list(itertools.chain.from_iterable(_take("coordinates", present))))
    if coords is None:
        return False
    cols.geom_counts.append(counts)
    cols.geom_coords.append(coords)
    states = _take("normal_state", eprops)
    if not {None, "closed", "open"}.issuperset(states):
        return False
    cols.edge_closed.append(np.array(states, dtype=object) != "open")
    cols.edge_ids += _take("id", eprops)
    cols.edge_kind.append(np.array(_take("code", eprops), dtype=np.int8))
    cols.edge_from += _take("from_", eprops)
    cols.edge_to += _take("to", eprops)
    cols.edge_name += _take("name", eprops)
    cols.edge_length.append(np.array(_take("length_m", eprops), dtype=np.float64))
    # None (absent or null) is False, as bool(None) in the validating reader.
    cols.edge_scada.append(np.array(_take("scada", eprops), dtype=object) == True)  # noqa: E712
    cols.edge_capacity.append(np.array(_take("capacity_customers", eprops), dtype=np.float64))
    return True


# -------------------------------------------------------------- GIS frames
def _missing(values: np.ndarray) -> np.ndarray | None:
    """Where the validating reader sees no value (None or float NaN); None for other dtypes."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(len(values), dtype=bool)
    if values.dtype == object:
        return np.fromiter(
            (v is None or (isinstance(v, float) and math.isnan(v)) for v in values),
            bool,
            len(values),
        )
    return None


def _ids(values: np.ndarray, missing: np.ndarray) -> list[Any] | None:
    """Ids or end references: strings or integers, none missing."""
    if missing.any() or (len(values) and values.dtype.kind in "fb"):
        return None
    out = values.tolist()
    if values.dtype == object and not all(
        type(v) is str or (isinstance(v, int) and not isinstance(v, bool)) for v in out
    ):
        return None
    return out


def _numbers(values: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """A numeric column as floats, NaN where missing; None for text or booleans."""
    if missing.all():
        return np.full(len(values), np.nan)
    if values.dtype.kind not in "iuf":
        return None
    out = values.astype(np.float64)
    out[missing] = np.nan
    return out


def _texts(values: np.ndarray, missing: np.ndarray) -> list[Any] | None:
    """A text column, None where missing; None if a present value is not text."""
    out = [None if gone else v for v, gone in zip(values.tolist(), missing.tolist(), strict=True)]
    if not all(v is None or type(v) is str for v in out):
        return None
    return out


def _scada(values: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    # As the validating reader: GIS drivers store booleans as text or 0/1.
    out = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(~missing).tolist():
        value = values[i].item() if isinstance(values[i], np.generic) else values[i]
        flag = _GIS_BOOLEANS.get(str(value).lower(), value)
        if not isinstance(flag, bool):
            return None
        out[i] = flag
    return out


def network_from_frames(frames: list[Any], crs: str | None, source: str | None) -> Network | None:
    """The network of GIS layers read as data frames, or None to leave it to the validating reader.

    ``frames`` are those :func:`topology.io.read_network` reads (GeoDataFrames,
    nodes before edges); O(rows + vertices) in array operations.
    """
    import shapely

    cols = _Columns()
    for frame in frames:
        names = [_SHAPEFILE_NAMES.get(c, c) for c in frame.columns]
        columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, raw in zip(names, frame.columns, strict=True):
            if raw != frame.geometry.name:
                values = frame[raw].to_numpy()
                missing = _missing(values)
                if missing is None or name in columns:
                    return None
                columns[name] = (values, missing)
        if not _add_rows(cols, columns, frame.geometry.to_numpy(), shapely):
            return None
    return _build(cols, crs, source)


def read_layers_fast(
    layers: list[tuple[Path, str | None]], crs: str | None, source: str | None
) -> Network | None:
    """The network of GIS layers read by GDAL in Arrow batches, or None to leave it to the others.

    ``layers`` are the (file, layer name or None) that
    :func:`topology.io.read_network` reads, nodes before edges. Only one
    batch's geometries are alive at once. Needs pyarrow (else None).
    """
    try:
        import pyarrow  # noqa: F401  # pyogrio's Arrow reading needs it
        import pyogrio
        import shapely
        from pyproj import CRS
    except ImportError:
        return None
    cols = _Columns()
    crs_names = set()
    for path, name in layers:
        try:
            with pyogrio.open_arrow(path, layer=name, use_pyarrow=True) as (meta, reader):
                if meta["crs"] is not None:
                    # As geopandas names the CRS of the frames it reads.
                    crs_names.add(CRS.from_user_input(meta["crs"]).to_string())
                geom_col = meta["geometry_name"] or "wkb_geometry"
                for batch in reader:
                    if not _add_arrow_batch(cols, batch, geom_col, shapely):
                        return None
        except Exception:  # the GIS drivers raise many types: the validating reader words it
            return None
    if len(crs_names) > 1:
        return None
    return _build(cols, crs or (crs_names.pop() if crs_names else None), source)


def _add_arrow_batch(cols: _Columns, batch: Any, geom_col: str, shapely: Any) -> bool:
    if geom_col not in batch.schema.names:
        return False
    columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for raw, column in zip(batch.schema.names, batch.columns, strict=True):
        name = _SHAPEFILE_NAMES.get(raw, raw)
        if raw == geom_col:
            continue
        values = column.to_numpy(zero_copy_only=False)
        missing = _missing(values)
        if missing is None or name in columns:
            return False
        columns[name] = (values, missing)
    wkb = batch.column(geom_col).to_numpy(zero_copy_only=False)
    return _add_rows(cols, columns, shapely.from_wkb(wkb), shapely)


def _add_rows(
    cols: _Columns,
    columns: dict[str, tuple[np.ndarray, np.ndarray]],
    geometry: np.ndarray,
    shapely: Any,
) -> bool:
    """Rows of one GIS layer: (values, missing) by property name, shapely geometries."""
    if "kind" not in columns or "id" not in columns:
        return False
    kinds, kind_missing = columns["kind"]
    kind_list = _texts(kinds, kind_missing)
    if kind_list is None or not set(NODE_KINDS + EDGE_KINDS).issuperset(kind_list):
        return False
    is_node = np.array([k in NODE_KINDS for k in kind_list], dtype=bool)
    # A property outside the row's role would be one of its free-form properties.
    for name, (_values, missing) in columns.items():
        for role, known in ((is_node, _NODE_PROPS), (~is_node, _EDGE_PROPS)):
            if name not in known and not missing[role].all():
                return False
    absent = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    type_id = shapely.get_type_id(geometry)
    node_rows, edge_rows = np.flatnonzero(is_node), np.flatnonzero(~is_node)

    def column(name: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if name not in columns:
            return np.full(len(rows), np.nan), np.ones(len(rows), dtype=bool)
        values, missing = columns[name]
        return values[rows], missing[rows]

    # Nodes.
    if (absent[node_rows] | (type_id[node_rows] != 0)).any():
        return False
    ids = _ids(*column("id", node_rows))
    names_ = _texts(*column("name", node_rows))
    voltage = _numbers(*column("voltage_kv", node_rows))
    customers = _numbers(*column("customers", node_rows))
    if ids is None or names_ is None or voltage is None or customers is None:
        return False
    cols.node_ids += ids
    cols.node_name += names_
    cols.node_source.append(np.array([kind_list[i] == "source" for i in node_rows], dtype=bool))
    cols.node_xy.append(shapely.get_coordinates(geometry[node_rows]))
    cols.node_voltage.append(voltage)
    cols.node_customers.append(customers)
    # Edges.
    drawn = edge_rows[~absent[edge_rows]]
    if (type_id[drawn] != 1).any():
        return False
    coords, index = shapely.get_coordinates(geometry[drawn], return_index=True)
    drawn_counts = np.bincount(index, minlength=len(drawn))
    if (drawn_counts < 2).any():
        return False
    counts = np.zeros(len(edge_rows), dtype=np.int64)
    counts[~absent[edge_rows]] = drawn_counts
    ids = _ids(*column("id", edge_rows))
    starts, ends = (_ids(*column(end, edge_rows)) for end in ("from", "to"))
    names_ = _texts(*column("name", edge_rows))
    states = _texts(*column("normal_state", edge_rows))
    length = _numbers(*column("length_m", edge_rows))
    capacity = _numbers(*column("capacity_customers", edge_rows))
    scada = _scada(*column("scada", edge_rows))
    if (
        ids is None
        or starts is None
        or ends is None
        or names_ is None
        or states is None
        or length is None
        or capacity is None
        or scada is None
        or not {None, "closed", "open"}.issuperset(states)
    ):
        return False
    cols.edge_ids += ids
    cols.edge_from += starts
    cols.edge_to += ends
    cols.edge_name += names_
    cols.edge_kind.append(np.array([_KIND_CODE[kind_list[i]] for i in edge_rows], dtype=np.int8))
    cols.edge_closed.append(np.array([s != "open" for s in states], dtype=bool))
    cols.edge_length.append(length)
    cols.edge_capacity.append(capacity)
    cols.edge_scada.append(scada)
    cols.geom_counts.append(counts)
    cols.geom_coords.append(coords)
    return True
