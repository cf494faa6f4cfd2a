"""Routes across control regions (docs/scaling.md): the combined read models, served.

Control regions are schemas of one PostgreSQL database, each a complete
data set with its own writer; ``oms regions views`` makes the schema
``oms_all`` of views over them (:mod:`oms.storage.regions`). These routes
serve what the storm room, the public page and the regulator read across
the regions, on any server of the database holding them:

====================================  ================================================
``GET /api/regions``                  each region's status: schema revision, network
                                      version, engine clock, events, open outages and
                                      customers out (:func:`oms.storage.regions.status`)
``GET /api/regions/overview``         the storm overview's totals of all regions, and
                                      each region's (:func:`~oms.storage.regions.overview_totals`)
``GET /api/regions/outages``          the open outages of every region (the ``oms_all.outages``
                                      view) as GeoJSON: ``properties`` is the outage
                                      object of ``GET /api/outages?open=1`` (with
                                      ``zone`` and ``crews``) and its ``region``
``GET /api/regions/reports/indices``  IEEE 1366 indices of all customers of all regions
                                      (``start``, ``end``; :func:`~oms.storage.regions.indices`)
``GET /api/regions/public/outages``   the public page's outages by area of every
                                      region, each area tagged with its region (no
                                      sign-in, no personal data;
                                      :func:`~oms.storage.regions.public_outages`)
``GET /api/regions/public/areas``     the response zones of every region as GeoJSON,
                                      each tagged with its region (no sign-in)
``GET /api/regions/public/case``      one case's progress, looked up in the region
                                      owning its reference (or the phone number);
                                      no sign-in, rate-limited as the public page's
``GET /api/regions/stream``           every region's ``changes`` feed as one live
                                      stream (Server-Sent Events), each change tagged
                                      with its ``region``
``GET /regions``                      the page drawing these: a map of the open
                                      outages coloured by region, the overview's
                                      totals of all regions and of each, kept live
                                      from the stream
``GET /regions/public/``              the public outage page of every region: the
                                      public page's look and modules on the documents
                                      above (no sign-in)
====================================  ================================================

Each staff route takes the roles of its single-region counterpart, read
from that view's own rule (:func:`webmap.auth.require`): the outages those
of ``GET /api/outages``, the indices those of ``GET /api/reports/{name}``,
the overview and the status those of ``GET /api/overview``. A database
without the views (SQLite, or PostgreSQL before ``oms regions views``)
answers 404 saying so.

"Now" across regions is the server's clock, never behind any region's
engine clock (:meth:`webmap.service.EngineService.now` for several data
sets); each region's public document is made as of that region's own now,
so its areas are exactly what its own public page shows. Every region is
read in a read-only transaction on its schema
(:func:`oms.storage.regions.in_region`), on the app's connection pool.

The overview, the outages, the public document and the public zones are
served from snapshots (:mod:`webmap.snapshots`) as their single-region counterparts
are: rebuilt at most every ``OMS_SNAPSHOT_S`` (the public one
``OMS_PUBLIC_REFRESH_S``) and, being ``timed``, at the first request once
that old whether this server's database changed or not (a change in
another region's schema is no change of this server's own database
state); with an ETag (304 when unchanged), the public one with
``Cache-Control: public, max-age``. The status and the indices are read
at each request, as ``GET /api/reports/indices`` is.

The stream is :func:`webmap.stream.events` on a feed reading each region
listed by ``oms_all.regions`` (when the stream starts) in turn, each in a
read-only transaction on its schema: a message's ``data`` is the
single-region stream's plus ``region``, and its ``id`` names a position per
region (``north:120,south:87``: the last change of each sent so far), so a
browser that reconnects (``Last-Event-ID``, or ``?since=``) to any server
of the database gets every region's changes after its own position, none
twice. A region the id does not name starts from its latest change, as a
stream with no id does. One ``LISTEN oms_changes`` wakes it: the regions'
writers notify on the one database. The page and the stream take the
overview's roles: the single-region stream's crew filter names a crew of
one region.

The public page's function (:func:`webmap.public.outages_by_area`) keeps
its model (network, zones) and the data set's case-reference key per Flask
app; each region gets an app object of its own holding them (it serves no
request), so a region's case references are made with the region's key,
as its own public page makes them, and never mixed with this server's.
A case reference is looked up in each region in turn with the region's
own key (HMAC references of different keys do not collide in practice),
answered by the first that made it; a phone number in every region, the
case answered being the one the single-region lookup would prefer among
the regions' (an active case first, the latest).
The breach targets of the overview are this server's dispatch
configuration, for every region (one configuration across regions).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from oms.edge_states import outage_position
from oms.exceptions import EventError, NotLoadedError, RegionUnavailable, StorageError
from oms.intake.events import parse_time
from oms.outages import Outage, case_key, outage_places
from oms.storage.loading import (
    device_states,
    field_in_place,
    network_version,
    stored_network,
    with_reported_states,
)
from oms.storage.postgres import is_postgres
from oms.storage.queries import customer_positions
from oms.storage.regions import (
    ALL_SCHEMA,
    STATUS_FIELDS,
    Region,
    in_region,
    indices,
    list_regions,
    on_region,
    overview_totals,
    public_outages,
    status,
)
from topology.model import Network
from webmap import api, overview
from webmap.auth import Access, credential, current_user, require, still_signed_in
from webmap.db import database, get_conn, service
from webmap.dispatcher import OPEN_OUTAGE_STATES
from webmap.openapi.metadata import (
    INT,
    NUM,
    STR,
    TIME,
    Answer,
    Named,
    Param,
    Schema,
    array,
    nullable,
    obj,
    operation,
    query,
)
from webmap.openapi.shapes import ERROR, OUTAGE
from webmap.public import (
    CASE_SCHEMA,
    case_by_phone,
    case_by_ref,
    lookup,
    public_page,
    zone_features,
)
from webmap.snapshots import NOT_MODIFIED, serve
from webmap.stream import (
    Read,
    changes_after,
    events,
    last_change,
    position,
    respond,
    resume_id,
)

__all__ = [
    "REGIONS_INDICES",
    "REGIONS_OUTAGES",
    "REGIONS_OVERVIEW",
    "REGIONS_PUBLIC_AREAS",
    "REGIONS_PUBLIC_CASE",
    "REGIONS_PUBLIC_OUTAGES",
    "REGION_STATUS",
    "bp",
    "outages_doc",
    "overview_doc",
    "page_bp",
    "public_areas_doc",
    "public_doc",
]

bp = Blueprint("regions", __name__, url_prefix="/api/regions")
#: The page drawing the routes (``/regions``).
page_bp = Blueprint("regions_page", __name__)

_lock = threading.Lock()
_T = TypeVar("_T")


def _roles(view: Any) -> tuple[str, ...]:
    """The roles of a single-region view's own rule (its :func:`webmap.auth.require`)."""
    access: Access = view.access
    return tuple(sorted(access.roles))


