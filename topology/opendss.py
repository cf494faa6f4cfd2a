"""Import an OpenDSS circuit as a contract-1 :class:`~topology.model.Network`.

OpenDSS (EPRI) is the open-source distribution-system simulator most
utility feeder models are written for. Its scripts are not parsed here: the
circuit is compiled by OpenDSS itself (the DSS C-API engine, through
OpenDSSDirect.py), so ``Redirect``, ``Compile``, ``BusCoords``, ``Open``,
``Edit``, ``~`` continuations, linecodes and every other part of the
language mean what they mean to OpenDSS. What the engine then holds is read
into the switching model of this library (single-line: ``bus.1.2.3`` is the
bus ``bus``):

==================================  =========================================================
OpenDSS                             Network
==================================  =========================================================
bus                                 node, id the bus name (Point from ``BusCoords``)
``Vsource`` (enabled)               its bus1 becomes a ``source`` node
``Line`` (``Switch=no``)            edge ``line``, id ``Line.<name>``, ``length_m`` from
                                    ``Length`` and ``Units``
``Line`` (``Switch=yes``)           edge ``switch``, length 0
``Transformer``, ``AutoTrans``      edge ``transformer`` between its two buses; three or
                                    more buses: a star node ``Transformer.<name>`` and
                                    edges ``Transformer.<name>-w<k>``
``RegControl``                      ``regulator`` property on its transformer's edges
``Fuse``, ``Recloser``,             edge ``fuse``, ``recloser``, ``breaker``, ``switch``
``Relay``, ``SwtControl``           (id ``Fuse.<name>``...) at the switched terminal of the
                                    element it acts on: in series there (a node
                                    ``<id>-n``), or in place of a ``Switch=yes`` line
series ``Reactor``, ``Capacitor``   edge ``line``, length 0
terminal opened in the model,       a normally open ``switch`` ``<element>-t<k>`` in
disabled element                    series at that terminal
``Load`` (enabled)                  customers ``Load.<name>`` at its bus
==================================  =========================================================

OpenDSSDirect.py is imported lazily, so ``import topology`` never needs it;
install it with the ``[opendss]`` extra. ``docs/formats.md`` (section
"OpenDSS circuits") has the rules in full, and ``tests/test_opendss.py``
compares what this library's traces call de-energized with the buses
OpenDSS's own solution leaves at zero voltage when each device opens.

>>> from topology.opendss import from_opendss
>>> net = from_opendss("Master.dss", crs="EPSG:26915")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topology.exceptions import Issue, NetworkFileError
from topology.model import Customers, Network

__all__ = ["from_opendss"]

#: At most this many element ids are named in one message.
_MAX_NAMED = 20
#: Metres per unit of OpenDSS's ``LineUnits`` (0, "none", has no length unit).
_METRES_PER_UNIT = {
    1: 1609.344,  # mi
    2: 304.8,  # kft
    3: 1000.0,  # km
    4: 1.0,  # m
    5: 0.3048,  # ft
    6: 0.0254,  # in
    7: 0.01,  # cm
    8: 0.001,  # mm
}
#: OpenDSS control classes that open a terminal of another element, and the edge kind
#: each becomes. A relay stands for the relay and the breaker it trips.
_CONTROL_KINDS = {
    "Fuse": "fuse",
    "Recloser": "recloser",
    "Relay": "breaker",
    "SwtControl": "switch",
}
#: The OpenDSSDirect.py interface of each control class.
_CONTROL_APIS = {
    "Fuse": "Fuses",
    "Recloser": "Reclosers",
    "Relay": "Relays",
    "SwtControl": "SwtControls",
}
#: Power-delivery classes mapped to edges; other classes joining two buses are reported.
_TRANSFORMER_CLASSES = ("Transformer", "AutoTrans")
_SERIES_CLASSES = ("Reactor", "Capacitor")
#: Classes that never join buses in a switching model (shunts, sources, loads, meters...).
_NOT_BRANCHES = frozenset(
    {
        "Vsource",
        "Isource",
        "Load",
        "Generator",
        "PVSystem",
        "Storage",
        "IndMach012",
        "VCCS",
        "Fault",
        "GICsource",
        "Monitor",
        "EnergyMeter",
        "Sensor",
    }
)
#: OpenDSS's ActionCodes value for "open".
_ACTION_OPEN = 1
_LOCATION = re.compile(r'\s*\[file: "(?P<file>[^"]*)", line: (?P<line>\d+)\]')


# ------------------------------------------------------------------ data read from OpenDSS
@dataclass
class _Element:
    """A power-delivery element: what OpenDSS says about its terminals."""

    id: str
    cls: str
    buses: list[str]
    enabled: bool
    open_terminals: set[int]
    is_switch: bool = False
    length_m: float = math.nan


@dataclass
class _Control:
    """A fuse, recloser, relay or switch control acting on an element's terminal."""

    id: str
    kind: str
    element: str
    terminal: int
    normally_open: bool
    enabled: bool


