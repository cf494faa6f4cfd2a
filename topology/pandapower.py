"""Import a pandapower network as a contract-1 :class:`~topology.model.Network`.

pandapower (https://www.pandapower.org) is the open-source power-system
modelling library most distribution studies start from; its example
networks ``mv_oberrhein`` and ``lv_schutterwald`` carry real geography. This
module turns a pandapower net into the switching model of this library:

=====================================  =====================================================
pandapower                             Network
=====================================  =====================================================
``bus`` *i*                            node ``bus{i}`` (Point from ``bus.geo``)
``ext_grid``, ``gen`` with ``slack``   the bus becomes a source node
``line`` *i*                           edge ``line{i}``, kind ``line`` (``cable`` if "cs")
``trafo`` *i*                          edge ``trafo{i}``, kind ``transformer``, hv -> lv
``trafo3w`` *i*                        star node ``trafo3w{i}`` and transformer edges
                                       ``trafo3w{i}-hv``, ``-mv``, ``-lv``
``impedance`` *i*                      edge ``impedance{i}``, kind ``line``
``switch`` *i*, ``et == "b"``          edge ``switch{i}`` between the two buses
``switch`` *i*, ``et`` l / t / t3      node ``sw{i}-n`` at the bus, the element's end moved
                                       onto it, edge ``switch{i}`` from the bus to it
``load``                               customer counts on its bus
=====================================  =====================================================

Switch edges are ``breaker`` when the pandapower switch type is ``"CB"`` and
``switch`` otherwise; their normal state is the ``closed`` column. pandapower
is imported lazily, so ``import topology`` never needs it; install it with the
``[pandapower]`` extra. See ``docs/pandapower.md`` for the details and for the
test that compares de-energized buses with :func:`pandapower.topology.unsupplied_buses`.

>>> from topology.pandapower import from_pandapower
>>> net = from_pandapower("mv_oberrhein")  # doctest: +SKIP
>>> net.operate("switch12", "open")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from topology.exceptions import Issue, NetworkFileError
from topology.model import Network

__all__ = ["from_pandapower", "to_pandapower_bus_id", "to_pandapower_element"]

#: At most this many element ids are named in one error message.
_MAX_NAMED = 20
#: pandapower branch tables this importer does not map (they are reported as warnings).
_UNMAPPED_BRANCHES = ("dcline", "tcsc", "line_dc", "vsc", "ssc")

_BUS_ID = re.compile(r"bus(\d+)")
_EDGE_ID = re.compile(r"(line|trafo|impedance|switch)(\d+)")
_TRAFO3W_ID = re.compile(r"trafo3w(\d+)-(?:hv|mv|lv)")


# ------------------------------------------------------------------ public
def to_pandapower_bus_id(node_id: str) -> int | None:
    """The pandapower bus index of a node imported by :func:`from_pandapower`.

    Parameters
    ----------
    node_id : str
        A node id such as ``"bus42"``.

    Returns
    -------
    int or None
        ``42`` for ``"bus42"``; None for the nodes the importer adds (switch
        nodes ``sw{i}-n``, trafo3w star nodes ``trafo3w{i}``) and any other id.
    """
    match = _BUS_ID.fullmatch(node_id)
    return int(match.group(1)) if match else None


def to_pandapower_element(edge_id: str) -> tuple[str, int] | None:
    """The pandapower table and index an imported edge comes from.

    Parameters
    ----------
    edge_id : str
        An edge id such as ``"line3"``, ``"switch17"`` or ``"trafo3w0-mv"``.

    Returns
    -------
    tuple of (str, int) or None
        ``("line", 3)``, ``("switch", 17)``, ``("trafo3w", 0)``; None when the
        id is not one the importer makes.
    """
    match = _TRAFO3W_ID.fullmatch(edge_id)
    if match:
        return "trafo3w", int(match.group(1))
    match = _EDGE_ID.fullmatch(edge_id)
    if match:
        return match.group(1), int(match.group(2))
    return None


def from_pandapower(
    net_or_path: Any,
    *,
    customers_per_load: float = 1.0,
    kw_per_customer: float | None = None,
) -> Network:
    """Build a :class:`~topology.model.Network` from a pandapower network.

    Parameters
    ----------
    net_or_path : pandapowerNet, path-like or str
        A pandapower net; the path of a pandapower JSON file; or the name of
        a function of :mod:`pandapower.networks` that needs no arguments
        (e.g. ``"mv_oberrhein"``, ``"lv_schutterwald"``).
    customers_per_load : float, default 1.0
        Customers counted for every in-service load (rounded half up, at
        least 1). Ignored when ``kw_per_customer`` is given.
    kw_per_customer : float, optional
        Count ``ceil(p_mw * 1000 / kw_per_customer)`` customers per load
        instead (at least 1).

    Returns
    -------
    Network
        Nodes ``bus{i}`` (plus ``sw{i}-n`` and ``trafo3w{i}``), edges named
        after their pandapower element (see the module docstring), with
        ``warnings`` attached: what was not imported, closed loops, nodes no
        source reaches, drawn geometry far from its nodes.

    Raises
    ------
    NetworkFileError
        pandapower is not installed; the file or network name cannot be
        loaded; a bus has coordinates that are not WGS84 lon/lat; buses have
        no coordinates and no placed neighbour to take them from; a switch
        names an element that does not exist or does not touch its bus.
    ValueError
        ``customers_per_load`` or ``kw_per_customer`` is not positive.
    TypeError
        ``net_or_path`` is neither a pandapower net, a path nor a name.

    Notes
    -----
    Out-of-service buses are left out together with every element attached
    to them; out-of-service lines, transformers, impedances, loads and
    external grids are left out, and so are the switches on left-out
    elements. O(buses + branches + switches) apart from pandapower's own
    loading.
    """
    if not customers_per_load > 0:
        raise ValueError(f"customers_per_load must be positive, not {customers_per_load!r}")
    if kw_per_customer is not None and not kw_per_customer > 0:
        raise ValueError(f"kw_per_customer must be positive, not {kw_per_customer!r}")
    pp_net = _load(net_or_path)
    return _Importer(pp_net, customers_per_load, kw_per_customer).build()


# ----------------------------------------------------------------- loading
def _require_pandapower() -> Any:
    try:
        import pandapower
    except ImportError as exc:
        raise NetworkFileError(
            "importing a pandapower network needs pandapower, which is not installed; "
            "install the extra: pip install 'open-oms[pandapower]'"
        ) from exc
    return pandapower


def _load(obj: Any) -> Any:
    pp = _require_pandapower()
    if isinstance(obj, pp.pandapowerNet):
        return obj
    if not isinstance(obj, (str, os.PathLike)):
        raise TypeError(
            "from_pandapower needs a pandapower net, a JSON file path or the name of a "
            f"pandapower.networks function, not {type(obj).__name__}"
        )
    path = Path(obj)
    if path.exists() or path.suffix.lower() == ".json" or len(path.parts) > 1:
        if not path.is_file():
            raise NetworkFileError(f"{path}: no such file")
        try:
            return pp.from_json(str(path))
        except Exception as exc:
            raise NetworkFileError(f"{path}: not a pandapower JSON file ({exc})") from exc
    import pandapower.networks as pn

    name = str(obj)
    factory = getattr(pn, name, None)
    if name.startswith("_") or not callable(factory):
        raise NetworkFileError(
            f"{name!r} is neither an existing file nor a function of pandapower.networks"
        )
    try:
        net = factory()
    except TypeError as exc:
        raise NetworkFileError(
            f"pandapower.networks.{name} needs arguments; call it yourself and pass the net ({exc})"
        ) from exc
    if not isinstance(net, pp.pandapowerNet):
        raise NetworkFileError(f"pandapower.networks.{name} did not return a pandapower net")
    return net


# ----------------------------------------------------------------- helpers
def _table(net: Any, name: str) -> Any:
    """The pandapower table ``name``, or None when missing or empty."""
    if name not in net:
        return None
    table = net[name]
    if not hasattr(table, "columns") or len(table) == 0:
        return None
    return table


def _in_service(table: Any) -> np.ndarray:
    if "in_service" not in table.columns:
        return np.ones(len(table), dtype=bool)
    return table["in_service"].fillna(True).to_numpy(dtype=bool)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text else None


def _geojson(value: Any, what: str) -> dict[str, Any] | None:
    """A GeoJSON geometry mapping from a pandapower ``geo`` cell, or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise NetworkFileError(f"{what}: geo is not valid GeoJSON ({exc})") from exc
    elif hasattr(value, "__geo_interface__"):
        value = value.__geo_interface__
    if not isinstance(value, dict):
        raise NetworkFileError(f"{what}: geo is not a GeoJSON geometry ({value!r:.80})")
    return value