#: Who may read each staff route: its single-region counterpart's roles.
_OVERVIEW_ROLES = _roles(overview.overview_json)
_OUTAGES_ROLES = _roles(api.outages)
_REPORT_ROLES = _roles(api.report)
#: The changes read from one region at a time (a whole page: read on at once).
_STREAM_PAGE = 500

# ------------------------------------------------------------------ shapes
_COUNT: Schema = {**INT, "minimum": 0}
_NO_VIEWS = "No control regions here: SQLite, or no ``oms regions views`` run on this database."
_NONE = Answer(_NO_VIEWS + " ``error`` says to run it.", ERROR)
_GONE = Answer(
    "A region the views list cannot be read (its schema dropped or renamed since): "
    "``error`` names it and what to do.",
    ERROR,
)


def _by_region(schema: Schema | Named, description: str) -> Schema:
    """An object of one ``schema`` per region name."""
    return {
        "type": "object",
        "propertyNames": STR,
        "additionalProperties": schema,
        "description": description,
    }


REGION_STATUS = Named(
    "RegionStatus",
    obj(
        {
            "region": STR,
            "schema": STR,
            "revision": {**nullable(STR), "description": "The schema revision (Alembic)."},
            "network_version": nullable(INT),
            "clock": {**nullable(TIME), "description": "The region's engine clock."},
            "events": _COUNT,
            "outages_open": {**_COUNT, "description": "Predicted or confirmed outages."},
            "customers_out": {**_COUNT, "description": "Their customers out."},
        },
        STATUS_FIELDS,
        description="A control region (oms regions status).",
    ),
)
#: The storm overview's ``totals`` (``GET /api/overview``).
_TOTALS: Schema = overview.OVERVIEW.schema["properties"]["totals"]
REGIONS_OVERVIEW = Named(
    "RegionsOverview",
    obj(
        {
            "as_of": TIME,
            **_TOTALS["properties"],
            "regions": _by_region(_TOTALS, "Each region's own totals."),
        },
        ("as_of", *_TOTALS["required"], "regions"),
        description="The storm overview's totals of all regions: counts added up, the "
        "latest ETR the latest of the regions', the earliest ETR and the oldest start the "
        "earliest.",
    ),
)
_POINT = obj(
    {
        "type": {"const": "Point"},
        "coordinates": {**array(NUM), "minItems": 2},
    },
    ("type", "coordinates"),
)
REGIONS_OUTAGES = Named(
    "RegionsOutages",
    obj(
        {
            "type": {"const": "FeatureCollection"},
            "features": array(
                obj(
                    {
                        "type": {"const": "Feature"},
                        "properties": {
                            "allOf": [OUTAGE, obj({"region": STR}, ("region",))],
                            "description": "The outage as ``GET /api/outages?open=1`` gives "
                            "it (with ``zone`` and ``crews``) and its region.",
                        },
                        "geometry": {
                            **nullable(_POINT),
                            "description": "The middle of its device, or its one customer; "
                            "null when the region's network has neither.",
                        },
                    },
                    ("type", "properties", "geometry"),
                )
            ),
        },
        ("type", "features"),
        description="Open outages (predicted, confirmed, restored) of every region, by start.",
    ),
)
_FIGURES: Schema = {"type": "object", "description": "The indices of these outages."}
_INDICES_PROPERTIES: dict[str, Any] = {
    "period": obj({"start": TIME, "end": TIME}, ("start", "end")),
    "customers_served": _COUNT,
    "all": _FIGURES,
    "excluding_med": nullable(_FIGURES),
    "planned": _FIGURES,
    "major_event_days": array({"type": "string", "format": "date"}),
    "t_med_minutes": nullable(NUM),
    "daily_saidi": {"type": "object", "additionalProperties": NUM},
}
REGIONS_INDICES = Named(
    "RegionsIndices",
    obj(
        {
            **_INDICES_PROPERTIES,
            "regions": _by_region(
                obj(_INDICES_PROPERTIES, ("period", "customers_served", "all")),
                "Each region's own indices document (GET /api/reports/indices on it).",
            ),
        },
        ("period", "customers_served", "all", "excluding_med", "major_event_days", "regions"),
        description="IEEE 1366 indices of all customers of all regions: recomputed from "
        "the regions' sums (customers interrupted, customer minutes, customers served...), "
        "never a mean of the regions' indices; major event days found on the combined "
        "daily SAIDI.",
    ),
)
_PUBLIC_TOTALS = obj(
    {"outages": _COUNT, "customers_out": _COUNT, "customers_served": _COUNT, "planned": _COUNT},
    ("outages", "customers_out", "customers_served", "planned"),
)
REGIONS_PUBLIC_OUTAGES = Named(
    "RegionsPublicOutages",
    obj(
        {
            "updated": {**nullable(TIME), "description": "The latest of the regions'."},
            "totals": _PUBLIC_TOTALS,
            "regions": _by_region(_PUBLIC_TOTALS, "Each region's own totals."),
            "areas": array(
                obj(
                    {
                        "region": STR,
                        "area": {**nullable(STR), "description": "Null: in no zone."},
                        "name": nullable(STR),
                        "area_class": STR,
                        "customers_served": _COUNT,
                        "customers_out": _COUNT,
                        "outages": _COUNT,
                        "single_customer_outages": _COUNT,
                        "etr": nullable(TIME),
                        "items": array(
                            obj(
                                {
                                    "case": {
                                        **STR,
                                        "description": "A case reference of the region "
                                        "(looked up on its own public page).",
                                    },
                                    "customers_out": _COUNT,
                                    "started": TIME,
                                    "etr": nullable(TIME),
                                    "stage": STR,
                                    "stage_label": STR,
                                    "hazard": {"type": "boolean"},
                                },
                                ("case", "customers_out", "started", "stage"),
                            )
                        ),
                        "planned": array(obj({})),
                    },
                    ("region", "area", "customers_out", "outages", "items"),
                )
            ),
        },
        ("updated", "totals", "regions", "areas"),
        description="The public page's outages by area of every region (GET "
        "/api/public/outages on each), each area tagged with its region; no personal data.",
    ),
)

