"""CIM import (topology/cim.py): CIM RDF/XML documents written here, imported, traced.

The documents are written the way CIMHub and GridAPPS-D write them (objects
keyed ``rdf:about="urn:uuid:..."`` in CIM100, or ``rdf:ID="_..."`` with
``#_...`` references in the older cim16/cim17 files), by :class:`CimDoc`.
The feeder's consumers each name, by hand, the devices the XML puts above
them; the downstream trace of every device must give exactly the customers
of the consumers that name it.
"""

from __future__ import annotations

import collections
import json
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
from click.testing import CliRunner

from topology.cim import from_cim
from topology.exceptions import NetworkFileError
from topology.io import read_network
from topology.model import EDGE_KINDS
from topology.traces import deenergized, downstream

pytest.importorskip("rdflib")

NAMESPACES = {
    "CIM100": "http://iec.ch/TC57/CIM100#",
    "cim17": "http://iec.ch/TC57/2012/CIM-schema-cim17#",
    "cim16": "http://iec.ch/TC57/2012/CIM-schema-cim16#",
}


def mrid(name: str) -> str:
    """A stable mRID for a name used in the test documents."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"oms-test:{name}")).upper()


class CimDoc:
    """Writes a CIM RDF/XML document, one object at a time.

    Parameters
    ----------
    version : str
        A key of :data:`NAMESPACES`. CIM100 documents key objects by
        ``rdf:about="urn:uuid:<mRID>"``; the others by ``rdf:ID="_<mRID>"``.
    """

    def __init__(self, version: str = "CIM100", crs_urn: str | None = "EPSG:4326") -> None:
        self.version = version
        self.parts: list[str] = []
        self.nodes_made: set[str] = set()
        self.crs = None
        if crs_urn is not None:
            self.crs = "cs"
            self.obj("CoordinateSystem", "cs", {"CoordinateSystem.crsUrn": crs_urn})

    def ref(self, name: str) -> str:
        return f"urn:uuid:{mrid(name)}" if self.version == "CIM100" else f"#_{mrid(name)}"

    def obj(
        self,
        cls: str,
        name: str,
        values: dict[str, object] | None = None,
        refs: dict[str, str] | None = None,
        *,
        key: str | None = None,
    ) -> None:
        key = mrid(name) if key is None else key
        head = f'rdf:about="urn:uuid:{key}"' if self.version == "CIM100" else f'rdf:ID="_{key}"'
        lines = [f"<cim:{cls} {head}>"]
        lines.append(f"  <cim:IdentifiedObject.mRID>{key}</cim:IdentifiedObject.mRID>")
        lines.append(f"  <cim:IdentifiedObject.name>{escape(name)}</cim:IdentifiedObject.name>")
        for prop, value in (values or {}).items():
            lines.append(f"  <cim:{prop}>{escape(str(value))}</cim:{prop}>")
        for prop, target in (refs or {}).items():
            lines.append(f'  <cim:{prop} rdf:resource="{self.ref(target)}"/>')
        lines.append(f"</cim:{cls}>")
        self.parts.append("\n".join(lines))

    def location(self, name: str, points: list[tuple[float, float]], cls: str = "Location") -> str:
        loc = f"{name}_Loc"
        self.obj(cls, loc, refs={"Location.CoordinateSystem": self.crs} if self.crs else {})
        for k, (x, y) in enumerate(points, start=1):
            self.obj(
                "PositionPoint",
                f"{loc}_P{k}",
                {
                    "PositionPoint.sequenceNumber": k,
                    "PositionPoint.xPosition": x,
                    "PositionPoint.yPosition": y,
                },
                {"PositionPoint.Location": loc},
            )
        return loc

    def equipment(
        self,
        cls: str,
        name: str,
        nodes: list[str | None],
        points: list[tuple[float, float]] | None = None,
        values: dict[str, object] | None = None,
        refs: dict[str, str] | None = None,
    ) -> None:
        refs = dict(refs or {})
        if points:
            refs["PowerSystemResource.Location"] = self.location(name, points)
        self.obj(cls, name, values, refs)
        for k, node in enumerate(nodes, start=1):
            self.terminal(f"{name}_T{k}", name, k, node)

    def terminal(self, name: str, equipment: str, seq: int, node: str | None) -> None:
        refs = {"Terminal.ConductingEquipment": equipment}
        if node is not None:
            if node not in self.nodes_made:
                self.nodes_made.add(node)
                self.obj("ConnectivityNode", node)
            refs["Terminal.ConnectivityNode"] = node
        self.obj("Terminal", name, {"ACDCTerminal.sequenceNumber": seq}, refs)

    def text(self) -> str:
        ns = NAMESPACES[self.version]
        body = "\n".join(self.parts)
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<rdf:RDF xmlns:cim="{ns}" '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            f"{body}\n</rdf:RDF>\n"
        )

    def write(self, path: Path) -> Path:
        path.write_text(self.text(), encoding="utf-8")
        return path


#: Node positions (lon, lat). N8 has none: nothing there has a Location.
XY = {
    "S": (-93.2000, 44.9000),
    "B": (-93.2010, 44.9000),
    "N1": (-93.2100, 44.9050),
    "R": (-93.2110, 44.9050),
    "N2": (-93.2200, 44.9100),
    "F": (-93.2210, 44.9100),
    "N3": (-93.2250, 44.9130),
    "LV3": (-93.2252, 44.9131),
    "N4": (-93.2300, 44.9150),
    "N5": (-93.2050, 44.9100),
    "B2": (-93.2010, 44.8990),
    "N6": (-93.2300, 44.8950),
    "N7": (-93.2310, 44.8950),
    "M7": (-93.2350, 44.8940),
    "L7": (-93.2350, 44.8960),
}
#: Service locations of c3's two usage points.
SERVICE = {"up3a": (-93.2254, 44.9133), "up3b": (-93.2250, 44.9129)}
#: Each consumer: (node, customerCount or None, usage points, the devices above it).
CONSUMERS = {
    "c3": ("LV3", None, ["up3a", "up3b"], ["brk1", "rec1", "fuse1", "xf3"]),
    "c4": ("N4", 3, [], ["brk1", "rec1"]),
    "c5": ("N5", None, [], ["brk1"]),
    "c8": ("N8", None, [], ["brk1", "d8"]),
    "c6": ("N6", None, [], ["brk2"]),
    "c7m": ("M7", None, [], ["brk2", "sect7", "t7-w2"]),
    "c7l": ("L7", None, [], ["brk2", "sect7", "t7-w3"]),
}


def at(*nodes: str) -> list[tuple[float, float]]:
    return [XY[n] for n in nodes]


def feeder_doc(version: str = "CIM100") -> CimDoc:
    """Two feeders from one source, a normally open tie between them.

    Feeder 1: breaker brk1, line L1 (drawn with a bend), recloser rec1, line
    L2, fuse fuse1, cable L3, transformer xf3 (PowerTransformerEnds) to c3
    (two usage points); line L4 to c4 (customerCount 3); line L5 to c5, a
    disconnector d8 (no Location) to c8. Feeder 2: breaker brk2, line L6 to
    c6, sectionaliser sect7, three-winding transformer t7 (a TransformerTank
    with TransformerTankEnds) to c7m and c7l. Tie: load-break switch tie,
    normally open, N4-N6.
    """
    d = CimDoc(version)
    bv = {"12.47": 12470, "0.24": 240, "4.16": 4160}
    for kv, volts in bv.items():
        d.obj("BaseVoltage", f"BV{kv}", {"BaseVoltage.nominalVoltage": volts})
    mv = {"ConductingEquipment.BaseVoltage": "BV12.47"}
    d.equipment("EnergySource", "src", ["S"], at("S"), refs=mv)
    d.equipment("Breaker", "brk1", ["S", "B"], at("S", "B"), {"Switch.normalOpen": "false"}, mv)
    d.equipment(
        "ACLineSegment",
        "L1",
        ["B", "N1"],
        [XY["B"], (-93.2050, 44.9030), XY["N1"]],
        {"Conductor.length": 1200},
        mv,
    )
    d.equipment("Recloser", "rec1", ["N1", "R"], at("N1", "R"), {"Switch.normalOpen": "false"})
    d.equipment("ACLineSegment", "L2", ["R", "N2"], at("R", "N2"), {"Conductor.length": 900})
    d.equipment("Fuse", "fuse1", ["N2", "F"], at("N2", "F"), {"Switch.normalOpen": "false"})
    d.equipment("ACLineSegment", "L3", ["F", "N3"], at("F", "N3"), {"Conductor.length": 400})
    d.obj("TapeShieldCableInfo", "ts1")
    d.obj(
        "ACLineSegmentPhase",
        "L3_A",
        refs={"ACLineSegmentPhase.ACLineSegment": "L3", "ACLineSegmentPhase.WireInfo": "ts1"},
    )
    d.equipment("PowerTransformer", "xf3", ["N3", "LV3"], at("N3", "LV3"))
    for k, kv in ((1, "12.47"), (2, "0.24")):
        d.obj(
            "PowerTransformerEnd",
            f"xf3_End_{k}",
            {"TransformerEnd.endNumber": k},
            {
                "PowerTransformerEnd.PowerTransformer": "xf3",
                "TransformerEnd.Terminal": f"xf3_T{k}",
                "TransformerEnd.BaseVoltage": f"BV{kv}",
            },
        )
    d.equipment("ACLineSegment", "L4", ["N2", "N4"], at("N2", "N4"), {"Conductor.length": 1100})
    d.equipment("ACLineSegment", "L5", ["N1", "N5"], at("N1", "N5"))
    d.equipment("Disconnector", "d8", ["N5", "N8"], None, {"Switch.normalOpen": "false"})
    d.equipment(
        "LoadBreakSwitch", "tie", ["N4", "N6"], at("N4", "N6"), {"Switch.normalOpen": "true"}
    )
    d.equipment("Breaker", "brk2", ["S", "B2"], at("S", "B2"), {"Switch.normalOpen": "false"})
    d.equipment("ACLineSegment", "L6", ["B2", "N6"], at("B2", "N6"), {"Conductor.length": 2500})
    d.equipment(
        "Sectionaliser", "sect7", ["N6", "N7"], at("N6", "N7"), {"Switch.normalOpen": "false"}
    )
    # As CIMHub writes a tank: the terminals name the PowerTransformer.
    d.equipment("PowerTransformer", "t7", ["N7", "M7", "L7"], at("N7", "M7", "L7"))
    d.obj("TransformerTank", "t7_tank", refs={"TransformerTank.PowerTransformer": "t7"})
    for k, kv in ((1, "12.47"), (2, "4.16"), (3, "0.24")):
        d.obj(
            "TransformerTankEnd",
            f"t7_End_{k}",
            {"TransformerEnd.endNumber": k},
            {
                "TransformerTankEnd.TransformerTank": "t7_tank",
                "TransformerEnd.Terminal": f"t7_T{k}",
                "TransformerEnd.BaseVoltage": f"BV{kv}",
            },
        )
    d.equipment("LinearShuntCompensator", "cap2", ["N2"], at("N2"))  # a shunt: not an edge
    for name, (node, count, usage, _above) in CONSUMERS.items():
        values: dict[str, object] = {}
        if count is not None:
            values["EnergyConsumer.customerCount"] = count
        points = None if node == "N8" else at(node)
        d.equipment("EnergyConsumer", name, [node], points, values)
        for up in usage:
            loc = d.location(up, [SERVICE[up]], cls="ServiceLocation")
            d.obj(
                "UsagePoint",
                up,
                refs={"UsagePoint.ServiceLocation": loc, "UsagePoint.Equipments": name},
            )
    return d


def customer_ids(name: str) -> set[str]:
    _node, count, usage, _above = CONSUMERS[name]
    if usage:
        return {mrid(up) for up in usage}
    if count:
        return {f"{mrid(name)}-{k}" for k in range(1, count + 1)}
    return {mrid(name)}


def edge_id(name: str) -> str:
    """The network id of a device: its mRID (star edges: ``<mRID>-w<k>``)."""
    base, _, winding = name.partition("-")
    return mrid(base) + (f"-{winding}" if winding else "")


@pytest.fixture
def feeder(tmp_path: Path) -> Path:
    return feeder_doc().write(tmp_path / "feeder.xml")


def kinds(net) -> dict[str, int]:
    return dict(collections.Counter(EDGE_KINDS[k] for k in net.edge_kind))


def customers_below(net, device: str) -> set[str]:
    nodes = {net.node_index[n] for n in downstream(net, device).data["nodes"]}
    assert net.customers is not None
    return {cid for cid, v in zip(net.customers.ids, net.customers.node, strict=True) if v in nodes}


# ------------------------------------------------------------------ what maps to what
def test_counts_kinds_states_and_ids(feeder: Path) -> None:
    net = from_cim(feeder)
    # 16 connectivity nodes and t7's star node; 6 conductors, 7 switches, 4 transformer edges.
    assert (net.n_nodes, net.n_edges) == (17, 17)
    assert kinds(net) == {
        "breaker": 2,
        "recloser": 1,
        "fuse": 1,
        "sectionalizer": 1,
        "switch": 2,
        "line": 5,
        "cable": 1,
        "transformer": 4,
    }
    assert [net.node_ids[v] for v in np.flatnonzero(net.node_source)] == [mrid("S")]
    opened = {net.edge_ids[e] for e in np.flatnonzero(~net.edge_normal_closed)}
    assert opened == {mrid("tie")}
    # Ids are mRIDs; names and the CIM class are kept.
    e = net.edge(mrid("d8"))
    assert net.edge_name[e] == "d8" and net.edge_props[e] == {"cim_class": "Disconnector"}
    assert net.node_name[net.node_index[mrid("N4")]] == "N4"
    star = net.node_index[mrid("t7")]
    assert {
        net.edge_ids[e] for e in range(net.n_edges) if star in (net.edge_from[e], net.edge_to[e])
    } == {f"{mrid('t7')}-w{k}" for k in (1, 2, 3)}
    assert net.warnings == []  # radial, every node reached


def test_customers_one_per_usage_point_or_customer_count(feeder: Path) -> None:
    net = from_cim(feeder)
    assert net.customers is not None
    expected = set().union(*(customer_ids(c) for c in CONSUMERS))
    assert set(net.customers.ids) == expected and len(net.customers) == 10
    for name, (node, *_rest) in CONSUMERS.items():
        for cid in customer_ids(name):
            i = net.customers.index[cid]
            assert net.node_ids[net.customers.node[i]] == mrid(node)
    # Usage points: the ServiceLocation's position is the customer's lon/lat.
    for up, (lon, lat) in SERVICE.items():
        i = net.customers.index[mrid(up)]
        assert (net.customers.get("lon", i), net.customers.get("lat", i)) == (lon, lat)
        assert net.customers.get("name", i) == up
    i = net.customers.index[mrid("c5")]
    assert net.customers.get("lon", i) is None and net.customers.get("name", i) == "c5"


def test_positions_lengths_routes_and_voltages(feeder: Path) -> None:
    net = from_cim(feeder)
    for node, xy in XY.items():
        np.testing.assert_allclose(net.node_xy[net.node_index[mrid(node)]], xy, atol=1e-9)
    # N8 has no point of its own: placed at its placed neighbour, N5.
    np.testing.assert_allclose(net.node_xy[net.node_index[mrid("N8")]], XY["N5"])
    np.testing.assert_allclose(net.node_xy[net.node_index[mrid("t7")]], XY["N7"])
    e = net.edge(mrid("L1"))
    assert net.edge_length_m[e] == 1200.0
    route = net.geom_coords[net.geom_offsets[e] : net.geom_offsets[e + 1]]
    np.testing.assert_allclose(route, [XY["B"], (-93.2050, 44.9030), XY["N1"]])
    # L5 has no Conductor.length: measured geodesically; devices have length 0.
    from pyproj import Geod

    *_, metres = Geod(ellps="WGS84").inv(*XY["N1"], *XY["N5"])
    assert net.edge_length_m[net.edge(mrid("L5"))] == pytest.approx(metres)
    assert net.edge_length_m[net.edge(mrid("fuse1"))] == 0.0
    kv = {n: net.node_voltage_kv[net.node_index[mrid(n)]] for n in ("S", "LV3", "M7", "L7")}
    assert kv == {"S": 12.47, "LV3": 0.24, "M7": 4.16, "L7": 0.24}


# ------------------------------------------------------------------ traces agree with the model
@pytest.mark.parametrize("version", ["CIM100", "cim17", "cim16"])
def test_downstream_of_every_device_is_what_the_model_puts_below_it(
    version: str, tmp_path: Path
) -> None:
    net = from_cim(feeder_doc(version).write(tmp_path / f"{version}.xml"))
    devices = {d for *_, above in CONSUMERS.values() for d in above}
    assert len(devices) == 9
    for device in sorted(devices):
        expected = set().union(
            *(customer_ids(c) for c, (*_, above) in CONSUMERS.items() if device in above)
        )
        assert customers_below(net, edge_id(device)) == expected, device


def test_the_normally_open_tie_backs_up_feeder_2(feeder: Path) -> None:
    net = from_cim(feeder)
    dead = set(deenergized(net, open=[mrid("brk2")]).data["nodes"])
    assert dead == {mrid(n) for n in ("B2", "N6", "N7", "t7", "M7", "L7")}
    assert deenergized(net, open=[mrid("brk2")], close=[mrid("tie")]).data["nodes"] == []


# ------------------------------------------------------------------ coordinates
def projected_doc(crs_urn: str | None) -> CimDoc:
    """A source, a line and a consumer with UTM zone 15N coordinates."""
    d = CimDoc(crs_urn=crs_urn)
    d.equipment("EnergySource", "src", ["a"], [(480000.0, 4970000.0)])
    d.equipment("ACLineSegment", "l1", ["a", "b"], [(480000.0, 4970000.0), (481000.0, 4970000.0)])
    d.equipment("EnergyConsumer", "c1", ["b"], [(481000.0, 4970000.0)])
    return d


def test_projected_coordinates_from_crs_urn_or_crs_option(tmp_path: Path) -> None:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(26915, 4326, always_xy=True).transform(481000.0, 4970000.0)
    by_urn = from_cim(projected_doc("urn:ogc:def:crs:EPSG::26915").write(tmp_path / "u.xml"))
    bare = projected_doc(None).write(tmp_path / "b.xml")
    by_option = from_cim(bare, crs="EPSG:26915")
    for net in (by_urn, by_option):
        np.testing.assert_allclose(net.node_xy[net.node_index[mrid("b")]], (lon, lat))
        assert 999 < net.edge_length_m[0] < 1001  # geodesic: no Conductor.length
    with pytest.raises(NetworkFileError, match=r"outside the WGS84 lon/lat range.*--crs"):
        from_cim(bare)
    local = projected_doc("OpenDSSLocalBusCoordinates").write(tmp_path / "l.xml")
    with pytest.raises(NetworkFileError, match="crsUrn 'OpenDSSLocalBusCoordinates' names no CRS"):
        from_cim(local)
    with pytest.raises(NetworkFileError, match="unknown CRS"):
        from_cim(bare, crs="EPSG:99999999")


# ------------------------------------------------------------------ errors and warnings
def small(extra=None) -> CimDoc:
    d = CimDoc()
    d.equipment("EnergySource", "src", ["a"], [(-93.0, 45.0)])
    d.equipment("ACLineSegment", "l1", ["a", "b"], [(-93.0, 45.0), (-93.01, 45.0)])
    if extra:
        extra(d)
    return d


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            lambda d: d.equipment("Fuse", "f1", ["b"], [(-93.01, 45.0)]),
            r"Fuse \S+ \('f1'\) has 1 terminal\(s\); a fuse needs 2",
        ),
        (
            lambda d: d.equipment("Breaker", "k1", ["b", None], [(-93.01, 45.0)]),
            r"Terminal \S+ of Breaker \S+ \('k1'\) is on no ConnectivityNode",
        ),
        (
            lambda d: d.obj(
                "PositionPoint", "bad", {"PositionPoint.xPosition": "east"}, key=mrid("p")
            ),
            r"PositionPoint \S+: xPosition 'east', yPosition None are not numbers",
        ),
        (
            # A line written with the URI of node b: one RDF resource, two classes.
            lambda d: d.equipment("ACLineSegment", "b", ["b", "c"], [(-93.01, 45.0)] * 2),
            r"\S+ \('b'\) is declared both a ACLineSegment and a ConnectivityNode",
        ),
    ],
    ids=["one-terminal fuse", "terminal on no node", "bad position", "mRID twice"],
)
def test_bad_models_are_errors_naming_the_element(tmp_path: Path, extra, message) -> None:
    path = small(extra).write(tmp_path / "bad.xml")
    with pytest.raises(NetworkFileError, match=message):
        from_cim(path)


def test_missing_file_not_xml_no_cim_no_source(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match="no such file"):
        from_cim(tmp_path / "none.xml")
    junk = tmp_path / "junk.xml"
    junk.write_text("<rdf:RDF>not closed", encoding="utf-8")
    with pytest.raises(NetworkFileError, match=r"junk\.xml: not CIM RDF/XML"):
        from_cim(junk)
    other = tmp_path / "other.xml"
    other.write_text(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:x="http://example.org/x#"><x:Thing rdf:about="urn:a"/></rdf:RDF>',
        encoding="utf-8",
    )
    with pytest.raises(NetworkFileError, match="no object of a CIM class"):
        from_cim(other)
    d = CimDoc()
    d.equipment("ACLineSegment", "l1", ["a", "b"], [(-93.0, 45.0), (-93.01, 45.0)])
    with pytest.raises(NetworkFileError, match="no in-service EnergySource"):
        from_cim(d.write(tmp_path / "nosource.xml"))


def test_warnings_for_what_is_left_out(tmp_path: Path) -> None:
    def extra(d: CimDoc) -> None:
        d.equipment("LoadBreakSwitch", "s1", ["b", "c"], [(-93.01, 45.0), (-93.02, 45.0)])
        d.equipment(
            "ACLineSegment",
            "gone",
            ["c", "e"],
            [(-93.02, 45.0), (-93.03, 45.0)],
            {"Equipment.normallyInService": "false"},
        )
        d.equipment("EquivalentBranch", "eq1", ["c", "e"], [(-93.02, 45.0), (-93.03, 45.0)])
        d.equipment("EnergyConsumer", "ce", ["e"], [(-93.03, 45.0)])

    net = from_cim(small(extra).write(tmp_path / "w.xml"))
    messages = [str(w) for w in net.warnings]
    assert any("1 switch(es) without Switch.normalOpen, imported closed" in m for m in messages)
    assert any("('gone') is not normally in service: left out" in m for m in messages)
    assert any("1 CIM EquivalentBranch object(s) joining nodes not imported" in m for m in messages)
    assert any("no source can reach" in m for m in messages)  # e, behind the left-out line
    assert net.edge_closed[net.edge(mrid("s1"))]


# ------------------------------------------------------------------ command line
def test_cli_writes_a_network_and_customers_that_load_back(feeder: Path, tmp_path: Path) -> None:
    from oms.cli import cli

    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["network", "import-cim", str(feeder), str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["nodes"], doc["edges"], doc["sources"], doc["customers"]) == (17, 17, 1, 10)
    assert sorted(p.name for p in out.iterdir()) == ["customers.csv", "network.geojson"]
    loaded = read_network(out / "network.geojson", customers=out / "customers.csv")
    built = from_cim(feeder)
    assert loaded.node_ids == built.node_ids and loaded.edge_ids == built.edge_ids
    assert loaded.customers is not None and built.customers is not None
    assert loaded.customers.ids == built.customers.ids
    np.testing.assert_array_equal(loaded.edge_normal_closed, built.edge_normal_closed)
    assert customers_below(loaded, mrid("rec1")) == customers_below(built, mrid("rec1"))


def test_cli_errors_write_nothing(tmp_path: Path) -> None:
    from oms.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["network", "import-cim", "--help"])
    assert result.exit_code == 0 and "--crs" in result.stdout
    bare = projected_doc(None).write(tmp_path / "utm.xml")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["network", "import-cim", str(bare), str(out), "--json"])
    assert result.exit_code == 1
    assert "outside the WGS84 lon/lat range" in json.loads(result.stdout)["error"]
    assert not out.exists()
    result = runner.invoke(
        cli, ["network", "import-cim", str(bare), str(out), "--crs", "EPSG:26915"]
    )
    assert result.exit_code == 0 and "1 customers" in result.stdout
