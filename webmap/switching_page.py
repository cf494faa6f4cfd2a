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
from oms.switching.field import ACTION_CHANGE
from topology.model import EDGE_KINDS, OPERABLE_KINDS
from webmap.auth import current_user, may, may_take, require
from webmap.db import network, service

__all__ = ["bp", "page_config"]

bp = Blueprint("switching_page", __name__)


def _devices() -> list[list[str]]:
    """``[id, kind]`` of the network's switching devices, for the page's device lists.

    The isolation points of safety documents name them (the step editor
    offers each action's kinds from :func:`_edges`). O(m) numpy, O(devices)
    to list.
    """
    try:
        net = network()
    except NotLoadedError:
        return []
    return sorted([net.edge_ids[e], net.kind_of(e)] for e in np.flatnonzero(net.operable).tolist())


def _edges() -> dict[str, list[str]]:
    """The ids of the network's edges by kind, for the step editor's device lists.

    Each step action offers the kinds it fits (``stepKinds`` of the config);
    the page builds a list when it is first needed. O(m).
    """
    try:
        net = network()
    except NotLoadedError:
        return {}
    found: dict[str, list[str]] = {k: [] for k in EDGE_KINDS}
    for eid, code in zip(net.edge_ids, net.edge_kind.tolist(), strict=True):
        found[EDGE_KINDS[code]].append(eid)
    return {k: sorted(ids) for k, ids in found.items() if ids}


def _step_kinds() -> dict[str, list[str]]:
    """The kinds of edge each step action fits, as the engine judges a step
    (oms.switching.study.validity, FieldBook.check): switching devices operate
    and carry tags, cuts are made in conductors, grounds and jumpers go on any edge."""
    change = {action: kind for action, (kind, _) in ACTION_CHANGE.items()}
    fits = {"cut": ["line", "cable"], "ground": list(EDGE_KINDS), "jumper": list(EDGE_KINDS)}
    operable = sorted(OPERABLE_KINDS)  # open, close and tags
    return {a: fits.get(change.get(a, ""), operable) for a in STEP_ACTIONS}


def page_config() -> dict[str, Any]:
    """What the page needs to know: the user, what they may do, the desk's words."""
    user = current_user()
    return {
        "user": user.to_dict() if user else None,
        # Asked of the routes' own rules (webmap.auth.require), never kept here.
        "may": {
            "write": may(user, "switching.create_order"),
            "edit": may(user, "switching.edit_order"),
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
        "stepKinds": _step_kinds(),
        "documentKinds": list(DOCUMENT_KINDS),
        "tagKinds": list(TAG_KINDS),
        "noticeDays": service().config.switching.notice_days,
    }


@bp.get("/switching")
@require("dispatcher", "engineer")
def page() -> Any:
    """The switching page."""
    # The switching devices go into the page's <datalist> (the isolation point
    # inputs offer them); every edge by kind, for the lists each step action offers.
    return render_template(
        "switching.html",
        config=page_config(),
        devices=_devices(),
        edges=_edges(),
        user=current_user(),
    )