REGIONS_PUBLIC_AREAS = Named(
    "RegionsPublicAreas",
    obj(
        {
            "type": {"const": "FeatureCollection"},
            "features": array(
                obj(
                    {
                        "type": {"const": "Feature"},
                        "id": {
                            **STR,
                            "description": "``region/zone``: zone ids are each region's own.",
                        },
                        "properties": obj(
                            {
                                "region": STR,
                                "id": STR,
                                "name": {**STR, "description": "The place name, else the id."},
                                "area_class": STR,
                            },
                            ("region", "id", "name", "area_class"),
                        ),
                        "geometry": {"type": "object"},
                    },
                    ("type", "id", "properties", "geometry"),
                )
            ),
        },
        ("type", "features"),
        description="The response zones of every region (GET /api/public/areas on each), "
        "each tagged with its region, by region.",
    ),
)
REGIONS_PUBLIC_CASE = Named(
    "RegionsPublicCase",
    {
        "allOf": [CASE_SCHEMA, obj({"region": STR}, ("region",))],
        "description": "The case as its region's GET /api/public/case answers it, and its region.",
    },
)


# ----------------------------------------------------------------- helpers
@bp.errorhandler(RegionUnavailable)
def _region_unavailable(exc: RegionUnavailable) -> Any:
    """A region the views list cannot be read: 503 naming it and what to do,
    not a server error (to the public, without the schema and the remedy)."""
    if request.path.startswith("/api/regions/public/"):
        return jsonify(error="outage information is not available just now", status=503), 503
    return jsonify(error=str(exc), status=503), 503


