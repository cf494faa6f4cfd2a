"""Repair jobs and crews: the order book the outage engine keeps beside its outages.

A job is raised for every open network outage (one per outage unless it is
split), every single-customer outage, and carries the hazard flag of its
calls. It runs through the A-H stamps of :mod:`oms.dispatch.timeline`: A is the
outage's first evidence, B and C are stamped by the system when the order is
raised (it reaches the repair centre at once), D when a crew is assigned,
E when the crew's handheld confirms delivery, F to H as the crew accepts,
departs and arrives; then made safe, repaired, restored, callback, closed.

Priority (documented in ``docs/dispatch.md``)::

    500 if a hazard (wire down) + 100 per critical customer out (at most 5)
    + 20 * log2(1 + customers out) + 5 per 10 minutes since A (at most 240 minutes)

Crew and dispatcher actions are events of their own types (see
``docs/events.md``): ``job_assign``, ``job_delivered``, ``job_accept``,
``job_depart``, ``job_arrive``, ``job_made_safe``, ``job_repaired``,
``job_restored``, ``job_callback``, ``job_close`` (with the close-out form),
``job_recall`` and ``crew_status``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oms.dispatch.rules import CrewView, JobView
from oms.dispatch.timeline import AFTER_ARRIVAL, STAMPS, Targets, evaluate
from oms.exceptions import ActionError
from oms.intake.events import as_utc, iso
from oms.vocabulary import JobState, values

__all__ = [
    "CLOSEOUT_FIELDS",
    "JOB_EVENTS",
    "JOB_STATES",
    "CrewState",
    "Job",
    "PriorityWeights",
    "Zones",
    "age_term",
    "job_priority",
]

JOB_STATES = values(JobState)
#: The stamps a job document lists, in order (null until reached).
_STAMP_KEYS = (*STAMPS, *AFTER_ARRIVAL)
#: Event type -> (stamp, job state after it, crew status after it).
JOB_EVENTS: dict[str, tuple[str, str, str | None]] = {
    "job_delivered": ("E", "delivered", None),
    "job_accept": ("F", "accepted", "accepted"),
    "job_depart": ("G", "en_route", "en_route"),
    "job_arrive": ("H", "on_site", "on_site"),
    "job_made_safe": ("made_safe", "made_safe", None),
    "job_repaired": ("repaired", "repaired", None),
    "job_restored": ("restored", "restored", "returning"),
}
CLOSEOUT_FIELDS = ("cause", "equipment", "actions", "outage_start", "outage_end")


@dataclass(frozen=True)
class PriorityWeights:
    """The weights of a job's priority (``dispatch.priority``, docs/dispatch.md).

    Critical customers (life support, hospitals, water...) come before the
    size of the outage: by default one critical customer out weighs as much
    as multiplying (1 + customers out) by 32, and up to ``critical_cap`` of
    them count.
    """

    hazard: float = 500.0
    critical: float = 100.0
    critical_cap: int = 5
    customers_log2: float = 20.0
    age_per_10_min: float = 5.0
    age_cap_min: float = 240.0


def job_priority(
    hazard: bool,
    critical_out: int,
    customers_out: int,
    minutes_out: float,
    weights: PriorityWeights = PriorityWeights(),
) -> float:
    """The documented priority of a job (higher goes first). O(1)."""
    w = weights
    return round(
        w.hazard * bool(hazard)
        + w.critical * min(max(critical_out, 0), w.critical_cap)
        + w.customers_log2 * math.log2(1 + max(customers_out, 0))
        + age_term(minutes_out, w.age_per_10_min, w.age_cap_min),
        2,
    )


def age_term(minutes_out: float, per_10_min: float, cap_min: float) -> float:
    """The priority a job has gained by waiting ``minutes_out`` since A: in
    10-minute steps, up to ``cap_min``. O(1)."""
    return per_10_min * (min(max(minutes_out, 0.0), cap_min) // 10)


class Zones:
    """The response zones (contract 2c): which zone, area class and unit a point is in.

    A point in no zone is ``default_class`` (rural). O(zones) per lookup with
    prepared polygons; zones are few.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], default_class: str = "rural") -> None:
        from shapely import prepared
        from shapely.geometry import Point, shape

        self._point = Point
        self.default_class = default_class
        self.rows = [dict(r) for r in rows]
        self._shapes = [prepared.prep(shape(r["geometry"])) for r in self.rows]

    def locate(self, lon: float, lat: float) -> tuple[str | None, str, str | None]:
        """``(zone id, area class, unit)`` of a point."""
        p = self._point(lon, lat)
        for row, poly in zip(self.rows, self._shapes, strict=True):
            if poly.contains(p):
                return row["id"], row["area_class"], row.get("unit")
        return None, self.default_class, None


