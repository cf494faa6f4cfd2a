"""Storm mode: the storm room's switch over dispatch and ETR policy. No I/O.

A ``storm_mode`` event (the dispatcher's) turns storm mode on or off, or
changes its settings while on:

- ``dispatch``: ``suggest`` (nothing is sent without the dispatcher: the
  rules only suggest), ``batch`` (waiting jobs are assigned together, every
  time, by :func:`oms.dispatch.rules.assign_batch`) or ``automatic`` (one by
  one as they come, batches beyond ``storm_batch``). Off again, automatic
  dispatch is as it was before the storm.
- ``etr``: a global storm ETR, and ``zone_etrs`` per response zone (a zone's
  wins over the global one). Where the storm's ETR is later than a job's own
  estimate from history, the storm's is given (a crew's own estimate from
  the site stands); customers are told as for any ETR change.

The state lives in the order book's modes (``modes["storm"]``, stored with
them), so every process and every page reads the same. Each change is an
``info`` alert with who changed what, and is in the event log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oms.engine.alerts import alert
from oms.exceptions import ActionError, EventError
from oms.intake.events import iso, parse_time

if TYPE_CHECKING:
    from oms.dispatch.jobs import Job
    from oms.engine.orders import OrderBook

__all__ = ["DISPATCH_POLICIES", "apply_storm_mode", "storm", "storm_etr"]

DISPATCH_POLICIES = ("suggest", "batch", "automatic")


def storm(book: OrderBook) -> dict[str, Any] | None:
    """The storm mode's settings while on, else None."""
    state = book.modes.get("storm")
    return state if isinstance(state, dict) and state.get("on") else None


def apply_storm_mode(book: OrderBook, p: Mapping[str, Any], now: datetime, actor: str) -> None:
    """Turn storm mode on or off, or change its settings.

    Raises
    ------
    ActionError
        A setting that is not one (unknown policy or zone, a time that does
        not parse); nothing changed.
    """
    on = p.get("on")
    if not isinstance(on, bool):
        raise ActionError("on must be true or false")
    before = storm(book)
    if not on:
        if before is None:
            raise ActionError("storm mode is not on")
        book.modes["global"] = before.get("dispatch_before")
        book.modes["storm"] = {"on": False, "ended": iso(now), "by": actor}
        _changed(book, now, actor, {"on": False, "reason": p.get("reason")})
        return
    policy = p.get("dispatch", (before or {}).get("dispatch", "suggest"))
    if policy not in DISPATCH_POLICIES:
        raise ActionError(f"dispatch must be one of {', '.join(DISPATCH_POLICIES)}")
    etr = _time(p.get("etr"), "etr") if "etr" in p else (before or {}).get("etr")
    zones = dict((before or {}).get("zone_etrs", {}))
    raw = p.get("zone_etrs") or {}
    if not isinstance(raw, Mapping):
        raise ActionError("zone_etrs must map zone ids to times (or null to drop one)")
    for zone, when in raw.items():
        if zone not in {r["id"] for r in book.zones.rows}:
            raise ActionError(f"zone_etrs: unknown zone {zone!r}")
        if when is None:
            zones.pop(zone, None)
        else:
            zones[zone] = _time(when, f"zone_etrs.{zone}")
    state = {
        "on": True,
        "since": (before or {}).get("since", iso(now)),
        "started_by": (before or {}).get("started_by", actor),
        "by": actor,
        "reason": p.get("reason") or (before or {}).get("reason"),
        "dispatch": policy,
        "etr": etr,
        "zone_etrs": zones,
        # What automatic dispatch was before the storm, put back after it.
        "dispatch_before": (before or {}).get("dispatch_before", book.modes.get("global")),
    }
    book.modes["storm"] = state
    book.modes["global"] = policy != "suggest"
    _changed(book, now, actor, {k: v for k, v in state.items() if k != "dispatch_before"})


def _time(value: Any, field: str) -> str | None:
    if value is None:
        return None
    try:
        return iso(parse_time(value, field))
    except EventError as exc:
        raise ActionError(str(exc)) from None


def _changed(book: OrderBook, now: datetime, actor: str, detail: dict[str, Any]) -> None:
    book.modes_changed = True
    book.alerts.append(alert(now, "storm_mode", "info", None, detail={**detail, "by": actor}))


def storm_etr(book: OrderBook, job: Job) -> datetime | None:
    """The storm's ETR for ``job`` (its zone's, else the global one), or None."""
    state = storm(book)
    if state is None:
        return None
    when = state.get("zone_etrs", {}).get(job.zone or "") or state.get("etr")
    return parse_time(when) if when else None
