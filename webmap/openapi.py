"""The OpenAPI 3.1 description of the HTTP API, served at ``GET /api/openapi.json``.

The document is put together from fragments, so that every blueprint
describes its own routes:

- this module describes the REST API of :mod:`webmap.api`, the JSON
  sign-in routes of :mod:`webmap.auth` and the live stream ``/stream`` of
  :mod:`webmap.stream`;
- each of :data:`CONTRIBUTORS` (``webmap.api``, ``webmap.public``,
  ``webmap.dispatcher``, ``webmap.crew``) may define a module-level
  ``OPENAPI_PATHS`` (an OpenAPI "paths" fragment: path -> method ->
  operation) and ``OPENAPI_SCHEMAS`` (components/schemas); they are merged
  in. A path and method described twice is an error, so a test catches it.

Paths are written with OpenAPI templates (``/api/jobs/{job_id}``), the
Flask rule with ``<x>`` turned into ``{x}``; ``tests/test_api.py`` checks
that every ``/api/...`` route of the app is described and every described
path exists. Operations carry ``x-roles``: the roles allowed (an admin may
do everything). ``operationId`` is the Flask endpoint.

Security: ``session`` (the signed session cookie from ``POST /api/login``
or the ``/login`` form) with ``csrf`` (the ``X-CSRFToken`` header, needed
on every request that changes state), or ``bearer`` (a handheld's token,
``Authorization: Bearer ...``; no CSRF token).
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

from flask import current_app, jsonify

from webmap.api import CREW_ACTIONS, JOB_ACTIONS, OUTAGE_ACTIONS, bp

__all__ = ["CONTRIBUTORS", "SCHEMAS", "build_document", "openapi_json", "paths"]

#: Modules whose ``OPENAPI_PATHS`` / ``OPENAPI_SCHEMAS`` are merged in.
CONTRIBUTORS = ("webmap.api", "webmap.public", "webmap.dispatcher", "webmap.crew")

Schema = dict[str, Any]
_REF = "#/components/schemas/"


# ------------------------------------------------------------------ helpers
def _ref(name: str) -> Schema:
    return {"$ref": _REF + name}


def _null(schema: Schema) -> Schema:
    """``schema`` or null (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    if set(schema) == {"type"} and isinstance(schema["type"], str):
        return {"type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(
    properties: dict[str, Schema],
    required: tuple[str, ...] | list[str] = (),
    *,
    extra: bool = True,
    description: str | None = None,
) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if not extra:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
IDS: Schema = _array(STR)
ANY_OBJECT: Schema = {"type": "object"}
LON: Schema = {"type": "number", "minimum": -180, "maximum": 180}
LAT: Schema = {"type": "number", "minimum": -90, "maximum": 90}

_STAMPS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G", "H", "made_safe", "repaired")
_STAMPS += ("restored", "callback", "closed")
_SEGMENTS = ("AB", "BC", "CD", "DE", "EF", "FG", "GH")
_CREW_STATUS: tuple[str, ...] = ("off_shift", "available", "assigned", "accepted", "en_route")
_CREW_STATUS += ("on_site", "returning")
ROLES = ("dispatcher", "crew", "engineer", "admin")
TRACES = (
    "upstream",
    "feeder",
    "downstream",
    "deenergized",
    "loops",
    "path",
    "isolate",
    "restore",
)
REPORTS = ("indices", "compliance", "bulletin")

# ------------------------------------------------------------------ schemas
_EVENT_COMMON: dict[str, Schema] = {
    "id": {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "description": "Unique for all time: the idempotency key.",
    },
    "time": {**TIME, "description": "ISO 8601 with a UTC offset."},
}


def _event(etype: str, props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    return _obj(
        {**_EVENT_COMMON, "type": {"const": etype}, **props},
        ("id", "type", "time", *required),
    )


_TELEMETRY: list[Schema] = [
    _event(
        "call",
        {
            "customer": STR,
            "phone": STR,
            "node": STR,
            "lon": LON,
            "lat": LAT,
            "power": {"enum": ["off", "on"]},
            "hazard": STR,
            "note": STR,
        },
    ),
    _event("ami_last_gasp", {"customer": STR, "meter": STR}),
    _event("ami_restore", {"customer": STR, "meter": STR}),
    _event("ami_ping_reply", {"customer": STR, "meter": STR, "energized": BOOL}, ("energized",)),
    _event(
        "scada",
        {"device": STR, "state": {"enum": ["open", "closed"]}, "lockout": BOOL},
        ("device", "state"),
    ),
    _event("fci", {"device": STR, "fault": BOOL}, ("device", "fault")),
    _event("crew_gps", {"crew": STR, "lon": LON, "lat": LAT}, ("crew", "lon", "lat")),
]

_ACTION_TYPES = sorted(
    {*OUTAGE_ACTIONS.values(), *JOB_ACTIONS.values()}
    | {"outage_merge", "switch", "crew_status", "survey_answer"}
)

SCHEMAS: dict[str, Schema] = {
    "Error": _obj(
        {"error": {**STR, "description": "What is wrong, in words."}, "status": INT},
        ("error",),
        description="Every error answer of the API.",
    ),
    "Rejection": _obj(
        {
            "line": {**INT, "description": "The event's line (JSON lines) or position, from 1."},
            "error": STR,
        },
        ("line", "error"),
    ),
    "IngestReport": _obj(
        {"accepted": INT, "duplicates": INT, "rejected": _array(_ref("Rejection"))},
        ("accepted", "duplicates", "rejected"),
        description="What an intake did (contract 4 ``oms ingest``). 200: all accepted "
        "or duplicates; 422: some lines were rejected (the others are applied).",
    ),
    "Conflict": _obj(
        {
            "error": STR,
            "accepted": INT,
            "duplicates": INT,
            "rejected": _array(_ref("Rejection")),
        },
        ("error",),
        description="An event id seen before with other content (the report, when "
        "there is one, says which line).",
    ),
    "Event": {
        "description": "An event (contract 3, docs/events.md): telemetry or a "
        "dispatcher/crew action, with ``id``, ``type`` and ``time``.",
        "anyOf": [
            *_TELEMETRY,
            _obj(
                {**_EVENT_COMMON, "type": {"enum": _ACTION_TYPES}, "user": STR, "reason": STR},
                ("id", "type", "time"),
            ),
        ],
    },
    "Outage": _obj(
        {
            "id": STR,
            "kind": {"enum": ["network", "single_customer", "momentary"]},
            "device": _null(STR),
            "customer": _null(STR),
            "section": IDS,
            "state": {"enum": ["predicted", "confirmed", "restored", "closed", "cancelled"]},
            "customers_out": INT,
            "critical_out": INT,
            "started": TIME,
            "restored": _null(TIME),
            "etr": _null(TIME),
            "calls": INT,
            "hazard": BOOL,
            "confirmed_by": _null(STR),
            "located_at": _null(TIME),
            "merged_into": _null(STR),
            "revealed_by": _null(STR),
        },
        ("id", "kind", "device", "state", "customers_out", "started", "calls"),
        description="An outage (contract 4 ``oms outages``).",
    ),
    "OutageDetail": {
        "allOf": [
            _ref("Outage"),
            _obj(
                {
                    "audit": _array(
                        _obj(
                            {
                                "time": TIME,
                                "actor": STR,
                                "action": STR,
                                "reason": _null(STR),
                                "detail": ANY_OBJECT,
                            },
                            ("time", "actor", "action"),
                        )
                    ),
                    "evidence": _array(
                        _obj(
                            {
                                "seq": INT,
                                "id": STR,
                                "type": STR,
                                "time": TIME,
                                "customer": _null(STR),
                                "device": _null(STR),
                                "payload": ANY_OBJECT,
                            },
                            ("seq", "id", "type", "time", "payload"),
                        )
                    ),
                },
                ("audit", "evidence"),
            ),
        ],
        "description": "An outage with its audit trail and the events behind it.",
    },
    "Job": _obj(
        {
            "id": STR,
            "outage": _null(STR),
            "kind": STR,
            "state": STR,
            "crew": _null(STR),
            "priority": NUM,
            "zone": _null(STR),
            "area_class": STR,
            "unit": _null(STR),
            "device": _null(STR),
            "customer": _null(STR),
            "lon": NUM,
            "lat": NUM,
            "hazard": BOOL,
            "stamps": _obj({k: _null(TIME) for k in _STAMPS}, _STAMPS),
            "targets": _obj(
                {k: NUM for k in (*_SEGMENTS, "arrival", "restoration")},
                description="Limits in minutes.",
            ),
            "breaches": IDS,
            "warnings": ANY_OBJECT,
            "etr": _null(TIME),
            "etr_source": _null(STR),
            "closeout": _null(ANY_OBJECT),
        },
        ("id", "outage", "state", "crew", "priority", "stamps", "targets", "breaches"),
        description="A job (contract 4 ``oms jobs``; docs/dispatch.md).",
    ),
    "JobDetail": {
        "allOf": [
            _ref("Job"),
            _obj(
                {
                    "customer_details": _null(
                        _obj(
                            {
                                "id": STR,
                                "name": _null(STR),
                                "phone": _null(STR),
                                "address": _null(STR),
                                "critical": _null(STR),
                            }
                        )
                    ),
                    "outage_details": _null(_ref("Outage")),
                }
            ),
        ],
        "description": "A job with its customer (service jobs) and its outage.",
    },
    "Crew": _obj(
        {
            "id": STR,
            "name": _null(STR),
            "unit": _null(STR),
            "status": {"enum": list(_CREW_STATUS)},
            "lon": _null(NUM),
            "lat": _null(NUM),
            "gps_time": _null(TIME),
            "stale": BOOL,
            "zone": _null(STR),
            "skills": IDS,
            "jobs": IDS,
        },
        ("id", "unit", "status", "lon", "lat", "gps_time", "stale", "zone", "skills", "jobs"),
        description="A crew (contract 4 ``oms crews``).",
    ),
    "Decision": _obj(
        {
            "job": STR,
            "crew": _null(STR),
            "rule": {"enum": ["zone", "nearest", "preempt", "none"]},
            "eta_s": _null(NUM),
            "alternatives": _array(
                _obj(
                    {"crew": STR, "eta_s": _null(NUM), "why_not": STR},
                    ("crew", "why_not"),
                )
            ),
        },
        ("job", "crew", "rule", "eta_s", "alternatives"),
        description="The dispatch rules' choice (contract 4 ``oms dispatch suggest``).",
    ),
    "Alert": _obj(
        {
            "seq": INT,
            "time": TIME,
            "kind": STR,
            "level": STR,
            "job": _null(STR),
            "crew": _null(STR),
            "unit": _null(STR),
            "contact": _null(STR),
            "detail": ANY_OBJECT,
        },
        ("seq", "time", "kind", "level"),
    ),
    "AuditEntry": _obj(
        {
            "seq": INT,
            "time": TIME,
            "username": _null(STR),
            "device": _null(STR),
            "remote": _null(STR),
            "action": STR,
            "ref": _null(STR),
            "outcome": STR,
            "lon": _null(NUM),
            "lat": _null(NUM),
            "detail": ANY_OBJECT,
        },
        ("seq", "time", "username", "action", "outcome"),
        description="One row of the access audit (``lon``/``lat``: the client's "
        "``X-Position`` header).",
    ),
    "User": _obj(
        {"username": STR, "role": {"enum": list(ROLES)}, "crew": _null(STR)},
        ("username", "role", "crew"),
    ),
    "Session": _obj(
        {
            "user": _ref("User"),
            "csrf_token": {
                **STR,
                "description": "Send it as ``X-CSRFToken`` on requests that change state.",
            },
            "device": _null(STR),
        },
        ("user", "csrf_token"),
    ),
    "Device": _obj(
        {
            "id": STR,
            "name": STR,
            "username": STR,
            "created_at": TIME,
            "revoked_at": _null(TIME),
        },
        ("id", "name", "username", "created_at", "revoked_at"),
    ),
    "NewDevice": _obj(
        {
            "id": STR,
            "name": STR,
            "username": STR,
            "token": {**STR, "description": "The bearer token; shown this once."},
        },
        ("id", "name", "username", "token"),
    ),
    "Trace": {
        "description": "A trace on the network as operated (contract 4 ``oms trace``).",
        "anyOf": [
            _obj(
                {"element": STR, "source": _null(STR), "path": IDS, "protective_devices": IDS},
                ("element", "source", "path", "protective_devices"),
                description="upstream",
            ),
            _obj(
                {
                    "element": STR,
                    "feeder": _null(STR),
                    "source": STR,
                    "nodes": IDS,
                    "customers": INT,
                },
                ("element", "feeder", "source", "nodes", "customers"),
                description="feeder",
            ),
            _obj(
                {"device": STR, "nodes": IDS, "devices": IDS, "customers": INT},
                ("device", "nodes", "devices", "customers"),
                description="downstream",
            ),
            _obj(
                {"nodes": IDS, "customers": INT}, ("nodes", "customers"), description="deenergized"
            ),
            _obj({"loops": _array(IDS)}, ("loops",), description="loops"),
            _obj(
                {"from": STR, "to": STR, "edges": IDS, "nodes": IDS},
                ("from", "to", "edges", "nodes"),
                description="path",
            ),
            _obj(
                {"faulted": STR, "open": IDS, "deenergized_nodes": IDS, "section_nodes": IDS},
                ("faulted", "open", "deenergized_nodes"),
                description="isolate",
            ),
            _obj(
                {
                    "faulted": STR,
                    "open": IDS,
                    "close": IDS,
                    "restored_customers": INT,
                    "unrestored_customers": INT,
                    "tripped": _null(STR),
                    "steps": {"type": "array"},
                    "pickups": {},
                },
                ("faulted", "open", "close", "restored_customers", "unrestored_customers"),
                description="restore",
            ),
        ],
    },
    "Report": {
        "description": "indices (IEEE 1366), compliance (A-H targets) or the daily "
        "bulletin (docs/dispatch.md, Reports).",
        "anyOf": [
            _obj(
                {
                    "period": _obj({"start": TIME, "end": TIME}),
                    "customers_served": INT,
                    "all": ANY_OBJECT,
                    "excluding_med": _null(ANY_OBJECT),
                    "major_event_days": {"type": "array"},
                    "t_med_minutes": _null(NUM),
                    "daily_saidi": ANY_OBJECT,
                },
                ("period", "customers_served", "all", "major_event_days"),
                description="indices",
            ),
            _obj(
                {
                    "jobs": INT,
                    "segments": ANY_OBJECT,
                    "arrival": ANY_OBJECT,
                    "arrival_minutes": ANY_OBJECT,
                },
                ("jobs", "segments", "arrival"),
                description="compliance",
            ),
            _obj(
                {
                    "day": {"type": "string", "format": "date"},
                    "outages": ANY_OBJECT,
                    "customers_interrupted": INT,
                    "critical_customers_interrupted": INT,
                    "hazards": INT,
                    "still_out": INT,
                    "worst": _array(ANY_OBJECT),
                    "indices": ANY_OBJECT,
                    "response": ANY_OBJECT,
                },
                ("day", "outages", "customers_interrupted", "worst"),
                description="bulletin",
            ),
        ],
    },
    # ----- request bodies
    "OutageAction": _obj(
        {
            "id": {**_EVENT_COMMON["id"], "description": "Idempotency key (made if absent)."},
            "time": {**TIME, "description": "When it was done (default: now)."},
            "reason": STR,
            "device": {**STR, "description": "confirm: the protective device, if another."},
            "devices": {**IDS, "description": "split: two or more devices."},
            "outages": {**IDS, "description": "merge: the outages merged into this one."},
        },
    ),
    "JobAction": _obj(
        {
            "id": {**_EVENT_COMMON["id"], "description": "Idempotency key (made if absent)."},
            "time": {**TIME, "description": "When it was done (default: now)."},
            "crew": {**STR, "description": "assign: the crew (default: the suggested one)."},
            "reason": STR,
            "etr": {**TIME, "description": "estimate: the crew's estimated restoration."},
            "answer": {"description": "callback: the customer's answer."},
            "closeout": _obj(
                {
                    "cause": STR,
                    "equipment": STR,
                    "actions": STR,
                    "outage_start": TIME,
                    "outage_end": TIME,
                    "remarks": STR,
                },
                ("cause", "equipment", "actions", "outage_start", "outage_end"),
                description="close: the close-out form.",
            ),
        },
    ),
    "GpsReport": _obj(
        {"lon": LON, "lat": LAT, "id": _EVENT_COMMON["id"], "time": TIME},
        ("lon", "lat"),
    ),
    "CrewStatus": _obj(
        {
            "status": {"enum": ["off_shift", "available", "returning"]},
            "id": _EVENT_COMMON["id"],
            "time": TIME,
        },
        ("status",),
    ),
    "Switching": _obj(
        {
            "device": STR,
            "state": {"enum": ["open", "closed"]},
            "confirm": {"const": True, "description": "Switching must be confirmed."},
            "reason": STR,
            "id": _EVENT_COMMON["id"],
            "time": TIME,
        },
        ("device", "state", "confirm"),
    ),
    "Login": _obj({"username": STR, "password": STR}, ("username", "password")),
    "NewUser": _obj(
        {
            "username": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            "password": {"type": "string", "minLength": 8},
            "role": {"enum": list(ROLES)},
            "crew": {**STR, "description": "The crew of a crew user (only then)."},
        },
        ("username", "password", "role"),
    ),
    "DeviceRequest": _obj(
        {
            "username": {**STR, "description": "The user the handheld acts as."},
            "name": {"type": "string", "minLength": 1, "maxLength": 128},
        },
        ("username", "name"),
    ),
}

# ---------------------------------------------------------------- responses
_ERRORS = {
    "400": "Bad request: a malformed body or parameter, or a session request that "
    "changes state without its CSRF token (``error`` says which).",
    "401": "Not signed in, or the token is unknown or revoked.",
    "403": "Signed in, but the role may not do this.",
    "404": "No such object (for a crew: not one of its own).",
    "409": "Conflict: an event id seen before with other content.",
    "413": "Too many events in one request (at most 10000).",
    "422": "Some events were rejected (``rejected`` names the line and the reason).",
    "429": "Too many failed logins: try again later.",
}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _answer(description: str, schema: Schema | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = _json(schema)
    return out


def _error(code: str) -> dict[str, Any]:
    if code == "409":
        return _answer(_ERRORS[code], _ref("Conflict"))
    if code == "422":
        return _answer(_ERRORS[code], _ref("IngestReport"))
    return _answer(_ERRORS[code], _ref("Error"))


def _path_param(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _query(name: str, description: str, schema: Schema | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or STR,
    }


_READ: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}]
_WRITE: list[dict[str, list[str]]] = [{"session": [], "csrf": []}, {"bearer": []}]


def _op(
    endpoint: str,
    summary: str,
    *,
    tag: str,
    roles: tuple[str, ...] | None,
    ok: dict[str, Any],
    errors: tuple[str, ...] = (),
    params: list[dict[str, Any]] | None = None,
    body: Schema | None = None,
    body_required: bool = False,
    write: bool = False,
    description: str | None = None,
) -> dict[str, Any]:
    """One operation object. ``roles`` None: no sign-in needed."""
    op: dict[str, Any] = {"operationId": endpoint, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": _json(body)}
    op["responses"] = dict(ok)
    codes = set(errors)
    if roles is not None:
        codes |= {"401", "403"}
        op["security"] = _WRITE if write else _READ
        op["x-roles"] = list(roles)
    else:
        op["security"] = []
    if params or body is not None or write:
        codes.add("400")  # a malformed parameter or body, or a CSRF failure
    for code in sorted(codes):
        op["responses"][code] = _error(code)
    return op


def _ok(description: str, schema: Schema | None = None, code: str = "200") -> dict[str, Any]:
    return {code: _answer(description, schema)}


_INGEST_OK = _ok("Applied (or duplicates).", _ref("IngestReport"))
_INGEST_ERRORS = ("400", "409", "422")
_DISPATCH = ("dispatcher",)
_DESK = ("dispatcher", "engineer")
_ANYONE = ("dispatcher", "engineer", "crew")


# -------------------------------------------------------------------- paths
def paths() -> dict[str, dict[str, Any]]:
    """The paths this module describes: the REST API, JSON sign-in and ``/stream``."""
    outage_id = _path_param("outage_id", "An outage id.", example="OUT-000001")
    job_id = _path_param("job_id", "A job id.", example="JOB-000001")
    crew_id = _path_param("crew_id", "A crew id.", example="K1")
    limit = _query("limit", "At most this many rows (1-5000, default 200).", INT)
    crew_actions = ", ".join(sorted(CREW_ACTIONS))
    return {
        "/api/openapi.json": {
            "get": _op(
                "api.openapi_json",
                "This description",
                tag="meta",
                roles=None,
                ok=_ok("The OpenAPI 3.1 document.", ANY_OBJECT),
            )
        },
        "/api/health": {
            "get": _op(
                "api.health",
                "Liveness: the database answers",
                tag="meta",
                roles=None,
                ok=_ok(
                    "Up, with the engine clock.",
                    _obj({"status": {"const": "ok"}, "clock": TIME}, ("status", "clock")),
                ),
            )
        },
        "/api/clock": {
            "get": _op(
                "api.clock",
                "The server's clock and its speed",
                tag="meta",
                roles=None,
                ok=_ok(
                    "Now by the server (simulated time in ``oms demo``), and simulated "
                    "seconds per real second (1 in production).",
                    _obj({"now": TIME, "speed": {"type": "number"}}, ("now", "speed")),
                ),
            )
        },
        "/api/login": {
            "post": _op(
                "auth.api_login",
                "Sign in (JSON): starts a session",
                tag="auth",
                roles=None,
                body=_ref("Login"),
                body_required=True,
                ok=_ok(
                    "Signed in: the session cookie is set; send ``csrf_token`` as "
                    "``X-CSRFToken`` on requests that change state.",
                    _obj({"user": _ref("User"), "csrf_token": STR}, ("user", "csrf_token")),
                ),
                errors=("400", "401", "429"),
                description="Failed logins are audited; after 5 for one user name (20 from "
                "one address) within 5 minutes, logins are refused with 429. No CSRF "
                "token is needed here.",
            )
        },
        "/api/session": {
            "get": _op(
                "auth.whoami",
                "The signed-in user and a fresh CSRF token",
                tag="auth",
                roles=None,
                ok=_ok("Signed in.", _ref("Session")),
                errors=("401",),
            )
        },
        "/api/events": {
            "post": {
                **_op(
                    "api.post_events",
                    "Event intake (contract 3)",
                    tag="intake",
                    roles=_DESK,
                    write=True,
                    ok=_INGEST_OK,
                    errors=(*_INGEST_ERRORS, "413"),
                    description="One event object, a list of them, or JSON lines "
                    "(``Content-Type: application/x-ndjson``). A line that is not valid "
                    "is rejected with its number (from 1) and the reason (422); the "
                    "others are still applied. An id seen before with the same content "
                    "is a duplicate; with other content a conflict (409).",
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "anyOf": [
                                    _ref("Event"),
                                    {**_array(_ref("Event")), "minItems": 1},
                                ]
                            }
                        },
                        "application/x-ndjson": {
                            "schema": {
                                "type": "string",
                                "description": "One event object per line.",
                            }
                        },
                    },
                },
            }
        },
        "/api/outages": {
            "get": _op(
                "api.outages",
                "Outages",
                tag="outages",
                roles=_DESK,
                params=[
                    _query(
                        "state",
                        "Only outages in this state (default: all but cancelled).",
                        {"enum": ["predicted", "confirmed", "restored", "closed", "cancelled"]},
                    )
                ],
                ok=_ok("Outages by start time.", _array(_ref("Outage"))),
            )
        },
        "/api/outages/{outage_id}": {
            "get": _op(
                "api.outage",
                "One outage, with its audit trail and evidence",
                tag="outages",
                roles=_DESK,
                params=[outage_id],
                ok=_ok("The outage.", _ref("OutageDetail")),
                errors=("404",),
            )
        },
        "/api/outages/{outage_id}/{action}": {
            "post": _op(
                "api.outage_action",
                "A dispatcher's action on an outage",
                tag="outages",
                roles=_DISPATCH,
                write=True,
                params=[
                    outage_id,
                    _path_param(
                        "action",
                        "confirm (``device``), merge (``outages``: merged into this one), "
                        "split (``devices``), repredict, restore or close.",
                        enum=["merge", *OUTAGE_ACTIONS],
                    ),
                ],
                body=_ref("OutageAction"),
                ok=_INGEST_OK,
                errors=(*_INGEST_ERRORS, "404"),
                description="Goes into the event log as an ``outage_*`` event "
                "(docs/events.md). An action that cannot be done (unknown outage, "
                "closing one not restored) is rejected (422) with the reason.",
            )
        },
        "/api/jobs": {
            "get": _op(
                "api.jobs",
                "Jobs, open ones by priority first",
                tag="jobs",
                roles=_ANYONE,
                params=[_query("open", "``1`` or ``true``: open jobs only.")],
                ok=_ok("Jobs (a crew sees only its own).", _array(_ref("Job"))),
            )
        },
        "/api/jobs/{job_id}": {
            "get": _op(
                "api.job",
                "One job",
                tag="jobs",
                roles=_ANYONE,
                params=[job_id],
                ok=_ok("The job.", _ref("JobDetail")),
                errors=("404",),
            )
        },
        "/api/jobs/{job_id}/suggest": {
            "get": _op(
                "api.suggest",
                "The crew the dispatch rules would send (nothing changes)",
                tag="jobs",
                roles=_DISPATCH,
                params=[job_id],
                ok=_ok("The decision, with every alternative.", _ref("Decision")),
                errors=("404", "409"),
            )
        },
        "/api/jobs/{job_id}/{action}": {
            "post": _op(
                "api.job_action",
                "A stage or dispatcher action on a job",
                tag="jobs",
                roles=("dispatcher", "crew"),
                write=True,
                params=[
                    job_id,
                    _path_param(
                        "action",
                        f"A crew may {crew_actions} its own jobs; assign, callback and "
                        "recall are the dispatcher's.",
                        enum=list(JOB_ACTIONS),
                    ),
                ],
                body=_ref("JobAction"),
                ok=_INGEST_OK,
                errors=(*_INGEST_ERRORS, "404"),
                description="Goes into the event log as a ``job_*`` event "
                "(docs/dispatch.md). A crew acting on another crew's job gets 404; "
                "an action the job's stage does not allow is rejected (422).",
            )
        },
        "/api/crews": {
            "get": _op(
                "api.crews",
                "Crews with status, position, zone, skills and jobs",
                tag="crews",
                roles=_ANYONE,
                ok=_ok("Crews (a crew user sees only its own).", _array(_ref("Crew"))),
            )
        },
        "/api/crews/{crew_id}/gps": {
            "post": _op(
                "api.crew_gps",
                "A crew's position report",
                tag="crews",
                roles=("dispatcher", "crew"),
                write=True,
                params=[crew_id],
                body=_ref("GpsReport"),
                body_required=True,
                ok=_INGEST_OK,
                errors=_INGEST_ERRORS,
                description="A ``crew_gps`` event. A crew reports only its own position.",
            )
        },
        "/api/crews/{crew_id}/status": {
            "post": _op(
                "api.crew_status",
                "A crew's status: off shift, available, returning",
                tag="crews",
                roles=("dispatcher", "crew"),
                write=True,
                params=[crew_id],
                body=_ref("CrewStatus"),
                body_required=True,
                ok=_INGEST_OK,
                errors=_INGEST_ERRORS,
            )
        },
        "/api/switch": {
            "post": _op(
                "api.switch",
                "Operate a switch (must be confirmed)",
                tag="network",
                roles=_DESK,
                write=True,
                body=_ref("Switching"),
                body_required=True,
                ok=_INGEST_OK,
                errors=_INGEST_ERRORS,
                description='Without ``"confirm": true`` nothing is done (400).',
            )
        },
        "/api/trace/{kind}": {
            "get": _op(
                "api.trace",
                "A trace on the network as operated",
                tag="network",
                roles=_ANYONE,
                params=[
                    _path_param("kind", "The trace.", enum=list(TRACES)),
                    _query("element", "upstream, feeder: a node or edge id.", {**STR}),
                    _query("device", "downstream, isolate, restore: an edge id."),
                    _query("open", "deenergized: devices to open, comma-separated."),
                    _query("close", "deenergized: devices to close, comma-separated."),
                    _query("a", "path: from this node or edge."),
                    _query("b", "path: to this node or edge."),
                ],
                ok=_ok("The trace (contract 4 shapes).", _ref("Trace")),
                errors=("400", "404"),
                description="400 when a parameter is missing, names no element, or the "
                "question has no answer (e.g. isolating a dead edge).",
            )
        },
        "/api/reports/{name}": {
            "get": _op(
                "api.report",
                "Reliability and response reports",
                tag="reports",
                roles=_DESK,
                params=[
                    _path_param("name", "The report.", enum=list(REPORTS)),
                    _query(
                        "start", "indices, compliance: from (default: a year before end).", TIME
                    ),
                    _query("end", "indices, compliance: until (default: the engine clock).", TIME),
                    _query(
                        "day",
                        "bulletin: the day (default: the engine clock's).",
                        {"type": "string", "format": "date"},
                    ),
                ],
                ok=_ok("The report.", _ref("Report")),
                errors=("400", "404"),
            )
        },
        "/api/alerts": {
            "get": _op(
                "api.alerts",
                "Alerts: warnings, breaches, escalations, capacity",
                tag="reports",
                roles=_DESK,
                params=[limit],
                ok=_ok("Alerts, newest first.", _array(_ref("Alert"))),
            )
        },
        "/api/users": {
            "post": _op(
                "api.create_user",
                "Create a user",
                tag="admin",
                roles=("admin",),
                write=True,
                body=_ref("NewUser"),
                body_required=True,
                ok=_ok("Created.", _ref("User"), "201"),
                errors=("400",),
            )
        },
        "/api/devices": {
            "get": _op(
                "api.devices",
                "Registered handhelds",
                tag="admin",
                roles=("admin",),
                ok=_ok("Devices (never their tokens).", _array(_ref("Device"))),
            ),
            "post": _op(
                "api.create_device",
                "Register a handheld: returns its bearer token once",
                tag="admin",
                roles=("admin",),
                write=True,
                body=_ref("DeviceRequest"),
                body_required=True,
                ok=_ok("Registered.", _ref("NewDevice"), "201"),
                errors=("400",),
            ),
        },
        "/api/devices/{device_id}/revoke": {
            "post": _op(
                "api.revoke",
                "Revoke a handheld: its token is refused from the next request on",
                tag="admin",
                roles=("admin",),
                write=True,
                params=[_path_param("device_id", "A device id.", example="DEV-0a1b2c3d")],
                ok=_ok(
                    "Revoked.",
                    _obj({"id": STR, "revoked": {"const": True}}, ("id", "revoked")),
                ),
                errors=("404",),
            )
        },
        "/api/audit": {
            "get": _op(
                "api.audit_log",
                "The access audit",
                tag="admin",
                roles=("admin",),
                params=[limit],
                ok=_ok("Audit rows, newest first.", _array(_ref("AuditEntry"))),
            )
        },
        "/stream": {
            "get": _op(
                "stream.stream",
                "Live changes as Server-Sent Events",
                tag="stream",
                roles=ROLES,
                params=[
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "description": "Replay every change after this sequence number "
                        "(browsers send it when they reconnect).",
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    },
                    _query("since", "As ``Last-Event-ID``.", {"type": "integer", "minimum": 0}),
                ],
                ok={
                    "200": {
                        "description": "``text/event-stream``: first ``event: hello`` with "
                        "the sequence number it starts from, then one message per change: "
                        "``id`` (the change's sequence number), ``event`` (``outage``, "
                        "``job``, ``crew``, ``alert`` or ``device``) and ``data`` "
                        '(``{"ref": id, "data": the object as the REST API returns '
                        "it}``). A comment line keeps the connection alive. A crew user "
                        "gets only its own crew and jobs (and outages, device states).",
                        "content": {"text/event-stream": {"schema": STR}},
                    }
                },
            )
        },
    }


