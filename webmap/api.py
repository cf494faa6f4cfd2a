"""The REST API under ``/api`` (JSON; GeoJSON where there is geometry).

Every change goes into the event log as an event (contract 3 or a
dispatcher/crew action) and through the engine, exactly as ``oms ingest``
would apply it; the response says whether it was accepted, a duplicate
(the same event id and content again: harmless) or rejected, with the
reason. A client may send its own event ``id`` (an idempotency key): a
handheld replaying its offline queue sends the same ids again, and the
same id with other content is refused (409). Reads come from the database
as of the engine service's clock (:meth:`webmap.service.EngineService.now`),
never a wall clock of their own.

Each route states who may call it once (:func:`webmap.auth.require`) and
describes itself beside it (:func:`webmap.openapi.metadata.operation`);
:mod:`webmap.openapi.document` builds ``GET /api/openapi.json`` from both.
Engine results are classified by their machine-readable ``code``
(:mod:`oms.exceptions`), never by their wording: :data:`STATUS`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, NamedTuple, NoReturn

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import func, select

from oms.authority import Principal, roles_for
from oms.engine import IngestReport
from oms.engine.alerts import LEVELS
from oms.engine.desk import DESK_TYPES
from oms.exceptions import EventError, OMSError
from oms.intake.events import MAX_ACK, MAX_EVENT_CHARS, loads
from oms.outages import (
    STATES,
    get_outage,
    list_outages,
    outage_audit,
    outage_evidence,
    outage_places,
)
from oms.storage import schema
from oms.storage.queries import get_job, list_crews, list_jobs
from oms.switching.interlocks import DEFAULT_LEVELS
from oms.vocabulary import CREW_REPORTABLE, OutageState, values
from webmap import audit
from webmap.accounts import (
    ROLES,
    AccountError,
    User,
    add_device,
    add_user,
    list_devices,
    revoke_device,
    sign_in_link,
)
from webmap.auth import current_user, require
from webmap.db import database, get_conn, network, service
from webmap.job_field import critical_premises, customer_record
from webmap.openapi.metadata import (
    IDS,
    INT,
    STR,
    TIME,
    Answer,
    Named,
    array,
    nullable,
    obj,
    one_of,
    operation,
    path,
    query,
)
from webmap.openapi.shapes import (
    ALERT,
    ALERT_ACK_REPORT,
    ALERT_SUMMARY,
    AUDIT_ENTRY,
    CREW,
    DECISION,
    DEVICE,
    EVENT_ID,
    INGEST_REPORT,
    JOB,
    JOB_DETAIL,
    LAT,
    LON,
    NEW_DEVICE,
    OUTAGE,
    OUTAGE_CLOSE_REPORT,
    OUTAGE_DETAIL,
    REPORT,
    TRACE,
    USER,
    event,
)
from webmap.snapshots import NOT_MODIFIED, serve

__all__ = ["JOB_ACTIONS", "OUTAGE_ACTIONS", "STATUS", "bp"]

bp = Blueprint("api", __name__, url_prefix="/api")

_DESK = ("dispatcher", "engineer")
_ANYONE = ("dispatcher", "engineer", "crew")
#: Routes that send one type of event take their roles from oms.authority.RULES.
_DISPATCHER = roles_for("outage_confirm")
_FIELD = roles_for("job_arrive")


class Action(NamedTuple):
    """An action of the URL (``/api/jobs/<id>/<action>``): its event type and who may take it."""

    event: str
    roles: tuple[str, ...]


#: Actions on a job by URL name. A crew takes its stages on its own jobs;
#: the dispatcher may do everything (an admin too, as everywhere).
JOB_ACTIONS = {
    url: Action(event, roles_for(event))
    for url, event in (
        ("assign", "job_assign"),
        ("deliver", "job_delivered"),
        ("accept", "job_accept"),
        ("depart", "job_depart"),
        ("arrive", "job_arrive"),
        ("made-safe", "job_made_safe"),
        ("repaired", "job_repaired"),
        ("restored", "job_restored"),
        ("estimate", "job_estimate"),
        ("callback", "job_callback"),
        ("close", "job_close"),
        ("recall", "job_recall"),
    )
}
#: Actions on an outage by URL name -> event type (the dispatcher's).
OUTAGE_ACTIONS = {
    "confirm": "outage_confirm",
    "merge": "outage_merge",
    "split": "outage_split",
    "repredict": "outage_repredict",
    "restore": "outage_restore",
    "close": "outage_close",
}
#: The HTTP status of an engine result, by its ``code`` (:mod:`oms.exceptions`).
#: An intake answers with its report instead: see :func:`_report_status`.
STATUS = {
    "invalid": 422,
    "refused": 409,
    "conflict": 409,
    "not_found": 404,
    "forbidden": 403,
    "unavailable": 503,
}
#: Seconds a client waits before sending again what was not applied in time.
RETRY_AFTER_S = 5
_MAX_EVENTS = 10_000
#: Outages one bulk close takes.
_MAX_CLOSE = 1000


def _abort(exc: OMSError, default: int) -> NoReturn:
    """Answer an engine failure with the status of its code (``default`` for others)."""
    abort(STATUS.get(exc.code, default), description=str(exc))


def _report_status(report: IngestReport, one_action: bool) -> int:
    """200: every line went in (or was a duplicate); 409: a line reused an event id
    with other content; 403: every event was one the sender may not send
    (nothing applied); else 422: the report names each rejected line and why (on ``/api/events`` an
    event naming no outage is a rejected line, not a 404). The action routes
    (``one_action``) answer with the status of their one event's code."""
    codes = report.codes()
    if not codes:
        return 200
    if "conflict" in codes:
        return STATUS["conflict"]
    if codes == {"forbidden"} and not report.accepted and not report.duplicates:
        return STATUS["forbidden"]  # nothing applied: every event was refused
    if one_action and len(codes) == 1:
        return {"not_found": 404}.get(next(iter(codes)), 422)
    return 422


