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

The routes and their shapes are described in :mod:`webmap.openapi`
(``GET /api/openapi.json``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import select

from oms.storage import schema
from oms.exceptions import EventError, OMSError
from oms.outages import get_outage, list_outages, outage_audit, outage_evidence
from oms.storage.queries import get_job, list_crews, list_jobs
from webmap import audit
from webmap.accounts import AccountError, User, add_device, add_user, list_devices, revoke_device
from webmap.auth import current_user, require
from webmap.db import database, get_conn, network, service

__all__ = ["bp"]

bp = Blueprint("api", __name__, url_prefix="/api")

#: Actions on a job by URL name -> event type.
JOB_ACTIONS = {
    "assign": "job_assign",
    "deliver": "job_delivered",
    "accept": "job_accept",
    "depart": "job_depart",
    "arrive": "job_arrive",
    "made-safe": "job_made_safe",
    "repaired": "job_repaired",
    "restored": "job_restored",
    "estimate": "job_estimate",
    "callback": "job_callback",
    "close": "job_close",
    "recall": "job_recall",
}
#: Actions a crew may take on its own jobs (the rest are the dispatcher's).
CREW_ACTIONS = {
    "deliver",
    "accept",
    "depart",
    "arrive",
    "made-safe",
    "repaired",
    "restored",
    "estimate",
    "close",
}
OUTAGE_ACTIONS = {
    "confirm": "outage_confirm",
    "split": "outage_split",
    "repredict": "outage_repredict",
    "restore": "outage_restore",
    "close": "outage_close",
}
_MAX_EVENTS = 10_000
#: How the engine words a rejected line whose id was seen with other content.
_CONFLICT = "was seen before with different content"


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


def _body() -> dict[str, Any]:
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="the request body must be a JSON object")
    if _has_nul(body):
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
    nul = EventError("NUL characters are not allowed in an event")
    events = [nul if _has_nul(e) else e for e in events]
    try:
        report = service().ingest(events)
    except OMSError as exc:  # e.g. an event id seen before with other content
        audit.record(
            database(),
            action,
            "conflict",
            username=user.username,
            device=user.device,
            ref=ref,
            detail={"error": str(exc)},
        )
        return jsonify(error=str(exc)), 409
    if numbers:  # the service numbers the events 1, 2...: back to their lines
        for r in report.rejected:
            r["line"] = numbers[r["line"] - 1]
    conflicts = [r for r in report.rejected if _CONFLICT in r["error"]]
    outcome = "conflict" if conflicts else "rejected" if report.rejected else "ok"
    ids = [e.get("id") for e in events if isinstance(e, dict)]
    audit.record(
        database(),
        action,
        outcome,
        username=user.username,
        device=user.device,
        ref=ref,
        detail={"events": ids[:50], "rejected": report.rejected[:5]},
    )
    doc: dict[str, Any] = {
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
    }
    if conflicts:  # the same id with other content: refused, as the module doc says
        doc["error"] = conflicts[0]["error"]
        return jsonify(doc), 409
    status = 200 if not report.rejected else 422
    return jsonify(doc), status


