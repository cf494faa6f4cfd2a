"""The outage engine on the two-feeder network, on SQLite and on PostgreSQL.

Customers (see ``helpers.two_feeders``): a1 2, a3 3, a4 4, a5 6, a6 7 and
a9 5 are fed through B1 (R1 feeds a3..a6, F1 feeds a9); b1..b4 through B2;
c2 8 through B3. Every customer has a meter; ``a9-1`` is on life support.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.outages import get_outage, outage_audit
from oms.storage.db import connect

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def ev(eid: str, etype: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "type": etype,
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }


def engine_for(url: str, **config: Any) -> OutageEngine:
    return OutageEngine(connect(url), EngineConfig.from_dict({"pings": False, **config}))


def feed(engine: OutageEngine, events: list[dict[str, Any]]) -> Any:
    return engine.ingest(json.dumps(e) for e in events)


def network_outages(engine: OutageEngine) -> dict[str, dict[str, Any]]:
    return {o["device"]: o for o in engine.snapshot() if o["kind"] != "single_customer"}


def test_calls_under_a_fuse_predict_the_fuse(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    report = feed(
        engine, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 60, customer="a9-3")]
    )
    assert report.to_dict() == {"accepted": 2, "duplicates": 0, "rejected": []}
    outs = network_outages(engine)
    assert list(outs) == ["F1"]
    o = outs["F1"]
    assert o["state"] == "predicted"
    assert o["customers_out"] == 5
    assert o["critical_out"] == 1
    assert o["calls"] == 2
    assert o["started"] == T0.isoformat()


def test_calls_across_the_recloser_roll_up_to_it(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    calls = ["a3-1", "a4-2", "a5-1", "a5-4", "a6-3", "a6-6"]
    feed(engine, [ev(f"c{i}", "call", 30 * i, customer=c) for i, c in enumerate(calls)])
    outs = network_outages(engine)
    assert list(outs) == ["R1"]
    assert outs["R1"]["customers_out"] == 20


def test_one_call_is_a_single_customer_outage(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    feed(engine, [ev("c1", "call", 0, customer="b1-4", hazard="wire_down")])
    (o,) = engine.snapshot()
    assert o["kind"] == "single_customer"
    assert o["device"] is None
    assert o["customer"] == "b1-4"
    assert o["hazard"] is True
    feed(engine, [ev("c2", "call", 600, customer="b1-4", power="on")])
    (o,) = engine.snapshot()
    assert o["state"] == "restored"


def test_last_gasps_locate_fast_and_restores_restore(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    gasps = [ev(f"g{i}", "ami_last_gasp", i, customer=f"c2-{i + 1}") for i in range(6)]
    feed(engine, gasps)
    assert list(network_outages(engine)) == ["B3"]
    restores = [ev(f"r{i}", "ami_restore", 3600 + i, customer=f"c2-{i + 1}") for i in range(7)]
    feed(engine, restores)
    o = network_outages(engine)["B3"]
    assert o["state"] == "restored"
    assert o["restored"] == (T0 + timedelta(seconds=3600)).isoformat()
    assert o["kind"] == "network"


def test_scada_lockout_confirms_and_absorbs_predictions_below(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    feed(engine, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 20, customer="a9-3")])
    assert list(network_outages(engine)) == ["F1"]
    feed(engine, [ev("s1", "scada", 40, device="B1", state="open", lockout=True)])
    outs = network_outages(engine)
    assert list(outs) == ["B1"]
    assert outs["B1"]["state"] == "confirmed"
    assert outs["B1"]["confirmed_by"] == "scada"
    assert outs["B1"]["started"] == T0.isoformat()  # the calls came first
    assert outs["B1"]["customers_out"] == 27
    feed(engine, [ev("s2", "scada", 4000, device="B1", state="closed")])
    assert network_outages(engine)["B1"]["state"] == "restored"


def test_nested_outage_remains_when_the_parent_is_restored(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    feed(engine, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 20, customer="a9-3")])
    # Much later the whole feeder locks out: a new outage above the fuse.
    feed(engine, [ev("s1", "scada", 3000, device="B1", state="open", lockout=True)])
    outs = network_outages(engine)
    assert set(outs) == {"B1", "F1"}
    assert outs["B1"]["customers_out"] == 22  # the fuse's 5 are counted once, under F1
    assert outs["F1"]["customers_out"] == 5
    feed(engine, [ev("s2", "scada", 5000, device="B1", state="closed")])
    outs = network_outages(engine)
    assert outs["B1"]["state"] == "restored"
    assert outs["F1"]["state"] == "predicted"
    assert outs["F1"]["started"] == T0.isoformat()


def test_momentary_interruption(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    feed(
        engine,
        [
            ev("s1", "scada", 0, device="R1", state="open"),
            ev("s2", "scada", 12, device="R1", state="closed"),
        ],
    )
    (o,) = engine.snapshot()
    assert (o["kind"], o["device"], o["state"]) == ("momentary", "R1", "restored")


def test_partial_restoration_leaves_a_nested_outage(loaded_db: str) -> None:
    engine = engine_for(loaded_db, prediction={"restore_grace_s": 60.0})
    feed(engine, [ev("s1", "scada", 0, device="B1", state="open", lockout=True)])
    gasps = [ev(f"g{i}", "ami_last_gasp", 5, customer=f"a9-{i + 1}") for i in range(5)]
    feed(engine, gasps)
    # The breaker closes but the fuse is blown: a9's meters never report back.
    restores = [ev("s2", "scada", 3000, device="B1", state="closed")] + [
        ev(f"r{i}", "ami_restore", 3010, customer=c)
        for i, c in enumerate(["a1-1", "a3-1", "a4-1", "a5-1", "a6-1", "a6-2"])
    ]
    feed(engine, restores)
    feed(engine, [ev("late", "call", 3300, customer="a9-4")])
    outs = network_outages(engine)
    assert outs["B1"]["state"] == "restored"
    assert outs["F1"]["state"] in ("predicted", "confirmed")


def test_fault_indicators_narrow_the_section(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    feed(
        engine,
        [
            ev("s1", "scada", 0, device="R1", state="open", lockout=True),
            ev("f1", "fci", 2, device="L2", fault=True),
            ev("f2", "fci", 2, device="L3", fault=False),
        ],
    )
    assert network_outages(engine)["R1"]["section"] == ["L2"]


def test_ingest_reports_every_bad_line(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    good = ev("c1", "call", 0, customer="a9-2")
    lines = [
        json.dumps(good),
        "",
        "{not json",
        json.dumps(ev("c2", "call", 5, customer="nobody")),
        json.dumps({"id": "c3", "type": "call", "customer": "a9-3"}),
        json.dumps(good),
        json.dumps({**good, "customer": "a9-4"}),
        json.dumps(ev("c4", "call", 5, phone="+1000200")),
        json.dumps({**ev("c5", "call", 5, customer="a9-5"), "time": "2026-03-01T10:00:00"}),
        json.dumps(ev("c6", "scada", 5, device="L1", state="open")),
    ]
    report = engine.ingest(lines).to_dict()
    assert report["accepted"] == 2
    assert report["duplicates"] == 1
    assert [r["line"] for r in report["rejected"]] == [3, 4, 5, 7, 9, 10]
    reasons = {r["line"]: r["error"] for r in report["rejected"]}
    assert "JSON" in reasons[3]
    assert "nobody" in reasons[4]
    assert "time" in reasons[5]
    assert "different content" in reasons[7]
    assert "offset" in reasons[9]
    assert "line" in reasons[10]


def test_call_by_phone_node_and_location(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    from helpers import DLAT, DLON, LAT0, LON0

    feed(
        engine,
        [
            ev("p", "call", 0, phone="+1001200"),  # first customer of c2 (node #12)
            ev("n", "call", 1, node="a9"),
            ev("l", "call", 2, lon=LON0 + 8 * DLON + 1e-6, lat=LAT0 + 2 * DLAT),  # at b4
        ],
    )
    with engine.db.connect() as conn:
        from sqlalchemy import select

        from oms.storage.schema import events

        rows = {r.id: r.customer for r in conn.execute(select(events.c.id, events.c.customer))}
    assert rows == {"p": "c2-1", "n": "a9-1", "l": "b4-1"}


def test_a_restarted_engine_carries_on(loaded_db: str) -> None:
    first = engine_for(loaded_db)
    feed(first, [ev("c1", "call", 0, customer="a9-2")])
    before = first.snapshot()
    second = engine_for(loaded_db)
    assert second.snapshot() == before
    assert second.clock == first.clock
    report = feed(
        second, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 30, customer="a9-3")]
    )
    assert (report.accepted, report.duplicates) == (1, 1)
    assert list(network_outages(second)) == ["F1"]


def test_dispatcher_actions_are_audited(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    calls = ["a3-1", "a4-2", "a5-1", "a5-4", "a6-3", "a6-6"]
    feed(engine, [ev(f"c{i}", "call", 30 * i, customer=c) for i, c in enumerate(calls)])
    (oid,) = [o["id"] for o in engine.snapshot()]
    feed(
        engine,
        [
            ev(
                "a1",
                "outage_split",
                400,
                outage=oid,
                devices=["R1", "F1"],
                user="ann",
                reason="two crews",
            )
        ],
    )
    outs = network_outages(engine)
    assert set(outs) == {"R1", "F1"}
    other = outs["F1"]["id"]
    feed(engine, [ev("a2", "outage_merge", 500, outages=[oid, other], into=oid, user="ann")])
    assert set(network_outages(engine)) == {"R1"}
    feed(engine, [ev("a3", "outage_confirm", 600, outage=oid, device="B1", user="bob")])
    o = network_outages(engine)["B1"]
    assert (o["state"], o["confirmed_by"]) == ("confirmed", "dispatcher")
    feed(engine, [ev("a4", "outage_restore", 700, outage=oid, user="bob")])
    report = feed(
        engine,
        [
            ev("a5", "outage_close", 800, outage=oid, user="bob"),
            ev("a6", "outage_close", 900, outage=other),
        ],
    )
    assert report.rejected and "cancelled" in report.rejected[0]["error"]
    with engine.db.connect() as conn:
        trail = outage_audit(conn, oid)
        assert get_outage(conn, oid).state == "closed"
    actions = [(a["actor"], a["action"]) for a in trail]
    assert ("ann", "split") in actions
    assert ("ann", "merge") in actions
    assert ("bob", "confirm") in actions
    assert ("bob", "close") in actions
    assert next(a for a in trail if a["action"] == "split")["reason"] == "two crews"


def test_pings_confirm_a_predicted_device(loaded_db: str) -> None:
    engine = engine_for(loaded_db, pings=True)
    gasps = [ev(f"g{i}", "ami_last_gasp", i, customer=f"a9-{i + 1}") for i in range(2)]
    feed(engine, gasps)
    (o,) = network_outages(engine).values()
    assert o["device"] == "F1" and o["state"] == "predicted"
    requests = engine.take_ping_requests()
    pinged = {r["customer"] for r in requests}
    assert pinged and pinged <= {"a9-3", "a9-4", "a9-5"}
    assert engine.take_ping_requests() == []
    feed(engine, [ev("p1", "ami_ping_reply", 40, customer=sorted(pinged)[0], energized=False)])
    o = network_outages(engine)["F1"]
    assert (o["state"], o["confirmed_by"]) == ("confirmed", "ami_ping")


@pytest.mark.parametrize("predictor", ["likelihood", "classic"])
def test_both_predictors_run(loaded_db: str, predictor: str) -> None:
    engine = engine_for(loaded_db, predictor=predictor)
    feed(engine, [ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 60, customer="a9-3")])
    assert list(network_outages(engine)) == ["F1"]


def test_meters_that_blink_record_a_momentary(loaded_db: str) -> None:
    engine = engine_for(loaded_db)
    blink = [ev(f"g{i}", "ami_last_gasp", i, customer=f"c2-{i + 1}") for i in range(6)]
    blink += [ev(f"r{i}", "ami_restore", 20 + i, customer=f"c2-{i + 1}") for i in range(7)]
    feed(engine, blink)
    engine.tick(T0 + timedelta(seconds=300))
    (o,) = engine.snapshot()
    assert (o["kind"], o["device"], o["state"]) == ("momentary", "B3", "restored")
    assert o["started"] == T0.isoformat()
    engine.tick(T0 + timedelta(seconds=900))
    assert len(engine.snapshot()) == 1  # recorded once