def _named(ids: list[str]) -> str:
    more = f" and {len(ids) - _MAX_NAMED} more" if len(ids) > _MAX_NAMED else ""
    return ", ".join(ids[:_MAX_NAMED]) + more


def _bad_lonlat(xy: np.ndarray) -> np.ndarray:
    return ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)


# ---------------------------------------------------------------- importer
class _Importer:
    """One pass over the pandapower tables, filling the Network's arrays."""

    def __init__(self, net: Any, customers_per_load: float, kw_per_customer: float | None):
        self.pp = net
        self.customers_per_load = customers_per_load
        self.kw_per_customer = kw_per_customer
        self.warnings: list[Issue] = []
        # nodes
        self.node_ids: list[str] = []
        self.node_name: list[str | None] = []
        self.node_kv: list[float] = []
        self.node_xy: list[np.ndarray] = []
        # edges
        self.edge_ids: list[str] = []
        self.edge_kind: list[str] = []
        self.edge_from: list[int] = []
        self.edge_to: list[int] = []
        self.edge_closed: list[bool] = []
        self.edge_length: list[float] = []
        self.edge_name: list[str | None] = []
        self.edge_geom: list[np.ndarray | None] = []
        # (table, index) -> {pandapower bus: (edge position, 0 for from / 1 for to)}
        self.ends: dict[tuple[str, int], dict[int, tuple[int, int]]] = {}

    # ------------------------------------------------------------- build
    def build(self) -> Network:
        bus = self.pp.bus
        self.bus_index = bus.index.to_numpy()
        self.bus_kept = _in_service(bus)
        self.bus_pos: dict[int, int] = {}
        self._add_buses()
        self._add_lines()
        self._add_trafos()
        self._add_trafo3ws()
        self._add_impedances()
        self._place_missing_buses()
        self._add_switches()
        for name in _UNMAPPED_BRANCHES:
            table = _table(self.pp, name)
            if table is not None and _in_service(table).any():
                self.warnings.append(
                    Issue(
                        None,
                        f"{int(_in_service(table).sum())} in-service pandapower {name} element(s) "
                        "not imported: this importer maps line, trafo, trafo3w, impedance and "
                        "switch only",
                        "warning",
                    )
                )
        node_xy = np.array(self.node_xy, dtype=np.float64).reshape(-1, 2)
        self._orient_geometry(node_xy)
        offsets = np.zeros(len(self.edge_ids) + 1, dtype=np.int64)
        np.cumsum([0 if g is None else len(g) for g in self.edge_geom], out=offsets[1:])
        geoms = [g for g in self.edge_geom if g is not None]
        coords = np.concatenate(geoms) if geoms else np.zeros((0, 2))
        self._measure_unknown_lengths(node_xy)
        network = Network(
            node_ids=self.node_ids,
            node_xy=node_xy,
            node_source=self._sources(),
            node_customers=self._customers(),
            node_name=self.node_name,
            node_voltage_kv=self.node_kv,
            edge_ids=self.edge_ids,
            edge_kind=self.edge_kind,
            edge_from=self.edge_from,
            edge_to=self.edge_to,
            edge_normal_closed=self.edge_closed,
            edge_length_m=self.edge_length,
            edge_name=self.edge_name,
            geom_offsets=offsets,
            geom_coords=coords,
        )
        from topology.validation import structural_warnings

        network.warnings = self.warnings + structural_warnings(network)
        return network

    def _orient_geometry(self, node_xy: np.ndarray) -> None:
        """Reverse drawn lines that run from their 'to' node to their 'from' node."""
        for e, geom in enumerate(self.edge_geom):
            if geom is None:
                continue
            a, b = node_xy[self.edge_from[e]], node_xy[self.edge_to[e]]
            along = np.hypot(*(geom[0] - a)) + np.hypot(*(geom[-1] - b))
            against = np.hypot(*(geom[0] - b)) + np.hypot(*(geom[-1] - a))
            if against < along:
                self.edge_geom[e] = geom[::-1].copy()

    def _measure_unknown_lengths(self, node_xy: np.ndarray) -> None:
        """Geodesic length of the edges pandapower gives none (impedances)."""
        unknown = [e for e, length in enumerate(self.edge_length) if math.isnan(length)]
        if not unknown:
            return
        from pyproj import Geod

        geod = Geod(ellps="WGS84")
        for e in unknown:
            geom = self.edge_geom[e]
            if geom is None:
                geom = node_xy[[self.edge_from[e], self.edge_to[e]]]
            self.edge_length[e] = float(geod.line_length(geom[:, 0], geom[:, 1]))

    # ------------------------------------------------------------- nodes
    def _add_node(self, node_id: str, name: str | None, kv: float, xy: np.ndarray) -> int:
        self.node_ids.append(node_id)
        self.node_name.append(name)
        self.node_kv.append(kv)
        self.node_xy.append(xy)
        return len(self.node_ids) - 1

    def _add_buses(self) -> None:
        bus = self.pp.bus
        n = len(bus)
        xy = np.full((n, 2), np.nan)
        if "geo" in bus.columns:
            for row, (idx, cell) in enumerate(
                zip(self.bus_index, bus["geo"].to_numpy(), strict=True)
            ):
                geom = _geojson(cell, f"bus{idx}")
                if geom is None:
                    continue
                if geom.get("type") != "Point":
                    raise NetworkFileError(
                        f"bus{idx}: geo is a {geom.get('type')}, expected a GeoJSON Point"
                    )
                point = geom.get("coordinates") or []
                if len(point) >= 2:
                    xy[row] = float(point[0]), float(point[1])
        old = _table(self.pp, "bus_geodata")
        if old is not None and {"x", "y"} <= set(old.columns):
            missing = np.isnan(xy).any(axis=1)
            rows = old.reindex(self.bus_index)
            fill = missing & rows["x"].notna().to_numpy() & rows["y"].notna().to_numpy()
            xy[fill, 0] = rows["x"].to_numpy(dtype=float)[fill]
            xy[fill, 1] = rows["y"].to_numpy(dtype=float)[fill]
        placed = ~np.isnan(xy).any(axis=1)
        bad = np.flatnonzero(self.bus_kept & placed & _bad_lonlat(np.where(placed[:, None], xy, 0)))
        if len(bad):
            named = [f"bus{self.bus_index[k]} ({xy[k, 0]:.6g}, {xy[k, 1]:.6g})" for k in bad]
            raise NetworkFileError(
                f"{len(bad)} bus(es) with coordinates outside the WGS84 lon/lat range: "
                f"{_named(named)}; pandapower geodata must be longitude/latitude in degrees "
                "(reproject it first)"
            )
        vn = bus["vn_kv"].to_numpy(dtype=float) if "vn_kv" in bus.columns else np.full(n, np.nan)
        names = bus["name"].to_numpy() if "name" in bus.columns else [None] * n
        for k in np.flatnonzero(self.bus_kept):
            idx = int(self.bus_index[k])
            self.bus_pos[idx] = self._add_node(f"bus{idx}", _text(names[k]), float(vn[k]), xy[k])

    def _place_missing_buses(self) -> None:
        """Put buses without coordinates at the mean of their placed neighbours."""
        n_bus = len(self.bus_pos)  # bus nodes come first
        xy = np.array(self.node_xy[:n_bus], dtype=np.float64).reshape(-1, 2)
        missing = np.asarray(np.isnan(xy).any(axis=1), dtype=bool)
        if not missing.any():
            return
        pairs = [
            (a, b)
            for a, b in zip(self.edge_from, self.edge_to, strict=True)
            if a < n_bus and b < n_bus and a != b
        ]
        star_pairs = self._star_pairs(n_bus)
        pairs.extend(star_pairs)
        for idx, other in self._bus_switch_pairs():
            pairs.append((self.bus_pos[idx], self.bus_pos[other]))
        ends = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        a = np.concatenate([ends[:, 0], ends[:, 1]])
        b = np.concatenate([ends[:, 1], ends[:, 0]])
        while missing.any():
            use = missing[a] & ~missing[b]
            if not use.any():
                break
            total = np.zeros((n_bus, 2))
            count = np.zeros(n_bus)
            np.add.at(total, a[use], xy[b[use]])
            np.add.at(count, a[use], 1)
            newly = count > 0
            xy[newly] = total[newly] / count[newly, None]
            missing &= ~newly
        if missing.any():
            named = [self.node_ids[v] for v in np.flatnonzero(missing)]
            raise NetworkFileError(
                f"{len(named)} bus(es) without coordinates and without a placed neighbour: "
                f"{_named(named)}; give them a geo Point"
            )
        for v in range(n_bus):
            self.node_xy[v] = xy[v]
        for v in range(n_bus, len(self.node_ids)):  # star nodes sit at a bus
            self.node_xy[v] = xy[self._star_at[v]]

    def _star_pairs(self, n_bus: int) -> list[tuple[int, int]]:
        """Bus pairs joined through a trafo3w star (for placing buses)."""
        by_star: dict[int, list[int]] = {}
        for a, b in zip(self.edge_from, self.edge_to, strict=True):
            if a >= n_bus and b < n_bus:
                by_star.setdefault(a, []).append(b)
            elif b >= n_bus and a < n_bus:
                by_star.setdefault(b, []).append(a)
        return [(u, w) for buses in by_star.values() for u in buses for w in buses if u < w]

    def _bus_switch_pairs(self) -> list[tuple[int, int]]:
        switch = _table(self.pp, "switch")
        if switch is None:
            return []
        out = []
        for idx, et, other in zip(
            switch["bus"].to_numpy(),
            switch["et"].to_numpy(),
            switch["element"].to_numpy(),
            strict=True,
        ):
            if et == "b" and int(idx) in self.bus_pos and int(other) in self.bus_pos:
                out.append((int(idx), int(other)))
        return out

    # ------------------------------------------------------------- edges
    def _add_edge(
        self,
        edge_id: str,
        kind: str,
        a: int,
        b: int,
        *,
        closed: bool = True,
        length: float = np.nan,
        name: str | None = None,
        geom: np.ndarray | None = None,
    ) -> int:
        self.edge_ids.append(edge_id)
        self.edge_kind.append(kind)
        self.edge_from.append(a)
        self.edge_to.append(b)
        self.edge_closed.append(closed)
        self.edge_length.append(length)
        self.edge_name.append(name)
        self.edge_geom.append(geom)
        return len(self.edge_ids) - 1

    def _kept_branches(self, table: Any, what: str, columns: tuple[str, ...]) -> np.ndarray:
        """Rows of a branch table to import: in service, all buses kept."""
        keep = _in_service(table)
        known = set(self.bus_index.tolist())
        for column in columns:
            buses = table[column].to_numpy()
            unknown = [i for i, b in zip(table.index, buses, strict=True) if int(b) not in known]
            if unknown:
                raise NetworkFileError(
                    f"{what}{unknown[0]}: {column} {int(table.at[unknown[0], column])} "
                    "is not a bus of the network"
                )
            keep &= np.array([int(b) in self.bus_pos for b in buses], dtype=bool)
        return keep

    def _line_kinds(self, line: Any) -> list[str]:
        if "type" in line.columns:
            types = line["type"].to_numpy()
        else:
            std = self.pp.std_types.get("line", {}) if "std_types" in self.pp else {}
            types = [
                std.get(t, {}).get("type") if isinstance(t, str) else None
                for t in (line["std_type"] if "std_type" in line.columns else [None] * len(line))
            ]
        return ["cable" if t == "cs" else "line" for t in types]

    def _line_geometry(self, idx: int, cell: Any) -> np.ndarray | None:
        geom = _geojson(cell, f"line{idx}")
        if geom is None or geom.get("type") != "LineString":
            return None
        coords = np.array([c[:2] for c in geom.get("coordinates") or []], dtype=float)
        if len(coords) < 2:
            return None
        if _bad_lonlat(coords).any():
            raise NetworkFileError(
                f"line{idx}: geometry outside the WGS84 lon/lat range; pandapower geodata "
                "must be longitude/latitude in degrees"
            )
        return coords

    def _add_lines(self) -> None:
        line = _table(self.pp, "line")
        if line is None:
            return
        keep = self._kept_branches(line, "line", ("from_bus", "to_bus"))
        kinds = self._line_kinds(line)
        geo = line["geo"].to_numpy() if "geo" in line.columns else [None] * len(line)
        names = line["name"].to_numpy() if "name" in line.columns else [None] * len(line)
        length = line["length_km"].to_numpy(dtype=float) * 1000.0
        for k in np.flatnonzero(keep):
            idx = int(line.index[k])
            fb, tb = int(line["from_bus"].iat[k]), int(line["to_bus"].iat[k])
            if fb == tb:
                self.warnings.append(
                    Issue(f"line{idx}", f"joins bus{fb} to itself: left out", "warning")
                )
                continue
            a, b = self.bus_pos[fb], self.bus_pos[tb]
            e = self._add_edge(
                f"line{idx}",
                kinds[k],
                a,
                b,
                length=length[k],
                name=_text(names[k]),
                geom=self._line_geometry(idx, geo[k]),
            )
            self.ends[("line", idx)] = {fb: (e, 0), tb: (e, 1)}

    def _add_trafos(self) -> None:
        trafo = _table(self.pp, "trafo")
        if trafo is None:
            return
        keep = self._kept_branches(trafo, "trafo", ("hv_bus", "lv_bus"))
        names = trafo["name"].to_numpy() if "name" in trafo.columns else [None] * len(trafo)
        for k in np.flatnonzero(keep):
            idx = int(trafo.index[k])
            hv, lv = int(trafo["hv_bus"].iat[k]), int(trafo["lv_bus"].iat[k])
            e = self._add_edge(
                f"trafo{idx}",
                "transformer",
                self.bus_pos[hv],
                self.bus_pos[lv],
                length=0.0,
                name=_text(names[k]),
            )
            self.ends[("trafo", idx)] = {hv: (e, 0), lv: (e, 1)}

    def _add_trafo3ws(self) -> None:
        self._star_at: dict[int, int] = {}
        table = _table(self.pp, "trafo3w")
        if table is None:
            return
        sides = ("hv", "mv", "lv")
        known = set(self.bus_index.tolist())
        in_service = _in_service(table)
        names = table["name"].to_numpy() if "name" in table.columns else [None] * len(table)
        for k in np.flatnonzero(in_service):
            idx = int(table.index[k])
            buses = [int(table[f"{s}_bus"].iat[k]) for s in sides]
            for side, b in zip(sides, buses, strict=True):
                if b not in known:
                    raise NetworkFileError(
                        f"trafo3w{idx}: {side}_bus {b} is not a bus of the network"
                    )
            kept = [(s, b) for s, b in zip(sides, buses, strict=True) if b in self.bus_pos]
            if len(kept) < 2:
                continue  # nothing left to connect
            first = self.bus_pos[kept[0][1]]
            star = self._add_node(
                f"trafo3w{idx}",
                _text(names[k]),
                self.node_kv[first],
                self.node_xy[first],
            )
            self._star_at[star] = first
            ends: dict[int, tuple[int, int]] = {}
            for side, b in kept:
                v = self.bus_pos[b]
                a, c, end = (v, star, 0) if side == "hv" else (star, v, 1)
                e = self._add_edge(f"trafo3w{idx}-{side}", "transformer", a, c, length=0.0)
                ends[b] = (e, end)
            self.ends[("trafo3w", idx)] = ends

    def _add_impedances(self) -> None:
        table = _table(self.pp, "impedance")
        if table is None:
            return
        keep = self._kept_branches(table, "impedance", ("from_bus", "to_bus"))
        names = table["name"].to_numpy() if "name" in table.columns else [None] * len(table)
        for k in np.flatnonzero(keep):
            idx = int(table.index[k])
            fb, tb = int(table["from_bus"].iat[k]), int(table["to_bus"].iat[k])
            self._add_edge(
                f"impedance{idx}",
                "line",
                self.bus_pos[fb],
                self.bus_pos[tb],
                name=_text(names[k]),
            )

    # ---------------------------------------------------------- switches
    def _add_switches(self) -> None:
        switch = _table(self.pp, "switch")
        if switch is None:
            return
        tables = {"l": "line", "t": "trafo", "t3": "trafo3w"}
        types = switch["type"].to_numpy() if "type" in switch.columns else [None] * len(switch)
        names = switch["name"].to_numpy() if "name" in switch.columns else [None] * len(switch)
        closed = switch["closed"].fillna(True).to_numpy(dtype=bool)
        known = set(self.bus_index.tolist())
        skipped_et: dict[str, int] = {}
        for k, idx in enumerate(switch.index):
            sid = f"switch{int(idx)}"
            bus, et, element = (
                int(switch["bus"].iat[k]),
                switch["et"].iat[k],
                switch["element"].iat[k],
            )
            kind = "breaker" if types[k] == "CB" else "switch"
            name = _text(names[k])
            if bus not in known:
                raise NetworkFileError(f"{sid}: bus {bus} is not a bus of the network")
            if bus not in self.bus_pos:
                continue  # out of service
            if et == "b":
                other = int(element)
                if other not in known:
                    raise NetworkFileError(
                        f"{sid}: element bus {other} is not a bus of the network"
                    )
                if other not in self.bus_pos:
                    continue
                if other == bus:
                    self.warnings.append(
                        Issue(sid, "bus-bus switch joins a bus to itself: left out", "warning")
                    )
                    continue
                self._add_edge(
                    sid,
                    kind,
                    self.bus_pos[bus],
                    self.bus_pos[other],
                    closed=closed[k],
                    length=0.0,
                    name=name,
                )
                continue
            if et not in tables:
                skipped_et[str(et)] = skipped_et.get(str(et), 0) + 1
                continue
            table_name = tables[et]
            element = int(element)
            table = _table(self.pp, table_name)
            if table is None or element not in table.index:
                raise NetworkFileError(
                    f"{sid}: {table_name} {element} does not exist in the pandapower net"
                )
            ends = self.ends.get((table_name, element))
            if ends is None:
                continue  # the element is left out (out of service)
            if bus not in ends:
                if bus in self._element_buses(table, table_name, element):
                    continue  # the winding at this bus is left out
                raise NetworkFileError(f"{sid}: bus {bus} is not an end of {table_name} {element}")
            e, end = ends[bus]
            ends_arr = self.edge_from if end == 0 else self.edge_to
            current = ends_arr[e]
            node = self._add_node(
                f"sw{int(idx)}-n",
                None,
                self.node_kv[current],
                self.node_xy[current],
            )
            ends_arr[e] = node
            self._add_edge(sid, kind, current, node, closed=closed[k], length=0.0, name=name)
        for et, count in skipped_et.items():
            self.warnings.append(
                Issue(None, f"{count} switch(es) with et={et!r} not imported", "warning")
            )

    @staticmethod
    def _element_buses(table: Any, table_name: str, element: int) -> set[int]:
        columns = {
            "line": ("from_bus", "to_bus"),
            "trafo": ("hv_bus", "lv_bus"),
            "trafo3w": ("hv_bus", "mv_bus", "lv_bus"),
        }[table_name]
        return {int(table.at[element, c]) for c in columns}

    # ----------------------------------------------------- sources, loads
    def _sources(self) -> np.ndarray:
        source = np.zeros(len(self.node_ids), dtype=bool)
        buses: list[int] = []
        ext = _table(self.pp, "ext_grid")
        if ext is not None:
            buses.extend(ext["bus"].to_numpy()[_in_service(ext)].tolist())
        gen = _table(self.pp, "gen")
        if gen is not None and "slack" in gen.columns:
            slack = gen["slack"].fillna(False).to_numpy(dtype=bool)
            buses.extend(gen["bus"].to_numpy()[_in_service(gen) & slack].tolist())
        vsc = _table(self.pp, "vsc")
        if vsc is not None and "control_mode_ac" in vsc.columns and "bus" in vsc.columns:
            slack = (vsc["control_mode_ac"] == "slack").to_numpy(dtype=bool)
            buses.extend(vsc["bus"].to_numpy()[_in_service(vsc) & slack].tolist())
        for b in buses:
            if int(b) in self.bus_pos:
                source[self.bus_pos[int(b)]] = True
        return source

    def _customers(self) -> np.ndarray:
        counts = np.zeros(len(self.node_ids), dtype=np.int64)
        load = _table(self.pp, "load")
        if load is None:
            return counts
        keep = _in_service(load)
        buses = load["bus"].to_numpy()
        if self.kw_per_customer is None:
            per = np.full(len(load), max(1, math.floor(self.customers_per_load + 0.5)))
        else:
            kw = load["p_mw"].to_numpy(dtype=float) * 1000.0
            per = np.ceil(np.nan_to_num(kw, nan=0.0) / self.kw_per_customer)
            per = np.maximum(per, 1).astype(np.int64)
        for k in np.flatnonzero(keep):
            v = self.bus_pos.get(int(buses[k]))
            if v is not None:
                counts[v] += int(per[k])
        return counts
