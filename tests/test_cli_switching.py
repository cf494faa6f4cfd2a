"""``oms switching ...`` and ``oms planned ...``: the switching desk from the command line.

On the two-feeder network of ``web_db`` (crews K1, K2; see test_switching_desk
for its picture): SW2 cuts off b4 and b3 (6 customers), TIE1 (normally
open) ties them to the first feeder, a9-1 behind F1 is on life support.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from oms.cli import cli

T0 = "2026-03-01T10:00:00+00:00"


def run(db: str, command: str, stdin: str | None = None) -> Result:
    """``oms COMMAND --db DB`` (COMMAND split as a shell would)."""
    return CliRunner().invoke(cli, [*shlex.split(command), "--db", db], input=stdin)


def ok(db: str, command: str, stdin: str | None = None) -> Any:
    """The JSON document of a command that must succeed."""
    result = run(db, f"{command} --json", stdin=stdin)
    assert result.exit_code == 0, (command, result.output)
    return json.loads(result.stdout)


def refused(db: str, command: str) -> str:
    """The reason a command is refused (exit 1, the reason on stderr and in the JSON)."""
    result = run(db, f"{command} --json")
    assert result.exit_code == 1, (command, result.output)
    reason: str = json.loads(result.stdout)["error"]
    assert f"error: {reason}" in result.stderr
    return reason


def steps_file(tmp_path: Path, steps: list[dict[str, Any]], name: str = "steps.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(steps), encoding="utf-8")
    return shlex.quote(str(path))


def test_an_order_from_draft_to_completed(web_db: str, tmp_path: Path) -> None:
    steps = steps_file(
        tmp_path, [{"action": "open", "device": "SW2"}, {"action": "close", "device": "TIE1"}]
    )
    order = ok(web_db, f"switching create --title 'move b4' --steps {steps} --user eng --time {T0}")
    oid = order["id"]
    assert (order["state"], order["created_by"], order["created_at"]) == ("draft", "eng", T0)
    assert [s["device"] for s in order["steps"]] == ["SW2", "TIE1"]
    checked = ok(web_db, f"switching check {oid} --user eng")
    assert checked["state"] == "checked"
    assert checked["study"]["customers_interrupted"] == 6
    # Its writer may not approve it; nothing changed.
    why = refused(web_db, f"switching approve {oid} --user eng")
    assert why == f"eng wrote {oid}; another person approves it (two-person rule)"
    assert ok(web_db, f"switching show {oid}")["state"] == "checked"
    ok(web_db, f"switching approve {oid} --user dora --reason 'looks right'")
    issued = ok(web_db, f"switching issue {oid} --user dora")
    assert (issued["state"], issued["next_step"]) == ("issued", 1)
    assert (
        refused(web_db, f"switching step {oid} 2 --user dora")
        == f"step 1 of {oid} comes before step 2"
    )
    done = ok(web_db, f"switching step {oid} 1 --user dora --note 'by hand'")
    assert done["state"] == "in_progress" and done["next_step"] == 2
    assert (done["steps"][0]["done_by"], done["steps"][0]["note"]) == ("dora", "by hand")
    assert [o["kind"] for o in ok(web_db, "outages")] == ["switching"]
    text = run(web_db, f"switching show {oid}").stdout
    assert "x 1   open" in text and "> 2   close" in text and "approved dora" in text
    done = ok(web_db, f"switching step {oid} 2 --user dora")
    assert done["state"] == "completed"
    assert [(s["state"], s["user"]) for s in done["signatures"]] == [
        ("draft", "eng"),
        ("checked", "eng"),
        ("approved", "dora"),
        ("issued", "dora"),
        ("in_progress", "dora"),
        ("completed", "dora"),
    ]
    assert done["signatures"][2]["note"] == "looks right"
    assert [o["id"] for o in ok(web_db, "switching list --state completed")] == [oid]
    assert ok(web_db, "switching list --open") == []
    assert "no open switching order" in refused(web_db, f"switching step {oid} 2 --user dora")


def test_an_order_edited_then_cancelled_and_usage_errors(web_db: str, tmp_path: Path) -> None:
    one = steps_file(tmp_path, [{"action": "open", "device": "SW2"}])
    oid = ok(web_db, f"switching create --title x --steps {one} --time {T0} --user eng")["id"]
    two = steps_file(tmp_path, [{"action": "open", "device": "SW1"}], "two.json")
    edited = ok(web_db, f"switching edit {oid} --steps {two} --user ada")
    assert [s["device"] for s in edited["steps"]] == ["SW1"] and edited["editors"] == ["ada"]
    assert (
        ok(web_db, f"switching cancel {oid} --reason 'not needed' --user dora")["state"]
        == "cancelled"
    )
    # A template is never issued: it is copied into new drafts.
    tid = ok(web_db, f"switching create --title t --kind template --steps {one} --user eng")["id"]
    copy = ok(web_db, f"switching create --title 'from t' --template {tid} --user eng")
    assert (copy["template"], copy["kind"], copy["steps"][0]["device"]) == (tid, "planned", "SW2")
    # A bad step is the engine's refusal (exit 1); a bad file or option, a usage error.
    bad = steps_file(tmp_path, [{"action": "open", "device": "NOPE"}], "bad.json")
    assert "step 1: unknown device 'NOPE'" in refused(
        web_db, f"switching create --title x --steps {bad} --user eng"
    )
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    for command in (
        "switching create --title x",
        f"switching create --title x --steps {tmp_path / 'junk.json'}",
        "switching study",
        f"switching step {oid} 0",
        f"switching step {oid} 1 --lon 7",
    ):
        assert run(web_db, command).exit_code == 2, command
    assert refused(web_db, "switching show SD-000001") == "no switching order 'SD-000001'"


def test_a_study_changes_nothing_and_names_every_finding(web_db: str) -> None:
    steps = json.dumps(
        [
            {"action": "close", "device": "TIE1"},
            {"action": "open", "device": "F1"},
            {"action": "open", "device": "F1"},
        ]
    )
    study = ok(web_db, "switching study --steps -", stdin=steps)
    first, second, third = study["steps"]
    assert [(f["rule"], f["level"]) for f in first["findings"]] == [("parallel", "warn")]
    assert (second["customers_lost"], second["customers_out"]) == (5, 5)
    assert [(f["rule"], f["level"]) for f in second["findings"]] == [("critical", "warn")]
    assert [(f["rule"], f["level"]) for f in third["findings"]] == [("invalid", "refuse")]
    assert study["critical_interrupted"] == ["a9-1"]
    assert (study["refusals"], study["warnings"]) == (1, 2)
    lines = run(web_db, "switching study --steps -", stdin=steps).stdout.splitlines()
    assert lines[0].split() == [
        "step",
        "action",
        "device",
        "by",
        "lost",
        "regained",
        "out",
        "findings",
    ]
    assert "warn parallel: close TIE1 parallels B1 and B2" in lines[2]
    assert "5 customers interrupted (critical: a9-1)" in lines[-1]
    # Nothing changed: no outage, TIE1 still open.
    assert ok(web_db, "outages") == []
    oid = ok(
        web_db,
        f"switching create --title t --steps - --time {T0} --user eng",
        stdin=json.dumps([{"action": "open", "device": "TIE1"}]),
    )["id"]
    [finding] = ok(web_db, f"switching study {oid}")["steps"][0]["findings"]
    assert finding["message"] == "TIE1 is already open at this step"
    assert run(web_db, f"switching study {oid} --steps -", stdin="[]").exit_code == 2


def test_a_clearance_refused_then_issued_on_its_isolation(web_db: str, tmp_path: Path) -> None:
    points = json.dumps([{"device": "SW2", "state": "open", "tag": True, "ground": False}])
    doc = ok(
        web_db,
        f"switching safety create --crew K1 --points - --work 'SW2 bushings' --user eng "
        f"--time {T0}",
        stdin=points,
    )
    sd = doc["id"]
    assert (doc["kind"], doc["state"], doc["crew"]) == ("clearance", "draft", "K1")
    assert refused(web_db, f"switching safety issue {sd} --user dora") == (
        f"{sd} cannot be issued: point 1: SW2 is closed, not open; "
        "point 1: SW2 has no clearance tag"
    )
    isolate = [
        {"action": "open", "device": "SW2", "performer": "K1"},
        {"action": "place_tag", "device": "SW2", "performer": "K1", "document": sd},
        {"action": "apply_ground", "device": "L6", "performer": "K1"},
    ]
    steps = steps_file(tmp_path, isolate)
    oid = ok(web_db, f"switching create --title isolate --steps {steps} --user eng")["id"]
    ok(web_db, f"switching check {oid} --user eng")
    ok(web_db, f"switching approve {oid} --user dora")
    ok(web_db, f"switching issue {oid} --user dora")
    # Another crew's hands are not on K1's steps.
    assert refused(web_db, f"switching step {oid} 1 --crew K2 --user k2") == (
        f"no step 1 of {oid} for crew K2"
    )
    assert [o["id"] for o in ok(web_db, "switching list --crew K1")] == [oid]
    assert ok(web_db, "switching list --crew K2") == []
    for n in (1, 2, 3):
        step = ok(web_db, f"switching step {oid} {n} --crew K1 --user k1 --lon 7 --lat 50")
    assert step["state"] == "completed"
    assert {(s["done_by"], s["lon"]) for s in step["steps"]} == {("k1", 7.0)}
    placed = ok(web_db, "switching field")
    assert [(c["kind"], c["device"], c["document"]) for c in placed] == [
        ("tag", "SW2", sd),
        ("ground", "L6", None),
    ]
    assert f"tag     SW2     clearance  {sd}" in run(web_db, "switching field").stdout
    issued = ok(web_db, f"switching safety issue {sd} --user dora --reason 'all in place'")
    assert (issued["state"], issued["signatures"][-1]["note"]) == ("issued", "all in place")
    assert [d["id"] for d in ok(web_db, "switching safety list --crew K1")] == [sd]
    # Only its crew releases it.
    assert "no open safety document" in refused(
        web_db, f"switching safety release {sd} --crew K2 --user k2"
    )
    released = ok(web_db, f"switching safety release {sd} --crew K1 --user k1")
    assert released["state"] == "released"
    assert (released["signatures"][-1]["user"], released["signatures"][-1]["role"]) == (
        "k1",
        "crew",
    )
    text = run(web_db, f"switching safety show {sd}").stdout
    assert text.splitlines()[0] == f"{sd}  clearance  released  crew K1"
    assert ok(web_db, "switching safety list --open") == []
    assert len(ok(web_db, "switching field --all")) == 2


def test_a_planned_outage_with_its_risk(web_db: str) -> None:
    request = (
        "planned request --applicant 'Line maintenance' --reason 'poles on L6' "
        "--device SW2 --crew K1 --user eng"
    )
    po = ok(
        web_db,
        f"{request} --start 2026-03-11T08:00:00+00:00 --end 2026-03-11T12:00:00+00:00 --time {T0}",
    )
    pid = po["id"]
    assert (po["state"], po["devices"], po["crews"]) == ("requested", ["SW2"], ["K1"])
    assert (po["risk"]["customers"], po["risk"]["concerns"]) == (6, [])
    assert len(po["customers"]) == 6
    assert refused(web_db, f"planned approve {pid} --user eng") == (
        f"eng requested {pid}; another person approves it (two-person rule)"
    )
    assert ok(web_db, f"planned approve {pid} --user dora")["state"] == "approved"
    assert [p["id"] for p in ok(web_db, "planned list --crew K1")] == [pid]
    # Too little notice, and an overlap with the first, are its risks.
    soon = ok(
        web_db,
        f"{request} --start 2026-03-11T10:00:00+00:00 --end 2026-03-11T11:00:00+00:00 "
        "--notice-days 14",
    )
    concerns = soon["risk"]["concerns"]
    assert any(c.startswith(f"{pid} overlaps in time and area") for c in concerns)
    assert "customers get 10.0 days' notice, less than 14" in concerns
    text = run(web_db, f"planned show {soon['id']}").stdout
    assert "risk: 6 customers out (critical: none)" in text
    assert "  - customers get 10.0 days' notice, less than 14" in text
    assert (
        ok(web_db, f"planned reject {soon['id']} --reason clashes --user dora")["state"]
        == "rejected"
    )
    assert ok(web_db, f"planned cancel {pid} --user dora")["state"] == "cancelled"
    assert [p["state"] for p in ok(web_db, "planned list")] == ["rejected", "cancelled"]
    assert ok(web_db, "planned list --open") == []
    # The order that carries one out names it, and it names the order.
    window = "--start 2026-03-20T08:00:00+00:00 --end 2026-03-20T12:00:00+00:00"
    third = ok(web_db, f"{request} {window}")["id"]
    order = ok(
        web_db,
        f"switching create --title poles --planned {third} --steps - --user eng",
        stdin=json.dumps([{"action": "open", "device": "SW2"}]),
    )
    assert order["planned"] == third
    assert ok(web_db, f"planned show {third}")["order"] == order["id"]
    # Times are checked before anything is sent; a missing reason is a usage error.
    bad = run(web_db, f"{request} --start tomorrow --end 2026-03-20T12:00:00+00:00")
    assert bad.exit_code == 2 and "not an ISO 8601 time" in bad.output
    no_reason = request.replace("--reason 'poles on L6' ", "")
    assert run(web_db, f"{no_reason} {window}").exit_code == 2
    assert len(ok(web_db, "planned list")) == 3


def test_the_choices_are_the_domains() -> None:
    from oms.cli import switching as cli_switching
    from oms.switching import documents, planned

    assert cli_switching.ORDER_STATES == documents.ORDER_STATES
    assert cli_switching.ORDER_KINDS == documents.ORDER_KINDS
    assert cli_switching.SAFETY_STATES == documents.SAFETY_STATES
    assert cli_switching.SAFETY_KINDS == documents.DOCUMENT_KINDS
    assert set(cli_switching.PLANNED_STATES) == set(planned._NEXT) | {
        s for after in planned._NEXT.values() for s in after
    }


def test_help_for_every_command() -> None:
    runner = CliRunner()
    groups = {
        ("switching",): [
            "list",
            "show",
            "create",
            "edit",
            "study",
            "check",
            "approve",
            "issue",
            "cancel",
            "step",
            "field",
            "safety",
        ],
        ("switching", "safety"): ["list", "show", "create", "issue", "release", "cancel"],
        ("planned",): ["list", "show", "request", "approve", "reject", "cancel"],
    }
    for group, names in groups.items():
        listed = runner.invoke(cli, [*group, "--help"])
        assert listed.exit_code == 0, group
        for name in names:
            assert f"  {name} " in listed.stdout, (group, name)
            result = runner.invoke(cli, [*group, name, "--help"])
            assert result.exit_code == 0, (group, name, result.output)
            assert f"{' '.join(group)} {name} [OPTIONS]" in result.stdout


def test_an_order_drafted_from_an_outages_plan_is_the_apis(web_db: str, dora: Any) -> None:
    """``switching create --outage O`` without steps drafts the order of the
    outage's isolation and restoration plan, as ``POST /api/outages/<id>/order``
    does (found by a new-user trial: it answered 'give either --steps FILE or
    --template SO-ID')."""
    from test_api import outage_at, trip

    trip(dora, "t1", "R1")
    outage = outage_at(dora, "R1")["id"]
    r = dora.post(f"/api/outages/{outage}/order")
    assert r.status_code == 201, r.get_json()
    api = r.get_json()
    cli_order = ok(web_db, f"switching create --outage {outage} --user dora")
    fields = ("kind", "title", "outage", "planned", "template", "state")
    assert {k: cli_order[k] for k in fields} == {k: api[k] for k in fields}
    assert (cli_order["kind"], cli_order["outage"]) == ("outage", outage)

    def steps(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(s["action"], s["device"], s["performer"]) for s in doc["steps"]]

    assert steps(cli_order) == steps(api) and steps(api)[0][0] == "open"
    named = ok(web_db, f"switching create --outage {outage} --title 'R1 plan' --user eng")
    assert (named["title"], steps(named)) == ("R1 plan", steps(api))
    # Nothing to draft from: a usage error naming every way.
    result = run(web_db, "switching create --title x")
    assert result.exit_code == 2 and "--outage OUTAGE-ID (its plan)" in result.output
    why = refused(web_db, "switching create --outage OUT-999999 --user eng")
    assert why == "no outage with id 'OUT-999999'"


def test_an_unknown_signer_is_pointed_to_the_users_there_are(web_db: str) -> None:
    """The refusal of an action signed by no user names ``oms user list``
    (found by a new-user trial: there was no such command)."""
    why = refused(web_db, "switching create --title x --template SO-000001 --user zed")
    assert why.startswith("no user 'zed' may act here (oms user list)")
    users = ok(web_db, "user list")
    assert users == [
        {"username": "ada", "role": "admin", "crew": None, "enabled": True},
        {"username": "dora", "role": "dispatcher", "crew": None, "enabled": True},
        {"username": "eng", "role": "engineer", "crew": None, "enabled": True},
        {"username": "k1", "role": "crew", "crew": "K1", "enabled": True},
        {"username": "k2", "role": "crew", "crew": "K2", "enabled": True},
    ]
    text = run(web_db, "user list").stdout
    assert text.splitlines()[0].split() == ["user", "role", "crew", "enabled"]
    assert "k1    crew        K1    yes" in text and "hash" not in text


def test_what_is_wrong_with_a_step_or_a_template_is_named(web_db: str, tmp_path: Path) -> None:
    """Found by a new-user trial: 'unknown device None' for a step without a
    device, 'unknown device' for a node's id, 'no open switching order' for a
    completed order given as --template."""
    create = "switching create --title x --user eng --steps"
    no_device = steps_file(tmp_path, [{"action": "open", "device": "SW2"}, {"action": "open"}])
    assert refused(web_db, f"{create} {no_device}").startswith("step 2 has no device")
    node = steps_file(tmp_path, [{"action": "open", "device": "b4"}], "node.json")
    assert refused(web_db, f"{create} {node}") == (
        "step 1: b4 is a node, not a device: name an edge (the edges at it: L6, SW2)"
    )
    assert refused(web_db, f"switching study --steps {node}").startswith("step 1: b4 is a node")
    one = steps_file(tmp_path, [{"action": "open", "device": "SW2"}], "one.json")
    oid = ok(web_db, f"{create} {one}")["id"]
    for sign in ("check", "approve", "issue"):
        ok(web_db, f"switching {sign} {oid} --user {'eng' if sign == 'check' else 'dora'}")
    assert ok(web_db, f"switching step {oid} 1 --user dora")["state"] == "completed"
    assert refused(web_db, f"switching create --title y --template {oid} --user eng") == (
        f"{oid} is not a template: it is a planned order, completed "
        "(--template copies an order made with --kind template)"
    )
    tid = ok(web_db, f"{create} {one} --kind template")["id"]
    ok(web_db, f"switching cancel {tid} --user dora")
    assert refused(web_db, f"switching create --title y --template {tid} --user eng") == (
        f"template {tid} is cancelled: it is no longer copied"
    )
    assert refused(web_db, "switching create --title y --template SO-000099 --user eng") == (
        "no switching order 'SO-000099'"
    )
