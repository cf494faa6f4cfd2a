"""The dispatcher's live map (``/``) and the map data it draws (``/map/...``).

The page is Leaflet driven by our own JavaScript (``static/dispatcher.js``),
not a folium map: folium renders a map once into static HTML (which is what
:mod:`oms.reports.maps` wants for offline trace maps), while this page lives for a
whole shift, subscribes to the server's event stream (``/stream``), redraws
layers in place as outages, jobs and crews change, fetches the network for
each view, and posts the dispatcher's actions to the REST API. That needs
JavaScript of its own; folium would only add a Python layer that generates
the same Leaflet calls once.

Every asset comes from this server: the page's own script and style sheet
from ``webmap/static``, Leaflet and Leaflet.markercluster from the copies
vendored in ``oms/static/vendor`` (``/vendor/<path>``, read with
:mod:`importlib.resources`, so an installed wheel serves them too). Nothing
is loaded from a CDN: the base map is drawn from the network's own roads and
zones (``/map/basemap.geojson``), and ``OMS_TILE_URL`` may name a tile server
on the utility's own network to draw over it.

Routes (all JSON/GeoJSON ones need a signed-in dispatcher or engineer; the
network layer and plans also serve crews):

=============================  =================================================
``GET /``                      the page
``GET /vendor/<path>``         vendored Leaflet files (public, cacheable)
``GET /map/summary``           network extent, sizes, version, state counts
``GET /map/network.geojson``   the network for a view: ``bbox``, ``zoom``
                               (:func:`webmap.layers.network_layer`)
``GET /map/devices.geojson``   device symbols for a view: ``bbox``, ``zoom``
                               (:func:`webmap.layers.device_layer`)
``GET /map/trace``             upstream or downstream trace from a ``device``
                               (:func:`webmap.layers.trace_layer`)
``GET /map/basemap.geojson``   roads and zones for a view: ``bbox``, ``zoom``
                               (:func:`webmap.basemap.basemap_layer`)
``GET /map/outages.geojson``   open outages (predicted, confirmed, restored)
``GET /map/calls.geojson``     recent calls (``hours``, default 12; ``limit``;
                               ``after`` an event number, for increments)
``GET /map/crews.geojson``     crews at their last position
``GET /map/plan``              isolation and restoration plan: ``outage`` or
                               ``device`` (:func:`webmap.layers.plan`)
``GET /map/field.geojson``     tags, grounds, jumpers and cuts in place and the
                               devices of active switching orders
                               (:func:`webmap.layers.field_layer`)
``GET /map/damage.geojson``    damage reports of the open outages, and those
                               under no outage of the last ``hours`` (24)
                               (:func:`webmap.layers.damage_layer`)
=============================  =================================================

The network and device layers take ``view``: ``operated`` (the default: the
devices as reported, with the jumpers and cuts in the field, and the open
outages) or ``normal`` (the network as built: every device in its normal
state, nothing cut, no outage).

Large answers are gzipped when the browser accepts it. The network layer
carries an ``ETag`` (the edge states, the view and the network): the browser
revalidates and gets ``304 Not Modified`` when a change elsewhere left the
view as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import mimetypes
import threading
from datetime import timedelta
from importlib import resources
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from oms import vocabulary
from oms.exceptions import NotLoadedError, OMSError
from oms.intake.events import iso
from oms.outages import Outage, get_outage
from oms.storage import schema
from oms.storage.loading import device_states
from oms.storage.queries import customer_positions, list_crews
from oms.storage.switching import field_changes, list_documents
from topology.exceptions import TopologyError
from topology.model import Network
from webmap import basemap, layers
from webmap.auth import current_user, may, may_take, require
from webmap.db import get_conn, network, service

__all__ = ["OPEN_OUTAGE_STATES", "bp"]

bp = Blueprint("dispatcher", __name__)

#: Outages the map and the side panel show (closed and cancelled ones are history).
OPEN_OUTAGE_STATES = ("predicted", "confirmed", "restored")
_GZIP_MIN = 16_384
_MAX_CALLS = 100_000
_MAX_DAMAGE = 5000
_roads_lock = threading.Lock()


# ----------------------------------------------------------------- helpers
def _json(doc: Any, mimetype: str = "application/json") -> Response:
    """A compact JSON answer, gzipped when large and the client accepts it."""
    body = layers.to_json(doc)
    response = Response(body, mimetype=mimetype)
    if len(body) >= _GZIP_MIN and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(gzip.compress(body, compresslevel=1))
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-store"
    return response


def _geojson(doc: Any) -> Response:
    return _json(doc, "application/geo+json")


def _network_or_none() -> Network | None:
    try:
        return network()
    except NotLoadedError:
        return None


def _network() -> Network:
    net = _network_or_none()
    if net is None:
        abort(404, description="no network is loaded yet (oms load --network FILE)")
    return net


def _open_outages(conn: Connection) -> list[Outage]:
    o = schema.outages
    rows = conn.execute(
        select(o).where(o.c.state.in_(OPEN_OUTAGE_STATES)).order_by(o.c.started, o.c.id)
    ).mappings()
    return [Outage.from_row(r) for r in rows]


def _float_arg(name: str) -> float | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        abort(400, description=f"{name} must be a number")
    if not 0 <= value <= 30:
        abort(400, description=f"{name} must be between 0 and 30")
    return value


@bp.before_request
def _map_data_needs_a_session() -> Any:
    """Map data answers 401 (JSON), not a redirect to the sign-in form, when signed out."""
    if request.path.startswith("/map/") and current_user() is None:
        return _json({"error": "sign in first", "status": 401}), 401
    return None


# -------------------------------------------------------------------- page
@bp.get("/")
@require("dispatcher", "engineer")
def home() -> Any:
    """The live map page."""
    user = current_user()
    net = _network_or_none()
    bounds = layers.network_bounds(net) if net is not None else None
    config = {
        "bounds": bounds,
        # The same tile server as the handheld's (webmap.app: OMS_TILE_URL).
        "tiles": current_app.config.get("OMS_TILE_URL"),
        "tilesAttribution": current_app.config.get("OMS_TILE_ATTRIBUTION") or "Local tiles",
        "user": user.to_dict() if user else None,
        # What this user may do, asked of the routes' own rules (webmap.auth.require).
        "canDispatch": may(user, "api.outage_action"),
        "canSwitch": may(user, "api.switch"),
        "canStorm": may(user, "storm.change"),
        "canContact": may(user, "critical.contact"),
        "canRegister": may(user, "critical.edit"),
        "jobActions": may_take(user, "api.job_action"),
        # The engine's words (oms.vocabulary), so the page never keeps its own lists.
        "vocabulary": vocabulary.as_config(),
    }
    return render_template("dispatcher.html", config=config, user=user)


@bp.get("/vendor/<path:name>")
def vendor(name: str) -> Any:
    """A vendored browser asset (Leaflet, Leaflet.markercluster) from the oms package."""
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        abort(404)
    node = resources.files("oms").joinpath("static", "vendor", *parts)
    if not node.is_file():
        abort(404)
    mimetype = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    if mimetype.startswith("text/") or mimetype.endswith("javascript"):
        mimetype += "; charset=utf-8"
    response = Response(node.read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.add_etag()
    response.make_conditional(request)
    return response


# --------------------------------------------------------------- map data
@bp.get("/map/summary")
@require("dispatcher", "engineer", "crew")
def summary() -> Response:
    """``{"bounds", "nodes", "edges", "customers", "states", "clock"}`` of the network."""
    conn = get_conn()
    net = _network()
    states = layers.edge_states(net, [o.to_dict() for o in _open_outages(conn)])
    return _json(
        {
            "bounds": layers.network_bounds(net),
            "nodes": net.n_nodes,
            "edges": net.n_edges,
            "customers": int(net.node_customers.sum()),
            "states": layers.state_counts(states),
            "clock": service().now(conn).isoformat(),
        }
    )


def _drawn(conn: Connection) -> tuple[Network, list[dict[str, Any]], bool]:
    """The network a map request draws (``view``), the outages marked on it, and
    whether it is as operated.

    As operated: the devices as reported, the jumpers and cuts in the field
    (:func:`webmap.db.network`) and the open outages. As built
    (``view=normal``): normal states, nothing cut, no outage.
    """
    view = request.args.get("view", "operated")
    if view not in layers.VIEWS:
        abort(400, description=f"view must be one of {', '.join(layers.VIEWS)}")
    net = _network()
    if view == "normal":
        return layers.as_built(net), [], False
    return net, [o.to_dict() for o in _open_outages(conn)], True


def _view() -> tuple[layers.Bbox | None, float | None]:
    """The ``bbox`` and ``zoom`` of a map request (400 when malformed)."""
    try:
        bbox = layers.parse_bbox(request.args.get("bbox"))
    except ValueError as exc:
        abort(400, description=str(exc))
    return bbox, _float_arg("zoom")


@bp.get("/map/network.geojson")
@require("dispatcher", "engineer", "crew")
def network_geojson() -> Response:
    """The network for a view: ``bbox=minlon,minlat,maxlon,maxlat``, ``zoom`` and ``view``."""
    bbox, zoom = _view()
    conn = get_conn()
    net, outages, _ = _drawn(conn)
    states = layers.edge_states(net, outages)
    # The answer depends only on these: a browser revalidating its copy gets a
    # 304 without the layer being built again when nothing changed.
    tag = hashlib.blake2b(states.tobytes(), digest_size=16)
    tag.update(repr((id(net), net.n_edges, bbox, zoom)).encode())
    etag = tag.hexdigest()
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = _geojson(layers.network_layer(net, states, bbox, zoom, arrays=True))
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"  # keep it, but ask every time
    return response


def _reported_devices(conn: Connection) -> dict[str, dict[str, Any]]:
    """Device id -> ``tripped`` and ``source`` (``scada`` or ``operator``) of its reported state."""
    ds, ev = schema.device_states, schema.events
    query = select(ds.c.device, ds.c.tripped, ev.c.type).select_from(
        ds.outerjoin(ev, ev.c.id == ds.c.event)
    )
    return {
        r.device: {
            "tripped": bool(r.tripped),
            "source": "scada" if r.type == "scada" else "operator",
        }
        for r in conn.execute(query)
    }


@bp.get("/map/devices.geojson")
@require("dispatcher", "engineer", "crew")
def devices_geojson() -> Response:
    """Device symbols for a view (``bbox``, ``zoom``, ``view``): at street zooms, or when few
    are in view."""
    bbox, zoom = _view()
    conn = get_conn()
    net, outages, operated = _drawn(conn)
    states = layers.edge_states(net, outages)
    reported = _reported_devices(conn) if operated else {}
    doc = layers.device_layer(net, states, bbox, zoom, reported=reported, outages=outages)
    return _geojson(doc)


@bp.get("/map/trace")
@require("dispatcher", "engineer", "crew")
def trace() -> Response:
    """``kind=upstream|downstream`` from ``device`` with its layer.

    Traced with the tripped devices closed again (what the device feeds once
    supply is back), and saying whether the device has supply now.
    """
    kind = request.args.get("kind", "")
    device = request.args.get("device")
    if kind not in layers.TRACE_KINDS:
        abort(400, description=f"kind must be one of {', '.join(layers.TRACE_KINDS)}")
    if not device:
        abort(400, description="name a device")
    conn = get_conn()
    net = _network()
    states = layers.edge_states(net, [o.to_dict() for o in _open_outages(conn)])
    tripped = [d for d, row in _reported_devices(conn).items() if row["tripped"]]
    try:
        return _json(layers.trace_layer(net, kind, device, states, tripped))
    except TopologyError as exc:
        abort(404, description=str(exc))


#: The parsed roads document: ((loaded_at, source), Roads), read again when reloaded.
_roads_cache: list[tuple[Any, basemap.Roads | None]] = []


def _roads(conn: Connection) -> basemap.Roads | None:
    """The loaded roads file, parsed once per load; None without one (or unreadable)."""
    d = schema.documents
    row = conn.execute(select(d.c.loaded_at, d.c.source).where(d.c.name == "roads")).one_or_none()
    if row is None:
        return None
    key = (row.loaded_at, row.source)
    with _roads_lock:
        if _roads_cache and _roads_cache[0][0] == key:
            return _roads_cache[0][1]
    content = conn.execute(select(d.c.content).where(d.c.name == "roads")).scalar_one()
    try:
        roads: basemap.Roads | None = basemap.read_roads(content)
    except ValueError:
        roads = None  # loading checked it; a broken document draws no streets
    with _roads_lock:
        _roads_cache[:] = [(key, roads)]
    return roads


@bp.get("/map/basemap.geojson")
@require("dispatcher", "engineer", "crew")
def basemap_geojson() -> Response:
    """The basemap for a view (``bbox``, ``zoom``): zones with their names, then roads."""
    bbox, zoom = _view()
    conn = get_conn()
    zones = [dict(r) for r in conn.execute(select(schema.zones)).mappings()]
    response = _geojson(basemap.basemap_layer(_roads(conn), zones, bbox, zoom))
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)
    return response


@bp.get("/map/outages.geojson")
@require("dispatcher", "engineer")
def outages_geojson() -> Response:
    """Open outages as Points; ``properties`` is the outage object of the API."""
    conn = get_conn()
    net = _network()
    found = _open_outages(conn)
    singles = [o.customer for o in found if o.customer and not o.device]
    xy = customer_positions(conn, net, singles)
    return _geojson(layers.outages_layer(net, [o.to_dict() for o in found], xy))


@bp.get("/map/calls.geojson")
@require("dispatcher", "engineer")
def calls_geojson() -> Response:
    """Calls of the last ``hours`` (12) before now (the engine service's clock), newest
    first (``limit``).

    ``after=SEQ`` gives only the calls logged after event number ``SEQ``
    (the page asks for increments); ``last_seq`` in the answer is the newest
    call's number (null when there is none).
    """
    hours = request.args.get("hours", 12.0, type=float)
    hours = min(max(hours, 0.1), 24.0 * 14) if math.isfinite(hours) else 12.0
    limit = min(max(request.args.get("limit", 20_000, type=int) or 20_000, 1), _MAX_CALLS)
    after = request.args.get("after", type=int)
    if after is not None:
        after = min(max(after, 0), 2**62)
    conn = get_conn()
    net = _network()
    since = service().now(conn) - timedelta(hours=hours)
    ev, cu = schema.events, schema.customers
    query = (
        select(
            ev.c.seq, ev.c.id, ev.c.time, ev.c.customer, ev.c.payload, cu.c.lon, cu.c.lat, cu.c.node
        )
        .select_from(ev.outerjoin(cu, cu.c.id == ev.c.customer))
        .where(ev.c.type == "call", ev.c.time >= since)
        .order_by(ev.c.seq.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(ev.c.seq > after)
    calls = []
    rows = conn.execute(query).all()
    for r in rows:
        lon, lat = r.lon, r.lat
        if (lon is None or lat is None) and r.node in net.node_index:
            lon, lat = (float(v) for v in net.node_xy[net.node_index[r.node]])
        try:
            payload = json.loads(r.payload)
        except ValueError:
            payload = {}
        calls.append(
            {
                "id": r.id,
                "seq": int(r.seq),
                "time": iso(r.time),
                "customer": r.customer,
                "power": payload.get("power", "off"),
                "hazard": payload.get("hazard"),
                "note": payload.get("note"),
                "lon": lon,
                "lat": lat,
            }
        )
    doc = layers.calls_layer(calls)
    doc["last_seq"] = int(rows[0].seq) if rows else None
    return _geojson(doc)


@bp.get("/map/crews.geojson")
@require("dispatcher", "engineer")
def crews_geojson() -> Response:
    """Crews as Points at their last position; ``properties`` is the crew object of the API."""
    conn, svc = get_conn(), service()
    crews = list_crews(conn, svc.config.dispatch, svc.now(conn))
    return _geojson(layers.crews_layer(crews))


@bp.get("/map/plan")
@require("dispatcher", "engineer", "crew")
def plan() -> Response:
    """Isolation and restoration plan for ``outage`` (its section, or the section right
    below its device) or for a fault on ``device`` (any edge), with its GeoJSON layer.

    Made from the state before the trip: the devices that tripped and feed the
    faulted part are taken as closed again (see :func:`webmap.layers.plan`).
    """
    conn = get_conn()
    net = _network()
    outage_id = request.args.get("outage")
    element = request.args.get("device")
    below = False
    if outage_id:
        try:
            o = get_outage(conn, outage_id)
        except OMSError as exc:
            abort(404, description=str(exc))
        if o.section:
            element = sorted(o.section)[0]
        elif o.device:
            element, below = o.device, True
        else:
            abort(400, description=f"{outage_id} is a single customer's outage: no switching plan")
    if not element:
        abort(400, description="name an outage or a device")
    tripped = sorted(
        d for d, row in device_states(conn).items() if row["state"] == "open" and row["tripped"]
    )
    try:
        result = layers.plan(net, element, reclose=tripped, below=below)
    except TopologyError as exc:
        abort(404, description=str(exc))
    result["outage"] = outage_id
    result["layer"] = layers.plan_layer(net, result)
    return _json(result)


@bp.get("/map/field.geojson")
@require("dispatcher", "engineer")
def field_geojson() -> Response:
    """Tags, grounds, jumpers and cuts in place, and the devices of the switching orders
    issued or under way (their steps not done yet): one Point per device."""
    conn = get_conn()
    net = _network()
    orders = [
        o
        for o in list_documents(conn, "order", open_only=True)
        if o["state"] in layers.ACTIVE_ORDER_STATES
    ]
    return _geojson(layers.field_layer(net, field_changes(conn), orders))


@bp.get("/map/damage.geojson")
@require("dispatcher", "engineer")
def damage_geojson() -> Response:
    """Damage reports as Points: those of the open outages, and those under no outage
    made in the last ``hours`` (24) before now (the engine service's clock); newest
    :data:`_MAX_DAMAGE` at most."""
    hours = request.args.get("hours", 24.0, type=float)
    hours = min(max(hours, 0.1), 24.0 * 14) if math.isfinite(hours) else 24.0
    conn = get_conn()
    since = service().now(conn) - timedelta(hours=hours)
    shown = [o.id for o in _open_outages(conn)]
    d = schema.damage_reports
    rows = conn.execute(
        select(d.c.body)
        .where(or_(d.c.outage.in_(shown), d.c.time >= since))
        .order_by(d.c.time.desc())
        .limit(_MAX_DAMAGE)
    ).scalars()
    return _geojson(layers.damage_layer([dict(b) for b in rows], shown, since))
