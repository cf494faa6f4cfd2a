"""The REST API and its OpenAPI description (SQLite and PostgreSQL).

The description is checked against the app's routes and validated as
OpenAPI (tests/test_conformance.py runs schemathesis with every check
against it). The functional tests drive the
API as the dispatcher, the engineer, the crews and the admin would, with
the engine's clock fixed so shifts and targets do not depend on the hour.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import T0, Clock, User, sign_in
from flask import Flask
from flask.testing import FlaskClient


def ev(eid: str, etype: str, seconds: float = 0, **fields: Any) -> dict[str, Any]:
    """An event ``seconds`` after T0."""
    return {
        "id": eid,
        "type": etype,
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


def trip(user: User, eid: str, device: str, seconds: float = 0) -> dict[str, Any]:
    """A SCADA lockout of ``device``: a confirmed outage and its job."""
    event = ev(eid, "scada", seconds, device=device, state="open", lockout=True)
    return ok(user.post("/api/events", json=event))


def outage_at(user: User, device: str) -> dict[str, Any]:
    found = [o for o in ok(user.get("/api/outages")) if o["device"] == device]
    assert len(found) == 1, found
    return found[0]


def job_of(user: User, outage_id: str) -> dict[str, Any]:
    found = [j for j in ok(user.get("/api/jobs")) if j["outage"] == outage_id]
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------ description
def _rules(app: Flask) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/stream":
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    out.add((path, method.lower()))
    return out


def test_description_covers_every_route(app: Flask, client: FlaskClient) -> None:
    doc = ok(client.get("/api/openapi.json"))  # no sign-in needed
    described = {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    routes = _rules(app)
    assert routes - described == set(), "routes without a description"
    assert described - routes == set(), "descriptions without a route"
    endpoints = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", r.rule), m.lower()): r.endpoint
        for r in app.url_map.iter_rules()
        for m in r.methods or ()
    }
    for (path, method), endpoint in sorted(endpoints.items()):
        op = doc["paths"].get(path, {}).get(method)
        if op is not None and "operationId" in op:
            assert op["operationId"] == endpoint, (path, method)


def test_description_is_valid_openapi(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    response = client.get("/api/openapi.json")
    assert response.mimetype == "application/json"
    doc = response.get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie"
    assert schemes["csrf"] == {**schemes["csrf"], "in": "header", "name": "X-CSRFToken"}
    events = doc["paths"]["/api/events"]["post"]
    assert {"session": [], "csrf": []} in events["security"]
    assert {"bearer": []} in events["security"]
    assert doc["paths"]["/api/health"]["get"]["security"] == []
    for name in ("Outage", "Job", "Crew", "Decision", "IngestReport", "Error", "Event"):
        assert name in doc["components"]["schemas"]


def test_other_modules_contribute_paths(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from webmap import dispatcher
    from webmap.openapi.document import build_document

    fragment = {
        "/api/example": {"get": {"summary": "x", "responses": {"200": {"description": "y"}}}}
    }
    monkeypatch.setattr(dispatcher, "OPENAPI_PATHS", fragment, raising=False)
    monkeypatch.setattr(
        dispatcher, "OPENAPI_SCHEMAS", {"Example": {"type": "object"}}, raising=False
    )
    doc = build_document(app)
    assert doc["paths"]["/api/example"]["get"]["summary"] == "x"
    assert doc["components"]["schemas"]["Example"] == {"type": "object"}
    monkeypatch.setattr(
        dispatcher, "OPENAPI_PATHS", {"/api/health": {"get": {"responses": {}}}}, raising=False
    )
    with pytest.raises(ValueError, match="GET /api/health is described twice"):
        build_document(app)
    # A fragment's roles are its view's (require), or the document refuses it.
    wrong = {"/api/x": {"get": {"operationId": "api.jobs", "x-roles": ["crew"], "responses": {}}}}
    monkeypatch.setattr(dispatcher, "OPENAPI_PATHS", wrong, raising=False)
    with pytest.raises(ValueError, match="not the view's roles"):
        build_document(app)
    monkeypatch.setattr(dispatcher, "OPENAPI_PATHS", {}, raising=False)
    monkeypatch.setattr(dispatcher, "OPENAPI_SCHEMAS", {"Outage": {}}, raising=False)
    with pytest.raises(ValueError, match="'Outage' is described twice"):
        build_document(app)


def _example(param: dict[str, Any], own_crew: str) -> str:
    if param["name"] == "crew_id":
        return own_crew
    if param["name"] == "action":  # one every allowed role may take
        actions = param["schema"]["enum"]
        return next((a for a in ("accept", "restore", "release") if a in actions), actions[0])
    if "enum" in param["schema"]:
        return str(param["schema"]["enum"][0])
    return str(param["schema"].get("example", param.get("example", "X1")))


def test_documented_roles_are_enforced(app: Flask, client: FlaskClient, clock: Clock) -> None:
    """Every operation with ``x-roles`` refuses (403) exactly the roles it does not list,
    and every action of ``x-action-roles`` exactly the roles that action does not list."""
    doc = ok(client.get("/api/openapi.json"))
    users = {
        "dispatcher": User(app, "dora"),
        "engineer": User(app, "eng"),
        "crew": User(app, "k1"),
        "admin": User(app, "ada"),
    }

    def check(method: str, url: str, roles: list[str]) -> int:
        for role, user in users.items():
            if method == "get":
                response = user.get(url)
            else:
                send = user.client.put if method == "put" else user.client.post
                response = send(url, json={}, headers=user.headers)
            # A stream answered (the regions' views made by another test module
            # in the same database) must be closed: left open, it keeps its
            # request context, which the next request would then see as its own.
            status = response.status_code
            body = response.get_json(silent=True) if status == 403 else None
            response.close()
            if role in roles or role == "admin":
                assert status not in (401, 403), (role, method, url)
            else:
                assert status == 403, (role, method, url, body)
        return len(users)

    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if "x-roles" not in op or path == "/stream":
                continue
            params = {p["name"]: p for p in op.get("parameters", ()) if p["in"] == "path"}
            url = path.format(**{n: _example(p, "K1") for n, p in params.items()})
            checked += check(method, url, op["x-roles"])
            for action, roles in op.get("x-action-roles", {}).items():
                names = {**{n: _example(p, "K1") for n, p in params.items()}, "action": action}
                checked += check(method, path.format(**names), roles)
    # Operations; job, outage, order, safety document and planned outage actions.
    assert checked == 4 * (62 + 12 + 6 + 4 + 3 + 3)


# ---------------------------------------------------------------- intake
def test_intake_one_object_a_list_and_json_lines(dora: User) -> None:
    assert trip(dora, "s1", "B1") == {"accepted": 1, "duplicates": 0, "rejected": []}
    events = [ev("c1", "call", 60, customer="b1-1"), ev("c2", "call", 61, customer="b2-1")]
    assert ok(dora.post("/api/events", json=events))["accepted"] == 2
    lines = "\n".join(json.dumps(e) for e in (ev("f1", "fci", 70, device="L5", fault=True),))
    response = dora.post(
        "/api/events", data=lines + "\n\n", headers={"Content-Type": "application/x-ndjson"}
    )
    assert ok(response) == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert {o["device"] for o in ok(dora.get("/api/outages"))} >= {"B1"}


def test_intake_bad_input(dora: User) -> None:
    # Not an event object, an empty list, not JSON: the request is refused.
    for body in ("[]", '"scada"', "{not json"):
        response = dora.post("/api/events", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        assert "event" in response.get_json()["error"]
    # Bad lines are rejected by number (blank lines count), the good ones applied.
    good = ev("s1", "scada", device="B1", state="open", lockout=True)
    body = "\n".join(
        [
            "",
            json.dumps(good),
            "{not json",
            json.dumps(ev("c1", "call", 5, customer="nobody")),
            json.dumps({**good, "id": "s2", "time": "2026-03-01T10:00:00"}),
        ]
    )
    response = dora.post("/api/events", data=body, headers={"Content-Type": "application/x-ndjson"})
    doc = ok(response, 422)
    assert doc["accepted"] == 1
    rejected = {r["line"]: r["error"] for r in doc["rejected"]}
    assert sorted(rejected) == [3, 4, 5]
    assert "JSON" in rejected[3]
    assert "nobody" in rejected[4]
    assert "offset" in rejected[5] or "time" in rejected[5]
    # In a JSON list the line is the position, from 1.
    doc = ok(dora.post("/api/events", json=[good, {"id": "x", "type": "bogus"}]), 422)
    assert doc == {
        "accepted": 0,
        "duplicates": 1,
        "rejected": [{"line": 2, "error": "unknown event type 'bogus'"}],
    }


def test_intake_is_idempotent_on_the_event_id(dora: User) -> None:
    event = ev("s1", "scada", device="B1", state="open", lockout=True)
    assert ok(dora.post("/api/events", json=event))["accepted"] == 1
    assert ok(dora.post("/api/events", json=event)) == {
        "accepted": 0,
        "duplicates": 1,
        "rejected": [],
    }
    # Key order does not matter: the same content.
    assert ok(dora.post("/api/events", json=dict(reversed(event.items()))))["duplicates"] == 1
    doc = ok(dora.post("/api/events", json={**event, "state": "closed"}), 409)
    assert "s1" in doc["error"] and "different content" in doc["error"]
    assert doc["rejected"][0]["line"] == 1
    assert len(ok(dora.get("/api/outages"))) == 1  # the conflict changed nothing
    # An action's client id is an idempotency key too (a handheld's replay).
    out = outage_at(dora, "B1")["id"]
    body = {"id": "web-confirm-1", "reason": "seen on SCADA"}
    assert ok(dora.post(f"/api/outages/{out}/confirm", json=body))["accepted"] == 1
    assert ok(dora.post(f"/api/outages/{out}/confirm", json=body))["duplicates"] == 1


def test_intake_needs_a_desk_role(k1: User, eng: User) -> None:
    event = ev("s1", "scada", device="B1", state="open", lockout=True)
    assert k1.post("/api/events", json=event).status_code == 403
    assert ok(eng.post("/api/events", json=event))["accepted"] == 1


# ---------------------------------------------------------------- outages
def test_outages_list_and_detail(dora: User, eng: User) -> None:
    trip(dora, "s1", "B1")
    ok(dora.post("/api/events", json=ev("c1", "call", 30, customer="a3-1")))
    outages = ok(eng.get("/api/outages"))
    assert len(outages) == 1
    o = outages[0]
    assert o["device"] == "B1" and o["state"] == "confirmed" and o["kind"] == "network"
    assert o["customers_out"] == 27
    assert o["started"] == T0.isoformat()
    assert ok(eng.get("/api/outages?state=restored")) == []
    detail = ok(eng.get(f"/api/outages/{o['id']}"))
    assert detail["id"] == o["id"]
    assert any(a["action"] == "predict" for a in detail["audit"])
    assert {e["id"] for e in detail["evidence"]} == {"s1", "c1"}
    missing = eng.get("/api/outages/OUT-999999")
    assert missing.status_code == 404 and "OUT-999999" in missing.get_json()["error"]


def test_outage_actions_confirm_merge_restore_close(dora: User, eng: User) -> None:
    # Two calls under the fuse F1: a predicted outage there.
    calls = [ev(f"c{k}", "call", 10 * k, customer=f"a9-{k}") for k in (1, 2, 3)]
    ok(dora.post("/api/events", json=calls))
    predicted = ok(dora.get("/api/outages"))
    assert len(predicted) == 1 and predicted[0]["state"] == "predicted"
    first = predicted[0]["id"]
    # Confirm it, at another protective device: the predictor keeps it there.
    doc = ok(dora.post(f"/api/outages/{first}/confirm", json={"device": "F1", "reason": "crew"}))
    assert doc["accepted"] == 1
    confirmed = ok(dora.get(f"/api/outages/{first}"))
    assert confirmed["state"] == "confirmed" and confirmed["device"] == "F1"
    assert any(a["action"] == "confirm" and a["reason"] == "crew" for a in confirmed["audit"])
    # A second outage elsewhere, merged into the first.
    trip(dora, "s1", "B2", 60)
    second = outage_at(dora, "B2")["id"]
    doc = ok(dora.post(f"/api/outages/{first}/merge", json={"outages": [second]}))
    assert doc["accepted"] == 1
    assert ok(dora.get(f"/api/outages/{second}"))["merged_into"] == first
    assert second not in {o["id"] for o in ok(dora.get("/api/outages"))}
    # Closing before restoring is refused, with the reason.
    doc = ok(dora.post(f"/api/outages/{first}/close", json={}), 422)
    assert "restore it before closing" in doc["rejected"][0]["error"]
    ok(dora.post(f"/api/outages/{first}/restore", json={"reason": "fuse replaced"}))
    assert ok(dora.get(f"/api/outages/{first}"))["state"] == "restored"
    assert first in {o["id"] for o in ok(dora.get("/api/outages?open=1"))}  # still shown
    ok(dora.post(f"/api/outages/{first}/close"))
    assert ok(dora.get(f"/api/outages/{first}"))["state"] == "closed"
    # Closed: in the history, no longer among the outages the lists show.
    assert first in {o["id"] for o in ok(dora.get("/api/outages"))}
    assert first not in {o["id"] for o in ok(dora.get("/api/outages?open=1"))}
    # Unknown actions and roles.
    assert dora.post(f"/api/outages/{first}/explode", json={}).status_code == 404
    assert eng.post(f"/api/outages/{first}/confirm", json={}).status_code == 403
    assert ok(dora.post("/api/outages/OUT-999999/restore"), 404)["rejected"]


# ------------------------------------------------------------------- jobs
def _two_jobs(dora: User) -> tuple[str, str]:
    """B1 (zone Z-W, K1's) and B2 (zone Z-E, K2's) trip; each job assigned to its crew."""
    trip(dora, "s1", "B1")
    trip(dora, "s2", "B2", 30)
    j1 = job_of(dora, outage_at(dora, "B1")["id"])["id"]
    j2 = job_of(dora, outage_at(dora, "B2")["id"])["id"]
    assert ok(dora.post(f"/api/jobs/{j1}/assign", json={"crew": "K1"}))["accepted"] == 1
    assert ok(dora.post(f"/api/jobs/{j2}/assign", json={"crew": "K2"}))["accepted"] == 1
    return j1, j2


def test_jobs_list_assign_suggest_and_recall(dora: User, eng: User, clock: Clock) -> None:
    trip(dora, "s1", "B1")
    jobs = ok(eng.get("/api/jobs"))
    assert len(jobs) == 1
    job = jobs[0]
    assert job["state"] == "waiting" and job["crew"] is None and job["zone"] == "Z-W"
    assert ok(eng.get("/api/jobs?open=1")) == jobs
    decision = ok(dora.get(f"/api/jobs/{job['id']}/suggest"))
    assert decision["job"] == job["id"] and decision["crew"] == "K1"
    assert decision["rule"] == "zone"
    assert {a["crew"] for a in decision["alternatives"]} == {"K2", "K3", "K4"}
    assert eng.get(f"/api/jobs/{job['id']}/suggest").status_code == 403
    assert eng.post(f"/api/jobs/{job['id']}/assign", json={}).status_code == 403
    # Assign without a crew: the suggested one.
    ok(dora.post(f"/api/jobs/{job['id']}/assign", json={}))
    assigned = ok(dora.get(f"/api/jobs/{job['id']}"))
    assert assigned["crew"] == "K1" and assigned["state"] == "dispatched"
    assert assigned["stamps"]["D"] == clock().isoformat()
    assert assigned["outage_details"]["device"] == "B1"
    assert ok(dora.get("/api/crews"))[0]["jobs"] == [job["id"]]
    clock.advance(minutes=1)
    ok(dora.post(f"/api/jobs/{job['id']}/recall", json={"reason": "needed elsewhere"}))
    recalled = ok(dora.get(f"/api/jobs/{job['id']}"))
    assert recalled["crew"] is None and recalled["state"] == "waiting"
    assert dora.get("/api/jobs/JOB-999999").status_code == 404
    assert dora.post(f"/api/jobs/{job['id']}/fly", json={}).status_code == 404


def test_a_crew_sees_and_works_only_its_own_jobs(dora: User, k1: User, k2: User) -> None:
    j1, j2 = _two_jobs(dora)
    assert [j["id"] for j in ok(k1.get("/api/jobs"))] == [j1]
    assert [j["id"] for j in ok(k2.get("/api/jobs"))] == [j2]
    assert ok(k1.get(f"/api/jobs/{j1}"))["crew"] == "K1"
    assert k1.get(f"/api/jobs/{j2}").status_code == 404
    # Its own job, stage by stage.
    for action in ("deliver", "accept", "depart", "arrive", "made-safe"):
        assert ok(k1.post(f"/api/jobs/{j1}/{action}", json={}))["accepted"] == 1, action
    stamps = ok(k1.get(f"/api/jobs/{j1}"))["stamps"]
    assert all(stamps[k] for k in ("E", "F", "G", "H", "made_safe"))
    # Another crew's job: hidden from reading and from acting (404), without
    # saying whose it is.
    response = k1.post(f"/api/jobs/{j2}/accept", json={})
    assert response.status_code == 404
    assert response.get_json()["error"] == f"no job {j2!r}"
    assert k2.get(f"/api/jobs/{j2}").status_code == 200
    assert k1.post(f"/api/jobs/{j1}/assign", json={"crew": "K1"}).status_code == 403
    assert k1.post(f"/api/jobs/{j1}/recall", json={}).status_code == 403
    # An action the engine cannot carry out is rejected with the reason.
    doc = ok(k2.post(f"/api/jobs/{j2}/close", json={}), 422)
    assert "close-out" in doc["rejected"][0]["error"]
    assert k1.get(f"/api/jobs/{j1}/suggest").status_code == 403


def test_a_crew_closes_its_job(dora: User, k1: User, clock: Clock) -> None:
    j1, _ = _two_jobs(dora)
    for action in ("accept", "depart", "arrive", "made-safe", "repaired", "restored"):
        ok(k1.post(f"/api/jobs/{j1}/{action}", json={}))
        clock.advance(minutes=2)
    job = ok(k1.get(f"/api/jobs/{j1}"))
    assert job["outage_details"]["state"] == "restored"
    incomplete = ok(k1.post(f"/api/jobs/{j1}/close", json={"closeout": {"cause": "tree"}}), 422)
    assert "close-out" in incomplete["rejected"][0]["error"]
    closeout = {
        "cause": "tree",
        "equipment": "conductor",
        "actions": "cleared, re-energized",
        "outage_start": T0.isoformat(),
        "outage_end": clock().isoformat(),
    }
    ok(k1.post(f"/api/jobs/{j1}/close", json={"closeout": closeout}))
    closed = ok(k1.get(f"/api/jobs/{j1}"))
    assert closed["state"] == "closed" and closed["closeout"]["cause"] == "tree"


# ------------------------------------------------------------------ crews
def test_crews_list(dora: User, k1: User) -> None:
    crews = ok(dora.get("/api/crews"))
    assert [c["id"] for c in crews] == ["K1", "K2", "K3", "K4"]
    by_id = {c["id"]: c for c in crews}
    assert by_id["K1"]["status"] == "available" and by_id["K1"]["zone"] == "Z-W"
    assert by_id["K4"]["status"] == "off_shift"  # a night crew at 10:05
    assert [c["id"] for c in ok(k1.get("/api/crews"))] == ["K1"]


def test_gps_report_and_status(dora: User, k1: User, clock: Clock) -> None:
    doc = ok(k1.post("/api/crews/K1/gps", json={"lon": 8.405, "lat": 49.001}))
    assert doc["accepted"] == 1
    (me,) = ok(k1.get("/api/crews"))
    assert (me["lon"], me["lat"]) == (8.405, 49.001)
    assert me["gps_time"] == clock().isoformat() and me["stale"] is False
    assert k1.post("/api/crews/K2/gps", json={"lon": 8.4, "lat": 49.0}).status_code == 403
    bad = ok(k1.post("/api/crews/K1/gps", json={"lon": 200, "lat": 49.0}), 422)
    assert "lon" in bad["rejected"][0]["error"]
    assert ok(dora.post("/api/crews/K2/gps", json={"lon": 8.41, "lat": 49.0}))["accepted"] == 1
    ok(k1.post("/api/crews/K1/status", json={"status": "off_shift"}))
    assert ok(k1.get("/api/crews"))[0]["status"] == "off_shift"
    assert k1.post("/api/crews/K2/status", json={"status": "available"}).status_code == 403
    assert ok(k1.post("/api/crews/K1/status", json={"status": "asleep"}), 422)["rejected"]


# ---------------------------------------------------------------- network
def test_switching_must_be_confirmed(eng: User, k1: User) -> None:
    body = {"device": "SW1", "state": "open"}
    response = eng.post("/api/switch", json=body)
    assert response.status_code == 400 and "confirm" in response.get_json()["error"]
    assert eng.post("/api/switch", json={**body, "confirm": "yes"}).status_code == 400
    assert ok(eng.get("/api/trace/upstream?element=a6"))["source"] == "S1"
    assert ok(eng.post("/api/switch", json={**body, "confirm": True}))["accepted"] == 1
    dead = ok(eng.get("/api/trace/upstream?element=a6"))
    assert dead["source"] is None and dead["path"] == []
    doc = ok(eng.post("/api/switch", json={"device": "L1", "state": "open", "confirm": True}), 422)
    assert "L1" in doc["rejected"][0]["error"]
    assert k1.post("/api/switch", json={**body, "confirm": True}).status_code == 403


def test_traces(eng: User, k1: User) -> None:
    up = ok(k1.get("/api/trace/upstream?element=a3"))
    assert up["source"] == "S1" and up["path"][0] == "R1"
    assert up["protective_devices"][:2] == ["R1", "B1"]
    down = ok(eng.get("/api/trace/downstream?device=R1"))
    assert down["customers"] == 20 and "a6" in down["nodes"] and "SW1" in down["devices"]
    feeder = ok(eng.get("/api/trace/feeder?element=L3"))
    assert feeder["feeder"] == "B1" and feeder["source"] == "S1"
    assert ok(eng.get("/api/trace/path?a=a1&b=a3"))["edges"] == ["L1", "R1"]
    assert ok(eng.get("/api/trace/loops"))["loops"] == [["T1", "T2"]]
    isolate = ok(eng.get("/api/trace/isolate?device=L2"))
    assert isolate["faulted"] == "L2" and set(isolate["open"]) == {"R1", "SW1"}
    restore = ok(eng.get("/api/trace/restore?device=L2"))
    assert restore["faulted"] == "L2" and "TIE1" in restore["close"]
    assert restore["restored_customers"] == 13  # a5, a6 over the tie
    bad = eng.get("/api/trace/upstream?element=NOPE")
    assert bad.status_code == 400 and "NOPE" in bad.get_json()["error"]
    missing = eng.get("/api/trace/downstream")
    assert missing.status_code == 400 and "device" in missing.get_json()["error"]
    assert eng.get("/api/trace/downstream?device=a3").status_code == 400  # a node
    assert eng.get("/api/trace/sideways?element=a3").status_code == 404


# ---------------------------------------------------------------- reports
def test_reports_and_alerts(dora: User, eng: User, app: Flask, clock: Clock) -> None:
    trip(dora, "s1", "B1")
    ok(dora.post("/api/events", json=ev("s1c", "scada", 3600, device="B1", state="closed")))
    start = (T0 - timedelta(days=1)).isoformat()
    indices = ok(eng.get("/api/reports/indices", query_string={"start": start}))
    assert indices["all"]["customers_interrupted"] == 27 and indices["customers_served"] == 61
    compliance = ok(eng.get("/api/reports/compliance", query_string={"start": start}))
    assert compliance["jobs"] == 1 and compliance["segments"]["CD"]["breached"] == 1
    bulletin = ok(eng.get("/api/reports/bulletin?day=2026-03-01"))
    assert bulletin["day"] == "2026-03-01" and bulletin["outages"] == {"network": 1}
    assert ok(eng.get("/api/reports/bulletin"))["day"] == "2026-03-01"  # the engine clock's
    for bad in ("/api/reports/bulletin?day=yesterday", "/api/reports/indices?start=10:00"):
        response = eng.get(bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]
    assert eng.get("/api/reports/everything").status_code == 404
    # Alerts: the unassigned job's targets ran out.
    alerts = ok(eng.get("/api/alerts"))
    assert alerts and {a["kind"] for a in alerts} >= {"breach"}
    assert [a["seq"] for a in alerts] == sorted((a["seq"] for a in alerts), reverse=True)
    assert len(ok(eng.get("/api/alerts?limit=1"))) == 1
    # A limit the description does not allow is refused, never guessed at.
    for bad in ("x", "0", "-1", "5001", "1&limit=2"):
        assert eng.get(f"/api/alerts?limit={bad}").status_code == 400, bad


# ------------------------------------------------------------------ admin
def test_admin_users(ada: User, dora: User) -> None:
    body = {"username": "cr9", "password": "long-enough", "role": "crew", "crew": "K3"}
    assert ok(ada.post("/api/users", json=body), 201) == {
        "username": "cr9",
        "role": "crew",
        "crew": "K3",
    }
    again = ada.post("/api/users", json=body)
    assert again.status_code == 400 and "exists" in again.get_json()["error"]
    short = ada.post("/api/users", json={**body, "username": "cr10", "password": "short"})
    assert short.status_code == 400 and "password" in short.get_json()["error"]
    nocrew = ada.post("/api/users", json={**body, "username": "cr11", "crew": "K99"})
    assert nocrew.status_code == 400 and "K99" in nocrew.get_json()["error"]
    assert dora.post("/api/users", json={**body, "username": "cr12"}).status_code == 403
    me = ada.client.application.test_client()
    sign_in(me, "cr9", "long-enough")
    assert ok(me.get("/api/session"))["user"]["crew"] == "K3"


def test_devices_bearer_token_and_revocation(app: Flask, ada: User, dora: User) -> None:
    doc = ok(ada.post("/api/devices", json={"username": "k1", "name": "K1 tablet"}), 201)
    assert doc["username"] == "k1" and doc["name"] == "K1 tablet" and doc["token"]
    bearer = {"Authorization": f"Bearer {doc['token']}"}
    handheld = app.test_client()  # no session, no CSRF token: only the token
    session = ok(handheld.get("/api/session", headers=bearer))
    assert session["user"]["username"] == "k1" and session["device"] == doc["id"]
    assert ok(handheld.get("/api/jobs", headers=bearer)) == []
    gps = handheld.post("/api/crews/K1/gps", json={"lon": 8.4, "lat": 49.0}, headers=bearer)
    assert ok(gps)["accepted"] == 1
    listed = ok(ada.get("/api/devices"))
    assert [(d["id"], d["revoked_at"]) for d in listed] == [(doc["id"], None)]
    assert "token" not in listed[0]
    assert dora.get("/api/devices").status_code == 403
    assert ada.post("/api/devices", json={"username": "nobody", "name": "x"}).status_code == 400
    # Revoked: refused at its very next request.
    assert ok(ada.post(f"/api/devices/{doc['id']}/revoke")) == {"id": doc["id"], "revoked": True}
    assert handheld.get("/api/jobs", headers=bearer).status_code == 401
    refused = handheld.post("/api/crews/K1/gps", json={"lon": 8.4, "lat": 49.0}, headers=bearer)
    assert refused.status_code == 401
    assert ok(ada.get("/api/devices"))[0]["revoked_at"] is not None
    assert ada.post(f"/api/devices/{doc['id']}/revoke").status_code == 404
    assert (
        handheld.get("/api/jobs", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    )


def test_audit_log_has_user_device_and_position(app: Flask, ada: User, dora: User) -> None:
    event = ev("s1", "scada", device="B1", state="open", lockout=True)
    ok(dora.post("/api/events", json=event, headers={"X-Position": "8.401,49.002"}))
    ok(dora.post("/api/events", json={**event, "state": "closed"}), 409)
    token = ok(ada.post("/api/devices", json={"username": "k1", "name": "tablet"}), 201)
    bearer = {"Authorization": f"Bearer {token['token']}", "X-Position": "bad"}
    app.test_client().post("/api/crews/K1/gps", json={"lon": 8.4, "lat": 49.0}, headers=bearer)
    rows = ok(ada.get("/api/audit"))
    assert [r["seq"] for r in rows] == sorted((r["seq"] for r in rows), reverse=True)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_action.setdefault(row["action"], []).append(row)
    intake = by_action["events"]
    assert [r["outcome"] for r in intake] == ["conflict", "ok"]
    first = intake[-1]
    assert first["username"] == "dora" and (first["lon"], first["lat"]) == (8.401, 49.002)
    assert first["detail"]["events"] == ["s1"]
    (gps,) = by_action["crew_gps"]
    assert gps["username"] == "k1" and gps["device"] == token["id"] and gps["ref"] == "K1"
    assert gps["lon"] is None  # a malformed X-Position is not recorded
    assert {r["username"] for r in by_action["login"]} == {"ada", "dora"}
    assert by_action["device_add"][0]["username"] == "ada"
    assert len(ok(ada.get("/api/audit?limit=2"))) == 2
    assert dora.get("/api/audit").status_code == 403


def test_health_and_session(client: FlaskClient, dora: User) -> None:
    health = ok(client.get("/api/health"))
    assert health["status"] == "ok" and datetime.fromisoformat(health["clock"])
    assert client.get("/api/session").status_code == 401
    me = ok(dora.get("/api/session"))
    assert me["user"] == {"username": "dora", "role": "dispatcher", "crew": None}
    assert me["csrf_token"] and me["device"] is None


# ------------------------------------------- authority (issue 13, probes 1-3 and 7)
def test_events_are_checked_against_the_senders_role(
    app: Flask, dora: User, eng: User, k1: User, k2: User
) -> None:
    j1, j2 = _two_jobs(dora)
    # An engineer may not recall through /api/events what /api/jobs refuses it.
    recall = ev("e-recall", "job_recall", 60, job=j1, reason="no")
    doc = ok(eng.post("/api/events", json=recall), 403)
    assert doc["error"] == "an engineer may not send job_recall events"
    assert ok(dora.get(f"/api/jobs/{j1}"))["crew"] == "K1"
    # Nobody writes another name into the audit trail: the sender's is taken.
    b1 = outage_at(dora, "B1")["id"]
    confirm = ev("d-confirm", "outage_confirm", 90, outage=b1, user="ada", reason="seen")
    assert ok(dora.post("/api/events", json=confirm))["accepted"] == 1
    trail = ok(dora.get(f"/api/outages/{b1}"))["audit"]
    assert [a["actor"] for a in trail if a["reason"] == "seen"] == ["dora"]
    # A crew estimates or closes only its own jobs; another's is not found.
    # Restored after more than the 5 momentary minutes (B2 tripped at T0 + 30 s).
    ok(
        k2.post(
            f"/api/jobs/{j2}/restored", json={"time": (T0 + timedelta(seconds=340)).isoformat()}
        )
    )
    forged = {"etr": (T0 + timedelta(days=1000)).isoformat()}
    assert ok(k1.post(f"/api/jobs/{j2}/estimate", json=forged), 404)["error"] == (f"no job {j2!r}")
    closeout = {
        "cause": "tree",
        "equipment": "conductor",
        "actions": "none",
        "outage_start": T0.isoformat(),
        "outage_end": (T0 + timedelta(minutes=10)).isoformat(),
    }
    ok(k1.post(f"/api/jobs/{j2}/close", json={"closeout": closeout}), 404)
    theirs = ok(k2.get(f"/api/jobs/{j2}"))
    assert theirs["state"] == "restored" and theirs["etr_source"] != "crew"
    # Another crew's job and one that does not exist answer alike.
    for job in (j2, "JOB-999999"):
        assert k1.get(f"/api/jobs/{job}").get_json()["error"] == f"no job {job!r}"
        assert ok(k1.post(f"/api/jobs/{job}/arrive", json={}), 404)["error"] == f"no job {job!r}"
    # A request with an event the sender may send is not a 403 as a whole.
    mixed = [ev("e-recall-2", "job_recall", 61, job=j1), ev("e-call", "call", 62, customer="b1-1")]
    doc = ok(eng.post("/api/events", json=mixed), 422)
    assert doc["accepted"] == 1 and "may not send job_recall" in doc["rejected"][0]["error"]
