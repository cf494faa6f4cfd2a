"""Replaying a storm scenario through the engine, and scoring what it predicted.

:func:`replay` feeds a scenario's events to an :class:`~oms.engine.OutageEngine`
in time order, one batch at a time. After each batch it hands the engine's
ping requests to a simulated AMI head-end (:class:`oms.simulation.storms.HeadEnd`),
whose replies join the stream at their own time, as a real head-end's
would. :func:`score_scenario` runs the replay on fresh databases for each
predictor asked for and scores each against the ground truth.

Crew-driven restoration (``restoration="crews"``): supply comes back when a
simulated crew has done a fault's work (:class:`oms.simulation.storms.Restoration`).
The events that follow a restoration in the truth (its ``depends``: SCADA
closes, AMI restores, calls with supply back, a nested fault's evidence)
are held back until the crews have restored what they follow, then moved
by as much as that restoration moved; an event no longer true when its time
comes (a call from a customer a crew has already restored, a restore while
another fault still holds the meter out) is dropped. The score is then
taken against the crews' restoration times.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from oms.config import EngineConfig, PredictionParams
from oms.dispatch.jobs import Job
from oms.engine import IngestReport, OutageEngine
from oms.intake.events import parse_time
from oms.reports.reliability import compliance, indices
from oms.simulation.crews import CrewSimulator
from oms.simulation.scoring import score
from oms.simulation.storms import (
    RESTORATION_MODES,
    HeadEnd,
    Restoration,
    Scenario,
    format_time,
)
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load_model
from topology.model import Network

__all__ = ["LiveReplay", "replay", "score_scenario"]


def replay(
    engine: OutageEngine,
    events: Sequence[dict[str, Any]],
    head_end: HeadEnd | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    tick_s: float = 30.0,
    crews: CrewSimulator | None = None,
    etrs: dict[str, dict[str, Any]] | None = None,
    restoration: Restoration | None = None,
    depends: Mapping[str, Mapping[str, Any]] | None = None,
    played: list[dict[str, Any]] | None = None,
) -> tuple[IngestReport, list[dict[str, Any]]]:
    """Apply ``events`` (sorted by time) with ping replies merged in.

    Between events more than ``tick_s`` apart the engine's clock ticks on,
    as the live server's does. With ``crews``, dispatched crews answer as
    their handhelds would (:class:`oms.simulation.crews.CrewSimulator`), and the
    replay goes on until they have finished their jobs. With ``etrs`` (a
    dict, filled in place), the ETRs of the jobs are read after every step:
    per outage id, the ``first`` ETR given and the ``final`` one before
    restoration (ISO strings). Returns the
    ingest report and the ping replies the head-end sent.

    With ``restoration`` in the ``crews`` mode (the one the crews and the
    head-end use) and the truth's ``depends``, events are held back, moved
    and dropped as the module describes. ``played`` (a list, filled in
    place) gets the given events as applied (moved ones with their new
    time). O(events log events) besides the engine's own work.
    """
    held = _Held(restoration, depends)
    heap: list[tuple[float, int, dict[str, Any]]] = []
    for k, e in enumerate(events):
        if not held.hold(k, e):
            heap.append((parse_time(e["time"]).timestamp(), k, e))
    heapq.heapify(heap)
    replies: list[dict[str, Any]] = []
    total = IngestReport()
    size = engine.config.batch_size
    while heap or (crews is not None and crews.plans and engine.clock is not None):
        clock = engine.clock.timestamp() if engine.clock is not None else None
        if clock is not None and (not heap or heap[0][0] > clock + tick_s):
            # Nothing happens for a while: the live engine's clock ticks on.
            engine.tick(datetime.fromtimestamp(clock + tick_s, tz=timezone.utc))
            _answer_pings(engine, head_end, heap, replies)
            _crews_act(engine, crews, heap)
            held.release(heap)
            _read_etrs(engine, etrs)
            continue
        first = heap[0][0]
        batch: list[tuple[float, int, dict[str, Any]]] = []
        while heap and len(batch) < size and heap[0][0] - first <= engine.config.batch_seconds:
            item = heapq.heappop(heap)
            if held.true(item[2]):
                batch.append(item)
        if played is not None:
            played.extend(e for _, k, e in batch if k < len(events))
        report = engine.ingest_objects((k + 1, e) for _, k, e in batch)
        total.accepted += report.accepted
        total.duplicates += report.duplicates
        total.rejected += report.rejected
        if progress:
            progress(len(batch))
        _answer_pings(engine, head_end, heap, replies)
        _crews_act(engine, crews, heap)
        held.release(heap)
        _read_etrs(engine, etrs)
    return total, replies


class _Held:
    """Events that wait for crews' restorations, and the check that an event
    is still true when its time comes (crew-driven restoration only)."""

    def __init__(
        self,
        restoration: Restoration | None,
        depends: Mapping[str, Mapping[str, Any]] | None,
    ) -> None:
        on = restoration is not None and restoration.mode == "crews"
        self.restoration = restoration if on else None
        self.depends: Mapping[str, Mapping[str, Any]] = (depends or {}) if on else {}
        self.waiting: list[tuple[int, dict[str, Any], Mapping[str, Any]]] = []
        self.seen = -1  # restorations known at the last release

    def hold(self, key: int, event: dict[str, Any]) -> bool:
        """Keep ``event`` back if it follows a restoration; True when kept."""
        dep = self.depends.get(event.get("id", ""))
        if dep is None or not dep.get("after"):
            return False
        self.waiting.append((key, event, dep))
        return True

    def release(self, heap: list[tuple[float, int, dict[str, Any]]]) -> None:
        """Push the held events whose restorations are known, moved. O(held)
        when a restoration was added since the last call, else O(1)."""
        r = self.restoration
        if r is None or not self.waiting or len(r.restored) == self.seen:
            return
        self.seen = len(r.restored)
        still = []
        for key, event, dep in self.waiting:
            when = r.moved(dict(dep), parse_time(event["time"]))
            if when is None:
                still.append((key, event, dep))
                continue
            moved = {**event, "time": format_time(when)}
            heapq.heappush(heap, (parse_time(moved["time"]).timestamp(), key, moved))
        self.waiting = still

    def true(self, event: dict[str, Any]) -> bool:
        """Is ``event`` still true at its time (always, outside crew-driven mode)?"""
        r = self.restoration
        dep = self.depends.get(event.get("id", "")) if r is not None else None
        return r is None or dep is None or r.holds(dict(dep), parse_time(event["time"]))


def _read_etrs(engine: OutageEngine, etrs: dict[str, dict[str, Any]] | None) -> None:
    """Record each outage's first ETR and its latest one before restoration. O(jobs)."""
    if etrs is None or engine.core.book is None:
        return
    for job in engine.core.book.jobs.values():
        if job.outage is None or job.etr is None or job.state == "cancelled":
            continue
        seen = etrs.setdefault(job.outage, {"first": job.etr.isoformat(), "final": None})
        if job.stamps.get("restored") is None:
            seen["final"] = job.etr.isoformat()