def _me() -> User:
    user = current_user()
    assert user is not None  # views are guarded by require()
    return user


def _has_nul(value: Any) -> bool:
    """Whether a NUL character hides in a JSON value (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


@bp.before_app_request
def _refuse_nul() -> None:
    """A NUL character in the path or query is refused (400) before it reaches SQL."""
    if "\x00" in request.path or any(
        _has_nul(k) or _has_nul(v) for k, v in request.args.items(multi=True)
    ):
        abort(400, description="NUL characters are not allowed in a URL")


def _bounded(event: Any) -> Any:
    """The event, or the reason it may not be stored (NUL characters, too long)."""
    if isinstance(event, EventError):
        return event
    if _has_nul(event):
        return EventError("NUL characters are not allowed in an event")
    size = len(json.dumps(event, ensure_ascii=False))
    if size > MAX_EVENT_CHARS:
        return EventError(f"an event of {size} characters (at most {MAX_EVENT_CHARS})")
    return event


def _body(event: bool = False) -> dict[str, Any]:
    """The request's JSON object. A NUL character refuses it (400), unless it
    becomes an ``event``: then, as on ``/api/events``, it rejects that event
    (422, :func:`_bounded`)."""
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="the request body must be a JSON object")
    if not event and _has_nul(body):
        abort(400, description="NUL characters are not allowed in the request body")
    return body


def _apply(
    events: list[Any], action: str, ref: str | None, numbers: list[int] | None = None
) -> tuple[Response, int]:
    """Ingest ``events`` through the engine; audit; answer with the report.

    ``numbers`` are the events' line numbers for the report (default 1, 2...);
    an :class:`~oms.exceptions.EventError` in ``events`` is a rejected line.
    """
    user = _me()
    events = [_bounded(e) for e in events]
    try:
        report = service().ingest(events, by=Principal(user.username, user.role, user.crew))
    except OMSError as exc:  # e.g. the leader did not answer in time
        status = STATUS.get(exc.code, 500)
        audit.record(
            database(),
            action,
            "unavailable" if status == 503 else "error",
            username=user.username,
            device=user.device,
            ref=ref,
            detail={"error": str(exc)},
        )
        answer = jsonify(error=str(exc))
        if status == 503:  # nothing known applied: the same request may be sent again
            answer.headers["Retry-After"] = str(RETRY_AFTER_S)
        return answer, status
    if numbers:  # the service numbers the events 1, 2...: back to their lines
        for r in report.rejected:
            r["line"] = numbers[r["line"] - 1]
    status = _report_status(report, action != "events")
    doc = report.to_dict()
    outcome = {200: "ok", 409: "conflict"}.get(status, "rejected")
    forbidden = [r for r in report.rejected if r.get("code") == "forbidden"]
    if forbidden:  # a security event: recorded with who, where and why
        audit.refused(
            database(),
            "event",
            username=user.username,
            device=user.device,
            detail={"role": user.role, "rejected": forbidden[:5]},
        )
    ids = [e.get("id") for e in events if isinstance(e, dict)]
    audit.record(
        database(),
        action,
        outcome,
        username=user.username,
        device=user.device,
        ref=ref,
        detail={"events": ids[:50], "rejected": doc["rejected"][:5]},
    )
    if status in (403, 404, 409):  # one reason: say it as every error answer does
        code = {403: "forbidden", 404: "not_found", 409: "conflict"}[status]
        doc["error"] = next(r["error"] for r in report.rejected if r.get("code") == code)
    return jsonify(doc), status


def _action_event(etype: str, body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An action event from the request: the client's id and time, or new ones."""
    user = _me()
    event = {k: v for k, v in body.items() if k not in ("id", "type", "time", "user")}
    event.update(fields)
    # As given (the description and the engine check them), else made here.
    event["id"] = body["id"] if "id" in body else f"web-{uuid.uuid4().hex}"
    event["type"] = etype
    event["time"] = body["time"] if "time" in body else service().clock().isoformat()
    event["user"] = user.username
    return event