def _from_views(db: Engine | Connection, read: Callable[[Engine | Connection], _T]) -> _T:
    """``read(db)`` of the views, or a 404 saying to make them first."""
    if not is_postgres(db):
        abort(
            404,
            description="no control regions in this database: regions are schemas of one "
            "PostgreSQL database (not SQLite), joined by `oms regions views --db URL "
            "--region NAME=SCHEMA ...`",
        )
    try:
        return read(db)
    except RegionUnavailable:
        raise
    except StorageError:
        abort(
            404,
            description=f"no control regions in this database (no {ALL_SCHEMA} views): run "
            "`oms regions views --db URL --region NAME=SCHEMA ...` first",
        )


def _status() -> list[dict[str, Any]]:
    """Each region's status, or a 404 saying to make the views first."""
    return _from_views(get_conn(), status)


def _regions(rows: list[dict[str, Any]]) -> list[Region]:
    return [Region(r["region"], r["schema"]) for r in rows]


def _now(clock: datetime, rows: list[dict[str, Any]]) -> datetime:
    """``clock``, never behind the engine clock of any of these regions."""
    applied = [datetime.fromisoformat(r["clock"]) for r in rows if r["clock"]]
    return max([clock, *applied])


def _region_network(db: Engine, conn: Connection, region: Region) -> Network | None:
    """The region's network as operated (its reported states, jumpers and cuts);
    the normal-state model is read once per network version. None: none loaded."""
    version = network_version(conn)
    if version is None:
        return None
    cache: dict[Region, tuple[int, Network]] = current_app.extensions.setdefault(
        "oms.regions.networks", {}
    )
    with _lock:
        found = cache.get(region)
    if found is None or found[0] != version:
        try:
            version, base = stored_network(conn, version)
        except NotLoadedError:
            return None
        found = (version, base)
        with _lock:
            cache[region] = found
    return with_reported_states(found[1], device_states(conn), field_in_place(conn))


