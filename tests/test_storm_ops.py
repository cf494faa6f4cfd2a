"""Storm operations (issue 16): storm mode (the storm room's switch over dispatch
and ETR policy) and the priority of critical customers, on the order book of
``test_orders_core`` (zones Z-W and Z-E), over HTTP and the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import batch, customers_csv, two_feeders, write_dispatch_files
from test_orders_core import T0, core_for, ev

from oms.engine.storm import storm
from oms.exceptions import ActionError
from oms.intake.events import parse_event


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("storm")
    (folder / "customers.csv").write_text(customers_csv(two_feeders()))
    return {"customers": folder / "customers.csv", **write_dispatch_files(folder)}


def _refused(core: Any, event: dict[str, Any]) -> str:
    core.begin()
    with pytest.raises(ActionError) as refused:
        core.apply(parse_event(event, core.directory))
    core.settle()
    return str(refused.value)


def test_storm_mode_suggests_only_then_gives_dispatch_back(files: dict[str, Path]) -> None:
    core = core_for(files)  # automatic dispatch configured on
    book = core.book
    assert book is not None
    batch(core, [ev("m1", "storm_mode", 0, on=True, reason="Storm Ada", user="dora")])
    state = storm(book)
    assert state is not None and state["dispatch"] == "suggest" and state["by"] == "dora"
    batch(core, [ev("s1", "scada", 60, device="R1", state="open", lockout=True)])
    [job] = book.jobs.values()
    assert job.crew is None and job.state == "waiting"  # only suggested
    batch(core, [ev("m2", "storm_mode", 120, on=False, user="dora")])
    assert storm(book) is None
    batch(core, [ev("c1", "call", 180, node="a4")])  # any later batch dispatches
    assert job.crew is not None
    assert "not on" in _refused(core, ev("m3", "storm_mode", 200, on=False, user="dora"))


def test_storm_etrs_are_given_where_later_than_the_estimate(files: dict[str, Path]) -> None:
    core = core_for(files)
    book = core.book
    assert book is not None
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    [job] = book.jobs.values()
    estimate = job.etr
    assert estimate is not None and job.etr_source == "history"
    late = T0 + timedelta(hours=30)
    zone = job.zone
    assert zone is not None
    storm_on = ev("m1", "storm_mode", 60, on=True, dispatch="automatic", user="dora")
    batch(
        core,
        [
            {
                **storm_on,
                "etr": (T0 + timedelta(hours=20)).isoformat(),
                "zone_etrs": {zone: late.isoformat()},
            }
        ],
    )
    assert (job.etr, job.etr_source) == (late, "storm")  # the zone's wins over the global
    # An earlier storm ETR does not pull a later estimate forward.
    early = ev("m2", "storm_mode", 90, on=True, user="dora", zone_etrs={zone: None})
    batch(core, [{**early, "etr": (T0 + timedelta(minutes=5)).isoformat()}])
    assert (job.etr, job.etr_source) == (estimate, "history")
    assert "unknown zone 'Z-NOWHERE'" in _refused(
        core, ev("m3", "storm_mode", 100, on=True, user="dora", zone_etrs={"Z-NOWHERE": None})
    )
    assert "dispatch must be one of" in _refused(
        core, ev("m4", "storm_mode", 100, on=True, user="dora", dispatch="fast")
    )


def test_storm_mode_over_http(dora: Any, eng: Any, k1: Any) -> None:
    assert k1.get("/api/storm").get_json() == {"on": False}
    r = eng.post("/api/storm", {"on": True})
    assert r.status_code == 403  # the dispatcher's switch
    r = dora.post("/api/storm", {"on": True, "dispatch": "batch", "reason": "Storm Ada"})
    assert r.status_code == 200, r.get_json()
    state = k1.get("/api/storm").get_json()
    assert (state["on"], state["dispatch"], state["by"], state["reason"]) == (
        True,
        "batch",
        "dora",
        "Storm Ada",
    )
    r = dora.post("/api/storm", {"on": True, "zone_etrs": {"nowhere": None}})
    assert r.status_code == 422 and "unknown zone" in r.get_json()["rejected"][0]["error"]
    alerts = dora.get("/api/alerts").get_json()
    assert any(a["kind"] == "storm_mode" for a in alerts)
    dora.post("/api/storm", {"on": True, "dispatch": "automatic"})
    assert k1.get("/api/storm").get_json()["started_by"] == "dora"
    assert dora.post("/api/storm", {"on": False}).status_code == 200
    assert dora.get("/api/storm").get_json()["on"] is False


def test_storm_mode_from_the_command_line(web_db: str) -> None:
    import json

    from click.testing import CliRunner

    from oms.cli import cli

    run = CliRunner()
    r = run.invoke(cli, ["storm", "status", "--db", web_db, "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == {"on": False}
    r = run.invoke(
        cli,
        [
            "storm",
            "on",
            "--db",
            web_db,
            "--dispatch",
            "automatic",
            "--user",
            "dora",
            "--json",
            "--zone-etr",
            "Z-W=2026-03-02T06:00:00+00:00",
            "--reason",
            "Storm Ada",
        ],
    )
    assert r.exit_code == 0, r.output
    state = json.loads(r.output)
    assert (state["dispatch"], state["zone_etrs"]) == (
        "automatic",
        {"Z-W": "2026-03-02T06:00:00+00:00"},
    )
    r = run.invoke(
        cli, ["storm", "on", "--db", web_db, "--zone-etr", "nowhere=x", "--user", "dora"]
    )
    assert r.exit_code == 1 and "unknown zone" in r.output
    r = run.invoke(cli, ["storm", "off", "--db", web_db, "--user", "dora"])
    assert r.exit_code == 0 and "storm mode is off" in r.output
    # The command line acts as the user it names, in that user's role.
    r = run.invoke(cli, ["storm", "on", "--db", web_db, "--user", "eng"])
    assert r.exit_code == 1 and "an engineer may not send storm_mode events" in r.output
    r = run.invoke(cli, ["storm", "on", "--db", web_db, "--user", "nobody"])
    assert r.exit_code == 1 and "no user 'nobody'" in r.output


def test_priority_weights_are_configuration() -> None:
    """Critical customers first, by default and as configured (issue 16 item 1)."""
    from oms.config import EngineConfig
    from oms.dispatch.jobs import job_priority

    default = EngineConfig().dispatch.priority
    # One critical customer out outweighs a hundred ordinary ones more.
    assert job_priority(False, 1, 10, 0, default) > job_priority(False, 0, 110, 0, default)
    cfg = EngineConfig.from_dict({"dispatch": {"priority": {"critical": 0, "customers_log2": 1}}})
    weights = cfg.dispatch.priority
    assert job_priority(False, 1, 10, 0, weights) < job_priority(False, 0, 110, 0, weights)
    with pytest.raises(Exception, match=r"unknown dispatch\.priority setting"):
        EngineConfig.from_dict({"dispatch": {"priority": {"vip": 1}}})


def test_a_temporary_handheld_signs_in_from_its_qr_code_and_expires(
    app: Any, ada: Any, tmp_path: Path, web_db: str
) -> None:
    """Mutual-aid crews (issue 16 item 4): a handheld registered for a few hours,
    with a QR code holding its sign-in link; its token is refused once it expired."""
    import json

    from click.testing import CliRunner
    from sqlalchemy import update

    from oms.storage import schema
    from oms.storage.db import connect
    from webmap.cli import device

    qr = tmp_path / "k1.svg"
    r = CliRunner().invoke(
        device,
        [
            "add",
            "k1",
            "--name",
            "aid tablet",
            "--expires",
            "72h",
            "--qr",
            str(qr),
            "--url",
            "https://oms.example/",
            "--db",
            web_db,
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["sign_in"] == f"https://oms.example/crew/#token={doc['token']}"
    assert doc["expires_at"] is not None and qr.read_text().startswith("<?xml")
    bearer = {"Authorization": f"Bearer {doc['token']}"}
    client = app.test_client()
    assert client.get("/api/session", headers=bearer).get_json()["user"]["username"] == "k1"
    with connect(web_db).begin() as conn:
        conn.execute(
            update(schema.devices)
            .where(schema.devices.c.id == doc["id"])
            .values(expires_at=T0 - timedelta(days=1))
        )
    assert client.get("/api/session", headers=bearer).status_code == 401
    # Over HTTP, as an admin: the same, and a time already past is refused.
    r = ada.post(
        "/api/devices", {"username": "k2", "name": "aid 2", "expires": "2099-01-01T00:00:00+00:00"}
    )
    assert r.status_code == 201 and r.get_json()["expires_at"] == "2099-01-01T00:00:00+00:00"
    assert "/crew/#token=" in r.get_json()["sign_in"]
    r = ada.post(
        "/api/devices", {"username": "k2", "name": "aid 3", "expires": "2020-01-01T00:00:00+00:00"}
    )
    assert r.status_code == 400 and "expire before it is used" in r.get_json()["error"]


def test_damage_reports_roll_up_into_their_outages_job(files: dict[str, Path]) -> None:
    """Damage assessment (issue 16 item 2): two reports under R1's outage (one
    placed by location) add their repair minutes into the job's ETR where later,
    and the skills named become the job's."""
    core = core_for(files)
    book = core.book
    assert book is not None
    batch(core, [ev("s1", "scada", 0, device="R1", state="open", lockout=True)])
    [job] = book.jobs.values()
    outage = job.outage
    near_a5 = core.net.node_xy[core.net.node_index["a5"]]
    report = {"asset": "pole", "repair_minutes": 240, "skills": ["line"], "user": "dora"}
    batch(
        core,
        [ev("d1", "damage_report", 60, lon=float(near_a5[0]), lat=float(near_a5[1]), **report)],
    )
    assert [r["outage"] for r in core.damage[outage]] == [outage]  # found by its place
    assert job.etr == T0 + timedelta(seconds=60, minutes=240) and job.etr_source == "assessed"
    tree = {"asset": "tree_on_line", "repair_minutes": 60, "skills": ["tree"], "user": "dora"}
    batch(core, [ev("d2", "damage_report", 120, lon=0.0, lat=0.0, outage=outage, **tree)])
    assert job.etr == T0 + timedelta(seconds=120, minutes=300) and job.skills == ["tree"]
    assert "asset must be one of" in _refused(
        core, ev("d3", "damage_report", 130, lon=0.0, lat=0.0, asset="kiosk", repair_minutes=1)
    )
    assert "no active outage 'OUT-9'" in _refused(
        core,
        ev(
            "d4",
            "damage_report",
            130,
            lon=0.0,
            lat=0.0,
            asset="pole",
            repair_minutes=1,
            outage="OUT-9",
        ),
    )


