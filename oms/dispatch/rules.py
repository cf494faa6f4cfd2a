"""Choosing the crew for a job: area dispatch, nearest by travel time, preemption, batches.

Pure functions over plain records (no database): the engine and the CLI
gather crews and jobs, :func:`suggest` and :func:`assign_batch` decide, and
every decision carries its rule and every alternative's ETA and why it was
not chosen (contract 4, ``oms dispatch suggest``).

Rules, in order (:func:`suggest`):

1. ``zone``: the crew that owns the job's zone (direct area dispatch), if it
   is available, on shift, qualified and its GPS is fresh; the fastest if
   several.
2. ``nearest``: otherwise the available qualified crew with the shortest
   travel time (one reverse Dijkstra from the job over the road graph, or
   straight-line distance with a detour factor).
3. ``preempt``: otherwise, when allowed, the nearest qualified crew that is
   assigned or en route to a job of lower priority by at least
   ``preempt_margin`` (never one on site, unless configured).
4. ``none``.

A mutual-aid crew expected but not checked in (:mod:`oms.dispatch.mutual_aid`)
is never chosen: it counts as ``off_shift`` and has no travel time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from oms.dispatch.roads import RoadGraph, straight_line_times
from oms.vocabulary import BUSY as BUSY_STATUSES
from oms.vocabulary import values

__all__ = [
    "BUSY",
    "CrewView",
    "Decision",
    "DispatchRules",
    "JobView",
    "assign_batch",
    "on_shift",
    "suggest",
]

#: Crew statuses in which a crew is working a job.
BUSY = values(BUSY_STATUSES)


@dataclass(frozen=True)
class DispatchRules:
    """How crews are chosen (documented in ``docs/dispatch.md``)."""

    stale_gps_s: float = 900.0
    detour: float = 1.4
    speed_kmh: float = 40.0
    preempt: bool = True
    preempt_margin: float = 20.0
    preempt_on_site: bool = False
    priority_seconds: float = 60.0  # storm batches: one priority point is worth this much ETA
    time_zone: str = "UTC"
    workers: int = 1  # processes for the travel-time matrix of a storm batch


@dataclass
class CrewView:
    """What dispatch needs to know of a crew."""

    id: str
    unit: str | None
    zone: str | None
    skills: Sequence[str]
    voltage_kv: Sequence[float]
    lon: float
    lat: float
    status: str = "available"
    gps_time: datetime | None = None
    shift_start: str | None = None
    shift_end: str | None = None
    job_priority: float | None = None  # of the job it works, when busy
    #: False for a mutual-aid crew expected but not checked in: never sent.
    checked_in: bool = True


@dataclass
class JobView:
    """What dispatch needs to know of a job."""

    id: str
    lon: float
    lat: float
    zone: str | None
    skills: Sequence[str]  # any one of them qualifies
    voltage_kv: float | None
    priority: float


@dataclass
class Decision:
    """A dispatch decision: the crew (or None), the rule, and the alternatives."""

    job: str
    crew: str | None
    rule: str
    eta_s: float | None
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "crew": self.crew,
            "rule": self.rule,
            "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
            "alternatives": self.alternatives,
        }


def on_shift(crew: CrewView, now: datetime, time_zone: str = "UTC") -> bool:
    """Whether ``now`` falls in the crew's shift (an end before the start runs past midnight)."""
    if not crew.shift_start or not crew.shift_end:
        return True
    local = now.astimezone(ZoneInfo(time_zone) if time_zone != "UTC" else timezone.utc).time()
    start, end = time.fromisoformat(crew.shift_start), time.fromisoformat(crew.shift_end)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def qualified(crew: CrewView, job: JobView) -> bool:
    if job.skills and not set(job.skills) & set(crew.skills):
        return False
    return not (
        job.voltage_kv is not None and crew.voltage_kv and job.voltage_kv not in crew.voltage_kv
    )


def travel_times(
    job: JobView, crews: Sequence[CrewView], roads: RoadGraph | None, rules: DispatchRules
) -> np.ndarray:
    """Seconds from each crew to the job. One Dijkstra with roads."""
    origins = np.array([[c.lon, c.lat] for c in crews], dtype=float).reshape(-1, 2)
    # A crew with no position yet (expected, not checked in) is nowhere: no ETA.
    placed = np.isfinite(origins).all(axis=1)
    eta = np.full(len(crews), np.inf)
    if not placed.any():
        return eta
    if roads is not None:
        eta[placed] = roads.times_to((job.lon, job.lat), origins[placed])
    else:
        eta[placed] = straight_line_times(
            origins[placed], (job.lon, job.lat), detour=rules.detour, speed_kmh=rules.speed_kmh
        )
    return eta


