"""The one authorization table (oms.authority): rules tested without a database."""

from __future__ import annotations

import pytest

from oms.authority import RULES, SYSTEM, Principal, admit, roles_for
from oms.exceptions import Forbidden
from oms.intake.events import ACTION_TYPES, TELEMETRY_TYPES

DORA = Principal("dora", "dispatcher")
ENG = Principal("eng", "engineer")
K1 = Principal("k1", "crew", "K1")
ADA = Principal("ada", "admin")
MQTT = Principal("mqtt", "intake")


def test_every_event_type_has_exactly_one_rule() -> None:
    assert set(RULES) == set(ACTION_TYPES) | set(TELEMETRY_TYPES)


@pytest.mark.parametrize("etype", sorted(ACTION_TYPES | TELEMETRY_TYPES))
def test_admin_and_system_may_send_everything(etype: str) -> None:
    event = {"id": "x", "type": etype, "user": "someone"}
    assert admit(SYSTEM, event) is event  # a replayed log keeps its own names
    assert admit(ADA, event)["type"] == etype


def test_the_sender_is_stamped_on_actions_never_taken_from_the_body() -> None:
    forged = {"id": "x", "type": "outage_confirm", "outage": "OUT-1", "user": "ada"}
    assert admit(DORA, forged)["user"] == "dora"
    assert forged["user"] == "ada"  # the caller's object is left alone
    call = {"id": "c", "type": "call", "customer": "a"}
    assert "user" not in admit(MQTT, call)  # telemetry keeps contract 3's fields


@pytest.mark.parametrize(
    ("who", "etype"),
    [
        (ENG, "job_recall"),
        (ENG, "outage_confirm"),
        (K1, "job_assign"),
        (K1, "switch"),
        (K1, "call"),
        (MQTT, "job_close"),
        (MQTT, "switch"),
        (DORA, "no_such_rule_is_a_parse_error_not_a_rule"),
    ],
)
def test_roles_outside_the_rule_are_forbidden(who: Principal, etype: str) -> None:
    event = {"id": "x", "type": etype}
    if etype not in RULES:
        assert admit(who, event) is event  # left to the parser to name
        return
    with pytest.raises(Forbidden, match=f"an? {who.role} may not send {etype}"):
        admit(who, event)


def test_a_crew_acts_for_its_own_crew_only() -> None:
    stage = admit(K1, {"id": "x", "type": "job_arrive", "job": "JOB-1"})
    assert (stage["crew"], stage["user"]) == ("K1", "k1")
    with pytest.raises(Forbidden, match="crew K1 may not act for crew 'K2'"):
        admit(K1, {"id": "x", "type": "crew_gps", "crew": "K2", "lon": 0, "lat": 0})
    with pytest.raises(Forbidden, match="belongs to no crew"):
        admit(Principal("lost", "crew"), {"id": "x", "type": "job_arrive", "job": "JOB-1"})


def test_routes_read_their_roles_from_the_table() -> None:
    from webmap.api import JOB_ACTIONS

    assert roles_for("job_recall") == ("dispatcher",)
    assert {a: x.roles for a, x in JOB_ACTIONS.items()} == {
        a: roles_for(x.event) for a, x in JOB_ACTIONS.items()
    }
