"""``GET /api/outages/<id>/detail``: the outage panel's data (:mod:`oms.storage.outage_detail`).

Beside ``GET /api/outages/<id>`` (the outage, its audit trail and raw
evidence, unchanged): what the dispatcher page's outage panel shows, read
as of the engine service's clock. Staff only, as the outage routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from oms.engine.register import CONTACT_FIELDS
from oms.exceptions import OMSError
from oms.storage.outage_detail import EVIDENCE_TYPES, outage_detail
from webmap.auth import require
from webmap.damage import DAMAGE_REPORT
from webmap.db import get_conn, network, service
from webmap.openapi.metadata import (
    ANY_OBJECT,
    BOOL,
    IDS,
    INT,
    NUM,
    STR,
    TIME,
    Answer,
    Named,
    array,
    nullable,
    obj,
    operation,
    query,
)
from webmap.openapi.shapes import JOB, OUTAGE

__all__ = ["OUTAGE_PANEL", "bp"]

bp = Blueprint("outage_detail", __name__, url_prefix="/api")

_NULLABLE_STR = nullable(STR)
_CUSTOMER = obj(
    {
        "id": STR,
        "name": _NULLABLE_STR,
        "address": _NULLABLE_STR,
        "phone": _NULLABLE_STR,
        "critical": {**_NULLABLE_STR, "description": "The reason (life_support, hospital...)."},
        "emergency_plan": {**_NULLABLE_STR, "description": "Contract 2's free text, or null."},
        "node": STR,
        "called": BOOL,
        "contacts": {
            **array(obj({k: _NULLABLE_STR for k in CONTACT_FIELDS}, ("name",))),
            "description": "A critical customer's register contacts to call, in order "
            "(critical customers only; GET /api/critical).",
        },
    },
    ("id", "name", "critical", "called"),
)
_CALL = obj(
    {
        "time": TIME,
        "event": STR,
        "customer": _NULLABLE_STR,
        "name": _NULLABLE_STR,
        "address": _NULLABLE_STR,
        "phone": _NULLABLE_STR,
        "critical": _NULLABLE_STR,
        "power": {"enum": ["off", "on"]},
        "hazard": _NULLABLE_STR,
        "note": _NULLABLE_STR,
    },
    ("time", "event", "customer", "power"),
)
_ENTRY = obj(
    {
        "time": TIME,
        "until": {**TIME, "description": "The last of the run (``time`` when one)."},
        "count": {**INT, "minimum": 1, "description": "Reports folded into this entry."},
        "type": {
            "enum": [*EVIDENCE_TYPES, "ping_request", "action", "dispatch", "alert"],
            "description": "A telemetry event (contract 3), a ping the engine asked for, "
            "an action on the outage (its audit trail), a job's dispatch decision or alert.",
        },
        "customer": _NULLABLE_STR,
        "customers": {**array(STR), "description": "The first customers of a folded run."},
        "device": _NULLABLE_STR,
        "actor": {**_NULLABLE_STR, "description": "Who acted (actions, dispatch, alerts)."},
        "detail": ANY_OBJECT,
    },
    ("time", "until", "count", "type", "detail"),
)
_DAMAGE = obj(
    {
        "reports": {**array(DAMAGE_REPORT), "description": "Newest first."},
        "more": {**INT, "description": "Reports not listed (all are added up)."},
        "summary": obj(
            {
                "reports": INT,
                "assets": {**ANY_OBJECT, "description": "Reports by asset kind."},
                "repair_minutes": {**NUM, "description": "The repair minutes of all, added up."},
                "skills": IDS,
                "materials": array(STR),
                "photos": IDS,
            },
            ("reports", "assets", "repair_minutes", "skills", "materials", "photos"),
        ),
    },
    ("reports", "more", "summary"),
    description="The damage found in the field (``GET /api/damage?outage=``).",
)
OUTAGE_PANEL = Named(
    "OutagePanel",
    obj(
        {
            "outage": OUTAGE,
            "calls": array(_CALL),
            "customers": obj(
                {
                    "total": INT,
                    "critical": INT,
                    "listed": array(_CUSTOMER),
                    "more": {**INT, "description": "Customers out not listed."},
                },
                ("total", "critical", "listed", "more"),
                description="Critical customers first, then callers, up to ``customers``.",
            ),
            "timeline": array(_ENTRY),
            "timeline_more": {**INT, "description": "Entries after the last listed."},
            "timeline_complete": {
                **BOOL,
                "description": "False when the event log of the window was too long to read whole.",
            },
            "jobs": array(JOB),
            "etr_history": array(
                obj(
                    {"time": TIME, "etr": TIME, "source": _NULLABLE_STR},
                    ("time", "etr", "source"),
                )
            ),
            "audit": array(
                obj(
                    {
                        "time": TIME,
                        "actor": STR,
                        "action": STR,
                        "reason": _NULLABLE_STR,
                        "detail": ANY_OBJECT,
                    },
                    ("time", "actor", "action", "reason", "detail"),
                )
            ),
            "notices": obj({}, description="Customer notices about it, by kind."),
            "damage": _DAMAGE,
        },
        (
            "outage",
            "calls",
            "customers",
            "timeline",
            "timeline_more",
            "timeline_complete",
            "jobs",
            "etr_history",
            "audit",
            "notices",
            "damage",
        ),
        description="An outage as its panel shows it: calls, customers out, evidence "
        "timeline, jobs and their stamps, ETR history, audit trail, damage reports.",
    ),
)
_BOUND = {**INT, "minimum": 1, "maximum": 5000}


@bp.get("/outages/<outage_id>/detail")
@require("dispatcher", "engineer")
@operation(
    "One outage as its panel shows it",
    tag="outages",
    params=[
        query("customers", "List at most this many customers out (default 100).", _BOUND),
        query("timeline", "At most this many timeline entries (default 500).", _BOUND),
    ],
    ok=Answer("The outage's panel.", OUTAGE_PANEL),
    errors=(404,),
    description="Calls with times and callers; customers out, critical ones first with "
    "their reason; the evidence timeline (meter reports folded into runs); jobs with "
    "their A-H stamps; ETR history; audit trail; the damage reports and what they add "
    "up to.",
)
def detail(outage_id: str) -> Any:
    """The outage's panel, as of the engine service's clock."""
    conn = get_conn()
    try:
        doc = outage_detail(
            conn,
            network(),
            outage_id,
            service().now(conn),
            customer_limit=request.args.get("customers", 100, type=int),
            timeline_limit=request.args.get("timeline", 500, type=int),
        )
    except OMSError as exc:  # no such outage (or no network loaded: no outage either)
        abort(404, description=str(exc))
    return jsonify(doc)
