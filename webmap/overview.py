"""The storm overview: ``GET /api/overview`` (:mod:`oms.storage.overview`) and its page.

``/overview`` is the control room's overview of a storm (customers out
over time; outages, crews, jobs and ETRs by substation, feeder and zone;
the oldest job waiting; breaches), kept live from ``/stream``;
``/overview?wall=1`` is the same for the large screen: large type, no
controls. Both read as of the engine service's clock. Staff only
(dispatcher, engineer, admin), as the other read routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from oms import vocabulary
from oms.exceptions import NotLoadedError
from oms.storage.overview import GROUPS, MAX_HOURS, POINTS, overview
from oms.vocabulary import CrewStatus, values
from webmap.auth import current_user, require
from webmap.db import get_conn, network, service
from webmap.openapi.metadata import (
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
from webmap.snapshots import NOT_MODIFIED, serve

__all__ = ["OVERVIEW", "bp"]

bp = Blueprint("overview", __name__)

_COUNT = {**INT, "minimum": 0}
_CREWS = obj(
    {s: _COUNT for s in values(CrewStatus)},
    values(CrewStatus),
    description="Crews by status (every status, zero included).",
)
_ETRS = {
    "etr_latest": {**nullable(TIME), "description": "The latest ETR: the last customers due back."},
    "etr_earliest": {**nullable(TIME), "description": "The earliest ETR still standing."},
    "etr_passed": {**_COUNT, "description": "Active outages whose ETR has passed."},
    "etr_missing": {**_COUNT, "description": "Active outages with no ETR."},
    "oldest_started": {**nullable(TIME), "description": "When the oldest active outage began."},
}
_FIGURES = {
    "outages": _COUNT,
    "customers_out": _COUNT,
    "critical_out": _COUNT,
    "jobs_open": _COUNT,
    "jobs_waiting": _COUNT,
    "jobs_breached": _COUNT,
    "crews": _CREWS,
    **_ETRS,
}
_NULLABLE_STR = nullable(STR)
_ROW = obj(
    {
        "id": {**_NULLABLE_STR, "description": "Null: what no substation, feeder or zone holds."},
        "name": {**_NULLABLE_STR, "description": "A zone's place name, else its id."},
        "area_class": {**_NULLABLE_STR, "description": "Zones only."},
        "unit": {**_NULLABLE_STR, "description": "Zones only: the repair unit."},
        **_FIGURES,
    },
    ("id", "name", *_FIGURES),
)
_JOB_BRIEF = obj(
    {
        "id": STR,
        "outage": _NULLABLE_STR,
        "state": STR,
        "crew": _NULLABLE_STR,
        "reported": {**nullable(TIME), "description": "Stamp A: the first report."},
        "priority": NUM,
        "zone": _NULLABLE_STR,
        "feeder": _NULLABLE_STR,
        "substation": _NULLABLE_STR,
        "device": _NULLABLE_STR,
        "customer": _NULLABLE_STR,
        "breaches": array(STR),
        "etr": nullable(TIME),
    },
    ("id", "outage", "state", "crew", "reported", "zone", "feeder", "substation", "breaches"),
)
OVERVIEW = Named(
    "Overview",
    obj(
        {
            "as_of": TIME,
            "hours": NUM,
            "totals": obj(_FIGURES, tuple(_FIGURES)),
            "series": {
                **array(
                    obj(
                        {
                            "time": TIME,
                            "customers_out": _COUNT,
                            "critical_out": _COUNT,
                            "outages": _COUNT,
                        },
                        ("time", "customers_out", "critical_out", "outages"),
                    )
                ),
                "description": f"{POINTS} samples at equal steps, the last at ``as_of``; "
                "from shortly before the first outage when that began after the window's start.",
            },
            "peak": obj(
                {"time": TIME, "customers_out": _COUNT, "outages": _COUNT},
                ("time", "customers_out", "outages"),
                description="The most customers out at once in the window, and when.",
            ),
            "groups": obj(
                {g: array(_ROW) for g in GROUPS},
                GROUPS,
                description="Rows by substation, feeder and zone, most customers out first.",
            ),
            "oldest_unassigned": {
                **nullable(_JOB_BRIEF),
                "description": "The job waiting for a crew the longest (by its report).",
            },
            "breaches": obj(
                {
                    "jobs": _COUNT,
                    "by_target": obj({}, description="Breached jobs per target."),
                    "listed": array(_JOB_BRIEF),
                },
                ("jobs", "by_target", "listed"),
                description="Open jobs past a response target, oldest report first.",
            ),
            "alarms": obj(
                {"unacknowledged": _COUNT, "levels": obj({})},
                ("unacknowledged", "levels"),
                description="Alerts waiting for acknowledgement, by level.",
            ),
        },
        (
            "as_of",
            "hours",
            "totals",
            "series",
            "peak",
            "groups",
            "oldest_unassigned",
            "breaches",
            "alarms",
        ),
        description="A storm at a glance, as of the server's clock.",
    ),
)


@bp.get("/api/overview")
@require("dispatcher", "engineer")
@operation(
    "The storm overview",
    tag="overview",
    params=[
        query(
            "hours",
            f"The window of the customers-out series, in hours (default 12, 1 to {MAX_HOURS}).",
            {**NUM, "minimum": 1, "maximum": MAX_HOURS},
        )
    ],
    ok={200: Answer("The overview.", OVERVIEW), 304: NOT_MODIFIED},
    description="Totals (the dispatcher's top bar), customers out over the last hours "
    "from the outages and the live feed, and by substation, feeder (normal state) and "
    "zone: outages, customers and critical customers out, jobs open, waiting and "
    "breached, crews by status, ETRs; the oldest job waiting; breached jobs; alarms.",
)
def overview_json() -> Any:
    """The overview as of the engine service's clock, from its snapshot
    (:mod:`webmap.snapshots`)."""
    hours = request.args.get("hours", 12.0, type=float)
    return serve(("overview", hours), lambda: overview_doc(hours), timed=True)


def overview_doc(hours: float) -> dict[str, Any]:
    """The overview document as built for its snapshot."""
    conn = get_conn()
    try:
        net = network()
    except NotLoadedError:
        net = None
    svc = service()
    return overview(conn, net, svc.now(conn), svc.config.dispatch, hours=hours)


@bp.get("/overview")
@require("dispatcher", "engineer")
def page() -> Any:
    """The overview page; ``?wall=1`` the wall display."""
    wall = request.args.get("wall") in ("1", "true", "yes")
    # The chart's window; the wall display has no controls, so its URL may say.
    hours = request.args.get("hours", 12.0, type=float)
    if hours is None or not 1 <= hours <= MAX_HOURS:
        hours = 12.0
    # The engine's words (oms.vocabulary): which crew statuses are working.
    config = {
        "wall": wall,
        "hours": hours,
        "groups": list(GROUPS),
        "vocabulary": vocabulary.as_config(),
    }
    return render_template("overview.html", config=config, user=current_user(), wall=wall)
