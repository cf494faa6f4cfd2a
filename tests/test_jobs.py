"""Jobs, the A-H timeline, dispatch and timers, with a fixed clock (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers import write_dispatch_files
from sqlalchemy import select

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(eid: str, etype: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {"id": eid, "type": etype, "time": at(seconds).isoformat(), **fields}


@pytest.fixture
def engine(loaded_db: str, tmp_path: Path) -> OutageEngine:
    files = write_dispatch_files(tmp_path)
    load(connect(loaded_db), **{k: str(v) for k, v in files.items()})
    return OutageEngine(connect(loaded_db), EngineConfig.from_dict({"pings": False}))


def feed(engine: OutageEngine, *events: dict[str, Any]) -> Any:
    report = engine.ingest(json.dumps(e) for e in events)
    return report


def jobs(engine: OutageEngine) -> dict[str, dict[str, Any]]:
    with engine.db.connect() as conn:
        rows = conn.execute(select(schema.jobs)).mappings().all()
    from oms.dispatch.jobs import Job

    return {r["outage"]: Job.from_row(dict(r)).to_dict() for r in rows}


def alerts(engine: OutageEngine) -> list[dict[str, Any]]:
    with engine.db.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(select(schema.alerts).order_by(schema.alerts.c.seq)).mappings()
        ]


def fuse_outage(engine: OutageEngine) -> str:
    feed(engine, ev("c1", "call", 0, customer="a9-2"), ev("c2", "call", 60, customer="a9-3"))
    (job,) = jobs(engine).values()
    return str(job["id"])


def test_an_outage_raises_a_job_with_targets_of_its_area(engine: OutageEngine) -> None:
    job_id = fuse_outage(engine)
    (job,) = jobs(engine).values()
    assert job["id"] == job_id and job["state"] == "waiting"
    assert (job["zone"], job["area_class"], job["unit"]) == ("Z-W", "urban", "U1")
    assert job["stamps"]["A"] == T0.isoformat()
    # The first call raised a service ticket at once; the fuse outage took it over.
    assert job["stamps"]["B"] == job["stamps"]["C"] == T0.isoformat()
    assert job["targets"]["arrival"] == 45 and job["targets"]["GH"] == 28
    assert set(job["stamps"]) == {
        *"ABCDEFGH",
        "made_safe",
        "repaired",
        "restored",
        "callback",
        "closed",
    }
    assert job["priority"] > 100  # a life-support customer is out


def test_rural_targets_grow_the_travel_segment(engine: OutageEngine) -> None:
    feed(engine, *[ev(f"g{i}", "ami_last_gasp", i, customer=f"b3-{i + 1}") for i in range(4)])
    feed(engine, *[ev(f"h{i}", "ami_last_gasp", 5 + i, customer=f"b4-{i + 1}") for i in range(2)])
    (job,) = [j for j in jobs(engine).values() if j["area_class"] == "rural"]
    assert job["targets"]["GH"] == 73 and job["targets"]["arrival"] == 90


def test_the_whole_timeline(engine: OutageEngine) -> None:
    job_id = fuse_outage(engine)
    decision = engine.book.suggest(job_id, at(90)).to_dict()
    assert (decision["crew"], decision["rule"]) == ("K1", "zone")
    assert {a["crew"]: a["why_not"] for a in decision["alternatives"]} == {
        "K2": "farther",
        "K3": "unqualified",
        "K4": "off_shift",
    }
    steps = [
        ev("d", "job_assign", 90, job=job_id, user="ann"),
        ev("e", "job_delivered", 100, job=job_id, crew="K1"),
        ev("f", "job_accept", 120, job=job_id, crew="K1"),
        ev("g", "job_depart", 200, job=job_id, crew="K1"),
        ev("h", "job_arrive", 900, job=job_id, crew="K1"),
        ev("s", "job_made_safe", 1000, job=job_id, crew="K1"),
        ev("r", "job_repaired", 3000, job=job_id, crew="K1"),
        ev("x", "job_restored", 3100, job=job_id, crew="K1"),
        ev("cb", "job_callback", 3600, job=job_id, user="call centre", answer="satisfied"),
    ]
    assert feed(engine, *steps).rejected == []
    job = next(iter(jobs(engine).values()))
    assert [job["stamps"][k] is not None for k in "DEFGH"] == [True] * 5
    assert job["stamps"]["restored"] == at(3100).isoformat()
    assert job["breaches"] == []
    (outage,) = [o for o in engine.snapshot() if o["kind"] == "network"]
    assert outage["state"] == "restored" and outage["restored"] == at(3100).isoformat()
    report = feed(engine, ev("z1", "job_close", 3700, job=job_id, closeout={"cause": "tree"}))
    assert "lacks" in report.rejected[0]["error"]
    form = {
        "cause": "tree on line",
        "equipment": "fuse F1",
        "actions": "cleared, refused",
        "outage_start": T0.isoformat(),
        "outage_end": at(3100).isoformat(),
    }
    assert feed(engine, ev("z2", "job_close", 3700, job=job_id, closeout=form)).rejected == []
    job = next(iter(jobs(engine).values()))
    assert job["state"] == "closed" and job["closeout"]["callback"] == "satisfied"
    crews = {c["id"]: c for c in engine.book.crew_dicts(at(3700))}
    assert crews["K1"]["jobs"] == [] and crews["K1"]["status"] == "returning"


def test_breaches_warnings_and_their_owners_with_a_fixed_clock(engine: OutageEngine) -> None:
    job_id = fuse_outage(engine)
    engine.tick(at(100))  # C at T0; C->D has 2 minutes: 100 s is 83%
    job = next(iter(jobs(engine).values()))
    assert job["breaches"] == []
    engine.tick(at(130))
    job = next(iter(jobs(engine).values()))
    assert job["breaches"] == ["CD"]
    kinds = [(a["kind"], a["level"], a["detail"].get("target")) for a in alerts(engine)]
    assert ("warning", "warning", "CD") in kinds
    assert ("breach", "target", "CD") in kinds  # a segment's limit: a target reached
    engine.tick(at(46 * 60))
    job = next(iter(jobs(engine).values()))
    assert "arrival" in job["breaches"]
    assert job_id


def test_unanswered_orders_escalate_along_the_chain(engine: OutageEngine) -> None:
    job_id = fuse_outage(engine)
    feed(engine, ev("d", "job_assign", 90, job=job_id))
    for minutes in (3, 5, 9, 13, 17, 30):
        engine.tick(at(90 + minutes * 60))
    chain = [
        (a["kind"], a["detail"].get("notify"), a["contact"])
        for a in alerts(engine)
        if a["kind"] in ("ack_timeout", "escalation")
    ]
    assert chain == [
        ("ack_timeout", "sender", None),
        ("escalation", "first_contact", "+111"),
        ("escalation", "second_contact", "+112"),
        ("escalation", "leader", "+113"),
    ]


def test_recall_after_delivery_and_the_conflict_it_causes(engine: OutageEngine) -> None:
    job_id = fuse_outage(engine)
    feed(
        engine,
        ev("d", "job_assign", 90, job=job_id),
        ev("e", "job_delivered", 95, job=job_id, crew="K1"),
        ev("r", "job_recall", 100, job=job_id, user="ann", reason="wrong area"),
    )
    job = next(iter(jobs(engine).values()))
    assert job["state"] == "waiting" and job["crew"] is None and job["stamps"]["D"] is None
    report = feed(engine, ev("late", "job_accept", 110, job=job_id, crew="K1"))
    assert "recalled" in report.rejected[0]["error"]
    crews = {c["id"]: c for c in engine.book.crew_dicts(at(110))}
    assert crews["K1"]["status"] == "available"


def test_a_momentary_outage_cancels_its_job(engine: OutageEngine) -> None:
    feed(engine, ev("s1", "scada", 0, device="R1", state="open"))
    assert [j["state"] for j in jobs(engine).values()] == ["waiting"]
    feed(engine, ev("s2", "scada", 30, device="R1", state="closed"))
    assert [j["state"] for j in jobs(engine).values()] == ["cancelled"]


def test_auto_dispatch_and_storm_batches(loaded_db: str, tmp_path: Path) -> None:
    files = write_dispatch_files(tmp_path)
    load(connect(loaded_db), **{k: str(v) for k, v in files.items()})
    config = EngineConfig.from_dict(
        {"pings": False, "dispatch": {"auto_dispatch": True, "storm_batch": 2}}
    )
    engine = OutageEngine(connect(loaded_db), config)
    feed(
        engine,
        ev("s1", "scada", 0, device="B2", state="open", lockout=True),
        ev("s2", "scada", 0, device="B3", state="open", lockout=True),
    )
    found = {j["device"]: j for j in jobs(engine).values()}
    assert {found["B2"]["crew"], found["B3"]["crew"]} == {"K1", "K2"}
    assert found["B2"]["crew"] == "K2"  # east crew for the east feeder


def test_capacity_alarm_when_a_unit_has_no_free_crew(loaded_db: str, tmp_path: Path) -> None:
    files = write_dispatch_files(tmp_path)
    load(connect(loaded_db), **{k: str(v) for k, v in files.items()})
    config = EngineConfig.from_dict(
        {"pings": False, "dispatch": {"capacity_window_s": 1800, "capacity_share": 0.5}}
    )
    engine = OutageEngine(connect(loaded_db), config)
    feed(engine, ev("s", "scada", 0, device="B2", state="open", lockout=True))
    (job,) = jobs(engine).values()
    feed(engine, ev("d", "job_assign", 10, job=job["id"], crew="K2"))  # U2's only crew
    for minutes in range(1, 15):  # busy for 14 of the last 30 minutes: not yet
        engine.tick(at(10 + minutes * 60))
    assert not [a for a in alerts(engine) if a["kind"] == "capacity"]
    for minutes in range(15, 40):  # alarms once, not again within the window
        engine.tick(at(10 + minutes * 60))
    (alarm,) = [a for a in alerts(engine) if a["kind"] == "capacity"]
    assert (alarm["unit"], alarm["contact"]) == ("U2", "+223")


def test_etr_from_history_then_from_the_crew(engine: OutageEngine) -> None:
    job_id = fuse_outage(engine)
    (job,) = jobs(engine).values()
    assert (
        job["etr"] == (T0 + timedelta(minutes=120)).isoformat()
    )  # half the urban target: no history
    (outage,) = [o for o in engine.snapshot() if o["kind"] == "network"]
    assert outage["etr"] == job["etr"]
    feed(
        engine,
        ev("d", "job_assign", 90, job=job_id),
        ev("h", "job_arrive", 600, job=job_id, crew="K1"),
        ev("e", "job_estimate", 700, job=job_id, crew="K1", etr=at(5400).isoformat()),
    )
    (job,) = jobs(engine).values()
    assert (job["etr"], job["etr_source"]) == (at(5400).isoformat(), "crew")
    feed(engine, ev("r", "job_restored", 3600, job=job_id, crew="K1"))
    # The next urban network job expects what this one took: an hour.
    feed(
        engine, *[ev(f"g{i}", "ami_last_gasp", 4000 + i, customer=f"c2-{i + 1}") for i in range(6)]
    )
    new = [j for j in jobs(engine).values() if j["device"] == "B3"]
    assert (
        new
        and new[0]["etr"]
        == (datetime.fromisoformat(new[0]["stamps"]["A"]) + timedelta(minutes=60)).isoformat()
    )


def test_a_limit_reached_exactly_at_a_batch_is_still_due() -> None:
    """At exactly C + 2 minutes the CD segment is not yet breached, and its
    breach is what comes next (found while making the order book incremental:
    the next change was the arrival warning 45 minutes on, so the CD breach
    was raised only when the job changed for another reason, 8 minutes late
    on one storm)."""
    from oms.dispatch.timeline import Targets, evaluate

    c = datetime(2026, 1, 15, 15, 25, 19, tzinfo=timezone.utc)
    targets = Targets.for_area("rural")
    limit = c + timedelta(minutes=targets.segments["CD"])
    status = evaluate({"A": c, "B": c, "C": c}, targets, limit)
    assert "CD" not in status.breaches and status.next_change == limit
    later = evaluate({"A": c, "B": c, "C": c}, targets, limit + timedelta(seconds=1))
    assert "CD" in later.breaches
    assert later.next_change == c + timedelta(minutes=targets.arrival / 2)


def _job_documents(engine: OutageEngine, job_id: str) -> list[dict[str, Any]]:
    """The documents of ``job_id`` the live feed carried, in order."""
    c = schema.changes
    with engine.db.connect() as conn:
        query = select(c.c.data).where((c.c.kind == "job") & (c.c.ref == job_id)).order_by(c.c.seq)
        return [dict(d) for d in conn.execute(query).scalars()]


def test_a_waiting_job_gains_priority_when_read_and_is_not_sent_again_for_it(
    engine: OutageEngine,
) -> None:
    """5 points per 10 minutes since A, up to 240 minutes, found as of the time
    it is read: a job waiting through a storm is not written again, nor sent to
    every dispatcher again, at each step (docs/dispatch.md)."""
    from oms.storage.queries import get_job, list_jobs

    job_id = fuse_outage(engine)
    with engine.db.connect() as conn:
        base = get_job(conn, job_id, at(120))
    assert base is not None and base.priority_base is not None
    assert base.priority == base.priority_base  # 2 minutes after A: no step yet
    for minutes in range(5, 300, 5):  # time passes, nothing else happens
        engine.tick(at(minutes * 60))
    docs = _job_documents(engine, job_id)
    for before, after in itertools.pairwise(docs):
        # Sent again for a warning, a breach, an ETR: never for a step alone.
        assert {k: v for k, v in before.items() if k != "priority"} != {
            k: v for k, v in after.items() if k != "priority"
        }
    assert docs[-1]["priority_ageing"] == {
        "base": base.priority_base,
        "per_10_min": 5.0,
        "cap_min": 240.0,
    }
    with engine.db.connect() as conn:
        for minutes, steps in ((9.9, 0), (10, 1), (25, 2), (239, 23), (241, 24), (299, 24)):
            (job,) = list_jobs(conn, at(minutes * 60), open_only=True)
            assert job.priority == round(base.priority_base + 5 * steps, 2), minutes
            assert job.to_dict()["priority"] == job.priority


def test_a_job_stored_before_the_ageing_rule_gets_one_when_the_engine_starts(
    engine: OutageEngine,
) -> None:
    """Rows from before migration 0017 keep their stored priority (a null base);
    the engine's first batch after it starts gives each open job its base."""
    from oms.storage.queries import get_job

    job_id = fuse_outage(engine)
    with engine.db.begin() as conn:
        conn.execute(
            schema.jobs.update()
            .where(schema.jobs.c.id == job_id)
            .values(priority=77.0, priority_base=None, age_per_10_min=0, age_cap_min=0)
        )
        old = get_job(conn, job_id, at(3600))
    assert old is not None and old.priority == 77.0 and old.to_dict()["priority_ageing"] is None
    restarted = OutageEngine(engine.db, EngineConfig.from_dict({"pings": False}))
    restarted.tick(at(30 * 60))
    with engine.db.connect() as conn:
        job = get_job(conn, job_id, at(30 * 60))
    assert job is not None and job.priority_base is not None
    assert (job.age_per_10_min, job.age_cap_min) == (5.0, 240.0)
    assert job.priority == round(job.priority_base + 15, 2)


