"""Storm mode over HTTP: read it (every signed-in user: pages show it) and set
it (the dispatcher: a ``storm_mode`` event, :mod:`oms.engine.storm`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from oms.authority import roles_for
from oms.engine.storm import DISPATCH_POLICIES
from oms.storage.queries import storm_state
from webmap.api import _ANYONE, _action_event, _apply, _body
from webmap.auth import require
from webmap.db import get_conn
from webmap.openapi.metadata import BOOL, STR, TIME, Answer, Named, nullable, obj, operation
from webmap.openapi.shapes import INGEST_REPORT

__all__ = ["STORM", "bp"]

bp = Blueprint("storm", __name__, url_prefix="/api")

_ZONE_ETRS = {
    "type": "object",
    "additionalProperties": nullable(TIME),
    "description": "Zone id -> its storm ETR (null drops it).",
}
STORM = Named(
    "StormMode",
    obj(
        {
            "on": BOOL,
            "since": TIME,
            "ended": TIME,
            "started_by": {**STR, "description": "Who turned it on."},
            "by": {**STR, "description": "Who changed it last."},
            "reason": nullable(STR),
            "dispatch": {"enum": list(DISPATCH_POLICIES)},
            "etr": nullable(TIME),
            "zone_etrs": _ZONE_ETRS,
            "rules": {
                "type": "object",
                "description": "The prediction rules storm mode puts in force "
                "(engine configuration ``storm``; docs/fault-location.md).",
            },
        },
        ("on",),
    ),
)
_SET = obj(
    {
        "on": BOOL,
        "dispatch": {"enum": list(DISPATCH_POLICIES)},
        "etr": nullable(TIME),
        "zone_etrs": _ZONE_ETRS,
        "reason": STR,
        "id": STR,
        "time": TIME,
    },
    ("on",),
)


@bp.get("/storm")
@require(*_ANYONE)
@operation(
    "Storm mode now", tag="dispatch", ok=Answer("Its settings ({on: false} when off).", STORM)
)
def state() -> Any:
    return jsonify(storm_state(get_conn()))


@bp.post("/storm")
@require(*roles_for("storm_mode"))
@operation(
    "Turn storm mode on or off, or change its dispatch policy and storm ETRs",
    tag="dispatch",
    body=Named("StormModeChange", _SET),
    body_required=True,
    check_body=False,  # the engine names an unknown zone or policy (422)
    ok=Answer("Applied.", INGEST_REPORT),
    errors=(403, 409, 422, 503),
    description="dispatch: suggest (nothing sent without the dispatcher), batch or "
    "automatic; etr and zone_etrs: storm ETRs given where later than a job's own "
    "estimate (docs/dispatch.md).",
)
def change() -> Any:
    return _apply([_action_event("storm_mode", _body(event=True))], "storm_mode", None)
