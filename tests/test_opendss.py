"""OpenDSS import (topology/opendss.py), checked against OpenDSS's own solution.

The circuits are written here as .dss text. For every operable device of an
imported circuit, the device is operated both in OpenDSS (its switched
terminal opened or closed with OpenDSS's ``Open``/``Close`` commands, or a
disabled tie enabled, then ``Solve``) and in the network (a
``topology.traces.deenergized`` trace); the buses OpenDSS leaves at zero
voltage must be exactly the bus nodes the trace calls de-energized.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topology.exceptions import NetworkFileError
from topology.io import read_network
from topology.traces import deenergized

odd = pytest.importorskip("opendssdirect")

from topology.opendss import from_opendss  # noqa: E402

#: A substation and two feeders. Feeder 1: a relay-tripped breaker (a
#: Switch=yes line), a recloser, a fused single-phase tap to a centre-tap
#: transformer, a plain switch line, a distribution transformer. Feeder 2: a
#: three-winding transformer with a relay on one winding. Three normally open
#: ties: a line opened in the model, a Switch=yes line with a switch control
#: Normal=open, and a disabled line.
FEEDERS = """\
Clear
New Circuit.feeders basekv=115 pu=1.0 bus1=sourcebus phases=3
New Transformer.sub phases=3 windings=2 buses=[sourcebus subbus] conns=[delta wye]
~ kvs=[115 12.47] kvas=[10000 10000] %r=0.5 xhl=8
New Linecode.ohl nphases=3 r1=0.3 x1=0.6 r0=0.6 x0=1.8 units=km
New Linecode.ohl1 nphases=1 r1=0.5 x1=0.7 units=km

! feeder 1
New Line.brk1 bus1=subbus bus2=f1 switch=yes
New Relay.brk1 MonitoredObj=Line.brk1 MonitoredTerm=1
New Line.main1 bus1=f1 bus2=n1 linecode=ohl length=1.2 units=km
New Line.main2 bus1=n1 bus2=n2 linecode=ohl length=0.8 units=km
New Recloser.rc1 MonitoredObj=Line.main2 MonitoredTerm=1
New Line.tap1 bus1=n2.1 bus2=t1.1 phases=1 linecode=ohl1 length=300 units=m
New Fuse.tap1 MonitoredObj=Line.tap1 MonitoredTerm=1 RatedCurrent=65
New Transformer.dt1 phases=1 windings=3 buses=[t1.1 sec1.1.0 sec1.0.2]
~ kvs=[7.2 0.12 0.12] kvas=[25 25 25] conns=[wye wye wye]
New Line.main3 bus1=n2 bus2=n3 linecode=ohl length=2 units=kft
New Line.sw2 bus1=n3 bus2=n4 switch=yes
New Line.main4 bus1=n4 bus2=n5 linecode=ohl length=0.5 units=km
New Transformer.dt2 phases=3 windings=2 buses=[n5 lv5] conns=[delta wye]
~ kvs=[12.47 0.48] kvas=[150 150]

! feeder 2
New Line.brk2 bus1=subbus bus2=g1 switch=yes
New Relay.brk2 MonitoredObj=Line.brk2 MonitoredTerm=1
New Line.g1m1 bus1=g1 bus2=m1 linecode=ohl length=1.5 units=km
New Line.m1m2 bus1=m1 bus2=m2 linecode=ohl length=0.7 units=km
New Transformer.t3w phases=3 windings=3 buses=[m2 mv7 lv7] conns=[wye wye wye]
~ kvs=[12.47 4.16 0.48] kvas=[500 300 200]
New Relay.t3w MonitoredObj=Transformer.t3w MonitoredTerm=3
~ SwitchedObj=Transformer.t3w SwitchedTerm=3

! ties between the feeders
New Line.tie1 bus1=n5 bus2=m2 linecode=ohl length=0.4 units=km
New Line.tie2 bus1=n3 bus2=m1 switch=yes
New SwtControl.tie2 SwitchedObj=Line.tie2 SwitchedTerm=1 Normal=open
New Line.tie3 bus1=n4 bus2=g1 linecode=ohl length=0.9 units=km enabled=no

