"""Builds the demo data set shipped in ``fixtures/demo`` (``docs/demo-network.md``).

The network comes from :mod:`topology.synthetic` (the roads of the
fictional county town of Qingshui and the feeders strung along them); what
makes it a data set for outage management is made here: the customers at
the service points (names, unique phone numbers, addresses, meters,
accounts, about 1 % critical, each critical customer with an emergency
plan), the response zones with their area classes, the repair units and
their crews. :func:`write_demo` writes the six files;

    python -m oms.demo_build fixtures/demo

regenerates the shipped fixtures (and prints their figures as JSON). The
result depends only on the seed: one random generator feeds every step, in
a fixed order, so the same seed gives byte-identical files (same numpy and
Python versions). The emergency plans draw from a second generator made
from the same seed, so that adding them changed nothing else in the files.
:mod:`oms.demodata` knows where the shipped files are.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topology.model import EDGE_KINDS, Customers, Network
from topology.synthetic.demo_network import DemoNetworkBuilder, ServicePoint
from topology.synthetic.geometry import DEMO_CENTER, EARTH_R, polar, to_lonlat
from topology.synthetic.roads import TOWN, Roads, make_roads, roads_geojson

__all__ = ["DemoArea", "demo_area", "main", "write_demo"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SURNAMES = _words(
    "Wang Li Zhang Liu Chen Yang Zhao Huang Zhou Wu Xu Sun Hu Zhu Gao Lin He Guo Ma Luo "
    "Liang Song Zheng Xie Han Tang Feng Yu Dong Xiao Cheng Cao Yuan Deng Fu Shen Zeng Peng "
    "Lu Su Jiang Cai Jia Ding Wei Xue Ye Yan Pan Du Dai Xia Zhong Tian Ren Fan Fang Shi Yao"
)
_GIVEN = _words(
    "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Juan Tao Ming Chao Xiulan Xia "
    "Ping Gang Guiying Hua Jian Hui Xin Yu Hao Lin Bo Rui Lan Qing Jiahui Zihan Haoran Yuxuan "
    "Shuang Dan Kai Peng Xiaoming Guoqiang Jianguo Fenglan Yumei Chunhua Zhiqiang Wenjing "
    "Hong Bin Feng Ning Yun Ting Chen Xue"
)
_SHOPS = (
    "Supermarket",
    "Noodle House",
    "Pharmacy",
    "Hardware Store",
    "Mobile Phone Shop",
    "Bakery",
    "Tea House",
    "Barber Shop",
    "Hotpot Restaurant",
    "Stationery Shop",
    "Clinic",
    "Bank Branch",
)
_MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 "
    "176 177 178 180 181 182 183 185 186 187 188 189"
)
# Columns of a customer row while the data set is made (contract 2, with
# ``node`` as a node number and the position in local metres).
_CUSTOMER_COLUMNS = (
    "id",
    "node",
    "name",
    "phone",
    "address",
    "x",
    "y",
    "meter",
    "account",
    "critical",
)
_CREW_COLUMNS = (
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
)
_UNIT_COLUMNS = ("id", "name", "first_contact", "second_contact", "leader")

#: A response zone: id, name, area class, unit, polygon (shapely, local metres).
Zone = tuple[str, str, str, str, Any]


# ------------------------------------------------------------------ people
class _People:
    """Unique fictional names, phone numbers, meter and account numbers."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.phones: set[str] = set()
        self.meters: set[str] = set()
        self.accounts: set[str] = set()

    def name(self) -> str:
        rng = self.rng
        given = _GIVEN[int(rng.integers(len(_GIVEN)))]
        if rng.random() < 0.35:
            given += _GIVEN[int(rng.integers(len(_GIVEN)))].lower()
        return f"{_SURNAMES[int(rng.integers(len(_SURNAMES)))]} {given}"

    def _unique(self, pool: set[str], make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in pool:
                pool.add(value)
                return value

    def phone(self, landline: bool = False) -> str:
        """E.164 number: a mobile, or a landline of the (fictional) local area code."""
        rng = self.rng
        if landline:
            return self._unique(self.phones, lambda: f"+86539{rng.integers(2000000, 8999999)}")
        return self._unique(
            self.phones,
            lambda: (
                "+86"
                + _MOBILE_PREFIXES[int(rng.integers(len(_MOBILE_PREFIXES)))]
                + f"{int(rng.integers(0, 100_000_000)):08d}"
            ),
        )

    def meter(self) -> str:
        return self._unique(self.meters, lambda: f"M{int(self.rng.integers(10**9, 10**10))}")

    def account(self) -> str:
        return self._unique(self.accounts, lambda: f"53{int(self.rng.integers(10**7, 10**8))}")


# --------------------------------------------------------------- customers
class _Register:
    """Customer rows under construction, by column (:data:`_CUSTOMER_COLUMNS`)."""

    def __init__(self, people: _People, rng: np.random.Generator) -> None:
        self.people = people
        self.rng = rng
        self.rows: dict[str, list[Any]] = {k: [] for k in _CUSTOMER_COLUMNS}
        self.house_no: dict[str, list[int]] = {}

    def address(self, sp: ServicePoint) -> str:
        """The next house number on the service point's road and side (odd
        on one side, even on the other)."""
        numbers = self.house_no.setdefault(sp.road, [1, 2])
        side = 0 if sp.side > 0 else 1
        no = numbers[side]
        numbers[side] += 2
        place = TOWN if sp.area in ("urban", "suburb") else f"{TOWN} County"
        return f"{no} {sp.road}, {place}"

    def add(
        self, sp: ServicePoint, name: str, addr: str, landline: bool, critical: str = ""
    ) -> None:
        """A customer at ``sp``, a few metres from it."""
        rows, people = self.rows, self.people
        k = len(rows["id"]) + 1
        rows["id"].append(f"C{k:05d}")
        rows["node"].append(sp.node)
        rows["name"].append(name)
        rows["phone"].append(people.phone(landline))
        rows["address"].append(addr)
        jitter = self.rng.uniform(-6.0, 6.0, 2)
        rows["x"].append(float(sp.xy[0] + jitter[0]))
        rows["y"].append(float(sp.xy[1] + jitter[1]))
        rows["meter"].append(people.meter())
        rows["account"].append(people.account())
        rows["critical"].append(critical)


def _customers(
    builder: DemoNetworkBuilder, people: _People, rng: np.random.Generator
) -> dict[str, list[Any]]:
    """Individual customers at the service points, with ~1 % critical.

    A service point is a house (one customer; in villages sometimes two),
    a shop, or in town an apartment block (6-24 flats); the landmarks
    (:func:`_landmarks`) are critical, and 0.8 % of households at random
    are on life support. Returns the columns of contract 2 (``node`` as
    positions), in local metres.
    """
    register = _Register(people, rng)
    special = _landmarks(builder)
    for i, sp in enumerate(builder.service_points):
        if i in special:
            name, reason = special[i]
            register.add(sp, name, register.address(sp), True, reason)
            continue
        addr = register.address(sp)
        r = rng.random()
        if sp.area in ("urban", "suburb") and r < (0.035 if sp.area == "urban" else 0.05):
            n_flats = int(rng.integers(6, 25))
            building = addr
            for flat in range(n_flats):
                floor, unit = 1 + flat // 4, 1 + flat % 4
                register.add(sp, people.name(), f"Flat {floor}0{unit}, {building}", False)
        elif sp.area == "urban" and r < 0.24:
            shop = _SHOPS[int(rng.integers(len(_SHOPS)))]
            owner = people.name().split()[0]
            register.add(sp, f"{owner}'s {shop}", addr, True)
        else:
            register.add(sp, people.name(), addr, False)
            if sp.area == "village" and rng.random() < 0.08:
                register.add(sp, people.name(), addr, False)
    rows = register.rows
    # life-support customers at home: about 0.8 % of households
    homes = [
        i
        for i, (crit, name) in enumerate(zip(rows["critical"], rows["name"], strict=True))
        if not crit and "'" not in name
    ]
    n_life = round(0.008 * len(rows["id"]))
    for i in sorted(rng.choice(homes, n_life, replace=False).tolist()):
        rows["critical"][i] = "life_support"
    return rows


def _landmarks(builder: DemoNetworkBuilder) -> dict[int, tuple[str, str]]:
    """Critical customers at the service points nearest their places (by
    index of the service point): the name and the reason (``hospital``,
    ``water``) of two hospitals, three township health centres, the water
    works and three pumping stations."""

    def nearest_sp(p: Any, area: str | None = None) -> int:
        best, best_d = -1, math.inf
        for i, sp in enumerate(builder.service_points):
            if area and sp.area != area:
                continue
            d = float(np.hypot(*(sp.xy - np.asarray(p))))
            if d < best_d:
                best, best_d = i, d
        return best

    special: dict[int, tuple[str, str]] = {
        nearest_sp((-420.0, 380.0), "urban"): (f"{TOWN} County People's Hospital", "hospital"),
        nearest_sp((900.0, -700.0), "urban"): (
            f"{TOWN} Traditional Medicine Hospital",
            "hospital",
        ),
        nearest_sp((-1200.0, 800.0), "urban"): (f"{TOWN} Water Works", "water"),
    }
    for vname in ("Lijiazhuang", "Zhaocun", "Xiaohe"):
        pool = builder.marks["villages"][vname]
        p = builder.jxy[pool].mean(axis=0)
        special[nearest_sp(p, "village")] = (f"{vname} Township Health Centre", "hospital")
    for angle in (40.0, 160.0, 280.0):
        special[nearest_sp(polar(angle, 3500.0), "rural")] = (
            f"{TOWN} Pumping Station No. {len(special) - 5}",
            "water",
        )
    return special


# ---------------------------------------------------------- emergency plans
#: The emergency plans' generator: the seed and this stream number, apart from
#: the one that makes everything else (whose draws it must not shift).
_PLAN_STREAM = 1
#: Life-support equipment at home and how long it runs without supply.
_LIFE_SUPPORT = (
    ("Home oxygen concentrator", ("4 h battery", "2 oxygen cylinders, about 6 h")),
    ("Oxygen concentrator and CPAP", ("3 h battery", "1 oxygen cylinder, about 3 h")),
    ("Home ventilator", ("8 h internal battery", "6 h battery and a spare pack")),
    ("Home haemodialysis machine", ("no battery: sessions stop", "no battery: sessions stop")),
    ("Electric suction pump", ("2 h battery", "manual pump as backup")),
    ("Enteral feeding pump", ("12 h battery", "10 h battery")),
    ("Infant apnoea monitor", ("6 h battery", "4 h battery")),
)
_KIN = ("daughter", "son", "wife", "husband", "neighbour", "carer")
_LIFE_NOTES = (
    "priority restoration",
    "priority restoration; patient is bedridden",
    "priority restoration; hard of hearing, knock loudly",
    "if not restored within {h} h, ambulance to {TOWN} County People's Hospital",
    "lend a portable generator if the outage runs past {h} h",
    "priority restoration; lives alone, the neighbour holds a key",
)


def _emergency_plans(rows: dict[str, list[Any]], people: _People, seed: int) -> list[str | None]:
    """An emergency plan for every critical customer (None for the others).

    What a utility's register holds: the backup supply and how long it
    lasts, whom to call (a relative or carer at home; the facilities or
    duty desk of a hospital or the water works) and the priority asked
    for. Contact numbers are new and unique among every number of the data
    set (``people`` keeps them). Drawn from their own generator
    (:data:`_PLAN_STREAM`), so the other draws of the data set are those of
    a data set without plans.
    """
    rng = np.random.default_rng([seed, _PLAN_STREAM])
    contacts = _People(rng)
    contacts.phones = people.phones  # unique across the whole data set

    def pick(options: Sequence[Any]) -> Any:
        return options[int(rng.integers(len(options)))]

    def hours(low: int, high: int) -> int:
        return int(rng.integers(low, high + 1))

    plans: list[str | None] = []
    for name, reason in zip(rows["name"], rows["critical"], strict=True):
        if reason == "life_support":
            equipment, backups = pick(_LIFE_SUPPORT)
            kin = pick(_KIN)
            who = contacts.name()
            if kin in ("daughter", "son"):  # the family name is the customer's
                who = f"{name.split()[0]} {who.split(' ', 1)[1]}"
            note = pick(_LIFE_NOTES).format(h=hours(2, 6), TOWN=TOWN)
            call = f"call {kin} {who} {contacts.phone()}"
            plans.append(f"{equipment}, {pick(backups)}; {call}; {note}")
        elif reason == "hospital" and "Township" in name:
            plans.append(
                f"Standby generator {hours(3, 8) * 10} kW, {hours(6, 12)} h fuel, for the "
                f"vaccine fridges and the delivery room; call duty doctor {contacts.phone()}; "
                f"priority restoration; mobile generator if out over {hours(3, 6)} h"
            )
        elif reason == "hospital":
            plans.append(
                f"On-site diesel generators, {pick((24, 48, 72))} h fuel, start on loss of "
                f"supply; notify facilities desk {contacts.phone(landline=True)} (24 h) of "
                f"every interruption; priority restoration, before other load on the feeder"
            )
        elif reason == "water" and "Works" in name:
            plans.append(
                f"Standby generator for the high-lift pumps ({hours(6, 10)} h fuel); call the "
                f"control room {contacts.phone(landline=True)} (24 h); town reservoir lasts "
                f"about {hours(8, 14)} h; restore before the morning peak"
            )
        elif reason == "water":
            plans.append(
                f"No standby generator: mobile generator hookup at the gate; call the water "
                f"works duty engineer {contacts.phone()}; village tank lasts about "
                f"{hours(6, 18)} h"
            )
        else:  # not critical
            plans.append(None)
    return plans


def _customer_table(rows: dict[str, list[Any]], center: tuple[float, float]) -> Customers:
    """The customer rows as the network's customer table, in lon/lat."""
    cust_ll = np.round(to_lonlat(np.column_stack([rows["x"], rows["y"]]), center), 7)
    return Customers(
        ids=rows["id"],
        node=np.array(rows["node"], dtype=np.int64),
        fields={
            "name": rows["name"],
            "phone": rows["phone"],
            "address": rows["address"],
            "lon": cust_ll[:, 0].tolist(),
            "lat": cust_ll[:, 1].tolist(),
            "meter": rows["meter"],
            "account": rows["account"],
            "critical": [c or None for c in rows["critical"]],
            "emergency_plan": rows["emergency_plan"],
        },
    )


# ------------------------------------------------------------------- zones
def _zones(roads: Roads, marks: dict[str, Any]) -> list[Zone]:
    """Response zones ``(id, name, area_class, unit, polygon in metres)``.

    The town (grid and suburbs) is urban, the plain out to 11 km (and
    around the villages) rural, the hills beyond remote; each is cut into
    sectors. Together they cover the whole area without overlap.
    """
    from shapely.geometry import MultiPoint, Point, Polygon, box
    from shapely.ops import unary_union

    jxy = np.array(roads.xy)
    town_pts = jxy[marks["town"] + [v for pool in marks["suburbs"] for v in pool]]
    town = MultiPoint([tuple(p) for p in town_pts]).convex_hull.buffer(350.0, quad_segs=4)
    village_pts = [tuple(p) for pool in marks["villages"].values() for p in jxy[pool]]
    plain = unary_union(
        [Point(0, 0).buffer(11000.0, quad_segs=16), MultiPoint(village_pts).buffer(1500.0)]
    )
    all_xy = np.vstack([seg.coords for seg in roads.segs])
    lo, hi = all_xy.min(axis=0) - 2500.0, all_xy.max(axis=0) + 2500.0
    outer = box(lo[0], lo[1], hi[0], hi[1]).union(plain.buffer(1000.0))

    def wedge(a0: float, a1: float) -> Any:
        angles = np.radians(np.linspace(a0, a1, 32))
        ring = [(0.0, 0.0)] + [(1e6 * math.cos(a), 1e6 * math.sin(a)) for a in angles]
        return Polygon(ring)

    quarters = (
        ("North", 45.0, 135.0),
        ("West", 135.0, 225.0),
        ("South", 225.0, 315.0),
        ("East", -45.0, 45.0),
    )
    zones: list[Zone] = []
    for name, a0, a1 in quarters:
        zones.append(
            (
                f"Z-U{len(zones) + 1}",
                f"{TOWN} {name}",
                "urban",
                "U1",
                town.intersection(wedge(a0, a1)),
            )
        )
    rural = plain.difference(town)
    for name, a0, a1 in quarters:
        unit = "U2" if name in ("North", "East") else "U3"
        zones.append(
            (
                f"Z-R{len(zones) - 3}",
                f"{name} Plain",
                "rural",
                unit,
                rural.intersection(wedge(a0, a1)),
            )
        )
    remote = outer.difference(plain)
    for k, (name, a0, a1) in enumerate(
        (("Northern Hills", 0.0, 180.0), ("Southern Hills", 180.0, 360.0))
    ):
        zones.append((f"Z-M{k + 1}", name, "remote", "U4", remote.intersection(wedge(a0, a1))))
    return zones


def _zones_geojson(zones: list[Zone], center: tuple[float, float]) -> dict[str, Any]:
    """The zones as a contract-2c FeatureCollection (``id``, ``name``,
    ``area_class``, ``unit``), in lon/lat rounded to 7 decimals."""
    features = [
        {
            "type": "Feature",
            "properties": {"id": zid, "name": zname, "area_class": area, "unit": unit},
            "geometry": _geometry_lonlat(poly, center),
        }
        for zid, zname, area, unit, poly in zones
    ]
    return {"type": "FeatureCollection", "features": features}


def _geometry_lonlat(geom: Any, center: tuple[float, float]) -> dict[str, Any]:
    """A shapely (Multi)Polygon in local metres as a GeoJSON geometry in lon/lat."""
    import shapely
    from shapely.geometry import mapping

    doc = mapping(shapely.transform(geom.buffer(0), lambda c: to_lonlat(c, center).round(7)))

    def lists(obj: Any) -> Any:
        if isinstance(obj, (tuple, list)):
            return [lists(o) for o in obj]
        return float(obj)

    return {"type": doc["type"], "coordinates": lists(doc["coordinates"])}


# ------------------------------------------------------------ units, crews
def _units(people: _People) -> list[dict[str, str]]:
    """Repair units (contract 2b'), each with a first and a second contact and a leader."""
    units = [
        {"id": "U1", "name": f"{TOWN} Urban Repair Team"},
        {"id": "U2", "name": "Eastern Rural Repair Team"},
        {"id": "U3", "name": "Western Rural Repair Team"},
        {"id": "U4", "name": "Mountain District Repair Team"},
        {"id": "U5", "name": "Regional Emergency Team"},
    ]
    for u in units:
        u["first_contact"] = people.phone()
        u["second_contact"] = people.phone()
        u["leader"] = people.phone()
    return units


class _Crews:
    """Crews (contract 2b) under construction, positions in local metres."""

    def __init__(self, roads: Roads, people: _People, rng: np.random.Generator) -> None:
        self.jxy = np.array(roads.xy)
        self.people = people
        self.rng = rng
        self.rows: list[dict[str, Any]] = []

    def depot(self, poly: Any) -> np.ndarray:
        """A road junction inside the zone near its middle (crews start on roads)."""
        from shapely.geometry import Point

        jxy = self.jxy
        target = np.array(poly.representative_point().coords[0])
        order = np.argsort(np.hypot(*(jxy - target).T))
        for j in order[:400].tolist():
            if poly.contains(Point(*jxy[j])):
                return jxy[j]
        return target

    def add(
        self,
        name: str,
        unit: str,
        zone: str,
        skills: str,
        kv: str,
        shift: tuple[str, str],
        where: np.ndarray,
    ) -> None:
        """A crew starting within 20 m of ``where``."""
        xy = where + self.rng.uniform(-20.0, 20.0, 2)
        self.rows.append(
            {
                "id": f"CR{len(self.rows) + 1:02d}",
                "name": name,
                "unit": unit,
                "skills": skills,
                "zone": zone,
                "x": float(xy[0]),
                "y": float(xy[1]),
                "voltage_kv": kv,
                "shift_start": shift[0],
                "shift_end": shift[1],
                "phone": self.people.phone(),
            }
        )


def _units_and_crews(
    zones: list[Zone],
    roads: Roads,
    people: _People,
    rng: np.random.Generator,
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Repair units (contract 2b') and crews (contract 2b), positions in metres.

    Every zone's unit has crews starting in it (town zones a line crew and
    a 0.4 kV service crew on a late shift, rural zones a crew, the hills a
    crew with emergency skills); then a night crew in town, a tree crew on
    the northern plain and the regional emergency team's three crews.
    """
    units = _units(people)
    crews = _Crews(roads, people, rng)
    crew, depot = crews.add, crews.depot
    day, late, night = ("08:00", "17:00"), ("14:00", "22:00"), ("20:00", "08:00")
    for zid, zname, area, unit, poly in zones:
        home = depot(poly)
        short = zname.replace(f"{TOWN} ", "Town ")
        if area == "urban":
            crew(f"{short} Line Crew", unit, zid, "line;cable;service", "0.4;10", day, home)
            crew(f"{short} Service Crew", unit, zid, "service", "0.4", late, home)
        elif area == "rural":
            crew(f"{short} Crew", unit, zid, "line;tree;service", "0.4;10", day, home)
        else:
            crew(
                f"{short} Crew",
                unit,
                zid,
                "line;tree;service;emergency",
                "0.4;10",
                ("07:30", "16:30"),
                home,
            )
    east = next(z for z in zones if z[0] == "Z-U4")
    crew("Town Night Crew", "U1", east[0], "line;cable;service", "0.4;10", night, depot(east[4]))
    north = next(z for z in zones if z[0] == "Z-R1")
    crew("North Plain Tree Crew", "U2", north[0], "tree;line", "0.4;10", day, depot(north[4]))
    base = depot(next(z for z in zones if z[0] == "Z-U2")[4])
    crew("Emergency Crew 1", "U5", "", "line;cable;tree;service;emergency", "0.4;10", day, base)
    crew(
        "Emergency Crew 2",
        "U5",
        "",
        "line;cable;tree;service;emergency",
        "0.4;10",
        ("22:00", "06:00"),
        base,
    )
    crew("Cable Jointing Crew", "U5", "", "cable;emergency", "10", day, base)
    return units, crews.rows


def _crew_rows(crews: list[dict[str, Any]], center: tuple[float, float]) -> list[dict[str, Any]]:
    """The crews as contract-2b rows, in lon/lat rounded to 7 decimals."""
    for c in crews:
        lon, lat = to_lonlat(np.array([[c.pop("x"), c.pop("y")]]), center)[0]
        c["lon"], c["lat"] = round(float(lon), 7), round(float(lat), 7)
    return [{k: c[k] for k in _CREW_COLUMNS} for c in crews]


# -------------------------------------------------------------- data set
@dataclass
class DemoArea:
    """The demo data set: a network with customers, roads, zones, units and crews.

    Attributes
    ----------
    network : Network
        The network in its normal state, with individual customers.
    roads : dict
        Contract-2d GeoJSON FeatureCollection (LineStrings with ``name``,
        ``class``, ``speed_kmh``, ``oneway``).
    zones : dict
        Contract-2c GeoJSON FeatureCollection (``id``, ``name``,
        ``area_class``, ``unit``).
    units : list of dict
        Contract-2b' rows (``id``, ``name``, ``first_contact``,
        ``second_contact``, ``leader``).
    crews : list of dict
        Contract-2b rows (``id``, ``name``, ``unit``, ``skills``, ``zone``,
        ``lon``, ``lat``, ``voltage_kv``, ``shift_start``, ``shift_end``,
        ``phone``).
    name : str
        Name of the (fictional) town.
    center : (float, float)
        Longitude and latitude of the town centre.
    seed : int
        The seed it was made with.
    feeder_names : list of str
        Every feeder's id and the road its trunk starts on (``F3 Renmin Road``).
    """

    network: Network
    roads: dict[str, Any]
    zones: dict[str, Any]
    units: list[dict[str, str]]
    crews: list[dict[str, Any]]
    name: str = TOWN
    center: tuple[float, float] = DEMO_CENTER
    seed: int = 7
    feeder_names: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        """Counts and lengths describing the data set (as in docs/demo-network.md)."""
        net = self.network
        kinds = {k: int((net.edge_kind == i).sum()) for i, k in enumerate(EDGE_KINDS)}
        customers = net.customers
        critical: dict[str, int] = {}
        if customers is not None:
            for c in customers.fields.get("critical", []):
                if c:
                    critical[c] = critical.get(c, 0) + 1
        zone_classes: dict[str, int] = {}
        for f in self.zones["features"]:
            cls = f["properties"]["area_class"]
            zone_classes[cls] = zone_classes.get(cls, 0) + 1
        mv = net.kind_mask("line", "cable") & (net.node_voltage_kv[net.edge_from] >= 10)
        return {
            "substations": int(net.node_source.sum()),
            "meshed_substations": int(sum(1 for e in net.edge_ids if e.endswith("-TR2"))),
            "feeders": kinds["breaker"],
            "nodes": net.n_nodes,
            "edges": net.n_edges,
            "edge_kinds": kinds,
            "ties": int((~net.edge_normal_closed).sum()),
            "service_points": int(sum(1 for n in net.node_ids if "-P" in n)),
            "customers": int(net.node_customers.sum()),
            "critical_customers": critical,
            "mv_line_km": round(float(net.edge_length_m[mv].sum()) / 1000.0, 1),
            "zones": zone_classes,
            "units": len(self.units),
            "crews": len(self.crews),
            "night_crews": sum(1 for c in self.crews if c["shift_end"] < c["shift_start"]),
            **self._road_stats(),
        }

    def _road_stats(self) -> dict[str, Any]:
        road_km: dict[str, float] = {}
        for f in self.roads["features"]:
            coords = np.array(f["geometry"]["coordinates"])
            lat = math.radians(float(coords[:, 1].mean()))
            d = np.diff(coords, axis=0) * np.array([math.cos(lat), 1.0]) * math.pi / 180 * EARTH_R
            cls = f["properties"]["class"]
            road_km[cls] = road_km.get(cls, 0.0) + float(np.hypot(*d.T).sum()) / 1000.0
        return {
            "roads": len(self.roads["features"]),
            "road_km": {k: round(v, 1) for k, v in sorted(road_km.items())},
            "road_km_total": round(sum(road_km.values()), 1),
            "oneway_roads": sum(1 for f in self.roads["features"] if f["properties"]["oneway"]),
        }

    def write(self, directory: str | Path) -> list[Path]:
        """Write the six files of the data set; see :func:`write_demo`."""
        return write_demo(directory, area=self)


def demo_area(seed: int = 7) -> DemoArea:
    """Generate the demo area of the fictional county town of Qingshui.

    First a road network is laid out (:func:`topology.synthetic.roads.make_roads`),
    then the network is strung along the roads
    (:class:`topology.synthetic.demo_network.DemoNetworkBuilder`): three
    substations, twelve feeders, ties, transformers and service points.
    Customers are individuals at the service points (about 1 % critical),
    with fictional names, unique phone numbers, meters and accounts (and
    an emergency plan for each critical one); then
    come the response zones, the repair units and their crews, and the
    breakers are sized for the customers.

    Parameters
    ----------
    seed : int
        Seed; the shipped fixtures use 7.

    Returns
    -------
    DemoArea

    Notes
    -----
    About 10,000 nodes and 6,400 customers; runs in about a second.
    O(n log n) apart from the feeder partition, which is quadratic in the
    number of road junctions (a few hundred).
    """
    rng = np.random.default_rng(seed)
    roads, marks = make_roads(rng)
    builder = DemoNetworkBuilder(roads, marks, rng)
    builder.build()
    people = _People(rng)
    rows = _customers(builder, people, rng)
    zones = _zones(roads, marks)
    units, crews = _units_and_crews(zones, roads, people, rng)
    rows["emergency_plan"] = _emergency_plans(rows, people, seed)
    builder.size_breakers(rows["node"])
    center = DEMO_CENTER
    return DemoArea(
        network=builder.network(center, _customer_table(rows, center)),
        roads=roads_geojson(roads, center),
        zones=_zones_geojson(zones, center),
        units=[{k: u[k] for k in _UNIT_COLUMNS} for u in units],
        crews=_crew_rows(crews, center),
        center=center,
        seed=seed,
        feeder_names=builder.feeder_names,
    )


def write_demo(directory: str | Path, seed: int = 7, *, area: DemoArea | None = None) -> list[Path]:
    """Write the demo data set to ``directory`` (created if needed).

    Files: ``network.geojson`` (contract 1), ``customers.csv`` (2),
    ``crews.csv`` (2b), ``units.csv`` (2b'), ``zones.geojson`` (2c) and
    ``roads.geojson`` (2d); GeoJSON written compactly with coordinates
    rounded to 7 decimals (about 1 cm).

    Parameters
    ----------
    directory : path-like
        Where to write.
    seed : int
        Seed of :func:`demo_area` (ignored when ``area`` is given).
    area : DemoArea, optional
        An area already generated.

    Returns
    -------
    list of Path
        The files written. O(size of the data set).
    """
    from topology.io import network_to_geojson, write_customers_csv

    area = area if area is not None else demo_area(seed)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def dump(name: str, doc: dict[str, Any]) -> None:
        path = out / name
        with path.open("w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"), ensure_ascii=False)
            fh.write("\n")
        paths.append(path)

    def table(name: str, rows: list[dict[str, Any]]) -> None:
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)

    dump("network.geojson", network_to_geojson(area.network))
    path = out / "customers.csv"
    write_customers_csv(area.network, path)
    paths.append(path)
    table("crews.csv", area.crews)
    table("units.csv", area.units)
    dump("zones.geojson", area.zones)
    dump("roads.geojson", area.roads)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m oms.demo_build DIRECTORY [--seed N]``.

    Writes the demo data set (see :func:`write_demo`) and prints its
    figures and file sizes as JSON on stdout. (A synthetic network of a
    given size: ``python -m topology.synthetic DIRECTORY --nodes N``.)
    """
    parser = argparse.ArgumentParser(
        prog="python -m oms.demo_build",
        description="Generate the demo data set (fixtures/demo).",
    )
    parser.add_argument("directory", help="output directory")
    parser.add_argument("--seed", type=int, default=7, help="seed (default 7, the shipped one)")
    args = parser.parse_args(argv)
    area = demo_area(args.seed)
    paths = write_demo(args.directory, area=area)
    summary = {**area.stats(), "files": {p.name: p.stat().st_size for p in paths}}
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
