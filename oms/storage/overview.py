"""The storm overview: the whole situation in one read-only document, as of ``now``.

What a control room's overview page and wall display show
(``GET /api/overview``): the totals the dispatcher's top bar shows, the
customers out over the last hours, and outages, customers, crews, jobs and
ETRs per substation, feeder and zone, the oldest job waiting for a crew and
the breached jobs.

Definitions (each the dispatcher page's own):

- an outage is out while *predicted* or *confirmed* (any kind); its
  ``customers_out`` and ``critical_out`` are its own (nested outages count
  theirs), so they add up;
- a job is open unless *closed* or *cancelled*; it *waits* while no crew is
  sent (*waiting*); it is *breached* when a target passed as of ``now``
  (:meth:`oms.dispatch.jobs.Job.evaluate`);
- crews and their status are those of ``GET /api/crews`` (an available
  crew out of its shift is off shift).

Where things are: an outage or job is on the feeder of the nearest breaker
above its device (a single customer's: above the customer's node) and in
the substation of the source feeding it, both in the network's *normal*
state (a feeder keeps its name while a tie back-feeds it); a device with no
breaker above (inside a substation) is on no feeder. An outage's zone is its
job's. A crew counts where its current job is (the one furthest along); a
crew with no job counts in its home zone only.

Customers out over time: what the dispatcher's top bar showed at each
moment. An outage counts from when the engine first wrote it to the live
feed (``changes``, at the engine's time: when it was known) until its
``restored`` (or ``now``), with the figures of its latest feed entry (its
row as it stands after the last one). Counting from when it was known, not
from its (earlier) start, keeps an outage found under one already restored
from being counted twice, and the figures add up as the engine's do.
Withdrawn (cancelled) outages and momentary interruptions (supply back
within five minutes: not sustained, IEEE 1366) are left out. The series is
sampled at equal steps ending at ``now``; the peak is the step function's
highest value in the window, sampled or not. A window reaching back before
the first outage it counts starts a little before that outage instead
(:data:`LEAD`, the chart at least :data:`MIN_SPAN` long), so a storm of an
hour is not drawn as the last twelfth of twelve flat hours.

Read only; nothing here reads the wall clock. Cost: the active and recent
outages, the open jobs and the crews, and the feed entries of the outages
of the window (one read of ``changes`` by kind and ref), plus O(nodes) once
per network for the feeder map.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from oms.config import DispatchConfig
from oms.dispatch.jobs import Job
from oms.intake.events import as_utc, iso
from oms.outages import ACTIVE_STATES, Outage
from oms.storage import schema
from oms.storage.queries import list_crews
from oms.vocabulary import CrewStatus, JobState, values
from topology.model import EDGE_KINDS, Network

__all__ = ["GROUPS", "MAX_HOURS", "POINTS", "overview"]

#: The groupings of the overview, in the order the page shows them.
GROUPS = ("substation", "feeder", "zone")
#: The longest window of the customers-out series, in hours.
MAX_HOURS = 168
#: Samples of the series (equal steps, the last at ``now``).
POINTS = 121
#: Breached jobs listed (oldest report first); ``breaches.jobs`` counts them all.
BREACHES_LISTED = 10

#: The series of a window reaching back before its first outage starts this
#: share of the rest before that outage, and spans at least MIN_SPAN.
LEAD = 0.1
MIN_SPAN = timedelta(minutes=30)

_CREW_STATUSES = values(CrewStatus)
#: A crew's jobs, furthest along first: the one it is working.
_JOB_ORDER = {s: k for k, s in enumerate(reversed(values(JobState)))}
_DONE_JOBS = ("closed", "cancelled")


def overview(
    conn: Connection,
    net: Network | None,
    now: datetime,
    dispatch: DispatchConfig,
    *,
    hours: float = 12.0,
) -> dict[str, Any]:
    """The overview document as of ``now`` (``GET /api/overview``), the series over ``hours``.

    ``net`` is the network (any state: its normal state is used for
    feeders and substations); None when none is loaded (no feeders then).
    """
    start = now - timedelta(hours=hours)
    outages = _outages(conn, start, now)
    active = [o for o in outages if o.state in ACTIVE_STATES]
    jobs = _open_jobs(conn, now)
    crews = list_crews(conn, dispatch, now)
    where = _Where(net)
    job_of = {j.outage: j for j in sorted(jobs, key=lambda j: j.id, reverse=True) if j.outage}
    groups = _Groups(now, _zones(conn))
    for o in active:
        job = job_of.get(o.id)
        groups.add_outage(o, where.of(o.device, o.customer), job.zone if job else None)
    for j in jobs:
        groups.add_job(j, where.of(j.device, j.customer))
    by_id = {j.id: j for j in jobs}
    for c in crews:
        current = _current_job(c, by_id)
        place = where.of(current.device, current.customer) if current else _NOWHERE
        groups.add_crew(c["status"], place, current.zone if current else c["zone"])
    series, peak = _series(conn, outages, start, now)
    waiting = [j for j in jobs if j.state == "waiting"]
    breached = sorted((j for j in jobs if j.breaches), key=_reported)
    return {
        "as_of": iso(now),
        "hours": hours,
        "totals": {
            "outages": len(active),
            "customers_out": sum(o.customers_out for o in active),
            "critical_out": sum(o.critical_out for o in active),
            "jobs_open": len(jobs),
            "jobs_waiting": len(waiting),
            "jobs_breached": len(breached),
            "crews": _crew_counts(c["status"] for c in crews),
            **_etrs(active, now),
        },
        "series": series,
        "peak": peak,
        "groups": {name: groups.rows(name) for name in GROUPS},
        "oldest_unassigned": _job_brief(min(waiting, key=_reported), where) if waiting else None,
        "breaches": {
            "jobs": len(breached),
            "by_target": dict(sorted(Counter(b for j in breached for b in j.breaches).items())),
            "listed": [_job_brief(j, where) for j in breached[:BREACHES_LISTED]],
        },
        "alarms": _alarms(conn),
    }


# ------------------------------------------------------------------ reads
def _outages(conn: Connection, start: datetime, now: datetime) -> list[Outage]:
    """Outages active now or out at some time in [start, now], not withdrawn."""
    o = schema.outages
    rows = conn.execute(
        select(o)
        .where(
            o.c.state != "cancelled",
            o.c.started <= now,
            or_(o.c.restored.is_(None), o.c.restored >= start, o.c.state.in_(ACTIVE_STATES)),
        )
        .order_by(o.c.started, o.c.id)
    ).mappings()
    return [Outage.from_row(r) for r in rows]


def _open_jobs(conn: Connection, now: datetime) -> list[Job]:
    rows = conn.execute(select(schema.jobs).where(schema.jobs.c.state.notin_(_DONE_JOBS)))
    jobs = [Job.from_row(dict(r)) for r in rows.mappings()]
    for j in jobs:
        j.evaluate(now)
    return jobs


def _zones(conn: Connection) -> dict[str, dict[str, Any]]:
    z = schema.zones
    rows = conn.execute(select(z.c.id, z.c.name, z.c.area_class, z.c.unit).order_by(z.c.id))
    return {r.id: {"name": r.name, "area_class": r.area_class, "unit": r.unit} for r in rows}


def _alarms(conn: Connection) -> dict[str, Any]:
    """Alerts waiting for acknowledgement, by level."""
    a = schema.alerts
    rows = conn.execute(
        select(a.c.level, func.count()).where(a.c.acknowledged_at.is_(None)).group_by(a.c.level)
    ).all()
    levels = {r[0]: int(r[1]) for r in rows}
    return {"unacknowledged": sum(levels.values()), "levels": dict(sorted(levels.items()))}


# ------------------------------------------------------- feeders and substations
@dataclass(frozen=True)
class _Place:
    substation: str | None = None
    substation_name: str | None = None
    feeder: str | None = None
    feeder_name: str | None = None


_NOWHERE = _Place()


class _FeederMap:
    """Per node, in the normal state: the nearest breaker above it and its source.

    Built level by level down the supply tree (a parent is settled before
    its children). O(nodes).
    """

    def __init__(self, net: Network) -> None:
        normal = net.normal()
        tree = normal.supply.tree
        n = net.n_nodes
        parent, edge = tree.parent[:n], tree.parent_edge[:n]
        # Padded: a root's parent edge is -1, the padding (no breaker).
        is_breaker = np.zeros(net.n_edges + 1, dtype=bool)
        is_breaker[:-1] = net.edge_kind == EDGE_KINDS.index("breaker")
        reached = np.flatnonzero(tree.reached[:n])
        depth = tree.depth[reached]
        feeder = np.full(n + 1, -1, dtype=np.int64)  # n: the virtual root
        source = np.full(n + 1, -1, dtype=np.int64)
        order = reached[np.argsort(depth, kind="stable")]
        cuts = np.flatnonzero(np.diff(np.sort(depth))) + 1
        for level in np.split(order, cuts):
            up = parent[level]
            top = up == tree.root
            source[level] = np.where(top, level, source[up])
            feeder[level] = np.where(is_breaker[edge[level]], edge[level], feeder[up])
        self.feeder, self.source = feeder[:n], source[:n]
        self.edge_child = tree.edge_child
        self.edge_from, self.edge_to, self.depth = net.edge_from, net.edge_to, tree.depth


_MAPS: weakref.WeakKeyDictionary[Network, _FeederMap] = weakref.WeakKeyDictionary()


class _Where:
    """Feeder and substation of a device or a customer (:class:`_FeederMap`)."""

    def __init__(self, net: Network | None) -> None:
        self.net = net
        self.map: _FeederMap | None = None
        if net is not None:
            if net not in _MAPS:
                _MAPS[net] = _FeederMap(net)
            self.map = _MAPS[net]

    def _node(self, device: str | None, customer: str | None) -> int | None:
        net, fm = self.net, self.map
        assert net is not None and fm is not None
        if device:
            e = net.edge_index.get(device)
            if e is not None:
                below = int(fm.edge_child[e])
                if below >= 0:
                    return below
                ends = (int(fm.edge_from[e]), int(fm.edge_to[e]))
                return max(ends, key=lambda v: int(fm.depth[v]))
            return net.node_index.get(device)
        cust = net.customers
        if customer and cust is not None and customer in cust.index:
            return int(cust.node[cust.index[customer]])
        return None

    def of(self, device: str | None, customer: str | None) -> _Place:
        if self.net is None or self.map is None:
            return _NOWHERE
        v = self._node(device, customer)
        if v is None or self.map.source[v] < 0:
            return _NOWHERE
        net, s, f = self.net, int(self.map.source[v]), int(self.map.feeder[v])
        return _Place(
            net.node_ids[s],
            net.node_name[s] or net.node_ids[s],
            net.edge_ids[f] if f >= 0 else None,
            (net.edge_name[f] or net.edge_ids[f]) if f >= 0 else None,
        )


# ----------------------------------------------------------------- groups
@dataclass
class _Row:
    id: str | None
    name: str | None
    outages: int = 0
    customers_out: int = 0
    critical_out: int = 0
    jobs_open: int = 0
    jobs_waiting: int = 0
    jobs_breached: int = 0
    crews: Counter[str] = field(default_factory=Counter)
    active: list[Outage] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class _Groups:
    """The rows of each grouping, filled outage by outage, job by job, crew by crew."""

    def __init__(self, now: datetime, zones: dict[str, dict[str, Any]]) -> None:
        self.now = now
        self.by: dict[str, dict[str | None, _Row]] = {g: {} for g in GROUPS}
        for zid, info in zones.items():  # every zone, quiet ones too: their free crews
            row = self._row("zone", zid, info["name"] or zid)  # its place name, if it has one
            row.extra.update(area_class=info["area_class"], unit=info["unit"])

    def _row(self, group: str, key: str | None, name: str | None) -> _Row:
        rows = self.by[group]
        if key not in rows:
            rows[key] = _Row(key, name)
            if group == "zone":
                rows[key].extra = {"area_class": None, "unit": None}
        return rows[key]

    def _rows(self, place: _Place, zone: str | None) -> list[_Row]:
        return [
            self._row("substation", place.substation, place.substation_name),
            self._row("feeder", place.feeder, place.feeder_name),
            self._row("zone", zone, zone),
        ]

    def add_outage(self, o: Outage, place: _Place, zone: str | None) -> None:
        for row in self._rows(place, zone):
            row.outages += 1
            row.customers_out += o.customers_out
            row.critical_out += o.critical_out
            row.active.append(o)

    def add_job(self, j: Job, place: _Place) -> None:
        for row in self._rows(place, j.zone):
            row.jobs_open += 1
            row.jobs_waiting += j.state == "waiting"
            row.jobs_breached += bool(j.breaches)

    def add_crew(self, status: str, place: _Place, zone: str | None) -> None:
        rows = self._rows(place, zone)
        if place is _NOWHERE:  # no job: counted in its home zone alone
            rows = rows[2:]
        for row in rows:
            row.crews[status] += 1

    def rows(self, group: str) -> list[dict[str, Any]]:
        """The group's rows, most customers out first; the unplaced row (id null) last."""
        found = sorted(
            self.by[group].values(),
            key=lambda r: (r.id is None, -r.customers_out, -r.outages, -r.jobs_open, r.id or ""),
        )
        return [
            {
                "id": r.id,
                "name": r.name,
                **r.extra,
                "outages": r.outages,
                "customers_out": r.customers_out,
                "critical_out": r.critical_out,
                "jobs_open": r.jobs_open,
                "jobs_waiting": r.jobs_waiting,
                "jobs_breached": r.jobs_breached,
                "crews": _crew_counts(r.crews.elements()),
                **_etrs(r.active, self.now),
            }
            for r in found
            if r.id is not None or r.outages or r.jobs_open or sum(r.crews.values())
        ]


