"""Simulated crews: what a crew's handheld would send once the engine dispatches it.

Used by :func:`oms.replay.replay` to drive a storm end to end: for every job
the engine dispatches, the crew confirms delivery after a few seconds,
accepts after a realistic delay (lognormal, median 1 minute), departs
(median 1.5 minutes later), drives to the job over the road graph (travel
time times 1.0-1.3 for traffic and finding the spot), reports its position
on arrival, makes the site safe (5-15 minutes), repairs (lognormal, median
``repair_median_min``), restores supply and closes the job with the
close-out form ten minutes later. A crew recalled or diverted meanwhile
sends what it had planned anyway; the engine rejects those steps, as it
would a real handheld's.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from oms.dispatch import DispatchRules, travel_times
from oms.engine import OutageEngine

__all__ = ["CrewSimulator"]


class CrewSimulator:
    """Schedules crew events for jobs the engine has dispatched."""

    def __init__(
        self, seed: int = 0, repair_median_min: float = 45.0, truth: dict[str, Any] | None = None
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.repair_median_min = repair_median_min
        self.seen: set[tuple[str, str, datetime]] = set()
        self.count = 0
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
        """Events for newly dispatched jobs, each at its own future time."""
        out: list[dict[str, Any]] = []
        book = engine.book
        for job in book.jobs.values():
            d = job.stamps.get("D")
            if job.state != "dispatched" or job.crew is None or d is None:
                continue
            key = (job.id, job.crew, d)
            if key in self.seen:
                continue
            self.seen.add(key)
            crew = book.crews[job.crew]
            eta = float(travel_times(job.view(), [crew.view(None)], book.roads, DispatchRules())[0])
            if not math.isfinite(eta):
                continue
            t = d + timedelta(seconds=float(self.rng.uniform(3, 20)))
            steps: list[tuple[str, datetime, dict[str, Any]]] = [("job_delivered", t, {})]
            t += timedelta(seconds=self._lognormal(60))
            steps.append(("job_accept", t, {}))
            t += timedelta(seconds=self._lognormal(90))
            steps.append(("job_depart", t, {}))
            t += timedelta(seconds=eta * float(self.rng.uniform(1.0, 1.3)))
            steps.append(("crew_gps", t, {"lon": job.lon, "lat": job.lat}))
            steps.append(("job_arrive", t, {}))
            t += timedelta(minutes=float(self.rng.uniform(5, 15)))
            steps.append(("job_made_safe", t, {}))
            t += timedelta(seconds=self._lognormal(self.repair_median_min * 60))
            fault = job.device if job.kind == "network" else f"customer:{job.customer}"
            truth = self._truth_restore(fault or "", d)
            if truth is not None:
                t = max(t, truth - timedelta(minutes=2))
            steps.append(("job_repaired", t, {}))
            t += timedelta(minutes=2)
            steps.append(("job_restored", t, {}))
            start = job.stamps.get("A") or d
            t += timedelta(minutes=10)
            closeout = {
                "cause": "storm damage",
                "equipment": job.device or "service drop",
                "actions": "repaired and re-energized",
                "outage_start": start.isoformat(),
                "outage_end": (t - timedelta(minutes=10)).isoformat(),
            }
            steps.append(("job_close", t, {"closeout": closeout}))
            for etype, when, extra in steps:
                self.count += 1
                event: dict[str, Any] = {
                    "id": f"crew-{self.count}",
                    "type": etype,
                    "time": when.isoformat(),
                    "crew": job.crew,
                    **extra,
                }
                if etype != "crew_gps":
                    event["job"] = job.id
                out.append(event)
        return out
