"""The public outage page (``/public/``): no login, and no one else's personal data.

Routes (this blueprint has no URL prefix; each route names its full path):

- ``GET /public/``: the page (outages by area, and "where is my case?").
- ``GET /api/public/outages``: current outages by area (response zone and
  area class): customers out, outages, the latest ETR of each area, and
  each network outage with its case reference, stage and ETR; planned work
  announced to its customers (from ``notice_days`` before its start) or
  under way, with its window. Single-customer
  outages are only counted (never listed), since one of them is one
  household. Served from a snapshot (:mod:`webmap.snapshots`) rebuilt
  after a change at most every ``OMS_PUBLIC_REFRESH_S`` seconds (10), with
  an ETag and ``Cache-Control: public, max-age`` up to the end of that
  bound, so a proxy or CDN can absorb a storm's traffic and still never
  serve it older than the bound.
- ``GET /api/public/case?case=K7QF-2MXH-4PZA`` or ``?phone=+15551234``: the
  progress of one case (reported, crew assigned, crew on the way, crew on
  site, restored) with its ETR. A phone number finds only the case of the
  customer(s) registered with that number, typed internationally or as a
  national number with or without the trunk prefix 0 (read in
  ``OMS_PHONE_COUNTRY_CODE``, else the country code most stored numbers
  have: :func:`phone_keys`); an unknown number and a number
  without a current case give the same 404, so the answer never tells
  whether a number belongs to a customer. Limited per client address
  (``PUBLIC_LOOKUP_LIMIT`` lookups, 30, per ``PUBLIC_LOOKUP_WINDOW_S``,
  60 s) with 429 and ``Retry-After`` beyond it; refusals are audited (once
  per window and address).
- ``GET /api/public/areas``: the response zones as GeoJSON (id, place name
  and area class), for the page's map of outage areas, which colours them
  by the customers out of ``/api/public/outages``.

Nothing returned carries a customer id, name, address or phone number.
The rate limit is kept in the memory of each server process: with N worker
processes a client gets at most N times the limit. Behind a reverse proxy
the app must trust ``X-Forwarded-For`` (werkzeug's ``ProxyFix``), or every
client shares the proxy's address.

:data:`OPENAPI_PATHS` describes the JSON routes for the OpenAPI document.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.dispatch.jobs import Job, Zones
from oms.intake.events import iso, normal_phone, parse_time
from oms.outages import (
    ACTIVE_STATES,
    Outage,
    case_key,
    case_ref,
    list_outages,
    normal_case_ref,
)
from oms.storage import schema
from oms.storage.loading import (
    device_states,
    field_in_place,
    network_version,
    stored_network,
    with_reported_states,
)
from oms.storage.switching import list_documents
from topology.model import Network
from topology.traces import dead_nodes
from webmap import audit
from webmap.db import database, get_conn, service
from webmap.snapshots import serve

__all__ = [
    "CASE_SCHEMA",
    "OPENAPI_PATHS",
    "STAGES",
    "RateLimiter",
    "bp",
    "case_stage",
    "lookup",
    "public_page",
    "zone_features",
]

bp = Blueprint("public", __name__)

#: The stages of a case as the public sees them, in order: key and label.
STAGES = (
    ("reported", "Reported"),
    ("assigned", "Crew assigned"),
    ("en_route", "Crew on the way"),
    ("on_site", "Crew on site"),
    ("restored", "Restored"),
)
_STAGE_LABEL = dict(STAGES)
#: Which job stamp marks each stage (``reported`` is the outage's start).
_STAGE_STAMP = {"assigned": "D", "en_route": "G", "on_site": "H", "restored": "restored"}
#: A restored or closed case is still found by phone for this long after restoration.
RECENT = timedelta(hours=24)
#: A case reference (oms.outages.case_ref) as typed. Outage ids (OUT-000123)
#: are sequential: counting would find another household's case.
_CASE_REF = r"[0-9A-TV-Za-tv-z]{4}-?[0-9A-TV-Za-tv-z]{4}-?[0-9A-TV-Za-tv-z]{4}"
_MAX_MERGE_HOPS = 20


# --------------------------------------------------------------- rate limit
class RateLimiter:
    """At most ``limit`` hits per ``window_s`` seconds per key, in a sliding window.

    Thread-safe; in-process. Keeps at most ``max_keys`` keys (the least
    recently seen go first), so a flood of addresses cannot exhaust memory.
    O(1) amortized per hit.
    """

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = max(int(limit), 1)
        self.window_s = float(window_s)
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._refused: dict[str, float] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Count a hit; None when allowed, else the seconds until the next is allowed."""
        t = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.pop(key, None)  # re-inserted last: dicts keep insertion order
            if hits is None:
                hits = deque()
                while len(self._hits) >= self.max_keys:
                    oldest = next(iter(self._hits))
                    del self._hits[oldest]
                    self._refused.pop(oldest, None)
            while hits and hits[0] <= t - self.window_s:
                hits.popleft()
            self._hits[key] = hits
            if len(hits) >= self.limit:
                return max(hits[0] + self.window_s - t, 0.0)
            hits.append(t)
            return None

    def first_refusal(self, key: str, now: float | None = None) -> bool:
        """Whether this is the first refusal of ``key`` in the current window (to audit once)."""
        t = time.monotonic() if now is None else now
        with self._lock:
            last = self._refused.get(key)
            if last is not None and t - last < self.window_s:
                return False
            self._refused[key] = t
            return True