# ---------------------------------------------------------- request bodies
_ACTION_ID = {**EVENT_ID, "description": "Idempotency key (made if absent)."}
_ACTION_TIME = {**TIME, "description": "When it was done (default: now)."}
EVENT = event(
    {*OUTAGE_ACTIONS.values(), *(a.event for a in JOB_ACTIONS.values())}
    | {"switch", "crew_status", "survey_answer"}
    | DESK_TYPES
    | {"storm_mode", "damage_report", "critical_customer", "customer_contact"}
    | {"crew_add", "crew_checkin"}
)
OUTAGE_ACTION = Named(
    "OutageAction",
    obj(
        {
            "id": _ACTION_ID,
            "time": _ACTION_TIME,
            "reason": STR,
            "device": {**STR, "description": "confirm: the protective device, if another."},
            "devices": {**IDS, "description": "split: two or more devices."},
            "outages": {**IDS, "description": "merge: the outages merged into this one."},
        }
    ),
)
JOB_ACTION = Named(
    "JobAction",
    obj(
        {
            "id": _ACTION_ID,
            "time": _ACTION_TIME,
            "crew": {
                **nullable(STR),
                "description": "assign: the crew (default, or null: the suggested one).",
            },
            "reason": STR,
            "etr": {**TIME, "description": "estimate: the crew's estimated restoration."},
            "answer": {"description": "callback: the customer's answer."},
            "closeout": obj(
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
        }
    ),
)
ALERT_ACK = Named(
    "AlertAck",
    obj(
        {
            "alerts": {
                **array({**INT, "minimum": 1, "maximum": 2**63 - 1}),
                "minItems": 1,
                "description": f"The alerts' numbers (seq), at most {MAX_ACK}.",
            },
            "reason": STR,
            "id": _ACTION_ID,
            "time": _ACTION_TIME,
        },
        ("alerts",),
    ),
)
OUTAGE_CLOSE = Named(
    "OutageClose",
    obj(
        {
            "outages": {
                **array({**STR, "minLength": 1}),
                "minItems": 1,
                "description": f"The outages to close, at most {_MAX_CLOSE}.",
            },
            "restored": {"const": True, "description": "Every restored outage (too)."},
            "reason": STR,
            "time": _ACTION_TIME,
        },
    )
    | {"anyOf": [{"required": ["outages"]}, {"required": ["restored"]}]},
)
GPS_REPORT = Named(
    "GpsReport", obj({"lon": LON, "lat": LAT, "id": EVENT_ID, "time": TIME}, ("lon", "lat"))
)
CREW_STATUS = Named(
    "CrewStatus",
    obj(
        {"status": {"enum": list(values(CREW_REPORTABLE))}, "id": EVENT_ID, "time": TIME},
        ("status",),
    ),
)
SWITCHING = Named(
    "Switching",
    obj(
        {
            "device": STR,
            "state": {"enum": ["open", "closed"]},
            "confirm": {"const": True, "description": "Switching must be confirmed."},
            "acknowledge": {
                "type": "array",
                "items": {"enum": list(DEFAULT_LEVELS)},
                "description": "Interlock warnings acknowledged by rule name "
                "(a 422 names those to acknowledge).",
            },
            "reason": STR,
            "id": EVENT_ID,
            "time": TIME,
        },
        ("device", "state", "confirm"),
    ),
)
NEW_USER = Named(
    "NewUser",
    obj(
        {
            "username": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            "password": {"type": "string", "minLength": 8},
            "role": {"enum": list(ROLES)},
            "crew": {**STR, "description": "The crew of a crew user (only then)."},
        },
        ("username", "password", "role"),
    ),
)
DEVICE_REQUEST = Named(
    "DeviceRequest",
    obj(
        {
            "username": {**STR, "description": "The user the handheld acts as."},
            "name": {"type": "string", "minLength": 1, "maxLength": 128},
            "expires": {
                **TIME,
                "description": "A temporary handheld (mutual aid): its token is refused "
                "from this time.",
            },
        },
        ("username", "name"),
    ),
)
#: The answer of every route that goes through the engine (and its errors).
INGESTED = Answer("Applied (or duplicates).", INGEST_REPORT)
_INGEST_ERRORS = (403, 409, 422, 503)
_LIMIT = query(
    "limit", "At most this many rows (default 200).", {**INT, "minimum": 1, "maximum": 5000}
)
_ELEMENT = {**STR, "minLength": 1}
TRACES = ("upstream", "feeder", "downstream", "deenergized", "loops", "path", "isolate", "restore")
REPORTS = ("indices", "compliance", "bulletin", "critical", "crews")


# ------------------------------------------------------------------ intake
@bp.get("/health")
@operation(
    "Liveness: the database answers",
    tag="meta",
    ok=Answer(
        "Up, with the engine clock.",
        obj({"status": {"const": "ok"}, "clock": TIME}, ("status", "clock")),
    ),
)
def health() -> Any:
    """Liveness: the database answers, and the clock reads answer as of."""
    return jsonify(status="ok", clock=service().now(get_conn()).isoformat())


@bp.get("/clock")
@operation(
    "The server's clock and its speed",
    tag="meta",
    ok=Answer(
        "Now by the server (simulated time in ``oms demo``), and simulated seconds per "
        "real second (1 in production).",
        obj({"now": TIME, "speed": {"type": "number"}}, ("now", "speed")),
    ),
)
def clock() -> Any:
    """The server's clock and its speed (simulated seconds per real second; 1 live).

    Pages count down and handhelds stamp their actions by it, not by the
    device's own clock.
    """
    speed = float(current_app.config.get("OMS_CLOCK_SPEED", 1.0))
    return jsonify(now=service().clock().isoformat(), speed=speed)


@bp.post("/events")
@require(*_DESK)
@operation(
    "Event intake (contract 3)",
    tag="intake",
    body={"anyOf": [EVENT, {**array(EVENT), "minItems": 1}]},
    other_bodies={
        "application/x-ndjson": {"type": "string", "description": "One event object per line."}
    },
    body_required=True,
    check_body=False,  # the engine judges each event on its own line (contract 3)
    ok=INGESTED,
    errors=(*_INGEST_ERRORS, 413),
    description="One event object, a list of them, or JSON lines "
    "(``Content-Type: application/x-ndjson``). A line that is not valid is rejected "
    "with its number (from 1) and the reason (422); the others are still applied. An "
    "id seen before with the same content is a duplicate; with other content a "
    "conflict (409).",
)
def post_events() -> Any:
    """Events (contract 3): one object, a list, or JSON lines (``application/x-ndjson``)."""
    numbers: list[int] | None = None
    if request.mimetype in ("application/x-ndjson", "application/jsonl"):
        # Contract 3: a bad line is rejected with its number, the others applied.
        events: Any = []
        numbers = []
        for n, line in enumerate(request.get_data(as_text=True).splitlines(), start=1):
            if line.strip():
                numbers.append(n)
                try:
                    events.append(loads(line))
                except EventError as exc:
                    events.append(exc)
    else:
        events = request.get_json(silent=True)
        if isinstance(events, dict):
            events = [events]
    if not isinstance(events, list) or not events:
        abort(400, description="send an event object, a non-empty list of them, or JSON lines")
    if len(events) > _MAX_EVENTS:
        abort(413, description=f"at most {_MAX_EVENTS} events per request")
    response, status = _apply(events, "events", None, numbers)
    return response, status


# ----------------------------------------------------------------- outages
@bp.get("/outages")
@require(*_DESK)
@operation(
    "Outages",
    tag="outages",
    params=[
        query(
            "state",
            "Only outages in this state (default: all but cancelled).",
            {"type": "string", "enum": list(STATES)},
        ),
        query(
            "open",
            "``1`` or ``true``: the outages the dispatcher's lists show only "
            "(predicted, confirmed, restored and not closed); ``0``, ``false``: all.",
            {"type": "string", "enum": ["1", "true", "0", "false"]},
        ),
    ],
    ok={200: Answer("Outages by start time.", array(OUTAGE)), 304: NOT_MODIFIED},
)
def outages() -> Any:
    """Outages (contract 4 ``oms outages``), all but cancelled unless ``state`` says
    (``open=1``: those still shown), each with its zone and crews (what the
    dispatcher filters the list by)."""
    state = request.args.get("state")
    open_only = request.args.get("open") in ("1", "true")
    return serve(("outages", state, open_only), lambda: outages_doc(state, open_only), timed=False)


def outages_doc(state: str | None, open_only: bool = False) -> list[dict[str, Any]]:
    """``GET /api/outages`` as built for its snapshot (:mod:`webmap.snapshots`)."""
    conn = get_conn()
    shown = values((OutageState.PREDICTED, OutageState.CONFIRMED, OutageState.RESTORED))
    found = list_outages(conn, state, states=shown if open_only else None)
    try:
        net = network()
    except OMSError:  # no network loaded: zones from jobs only
        net = None
    places = outage_places(conn, net, found)
    return [{**o.to_dict(), **places[o.id]} for o in found]


@bp.get("/outages/<outage_id>")
@require(*_DESK)
@operation(
    "One outage, with its audit trail and evidence",
    tag="outages",
    ok=Answer("The outage.", OUTAGE_DETAIL),
    errors=(404,),
)
def outage(outage_id: str) -> Any:
    """One outage with its audit trail and evidence."""
    conn = get_conn()
    try:
        o = get_outage(conn, outage_id)
    except OMSError as exc:
        _abort(exc, 404)
    return jsonify(
        {
            **o.to_dict(),
            "audit": outage_audit(conn, outage_id),
            "evidence": outage_evidence(conn, o),
        }
    )


@bp.post(f"/outages/<outage_id>/<{one_of(OUTAGE_ACTIONS)}:action>")
@require(*_DISPATCHER, actions={a: roles_for(e) for a, e in OUTAGE_ACTIONS.items()})
@operation(
    "A dispatcher's action on an outage",
    tag="outages",
    params=[
        path(
            "action",
            "confirm (``device``), merge (``outages``: merged into this one), "
            "split (``devices``), repredict, restore or close.",
            enum=list(OUTAGE_ACTIONS),
        )
    ],
    body=OUTAGE_ACTION,
    check_body=False,  # the engine judges the event: 422 with the reason
    ok=INGESTED,
    errors=(*_INGEST_ERRORS, 404),
    description="Goes into the event log as an ``outage_*`` event (docs/events.md). An "
    "unknown outage is 404; an action that cannot be done (closing one not restored) is "
    "rejected (422) with the reason.",
)
def outage_action(outage_id: str, action: str) -> Any:
    """confirm (``device``), merge (``outages``), split (``devices``), repredict, restore,
    close; ``reason``."""
    if action not in OUTAGE_ACTIONS:
        abort(404, description=f"no outage action {action!r}")
    body = _body(event=True)
    if action == "merge":
        fields = {"into": outage_id, "outages": body.get("outages") or []}
    else:
        fields = {"outage": outage_id}
    event = _action_event(OUTAGE_ACTIONS[action], body, **fields)
    return _apply([event], f"outage_{action}", outage_id)


@bp.post("/outages/bulk/close")
@require(*roles_for("outage_close"))
@operation(
    "Close several restored outages in one request",
    tag="outages",
    body=OUTAGE_CLOSE,
    body_required=True,
    ok=Answer("What became of each outage.", OUTAGE_CLOSE_REPORT),
    errors=(*_INGEST_ERRORS, 404),
    description="``outages`` (ids) and/or ``restored: true`` (every restored outage). Each "
    "close is an ``outage_close`` event of its own (in the outage's audit trail), applied "
    "together; the answer says per outage ``closed``, ``refused`` (with the reason: not "
    f"restored) or ``unknown``. 200 when any closed; at most {_MAX_CLOSE} outages (400).",
)
def close_outages() -> Any:
    """Close the restored outages named (or all of them): one event each, one request."""
    body = _body()
    ids = list(body.get("outages", []))
    if body.get("restored"):
        ids += [o.id for o in list_outages(get_conn(), "restored")]
    ids = list(dict.fromkeys(ids))
    if len(ids) > _MAX_CLOSE:
        abort(400, description=f"at most {_MAX_CLOSE} outages at once")
    common = {k: v for k, v in body.items() if k not in ("id", "outages", "restored")}
    doc: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
    status = 200
    if ids:
        events = [_action_event("outage_close", common, outage=oid) for oid in ids]
        response, status = _apply(events, "outage_close_bulk", f"{len(ids)} outages")
        doc = response.get_json()
        if status in (403, 409, 503):
            return response, status
    why = {r["line"]: r["error"] for r in doc["rejected"]}
    o = schema.outages
    with database().connect() as conn:
        known = set(conn.execute(select(o.c.id).where(o.c.id.in_(ids))).scalars())
    results: list[dict[str, Any]] = []
    for n, oid in enumerate(ids, start=1):
        if n not in why:
            results.append({"outage": oid, "result": "closed"})
        else:
            result = "refused" if oid in known else "unknown"
            results.append({"outage": oid, "result": result, "error": why[n]})
    closed = any(r["result"] == "closed" for r in results)
    if closed or not ids:
        status = 200
    elif all(r["result"] == "unknown" for r in results):
        status = 404
    return jsonify({**doc, "outages": results}), status


# -------------------------------------------------------------------- jobs
@bp.get("/jobs")
@require(*_ANYONE)
@operation(
    "Jobs, open ones by priority first",
    tag="jobs",
    params=[
        query(
            "open",
            "``1`` or ``true``: open jobs only (``0``, ``false``: all).",
            {"type": "string", "enum": ["1", "true", "0", "false"]},
        )
    ],
    ok={200: Answer("Jobs (a crew sees only its own).", array(JOB)), 304: NOT_MODIFIED},
)
def jobs() -> Any:
    """Jobs by priority (``open=1`` for open ones only); a crew sees its own."""
    user = _me()
    open_only = request.args.get("open") in ("1", "true")
    return serve(
        ("jobs", open_only),
        lambda: jobs_doc(open_only),
        timed=True,  # breaches and warnings as of the clock
        variant=_own(user, "crew") if user.role == "crew" else None,
    )


def jobs_doc(open_only: bool) -> list[dict[str, Any]]:
    """``GET /api/jobs`` as the staff see it, built for its snapshot."""
    conn = get_conn()
    return [j.to_dict() for j in list_jobs(conn, service().now(conn), open_only)]


def _own(user: User, field: str) -> tuple[str | None, Any]:
    """A crew's variant of a list: the items whose ``field`` is its crew."""
    return user.crew, lambda items: [x for x in items if x[field] == user.crew]


def _job_or_404(job_id: str) -> Any:
    """The job, as the user may see it: a crew sees its own only.

    Another crew's job answers exactly as a job that does not exist (so a
    crew cannot tell which ids exist), and trying it is a security event.
    """
    conn = get_conn()
    job = get_job(conn, job_id, service().now(conn))
    user = _me()
    if job is not None and user.role == "crew" and job.crew != user.crew:
        if job.crew is not None:
            audit.refused(
                database(),
                "job",
                username=user.username,
                device=user.device,
                detail={"job": job_id},
            )
        job = None
    if job is None:
        abort(404, description=f"no job {job_id!r}")
    return job


@bp.get("/jobs/<job_id>")
@require(*_ANYONE)
@operation("One job", tag="jobs", ok=Answer("The job.", JOB_DETAIL), errors=(404,))
def job(job_id: str) -> Any:
    """One job, with its outage, the customer's record and supply (service
    jobs) and the critical premises out (network jobs): what a crew needs in
    the field (webmap/job_field.py)."""
    j = _job_or_404(job_id)
    doc = j.to_dict()
    conn = get_conn()
    try:
        net = network()
    except OMSError:  # no network loaded: no supply or premises to tell
        net = None
    if j.customer:
        doc["customer_details"] = customer_record(conn, net, j.customer)
    if j.outage:
        try:
            doc["outage_details"] = get_outage(conn, j.outage).to_dict()
        except OMSError:
            doc["outage_details"] = None
        if net is not None and j.kind != "single_customer" and doc["outage_details"]:
            doc["critical_premises"] = critical_premises(conn, net, j.outage)
    return jsonify(doc)


@bp.get("/jobs/<job_id>/suggest")
@require(*_DISPATCHER)
@operation(
    "The crew the dispatch rules would send (nothing changes)",
    tag="jobs",
    ok=Answer("The decision, with every alternative.", DECISION),
    errors=(404, 409),
)
def suggest(job_id: str) -> Any:
    """The crew the rules would send, with every alternative's ETA (nothing changes)."""
    _job_or_404(job_id)
    svc = service()
    with svc.lock:
        engine = svc.engine
        engine.refresh()
        try:
            decision = engine.suggest(job_id, svc.now(get_conn()))
        except OMSError as exc:  # refused: the job is not waiting for a crew (409)
            _abort(exc, 409)
    return jsonify(decision.to_dict())


def _job_action_help() -> str:
    crew = [a for a, x in JOB_ACTIONS.items() if "crew" in x.roles]
    desk = [a for a, x in JOB_ACTIONS.items() if "crew" not in x.roles]
    return (
        f"A crew may {', '.join(crew)} its own jobs; {', '.join(desk)} are the "
        "dispatcher's (``x-action-roles``)."
    )


@bp.post(f"/jobs/<job_id>/<{one_of(JOB_ACTIONS)}:action>")
@require(*_FIELD, actions={a: x.roles for a, x in JOB_ACTIONS.items()})
@operation(
    "A stage or dispatcher action on a job",
    tag="jobs",
    params=[path("action", _job_action_help(), enum=list(JOB_ACTIONS))],
    body=JOB_ACTION,
    check_body=False,  # the engine judges the event: 422 with the reason
    ok=INGESTED,
    errors=(*_INGEST_ERRORS, 404),
    description="Goes into the event log as a ``job_*`` event (docs/dispatch.md). A crew "
    "acting on another crew's job, or on one recalled from it, gets 404 (never naming "
    "the other crew); an action the job's stage does not allow is rejected (422).",
)
def job_action(job_id: str, action: str) -> Any:
    """A stage or dispatcher action on a job (see ``JOB_ACTIONS``)."""
    user = _me()
    if action not in JOB_ACTIONS:
        abort(404, description=f"no job action {action!r}")
    if user.role == "crew":
        _job_or_404(job_id)
    body = _body(event=True)
    fields: dict[str, Any] = {"job": job_id}
    if user.role == "crew":
        fields["crew"] = user.crew
    response, status = _apply(
        [_action_event(JOB_ACTIONS[action].event, body, **fields)], f"job_{action}", job_id
    )
    return response, status


# ------------------------------------------------------------------- crews
@bp.get("/crews")
@require(*_ANYONE)
@operation(
    "Crews with status, position, zone, skills and jobs",
    tag="crews",
    ok={200: Answer("Crews (a crew user sees only its own).", array(CREW)), 304: NOT_MODIFIED},
)
def crews() -> Any:
    """Crews with status, position (stale when old), zone, skills and jobs."""
    user = _me()
    return serve(
        ("crews",),
        crews_doc,
        timed=True,  # stale positions and shifts as of the clock
        variant=_own(user, "id") if user.role == "crew" else None,
    )


def crews_doc() -> list[dict[str, Any]]:
    """``GET /api/crews`` as the staff see it, built for its snapshot."""
    conn, svc = get_conn(), service()
    return list_crews(conn, svc.config.dispatch, svc.now(conn))


@bp.post("/crews/<crew_id>/gps")
@require(*_FIELD)
@operation(
    "A crew's position report",
    tag="crews",
    body=GPS_REPORT,
    check_body=False,  # the engine judges the event: 422 with the reason
    body_required=True,
    ok=INGESTED,
    errors=_INGEST_ERRORS,
    description="A ``crew_gps`` event. A crew reports only its own position.",
)
def crew_gps(crew_id: str) -> Any:
    """A position report ``{"lon", "lat"}`` (a crew reports only its own)."""
    user = _me()
    if user.role == "crew" and crew_id != user.crew:
        abort(403, description="a crew reports only its own position")
    event = _action_event("crew_gps", _body(event=True), crew=crew_id)
    event.pop("user", None)
    return _apply([event], "crew_gps", crew_id)


@bp.post("/crews/<crew_id>/status")
@require(*roles_for("crew_status"))
@operation(
    "A crew's status: off shift, available, returning",
    tag="crews",
    body=CREW_STATUS,
    check_body=False,  # the engine judges the event: 422 with the reason
    body_required=True,
    ok=INGESTED,
    errors=_INGEST_ERRORS,
)
def crew_status(crew_id: str) -> Any:
    """``{"status": "off_shift" | "available" | "returning"}``."""
    user = _me()
    if user.role == "crew" and crew_id != user.crew:
        abort(403, description="a crew changes only its own status")
    return _apply(
        [_action_event("crew_status", _body(event=True), crew=crew_id)], "crew_status", crew_id
    )


# ----------------------------------------------------------------- network
@bp.post("/switch")
@require(*roles_for("switch"))
@operation(
    "Operate a switch (must be confirmed)",
    tag="network",
    body=SWITCHING,
    check_body=False,  # the engine judges the event: 422 with the reason
    body_required=True,
    ok=INGESTED,
    errors=_INGEST_ERRORS,
    description='Without ``"confirm": true`` nothing is done (400).',
)
def switch() -> Any:
    """Operate a switch: ``{"device", "state": "open"|"closed", "confirm": true}``."""
    body = _body(event=True)
    if body.get("confirm") is not True:
        abort(400, description='switching must be confirmed: send "confirm": true')
    body = {k: v for k, v in body.items() if k != "confirm"}
    ref = str(body.get("device")).replace("\x00", "")  # the audit's ref is stored as text
    return _apply([_action_event("switch", body)], "switch", ref)


@bp.get(f"/trace/<{one_of(TRACES)}:kind>")
@require(*_ANYONE)
@operation(
    "A trace on the network as operated",
    tag="network",
    params=[
        path("kind", "The trace.", enum=list(TRACES)),
        query("element", "upstream, feeder: a node or edge id.", _ELEMENT),
        query("device", "downstream, isolate, restore: an edge id.", _ELEMENT),
        query("open", "deenergized: devices to open, comma-separated."),
        query("close", "deenergized: devices to close, comma-separated."),
        query("a", "path: from this node or edge.", _ELEMENT),
        query("b", "path: to this node or edge.", _ELEMENT),
    ],
    ok=Answer("The trace (contract 4 shapes).", TRACE),
    errors=(400, 404),
    description="400 when a parameter is missing, names no element, or the question has "
    "no answer (e.g. isolating a dead edge).",
)
def trace(kind: str) -> Any:
    """upstream/feeder (``element``), downstream/isolate/restore (``device``), loops, path
    (``a``, ``b``) on the network as operated (contract 4 shapes)."""
    from topology import flisr, traces
    from topology.exceptions import TopologyError

    net = network()
    args = request.args
    try:
        if kind == "upstream":
            result = traces.upstream(net, args["element"])
        elif kind == "feeder":
            result = traces.feeder(net, args["element"])
        elif kind == "downstream":
            result = traces.downstream(net, args["device"])
        elif kind == "loops":
            result = traces.loops(net)
        elif kind == "deenergized":
            opened = [d for d in args.get("open", "").split(",") if d]
            closed = [d for d in args.get("close", "").split(",") if d]
            result = traces.deenergized(net, open=opened, close=closed)
        elif kind == "path":
            result = traces.path(net, args["a"], args["b"])
        elif kind == "isolate":
            result = flisr.isolate(net, args["device"])
        elif kind == "restore":
            result = flisr.restore(net, args["device"])
        else:
            abort(404, description=f"no trace {kind!r}")
    except TopologyError as exc:  # before KeyError: ElementNotFound is one too
        abort(400, description=str(exc))
    except KeyError as exc:
        abort(400, description=f"trace {kind} needs the query parameter {exc.args[0]!r}")
    return jsonify(result.data)


# ----------------------------------------------------------------- reports
@bp.get(f"/reports/<{one_of(REPORTS)}:name>")
@require(*_DESK)
@operation(
    "Reliability and response reports",
    tag="reports",
    params=[
        path("name", "The report.", enum=list(REPORTS)),
        query("start", "All but bulletin: from (default: a year before end).", TIME),
        query("end", "All but bulletin: until (default: the engine clock).", TIME),
        query(
            "day",
            "bulletin: the day (default: the engine clock's).",
            {"type": "string", "format": "date"},
        ),
    ],
    ok=Answer("The report.", REPORT),
    errors=(400, 404),
)
def report(name: str) -> Any:
    """indices, compliance (``start``, ``end``) or bulletin (``day``)."""
    from datetime import date, timedelta

    from oms.exceptions import EventError
    from oms.intake.events import parse_time
    from oms.reports.reliability import bulletin, compliance, indices

    conn = get_conn()
    now = service().now(conn)
    try:
        end = parse_time(request.args["end"], "end") if "end" in request.args else now
        start = (
            parse_time(request.args["start"], "start")
            if "start" in request.args
            else end - timedelta(days=365)
        )
        if name == "indices":
            return jsonify(indices(conn, start, end))
        if name == "compliance":
            return jsonify(compliance(conn, start, end, now))
        if name == "bulletin":
            day = date.fromisoformat(request.args["day"]) if "day" in request.args else now.date()
            return jsonify(bulletin(conn, day, now))
        if name == "critical":
            from oms.reports.critical import critical_report

            return jsonify(critical_report(conn, start, end, now))
        if name == "crews":  # mutual-aid and contractor crews, per company
            from oms.reports.crews import crews_report

            return jsonify(crews_report(conn, start, end, now))
    except (EventError, ValueError) as exc:
        abort(400, description=str(exc))
    abort(404, description=f"no report {name!r}")


_ALERT_FILTERS = [
    query("level", "Only alerts of this level.", {"type": "string", "enum": list(LEVELS)}),
    query("unit", "Only alerts of this repair unit."),
    query("zone", "Only alerts of jobs in this zone."),
    query(
        "acknowledged",
        "``1`` or ``true``: acknowledged ones only; ``0`` or ``false``: not yet acknowledged.",
        {"type": "string", "enum": ["1", "true", "0", "false"]},
    ),
]


def _alert_filter(q: Any) -> Any:
    """``q`` narrowed by the request's level, unit, zone and acknowledged filters."""
    a, args = schema.alerts, request.args
    for name in ("level", "unit", "zone"):
        if name in args:
            q = q.where(a.c[name] == args[name])
    if "acknowledged" in args:
        done = a.c.acknowledged_at.is_not(None)
        q = q.where(done if args["acknowledged"] in ("1", "true") else ~done)
    return q


def _alert_dict(row: Any) -> dict[str, Any]:
    from oms.intake.events import as_utc, iso

    at = iso(as_utc(row["acknowledged_at"]))
    return {**dict(row), "time": iso(as_utc(row["time"])), "acknowledged_at": at}


@bp.get("/alerts")
@require(*_DESK)
@operation(
    "Alerts: warnings, targets reached, breaches of the standard, info",
    tag="alerts",
    params=[_LIMIT, *_ALERT_FILTERS],
    ok=Answer("Alerts, newest first.", array(ALERT)),
    description="Levels (docs/dispatch.md): ``warning`` before a target is reached, "
    "``target`` reached, ``breach`` of the standard (arrival or restoration), ``info``.",
)
def alerts() -> Any:
    """Alerts newest first; ``limit``, ``level``, ``unit``, ``zone``, ``acknowledged``."""
    a = schema.alerts
    limit = request.args.get("limit", 200, type=int)  # 1 to 5000 (the description)
    q = _alert_filter(select(a)).order_by(a.c.seq.desc()).limit(limit)
    return jsonify([_alert_dict(r) for r in get_conn().execute(q).mappings()])


@bp.get("/alerts/summary")
@require(*_DESK)
@operation(
    "How many alerts wait for acknowledgement, by level",
    tag="alerts",
    params=_ALERT_FILTERS[:3],
    ok=Answer("Counts of alerts not acknowledged.", ALERT_SUMMARY),
)
def alerts_summary() -> Any:
    """Alerts not acknowledged: how many, and how many of each level (``unit``, ``zone``)."""
    a = schema.alerts
    q = select(a.c.level, func.count()).where(a.c.acknowledged_at.is_(None))
    rows = get_conn().execute(_alert_filter(q).group_by(a.c.level)).all()
    levels = dict.fromkeys(LEVELS, 0) | {level: int(n) for level, n in rows}
    return jsonify(unacknowledged=sum(levels.values()), levels=levels)


def _alert_rows(ids: list[int]) -> dict[int, dict[str, Any]]:
    """The alerts with these numbers, read afresh (not the request's earlier snapshot)."""
    a = schema.alerts
    with database().connect() as conn:
        rows = conn.execute(select(a).where(a.c.seq.in_(ids))).mappings()
        return {r["seq"]: _alert_dict(r) for r in rows}


@bp.post("/alerts/ack")
@require(*roles_for("alert_ack"))
@operation(
    "Acknowledge alerts, one or many",
    tag="alerts",
    body=ALERT_ACK,
    body_required=True,
    ok=Answer("What became of each alert.", ALERT_ACK_REPORT),
    errors=(*_INGEST_ERRORS, 404),
    description="An ``alert_ack`` event in the log (who, when: the audit); each alert "
    "not acknowledged before is stamped with the user and the time. The answer says per "
    f"alert ``acknowledged``, ``already`` (by someone before) or ``unknown``; at most "
    f"{MAX_ACK} alerts (400 beyond); 404 when none exists.",
)
def acknowledge_alerts() -> Any:
    """``{"alerts": [seq, ...], "reason"?}``: acknowledge them (the first one stands)."""
    body = _body()
    ids = sorted(set(body["alerts"]))
    if len(ids) > MAX_ACK:
        abort(400, description=f"at most {MAX_ACK} alerts at once")
    before = _alert_rows(ids)
    if not before:
        abort(404, description="no such alert")
    waiting = [i for i in ids if i in before and before[i]["acknowledged_at"] is None]
    doc: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
    if waiting:
        event = _action_event("alert_ack", body, alerts=waiting)
        response, status = _apply([event], "alert_ack", f"{len(waiting)} alerts")
        if status != 200:
            return response, status
        doc = response.get_json()
    after = _alert_rows(ids)
    me, results = _me().username, []
    for i in ids:
        row = after.get(i)
        if row is None:
            results.append({"seq": i, "result": "unknown"})
            continue
        mine = i in waiting and row["acknowledged_by"] == me
        results.append(
            {
                "seq": i,
                "result": "acknowledged" if mine else "already",
                "acknowledged_by": row["acknowledged_by"],
                "acknowledged_at": row["acknowledged_at"],
            }
        )
    return jsonify({**doc, "alerts": results})


# ------------------------------------------------------------------- admin
@bp.post("/users")
@require("admin")
@operation(
    "Create a user",
    tag="admin",
    body=NEW_USER,
    body_required=True,
    ok={201: Answer("Created.", USER)},
    errors=(400,),
)
def create_user() -> Any:
    """``{"username", "password", "role", "crew"?}``."""
    body = _body()
    crew = body.get("crew")
    if crew is not None and not isinstance(crew, str):
        abort(400, description="crew must be a crew id (a string)")
    try:
        with database().begin() as conn:
            user = add_user(
                conn,
                str(body.get("username", "")),
                str(body.get("password", "")),
                str(body.get("role", "")),
                crew or None,
            )
    except AccountError as exc:
        abort(400, description=str(exc))
    me = _me()
    audit.record(database(), "user_add", "ok", username=me.username, ref=user.username)
    return jsonify(user.to_dict()), 201


@bp.get("/devices")
@require("admin")
@operation(
    "Registered handhelds",
    tag="admin",
    ok=Answer("Devices (never their tokens).", array(DEVICE)),
)
def devices() -> Any:
    with database().connect() as conn:
        found = list_devices(conn)
    return jsonify([d.to_dict() for d in found])


@bp.post("/devices")
@require("admin")
@operation(
    "Register a handheld: returns its bearer token once",
    tag="admin",
    body=DEVICE_REQUEST,
    body_required=True,
    ok={201: Answer("Registered.", NEW_DEVICE)},
    errors=(400,),
)
def create_device() -> Any:
    """``{"username", "name", "expires"?}`` -> the device and its bearer token (shown once)."""
    from oms.exceptions import EventError
    from oms.intake.events import parse_time

    body = _body()
    try:
        expires = parse_time(body["expires"], "expires") if body.get("expires") else None
        with database().begin() as conn:
            dev, token = add_device(
                conn, str(body.get("username", "")), str(body.get("name", "")), expires
            )
    except (AccountError, EventError) as exc:
        abort(400, description=str(exc))
    audit.record(database(), "device_add", "ok", username=_me().username, ref=dev.id)
    return jsonify(
        id=dev.id,
        name=dev.name,
        username=dev.username,
        token=token,
        expires_at=dev.to_dict()["expires_at"],
        sign_in=sign_in_link(request.host_url, token),
    ), 201


@bp.post("/devices/<device_id>/revoke")
@require("admin")
@operation(
    "Revoke a handheld: its token is refused from the next request on",
    tag="admin",
    ok=Answer("Revoked.", obj({"id": STR, "revoked": {"const": True}}, ("id", "revoked"))),
    errors=(404,),
)
def revoke(device_id: str) -> Any:
    try:
        with database().begin() as conn:
            revoke_device(conn, device_id)
    except AccountError as exc:
        abort(404, description=str(exc))
    audit.record(database(), "device_revoke", "ok", username=_me().username, ref=device_id)
    return jsonify(id=device_id, revoked=True)


@bp.get("/audit")
@require("admin")
@operation(
    "The access audit",
    tag="admin",
    params=[_LIMIT],
    ok=Answer("Audit rows, newest first.", array(AUDIT_ENTRY)),
)
def audit_log() -> Any:
    """The access audit, newest first; ``limit``."""
    from oms.intake.events import iso

    a = schema.audit
    limit = request.args.get("limit", 200, type=int)  # 1 to 5000 (the description)
    rows = get_conn().execute(select(a).order_by(a.c.seq.desc()).limit(limit)).mappings()
    return jsonify([{**dict(r), "time": iso(r["time"])} for r in rows])
