"""The critical-customer register and the callback queue over HTTP.

- ``GET /api/critical``: the register (every customer with a reason), with
  contacts, emergency plan and who edited the entry last.
- ``PUT /api/critical/<customer>``: edit an entry, put a customer on the
  register or take it off (``critical: null``): a ``critical_customer``
  event (:mod:`oms.engine.register`), so the engine's counts follow at once.
- ``GET /api/callbacks``: the calls owed, critical customers first
  (:mod:`oms.storage.callbacks`).
- ``POST /api/customers/<customer>/contacts``: a call made, reached or
  not: a ``customer_contact`` event.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from oms.authority import roles_for
from oms.engine.register import CONTACT_FIELDS
from oms.storage.callbacks import KINDS, callback_queue
from oms.storage.loading import register_entries
from webmap.api import _action_event, _apply, _body
from webmap.auth import require
from webmap.db import get_conn, network, service
from webmap.openapi.metadata import (
    BOOL,
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
    path,
    query,
)
from webmap.openapi.shapes import INGEST_REPORT

__all__ = ["bp"]

bp = Blueprint("critical", __name__, url_prefix="/api")

#: Who reads the register and the queue: those who may keep it or make the calls.
_READERS = tuple(sorted(set(roles_for("critical_customer")) | set(roles_for("customer_contact"))))

_CUSTOMER = path("customer", "The customer's id (contract 2).", example="C-000123")
_CONTACT = obj({k: nullable(STR) for k in CONTACT_FIELDS}, ("name",))
ENTRY = Named(
    "CriticalCustomer",
    obj(
        {
            "customer": STR,
            "name": nullable(STR),
            "address": nullable(STR),
            "phone": nullable(STR),
            "critical": {**STR, "description": "The reason: life_support, hospital, water..."},
            "emergency_plan": nullable(STR),
            "contacts": array(_CONTACT),
            "note": nullable(STR),
            "updated_at": nullable(TIME),
            "updated_by": nullable(STR),
        },
        ("customer", "critical", "contacts"),
    ),
)
_EDIT = obj(
    {
        "critical": nullable(STR),
        "emergency_plan": nullable(STR),
        "contacts": array(_CONTACT),
        "note": nullable(STR),
        "id": STR,
        "time": TIME,
    },
    (),
)
_CALL = obj(
    {
        "kind": {"enum": list(KINDS)},
        "customer": STR,
        "name": nullable(STR),
        "critical": nullable(STR),
        "address": nullable(STR),
        "emergency_plan": nullable(STR),
        "outage": STR,
        "since": TIME,
        "minutes": NUM,
        "call": array(obj({"name": nullable(STR), "phone": nullable(STR), "email": nullable(STR)})),
        "attempts": INT,
        "last_attempt": nullable(obj({"time": TIME, "user": STR, "note": nullable(STR)})),
    },
    ("kind", "customer", "outage", "since", "call", "attempts"),
)
_CONTACT_MADE = obj(
    {
        "reached": {**BOOL, "description": "Whether the customer or its contact answered."},
        "outage": STR,
        "phone": STR,
        "note": STR,
        "id": STR,
        "time": TIME,
    },
    ("reached",),
)


def _known(customer: str) -> None:
    cust = network().customers
    if cust is None or customer not in cust.index:
        abort(404, description=f"no customer {customer!r}")


@bp.get("/critical")
@require(*_READERS)
@operation(
    "The critical-customer register",
    tag="customers",
    ok=Answer("Every customer with a reason, by id.", array(ENTRY)),
)
def register() -> Any:
    return jsonify(register_entries(get_conn(), network()))


@bp.put("/critical/<customer>")
@require(*roles_for("critical_customer"))
@operation(
    "Edit a customer's register entry; put it on the register or take it off",
    tag="customers",
    params=[_CUSTOMER],
    body=Named("CriticalCustomerEdit", _EDIT),
    body_required=True,
    check_body=False,  # the engine names the field that is wrong (422)
    ok=Answer("Applied.", INGEST_REPORT),
    errors=(403, 404, 409, 422, 503),
    description="critical: the reason, or null to take the customer off; fields left out "
    "keep their value. The entry stands over the customers file's (docs/dispatch.md).",
)
def edit(customer: str) -> Any:
    _known(customer)
    event = _action_event("critical_customer", _body(event=True), customer=customer)
    return _apply([event], "critical_customer", customer)


@bp.get("/callbacks")
@require(*_READERS)
@operation(
    "The calls owed to customers, critical ones first",
    tag="customers",
    params=[
        query(
            "hours",
            "How far back restorations are called back (default 24).",
            {**NUM, "exclusiveMinimum": 0, "maximum": 720},
        ),
        query("limit", "Most calls listed (default 500).", {**INT, "minimum": 1, "maximum": 10000}),
    ],
    ok=Answer(
        "``counts`` per kind and the ``calls`` in the order to make them.",
        obj(
            {"as_of": TIME, "counts": obj({k: INT for k in KINDS}), "calls": array(_CALL)},
            ("as_of", "counts", "calls"),
        ),
    ),
    errors=(400,),
)
def callbacks() -> Any:
    try:
        hours = float(request.args.get("hours", 24))
        limit = int(request.args.get("limit", 500))
    except ValueError:
        abort(400, description="hours must be a number and limit a whole number")
    if not (0 < hours <= 24 * 30 and 0 < limit <= 10_000):
        abort(400, description="hours must be in (0, 720] and limit in [1, 10000]")
    conn = get_conn()
    return jsonify(callback_queue(conn, service().now(conn), hours=hours, limit=limit))


@bp.post("/customers/<customer>/contacts")
@require(*roles_for("customer_contact"))
@operation(
    "Record a call made to a customer or its contact, reached or not",
    tag="customers",
    params=[_CUSTOMER],
    body=Named("CustomerContact", _CONTACT_MADE),
    body_required=True,
    check_body=False,  # the engine names the field that is wrong (422)
    ok=Answer("Applied.", INGEST_REPORT),
    errors=(403, 404, 409, 422, 503),
)
def contact(customer: str) -> Any:
    _known(customer)
    event = _action_event("customer_contact", _body(event=True), customer=customer)
    return _apply([event], "customer_contact", customer)