class LiveReplay:
    """A scenario played against a running engine as its clock advances.

    :meth:`advance` applies every scenario event, ping reply and simulated
    crew action due by a time, then ticks the engine there: what ``oms demo``
    calls a few times a second with its accelerated clock. The caller holds
    whatever lock guards the engine.
    """

    def __init__(
        self,
        engine: OutageEngine,
        events: Sequence[dict[str, Any]],
        head_end: HeadEnd | None = None,
        crews: CrewSimulator | None = None,
    ) -> None:
        self.engine = engine
        self.head_end = head_end
        self.crews = crews
        self.heap = [(parse_time(e["time"]).timestamp(), k, e) for k, e in enumerate(events)]
        heapq.heapify(self.heap)
        self.replies: list[dict[str, Any]] = []
        self.report = IngestReport()

    @property
    def finished(self) -> bool:
        """Every event applied and every crew done."""
        return not self.heap and not (self.crews is not None and self.crews.plans)

    def advance(self, until: datetime) -> int:
        """Apply what is due by ``until`` and tick there; the events applied. O(due log n)."""
        engine, limit = self.engine, until.timestamp()
        applied = 0
        while self.heap and self.heap[0][0] <= limit:
            first = self.heap[0][0]
            batch: list[tuple[float, int, dict[str, Any]]] = []
            while (
                self.heap
                and self.heap[0][0] <= limit
                and len(batch) < engine.config.batch_size
                and self.heap[0][0] - first <= engine.config.batch_seconds
            ):
                batch.append(heapq.heappop(self.heap))
            report = engine.ingest_objects((k + 1, e) for _, k, e in batch)
            self.report.accepted += report.accepted
            self.report.duplicates += report.duplicates
            self.report.rejected.extend(report.rejected)
            applied += len(batch)
            _answer_pings(engine, self.head_end, self.heap, self.replies)
            _crews_act(engine, self.crews, self.heap)
        if engine.clock is None or until > engine.clock:
            engine.tick(until)
        _answer_pings(engine, self.head_end, self.heap, self.replies)
        _crews_act(engine, self.crews, self.heap)
        return applied


def _crews_act(
    engine: OutageEngine,
    crews: CrewSimulator | None,
    heap: list[tuple[float, int, dict[str, Any]]],
) -> None:
    if crews is None:
        return
    for event in crews.respond(engine):
        # Keys after every scenario event and ping reply keep the order total.
        key = 2 * 10**9 + int(event["id"].split("-")[1])
        heapq.heappush(heap, (parse_time(event["time"]).timestamp(), key, event))


