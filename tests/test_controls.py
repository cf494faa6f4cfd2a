"""Honest controls (issue 14): operating a device into the state it already has
is refused with the reason, in the engine core (no database) and through the
HTTP intakes (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import sign_in
from helpers import batch, build, two_feeders

from oms.config import EngineConfig
from oms.engine.core import EngineCore, Stored
from oms.exceptions import ActionError

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)


def _core(**config: Any) -> EngineCore:
    return EngineCore(
        build(two_feeders()), EngineConfig.from_dict({"pings": False, **config}), Stored()
    )


def _event(
    n: int, etype: str, device: str, state: str, minutes: float, **more: Any
) -> dict[str, Any]:
    when = (T0 + timedelta(minutes=minutes)).isoformat()
    return {"id": f"e{n}", "type": etype, "time": when, "device": device, "state": state, **more}


def _refusal(core: EngineCore, event: dict[str, Any]) -> str:
    """The reason the core refuses ``event``; checks that nothing changed."""
    closed = core.net.edge_closed.copy()
    tripped, rows = dict(core.devices.tripped), dict(core.devices.rows)
    outages = [(o.id, o.state) for o in core.outages.everything()]
    with pytest.raises(ActionError) as refused:
        batch(core, [event])
    assert (core.net.edge_closed == closed).all()
    assert core.devices.tripped == tripped and core.devices.rows == rows
    assert [(o.id, o.state) for o in core.outages.everything()] == outages
    assert core.operations == []
    return str(refused.value)


def test_a_device_in_its_normal_state_is_not_operated_into_it() -> None:
    core = _core()
    assert _refusal(core, _event(1, "switch", "TIE1", "open", 0, user="dora")) == (
        "TIE1 is already open (its normal state)"
    )
    assert _refusal(core, _event(2, "switch", "SW1", "closed", 0)) == (
        "SW1 is already closed (its normal state)"
    )


def test_operating_twice_is_refused_the_second_time_with_since_when() -> None:
    core = _core()
    batch(core, [_event(1, "switch", "SW1", "open", 2, user="dora")])
    assert not core.net.edge_closed[core.net.edge_index["SW1"]]
    why = _refusal(core, _event(2, "switch", "SW1", "open", 5, user="dora"))
    assert why == "SW1 is already open (since 08:02 UTC)"
    # Closing it again is an operation; SCADA repeating a state is telemetry, never refused.
    batch(core, [_event(3, "switch", "SW1", "closed", 6, user="dora")])
    batch(core, [_event(4, "scada", "SW1", "closed", 7)])
    assert core.net.edge_closed[core.net.edge_index["SW1"]]


def test_opening_a_tripped_breaker_is_refused_and_closing_it_recloses() -> None:
    core = _core(dispatch={"rules": {"time_zone": "Europe/Berlin"}})
    batch(core, [_event(1, "scada", "B1", "open", 1, lockout=True)])
    [outage] = core.outages.active("network")
    why = _refusal(core, _event(2, "switch", "B1", "open", 3, user="dora"))
    assert why == "B1 is already open (tripped at 10:01 CEST, locked out)"
    # The next day the time carries its date.
    why = _refusal(core, _event(3, "switch", "B1", "open", 24 * 60 + 3, user="dora"))
    assert why == "B1 is already open (tripped at 2026-05-01 10:01 CEST, locked out)"
    # Closing it onto its fault, not yet repaired, is a warning to acknowledge.
    why = _refusal(core, _event(4, "switch", "B1", "closed", 24 * 60 + 4, user="dora"))
    assert (
        why
        == "close B1 would energize a section under a fault not yet repaired (acknowledge: faulted)"
    )
    # Closed by hand, the breaker is back: no longer tripped, its outage restored.
    closing = _event(4, "switch", "B1", "closed", 24 * 60 + 5, user="dora", acknowledge=["faulted"])
    batch(core, [closing])
    e = core.net.edge_index["B1"]
    assert e not in core.devices.tripped and e not in core.devices.lockout
    assert core.outages.find(outage.id).state == "restored"
    assert _refusal(core, _event(5, "switch", "B1", "closed", 24 * 60 + 6, user="dora")).startswith(
        "B1 is already closed (since "
    )


# ----------------------------------------------------------- every intake
def _post(client: Any, token: str, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers={"X-CSRFToken": token})


def test_the_switch_route_and_the_event_intake_refuse_with_the_reason(
    app: Any, client: Any
) -> None:
    token = sign_in(client, "dora")
    trip = _event(1, "scada", "B1", "open", 1, lockout=True)
    assert _post(client, token, "/api/events", trip).get_json()["accepted"] == 1
    r = _post(client, token, "/api/switch", {"device": "B1", "state": "open", "confirm": True})
    assert r.status_code == 422, r.get_json()
    doc = r.get_json()
    assert doc["accepted"] == 0
    [line] = doc["rejected"]
    assert (
        line["error"].startswith("B1 is already open (tripped at ")
        and "locked out" in line["error"]
    )
    # The same event on the general intake: the line rejected as refused.
    again = _event(2, "switch", "B1", "open", 2)
    r = _post(client, token, "/api/events", again)
    [line] = r.get_json()["rejected"]
    assert line["error"] == "B1 is already open (tripped at 08:01 UTC, locked out)"
    # Closing it is an operation (onto its fault: acknowledged); closing it again is not.
    close = {"device": "B1", "state": "closed", "confirm": True}
    r = _post(client, token, "/api/switch", close)
    assert r.status_code == 422 and "(acknowledge: faulted)" in r.get_json()["rejected"][0]["error"]
    r = _post(client, token, "/api/switch", {**close, "acknowledge": ["faulted"]})
    assert r.status_code == 200 and r.get_json()["accepted"] == 1, r.get_json()
    r = _post(client, token, "/api/switch", close)
    assert r.status_code == 422
    assert "B1 is already closed (since " in r.get_json()["rejected"][0]["error"]
