"""The shapes the API answers with, as named JSON Schemas (``components/schemas``).

They are the shapes of the CLI's ``--json`` output (contract 4,
docs/formats.md and docs/dispatch.md) and of the web layer's own answers
(errors, the intake report, users and devices). The vocabularies come from
:mod:`oms.vocabulary`, the roles from :mod:`webmap.accounts`. Request
bodies are declared beside their routes (:mod:`webmap.api`,
:mod:`webmap.auth`).
"""

from __future__ import annotations

from collections.abc import Iterable

from oms.dispatch.timeline import AFTER_ARRIVAL, SEGMENTS, STAMPS
from oms.engine.alerts import LEVELS
from oms.vocabulary import CrewStatus, OutageKind, OutageState, values
from webmap.accounts import ROLES
from webmap.openapi.metadata import (
    ANY_OBJECT,
    BOOL,
    IDS,
    INT,
    NUM,
    STR,
    TIME,
    Named,
    Schema,
    array,
    nullable,
    obj,
)

__all__ = [
    "ALERT",
    "ALERT_ACK_REPORT",
    "ALERT_SUMMARY",
    "AUDIT_ENTRY",
    "CONFLICT",
    "CREW",
    "DECISION",
    "DEVICE",
    "ERROR",
    "EVENT_ID",
    "INGEST_REPORT",
    "JOB",
    "JOB_DETAIL",
    "LAT",
    "LON",
    "NEW_DEVICE",
    "OUTAGE",
    "OUTAGE_CLOSE_REPORT",
    "OUTAGE_DETAIL",
    "REPORT",
    "SESSION",
    "TRACE",
    "USER",
    "event",
]

LON: Schema = {"type": "number", "minimum": -180, "maximum": 180}
LAT: Schema = {"type": "number", "minimum": -90, "maximum": 90}
EVENT_ID: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "description": "Unique for all time: the idempotency key.",
}

# ------------------------------------------------------------------ answers
ERROR = Named(
    "Error",
    obj(
        {"error": {**STR, "description": "What is wrong, in words."}, "status": INT},
        ("error",),
        description="Every error answer of the API.",
    ),
)
REJECTION = Named(
    "Rejection",
    obj(
        {
            "line": {**INT, "description": "The event's line (JSON lines) or position, from 1."},
            "error": STR,
        },
        ("line", "error"),
    ),
)
INGEST_REPORT = Named(
    "IngestReport",
    obj(
        {"accepted": INT, "duplicates": INT, "rejected": array(REJECTION)},
        ("accepted", "duplicates", "rejected"),
        description="What an intake did (contract 4 ``oms ingest``). 200: all accepted "
        "or duplicates; 422: some lines were rejected (the others are applied).",
    ),
)
CONFLICT = Named(
    "Conflict",
    obj(
        {"error": STR, "accepted": INT, "duplicates": INT, "rejected": array(REJECTION)},
        ("error",),
        description="An event id seen before with other content (the report, when "
        "there is one, says which line).",
    ),
)

# ------------------------------------------------------------------- events
_EVENT_COMMON: Schema = {
    "id": EVENT_ID,
    "time": {**TIME, "description": "ISO 8601 with a UTC offset."},
}