@dataclass
class _Circuit:
    """Everything the importer needs, read from a compiled OpenDSS circuit."""

    path: str
    buses: list[str]
    bus_xy: np.ndarray
    bus_kv: np.ndarray
    elements: list[_Element]
    controls: list[_Control]
    sources: list[str]
    loads: list[tuple[str, str, float, int]]  # (id, bus, kW, NumCust) of enabled loads
    regulators: dict[str, list[str]]  # element key -> RegControl ids
    warnings: list[Issue] = field(default_factory=list)


# ------------------------------------------------------------------ public
def from_opendss(
    path: str | os.PathLike[str],
    *,
    crs: str | None = None,
    customers_per_kw: float | None = None,
) -> Network:
    """Compile an OpenDSS circuit and build a :class:`~topology.model.Network`.

    Parameters
    ----------
    path : path-like
        The master ``.dss`` file (the one ``compile`` is given in OpenDSS).
        Files it redirects to are found relative to it, as OpenDSS does.
    crs : str, optional
        The CRS of the bus coordinates when they are projected or local
        (anything pyproj reads: ``EPSG:26915``, a PROJ string); they are
        transformed to WGS84. Without it they must be longitude/latitude.
    customers_per_kw : float, optional
        For spot loads that stand for many customers: a load whose
        ``NumCust`` is 1 (OpenDSS's default) counts ``ceil(kW * X)``
        customers, at least 1. Without it, each load counts ``NumCust``.

    Returns
    -------
    Network
        With individual customers attached (ids ``Load.<name>``, or
        ``Load.<name>-<k>`` when a load counts several) and ``warnings``:
        what was not imported, closed loops, nodes no source reaches.

    Raises
    ------
    NetworkFileError
        OpenDSSDirect.py is not installed; the file does not exist; OpenDSS
        cannot compile it (the message names the file and line OpenDSS
        reports); it defines no circuit or no source; coordinates are not
        lon/lat (and no CRS is given), the CRS is unknown, or buses have no
        coordinates and no placed neighbour to take them from.
    ValueError
        ``customers_per_kw`` is not positive.
    """
    if customers_per_kw is not None and not customers_per_kw > 0:
        raise ValueError(f"customers_per_kw must be positive, not {customers_per_kw!r}")
    circuit = _read(Path(path))
    return _Builder(circuit, crs, customers_per_kw).build()


# ------------------------------------------------------------------ reading
def _require_opendss() -> Any:
    try:
        import opendssdirect
    except ImportError as exc:
        raise NetworkFileError(
            "importing an OpenDSS circuit needs OpenDSSDirect.py, which is not installed; "
            "install the extra: pip install 'open-oms[opendss]'"
        ) from exc
    return opendssdirect