def test_damage_reports_with_photos_over_http(dora: Any, k1: Any) -> None:
    from test_api import outage_at, trip

    trip(dora, "t1", "R1")
    outage = outage_at(dora, "R1")["id"]
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 100
    r = k1.client.post(
        "/api/photos", data=jpeg, headers={**k1.headers, "Content-Type": "image/jpeg"}
    )
    assert r.status_code == 201, r.get_json()
    photo = r.get_json()["id"]
    assert k1.get(f"/api/photos/{photo}").data == jpeg
    r = k1.client.post(
        "/api/photos", data=b"x", headers={**k1.headers, "Content-Type": "text/plain"}
    )
    assert r.status_code == 400
    # Sent again with the handheld's key (a lost answer, a replayed queue): stored once.
    keyed = {**k1.headers, "Content-Type": "image/jpeg", "Idempotency-Key": "crew-h1-42"}
    first = k1.client.post("/api/photos", data=jpeg, headers=keyed)
    again = k1.client.post("/api/photos", data=jpeg, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json() == {"id": first.get_json()["id"], "bytes": 104}
    other = dora.client.post("/api/photos", data=jpeg, headers={**keyed, **dora.headers})
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    bad = k1.client.post("/api/photos", data=jpeg, headers={**keyed, "Idempotency-Key": "a b"})
    assert bad.status_code == 400 and "Idempotency-Key" in bad.get_json()["error"]
    body = {
        "lon": 0.0,
        "lat": 0.0,
        "asset": "crossarm",
        "repair_minutes": 900,
        "photos": [photo],
        "outage": outage,
        "note": "cracked",
    }
    r = k1.post("/api/damage", body)
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["crew"], r.get_json()["outage"]) == ("K1", outage)
    doc = dora.get(f"/api/damage?outage={outage}").get_json()
    assert doc["summary"]["repair_minutes"] == 900 and doc["summary"]["photos"] == [photo]
    # The job's ETR moved (stored on PostgreSQL too: its source fits the column).
    [job] = [j for j in dora.get("/api/jobs").get_json() if j["outage"] == outage]
    assert job["etr_source"] == "assessed"
    assert k1.post("/api/damage", {**body, "asset": "kiosk"}).status_code == 422


