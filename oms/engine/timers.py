"""Time-driven rules of the order book, evaluated as of a time (the engine's ``tick``).

- target warnings (50%, 75%) and breaches of each open job (levels in
  :mod:`oms.engine.alerts`);
- acknowledgement timeouts, escalated through the unit's first contact,
  second contact and leader;
- the capacity alarm of a unit with no free crew for too long;
- an ETR that passed without restoration, estimated again.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from oms.dispatch.jobs import Job
from oms.engine.alerts import alert, target_level
from oms.intake.events import iso
from oms.vocabulary import BUSY

if TYPE_CHECKING:
    from oms.engine.orders import OrderBook

__all__ = ["renew_passed_etr", "run"]


def renew_passed_etr(book: OrderBook, job: Job, now: datetime) -> None:
    """An ETR that passed without restoration is estimated again, with the
    reason recorded (an alert), and the customers told."""
    if job.etr is None or job.etr > now or job.stamps.get("restored") is not None:
        return
    passed, source = job.etr, job.etr_source
    job.etr = now + book.still_needed(job)
    job.etr_source = "renewed"
    book.dirty_jobs.add(job.id)
    why = "the crew's estimate passed" if source == "crew" else "the estimate passed"
    detail = {"was": iso(passed), "etr": iso(job.etr), "why": f"{why} ({job.state})"}
    book.alerts.append(alert(now, "etr_passed", "target", job, crew=job.crew, detail=detail))
    if book.outbox is not None and book.outbox.etr_moved(job.outage or "", job.etr):
        book.tell("etr_changed", job.outage, now, job.etr)


def run(book: OrderBook, now: datetime, visit: Collection[str] | None = None) -> None:
    """Warnings, breaches, acknowledgement timeouts and capacity as of ``now``.

    ``visit``: the jobs whose time may have come (:meth:`OrderBook.sync`
    returns them; None: every open job); jobs changed in the batch are
    looked at too. Each job looked at is then scheduled for its next
    time-driven change (:meth:`OrderBook.schedule`).

    O(jobs looked at + units x crews), in the order of the book.
    """
    _capacity(book, now)
    look = set(book.jobs) if visit is None else set(visit) | book.dirty_jobs
    jobs = book.jobs.values() if len(look) * 4 > len(book.jobs) else _in_order(book, look)
    for job in jobs:
        if not job.open or job.id not in look:
            continue
        _acknowledgement(book, job, now)
        renew_passed_etr(book, job, now)
        if job.next_check is not None and job.next_check > now and job.id not in book.dirty_jobs:
            continue
        before_b, before_w = set(job.breaches), dict(job.warnings)
        if job.evaluate(now):
            # A breach changes the job's card (late); a warning is news as an
            # alert, and a reader finds the job's warnings as of its time
            # (Job.evaluate), as it does its priority: not written for it.
            if set(job.breaches) != before_b:
                book.dirty_jobs.add(job.id)
            for b in job.breaches:
                if b not in before_b:
                    level = target_level(b)
                    book.alerts.append(alert(now, "breach", level, job, detail={"target": b}))
            for w, share in job.warnings.items():
                if before_w.get(w) != share:
                    detail = {"target": w, "share": share}
                    book.alerts.append(alert(now, "warning", "warning", job, detail=detail))
    book.schedule(look | book.dirty_jobs, now)


def _in_order(book: OrderBook, ids: Collection[str]) -> list[Job]:
    """The jobs of ``ids`` in the book's order (the order every job is looked at)."""
    return sorted((book.jobs[j] for j in ids if j in book.jobs), key=lambda j: book.order(j.id))


def _capacity(book: OrderBook, now: datetime) -> None:
    """Alarm for units that had no free crew for too much of the window."""
    from oms.dispatch.rules import on_shift

    window = book.config.capacity_window_s
    # Units whose zones have work waiting for a crew (O(jobs): only asked
    # about a unit with no crew free and none at work).
    owner = {c.zone: c.unit for c in book.crews.values() if c.zone}
    wanted = functools.cache(
        lambda: {owner.get(j.zone or "") for j in book.jobs.values() if j.state == "waiting"}
    )

    for unit_id, unit in book.units.items():
        crews = [c for c in book.crews.values() if c.unit == unit_id]
        if not crews:
            continue
        # Short of crews: none free, while some work or work waits (a
        # unit off shift with nothing to do is not short of anything).
        none_free = not any(
            c.status in ("available", "returning")
            and on_shift(c.view(None), now, book.config.rules.time_zone)
            for c in crews
        ) and (any(c.status in BUSY for c in crews) or unit_id in wanted())
        samples = book.capacity_samples.setdefault(unit_id, [])
        samples.append((now, none_free))
        while len(samples) > 1 and (now - samples[1][0]).total_seconds() >= window:
            samples.pop(0)
        # Time without a free crew: each sample holds until the next.
        busy = sum((b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(samples) if a[1])
        last = book.capacity_alarmed.get(unit_id)
        if busy > book.config.capacity_share * window and (
            last is None or (now - last).total_seconds() >= window
        ):
            book.capacity_alarmed[unit_id] = now
            # No free crew: the unit's next jobs will miss their targets.
            book.alerts.append(
                alert(
                    now,
                    "capacity",
                    "warning",
                    unit=unit_id,
                    contact=unit.get("leader") or unit["first_contact"],
                    detail={"busy_s": round(busy), "window_s": window},
                )
            )


def _acknowledgement(book: OrderBook, job: Job, now: datetime) -> None:
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
    steps = int((now - since).total_seconds() // book.config.ack_timeout_s)
    unit = book.units.get(job.unit or "")
    if unit is None and job.crew in book.crews:
        unit = book.units.get(book.crews[job.crew].unit or "")
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
        book.alerts.append(
            alert(
                since + timedelta(seconds=job.escalation * book.config.ack_timeout_s),
                "ack_timeout" if who == "sender" else "escalation",
                "target",
                job,
                crew=job.crew,
                contact=phone,
                detail={"waiting_for": hop[1], "notify": who},
            )
        )
        book.dirty_jobs.add(job.id)