def _compile_error(path: Path, exc: Exception) -> NetworkFileError:
    """A NetworkFileError naming the file and line OpenDSS reports, if it does.

    OpenDSS appends ``[file: "...", line: N]`` for the file that failed and
    then for every file that redirected to it, innermost first.
    """
    message = str(exc.args[1] if len(exc.args) > 1 else exc).strip()
    places = [(m["file"], m["line"]) for m in _LOCATION.finditer(message)]
    message = _LOCATION.sub("", message).strip()
    if not places:
        return NetworkFileError(f"{path}: OpenDSS cannot compile it: {message}")
    (file, line), outer = places[0], places[1:]
    via = "".join(f" (from {f}, line {n})" for f, n in outer)
    return NetworkFileError(f"{file}, line {line}: OpenDSS cannot compile it: {message}{via}")


def _read(path: Path) -> _Circuit:
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such file")
    odd = _require_opendss()
    # A context of its own: the import neither sees nor disturbs another circuit
    # compiled in this process (OpenDSS's default engine is one global).
    dss = odd.NewContext()
    # The CLI's working directory stays put (OpenDSS's compile would chdir),
    # and no "show" command may open an editor window.
    dss.Basic.AllowChangeDir(False)
    dss.Basic.AllowEditor(False)
    dss.Basic.AllowForms(False)
    try:
        dss.Text.Command(f'compile "{path.resolve()}"')
    except odd.DSSException as exc:
        raise _compile_error(path, exc) from exc
    try:
        named = bool(dss.Circuit.Name())
    except odd.DSSException:  # "There is no active circuit!"
        named = False
    if not named:
        raise NetworkFileError(f"{path}: defines no circuit (no 'New Circuit.<name>')")
    if dss.Circuit.NumBuses() == 0:
        # No CalcVoltageBases or Solve in the script: the bus list is made on demand.
        dss.Text.Command("MakeBusList")
    return _Reader(dss, str(path)).read()


def _bus(name: str) -> str:
    """``"671.1.2.3"`` -> ``"671"``: the single-line bus of a terminal."""
    return name.split(".", 1)[0].lower()


