"""Alerts: what the dispatcher's alarm list and a crew's handheld are told.

Every alert has one of four levels; three alarm as the source documents ask
(a warning before a target is reached, the target reached, a breach of the
standard), and ``info`` tells the rest:

===========  ==============================================================
``warning``  a target will be missed unless someone acts: an open target
             past 50% or 75% of its limit; a unit with no free crew for
             most of the capacity window
``target``   a target was reached: a segment's limit passed (owned by the
             call centre, the repair centre or the crew), an order not
             taken up within its hop's limit (and each escalation), an
             ETR that passed without restoration
``breach``   the standard is breached: the public commitment from report
             to arrival (45, 90, 120 minutes), or to restoration; a burst
             of refused requests (a security breach)
``info``     what a dispatcher or crew should know: a job redirected,
             cancelled or recalled, automatic dispatch switched
===========  ==============================================================

A dispatcher acknowledges alerts with an ``alert_ack`` event (who and when
are stored on each alert; the event log is the audit).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from oms.dispatch.jobs import Job
from oms.intake.events import Event

if TYPE_CHECKING:
    from oms.engine.orders import OrderBook

__all__ = ["LEVELS", "STANDARD", "acknowledge", "alert", "target_level"]

#: Alert levels, least urgent first.
LEVELS = ("info", "warning", "target", "breach")
#: Targets that are the public commitment: passing one breaches the standard.
STANDARD = frozenset({"arrival", "restoration"})


def target_level(target: str) -> str:
    """The level of a passed target: ``breach`` for the standard, else ``target``."""
    return "breach" if target in STANDARD else "target"


def alert(
    time: datetime,
    kind: str,
    level: str,
    job: Job | None = None,
    *,
    crew: str | None = None,
    unit: str | None = None,
    contact: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``alerts`` row (the repository adds its ``seq`` when it writes it)."""
    assert level in LEVELS, level
    return {
        "time": time,
        "kind": kind,
        "level": level,
        "job": job.id if job else None,
        "crew": crew,
        "unit": job.unit if job else unit,
        "zone": job.zone if job else None,
        "contact": contact,
        "detail": detail or {},
    }


def acknowledge(book: OrderBook, event: Event) -> None:
    """An ``alert_ack`` event: its alerts are acknowledged by its user at its time.

    The alerts live in the database, not in the book: the repository marks
    those not acknowledged before (the first acknowledgement stands) and
    the live feed says which.
    """
    p = event.payload
    ids = sorted({int(i) for i in p["alerts"]})
    book.acks.append({"alerts": ids, "by": p.get("user") or "system", "at": event.time})
