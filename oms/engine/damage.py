"""Damage assessment: what assessors and crews find in the field, rolled up per outage. No I/O.

A ``damage_report`` event (a crew's, or the dispatcher's for one) records a
damaged asset at a place: ``asset`` (:data:`ASSETS`), ``repair_minutes``
(the estimate of the one who saw it), optional ``skills`` (the crew the
repair needs), ``materials``, ``photos`` (ids of photos uploaded before),
``note`` and ``outage`` (else the deepest active network outage whose
customers are around that place; none when there is none).

Rolled up per outage (:func:`roll_up`): the repair minutes of its reports
add up (one crew works them one after the other), and its job's ETR
becomes the report's time plus that total where later than the job's own
estimate (a crew's own estimate from the site stands); the skills of the
latest report that names some become the skills the job needs, so the
next crew sent has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from oms.exceptions import ActionError
from oms.intake.events import Event, iso

if TYPE_CHECKING:
    from oms.engine.core import EngineCore

__all__ = ["ASSETS", "apply_damage", "roll_up"]

ASSETS = (
    "pole",
    "conductor",
    "transformer",
    "crossarm",
    "insulator",
    "switch",
    "tree_on_line",
    "service_drop",
    "other",
)
_MAX_PHOTOS = 10


def _strings(p: Mapping[str, Any], key: str, limit: int = 20) -> list[str]:
    raw = p.get(key) or []
    if not isinstance(raw, list) or len(raw) > limit or not all(isinstance(x, str) for x in raw):
        raise ActionError(f"{key} must be a list of at most {limit} strings")
    return list(raw)


def apply_damage(core: EngineCore, event: Event) -> dict[str, Any]:
    """Record a damage report and roll it up into its outage's job; the report.

    Raises
    ------
    ActionError
        A field that is missing or wrong (named); nothing changed.
    """
    p, t = event.payload, event.time
    lon, lat = p.get("lon"), p.get("lat")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
        raise ActionError("a damage report needs its place: lon and lat")
    if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):  # type: ignore[arg-type]
        raise ActionError("lon must be within ±180 and lat within ±90")
    asset = p.get("asset")
    if asset not in ASSETS:
        raise ActionError(f"asset must be one of {', '.join(ASSETS)}")
    minutes = p.get("repair_minutes")
    if (
        not isinstance(minutes, int | float)
        or isinstance(minutes, bool)
        or not 0 <= minutes <= 10080
    ):
        raise ActionError("repair_minutes must be the estimated repair time, 0 to 10080 minutes")
    skills, photos = _strings(p, "skills"), _strings(p, "photos", _MAX_PHOTOS)
    materials = _strings(p, "materials", 50)
    outage = p.get("outage")
    if outage is not None:
        found = core.outages.find(outage) if isinstance(outage, str) else None
        if found is None or not found.active:
            raise ActionError(f"no active outage {outage!r}")
    else:
        outage = _outage_at(core, float(lon), float(lat))  # type: ignore[arg-type]
    report = {
        "id": event.id,
        "time": iso(t),
        "outage": outage,
        "crew": p.get("crew"),
        "user": p.get("user"),
        "lon": float(lon),  # type: ignore[arg-type]
        "lat": float(lat),  # type: ignore[arg-type]
        "asset": asset,
        "repair_minutes": float(minutes),
        "skills": skills,
        "materials": materials,
        "photos": photos,
        "note": p.get("note") if isinstance(p.get("note"), str) else None,
    }
    core.changes.damage.append(report)
    if outage is not None:
        core.damage.setdefault(outage, []).append(report)
    book = core.book
    if book is not None and outage is not None:
        job = book.by_outage.get(outage)
        if job is not None:
            summary = roll_up(core.damage[outage])
            if skills:
                job.skills = list(skills)
            if job.etr_source != "crew" and job.stamps.get("restored") is None:
                etr = t + timedelta(minutes=summary["repair_minutes"])
                if job.etr is None or etr > job.etr:
                    job.etr, job.etr_source = etr, "assessed"  # jobs.etr_source holds 8 characters
            book.dirty_jobs.add(job.id)
    return report


def _outage_at(core: EngineCore, lon: float, lat: float) -> str | None:
    """The deepest active network outage whose customers are around (lon, lat). O(n)."""
    net = core.net
    xy = net.node_xy
    scale = np.cos(np.radians(lat))
    near = int(np.argmin((xy[:, 0] - lon) ** 2 * scale**2 + (xy[:, 1] - lat) ** 2))
    best: tuple[int, str] | None = None
    for o in core.outages.active("network"):
        e = net.edge_index.get(o.device or "")
        if e is None:
            continue
        below = core.normal_supply.downstream_nodes(e)
        if (below == near).any() and (best is None or len(below) < best[0]):
            best = (len(below), o.id)
    return best[1] if best else None


def roll_up(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What an outage's damage reports add up to: assets by kind, repair minutes,
    the skills and materials named, the photos."""
    items = list(reports)
    assets: dict[str, int] = {}
    for r in items:
        assets[r["asset"]] = assets.get(r["asset"], 0) + 1
    return {
        "reports": len(items),
        "assets": assets,
        "repair_minutes": sum(float(r["repair_minutes"]) for r in items),
        "skills": sorted({s for r in items for s in r.get("skills", [])}),
        "materials": [m for r in items for m in r.get("materials", [])],
        "photos": [ph for r in items for ph in r.get("photos", [])],
    }