def _public_app(db: Engine, region: Region) -> Flask:
    """The app object holding ``region``'s public-page model and case key (see the module doc)."""
    apps: dict[Region, Flask] = current_app.extensions.setdefault("oms.regions.public", {})
    with _lock:
        found = apps.get(region)
        if found is None:
            found = Flask(__name__)
            found.config["OMS_PHONE_COUNTRY_CODE"] = current_app.config.get(
                "OMS_PHONE_COUNTRY_CODE"
            )
            # The region's own key (made on first use, as its own public page would).
            with db.begin() as conn:
                on_region(conn, region)
                found.extensions["oms.case_key"] = case_key(conn)
            apps[region] = found
    return found


def _feature(props: Mapping[str, Any], pos: tuple[float, float] | None) -> dict[str, Any]:
    geometry = None
    if pos is not None:
        geometry = {"type": "Point", "coordinates": [round(pos[0], 6), round(pos[1], 6)]}
    return {"type": "Feature", "properties": dict(props), "geometry": geometry}


# ------------------------------------------------------------------ routes
@bp.get("")
@require(*_OVERVIEW_ROLES)
@operation(
    "The control regions and their status",
    tag="regions",
    ok={
        200: Answer("The regions by name (oms regions status).", array(REGION_STATUS)),
        404: _NONE,
        503: _GONE,
    },
    description="The regions the views across them (``oms regions views``) name, each "
    "with its schema revision, network version, engine clock, events, open outages "
    "and their customers out.",
)
def regions_status() -> Any:
    """Each region's status (``oms regions status``)."""
    return jsonify(_status())


@bp.get("/overview")
@require(*_OVERVIEW_ROLES)
@operation(
    "The storm overview's totals across regions",
    tag="regions",
    ok={200: Answer("The totals.", REGIONS_OVERVIEW), 304: NOT_MODIFIED, 404: _NONE, 503: _GONE},
    description="The totals of ``GET /api/overview`` (the dispatcher's top bar) of every "
    "region, as of the server's clock (never behind a region's engine clock), added "
    "up; ``regions`` holds each region's.",
)
def regions_overview() -> Any:
    """The overview's totals of all regions, from their snapshot."""
    return serve(("regions", "overview"), overview_doc, timed=True)


def overview_doc() -> dict[str, Any]:
    """``GET /api/regions/overview`` as built for its snapshot."""
    rows = _status()
    svc = service()
    now = _now(svc.clock(), rows)
    return overview_totals(database(), _regions(rows), now, svc.config.dispatch)


@bp.get("/outages")
@require(*_OUTAGES_ROLES)
@operation(
    "Open outages of every region, as GeoJSON",
    tag="regions",
    ok={
        200: Answer(
            "Points by start time; ``properties`` is the outage object and its region.",
            REGIONS_OUTAGES,
            "application/geo+json",
        ),
        304: NOT_MODIFIED,
        404: _NONE,
        503: _GONE,
    },
    description="The outages the dispatcher's lists and map show (predicted, confirmed, "
    "restored) of every region, from the view ``oms_all.outages``: each as "
    "``GET /api/outages?open=1`` gives it (``zone`` and ``crews`` from its region) with "
    "its ``region``, at the middle of its device (or its one customer) on its region's "
    "network.",
)
def regions_outages() -> Any:
    """Open outages across regions, from their snapshot."""
    return serve(("regions", "outages"), outages_doc, timed=True, mimetype="application/geo+json")


def outages_doc() -> dict[str, Any]:
    """``GET /api/regions/outages`` as built for its snapshot."""
    regions = _regions(_status())
    rows = get_conn().execute(
        text(
            f'SELECT * FROM "{ALL_SCHEMA}".outages WHERE state = ANY(:states)'
            " ORDER BY started, region, id"
        ),
        {"states": list(OPEN_OUTAGE_STATES)},
    )
    found: dict[str, list[Outage]] = {r.name: [] for r in regions}
    order: list[tuple[str, Outage]] = []
    for row in rows.mappings():
        values = dict(row)
        name = values.pop("region")
        outage = Outage.from_row(values)
        found.setdefault(name, []).append(outage)
        order.append((name, outage))
    props: dict[tuple[str, str], dict[str, Any]] = {}
    where: dict[tuple[str, str], tuple[float, float] | None] = {}
    db = database()
    for region in regions:
        outages = found.get(region.name)
        if not outages:
            continue
        with in_region(db, region) as conn:
            net = _region_network(db, conn, region)
            places = outage_places(conn, net, outages)
            singles = [o.customer for o in outages if o.customer and not o.device]
            xy = customer_positions(conn, net, singles) if net is not None else {}
        for o in outages:
            key = (region.name, o.id)
            props[key] = {**o.to_dict(), **places[o.id], "region": region.name}
            pos = outage_position(net, o.device) if net is not None else None
            if pos is None and o.customer:
                pos = xy.get(o.customer)
            where[key] = pos
    features = [
        _feature(props[(name, o.id)], where[(name, o.id)])
        for name, o in order
        if (name, o.id) in props
    ]
    return {"type": "FeatureCollection", "features": features}