def _crew_counts(statuses: Iterable[str]) -> dict[str, int]:
    """Crews by status, every status listed (zero included), readiest first."""
    counts = Counter(statuses)
    return {s: counts.get(s, 0) for s in _CREW_STATUSES}


def _etrs(active: list[Outage], now: datetime) -> dict[str, Any]:
    """ETRs of active outages: the latest (when the last customers are due back),
    the earliest still standing, how many have passed and how many outages have none;
    and when the oldest outage began."""
    etrs = sorted(o.etr for o in active if o.etr is not None)
    return {
        "etr_latest": iso(etrs[-1]) if etrs else None,
        "etr_earliest": iso(etrs[0]) if etrs else None,
        "etr_passed": sum(1 for t in etrs if t < now),
        "etr_missing": len(active) - len(etrs),
        "oldest_started": iso(min(o.started for o in active)) if active else None,
    }


# ------------------------------------------------------------------ jobs
def _reported(j: Job) -> tuple[datetime, str]:
    a = j.stamps.get("A")
    return (a if a is not None else j.updated_at, j.id)


def _current_job(crew: dict[str, Any], by_id: dict[str, Job]) -> Job | None:
    mine = [by_id[j] for j in crew["jobs"] if j in by_id and by_id[j].crew == crew["id"]]
    return min(mine, key=lambda j: (_JOB_ORDER.get(j.state, 99), j.id)) if mine else None


