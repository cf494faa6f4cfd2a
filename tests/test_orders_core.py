"""Order-book rules on the engine's core: jobs raised, crews sent, stages, recalls. No database.

The network and customers are those of ``test_engine_core``; zones, units
and crews are ``helpers.write_dispatch_files`` read with the contract
readers: K1 owns the western zone Z-W (urban, unit U1), K2 the eastern
Z-E (rural, U2), K3 is a service crew of U1, K4 works nights.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers import batch, build, customers_csv, tick, two_feeders, write_dispatch_files

from oms.config import EngineConfig
from oms.dispatch.jobs import CrewState, Job
from oms.engine.core import EngineCore, Stored
from oms.engine.orders import OrderBook, StoredBook
from oms.exceptions import ActionError, JobNotFound
from oms.intake.events import parse_event
from oms.storage.inputs import read_crews, read_units, read_zones
from topology.io import attach_customers, read_customers

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)  # 10:00 UTC: K1-K3 on shift


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("orders")
    (folder / "customers.csv").write_text(customers_csv(two_feeders()))
    return {"customers": folder / "customers.csv", **write_dispatch_files(folder)}


def core_for(files: dict[str, Path], **dispatch: Any) -> EngineCore:
    net = build(two_feeders())
    attach_customers(net, read_customers(files["customers"], net))
    config = EngineConfig.from_dict(
        {"pings": False, "dispatch": {"auto_dispatch": True, **dispatch}}
    )
    crews = read_crews(files["crews"])
    stored = StoredBook(
        zones=read_zones(files["zones"]),
        units=read_units(files["units"]),
        crews={r["id"]: CrewState.from_row(r) for r in crews},
    )

    def make_book(core: EngineCore) -> OrderBook:
        return OrderBook(
            stored,
            config.dispatch,
            core.locate,
            lambda: None,
            core.recipients,
            device_kind=core.device_kind,
        )

    return EngineCore(net, config, Stored(crews=[r["id"] for r in crews]), make_book)


def ev(eid: str, etype: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "type": etype,
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }


def only_job(core: EngineCore) -> Job:
    assert core.book is not None
    (job,) = core.book.jobs.values()
    return job


def test_an_outage_raises_a_job_sent_to_the_zone_crew(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    assert (job.outage, job.zone, job.area_class, job.crew) == (
        core.outages.active()[0].id,
        "Z-W",
        "urban",
        "K1",
    )
    assert job.stamps["A"] == T0 and job.stamps["D"] == T0
    assert core.book is not None and core.book.crews["K1"].status == "assigned"


def test_the_crew_works_through_the_stages(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    stages = ["job_delivered", "job_accept", "job_depart", "job_arrive"]
    batch(core, [ev(f"k{i}", t, 60 * (i + 1), job=job.id, crew="K1") for i, t in enumerate(stages)])
    assert [k for k in ("E", "F", "G", "H") if job.stamps.get(k)] == ["E", "F", "G", "H"]
    assert job.breaches == []


def test_another_crew_cannot_move_the_job(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    core.begin()
    with pytest.raises(JobNotFound, match=f"^crew K2 has no job {job.id}$"):
        core.apply(parse_event(ev("x", "job_accept", 60, job=job.id, crew="K2"), core.directory))
    assert job.stamps.get("F") is None


def test_restoring_the_outage_stamps_the_job(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    batch(core, [ev("s2", "scada", 3600, device="R1", state="closed")])
    assert job.stamps["restored"] == T0 + timedelta(hours=1)


def test_a_job_waits_for_the_dispatcher_without_auto_dispatch(files: dict[str, Path]) -> None:
    core = core_for(files, auto_dispatch=False)
    batch(core, [ev("c1", "call", 0, customer="b1-4")])
    job = only_job(core)
    assert job.crew is None  # auto-dispatch is off: it waits for the dispatcher
    batch(core, [ev("a1", "job_assign", 120, job=job.id, crew="K2", user="dora")])
    assert (job.crew, job.stamps["D"]) == ("K2", T0 + timedelta(minutes=2))
    batch(core, [ev("c2", "call", 300, customer="b1-4", power="on")])
    assert job.stamps["restored"] == T0 + timedelta(minutes=5)  # it waits for its close-out


def test_a_job_needs_the_skills_of_its_device_kind(files: dict[str, Path]) -> None:
    core = core_for(files, skills={"transformer": ["transformer"], "single_customer": ["service"]})
    assert core.book is not None
    assert core.book.needs("network", "X1") == (["transformer"], 10.0)
    assert core.book.needs("network", "R1") == (["line", "cable"], 10.0)  # not listed: line work
    assert core.book.needs("single_customer", None) == (["service"], 0.4)


def test_closing_the_outage_before_work_cancels_the_job_and_tells_the_crew(
    files: dict[str, Path],
) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    assert job.crew == "K1"
    oid = core.outages.active()[0].id
    batch(core, [ev("s2", "scada", 300, device="R1", state="closed")])
    batch(core, [ev("a1", "outage_close", 400, outage=oid, user="dora")])
    assert job.state == "cancelled"
    assert core.book is not None and core.book.crews["K1"].status == "available"


def test_a_job_restored_before_a_crew_was_sent_waits_for_the_dispatcher(
    files: dict[str, Path],
) -> None:
    core = core_for(files, auto_dispatch=False)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    batch(core, [ev("s2", "scada", 600, device="R1", state="closed")])
    assert core.book is not None
    assert core.book.dispatch_waiting(T0 + timedelta(minutes=11)) == []
    assert only_job(core).crew is None


def test_an_etr_that_passes_is_estimated_again_never_left_in_the_past(
    files: dict[str, Path],
) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    first = job.etr
    assert first is not None and first > T0
    late = (first - T0).total_seconds() + 60
    tick(core, T0 + timedelta(seconds=late))
    now = T0 + timedelta(seconds=late)
    assert job.etr is not None and job.etr > now and job.etr_source == "renewed"
    outage = core.outages.active()[0]
    assert outage.etr == job.etr  # the outage (and the public page) shows the new one


# ------------------------------------------------- the dispatcher's decision sticks
def test_a_recalled_crew_is_not_sent_back_automatically(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    assert job.crew == "K1"
    recall = ev("r", "job_recall", 60, job=job.id, user="dora", reason="K1 is needed at B3")
    batch(core, [recall])
    assert job.crew != "K1"  # another crew may go; K1 is not sent back
    assert job.hold["excluded"] == ["K1"] and job.hold["reason"] == "K1 is needed at B3"
    tick(core, T0 + timedelta(seconds=600))
    assert job.crew != "K1"


def test_a_hold_keeps_automatic_dispatch_off_until_its_time(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    until = (T0 + timedelta(minutes=30)).isoformat()
    batch(core, [ev("r", "job_recall", 60, job=job.id, user="dora", hold_until=until)])
    tick(core, T0 + timedelta(seconds=20 * 60))
    assert job.crew is None and job.state == "waiting"
    tick(core, T0 + timedelta(seconds=31 * 60))
    assert job.crew not in (None, "K1")


def test_assigning_a_busy_crew_needs_preempt(files: dict[str, Path]) -> None:
    core = core_for(files, auto_dispatch=False)
    batch(
        core,
        [
            ev("s1", "scada", 0, device="R1", state="open", lockout=True),
            ev("s2", "scada", 5, device="B3", state="open", lockout=True),
        ],
    )
    assert core.book is not None
    by_device = {j.device: j for j in core.book.jobs.values()}
    batch(core, [ev("a1", "job_assign", 60, job=by_device["R1"].id, crew="K1", user="dora")])
    core.begin()
    second = ev("a2", "job_assign", 90, job=by_device["B3"].id, crew="K1", user="dora")
    with pytest.raises(ActionError, match=r"K1 is working on JOB-\d+ \(dispatched\).*preempt"):
        core.apply(parse_event(second, core.directory))
    batch(core, [{**second, "id": "a3", "preempt": True}])
    assert by_device["B3"].crew == "K1"
    assert by_device["R1"].crew is None and by_device["R1"].state == "waiting"


def test_automatic_dispatch_switches_off_per_unit_and_globally(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("m1", "dispatch_auto", 0, auto=False, unit="U1", user="dora")])
    batch(core, [ev("s1", "scada", 10, device="R1", state="open", lockout=True)])
    assert only_job(core).crew is None  # U1's zone: suggest only
    batch(core, [ev("m2", "dispatch_auto", 20, auto=False, user="dora")])
    batch(core, [ev("s2", "scada", 30, device="B2", state="open", lockout=True)])
    assert core.book is not None
    assert all(j.crew is None for j in core.book.jobs.values())  # storm mode: suggest only
    batch(core, [ev("m3", "dispatch_auto", 40, auto=True, unit="U1", user="dora")])
    by_device = {j.device: j for j in core.book.jobs.values()}
    assert by_device["R1"].crew == "K1" and by_device["B2"].crew is None


def test_a_crew_cannot_estimate_or_close_another_crews_job(files: dict[str, Path]) -> None:
    core = core_for(files)
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    job = only_job(core)
    batch(core, [ev("k1", "job_restored", 600, job=job.id, crew="K1")])
    etr = (T0 + timedelta(hours=5)).isoformat()
    closeout = {
        "cause": "tree",
        "equipment": "conductor",
        "actions": "cleared",
        "outage_start": T0.isoformat(),
        "outage_end": (T0 + timedelta(minutes=10)).isoformat(),
    }
    core.begin()
    for etype, extra in (("job_estimate", {"etr": etr}), ("job_close", {"closeout": closeout})):
        forged = ev(f"x-{etype}", etype, 700, job=job.id, crew="K2", **extra)
        with pytest.raises(JobNotFound, match="crew K2 has no job"):
            core.apply(parse_event(forged, core.directory))
    assert job.state == "restored" and job.etr_source != "crew"
