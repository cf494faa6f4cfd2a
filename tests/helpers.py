"""Small hand-built networks with known answers, shared by the tests.

Coordinates are laid out on a 100 m grid near (8.4 E, 49.0 N) so lengths
are plausible; ``feature_collection`` turns compact tuples into contract-1
GeoJSON and ``build`` loads that through the real reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from topology import Network, network_from_features

LON0, LAT0 = 8.4, 49.0
DLON, DLAT = 0.00137, 0.0009  # about 100 m each way


def node(nid: str, x: float, y: float, kind: str = "node", **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": nid, "kind": kind, **props},
        "geometry": {"type": "Point", "coordinates": [LON0 + x * DLON, LAT0 + y * DLAT]},
    }


def edge(eid: str, kind: str, a: str, b: str, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": eid, "kind": kind, "from": a, "to": b, **props},
        "geometry": None,
    }


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def two_feeders() -> list[dict[str, Any]]:
    """Two substations, three feeders, a meshed substation and one open tie.

    ::

        S1 =T1,T2= BUS1 -B1- a1 -L1- a2 -R1- a3 -L2- a4 -SW1- a5 -L3- a6 ·TIE1· b3
                      |            |                                          |
                      |            F1- a7 -L4- a8 -X1- a9 (lateral)            L7
                      B3- c1 -L8- c2                                          |
        S2 -B2- b1 -L5- b2 -SW2- b4 -L6- ------------------------------------ b3

    Customers: a1 2, a3 3, a4 4, a5 6, a6 7, a9 5, b1 10, b2 10, b3 4, b4 2, c2 8.
    B1 may carry 60 customers, B2 40.
    """
    return [
        node("S1", 0, 0, "source", name="Substation 1", voltage_kv=110),
        node("BUS1", 1, 0, voltage_kv=10),
        node("a1", 2, 0, customers=2),
        node("a2", 3, 0),
        node("a3", 4, 0, customers=3),
        node("a4", 5, 0, customers=4),
        node("a5", 6, 0, customers=6),
        node("a6", 7, 0, customers=7),
        node("a7", 3, -1),
        node("a8", 3, -2),
        node("a9", 3, -3, customers=5),
        node("c1", 1, 1),
        node("c2", 1, 2, customers=8),
        node("S2", 10, 0, "source", name="Substation 2"),
        node("b1", 9, 1, customers=10),
        node("b2", 9, 2, customers=10),
        node("b4", 8, 2, customers=2),
        node("b3", 8, 1, customers=4),
        edge("T1", "transformer", "S1", "BUS1"),
        edge("T2", "transformer", "S1", "BUS1"),
        edge("B1", "breaker", "BUS1", "a1", scada=True, capacity_customers=60),
        edge("L1", "line", "a1", "a2"),
        edge("R1", "recloser", "a2", "a3", scada=True),
        edge("L2", "line", "a3", "a4"),
        edge("SW1", "switch", "a4", "a5"),
        edge("L3", "line", "a5", "a6"),
        edge("F1", "fuse", "a2", "a7"),
        edge("L4", "line", "a7", "a8"),
        edge("X1", "transformer", "a8", "a9"),
        edge("B3", "breaker", "BUS1", "c1"),
        edge("L8", "cable", "c1", "c2"),
        edge("TIE1", "switch", "a6", "b3", normal_state="open"),
        edge("B2", "breaker", "S2", "b1", scada=True, capacity_customers=40),
        edge("L5", "line", "b1", "b2"),
        edge("SW2", "switch", "b2", "b4"),
        edge("L6", "line", "b4", "b3"),
    ]


def build(features: list[dict[str, Any]]) -> Network:
    return network_from_features(features)


def write(
    tmp_path: Path, features: list[dict[str, Any]], name: str = "net.geojson", **extra: Any
) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({**feature_collection(features), **extra}))
    return path


def random_network(
    seed: int, n: int = 60, extra: int = 4, sources: int = 2, capacity: bool = False
) -> Network:
    """A random tree plus a few extra edges (loops, parallel edges), some open."""
    rng = np.random.default_rng(seed)
    parent = [int(rng.integers(0, i)) for i in range(1, n)]
    frm = list(range(1, n))
    to = parent[:]
    for _ in range(extra):
        a, b = rng.choice(n, 2, replace=False)
        frm.append(int(a))
        to.append(int(b))
    if rng.random() < 0.5:  # a parallel edge
        frm.append(frm[0])
        to.append(to[0])
    m = len(frm)
    kinds = rng.choice(["line", "switch", "fuse", "breaker", "transformer"], m)
    closed = np.ones(m, dtype=bool)
    operable = np.isin(kinds, ["switch", "fuse", "breaker"])
    closed[operable & (rng.random(m) < 0.2)] = False
    src = np.zeros(n, dtype=bool)
    src[rng.choice(n, sources, replace=False)] = True
    return Network(
        node_ids=[f"n{i}" for i in range(n)],
        node_xy=np.c_[rng.random(n), rng.random(n)],
        node_source=src,
        edge_ids=[f"e{i}" for i in range(m)],
        edge_kind=kinds,
        edge_from=frm,
        edge_to=to,
        edge_normal_closed=closed,
        node_customers=rng.integers(0, 5, n),
        edge_capacity=np.where((kinds == "breaker") & capacity, rng.integers(5, 80, m), np.nan),
    )


def customers_csv(features: list[dict[str, Any]], metered: bool = True) -> str:
    """A contract-2 customers file with one row per customer count of each node.

    Ids are ``<node>-<k>``, phones ``+100<node index><k>``; every customer has
    a meter ``M-<id>`` when ``metered``; the first customer at ``a9`` is on
    life support.
    """
    lines = ["id,node,name,phone,meter,critical"]
    nodes = [f for f in features if f["geometry"] is not None]
    for i, f in enumerate(nodes):
        p = f["properties"]
        for k in range(int(p.get("customers", 0))):
            cid = f"{p['id']}-{k + 1}"
            meter = f"M-{cid}" if metered else ""
            critical = "life_support" if cid == "a9-1" else ""
            lines.append(f"{cid},{p['id']},Customer {cid},+100{i:02d}{k:02d},{meter},{critical}")
    return "\n".join(lines) + "\n"


def write_network_files(tmp_path: Path, metered: bool = True) -> tuple[Path, Path]:
    """The two-feeder network and its customers, written to ``tmp_path``."""
    features = two_feeders()
    net_path = write(tmp_path, features)
    cust_path = tmp_path / "customers.csv"
    cust_path.write_text(customers_csv(features, metered))
    return net_path, cust_path


def write_dispatch_files(tmp_path: Path) -> dict[str, Path]:
    """Units, zones and crews for the two-feeder network.

    Zone ``Z-W`` (urban, unit U1) covers the nodes west of x = 7.5 (feeders
    from S1), ``Z-E`` (rural, unit U2) the rest. Crews: K1 (U1, owns Z-W,
    line), K2 (U2, owns Z-E, line), K3 (U1, service only), K4 (U1, night
    shift).
    """

    def box(x0: float, x1: float) -> list[list[float]]:
        y0, y1 = -4, 4
        pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        return [[LON0 + x * DLON, LAT0 + y * DLAT] for x, y in pts]

    zones = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "Z-W", "area_class": "urban", "unit": "U1"},
                "geometry": {"type": "Polygon", "coordinates": [box(-1, 7.5)]},
            },
            {
                "type": "Feature",
                "properties": {"id": "Z-E", "area_class": "rural", "unit": "U2"},
                "geometry": {"type": "Polygon", "coordinates": [box(7.5, 11)]},
            },
        ],
    }
    paths = {
        "units": tmp_path / "units.csv",
        "zones": tmp_path / "zones.geojson",
        "crews": tmp_path / "crews.csv",
    }
    paths["units"].write_text(
        "id,name,first_contact,second_contact,leader\n"
        "U1,West team,+111,+112,+113\nU2,East team,+221,+222,+223\n"
    )
    paths["zones"].write_text(json.dumps(zones))

    def at(x: float, y: float) -> str:
        return f"{LON0 + x * DLON},{LAT0 + y * DLAT}"

    paths["crews"].write_text(
        "id,name,unit,skills,zone,lon,lat,voltage_kv,shift_start,shift_end,phone\n"
        f"K1,West line crew,U1,line;cable,Z-W,{at(1, 0)},0.4;10,07:00,19:00,+1\n"
        f"K2,East line crew,U2,line,Z-E,{at(9, 1)},0.4;10,07:00,19:00,+2\n"
        f"K3,Service crew,U1,service,Z-W,{at(2, 0)},0.4,07:00,19:00,+3\n"
        f"K4,Night crew,U1,line,,{at(1, 1)},0.4;10,20:00,06:00,+4\n"
    )
    return paths


# ------------------------------------------------------ the engine's core, in memory
def batch(core: Any, events: Iterable[dict[str, Any]]) -> None:
    """Apply events to an ``EngineCore`` as one batch, as the facade does:
    apply each, reconcile once, settle."""
    from oms.intake.events import parse_event

    core.begin()
    for obj in events:
        core.apply(parse_event(obj, core.directory))
    core.reconcile()
    core.settle()


def tick(core: Any, when: datetime) -> None:
    """Let an ``EngineCore``'s time pass to ``when`` with no event."""
    core.begin()
    core.advance(when)
    core.reconcile()
    core.settle()