class _Reader:
    """Reads the compiled circuit through OpenDSSDirect.py's interfaces."""

    def __init__(self, dss: Any, path: str) -> None:
        self.dss = dss
        self.path = path
        self.warnings: list[Issue] = []

    def read(self) -> _Circuit:
        buses, xy, kv = self._buses()
        elements = self._elements(set(buses))
        return _Circuit(
            path=self.path,
            buses=buses,
            bus_xy=xy,
            bus_kv=kv,
            elements=elements,
            controls=self._controls(),
            sources=self._sources(),
            loads=self._loads(),
            regulators=self._regulators(),
            warnings=self.warnings,
        )

    def _buses(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        dss = self.dss
        names = [str(b).lower() for b in dss.Circuit.AllBusNames()]
        xy = np.full((len(names), 2), np.nan)
        kv = np.full(len(names), np.nan)
        for i, name in enumerate(names):
            dss.Circuit.SetActiveBus(name)
            if dss.Bus.Coorddefined():
                xy[i] = dss.Bus.X(), dss.Bus.Y()
            base = dss.Bus.kVBase()
            if base > 0:  # line to neutral; the contract's nominal voltage is line to line
                kv[i] = round(base * math.sqrt(3), 4)
        return names, xy, kv

    def _terminal_open(self, terminal: int, phases: int) -> bool | None:
        """True when every phase of the terminal is open, None when only some are."""
        states = [self.dss.CktElement.IsOpen(terminal, p) for p in range(1, phases + 1)]
        if all(states):
            return True
        return None if any(states) else False

    def _elements(self, known: set[str]) -> list[_Element]:
        dss = self.dss
        out: list[_Element] = []
        skipped: dict[str, list[str]] = {}
        for name in dss.Circuit.AllElementNames():
            cls = name.split(".", 1)[0]
            if cls in _NOT_BRANCHES or cls in _CONTROL_KINDS:
                continue
            dss.Circuit.SetActiveElement(name)
            element_id = dss.CktElement.Name()
            terminal_buses = [_bus(b) for b in dss.CktElement.BusNames()]
            if len(set(terminal_buses)) < 2:
                continue  # a shunt (capacitor, reactor to ground) or a control
            if cls not in ("Line", *_TRANSFORMER_CLASSES, *_SERIES_CLASSES):
                skipped.setdefault(cls, []).append(element_id)
                continue
            enabled = bool(dss.CktElement.Enabled())
            if not set(terminal_buses) <= known:
                # OpenDSS makes no bus for a disabled element's ends alone.
                self.warnings.append(
                    Issue(
                        element_id,
                        "disabled, and a bus of it is on no enabled element: left out",
                        "warning",
                    )
                )
                continue
            phases = int(dss.CktElement.NumPhases())
            opened: set[int] = set()
            for t in range(1, len(terminal_buses) + 1):
                state = self._terminal_open(t, phases)
                if state is None:
                    self.warnings.append(
                        Issue(
                            element_id,
                            f"terminal {t} is open on some phases only: imported closed",
                            "warning",
                        )
                    )
                elif state:
                    opened.add(t)
            element = _Element(element_id, cls, terminal_buses, enabled, opened)
            if cls == "Line":
                dss.Lines.Name(element_id.split(".", 1)[1])
                element.is_switch = bool(dss.Lines.IsSwitch())
                if element.is_switch:
                    element.length_m = 0.0
                else:
                    per_unit = _METRES_PER_UNIT.get(int(dss.Lines.Units()))
                    if per_unit is not None:
                        element.length_m = float(dss.Lines.Length()) * per_unit
            else:
                element.length_m = 0.0
            out.append(element)
        for cls, ids in skipped.items():
            self.warnings.append(
                Issue(
                    None,
                    f"{len(ids)} OpenDSS {cls} element(s) joining buses not imported "
                    f"({_named(ids)}): buses supplied only through them show as unsupplied",
                    "warning",
                )
            )
        return out

    def _controls(self) -> list[_Control]:
        dss = self.dss
        out: list[_Control] = []
        for cls, kind in _CONTROL_KINDS.items():
            api = getattr(dss, _CONTROL_APIS[cls])
            for name in api.AllNames():
                api.Name(name)
                control_id = dss.CktElement.Name()
                switched = str(api.SwitchedObj())
                if cls == "Fuse":
                    normal = api.NormalState()
                    normally_open = bool(normal) and all(s.lower() == "open" for s in normal)
                else:
                    normally_open = int(api.NormalState()) == _ACTION_OPEN
                out.append(
                    _Control(
                        id=control_id,
                        kind=kind,
                        element=switched.lower(),
                        terminal=int(api.SwitchedTerm()),
                        normally_open=normally_open,
                        enabled=bool(dss.CktElement.Enabled()),
                    )
                )
        return out

    def _sources(self) -> list[str]:
        dss = self.dss
        out = []
        for name in dss.Vsources.AllNames():
            dss.Circuit.SetActiveElement(f"Vsource.{name}")
            if dss.CktElement.Enabled():
                out.append(_bus(dss.CktElement.BusNames()[0]))
        return out

    def _loads(self) -> list[tuple[str, str, float, int]]:
        dss = self.dss
        out = []
        disabled = 0
        for name in dss.Loads.AllNames():
            dss.Loads.Name(name)
            if not dss.CktElement.Enabled():
                disabled += 1
                continue
            out.append(
                (
                    dss.CktElement.Name(),
                    _bus(dss.CktElement.BusNames()[0]),
                    float(dss.Loads.kW()),
                    int(dss.Loads.NumCust()),
                )
            )
        if disabled:
            self.warnings.append(
                Issue(None, f"{disabled} disabled load(s): no customers counted", "warning")
            )
        return out

    def _regulators(self) -> dict[str, list[str]]:
        dss = self.dss
        out: dict[str, list[str]] = {}
        for name in dss.RegControls.AllNames():
            dss.RegControls.Name(name)
            if dss.CktElement.Enabled():
                target = f"transformer.{str(dss.RegControls.Transformer()).lower()}"
                out.setdefault(target, []).append(dss.CktElement.Name())
        return out


def _named(ids: Sequence[str]) -> str:
    more = f" and {len(ids) - _MAX_NAMED} more" if len(ids) > _MAX_NAMED else ""
    return ", ".join(ids[:_MAX_NAMED]) + more


# ------------------------------------------------------------------ building
class _Builder:
    """Turns the circuit read from OpenDSS into the Network's arrays. No I/O."""

    def __init__(self, circuit: _Circuit, crs: str | None, customers_per_kw: float | None):
        self.c = circuit
        self.crs = crs
        self.customers_per_kw = customers_per_kw
        self.warnings = list(circuit.warnings)
        self.node_ids = list(circuit.buses)
        self.node_kv = list(circuit.bus_kv)
        self.node_at: list[int] = list(range(len(self.node_ids)))  # position taken from
        self.bus_pos = {b: i for i, b in enumerate(circuit.buses)}
        self.edge_ids: list[str] = []
        self.edge_kind: list[str] = []
        self.edge_from: list[int] = []
        self.edge_to: list[int] = []
        self.edge_closed: list[bool] = []
        self.edge_length: list[float] = []
        self.edge_props: dict[int, dict[str, Any]] = {}
        # (element key, terminal) -> (edge position, 0 for its from end / 1 for its to end)
        self.ends: dict[tuple[str, int], tuple[int, int]] = {}

    def build(self) -> Network:
        if not self.c.sources:
            raise NetworkFileError(f"{self.c.path}: the circuit has no enabled Vsource")
        lonlat = self._lonlat()
        for element in self.c.elements:
            self._add_element(element)
        placed = self._place(lonlat)
        self._add_devices()
        # Device nodes sit at the bus they hang from.
        xy = placed[np.array(self.node_at, dtype=np.int64)]
        self._check_unique()
        customers = self._customers()
        source = np.zeros(len(self.node_ids), dtype=bool)
        source[[self.bus_pos[b] for b in self.c.sources]] = True
        network = Network(
            node_ids=self.node_ids,
            node_xy=xy,
            node_source=source,
            node_voltage_kv=self.node_kv,
            edge_ids=self.edge_ids,
            edge_kind=self.edge_kind,
            edge_from=self.edge_from,
            edge_to=self.edge_to,
            edge_normal_closed=self.edge_closed,
            edge_length_m=self.edge_length,
            edge_props=self.edge_props,
            customers=customers,
        )
        from topology.validation import structural_warnings

        network.warnings = self.warnings + structural_warnings(network)
        return network

    # ------------------------------------------------------------- coordinates
    def _lonlat(self) -> np.ndarray:
        """Bus positions in WGS84 lon/lat, NaN where OpenDSS has none."""
        xy = self.c.bus_xy.copy()
        have = np.isfinite(xy).all(axis=1)
        if not have.any():
            raise NetworkFileError(
                f"{self.c.path}: no bus has coordinates, and every node of a network file "
                "needs a position; add a BusCoords (or LatLongCoords) file, after the "
                "CalcVoltageBases or MakeBusList that creates the buses"
            )
        if self.crs is not None:
            from pyproj import CRS, Transformer
            from pyproj.exceptions import CRSError

            try:
                source = CRS.from_user_input(self.crs)
            except CRSError as exc:
                raise NetworkFileError(f"unknown CRS {self.crs!r}") from exc
            if source.is_projected and len(xy[have]) >= 3 and not _bad_lonlat(xy[have]).any():
                raise NetworkFileError(
                    f"{self.c.path}: the CRS is {self.crs}, a projected CRS, but every bus "
                    "coordinate lies within +-180, +-90: they look like lon/lat degrees "
                    "(leave --crs out)"
                )
            transformer = Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)
            xy[have, 0], xy[have, 1] = transformer.transform(xy[have, 0], xy[have, 1])
        bad = np.flatnonzero(have & _bad_lonlat(xy))
        if len(bad):
            bus = self.c.buses[bad[0]]
            x, y = self.c.bus_xy[bad[0]]
            hint = (
                f"read in {self.crs}"
                if self.crs
                else "they look projected or local: give their "
                "CRS with --crs (e.g. EPSG:26915, or a PROJ string for local coordinates)"
            )
            raise NetworkFileError(
                f"{self.c.path}: {len(bad)} bus(es) outside the WGS84 lon/lat range, "
                f"first {bus} at ({x:g}, {y:g}); {hint}"
            )
        return xy

    def _place(self, xy: np.ndarray) -> np.ndarray:
        """Buses without coordinates at the mean of placed neighbours, round by round."""
        n_bus = len(self.c.buses)
        full = np.full((len(self.node_ids), 2), np.nan)
        full[:n_bus] = xy
        missing = ~np.isfinite(full).all(axis=1)
        a = np.array(self.edge_from + self.edge_to, dtype=np.int64)
        b = np.array(self.edge_to + self.edge_from, dtype=np.int64)
        while missing.any():
            use = missing[a] & ~missing[b]
            if not use.any():
                break
            total = np.zeros_like(full)
            count = np.zeros(len(full))
            np.add.at(total, a[use], np.nan_to_num(full[b[use]]))
            np.add.at(count, a[use], 1)
            newly = count > 0
            full[newly] = total[newly] / count[newly, None]
            missing &= ~newly
        # Star nodes sit at winding 1's bus.
        for v in range(n_bus, len(self.node_ids)):
            full[v] = full[self.node_at[v]]
        lost = [self.node_ids[v] for v in np.flatnonzero(~np.isfinite(full).all(axis=1))]
        if lost:
            raise NetworkFileError(
                f"{self.c.path}: {len(lost)} bus(es) without coordinates and without a placed "
                f"neighbour: {_named(lost)}; add them to the BusCoords file"
            )
        return full

    # ------------------------------------------------------------- edges
    def _add_node(self, node_id: str, at: int) -> int:
        self.node_ids.append(node_id)
        self.node_kv.append(self.node_kv[at])
        self.node_at.append(at)
        return len(self.node_ids) - 1

    def _add_edge(
        self,
        edge_id: str,
        kind: str,
        a: int,
        b: int,
        *,
        closed: bool = True,
        length: float = 0.0,
        props: dict[str, Any] | None = None,
    ) -> int:
        self.edge_ids.append(edge_id)
        self.edge_kind.append(kind)
        self.edge_from.append(a)
        self.edge_to.append(b)
        self.edge_closed.append(closed)
        self.edge_length.append(length)
        e = len(self.edge_ids) - 1
        if props:
            self.edge_props[e] = props
        return e

    def _add_element(self, element: _Element) -> None:
        key = element.id.lower()
        buses = [self.bus_pos[b] for b in element.buses]
        props: dict[str, Any] = {}
        if key in self.c.regulators:
            props["regulator"] = ";".join(self.c.regulators[key])
        distinct = list(dict.fromkeys(buses))
        if element.cls in _TRANSFORMER_CLASSES and len(distinct) > 2:
            # Three or more buses (a three-winding transformer): a star node at
            # winding 1's bus, and an edge from it to every other bus.
            star = self._add_node(element.id, buses[0])
            edge_of: dict[int, tuple[int, int]] = {}
            for t, v in enumerate(buses, start=1):
                if v in edge_of:
                    continue
                a, b, end = (v, star, 0) if t == 1 else (star, v, 1)
                e = self._add_edge(f"{element.id}-w{t}", "transformer", a, b, props=props)
                edge_of[v] = (e, end)
            for t, v in enumerate(buses, start=1):
                self.ends[(key, t)] = edge_of[v]
            return
        if element.cls == "Line":
            kind = "switch" if element.is_switch else "line"
        elif element.cls in _TRANSFORMER_CLASSES:
            kind = "transformer"
        else:
            kind = "line"  # a series reactor or capacitor: a conductor for switching
        e = self._add_edge(
            element.id, kind, distinct[0], distinct[1], length=element.length_m, props=props
        )
        for t, v in enumerate(buses, start=1):
            self.ends[(key, t)] = (e, 0 if v == distinct[0] else 1)

    def _add_devices(self) -> None:
        """Controls and open points: in series at their terminal, or as a switch line."""
        at_terminal: dict[tuple[str, int], list[_Control]] = {}
        for control in sorted(self.c.controls, key=lambda c: c.id):
            if not control.enabled:
                self.warnings.append(Issue(control.id, "disabled: left out", "warning"))
                continue
            where = (control.element, control.terminal)
            if where not in self.ends:
                self.warnings.append(
                    Issue(
                        control.id,
                        f"acts on terminal {control.terminal} of {control.element or '(nothing)'}"
                        ", which is not a terminal of an imported element: left out",
                        "warning",
                    )
                )
                continue
            at_terminal.setdefault(where, []).append(control)
        for element in self.c.elements:
            self._devices_of(element, at_terminal)

    def _devices_of(
        self, element: _Element, at_terminal: dict[tuple[str, int], list[_Control]]
    ) -> None:
        key = element.id.lower()
        terminals = range(1, len(element.buses) + 1)
        controls = {t: list(at_terminal.get((key, t), [])) for t in terminals}
        # A disabled element is open at every terminal but the last: cut off whole.
        model_open = set(element.open_terminals)
        if not element.enabled:
            model_open |= set(range(1, len(element.buses)))
        if element.is_switch:
            # A Switch=yes line is the device's body in OpenDSS: the first device
            # acting on it takes its place instead of going in series with it.
            first = next((c for t in terminals for c in controls[t]), None)
            if first is not None:
                controls[first.terminal].remove(first)
                e = self.ends[(key, first.terminal)][0]
                self.edge_ids[e] = first.id
                self.edge_kind[e] = first.kind
                self.edge_props[e] = {"element": element.id, "terminal": first.terminal}
                self.edge_closed[e] = not first.normally_open
        for t in terminals:
            e, end = self.ends[(key, t)]
            # Where an enabled device acts, its normal state is the terminal's: a
            # terminal open after a Solve in the script is a simulated trip.
            governed = element.enabled and bool(at_terminal.get((key, t)))
            devices = [(c.id, c.kind, not c.normally_open) for c in controls[t]]
            if t in model_open and not governed:
                if element.is_switch:
                    self.edge_closed[e] = False
                else:
                    devices.append((f"{element.id}-t{t}", "switch", False))
            for device_id, kind, closed in devices:
                ends = self.edge_from if end == 0 else self.edge_to
                current = ends[e]
                node = self._add_node(f"{device_id}-n", self.node_at[current])
                ends[e] = node
                self._add_edge(
                    device_id,
                    kind,
                    current,
                    node,
                    closed=closed,
                    props={"element": element.id, "terminal": t},
                )

    def _check_unique(self) -> None:
        """The ids made here (``-n``, ``-t<k>``, ``-w<k>``) could meet an OpenDSS name."""
        seen: set[str] = set()
        for element_id in self.node_ids + self.edge_ids:
            if element_id in seen:
                raise NetworkFileError(
                    f"{self.c.path}: the id {element_id!r} is made twice (an OpenDSS name "
                    "ends like an id the importer makes: -n, -t<k>, -w<k>); rename the element"
                )
            seen.add(element_id)

    # ------------------------------------------------------------- customers
    def _customers(self) -> Customers:
        ids: list[str] = []
        nodes: list[int] = []
        for load_id, bus, kw, numcust in self.c.loads:
            count = max(1, numcust)
            if self.customers_per_kw is not None and numcust == 1:
                # round() first: 100 kW * 0.2 is 20.000000000000004 in floating point.
                count = max(1, math.ceil(round(kw * self.customers_per_kw, 9)))
            v = self.bus_pos[bus]
            if count == 1:
                ids.append(load_id)
                nodes.append(v)
            else:
                ids.extend(f"{load_id}-{k}" for k in range(1, count + 1))
                nodes.extend([v] * count)
        return Customers(ids=ids, node=np.array(nodes, dtype=np.int64))


def _bad_lonlat(xy: np.ndarray) -> np.ndarray:
    return ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