def test_a_warning_is_an_alert_and_found_when_read_not_a_rewrite_of_the_job(
    engine: OutageEngine,
) -> None:
    """Half and three quarters of a target are news as alerts; the job is not
    written again for them (a breach, which its card shows, is), and a reader
    finds its warnings as of its time. A restart does not warn again."""
    from oms.storage.queries import get_job

    job_id = fuse_outage(engine)  # A at 0, urban: arrival in 45 minutes
    engine.tick(at(5 * 60))
    sent = len(_job_documents(engine, job_id))
    for minutes in range(6, 35):
        engine.tick(at(minutes * 60))
    warned = [
        (a["kind"], a["detail"]["target"], a["detail"]["share"])
        for a in alerts(engine)
        if a["kind"] == "warning" and a["job"] == job_id
    ]
    assert ("warning", "arrival", 50) in warned and ("warning", "arrival", 75) in warned
    assert len(_job_documents(engine, job_id)) == sent
    with engine.db.connect() as conn:
        job = get_job(conn, job_id, at(34 * 60))
        assert job is not None and job.warnings["arrival"] == 75
        stored = conn.execute(
            select(schema.jobs.c.warnings).where(schema.jobs.c.id == job_id)
        ).scalar_one()
    assert stored.get("arrival") is None  # the row as last written, before the warnings
    restarted = OutageEngine(engine.db, EngineConfig.from_dict({"pings": False}))
    restarted.tick(at(35 * 60))
    again = [a for a in alerts(engine) if a["kind"] == "warning" and a["job"] == job_id]
    assert len(again) == len(warned)