def _why_not(crew: CrewView, job: JobView, now: datetime, rules: DispatchRules) -> str | None:
    # A crew expected but not checked in has not started its shift here.
    if not crew.checked_in:
        return "off_shift"
    if not on_shift(crew, now, rules.time_zone) or crew.status == "off_shift":
        return "off_shift"
    if not qualified(crew, job):
        return "unqualified"
    if crew.status in BUSY:
        return "busy"
    # A crew that has not reported yet is at its base, where the file puts it.
    if crew.gps_time is not None and (now - crew.gps_time).total_seconds() > rules.stale_gps_s:
        return "stale_gps"
    return None


def suggest(
    job: JobView,
    crews: Sequence[CrewView],
    now: datetime,
    *,
    roads: RoadGraph | None = None,
    rules: DispatchRules | None = None,
) -> Decision:
    """The crew to send to ``job`` and why. O(road graph) for one Dijkstra, O(crews) else."""
    rules = rules or DispatchRules()
    if not crews:
        return Decision(job.id, None, "none", None)
    eta = travel_times(job, crews, roads, rules)
    reasons = [_why_not(c, job, now, rules) for c in crews]
    free = [i for i, r in enumerate(reasons) if r is None and np.isfinite(eta[i])]
    pick: int | None = None
    rule = "none"
    zone = [i for i in free if job.zone is not None and crews[i].zone == job.zone]
    if zone:
        pick, rule = min(zone, key=lambda i: eta[i]), "zone"
    elif free:
        pick, rule = min(free, key=lambda i: eta[i]), "nearest"
    elif rules.preempt:
        movable = ("assigned", "accepted", "en_route") + (
            ("on_site",) if rules.preempt_on_site else ()
        )
        takers = [
            i
            for i, c in enumerate(crews)
            if reasons[i] == "busy"
            and c.status in movable
            and c.job_priority is not None
            and job.priority - c.job_priority >= rules.preempt_margin
            and np.isfinite(eta[i])
        ]
        if takers:
            pick, rule = min(takers, key=lambda i: eta[i]), "preempt"
    alternatives = []
    for i, c in enumerate(crews):
        if i == pick:
            continue
        alternatives.append(
            {
                "crew": c.id,
                "eta_s": round(float(eta[i]), 1) if np.isfinite(eta[i]) else None,
                "why_not": reasons[i] or "farther",
            }
        )
    alternatives.sort(key=lambda a: (a["eta_s"] is None, a["eta_s"] or 0.0, a["crew"]))
    return Decision(
        job.id,
        crews[pick].id if pick is not None else None,
        rule,
        float(eta[pick]) if pick is not None else None,
        alternatives,
    )


def assign_batch(
    jobs: Sequence[JobView],
    crews: Sequence[CrewView],
    now: datetime,
    *,
    roads: RoadGraph | None = None,
    rules: DispatchRules | None = None,
) -> list[Decision]:
    """Storm mode: give every free crew at most one of the waiting jobs at once.

    Minimises the sum of ETAs less ``priority_seconds`` per priority point
    (``scipy.optimize.linear_sum_assignment``), so the high-priority jobs get
    crews first and each as near as the others allow; the jobs left over
    wait, in priority order (rule ``none``). One Dijkstra per distinct job
    location with roads.
    """
    from scipy.optimize import linear_sum_assignment

    rules = rules or DispatchRules()
    free = [c for c in crews if _why_not(c, _ANY_JOB, now, rules) is None]
    if not jobs:
        return []
    decisions: list[Decision] = []
    if free:
        origins = np.array([[c.lon, c.lat] for c in free], dtype=float)
        targets = np.array([[j.lon, j.lat] for j in jobs], dtype=float)
        if roads is not None:
            eta = roads.times_matrix(targets, origins, workers=rules.workers)
        else:
            eta = np.vstack(
                [
                    straight_line_times(origins, t, detour=rules.detour, speed_kmh=rules.speed_kmh)
                    for t in targets
                ]
            )
        ok = np.array([[qualified(c, j) for c in free] for j in jobs], dtype=bool) & np.isfinite(
            eta
        )
        priority = np.array([j.priority for j in jobs], dtype=float)
        cost = np.where(ok, eta - rules.priority_seconds * priority[:, None], 1e12)
        rows, cols = linear_sum_assignment(cost)
        chosen = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if ok[r, c]}
    else:
        chosen = {}
        eta = np.empty((len(jobs), 0))
    for k, job in enumerate(jobs):
        if k in chosen:
            c = chosen[k]
            decisions.append(Decision(job.id, free[c].id, "batch", float(eta[k, c])))
        else:
            decisions.append(Decision(job.id, None, "none", None))
    priority_of = {j.id: j.priority for j in jobs}
    decisions.sort(key=lambda d: (d.crew is None, -priority_of[d.job]))
    return decisions


#: A job any crew qualifies for, to ask whether a crew is free at all.
_ANY_JOB = JobView("-", 0.0, 0.0, None, (), None, 0.0)