def _action_event(etype: str, body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An action event from the request: the client's id and time, or new ones."""
    user = _me()
    event = {k: v for k, v in body.items() if k not in ("id", "type", "time", "user")}
    event.update(fields)
    event["id"] = str(body.get("id") or f"web-{uuid.uuid4().hex}")
    event["type"] = etype
    event["time"] = body.get("time") or service().clock().isoformat()
    event["user"] = user.username
    return event


# ------------------------------------------------------------------ intake
@bp.get("/health")
def health() -> Any:
    """Liveness: the database answers, and the clock reads answer as of."""
    return jsonify(status="ok", clock=service().now(get_conn()).isoformat())


@bp.get("/clock")
def clock() -> Any:
    """The server's clock and its speed (simulated seconds per real second; 1 live).

    Pages count down and handhelds stamp their actions by it, not by the
    device's own clock.
    """
    speed = float(current_app.config.get("OMS_CLOCK_SPEED", 1.0))
    return jsonify(now=service().clock().isoformat(), speed=speed)


@bp.post("/events")
@require("dispatcher", "engineer")
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
                    events.append(json.loads(line))
                except ValueError as exc:
                    events.append(EventError(f"not valid JSON: {exc}"))
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
@require("dispatcher", "engineer")
def outages() -> Any:
    """Outages (contract 4 ``oms outages``), all but cancelled unless ``state`` says."""
    state = request.args.get("state")
    return jsonify([o.to_dict() for o in list_outages(get_conn(), state)])


@bp.get("/outages/<outage_id>")
@require("dispatcher", "engineer")
def outage(outage_id: str) -> Any:
    """One outage with its audit trail and evidence."""
    conn = get_conn()
    try:
        o = get_outage(conn, outage_id)
    except OMSError as exc:
        abort(404, description=str(exc))
    return jsonify(
        {
            **o.to_dict(),
            "audit": outage_audit(conn, outage_id),
            "evidence": outage_evidence(conn, o),
        }
    )


@bp.post("/outages/<outage_id>/<action>")
@require("dispatcher")
def outage_action(outage_id: str, action: str) -> Any:
    """confirm (``device``), split (``devices``), repredict, restore, close; ``reason``."""
    if action == "merge":
        body = _body()
        others = body.get("outages") or []
        event = _action_event("outage_merge", body, into=outage_id, outages=others)
    elif action in OUTAGE_ACTIONS:
        event = _action_event(OUTAGE_ACTIONS[action], _body(), outage=outage_id)
    else:
        abort(404, description=f"no outage action {action!r}")
    return _apply([event], f"outage_{action}", outage_id)


# -------------------------------------------------------------------- jobs
@bp.get("/jobs")
@require("dispatcher", "engineer", "crew")
def jobs() -> Any:
    """Jobs by priority (``open=1`` for open ones only); a crew sees its own."""
    user = _me()
    crew = user.crew if user.role == "crew" else None
    conn = get_conn()
    found = list_jobs(conn, service().now(conn), request.args.get("open") in ("1", "true"), crew)
    return jsonify([j.to_dict() for j in found])


def _job_or_404(job_id: str) -> Any:
    conn = get_conn()
    job = get_job(conn, job_id, service().now(conn))
    user = _me()
    if job is None or (user.role == "crew" and job.crew != user.crew):
        abort(404, description=f"no job {job_id!r}" + (" of your crew" if job else ""))
    return job


@bp.get("/jobs/<job_id>")
@require("dispatcher", "engineer", "crew")
def job(job_id: str) -> Any:
    """One job, with its outage and, for its crew, the customer's details."""
    j = _job_or_404(job_id)
    doc = j.to_dict()
    conn = get_conn()
    if j.customer:
        c = schema.customers
        row = conn.execute(
            select(c.c.id, c.c.name, c.c.phone, c.c.address, c.c.critical).where(
                c.c.id == j.customer
            )
        ).first()
        doc["customer_details"] = dict(row._mapping) if row else None
    if j.outage:
        try:
            doc["outage_details"] = get_outage(conn, j.outage).to_dict()
        except OMSError:
            doc["outage_details"] = None
    return jsonify(doc)


@bp.get("/jobs/<job_id>/suggest")
@require("dispatcher")
def suggest(job_id: str) -> Any:
    """The crew the rules would send, with every alternative's ETA (nothing changes)."""
    _job_or_404(job_id)
    svc = service()
    with svc.lock:
        engine = svc.engine
        engine.refresh()
        try:
            decision = engine.suggest(job_id, svc.now(get_conn()))
        except OMSError as exc:
            abort(409, description=str(exc))
    return jsonify(decision.to_dict())


@bp.post("/jobs/<job_id>/<action>")
@require("dispatcher", "crew")
def job_action(job_id: str, action: str) -> Any:
    """A stage or dispatcher action on a job (see ``JOB_ACTIONS``)."""
    user = _me()
    if action not in JOB_ACTIONS:
        abort(404, description=f"no job action {action!r}")
    if user.role == "crew":
        if action not in CREW_ACTIONS:
            abort(403, description=f"a crew cannot {action} a job")
        conn = get_conn()
        if get_job(conn, job_id, service().now(conn)) is None:
            abort(404, description=f"no job {job_id!r}")
        # A job recalled or given to another crew meanwhile: the engine
        # rejects the action with the reason (422), which the handheld shows.
    body = _body()
    fields: dict[str, Any] = {"job": job_id}
    if user.role == "crew":
        fields["crew"] = user.crew
    response, status = _apply(
        [_action_event(JOB_ACTIONS[action], body, **fields)], f"job_{action}", job_id
    )
    return response, status


# ------------------------------------------------------------------- crews
@bp.get("/crews")
@require("dispatcher", "engineer", "crew")
def crews() -> Any:
    """Crews with status, position (stale when old), zone, skills and jobs."""
    conn, svc = get_conn(), service()
    items = list_crews(conn, svc.config.dispatch, svc.now(conn))
    user = _me()
    if user.role == "crew":
        items = [c for c in items if c["id"] == user.crew]
    return jsonify(items)


@bp.post("/crews/<crew_id>/gps")
@require("dispatcher", "crew")
def crew_gps(crew_id: str) -> Any:
    """A position report ``{"lon", "lat"}`` (a crew reports only its own)."""
    user = _me()
    if user.role == "crew" and crew_id != user.crew:
        abort(403, description="a crew reports only its own position")
    event = _action_event("crew_gps", _body(), crew=crew_id)
    event.pop("user", None)
    return _apply([event], "crew_gps", crew_id)


@bp.post("/crews/<crew_id>/status")
@require("dispatcher", "crew")
def crew_status(crew_id: str) -> Any:
    """``{"status": "off_shift" | "available" | "returning"}``."""
    user = _me()
    if user.role == "crew" and crew_id != user.crew:
        abort(403, description="a crew changes only its own status")
    return _apply([_action_event("crew_status", _body(), crew=crew_id)], "crew_status", crew_id)


# ----------------------------------------------------------------- network
@bp.post("/switch")
@require("dispatcher", "engineer")
def switch() -> Any:
    """Operate a switch: ``{"device", "state": "open"|"closed", "confirm": true}``."""
    body = _body()
    if body.get("confirm") is not True:
        abort(400, description='switching must be confirmed: send "confirm": true')
    body = {k: v for k, v in body.items() if k != "confirm"}
    return _apply([_action_event("switch", body)], "switch", str(body.get("device")))


@bp.get("/trace/<kind>")
@require("dispatcher", "engineer", "crew")
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
@bp.get("/reports/<name>")
@require("dispatcher", "engineer")
def report(name: str) -> Any:
    """indices, compliance (``start``, ``end``) or bulletin (``day``)."""
    from datetime import date, timedelta

    from oms.intake.events import parse_time
    from oms.exceptions import EventError
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
    except (EventError, ValueError) as exc:
        abort(400, description=str(exc))
    abort(404, description=f"no report {name!r}")


@bp.get("/alerts")
@require("dispatcher", "engineer")
def alerts() -> Any:
    """Alerts (warnings, breaches, escalations, capacity), newest first; ``limit``."""
    from oms.intake.events import iso

    a = schema.alerts
    limit = min(max(request.args.get("limit", 200, type=int) or 200, 1), 5000)
    rows = get_conn().execute(select(a).order_by(a.c.seq.desc()).limit(limit)).mappings()
    return jsonify([{**dict(r), "time": iso(r["time"])} for r in rows])


# ------------------------------------------------------------------- admin
@bp.post("/users")
@require("admin")
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
def devices() -> Any:
    with database().connect() as conn:
        found = list_devices(conn)
    return jsonify([d.to_dict() for d in found])


@bp.post("/devices")
@require("admin")
def create_device() -> Any:
    """``{"username", "name"}`` -> the device and its bearer token (shown once)."""
    body = _body()
    try:
        with database().begin() as conn:
            dev, token = add_device(conn, str(body.get("username", "")), str(body.get("name", "")))
    except AccountError as exc:
        abort(400, description=str(exc))
    audit.record(database(), "device_add", "ok", username=_me().username, ref=dev.id)
    return jsonify(id=dev.id, name=dev.name, username=dev.username, token=token), 201


@bp.post("/devices/<device_id>/revoke")
@require("admin")
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
def audit_log() -> Any:
    """The access audit, newest first; ``limit``."""
    from oms.intake.events import iso

    a = schema.audit
    limit = min(max(request.args.get("limit", 200, type=int) or 200, 1), 5000)
    rows = get_conn().execute(select(a).order_by(a.c.seq.desc()).limit(limit)).mappings()
    return jsonify([{**dict(r), "time": iso(r["time"])} for r in rows])


from webmap import openapi  # noqa: E402,F401  registers /api/openapi.json