def _event(etype: str, props: Schema, required: tuple[str, ...] = ()) -> Schema:
    return obj(
        {**_EVENT_COMMON, "type": {"const": etype}, **props}, ("id", "type", "time", *required)
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


def event(action_types: Iterable[str]) -> Named:
    """An event (contract 3): telemetry, or an action of one of ``action_types``."""
    action = obj(
        {**_EVENT_COMMON, "type": {"enum": sorted(action_types)}, "user": STR, "reason": STR},
        ("id", "type", "time"),
    )
    return Named(
        "Event",
        {
            "description": "An event (contract 3, docs/events.md): telemetry or a "
            "dispatcher/crew action, with ``id``, ``type`` and ``time``.",
            "anyOf": [*_TELEMETRY, action],
        },
    )


# ------------------------------------------------------------------ outages
OUTAGE = Named(
    "Outage",
    obj(
        {
            "id": STR,
            "kind": {"enum": list(values(OutageKind))},
            "device": nullable(STR),
            "customer": nullable(STR),
            "section": IDS,
            "state": {"enum": list(values(OutageState))},
            "customers_out": INT,
            "critical_out": INT,
            "started": TIME,
            "restored": nullable(TIME),
            "etr": nullable(TIME),
            "calls": INT,
            "hazard": BOOL,
            "confirmed_by": nullable(STR),
            "located_at": nullable(TIME),
            "merged_into": nullable(STR),
            "revealed_by": nullable(STR),
            "zone": nullable(STR),
            "crews": IDS,
        },
        ("id", "kind", "device", "state", "customers_out", "started", "calls"),
        description="An outage (contract 4 ``oms outages``). ``GET /api/outages`` adds "
        "``zone`` (its latest job's, else the zone containing the point a crew is sent "
        "to for it; null when in none) and ``crews`` (the crews on its jobs).",
    ),
)
_AUDIT_ROW = obj(
    {"time": TIME, "actor": STR, "action": STR, "reason": nullable(STR), "detail": ANY_OBJECT},
    ("time", "actor", "action"),
)
_EVIDENCE = obj(
    {
        "seq": INT,
        "id": STR,
        "type": STR,
        "time": TIME,
        "customer": nullable(STR),
        "device": nullable(STR),
        "payload": ANY_OBJECT,
    },
    ("seq", "id", "type", "time", "payload"),
)
OUTAGE_DETAIL = Named(
    "OutageDetail",
    {
        "allOf": [
            OUTAGE,
            obj({"audit": array(_AUDIT_ROW), "evidence": array(_EVIDENCE)}, ("audit", "evidence")),
        ],
        "description": "An outage with its audit trail and the events behind it.",
    },
)

# --------------------------------------------------------------------- jobs
_STAMPS = (*STAMPS, *AFTER_ARRIVAL)
JOB = Named(
    "Job",
    obj(
        {
            "id": STR,
            "outage": nullable(STR),
            "kind": STR,
            "state": STR,
            "crew": nullable(STR),
            "priority": {**NUM, "description": "As of the document's time (read: now)."},
            "priority_ageing": nullable(
                obj(
                    {"base": NUM, "per_10_min": NUM, "cap_min": NUM},
                    ("base", "per_10_min", "cap_min"),
                    description=(
                        "How the priority grows as the job waits: base + per_10_min * "
                        "(min(minutes from A until now or restored, cap_min) // 10). "
                        "Null for a job stored before this rule (its priority as stored)."
                    ),
                )
            ),
            "zone": nullable(STR),
            "area_class": STR,
            "unit": nullable(STR),
            "device": nullable(STR),
            "customer": nullable(STR),
            "lon": NUM,
            "lat": NUM,
            "hazard": BOOL,
            "stamps": obj({k: nullable(TIME) for k in _STAMPS}, _STAMPS),
            "targets": obj(
                {k: NUM for k in (*SEGMENTS, "arrival", "restoration")},
                description="Limits in minutes.",
            ),
            "breaches": IDS,
            "warnings": {
                **ANY_OBJECT,
                "description": (
                    "Open targets past half of their limit, as of the document's time: "
                    'target name to 50 or 75 ({"arrival": 75, "GH": 50}).'
                ),
            },
            "etr": nullable(TIME),
            "etr_source": nullable(STR),
            "skills": {**IDS, "description": "The skills the job needs (any one qualifies)."},
            "closeout": nullable(ANY_OBJECT),
        },
        ("id", "outage", "state", "crew", "priority", "stamps", "targets", "breaches"),
        description="A job (contract 4 ``oms jobs``; docs/dispatch.md).",
    ),
)
_SUPPLY_EDGE = nullable(obj({"id": STR, "name": nullable(STR)}, ("id", "name")))
_PLAN = nullable(STR)
_PLAN_TEXT = "The customers file's emergency plan (contract 2, free text); null when none."
_CUSTOMER = obj(
    {
        "id": STR,
        "name": nullable(STR),
        "phone": nullable(STR),
        "address": nullable(STR),
        "account": nullable(STR),
        "meter": nullable(STR),
        "critical": nullable(STR),
        "emergency_plan": {**_PLAN, "description": _PLAN_TEXT},
        "node": STR,
        "transformer": {**_SUPPLY_EDGE, "description": "The supply transformer (none on MV)."},
        "feeder": {**_SUPPLY_EDGE, "description": "The feeder breaker above the customer."},
        "source": nullable(STR),
        "source_name": {**nullable(STR), "description": "The substation's name, if it has one."},
    }
)
_PREMISES = obj(
    {
        "total": INT,
        "listed": array(
            obj(
                {
                    "id": STR,
                    "name": nullable(STR),
                    "address": nullable(STR),
                    "phone": nullable(STR),
                    "critical": STR,
                    "emergency_plan": {**_PLAN, "description": _PLAN_TEXT},
                    "node": STR,
                },
                ("id", "critical"),
            )
        ),
    },
    ("total", "listed"),
    description="The critical customers the outage has out (the first 50 listed).",
)
JOB_DETAIL = Named(
    "JobDetail",
    {
        "allOf": [
            JOB,
            obj(
                {
                    "customer_details": nullable(_CUSTOMER),
                    "outage_details": nullable(OUTAGE),
                    "critical_premises": _PREMISES,
                }
            ),
        ],
        "description": "A job with its customer's record and supply (service jobs), its "
        "outage and the critical premises out (network jobs).",
    },
)
DECISION = Named(
    "Decision",
    obj(
        {
            "job": STR,
            "crew": nullable(STR),
            "rule": {"enum": ["zone", "nearest", "preempt", "none"]},
            "eta_s": nullable(NUM),
            "alternatives": array(
                obj({"crew": STR, "eta_s": nullable(NUM), "why_not": STR}, ("crew", "why_not"))
            ),
        },
        ("job", "crew", "rule", "eta_s", "alternatives"),
        description="The dispatch rules' choice (contract 4 ``oms dispatch suggest``).",
    ),
)

# -------------------------------------------------------------------- crews
CREW = Named(
    "Crew",
    obj(
        {
            "id": STR,
            "name": nullable(STR),
            "unit": nullable(STR),
            "status": {"enum": list(values(CrewStatus))},
            "lon": nullable(NUM),
            "lat": nullable(NUM),
            "gps_time": nullable(TIME),
            "stale": BOOL,
            "zone": nullable(STR),
            "skills": IDS,
            "jobs": IDS,
            "company": {**nullable(STR), "description": "A mutual-aid or contractor crew's."},
            "size": nullable(INT),
            "vehicles": nullable(INT),
            "home_base": nullable(STR),
            "arrival": {**nullable(TIME), "description": "When it is expected."},
            "checked_in": {**nullable(TIME), "description": "When it checked in."},
            "expected": {**BOOL, "description": "Expected, not checked in: not dispatched."},
        },
        ("id", "unit", "status", "lon", "lat", "gps_time", "stale", "zone", "skills", "jobs"),
        description="A crew (contract 4 ``oms crews``).",
    ),
)

# ------------------------------------------------------------ network, reports
TRACE = Named(
    "Trace",
    {
        "description": "A trace on the network as operated (contract 4 ``oms trace``).",
        "anyOf": [
            obj(
                {"element": STR, "source": nullable(STR), "path": IDS, "protective_devices": IDS},
                ("element", "source", "path", "protective_devices"),
                description="upstream",
            ),
            obj(
                {
                    "element": STR,
                    "feeder": nullable(STR),
                    "source": STR,
                    "nodes": IDS,
                    "customers": INT,
                },
                ("element", "feeder", "source", "nodes", "customers"),
                description="feeder",
            ),
            obj(
                {"device": STR, "nodes": IDS, "devices": IDS, "customers": INT},
                ("device", "nodes", "devices", "customers"),
                description="downstream",
            ),
            obj(
                {"nodes": IDS, "customers": INT}, ("nodes", "customers"), description="deenergized"
            ),
            obj({"loops": array(IDS)}, ("loops",), description="loops"),
            obj(
                {"from": STR, "to": STR, "edges": IDS, "nodes": IDS},
                ("from", "to", "edges", "nodes"),
                description="path",
            ),
            obj(
                {"faulted": STR, "open": IDS, "deenergized_nodes": IDS, "section_nodes": IDS},
                ("faulted", "open", "deenergized_nodes"),
                description="isolate",
            ),
            obj(
                {
                    "faulted": STR,
                    "open": IDS,
                    "close": IDS,
                    "restored_customers": INT,
                    "unrestored_customers": INT,
                    "tripped": nullable(STR),
                    "steps": {"type": "array"},
                    "pickups": {},
                },
                ("faulted", "open", "close", "restored_customers", "unrestored_customers"),
                description="restore",
            ),
        ],
    },
)
REPORT = Named(
    "Report",
    {
        "description": "indices (IEEE 1366), compliance (A-H targets), the daily "
        "bulletin, critical customers out (docs/dispatch.md, Reports), or mutual-aid "
        "crews per company (docs/mutual-aid.md).",
        "anyOf": [
            obj(
                {
                    "period": obj({"start": TIME, "end": TIME}),
                    "customers_served": INT,
                    "all": ANY_OBJECT,
                    "excluding_med": nullable(ANY_OBJECT),
                    "major_event_days": {"type": "array"},
                    "t_med_minutes": nullable(NUM),
                    "daily_saidi": ANY_OBJECT,
                },
                ("period", "customers_served", "all", "major_event_days"),
                description="indices",
            ),
            obj(
                {
                    "jobs": INT,
                    "segments": ANY_OBJECT,
                    "arrival": ANY_OBJECT,
                    "arrival_minutes": ANY_OBJECT,
                },
                ("jobs", "segments", "arrival"),
                description="compliance",
            ),
            obj(
                {
                    "day": {"type": "string", "format": "date"},
                    "outages": ANY_OBJECT,
                    "customers_interrupted": INT,
                    "critical_customers_interrupted": INT,
                    "hazards": INT,
                    "still_out": INT,
                    "worst": array(ANY_OBJECT),
                    "indices": ANY_OBJECT,
                    "response": ANY_OBJECT,
                },
                ("day", "outages", "customers_interrupted", "worst"),
                description="bulletin",
            ),
            obj(
                {
                    "period": obj({"start": TIME, "end": TIME}),
                    "critical_customers": INT,
                    "interrupted": INT,
                    "out_now": INT,
                    "reached": INT,
                    "not_reached": INT,
                    "customers": array(ANY_OBJECT),
                },
                ("period", "critical_customers", "interrupted", "customers"),
                description="critical: critical customers out, minutes, out now, reached_at",
            ),
            obj(
                {
                    "period": obj({"start": TIME, "end": TIME}),
                    "as_of": TIME,
                    "by": {"enum": ["company"]},
                    "companies": array(ANY_OBJECT),
                    "total": ANY_OBJECT,
                },
                ("period", "by", "companies", "total"),
                description="crews: mutual-aid and contractor crews per company (crews, "
                "people, checked in, hours on shift and on jobs, jobs done, customers "
                "restored; docs/mutual-aid.md)",
            ),
        ],
    },
)
ALERT = Named(
    "Alert",
    obj(
        {
            "seq": {**INT, "description": "The alert's number (acknowledge it by this)."},
            "time": TIME,
            "kind": STR,
            "level": {"enum": list(LEVELS)},
            "job": nullable(STR),
            "crew": nullable(STR),
            "unit": nullable(STR),
            "zone": nullable(STR),
            "contact": nullable(STR),
            "detail": ANY_OBJECT,
            "acknowledged_at": nullable(TIME),
            "acknowledged_by": nullable(STR),
        },
        ("seq", "time", "kind", "level"),
    ),
)
ALERT_SUMMARY = Named(
    "AlertSummary",
    obj(
        {
            "unacknowledged": INT,
            "levels": obj({level: INT for level in LEVELS}, LEVELS),
        },
        ("unacknowledged", "levels"),
        description="Alerts not acknowledged: all, and by level.",
    ),
)
ALERT_ACK_REPORT = Named(
    "AlertAckReport",
    obj(
        {
            "accepted": INT,
            "duplicates": INT,
            "rejected": array(REJECTION),
            "alerts": array(
                obj(
                    {
                        "seq": INT,
                        "result": {"enum": ["acknowledged", "already", "unknown"]},
                        "acknowledged_by": nullable(STR),
                        "acknowledged_at": nullable(TIME),
                    },
                    ("seq", "result"),
                )
            ),
        },
        ("accepted", "duplicates", "rejected", "alerts"),
        description="The intake report of the alert_ack event, and each alert's result.",
    ),
)
OUTAGE_CLOSE_REPORT = Named(
    "OutageCloseReport",
    obj(
        {
            "accepted": INT,
            "duplicates": INT,
            "rejected": array(REJECTION),
            "outages": array(
                obj(
                    {
                        "outage": STR,
                        "result": {"enum": ["closed", "refused", "unknown"]},
                        "error": STR,
                    },
                    ("outage", "result"),
                )
            ),
        },
        ("accepted", "duplicates", "rejected", "outages"),
        description="The intake report of the outage_close events, and each outage's result.",
    ),
)

# ---------------------------------------------------------- people, devices
AUDIT_ENTRY = Named(
    "AuditEntry",
    obj(
        {
            "seq": INT,
            "time": TIME,
            "username": nullable(STR),
            "device": nullable(STR),
            "remote": nullable(STR),
            "action": STR,
            "ref": nullable(STR),
            "outcome": STR,
            "lon": nullable(NUM),
            "lat": nullable(NUM),
            "detail": ANY_OBJECT,
        },
        ("seq", "time", "username", "action", "outcome"),
        description="One row of the access audit (``lon``/``lat``: the client's "
        "``X-Position`` header).",
    ),
)
USER = Named(
    "User",
    obj(
        {"username": STR, "role": {"enum": list(ROLES)}, "crew": nullable(STR)},
        ("username", "role", "crew"),
    ),
)
SESSION = Named(
    "Session",
    obj(
        {
            "user": USER,
            "csrf_token": {
                **STR,
                "description": "Send it as ``X-CSRFToken`` on requests that change state.",
            },
            "device": nullable(STR),
        },
        ("user", "csrf_token"),
    ),
)
DEVICE = Named(
    "Device",
    obj(
        {
            "id": STR,
            "name": STR,
            "username": STR,
            "created_at": TIME,
            "revoked_at": nullable(TIME),
            "expires_at": {**nullable(TIME), "description": "A temporary handheld's end."},
        },
        ("id", "name", "username", "created_at", "revoked_at"),
    ),
)
NEW_DEVICE = Named(
    "NewDevice",
    obj(
        {
            "id": STR,
            "name": STR,
            "username": STR,
            "token": {**STR, "description": "The bearer token; shown this once."},
            "expires_at": nullable(TIME),
            "sign_in": {
                **STR,
                "description": "The handheld's address that signs it in (the token in "
                "its fragment): for a QR code.",
            },
        },
        ("id", "name", "username", "token"),
    ),
)
