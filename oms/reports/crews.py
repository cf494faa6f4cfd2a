"""Work and hours of mutual-aid and contractor crews, per company.

What the utility owes each company for, and what it got: for every company
of the crews onboarded (``crew_add``, docs/mutual-aid.md), its crews,
people and vehicles, how many checked in and how many are still expected,
the hours its crews were on shift and on jobs, the jobs they restored and
the customers those jobs gave supply back to.

- **On shift**: from a crew's check-in (its onboarding, for a crew that was
  here already) until it reports ``off_shift`` (``crew_status``), again from
  a later ``available`` or ``returning``, and so on until the end of the
  period or the engine clock.
- **On jobs**: from each job's dispatch (D) to its close-out (or its
  cancellation, or now while it is open); jobs held at once count once. A
  job recalled from a crew is no longer that crew's (its stamps went with it).
- **Jobs done**: the crew's jobs restored in the period; **customers
  restored**: their outages' customers.

Hours are clipped to the period ``[start, end)`` and never run past the
engine clock. Read-only: the event log (``crew_status``), ``crews``,
``crew_state``, ``jobs`` and ``outages``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.intake.events import as_utc, iso
from oms.storage import schema

__all__ = ["GROUPINGS", "company_figures", "crews_report", "shift_spans", "union_hours"]

#: What the report groups crews by.
GROUPINGS = ("company",)

Span = tuple[datetime, datetime]


def shift_spans(
    checked_in: datetime | None,
    statuses: Iterable[tuple[datetime, str]],
    stop: datetime,
) -> list[Span]:
    """The spans a crew was on shift, from its check-in until ``stop``.

    Parameters
    ----------
    checked_in : datetime or None
        When it checked in (None: never; no spans).
    statuses : iterable of (time, status)
        Its ``crew_status`` reports, in time order: ``off_shift`` ends a
        span, ``available`` or ``returning`` starts one.
    stop : datetime
        Where an open span ends (the end of the period, or the engine clock).

    Returns
    -------
    list of (start, end)
        In time order, not overlapping. O(reports).
    """
    if checked_in is None or checked_in >= stop:
        return []
    spans: list[Span] = []
    since: datetime | None = checked_in
    for t, status in statuses:
        if t < checked_in or t >= stop:
            continue
        if status == "off_shift" and since is not None:
            if t > since:
                spans.append((since, t))
            since = None
        elif status != "off_shift" and since is None:
            since = t
    if since is not None:
        spans.append((since, stop))
    return spans


def union_hours(spans: Iterable[Span], start: datetime, stop: datetime) -> float:
    """Hours covered by ``spans`` inside ``[start, stop)``, overlaps counted once.

    O(n log n) for n spans.
    """
    clipped = sorted((max(a, start), min(b, stop)) for a, b in spans)
    seconds = 0.0
    end: datetime | None = None
    for a, b in clipped:
        if b <= a:
            continue
        if end is None or a >= end:
            seconds += (b - a).total_seconds()
            end = b
        elif b > end:
            seconds += (b - end).total_seconds()
            end = b
    return seconds / 3600


def company_figures(
    crews: Sequence[Mapping[str, Any]],
    jobs: Sequence[Mapping[str, Any]],
    customers: Mapping[str, int],
    start: datetime,
    stop: datetime,
) -> list[dict[str, Any]]:
    """The report's rows, one per company, by company name. Pure.

    Parameters
    ----------
    crews : sequence of mapping
        ``id``, ``company``, ``size``, ``vehicles``, ``expected`` (bool) and
        ``shift`` (its :func:`shift_spans`).
    jobs : sequence of mapping
        The crews' jobs: ``crew``, ``outage``, ``state``, ``stamps`` (times
        by key), ``updated_at``.
    customers : mapping
        Outage id -> customers it had out.
    start, stop : datetime
        The period (``stop`` no later than the engine clock).
    """
    by_crew: dict[str, list[Mapping[str, Any]]] = {}
    for job in jobs:
        by_crew.setdefault(job["crew"], []).append(job)
    rows: dict[str, dict[str, Any]] = {}
    for crew in sorted(crews, key=lambda c: c["id"]):
        row = rows.setdefault(
            crew["company"],
            {
                "company": crew["company"],
                "crews": 0,
                "people": 0,
                "vehicles": 0,
                "checked_in": 0,
                "expected": 0,
                "shift_hours": 0.0,
                "job_hours": 0.0,
                "jobs_done": 0,
                "customers_restored": 0,
                "crew_ids": [],
            },
        )
        row["crews"] += 1
        row["people"] += crew["size"] or 0
        row["vehicles"] += crew["vehicles"] or 0
        row["expected" if crew["expected"] else "checked_in"] += 1
        row["crew_ids"].append(crew["id"])
        row["shift_hours"] += union_hours(crew["shift"], start, stop)
        worked: list[Span] = []
        for job in by_crew.get(crew["id"], []):
            stamps = job["stamps"]
            dispatched = stamps.get("D")
            if dispatched is not None:
                ended = stamps.get("closed") or (
                    job["updated_at"] if job["state"] == "cancelled" else stop
                )
                worked.append((dispatched, ended))
            restored = stamps.get("restored")
            if restored is not None and start <= restored < stop:
                row["jobs_done"] += 1
                row["customers_restored"] += customers.get(job["outage"] or "", 0)
        row["job_hours"] += union_hours(worked, start, stop)
    out = [rows[name] for name in sorted(rows)]
    for row in out:
        row["shift_hours"] = round(row["shift_hours"], 2)
        row["job_hours"] = round(row["job_hours"], 2)
    return out


def crews_report(
    conn: Connection, start: datetime, end: datetime, now: datetime, by: str = "company"
) -> dict[str, Any]:
    """Mutual-aid and contractor crews' work and hours in ``[start, end)``, per company.

    Parameters
    ----------
    conn : Connection
    start, end : datetime
        The period; it never runs past ``now``.
    now : datetime
        The engine clock.
    by : str
        The grouping (:data:`GROUPINGS`: ``company``).

    Returns
    -------
    dict
        ``{"period": {"start", "end"}, "as_of", "by", "companies": [{"company",
        "crews", "people", "vehicles", "checked_in", "expected",
        "shift_hours", "job_hours", "jobs_done", "customers_restored",
        "crew_ids"}], "total": {...the same sums}}``. O(crews + their jobs
        + the log's ``crew_status`` events before the end).

    Raises
    ------
    ValueError
        An unknown grouping, or a period that ends before it starts.
    """
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
    if end < start:
        raise ValueError("the period ends before it starts")
    stop = min(end, now)
    c, s = schema.crews, schema.crew_state
    found = conn.execute(
        select(c.c.id, c.c.company, c.c.size, c.c.vehicles, c.c.arrival, s.c.checked_in)
        .select_from(c.outerjoin(s, s.c.crew == c.c.id))
        .where(c.c.company.is_not(None))
    ).all()
    ids = [r.id for r in found]
    wanted = set(ids)
    statuses: dict[str, list[tuple[datetime, str]]] = {}
    ev = schema.events
    for t, payload in conn.execute(
        select(ev.c.time, ev.c.payload)
        .where((ev.c.type == "crew_status") & (ev.c.time < stop))
        .order_by(ev.c.time, ev.c.seq)
    ):
        p = json.loads(payload)
        if p.get("crew") in wanted:
            statuses.setdefault(p["crew"], []).append((as_utc(t) or t, p["status"]))
    crews = []
    for r in found:
        checked_in = as_utc(r.checked_in)
        crews.append(
            {
                "id": r.id,
                "company": r.company,
                "size": r.size,
                "vehicles": r.vehicles,
                "expected": r.arrival is not None and checked_in is None,
                "shift": shift_spans(checked_in, statuses.get(r.id, []), stop),
            }
        )
    j, o = schema.jobs, schema.outages
    jobs = []
    outages: set[str] = set()
    for row in conn.execute(
        select(j.c.crew, j.c.outage, j.c.state, j.c.stamps, j.c.updated_at).where(j.c.crew.in_(ids))
    ):
        stamps = {k: datetime.fromisoformat(v) for k, v in (row.stamps or {}).items() if v}
        jobs.append(
            {
                "crew": row.crew,
                "outage": row.outage,
                "state": row.state,
                "stamps": stamps,
                "updated_at": as_utc(row.updated_at),
            }
        )
        if row.outage:
            outages.add(row.outage)
    customers = {
        oid: int(n or 0)
        for oid, n in conn.execute(
            select(o.c.id, o.c.customers_out).where(o.c.id.in_(sorted(outages)))
        )
    }
    companies = company_figures(crews, jobs, customers, start, stop)
    keys = ("crews", "people", "vehicles", "checked_in", "expected", "jobs_done")
    total: dict[str, Any] = {k: sum(row[k] for row in companies) for k in keys}
    total["customers_restored"] = sum(row["customers_restored"] for row in companies)
    for k in ("shift_hours", "job_hours"):
        total[k] = round(sum(row[k] for row in companies), 2)
    return {
        "period": {"start": iso(start), "end": iso(end)},
        "as_of": iso(now),
        "by": by,
        "companies": companies,
        "total": total,
    }
