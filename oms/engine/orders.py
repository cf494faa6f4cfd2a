"""The order book: jobs raised from outages, crews, dispatch, timers and alerts.

The :class:`~oms.engine.OutageEngine` owns one :class:`OrderBook` and drives
it inside the same transactions as the outages:

- :meth:`OrderBook.sync` after every re-prediction: a job for each new open
  outage, priorities and ETR refreshed, jobs of withdrawn outages
  cancelled, restoration stamped. Only the jobs that can have changed are
  looked at (:meth:`OrderBook.to_visit`): those of outages changed in the
  batch, jobs changed since they were last looked at, and jobs whose next
  time-driven change (:meth:`OrderBook.next_due`: a priority step, a passed
  ETR, a target warning, an acknowledgement timeout) has come; so a batch
  costs what changed, not every open job;
- :func:`oms.engine.job_events.apply_event` for crew and dispatcher events (``job_*``,
  ``crew_status``, ``crew_gps``, and ``crew_add`` / ``crew_checkin`` for
  mutual-aid crews);
- :func:`oms.engine.timers.run` as the clock moves: target warnings (50%, 75%)
  and breaches, acknowledgement timeouts with escalation through the unit's
  first contact, second contact and leader, and the capacity alarm;
- what changed is written by the repository (:meth:`OrderBook.settle`
  afterwards drops what is finished).

No I/O here: the repository reads the book's starting state into a
:class:`StoredBook` and writes its changes.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oms.config import DispatchConfig
from oms.dispatch.jobs import CrewState, Job, Zones, job_priority
from oms.dispatch.roads import RoadGraph
from oms.dispatch.rules import BUSY, Decision, assign_batch, suggest
from oms.dispatch.timeline import Targets
from oms.engine.alerts import alert
from oms.engine.followers import Followers
from oms.engine.outbox import Outbox
from oms.engine.storm import storm, storm_etr
from oms.engine.timers import renew_passed_etr
from oms.exceptions import ActionError, JobNotFound
from oms.intake.events import iso
from oms.outages import Outage

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
    #: Per open job's outage, the customers told it is known (``acknowledged``).
    acknowledged: dict[str, set[str]] = field(default_factory=dict)
    #: The secret customers' case references are made with
    #: (:func:`oms.outages.case_ref`; None in a core without a database).
    case_key: str | None = None


#: How far (seconds) a job's estimate from history must move to be news:
#: smaller drifts of the historical median leave its ETR as it is.
ETR_NEWS_S = 600
#: ETR sources the history never replaces: a crew's estimate, one renewed
#: after an ETR passed (timers.renew_passed_etr), a damage assessment's.
_OWN_ETR = ("crew", "renewed", "assessed")

#: Job states in which the crew is at work on site: closing the outage
#: leaves the job for the crew's close-out.
_AT_WORK = ("on_site", "made_safe", "repaired", "restored", "closed", "cancelled")
#: A crew was sent and supply is not back yet: a customer who calls now is told so.
_CREW_ON_IT = (
    "dispatched",
    "delivered",
    "accepted",
    "en_route",
    "on_site",
    "made_safe",
    "repaired",
)


class OrderBook:
    """Jobs and crews of one database, kept in memory; the repository writes each batch."""

    #: Look only at the jobs that can have changed (False: every job every
    #: batch, the oracle the tests compare with).
    incremental = True

    def __init__(
        self,
        stored: StoredBook,
        config: DispatchConfig,
        locate: Callable[[str], tuple[float, float]],
        roads_loader: Callable[[], RoadGraph | None],
        recipients: Callable[[str], list[str]] = lambda _outage: [],
        device_kind: Callable[[str], str] = lambda _device: "line",
    ) -> None:
        self.config = config
        self.recipients = recipients  # outage id -> customers to tell
        self.outbox = (
            Outbox(
                stored.subscriptions, config.etr_change_min, stored.case_key, stored.acknowledged
            )
            if config.notify
            else None
        )
        # Per outage, (calls, device) when its callers were last looked at:
        # a caller or subscriber who comes later is told the case is known.
        self._heard: dict[str, tuple[int, str | None]] = {}
        self.locate = locate  # device id -> (lon, lat) of the point it feeds
        self.device_kind = device_kind  # device id -> its kind (``transformer``, ...)
        self._roads_loader = roads_loader
        self._roads: RoadGraph | bool | None = False
        self.zones = Zones(stored.zones)
        self.units = {r["id"]: dict(r) for r in stored.units}
        self.crews = stored.crews
        self.jobs = {j.id: j for j in stored.jobs}
        # The book's order: a job's place among the jobs, never reused (a
        # count, not the size of the book, which shrinks as jobs finish).
        self._order = {jid: k for k, jid in enumerate(self.jobs)}
        self._places = itertools.count(len(self._order))
        self.by_outage = {j.outage: j for j in self.jobs.values() if j.outage}
        # Minutes from A to restoration of past jobs, by (kind, area class).
        self.history: dict[tuple[str, str], list[float]] = {}
        self._medians: dict[tuple[str, str], float | None] = {}
        # What to look at next batch: (when, job id) of each job's next
        # time-driven change (stale entries are harmless: looking at a job
        # that has nothing to do changes nothing); jobs raised in the last
        # batch; history medians and the storm state as jobs last saw them.
        # ``_everything`` until the first batch (a start or a reload).
        self._due: list[tuple[datetime, str]] = []
        self._next: dict[str, datetime] = {}  # each job's entry in _due that counts
        self._outages: Mapping[str, Outage] = {}  # the open outages sync last followed
        # Jobs raised in the last batch: the next look refines what raising
        # gave them (the storm room's ETR). A job
        # changed otherwise needs no second look: what the look decides from
        # (its outage, its ETR's source, the time) changed with an event (then
        # it is dirty) or with time (then it is due).
        self._carry: set[str] = set()
        self._everything = True
        self._remembered: set[tuple[str, str]] = set()
        self._median_seen: dict[tuple[str, str], float | None] = {}
        # Jobs following the history median, by key; and, per key whose median
        # moved in this batch, that median and the jobs it makes look at.
        self._followers = Followers()
        self._moved_now: dict[tuple[str, str], tuple[float | None, set[str]]] = {}
        self._storm_seen: Any = None
        for kind, area, stamps in stored.done:
            self.remember(kind, area, stamps or {})
        self.next_job = stored.next_job
        self.modes: dict[str, Any] = {"global": None, "units": {}, **stored.modes}
        self.modes_changed = False
        # Per unit: (time, no crew free) samples, and when it last alarmed.
        self.capacity_samples: dict[str, list[tuple[datetime, bool]]] = {}
        self.capacity_alarmed: dict[str, datetime] = {}
        self._reset()

    def _reset(self) -> None:
        self.dirty_jobs: set[str] = set()
        self.new_jobs: set[str] = set()
        self.dirty_crews: set[str] = set()
        self.new_crews: set[str] = set()  # onboarded (crew_add): their crews rows are new
        self.decisions: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        # Acknowledgements of stored alerts: {"alerts": [seq], "by", "at"}.
        self.acks: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []

    @property
    def roads(self) -> RoadGraph | None:
        if self._roads is False:
            self._roads = self._roads_loader()
        return self._roads if isinstance(self._roads, RoadGraph) else None

    # ------------------------------------------------------------- outages
    def sync(
        self,
        outages: Mapping[str, Outage],
        changed: Collection[str],
        now: datetime,
        order: Callable[[str], int] | None = None,
    ) -> set[str]:
        """Bring the jobs in line with the outages.

        Parameters
        ----------
        outages : mapping of str to Outage
            The open outages (and those changed in the batch), in their order.
        changed : collection of str
            Ids of the outages changed in the batch.
        now : datetime
            The engine's clock.
        order : callable, optional
            Where an outage stands in ``outages``' order (its id's): then
            only the outages that may change are walked, not all of them.

        Returns
        -------
        set of str
            The jobs looked at (give them to :func:`oms.engine.timers.run`).

        Notes
        -----
        O(changed + jobs due) with ``order`` (else also a set lookup per open
        outage), not O(open jobs x the work of each): a job whose outage did
        not change and whose time has not come is left alone, as looking at
        it would change nothing.
        """
        visit = self.to_visit(now)
        self._outages = outages
        walk: Iterable[Outage] = outages.values()
        if visit is not None and order is not None:
            walk = self._may_change(outages, changed, visit, order, now)
        for o in walk:
            job = self.by_outage.get(o.id)
            if (
                visit is not None
                and o.id not in changed
                and (job is None or (job.id not in visit and not self._median_moved(job, now)))
            ):
                continue
            if job is None:
                if o.active and o.kind in ("network", "single_customer"):
                    self._raise(o, now)
            elif not job.open:
                continue
            elif o.state == "cancelled":
                self._follow_cancelled(job, o, outages, now)
            elif o.kind == "momentary":
                self._cancel(job, now, f"outage {o.id} was momentary: supply came back by itself")
            elif o.state == "closed" and job.state not in _AT_WORK:
                # Closed before a crew got to work on it: the crew is told.
                self._cancel(job, now, f"outage {o.id} was closed")
            elif o.restored is not None:
                self._follow_restored(job, o, now)
            else:
                self._follow_open(job, o, now)
        self.dispatch_waiting(now, actor="system")
        return set(self.jobs) if visit is None else visit

    def _may_change(
        self,
        outages: Mapping[str, Outage],
        changed: Collection[str],
        visit: set[str],
        order: Callable[[str], int],
        now: datetime,
    ) -> Iterator[Outage]:
        """The outages :meth:`sync` may not skip, in their order: those changed,
        those of jobs to visit, and those of jobs whose history median a
        restoration met earlier in the walk moved (looked for after each
        outage given, as :meth:`sync` asks when it comes to each). Every other
        outage it would skip. O((outages given + moved jobs) log of them)."""
        due: list[tuple[int, str]] = []
        pushed: set[str] = set()

        def push(oid: str | None, after: int) -> None:
            if oid is not None and oid not in pushed and oid in outages:
                at = order(oid)
                if at > after:
                    pushed.add(oid)
                    heapq.heappush(due, (at, oid))

        for oid in changed:
            push(oid, -1)
        for jid in visit:
            job = self.jobs.get(jid)
            push(job.outage if job is not None else None, -1)
        expanded: dict[tuple[str, str], float | None] = {}
        while due:
            at, oid = heapq.heappop(due)
            job = self.by_outage.get(oid)
            yield outages[oid]
            if job is not None and job.outage != oid:
                push(job.outage, at)  # it followed a merge: asked again where it went
            for key in self._remembered:
                median = self._median(key)
                if median == self._median_seen.get(key) or expanded.get(key, math.nan) == median:
                    continue
                expanded[key] = median
                for jid in self._moved_for(key, now):
                    job = self.jobs.get(jid)
                    push(job.outage if job is not None else None, at)

    def to_visit(self, now: datetime) -> set[str] | None:
        """Jobs that may change as of ``now`` without their outage changing:
        changed since they were last looked at, their time come, or their ETR's
        history or the storm's ETRs changed. None: every job (the first batch).

        O(jobs due log jobs + keys log jobs); a history median that moved
        adds the jobs whose ETR it may change (:class:`Followers`), not every
        job of its kind.
        """
        state = storm(self)
        storm_key = repr(sorted(state.items())) if state is not None else None
        self._moved_now.clear()
        if self._everything or storm_key != self._storm_seen or not self.incremental:
            self._everything, self._storm_seen = False, storm_key
            self._due.clear()
            self._next.clear()
            self._followers.clear()
            self._remembered.clear()
            self._median_seen = {k: self._median(k) for k in self.history}
            return None
        visit = self._carry | self.dirty_jobs
        while self._due and self._due[0][0] <= now:
            when, jid = heapq.heappop(self._due)
            if self._next.get(jid) == when:  # else replaced by a later schedule
                del self._next[jid]
                visit.add(jid)
        at = now.timestamp()
        for key in self._followers.filed_keys():
            # Estimates from history passing now (a median that fell since a
            # job was scheduled brings its passing forward).
            median = self._median(key)
            if median is not None:
                visit.update(self._followers.passing(key, median * 60, at))
        for key in self._remembered:
            median, seen = self._median(key), self._median_seen.get(key)
            if median != seen:
                self._median_seen[key] = median
                visit.update(self._moved_jobs(key, seen, median, now))
        self._remembered.clear()
        return visit

    def _moved_jobs(
        self, key: tuple[str, str], seen: float | None, median: float | None, now: datetime
    ) -> set[str]:
        """The jobs of ``key`` whose ETR may be news now that its history
        median moved from ``seen`` to ``median``: in a storm (whose ETRs
        may now be the later ones) or from no history, every job following
        history."""
        if seen is None or median is None or storm(self) is not None:
            return self._followers.every(key)
        return self._followers.moved(key, median * 60, now.timestamp(), ETR_NEWS_S)

    def _median_moved(self, job: Job, now: datetime) -> bool:
        """Whether a restoration earlier in this batch moved the history median
        ``job``'s ETR comes from so that its ETR may be news (then it is looked
        at, as the jobs after it always were; the next batch looks at those
        before it)."""
        key = (job.kind, job.area_class)
        if key not in self._remembered or self._median(key) == self._median_seen.get(key):
            return False
        return job.id in self._moved_for(key, now)

    def _moved_for(self, key: tuple[str, str], now: datetime) -> set[str]:
        """:meth:`_moved_jobs` for ``key``'s median now, kept while it stays."""
        median = self._median(key)
        known = self._moved_now.get(key)
        if known is None or known[0] != median:
            known = (median, self._moved_jobs(key, self._median_seen.get(key), median, now))
            self._moved_now[key] = known
        return known[1]

    def next_due(self, job: Job, now: datetime, followed: bool = True) -> datetime | None:
        """The earliest time the time-driven rules may change ``job`` (None: not
        without an event).

        The timers' (:func:`oms.engine.timers.run`): its ETR passing, its next
        target warning or breach, its next acknowledgement timeout. With
        ``followed`` (its outage is active, so :meth:`sync` follows it) also
        its historical estimate passing (or, passed, becoming news) and the
        storm's ETR for it ending. Not its priority's age steps: the
        priority is read as of now (:meth:`Job.priority_at`). O(1).
        """
        times: list[datetime] = []
        if job.etr is not None and job.stamps.get("restored") is None:
            times.append(job.etr)
        if job.next_check is not None:
            times.append(job.next_check)
        hop = {"dispatched": "D", "delivered": "E"}.get(job.state)
        since = job.stamps.get(hop) if hop else None
        if since is not None and job.escalation < 4:  # sender, two contacts, leader
            wait = (job.escalation + 1) * self.config.ack_timeout_s
            times.append(since + timedelta(seconds=wait))
        base = self._from_history(job)
        if followed and job.etr_source not in _OWN_ETR and base is not None:
            if base > now:
                times.append(base)
            elif job.etr is None:
                times.append(now)
            else:
                # Passed: the estimate is now + what the stage still needs, and
                # it is news once it is 10 minutes past the ETR (_follow_open).
                times.append(job.etr - self.still_needed(job) + timedelta(seconds=ETR_NEWS_S))
            ruled = storm_etr(self, job)
            if ruled is not None and ruled > now:
                times.append(ruled)
        return min(times) if times else None

    def schedule(self, jobs: Iterable[str], now: datetime) -> None:
        """Note when each of ``jobs`` (just looked at) next needs looking at,
        and file those following the history median (:class:`Followers`)."""
        at = now.timestamp()
        for jid in jobs:
            job = self.jobs.get(jid)
            if job is None or not job.open:
                self._followers.drop(jid)
                continue
            o = self._outages.get(job.outage or "")
            followed = o is not None and o.active
            due = self.next_due(job, now, followed=followed)
            if due is None:
                self._next.pop(jid, None)
            elif self._next.get(jid) != due:
                self._next[jid] = due
                heapq.heappush(self._due, (due, jid))
            a, base = job.stamps.get("A"), self._from_history(job) if followed else None
            if a is None or base is None or job.etr_source in _OWN_ETR:
                self._followers.drop(jid)
            else:
                key, etr = (job.kind, job.area_class), job.etr
                history = job.etr_source == "history"
                etr_at = etr.timestamp() if etr is not None else None
                self._followers.put(jid, key, a.timestamp(), etr_at, history, base.timestamp(), at)

    def _follow_cancelled(
        self, job: Job, o: Outage, by_id: Mapping[str, Outage], now: datetime
    ) -> None:
        """A merged outage's job follows the outage it was merged into; else it is cancelled."""
        into = o.merged_into
        if not into or into in self.by_outage:
            why = f"merged into {into}" if into else "withdrawn"
            self._cancel(job, now, f"outage {o.id} {why}")
            return
        del self.by_outage[o.id]
        job.outage = into
        self.by_outage[into] = job
        host = by_id.get(into)
        if host is not None and host.kind == "network" and host.device:
            job.kind, job.customer = "network", None
            job.skills, job.voltage_kv = self.needs("network", host.device)
            self._move(job, host.device)
        self.dirty_jobs.add(job.id)

    def _follow_restored(self, job: Job, o: Outage, now: datetime) -> None:
        if job.stamps.get("restored") is None and o.restored is not None:
            job.stamp("restored", o.restored)
            self.remember(job.kind, job.area_class, job.stamps)
        if not job.restored_told:
            job.restored_told = True
            self.tell("restored", o.id, now)
            self.tell("survey", o.id, now)
        self.dirty_jobs.add(job.id)

    def _rebase(self, job: Job, o: Outage) -> bool:
        """``job`` takes its outage's priority without the age (added where the
        priority is read, :meth:`Job.priority_at`); whether it changed."""
        base = job_priority(o.hazard, o.critical_out, o.customers_out, 0.0, self.config.priority)
        return job.rebase(base, self.config.priority)

    def _follow_open(self, job: Job, o: Outage, now: datetime) -> None:
        """Priority and ETR refreshed; the job moves with its outage's device."""
        renew_passed_etr(self, job, now)
        if job.etr_source not in _OWN_ETR:
            etr, source = self.estimate(job, now), "history"
            ruled = storm_etr(self, job)
            if ruled is not None and ruled > now and (etr is None or ruled > etr):
                etr, source = ruled, "storm"  # the storm room's, where later
            # Small drifts of the historical median are not news.
            moved = etr is not None and (
                job.etr is None or abs((etr - job.etr).total_seconds()) > ETR_NEWS_S
            )
            if moved or (etr is not None and source != job.etr_source):
                job.etr, job.etr_source = etr, source
                self.dirty_jobs.add(job.id)
        if self.outbox is not None and self.outbox.etr_moved(o.id, job.etr):
            self.tell("etr_changed", o.id, now, job.etr)
        if self._rebase(job, o) or o.hazard != job.hazard:
            job.hazard = o.hazard
            self.dirty_jobs.add(job.id)
        if o.device and o.device != job.device:
            # The order follows its outage; a crew already on it is told where to.
            moved_from = job.device
            self._move(job, o.device)
            if job.crew is not None:
                detail = {"from": moved_from, "to": o.device}
                self.alerts.append(
                    alert(now, "redirected", "info", job, crew=job.crew, detail=detail)
                )
        self._acknowledge_late(o, job, now)

    def _acknowledge_late(self, o: Outage, job: Job, now: datetime) -> None:
        """Callers (and subscribers below a device it moved to) who came after
        the job was raised are told the case is known, with its ETR, once; and,
        when a crew is on it already, that a crew is (the ``dispatched`` they
        missed). Looked at only when its calls or device changed: O(its
        customers) then."""
        if self.outbox is None or self._heard.get(o.id) == (o.calls, o.device):
            return
        self._heard[o.id] = (o.calls, o.device)
        late = self.outbox.not_acknowledged(o.id, self.recipients(o.id))
        if late:
            self.outbox.queue("acknowledged", o.id, late, now, job.etr)
            if job.crew is not None and job.state in _CREW_ON_IT:
                self.outbox.queue("dispatched", o.id, late, now)

    def tell(
        self, kind: str, outage: str | None, now: datetime, etr: datetime | None = None
    ) -> None:
        if self.outbox is not None and outage:
            self.outbox.queue(kind, outage, self.recipients(outage), now, etr)

    def remember(self, kind: str, area: str, stamps: Mapping[str, Any]) -> None:
        a, r = stamps.get("A"), stamps.get("restored")
        if a and r:
            a = datetime.fromisoformat(a) if isinstance(a, str) else a
            r = datetime.fromisoformat(r) if isinstance(r, str) else r
            self.history.setdefault((kind, area), []).append((r - a).total_seconds() / 60)
            self._medians.pop((kind, area), None)
            self._remembered.add((kind, area))

    def estimate(self, job: Job, now: datetime) -> datetime | None:
        """ETR from past jobs of the same kind and area class (their median
        minutes from report to restoration), else half the restoration target;
        when that has passed, what the job's stage still needs from ``now``."""
        etr = self._from_history(job)
        if etr is None:
            return None
        return etr if etr > now else now + self.still_needed(job)

    def _from_history(self, job: Job) -> datetime | None:
        """A plus the median minutes of ``job``'s kind and area class (half the
        restoration target without history); None before A."""
        a = job.stamps.get("A")
        if a is None:
            return None
        median = self._median((job.kind, job.area_class))
        return a + timedelta(minutes=median if median is not None else job.targets.restoration / 2)

    def order(self, job_id: str) -> int:
        """Where ``job_id`` stands in the book's order (jobs are looked at in it)."""
        return self._order[job_id]

    def _median(self, key: tuple[str, str]) -> float | None:
        """Median minutes from report to restoration of past jobs of ``key``."""
        if key not in self._medians:
            past = sorted(self.history.get(key, []))
            self._medians[key] = past[len(past) // 2] if past else None
        return self._medians[key]

    def still_needed(self, job: Job) -> timedelta:
        """What a job's stage still needs before supply can be back: the
        travel target until the crew arrives, then the repair time (half of
        it once the site is made safe, a quarter once repaired)."""
        repair = self.config.repair_minutes
        if job.state in ("waiting", "dispatched", "delivered", "accepted", "en_route"):
            return timedelta(minutes=float(job.targets.segments.get("GH", 28.0)) + repair)
        share = {"made_safe": 0.5, "repaired": 0.25}.get(job.state, 1.0)
        return timedelta(minutes=repair * share)

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
            priority=0.0,  # as of the write (feed): base and age as read then
            targets=Targets.for_area(area_class, overrides=self.config.targets),
            updated_at=now,
            hazard=o.hazard,
        )
        self._rebase(job, o)
        self.next_job += 1
        # A is the first evidence; the system issues the order (B) and it
        # reaches the repair centre (C) at once. An outage that a restoration
        # above it revealed (nested, or a customer left behind) was attended
        # by that outage's crew until then: its own order starts when found.
        first = o.located_at if o.revealed_by else o.started
        job.stamps = {"A": first, "B": now, "C": now}
        job.etr, job.etr_source = self.estimate(job, now), "history"
        self.tell("acknowledged", o.id, now, job.etr)
        self._heard[o.id] = (o.calls, o.device)
        if self.outbox is not None:
            self.outbox.last_etr[o.id] = job.etr
        self.jobs[job.id] = job
        self._order[job.id] = next(self._places)
        self.by_outage[o.id] = job
        self.new_jobs.add(job.id)
        self.dirty_jobs.add(job.id)
        return job

    def _cancel(self, job: Job, now: datetime, why: str) -> None:
        """Cancel a job; its crew (if any) is told why and freed."""
        self.release(job)
        job.state = "cancelled"
        self.dirty_jobs.add(job.id)
        self.alerts.append(
            alert(now, "job_cancelled", "info", job, crew=job.crew, detail={"why": why})
        )

    def release(self, job: Job) -> None:
        crew = self.crews.get(job.crew or "")
        if crew is not None and job.id in crew.jobs:
            crew.jobs.remove(job.id)
            if not crew.jobs and crew.status in BUSY:
                crew.status = "available"
            self.dirty_crews.add(crew.id)

    # -------------------------------------------------------------- dispatch
    def _crew_views(self, now: datetime) -> list[Any]:
        views = []
        for c in self.crews.values():
            working = [self.jobs[j].priority_at(now) for j in c.jobs if j in self.jobs]
            views.append(c.view(max(working) if working else None))
        return views

    def suggest(self, job_id: str, now: datetime, exclude: Iterable[str] = ()) -> Decision:
        """The crew to send (none of ``exclude``), the rule, and every alternative."""
        job = self.job(job_id)
        left_out = set(exclude)
        views = [v for v in self._crew_views(now) if v.id not in left_out]
        return suggest(job.view(now), views, now, roads=self.roads, rules=self.config.rules)

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
        job = self.job(job_id)
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
                    self.recall(self.jobs[other], now, actor, f"crew diverted to {job.id}")
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
        everywhere = self.modes.get("global")
        if not (self.config.auto_dispatch if everywhere is None else everywhere) and not any(
            self.modes["units"].values()
        ):
            return []  # automatic dispatch is off everywhere: no job to look at
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
            key=lambda j: -j.priority_at(now),
        )
        if not waiting:
            return []
        batch = (storm(self) or {}).get("dispatch") == "batch" and len(waiting) > 1
        if batch or len(waiting) >= self.config.storm_batch:
            decisions = assign_batch(
                [j.view(now) for j in waiting],
                self._crew_views(now),
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
                    self.recall(other, now, actor, f"crew diverted to {job.id}")
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
        self.tell("dispatched", job.outage, now)

    def recall(self, job: Job, now: datetime, actor: str, reason: str | None) -> None:
        self.release(job)
        self.alerts.append(
            alert(
                now, "recalled", "info", job, crew=job.crew, detail={"by": actor, "reason": reason}
            )
        )
        job.crew, job.state = None, "waiting"
        for key in ("D", "E", "F", "G", "H"):
            job.stamps.pop(key, None)
        self.dirty_jobs.add(job.id)

    def hold(self, job: Job, p: Mapping[str, Any], now: datetime, actor: str) -> None:
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

    def switch_automatic(self, p: Mapping[str, Any], now: datetime, actor: str) -> None:
        """Automatic dispatch on or off for one job, one unit, or everywhere."""
        auto = bool(p["auto"])
        if p.get("job"):
            job = self.job(p["job"])
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
            alert(now, "dispatch_mode", "info", None, detail={**detail, "by": actor})
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

    # --------------------------------------------------------------- lookups
    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no open job with id {job_id!r}")
        return job

    def crew(self, crew_id: str) -> CrewState:
        crew = self.crews.get(crew_id)
        if crew is None:
            raise ActionError(f"unknown crew {crew_id!r}")
        return crew

    # ---------------------------------------------------------------- views
    def crew_dicts(self, now: datetime) -> list[dict[str, Any]]:
        return crew_dicts(self.crews.values(), now, self.config)

    def feed(self, now: datetime) -> list[dict[str, Any]]:
        """Rows of the live feed (``changes``) for what changed since the last write."""
        rows: list[dict[str, Any]] = []
        for jid in sorted(self.dirty_jobs):
            job = self.jobs[jid]
            job.priority = job.priority_at(now)  # as written: the row follows the feed
            rows.append({"time": now, "kind": "job", "ref": jid, "data": job.to_dict()})
        dirty = [self.crews[cid] for cid in self.dirty_crews]
        for data in crew_dicts(dirty, now, self.config):
            rows.append({"time": now, "kind": "crew", "ref": data["id"], "data": data})
        for a in self.alerts:  # as GET /api/alerts returns them (the repository set seq)
            data = {**a, "time": iso(a["time"]), "acknowledged_at": None, "acknowledged_by": None}
            ref = a["job"] or a["unit"] or ""
            rows.append({"time": now, "kind": "alert", "ref": ref, "data": data})
        for ack in self.acks:  # only the alerts it acknowledged (the repository kept those)
            if ack["alerts"]:
                data = {"alerts": ack["alerts"], "by": ack["by"], "at": iso(ack["at"])}
                rows.append({"time": now, "kind": "alert_ack", "ref": ack["by"], "data": data})
        return rows

    # --------------------------------------------------------------- settle
    def repaired_outages(self) -> set[str]:
        """Outages whose crew reported the repair (their section is no longer faulted)."""
        return {j.outage for j in self.jobs.values() if j.outage and j.stamps.get("repaired")}

    def settle(self) -> None:
        """After a batch is written: finished jobs leave the book, change sets are emptied.
        O(jobs changed in the batch): a job finishes only by a change, which is written."""
        changed = (
            self.dirty_jobs | self.new_jobs if self.incremental else set(self.jobs)
        ) & self.jobs.keys()
        for jid in [j for j in changed if not self.jobs[j].open]:
            job = self.jobs.pop(jid)
            del self._order[jid]
            if job.outage and self.by_outage.get(job.outage) is job:
                del self.by_outage[job.outage]
                self._heard.pop(job.outage, None)
                if self.outbox is not None:
                    self.outbox.acknowledged.pop(job.outage, None)
        self.modes_changed = False
        self._carry = set(self.new_jobs)
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
