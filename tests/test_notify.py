"""Customer notifications: who is told what, once; the outbox and its channels."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from oms.cli import cli
from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.notify import FileChannel, deliver
from oms.storage import schema
from oms.storage.db import connect

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def ev(eid: str, etype: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "type": etype,
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }


def feed(engine: OutageEngine, *events: dict[str, Any]) -> Any:
    return engine.ingest(json.dumps(e) for e in events)


def messages(url: str) -> list[dict[str, Any]]:
    with connect(url).connect() as conn:
        n = schema.notifications
        return [dict(r) for r in conn.execute(select(n).order_by(n.c.seq)).mappings()]


def cli_run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def url(loaded_db: str, tmp_path: Path) -> str:
    from helpers import write_dispatch_files

    from oms.storage.loading import load

    files = write_dispatch_files(tmp_path)
    load(connect(loaded_db), **{k: str(v) for k, v in files.items()})
    return loaded_db


def test_callers_and_subscribers_are_told_each_step_once(url: str, tmp_path: Path) -> None:
    cli_run(
        "notify",
        "subscribe",
        "a9-5",
        "--channel",
        "email",
        "--address",
        "a95@example.org",
        "--db",
        url,
        "--json",
    )
    cli_run("notify", "optout", "a9-4", "--db", url, "--json")
    cli_run("notify", "subscribe", "b1-1", "--db", url, "--json")  # elsewhere: not told
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    calls = [
        ev("c2", "call", 0, customer="a9-2"),
        ev("c3", "call", 5, customer="a9-3"),
        ev("c4", "call", 6, customer="a9-4"),
    ]
    feed(engine, *calls)
    first = messages(url)
    told = sorted((m["customer"], m["kind"], m["channel"]) for m in first)
    assert told == [
        ("a9-2", "acknowledged", "sms"),
        ("a9-3", "acknowledged", "sms"),
        ("a9-5", "acknowledged", "email"),
    ]
    # The customer is told the case's unguessable reference, never the sequential id.
    from oms.outages import case_key, case_ref

    with connect(url).begin() as conn:
        ref = case_ref(case_key(conn), first[0]["outage"])
    assert f"(case {ref})" in first[0]["message"] and "OUT-" not in first[0]["message"]
    assert "Estimated restoration" in first[0]["message"]
    feed(engine, *calls)  # a replay tells nobody again
    engine.tick(T0 + timedelta(seconds=600))
    assert len(messages(url)) == 3
    job = next(iter(engine.book.jobs.values()))
    feed(engine, ev("d", "job_assign", 700, job=job.id))
    assert sorted(m["customer"] for m in messages(url) if m["kind"] == "dispatched") == [
        "a9-2",
        "a9-3",
        "a9-5",
    ]
    feed(engine, ev("r", "outage_restore", 3000, outage=job.outage, user="ann"))
    kinds = [m["kind"] for m in messages(url) if m["customer"] == "a9-2"]
    assert kinds == ["acknowledged", "dispatched", "restored", "survey"]
    feed(engine, ev("s", "survey_answer", 3600, customer="a9-2", outage=job.outage, answer="5"))
    (survey,) = [m for m in messages(url) if m["customer"] == "a9-2" and m["kind"] == "survey"]
    assert survey["answer"] == "5"


def test_delivery_records_sent_and_failed(url: str, tmp_path: Path) -> None:
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    feed(engine, ev("c2", "call", 0, customer="a9-2"), ev("c3", "call", 5, customer="a9-3"))
    out = tmp_path / "out.jsonl"

    class Broken:
        def send(self, address: str | None, message: str, meta: Any) -> None:
            raise OSError("gateway down")

    counts = deliver(connect(url), {"sms": Broken()}, T0)
    assert counts == {"sent": 0, "failed": 2, "skipped": 0, "held": 0}
    assert {m["status"] for m in messages(url)} == {"failed"}
    assert messages(url)[0]["error"] == "gateway down"
    counts = deliver(connect(url), {"sms": FileChannel(out)}, T0)
    assert counts == {"sent": 2, "failed": 0, "skipped": 0, "held": 0}
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(x["customer"] for x in lines) == ["a9-2", "a9-3"]
    assert all(m["status"] == "sent" and m["attempts"] == 2 for m in messages(url))
    assert deliver(connect(url), {"sms": FileChannel(out)}, T0)["sent"] == 0


def test_notify_send_exits_1_when_a_message_failed(url: str, tmp_path: Path) -> None:
    """A scheduler running the notifier sees a channel that is down."""
    cli_run(
        "notify",
        "subscribe",
        "a9-2",
        "--channel",
        "email",
        "--address",
        "a@x.org",
        "--db",
        url,
        "--json",
    )
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    feed(engine, ev("c2", "call", 0, customer="a9-2"))
    out = str(tmp_path / "out.jsonl")
    send = ["notify", "send", "--db", url, "--file", out, "--json"]
    # No SMTP host given: the e-mail fails.
    result = CliRunner().invoke(cli, send)
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["failed"] == 1
    [failed] = messages(url)
    assert (failed["channel"], failed["status"]) == ("email", "failed")
    assert failed["error"] == "no email channel is configured"
    # Nothing fails on the next run (the customer opted out): 0.
    cli_run("notify", "optout", "a9-2", "--db", url, "--json")
    assert cli_run(*send) == {"sent": 0, "failed": 0, "skipped": 1, "held": 0}


def test_a_customer_who_opts_out_after_a_message_was_queued_gets_nothing(
    url: str, tmp_path: Path
) -> None:
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    feed(engine, ev("c2", "call", 0, customer="a9-2"), ev("c3", "call", 5, customer="a9-3"))
    r = CliRunner().invoke(cli, ["notify", "optout", "a9-2", "--db", url])
    assert r.exit_code == 0, r.output
    out = tmp_path / "out.jsonl"
    counts = deliver(connect(url), {"sms": FileChannel(out)}, T0)
    assert counts == {"sent": 1, "failed": 0, "skipped": 1, "held": 0}
    assert [json.loads(x)["customer"] for x in out.read_text().splitlines()] == ["a9-3"]
    (skipped,) = [m for m in messages(url) if m["customer"] == "a9-2"]
    assert (skipped["status"], skipped["error"]) == ("skipped", "opted out")


def test_etr_change_is_told_only_when_it_moves_enough(url: str) -> None:
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    feed(engine, ev("c2", "call", 0, customer="a9-2"), ev("c3", "call", 5, customer="a9-3"))
    job = next(iter(engine.book.jobs.values()))
    feed(engine, ev("d", "job_assign", 60, job=job.id))
    etr = job.etr
    assert etr is not None
    feed(
        engine,
        ev("e1", "job_estimate", 120, job=job.id, etr=(etr + timedelta(minutes=20)).isoformat()),
    )
    assert not [m for m in messages(url) if m["kind"] == "etr_changed"]
    feed(
        engine,
        ev("e2", "job_estimate", 180, job=job.id, etr=(etr + timedelta(minutes=90)).isoformat()),
    )
    changed = [m for m in messages(url) if m["kind"] == "etr_changed"]
    assert sorted(m["customer"] for m in changed) == ["a9-2", "a9-3"]


def test_quiet_hours_hold_and_collapse_the_night_into_one_message(url: str, tmp_path: Path) -> None:
    """A call at 23:00 (acknowledged), a crew sent (dispatched), supply back at
    01:00 (restored): in quiet hours 22:00-07:00 nothing goes out at night; at
    07:00 the customer gets "restored" (and the survey), not the stale ones."""
    from oms.notify import QuietHours

    night = T0.replace(hour=23)
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    call = {"id": "n1", "type": "call", "time": night.isoformat(), "customer": "a9-2"}
    feed(engine, call)
    [outage] = [o for o in engine.snapshot() if o["state"] != "cancelled"]
    back = {
        "id": "n2",
        "type": "outage_restore",
        "time": (night + timedelta(hours=2)).isoformat(),
        "outage": outage["id"],
        "user": "dora",
    }
    feed(engine, back)
    out = tmp_path / "night.jsonl"
    quiet = QuietHours.parse("22:00-07:00", "UTC")
    counts = deliver(
        connect(url), {"sms": FileChannel(out)}, night + timedelta(hours=3), quiet=quiet
    )
    assert counts["sent"] == 0 and counts["held"] >= 1 and counts["skipped"] >= 1
    morning = night.replace(hour=7) + timedelta(days=1)
    counts = deliver(connect(url), {"sms": FileChannel(out)}, morning, quiet=quiet)
    kinds = [json.loads(x)["kind"] for x in out.read_text().splitlines()]
    assert "acknowledged" not in kinds and kinds[0] == "restored"
    assert {m["status"] for m in messages(url)} <= {"sent", "skipped"}
    with pytest.raises(Exception, match="HH:MM-HH:MM"):
        QuietHours.parse("late", "UTC")


def test_the_critical_customers_report_says_who_was_out_and_who_was_reached(
    url: str, tmp_path: Path
) -> None:
    """a9-1 (life support, behind F1) out 40 minutes by a fuse fault and told by
    SMS; the report lists it with its minutes and when it was reached."""
    from oms.reports.critical import critical_report

    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    feed(engine, ev("k1", "call", 0, customer="a9-1"), ev("k2", "call", 30, customer="a9-2"))
    [outage] = [o for o in engine.snapshot() if o["kind"] == "network"]
    out = tmp_path / "sms.jsonl"
    with connect(url).connect() as conn:
        before = critical_report(conn, T0, T0 + timedelta(hours=2), T0 + timedelta(minutes=10))
    [row] = before["customers"]
    assert (row["customer"], row["critical"], row["out_now"]) == ("a9-1", "life_support", True)
    assert row["reached_at"] is None and before["not_reached"] == 1
    deliver(connect(url), {"sms": FileChannel(out)}, T0 + timedelta(minutes=12))
    feed(engine, ev("r1", "outage_restore", 2400, outage=outage["id"], user="dora"))
    result = cli_run("report", "critical", "--db", url, "--json", "--start", T0.isoformat())
    [row] = result["customers"]
    assert row["minutes_out"] == 40.0 and not row["out_now"]
    assert row["reached_at"] == (T0 + timedelta(minutes=12)).isoformat()
    assert (result["critical_customers"], result["reached"]) == (1, 1)


def test_the_first_etr_is_told_after_customers_heard_it_was_not_known() -> None:
    """Acknowledged with 'not yet known', the first estimate is news; later ones
    only when they move by more than etr_change_min. No database."""
    from oms.engine.outbox import Outbox

    box = Outbox([], etr_change_min=30)
    t = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    box.last_etr["OUT-1"] = None  # acknowledged without an ETR
    assert box.etr_moved("OUT-1", None) is False
    assert box.etr_moved("OUT-1", t) is True
    assert box.etr_moved("OUT-1", t + timedelta(minutes=20)) is False
    assert box.etr_moved("OUT-1", t + timedelta(minutes=45)) is True
    # After a restart nothing was told in this process: remembered, not repeated.
    assert box.etr_moved("OUT-2", t) is False and box.etr_moved("OUT-2", t) is False


def test_the_survey_answer_from_the_command_line_is_signed_by_its_user(web_db: str) -> None:
    """``oms notify answer`` acts as ``--user`` (docs/dispatch.md), in that user's role."""
    answer = ["notify", "answer", "a9-1", "OUT-000099", "5", "--db", web_db]
    crew = CliRunner().invoke(cli, [*answer, "--user", "k1"])
    assert crew.exit_code == 1 and "may not send survey_answer" in crew.output
    desk = CliRunner().invoke(cli, [*answer, "--user", "dora"])
    assert desk.exit_code == 0, desk.output  # recorded, as dora
    assert "No such option" not in desk.output and "may not send" not in desk.output


