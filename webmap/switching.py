"""The switching desk over HTTP: switching orders, safety documents, planned outages, field changes.

Every change is an event of :mod:`oms.engine.desk` sent through the one
intake (``_apply`` of :mod:`webmap.api`: the sender from the session or the
handheld's token, audited), so the rules are the engine's: who may send
each type is :data:`oms.authority.RULES`, the two-person rule, sequence and
interlocks are the documents'. A refused action answers 422 (or 404, 409)
with the engine's reason; a warning to acknowledge names its rules
(``(acknowledge: parallel)``) and is sent again with ``"acknowledge":
["parallel"]``.

Reading: staff see every document; a crew sees the orders with a step of
its own once issued, the safety documents issued to it and the planned
outages it works on (anything else is 404, as if it did not exist).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from oms.authority import roles_for
from oms.exceptions import OMSError
from oms.outages import get_outage
from oms.storage.switching import by_source_event, field_changes, get_document, list_documents
from oms.switching.documents import (
    DOCUMENT_KINDS,
    ORDER_KINDS,
    ORDER_STATES,
    STEP_ACTIONS,
    TAG_KINDS,
)
from oms.switching.interlocks import DEFAULT_LEVELS
from webmap.api import _ANYONE, _DESK, _action_event, _apply, _body, _me
from webmap.auth import require
from webmap.db import get_conn, service
from webmap.openapi.metadata import (
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
    one_of,
    operation,
    path,
    query,
)

__all__ = ["ORDER", "PLANNED", "SAFETY_DOCUMENT", "bp"]

bp = Blueprint("switching", __name__, url_prefix="/api")

#: Those who act on safety documents: the control room, and the crew releasing its own.
_FIELD_ROLES = roles_for("safety_release")
_NSTR = nullable(STR)
_NTIME = nullable(TIME)

# ------------------------------------------------------------------ shapes
_SIGNATURE = obj(
    {"state": STR, "user": STR, "role": STR, "at": TIME, "note": _NSTR},
    ("state", "user", "role", "at"),
)
_STEP_IN = obj(
    {
        "action": {"enum": list(STEP_ACTIONS)},
        "device": STR,
        "performer": {**STR, "description": "control (the control room) or a crew id."},
        "tag": {"enum": list(TAG_KINDS), "description": "place_tag: the tag's kind."},
        "document": {**STR, "description": "The safety document a tag or ground is for."},
        "note": STR,
    },
    ("action", "device"),
)
_STEP = obj(
    {
        "seq": INT,
        "action": {"enum": list(STEP_ACTIONS)},
        "device": STR,
        "performer": STR,
        "tag": _NSTR,
        "document": _NSTR,
        "note": _NSTR,
        "done": BOOL,
        "done_at": _NTIME,
        "done_by": _NSTR,
        "lon": nullable(NUM),
        "lat": nullable(NUM),
        "acknowledged": IDS,
        "skipped": BOOL,
    },
    ("seq", "action", "device", "performer", "done"),
)
ORDER = Named(
    "SwitchingOrder",
    obj(
        {
            "id": STR,
            "kind": {"enum": list(ORDER_KINDS)},
            "title": STR,
            "state": {"enum": list(ORDER_STATES)},
            "outage": _NSTR,
            "planned": _NSTR,
            "template": _NSTR,
            "created_by": STR,
            "created_at": TIME,
            "steps": array(_STEP),
            "next_step": nullable(INT),
            "signatures": array(_SIGNATURE),
            "critical_listed": IDS,
            "study": nullable(obj({})),
        },
        ("id", "kind", "title", "state", "steps", "signatures"),
    ),
)
_FINDING = obj(
    {"rule": STR, "level": {"enum": ["refuse", "warn"]}, "message": STR},
    ("rule", "level", "message"),
)
STUDY = Named(
    "SwitchingStudy",
    obj(
        {
            "customers_interrupted": INT,
            "critical_interrupted": IDS,
            "customers_out_at_end": INT,
            "refusals": INT,
            "warnings": INT,
            "steps": array(
                obj(
                    {
                        "seq": INT,
                        "action": STR,
                        "device": STR,
                        "performer": STR,
                        "customers_lost": INT,
                        "customers_regained": INT,
                        "critical_lost": IDS,
                        "critical_regained": IDS,
                        "loop": _NSTR,
                        "customers_out": INT,
                        "findings": array(_FINDING),
                    },
                    ("seq", "action", "device", "customers_out", "findings"),
                )
            ),
        },
        ("customers_interrupted", "refusals", "warnings", "steps"),
    ),
)
_POINT = obj(
    {"device": STR, "state": {"enum": ["open", "closed"]}, "tag": BOOL, "ground": BOOL},
    ("device",),
)
SAFETY_DOCUMENT = Named(
    "SafetyDocument",
    obj(
        {
            "id": STR,
            "kind": {"enum": list(DOCUMENT_KINDS)},
            "crew": STR,
            "work": STR,
            "order": _NSTR,
            "state": {"enum": ["draft", "issued", "released", "cancelled"]},
            "points": array(_POINT),
            "created_by": STR,
            "created_at": TIME,
            "signatures": array(_SIGNATURE),
        },
        ("id", "kind", "crew", "state", "points", "signatures"),
    ),
)
PLANNED = Named(
    "PlannedOutage",
    obj(
        {
            "id": STR,
            "applicant": STR,
            "reason": STR,
            "devices": IDS,
            "ties": IDS,
            "start": TIME,
            "end": TIME,
            "crews": IDS,
            "notice_days": NUM,
            "state": {
                "enum": [
                    "requested",
                    "approved",
                    "in_progress",
                    "completed",
                    "rejected",
                    "cancelled",
                ]
            },
            "order": _NSTR,
            "actual_start": _NTIME,
            "actual_end": _NTIME,
            "requested_by": STR,
            "risk": obj({"customers": INT, "critical": IDS, "concerns": IDS}),
            "customers": IDS,
            "notices": obj({}),
            "signatures": array(_SIGNATURE),
        },
        ("id", "applicant", "reason", "devices", "start", "end", "state", "risk"),
    ),
)
FIELD_CHANGE = Named(
    "FieldChange",
    obj(
        {
            "id": STR,
            "kind": {"enum": ["tag", "ground", "jumper", "cut"]},
            "device": STR,
            "tag": _NSTR,
            "document": _NSTR,
            "order": _NSTR,
            "step": nullable(INT),
            "placed_at": TIME,
            "placed_by": STR,
            "removed_at": _NTIME,
            "removed_by": _NSTR,
        },
        ("id", "kind", "device", "placed_at", "placed_by"),
    ),
)
_ID_TIME = {"id": STR, "time": TIME}
_NOTE = obj({**_ID_TIME, "note": STR, "reason": STR})
_NEW_ORDER = obj(
    {
        **_ID_TIME,
        "title": STR,
        "kind": {"enum": list(ORDER_KINDS)},
        "steps": array(_STEP_IN),
        "outage": STR,
        "planned": STR,
        "template": STR,
    },
    ("title",),
)
_EDIT = obj({**_ID_TIME, "steps": array(_STEP_IN), "title": STR}, ("steps",))
_STEP_DONE = obj(
    {
        **_ID_TIME,
        "acknowledge": {
            "type": "array",
            "items": {"enum": list(DEFAULT_LEVELS)},
            "description": "Warnings acknowledged by rule name (a 422 names them).",
        },
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "note": STR,
        "skip": {
            **BOOL,
            "description": "Pass over the step (the control room's), with ``reason``.",
        },
        "reason": STR,
    }
)
_NEW_SAFETY = obj(
    {
        **_ID_TIME,
        "kind": {"enum": list(DOCUMENT_KINDS)},
        "crew": STR,
        "points": array(_POINT),
        "work": STR,
        "order": STR,
    },
    ("crew", "points"),
)
_NEW_PLANNED = obj(
    {
        **_ID_TIME,
        "applicant": STR,
        "reason": STR,
        "devices": IDS,
        "ties": IDS,
        "start": TIME,
        "end": TIME,
        "crews": IDS,
        "notice_days": {"type": "number", "minimum": 0, "maximum": 365},
    },
    ("applicant", "reason", "devices", "start", "end"),
)
_STUDY_BODY = obj({"steps": array(_STEP_IN)}, ("steps",))
_REFUSED = (404, 409, 422, 503)

ORDER_ACTIONS = {
    "check": "order_check",
    "approve": "order_approve",
    "issue": "order_issue",
    "cancel": "order_cancel",
}
SAFETY_ACTIONS = {"issue": "safety_issue", "release": "safety_release", "cancel": "safety_cancel"}
PLANNED_ACTIONS = {
    "approve": "planned_approve",
    "reject": "planned_reject",
    "cancel": "planned_cancel",
}


# ---------------------------------------------------------------- helpers
def _visible(doc: dict[str, Any] | None, prefix: str) -> dict[str, Any]:
    """The document if this user may see it, else 404 (as if it did not exist)."""
    user = _me()
    if doc is None or not doc["id"].startswith(prefix):
        abort(404, description="no such document")
    if user.role == "crew":
        kind = {"SO": "order", "SD": "safety", "PO": "planned"}[prefix]
        mine = list_documents(get_conn(), kind, crew=user.crew or "")
        if doc["id"] not in {d["id"] for d in mine}:
            abort(404, description=f"no such document {doc['id']!r}")
    return doc


def _send(etype: str, body: dict[str, Any], ref: str, **fields: Any) -> tuple[Response, int] | None:
    """Send one desk event; None when it was applied, else the refusal to answer with."""
    event = _action_event(etype, body, **fields)
    answer, status = _apply([event], etype, ref)
    if status != 200:
        return answer, status
    return None


def _created(etype: str, body: dict[str, Any]) -> Any:
    event = _action_event(etype, body)
    answer, status = _apply([event], etype, None)
    if status != 200:
        return answer, status
    doc = by_source_event(get_conn(), event["id"])
    if doc is None:  # a duplicate of an event that was refused when first sent
        abort(409, description=f"event {event['id']!r} created nothing")
    return jsonify(doc), 201


def _acted(etype: str, body: dict[str, Any], doc_id: str, **fields: Any) -> Any:
    refused = _send(etype, body, doc_id, **fields)
    if refused is not None:
        return refused
    return jsonify(get_document(get_conn(), doc_id))


# ------------------------------------------------------------------ orders
@bp.get("/switching/orders")
@require(*_ANYONE)
@operation(
    "Switching orders, newest first",
    tag="switching",
    params=[
        query("state", "Only in this state.", {"enum": list(ORDER_STATES)}),
        query("open", "Only those not completed or cancelled.", BOOL),
    ],
    ok=Answer("The orders (a crew: its issued orders).", array(ORDER)),
)
def orders() -> Any:
    user = _me()
    crew = (user.crew or "") if user.role == "crew" else None
    docs = list_documents(
        get_conn(),
        "order",
        state=request.args.get("state"),
        open_only=request.args.get("open") == "true",
        crew=crew,
    )
    return jsonify(docs)


@bp.post("/switching/orders")
@require(*roles_for("order_create"))
@operation(
    "Write a switching order (a draft)",
    tag="switching",
    body=Named("NewSwitchingOrder", _NEW_ORDER),
    body_required=True,
    check_body=False,  # the engine names a bad step (422)
    ok={201: Answer("The draft.", ORDER)},
    errors=(400, 403, *_REFUSED),
)
def create_order() -> Any:
    return _created("order_create", _body(event=True))


@bp.get("/switching/orders/<order_id>")
@require(*_ANYONE)
@operation("A switching order", tag="switching", ok=Answer("The order.", ORDER), errors=(404,))
def order(order_id: str) -> Any:
    return jsonify(_visible(get_document(get_conn(), order_id), "SO"))


@bp.post("/switching/orders/<order_id>/edit")
@require(*roles_for("order_edit"))
@operation(
    "Replace a draft's steps (a checked order goes back to draft)",
    tag="switching",
    body=Named("SwitchingOrderEdit", _EDIT),
    body_required=True,
    check_body=False,
    ok=Answer("The order.", ORDER),
    errors=(400, 403, *_REFUSED),
)
def edit_order(order_id: str) -> Any:
    return _acted("order_edit", _body(event=True), order_id, order=order_id)


@bp.post(f"/switching/orders/<order_id>/<{one_of(ORDER_ACTIONS)}:action>")
@require(*_DESK, actions={a: roles_for(e) for a, e in ORDER_ACTIONS.items()})
@operation(
    "Check (runs the study), approve (not by its writer), issue or cancel an order",
    tag="switching",
    params=[path("action", "The change of state.", enum=list(ORDER_ACTIONS))],
    body=Named("SwitchingNote", _NOTE),
    ok=Answer("The order.", ORDER),
    errors=(400, 403, *_REFUSED),
    description="Who may: check and approve, dispatcher or engineer; issue and cancel, "
    "dispatcher (``x-action-roles``).",
)
def order_action(order_id: str, action: str) -> Any:
    return _acted(ORDER_ACTIONS[action], _body(event=True), order_id, order=order_id)


@bp.post("/switching/orders/<order_id>/steps/<int:seq>")
@require(*roles_for("order_step"))
@operation(
    "Report a step done (a crew: its own steps; the control room: the rest)",
    tag="switching",
    params=[path("seq", "The step's number.", type="integer", minimum=1, example=1)],
    body=Named("SwitchingStepDone", _STEP_DONE),
    ok=Answer("The order.", ORDER),
    errors=(400, 403, *_REFUSED),
    description="Checked against the sequence and the interlocks first; a warning "
    "answers 422 naming the rules to acknowledge. Replayed offline reports keep "
    "their ``id`` (idempotent) and ``time``.",
)
def step_done(order_id: str, seq: int) -> Any:
    return _acted("order_step", _body(event=True), order_id, order=order_id, step=seq)


@bp.get("/switching/orders/<order_id>/study")
@require(*_DESK)
@operation(
    "Study mode: the order run on a copy of the network as operated now",
    tag="switching",
    ok=Answer("After each step: who loses and regains supply, loops, loads, findings.", STUDY),
    errors=(404,),
)
def study_order(order_id: str) -> Any:
    _visible(get_document(get_conn(), order_id), "SO")
    return _study(order_id=order_id)


@bp.post("/switching/study")
@require(*_DESK)
@operation(
    "Study mode for steps not saved yet (nothing changes)",
    tag="switching",
    body=Named("SwitchingStudyRequest", _STUDY_BODY),
    body_required=True,
    check_body=False,
    ok=Answer("The study.", STUDY),
    errors=(400,),
    description="400 names a step that does not parse (unknown device, action, crew).",
)
def study_steps() -> Any:
    return _study(steps=_body().get("steps"))


def _study(**what: Any) -> Any:
    svc = service()
    with svc.lock:
        engine = svc.engine
        engine.refresh()
        try:
            result = engine.study(**what)
        except OMSError as exc:
            abort(404 if exc.code == "not_found" else 400, description=str(exc))
    return jsonify(result)


@bp.post("/outages/<outage_id>/order")
@require(*roles_for("order_create"))
@operation(
    "Write a draft order from an outage's isolation and restoration plan",
    tag="switching",
    body=Named("OrderFromPlan", obj({**_ID_TIME, "title": STR})),
    ok={201: Answer("The draft: the plan's opens, then its closes.", ORDER)},
    errors=(400, 403, *_REFUSED),
)
def order_from_plan(outage_id: str) -> Any:
    conn = get_conn()
    try:
        o = get_outage(conn, outage_id)
    except OMSError as exc:
        abort(404, description=str(exc))
    if not (o.section or o.device):
        abort(400, description=f"{outage_id} is a single customer's outage: no switching plan")
    # The desk drafts it from the plan (oms.engine.desk.outage_steps), as for
    # ``oms switching create --outage``: one plan for both.
    body = _body(event=True)
    return _created("order_create", {**body, "kind": "outage", "outage": outage_id})


# -------------------------------------------------------- safety documents
@bp.get("/switching/safety")
@require(*_ANYONE)
@operation(
    "Safety documents (clearances, holds, delegated control), newest first",
    tag="switching",
    params=[query("open", "Only those not released or cancelled.", BOOL)],
    ok=Answer("The documents (a crew: those issued to it).", array(SAFETY_DOCUMENT)),
)
def safety_documents() -> Any:
    user = _me()
    crew = (user.crew or "") if user.role == "crew" else None
    return jsonify(
        list_documents(
            get_conn(), "safety", open_only=request.args.get("open") == "true", crew=crew
        )
    )


@bp.post("/switching/safety")
@require(*roles_for("safety_create"))
@operation(
    "Write a safety document (a draft)",
    tag="switching",
    body=Named("NewSafetyDocument", _NEW_SAFETY),
    body_required=True,
    check_body=False,
    ok={201: Answer("The draft.", SAFETY_DOCUMENT)},
    errors=(400, 403, *_REFUSED),
)
def create_safety() -> Any:
    return _created("safety_create", _body(event=True))


@bp.get("/switching/safety/<document_id>")
@require(*_ANYONE)
@operation("A safety document", tag="switching", ok=Answer("It.", SAFETY_DOCUMENT), errors=(404,))
def safety_document(document_id: str) -> Any:
    return jsonify(_visible(get_document(get_conn(), document_id), "SD"))


@bp.post(f"/switching/safety/<document_id>/<{one_of(SAFETY_ACTIONS)}:action>")
@require(*_FIELD_ROLES, actions={a: roles_for(e) for a, e in SAFETY_ACTIONS.items()})
@operation(
    "Issue (every point in its listed state), release (its crew) or cancel a safety document",
    tag="switching",
    params=[path("action", "The change of state.", enum=list(SAFETY_ACTIONS))],
    body=Named("SafetyNote", _NOTE),
    ok=Answer("The document.", SAFETY_DOCUMENT),
    errors=(400, 403, *_REFUSED),
)
def safety_action(document_id: str, action: str) -> Any:
    return _acted(SAFETY_ACTIONS[action], _body(event=True), document_id, document=document_id)


# ---------------------------------------------------------- planned outages
@bp.get("/planned")
@require(*_ANYONE)
@operation(
    "Planned outages, newest first",
    tag="planned",
    params=[query("open", "Only those requested, approved or under way.", BOOL)],
    ok=Answer("The planned outages (a crew: those it works on).", array(PLANNED)),
)
def planned_outages() -> Any:
    user = _me()
    crew = (user.crew or "") if user.role == "crew" else None
    return jsonify(
        list_documents(
            get_conn(), "planned", open_only=request.args.get("open") == "true", crew=crew
        )
    )


@bp.post("/planned")
@require(*roles_for("planned_request"))
@operation(
    "Request a planned outage (with its risk check)",
    tag="planned",
    body=Named("NewPlannedOutage", _NEW_PLANNED),
    body_required=True,
    check_body=False,
    ok={201: Answer("The request, with its risk.", PLANNED)},
    errors=(400, 403, *_REFUSED),
)
def request_planned() -> Any:
    return _created("planned_request", _body(event=True))


@bp.get("/planned/<planned_id>")
@require(*_ANYONE)
@operation("A planned outage", tag="planned", ok=Answer("It.", PLANNED), errors=(404,))
def planned(planned_id: str) -> Any:
    return jsonify(_visible(get_document(get_conn(), planned_id), "PO"))


@bp.post(f"/planned/<planned_id>/<{one_of(PLANNED_ACTIONS)}:action>")
@require(*_DESK, actions={a: roles_for(e) for a, e in PLANNED_ACTIONS.items()})
@operation(
    "Approve (not by its requester), reject or cancel a planned outage",
    tag="planned",
    params=[path("action", "The decision.", enum=list(PLANNED_ACTIONS))],
    body=Named("PlannedNote", _NOTE),
    ok=Answer("The planned outage.", PLANNED),
    errors=(400, 403, *_REFUSED),
)
def planned_action(planned_id: str, action: str) -> Any:
    return _acted(PLANNED_ACTIONS[action], _body(event=True), planned_id, planned=planned_id)


# ------------------------------------------------------------ field changes
@bp.get("/switching/field")
@require(*_ANYONE)
@operation(
    "Tags, grounds, jumpers and cuts in the field (in place, or all)",
    tag="switching",
    params=[query("all", "Removed ones too.", BOOL)],
    ok=Answer("Oldest first.", array(FIELD_CHANGE)),
)
def field() -> Any:
    return jsonify(field_changes(get_conn(), active_only=request.args.get("all") != "true"))
