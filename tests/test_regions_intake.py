"""The per-region intake router (oms/intake/router.py) and ``oms regions ingest``.

Pure tests route small hand-made ownership tables: every event type has its
owner fields or a reason it is not routed, a phone two regions share is
ambiguous, a boundary device's events go to both regions holding it, a job
id two regions made is told apart by its crew.

On PostgreSQL two regions (two generated networks, a phone number both
regions' customers share) take one mixed file of both regions' storms,
with lines that cannot be routed and a line a region's engine rejects,
through ``oms regions ingest``; two more schemas loaded alike take each
region's share through its own ``oms ingest``. Each routed region must end
exactly as its twin: the event log, outages, jobs, device and crew states,
the changes feed; every rejection is reported with the file's line number.
These tests fail under ``CI=true`` without a server (the
``postgres_server`` fixture).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from oms.exceptions import EventError
from oms.intake.events import ACTION_TYPES, TELEMETRY_TYPES
from oms.intake.router import RULES, UNROUTED, Ownership, route, route_event
from oms.outages import CASE_KEY, case_key
from oms.simulation.regions import prefixed
from oms.simulation.storms import StormParams, simulate_storm
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load, load_model
from oms.storage.regions import Region, create_views
from topology.synthetic.styles import styled_network

START = datetime(2024, 7, 1, 14, 0, tzinfo=timezone.utc)


# ------------------------------------------------------------------ pure
def _owners() -> Ownership:
    return Ownership(
        {
            "north": {
                "customer": ["N-C1", "N-C2"],
                "meter": ["N-M1"],
                "phone": ["+1 612 555 0001", "+16125550099"],
                "node": ["N-1"],
                "device": ["N-F1", "TIE-1"],
                "crew": ["K-n1"],
                "unit": ["U-n"],
                "job": ["J-000001"],
                "outage": ["O-000001", "O-000002"],
                "document": ["SO-000001"],
            },
            "south": {
                "customer": ["S-C1"],
                "meter": ["S-M1"],
                "phone": ["+1-651-555-0001", "+16125550099"],
                "node": ["S-1"],
                "device": ["S-F1", "TIE-1"],
                "crew": ["K-s1"],
                "job": ["J-000001"],
                "outage": ["O-000001"],
            },
        }
    )


def _event(etype: str, **fields: Any) -> dict[str, Any]:
    return {"id": "e", "type": etype, "time": "2024-07-01T14:00:00+00:00", **fields}


def test_every_event_type_is_routed_or_says_why_not() -> None:
    assert set(RULES) | set(UNROUTED) == TELEMETRY_TYPES | ACTION_TYPES
    assert not set(RULES) & set(UNROUTED)
    owners = _owners()
    for etype, why in UNROUTED.items():
        with pytest.raises(EventError, match=f"{etype} cannot be routed"):
            route_event(_event(etype, crew="K-n1"), owners)
        assert "oms ingest" in why


@pytest.mark.parametrize(
    ("event", "regions"),
    [
        (_event("call", customer="N-C2"), ("north",)),
        (_event("call", phone="+1 (651) 555-0001"), ("south",)),  # matched on its digits
        (_event("call", node="S-1"), ("south",)),
        # The engine reads a call's customer first: a stale phone beside it is not looked at.
        (_event("call", customer="S-C1", phone="+16125550001"), ("south",)),
        (_event("ami_last_gasp", meter="N-M1"), ("north",)),
        (_event("ami_restore", customer="S-C1"), ("south",)),
        (_event("ami_ping_reply", meter="S-M1", energized=True), ("south",)),
        (_event("scada", device="N-F1", state="open"), ("north",)),
        (_event("fci", device="S-F1", fault=True), ("south",)),
        # A boundary tie is in both regions: both apply its telemetry.
        (_event("scada", device="TIE-1", state="closed"), ("north", "south")),
        (_event("switch", device="TIE-1", state="closed"), ("north", "south")),
        (_event("crew_gps", crew="K-s1", lon=0, lat=0), ("south",)),
        (_event("crew_status", crew="K-n1", status="available"), ("north",)),
        (_event("critical_customer", customer="N-C1"), ("north",)),
        # Both regions made J-000001: the crew acting on it says whose.
        (_event("job_accept", job="J-000001", crew="K-s1"), ("south",)),
        # A job this intake makes is not known yet: its crew routes it.
        (_event("job_arrive", job="J-000042", crew="K-n1"), ("north",)),
        (_event("outage_restore", outage="O-000002"), ("north",)),
        (_event("outage_confirm", outage="O-000001", device="S-F1"), ("south",)),
        (_event("outage_merge", outages=["O-000002"], into="O-000001"), ("north",)),
        (_event("dispatch_auto", auto=False, unit="U-n"), ("north",)),
        (_event("order_approve", order="SO-000001"), ("north",)),
        (_event("order_create", steps=[{"action": "open", "device": "S-F1"}]), ("south",)),
        (_event("planned_request", devices=["TIE-1", "N-F1"]), ("north",)),
    ],
)
def test_each_event_goes_to_the_region_owning_what_it_names(
    event: dict[str, Any], regions: tuple[str, ...]
) -> None:
    assert route_event(event, _owners()) == regions


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (_event("scada", device="X-9", state="open"), "unknown device 'X-9'"),
        (
            _event("call", phone="+16125550099"),
            "ambiguous: phone '+16125550099' is in north and south",
        ),
        (_event("job_accept", job="J-000001"), "ambiguous: job 'J-000001' is in north and south"),
        (_event("outage_close", outage="O-000001"), "ambiguous: outage"),
        (_event("job_accept", job="J-000001", crew="K-x"), "ambiguous: job"),
        (
            _event("outage_confirm", outage="O-000002", device="S-F1"),
            "different regions (outage 'O-000002' is in north; device 'S-F1' is in south)",
        ),
        # An outage this intake makes is not known yet, and the boundary tie beside
        # it is in both regions: whose outage it is, nothing says.
        (
            _event("outage_confirm", outage="O-000042", device="TIE-1"),
            "ambiguous: outage 'O-000042' is in no region yet, device 'TIE-1' is in north "
            "and south",
        ),
        (
            _event("order_create", outage="O-000042", steps=[{"device": "TIE-1"}]),
            "ambiguous: outage 'O-000042'",
        ),
        (_event("call", lon=-93.0, lat=45.0), "a call by lon and lat alone"),
        (_event("call"), "a call by lon and lat alone"),
        (_event("dispatch_auto", auto=True), "dispatch_auto without 'job' or 'unit'"),
        (_event("ami_last_gasp"), "needs one of 'customer', 'meter'"),
        (_event("crew_gps", crew=7, lon=0, lat=0), "crew must be a string id"),
        (_event("outage_split", outage="O-000002", devices="N-F1"), "devices must be a list"),
        (_event("nonsense", device="N-F1"), "unknown event type 'nonsense'"),
        (_event(["call"], device="N-F1"), "unknown event type"),  # type: ignore[arg-type]
    ],
)
def test_what_cannot_be_routed_says_why(event: dict[str, Any], error: str) -> None:
    with pytest.raises(EventError) as caught:
        route_event(event, _owners())
    assert error in str(caught.value)


def test_route_keeps_the_order_and_names_each_rejected_line() -> None:
    numbered = [
        (1, _event("call", customer="N-C1")),
        (2, _event("call", customer="S-C1")),
        (3, EventError("not valid JSON: Expecting value")),
        (4, _event("scada", device="TIE-1", state="open")),
        (6, _event("call", customer="N-C2")),
        (7, [1, 2]),
        (8, _event("alert_ack", alerts=[1])),
    ]
    routing = route(numbered, _owners())
    assert routing.shares == {"north": [1, 4, 6], "south": [2, 4]}
    assert [r["line"] for r in routing.rejected] == [3, 7, 8]
    assert "not valid JSON" in routing.rejected[0]["error"]
    assert "JSON object, not list" in routing.rejected[1]["error"]
    # A region nothing goes to still has its (empty) share.
    assert route([], _owners()).shares == {"north": [], "south": []}


def test_ownership_tables() -> None:
    owners = _owners()
    assert owners.regions == ("north", "south")
    assert owners.owners("device", "TIE-1") == {"north", "south"}
    assert owners.owners("phone", "+16125550001") == {"north"}
    assert owners.owners("customer", "nobody") == frozenset()
    with pytest.raises(ValueError, match="unknown kind of id 'feeder'"):
        Ownership({"north": {"feeder": ["F1"]}})


# ------------------------------------------------------------ PostgreSQL
def _net(name: str) -> Any:
    if name == "north":
        net = styled_network("na_overhead", seed=3, n_nodes=300, center=(-93.3, 45.1))
        return prefixed(net, "N-", area_code="612")
    net = styled_network("eu_ring", seed=4, n_nodes=300, center=(-93.2, 44.9))
    return prefixed(net, "S-", area_code="651")


def _load(url: str, name: str, net: Any, tmp: Path) -> None:
    lon, lat = net.node_xy[0]
    units, crews = tmp / f"units-{name}.csv", tmp / f"crews-{name}.csv"
    units.write_text(f"id,name,first_contact,second_contact,leader\nU-{name},{name},+1,+2,+3\n")
    rows = [f"K-{name}-{k},{name} {k},U-{name},line;cable,,{lon},{lat}" for k in (1, 2)]
    crews.write_text("id,name,unit,skills,zone,lon,lat\n" + "\n".join(rows) + "\n")
    db = connect(url)
    load_model(db, net, name)
    load(db, units=units, crews=crews)
    db.dispose()


#: Stamps of the wall clock (when received, when fanned out), not of the events.
_WALL_CLOCK = {"received_at", "fanned_out_at"}


def _state(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """What an ingest leaves in a region's data set, in the log's order or sorted."""
    db = connect(url, upgrade=False)
    tables = ("outages", "outage_audit", "jobs", "device_states", "crew_state", "engine_state")
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.connect() as conn:
        for t in (*tables, "changes", "alerts", "notices", "notifications", "events"):
            table = getattr(schema, t)
            columns = [c for c in table.c if c.name not in _WALL_CLOCK]
            out[t] = sorted(tuple(r) for r in conn.execute(select(*columns)).all())
    db.dispose()
    return out


def _same_case_key(url: str, twin: str) -> None:
    """The twin gets the region's case-reference secret (made at random per data
    set): the notices to customers then read alike."""
    db, twin_db = connect(url, upgrade=False), connect(twin, upgrade=False)
    with db.begin() as conn:
        key = case_key(conn)
    with twin_db.begin() as conn:
        conn.execute(insert(schema.engine_state).values(key=CASE_KEY, value=key))
    db.dispose()
    twin_db.dispose()


@pytest.fixture(scope="module")
def intake(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two regions fed one mixed file by ``oms regions ingest``, and their twins
    fed each region's share by ``oms ingest``."""
    tmp = tmp_path_factory.mktemp("intake")
    nets = {name: _net(name) for name in ("north", "south")}
    storms = {
        name: [
            json.dumps(e)
            for e in simulate_storm(
                nets[name],
                StormParams(seed=20 + k, start=START, faults=4, span_minutes=40.0, call_rate=0.3),
            ).events
        ]
        for k, name in enumerate(nets)
    }
    # A phone both regions' customers have (one not named by the storms' calls).
    called = {json.loads(line).get("phone") for lines in storms.values() for line in lines}
    north_phones = nets["north"].customers.fields["phone"]
    shared = next(p for p in reversed(north_phones) if p not in called)
    south = nets["south"].customers
    south.edit("phone", {len(south) - 1: shared})
    # Both storms in time order, then lines the router or a region's engine rejects.
    mixed = sorted(
        (json.loads(line)["time"], name, line) for name, lines in storms.items() for line in lines
    )
    later = (START + timedelta(hours=2)).isoformat()
    lines = [line for _, _, line in mixed]
    line_of_conductor = nets["north"].edge_ids[int(np.flatnonzero(~nets["north"].operable)[0])]
    extra = {
        "unknown": {"id": "x-1", "type": "scada", "time": later, "device": "Z-9", "state": "open"},
        "ambiguous": {"id": "x-2", "type": "call", "time": later, "phone": shared},
        "no_owner": {"id": "x-3", "type": "storm_mode", "time": later, "on": True},
        # Routed to north by its device, rejected there: a conductor is not operable.
        "engine": {
            "id": "x-4",
            "type": "scada",
            "time": later,
            "device": line_of_conductor,
            "state": "open",
        },
        "gps": {
            "id": "x-5",
            "type": "crew_gps",
            "time": later,
            "crew": "K-south-1",
            "lon": -93.2,
            "lat": 44.9,
        },
    }
    for k, obj in enumerate(extra.values()):
        lines.insert(40 * (k + 1), json.dumps(obj))  # spread through the file
    lines.insert(10, "{not json")
    lines.insert(20, "")  # blank: skipped, still counted in the line numbers
    at = {key: lines.index(json.dumps(obj)) + 1 for key, obj in extra.items() if key != "gps"}
    at["bad_json"] = lines.index("{not json") + 1
    # What each region's own intake would be given: its storm, and the extra
    # lines it owns (the conductor is north's, the crew south's), in file order.
    owned = {
        "north": {*storms["north"], json.dumps(extra["engine"])},
        "south": {*storms["south"], json.dumps(extra["gps"])},
    }
    mixed_file = tmp / "mixed.jsonl"
    mixed_file.write_text("\n".join(lines) + "\n")

    out: dict[str, Any] = {"at": at, "lines": lines, "urls": {}, "twins": {}, "own": {}}
    regions = []
    for name, net in nets.items():
        url, _ = postgres_server.create()
        twin, _ = postgres_server.create()
        _load(url, name, net, tmp)
        _load(twin, name, net, tmp)
        _same_case_key(url, twin)
        out["urls"][name], out["twins"][name] = url, twin
        regions.append(Region(name, url.rsplit("search_path%3D", 1)[1]))
    db = connect(out["urls"]["north"], upgrade=False)
    create_views(db, regions)
    db.dispose()

    from oms.cli import cli

    runner = CliRunner()
    args = ["regions", "ingest", str(mixed_file), "--db", out["urls"]["south"], "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    out["doc"] = json.loads(result.stdout)
    # Each region's share, as the routed file's lines, through its twin's own `oms ingest`.
    for name in nets:
        share = [line for line in lines if line in owned[name]]
        own_file = tmp / f"own-{name}.jsonl"
        own_file.write_text("\n".join(share) + "\n")
        own = runner.invoke(cli, ["ingest", str(own_file), "--db", out["twins"][name], "--json"])
        assert own.exit_code == 0, own.output
        out["own"][name] = (share, json.loads(own.stdout))
    return out


@pytest.mark.postgres
def test_each_region_ends_as_if_it_had_ingested_its_own_share(intake: dict[str, Any]) -> None:
    doc = intake["doc"]
    for name in ("north", "south"):
        share, own = intake["own"][name]
        got = doc["regions"][name]
        assert got["routed"] == len(share)
        assert (got["accepted"], got["duplicates"]) == (own["accepted"], own["duplicates"])
        assert got["accepted"] > 100
        assert _state(intake["urls"][name]) == _state(intake["twins"][name]), name
    assert doc["accepted"] == sum(doc["regions"][n]["accepted"] for n in ("north", "south"))


@pytest.mark.postgres
def test_every_rejection_names_its_line_in_the_file(intake: dict[str, Any]) -> None:
    at, doc = intake["at"], intake["doc"]
    rejected = {r["line"]: r for r in doc["rejected"]}
    assert sorted(rejected) == sorted(
        at[k] for k in ("unknown", "ambiguous", "no_owner", "engine", "bad_json")
    )
    assert "unknown device 'Z-9'" in rejected[at["unknown"]]["error"]
    assert "ambiguous: phone" in rejected[at["ambiguous"]]["error"]
    assert "storm_mode cannot be routed" in rejected[at["no_owner"]]["error"]
    assert "not valid JSON" in rejected[at["bad_json"]]["error"]
    for key in ("unknown", "ambiguous", "no_owner", "bad_json"):
        assert rejected[at[key]]["region"] is None
    # The region's engine rejected it; its report's line is the file's, not the share's.
    engine_rejection = rejected[at["engine"]]
    assert engine_rejection["region"] == "north"
    assert doc["regions"]["north"]["rejected"] == [
        {"line": at["engine"], "error": engine_rejection["error"]}
    ]
    share, own = intake["own"]["north"]
    (own_rejection,) = own["rejected"]
    assert own_rejection["error"] == engine_rejection["error"]
    assert share[own_rejection["line"] - 1] == intake["lines"][at["engine"] - 1]


@pytest.mark.postgres
def test_the_same_file_again_changes_nothing(intake: dict[str, Any]) -> None:
    from oms.cli import cli

    before = {n: _state(u) for n, u in intake["urls"].items()}
    again = "\n".join(intake["lines"]) + "\n"  # on stdin this time
    args = ["regions", "ingest", "-", "--db", intake["urls"]["north"]]
    result = CliRunner().invoke(cli, args, input=again)
    assert result.exit_code == 0, result.output
    assert "region" in result.stdout and "duplicates" in result.stdout
    assert f"line {intake['at']['engine']} (north): " in result.stdout
    assert {n: _state(u) for n, u in intake["urls"].items()} == before


@pytest.mark.postgres
def test_one_process_per_region_applies_only_its_share(intake: dict[str, Any]) -> None:
    """``--region`` applies that region's share alone (each region has its own
    writer, so one process per region runs them at once); the lines the
    router rejected are still reported, and a name no region has is refused."""
    from oms.cli import cli

    before = {n: _state(u) for n, u in intake["urls"].items()}
    file = "\n".join(intake["lines"]) + "\n"
    args = ["regions", "ingest", "-", "--db", intake["urls"]["north"], "--region", "south"]
    result = CliRunner().invoke(cli, [*args, "--json"], input=file)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc["regions"]) == ["south"]
    south = doc["regions"]["south"]
    assert south["duplicates"] == intake["doc"]["regions"]["south"]["accepted"] > 100
    assert south["accepted"] == 0
    assert {r["line"] for r in doc["rejected"]} == {
        intake["at"][k] for k in ("unknown", "ambiguous", "no_owner", "bad_json")
    }
    assert {n: _state(u) for n, u in intake["urls"].items()} == before
    wrong = CliRunner().invoke(cli, [*args[:-1], "west"], input=file)
    assert wrong.exit_code == 2
    assert "no region west (the regions: north, south)" in wrong.output