def _notices(url: str) -> list[dict[str, Any]]:
    with connect(url).connect() as conn:
        nt = schema.notices
        return [dict(r) for r in conn.execute(select(nt).order_by(nt.c.seq)).mappings()]


def _told(url: str) -> list[tuple[str, str, str, str]]:
    return sorted((m["customer"], m["kind"], m["channel"], m["message"]) for m in messages(url))


def _storm(engine: OutageEngine) -> None:
    feed(
        engine,
        ev("c2", "call", 0, customer="a9-2"),
        ev("c3", "call", 5, customer="a9-3"),
        ev("c4", "call", 6, customer="a9-4"),
    )
    job = next(iter(engine.book.jobs.values()))
    feed(engine, ev("d", "job_assign", 700, job=job.id))
    feed(engine, ev("r", "outage_restore", 3000, outage=job.outage, user="ann"))


def test_a_notifier_fans_out_what_the_writer_left_as_notices_once(url: str, tmp_path: Path) -> None:
    """With fan_out: notifier the batch writes one notice per message and
    outage; the notifier queues each customer's messages once, and nothing
    for a customer who opted out in between (the inline writer's messages:
    test_callers_and_subscribers_are_told_each_step_once)."""
    cli_run("notify", "subscribe", "a9-5", "--channel", "email", "--address", "e@x.org",
            "--db", url, "--json")  # fmt: skip
    config = {"pings": False, "dispatch": {"fan_out": "notifier"}}
    engine = OutageEngine(connect(url), EngineConfig.from_dict(config))
    _storm(engine)
    assert messages(url) == []
    notices = _notices(url)
    assert [n["kind"] for n in notices] == ["acknowledged", "dispatched", "restored", "survey"]
    assert all(n["fanned_out_at"] is None for n in notices)
    assert notices[0]["recipients"] == ["a9-2", "a9-3", "a9-4", "a9-5"]
    cli_run("notify", "optout", "a9-4", "--db", url, "--json")  # after the notice was written
    assert cli_run("notify", "fan-out", "--db", url, "--json") == {"queued": 12}
    assert cli_run("notify", "fan-out", "--db", url, "--json") == {"queued": 0}
    assert all(n["fanned_out_at"] is not None for n in _notices(url))
    told = _told(url)
    assert {c for c, *_ in told} == {"a9-2", "a9-3", "a9-5"}
    assert ("a9-5", "acknowledged", "email") in {(c, k, ch) for c, k, ch, _ in told}
    by_customer: dict[str, list[str]] = {}
    for c, kind, _, _ in told:
        by_customer.setdefault(c, []).append(kind)
    assert all(
        sorted(kinds) == ["acknowledged", "dispatched", "restored", "survey"]
        for kinds in by_customer.values()
    )