def _answer_pings(
    engine: OutageEngine,
    head_end: HeadEnd | None,
    heap: list[tuple[float, int, dict[str, Any]]],
    replies: list[dict[str, Any]],
) -> None:
    if head_end is None or engine.clock is None:
        return
    requests = engine.take_ping_requests()
    if not requests:
        return
    for reply in head_end.answer([r["customer"] for r in requests], engine.clock):
        # Keys after every scenario event keep the heap order total.
        heapq.heappush(heap, (parse_time(reply["time"]).timestamp(), 10**9 + len(replies), reply))
        replies.append(reply)


def score_scenario(
    net: Network,
    scenario: Scenario,
    *,
    predictors: Sequence[str] = ("likelihood", "classic", "reference"),
    config: EngineConfig | None = None,
    pings: bool = True,
    progress: Callable[[int], None] | None = None,
    companions: Mapping[str, str] | None = None,
    restoration: str = "truth",
    storm_dispatch: str | None = None,
) -> dict[str, Any]:
    """Replay ``scenario`` once per predictor on a fresh database and score it.

    The engine is told the scenario's AMI delivery rate (as a utility knows
    its head-end's). Pings are answered by a simulated head-end when ``pings``
    is true and the network has metered customers.

    With ``companions`` (paths of ``crews``, ``units``, ``zones``, ``roads``)
    the engine dispatches crews automatically and simulated crews work the
    jobs; each score then has ``response`` (arrival-target compliance,
    minutes to arrival and restoration) and ``indices`` (IEEE 1366).

    ``restoration="crews"`` (it needs ``companions``): supply comes back
    when the simulated crews have done the faults' work, and every figure is
    taken against their restoration times (see the module); the score's
    ``restoration`` adds ``mode`` and ``unrestored`` (the faults and
    single-customer problems no crew restored), and ``truck_rolls_no_repair``
    counts the jobs whose crew found no fault. The default ``truth`` keeps
    the truth's times, whatever the crews do.

    ``storm_dispatch`` (``suggest``, ``batch`` or ``automatic``) turns storm
    mode on with that dispatch policy at the storm's start (a ``storm_mode``
    event before the scenario's; ``suggest`` sends nobody without a
    dispatcher, so no crew restores anything).

    ``reference`` is not an engine predictor: it is the exact
    maximum-a-posteriori reference of :mod:`oms.simulation.reference` (same
    candidates and likelihood, the final evidence of every fault window at
    once), given the events and the ping replies of the first replay (and,
    crew-driven, its restoration times).

    Returns ``{predictor: score dict (see oms.simulation.scoring.score), ...}``, each
    score with ``events`` (accepted), ``ping_replies`` and ``seconds`` (wall
    clock of the replay) added.
    """
    import time

    if restoration not in RESTORATION_MODES:
        raise ValueError(f"restoration {restoration!r}: one of {', '.join(RESTORATION_MODES)}")
    crewed = restoration == "crews"
    if crewed and not companions:
        raise ValueError("crew-driven restoration needs crews: give companions (a crews file)")
    events = list(scenario.events)
    if storm_dispatch is not None:
        storm = {"id": "storm-dispatch", "type": "storm_mode", "time": scenario.truth["start"]}
        events.insert(0, {**storm, "on": True, "dispatch": storm_dispatch})
    base = config or EngineConfig()
    ami = float(scenario.truth.get("params", {}).get("ami_rate", base.prediction.ami_delivery))
    out: dict[str, Any] = {}
    all_replies: list[dict[str, Any]] | None = None
    ref_truth, ref_events = scenario.truth, scenario.events
    with tempfile.TemporaryDirectory(prefix="oms-score-") as tmp:
        for name in predictors:
            if name == "reference":
                continue
            url = f"sqlite:///{Path(tmp) / (name + '.sqlite')}"
            params: PredictionParams = replace(base.prediction, ami_delivery=min(ami, 0.99))
            # Simulated time: a storm dated ahead of the wall clock is not
            # "from the future" here (the engine's skew rule is for live feeds).
            cfg = replace(
                base, predictor=name, prediction=params, pings=pings, max_clock_skew_s=None
            )
            if companions:
                cfg = replace(cfg, dispatch=replace(cfg.dispatch, auto_dispatch=True))
            db = connect(url)
            load_model(db, net, "scenario")
            if companions:
                from oms.storage.loading import load

                load(
                    db,
                    crews=companions.get("crews"),
                    units=companions.get("units"),
                    zones=companions.get("zones"),
                    roads=companions.get("roads"),
                )
            engine = OutageEngine(db, cfg)
            truth = scenario.truth
            supply = Restoration(net, truth, restoration) if crewed else None
            head = HeadEnd(net, truth, restoration=supply) if pings else None
            crews = (
                CrewSimulator(
                    seed=int(truth.get("params", {}).get("seed", 0)),
                    truth=truth,
                    restoration=supply,
                )
                if companions
                else None
            )
            t0 = time.perf_counter()
            etrs: dict[str, dict[str, Any]] = {}
            played: list[dict[str, Any]] = []
            report, replies = replay(
                engine,
                events,
                head,
                progress=progress,
                crews=crews,
                etrs=etrs,
                restoration=supply,
                depends=truth.get("depends"),
                played=played if crewed else None,
            )
            seconds = time.perf_counter() - t0
            evidence = scenario.events
            if supply is not None:
                # The storm as the crews restored it, and the evidence it gave.
                truth = supply.as_truth(truth, engine.clock)
                evidence = [e for e in played if e.get("type") != "storm_mode"]
            if all_replies is None:
                all_replies = replies
                ref_truth, ref_events = truth, evidence
            result = score(net, truth, engine.snapshot(), evidence=[*evidence, *replies], etrs=etrs)
            result.update(
                events=report.accepted, ping_replies=len(replies), seconds=round(seconds, 2)
            )
            if supply is not None:
                result["restoration"]["mode"] = restoration
                result["restoration"]["unrestored"] = sorted(
                    fid for fid in supply.ids if fid not in supply.restored
                )
            if companions:
                false = {str(o["outage"]) for o in result["false_outages"]}
                no_repair = crews.no_fault if crews is not None and supply is not None else None
                result.update(_response(engine, scenario, false, no_repair))
            out[name] = result
            db.dispose()
    if "reference" in predictors:
        from oms.simulation.reference import reference_outages

        params = replace(base.prediction, ami_delivery=min(ami, 0.99))
        evidence = [*ref_events, *(all_replies or [])]
        t0 = time.perf_counter()
        outages = reference_outages(net, ref_truth, evidence, params)
        result = score(net, ref_truth, outages, evidence=evidence)
        result.update(
            events=len(scenario.events),
            ping_replies=len(all_replies or []),
            seconds=round(time.perf_counter() - t0, 2),
        )
        out["reference"] = result
    return out


