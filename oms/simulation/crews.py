"""Simulated crews: what a crew's handheld would send once the engine dispatches it.

Used by :func:`oms.simulation.replay.replay` to drive a storm end to end. For every job
the engine dispatches, the crew's plan is: confirm delivery after a few
seconds, accept after a realistic delay (lognormal, median 1 minute), depart
(median 1.5 minutes later), drive to the job along the fastest road route
(travel time times 1.0-1.3 for traffic and finding the spot) reporting GPS
every ``gps_moving_s``, arrive, make the site safe (5-15 minutes), repair
(lognormal, median ``repair_median_min``, or until the ground truth says
supply came back), restore, and close the job with the close-out form ten
minutes later. Between jobs and on site a handheld reports its position
every ``gps_idle_s``, as a real one on shift does, so the engine never sees
a working crew's GPS go stale.

Plans are played out lazily, a little ahead of the engine's clock: a crew
whose job is recalled or who is diverted to another job drops the rest of
its plan, as a real crew told so on its handheld would.

Crew-driven restoration (``restoration=`` a
:class:`~oms.simulation.storms.Restoration` in the ``crews`` mode): supply
comes back only when a crew has done the work. Once made safe, a crew looks
for the fault it was sent to: one at its job's device (or a device cutting
off the same customers; for a single-customer job, the customer's own
problem), else the nearest one out above it (a patrol finds the trouble
upstream), else the topmost one out below it (a patrol down the feeder).
It repairs it for the fault's ``repair_minutes`` (less what a crew called
away had done), or waits for the crew already at it; then, while a fault
above still holds the customers out, it takes that one on too, or waits for
its crew. ``job_restored`` comes when the job's customers have supply. A
crew that finds nothing there patrols for 15-30 minutes from its arrival,
reports ``job_restored`` and closes with a ``no fault found`` close-out: a
truck roll with no repair (:attr:`CrewSimulator.no_fault`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from oms.dispatch.roads import geodesic_m
from oms.dispatch.rules import DispatchRules, travel_times
from oms.engine import OutageEngine
from oms.simulation.storms import Restoration
from topology.model import Network
from topology.traces import upstream

__all__ = ["CrewSimulator"]

#: Events are handed over this far ahead of the engine's clock (more than
#: the replay's tick plus one batch, so none arrives after its time).
_HORIZON_S = 60.0


@dataclass
class _Plan:
    """The rest of what one crew will send for its current job."""

    job: str
    steps: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    arrive: datetime | None = None
    # Crew-driven restoration: what the crew found on site is known
    # (``decided``), the fault it works or waits for, and when its own
    # repair of that fault began (None: another crew is at it).
    decided: bool = False
    fault: str | None = None
    since: datetime | None = None


def _along(path: list[list[float]], share: float) -> tuple[float, float]:
    """The point ``share`` (0-1) of the way along ``path`` by length. O(len(path))."""
    if len(path) == 1:
        return path[0][0], path[0][1]
    xy = np.asarray(path, dtype=float)
    legs = geodesic_m(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    total = float(legs.sum())
    if total <= 0:
        return float(xy[-1, 0]), float(xy[-1, 1])
    goal = min(max(share, 0.0), 1.0) * total
    cum = np.concatenate([[0.0], np.cumsum(legs)])
    k = min(int(np.searchsorted(cum, goal, side="right")) - 1, len(legs) - 1)
    f = 0.0 if legs[k] <= 0 else (goal - cum[k]) / legs[k]
    lon, lat = xy[k] + f * (xy[k + 1] - xy[k])
    return float(lon), float(lat)


class CrewSimulator:
    """Schedules crew events for jobs the engine has dispatched."""

    def __init__(
        self,
        seed: int = 0,
        repair_median_min: float = 45.0,
        truth: dict[str, Any] | None = None,
        *,
        gps_moving_s: float = 60.0,
        gps_idle_s: float = 300.0,
        restoration: Restoration | None = None,
    ) -> None:
        self.rng = np.random.default_rng(seed)
        # Crew-driven restoration: crews do the truth's work (None or the
        # truth mode: supply comes back when the truth says).
        self.restoration = (
            restoration if restoration is not None and restoration.mode == "crews" else None
        )
        #: Jobs whose crew found no fault there (crew-driven restoration).
        self.no_fault: set[str] = set()
        self.repair_median_min = repair_median_min
        self.gps_moving_s = gps_moving_s
        self.gps_idle_s = gps_idle_s
        self.seen: set[tuple[str, str, datetime]] = set()
        self.count = 0
        self.plans: dict[str, _Plan] = {}
        # Close-outs still owed for restored jobs when a crew is sent on
        # before filing them: (when, crew, job, fields).
        self.owed: list[tuple[datetime, str, str, dict[str, Any]]] = []
        self.position: dict[str, tuple[float, float]] = {}
        self.last_gps: dict[str, datetime] = {}
        # With a scenario's ground truth, supply comes back when the truth
        # says (the crew cannot restore a fault before it is repaired).
        self.repaired_at: dict[str, list[tuple[datetime, datetime]]] = {}
        for f in (truth or {}).get("faults", []):
            if not f.get("momentary"):
                key = f["operated"]
                span = (datetime.fromisoformat(f["start"]), datetime.fromisoformat(f["restored"]))
                self.repaired_at.setdefault(key, []).append(span)
        for s in (truth or {}).get("single_customer", []):
            if s.get("customer") and s.get("restored") and s.get("start"):
                span = (datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["restored"]))
                self.repaired_at.setdefault(f"customer:{s['customer']}", []).append(span)

    def _truth_restore(self, key: str, at: datetime) -> datetime | None:
        spans = [b for a, b in self.repaired_at.get(key, []) if a <= at + timedelta(minutes=30)]
        later = [b for b in spans if b >= at - timedelta(hours=6)]
        return max(later) if later else None

    def _lognormal(self, median_s: float, sigma: float = 0.5) -> float:
        return float(self.rng.lognormal(math.log(median_s), sigma))

    def respond(self, engine: OutageEngine) -> list[dict[str, Any]]:
        """Crew events due up to a minute past the engine's clock, each at its own time.

        O(crews + jobs) plus one route search per new dispatch.
        """
        book = engine.book
        now = engine.clock
        if now is None:
            return []
        for crew_id, crew in book.crews.items():
            if crew.lon is not None and crew.lat is not None:  # an expected crew is nowhere yet
                self.position.setdefault(crew_id, (crew.lon, crew.lat))
        for job in book.jobs.values():
            d = job.stamps.get("D")
            if job.state != "dispatched" or job.crew is None or d is None:
                continue
            key = (job.id, job.crew, d)
            if key not in self.seen:
                self.seen.add(key)
                self._plan(engine, job, d)
        out: list[dict[str, Any]] = []
        horizon = now + timedelta(seconds=_HORIZON_S)
        due = [c for c in self.owed if c[0] <= horizon]
        self.owed = [c for c in self.owed if c[0] > horizon]
        for when, crew_id, job_id, extra in due:
            out.append(self._event(crew_id, "job_close", when, extra, job_id))
        for crew_id in sorted(book.crews):
            plan = self.plans.get(crew_id)
            if plan is not None:
                current = book.jobs.get(plan.job)
                if current is not None and current.crew != crew_id:
                    self._leave(plan, now)
                    del self.plans[crew_id]  # recalled: the handheld says stop
                    plan = None
            if plan is not None:
                if self.restoration is not None:
                    self._work(crew_id, plan, book.jobs.get(plan.job), horizon, engine.core.net)
                else:
                    self._await_truth(plan, book.jobs.get(plan.job), horizon, engine.core.net)
                while plan.steps and plan.steps[0][0] <= horizon:
                    when, etype, extra = plan.steps.pop(0)
                    out.append(self._event(crew_id, etype, when, extra, plan.job))
                if not plan.steps:
                    del self.plans[crew_id]
            # Standing still (on site or between jobs) it reports on a heartbeat.
            last = self.last_gps.get(crew_id)
            if last is None or (now - last).total_seconds() >= self.gps_idle_s:
                lon, lat = self.position[crew_id]
                out.append(self._event(crew_id, "crew_gps", now, {"lon": lon, "lat": lat}, None))
        return out

    def _await_truth(self, plan: _Plan, job: Any, horizon: datetime, net: Network) -> None:
        """Hold a repair due by ``horizon`` until the ground truth's restoration
        of the job's fault as it is now (the outage may have moved since dispatch).

        A crew sent below the device that really operated finds its trouble
        upstream and works that fault, as a patrol would: its job is restored
        when that fault is, not on a timer of its own (which told the engine
        of a restoration that had not happened); and a repair finished while a
        device above is still out restores supply only when that one is.
        O(depth of the job's device x faults on it).
        """
        k = next((i for i, step in enumerate(plan.steps) if step[1] == "job_repaired"), None)
        if job is None or k is None or plan.steps[k][0] > horizon:
            return
        at = job.stamps.get("D") or plan.steps[k][0]
        fault = job.device if job.kind == "network" else f"customer:{job.customer}"
        truth = self._truth_restore(fault or "", at)
        if job.kind == "network" and job.device in net.edge_index:
            path = upstream(net, job.device).data["path"][1:]
            for above in path if truth is None else ():
                truth = self._truth_restore(above, at)
                if truth is not None:
                    break
            # Repaired while a device above is still out: supply comes back with it.
            while truth is not None:
                later = [b for d in path for a, b in self.repaired_at.get(d, []) if a <= truth < b]
                if not later:
                    break
                truth = max(later)
        if truth is None:
            return
        late = truth - timedelta(minutes=2) - plan.steps[k][0]
        if late <= timedelta(0):
            return
        steps = plan.steps[:k]
        for w, e, x in plan.steps[k:]:
            if e == "job_close":
                end = datetime.fromisoformat(x["closeout"]["outage_end"]) + late
                x = {"closeout": {**x["closeout"], "outage_end": end.isoformat()}}
            steps.append((w + late, e, x))
        plan.steps = steps

    # ------------------------------------------- crew-driven restoration
    def _leave(self, plan: _Plan, now: datetime) -> None:
        """A crew called away: the fault it was repairing keeps the work done."""
        r = self.restoration
        if r is None or plan.fault is None or plan.since is None:
            return
        if plan.fault in r.claimed and plan.fault not in r.restored:
            r.release(plan.fault, (now - plan.since).total_seconds())

    def _work(self, crew: str, plan: _Plan, job: Any, horizon: datetime, net: Network) -> None:
        """Decide what the crew finds once made safe, then when its job's
        customers have supply (crew-driven restoration). O(F x depth) for F
        faults in the storm."""
        if job is None:
            return
        if not plan.decided:
            k = _step(plan, "job_made_safe")
            if k is None or plan.steps[k][0] > horizon:
                return
            plan.decided = True
            t = plan.steps[k][0]
            fault = self._find(job, t, net)
            if fault is None:
                self._nothing_found(plan, k, job)
                return
            self._take(crew, plan, fault, t)
        self._settle(crew, plan, horizon)

    def _find(self, job: Any, t: datetime, net: Network) -> str | None:
        """The fault a crew on site at ``t`` finds for ``job``: at its device
        (or its customer's own problem), else the nearest out above it, else
        the topmost out below it; None when there is none."""
        r = self.restoration
        assert r is not None

        def live(ids: list[str]) -> list[str]:
            return [f for f in ids if r.out(f, t)]

        customers = net.customers
        if job.kind == "network" and job.device in net.edge_index:
            here = live(r.at_device(job.device))
            path = upstream(net, job.device).data["path"][1:]
        elif job.customer is not None and customers is not None:
            i = customers.index.get(job.customer)
            if i is None:
                return None
            here = live(r.single_of(job.customer))
            path = upstream(net, net.node_ids[int(customers.node[i])]).data["path"]
        else:
            return None
        if here:
            return here[0]
        for edge in path:
            found = live(r.at_device(edge))
            if found:
                return found[0]
        if job.kind == "network":
            below = live(r.below(job.device))
            if below:
                return below[0]
        return None

    def _take(self, crew: str, plan: _Plan, fault: str, t: datetime) -> None:
        """Work ``fault`` from ``t``, or wait for the crew already at it."""
        r = self.restoration
        assert r is not None
        plan.fault = fault
        if fault in r.claimed or fault in r.restored:
            plan.since = None  # settled once that crew restores it
            return
        r.claim(fault, crew)
        plan.since = t
        k = _step(plan, "job_repaired")
        if k is not None:
            done = t + timedelta(seconds=r.remaining_s(fault))
            _retime(plan, k, done, done + timedelta(minutes=2))

    def _settle(self, crew: str, plan: _Plan, horizon: datetime) -> None:
        """When the repair is due: restore the fault, then wait for (or take
        on) any fault above that still holds the job's customers out."""
        r = self.restoration
        assert r is not None
        k = _step(plan, "job_repaired")
        if k is None or plan.fault is None or plan.steps[k][0] > horizon:
            return
        t, fault = plan.steps[k][0], plan.fault
        if fault not in r.restored:
            owner = r.claimed.get(fault)
            if owner == crew:
                r.restore(fault, t + timedelta(minutes=2))  # repaired: it closes the device
            elif owner is None:
                self._take(crew, plan, fault, t)  # the crew at it was called away
                return
            else:
                _hold(plan, k, horizon)
                return
        back = r.restored[fault]
        while True:
            blocking = [a for a in r.above(fault) if r.out(a, back)]
            waiting = [a for a in blocking if a not in r.restored]
            if waiting:
                if waiting[0] in r.claimed:
                    _hold(plan, k, horizon)
                else:
                    self._take(crew, plan, waiting[0], max(t, back))
                return
            if not blocking:
                break
            back = max(r.restored[a] for a in blocking)
        _retime(plan, k, r.restored[fault] - timedelta(minutes=2), back)

    def _nothing_found(self, plan: _Plan, k: int, job: Any) -> None:
        """No fault where the crew was sent: a patrol, then restored and closed."""
        arrive = plan.arrive or plan.steps[k][0]
        back = max(arrive + timedelta(minutes=float(self.rng.uniform(15, 30))), plan.steps[k][0])
        close: dict[str, Any] = next(
            (x for _, e, x in plan.steps if e == "job_close"), {"closeout": {}}
        )
        closeout = {
            **close["closeout"],
            "cause": "no fault found",
            "actions": "patrolled, no fault found",
            "outage_end": back.isoformat(),
        }
        closing = (back + timedelta(minutes=10), "job_close", {"closeout": closeout})
        plan.steps = [*plan.steps[:k], (back, "job_restored", {}), closing]
        self.no_fault.add(job.id)

    def _event(
        self, crew: str, etype: str, when: datetime, extra: dict[str, Any], job: str | None
    ) -> dict[str, Any]:
        self.count += 1
        event: dict[str, Any] = {
            "id": f"crew-{self.count}",
            "type": etype,
            "time": when.isoformat(),
            "crew": crew,
            **extra,
        }
        if etype == "crew_gps":
            self.position[crew] = (extra["lon"], extra["lat"])
            self.last_gps[crew] = when
        else:
            event["job"] = job
        return event

    def _plan(self, engine: OutageEngine, job: Any, d: datetime) -> None:
        crew_id = job.crew
        book = engine.book
        old = self.plans.get(crew_id)
        done = book.jobs.get(old.job) if old is not None else None
        if old is not None and done is not None and done.state == "restored":
            # Sent on after restoring: the close-out is still filed, later.
            self.owed += [(w, crew_id, old.job, x) for w, e, x in old.steps if e == "job_close"]
        elif old is not None:
            self._leave(old, d)
        base = book.crews[crew_id]
        assert base.lon is not None and base.lat is not None  # dispatched: checked in, placed
        lon, lat = self.position.get(crew_id, (base.lon, base.lat))
        here = book.crews[crew_id].view(None)
        here = replace(here, lon=lon, lat=lat)
        eta = float(travel_times(job.view(d), [here], book.roads, DispatchRules())[0])
        if not math.isfinite(eta):
            return
        roads = book.roads
        path = roads.route((lon, lat), (job.lon, job.lat)) if roads is not None else []
        if not path:
            path = [[lon, lat], [job.lon, job.lat]]
        steps: list[tuple[datetime, str, dict[str, Any]]] = []
        t = d + timedelta(seconds=float(self.rng.uniform(3, 20)))
        steps.append((t, "job_delivered", {}))
        t += timedelta(seconds=self._lognormal(60))
        steps.append((t, "job_accept", {}))
        t += timedelta(seconds=self._lognormal(90))
        steps.append((t, "job_depart", {}))
        drive = eta * float(self.rng.uniform(1.0, 1.3))
        for s in np.arange(self.gps_moving_s, drive, self.gps_moving_s):
            plon, plat = _along(path, float(s) / drive)
            steps.append((t + timedelta(seconds=float(s)), "crew_gps", {"lon": plon, "lat": plat}))
        t += timedelta(seconds=drive)
        arrive = t
        steps.append((t, "crew_gps", {"lon": job.lon, "lat": job.lat}))
        steps.append((t, "job_arrive", {}))
        t += timedelta(minutes=float(self.rng.uniform(5, 15)))
        steps.append((t, "job_made_safe", {}))
        t += timedelta(seconds=self._lognormal(self.repair_median_min * 60))
        steps.append((t, "job_repaired", {}))
        t += timedelta(minutes=2)
        steps.append((t, "job_restored", {}))
        start = job.stamps.get("A") or d
        t += timedelta(minutes=10)
        closeout = {
            "cause": "storm damage",
            "equipment": job.device or "service drop",
            "actions": "repaired and re-energized",
            "outage_start": start.isoformat(),
            "outage_end": (t - timedelta(minutes=10)).isoformat(),
        }
        steps.append((t, "job_close", {"closeout": closeout}))
        steps.sort(key=lambda s: s[0])
        self.plans[crew_id] = _Plan(job.id, steps, arrive=arrive)


def _step(plan: _Plan, etype: str) -> int | None:
    """Where the plan's next ``etype`` step is, or None."""
    return next((i for i, step in enumerate(plan.steps) if step[1] == etype), None)


def _retime(plan: _Plan, k: int, repaired: datetime, restored: datetime) -> None:
    """Repaired at ``repaired``, restored at ``restored``, closed ten minutes later."""
    tail = []
    for _w, etype, extra in plan.steps[k:]:
        if etype == "job_repaired":
            tail.append((repaired, etype, extra))
        elif etype == "job_restored":
            tail.append((restored, etype, extra))
        elif etype == "job_close":
            closeout = {**extra["closeout"], "outage_end": restored.isoformat()}
            tail.append((restored + timedelta(minutes=10), etype, {"closeout": closeout}))
    plan.steps = [*plan.steps[:k], *tail]


def _hold(plan: _Plan, k: int, horizon: datetime) -> None:
    """Keep the repair and what follows just beyond the horizon (waiting for another crew)."""
    later = [
        (horizon + timedelta(seconds=i + 1), etype, extra)
        for i, (_w, etype, extra) in enumerate(plan.steps[k:])
    ]
    plan.steps = [*plan.steps[:k], *later]
