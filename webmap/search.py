"""``GET /api/search``: the dispatcher's one search box (:mod:`oms.storage.search`).

Staff only (dispatcher, engineer, admin): a search finds customers by
name, phone and address, which a crew's handheld has no business looking
through.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from oms.exceptions import NotLoadedError
from oms.storage.search import KINDS, MAX_LIMIT, MAX_QUERY, search
from webmap.auth import require
from webmap.db import get_conn, network
from webmap.openapi.metadata import (
    INT,
    STR,
    Answer,
    Named,
    Param,
    array,
    nullable,
    obj,
    operation,
    query,
)
from webmap.openapi.shapes import LAT, LON

__all__ = ["SEARCH_HIT", "bp"]

bp = Blueprint("search", __name__, url_prefix="/api")

SEARCH_HIT = Named(
    "SearchHit",
    obj(
        {
            "kind": {"enum": list(KINDS)},
            "id": STR,
            "label": STR,
            "detail": STR,
            "rank": {
                **INT,
                "minimum": 0,
                "maximum": 2,
                "description": "0 exact, 1 starts with, 2 contains.",
            },
            "lon": nullable(LON),
            "lat": nullable(LAT),
            "outage": {**nullable(STR), "description": "The outage whose detail to open."},
            "job": {**nullable(STR), "description": "The job to show."},
        },
        ("kind", "id", "label", "detail", "rank", "lon", "lat", "outage", "job"),
        description="One search hit and where to go: a position, an outage or a job.",
    ),
)


@bp.get("/search")
@require("dispatcher", "engineer")
@operation(
    "Search customers, nodes, devices, outages, jobs and crews",
    tag="search",
    params=[
        Param(
            "q",
            "What was typed: a name, phone (national or international), account, meter, "
            "address, or an id of any kind. Every word must appear (any case).",
            {**STR, "minLength": 1, "maxLength": MAX_QUERY},
            required=True,
        ),
        query(
            "limit",
            f"At most this many hits (default 20, at most {MAX_LIMIT}).",
            {**INT, "minimum": 1, "maximum": MAX_LIMIT},
        ),
    ],
    ok=Answer("Hits, best first: exact, then starts with, then contains.", array(SEARCH_HIT)),
)
def search_route() -> Any:
    """Hits for ``q``, best first (``limit``, default 20)."""
    conn = get_conn()
    try:
        net = network()
    except NotLoadedError:
        net = None
    hits = search(conn, net, request.args["q"], request.args.get("limit", 20, type=int))
    return jsonify([h.to_dict() for h in hits])