def test_a_jobs_skills_are_in_its_record(dora: Any) -> None:
    """The skills a job needs (set by a damage report) are shown with it."""
    from test_api import outage_at, trip

    trip(dora, "t1", "R1")
    outage = outage_at(dora, "R1")["id"]
    body = {"lon": 0.0, "lat": 0.0, "asset": "tree_on_line", "repair_minutes": 30}
    assert (
        dora.post("/api/damage", {**body, "outage": outage, "skills": ["tree"]}).status_code == 201
    )
    [job] = [j for j in dora.get("/api/jobs").get_json() if j["outage"] == outage]
    assert job["skills"] == ["tree"]


def test_storm_mode_locates_with_the_storms_rules(files: dict[str, Path]) -> None:
    """Storm mode changes prediction rules (issue 16 item 3): a utility tuned
    for quiet days (a device fault is rare: fault_cost 6) takes two calls
    under R1 as two customers' own problems; in a storm (fault_cost 4, as
    configured) as R1's outage; after the storm, as before."""
    from helpers import build
    from test_orders_core import EngineCore, OrderBook, Stored, StoredBook

    from oms.config import EngineConfig
    from oms.dispatch.jobs import CrewState
    from oms.storage.inputs import read_crews, read_units, read_zones
    from topology.io import attach_customers, read_customers

    net = build(two_feeders())
    attach_customers(net, read_customers(files["customers"], net))
    config = EngineConfig.from_dict(
        {
            "pings": False,
            "prediction": {"fault_cost": 6.0},
            "storm": {"prediction": {"fault_cost": 4.0}, "pings_per_check": 1},
        }
    )
    crews = read_crews(files["crews"])
    stored = StoredBook(
        zones=read_zones(files["zones"]),
        units=read_units(files["units"]),
        crews={r["id"]: CrewState.from_row(r) for r in crews},
    )
    core = EngineCore(
        net,
        config,
        Stored(crews=[r["id"] for r in crews]),
        lambda c: OrderBook(stored, config.dispatch, c.locate, lambda: None, c.recipients),
    )

    def located() -> list[str | None]:
        return sorted(o.device or "customer" for o in core.outages.active())

    batch(core, [ev(f"c{i}", "call", i, customer=f"a5-{i}") for i in (1, 2)])
    assert located() == ["customer", "customer"]
    batch(core, [ev("m1", "storm_mode", 100, on=True, user="dora")])
    assert (core.config.prediction.fault_cost, core.config.pings_per_check) == (4.0, 1)
    state = storm(core.book)  # type: ignore[arg-type]
    assert state is not None and state["rules"]["prediction"] == {"fault_cost": 4.0}
    assert located() == ["R1"]
    batch(core, [ev("m2", "storm_mode", 200, on=False, user="dora")])
    assert core.config is config
    batch(core, [ev(f"d{i}", "call", 300 + i, customer=f"b1-{i}") for i in (1, 2)])
    # Quiet rules again, for every open prediction: four customers' own problems.
    assert located() == ["customer"] * 4
    with pytest.raises(Exception, match=r"storm\.prediction\.call_rate must be between 0 and 1"):
        EngineConfig.from_dict({"storm": {"prediction": {"call_rate": 1.5}}})
    with pytest.raises(Exception, match=r"unknown storm\.prediction setting"):
        EngineConfig.from_dict({"storm": {"prediction": {"roll_up": True}}})


def test_a_command_decides_by_the_rules_the_server_was_given(web_db: str) -> None:
    """One configuration per data set: the server's (given with --config) is
    stored with the data, and a command run beside it without one (``oms
    storm on``) uses it, rather than defaults that would re-predict every
    open outage by other rules (the new user's flip-flopping outages)."""
    import json

    from click.testing import CliRunner

    from oms.cli import cli
    from oms.config import EngineConfig
    from oms.engine import OutageEngine
    from oms.storage.db import connect

    rules = {"prediction": {"fault_cost": 3.0}, "pings_after_restoration": 50}
    server = OutageEngine(connect(web_db), EngineConfig.from_dict({"storm": rules}))
    assert OutageEngine(connect(web_db)).config == server.config  # a command's engine
    r = CliRunner().invoke(cli, ["storm", "on", "--db", web_db, "--user", "dora", "--json"])
    assert r.exit_code == 0, r.output
    state = json.loads(r.output)
    assert state["rules"]["prediction"] == {"fault_cost": 3.0}
    assert state["rules"]["pings_after_restoration"] == 50
    # Given another configuration explicitly, that one becomes the data set's.
    OutageEngine(connect(web_db), EngineConfig())
    assert OutageEngine(connect(web_db)).config.storm.prediction == {}
