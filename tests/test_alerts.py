"""Alarms through the API: levels, filters, acknowledgement, and bulk close of outages.

SQLite and PostgreSQL. The engine's clock is fixed (tests/test_api.py's
``Clock``): a lockout at T0 leaves its job unassigned, a later event moves
the clock on, and the job's targets run out one by one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conftest import T0, Clock, User
from flask import Flask
from sqlalchemy import select
from test_api import ev, ok, trip

from oms.storage import schema

LEVELS = {"info", "warning", "target", "breach"}


def storm(dora: User, clock: Clock) -> None:
    """B1 trips at T0 and nobody is sent (automatic dispatch off); 50 minutes pass."""
    ok(dora.post("/api/events", json=ev("auto", "dispatch_auto", 0, auto=False)))
    trip(dora, "s1", "B1", 1)
    clock.now = T0 + timedelta(minutes=50)
    for t in (70, 100, *range(300, 50 * 60 + 1, 300)):  # each moves the engine's clock
        ok(dora.post("/api/events", json=ev(f"gps-{t}", "crew_gps", t, crew="K3", lon=8.4, lat=49)))


def db(app: Flask) -> Any:
    return app.extensions["oms.storage.db"]


def test_every_alert_has_a_documented_level(dora: User, eng: User, clock: Clock) -> None:
    storm(dora, clock)
    alerts = ok(eng.get("/api/alerts?limit=5000"))
    assert {a["level"] for a in alerts} == LEVELS  # dispatch_auto's switch is info
    levels = {(a["kind"], a["detail"].get("target")): a["level"] for a in alerts}
    assert levels[("warning", "arrival")] == "warning"
    assert levels[("breach", "CD")] == "target"
    assert levels[("breach", "arrival")] == "breach"
    job = next(a for a in alerts if a["job"])
    assert (job["unit"], job["zone"]) == ("U1", "Z-W")
    assert all(a["acknowledged_at"] is None and a["acknowledged_by"] is None for a in alerts)


def test_alerts_filter_by_level_unit_zone_and_acknowledgement(dora: User, clock: Clock) -> None:
    storm(dora, clock)
    every = ok(dora.get("/api/alerts?limit=5000"))
    for level in LEVELS:
        got = ok(dora.get(f"/api/alerts?level={level}&limit=5000"))
        assert got == [a for a in every if a["level"] == level], level
    assert ok(dora.get("/api/alerts?zone=Z-W&limit=5000")) == [
        a for a in every if a["zone"] == "Z-W"
    ]
    assert ok(dora.get("/api/alerts?unit=U1&level=breach")) == [
        a for a in every if a["unit"] == "U1" and a["level"] == "breach"
    ]
    assert ok(dora.get("/api/alerts?zone=Z-E")) == []
    assert ok(dora.get("/api/alerts?acknowledged=1")) == []
    assert len(ok(dora.get("/api/alerts?acknowledged=false&limit=5000"))) == len(every)
    for bad in ("level=critical", "acknowledged=yes", "level=breach&level=target"):
        assert dora.get(f"/api/alerts?{bad}").status_code == 400, bad


def test_acknowledging_alerts_one_or_many(app: Flask, dora: User, eng: User, clock: Clock) -> None:
    storm(dora, clock)
    summary = ok(dora.get("/api/alerts/summary"))
    every = ok(dora.get("/api/alerts?limit=5000"))
    assert summary["unacknowledged"] == len(every) == sum(summary["levels"].values())
    breaches = [a["seq"] for a in every if a["level"] == "breach"]
    assert summary["levels"]["breach"] == len(breaches) > 0

    answer = ok(dora.post("/api/alerts/ack", json={"alerts": breaches, "reason": "seen"}))
    assert answer["accepted"] == 1 and answer["rejected"] == []
    assert {a["result"] for a in answer["alerts"]} == {"acknowledged"}
    assert {a["acknowledged_by"] for a in answer["alerts"]} == {"dora"}
    assert {a["acknowledged_at"] for a in answer["alerts"]} == {clock.now.isoformat()}
    after = ok(dora.get("/api/alerts/summary"))
    assert after["levels"]["breach"] == 0
    assert after["unacknowledged"] == summary["unacknowledged"] - len(breaches)
    done = ok(dora.get("/api/alerts?acknowledged=1&limit=5000"))
    assert sorted(a["seq"] for a in done) == sorted(breaches)

    # Again, with one more (its number written 12.0: the integer JSON Schema
    # allows, found by schemathesis) and one that does not exist.
    one_more = next(a["seq"] for a in every if a["level"] == "warning")
    body = f'{{"alerts": [{breaches[0]}, {one_more}.0, {10**9}]}}'
    again = ok(
        dora.post("/api/alerts/ack", data=body, headers={"Content-Type": "application/json"})
    )
    results = {a["seq"]: a["result"] for a in again["alerts"]}
    assert results == {breaches[0]: "already", one_more: "acknowledged", 10**9: "unknown"}

    # The event log is the audit: who acknowledged which alerts, and when.
    e, audit = schema.events, schema.audit
    with db(app).connect() as conn:
        logged = conn.execute(select(e.c.payload).where(e.c.type == "alert_ack")).scalars().all()
        rows = conn.execute(
            select(audit.c.action, audit.c.outcome, audit.c.username).where(
                audit.c.action == "alert_ack"
            )
        ).all()
    assert len(logged) == 2 and '"user": "dora"' in logged[0]
    assert [tuple(r) for r in rows] == [("alert_ack", "ok", "dora")] * 2
    # The live feed tells the other dispatchers.
    c = schema.changes
    with db(app).connect() as conn:
        fed = conn.execute(select(c.c.data).where(c.c.kind == "alert_ack")).scalars().all()
    assert [sorted(f["alerts"]) for f in fed] == [sorted(breaches), [one_more]]


def test_acknowledging_is_the_dispatchers(app: Flask, dora: User, eng: User, clock: Clock) -> None:
    storm(dora, clock)
    seq = ok(dora.get("/api/alerts?limit=1"))[0]["seq"]
    assert eng.post("/api/alerts/ack", json={"alerts": [seq]}).status_code == 403
    k1 = User(app, "k1")
    assert k1.post("/api/alerts/ack", json={"alerts": [seq]}).status_code == 403
    assert k1.get("/api/alerts/summary").status_code == 403
    ada = User(app, "ada")
    assert ok(ada.post("/api/alerts/ack", json={"alerts": [seq]}))["alerts"][0]["result"] == (
        "acknowledged"
    )
    assert dora.post("/api/alerts/ack", json={"alerts": [10**9]}).status_code == 404
    for bad in ({}, {"alerts": []}, {"alerts": ["1"]}, {"alerts": [0]}, {"alerts": 1}):
        assert dora.post("/api/alerts/ack", json=bad).status_code == 400, bad
    too_many = {"alerts": list(range(1, 5002))}
    assert dora.post("/api/alerts/ack", json=too_many).status_code == 400


# ------------------------------------------------------------- bulk close
def restored_outages(dora: User, clock: Clock) -> list[str]:
    """B1 and B2 trip and come back; a call-only outage stays open. Their ids, in that order."""
    trip(dora, "s1", "B1", 0)
    trip(dora, "s2", "B2", 10)
    clock.now = T0 + timedelta(minutes=70)
    for eid, device, t in (("c1", "B1", 3600), ("c2", "B2", 3610)):
        ok(dora.post("/api/events", json=ev(eid, "scada", t, device=device, state="closed")))
    calls = [ev(f"call-{c}", "call", 3620, customer=c) for c in ("a9-1", "a9-2", "a9-3")]
    ok(dora.post("/api/events", json=calls))
    outages = {o["device"]: o for o in ok(dora.get("/api/outages"))}
    assert outages["B1"]["state"] == outages["B2"]["state"] == "restored"
    (open_,) = [o for o in outages.values() if o["state"] in ("predicted", "confirmed")]
    return [outages["B1"]["id"], outages["B2"]["id"], open_["id"]]


def test_bulk_close_reports_each_outage(app: Flask, dora: User, clock: Clock) -> None:
    b1, b2, open_ = restored_outages(dora, clock)
    answer = ok(dora.post("/api/outages/bulk/close", json={"outages": [b1, open_, "OUT-9", b2]}))
    results = {r["outage"]: r for r in answer["outages"]}
    assert [r["outage"] for r in answer["outages"]] == [b1, open_, "OUT-9", b2]
    assert (results[b1]["result"], results[b2]["result"]) == ("closed", "closed")
    assert results[open_]["result"] == "refused" and "restore it" in results[open_]["error"]
    assert results["OUT-9"]["result"] == "unknown"
    assert answer["accepted"] == 2
    for oid in (b1, b2):
        detail = ok(dora.get(f"/api/outages/{oid}"))
        assert detail["state"] == "closed"
        closes = [a for a in detail["audit"] if a["action"] == "close"]
        assert [a["actor"] for a in closes] == ["dora"]  # each close: its own event
    e = schema.events
    with db(app).connect() as conn:
        n = conn.execute(select(e.c.id).where(e.c.type == "outage_close")).all()
        audit = conn.execute(
            select(schema.audit.c.username).where(schema.audit.c.action == "outage_close_bulk")
        ).all()
    assert len(n) == 2 and [tuple(r) for r in audit] == [("dora",)]


def test_close_all_restored(dora: User, eng: User, clock: Clock) -> None:
    b1, b2, open_ = restored_outages(dora, clock)
    assert eng.post("/api/outages/bulk/close", json={"restored": True}).status_code == 403
    answer = ok(dora.post("/api/outages/bulk/close", json={"restored": True}))
    assert answer["outages"] == [
        {"outage": b1, "result": "closed"},
        {"outage": b2, "result": "closed"},
    ]
    assert ok(dora.get(f"/api/outages/{open_}"))["state"] != "closed"
    nothing = ok(dora.post("/api/outages/bulk/close", json={"restored": True}))
    assert nothing["outages"] == [] and nothing["accepted"] == 0
    refused = dora.post("/api/outages/bulk/close", json={"outages": [open_]})
    assert refused.status_code == 422
    assert refused.get_json()["outages"][0]["result"] == "refused"
    unknown = dora.post("/api/outages/bulk/close", json={"outages": ["OUT-9"]})
    assert unknown.status_code == 404
    for bad in ({}, {"outages": []}, {"reason": "x"}, {"restored": False}):
        assert dora.post("/api/outages/bulk/close", json=bad).status_code == 400, bad