@dataclass
class Job:
    """One repair job with its timeline."""

    id: str
    outage: str | None
    kind: str
    device: str | None
    customer: str | None
    lon: float
    lat: float
    zone: str | None
    area_class: str
    unit: str | None
    skills: list[str]
    voltage_kv: float | None
    priority: float
    targets: Targets
    updated_at: datetime
    state: str = "waiting"
    crew: str | None = None
    stamps: dict[str, datetime | None] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)
    hazard: bool = False
    etr: datetime | None = None
    etr_source: str | None = None  # history, crew, renewed, storm, assessed (8 chars at most)
    closeout: dict[str, Any] | None = None
    escalation: int = 0
    #: The dispatcher's hold on automatic dispatch: crews not to send again
    #: (``excluded``), no automatic dispatch before ``until`` (ISO time) or at
    #: all (``auto`` false), and why (``reason``).
    hold: dict[str, Any] = field(default_factory=dict)
    #: The priority without its age (hazard, critical customers, customers
    #: out), and how it ages: ``priority`` is this plus :func:`age_term` of
    #: the minutes since A, found as of the time it is read
    #: (:meth:`priority_at`), so a job is not written again as it waits.
    #: None: a row from before (its ``priority`` as stored, until the engine
    #: looks at it again).
    priority_base: float | None = None
    age_per_10_min: float = 0.0
    age_cap_min: float = 0.0
    # Not stored: when the timers next need to look at it (None: when it is
    # next looked at: changed, or nothing due), and
    # whether its customers were told of the restoration (the outbox keeps
    # them from being told twice across restarts).
    next_check: datetime | None = field(default=None, compare=False, repr=False)
    restored_told: bool = field(default=False, compare=False, repr=False)
    #: The row as this process last wrote it (the writer's, to write only what changed).
    written: dict[str, Any] | None = field(default=None, init=False, compare=False, repr=False)
    _texts: dict[str, tuple[datetime, str]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @property
    def open(self) -> bool:
        return self.state not in ("closed", "cancelled")

    def stamp(self, key: str, t: datetime) -> None:
        if self.stamps.get(key) is None:
            self.stamps[key] = t
            self.next_check = None

    def priority_at(self, now: datetime) -> float:
        """The priority as of ``now``: its base and what it gained by waiting
        from A (until restored). O(1)."""
        if self.priority_base is None:
            return self.priority
        # It waits from A until supply is back (then the job only closes).
        a, back = self.stamps.get("A"), self.stamps.get("restored")
        until = now if back is None or back > now else back
        minutes = (until - a).total_seconds() / 60 if a is not None else 0.0
        return round(
            self.priority_base + age_term(minutes, self.age_per_10_min, self.age_cap_min), 2
        )

    def rebase(self, base: float, weights: PriorityWeights) -> bool:
        """Take ``base`` (the priority without its age) and age by ``weights``
        (the configuration's) from now on; whether either changed."""
        rule = (base, weights.age_per_10_min, weights.age_cap_min)
        if rule == (self.priority_base, self.age_per_10_min, self.age_cap_min):
            return False
        self.priority_base, self.age_per_10_min, self.age_cap_min = rule
        return True

    def view(self, now: datetime) -> JobView:
        return JobView(
            self.id,
            self.lon,
            self.lat,
            self.zone,
            tuple(self.skills),
            self.voltage_kv,
            self.priority_at(now),
        )

    def evaluate(self, now: datetime) -> bool:
        """Refresh the priority, breaches and warnings as of ``now``; whether the
        breaches or warnings changed (a priority only ages: it is not news)."""
        self.priority = self.priority_at(now)
        status = evaluate(self.stamps, self.targets, now)
        changed = (status.breaches, status.warnings) != (self.breaches, self.warnings)
        self.breaches, self.warnings = status.breaches, status.warnings
        self.next_check = status.next_change
        return changed

    def to_dict(self) -> dict[str, Any]:
        """The contract-4 object of ``oms jobs``, with state, kind and position."""
        stamps = self._stamp_texts()
        return {
            "id": self.id,
            "outage": self.outage,
            "kind": self.kind,
            "state": self.state,
            "crew": self.crew,
            "priority": self.priority,
            "priority_ageing": self._ageing(),
            "zone": self.zone,
            "area_class": self.area_class,
            "unit": self.unit,
            "device": self.device,
            "customer": self.customer,
            "lon": self.lon,
            "lat": self.lat,
            "hazard": self.hazard,
            "stamps": {k: stamps.get(k) for k in _STAMP_KEYS},
            "targets": self.targets.to_dict(),
            "breaches": list(self.breaches),
            "warnings": dict(self.warnings),
            "etr": iso(self.etr),
            "etr_source": self.etr_source,
            "skills": list(self.skills),
            "closeout": self.closeout,
            "hold": dict(self.hold),
        }

    def _ageing(self) -> dict[str, float] | None:
        """How ``priority`` grows as the job waits, for a reader to follow
        between documents: ``base + per_10_min * (min(minutes since A,
        cap_min) // 10)``. None: it does not (a closed or cancelled job, or
        a row from before the rule)."""
        if self.priority_base is None or not self.open:
            return None
        return {
            "base": self.priority_base,
            "per_10_min": self.age_per_10_min,
            "cap_min": self.age_cap_min,
        }

    def _stamp_texts(self) -> dict[str, str]:
        """The stamps reached, in ISO 8601: each formatted once, since a job's
        document is written and sent again at every change (a warning, an ETR)."""
        memo, out = self._texts, {}
        for k, t in self.stamps.items():
            if t is not None:
                known = memo.get(k)
                if known is None or known[0] is not t:
                    known = memo[k] = (t, iso(t) or "")
                out[k] = known[1]
        return out

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outage": self.outage,
            "kind": self.kind,
            "device": self.device,
            "customer": self.customer,
            "lon": self.lon,
            "lat": self.lat,
            "zone": self.zone,
            "area_class": self.area_class,
            "unit": self.unit,
            "skills": list(self.skills),
            "voltage_kv": self.voltage_kv,
            "priority": self.priority,
            "priority_base": self.priority_base,
            "age_per_10_min": self.age_per_10_min,
            "age_cap_min": self.age_cap_min,
            "state": self.state,
            "crew": self.crew,
            "stamps": self._stamp_texts(),
            "targets": self.targets.to_dict(),
            "breaches": list(self.breaches),
            "warnings": dict(self.warnings),
            "hazard": self.hazard,
            "etr": self.etr,
            "etr_source": self.etr_source,
            # Copies all the way down: the writer compares the next row with this one.
            "closeout": copy.deepcopy(self.closeout),
            "escalation": self.escalation,
            "updated_at": self.updated_at,
            "hold": copy.deepcopy(self.hold) or None,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        values = dict(row)
        values.pop("restored_told", None)
        t = values.pop("targets")
        segments = {k: v for k, v in t.items() if k not in ("arrival", "restoration")}
        values["targets"] = Targets(segments, float(t["restoration"]))
        values["stamps"] = {
            k: datetime.fromisoformat(v) for k, v in (values["stamps"] or {}).items()
        }
        for key in ("etr", "updated_at"):
            values[key] = as_utc(values.get(key))
        values["hold"] = dict(values.get("hold") or {})
        return cls(**values)

    def held(self, now: datetime) -> bool:
        """Whether the dispatcher keeps automatic dispatch off this job now."""
        if self.hold.get("auto") is False:
            return True
        until = self.hold.get("until")
        return until is not None and datetime.fromisoformat(until) > now


@dataclass
class CrewState:
    """A crew as loaded (contract 2b) with its live status and position."""

    id: str
    name: str | None
    unit: str | None
    zone: str | None
    skills: list[str]
    voltage_kv: list[float]
    lon: float | None  # None: a mutual-aid crew that has not checked in yet
    lat: float | None
    shift_start: str | None
    shift_end: str | None
    phone: str | None
    status: str = "available"
    gps_time: datetime | None = None
    jobs: list[str] = field(default_factory=list)
    #: A mutual-aid or contractor crew (docs/mutual-aid.md): its company,
    #: people and vehicles, where it comes from, when it is expected and
    #: when it checked in (it is not dispatched before).
    company: str | None = None
    size: int | None = None
    vehicles: int | None = None
    home_base: str | None = None
    arrival: datetime | None = None
    checked_in: datetime | None = None

    @property
    def expected(self) -> bool:
        """Onboarded with an arrival time and not checked in yet."""
        return self.arrival is not None and self.checked_in is None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], live: Mapping[str, Any] | None = None) -> CrewState:
        """A crew from its ``crews`` row (contract 2b) and its ``crew_state`` row, if any."""
        crew = cls(
            row["id"],
            row["name"],
            row["unit"],
            row["zone"],
            list(row["skills"]),
            list(row["voltage_kv"]),
            None if row["lon"] is None else float(row["lon"]),
            None if row["lat"] is None else float(row["lat"]),
            row["shift_start"],
            row["shift_end"],
            row["phone"],
            company=row.get("company"),
            size=row.get("size"),
            vehicles=row.get("vehicles"),
            home_base=row.get("home_base"),
            arrival=as_utc(row.get("arrival")),
        )
        if crew.expected:
            crew.status = "off_shift"  # until it checks in
        if live is not None:
            crew.status, crew.jobs = live["status"], list(live["jobs"])
            if live["lon"] is not None:
                crew.lon, crew.lat = float(live["lon"]), float(live["lat"])
            crew.gps_time = as_utc(live["gps_time"])
            crew.checked_in = as_utc(live.get("checked_in"))
        return crew

    def view(self, job_priority: float | None) -> CrewView:
        return CrewView(
            self.id,
            self.unit,
            self.zone,
            tuple(self.skills),
            tuple(self.voltage_kv),
            math.nan if self.lon is None else self.lon,
            math.nan if self.lat is None else self.lat,
            status=self.status,
            gps_time=self.gps_time,
            shift_start=self.shift_start,
            shift_end=self.shift_end,
            job_priority=job_priority,
            checked_in=not self.expected,
        )

    def to_dict(self, now: datetime, stale_s: float, status: str) -> dict[str, Any]:
        """The contract-4 object of ``oms crews``."""
        # Never reported: at its base (the crews file), not a stale fix.
        stale = self.gps_time is not None and (now - self.gps_time).total_seconds() > stale_s
        return {
            "id": self.id,
            "name": self.name,
            "unit": self.unit,
            "status": status,
            "lon": self.lon,
            "lat": self.lat,
            "gps_time": iso(self.gps_time),
            "stale": stale,
            "zone": self.zone,
            "skills": sorted(self.skills),
            "jobs": sorted(self.jobs),
            "company": self.company,
            "size": self.size,
            "vehicles": self.vehicles,
            "home_base": self.home_base,
            "arrival": iso(self.arrival),
            "checked_in": iso(self.checked_in),
            "expected": self.expected,
        }

    def row(self) -> dict[str, Any]:
        """Its ``crews`` row (contract 2b and the mutual-aid columns)."""
        return {
            "id": self.id,
            "name": self.name,
            "unit": self.unit,
            "skills": list(self.skills),
            "zone": self.zone,
            "lon": self.lon,
            "lat": self.lat,
            "voltage_kv": list(self.voltage_kv),
            "shift_start": self.shift_start,
            "shift_end": self.shift_end,
            "phone": self.phone,
            "gps_time": None,
            "company": self.company,
            "size": self.size,
            "vehicles": self.vehicles,
            "home_base": self.home_base,
            "arrival": self.arrival,
        }


def check_closeout(form: Any) -> dict[str, Any]:
    """The close-out form, checked: every field present and the times in order."""
    from oms.exceptions import EventError
    from oms.intake.events import parse_time

    if not isinstance(form, dict):
        raise ActionError("closing a job needs the close-out form (closeout: {...})")
    missing = [k for k in CLOSEOUT_FIELDS if not form.get(k)]
    if missing:
        raise ActionError(f"close-out form lacks {', '.join(missing)}")
    try:
        start = parse_time(form["outage_start"], "outage_start")
        end = parse_time(form["outage_end"], "outage_end")
    except EventError as exc:
        raise ActionError(str(exc)) from exc
    if end < start:
        raise ActionError("close-out form: outage_end is before outage_start")
    return {k: form[k] for k in CLOSEOUT_FIELDS} | {"remarks": form.get("remarks")}
