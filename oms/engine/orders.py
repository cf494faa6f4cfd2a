"""The order book: jobs raised from outages, crews, dispatch, timers and alerts.

The :class:`~oms.engine.OutageEngine` owns one :class:`OrderBook` and drives
it inside the same transactions as the outages:

- :meth:`OrderBook.sync` after every re-prediction: a job for each new open
  outage, priorities and ETR refreshed, jobs of withdrawn outages
  cancelled, restoration stamped;
- :meth:`OrderBook.apply` for crew and dispatcher events (``job_*``,
  ``crew_status``, ``crew_gps``);
- :meth:`OrderBook.timers` as the clock moves: target warnings (50%, 75%)
  and breaches, acknowledgement timeouts with escalation through the unit's
  first contact, second contact and leader, and the capacity alarm;
- what changed is written by the repository (:meth:`OrderBook.settle`
  afterwards drops what is finished).

No I/O here: the repository reads the book's starting state into a
:class:`StoredBook` and writes its changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oms.config import DispatchConfig
from oms.dispatch.jobs import JOB_EVENTS, CrewState, Job, Zones, check_closeout, job_priority
from oms.dispatch.roads import RoadGraph
from oms.dispatch.rules import BUSY, Decision, assign_batch, suggest
from oms.dispatch.timeline import Targets
from oms.engine.outbox import Outbox
from oms.exceptions import ActionError
from oms.intake.events import Event, iso
from oms.outages import Outage
from oms.vocabulary import CREW_REPORTABLE, values

__all__ = ["OrderBook", "StoredBook", "crew_dicts"]


@dataclass
class StoredBook:
    """What the repository read back for the order book."""

    zones: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    crews: dict[str, CrewState] = field(default_factory=dict)
    #: Jobs not closed or cancelled.
    jobs: list[Job] = field(default_factory=list)
    #: (kind, area class, stamps) of restored and closed jobs: the ETR history.
    done: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)
    next_job: int = 1
    #: The dispatcher's automatic-dispatch switches: ``{"global": bool or None,
    #: "units": {unit: bool}}`` (None: the configured ``auto_dispatch``).
    modes: dict[str, Any] = field(default_factory=dict)
    #: ``subscriptions`` rows (customer, channel, address, opted_out).
    subscriptions: list[dict[str, Any]] = field(default_factory=list)


#: Job states in which the crew is at work on site: closing the outage
#: leaves the job for the crew's close-out.
_AT_WORK = ("on_site", "made_safe", "repaired", "restored", "closed", "cancelled")


class OrderBook:
    """Jobs and crews of one database, kept in memory; the repository writes each batch."""

    def __init__(
        self,
        stored: StoredBook,
        config: DispatchConfig,
        locate: Callable[[str], tuple[float, float]],
        roads_loader: Callable[[], RoadGraph | None],
        recipients: Callable[[str], list[str]] = lambda _outage: [],
        phones: Mapping[str, str | None] | None = None,
        device_kind: Callable[[str], str] = lambda _device: "line",
    ) -> None:
        self.config = config
        self.recipients = recipients  # outage id -> customers to tell
        self.outbox = (
            Outbox(stored.subscriptions, phones or {}, config.etr_change_min)
            if config.notify
            else None
        )
        self.locate = locate  # device id -> (lon, lat) of the point it feeds
        self.device_kind = device_kind  # device id -> its kind (``transformer``, ...)
        self._roads_loader = roads_loader
        self._roads: RoadGraph | bool | None = False
        self.zones = Zones(stored.zones)
        self.units = {r["id"]: dict(r) for r in stored.units}
        self.crews = stored.crews
        self.jobs = {j.id: j for j in stored.jobs}
        self.by_outage = {j.outage: j for j in self.jobs.values() if j.outage}
        # Minutes from A to restoration of past jobs, by (kind, area class).
        self.history: dict[tuple[str, str], list[float]] = {}
        self._medians: dict[tuple[str, str], float | None] = {}
        for kind, area, stamps in stored.done:
            self._remember(kind, area, stamps or {})
        self.next_job = stored.next_job
        self.modes: dict[str, Any] = {"global": None, "units": {}, **stored.modes}
        self.modes_changed = False
        # Per unit: (time, no crew free) samples, and when it last alarmed.
        self._samples: dict[str, list[tuple[datetime, bool]]] = {}
        self._alarmed: dict[str, datetime] = {}
        self._reset()

    def _reset(self) -> None:
        self.dirty_jobs: set[str] = set()
        self.new_jobs: set[str] = set()
        self.dirty_crews: set[str] = set()
        self.decisions: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []

    @property
    def roads(self) -> RoadGraph | None:
        if self._roads is False:
            self._roads = self._roads_loader()
        return self._roads if isinstance(self._roads, RoadGraph) else None

    # ------------------------------------------------------------- outages
    def sync(self, outages: list[Outage], now: datetime) -> None:
        """Bring the jobs in line with the outages (all those changed or open)."""
        by_id = {o.id: o for o in outages}
        for o in outages:
            job = self.by_outage.get(o.id)
            if job is None:
                if o.active and o.kind in ("network", "single_customer"):
                    self._raise(o, now)
                continue
            if not job.open:
                continue
            if o.state == "cancelled":
                into = o.merged_into
                if into and into not in self.by_outage:
                    # The job follows the outage its own was merged into.
                    del self.by_outage[o.id]
                    job.outage = into
                    self.by_outage[into] = job
                    host = by_id.get(into)
                    if host is not None and host.kind == "network" and host.device:
                        job.kind, job.customer = "network", None
                        job.skills, job.voltage_kv = self.needs("network", host.device)
                        self._move(job, host.device)
                    self.dirty_jobs.add(job.id)
                else:
                    why = f"merged into {into}" if into else "withdrawn"
                    self._cancel(job, now, f"outage {o.id} {why}")
            elif o.kind == "momentary":
                self._cancel(job, now, f"outage {o.id} was momentary: supply came back by itself")
            elif o.state == "closed" and job.state not in _AT_WORK:
                # Closed before a crew got to work on it: the crew is told.
                self._cancel(job, now, f"outage {o.id} was closed")
            elif o.restored is not None:
                if job.stamps.get("restored") is None:
                    job.stamp("restored", o.restored)
                    self._remember(job.kind, job.area_class, job.stamps)
                if not job.restored_told:
                    job.restored_told = True
                    self._tell("restored", o.id, now)
                    self._tell("survey", o.id, now)
                self.dirty_jobs.add(job.id)
            else:
                minutes = (now - (job.stamps.get("A") or now)).total_seconds() / 60
                priority = job_priority(o.hazard, o.critical_out, o.customers_out, minutes)
                self._renew_passed_etr(job, now)
                if job.etr_source not in ("crew", "renewed"):
                    etr = self.estimate(job, now)
                    # Small drifts of the historical median are not news.
                    if etr is not None and (
                        job.etr is None or abs((etr - job.etr).total_seconds()) > 600
                    ):
                        job.etr, job.etr_source = etr, "history"
                        self.dirty_jobs.add(job.id)
                if self.outbox is not None and self.outbox.etr_moved(o.id, job.etr):
                    self._tell("etr_changed", o.id, now, job.etr)
                if (priority, o.hazard) != (job.priority, job.hazard):
                    job.priority, job.hazard = priority, o.hazard
                    self.dirty_jobs.add(job.id)
                if o.device and o.device != job.device:
                    # The order follows its outage; a crew already on it is told where to.
                    moved_from = job.device
                    self._move(job, o.device)
                    if job.crew is not None:
                        self.alerts.append(
                            _alert(
                                now,
                                "redirected",
                                "info",
                                job,
                                crew=job.crew,
                                detail={"from": moved_from, "to": o.device},
                            )
                        )
        self.dispatch_waiting(now, actor="system")

    def _tell(
        self, kind: str, outage: str | None, now: datetime, etr: datetime | None = None
    ) -> None:
        if self.outbox is not None and outage:
            self.outbox.queue(kind, outage, self.recipients(outage), now, etr)

    def _remember(self, kind: str, area: str, stamps: Mapping[str, Any]) -> None:
        a, r = stamps.get("A"), stamps.get("restored")
        if a and r:
            a = datetime.fromisoformat(a) if isinstance(a, str) else a
            r = datetime.fromisoformat(r) if isinstance(r, str) else r
            self.history.setdefault((kind, area), []).append((r - a).total_seconds() / 60)
            self._medians.pop((kind, area), None)

    def estimate(self, job: Job, now: datetime) -> datetime | None:
        """ETR from past jobs of the same kind and area class (their median
        minutes from report to restoration), else half the restoration target;
        when that has passed, what the job's stage still needs from ``now``."""
        a = job.stamps.get("A")
        if a is None:
            return None
        key = (job.kind, job.area_class)
        if key not in self._medians:
            past = sorted(self.history.get(key, []))
            self._medians[key] = past[len(past) // 2] if past else None
        median = self._medians[key]
        minutes = median if median is not None else job.targets.restoration / 2
        etr: datetime = a + timedelta(minutes=minutes)
        return etr if etr > now else now + self._still_needed(job)

    def _still_needed(self, job: Job) -> timedelta:
        """What a job's stage still needs before supply can be back: the
        travel target until the crew arrives, then the repair time (half of
        it once the site is made safe, a quarter once repaired)."""
        repair = self.config.repair_minutes
        if job.state in ("waiting", "dispatched", "delivered", "accepted", "en_route"):
            return timedelta(minutes=float(job.targets.segments.get("GH", 28.0)) + repair)
        share = {"made_safe": 0.5, "repaired": 0.25}.get(job.state, 1.0)
        return timedelta(minutes=repair * share)

    def _renew_passed_etr(self, job: Job, now: datetime) -> None:
        """An ETR that passed without restoration is estimated again, with the
        reason recorded (an alert), and the customers told."""
        if job.etr is None or job.etr > now or job.stamps.get("restored") is not None:
            return
        passed, source = job.etr, job.etr_source
        job.etr = now + self._still_needed(job)
        job.etr_source = "renewed"
        self.dirty_jobs.add(job.id)
        why = "the crew's estimate passed" if source == "crew" else "the estimate passed"
        detail = {"was": iso(passed), "etr": iso(job.etr), "why": f"{why} ({job.state})"}
        self.alerts.append(_alert(now, "etr_passed", "warning", job, crew=job.crew, detail=detail))
        if self.outbox is not None and self.outbox.etr_moved(job.outage or "", job.etr):
            self._tell("etr_changed", job.outage, now, job.etr)

    def needs(self, kind: str, device: str | None) -> tuple[list[str], float]:
        """The skills (any one qualifies) and voltage level a job needs."""
        if kind == "single_customer":
            return list(self.config.skills.get("single_customer", ("service",))), 0.4
        key = self.device_kind(device) if device else "line"
        return list(self.config.skills.get(key, ("line", "cable"))), 10.0

    def _move(self, job: Job, device: str) -> None:
        job.device = device
        job.lon, job.lat = self.locate(device)
        job.zone, job.area_class, job.unit = self.zones.locate(job.lon, job.lat)
        job.targets = Targets.for_area(job.area_class, overrides=self.config.targets)
        self.dirty_jobs.add(job.id)

    def _raise(self, o: Outage, now: datetime) -> Job:
        if o.kind == "single_customer":
            lon, lat = self.locate(f"customer:{o.customer}")
        else:
            lon, lat = self.locate(o.device or "")
        skills, voltage = self.needs(o.kind, o.device)
        zone, area_class, unit = self.zones.locate(lon, lat)
        unit = unit or None
        minutes = (now - o.started).total_seconds() / 60
        job = Job(
            id=f"JOB-{self.next_job:06d}",
            outage=o.id,
            kind=o.kind,
            device=o.device,
            customer=o.customer,
            lon=lon,
            lat=lat,
            zone=zone,
            area_class=area_class,
            unit=unit,
            skills=skills,
            voltage_kv=voltage,
            priority=job_priority(o.hazard, o.critical_out, o.customers_out, minutes),
            targets=Targets.for_area(area_class, overrides=self.config.targets),
            updated_at=now,
            hazard=o.hazard,
        )
        self.next_job += 1
        # A is the first evidence; the system issues the order (B) and it
        # reaches the repair centre (C) at once. An outage that a restoration
        # above it revealed (nested, or a customer left behind) was attended
        # by that outage's crew until then: its own order starts when found.
        first = o.located_at if o.revealed_by else o.started
        job.stamps = {"A": first, "B": now, "C": now}
        job.etr, job.etr_source = self.estimate(job, now), "history"
        self._tell("acknowledged", o.id, now, job.etr)
        if self.outbox is not None:
            self.outbox.last_etr[o.id] = job.etr
        self.jobs[job.id] = job
        self.by_outage[o.id] = job
        self.new_jobs.add(job.id)
        self.dirty_jobs.add(job.id)
        return job

    def _cancel(self, job: Job, now: datetime, why: str) -> None:
        """Cancel a job; its crew (if any) is told why and freed."""
        self._release(job)
        job.state = "cancelled"
        self.dirty_jobs.add(job.id)
        alert = _alert(now, "job_cancelled", "info", job, crew=job.crew, detail={"why": why})
        self.alerts.append(alert)

    def _release(self, job: Job) -> None:
        crew = self.crews.get(job.crew or "")
        if crew is not None and job.id in crew.jobs:
            crew.jobs.remove(job.id)
            if not crew.jobs and crew.status in BUSY:
                crew.status = "available"
            self.dirty_crews.add(crew.id)

    # -------------------------------------------------------------- dispatch
    def _crew_views(self) -> list[Any]:
        views = []
        for c in self.crews.values():
            working = [self.jobs[j].priority for j in c.jobs if j in self.jobs]
            views.append(c.view(max(working) if working else None))
        return views

    def suggest(self, job_id: str, now: datetime, exclude: Iterable[str] = ()) -> Decision:
        """The crew to send (none of ``exclude``), the rule, and every alternative."""
        job = self._job(job_id)
        left_out = set(exclude)
        views = [v for v in self._crew_views() if v.id not in left_out]
        return suggest(job.view(), views, now, roads=self.roads, rules=self.config.rules)

    def assign(
        self,
        job_id: str,
        now: datetime,
        crew_id: str | None = None,
        actor: str = "dispatcher",
        *,
        preempt: bool = False,
    ) -> Decision:
        """Assign the suggested crew (or ``crew_id``); recorded with the alternatives.

        A crew busy with other jobs is only taken with ``preempt``: its jobs
        not yet on site go back to waiting (the crew is told why).

        Raises
        ------
        ActionError
            The job is not waiting, the crew is unknown or busy without
            ``preempt``, or no crew can take it.
        """
        job = self._job(job_id)
        if job.state not in ("waiting",):
            raise ActionError(f"job {job.id} is {job.state}; recall it before assigning again")
        decision = self.suggest(job_id, now, exclude=job.hold.get("excluded", ()))
        if crew_id is not None:
            if crew_id not in self.crews:
                raise ActionError(f"unknown crew {crew_id!r}")
            busy = [j for j in self.crews[crew_id].jobs if j in self.jobs and self.jobs[j].open]
            if busy and not preempt:
                working = ", ".join(f"{j} ({self.jobs[j].state})" for j in busy)
                raise ActionError(
                    f"crew {crew_id} is working on {working}; assign with preempt to divert it"
                )
            for other in busy:
                if self.jobs[other].state not in _AT_WORK:
                    self._recall(self.jobs[other], now, actor, f"crew diverted to {job.id}")
            decision = self.suggest(job_id, now)
            excluded = job.hold.get("excluded", [])
            if crew_id in excluded:  # the dispatcher sends it back: their call
                job.hold["excluded"] = [c for c in excluded if c != crew_id]
            alt = next((a for a in decision.alternatives if a["crew"] == crew_id), None)
            eta = decision.eta_s if decision.crew == crew_id else (alt or {}).get("eta_s")
            decision = Decision(job.id, crew_id, "dispatcher", eta, decision.alternatives)
        if decision.crew is None:
            self._record(decision, now, actor)
            raise ActionError(f"no crew can take job {job.id} now")
        self._give(job, decision, now, actor)
        return decision

    def automatic(self, job: Job, now: datetime) -> bool:
        """Whether a crew may be sent to ``job`` without the dispatcher: not
        held, and automatic dispatch on for its unit (else globally, else as
        configured)."""
        if job.held(now):
            return False
        unit = self.modes["units"].get(job.unit or "")
        if unit is not None:
            return bool(unit)
        everywhere = self.modes.get("global")
        return bool(self.config.auto_dispatch if everywhere is None else everywhere)

    def dispatch_waiting(self, now: datetime, actor: str = "system") -> list[Decision]:
        """Assign crews to waiting jobs: one by one, or in a storm batch.

        Only jobs automatic dispatch may touch (:meth:`automatic`); a crew the
        dispatcher recalled from a job is never sent back to it by this.
        """
        # A job whose supply came back before a crew was sent waits for the
        # dispatcher's decision (a patrol, or closing it).
        waiting = sorted(
            (
                j
                for j in self.jobs.values()
                if j.state == "waiting"
                and j.stamps.get("restored") is None
                and self.automatic(j, now)
            ),
            key=lambda j: -j.priority,
        )
        if not waiting:
            return []
        if len(waiting) >= self.config.storm_batch:
            decisions = assign_batch(
                [j.view() for j in waiting],
                self._crew_views(),
                now,
                roads=self.roads,
                rules=self.config.rules,
            )
            for d in decisions:
                if d.crew is not None and d.crew not in self.jobs[d.job].hold.get("excluded", []):
                    self._give(self.jobs[d.job], d, now, actor)
            return decisions
        out = []
        for job in waiting:
            decision = self.suggest(job.id, now, exclude=job.hold.get("excluded", ()))
            if decision.crew is not None:
                self._give(job, decision, now, actor)
            out.append(decision)
        return out

    def _give(self, job: Job, decision: Decision, now: datetime, actor: str) -> None:
        assert decision.crew is not None
        crew = self.crews[decision.crew]
        if decision.rule == "preempt":
            for other_id in list(crew.jobs):
                other = self.jobs.get(other_id)
                if other is not None:
                    self._recall(other, now, actor, f"crew diverted to {job.id}")
        job.crew, job.state = crew.id, "dispatched"
        job.stamps["D"] = now
        for key in ("E", "F", "G", "H"):
            job.stamps.pop(key, None)
        job.escalation = 0
        if job.id not in crew.jobs:
            crew.jobs.append(job.id)
        crew.status = (
            "assigned" if crew.status not in ("accepted", "en_route", "on_site") else crew.status
        )
        self.dirty_jobs.add(job.id)
        self.dirty_crews.add(crew.id)
        self._record(decision, now, actor)
        self._tell("dispatched", job.outage, now)

    def _recall(self, job: Job, now: datetime, actor: str, reason: str | None) -> None:
        self._release(job)
        self.alerts.append(
            _alert(
                now, "recalled", "info", job, crew=job.crew, detail={"by": actor, "reason": reason}
            )
        )
        job.crew, job.state = None, "waiting"
        for key in ("D", "E", "F", "G", "H"):
            job.stamps.pop(key, None)
        self.dirty_jobs.add(job.id)

    def _hold(self, job: Job, p: Mapping[str, Any], now: datetime, actor: str) -> None:
        """A dispatcher's recall: that crew is not sent back automatically, and
        nothing is sent before ``hold_until`` when given."""
        excluded = list(job.hold.get("excluded", []))
        if job.crew is not None and job.crew not in excluded:
            excluded.append(job.crew)
        job.hold = {**job.hold, "excluded": excluded, "reason": p.get("reason"), "by": actor}
        if p.get("hold_until") is not None:
            from oms.intake.events import parse_time

            job.hold["until"] = iso(parse_time(p["hold_until"], "hold_until"))
        self.dirty_jobs.add(job.id)

    def _switch_automatic(self, p: Mapping[str, Any], now: datetime, actor: str) -> None:
        """Automatic dispatch on or off for one job, one unit, or everywhere."""
        auto = bool(p["auto"])
        if p.get("job"):
            job = self._job(p["job"])
            job.hold = {**job.hold, "auto": auto, "reason": p.get("reason"), "by": actor}
            if p.get("until") is not None:
                from oms.intake.events import parse_time

                job.hold["until"] = iso(parse_time(p["until"], "until"))
            self.dirty_jobs.add(job.id)
        elif p.get("unit"):
            if p["unit"] not in self.units:
                raise ActionError(f"unknown unit {p['unit']!r}")
            self.modes["units"][p["unit"]] = auto
            self.modes_changed = True
        else:
            self.modes["global"] = auto
            self.modes_changed = True
        detail = {k: p.get(k) for k in ("auto", "unit", "job", "until", "reason")}
        self.alerts.append(
            _alert(now, "dispatch_mode", "info", None, detail={**detail, "by": actor})
        )

    def _record(self, decision: Decision, now: datetime, actor: str) -> None:
        self.decisions.append(
            {
                "job": decision.job,
                "time": now,
                "actor": actor,
                "crew": decision.crew,
                "rule": decision.rule,
                "eta_s": decision.eta_s,
                "alternatives": decision.alternatives,
            }
        )

    # --------------------------------------------------------------- events
    def apply(self, event: Event, now: datetime) -> list[str]:
        """Apply a crew or dispatcher event; the outages to restore (by id)."""
        p, t = event.payload, event.time
        actor = p.get("user") or p.get("crew") or "system"
        if event.type == "crew_gps":
            crew = self._crew(p["crew"])
            crew.lon, crew.lat, crew.gps_time = float(p["lon"]), float(p["lat"]), t
            self.dirty_crews.add(crew.id)
            return []
        if event.type == "crew_status":
            crew = self._crew(p["crew"])
            if p["status"] not in values(CREW_REPORTABLE):
                raise ActionError(
                    f"a crew reports off_shift, available or returning, not {p['status']!r}"
                )
            if p["status"] == "off_shift" and crew.jobs:
                raise ActionError(f"crew {crew.id} still holds {', '.join(crew.jobs)}")
            crew.status = p["status"]
            self.dirty_crews.add(crew.id)
            return []
        if event.type == "dispatch_auto":
            self._switch_automatic(p, t, actor)
            return []
        if event.type == "survey_answer":
            self.answers.append(
                {
                    "customer": p["customer"],
                    "outage": p["outage"],
                    "answer": str(p["answer"]),
                    "time": t,
                }
            )
            return []
        job = self._job(p["job"])
        if event.type == "job_assign":
            self.assign(job.id, t, p.get("crew"), actor, preempt=bool(p.get("preempt")))
            return []
        if event.type == "job_recall":
            if job.state in ("waiting", "closed", "cancelled"):
                raise ActionError(f"job {job.id} is {job.state}; nothing to recall")
            self._hold(job, p, t, actor)
            self._recall(job, t, actor, p.get("reason"))
            return []
        if event.type == "job_callback":
            if job.stamps.get("restored") is None:
                raise ActionError(f"job {job.id} is not restored; call the customer back after")
            job.stamp("callback", t)
            job.closeout = {**(job.closeout or {}), "callback": p.get("answer")}
            self.dirty_jobs.add(job.id)
            return []
        if event.type == "job_close":
            if job.stamps.get("restored") is None:
                raise ActionError(f"job {job.id} is not restored; it cannot close")
            job.closeout = {**(job.closeout or {}), **check_closeout(p.get("closeout"))}
            job.stamp("closed", t)
            job.state = "closed"
            self._release(job)
            self.dirty_jobs.add(job.id)
            return []
        if event.type == "job_estimate":
            from oms.intake.events import parse_time

            job.etr, job.etr_source = parse_time(p["etr"], "etr"), "crew"
            self.dirty_jobs.add(job.id)
            return []
        stamp, state, crew_status = JOB_EVENTS[event.type]
        crew_id = p.get("crew")
        if job.crew is None or (crew_id is not None and crew_id != job.crew):
            raise ActionError(
                f"job {job.id} is not assigned to crew {crew_id}"
                + (f" (it is {job.crew}'s)" if job.crew else " (it was recalled)")
            )
        if job.state in ("closed", "cancelled"):
            raise ActionError(f"job {job.id} is {job.state}")
        if stamp == "restored" and job.stamps.get("restored") is None:
            job.stamp(stamp, t)
            self._remember(job.kind, job.area_class, job.stamps)
        job.stamp(stamp, t)
        if event.type in ("job_accept", "job_depart", "job_arrive"):
            job.stamp("E", t)  # accepting proves delivery
        if event.type in ("job_depart", "job_arrive"):
            job.stamp("F", t)
        if event.type == "job_arrive":
            job.stamp("G", t)
        job.state = state
        job.escalation = 0
        if crew_status is not None:
            crew = self.crews[job.crew]
            crew.status = crew_status
            self.dirty_crews.add(crew.id)
        self.dirty_jobs.add(job.id)
        if event.type == "job_restored" and job.outage:
            return [job.outage]
        return []

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ActionError(f"no open job with id {job_id!r}")
        return job

    def _crew(self, crew_id: str) -> CrewState:
        crew = self.crews.get(crew_id)
        if crew is None:
            raise ActionError(f"unknown crew {crew_id!r}")
        return crew

    # --------------------------------------------------------------- timers
    def timers(self, now: datetime) -> None:
        """Warnings, breaches, acknowledgement timeouts and capacity as of ``now``.

        O(open jobs + crews).
        """
        self._capacity(now)
        for job in self.jobs.values():
            if not job.open:
                continue
            self._acknowledgement(job, now)
            self._renew_passed_etr(job, now)
            if (
                job.next_check is not None
                and job.next_check > now
                and job.id not in self.dirty_jobs
            ):
                continue
            before_b, before_w = set(job.breaches), dict(job.warnings)
            if job.evaluate(now):
                self.dirty_jobs.add(job.id)
                for b in job.breaches:
                    if b not in before_b:
                        self.alerts.append(
                            _alert(now, "breach", "breach", job, detail={"target": b})
                        )
                for w, level in job.warnings.items():
                    if before_w.get(w) != level:
                        self.alerts.append(
                            _alert(now, "warning", f"warning_{level}", job, detail={"target": w})
                        )

    def _capacity(self, now: datetime) -> None:
        """Alarm for units that had no free crew for too much of the window."""
        from oms.dispatch.rules import on_shift

        window = self.config.capacity_window_s
        # Units whose zones have work waiting for a crew.
        owner = {c.zone: c.unit for c in self.crews.values() if c.zone}
        wanted = {owner.get(j.zone or "") for j in self.jobs.values() if j.state == "waiting"}
        for unit_id, unit in self.units.items():
            crews = [c for c in self.crews.values() if c.unit == unit_id]
            if not crews:
                continue
            # Short of crews: none free, while some work or work waits (a
            # unit off shift with nothing to do is not short of anything).
            none_free = not any(
                c.status in ("available", "returning")
                and on_shift(c.view(None), now, self.config.rules.time_zone)
                for c in crews
            ) and (unit_id in wanted or any(c.status in BUSY for c in crews))
            samples = self._samples.setdefault(unit_id, [])
            samples.append((now, none_free))
            while len(samples) > 1 and (now - samples[1][0]).total_seconds() >= window:
                samples.pop(0)
            # Time without a free crew: each sample holds until the next.
            busy = sum(
                (b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(samples) if a[1]
            )
            last = self._alarmed.get(unit_id)
            if busy > self.config.capacity_share * window and (
                last is None or (now - last).total_seconds() >= window
            ):
                self._alarmed[unit_id] = now
                self.alerts.append(
                    {
                        "time": now,
                        "kind": "capacity",
                        "level": "alarm",
                        "job": None,
                        "crew": None,
                        "unit": unit_id,
                        "contact": unit.get("leader") or unit["first_contact"],
                        "detail": {"busy_s": round(busy), "window_s": window},
                    }
                )

    def _acknowledgement(self, job: Job, now: datetime) -> None:
        hop = None
        if job.state == "dispatched":
            hop = ("D", "delivery")
        elif job.state == "delivered":
            hop = ("E", "acceptance")
        if hop is None:
            return
        since = job.stamps.get(hop[0])
        if since is None:
            return
        steps = int((now - since).total_seconds() // self.config.ack_timeout_s)
        unit = self.units.get(job.unit or "")
        if unit is None and job.crew in self.crews:
            unit = self.units.get(self.crews[job.crew].unit or "")
        chain = [("sender", None)]
        if unit:
            chain += [
                ("first_contact", unit["first_contact"]),
                ("second_contact", unit["second_contact"]),
                ("leader", unit.get("leader")),
            ]
        while job.escalation < min(steps, len(chain)):
            who, phone = chain[job.escalation]
            job.escalation += 1
            self.alerts.append(
                _alert(
                    since + timedelta(seconds=job.escalation * self.config.ack_timeout_s),
                    "ack_timeout" if who == "sender" else "escalation",
                    "breach",
                    job,
                    crew=job.crew,
                    contact=phone,
                    detail={"waiting_for": hop[1], "notify": who},
                )
            )
            self.dirty_jobs.add(job.id)

    # ---------------------------------------------------------------- views
    def crew_dicts(self, now: datetime) -> list[dict[str, Any]]:
        return crew_dicts(self.crews.values(), now, self.config)

    def feed(self, now: datetime) -> list[dict[str, Any]]:
        """Rows of the live feed (``changes``) for what changed since the last write."""
        rows: list[dict[str, Any]] = []
        for jid in sorted(self.dirty_jobs):
            rows.append({"time": now, "kind": "job", "ref": jid, "data": self.jobs[jid].to_dict()})
        dirty = [self.crews[cid] for cid in self.dirty_crews]
        for data in crew_dicts(dirty, now, self.config):
            rows.append({"time": now, "kind": "crew", "ref": data["id"], "data": data})
        for a in self.alerts:
            data = {**a, "time": iso(a["time"])}
            ref = a["job"] or a["unit"] or ""
            rows.append({"time": now, "kind": "alert", "ref": ref, "data": data})
        return rows

    # --------------------------------------------------------------- settle
    def settle(self) -> None:
        """After a batch is written: finished jobs leave the book, change sets are emptied."""
        for jid in [j.id for j in self.jobs.values() if not j.open]:
            job = self.jobs.pop(jid)
            if job.outage and self.by_outage.get(job.outage) is job:
                del self.by_outage[job.outage]
        self.modes_changed = False
        self._reset()


def crew_dicts(
    crews: Iterable[CrewState], now: datetime, config: DispatchConfig
) -> list[dict[str, Any]]:
    """Contract-4 ``oms crews`` objects by id; an available crew out of its shift is off shift."""
    from oms.dispatch.rules import on_shift

    out = []
    for c in sorted(crews, key=lambda c: c.id):
        status = c.status
        if status == "available" and not on_shift(c.view(None), now, config.rules.time_zone):
            status = "off_shift"
        out.append(c.to_dict(now, config.stale_gps_s, status))
    return out


def _alert(
    time: datetime,
    kind: str,
    level: str,
    job: Job | None = None,
    *,
    crew: str | None = None,
    contact: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "time": time,
        "kind": kind,
        "level": level,
        "job": job.id if job else None,
        "crew": crew,
        "unit": job.unit if job else None,
        "contact": contact,
        "detail": detail or {},
    }
