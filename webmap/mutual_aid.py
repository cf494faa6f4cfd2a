"""Mutual-aid and contractor crews over HTTP: onboarding, and check-in on arrival.

``POST /api/crews/import`` onboards crews from a CSV file (the body, as
``text/csv``) or JSON rows with the same columns (docs/mutual-aid.md): the
rows are checked first, every problem named by line (or row) and column,
and nothing is sent when one is wrong; then each crew is a ``crew_add``
event through the engine, as ``oms crews import`` sends it. Temporary
handhelds are registered as always (``POST /api/devices`` with
``expires``, an admin's). ``POST /api/crews/<id>/checkin`` is the
``crew_checkin`` event: from the crew's own handheld, or by the
dispatcher for it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select

from oms.authority import roles_for
from oms.storage import schema
from oms.storage.inputs import mutual_aid_rows, read_mutual_aid
from topology.exceptions import NetworkFileError, NetworkValidationError
from webmap.api import INGESTED, _action_event, _apply, _body, _me
from webmap.auth import require
from webmap.db import get_conn
from webmap.openapi.metadata import (
    ANY_OBJECT,
    IDS,
    INT,
    STR,
    TIME,
    Answer,
    Named,
    array,
    nullable,
    obj,
    operation,
)
from webmap.openapi.shapes import EVENT_ID, LAT, LON

__all__ = ["CHECKIN", "ONBOARDING", "bp"]

bp = Blueprint("mutual_aid", __name__, url_prefix="/api")

#: The most crews one import may onboard.
MAX_CREWS = 500
#: The largest CSV body accepted, in bytes.
MAX_CSV_BYTES = 512 * 1024

_CELL = {"type": ["string", "number", "integer", "null"]}
CREW_ROW = Named(
    "MutualAidCrew",
    obj(
        {
            "id": STR,
            "company": STR,
            "skills": {"anyOf": [STR, IDS], "description": "A list, or ;-separated."},
            "size": {"anyOf": [INT, STR], "description": "People in the crew."},
            "vehicles": {"anyOf": [INT, STR, {"type": "null"}]},
            "home_base": nullable(STR),
            "arrival": {
                "anyOf": [TIME, {"type": "null"}],
                "description": "Expected arrival (ISO 8601 with offset); the crew is not "
                "dispatched before it checks in. Without it the crew is here (lon, lat).",
            },
            "name": nullable(STR),
            "unit": nullable(STR),
            "zone": nullable(STR),
            "lon": _CELL,
            "lat": _CELL,
            "voltage_kv": {"anyOf": [STR, {"type": "array", "items": {"type": "number"}}]},
            "shift_start": nullable(STR),
            "shift_end": nullable(STR),
            "phone": nullable(STR),
        },
        ("id", "company", "skills", "size"),
        description="A mutual-aid or contractor crew to onboard (a row of the CSV file).",
    ),
)
ONBOARDING = Named(
    "Onboarding",
    obj(
        {
            "accepted": INT,
            "duplicates": INT,
            "rejected": array(ANY_OBJECT),
            "onboarded": IDS,
            "issues": array(obj({"where": nullable(STR), "error": STR})),
            "error": STR,
        },
        description="The crews onboarded (``crew_add`` events) and those refused, with why; "
        "a file with errors gives every ``issue`` (line or row, column) and onboards none.",
    ),
)
CHECKIN = Named(
    "CrewCheckin",
    obj({"lon": LON, "lat": LAT, "id": EVENT_ID, "time": TIME}, ("lon", "lat")),
)


def _known() -> dict[str, set[str]]:
    conn = get_conn()
    return {
        "units": set(conn.execute(select(schema.units.c.id)).scalars()),
        "zones": set(conn.execute(select(schema.zones.c.id)).scalars()),
        "existing": set(conn.execute(select(schema.crews.c.id)).scalars()),
    }


def _rows() -> list[dict[str, Any]]:
    """The crews of the request, checked (CSV body or JSON rows).

    Raises
    ------
    NetworkValidationError
        Every problem, by line (or row) and column.
    NetworkFileError
        The CSV has no header, or lacks a required column.
    """
    if request.mimetype == "text/csv":
        if len(request.get_data()) > MAX_CSV_BYTES:
            abort(413, description=f"at most {MAX_CSV_BYTES} bytes of CSV")
        try:
            text = request.get_data().decode("utf-8")
        except UnicodeDecodeError as exc:
            abort(400, description=f"the CSV is not UTF-8 text ({exc.reason} at byte {exc.start})")
        return read_mutual_aid("request", text, **_known())
    body = request.get_json(silent=True)
    rows = body.get("crews") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        abort(400, description='send text/csv, or JSON: a list of crews or {"crews": [...]}')
    return mutual_aid_rows(rows, **_known())


@bp.post("/crews/import")
@require(*roles_for("crew_add"))
@operation(
    "Onboard mutual-aid and contractor crews (CSV or JSON rows)",
    tag="crews",
    body={"anyOf": [array(CREW_ROW), obj({"crews": array(CREW_ROW)}, ("crews",))]},
    other_bodies={
        "text/csv": {
            "type": "string",
            "description": "The onboarding file: a header with id, company, skills, size "
            "and any of the optional columns.",
        }
    },
    body_required=True,
    check_body=False,  # the rows are checked with their line and column named
    ok=Answer("Onboarded (the engine's report, and the crews).", ONBOARDING),
    errors=(400, 403, 409, 413, 422, 503),
    description="Each crew becomes a ``crew_add`` event (the dispatcher's), applied by "
    "the running engine and kept in the event log. A crew with an ``arrival`` is not "
    "dispatched before it checks in (``POST /api/crews/{crew_id}/checkin``). Rows are "
    f"checked first (at most {MAX_CREWS}); any problem, named by line or row and "
    "column, refuses them all (422).",
)
def crews_import() -> Any:
    """Onboard crews: a CSV body (``text/csv``) or JSON rows."""
    try:
        found = _rows()
    except NetworkValidationError as exc:
        issues = [{"where": i.element, "error": i.message} for i in exc.errors]
        # As an intake's report: each problem a rejected line (or row), none applied.
        rejected = []
        for i in exc.errors:
            number, _, column = (i.element or "line 0").partition(", ")
            rejected.append({"line": int(number.split()[-1]), "error": f"{column}: {i.message}"})
        doc = {"accepted": 0, "duplicates": 0, "rejected": rejected, "issues": issues}
        doc["error"] = f"{len(issues)} problem(s); nothing onboarded"
        return jsonify(doc), 422
    except NetworkFileError as exc:  # no header, or a required column missing: line 1
        doc = {"accepted": 0, "duplicates": 0, "rejected": [{"line": 1, "error": str(exc)}]}
        return jsonify({**doc, "error": str(exc)}), 422
    if len(found) > MAX_CREWS:
        abort(413, description=f"at most {MAX_CREWS} crews in one import")
    events = [_action_event("crew_add", {}, **crew) for crew in found]
    response, status = _apply(events, "crews_import", None)
    doc = response.get_json()
    refused = {r["line"] for r in doc.get("rejected", [])}
    doc["onboarded"] = [e["crew"] for n, e in enumerate(events, start=1) if n not in refused]
    for r in doc.get("rejected", []):
        r["crew"] = events[r["line"] - 1]["crew"]
    return jsonify(doc), status


@bp.post("/crews/<crew_id>/checkin")
@require(*roles_for("crew_checkin"))
@operation(
    "A mutual-aid crew checks in on arrival (with its position)",
    tag="crews",
    body=CHECKIN,
    check_body=False,  # the engine judges the event: 422 with the reason
    body_required=True,
    ok=INGESTED,
    errors=(403, 404, 409, 422, 503),
    description="A ``crew_checkin`` event: from the crew's own handheld, or by the "
    "dispatcher for it. The crew may be dispatched from then on.",
)
def crew_checkin(crew_id: str) -> Any:
    """``{"lon", "lat"}``: the crew is here."""
    user = _me()
    if user.role == "crew" and crew_id != user.crew:
        abort(403, description="a crew checks in only itself")
    return _apply(
        [_action_event("crew_checkin", _body(event=True), crew=crew_id)], "crew_checkin", crew_id
    )