# ----------------------------------------------------------------- document
def _merge_paths(into: dict[str, Any], fragment: dict[str, Any], origin: str) -> None:
    for path, item in fragment.items():
        target = into.setdefault(path, {})
        for method, operation in item.items():
            if method in target:
                raise ValueError(f"{origin}: {method.upper()} {path} is described twice")
            target[method] = copy.deepcopy(operation)


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, with every contributor's fragment merged in.

    Raises
    ------
    ValueError
        A path and method, or a schema name, is described twice.
    """
    doc_paths: dict[str, Any] = {}
    schemas = copy.deepcopy(SCHEMAS)
    _merge_paths(doc_paths, paths(), __name__)
    for name in CONTRIBUTORS:
        module = importlib.import_module(name)
        _merge_paths(doc_paths, getattr(module, "OPENAPI_PATHS", {}), name)
        for key, schema in getattr(module, "OPENAPI_SCHEMAS", {}).items():
            if key in schemas:
                raise ValueError(f"{name}: schema {key!r} is described twice")
            schemas[key] = copy.deepcopy(schema)
    tags = sorted(
        {t for item in doc_paths.values() for op in item.values() for t in op.get("tags", ())}
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "open-oms HTTP API",
            "version": "1",
            "description": "Outage management and repair dispatch: event intake, outages, "
            "jobs, crews, traces, reports and the live stream. See docs/api.md. "
            "Operations list the roles allowed in ``x-roles`` (an admin may do "
            "everything).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        # The default for operations that do not say (public ones say ``[]``).
        "security": _READ,
        "tags": [{"name": t} for t in tags],
        "paths": dict(sorted(doc_paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The signed session cookie of ``POST /api/login`` "
                    "(or the ``/login`` form).",
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": "With a session, every request that changes state "
                    "carries the session's CSRF token (from ``/api/login`` or "
                    "``/api/session``).",
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A handheld's token (``oms device add`` or "
                    "``POST /api/devices``); no CSRF token needed.",
                },
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Any:
    """The OpenAPI document (no sign-in needed); built once per app."""
    doc = current_app.extensions.get("oms.openapi")
    if doc is None:
        doc = current_app.extensions["oms.openapi"] = build_document()
    return jsonify(doc)
