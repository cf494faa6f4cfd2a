"""Reports: IEEE 1366 reliability indices, response-target compliance, the daily bulletin.

Indices over a period (IEEE 1366-2012), from the outages recorded:

- sustained interruptions: network outages (not momentary, not cancelled),
  each interrupting the customers it cut off (``customers_out``: nested
  outages count their own customers) for ``restored - started`` (up to the
  end of the period while still out); single-customer outages count one
  customer each; switching interruptions (customers cut off by commanded
  switching) count like network outages, and as momentary when supply was
  back within five minutes; the bulletin counts them apart; a switching
  record that continues a fault's interruption (customers the operator kept
  out after the fault was restored around them, ``revealed_by`` the fault)
  adds its customer minutes, not another interruption;
- planned interruptions (``planned`` records: the switching of a planned
  outage) are reported apart (``planned``), not in ``all``: IEEE 1366 and
  regulators count planned and unplanned interruptions separately;
- SAIFI = customers interrupted / customers served; SAIDI = customer
  minutes / customers served; CAIDI = SAIDI / SAIFI; CAIFI = customers
  interrupted / distinct customers interrupted; MAIFI = customer momentary
  interruptions / customers served; ASAI = 1 - SAIDI / minutes in the
  period; CEMI-n = share of customers with more than n sustained
  interruptions.
- Major event days: with at least ``med_min_days`` days of history, a day
  whose SAIDI exceeds T_MED = exp(alpha + 2.5 beta) (alpha, beta: mean and
  standard deviation of the log of the non-zero daily SAIDI values) is a
  major event day; its interruptions are reported apart.

Per-customer counts (CAIFI, CEMI) need who was under each outage's device:
computed on the stored network in its normal state.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.config import PredictionParams
from oms.dispatch.jobs import Job
from oms.dispatch.timeline import SEGMENT_OWNER, SEGMENTS, evaluate
from oms.outages import Outage, list_outages
from oms.storage import schema
from oms.storage.loading import customers_below, stored_network

__all__ = ["bulletin", "compliance", "from_sums", "indices", "major_event_days", "to_csv"]

#: A day: a date, or its ISO string.
K = TypeVar("K", date, str)

#: IEEE 1366: an interruption shorter than this is momentary (the engine's default).
MOMENTARY_S = PredictionParams.momentary_s


def _network(conn: Connection) -> tuple[int, Any]:
    _, net = stored_network(conn)
    return int(net.node_customers.sum()), net


def _units_under(net: Any, device: str | None, customer: str | None) -> np.ndarray:
    if customer is not None:
        if net.customers is not None and customer in net.customers.index:
            return np.array([net.customers.index[customer]])
        return np.empty(0, dtype=np.int64)
    return customers_below(net, device or "")


def _clip_minutes(o: Outage, start: datetime, end: datetime) -> float:
    a = max(o.started, start)
    b = min(o.restored or end, end)
    return max((b - a).total_seconds() / 60.0, 0.0)


def indices(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    cemi_n: int = 3,
    med_min_days: int = 30,
) -> dict[str, Any]:
    """The IEEE 1366 indices for outages starting in [start, end).

    Returns ``{"period", "customers_served", "all": {...}, "excluding_med":
    {...} or None, "planned": {...}, "major_event_days": [...],
    "t_med_minutes", "daily_saidi": {day: minutes}}``: ``all`` and the
    major event days are over unplanned interruptions, ``planned`` over the
    planned ones.
    O(outages x customers under them).
    """
    served, net = _network(conn)
    recorded = [
        o for o in list_outages(conn) if start <= o.started < end and o.state != "cancelled"
    ]
    outages = [o for o in recorded if o.kind != "planned"]
    planned = [o for o in recorded if o.kind == "planned"]
    daily: dict[date, float] = defaultdict(float)
    for o in outages:
        if not _momentary(o):
            daily[o.started.date()] += (
                o.customers_out * _clip_minutes(o, start, end) / max(served, 1)
            )
    days, t_med = major_event_days(daily, med_min_days)
    med_days = [d.isoformat() for d in days]
    everything = _indices(net, served, outages, start, end, cemi_n)
    kept = [o for o in outages if o.started.date().isoformat() not in med_days]
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "customers_served": served,
        "all": everything,
        "excluding_med": _indices(net, served, kept, start, end, cemi_n) if med_days else None,
        "planned": _indices(net, served, planned, start, end, cemi_n),
        "major_event_days": med_days,
        "t_med_minutes": None if t_med is None else round(t_med * 1.0, 3),
        "daily_saidi": {d.isoformat(): round(v, 4) for d, v in sorted(daily.items())},
    }


def _momentary(o: Outage) -> bool:
    """A momentary interruption (IEEE 1366: under five minutes)."""
    if o.kind == "momentary":
        return True
    return (
        o.kind in ("switching", "planned")
        and o.restored is not None
        and (o.restored - o.started).total_seconds() < MOMENTARY_S
    )


def _indices(
    net: Any, served: int, outages: Iterable[Outage], start: datetime, end: datetime, cemi_n: int
) -> dict[str, Any]:
    interrupted = 0
    minutes = 0.0
    momentary = 0
    per_customer: Counter[int] = Counter()
    events = 0
    for o in outages:
        if _momentary(o):
            momentary += o.customers_out
            continue
        if o.kind == "switching" and o.revealed_by is not None:
            # The fault's interruption going on: its minutes, not another interruption.
            minutes += o.customers_out * _clip_minutes(o, start, end)
            continue
        events += 1
        interrupted += o.customers_out
        minutes += o.customers_out * _clip_minutes(o, start, end)
        for u in _units_under(
            net, o.device, o.customer if o.kind == "single_customer" else None
        ).tolist():
            per_customer[u] += 1
    return from_sums(
        interruptions=events,
        interrupted=interrupted,
        customer_minutes=minutes,
        momentary=momentary,
        distinct=len(per_customer),
        over_n=sum(1 for c in per_customer.values() if c > cemi_n),
        served=served,
        period_min=(end - start).total_seconds() / 60.0,
        cemi_n=cemi_n,
    )


def from_sums(
    *,
    interruptions: int,
    interrupted: int,
    customer_minutes: float,
    momentary: float,
    distinct: float,
    over_n: float,
    served: int,
    period_min: float,
    cemi_n: int,
) -> dict[str, Any]:
    """The IEEE 1366 indices from their sums: sustained interruptions,
    customers interrupted and customer minutes, momentary customer
    interruptions, distinct customers interrupted, customers interrupted more
    than ``cemi_n`` times, over ``served`` customers and a period of
    ``period_min`` minutes (one data set's, or several regions' added up). O(1)."""
    n = max(served, 1)
    saifi = interrupted / n
    saidi = customer_minutes / n
    return {
        "interruptions": interruptions,
        "customers_interrupted": interrupted,
        "customer_minutes": round(customer_minutes, 1),
        "SAIFI": round(saifi, 5),
        "SAIDI": round(saidi, 3),
        "CAIDI": round(saidi / saifi, 3) if saifi else None,
        "CAIFI": round(interrupted / distinct, 5) if distinct else None,
        "MAIFI": round(momentary / n, 5),
        "ASAI": round(1 - saidi / period_min, 7) if period_min > 0 else None,
        f"CEMI-{cemi_n}": round(over_n / n, 6),
    }


def major_event_days(daily: Mapping[K, float], med_min_days: int) -> tuple[list[K], float | None]:
    """IEEE 1366's 2.5 beta rule: the days whose SAIDI exceeds
    T_MED = exp(alpha + 2.5 beta) over the days with interruptions (none
    before ``med_min_days`` of them), sorted, and T_MED. O(days log days)."""
    history = [v for v in daily.values() if v > 0]
    if len(history) < med_min_days:
        return [], None
    logs = np.log(history)
    t_med = float(math.exp(logs.mean() + 2.5 * logs.std()))
    return sorted(d for d, v in daily.items() if v > t_med), t_med


def _jobs(conn: Connection, start: datetime, end: datetime) -> list[Job]:
    rows = conn.execute(select(schema.jobs)).mappings()
    out = []
    for r in rows:
        job = Job.from_row(dict(r))
        a = job.stamps.get("A")
        if a is not None and start <= a < end and job.state != "cancelled":
            out.append(job)
    return out


def compliance(conn: Connection, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Response-target compliance of jobs reported in [start, end).

    Per segment (met / breached, and to whom breaches are attributed), and
    arrival within target per area class, unit and crew.
    """
    jobs = _jobs(conn, start, end)
    counts = {s: {"met": 0, "breached": 0} for s in SEGMENTS}
    groups: dict[str, dict[str, dict[str, int]]] = {"area_class": {}, "unit": {}, "crew": {}}
    arrival_minutes = []
    for job in jobs:
        status = evaluate(job.stamps, job.targets, now)
        for seg in SEGMENTS:
            if job.stamps.get(seg[0]) is None:
                continue
            if seg in status.breaches:
                counts[seg]["breached"] += 1
            elif job.stamps.get(seg[1]) is not None:
                counts[seg]["met"] += 1
        if job.stamps.get("H") is None and "arrival" not in status.breaches:
            continue  # still within its arrival target
        on_time = "arrival" not in status.breaches
        a, h = job.stamps.get("A"), job.stamps.get("H")
        if a is not None and h is not None:
            arrival_minutes.append((h - a).total_seconds() / 60)
        for name, key in (("area_class", job.area_class), ("unit", job.unit), ("crew", job.crew)):
            g = groups[name].setdefault(key or "none", {"on_time": 0, "late": 0})
            g["on_time" if on_time else "late"] += 1
    arrivals = sorted(arrival_minutes)
    segments = {s: {**c, "owner": SEGMENT_OWNER[s]} for s, c in counts.items()}
    return {
        "jobs": len(jobs),
        "segments": segments,
        "arrival": {
            name: {
                k: {**v, "share_on_time": round(v["on_time"] / max(v["on_time"] + v["late"], 1), 4)}
                for k, v in g.items()
            }
            for name, g in groups.items()
        },
        "arrival_minutes": {
            "mean": round(float(np.mean(arrivals)), 1) if arrivals else None,
            "p90": round(float(np.percentile(arrivals, 90)), 1) if arrivals else None,
            "n": len(arrivals),
        },
    }


