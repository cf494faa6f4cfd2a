"""Crew and dispatcher events on the order book: one handler per event type.

A crew acts only on its own jobs: every job event that names a crew is
refused unless the job is that crew's (stages, estimates, callbacks and
close-outs alike). Who may send which event type is the intake's business
(the web API's route rules); here each event is checked against the state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oms.dispatch.jobs import JOB_EVENTS, CrewState, Job, check_closeout
from oms.engine.storm import apply_storm_mode
from oms.exceptions import ActionError, JobNotFound
from oms.intake.events import Event, iso, parse_time
from oms.vocabulary import CREW_REPORTABLE, values

if TYPE_CHECKING:
    from oms.engine.orders import OrderBook

__all__ = ["apply_event"]

Handler = Callable[["OrderBook", Mapping[str, Any], datetime, str], list[str]]
JobHandler = Callable[["OrderBook", Job, Mapping[str, Any], datetime, str], list[str]]


def apply_event(book: OrderBook, event: Event) -> list[str]:
    """Apply a crew or dispatcher event; the outages it restores (by id).

    Raises
    ------
    ActionError
        The event cannot be carried out (an unknown job or crew, a crew
        acting on another crew's job, a stage out of order, ...).
    """
    p, t = event.payload, event.time
    actor = p.get("user") or p.get("crew") or "system"
    handler = _CREW_AND_DISPATCH.get(event.type)
    if handler is not None:
        return handler(book, p, t, actor)
    job = book.job(p["job"])
    job_handler = _JOB.get(event.type)
    if job_handler is not None:
        return job_handler(book, job, p, t, actor)
    _own_job(job, p)
    return _stage(book, job, event.type, t)


def _own_job(job: Job, p: Mapping[str, Any]) -> None:
    """A crew acts on its own job only; another crew's job is none of its business."""
    crew_id = p.get("crew")
    if crew_id is not None and crew_id != job.crew:
        # Never say whose it is: a crew may not see other crews' jobs.
        why = " (it was recalled)" if job.crew is None else ""
        raise JobNotFound(f"crew {crew_id} has no job {job.id}{why}")


# ---------------------------------------------------------- crews, dispatch
def _crew_gps(book: OrderBook, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    crew = book.crew(p["crew"])
    crew.lon, crew.lat, crew.gps_time = float(p["lon"]), float(p["lat"]), t
    book.dirty_crews.add(crew.id)
    return []


def _crew_status(book: OrderBook, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    crew = book.crew(p["crew"])
    if p["status"] not in values(CREW_REPORTABLE):
        raise ActionError(f"a crew reports off_shift, available or returning, not {p['status']!r}")
    if p["status"] == "off_shift" and crew.jobs:
        raise ActionError(f"crew {crew.id} still holds {', '.join(crew.jobs)}")
    if p["status"] != "off_shift" and crew.expected:
        raise ActionError(f"crew {crew.id} has not checked in yet (crew_checkin on arrival)")
    crew.status = p["status"]
    book.dirty_crews.add(crew.id)
    return []


def _crew_add(book: OrderBook, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    """A mutual-aid or contractor crew joins the book (the event parser checked its fields)."""
    if p["crew"] in book.crews:
        raise ActionError(f"crew {p['crew']!r} exists already")
    if p.get("unit") is not None and p["unit"] not in book.units:
        raise ActionError(f"unit {p['unit']!r} is not loaded")
    if p.get("zone") is not None and p["zone"] not in {z["id"] for z in book.zones.rows}:
        raise ActionError(f"zone {p['zone']!r} is not loaded")
    arrival = p.get("arrival")
    crew = CrewState(
        p["crew"],
        p.get("name"),
        p.get("unit"),
        p.get("zone"),
        sorted(set(p["skills"])),
        [float(v) for v in p.get("voltage_kv", [])],
        None if p.get("lon") is None else float(p["lon"]),
        None if p.get("lat") is None else float(p["lat"]),
        p.get("shift_start"),
        p.get("shift_end"),
        p.get("phone"),
        company=p["company"],
        size=int(p["size"]),
        vehicles=None if p.get("vehicles") is None else int(p["vehicles"]),
        home_base=p.get("home_base"),
        arrival=None if arrival is None else parse_time(arrival, "arrival"),
    )
    if crew.arrival is None:
        crew.checked_in = t  # here already: at work from now
    else:
        crew.status = "off_shift"  # not dispatched before it checks in
    book.crews[crew.id] = crew
    book.new_crews.add(crew.id)
    book.dirty_crews.add(crew.id)
    return []


def _crew_checkin(book: OrderBook, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    """An expected crew arrived: its position, and it may be dispatched from now."""
    crew = book.crew(p["crew"])
    if not crew.expected:
        why = f"it checked in at {iso(crew.checked_in)}" if crew.checked_in else "none expected"
        raise ActionError(f"crew {crew.id} has no check-in pending ({why})")
    crew.lon, crew.lat, crew.gps_time = float(p["lon"]), float(p["lat"]), t
    crew.checked_in, crew.status = t, "available"
    book.dirty_crews.add(crew.id)
    return []


def _dispatch_auto(book: OrderBook, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    book.switch_automatic(p, t, actor)
    return []


def _storm_mode(book: OrderBook, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    apply_storm_mode(book, p, t, actor)
    return []


def _survey_answer(book: OrderBook, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    answer = {"customer": p["customer"], "outage": p["outage"], "answer": str(p["answer"])}
    book.answers.append({**answer, "time": t})
    return []


_CREW_AND_DISPATCH: dict[str, Handler] = {
    "crew_gps": _crew_gps,
    "crew_status": _crew_status,
    "crew_add": _crew_add,
    "crew_checkin": _crew_checkin,
    "dispatch_auto": _dispatch_auto,
    "storm_mode": _storm_mode,
    "survey_answer": _survey_answer,
}


# --------------------------------------------------------------------- jobs
def _assign(book: OrderBook, job: Job, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    book.assign(job.id, t, p.get("crew"), actor, preempt=bool(p.get("preempt")))
    return []


def _recall(book: OrderBook, job: Job, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    if job.state in ("waiting", "closed", "cancelled"):
        raise ActionError(f"job {job.id} is {job.state}; nothing to recall")
    book.hold(job, p, t, actor)
    book.recall(job, t, actor, p.get("reason"))
    return []


def _callback(
    book: OrderBook, job: Job, p: Mapping[str, Any], t: datetime, actor: str
) -> list[str]:
    _own_job(job, p)
    if job.stamps.get("restored") is None:
        raise ActionError(f"job {job.id} is not restored; call the customer back after")
    job.stamp("callback", t)
    job.closeout = {**(job.closeout or {}), "callback": p.get("answer")}
    book.dirty_jobs.add(job.id)
    return []


def _close(book: OrderBook, job: Job, p: Mapping[str, Any], t: datetime, actor: str) -> list[str]:
    _own_job(job, p)
    if job.stamps.get("restored") is None:
        raise ActionError(f"job {job.id} is not restored; it cannot close")
    job.closeout = {**(job.closeout or {}), **check_closeout(p.get("closeout"))}
    job.stamp("closed", t)
    job.state = "closed"
    book.release(job)
    book.dirty_jobs.add(job.id)
    return []


def _estimate(
    book: OrderBook, job: Job, p: Mapping[str, Any], t: datetime, actor: str
) -> list[str]:
    _own_job(job, p)
    job.etr, job.etr_source = parse_time(p["etr"], "etr"), "crew"
    book.dirty_jobs.add(job.id)
    return []


_JOB: dict[str, JobHandler] = {
    "job_assign": _assign,
    "job_recall": _recall,
    "job_callback": _callback,
    "job_close": _close,
    "job_estimate": _estimate,
}


def _stage(book: OrderBook, job: Job, etype: str, t: datetime) -> list[str]:
    """A stage of the handheld: delivered, accepted, departed, ... restored."""
    stamp, state, crew_status = JOB_EVENTS[etype]
    if job.crew is None:
        raise ActionError(f"job {job.id} has no crew (it was recalled)")
    if job.state in ("closed", "cancelled"):
        raise ActionError(f"job {job.id} is {job.state}")
    if stamp == "restored" and job.stamps.get("restored") is None:
        job.stamp(stamp, t)
        book.remember(job.kind, job.area_class, job.stamps)
    job.stamp(stamp, t)
    # A later stage proves the earlier ones: accepting proves delivery, ...
    if etype in ("job_accept", "job_depart", "job_arrive"):
        job.stamp("E", t)
    if etype in ("job_depart", "job_arrive"):
        job.stamp("F", t)
    if etype == "job_arrive":
        job.stamp("G", t)
    job.state = state
    job.escalation = 0
    if crew_status is not None:
        crew = book.crews[job.crew]
        crew.status = crew_status
        book.dirty_crews.add(crew.id)
    book.dirty_jobs.add(job.id)
    if etype == "job_restored" and job.outage:
        return [job.outage]
    return []