! loads (n1, n2, n4, f1, g1 have none)
New Load.sec1a bus1=sec1.1 phases=1 kv=0.12 kw=4
New Load.sec1b bus1=sec1.2 phases=1 kv=0.12 kw=6
New Load.lv5 bus1=lv5 phases=3 kv=0.48 kw=120
New Load.n3 bus1=n3 phases=3 kv=12.47 kw=300 numcust=4
New Load.m1 bus1=m1 phases=3 kv=12.47 kw=0
New Load.mv7 bus1=mv7 phases=3 kv=4.16 kw=200
New Load.lv7 bus1=lv7 phases=3 kv=0.48 kw=50

Set VoltageBases=[115 12.47 4.16 0.48 0.208]
CalcVoltageBases
BusCoords coords.csv
Open Line.tie1 1
"""

#: Bus positions (lon, lat); n4 is left out of the coordinates file.
LONLAT = {
    "sourcebus": (-93.2000, 44.9000),
    "subbus": (-93.2001, 44.9000),
    "f1": (-93.2002, 44.9005),
    "n1": (-93.2100, 44.9050),
    "n2": (-93.2200, 44.9100),
    "t1": (-93.2230, 44.9130),
    "sec1": (-93.2232, 44.9131),
    "n3": (-93.2300, 44.9150),
    "n5": (-93.2500, 44.9200),
    "lv5": (-93.2501, 44.9201),
    "g1": (-93.2002, 44.8995),
    "m1": (-93.2200, 44.8900),
    "m2": (-93.2400, 44.8950),
    "mv7": (-93.2401, 44.8951),
    "lv7": (-93.2402, 44.8949),
}

SMALL = """\
Clear
New Circuit.small basekv=12.47 bus1=src
New Line.l1 bus1=src bus2=a length=1 units=km
New Line.l2 bus1=a bus2=b length=1 units=km
New Load.b bus1=b kv=12.47 kw=10
Set VoltageBases=[12.47]
CalcVoltageBases
BusCoords coords.csv
"""


def write_circuit(folder: Path, dss: str, coords: dict[str, tuple[float, float]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "coords.csv").write_text(
        "".join(f"{bus},{x!r},{y!r}\n" for bus, (x, y) in coords.items()), encoding="utf-8"
    )
    master = folder / "Master.dss"
    master.write_text(dss, encoding="utf-8")
    return master


@pytest.fixture
def feeders(tmp_path: Path) -> Path:
    return write_circuit(tmp_path / "feeders", FEEDERS, LONLAT)


# ------------------------------------------------------------------ OpenDSS's own answer
class OpenDSS:
    """The circuit compiled in OpenDSS, devices put in their normal state, controls off."""

    def __init__(self, master: Path) -> None:
        self.dss = odd.NewContext()
        self.dss.Basic.AllowChangeDir(False)
        self.dss.Text.Command(f'compile "{master}"')
        # Devices move only when told: no fuse melts, no recloser trips in a solve.
        self.dss.Text.Command("Set ControlMode=OFF")
        self.buses = set(self.dss.Circuit.AllBusNames())
        for api in (self.dss.Fuses, self.dss.Reclosers, self.dss.Relays, self.dss.SwtControls):
            for name in api.AllNames():
                api.Name(name)
                state = api.NormalState()
                normally_open = (
                    all(s == "open" for s in state) if isinstance(state, list) else state == 1
                )
                verb = "open" if normally_open else "close"
                self.run(f"{verb} {api.SwitchedObj()} {api.SwitchedTerm()}")

    def run(self, command: str) -> None:
        self.dss.Text.Command(command)

    def dead_buses(self) -> set[str]:
        """Buses whose every node is at zero voltage after a solve."""
        self.dss.Solution.Solve()
        assert self.dss.Solution.Converged()
        most: dict[str, float] = {}
        for node, volts in zip(
            self.dss.Circuit.AllNodeNames(), self.dss.Circuit.AllBusVMag(), strict=True
        ):
            bus = node.split(".")[0]
            most[bus] = max(most.get(bus, 0.0), volts)
        return {bus for bus, volts in most.items() if volts < 1.0}

    def operation(self, device: str, state: str) -> tuple[str, str]:
        """OpenDSS commands that put ``device`` in ``state`` and back, read from OpenDSS."""
        cls, name = device.split(".", 1)
        apis = {
            "Fuse": self.dss.Fuses,
            "Recloser": self.dss.Reclosers,
            "Relay": self.dss.Relays,
            "SwtControl": self.dss.SwtControls,
        }
        if cls in apis:
            api = apis[cls]
            api.Name(name)
            target = f"{api.SwitchedObj()} {api.SwitchedTerm()}"
        elif "-t" in name:  # an open point at a terminal of a line
            line, terminal = name.rsplit("-t", 1)
            self.dss.Circuit.SetActiveElement(f"Line.{line}")
            if not self.dss.CktElement.Enabled():
                return f"Line.{line}.enabled=yes", f"Line.{line}.enabled=no"
            target = f"Line.{line} {terminal}"
        else:  # a Switch=yes line
            target = f"{device} 1"
        back = "close" if state == "open" else "open"
        return f"{state} {target}", f"{back} {target}"


def network_dead(net, *, open_=(), close=()) -> set[str]:
    return set(deenergized(net, open=open_, close=close).data["nodes"])


def check_every_device(master: Path, **options) -> dict[str, int]:
    """Operate every operable device alone, from the normal state and with every tie
    closed, in OpenDSS and in the network; both must call the same buses dead."""
    net = from_opendss(master, **options)
    ref = OpenDSS(master)
    buses = ref.buses
    assert network_dead(net) & buses == ref.dead_buses()
    devices = [e for e in range(net.n_edges) if net.operable[e]]
    ties = [net.edge_ids[e] for e in devices if not net.edge_normal_closed[e]]
    counts = {"checked": 0, "deenergizing": 0}
    for closed_ties in ((), tuple(ties)):
        for tie in closed_ties:
            ref.run(ref.operation(tie, "close")[0])
        for e in devices:
            device = net.edge_ids[e]
            if device in closed_ties:
                continue
            state = "open" if net.edge_normal_closed[e] else "close"
            do, undo = ref.operation(device, state)
            ref.run(do)
            expected = ref.dead_buses()
            ref.run(undo)
            if state == "open":
                got = network_dead(net, open_=[device], close=closed_ties)
            else:
                got = network_dead(net, close=[device, *closed_ties])
            assert got & buses == expected, (device, state, closed_ties)
            counts["checked"] += 1
            counts["deenergizing"] += bool(expected)
    return counts


# ------------------------------------------------------------------ mapping
def test_feeders_import_with_every_element_where_it_belongs(feeders: Path) -> None:
    net = from_opendss(feeders)
    kinds = {net.edge_ids[e]: net.kind_of(e) for e in range(net.n_edges)}
    assert kinds == {
        "Transformer.sub": "transformer",
        "Relay.brk1": "breaker",  # in place of the Switch=yes line brk1
        "Line.main1": "line",
        "Line.main2": "line",
        "Line.tap1": "line",
        "Transformer.dt1": "transformer",  # centre tap: windings 2 and 3 on one bus
        "Line.main3": "line",
        "Line.sw2": "switch",
        "Line.main4": "line",
        "Transformer.dt2": "transformer",
        "Relay.brk2": "breaker",
        "Line.g1m1": "line",
        "Line.m1m2": "line",
        "Transformer.t3w-w1": "transformer",
        "Transformer.t3w-w2": "transformer",
        "Transformer.t3w-w3": "transformer",
        "Line.tie1": "line",
        "SwtControl.tie2": "switch",  # in place of the Switch=yes line tie2
        "Line.tie3": "line",
        "Recloser.rc1": "recloser",
        "Fuse.tap1": "fuse",
        "Relay.t3w": "breaker",
        "Line.tie1-t1": "switch",  # opened in the model
        "Line.tie3-t1": "switch",  # disabled
    }
    normally_open = {net.edge_ids[e] for e in np.flatnonzero(~net.edge_normal_closed)}
    assert normally_open == {"Line.tie1-t1", "SwtControl.tie2", "Line.tie3-t1"}
    sources = {net.node_ids[v] for v in np.flatnonzero(net.node_source)}
    assert sources == {"sourcebus"}

    def ends(edge: str) -> tuple[str, str]:
        e = net.edge(edge)
        return net.node_ids[net.edge_from[e]], net.node_ids[net.edge_to[e]]

    # Devices sit in series at the terminal they switch, on a node of their own.
    assert ends("Recloser.rc1") == ("n1", "Recloser.rc1-n")
    assert ends("Line.main2") == ("Recloser.rc1-n", "n2")
    assert ends("Fuse.tap1") == ("n2", "Fuse.tap1-n")
    assert ends("Relay.t3w") == ("lv7", "Relay.t3w-n")
    assert ends("Transformer.t3w-w3") == ("Transformer.t3w", "Relay.t3w-n")
    assert ends("Transformer.t3w-w1") == ("m2", "Transformer.t3w")
    assert ends("Line.tie1-t1") == ("n5", "Line.tie1-t1-n")
    assert ends("Line.tie3") == ("Line.tie3-t1-n", "g1")
    assert ends("Relay.brk1") == ("subbus", "f1")
    props = net.edge_props
    assert props[net.edge("Fuse.tap1")] == {"element": "Line.tap1", "terminal": 1}
    assert props[net.edge("Relay.brk1")] == {"element": "Line.brk1", "terminal": 1}
    assert props[net.edge("Relay.t3w")] == {"element": "Transformer.t3w", "terminal": 3}
    # Lengths from OpenDSS's Length and Units; devices and transformers are zero-length.
    length = dict(zip(net.edge_ids, net.edge_length_m, strict=True))
    assert length["Line.main1"] == pytest.approx(1200.0)
    assert length["Line.main3"] == pytest.approx(609.6)
    assert length["Line.tap1"] == pytest.approx(300.0)
    assert length["Line.sw2"] == length["Fuse.tap1"] == length["Transformer.dt2"] == 0.0
    # Nominal voltages: line-to-line, from the voltage bases.
    kv = dict(zip(net.node_ids, net.node_voltage_kv, strict=True))
    assert kv["n3"] == pytest.approx(12.47) and kv["lv5"] == pytest.approx(0.48)
    assert kv["sec1"] == pytest.approx(0.208) and kv["Fuse.tap1-n"] == pytest.approx(12.47)


def test_positions_come_from_buscoords_and_a_bus_without_takes_its_neighbours_mean(
    feeders: Path,
) -> None:
    net = from_opendss(feeders)
    xy = dict(zip(net.node_ids, map(tuple, net.node_xy), strict=True))
    for bus, position in LONLAT.items():
        assert xy[bus] == pytest.approx(position)
    # n4 is not in coords.csv: its neighbours are n3 (Line.sw2), n5 (Line.main4) and,
    # through the disabled tie (open or closed, it is a conductor between them), g1.
    neighbours = [LONLAT["n3"], LONLAT["n5"], LONLAT["g1"]]
    assert xy["n4"] == pytest.approx(tuple(np.mean(neighbours, axis=0)))
    assert xy["Recloser.rc1-n"] == xy["n1"]
    assert xy["Transformer.t3w"] == xy["m2"]


def test_customers_one_per_load_or_numcust_and_loadless_buses_have_none(feeders: Path) -> None:
    net = from_opendss(feeders)
    assert net.customers is not None
    at = {
        cid: net.node_ids[v] for cid, v in zip(net.customers.ids, net.customers.node, strict=True)
    }
    assert at == {
        "Load.sec1a": "sec1",
        "Load.sec1b": "sec1",
        "Load.lv5": "lv5",
        "Load.n3-1": "n3",
        "Load.n3-2": "n3",
        "Load.n3-3": "n3",
        "Load.n3-4": "n3",
        "Load.m1": "m1",
        "Load.mv7": "mv7",
        "Load.lv7": "lv7",
    }
    count = dict(zip(net.node_ids, net.node_customers.tolist(), strict=True))
    for loadless in ("n1", "n2", "n4", "f1", "g1", "subbus"):
        assert count[loadless] == 0
    # A load-less bus is a node like any other: traces run through it.
    assert deenergized(net, open=["Recloser.rc1"]).data["customers"] == 2 + 1 + 4


def test_customers_per_kw_counts_spot_loads(feeders: Path) -> None:
    net = from_opendss(feeders, customers_per_kw=0.1)
    assert net.customers is not None
    per_load: dict[str, int] = {}
    for cid in net.customers.ids:
        load = cid.rsplit("-", 1)[0]  # Load.n3-2 -> Load.n3 (load names here have no "-")
        per_load[load] = per_load.get(load, 0) + 1
    assert per_load == {
        "Load.sec1a": 1,  # ceil(0.4)
        "Load.sec1b": 1,  # ceil(0.6)
        "Load.lv5": 12,  # 120 kW x 0.1, exactly 12 (not 13 from 12.000000000000002)
        "Load.n3": 4,  # NumCust=4 says how many: kept
        "Load.m1": 1,  # 0 kW is still one connection
        "Load.mv7": 20,
        "Load.lv7": 5,
    }
    assert math.isclose(net.node_customers.sum(), 44)
    with pytest.raises(ValueError, match="customers_per_kw"):
        from_opendss(feeders, customers_per_kw=0)


# ------------------------------------------------------------------ agreement with OpenDSS
def test_every_device_agrees_with_opendss_zero_voltage_buses(feeders: Path) -> None:
    counts = check_every_device(feeders)
    # 9 devices from the normal state (6 opened cut something off, 3 ties closed
    # cut nothing off), then the 6 others with the 3 ties closed: only the fuse and
    # the relay on the transformer's winding still cut buses off (t1 and sec1, lv7).
    assert counts == {"checked": 15, "deenergizing": 8}


def test_a_device_tripped_by_a_solve_in_the_script_keeps_its_normal_state(tmp_path: Path) -> None:
    # The fuse's default rating (1 A) melts in the script's own Solve; its normal
    # state, and the state the network file gets, is still closed.
    master = write_circuit(
        tmp_path,
        SMALL
        + "New Load.big bus1=b kv=12.47 kw=1000\n"
        + "New Fuse.f2 MonitoredObj=Line.l2 MonitoredTerm=1\nSolve\n",
        {"src": (10.0, 50.0), "a": (10.01, 50.0), "b": (10.02, 50.0)},
    )
    probe = odd.NewContext()
    probe.Basic.AllowChangeDir(False)
    probe.Text.Command(f'compile "{master}"')
    probe.Circuit.SetActiveElement("Line.l2")
    assert probe.CktElement.IsOpen(1, 0)  # OpenDSS did trip it
    net = from_opendss(master)
    assert net.edge_normal_closed[net.edge("Fuse.f2")]
    assert network_dead(net) == set()
    assert network_dead(net, open_=["Fuse.f2"]) == {"b", "Fuse.f2-n"}


# ------------------------------------------------------------------ coordinates
def test_projected_coordinates_with_crs(feeders: Path, tmp_path: Path) -> None:
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32615", always_xy=True)
    utm = {bus: to_utm.transform(*lonlat) for bus, lonlat in LONLAT.items()}
    master = write_circuit(tmp_path / "utm", FEEDERS, utm)
    projected = from_opendss(master, crs="EPSG:32615")
    lonlat = from_opendss(feeders)
    assert projected.node_ids == lonlat.node_ids
    np.testing.assert_allclose(projected.node_xy, lonlat.node_xy, atol=1e-7)
    with pytest.raises(NetworkFileError, match=r"outside the WGS84 lon/lat range.*--crs"):
        from_opendss(master)
    with pytest.raises(NetworkFileError, match="look like lon/lat degrees"):
        from_opendss(feeders, crs="EPSG:32615")
    with pytest.raises(NetworkFileError, match="unknown CRS"):
        from_opendss(master, crs="EPSG:0")


def test_local_coordinates_with_a_proj_string(tmp_path: Path) -> None:
    # A schematic in feet around an origin: a local transverse Mercator says where.
    master = write_circuit(
        tmp_path, SMALL, {"src": (0.0, 0.0), "a": (1000.0, 0.0), "b": (1000.0, 500.0)}
    )
    local = "+proj=tmerc +lat_0=45 +lon_0=-93 +k=1 +x_0=0 +y_0=0 +units=us-ft +ellps=WGS84"
    net = from_opendss(master, crs=local)
    assert net.node_xy[net.node("src")] == pytest.approx((-93.0, 45.0))
    assert net.edge_length_m[net.edge("Line.l1")] == 1000.0  # from the line, not the drawing


def test_no_coordinates_at_all_is_an_error_saying_what_to_add(tmp_path: Path) -> None:
    master = write_circuit(tmp_path, SMALL.replace("BusCoords coords.csv\n", ""), {})
    with pytest.raises(NetworkFileError, match=r"no bus has coordinates.*BusCoords"):
        from_opendss(master)


def test_buses_no_placed_bus_reaches_are_named(tmp_path: Path) -> None:
    dss = SMALL + "New Line.far bus1=x bus2=y length=1 units=km\nCalcVoltageBases\n"
    master = write_circuit(tmp_path, dss, {"src": (10.0, 50.0)})
    with pytest.raises(NetworkFileError, match=r"2 bus\(es\) without coordinates.*x, y"):
        from_opendss(master)


# ------------------------------------------------------------------ errors
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match=r"nothere\.dss: no such file"):
        from_opendss(tmp_path / "nothere.dss")


def test_compile_error_names_the_file_and_line_opendss_reports(tmp_path: Path) -> None:
    (tmp_path / "lines.dss").write_text(
        "New Line.l1 bus1=src bus2=a length=1\nNew Line.l2 bus1=a bus2=b lenght=2\n",
        encoding="utf-8",
    )
    master = tmp_path / "Master.dss"
    master.write_text("Clear\nNew Circuit.c bus1=src\nRedirect lines.dss\n", encoding="utf-8")
    with pytest.raises(NetworkFileError) as info:
        from_opendss(master)
    message = str(info.value)
    assert message == (
        f"{tmp_path / 'lines.dss'}, line 2: OpenDSS cannot compile it: "
        'Unknown parameter "lenght" (value "2") for object "Line.l2" '
        f"(from {master}, line 3)"
    )


def test_an_opendss_name_clashing_with_a_made_id_is_an_error(tmp_path: Path) -> None:
    dss = SMALL + "New Line.l2-t1 bus1=a bus2=c length=1 units=km\nOpen Line.l2 1\n"
    coords = {"src": (10.0, 50.0), "a": (10.01, 50.0), "b": (10.02, 50.0), "c": (10.0, 50.1)}
    master = write_circuit(tmp_path, dss + "CalcVoltageBases\nBusCoords coords.csv\n", coords)
    with pytest.raises(NetworkFileError, match=r"the id 'Line\.l2-t1' is made twice"):
        from_opendss(master)


def test_a_file_without_a_circuit_or_a_source(tmp_path: Path) -> None:
    empty = tmp_path / "empty.dss"
    empty.write_text("Clear\n", encoding="utf-8")
    with pytest.raises(NetworkFileError, match="defines no circuit"):
        from_opendss(empty)
    master = write_circuit(
        tmp_path / "nosource",
        SMALL + "Vsource.source.enabled=no\n",
        {"src": (10.0, 50.0), "a": (10.01, 50.0), "b": (10.02, 50.0)},
    )
    with pytest.raises(NetworkFileError, match="no enabled Vsource"):
        from_opendss(master)


# ------------------------------------------------------------------ command line
def test_cli_writes_a_network_and_customers_that_load_back(feeders: Path, tmp_path: Path) -> None:
    from oms.cli import cli

    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "network",
            "import-opendss",
            str(feeders),
            str(out),
            "--customers-per-kw",
            "0.1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["output"] == str(out / "network.geojson")
    assert doc["customers_output"] == str(out / "customers.csv")
    assert (doc["nodes"], doc["edges"], doc["sources"], doc["customers"]) == (22, 24, 1, 44)
    assert sorted(p.name for p in out.iterdir()) == ["customers.csv", "network.geojson"]
    loaded = read_network(out / "network.geojson", customers=out / "customers.csv")
    built = from_opendss(feeders, customers_per_kw=0.1)
    assert loaded.node_ids == built.node_ids and loaded.edge_ids == built.edge_ids
    assert loaded.customers is not None and loaded.customers.ids == built.customers.ids
    np.testing.assert_array_equal(loaded.edge_normal_closed, built.edge_normal_closed)
    assert loaded.edge_props[loaded.edge("Fuse.tap1")] == {"element": "Line.tap1", "terminal": 1}
    assert network_dead(loaded, open_=["Fuse.tap1"]) == network_dead(built, open_=["Fuse.tap1"])


def test_cli_errors_and_help(tmp_path: Path) -> None:
    from oms.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["network", "import-opendss", "--help"])
    assert result.exit_code == 0 and "--customers-per-kw" in result.stdout
    bad = tmp_path / "bad.dss"
    bad.write_text("Clear\nNew Circuit.c bus1=src\nNew Line.l1 bus1=src bus2=a lenght=1\n")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["network", "import-opendss", str(bad), str(out), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"].startswith(f"{bad}, line 3: OpenDSS cannot compile")
    assert not out.exists()  # nothing written
    result = runner.invoke(
        cli, ["network", "import-opendss", str(bad), str(out), "--customers-per-kw", "-1"]
    )
    assert result.exit_code == 2