def _job_brief(j: Job, where: _Where) -> dict[str, Any]:
    place = where.of(j.device, j.customer)
    return {
        "id": j.id,
        "outage": j.outage,
        "state": j.state,
        "crew": j.crew,
        "reported": iso(j.stamps.get("A")),
        "priority": j.priority,
        "zone": j.zone,
        "feeder": place.feeder,
        "substation": place.substation,
        "device": j.device,
        "customer": j.customer,
        "breaches": list(j.breaches),
        "etr": iso(j.etr),
    }


# ---------------------------------------------------------------- series
def _series(
    conn: Connection, outages: list[Outage], start: datetime, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Customers, critical customers and outages out, sampled over [start, now], and the peak."""
    history = _feed_figures(conn, [o.id for o in outages])
    deltas: list[tuple[datetime, int, int, int]] = []  # time, customers, critical, outages
    for o in outages:
        if o.kind == "momentary":
            continue
        end = None if o.state in ACTIVE_STATES else o.restored
        # The figures the outage showed: its feed from when it was known, then its row.
        known = history.get(o.id, [])
        steps = [*known, (o.updated_at, o.customers_out, o.critical_out)]
        t, cust, crit = (known[0][0] if known else o.started), 0, 0
        counted = False
        for when, c, r in steps:
            t = max(t, when)
            if end is not None and t >= end:
                break
            deltas.append((t, c - cust, r - crit, 0 if counted else 1))
            cust, crit, counted = c, r, True
        if counted and end is not None:
            deltas.append((end, -cust, -crit, -1))
    deltas.sort(key=lambda d: d[0])
    times: list[datetime] = []
    values_: list[tuple[int, int, int]] = []
    level = (0, 0, 0)
    for t, c, r, n in deltas:
        level = (level[0] + c, level[1] + r, level[2] + n)
        if times and times[-1] == t:
            values_[-1] = level
        else:
            times.append(t)
            values_.append(level)

    def at(t: datetime) -> tuple[int, int, int]:
        k = bisect_right(times, t) - 1
        return values_[k] if k >= 0 else (0, 0, 0)

    start = _series_start(outages, start, now)
    step = (now - start) / (POINTS - 1)
    series = []
    for k in range(POINTS):
        t = start + step * k if k < POINTS - 1 else now
        c, r, n = at(t)
        series.append({"time": iso(t), "customers_out": c, "critical_out": r, "outages": n})
    peak_t, peak = start, at(start)
    for t, v in zip(times, values_, strict=True):
        if start < t <= now and v[0] > peak[0]:
            peak_t, peak = t, v
    return series, {"time": iso(peak_t), "customers_out": peak[0], "outages": peak[2]}


def _series_start(outages: list[Outage], start: datetime, now: datetime) -> datetime:
    """``start``, or a little before the first outage counted when that began later."""
    began = [o.started for o in outages if o.kind != "momentary"]
    if not began or min(began) <= start:
        return start
    first = min(began)
    return max(start, min(first - (now - first) * LEAD, now - MIN_SPAN))


def _feed_figures(conn: Connection, ids: list[str]) -> dict[str, list[tuple[datetime, int, int]]]:
    """Per outage, the (time, customers out, critical out) of each of its feed entries,
    oldest first, a run of the same figures kept once."""
    ch = schema.changes
    out: dict[str, list[tuple[datetime, int, int]]] = {}
    for chunk in range(0, len(ids), 500):
        rows = conn.execute(
            select(ch.c.ref, ch.c.time, ch.c.data)
            .where(ch.c.kind == "outage", ch.c.ref.in_(ids[chunk : chunk + 500]))
            .order_by(ch.c.seq)
        ).all()
        for r in rows:
            data = r.data or {}
            figures = (int(data.get("customers_out") or 0), int(data.get("critical_out") or 0))
            steps = out.setdefault(r.ref, [])
            if not steps or steps[-1][1:] != figures:
                t = as_utc(r.time)
                assert t is not None
                steps.append((t, *figures))
    return out
