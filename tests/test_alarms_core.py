"""Alarm levels and acknowledgement on the engine's core. No database.

The three alarm levels of the source documents (a warning before a target is
reached, the target reached, a breach of the standard) and ``info`` for the
rest (oms.engine.alerts); an ``alert_ack`` event is parsed, admitted by the
one authority table and recorded by the core for the repository to write.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_orders_core import T0, core_for, ev, files, only_job

from oms.authority import Principal, admit
from oms.engine.alerts import LEVELS
from oms.engine.core import EngineCore
from oms.exceptions import EventError, Forbidden
from oms.intake.events import parse_event

__all__ = ["files"]  # the module's fixture, shared


def step(core: EngineCore, events: list[dict[str, Any]], seconds: float | None = None) -> Any:
    """Apply events (or let time pass to T0 + ``seconds``); the book before it settles."""
    core.begin()
    for obj in events:
        core.apply(parse_event(obj, core.directory))
    if seconds is not None:
        core.advance(T0 + timedelta(seconds=seconds))
    core.reconcile()
    assert core.book is not None
    return core.book


def alerts_until(core: EngineCore, minutes: int) -> list[dict[str, Any]]:
    """Every alert of the minutes from now to ``minutes`` past T0, one tick a minute."""
    seen: list[dict[str, Any]] = []
    for m in range(1, minutes + 1):
        book = step(core, [], m * 60)
        seen += book.alerts
        core.settle()
    return seen


def test_targets_alarm_on_three_levels(files: dict[str, Path]) -> None:
    core = core_for(files, auto_dispatch=False)  # nobody goes: every target runs out
    step(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    core.settle()
    seen = alerts_until(core, 50)
    assert {a["level"] for a in seen} <= set(LEVELS)
    by_target = {(a["kind"], a["detail"]["target"]): a["level"] for a in seen}
    # A warning before a target is reached (50% and 75% of its limit) ...
    assert by_target[("warning", "CD")] == "warning"
    arrival = [a for a in seen if a["detail"].get("target") == "arrival"]
    shares = [a["detail"]["share"] for a in arrival if a["kind"] == "warning"]
    assert shares == [50, 75]
    # ... the target (a segment's limit: the repair centre did not dispatch in 2 min) ...
    assert by_target[("breach", "CD")] == "target"
    # ... and a breach of the standard: 45 minutes from report to arrival (urban).
    assert by_target[("breach", "arrival")] == "breach"
    job = only_job(core)
    assert {(a["unit"], a["zone"]) for a in seen} == {(job.unit, job.zone)} == {("U1", "Z-W")}


def test_an_order_not_taken_up_is_a_target_reached_and_so_is_each_escalation(
    files: dict[str, Path],
) -> None:
    core = core_for(files)
    step(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    core.settle()
    seen = alerts_until(core, 20)
    chain = [(a["kind"], a["level"]) for a in seen if a["kind"] in ("ack_timeout", "escalation")]
    assert chain == [("ack_timeout", "target")] + [("escalation", "target")] * 3


def test_the_dispatchers_own_doings_are_info(files: dict[str, Path]) -> None:
    core = core_for(files)
    step(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    core.settle()
    job = only_job(core)
    book = step(core, [ev("r", "job_recall", 60, job=job.id, user="dora")])
    (recalled,) = [a for a in book.alerts if a["kind"] == "recalled"]
    assert recalled["level"] == "info"


def test_an_acknowledgement_is_recorded_with_who_and_when(files: dict[str, Path]) -> None:
    core = core_for(files)
    ack = admit(Principal("dora", "dispatcher"), ev("a1", "alert_ack", 30, alerts=[7, 3, 7]))
    book = step(core, [ack])
    assert book.acks == [{"alerts": [3, 7], "by": "dora", "at": T0 + timedelta(seconds=30)}]
    assert core.clock == T0 + timedelta(seconds=30)
    # The feed tells every dispatcher which alerts were acknowledged (the
    # repository first leaves out those acknowledged before).
    rows = [r for r in book.feed(core.clock) if r["kind"] == "alert_ack"]
    assert rows[0]["data"] == {"alerts": [3, 7], "by": "dora", "at": "2026-03-01T10:00:30+00:00"}
    core.settle()
    assert core.book is not None and core.book.acks == []


@pytest.mark.parametrize(
    "alerts", [None, [], ["3"], [0], [-1], [True], [1.5], 3, [2**63], list(range(1, 5002))]
)
def test_an_acknowledgement_names_alerts_by_number(files: dict[str, Path], alerts: Any) -> None:
    core = core_for(files)
    event = ev("a1", "alert_ack", 0)
    if alerts is not None:
        event["alerts"] = alerts
    with pytest.raises(EventError, match="alerts must be a list of 1 to 5000"):
        parse_event(event, core.directory)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (Principal("dora", "dispatcher"), True),
        (Principal("ada", "admin"), True),
        (Principal("eng", "engineer"), False),
        (Principal("k1", "crew", "K1"), False),
        (Principal("mqtt", "intake"), False),
    ],
)
def test_dispatchers_and_admins_acknowledge(who: Principal, allowed: bool) -> None:
    event = ev("a1", "alert_ack", 0, alerts=[1], user="someone-else")
    if allowed:
        assert admit(who, event)["user"] == who.username  # never the body's name
    else:
        with pytest.raises(Forbidden):
            admit(who, event)