def test_a_fan_out_that_fails_leaves_its_notices_pending_and_nothing_half_queued(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oms.engine import repository

    config = {"pings": False, "dispatch": {"fan_out": "notifier"}}
    engine = OutageEngine(connect(url), EngineConfig.from_dict(config))
    _storm(engine)
    real = repository.messages_of
    calls = 0

    def breaks_on_the_second(*args: Any) -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        return real(*args)

    monkeypatch.setattr(repository, "messages_of", breaks_on_the_second)
    with pytest.raises(OSError):
        engine.fan_out()
    assert messages(url) == [] and all(n["fanned_out_at"] is None for n in _notices(url))
    monkeypatch.setattr(repository, "messages_of", real)
    assert engine.fan_out() == 12
    assert len(messages(url)) == 12 and engine.fan_out() == 0


def test_two_notifiers_at_once_queue_each_message_once(url: str) -> None:
    """One fan-out at a time (PostgreSQL: an advisory lock; SQLite: its write lock)."""
    from concurrent.futures import ThreadPoolExecutor

    from oms.engine.repository import fan_out

    config = {"pings": False, "dispatch": {"fan_out": "notifier"}}
    _storm(OutageEngine(connect(url), EngineConfig.from_dict(config)))
    with ThreadPoolExecutor(2) as pool:
        db = connect(url)
        counts = list(pool.map(lambda _: fan_out(db, T0, limit=1), range(2)))
    assert sum(counts) == 12
    keys = [m["key"] for m in messages(url)]
    assert len(keys) == len(set(keys)) == 12


def test_a_notice_fans_out_by_each_customers_route_without_a_database() -> None:
    from oms.engine.outbox import Outbox, messages_of

    box = Outbox(
        [
            {"customer": "a", "channel": "email", "address": "a@x", "opted_out": False},
            {"customer": "a", "channel": "webhook", "address": "http://a", "opted_out": False},
            {"customer": "b", "channel": "*", "address": None, "opted_out": True},
        ],
        etr_change_min=30,
    )
    assert box.subscribers == {"a"}
    box.queue("restored", "OUT-1", ["c", "a", "b", "d", "a"], T0)
    box.queue("restored", "OUT-1", [], T0)  # nobody to tell: no notice
    (notice,) = box.queued
    assert notice["recipients"] == ["a", "b", "c", "d"]
    routes = {"a": [("email", "a@x"), ("webhook", "http://a")], "b": []}
    rows = messages_of(notice, routes, {"c": "+1 555 0100", "d": None})
    assert [(r["customer"], r["channel"], r["address"]) for r in rows] == [
        ("a", "email", "a@x"),
        ("a", "webhook", "http://a"),
        ("c", "sms", "+1 555 0100"),
    ]
    assert len({r["key"] for r in rows}) == 3
    assert messages_of(notice, routes, {"c": "+1 555 0100"}) == rows  # the same keys again


def test_a_survey_answered_before_the_notifier_ran_keeps_its_answer(url: str) -> None:
    config = {"pings": False, "dispatch": {"fan_out": "notifier"}}
    engine = OutageEngine(connect(url), EngineConfig.from_dict(config))
    _storm(engine)
    outage = next(iter(engine.book.jobs.values())).outage
    feed(engine, ev("s", "survey_answer", 3600, customer="a9-2", outage=outage, answer="4"))
    engine.fan_out()
    (survey,) = [m for m in messages(url) if m["customer"] == "a9-2" and m["kind"] == "survey"]
    assert (survey["answer"], len(messages(url))) == ("4", 12)


def test_a_fan_out_that_fails_after_the_commit_leaves_the_events_accepted(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oms.engine import repository

    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    real = repository.messages_of

    def broken(*args: Any) -> list[dict[str, Any]]:
        raise OSError("disk full")

    monkeypatch.setattr(repository, "messages_of", broken)
    report = feed(
        engine, ev("c2", "call", 0, customer="a9-2"), ev("c3", "call", 5, customer="a9-3")
    )
    assert report.accepted == 2 and messages(url) == []
    assert [n["fanned_out_at"] for n in _notices(url)] == [None]
    monkeypatch.setattr(repository, "messages_of", real)
    engine.tick(T0 + timedelta(seconds=60))  # the next call fans out what is pending
    assert sorted(m["customer"] for m in messages(url)) == ["a9-2", "a9-3"]


@pytest.mark.parametrize("how", ["crew", "dispatcher"])
def test_a_quick_repair_by_a_crew_is_restored_not_a_blink(url: str, how: str) -> None:
    """Restored by the crew sent, or by the dispatcher once a crew was sent,
    four minutes after the calls: a sustained outage whose customers are
    told (a blink's job would be cancelled as 'supply came back by itself')."""
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    feed(engine, ev("c2", "call", 0, customer="a9-2"), ev("c3", "call", 5, customer="a9-3"))
    job = next(iter(engine.book.jobs.values()))
    feed(engine, ev("d", "job_assign", 30, job=job.id))
    if how == "crew":
        done = ev("r", "job_restored", 240, job=job.id, crew=job.crew)
    else:
        done = ev("r", "outage_restore", 240, outage=job.outage, user="ann")
    feed(engine, done)
    (o,) = [x for x in engine.snapshot() if x["id"] == job.outage]
    assert (o["kind"], o["state"]) == ("network", "restored")
    assert engine.book.jobs[job.id].state != "cancelled"
    told = {(m["customer"], m["kind"]) for m in messages(url)}
    assert {("a9-2", "restored"), ("a9-3", "restored")} <= told


def test_a_caller_after_the_job_was_raised_is_told_the_case_once(url: str) -> None:
    """A customer calling after the first callers were told is told the case
    reference too, once, also by an engine started again meanwhile."""
    config = EngineConfig.from_dict({"pings": False})
    engine = OutageEngine(connect(url), config)
    feed(engine, ev("c2", "call", 0, customer="a9-2"), ev("c3", "call", 5, customer="a9-3"))
    assert sorted(m["customer"] for m in messages(url)) == ["a9-2", "a9-3"]
    feed(engine, ev("c4", "call", 120, customer="a9-4"))
    acknowledged = [m for m in messages(url) if m["kind"] == "acknowledged"]
    assert sorted(m["customer"] for m in acknowledged) == ["a9-2", "a9-3", "a9-4"]
    assert len({m["outage"] for m in acknowledged}) == 1
    # Started again: those told are known from the stored notices.
    again = OutageEngine(connect(url), config)
    feed(again, ev("c5", "call", 240, customer="a9-5"))
    again.tick(T0 + timedelta(seconds=600))
    acknowledged = [m for m in messages(url) if m["kind"] == "acknowledged"]
    assert sorted(m["customer"] for m in acknowledged) == ["a9-2", "a9-3", "a9-4", "a9-5"]


def test_a_caller_after_a_crew_was_sent_is_told_a_crew_is_on_it(url: str) -> None:
    """The ``dispatched`` message went to the customers known then; one who
    calls afterwards is told the case and, as it is so, that a crew is on
    its way, once; the first callers are not told again."""
    engine = OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))
    feed(engine, ev("c2", "call", 0, customer="a9-2"), ev("c3", "call", 5, customer="a9-3"))
    engine.tick(T0 + timedelta(seconds=600))
    job = next(iter(engine.book.jobs.values()))
    feed(engine, ev("d", "job_assign", 700, job=job.id))
    feed(engine, ev("c4", "call", 800, customer="a9-4"))
    feed(engine, ev("c4b", "call", 900, customer="a9-4"))  # calls again: not told again
    told = sorted((m["customer"], m["kind"]) for m in messages(url))
    assert told == [
        ("a9-2", "acknowledged"),
        ("a9-2", "dispatched"),
        ("a9-3", "acknowledged"),
        ("a9-3", "dispatched"),
        ("a9-4", "acknowledged"),
        ("a9-4", "dispatched"),
    ]
    # Before a crew is sent, a late caller is told the case only.
    feed(engine, ev("r", "outage_restore", 3000, outage=job.outage, user="ann"))
    feed(engine, ev("c1", "call", 4000, customer="b1-1"))
    engine.tick(T0 + timedelta(seconds=4600))
    feed(engine, ev("c1b", "call", 4700, customer="b1-2"))
    kinds = {(m["customer"], m["kind"]) for m in messages(url) if m["customer"].startswith("b1")}
    assert ("b1-2", "acknowledged") in kinds and ("b1-2", "dispatched") not in kinds
