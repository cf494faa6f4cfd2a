"""Choosing crews: the rules, their alternatives, batches, and travel times vs brute force."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import networkx as nx
import numpy as np
import pytest

from oms.dispatch.roads import RoadGraph, geodesic_m
from oms.dispatch.rules import CrewView, DispatchRules, JobView, assign_batch, on_shift, suggest

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def crew(cid: str, lon: float, lat: float, **kw: object) -> CrewView:
    defaults: dict[str, object] = {
        "unit": "U1",
        "zone": None,
        "skills": ("line",),
        "voltage_kv": (0.4, 10.0),
        "gps_time": NOW - timedelta(minutes=1),
    }
    defaults.update(kw)
    return CrewView(cid, lon=lon, lat=lat, **defaults)  # type: ignore[arg-type]


JOB = JobView("J1", 8.40, 49.00, "Z1", ("line",), 10.0, priority=50.0)


def test_zone_crew_first_even_if_farther() -> None:
    crews = [crew("near", 8.401, 49.0), crew("owner", 8.45, 49.0, zone="Z1")]
    d = suggest(JOB, crews, NOW)
    assert (d.crew, d.rule) == ("owner", "zone")
    assert d.alternatives == [
        {"crew": "near", "eta_s": pytest.approx(d.alternatives[0]["eta_s"]), "why_not": "farther"}
    ]


def test_nearest_qualified_on_shift_fresh_crew() -> None:
    crews = [
        crew("owner-busy", 8.40, 49.0, zone="Z1", status="on_site", job_priority=10.0),
        crew("unqualified", 8.4001, 49.0, skills=("tree",)),
        crew("asleep", 8.4002, 49.0, shift_start="22:00", shift_end="06:00"),
        crew("lost", 8.4003, 49.0, gps_time=NOW - timedelta(hours=2)),
        crew("far", 8.50, 49.0),
        crew("near", 8.42, 49.0),
    ]
    d = suggest(JOB, crews, NOW)
    assert (d.crew, d.rule) == ("near", "nearest")
    why = {a["crew"]: a["why_not"] for a in d.alternatives}
    assert why == {
        "owner-busy": "busy",
        "unqualified": "unqualified",
        "asleep": "off_shift",
        "lost": "stale_gps",
        "far": "farther",
    }


def test_preemption_never_takes_a_crew_on_site() -> None:
    crews = [
        crew("on-site", 8.40, 49.0, status="on_site", job_priority=0.0),
        crew("driving", 8.45, 49.0, status="en_route", job_priority=10.0),
    ]
    d = suggest(JOB, crews, NOW)
    assert (d.crew, d.rule) == ("driving", "preempt")
    assert suggest(JOB, crews, NOW, rules=DispatchRules(preempt=False)).rule == "none"
    urgent = JobView("J2", 8.4, 49.0, None, ("line",), 10.0, priority=15.0)
    assert suggest(urgent, crews, NOW).crew is None  # not 20 points more urgent


def test_shifts_past_midnight() -> None:
    night = crew("n", 0, 0, shift_start="20:00", shift_end="08:00")
    assert on_shift(night, NOW.replace(hour=23))
    assert on_shift(night, NOW.replace(hour=3))
    assert not on_shift(night, NOW.replace(hour=12))


def grid_roads(n: int = 6, seed: int = 0) -> tuple[RoadGraph, nx.DiGraph, np.ndarray]:
    """A jittered grid of roads with random speeds and a few one-way streets."""
    rng = np.random.default_rng(seed)
    xy = np.array(
        [
            [8.4 + 0.01 * i + rng.normal(0, 0.001), 49.0 + 0.008 * j]
            for i in range(n)
            for j in range(n)
        ]
    )
    features = []
    for i, j in itertools.product(range(n), range(n)):
        for di, dj in ((1, 0), (0, 1)):
            if i + di < n and j + dj < n:
                a, b = i * n + j, (i + di) * n + j + dj
                features.append(
                    {
                        "type": "Feature",
                        "properties": {
                            "speed_kmh": float(rng.choice([30, 50, 80])),
                            "oneway": bool(rng.random() < 0.2),
                        },
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [xy[a].tolist(), xy[b].tolist()],
                        },
                    }
                )
    roads = RoadGraph.from_features(features)
    g = nx.DiGraph()
    for f in features:
        (x1, y1), (x2, y2) = f["geometry"]["coordinates"]
        secs = float(geodesic_m(x1, y1, x2, y2)) / (f["properties"]["speed_kmh"] / 3.6)
        g.add_edge((x1, y1), (x2, y2), weight=secs)
        if not f["properties"]["oneway"]:
            g.add_edge((x2, y2), (x1, y1), weight=secs)
    return roads, g, xy


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_travel_times_match_brute_force(seed: int) -> None:
    roads, g, xy = grid_roads(seed=seed)
    target = xy[seed * 5 + 3]
    origins = xy[[0, 7, 14, 35]]
    got = roads.times_to(target, origins)
    for k, o in enumerate(origins):
        try:
            want = nx.dijkstra_path_length(g, tuple(o), tuple(target))
        except nx.NetworkXNoPath:
            want = np.inf
        assert got[k] == pytest.approx(want, rel=1e-4)  # coordinates are kept to 1e-7 degree
    matrix = roads.times_matrix(xy[[3, 20]], origins)
    assert matrix[0] == pytest.approx(roads.times_to(xy[3], origins))


def test_nearest_choice_matches_brute_force_over_roads() -> None:
    roads, g, xy = grid_roads(n=8, seed=4)
    rng = np.random.default_rng(9)
    for _ in range(5):
        spots = xy[rng.choice(len(xy), 6, replace=False)]
        crews = [crew(f"c{k}", *spots[k]) for k in range(5)]
        job = JobView("J", *spots[5], None, ("line",), 10.0, 1.0)
        d = suggest(job, crews, NOW, roads=roads)
        brute = {}
        for c in crews:
            try:
                brute[c.id] = nx.dijkstra_path_length(g, (c.lon, c.lat), (job.lon, job.lat))
            except nx.NetworkXNoPath:
                brute[c.id] = np.inf
        assert d.crew == min(brute, key=brute.__getitem__)


def test_batch_gives_each_crew_at_most_one_job_by_priority() -> None:
    crews = [crew("a", 8.40, 49.0), crew("b", 8.50, 49.0)]
    jobs = [
        JobView("low", 8.40, 49.0, None, ("line",), 10.0, priority=1.0),
        JobView("high", 8.41, 49.0, None, ("line",), 10.0, priority=90.0),
        JobView("mid", 8.50, 49.0, None, ("line",), 10.0, priority=50.0),
    ]
    decisions = {d.job: d for d in assign_batch(jobs, crews, NOW)}
    assert decisions["high"].crew == "a"
    assert decisions["mid"].crew == "b"
    assert decisions["low"].crew is None
    assert len({d.crew for d in decisions.values() if d.crew}) == 2


def test_times_matrix_from_either_side() -> None:
    roads, _, xy = grid_roads(seed=3)
    targets, origins = xy[[3, 20, 30]], xy[[1, 11]]
    matrix = roads.times_matrix(targets, origins)  # searches from the two origins
    for k, t in enumerate(targets):
        assert matrix[k] == pytest.approx(roads.times_to(t, origins))
