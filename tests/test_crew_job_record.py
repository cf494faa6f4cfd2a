"""The job as a crew reads it in the field (GET /api/jobs/<id>): the customer's
record and supply for a service job, the critical premises out for a network
job, and a crew sees neither of another crew's job. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from conftest import sign_in
from emergency_plans import PLAN, PLANNED, load_plans

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def _signed(app: Any, username: str) -> tuple[Any, str]:
    client = app.test_client()
    return client, sign_in(client, username)


def _post(client: Any, token: str, path: str, body: Any) -> Any:
    r = client.post(path, json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_json()
    return r


def _job_of(client: Any, **match: Any) -> dict[str, Any]:
    jobs = client.get("/api/jobs?open=1").get_json()
    found = [j for j in jobs if all(j.get(k) == v for k, v in match.items())]
    assert len(found) == 1, jobs
    return found[0]


def _assign(dora: Any, token: str, job: str, crew: str = "K1") -> None:
    body = {"crew": crew, "time": (T0 + timedelta(minutes=1)).isoformat()}
    _post(dora, token, f"/api/jobs/{job}/assign", body)


def test_a_service_job_has_the_customer_record_and_supply(app: Any) -> None:
    dora, token = _signed(app, "dora")
    call = {"id": "c1", "type": "call", "time": T0.isoformat(), "customer": "a9-1"}
    _post(dora, token, "/api/events", call)
    job = _job_of(dora, customer="a9-1")
    assert job["kind"] == "single_customer"
    _assign(dora, token, job["id"])
    k1, _ = _signed(app, "k1")
    doc = k1.get(f"/api/jobs/{job['id']}").get_json()
    c = doc["customer_details"]
    assert c["id"] == "a9-1" and c["name"] == "Customer a9-1"
    assert c["meter"] == "M-a9-1" and c["account"] is None  # no account column in this file
    assert c["critical"] == "life_support" and c["node"] == "a9"
    assert c["emergency_plan"] is None  # the file has no emergency_plan column
    # a9 hangs off transformer X1 on the lateral of feeder breaker B1 (from S1);
    # T1 and T2 above B1 are the substation's, not the supply transformer.
    assert c["transformer"] == {"id": "X1", "name": None}
    assert c["feeder"] == {"id": "B1", "name": None}
    assert (c["source"], c["source_name"]) == ("S1", "Substation 1")
    assert "critical_premises" not in doc  # a service job's outage is its one customer
    # The crew of another zone cannot read it at all.
    k2, _ = _signed(app, "k2")
    assert k2.get(f"/api/jobs/{job['id']}").status_code == 404


def test_a_customer_cut_off_is_placed_on_its_normal_supply(app: Any) -> None:
    dora, token = _signed(app, "dora")
    lockout = {"id": "s1", "type": "scada", "time": T0.isoformat(), "device": "B1"}
    _post(dora, token, "/api/events", {**lockout, "state": "open", "lockout": True})
    later = (T0 + timedelta(minutes=5)).isoformat()
    _post(
        dora, token, "/api/events", {"id": "c1", "type": "call", "time": later, "customer": "a3-1"}
    )
    network_job = _job_of(dora, device="B1")
    _assign(dora, token, network_job["id"])
    k1, _ = _signed(app, "k1")
    doc = k1.get(f"/api/jobs/{network_job['id']}").get_json()
    assert "customer_details" not in doc  # a network job names no customer
    premises = doc["critical_premises"]
    assert premises["total"] == 1
    assert premises["listed"] == [
        {
            "id": "a9-1",
            "name": "Customer a9-1",
            "address": None,
            "phone": premises["listed"][0]["phone"],
            "critical": "life_support",
            "emergency_plan": None,
            "node": "a9",
        }
    ]
    assert premises["listed"][0]["phone"].startswith("+100")
    from webmap.job_field import supply_of

    with app.app_context():
        from webmap.db import network

        # a3 is dead behind the open B1: its supply is read on the normal network.
        assert supply_of(network(), "a3") == {
            "transformer": None,
            "feeder": {"id": "B1", "name": None},
            "source": "S1",
            "source_name": "Substation 1",
        }
        assert supply_of(network(), "NOPE")["feeder"] is None


def test_a_network_job_lists_no_premises_when_none_is_critical(app: Any) -> None:
    dora, token = _signed(app, "dora")
    lockout = {"id": "s2", "type": "scada", "time": T0.isoformat(), "device": "B2"}
    _post(dora, token, "/api/events", {**lockout, "state": "open", "lockout": True})
    job = _job_of(dora, device="B2")
    doc = dora.get(f"/api/jobs/{job['id']}").get_json()
    assert doc["critical_premises"] == {"total": 0, "listed": []}
    assert doc["outage_details"]["critical_out"] == 0


def test_the_emergency_plan_comes_with_the_record_and_the_premises(
    app: Any, tmp_path: Path
) -> None:
    load_plans(app, tmp_path)
    dora, token = _signed(app, "dora")
    call = {"id": "c1", "type": "call", "time": T0.isoformat(), "customer": PLANNED}
    _post(dora, token, "/api/events", call)
    service = _job_of(dora, customer=PLANNED)
    _assign(dora, token, service["id"])
    k1, _ = _signed(app, "k1")
    record = k1.get(f"/api/jobs/{service['id']}").get_json()["customer_details"]
    assert record["critical"] == "life_support" and record["emergency_plan"] == PLAN
    # B1 above locks out: the network job's premises carry the plan too.
    later = (T0 + timedelta(minutes=5)).isoformat()
    lockout = {"id": "s1", "type": "scada", "time": later, "device": "B1"}
    _post(dora, token, "/api/events", {**lockout, "state": "open", "lockout": True})
    network_job = _job_of(dora, device="B1")
    premises = dora.get(f"/api/jobs/{network_job['id']}").get_json()["critical_premises"]
    assert [(p["id"], p["emergency_plan"]) for p in premises["listed"]] == [(PLANNED, PLAN)]
