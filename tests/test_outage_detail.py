"""The outage panel's data: ``GET /api/outages/<id>/detail`` (SQLite and PostgreSQL).

On the two-feeder network of ``helpers``: two customers below fuse F1 call
(a9-1 behind it is on life support), their meters gasp, and later breaker
B1 locks out, so the fuse's outage is nested in the breaker's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, Clock, User
from emergency_plans import PLAN, PLANNED, load_plans
from flask import Flask
from test_api import ev, ok, outage_at

BELOW_FUSE = [f"a9-{k}" for k in range(1, 6)]


@pytest.fixture
def storm(dora: User, clock: Clock) -> dict[str, str]:
    """The fuse's outage (calls and gasps at a9), then B1's lockout above it."""
    events = [
        ev("c1", "call", 0, customer="a9-2", hazard="wire_down"),
        ev("c2", "call", 20, customer="a9-3", note="sparks at the pole"),
        *(ev(f"g{i}", "ami_last_gasp", 25, customer=c) for i, c in enumerate(BELOW_FUSE)),
    ]
    ok(dora.post("/api/events", json=events))
    later = [
        ev("s1", "scada", 3000, device="B1", state="open", lockout=True),
        ev("f1", "fci", 3002, device="L3", fault=True),
        ev("c3", "call", 3100, customer="a4-1"),
    ]
    ok(dora.post("/api/events", json=later))
    clock.now = T0 + timedelta(seconds=3200)
    return {"fuse": outage_at(dora, "F1")["id"], "breaker": outage_at(dora, "B1")["id"]}


def detail(user: User, outage_id: str, query: str = "") -> dict[str, Any]:
    found: dict[str, Any] = ok(user.get(f"/api/outages/{outage_id}/detail{query}"))
    return found


def test_a_nested_outage_lists_its_own_customers_critical_first(
    dora: User, storm: dict[str, str]
) -> None:
    d = detail(dora, storm["fuse"])
    assert d["outage"]["id"] == storm["fuse"] and d["outage"]["device"] == "F1"
    out = d["customers"]
    assert out["total"] == d["outage"]["customers_out"] == 5
    assert out["critical"] == d["outage"]["critical_out"] == 1
    assert [c["id"] for c in out["listed"]] == ["a9-1", "a9-2", "a9-3", "a9-4", "a9-5"]
    first = out["listed"][0]
    assert (first["critical"], first["name"], first["called"]) == (
        "life_support",
        "Customer a9-1",
        False,
    )
    assert [c["called"] for c in out["listed"][1:3]] == [True, True]  # the callers next
    # The breaker's outage counts the fuse's customers once, under the fuse.
    above = detail(dora, storm["breaker"])["customers"]
    assert above["total"] == outage_at(dora, "B1")["customers_out"] == 22
    assert above["critical"] == 0 and not {c["id"] for c in above["listed"]} & set(BELOW_FUSE)


def test_critical_customers_come_with_their_emergency_plan(
    app: Flask, dora: User, storm: dict[str, str], tmp_path: Path
) -> None:
    listed = detail(dora, storm["fuse"])["customers"]["listed"]
    assert listed[0]["id"] == PLANNED and listed[0]["emergency_plan"] is None  # none on file
    load_plans(app, tmp_path)  # the customers file now gives a9-1 a plan
    listed = detail(dora, storm["fuse"])["customers"]["listed"]
    assert [(c["id"], c["emergency_plan"]) for c in listed[:2]] == [(PLANNED, PLAN), ("a9-2", None)]


def test_calls_with_times_callers_and_what_they_said(dora: User, storm: dict[str, str]) -> None:
    calls = detail(dora, storm["fuse"])["calls"]
    assert [(c["customer"], c["time"]) for c in calls] == [
        ("a9-2", T0.isoformat()),
        ("a9-3", (T0 + timedelta(seconds=20)).isoformat()),
    ]
    assert calls[0]["hazard"] == "wire_down" and calls[1]["note"] == "sparks at the pole"
    assert calls[0]["name"] == "Customer a9-2" and calls[0]["power"] == "off"
    assert [c["customer"] for c in detail(dora, storm["breaker"])["calls"]] == ["a4-1"]


def test_the_evidence_timeline(dora: User, storm: dict[str, str]) -> None:
    fuse = detail(dora, storm["fuse"])["timeline"]
    gasps = [e for e in fuse if e["type"] == "ami_last_gasp"]
    assert len(gasps) == 1 and gasps[0]["count"] == 5  # one run of five meters
    assert [e["type"] for e in fuse[:2]] == ["call", "call"]  # the calls that located it
    predict = next(e for e in fuse if e["type"] == "action")
    assert predict["detail"]["action"] == "predict" and predict["actor"] == "system"
    assert predict["device"] == "F1"
    times = [e["time"] for e in fuse]
    assert times == sorted(times)
    breaker = detail(dora, storm["breaker"])["timeline"]
    scada = next(e for e in breaker if e["type"] == "scada")
    assert scada["device"] == "B1" and scada["detail"] == {"state": "open", "lockout": True}
    fci = next(e for e in breaker if e["type"] == "fci")
    assert fci["device"] == "L3" and fci["detail"] == {"fault": True}
    assert not any(e["type"] == "ami_last_gasp" for e in breaker)  # those were the fuse's


def test_jobs_with_stamps_etr_history_and_the_dispatchers_actions(
    dora: User, storm: dict[str, str]
) -> None:
    fuse = storm["fuse"]
    ok(dora.post(f"/api/outages/{fuse}/confirm", json={"reason": "fuse seen blown"}))
    d = detail(dora, fuse)
    (job,) = d["jobs"]
    assert job["outage"] == fuse and job["stamps"]["A"] is not None
    assert set(job["stamps"]) >= set("ABCDEFGH")
    assert d["etr_history"] and all(e["etr"] for e in d["etr_history"])
    assert d["etr_history"][0]["source"] == "history"
    confirm = [a for a in d["audit"] if a["action"] == "confirm"]
    assert [(a["actor"], a["reason"]) for a in confirm] == [("dora", "fuse seen blown")]
    actions = [e for e in d["timeline"] if e["type"] == "action"]
    assert ("dora", "confirm") in [(e["actor"], e["detail"]["action"]) for e in actions]
    assert any(e["type"] == "dispatch" for e in d["timeline"]) or job["crew"] is None


def test_a_big_outage_lists_some_and_says_how_many_more(dora: User, storm: dict[str, str]) -> None:
    out = detail(dora, storm["breaker"], "?customers=3")["customers"]
    assert len(out["listed"]) == 3 and out["more"] == 22 - 3 and out["total"] == 22
    assert out["listed"][0]["id"] == "a4-1"  # the caller first (nobody critical)
    fuse = detail(dora, storm["fuse"], "?customers=1&timeline=2")
    assert [c["id"] for c in fuse["customers"]["listed"]] == ["a9-1"]  # critical first
    assert len(fuse["timeline"]) == 2 and fuse["timeline_more"] >= 1


def test_a_single_customer_outage(dora: User, clock: Clock) -> None:
    ok(dora.post("/api/events", json=ev("lone", "call", 0, customer="c2-1")))
    (o,) = ok(dora.get("/api/outages"))
    assert o["kind"] == "single_customer"
    d = detail(dora, o["id"])
    assert [c["id"] for c in d["customers"]["listed"]] == ["c2-1"]
    assert d["customers"]["total"] == o["customers_out"] == 1
    assert [c["customer"] for c in d["calls"]] == ["c2-1"]


def test_who_may_read_it(app: Flask, dora: User, storm: dict[str, str]) -> None:
    url = f"/api/outages/{storm['fuse']}/detail"
    assert app.test_client().get(url).status_code == 401
    assert User(app, "k1").get(url).status_code == 403
    assert User(app, "eng").get(url).status_code == 200
    assert dora.get("/api/outages/OUT-999999/detail").status_code == 404
    assert dora.get(url + "?customers=0").status_code == 400
    assert dora.post(url, json={}).status_code == 405