def fuse_clear_of(net: Network, opened: Iterable[str]) -> str:
    """A fuse of ``net`` with customers under it, neither above nor below any
    device of ``opened`` (the devices of open outages): locking it out makes
    an outage of its own."""
    supply = net.supply
    at = [net.edge(d) for d in opened]
    below = {e: set(supply.downstream_edges(e).tolist()) for e in at}
    for e in range(net.n_edges):
        if net.kind_of(e) != "fuse" or not supply.downstream_customers(e):
            continue
        mine = set(supply.downstream_edges(e).tolist())
        if all(e != d and e not in below[d] and d not in mine for d in at):
            return str(net.edge_ids[e])
    raise AssertionError("no fuse clear of the open outages")


def check_figures_of_everything(core: Any, table: Any, placed: Any, at: str) -> int:
    """The oracle of ``update_figures`` (looked at per feeder): every active
    network outage shows the figures a look at every outage and every row
    finds, and none is left predicted with a pinged meter dead. How many
    outages were compared."""
    from oms.engine.figures import figures_of, row_flags
    from oms.engine.switching import held_figures

    pos_of = placed.pos_of
    live = [o for o in core.outages.active("network") if o.id in pos_of]
    held = held_figures(core, pos_of)
    found = figures_of(core, table.nodes, row_flags(core, table), live, pos_of, held)
    for o, (figures, pinged) in zip(live, found, strict=True):
        shown = (o.customers_out, o.critical_out, o.calls, o.hazard, o.section)
        assert shown == figures, f"{o.id} {at}"
        assert not (pinged and o.state == "predicted"), f"{o.id} {at}"
    return len(live)
