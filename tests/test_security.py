"""Authority, sessions and time sanity (issue 13's probes, through the real app).

Each test repeats a probe of the campaign that failed: an event dated in
the future moving the engine clock for good, an intake that timed out
answered as a final conflict. The authority rules themselves are tested
without a database in ``test_authority.py`` and through the API in
``test_api.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import sign_in

from oms.engine import OutageEngine
from oms.storage.db import connect
from webmap.service import IntakeTimeout

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def _event(eid: str, at: datetime, device: str = "B1") -> dict[str, Any]:
    return {"id": eid, "type": "scada", "time": at.isoformat(), "device": device, "state": "open"}


# ------------------------------------------------------------- time sanity
def test_an_event_from_the_future_is_rejected_and_never_moves_the_clock(loaded_db: str) -> None:
    engine = OutageEngine(connect(loaded_db), wall_clock=lambda: NOW)
    report = engine.ingest_objects(
        [
            (1, _event("far", datetime(2099, 1, 1, tzinfo=timezone.utc))),
            (2, _event("soon", NOW + timedelta(minutes=4))),  # within the 5 min skew
            (3, _event("later", NOW + timedelta(minutes=6), "B2")),
        ]
    )
    assert report.accepted == 1
    assert [r["line"] for r in report.rejected] == [1, 3]
    assert "ahead of the clock (at most 300 s is accepted)" in report.rejected[0]["error"]
    assert engine.clock == NOW + timedelta(minutes=4)
    # It survives a restart: the clock is what was applied.
    assert OutageEngine(connect(loaded_db), wall_clock=lambda: NOW).clock == engine.clock


@pytest.fixture
def strict_app(web_db: str) -> Iterator[Any]:
    """The app as shipped: the default engine configuration (5 min skew)."""
    from webmap import create_app

    app = create_app({"TESTING": True, "OMS_DB": web_db, "OMS_TICK_S": 0, "SECRET_KEY": "t"})
    app.extensions["oms.service"].clock = lambda: NOW
    yield app
    app.extensions["oms.service"].stop()
    app.extensions["oms.storage.db"].dispose()


def test_every_http_intake_rejects_the_future_by_the_services_clock(strict_app: Any) -> None:
    client = strict_app.test_client()
    token = sign_in(client, "dora")
    ahead = _event("ahead", datetime(2099, 1, 1, tzinfo=timezone.utc))
    r = client.post("/api/events", json=ahead, headers={"X-CSRFToken": token})
    assert r.status_code == 422 and "ahead of the clock" in r.get_json()["rejected"][0]["error"]
    # A crew action carrying its own time goes through the same rule.
    switch = {"device": "SW1", "state": "open", "confirm": True, "time": "2099-01-01T00:00:00Z"}
    r = client.post("/api/switch", json=switch, headers={"X-CSRFToken": token})
    assert r.status_code == 422
    assert strict_app.extensions["oms.service"].engine.clock is None  # nothing moved it


# ------------------------------------------------------ retry, never "conflict"
def test_an_intake_that_timed_out_is_503_with_retry_after(app: Any, monkeypatch: Any) -> None:
    client = app.test_client()
    token = sign_in(client, "dora")

    def hung(*_a: Any, **_k: Any) -> Any:
        raise IntakeTimeout("no server process applied the events within 30 s")

    monkeypatch.setattr(app.extensions["oms.service"], "ingest", hung)
    r = client.post("/api/events", json=_event("e1", NOW), headers={"X-CSRFToken": token})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert "no server process" in r.get_json()["error"]


# ----------------------------------------------------------- security events
def test_refused_requests_are_recorded_and_a_burst_alerts_the_admins(app: Any) -> None:
    from webmap.audit import SECURITY_BURST

    crew = app.test_client()
    token = sign_in(crew, "k1")
    for _ in range(SECURITY_BURST):
        assert crew.post("/api/switch", json={}, headers={"X-CSRFToken": token}).status_code == 403
    bogus = app.test_client().get("/api/jobs", headers={"Authorization": "Bearer stolen"})
    assert bogus.status_code == 401
    admin = app.test_client()
    csrf = sign_in(admin, "ada")
    rows = admin.get("/api/audit", headers={"X-CSRFToken": csrf}).get_json()
    refused = [r for r in rows if r["action"] == "refused:role"]
    assert len(refused) == SECURITY_BURST
    assert {(r["username"], r["ref"], r["outcome"]) for r in refused} == {
        ("k1", "POST /api/switch", "refused")
    }
    assert any(r["action"] == "refused:token" for r in rows)
    alerts = admin.get("/api/alerts").get_json()
    (alert,) = [a for a in alerts if a["kind"] == "security"]
    assert alert["level"] == "breach" and alert["detail"]["username"] == "k1"
