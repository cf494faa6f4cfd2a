"""The critical-customer register and the callback queue (issue 16 item 1).

On the two-feeder network (a9-1 on life support in the customers file):
the engine's counts follow an edit in the same batch (no database), and
over HTTP the register, the queue of calls owed and the critical report
agree, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import batch, customers_csv, two_feeders, write_dispatch_files
from test_api import ok, outage_at, trip
from test_orders_core import core_for, ev

from oms.exceptions import ActionError, EventError
from oms.intake.events import parse_event

NURSE = {"name": "Night nurse", "phone": "+4930555", "relation": "carer"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("register")
    (folder / "customers.csv").write_text(customers_csv(two_feeders()))
    return {"customers": folder / "customers.csv", **write_dispatch_files(folder)}


def _refused(core: Any, event: dict[str, Any]) -> str:
    core.begin()
    with pytest.raises(ActionError) as refused:
        core.apply(parse_event(event, core.directory))
    core.settle()
    return str(refused.value)


def test_an_edit_moves_the_outages_critical_count_and_its_jobs_priority(
    files: dict[str, Path],
) -> None:
    core = core_for(files, auto_dispatch=False)
    book = core.book
    assert book is not None
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    [o] = core.outages.active("network")
    [job] = book.jobs.values()
    assert o.critical_out == 0
    before = job.priority
    edit = {"customer": "a5-2", "critical": "hospital", "contacts": [NURSE], "user": "dora"}
    batch(core, [ev("r1", "critical_customer", 60, **edit)])
    assert o.critical_out == 1 and job.priority > before
    assert core.register["a5-2"]["contacts"] == [{**NURSE, "email": None}]
    # Fields left out keep their value; null takes the customer off.
    batch(core, [ev("r2", "critical_customer", 90, customer="a5-2", note="dialysis")])
    assert core.register["a5-2"]["critical"] == "hospital" and o.critical_out == 1
    batch(core, [ev("r3", "critical_customer", 120, customer="a5-2", critical=None)])
    assert o.critical_out == 0 and core.register["a5-2"]["contacts"] == [{**NURSE, "email": None}]
    # The file's own life-support customer, under X1: taken off, then back on.
    batch(core, [ev("s2", "scada", 150, device="B1", state="open", lockout=True)])
    [top] = [x for x in core.outages.active("network") if x.device == "B1"]
    assert top.critical_out == 1  # a9-1 (R1's customers are R1's outage)
    batch(core, [ev("r4", "critical_customer", 180, customer="a9-1", critical=None)])
    assert top.critical_out == 0


def test_a_wrong_entry_is_refused_naming_the_field(files: dict[str, Path]) -> None:
    core = core_for(files)
    no_phone = [{"name": "Son"}]
    assert "contacts[0] needs a phone or an email" in _refused(
        core, ev("r1", "critical_customer", 0, customer="a5-1", contacts=no_phone)
    )
    assert "contacts[1].name is missing" in _refused(
        core, ev("r2", "critical_customer", 0, customer="a5-1", contacts=[NURSE, {"phone": "1"}])
    )
    assert "unknown field(s) fax" in _refused(
        core, ev("r3", "critical_customer", 0, customer="a5-1", contacts=[{**NURSE, "fax": "2"}])
    )
    assert "critical must be text" in _refused(
        core, ev("r4", "critical_customer", 0, customer="a5-1", critical=7)
    )
    assert "reached must be true" in _refused(
        core, ev("c1", "customer_contact", 0, customer="a5-1")
    )
    assert "not a known outage" in _refused(
        core, ev("c2", "customer_contact", 0, customer="a5-1", reached=True, outage="OUT-9")
    )
    with pytest.raises(EventError, match="unknown customer 'nobody'"):
        parse_event(ev("r5", "critical_customer", 0, customer="nobody"), core.directory)
    assert core.register == {}


def _put(user: Any, customer: str, body: dict[str, Any]) -> Any:
    return user.client.put(f"/api/critical/{customer}", json=body, headers=user.headers)


def test_register_callbacks_and_report_over_http(
    app: Any, dora: Any, eng: Any, k1: Any, clock: Any
) -> None:
    # Keeping the register: the desk may, a crew may not.
    r = _put(k1, "a5-2", {"critical": "hospital"})
    assert r.status_code == 403
    ok(_put(eng, "a5-2", {"critical": "hospital", "contacts": [NURSE], "note": "ward 3"}))
    register = {e["customer"]: e for e in ok(dora.get("/api/critical"))}
    assert set(register) == {"a5-2", "a9-1"}
    assert register["a5-2"]["updated_by"] == "eng" and register["a5-2"]["note"] == "ward 3"
    assert register["a9-1"]["critical"] == "life_support" and register["a9-1"]["contacts"] == []
    r = _put(eng, "a5-2", {"contacts": [{"name": "x"}]})
    assert r.status_code == 422 and "contacts[0] needs a phone" in str(r.get_json())

    # B1 locks out: both critical customers are owed a welfare call, life support first.
    trip(dora, "t1", "B1")
    outage = outage_at(dora, "B1")
    assert outage["critical_out"] == 2
    clock.advance(minutes=30)
    queue = ok(dora.get("/api/callbacks"))
    assert queue["counts"]["welfare"] == 2
    first, second = queue["calls"][:2]
    assert (first["customer"], first["kind"]) == ("a9-1", "welfare")
    assert second["customer"] == "a5-2" and second["call"][0]["phone"] == NURSE["phone"]
    assert second["call"][-1]["phone"] is not None  # then the customer's own phone
    # A call that reached nobody keeps it in the queue, counted; one answered takes it out.
    call = {"reached": False, "outage": outage["id"], "note": "no answer"}
    ok(dora.post("/api/customers/a5-2/contacts", call))
    after = {c["customer"]: c for c in ok(dora.get("/api/callbacks"))["calls"]}
    assert after["a5-2"]["attempts"] == 1 and after["a5-2"]["last_attempt"]["note"] == "no answer"
    ok(dora.post("/api/customers/a5-2/contacts", {**call, "reached": True, "note": "ok"}))
    after = {c["customer"]: c for c in ok(dora.get("/api/callbacks"))["calls"]}
    assert "a5-2" not in after and "a9-1" in after
    assert k1.post("/api/customers/a5-2/contacts", call).status_code == 403
    # The live feed carries the edit and the calls (the dispatcher's page follows them).
    from sqlalchemy import select

    from oms.storage import schema

    ch = schema.changes
    with app.extensions["oms.storage.db"].connect() as conn:
        fed = conn.execute(
            select(ch.c.kind, ch.c.ref).where(ch.c.kind.in_(["critical", "contact"]))
        )
        kinds = [(kind, ref if kind == "critical" else "") for kind, ref in fed]
    assert kinds == [("critical", "a5-2"), ("contact", ""), ("contact", "")]

    # The report: a5-2 reached by a call; a9-1 not reached, one of two out.
    report = ok(dora.get("/api/reports/critical"))
    rows = {r["customer"]: r for r in report["customers"]}
    assert rows["a5-2"]["reached_by"] == "call" and rows["a5-2"]["attempts"] == 1
    assert rows["a5-2"]["contacts"][0]["phone"] == NURSE["phone"]
    assert rows["a9-1"]["reached_at"] is None and report["out_now"] == 2

    # Restored (before a5-2's call was answered): a9-1 is owed a confirmation,
    # the caller a callback.
    ok(dora.post("/api/events", ev("c1", "call", 600, customer="a3-1")))
    ok(dora.post("/api/events", ev("s2", "scada", 1800, device="B1", state="closed")))
    clock.advance(minutes=10)
    queue = ok(dora.get("/api/callbacks"))
    kinds = {(c["kind"], c["customer"]) for c in queue["calls"]}
    assert kinds == {("restored_critical", "a9-1"), ("callback", "a3-1")}
    assert [c["kind"] for c in queue["calls"]] == sorted(
        (c["kind"] for c in queue["calls"]), key=["welfare", "restored_critical", "callback"].index
    )
    assert dora.get("/api/callbacks?hours=-1").status_code == 400


def test_the_register_stands_over_a_reloaded_customers_file(web_db: str, tmp_path: Path) -> None:
    from oms.engine import OutageEngine
    from oms.storage.db import connect
    from oms.storage.loading import load, stored_network

    engine = connect(web_db)
    oms = OutageEngine(engine)
    edit = {"customer": "a9-1", "critical": None}
    report = oms.ingest_objects([(1, ev("r1", "critical_customer", 0, **edit))]).to_dict()
    assert report["accepted"] == 1, report
    csv = tmp_path / "customers.csv"
    csv.write_text(customers_csv(two_feeders()).replace("Customer a1-1", "Mrs A"))
    load(engine, customers=csv)
    with engine.connect() as conn:
        _, net = stored_network(conn)
    cust = net.customers
    assert cust is not None and cust.get("name", cust.index["a1-1"]) == "Mrs A"
    assert not cust.critical_mask().any()  # a9-1 stays off, as edited
    # A fresh engine reads it so too.
    assert OutageEngine(engine).core.units.critical.sum() == 0


def test_the_register_and_the_calls_from_the_command_line(web_db: str) -> None:
    import json

    from click.testing import CliRunner

    from oms.cli import cli

    run = CliRunner()

    def oms(*args: str) -> Any:
        r = run.invoke(cli, [*args, "--db", web_db])
        return r

    r = oms("critical", "set", "a5-2", "--critical", "hospital", "--contact", "Nurse=+4930555",
            "--contact", "Ward=ward@example.org", "--user", "eng", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = {e["customer"]: e for e in json.loads(oms("critical", "list", "--json").output)}
    assert rows["a5-2"]["contacts"] == [
        {"name": "Nurse", "phone": "+4930555", "email": None, "relation": None},
        {"name": "Ward", "phone": None, "email": "ward@example.org", "relation": None},
    ]
    r = oms("critical", "set", "a5-2", "--contact", "Nurse", "--user", "eng")
    assert r.exit_code == 2 and "give NAME=PHONE" in r.output
    r = oms("critical", "set", "a5-2", "--off", "--user", "k1")
    assert r.exit_code == 1 and "may not send critical_customer" in r.output
    r = run.invoke(
        cli,
        ["ingest", "-", "--db", web_db],
        input=json.dumps(ev("t1", "scada", 0, device="B1", state="open", lockout=True)) + "\n",
    )
    assert r.exit_code == 0, r.output
    queue = json.loads(oms("critical", "callbacks", "--json").output)
    assert [c["customer"] for c in queue["calls"]] == ["a9-1", "a5-2"]
    r = oms("critical", "contact", "a9-1", "--reached", "--note", "on backup", "--user", "dora")
    assert r.exit_code == 0, r.output
    text = oms("critical", "callbacks").output
    assert "welfare 1" in text and "a5-2" in text and "a9-1" not in text
    assert oms("critical", "callbacks", "--hours", "0").exit_code == 2


def test_a_crews_stream_never_carries_the_register_or_the_calls() -> None:
    from webmap.accounts import User
    from webmap.stream import _visible

    crew, desk = User("k1", "crew", "K1"), User("dora", "dispatcher", None)
    for kind in ("critical", "contact"):
        change = {"kind": kind, "ref": "a9-1", "data": {"contacts": [NURSE]}}
        assert not _visible(change, crew) and _visible(change, desk)
