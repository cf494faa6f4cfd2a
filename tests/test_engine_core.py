"""Fault-location and outage rules on the engine's core: in memory, no database.

The network is ``helpers.two_feeders`` with one metered customer per count
(a1 2, a3 3, a4 4, a5 6, a6 7 and a9 5 fed through B1; R1 feeds a3..a6, F1
feeds a9 through transformer X1; b1..b4 through B2; c2 8 through B3;
``a9-1`` is on life support). The same rules run through the database in
``test_engine.py``; here each test takes milliseconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import batch, build, customers_csv, edge, node, tick, two_feeders

from oms.config import EngineConfig
from oms.engine.core import EngineCore, Stored
from oms.exceptions import ActionError, OutageNotFound
from oms.intake.events import parse_event
from oms.outages import Outage
from topology.io import attach_customers, read_customers
from topology.model import Customers

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def customers_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("core") / "customers.csv"
    path.write_text(customers_csv(two_feeders()))
    return path


def core_for(customers_file: Path, **config: Any) -> EngineCore:
    net = build(two_feeders())
    attach_customers(net, read_customers(customers_file, net))
    return EngineCore(net, EngineConfig.from_dict({"pings": False, **config}), Stored())


def ev(eid: str, etype: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "type": etype,
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }


def outages(core: EngineCore) -> list[Outage]:
    return sorted(
        (o for o in core.outages.everything() if o.state != "cancelled"), key=lambda o: o.id
    )


def at_devices(core: EngineCore) -> dict[str, Outage]:
    return {o.device: o for o in outages(core) if o.kind != "single_customer" and o.device}


def test_calls_under_a_fuse_predict_the_fuse(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 60, customer="a9-3")])
    (o,) = at_devices(core).values()
    assert (o.device, o.state, o.customers_out, o.critical_out, o.calls, o.started) == (
        "F1",
        "predicted",
        5,
        1,
        2,
        T0,
    )


def test_calls_across_the_recloser_roll_up_to_it(customers_file: Path) -> None:
    core = core_for(customers_file)
    calls = ["a3-1", "a4-2", "a5-1", "a5-4", "a6-3", "a6-6"]
    batch(core, [ev(f"c{i}", "call", 30 * i, customer=c) for i, c in enumerate(calls)])
    assert list(at_devices(core)) == ["R1"]
    assert at_devices(core)["R1"].customers_out == 20


def test_one_call_is_a_single_customer_outage_until_power_is_back(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [ev("c1", "call", 0, customer="b1-4", hazard="wire_down")])
    (o,) = outages(core)
    assert (o.kind, o.device, o.customer, o.hazard) == ("single_customer", None, "b1-4", True)
    batch(core, [ev("c2", "call", 600, customer="b1-4", power="on")])
    assert o.state == "restored"


def test_a_lone_callers_outage_merges_into_the_fuse_a_second_call_predicts(
    customers_file: Path,
) -> None:
    core = core_for(customers_file)
    batch(core, [ev("c1", "call", 0, customer="a9-2")])
    (lone,) = outages(core)
    assert (lone.kind, lone.customer) == ("single_customer", "a9-2")
    batch(core, [ev("c2", "call", 60, customer="a9-3")])
    fuse = at_devices(core)["F1"]
    assert (lone.state, lone.merged_into) == ("cancelled", fuse.id)


def test_a_network_without_any_protective_device_keeps_taking_calls() -> None:
    """A published feeder of lines only (no breaker, fuse or recloser): no
    device to predict, so each caller is a single-customer outage, batch
    after batch (the figures once indexed an empty array of feeders)."""
    net = build(
        [
            node("S1", 0, 0, "source"),
            *(node(f"n{k}", k, 0) for k in (1, 2)),
            edge("L1", "line", "S1", "n1"),
            edge("L2", "line", "n1", "n2"),
        ]
    )
    attach_customers(net, Customers(["c1", "c2"], np.array([1, 2])))
    core = EngineCore(net, EngineConfig.from_dict({"pings": False}), Stored())
    assert len(core.tree) == 0
    batch(core, [ev("c1", "call", 0, customer="c1")])
    batch(core, [ev("c2", "call", 60, customer="c2")])
    assert [(o.kind, o.customer) for o in outages(core)] == [
        ("single_customer", "c1"),
        ("single_customer", "c2"),
    ]


def test_a_lockout_is_a_confirmed_outage_from_the_trip(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    o = at_devices(core)["R1"]
    assert (o.state, o.confirmed_by, o.started, o.customers_out) == ("confirmed", "scada", T0, 20)
    batch(core, [ev("s2", "scada", 1800, device="R1", state="closed")])
    assert (o.state, o.restored) == ("restored", T0 + timedelta(seconds=1800))
    assert [a["action"] for a in core.changes.audit] == ["restore"]


def test_a_trip_and_reclose_between_predictions_is_momentary(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(
        core,
        [
            ev("s1", "scada", 0, device="R1", state="open"),
            ev("s2", "scada", 20, device="R1", state="closed"),
        ],
    )
    (o,) = outages(core)
    assert (o.kind, o.state, o.device) == ("momentary", "restored", "R1")


def test_last_gasps_of_a_lateral_predict_its_fuse(customers_file: Path) -> None:
    core = core_for(customers_file)
    gasps = [ev(f"g{k}", "ami_last_gasp", k, customer=f"a9-{k}") for k in range(1, 5)]
    batch(core, gasps)
    assert list(at_devices(core)) == ["F1"]


def test_the_dispatcher_moves_pins_and_merges(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 60, customer="a9-3")])
    f1 = at_devices(core)["F1"]
    batch(core, [ev("a1", "outage_confirm", 120, outage=f1.id, device="B1", user="dora")])
    assert (f1.device, f1.state, f1.confirmed_by, f1.pinned) == (
        "B1",
        "confirmed",
        "dispatcher",
        True,
    )
    assert f1.customers_out == 27  # everything B1 feeds
    batch(core, [ev("c3", "call", 180, customer="c2-1"), ev("c4", "call", 200, customer="c2-2")])
    b3 = at_devices(core)["B3"]
    merge = ev("a2", "outage_merge", 240, into=f1.id, outages=[f1.id, b3.id], user="dora")
    batch(core, [merge])
    assert (b3.state, b3.merged_into) == ("cancelled", f1.id)


def test_a_customers_outage_confirmed_at_a_device_is_one_network_outage(
    customers_file: Path,
) -> None:
    """Confirmed at a device, a single customer's outage becomes the network
    outage there; the next passes find it there and open no other."""
    core = core_for(customers_file)
    batch(core, [ev("c1", "call", 0, customer="b1-4")])
    (o,) = outages(core)
    assert o.kind == "single_customer"
    batch(core, [ev("a1", "outage_confirm", 60, outage=o.id, device="B2", user="dora")])
    assert core.outages.active("network") == [o]
    batch(core, [ev("c2", "call", 120, customer="b2-1")])
    tick(core, T0 + timedelta(minutes=10))
    assert [(x.id, x.kind, x.device) for x in outages(core)] == [(o.id, "network", "B2")]


def test_a_split_outage_is_found_below_the_device_above_it(customers_file: Path) -> None:
    """Split, the outage moved to its first device is indexed there: a
    restoration above keeps its evidence (EngineCore._network_below)."""
    core = core_for(customers_file)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    r1 = at_devices(core)["R1"]
    b1 = core.position("B1")
    assert b1 is not None and core._network_below(b1) == [r1]
    split = ev("a1", "outage_split", 60, outage=r1.id, devices=["F1", "R1"], user="dora")
    batch(core, [split])
    moved = {o.device: o for o in core._network_below(b1)}
    assert set(moved) == {"F1", "R1"} and moved["F1"] is r1


def test_refused_actions_change_nothing(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 60, customer="a9-3")])
    f1 = at_devices(core)["F1"]
    core.begin()
    with pytest.raises(ActionError, match="restore it before closing"):
        core.apply(parse_event(ev("a1", "outage_close", 90, outage=f1.id), core.directory))
    with pytest.raises(ActionError, match="not a protective device"):
        move = ev("a2", "outage_confirm", 90, outage=f1.id, device="L4")
        core.apply(parse_event(move, core.directory))
    with pytest.raises(OutageNotFound):
        core.apply(parse_event(ev("a3", "outage_restore", 90, outage="OUT-999999"), core.directory))
    assert (f1.state, f1.device) == ("predicted", "F1")
    assert core.changes.audit == []


def test_partial_restoration_leaves_a_nested_outage(customers_file: Path) -> None:
    core = core_for(customers_file, prediction={"restore_grace_s": 60.0})
    batch(core, [ev("s1", "scada", 0, device="B1", state="open", lockout=True)])
    batch(core, [ev(f"g{i}", "ami_last_gasp", 5, customer=f"a9-{i + 1}") for i in range(5)])
    b1 = at_devices(core)["B1"]
    # The breaker closes but the fuse is blown: a9's meters never report back.
    batch(
        core,
        [ev("s2", "scada", 3000, device="B1", state="closed")]
        + [
            ev(f"r{i}", "ami_restore", 3010, customer=c)
            for i, c in enumerate(["a1-1", "a3-1", "a4-1", "a5-1", "a6-1", "a6-2"])
        ],
    )
    assert b1.state == "restored"
    tick(core, T0 + timedelta(seconds=3200))  # past the restore grace: the silent meters count
    f1 = at_devices(core)["F1"]
    assert f1.active and f1.started <= T0 + timedelta(seconds=5)


def test_a_nested_outage_stays_when_the_outage_above_is_restored(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 20, customer="a9-3")])
    batch(core, [ev("s1", "scada", 3000, device="B1", state="open", lockout=True)])
    outs = at_devices(core)
    assert (outs["B1"].customers_out, outs["F1"].customers_out) == (22, 5)
    batch(core, [ev("s2", "scada", 5000, device="B1", state="closed")])
    assert (outs["B1"].state, outs["F1"].state, outs["F1"].started) == ("restored", "predicted", T0)


def test_evidence_expires_with_the_window(customers_file: Path) -> None:
    core = core_for(customers_file, prediction={"window_hours": 1})
    batch(core, [ev("c1", "call", 0, customer="b1-4")])
    (o,) = outages(core)
    tick(core, T0 + timedelta(seconds=2 * 3600))
    assert o.state == "cancelled"
    assert not core.ev.live.any()


# ----------------------------------------------------- transformers as outage points
def _lateral_of_transformers() -> list[dict[str, Any]]:
    """S -B- m1 -R- m2 -L- m3, with three unfused transformers T1..T3 off m3
    feeding s1..s3 (4 customers each), as most utility GIS models draw them."""
    from helpers import edge, node

    features = [
        node("S", 0, 0, "source"),
        node("m1", 1, 0),
        node("m2", 2, 0),
        node("m3", 3, 0),
        edge("B", "breaker", "S", "m1", scada=True),
        edge("R", "recloser", "m1", "m2"),
        edge("L", "line", "m2", "m3"),
    ]
    for k in (1, 2, 3):
        features += [
            node(f"s{k}", 3 + k, 1, customers=4),
            edge(f"T{k}", "transformer", "m3", f"s{k}"),
        ]
    return features


def _core_of(features: list[dict[str, Any]], tmp: Path, **config: Any) -> EngineCore:
    path = tmp / "t-customers.csv"
    path.write_text(customers_csv(features))
    net = build(features)
    attach_customers(net, read_customers(path, net))
    return EngineCore(net, EngineConfig.from_dict({"pings": False, **config}), Stored())


def test_calls_under_an_unfused_transformer_predict_the_transformer(tmp_path: Path) -> None:
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev("c1", "call", 0, customer="s2-1"), ev("c2", "call", 40, customer="s2-3")])
    (o,) = at_devices(core).values()
    assert (o.device, o.kind, o.customers_out) == ("T2", "network", 4)


def test_last_gasps_of_one_transformer_predict_it(tmp_path: Path) -> None:
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev(f"g{k}", "ami_last_gasp", k, customer=f"s3-{k}") for k in (1, 2, 3, 4)])
    assert list(at_devices(core)) == ["T3"]


def test_outage_points_are_configurable(tmp_path: Path) -> None:
    points = ["breaker", "recloser", "sectionalizer", "fuse"]
    core = _core_of(_lateral_of_transformers(), tmp_path, prediction={"outage_points": points})
    batch(core, [ev(f"g{k}", "ami_last_gasp", k, customer=f"s3-{k}") for k in (1, 2, 3, 4)])
    assert "T3" not in at_devices(core)


def test_a_transformer_behind_its_own_fuse_leaves_the_outage_to_the_fuse(
    customers_file: Path,
) -> None:
    # two_feeders: X1 feeds a9's 5 customers, exactly what fuse F1 cuts off.
    core = core_for(customers_file)
    assert core.position("X1") is None and core.position("F1") is not None


# --------------------------------------------- the operator's own switching
def _switch(eid: str, seconds: float, device: str, state: str) -> dict[str, Any]:
    return ev(eid, "switch", seconds, device=device, state=state, user="dora")


def _a5_a6_report(seconds: float) -> list[dict[str, Any]]:
    """Every meter of a5 and a6 (cut off by SW1) gasps; two customers call."""
    gasps = [
        ev(f"g-{n}-{k}", "ami_last_gasp", seconds + 30, customer=f"{n}-{k}")
        for n, count in (("a5", 6), ("a6", 7))
        for k in range(1, count + 1)
    ]
    calls = [
        ev("c-a5", "call", seconds + 120, customer="a5-2"),
        ev("c-a6", "call", seconds + 180, customer="a6-5"),
    ]
    return gasps + calls


def test_opening_a_switch_records_a_switching_interruption_not_faults(
    customers_file: Path,
) -> None:
    core = core_for(customers_file)
    batch(core, [_switch("op1", 0, "SW1", "open")])
    (o,) = outages(core)
    assert (o.kind, o.device, o.state, o.confirmed_by, o.customers_out) == (
        "switching",
        "SW1",
        "confirmed",
        "switching",
        13,
    )
    batch(core, _a5_a6_report(0))
    tick(core, T0 + timedelta(seconds=900))
    assert outages(core) == [o]  # no predicted outage, no single-customer outage
    assert o.calls == 2
    batch(core, [_switch("op2", 1800, "SW1", "closed")])
    assert (o.state, o.restored) == ("restored", T0 + timedelta(seconds=1800))
    # Meters report back over a minute; nothing is predicted from what they said before.
    restores = [
        ev(f"r-{n}-{k}", "ami_restore", 1830, customer=f"{n}-{k}")
        for n, count in (("a5", 6), ("a6", 7))
        for k in range(1, count + 1)
    ]
    batch(core, restores)
    tick(core, T0 + timedelta(seconds=3600))
    assert outages(core) == [o]


def test_a_tie_closed_restores_the_switching_interruption(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [_switch("op1", 0, "SW1", "open")])
    batch(core, _a5_a6_report(0)[:5])
    batch(core, [_switch("op2", 240, "TIE1", "closed")])  # a5, a6 fed from S2 now
    (o,) = outages(core)
    assert (o.kind, o.state) == ("switching", "restored")
    tick(core, T0 + timedelta(seconds=3600))
    assert outages(core) == [o]


def test_a_fault_elsewhere_is_still_found_while_switching(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [_switch("op1", 0, "SW1", "open")])
    batch(core, [ev("c1", "call", 60, customer="a9-2"), ev("c2", "call", 90, customer="a9-3")])
    assert {o.device: o.kind for o in outages(core)} == {"SW1": "switching", "F1": "network"}


# ------------------------------------------------------------------ meters
def test_a_lone_last_gasp_is_a_single_customer_outage_after_the_wait(customers_file: Path) -> None:
    core = core_for(customers_file, prediction={"lone_gasp_wait_s": 300})
    batch(core, [ev("g1", "ami_last_gasp", 0, customer="b1-3")])
    assert outages(core) == []  # a restore may still come
    tick(core, T0 + timedelta(seconds=301))
    (o,) = outages(core)
    assert (o.kind, o.customer, o.calls, o.started) == ("single_customer", "b1-3", 0, T0)


def test_a_gasp_followed_by_a_restore_is_nothing(customers_file: Path) -> None:
    core = core_for(customers_file)
    batch(core, [ev("g1", "ami_last_gasp", 0, customer="b1-3")])
    batch(core, [ev("r1", "ami_restore", 20, customer="b1-3")])
    tick(core, T0 + timedelta(seconds=900))
    assert [o for o in outages(core) if o.kind != "momentary"] == []


def test_who_is_metered_comes_from_the_file_the_default_and_the_meters(tmp_path: Path) -> None:
    features = two_feeders()
    path = tmp_path / "no-meters.csv"
    path.write_text(
        "\n".join(
            line.rsplit(",", 2)[0] + "," + line.rsplit(",", 1)[1]
            for line in customers_csv(features).splitlines()
        )
        + "\n"
    )  # the same customers without the meter column
    net = build(features)
    attach_customers(net, read_customers(path, net))
    assert "meter" not in (net.customers.fields if net.customers else {})
    plain = EngineCore(net, EngineConfig.from_dict({"pings": False}), Stored())
    assert not plain.units.metered.any()
    every = EngineCore(
        net,
        EngineConfig.from_dict({"pings": False, "prediction": {"metered_default": True}}),
        Stored(),
    )
    assert every.units.metered.all()
    u = plain.units.of("a3-1")
    before = int(plain.tree.meters[plain.position("R1")])
    batch(plain, [ev("g1", "ami_last_gasp", 0, customer="a3-1")])
    assert plain.units.metered[u]
    assert int(plain.tree.meters[plain.position("R1")]) == before + 1


# ------------------------------------------- after a restoration: meters left silent
def _recloser_out_then_back(core: EngineCore, silent: list[str], back_at: float = 600.0) -> Outage:
    """Every meter below R gasps; at ``back_at`` all but ``silent`` report back."""
    everyone = [f"s{k}-{i}" for k in (1, 2, 3) for i in (1, 2, 3, 4)]
    batch(core, [ev(f"g-{c}", "ami_last_gasp", 1, customer=c) for c in everyone])
    (r,) = at_devices(core).values()
    assert r.device == "R"
    back = [c for c in everyone if c not in silent]
    batch(core, [ev(f"r-{c}", "ami_restore", back_at, customer=c) for c in back])
    return r


def test_meters_that_miss_their_restore_are_not_outages_by_themselves(tmp_path: Path) -> None:
    # Two of T2's four meters lose their restore message (20% each): under
    # the likelihood that is weaker than a fault's prior, so no outage.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    r = _recloser_out_then_back(core, ["s2-1", "s2-3"])
    tick(core, T0 + timedelta(seconds=600 + 181))  # past the grace: partial restoration
    assert r.state == "restored"
    tick(core, T0 + timedelta(seconds=1500))
    assert list(at_devices(core)) == ["R"]


def test_a_transformer_whose_meters_all_stay_silent_is_a_nested_outage(tmp_path: Path) -> None:
    core = _core_of(_lateral_of_transformers(), tmp_path)
    r = _recloser_out_then_back(core, ["s2-1", "s2-2", "s2-3", "s2-4"])
    tick(core, T0 + timedelta(seconds=600 + 181))
    tick(core, T0 + timedelta(seconds=600 + 400))
    t2 = at_devices(core)["T2"]
    assert (r.state, t2.active, t2.started) == ("restored", True, T0 + timedelta(seconds=1))


def test_an_unanswered_ping_is_evidence_while_the_head_end_answers(tmp_path: Path) -> None:
    # Two of T2's meters stay silent when R comes back and are pinged. In one
    # engine the head-end answers another meter meanwhile, in its twin it
    # answers nobody: only the first counts the silence, once per ping.
    def delta_of_s21(answering: bool) -> float:
        core = _core_of(_lateral_of_transformers(), tmp_path, pings=True)
        _recloser_out_then_back(core, ["s2-1", "s2-3"])
        tick(core, T0 + timedelta(seconds=600 + 181))  # the restoration check pings them
        ids = core.units.ids or []
        s21 = ids.index("s2-1")
        assert core.ev.ping_sent[s21] > 0
        if answering:
            batch(core, [ev("p1", "ami_ping_reply", 900, customer="s1-1", energized=True)])
        tick(core, T0 + timedelta(seconds=600 + 181 + 121))
        table = core.table()
        return float(table.delta[list(table.units).index(s21)])

    silence = delta_of_s21(True) - delta_of_s21(False)
    assert silence == pytest.approx(EngineConfig().prediction.llr_ping_silent)


def test_an_unanswered_ping_is_asked_again_and_an_answer_clears_the_meter(
    tmp_path: Path,
) -> None:
    # T2 gasped with everyone under R; when R comes back only s2-1 stays silent.
    core = _core_of(_lateral_of_transformers(), tmp_path, pings=True)
    _recloser_out_then_back(core, ["s2-1"])
    tick(core, T0 + timedelta(seconds=600 + 181))  # the restoration check pings s2-1
    ids = core.units.ids or []
    s21 = ids.index("s2-1")
    first = core.ev.ping_sent[s21]
    assert first > 0
    # The head-end answers another meter after the timeout, not s2-1: asked again.
    batch(core, [ev("p1", "ami_ping_reply", 600 + 250, customer="s1-1", energized=True)])
    tick(core, T0 + timedelta(seconds=600 + 181 + 121))
    assert core.ev.ping_sent[s21] > first and core.ev.ping_missed[s21] == 1
    batch(core, [ev("p2", "ami_ping_reply", 600 + 320, customer="s2-1", energized=True)])
    tick(core, T0 + timedelta(seconds=3000))
    assert "T2" not in at_devices(core)


def test_after_a_restoration_each_silent_transformer_is_pinged_first(tmp_path: Path) -> None:
    # T3's four meters all stay silent, T2 lost one restore: T3 is asked
    # first (a nested outage may hide there); s2-2 fills the rest.
    core = _core_of(_lateral_of_transformers(), tmp_path, pings=True, pings_after_restoration=2)
    _recloser_out_then_back(core, ["s2-2", "s3-1", "s3-2", "s3-3", "s3-4"])
    tick(core, T0 + timedelta(seconds=600 + 181))
    ids = core.units.ids or []
    since = (T0 + timedelta(seconds=600)).timestamp()  # not R's confirmation pings
    pinged = sorted(ids[u] for u in np.flatnonzero(core.ev.ping_sent > since))
    assert len(pinged) == 2 and "s2-2" in pinged and pinged[1].startswith("s3-")


def test_a_roll_up_takes_over_only_the_outages_that_began_with_it(tmp_path: Path) -> None:
    # T2 went out at 0. Half an hour later R trips: T1's meters gasp first
    # (T1 predicted), then T3's (R). R takes over T1's outage, dated by its
    # own gasps; T2's stays, nested below R, from 0.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev(f"g2-{i}", "ami_last_gasp", 0, customer=f"s2-{i}") for i in (1, 2, 3, 4)])
    t2 = at_devices(core)["T2"]
    batch(core, [ev(f"g1-{i}", "ami_last_gasp", 1800, customer=f"s1-{i}") for i in (1, 2, 3, 4)])
    t1 = at_devices(core)["T1"]
    batch(core, [ev(f"g3-{i}", "ami_last_gasp", 1805, customer=f"s3-{i}") for i in (1, 2, 3, 4)])
    tick(core, T0 + timedelta(seconds=1900))
    found = at_devices(core)
    assert found["R"] is t1 and t1.started == T0 + timedelta(seconds=1800)
    assert found["T2"] is t2 and (t2.state, t2.started) == ("predicted", T0)


def test_with_calls_alone_a_roll_up_takes_over_earlier_outages(tmp_path: Path) -> None:
    # Calls trickle in over the life of an outage (one customer in ten calls),
    # so their times cannot tell two faults from one: half an hour after two
    # calls under T1, calls under T2 and T3 make it R, which takes T1's over.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev("c1", "call", 0, customer="s1-1"), ev("c2", "call", 60, customer="s1-3")])
    t1 = at_devices(core)["T1"]
    later = [("c3", "s2-1"), ("c4", "s2-4"), ("c5", "s3-2"), ("c6", "s3-3")]
    batch(core, [ev(eid, "call", 1800 + 30 * k, customer=c) for k, (eid, c) in enumerate(later)])
    tick(core, T0 + timedelta(seconds=2000))
    active = {d: o for d, o in at_devices(core).items() if o.active}
    assert list(active) == ["R"] and active["R"] is t1 and t1.started == T0


def test_a_meter_pinged_dead_that_no_outage_explains_is_a_customer_out(tmp_path: Path) -> None:
    # One meter answered "no supply" and nothing else is heard under T2: too
    # little for T2, but that customer is out, as a caller would be.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev("p1", "ami_ping_reply", 0, customer="s2-1", energized=False)])
    (o,) = outages(core)
    assert (o.kind, o.customer, o.started) == ("single_customer", "s2-1", T0)


def test_dead_ping_answers_are_not_kept_when_pings_are_off(tmp_path: Path) -> None:
    # A head-end may push answers while the engine asks nothing: they are
    # evidence, and the list of answers to follow up does not grow.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    answers = [ev(f"p{i}", "ami_ping_reply", i, customer="s2-1", energized=False) for i in (1, 2)]
    batch(core, answers)
    assert core.ev.dead_answers == []


def test_a_prediction_refuted_by_its_verification_ping_is_withdrawn(tmp_path: Path) -> None:
    # Two of T2's meters gasp: T2 is predicted and its other meters pinged.
    # They answer "energized" 20 s later: T2 did not operate (withdrawn, not
    # restored: no interruption to count); the two are left to the
    # single-customer rules.
    core = _core_of(_lateral_of_transformers(), tmp_path, pings=True)
    batch(core, [ev(f"g{i}", "ami_last_gasp", 0, customer=f"s2-{i}") for i in (1, 2)])
    t2 = at_devices(core)["T2"]
    ids = core.units.ids or []
    asked = [ids[u] for u in np.flatnonzero(core.ev.ping_sent > 0)]
    assert {"s2-3", "s2-4"} <= set(asked)
    replies = [("p3", "s2-3"), ("p4", "s2-4")]
    batch(core, [ev(eid, "ami_ping_reply", 20, customer=c, energized=True) for eid, c in replies])
    assert t2.state == "cancelled" and t2.restored is None


def test_a_device_refuted_by_a_ping_is_not_predicted_again_on_the_same_evidence(
    tmp_path: Path,
) -> None:
    # s1-1 gasps and answers "no supply": T1 is predicted, s1-2 pinged and
    # answers "energized": withdrawn. When that answer aged out of
    # supplied_window_s (15 min), T1 used to be predicted again on the same
    # evidence (a crew sent, the next ping withdrawing it, every quarter of
    # an hour for as long as s1-1 was out). It stays s1-1's own trouble
    # until something new is heard below T1.
    core = _core_of(_two_customer_transformers(), tmp_path, pings=True)
    dead = [
        ev("g1", "ami_last_gasp", 0, customer="s1-1"),
        ev("p1", "ami_ping_reply", 10, customer="s1-1", energized=False),
    ]
    batch(core, dead)
    t1 = at_devices(core)["T1"]
    ids = core.units.ids or []
    assert "s1-2" in {ids[u] for u in np.flatnonzero(core.ev.ping_sent > 0)}
    batch(core, [ev("p2", "ami_ping_reply", 30, customer="s1-2", energized=True)])
    assert t1.state == "cancelled"
    for s in range(600, 3600, 300):
        tick(core, T0 + timedelta(seconds=s))
    assert [(o.kind, o.customer) for o in outages(core) if o.active] == [
        ("single_customer", "s1-1")
    ]
    # s1-2 gasps: new evidence, T1 is out now.
    batch(core, [ev("g2", "ami_last_gasp", 3700, customer="s1-2")])
    assert at_devices(core)["T1"].active


def test_a_lone_meters_single_customer_outage_has_its_meter_and_neighbours_asked(
    tmp_path: Path,
) -> None:
    # Only s2-1's meter gasps (the other three gasps of T2 lost, one time in
    # 125): one customer's trouble, by the evidence. Its meter is pinged;
    # its "no supply" has T2's other meters asked, and their answers find T2.
    core = _core_of(_lateral_of_transformers(), tmp_path, pings=True)
    batch(core, [ev("g1", "ami_last_gasp", 0, customer="s2-1")])
    tick(core, T0 + timedelta(seconds=400))  # past the lone-gasp wait
    (o,) = outages(core)
    assert (o.kind, o.customer) == ("single_customer", "s2-1")
    ids = core.units.ids or []

    def asked() -> set[str]:
        return {ids[u] for u in np.flatnonzero(core.ev.ping_sent > 0)}

    assert asked() == {"s2-1"}
    batch(core, [ev("p1", "ami_ping_reply", 420, customer="s2-1", energized=False)])
    assert {"s2-2", "s2-3", "s2-4"} <= asked()
    others = [
        ev(f"p{i}", "ami_ping_reply", 440, customer=f"s2-{i}", energized=False) for i in (2, 3, 4)
    ]
    batch(core, others)
    assert at_devices(core)["T2"].active


def test_an_ami_restore_soon_after_a_prediction_is_a_restoration(tmp_path: Path) -> None:
    core = _core_of(_lateral_of_transformers(), tmp_path, pings=True)
    batch(core, [ev(f"g{i}", "ami_last_gasp", 0, customer=f"s2-{i}") for i in (1, 2, 3, 4)])
    t2 = at_devices(core)["T2"]
    batch(core, [ev(f"r{i}", "ami_restore", 20, customer=f"s2-{i}") for i in (1, 2, 3, 4)])
    assert t2.state == "restored"


def test_calls_made_before_a_breaker_blinked_are_not_from_the_blink(tmp_path: Path) -> None:
    # Two calls under T1, then the breaker above opens (no lockout: its SCADA
    # time is its first open) and recloses 20 s later. The calls came before
    # the blink: T1's outage stays, its calls outliving the reclose.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev("c1", "call", 0, customer="s1-1"), ev("c2", "call", 20, customer="s1-3")])
    t1 = at_devices(core)["T1"]
    batch(core, [ev("s1", "scada", 60, device="B", state="open", lockout=False)])
    batch(core, [ev("s2", "scada", 80, device="B", state="closed")])
    tick(core, T0 + timedelta(seconds=900))
    found = at_devices(core)
    assert found["B"].kind == "momentary"
    assert found["T1"] is t1 and t1.active and t1.started == T0


def test_a_call_made_during_a_blink_is_not_from_the_blink(tmp_path: Path) -> None:
    # Two calls under T1, then the breaker blinks (open 60 s, closed 80 s)
    # and s2-1, under T2, calls 10 s into it: too soon to be reacting to it,
    # so s2-1 was out before, as T1's callers: R is out, not T1 alone (the
    # reclose used to wipe s2-1's call, leaving T1 one level too low).
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev("c1", "call", 0, customer="s1-1"), ev("c2", "call", 20, customer="s1-3")])
    assert list(at_devices(core)) == ["T1"]
    batch(core, [ev("s1", "scada", 60, device="B", state="open", lockout=False)])
    batch(core, [ev("c3", "call", 70, customer="s2-1")])
    batch(core, [ev("s2", "scada", 80, device="B", state="closed")])
    tick(core, T0 + timedelta(seconds=900))
    active = {o.device: o for o in outages(core) if o.active}
    assert list(active) == ["R"] and active["R"].started == T0
    assert at_devices(core)["B"].kind == "momentary"


def test_calls_before_a_partial_restoration_make_no_nested_outage(tmp_path: Path) -> None:
    # Calls under T1 and T2: R is out. A caller under T3 says power is back:
    # R was restored. T1's and T2's callers called while R was out, which
    # says nothing of whether T1 or T2 is still out (they used to become
    # nested outages at once, out since R's start); later calls do.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    calls = [("s1-1", 0), ("s1-3", 30), ("s2-1", 60), ("s2-2", 90)]
    batch(core, [ev(f"c{i}", "call", t, customer=c) for i, (c, t) in enumerate(calls)])
    r = at_devices(core)["R"]
    batch(core, [ev("on", "call", 3000, customer="s3-2", power="on")])
    tick(core, T0 + timedelta(seconds=3000 + 200))  # past the restore grace
    assert (r.state, r.restored) == ("restored", T0 + timedelta(seconds=3000))
    assert [o.device for o in outages(core) if o.active] == []
    batch(core, [ev("c5", "call", 3500, customer="s1-2"), ev("c6", "call", 3530, customer="s1-4")])
    t1 = at_devices(core)["T1"]
    assert t1.active and t1.started == T0 + timedelta(seconds=3500)


def test_a_call_after_a_partial_restoration_reveals_a_nested_outage(tmp_path: Path) -> None:
    # As above, but another customer under T1 calls after the caller under T3
    # said power is back, before the restore grace ends: when R is restored,
    # T1 is still out (a nested outage revealed by it, out since R's start);
    # T2, whose callers said nothing since, is not.
    core = _core_of(_lateral_of_transformers(), tmp_path, prediction={"restore_grace_s": 180.0})
    calls = [("s1-1", 0), ("s1-3", 30), ("s2-1", 60), ("s2-2", 90)]
    batch(core, [ev(f"c{i}", "call", t, customer=c) for i, (c, t) in enumerate(calls)])
    r = at_devices(core)["R"]
    batch(core, [ev("on", "call", 3000, customer="s3-2", power="on")])
    batch(core, [ev("again", "call", 3060, customer="s1-2")])
    tick(core, T0 + timedelta(seconds=3000 + 200))  # past the restore grace
    assert (r.state, r.restored) == ("restored", T0 + timedelta(seconds=3000))
    assert [o.device for o in outages(core) if o.active] == ["T1"]
    t1 = at_devices(core)["T1"]
    assert (t1.revealed_by, t1.started) == (r.id, r.started)


def test_a_nested_outage_restored_under_an_open_one_leaves_it_where_it_is(
    tmp_path: Path,
) -> None:
    # T1 is out (its four meters gasped), then R (T2's and T3's meters
    # gasped; T1's, out already, said nothing new). T1's crew reports its
    # repair done while R is still out: T1's customers have no supply yet.
    # Their supply used to count as back, so R, seeming to leave four
    # customers silent, was narrowed to T2 (and T3 a new outage), and R's
    # own crew's restoration then closed T2's outage.
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev(f"g1-{i}", "ami_last_gasp", 0, customer=f"s1-{i}") for i in (1, 2, 3, 4)])
    t1 = at_devices(core)["T1"]
    others = [f"s{k}-{i}" for k in (2, 3) for i in (1, 2, 3, 4)]
    batch(core, [ev(f"g-{c}", "ami_last_gasp", 1800, customer=c) for c in others])
    r = at_devices(core)["R"]
    tick(core, T0 + timedelta(seconds=1900))
    batch(core, [ev("a1", "outage_restore", 5000, outage=t1.id, user="crew-7")])
    tick(core, T0 + timedelta(seconds=5100))
    assert t1.state == "restored"
    assert (r.device, r.state) == ("R", "predicted")
    assert [o.device for o in outages(core) if o.active] == ["R"]
    # R comes back: everyone below it has supply again.
    batch(core, [ev("a2", "outage_restore", 6000, outage=r.id, user="crew-8")])
    tick(core, T0 + timedelta(seconds=6100))
    assert [o.device for o in outages(core) if o.active] == []


def test_an_unanswered_ping_says_nothing_when_no_head_end_answers(tmp_path: Path) -> None:
    core = _core_of(_lateral_of_transformers(), tmp_path, pings=True)
    _recloser_out_then_back(core, ["s2-1", "s2-3"])
    tick(core, T0 + timedelta(seconds=600 + 200))
    tick(core, T0 + timedelta(seconds=3000))
    assert "T2" not in at_devices(core)


def test_a_new_outage_above_an_older_one_starts_with_its_own_reports(tmp_path: Path) -> None:
    core = _core_of(_lateral_of_transformers(), tmp_path)
    batch(core, [ev(f"g2-{i}", "ami_last_gasp", 0, customer=f"s2-{i}") for i in (1, 2, 3, 4)])
    t2 = at_devices(core)["T2"]
    others = [f"s{k}-{i}" for k in (1, 3) for i in (1, 2, 3, 4)]
    batch(core, [ev(f"g-{c}", "ami_last_gasp", 1800, customer=c) for c in others])
    r = at_devices(core)["R"]
    tick(core, T0 + timedelta(seconds=1900))  # the next pass keeps T2 nested, not withdrawn
    assert r.started == T0 + timedelta(seconds=1800)
    assert (t2.state, t2.started) == ("predicted", T0)


# ------------------------------------ SCADA-monitored devices that report no trip
def test_a_monitored_device_that_reported_no_trip_is_not_predicted(customers_file: Path) -> None:
    calls = ["a3-1", "a4-2", "a5-1", "a5-4", "a6-3", "a6-6"]
    # The SCADA feed is seen reporting (B2 closed): R1, monitored, did not trip.
    core = core_for(customers_file)
    feed = [ev("s0", "scada", 0, device="B2", state="closed")]
    batch(core, feed + [ev(f"c{i}", "call", 30 * i, customer=c) for i, c in enumerate(calls)])
    assert at_devices(core) == {}
    assert {o.customer for o in outages(core)} == set(calls)
    # With no SCADA report in the window, a monitored device is a candidate as any other.
    core = core_for(customers_file)
    batch(core, [ev(f"c{i}", "call", 30 * i, customer=c) for i, c in enumerate(calls)])
    assert list(at_devices(core)) == ["R1"]


def _feeder_with_a_blinking_recloser() -> list[dict[str, Any]]:
    """S -B- m1 (30 customers), with recloser R (m1 -> m2, 40 customers) and
    fuse F (m1 -> m3, 5 customers) side by side; B and R are SCADA-monitored."""
    from helpers import edge, node

    return [
        node("S", 0, 0, "source"),
        node("m1", 1, 0, customers=30),
        node("m2", 2, 0, customers=40),
        node("m3", 1, 1, customers=5),
        edge("B", "breaker", "S", "m1", scada=True),
        edge("R", "recloser", "m1", "m2", scada=True),
        edge("F", "fuse", "m1", "m3"),
    ]


def test_a_blink_beside_a_fuse_outage_leaves_it_where_it_is(tmp_path: Path) -> None:
    # F is out (two calls) and one of B's own customers called. R blinks:
    # forced while open, R costs nothing, and B (one fault for R and F) would
    # win; but B is monitored and reported no trip, so F stays F.
    core = _core_of(_feeder_with_a_blinking_recloser(), tmp_path)
    calls = [("m3-2", 0), ("m3-4", 60), ("m1-7", 120)]
    batch(core, [ev(f"c{i}", "call", s, customer=c) for i, (c, s) in enumerate(calls)])
    f = at_devices(core)["F"]
    batch(core, [ev("s1", "scada", 600, device="R", state="open")])
    assert "B" not in at_devices(core)
    batch(core, [ev("s2", "scada", 620, device="R", state="closed")])
    tick(core, T0 + timedelta(seconds=900))
    assert (f.device, f.state, f.started) == ("F", "predicted", T0)
    assert at_devices(core)["R"].kind == "momentary"


# ------------------------------------------- one customer's own service, or a device
def _two_customer_transformers() -> list[dict[str, Any]]:
    """S -B- m1, with unfused transformers T1 and T2 off m1, two customers each."""
    from helpers import edge, node

    return [
        node("S", 0, 0, "source"),
        node("m1", 1, 0),
        node("s1", 2, 1, customers=2),
        node("s2", 2, -1, customers=2),
        edge("B", "breaker", "S", "m1"),
        edge("T1", "transformer", "m1", "s1"),
        edge("T2", "transformer", "m1", "s2"),
    ]


def test_a_neighbour_answering_energized_makes_it_the_customers_own_problem(
    tmp_path: Path,
) -> None:
    # s1-1's meter gasps and answers a ping "no supply"; s1-2, on the same
    # transformer, answers "energized": T1 is not out, s1-1's service is.
    core = _core_of(_two_customer_transformers(), tmp_path)
    batch(
        core,
        [
            ev("g1", "ami_last_gasp", 0, customer="s1-1"),
            ev("p1", "ami_ping_reply", 20, customer="s1-1", energized=False),
            ev("p2", "ami_ping_reply", 20, customer="s1-2", energized=True),
        ],
    )
    assert at_devices(core) == {}
    tick(core, T0 + timedelta(seconds=400))  # past the lone-gasp wait
    (o,) = outages(core)
    assert (o.kind, o.customer) == ("single_customer", "s1-1")


def test_both_customers_out_is_the_transformer(tmp_path: Path) -> None:
    core = _core_of(_two_customer_transformers(), tmp_path)
    batch(
        core,
        [
            ev("g1", "ami_last_gasp", 0, customer="s1-1"),
            ev("p1", "ami_ping_reply", 20, customer="s1-1", energized=False),
            ev("p2", "ami_ping_reply", 20, customer="s1-2", energized=False),
        ],
    )
    assert list(at_devices(core)) == ["T1"]