@pytest.mark.postgres
def test_a_live_pipe_is_applied_as_it_flows(intake: dict[str, Any], tmp_path: Path) -> None:
    """``oms regions ingest -`` on a pipe still open applies each region's
    batches as they complete, and what waits for more once the pipe falls
    quiet, not at the end of its input; the twins get the same lines, to
    stay alike."""
    import subprocess
    import sys
    import time

    from oms.cli import cli

    share, _ = intake["own"]["north"]
    call = next(json.loads(line) for line in share if json.loads(line)["type"] == "call")
    at = START + timedelta(hours=3)
    first = {**call, "id": "live-1", "time": at.isoformat()}
    # Later than a batch spans: reading it completes the first one's batch.
    second = {**call, "id": "live-2", "time": (at + timedelta(seconds=40)).isoformat()}
    url = intake["urls"]["north"]
    args = ["regions", "ingest", "-", "--db", url, "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        proc.stdin.write(f"{json.dumps(first)}\n{json.dumps(second)}\n".encode())
        proc.stdin.flush()
        db = connect(url, upgrade=False)
        ids: list[str] = []
        deadline = time.monotonic() + 60
        while "live-2" not in ids and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            with db.connect() as conn:
                ids = list(conn.execute(select(schema.events.c.id)).scalars())
        db.dispose()
        assert proc.poll() is None  # still reading its input
        assert {"live-1", "live-2"} <= set(ids)
    finally:
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    doc = json.loads(out)
    assert doc["regions"]["north"] == {
        "routed": 2,
        "accepted": 2,
        "duplicates": 0,
        "rejected": [],
    }
    assert doc["regions"]["south"]["routed"] == 0
    live = tmp_path / "live.jsonl"
    live.write_text(f"{json.dumps(first)}\n{json.dumps(second)}\n")
    twin = CliRunner().invoke(cli, ["ingest", str(live), "--db", intake["twins"]["north"]])
    assert twin.exit_code == 0, twin.output


def test_regions_ingest_needs_postgresql(tmp_path: Path) -> None:
    from oms.cli import cli

    events = tmp_path / "events.jsonl"
    events.write_text("")
    db = tmp_path / "oms.sqlite"
    connect(f"sqlite:///{db}").dispose()
    result = CliRunner().invoke(
        cli, ["regions", "ingest", str(events), "--db", f"sqlite:///{db}", "--json"]
    )
    assert result.exit_code == 1
    assert "PostgreSQL" in json.loads(result.stdout)["error"]


def test_a_region_is_addressed_by_its_search_path_alone() -> None:
    from sqlalchemy.engine import make_url

    from oms.cli.regions import _region_url

    url = make_url(
        "postgresql+psycopg2://u@h/db?options=-c%20statement_timeout%3D5000%20-csearch_path%3Dt_a"
    )
    got = make_url(_region_url(url, "oms_south"))
    assert got.query["options"] == '-c statement_timeout=5000 -csearch_path="oms_south"'
    assert (got.host, got.database, got.username) == ("h", "db", "u")
