"""Import a CIM distribution feeder model as a contract-1 :class:`~topology.model.Network`.

CIM (IEC 61970/61968, the Common Information Model) is how utilities
exchange network models between GIS, DMS and OMS. CIMHub and GridAPPS-D
write distribution feeders as CIM RDF/XML (namespace ``CIM100``, older files
``cim16``/``cim17``). The file is parsed by rdflib (a well-kept, pure-Python
RDF library: ``rdf:ID``, ``rdf:about``, ``rdf:resource``, ``xml:base`` and
nested descriptions mean what RDF says they mean); the mapping to the
switching model below is this module's, and reads only the handful of CIM
classes an outage system needs, whatever the CIM version's namespace:

===================================  ==========================================================
CIM                                  Network
===================================  ==========================================================
``ConnectivityNode`` (through the    node (Point from the PositionPoints of the equipment
``Terminal`` s of equipment)         there); ``TopologicalNode`` when a terminal has no
                                     ConnectivityNode
``EnergySource``,                    its node becomes a ``source`` node
``ExternalNetworkInjection``
``ACLineSegment``                    edge ``line`` (``cable`` when its wire info is a
                                     cable's), ``length_m`` from ``Conductor.length``
``Switch``, ``LoadBreakSwitch``,     edge ``switch``
``Disconnector``, ``Jumper``,
``Cut``
``Breaker``, ``Recloser``,           edge ``breaker``, ``recloser``, ``fuse``,
``Fuse``, ``Sectionaliser``          ``sectionalizer``; normal state from ``Switch.normalOpen``
``PowerTransformer`` (ends:          edge ``transformer``; three or more nodes: a star node
``PowerTransformerEnd`` or           ``<mRID>`` and edges ``<mRID>-w<k>``
``TransformerTank`` /
``TransformerTankEnd``)
``SeriesCompensator``                edge ``line``, length 0
``EnergyConsumer``                   customers at its node: one per ``UsagePoint`` (lon/lat
                                     from its ``ServiceLocation``), else ``customerCount``
                                     (default 1)
===================================  ==========================================================

Ids are mRIDs (``IdentifiedObject.mRID``): unique by definition and the
keys other CIM systems (SCADA, GIS, GridAPPS-D's own messages) use for the
same equipment; the ``IdentifiedObject.name`` is kept as ``name``.
rdflib is imported lazily, so ``import topology`` never needs it; install
it with the ``[cim]`` extra. ``docs/formats.md`` (section "CIM feeder
models") has the rules in full.

>>> from topology.cim import from_cim
>>> net = from_cim("ieee13.xml", crs="EPSG:26915")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topology.exceptions import Issue, NetworkFileError
from topology.model import Customers, Network

__all__ = ["from_cim"]

#: At most this many element ids are named in one message.
_MAX_NAMED = 20
#: A crsUrn that is an identifier of a CRS, not a name to search for.
_CRS_IDENTIFIER = re.compile(
    r"^(urn:ogc:def:crs:\S+|https?://www\.opengis\.net/def/crs/\S+|[A-Za-z]+:[\w.]+)$"
)
#: CIM namespaces (every CIM version, and IEC 61970-552's model header) start so.
_CIM_PREFIX = "http://iec.ch/TC57/"
#: Switch classes and the edge kind each becomes.
_SWITCH_KINDS = {
    "Switch": "switch",
    "LoadBreakSwitch": "switch",
    "Disconnector": "switch",
    "Jumper": "switch",
    "Cut": "switch",
    "Breaker": "breaker",
    "DisconnectingCircuitBreaker": "breaker",
    "Recloser": "recloser",
    "Fuse": "fuse",
    "Sectionaliser": "sectionalizer",
}
_SOURCE_CLASSES = frozenset({"EnergySource", "ExternalNetworkInjection"})
_CONSUMER_CLASSES = frozenset({"EnergyConsumer", "ConformLoad", "NonConformLoad"})
#: Equipment with one terminal: never joins nodes (no warning for them).
_SHUNT_CLASSES = frozenset(
    {
        "LinearShuntCompensator",
        "NonlinearShuntCompensator",
        "ShuntCompensator",
        "PowerElectronicsConnection",
        "SynchronousMachine",
        "AsynchronousMachine",
        "EnergyConsumer",
        "StaticVarCompensator",
        "GroundDisconnector",
        "Ground",
    }
)


# ------------------------------------------------------------------ the RDF graph, read
@dataclass
class _Object:
    """One CIM object: its class, its literal values and its references."""

    cls: str
    values: dict[str, str] = field(default_factory=dict)
    refs: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Model:
    """The CIM objects of the files, keyed by :func:`_key`, with references both ways."""

    path: str
    objects: dict[str, _Object]
    referrers: dict[tuple[str, str], list[str]]

    def of(self, classes: Iterable[str]) -> list[str]:
        """Keys of the objects of these classes, in mRID order (deterministic)."""
        wanted = set(classes)
        keys = [k for k, o in self.objects.items() if o.cls in wanted]
        return sorted(keys, key=self.mrid)

    def value(self, key: str, prop: str) -> str | None:
        obj = self.objects.get(key)
        return None if obj is None else obj.values.get(prop)

    def ref(self, key: str, prop: str) -> str | None:
        obj = self.objects.get(key)
        refs = None if obj is None else obj.refs.get(prop)
        return refs[0] if refs else None

    def linked(self, key: str, forward: str, inverse: str) -> list[str]:
        """Objects ``key`` names with ``forward``, or that name ``key`` with ``inverse``.

        RDF/XML writers put an association on either end (``UsagePoint.Equipments``
        or ``Equipment.UsagePoints``); both are read.
        """
        obj = self.objects.get(key)
        out = list(obj.refs.get(forward, ())) if obj is not None else []
        out += self.referrers.get((inverse, key), [])
        return sorted(dict.fromkeys(k for k in out if k in self.objects), key=self.mrid)

    def mrid(self, key: str) -> str:
        return self.value(key, "IdentifiedObject.mRID") or key

    def name(self, key: str) -> str | None:
        return self.value(key, "IdentifiedObject.name")

    def describe(self, key: str) -> str:
        """``Breaker 52DE... ('brkr1')``: how messages name an object."""
        obj = self.objects.get(key)
        name = self.name(key)
        cls = obj.cls if obj is not None else "object"
        return f"{cls} {self.mrid(key)}" + (f" ({name!r})" if name else "")


def _key(term: Any) -> str:
    """One key for ``rdf:ID="_X"`` (``file#_X``), ``#_X`` and ``urn:uuid:X``."""
    text = str(term)
    if text.startswith("urn:uuid:"):
        text = text[len("urn:uuid:") :]
    elif "#" in text:
        text = text.rsplit("#", 1)[1]
    return text.lstrip("_")


def _require_rdflib() -> Any:
    try:
        import rdflib
    except ImportError as exc:
        raise NetworkFileError(
            "importing a CIM model needs rdflib, which is not installed; "
            "install the extra: pip install 'open-oms[cim]'"
        ) from exc
    return rdflib


def _read(paths: Sequence[Path]) -> _Model:
    rdflib = _require_rdflib()
    graph = rdflib.Graph()
    for path in paths:
        if not path.is_file():
            raise NetworkFileError(f"{path}: no such file")
        try:
            graph.parse(str(path), format="xml")
        except Exception as exc:  # rdflib raises SAX, RDF/XML and decoding errors alike
            raise NetworkFileError(f"{path}: not CIM RDF/XML: {exc}") from exc
    where = ", ".join(str(p) for p in paths)
    objects: dict[str, _Object] = {}
    referrers: dict[tuple[str, str], list[str]] = {}
    typed: dict[str, set[str]] = {}
    rdf_type = rdflib.RDF.type
    literal = rdflib.Literal
    for s, p, o in graph:
        if p == rdf_type:
            name = str(o)
            if name.startswith(_CIM_PREFIX) and "#" in name:
                typed.setdefault(_key(s), set()).add(name.rsplit("#", 1)[1])
            continue
        prop = str(p)
        if not prop.startswith(_CIM_PREFIX) or "#" not in prop:
            continue  # another vocabulary (an extension namespace): not CIM's
        local = prop.rsplit("#", 1)[1]
        obj = objects.setdefault(_key(s), _Object(""))
        if isinstance(o, literal):
            obj.values[local] = str(o).strip()
        else:
            target = _key(o)
            obj.refs.setdefault(local, []).append(target)
            referrers.setdefault((local, target), []).append(_key(s))
    for key, classes in typed.items():
        obj = objects.setdefault(key, _Object(""))
        if len(classes) > 1:
            # One URI written for two objects: RDF makes them one resource.
            first, second = sorted(classes)[:2]
            label = obj.values.get("IdentifiedObject.name")
            raise NetworkFileError(
                f"{where}: {obj.values.get('IdentifiedObject.mRID', key)}"
                + (f" ({label!r})" if label else "")
                + f" is declared both a {first} and a {second}: two objects share one id"
            )
        obj.cls = classes.pop()
    if not any(o.cls for o in objects.values()):
        raise NetworkFileError(f"{where}: RDF, but no object of a CIM class ({_CIM_PREFIX}...)")
    return _Model(where, objects, referrers)


# ------------------------------------------------------------------ public
def from_cim(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    crs: str | None = None,
) -> Network:
    """Read a CIM distribution feeder model (RDF/XML) into a :class:`~topology.model.Network`.

    Parameters
    ----------
    paths : path-like, or a sequence of them
        The CIM XML file, or the files of one model split by profile (read
        together as one graph).
    crs : str, optional
        The CRS of every PositionPoint (anything pyproj reads: ``EPSG:26915``,
        a PROJ string); they are transformed to WGS84. Without it, a
        ``CoordinateSystem.crsUrn`` pyproj knows is used, and otherwise the
        points must be longitude/latitude.

    Returns
    -------
    Network
        Ids are mRIDs, names are kept as ``name``; customers attached (see the
        module docstring); ``warnings``: what was not imported, closed loops,
        nodes no source reaches.

    Raises
    ------
    NetworkFileError
        rdflib is not installed; a file does not exist or is not RDF/XML; no
        CIM object, no in-service source; equipment with a terminal on no
        node or the wrong number of terminals; a position that is not a
        number; coordinates that are not lon/lat (and no CRS given), an
        unknown CRS; nodes without a position and without a placed
        neighbour; an mRID used twice.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise NetworkFileError("no CIM file given")
    model = _read([Path(p) for p in paths])
    return _Builder(model, crs).build()


# ------------------------------------------------------------------ building
@dataclass
class _Terminal:
    key: str
    node: str | None  # ConnectivityNode (or TopologicalNode) key
    order: float  # end number, else sequence number


def _number(text: str | None, default: float) -> float:
    try:
        return float(text) if text is not None else default
    except ValueError:
        return default


def _true(text: str | None) -> bool | None:
    if text is None:
        return None
    return text.strip().lower() in ("true", "1")


def _named(ids: Sequence[str]) -> str:
    more = f" and {len(ids) - _MAX_NAMED} more" if len(ids) > _MAX_NAMED else ""
    return ", ".join(ids[:_MAX_NAMED]) + more


def _crs_of_urn(urn: str) -> tuple[str | None, str | None]:
    """(the CRS a crsUrn names, None for WGS84 lon/lat; the crsUrn when it names none).

    Only identifiers are looked up (``EPSG:26915``, ``urn:ogc:def:crs:...``,
    ``http://www.opengis.net/def/crs/...``): pyproj would search any other text
    as a CRS name, slowly, and could match a name it merely resembles.
    """
    if not _CRS_IDENTIFIER.match(urn):
        return None, urn
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(urn)
    except CRSError:
        return None, urn
    return (None if crs.equals(CRS.from_epsg(4326), ignore_axis_order=True) else urn), None


def _bad_lonlat(xy: np.ndarray) -> np.ndarray:
    return ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)


class _Builder:
    """Turns the CIM objects into the Network's arrays. No I/O."""

    def __init__(self, model: _Model, crs: str | None) -> None:
        self.m = model
        self.crs = crs
        self.warnings: list[Issue] = []
        # CGMES (the IEC 61970-552 header) writes voltages in kV; CIMHub and
        # GridAPPS-D write SI volts.
        self.volts_per_unit = 1000.0 if model.of(["FullModel"]) else 1.0
        self.terminals = self._terminals()
        self._urn_crs: dict[str, tuple[str | None, str | None]] = {}
        self.loc_xy = self._locations()
        self.node_pos: dict[str, int] = {}
        self.node_ids: list[str] = []
        self.node_name: list[str | None] = []
        self.node_kv: list[float] = []
        self.node_points: list[list[np.ndarray]] = []
        self.node_at: dict[int, int] = {}  # star node -> the node it is drawn at
        self.edge_ids: list[str] = []
        self.edge_name: list[str | None] = []
        self.edge_kind: list[str] = []
        self.edge_from: list[int] = []
        self.edge_to: list[int] = []
        self.edge_closed: list[bool] = []
        self.edge_length: list[float] = []
        self.edge_props: dict[int, dict[str, Any]] = {}
        self.edge_route: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------- reading helpers
    def _terminals(self) -> dict[str, list[_Terminal]]:
        """Each equipment's terminals, in order, with their node."""
        m = self.m
        out: dict[str, list[_Terminal]] = {}
        for t in m.of(["Terminal"]):
            node = m.ref(t, "Terminal.ConnectivityNode") or m.ref(t, "Terminal.TopologicalNode")
            seq = m.value(t, "ACDCTerminal.sequenceNumber") or m.value(t, "Terminal.sequenceNumber")
            term = _Terminal(t, node, _number(seq, math.inf))
            for equipment in m.linked(
                t, "Terminal.ConductingEquipment", "ConductingEquipment.Terminals"
            ):
                out.setdefault(equipment, []).append(term)
        for terms in out.values():
            terms.sort(key=lambda t: t.order)
        return out

    def _locations(self) -> dict[str, np.ndarray]:
        """Each Location's points, in sequence order, as WGS84 lon/lat."""
        m = self.m
        raw: dict[str, list[tuple[float, str, float, float]]] = {}
        for p in m.of(["PositionPoint"]):
            x, y = m.value(p, "PositionPoint.xPosition"), m.value(p, "PositionPoint.yPosition")
            try:
                px, py = float(x or ""), float(y or "")
            except ValueError:
                raise NetworkFileError(
                    f"{m.path}: PositionPoint {m.mrid(p)}: xPosition {x!r}, yPosition {y!r} "
                    "are not numbers"
                ) from None
            seq = _number(m.value(p, "PositionPoint.sequenceNumber"), 0.0)
            for loc in m.linked(p, "PositionPoint.Location", "Location.PositionPoints"):
                raw.setdefault(loc, []).append((seq, m.mrid(p), px, py))
        if not raw:
            return {}
        locs = sorted(raw)
        for loc in locs:
            raw[loc].sort()
        xy = np.array([(px, py) for loc in locs for _, _, px, py in raw[loc]], dtype=float)
        owner = [loc for loc in locs for _ in raw[loc]]
        self._to_lonlat(xy, owner)
        out: dict[str, np.ndarray] = {}
        start = 0
        for loc in locs:
            out[loc] = xy[start : start + len(raw[loc])]
            start += len(raw[loc])
        return out

    def _crs_of(self, loc: str) -> tuple[str | None, str | None]:
        """(CRS to read the location's points in, the crsUrn that names no CRS)."""
        if self.crs is not None:
            return self.crs, None
        cs = self.m.ref(loc, "Location.CoordinateSystem")
        urn = self.m.value(cs, "CoordinateSystem.crsUrn") if cs else None
        if not urn:
            return None, None
        if urn not in self._urn_crs:
            self._urn_crs[urn] = _crs_of_urn(urn)
        return self._urn_crs[urn]

    def _to_lonlat(self, xy: np.ndarray, owner: list[str]) -> None:
        """Transform the points in place; an error names the first one out of range."""
        from pyproj import CRS, Transformer
        from pyproj.exceptions import CRSError

        crs_of = {loc: self._crs_of(loc) for loc in dict.fromkeys(owner)}
        by_crs: dict[str, list[int]] = {}
        for i, loc in enumerate(owner):
            crs = crs_of[loc][0]
            if crs is not None:
                by_crs.setdefault(crs, []).append(i)
        for crs, rows in by_crs.items():
            try:
                source = CRS.from_user_input(crs)
            except CRSError as exc:
                raise NetworkFileError(f"unknown CRS {crs!r}") from exc
            pick = np.array(rows)
            if (
                self.crs is not None
                and source.is_projected
                and len(pick) >= 3
                and not _bad_lonlat(xy[pick]).any()
            ):
                raise NetworkFileError(
                    f"{self.m.path}: the CRS is {crs}, a projected CRS, but every "
                    "PositionPoint lies within +-180, +-90: they look like lon/lat degrees "
                    "(leave --crs out)"
                )
            transformer = Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)
            xy[pick, 0], xy[pick, 1] = transformer.transform(xy[pick, 0], xy[pick, 1])
        bad = np.flatnonzero(_bad_lonlat(xy))
        if len(bad):
            loc = owner[bad[0]]
            crs, unknown = crs_of[loc]
            if crs is not None:
                hint = f"read in {crs}"
            else:
                known = f" (its CoordinateSystem's crsUrn {unknown!r} names no CRS)"
                hint = (
                    "they look projected or local" + (known if unknown else "") + ": give their "
                    "CRS with --crs (e.g. EPSG:26915, or a PROJ string for local coordinates)"
                )
            raise NetworkFileError(
                f"{self.m.path}: {len(bad)} PositionPoint(s) outside the WGS84 lon/lat range, "
                f"first of {self.m.describe(loc)}; {hint}"
            )

    def _points(self, equipment: str) -> np.ndarray | None:
        """The equipment's PositionPoints (its Location's; a transformer's tank's)."""
        m = self.m
        locs = m.linked(equipment, "PowerSystemResource.Location", "Location.PowerSystemResources")
        if not locs and m.objects[equipment].cls == "PowerTransformer":
            for tank in m.linked(
                equipment, "PowerTransformer.TransformerTanks", "TransformerTank.PowerTransformer"
            ):
                locs += m.linked(
                    tank, "PowerSystemResource.Location", "Location.PowerSystemResources"
                )
        for loc in locs:
            if loc in self.loc_xy:
                return self.loc_xy[loc]
        return None

    def _kv(self, base_voltage: str | None) -> float:
        volts = (
            _number(self.m.value(base_voltage, "BaseVoltage.nominalVoltage"), math.nan)
            if base_voltage
            else math.nan
        )
        return volts * self.volts_per_unit / 1000.0

    # ------------------------------------------------------------- nodes and edges
    def _node(self, key: str) -> int:
        v = self.node_pos.get(key)
        if v is None:
            v = len(self.node_ids)
            self.node_pos[key] = v
            self.node_ids.append(self.m.mrid(key))
            self.node_name.append(self.m.name(key))
            self.node_kv.append(math.nan)
            self.node_points.append([])
        return v

    def _set_kv(self, v: int, kv: float) -> None:
        if math.isnan(self.node_kv[v]) and kv > 0:
            self.node_kv[v] = kv

    def _add_edge(
        self,
        edge_id: str,
        name: str | None,
        kind: str,
        a: int,
        b: int,
        cls: str,
        *,
        closed: bool = True,
        length: float = 0.0,
    ) -> int:
        self.edge_ids.append(edge_id)
        self.edge_name.append(name)
        self.edge_kind.append(kind)
        self.edge_from.append(a)
        self.edge_to.append(b)
        self.edge_closed.append(closed)
        self.edge_length.append(length)
        e = len(self.edge_ids) - 1
        self.edge_props[e] = {"cim_class": cls}
        return e

    def _nodes_of(self, equipment: str, what: str, count: int | None) -> list[str]:
        """Node keys of the equipment's terminals; an error when one is on no node."""
        terms = self.terminals.get(equipment, [])
        if count is not None and len(terms) != count:
            raise NetworkFileError(
                f"{self.m.path}: {self.m.describe(equipment)} has {len(terms)} terminal(s); "
                f"{what} needs {count}"
            )
        for t in terms:
            if t.node is None:
                raise NetworkFileError(
                    f"{self.m.path}: Terminal {self.m.mrid(t.key)} of "
                    f"{self.m.describe(equipment)} is on no ConnectivityNode"
                )
        return [t.node for t in terms if t.node is not None]

    def _place_points(self, equipment: str, nodes: list[str]) -> None:
        """Candidate positions: point k for node k when counts agree, else first/last."""
        pts = self._points(equipment)
        distinct = list(dict.fromkeys(nodes))
        if pts is None or not distinct:
            return
        for i, node in enumerate(distinct):
            if len(pts) == len(distinct):
                p = pts[i]
            elif len(pts) == 1:
                p = pts[0]
            else:
                p = pts[0] if i == 0 else pts[-1]
            self.node_points[self._node(node)].append(p)

    def _in_service(self, equipment: str) -> bool:
        if _true(self.m.value(equipment, "Equipment.normallyInService")) is False:
            self.warnings.append(
                Issue(
                    self.m.mrid(equipment),
                    f"{self.m.describe(equipment)} is not normally in service: left out",
                    "warning",
                )
            )
            return False
        return True

    def _is_cable(self, line: str) -> bool:
        m = self.m
        infos = m.linked(
            line, "PowerSystemResource.AssetDatasheet", "AssetInfo.PowerSystemResources"
        )
        for phase in m.linked(
            line, "ACLineSegment.ACLineSegmentPhases", "ACLineSegmentPhase.ACLineSegment"
        ):
            infos += m.linked(phase, "ACLineSegmentPhase.WireInfo", "WireInfo.ACLineSegmentPhases")
        return any(m.objects[i].cls.endswith("CableInfo") for i in infos)

    def _two_terminal(self, key: str, kind: str, length: float = 0.0, closed: bool = True) -> None:
        m = self.m
        nodes = self._nodes_of(key, f"a {kind}", 2)
        self._place_points(key, nodes)
        if nodes[0] == nodes[1]:
            self.warnings.append(
                Issue(
                    m.mrid(key),
                    f"{m.describe(key)} has both terminals on one node: left out",
                    "warning",
                )
            )
            self._node(nodes[0])
            return
        a, b = self._node(nodes[0]), self._node(nodes[1])
        kv = self._kv(m.ref(key, "ConductingEquipment.BaseVoltage"))
        self._set_kv(a, kv)
        self._set_kv(b, kv)
        e = self._add_edge(
            m.mrid(key), m.name(key), kind, a, b, m.objects[key].cls, closed=closed, length=length
        )
        pts = self._points(key)
        if pts is not None and len(pts) > 2 and kind in ("line", "cable"):
            self.edge_route[e] = pts

    def _add_lines(self) -> None:
        m = self.m
        for key in m.of(["ACLineSegment"]):
            if not self._in_service(key):
                continue
            length = _number(m.value(key, "Conductor.length"), math.nan)
            kind = "cable" if self._is_cable(key) else "line"
            self._two_terminal(key, kind, length=length if length >= 0 else math.nan)
        for key in m.of(["SeriesCompensator"]):
            if self._in_service(key):
                self._two_terminal(key, "line")

    def _add_switches(self) -> None:
        m = self.m
        unstated: list[str] = []
        for key in m.of(_SWITCH_KINDS):
            if not self._in_service(key):
                continue
            normal_open = _true(m.value(key, "Switch.normalOpen"))
            if normal_open is None:
                unstated.append(m.mrid(key))
            kind = _SWITCH_KINDS[m.objects[key].cls]
            self._two_terminal(key, kind, closed=not normal_open)
        if unstated:
            self.warnings.append(
                Issue(
                    None,
                    f"{len(unstated)} switch(es) without Switch.normalOpen, imported closed: "
                    f"{_named(unstated)}",
                    "warning",
                )
            )

    def _transformer_ends(self, pt: str) -> list[tuple[str, float, float]]:
        """(terminal key, end number, kV) of every end of the transformer."""
        m = self.m
        ends = m.linked(
            pt, "PowerTransformer.PowerTransformerEnd", "PowerTransformerEnd.PowerTransformer"
        )
        for tank in m.linked(
            pt, "PowerTransformer.TransformerTanks", "TransformerTank.PowerTransformer"
        ):
            ends += m.linked(
                tank, "TransformerTank.TransformerTankEnds", "TransformerTankEnd.TransformerTank"
            )
        out = []
        for end in ends:
            kv = self._kv(m.ref(end, "TransformerEnd.BaseVoltage"))
            if math.isnan(kv):
                kv = (
                    _number(m.value(end, "PowerTransformerEnd.ratedU"), math.nan)
                    * self.volts_per_unit
                    / 1000.0
                )
            number = _number(m.value(end, "TransformerEnd.endNumber"), math.inf)
            for t in m.linked(end, "TransformerEnd.Terminal", "Terminal.TransformerEnd"):
                out.append((t, number, kv))
        return out

    def _add_transformers(self) -> None:
        m = self.m
        for pt in m.of(["PowerTransformer"]):
            if not self._in_service(pt):
                continue
            ends = self._transformer_ends(pt)
            terms = {t.key: t for t in self.terminals.get(pt, [])}
            end_of = {t: (number, kv) for t, number, kv in ends}
            # An end's terminal that names no equipment itself (it names the tank).
            for key, _, _ in ends:
                if key not in terms and key in m.objects:
                    node = m.ref(key, "Terminal.ConnectivityNode") or m.ref(
                        key, "Terminal.TopologicalNode"
                    )
                    terms[key] = _Terminal(key, node, math.inf)
            ordered = sorted(
                terms.values(), key=lambda t: (end_of.get(t.key, (t.order, 0))[0], t.order, t.key)
            )
            self.terminals[pt] = ordered
            nodes = self._nodes_of(pt, "a transformer", None)
            distinct = list(dict.fromkeys(nodes))
            if len(distinct) < 2:
                raise NetworkFileError(
                    f"{m.path}: {m.describe(pt)} has terminals on {len(distinct)} node(s); "
                    "a transformer joins two or more"
                )
            self._place_points(pt, nodes)
            for term in ordered:
                if term.key in end_of and term.node is not None:
                    self._set_kv(self._node(term.node), end_of[term.key][1])
            mrid, name = m.mrid(pt), m.name(pt)
            vs = [self._node(n) for n in distinct]
            if len(vs) == 2:
                self._add_edge(mrid, name, "transformer", vs[0], vs[1], "PowerTransformer")
                continue
            # Three or more nodes (a three-winding transformer): a star node at
            # winding 1's node and an edge from it to every other node.
            star = self._node(pt)
            self.node_name[star] = name
            self.node_kv[star] = self.node_kv[vs[0]]
            self.node_at[star] = vs[0]
            for k, v in enumerate(vs, start=1):
                a, b = (v, star) if k == 1 else (star, v)
                self._add_edge(f"{mrid}-w{k}", name, "transformer", a, b, "PowerTransformer")

    def _add_sources(self) -> list[int]:
        m = self.m
        out = []
        for key in m.of(_SOURCE_CLASSES):
            if not self._in_service(key):
                continue
            nodes = self._nodes_of(key, "a source", None)
            if not nodes:
                self.warnings.append(
                    Issue(m.mrid(key), f"{m.describe(key)} has no terminal: left out", "warning")
                )
                continue
            self._place_points(key, nodes[:1])
            v = self._node(nodes[0])
            self._set_kv(v, self._kv(m.ref(key, "ConductingEquipment.BaseVoltage")))
            out.append(v)
        if not out:
            raise NetworkFileError(f"{m.path}: no in-service EnergySource (the feeder's infeed)")
        return out

    def _customers(self) -> Customers:
        m = self.m
        ids: list[str] = []
        nodes: list[int] = []
        names: list[str | None] = []
        lon: list[float | None] = []
        lat: list[float | None] = []
        for key in m.of(_CONSUMER_CLASSES):
            if not self._in_service(key):
                continue
            found = self._nodes_of(key, "a consumer", None)
            if not found:
                self.warnings.append(
                    Issue(
                        m.mrid(key), f"{m.describe(key)} has no terminal: no customers", "warning"
                    )
                )
                continue
            self._place_points(key, found[:1])
            v = self._node(found[0])
            self._set_kv(v, self._kv(m.ref(key, "ConductingEquipment.BaseVoltage")))
            count_text = m.value(key, "EnergyConsumer.customerCount")
            usage = m.linked(key, "Equipment.UsagePoints", "UsagePoint.Equipments")
            if usage:
                # One customer per service delivery point, where the model has them.
                if count_text is not None and int(_number(count_text, -1)) != len(usage):
                    self.warnings.append(
                        Issue(
                            m.mrid(key),
                            f"{m.describe(key)}: customerCount {count_text} but {len(usage)} "
                            "UsagePoint(s): one customer per UsagePoint",
                            "warning",
                        )
                    )
                for up in usage:
                    ids.append(m.mrid(up))
                    nodes.append(v)
                    names.append(m.name(up) or m.name(key))
                    xy = self._service_point(up)
                    lon.append(None if xy is None else float(xy[0]))
                    lat.append(None if xy is None else float(xy[1]))
                continue
            count = max(0, int(_number(count_text, 1)))
            mrid = m.mrid(key)
            cids = [mrid] if count == 1 else [f"{mrid}-{k}" for k in range(1, count + 1)]
            ids.extend(cids)
            nodes.extend([v] * count)
            names.extend([m.name(key)] * count)
            lon.extend([None] * count)
            lat.extend([None] * count)
        seen: set[str] = set()
        for cid in ids:
            if cid in seen:
                raise NetworkFileError(
                    f"{m.path}: the customer id {cid!r} is made twice (a UsagePoint of two "
                    "consumers, or an mRID ending like -<k>)"
                )
            seen.add(cid)
        return Customers(
            ids=ids,
            node=np.array(nodes, dtype=np.int64),
            fields={"name": names, "lon": lon, "lat": lat},
        )

    def _service_point(self, usage_point: str) -> np.ndarray | None:
        m = self.m
        for loc in m.linked(
            usage_point, "UsagePoint.ServiceLocation", "ServiceLocation.UsagePoints"
        ):
            if loc in self.loc_xy:
                return self.loc_xy[loc][0]
        return None

    def _report_unmapped(self) -> None:
        """Equipment of other classes joining two nodes: listed, not imported."""
        m = self.m
        mapped = {
            "ACLineSegment",
            "SeriesCompensator",
            "PowerTransformer",
            *_SWITCH_KINDS,
            *_SOURCE_CLASSES,
            *_CONSUMER_CLASSES,
            *_SHUNT_CLASSES,
        }
        skipped: dict[str, list[str]] = {}
        for key, terms in self.terminals.items():
            cls = m.objects[key].cls if key in m.objects else ""
            if cls in mapped or len({t.node for t in terms}) < 2:
                continue
            skipped.setdefault(cls or "(no class)", []).append(m.mrid(key))
        for cls, ids in sorted(skipped.items()):
            ids.sort()
            self.warnings.append(
                Issue(
                    None,
                    f"{len(ids)} CIM {cls} object(s) joining nodes not imported ({_named(ids)}): "
                    "nodes supplied only through them show as unsupplied",
                    "warning",
                )
            )

    # ------------------------------------------------------------- the network
    def build(self) -> Network:
        sources = self._add_sources()
        self._add_lines()
        self._add_switches()
        self._add_transformers()
        customers = self._customers()
        self._report_unmapped()
        xy = self._place()
        self._check_unique()
        source = np.zeros(len(self.node_ids), dtype=bool)
        source[sources] = True
        offsets, coords = self._routes(xy)
        network = Network(
            node_ids=self.node_ids,
            node_xy=xy,
            node_source=source,
            node_voltage_kv=[round(kv, 4) for kv in self.node_kv],
            node_name=self.node_name,
            edge_ids=self.edge_ids,
            edge_name=self.edge_name,
            edge_kind=self.edge_kind,
            edge_from=self.edge_from,
            edge_to=self.edge_to,
            edge_normal_closed=self.edge_closed,
            edge_length_m=self.edge_length,
            edge_props=self.edge_props,
            geom_offsets=offsets,
            geom_coords=coords,
            customers=customers,
        )
        from topology.validation import structural_warnings

        network.warnings = self.warnings + structural_warnings(network)
        return network

    def _place(self) -> np.ndarray:
        """Nodes at the mean of their candidate points; the rest from placed neighbours."""
        n = len(self.node_ids)
        full = np.full((n, 2), np.nan)
        for v, pts in enumerate(self.node_points):
            if pts and v not in self.node_at:
                full[v] = np.mean(pts, axis=0)
        missing = ~np.isfinite(full).all(axis=1)
        if missing.all():
            raise NetworkFileError(
                f"{self.m.path}: no equipment has a Location with PositionPoints, and every "
                "node of a network file needs a position"
            )
        a = np.array(self.edge_from + self.edge_to, dtype=np.int64)
        b = np.array(self.edge_to + self.edge_from, dtype=np.int64)
        stars = np.zeros(n, dtype=bool)
        stars[list(self.node_at)] = True
        while missing.any():
            # Star nodes sit at winding 1's node, once that is placed.
            for star, at in self.node_at.items():
                if missing[star] and not missing[at]:
                    full[star] = full[at]
                    missing[star] = False
            use = missing[a] & ~stars[a] & ~missing[b]
            if not use.any():
                break
            total = np.zeros_like(full)
            count = np.zeros(n)
            np.add.at(total, a[use], np.nan_to_num(full[b[use]]))
            np.add.at(count, a[use], 1)
            newly = count > 0
            full[newly] = total[newly] / count[newly, None]
            missing &= ~newly
        lost = [self.node_ids[v] for v in np.flatnonzero(~np.isfinite(full).all(axis=1))]
        if lost:
            raise NetworkFileError(
                f"{self.m.path}: {len(lost)} node(s) without a position and without a placed "
                f"neighbour: {_named(lost)}; give the equipment there a Location with "
                "PositionPoints"
            )
        return full

    def _routes(self, xy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Lines with three or more PositionPoints keep their route, oriented from -> to."""
        if not self.edge_route:
            return None, None
        m = len(self.edge_ids)
        offsets = np.zeros(m + 1, dtype=np.int64)
        parts = []
        for e in range(m):
            route = self.edge_route.get(e)
            if route is not None:
                start = xy[self.edge_from[e]]
                if np.hypot(*(route[-1] - start)) < np.hypot(*(route[0] - start)):
                    route = route[::-1]
                parts.append(route)
            offsets[e + 1] = offsets[e] + (0 if route is None else len(route))
        return offsets, np.concatenate(parts)

    def _check_unique(self) -> None:
        seen: set[str] = set()
        for element_id in self.node_ids + self.edge_ids:
            if element_id in seen:
                raise NetworkFileError(
                    f"{self.m.path}: the id {element_id!r} is used twice (an mRID shared by two "
                    "objects, or one ending like the ids the importer makes: -w<k>)"
                )
            seen.add(element_id)