def bulletin(conn: Connection, day: date, now: datetime) -> dict[str, Any]:
    """The daily fault bulletin: the day's outages, jobs, breaches and indices."""
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    end = start + timedelta(days=1)
    outages = [o for o in list_outages(conn) if start <= o.started < end]
    by_kind = Counter(o.kind for o in outages)
    worst = sorted(
        (o for o in outages if o.kind == "network"),
        key=lambda o: -o.customers_out * _clip_minutes(o, start, end),
    )[:10]
    return {
        "day": day.isoformat(),
        "outages": dict(by_kind),
        "customers_interrupted": sum(o.customers_out for o in outages if not _momentary(o)),
        "critical_customers_interrupted": sum(o.critical_out for o in outages if not _momentary(o)),
        "hazards": sum(1 for o in outages if o.hazard),
        "still_out": sum(1 for o in outages if o.active),
        "worst": [
            {
                "id": o.id,
                "device": o.device,
                "customers_out": o.customers_out,
                "minutes": round(_clip_minutes(o, start, min(end, now)), 1),
            }
            for o in worst
        ],
        "indices": indices(conn, start, end)["all"],
        "response": compliance(conn, start, end, now),
    }


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows of flat dicts as CSV text (nested values as JSON)."""
    import json

    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()}
        )
    return buf.getvalue()