@bp.get("/reports/indices")
@require(*_REPORT_ROLES)
@operation(
    "IEEE 1366 indices across regions",
    tag="regions",
    params=[
        query("start", "From (default: a year before end).", TIME),
        query("end", "Until (default: the server's clock).", TIME),
    ],
    ok={
        200: Answer("The indices of all regions' customers, and each region's.", REGIONS_INDICES),
        404: _NONE,
        503: _GONE,
    },
    errors=(400,),
    description="``GET /api/reports/indices`` of every region combined for outages "
    "starting in [start, end): SAIFI, SAIDI... over the customers served of all "
    "regions, from the regions' sums (not a mean of their indices).",
)
def regions_indices() -> Any:
    """IEEE 1366 indices across regions (``start``, ``end``)."""
    rows = _status()
    try:
        end = (
            parse_time(request.args["end"], "end")
            if "end" in request.args
            else _now(service().clock(), rows)
        )
        start = (
            parse_time(request.args["start"], "start")
            if "start" in request.args
            else end - timedelta(days=365)
        )
        return jsonify(indices(database(), _regions(rows), start, end))
    except (EventError, ValueError) as exc:
        abort(400, description=str(exc))


@bp.get("/public/outages")
@operation(
    "Current outages by area of every region (no login, no personal data)",
    tag="regions",
    ok={
        200: Answer("Outages by area.", REGIONS_PUBLIC_OUTAGES),
        304: NOT_MODIFIED,
        404: _NONE,
        503: _GONE,
    },
    description="``GET /api/public/outages`` of every region, each as of the region's "
    "own now, combined: every area tagged with its ``region`` (two regions may both "
    "have customers in no zone), most customers out first; totals added up. Case "
    "references are each region's own. Rebuilt at most every OMS_PUBLIC_REFRESH_S "
    "seconds (10) and cacheable until then (max-age); sent with an ETag "
    "(If-None-Match: 304).",
)
def regions_public_outages() -> Any:
    """The public outages document across regions, from its snapshot."""
    return serve(("regions", "public", "outages"), public_doc, timed=True, public=True)


def public_doc() -> dict[str, Any]:
    """``GET /api/regions/public/outages`` as built for its snapshot."""
    from webmap.public import outages_by_area

    rows = _status()
    clock = service().clock()
    db = database()
    docs: dict[str, dict[str, Any]] = {}
    for row, region in zip(rows, _regions(rows), strict=True):
        shadow = _public_app(db, region)
        with shadow.app_context(), in_region(db, region) as conn:
            docs[region.name] = outages_by_area(conn, _now(clock, [row]))
    return public_outages(docs)


@bp.get("/public/areas")
@operation(
    "The response zones of every region, as GeoJSON (no login)",
    tag="regions",
    ok={
        200: Answer("The zones, by region.", REGIONS_PUBLIC_AREAS, "application/geo+json"),
        304: NOT_MODIFIED,
        404: _NONE,
        503: _GONE,
    },
    description="``GET /api/public/areas`` of every region: each zone's polygon with "
    "``id``, ``name`` (its place name, else its id), ``area_class`` and its ``region`` "
    "(two regions may have zones of the same id; the feature's ``id`` is "
    "``region/zone``). The public page across regions colours them by the customers "
    "out of ``GET /api/regions/public/outages``. Rebuilt at most every "
    "OMS_PUBLIC_REFRESH_S seconds (10) and cacheable until then; sent with an ETag.",
)
def regions_public_areas() -> Any:
    """The zones of every region, from their snapshot."""
    return serve(
        ("regions", "public", "areas"),
        public_areas_doc,
        timed=True,
        public=True,
        mimetype="application/geo+json",
    )