def test_a_reason_with_a_lone_surrogate_is_stored_and_the_batch_kept(
    engine: OutageEngine,
) -> None:
    """A JSON escape of half a character ("\\ud83d", a broken emoji) in a
    dispatcher's reason is valid JSON: it is stored as written, and the
    other events of its batch are kept."""
    report = feed(
        engine,
        ev("m1", "dispatch_auto", 60, auto=False, reason="storm \ud83d"),
        ev("k2", "call", 90, customer="a9-3"),
    )
    assert report.accepted == 2 and not report.rejected
    reasons = [a["detail"].get("reason") for a in alerts(engine) if a["kind"] == "dispatch_mode"]
    assert "storm \ud83d" in reasons


def test_a_closed_or_cancelled_job_keeps_its_priority_and_carries_no_ageing() -> None:
    """Only an open job ages: a closed or cancelled one keeps the priority it
    had, and its document says so (no rule a page would age it by)."""
    from oms.dispatch.jobs import Job, PriorityWeights
    from oms.dispatch.timeline import Targets

    job = Job(
        "JOB-1", "OUT-1", "network", "F1", None, 8.4, 49.0, None, "urban", None,
        ["line"], 10.0, 40.0, Targets.for_area("urban"), at(0),
    )  # fmt: skip
    job.rebase(40.0, PriorityWeights())
    job.stamps = {"A": at(0)}
    job.evaluate(at(35 * 60))
    assert job.priority == 55.0 and job.to_dict()["priority_ageing"] == {
        "base": 40.0,
        "per_10_min": 5.0,
        "cap_min": 240.0,
    }
    job.state = "cancelled"
    assert job.to_dict()["priority_ageing"] is None and job.to_dict()["priority"] == 55.0