def _response(
    engine: OutageEngine,
    scenario: Scenario,
    false: frozenset[str] | set[str] = frozenset(),
    no_repair: set[str] | None = None,
) -> dict[str, Any]:
    """Arrival-target compliance, minutes to arrival and restoration, truck rolls
    to places that needed no repair (a crew arrived at an outage ``false``: no
    fault was there; or, crew-driven, at a job in ``no_repair``: its crew found
    no fault), and indices."""
    start = parse_time(scenario.truth["start"])
    end = (engine.clock or start) + timedelta(seconds=1)
    with engine.db.connect() as conn:
        response = compliance(conn, start, end, end)
        reliability = indices(conn, start, end)
        jobs = [Job.from_row(dict(r)) for r in conn.execute(select(schema.jobs)).mappings()]
    restore = []
    for j in jobs:
        a, r = j.stamps.get("A"), j.stamps.get("restored")
        if a is not None and r is not None and j.state != "cancelled":
            restore.append((r - a).total_seconds() / 60)
    # The most jobs open at once (from first evidence to restoration), to
    # compare with the crews there were to work them.
    sweep = sorted(
        (t, step)
        for j in jobs
        if j.state != "cancelled" and j.stamps.get("A") is not None
        for t, step in ((j.stamps["A"], 1), (j.stamps.get("restored") or end, -1))
    )
    open_now = peak = 0
    for _, step in sweep:
        open_now += step
        peak = max(peak, open_now)
    with engine.db.connect() as conn:
        alarms = conn.execute(
            select(schema.alerts.c.unit).where(schema.alerts.c.kind == "capacity")
        ).all()
    groups = response["arrival"]["area_class"]
    on_time = sum(g["on_time"] for g in groups.values())
    late = sum(g["late"] for g in groups.values())
    return {
        "response": {
            "jobs": response["jobs"],
            "arrivals_within_target": round(on_time / max(on_time + late, 1), 4),
            "arrival_minutes": response["arrival_minutes"],
            "restoration_minutes": {
                "mean": round(float(np.mean(restore)), 1) if restore else None,
                "p90": round(float(np.percentile(restore, 90)), 1) if restore else None,
                "n": len(restore),
            },
            "breaches_by_segment": {s: v["breached"] for s, v in response["segments"].items()},
            "crews": len(engine.book.crews),
            "peak_open_jobs": peak,
            "capacity_alarms": sorted({a.unit for a in alarms if a.unit}),
            "truck_rolls": sum(1 for j in jobs if j.stamps.get("H") is not None),
            "truck_rolls_no_repair": sum(
                1
                for j in jobs
                if j.stamps.get("H") is not None
                and (j.outage in false if no_repair is None else j.id in no_repair)
            ),
        },
        "indices": reliability["all"],
    }