def public_areas_doc() -> dict[str, Any]:
    """``GET /api/regions/public/areas`` as built for its snapshot."""
    db = database()
    features: list[dict[str, Any]] = []
    for region in _from_views(db, list_regions):
        with in_region(db, region) as conn:
            own = sorted(zone_features(conn), key=lambda f: f["id"])
        features.extend(
            {
                **f,
                "id": f"{region.name}/{f['id']}",
                "properties": {"region": region.name, **f["properties"]},
            }
            for f in own
        )
    return {"type": "FeatureCollection", "features": features}


@bp.get("/public/case")
@operation(
    "The progress of one case of any region, by case reference or phone (no login)",
    tag="regions",
    params=[
        query(
            "case",
            "The case reference from the acknowledgement message (12 letters and "
            "digits, like K7QF-2MXH-4PZA): a reference of any region.",
            STR,
        ),
        query(
            "phone",
            "The phone number the utility has for the customer, as on the public page.",
            STR,
        ),
    ],
    ok={
        200: Answer("The case, with its region.", REGIONS_PUBLIC_CASE),
        404: Answer(
            "No such case in any region (or no control regions here: " + _NO_VIEWS + ")",
            ERROR,
        ),
        503: _GONE,
    },
    errors=(429,),
    description="``GET /api/public/case`` across regions: exactly one of ``case`` and "
    "``phone``. A case reference is each region's own (a keyed hash with the "
    "region's key): it is looked up in each region until the one that made it "
    "answers. A phone number is looked up in every region; the case answered is "
    "an active one first, the latest. An unknown reference or phone and one "
    "without a current case give the same 404. Rate-limited per client address "
    "with the public page's lookups (PUBLIC_LOOKUP_LIMIT per PUBLIC_LOOKUP_WINDOW_S: "
    "429 and Retry-After beyond it). No personal data.",
)
def regions_public_case() -> Any:
    """One case's progress, looked up in the region owning it (see the module doc)."""
    db = database()
    regions = _from_views(db, list_regions)

    def by_ref(ref: str) -> dict[str, Any] | None:
        for region in regions:
            found = _case_in(db, region, lambda conn, now: case_by_ref(conn, ref, now))
            if found is not None:
                return found
        return None

    def by_phone(digits: str) -> dict[str, Any] | None:
        found = [
            doc
            for region in regions
            if (doc := _case_in(db, region, lambda c, now: case_by_phone(c, digits, now)))
            is not None
        ]
        return max(found, key=_preferred, default=None)

    return lookup(by_ref, by_phone)