def _limiter() -> RateLimiter:
    ext = current_app.extensions
    limiter = ext.get("oms.public_limiter")
    if limiter is None:
        limiter = ext.setdefault(
            "oms.public_limiter",
            RateLimiter(
                int(current_app.config.get("PUBLIC_LOOKUP_LIMIT", 30)),
                float(current_app.config.get("PUBLIC_LOOKUP_WINDOW_S", 60.0)),
            ),
        )
    assert isinstance(limiter, RateLimiter)
    return limiter


def _rate_limited() -> Response | None:
    """The 429 answer when this client has looked up too often, else None."""
    limiter = _limiter()
    addr = request.remote_addr or "unknown"
    wait = limiter.hit(addr)
    if wait is None:
        return None
    if limiter.first_refusal(addr):
        audit.record(database(), "public_lookup", "refused", ref=addr, detail={"limit": "rate"})
    retry = max(int(wait + 0.999), 1)
    response = jsonify(
        error=f"too many lookups from your address; try again in {retry} s", status=429
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(retry)
    response.headers["Cache-Control"] = "no-store"
    return response


# ----------------------------------------------------------------- the model
@dataclass
class _Model:
    """What the public views need from the network, zones and customers (cached)."""

    key: tuple[Any, ...]
    net: Network | None
    zones: Zones
    #: Normalized phone -> positions of the customers registered with it.
    phones: dict[str, list[int]] = field(default_factory=dict)
    #: Zone id -> customers served there.
    served: dict[str | None, int] = field(default_factory=dict)
    #: Per customer (or per node without a customers file): the position of
    #: its zone in ``zones.rows``, -1 in none; and what each such unit weighs.
    unit_zone: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unit_weight: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: Zone id -> its place name (contract 2c's optional ``name``).
    names: dict[str, str] = field(default_factory=dict)
    #: The country calling code most stored numbers have (for national numbers).
    country: str | None = None

    def place(self, zone: str | None) -> str | None:
        """The place name of a zone: its ``name``, else its id (None: in no zone)."""
        return None if zone is None else self.names.get(zone) or zone


#: A phone number as people write it: digits, an optional leading +, the
#: usual separators; 3 to 20 digits are checked after normalising.
_PHONE = re.compile(r"^ *\+?[0-9(][0-9 ()./-]{1,30}[0-9] *$")


#: The country calling codes of one and two digits (ITU-T E.164); every
#: other code has three. The codes are a prefix code, so this table is all
#: it takes to read the country code off an international number.
_SHORT_CODE_LIST = (
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98"
)
_SHORT_CODES = frozenset(_SHORT_CODE_LIST.split())


def country_code(number: str) -> str | None:
    """The country calling code of an international number (``+8613...`` -> ``86``)."""
    if not number.startswith("+") or len(number) < 5 or not number[1:].isdigit():
        return None
    digits = number[1:]
    return next((digits[:n] for n in (1, 2) if digits[:n] in _SHORT_CODES), digits[:3])


def phone_keys(typed: str, country: str | None) -> list[str]:
    """The stored forms a typed phone number may have (at most three, exact matches).

    Separators are dropped. ``+...`` and ``00...`` are international. A
    national number, with or without the trunk prefix ``0``, is read in
    ``country`` (``0539 2345678`` and ``539 2345678`` are ``+865392345678``
    in 86); digits that already begin with ``country`` may be the
    international number without its ``+``. The number as typed is kept
    for customers files that store national numbers.
    """
    digits = normal_phone(typed)
    if digits.startswith("+"):
        return [digits]
    if digits.startswith("00"):
        return [digits, "+" + digits[2:]]
    keys = [digits]
    if country:
        keys.append(f"+{country}{digits.removeprefix('0')}")
        if digits.startswith(country):
            keys.append("+" + digits)
    return list(dict.fromkeys(keys))


def _usual_country(phones: Iterable[str]) -> str | None:
    """The country code most of the stored international numbers have."""
    codes: dict[str, int] = {}
    for number in phones:
        code = country_code(number)
        if code is not None:
            codes[code] = codes.get(code, 0) + 1
    return max(codes, key=lambda c: codes[c]) if codes else None


def _country(model: _Model) -> str | None:
    """The country calling code national numbers are read in: ``OMS_PHONE_COUNTRY_CODE``
    (e.g. ``86`` or ``+86``), else the one most stored numbers have."""
    configured = str(current_app.config.get("OMS_PHONE_COUNTRY_CODE") or "").strip()
    return configured.lstrip("+") or model.country


def _customer_xy(net: Network) -> np.ndarray:
    """Longitude, latitude of every customer: its own position, else its node's."""
    cust = net.customers
    assert cust is not None
    xy = net.node_xy[cust.node].copy()
    lon, lat = cust.fields.get("lon"), cust.fields.get("lat")
    if lon is not None and lat is not None:
        own = np.array(
            [
                (float(x), float(y)) if x is not None and y is not None else (np.nan, np.nan)
                for x, y in zip(lon, lat, strict=True)
            ],
            dtype=np.float64,
        ).reshape(-1, 2)
        has = ~np.isnan(own).any(axis=1)
        xy[has] = own[has]
    return xy


def _served(
    net: Network, zone_rows: list[dict[str, Any]]
) -> tuple[dict[str | None, int], np.ndarray, np.ndarray]:
    """Customers served per zone (None: in no zone), and per customer (or node,
    without a customers file) its zone's position and weight. O(customers x
    zones), vectorized."""
    import shapely
    from shapely.geometry import shape

    if net.customers is not None:
        xy = _customer_xy(net)
        weight = np.ones(len(xy), dtype=np.int64)
    else:
        xy, weight = net.node_xy, net.node_customers
    where = np.full(len(xy), -1, dtype=np.int64)
    out: dict[str | None, int] = {}
    for k, row in enumerate(zone_rows):
        inside = shapely.contains_xy(shape(row["geometry"]), xy[:, 0], xy[:, 1]) & (where < 0)
        out[row["id"]] = int(weight[inside].sum())
        where[inside] = k
    out[None] = int(weight[where < 0].sum())
    return out, where, weight


def _model(conn: Connection) -> _Model:
    """The cached model, rebuilt when the network or the zones change."""
    zone_rows = [dict(r) for r in conn.execute(select(schema.zones)).mappings()]
    key = (
        network_version(conn),
        tuple((r["id"], r["name"], r["area_class"], str(r["geometry"])) for r in zone_rows),
    )
    cache = current_app.extensions.setdefault("oms.public_model", {})
    model = cache.get("model")
    if model is not None and model.key == key:
        assert isinstance(model, _Model)
        return model
    net: Network | None = None
    if key[0] is not None:
        _, net = stored_network(conn)
    names = {r["id"]: r["name"] for r in zone_rows if r["name"]}
    model = _Model(key, net, Zones(zone_rows), names=names)
    if net is not None:
        if net.customers is not None and net.customers.fields.get("phone") is not None:
            for u, phone in enumerate(net.customers.fields["phone"]):
                if phone:
                    model.phones.setdefault(normal_phone(str(phone)), []).append(u)
            model.country = _usual_country(model.phones)
        model.served, model.unit_zone, model.unit_weight = _served(net, zone_rows)
    cache["model"] = model
    return model


# ---------------------------------------------------------------- the cases
def case_stage(outage: Outage, job: Job | None) -> str:
    """The public stage of a case: the furthest of :data:`STAGES` it reached."""
    if outage.state in ("restored", "closed") or (job and job.stamps.get("restored")):
        return "restored"
    if job is not None:
        for key in ("on_site", "en_route", "assigned"):
            if job.stamps.get(_STAGE_STAMP[key]) is not None:
                return key
    return "reported"


def _jobs_of(conn: Connection, outage_ids: Iterable[str]) -> dict[str, Job]:
    """The job of each outage: its most advanced one that is not cancelled."""
    ids = list(outage_ids)
    if not ids:
        return {}
    found: dict[str, Job] = {}
    rank = {s: i for i, s in enumerate(("waiting", "dispatched", "delivered", "accepted"))}
    j = schema.jobs
    for row in conn.execute(select(j).where(j.c.outage.in_(ids))).mappings():
        job = Job.from_row(dict(row))
        if job.state == "cancelled" or job.outage is None:
            continue
        best = found.get(job.outage)
        if best is None or _progress(job, rank) > _progress(best, rank):
            found[job.outage] = job
    return found


def _progress(job: Job, rank: dict[str, int]) -> tuple[int, int]:
    stamps = sum(job.stamps.get(k) is not None for k in ("D", "G", "H", "restored"))
    return stamps, rank.get(job.state, len(rank))


def _area(outage: Outage, job: Job | None, model: _Model) -> tuple[str | None, str]:
    """The zone and area class of an outage: its job's, else where it is."""
    if job is not None:
        return job.zone, job.area_class
    net = model.net
    if net is None or outage.kind != "single_customer" or net.customers is None:
        return _device_area(outage.device or "", model)
    try:
        u = net.customers.ids.index(outage.customer or "")
    except ValueError:
        return None, model.zones.default_class
    lon, lat = _customer_xy_one(net, u)
    zone, area_class, _ = model.zones.locate(lon, lat)
    return zone, area_class


def _device_area(device: str, model: _Model) -> tuple[str | None, str]:
    """The zone and area class where ``device`` feeds (its lower node)."""
    net = model.net
    if net is None or device not in net.edge_index:
        return None, model.zones.default_class
    e = net.edge_index[device]
    child = int(net.supply.tree.edge_child[e])
    v = child if child >= 0 else int(net.edge_to[e])
    zone, area_class, _ = model.zones.locate(float(net.node_xy[v, 0]), float(net.node_xy[v, 1]))
    return zone, area_class


def _announced(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Planned outages announced to their customers and not over: approved ones
    from their notice (``notice_days`` before the start), and those under way."""
    out = []
    for doc in list_documents(conn, "planned", open_only=True):
        start, end = parse_time(doc["start"]), parse_time(doc["end"])
        notice_from = start - timedelta(days=float(doc["notice_days"]))
        if doc["state"] == "in_progress" or (
            doc["state"] == "approved" and notice_from <= now < end
        ):
            out.append(doc)
    return out


def _customer_xy_one(net: Network, u: int) -> tuple[float, float]:
    cust = net.customers
    assert cust is not None
    lon, lat = cust.get("lon", u), cust.get("lat", u)
    if lon is not None and lat is not None:
        return float(lon), float(lat)
    v = int(cust.node[u])
    return float(net.node_xy[v, 0]), float(net.node_xy[v, 1])


def _status(outage: Outage) -> str:
    if outage.state in ACTIVE_STATES:
        return "active"
    if outage.state == "cancelled":
        return "withdrawn"
    return outage.state  # restored, closed


_MESSAGES = {
    "reported": "We know about this outage and are preparing a crew.",
    "assigned": "A crew has been assigned to this outage.",
    "en_route": "A crew is on the way.",
    "on_site": "A crew is on site working on the fault.",
    "restored": "Supply is restored. If you are still without power, please call us.",
}


def _key() -> str:
    """This database's case-reference secret (read once per process)."""
    key = current_app.extensions.get("oms.case_key")
    if key is None:
        with database().begin() as own:
            key = current_app.extensions["oms.case_key"] = case_key(own)
    return str(key)


def _case_doc(
    outage: Outage, job: Job | None, model: _Model, now: datetime, reported_as: str | None
) -> dict[str, Any]:
    """One case as the public sees it: no customer, device or crew names."""
    stage = case_stage(outage, job)
    reached = [k for k, _ in STAGES].index(stage)
    stamps = job.stamps if job is not None else {}
    times: dict[str, datetime | None] = {
        "reported": outage.started,
        **{k: stamps.get(s) for k, s in _STAGE_STAMP.items()},
    }
    if outage.restored is not None:
        times["restored"] = outage.restored
    zone, area_class = _area(outage, job, model)
    status = _status(outage)
    key = _key()
    doc: dict[str, Any] = {
        "case": case_ref(key, outage.id),
        "reported_as": case_ref(key, reported_as) if reported_as else None,
        "kind": outage.kind,
        "status": status,
        "stage": stage,
        "stage_label": _STAGE_LABEL[stage],
        "message": _MESSAGES[stage],
        "stages": [
            {
                "key": k,
                "label": label,
                "reached": i <= reached,
                "time": iso(times.get(k)) if i <= reached else None,
            }
            for i, (k, label) in enumerate(STAGES)
        ],
        "area": zone,
        "area_name": model.place(zone),
        "area_class": area_class,
        "started": iso(outage.started),
        "etr": iso(outage.etr or (job.etr if job is not None else None))
        if stage != "restored"
        else None,
        "restored": iso(times.get("restored")) if stage == "restored" else None,
        "customers_out": int(outage.customers_out) if outage.kind == "network" else None,
        "updated": iso(now),
    }
    if status == "withdrawn":
        doc.update(
            stage_label="Closed",
            message="No outage was found for this report. If you are still "
            "without power, please call us.",
            etr=None,
        )
    return doc


def _get_outage(conn: Connection, outage_id: str) -> Outage | None:
    row = (
        conn.execute(select(schema.outages).where(schema.outages.c.id == outage_id))
        .mappings()
        .first()
    )
    return Outage.from_row(row) if row is not None else None


def case_by_ref(conn: Connection, ref: str, now: datetime) -> dict[str, Any] | None:
    """The public view of the case with reference ``ref`` as of ``now``, or None.

    A customer asks about a current case, or one that ended within
    :data:`RECENT` (merged ones included): their references are computed
    and compared, O(such outages).
    """
    o = schema.outages
    rows = conn.execute(
        select(o.c.id).where(
            o.c.state.in_(ACTIVE_STATES)
            | (o.c.restored >= now - RECENT)
            | ((o.c.state == "cancelled") & (o.c.updated_at >= now - RECENT))
        )
    ).scalars()
    key = _key()
    for outage_id in rows:
        if hmac.compare_digest(case_ref(key, outage_id), ref):
            return case_by_id(conn, outage_id, now)
    return None


def case_by_id(conn: Connection, case_id: str, now: datetime) -> dict[str, Any] | None:
    """The public view of outage ``case_id`` (following merges) as of ``now``, or None."""
    outage = _get_outage(conn, case_id)
    if outage is None:
        return None
    hops = 0
    while outage.state == "cancelled" and outage.merged_into and hops < _MAX_MERGE_HOPS:
        into = _get_outage(conn, outage.merged_into)
        if into is None:
            break
        outage, hops = into, hops + 1
    job = _jobs_of(conn, [outage.id]).get(outage.id)
    return _case_doc(
        outage,
        job,
        _model(conn),
        now,
        case_id if outage.id != case_id else None,
    )


def case_by_phone(conn: Connection, phone: str, now: datetime) -> dict[str, Any] | None:
    """The current (or recently restored) case of the customer(s) with ``phone`` as of
    ``now``, or None.

    A customer's cases: its own single-customer outages, the network outages
    whose device is on its supply path in the network's normal state, and
    the outages it was told about (acknowledged). Active ones come first,
    the latest started; else the latest restored within :data:`RECENT`.
    O(customers with that phone x feeder depth + their outages).
    """
    model = _model(conn)
    net = model.net
    positions = sorted(
        {u for key in phone_keys(phone, _country(model)) for u in model.phones.get(key, [])}
    )
    if net is None or net.customers is None or not positions:
        return None
    cids = [net.customers.ids[u] for u in positions]
    path: set[str] = set()
    for u in positions:
        node = int(net.customers.node[u])
        path.update(net.edge_ids[e] for e in net.supply.upstream_edges(node))
    o = schema.outages
    recent = (o.c.state.in_(ACTIVE_STATES)) | (
        o.c.state.in_(("restored", "closed")) & (o.c.restored >= now - RECENT)
    )
    told = select(schema.notifications.c.outage).where(
        schema.notifications.c.customer.in_(cids), schema.notifications.c.outage.is_not(None)
    )
    mine = (
        (o.c.customer.in_(cids) & (o.c.kind == "single_customer"))
        | (o.c.device.in_(sorted(path)) & (o.c.kind == "network"))
        | o.c.id.in_(told)
    )
    rows = conn.execute(select(o).where(recent & mine)).mappings()
    found = [Outage.from_row(r) for r in rows]
    if not found:
        return None
    found.sort(
        key=lambda x: (x.active, x.started if x.active else (x.restored or x.started)),
        reverse=True,
    )
    best = found[0]
    job = _jobs_of(conn, [best.id]).get(best.id)
    return _case_doc(best, job, model, now, None)


# ----------------------------------------------------------- outages by area
def outages_by_area(conn: Connection, now: datetime) -> dict[str, Any]:
    """Current outages grouped by zone as of ``now``, without personal data (see the
    module doc)."""
    model = _model(conn)
    everything = list_outages(conn)
    active = [x for x in everything if x.state in ACTIVE_STATES and x.kind != "momentary"]
    # A switching record that continues a fault's interruption (its customers
    # still cut off after the fault was restored around them) is out since the fault.
    began = {x.id: x.started for x in everything}
    jobs = _jobs_of(conn, [x.id for x in active])
    key = _key()
    areas: dict[str | None, dict[str, Any]] = {}
    for row in model.zones.rows:
        areas[row["id"]] = _empty_area(row["id"], row["area_class"], model)
    for outage in active:
        job = jobs.get(outage.id)
        zone, area_class = _area(outage, job, model)
        area = areas.setdefault(zone, _empty_area(zone, area_class, model))
        area["outages"] += 1
        etr = outage.etr or (job.etr if job is not None else None)
        if etr is not None and (area["etr"] is None or iso(etr) > area["etr"]):
            area["etr"] = iso(etr)
        if outage.kind == "single_customer":
            area["single_customer_outages"] += 1
            continue
        if outage.kind == "planned":
            continue  # listed with the planned work below
        stage = case_stage(outage, job)
        area["items"].append(
            {
                "case": case_ref(key, outage.id),
                "customers_out": int(outage.customers_out),
                "started": iso(began.get(outage.revealed_by or "", outage.started)),
                "etr": iso(etr),
                "stage": stage,
                "stage_label": _STAGE_LABEL[stage],
                "hazard": bool(outage.hazard),
            }
        )
    # Customers out where they live (an outage's customers may lie in several
    # areas), each once however many outages cover it.
    for zone, out in _out_by_zone(conn, model, active).items():
        if out or zone in areas:
            areas.setdefault(zone, _empty_area(zone, model.zones.default_class, model))
            areas[zone]["customers_out"] = out
    for po in _announced(conn, now):
        zone, area_class = _device_area(po["devices"][0], model)
        area = areas.setdefault(zone, _empty_area(zone, area_class, model))
        area["planned"].append(
            {
                "notice": po["id"],
                "start": po["start"],
                "end": po["end"],
                "customers": len(po["customers"]),
                "under_way": po["state"] == "in_progress",
            }
        )
    listed = sorted(
        areas.values(),
        key=lambda a: (-a["customers_out"], -a["outages"], a["area"] is None, a["area"] or ""),
    )
    for area in listed:
        area["items"].sort(key=lambda i: (-i["customers_out"], i["started"]))
    return {
        "updated": iso(now),
        "totals": {
            "outages": sum(a["outages"] for a in listed),
            "customers_out": sum(a["customers_out"] for a in listed),
            "customers_served": sum(model.served.values()),
            "planned": sum(len(a["planned"]) for a in listed),
        },
        "areas": listed,
    }


def _out_by_zone(conn: Connection, model: _Model, active: list[Outage]) -> dict[str | None, int]:
    """Customers without supply per zone, each counted once, by where they
    live: those of single-customer outages, and those fed in the normal state
    that have no supply in the network as operated (reported states, jumpers
    and cuts) with every active outage's device open. Customers a tie has
    picked up are not out (found by a new-user trial: counted below the
    device in the normal state, a transfer's 154 customers stayed out on the
    public page). O(n + m).
    """
    net = model.net
    if net is None or not len(model.unit_zone):
        return {}
    units = np.zeros(len(model.unit_zone), dtype=bool)
    cust = net.customers
    now = with_reported_states(net, device_states(conn), field_in_place(conn))
    closed = now.edge_closed.copy()
    for o in active:
        if o.kind == "single_customer":
            u = cust.index.get(o.customer or "", -1) if cust is not None else -1
            if u >= 0:
                units[u] = True
        elif o.device in net.edge_index:
            closed[net.edge_index[o.device]] = False
    dark = np.zeros(net.n_nodes, dtype=bool)
    dark[dead_nodes(net, closed)] = True
    dark &= net.supply.energized  # fed as built
    units |= dark[cust.node] if cust is not None else dark
    weights = np.where(units, model.unit_weight, 0)
    counts = np.bincount(model.unit_zone + 1, weights=weights, minlength=len(model.zones.rows) + 1)
    out: dict[str | None, int] = {None: int(counts[0])}
    for k, row in enumerate(model.zones.rows):
        out[row["id"]] = int(counts[k + 1])
    return out


def _empty_area(zone: str | None, area_class: str, model: _Model) -> dict[str, Any]:
    return {
        "area": zone,
        "name": model.place(zone),
        "area_class": area_class,
        "customers_served": model.served.get(zone, 0),
        "customers_out": 0,
        "outages": 0,
        "single_customer_outages": 0,
        "etr": None,
        "items": [],
        "planned": [],
    }


# -------------------------------------------------------------------- routes
@bp.get("/public/")
def home() -> Any:
    """The public outage page (templates/public.html)."""
    return public_page("public.html")


def public_page(template: str) -> Any:
    """A public page, rendered once per process (its data comes from the JSON),
    with an ETag and ``Cache-Control: public, max-age=OMS_PUBLIC_REFRESH_S``.

    Without a CSRF token: the page posts nothing, and one rendering is
    served to everybody (a token would be the first visitor's session's).
    """
    pages: dict[str, tuple[bytes, str]] = current_app.extensions.setdefault("oms.public_pages", {})
    page = pages.get(template)
    if page is None:
        body = render_template(template, csrf_token=lambda: "").encode()
        page = pages.setdefault(template, (body, hashlib.sha256(body).hexdigest()[:32]))
    response = Response(page[0], mimetype="text/html")
    response.set_etag(page[1])
    refresh = int(float(current_app.config["OMS_PUBLIC_REFRESH_S"]))
    response.headers["Cache-Control"] = f"public, max-age={refresh}"
    return response.make_conditional(request)


@bp.get("/api/public/outages")
def outages() -> Any:
    """Current outages by area, from their snapshot (:mod:`webmap.snapshots`):
    at most ``OMS_PUBLIC_REFRESH_S`` behind, with an ETag (304 when unchanged)."""
    return serve(("public", "outages"), public_outages_doc, timed=True, public=True)


def public_outages_doc() -> dict[str, Any]:
    """``GET /api/public/outages`` as built for its snapshot."""
    conn = get_conn()
    return outages_by_area(conn, service().now(conn))


@bp.get("/api/public/areas")
def areas() -> Any:
    """The response zones as GeoJSON (id, place name and area class only), from
    their snapshot."""
    return serve(
        ("public", "areas"),
        areas_doc,
        timed=False,
        public=True,
        mimetype="application/geo+json",  # RFC 7946, as described
    )


def areas_doc() -> dict[str, Any]:
    """``GET /api/public/areas`` as built for its snapshot."""
    return {"type": "FeatureCollection", "features": zone_features(get_conn())}


def zone_features(conn: Connection) -> list[dict[str, Any]]:
    """The data set's response zones as GeoJSON features: ``id``, ``name`` (the
    place name, else the id) and ``area_class``. O(zones)."""
    return [
        {
            "type": "Feature",
            "id": r["id"],
            "properties": {
                "id": r["id"],
                "name": r["name"] or r["id"],
                "area_class": r["area_class"],
            },
            "geometry": r["geometry"],
        }
        for r in conn.execute(select(schema.zones)).mappings()
    ]


@bp.get("/api/public/case")
def case() -> Any:
    """One case's progress, by ``case`` id or the customer's ``phone``."""
    return lookup(
        lambda ref: case_by_ref(get_conn(), ref, service().now(get_conn())),
        lambda digits: case_by_phone(get_conn(), digits, service().now(get_conn())),
    )


def lookup(
    by_ref: Callable[[str], dict[str, Any] | None],
    by_phone: Callable[[str], dict[str, Any] | None],
) -> Response:
    """The answer to a case lookup (``GET /api/public/case``, and its counterpart
    across control regions): the client's rate limit, exactly one of ``case`` and
    ``phone`` checked, then ``by_ref`` (the normalised reference) or ``by_phone``
    (the number's digits); a 404 when it finds nothing."""
    refused = _rate_limited()
    if refused is not None:
        return refused
    case_id = (request.args.get("case") or "").strip().upper()
    phone = (request.args.get("phone") or "").strip()
    if bool(case_id) == bool(phone):
        abort(400, description="give either case (e.g. K7QF-2MXH-4PZA) or phone")
    if case_id:
        ref = normal_case_ref(case_id)
        if ref is None:
            abort(
                400,
                description="give the case reference from your message "
                "(12 letters and digits, like K7QF-2MXH-4PZA)",
            )
        doc = by_ref(ref)
        missing = f"no current case {case_id}"
    else:
        digits = normal_phone(phone)
        if not _PHONE.fullmatch(phone) or not 3 <= len(digits.lstrip("+")) <= 20:
            abort(400, description="give the phone number the utility has for you")
        doc = by_phone(digits)
        missing = "no current outage case for that phone number"
    if doc is None:
        abort(404, description=missing)
    response = jsonify(doc)
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------- OpenAPI
#: A case as ``GET /api/public/case`` answers it.
CASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "case": {"type": "string", "example": "K7QF-2MXH-4PZA"},
        "reported_as": {
            "type": ["string", "null"],
            "description": "the case asked for, when it was merged into this one",
        },
        "kind": {"type": "string", "enum": ["network", "single_customer", "momentary"]},
        "status": {"type": "string", "enum": ["active", "restored", "closed", "withdrawn"]},
        "stage": {"type": "string", "enum": [k for k, _ in STAGES]},
        "stage_label": {"type": "string"},
        "message": {"type": "string"},
        "stages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "label": {"type": "string"},
                    "reached": {"type": "boolean"},
                    "time": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        },
        "area": {"type": ["string", "null"], "description": "response zone id"},
        "area_name": {
            "type": ["string", "null"],
            "description": "the zone's place name, else its id",
        },
        "area_class": {"type": "string", "enum": ["urban", "rural", "remote"]},
        "started": {"type": "string", "format": "date-time"},
        "etr": {"type": ["string", "null"], "format": "date-time"},
        "restored": {"type": ["string", "null"], "format": "date-time"},
        "customers_out": {"type": ["integer", "null"]},
        "updated": {"type": "string", "format": "date-time"},
    },
}
_ERROR: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
            }
        }
    }
}

