"""The control room's switching page (``/switching``): orders, safety documents,
planned outages and the field changes in place.

The page is drawn in the browser (``static/switching.js`` over
``static/js/switching/``) from the switching desk's REST API
(:mod:`webmap.switching`) and kept live from ``/stream`` (rows of kind
``order``, ``safety``, ``planned`` and ``field``). Every change it makes is
one of those API calls, so the rules are the engine's: a refusal answers
422 with its reason, which the page shows; an interlock warning names the
rules to acknowledge, which the page asks the operator to tick one by one
before it sends the request again with ``acknowledge``.

What the signed-in user may do is asked of the API's own rules
(:func:`webmap.auth.may`, :func:`webmap.auth.may_take`) and written into the
page's config, so the page never keeps its own list of roles. Staff only
(dispatcher, engineer, admin), as the dispatcher's map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, render_template

from oms.exceptions import NotLoadedError
from oms.switching.documents import (
    DOCUMENT_KINDS,
    ORDER_KINDS,
    ORDER_STATES,
    STEP_ACTIONS,
    TAG_KINDS,
)
from webmap.auth import current_user, may, may_take, require
from webmap.db import network, service

__all__ = ["bp", "page_config"]

bp = Blueprint("switching_page", __name__)


def _devices() -> list[list[str]]:
    """``[id, kind]`` of the network's switching devices, for the page's device lists.

    Conductors (cuts, jumpers and grounds on a span) are typed by id; the
    switching devices are what most steps name. O(m) numpy, O(devices) to list.
    """
    try:
        net = network()
    except NotLoadedError:
        return []
    return sorted([net.edge_ids[e], net.kind_of(e)] for e in np.flatnonzero(net.operable).tolist())


def page_config() -> dict[str, Any]:
    """What the page needs to know: the user, what they may do, the desk's words."""
    user = current_user()
    return {
        "user": user.to_dict() if user else None,
        # Asked of the routes' own rules (webmap.auth.require), never kept here.
        "may": {
            "write": may(user, "switching.create_order"),
            "fromOutage": may(user, "switching.order_from_plan"),
            "step": may(user, "switching.step_done"),
            "study": may(user, "switching.study_steps"),
            "safety": may(user, "switching.create_safety"),
            "plan": may(user, "switching.request_planned"),
        },
        "orderActions": may_take(user, "switching.order_action"),
        "safetyActions": may_take(user, "switching.safety_action"),
        "plannedActions": may_take(user, "switching.planned_action"),
        # The engine's words (oms.switching), so the page keeps no lists of its own.
        "orderStates": list(ORDER_STATES),
        "orderKinds": list(ORDER_KINDS),
        "stepActions": list(STEP_ACTIONS),
        "documentKinds": list(DOCUMENT_KINDS),
        "tagKinds": list(TAG_KINDS),
        "noticeDays": service().config.switching.notice_days,
    }


@bp.get("/switching")
@require("dispatcher", "engineer")
def page() -> Any:
    """The switching page."""
    # The device ids go into the page's <datalist> (the step and point inputs offer them).
    return render_template(
        "switching.html", config=page_config(), devices=_devices(), user=current_user()
    )