def _case_in(
    db: Engine,
    region: Region,
    find: Callable[[Connection, datetime], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """``find`` on ``region``'s schema as of its own now, with its public-page model and
    case key (its app object, see the module doc); the case found gets its ``region``."""
    svc = service()
    shadow = _public_app(db, region)
    with shadow.app_context(), in_region(db, region) as conn:
        doc = find(conn, svc.now(conn))
    return None if doc is None else {**doc, "region": region.name}


def _preferred(doc: Mapping[str, Any]) -> tuple[bool, datetime]:
    """The order a phone's cases are preferred in (:func:`webmap.public.case_by_phone`'s):
    an active one first, the latest started; else the latest restored."""
    active = doc["status"] == "active"
    at = doc["started"] if active else doc["restored"] or doc["started"]
    return active, datetime.fromisoformat(at)


# ------------------------------------------------------------ the stream
#: An SSE id of the stream across regions: a position per region.
_POSITION = r"^([a-z][a-z0-9_-]*:[0-9]+(,[a-z][a-z0-9_-]*:[0-9]+)*)?$"


def _given_positions(raw: str | None) -> dict[str, int]:
    """The position per region a client gives (``north:120,south:87``)."""
    given: dict[str, int] = {}
    for part in (raw or "").split(","):
        name, sep, seq = part.strip().partition(":")
        if sep:
            given[name] = position(seq)
    return given


def _position(at: Mapping[str, int]) -> str:
    """The SSE id of these positions, by region name."""
    return ",".join(f"{name}:{seq}" for name, seq in sorted(at.items()))


def _regions_feed(
    db: Engine, regions: Sequence[Region], given: Mapping[str, int]
) -> tuple[tuple[str, dict[str, Any]], Read]:
    """The hello (id and data) and the reader of every region's changes after
    its position in ``given``, else after its latest (:func:`webmap.stream.events`)."""
    at: dict[str, int] = {}
    for region in regions:
        with in_region(db, region) as conn:
            latest = last_change(conn)
        # Past the region's end (an id from elsewhere, or made up): from its end.
        at[region.name] = min(given.get(region.name, latest), latest)

    def read() -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        out: list[tuple[str, dict[str, Any]]] = []
        more = False
        for region in regions:
            with in_region(db, region) as conn:
                batch = changes_after(conn, at[region.name], _STREAM_PAGE)
            more = more or len(batch) == _STREAM_PAGE
            for change in batch:
                at[region.name] = change["seq"]
                out.append((_position(at), {"region": region.name, **change}))
        return out, more

    return (_position(at), {"regions": dict(at)}), read


@bp.get("/stream")
@require(*_OVERVIEW_ROLES)
@operation(
    "Live changes of every region as Server-Sent Events",
    tag="regions",
    params=[
        Param(
            "Last-Event-ID",
            "Replay every region's changes after its position here (``north:120,south:87``, "
            "the id of a message of this stream; browsers send it when they reconnect).",
            {"type": "string", "pattern": _POSITION},
            "header",
        ),
        query("since", "As ``Last-Event-ID``.", {"type": "string", "pattern": _POSITION}),
    ],
    ok={
        200: Answer(
            "``text/event-stream``: first ``event: hello`` with the position it starts "
            'from (``{"regions": {"north": 120, ...}}``), then one message per change '
            "of any region: ``event`` and ``data`` as on ``/stream`` with the change's "
            "``region`` in ``data``, ``id`` the position per region after it. A comment "
            "line keeps the connection alive.",
            STR,
            "text/event-stream",
        ),
        404: _NONE,
        503: _GONE,
    },
    description="Every region's ``changes`` feed (the regions of ``oms_all.regions``) "
    "as one stream. An id names each region's last change sent, so a reconnection to "
    "any server of the database misses nothing and repeats nothing; a region it does "
    "not name starts from its latest change (as a stream with no id does).",
)
def regions_stream() -> Response:
    """Server-Sent Events of every region's changes (see the module doc)."""
    user, cred = current_user(), credential()
    assert user is not None and cred is not None
    db = database()
    regions = _from_views(db, list_regions)
    hello, read = _regions_feed(db, regions, _given_positions(resume_id()))
    return respond(events(db, user, hello, read, lambda: still_signed_in(cred)))


# ------------------------------------------------------------------ the page
@page_bp.get("/regions")
@require(*_roles(overview.page))
def page() -> Any:
    """The page drawing the routes across regions (templates/regions.html)."""
    _from_views(database(), list_regions)
    cfg = current_app.config
    config = {
        # How stale a combined snapshot may be: a change in another region's
        # schema is seen by this server's snapshots within it.
        "snapshotS": float(cfg.get("OMS_SNAPSHOT_S", 1.0)),
        "tiles": cfg.get("OMS_TILE_URL"),
        "tilesAttribution": cfg.get("OMS_TILE_ATTRIBUTION") or "Local tiles",
    }
    return render_template("regions.html", config=config, user=current_user())


@page_bp.get("/regions/public/")
def public_regions_page() -> Any:
    """The public outage page across regions (templates/regions-public.html): no
    sign-in; 404 where there are no regions, as their routes."""
    _from_views(database(), list_regions)
    return public_page("regions-public.html")


@page_bp.app_context_processor
def _navigation() -> dict[str, Any]:
    """``regions_served()`` for the pages' navigation: whether this database holds regions."""

    def regions_served() -> bool:
        try:
            return bool(list_regions(database()))
        except StorageError:
            return False

    return {"regions_served": regions_served}