#: OpenAPI 3 ``paths`` of this blueprint's JSON routes (merged by ``webmap.openapi``).
OPENAPI_PATHS: dict[str, Any] = {
    "/api/public/outages": {
        "get": {
            "operationId": "public.outages",
            "tags": ["public"],
            "summary": "Current outages by area (no login, no personal data)",
            "description": "Customers out, outages and the latest ETR per response zone; "
            "network outages listed with case id, stage and ETR; single-customer outages "
            "only counted. Rebuilt after a change at most every OMS_PUBLIC_REFRESH_S seconds "
            "(10) and cacheable until then (max-age); sent with an ETag "
            "(If-None-Match: 304).",
            "security": [],
            "responses": {
                "304": {"description": "not modified: the ETag sent in If-None-Match is current"},
                "200": {
                    "description": "outages by area",
                    "headers": {
                        "ETag": {
                            "description": "changes when the outages do",
                            "schema": {"type": "string"},
                        }
                    },
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "updated": {"type": "string", "format": "date-time"},
                                    "totals": {
                                        "type": "object",
                                        "properties": {
                                            "outages": {"type": "integer"},
                                            "customers_out": {"type": "integer"},
                                            "customers_served": {"type": "integer"},
                                            "planned": {"type": "integer"},
                                        },
                                    },
                                    "areas": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "area": {"type": ["string", "null"]},
                                                "name": {
                                                    "type": ["string", "null"],
                                                    "description": "the zone's place "
                                                    "name, else its id; null: in no zone",
                                                },
                                                "area_class": {"type": "string"},
                                                "customers_served": {"type": "integer"},
                                                "customers_out": {"type": "integer"},
                                                "outages": {"type": "integer"},
                                                "single_customer_outages": {"type": "integer"},
                                                "etr": {
                                                    "type": ["string", "null"],
                                                    "format": "date-time",
                                                },
                                                "items": {
                                                    "type": "array",
                                                    "items": {
                                                        "type": "object",
                                                        "properties": {
                                                            "case": {"type": "string"},
                                                            "customers_out": {"type": "integer"},
                                                            "started": {"type": "string"},
                                                            "etr": {"type": ["string", "null"]},
                                                            "stage": {"type": "string"},
                                                            "stage_label": {"type": "string"},
                                                            "hazard": {"type": "boolean"},
                                                        },
                                                    },
                                                },
                                                "planned": {
                                                    "type": "array",
                                                    "description": "planned work announced "
                                                    "(from its notice) or under way",
                                                    "items": {
                                                        "type": "object",
                                                        "properties": {
                                                            "notice": {"type": "string"},
                                                            "start": {"type": "string"},
                                                            "end": {"type": "string"},
                                                            "customers": {"type": "integer"},
                                                            "under_way": {"type": "boolean"},
                                                        },
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
            },
        }
    },
    "/api/public/case": {
        "get": {
            "operationId": "public.case",
            "tags": ["public"],
            "summary": "The progress of one case, by case reference or the customer's phone",
            "description": "Exactly one of `case` and `phone`. A case reference is the one "
            "the acknowledgement message gave (outage ids are not accepted: they are "
            "sequential). A phone finds only the case "
            "of the customer registered with it; an unknown phone and one without a "
            "current case both give 404. Rate-limited per client address (30 a minute).",
            "security": [],
            "parameters": [
                {
                    "name": "case",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "pattern": f"^ *{_CASE_REF} *$",
                    },
                    "description": "the case reference from the acknowledgement message",
                },
                {
                    "name": "phone",
                    "in": "query",
                    "schema": {"type": "string", "pattern": _PHONE.pattern},
                    "description": "the phone number the utility has for the customer: "
                    "international (+86 539 234 5678, 0086...) or national with or without "
                    "the trunk prefix 0 (0539 234 5678), read in OMS_PHONE_COUNTRY_CODE or "
                    "the country code most stored numbers have",
                },
            ],
            "responses": {
                "200": {
                    "description": "the case",
                    "content": {"application/json": {"schema": CASE_SCHEMA}},
                },
                "400": {"description": "neither or both parameters, or malformed", **_ERROR},
                "404": {"description": "no such case", **_ERROR},
                "429": {
                    "description": "too many lookups from this address (see Retry-After)",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    **_ERROR,
                },
            },
        }
    },
    "/api/public/areas": {
        "get": {
            "operationId": "public.areas",
            "tags": ["public"],
            "summary": "The response zones as GeoJSON (id, place name and area class)",
            "description": "Each zone's polygon with `id`, `name` (its place name, else "
            "its id) and `area_class`; nothing else. The public page draws them coloured "
            "by the customers out of /api/public/outages. Served with an ETag (304) and "
            "cacheable for OMS_PUBLIC_REFRESH_S seconds (10).",
            "security": [],
            "responses": {
                "304": {"description": "not modified: the ETag sent in If-None-Match is current"},
                "200": {
                    "description": "a FeatureCollection of zone polygons",
                    "content": {"application/geo+json": {"schema": {"type": "object"}}},
                },
            },
        }
    },
}
