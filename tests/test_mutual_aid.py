"""Mutual-aid and contractor crews: onboarding, check-in, dispatch, and the per-company report.

The rules (the onboarding file's checks, dispatch skipping a crew not
checked in, shift and job hours) are tested as pure functions; onboarding,
check-in and the report end to end through the HTTP API (SQLite and
PostgreSQL) and the command line, with a running engine that keeps its
live state.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import T0, Clock, User
from flask import Flask
from sqlalchemy import select

from oms.cli import cli
from oms.dispatch.mutual_aid import crew_problems, from_cells
from oms.dispatch.rules import CrewView, JobView, assign_batch, suggest
from oms.reports.crews import company_figures, shift_spans, union_hours
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.inputs import mutual_aid_rows, read_mutual_aid
from topology import NetworkValidationError

H = timedelta(hours=1)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


# ----------------------------------------------------------------- the file
def test_a_row_is_read_into_a_crew_add_crew() -> None:
    cells = {
        "id": "MA1",
        "company": "Northern Power",
        "skills": "line; cable",
        "size": "4",
        "vehicles": "2",
        "home_base": "Oslo depot",
        "arrival": "2026-03-01T14:00:00+01:00",
        "lon": "",
        "voltage_kv": "0.4;10",
    }
    crew, problems = from_cells(cells)
    assert problems == []
    assert crew == {
        "crew": "MA1",
        "company": "Northern Power",
        "home_base": "Oslo depot",
        "arrival": "2026-03-01T14:00:00+01:00",
        "skills": ["cable", "line"],
        "size": 4,
        "vehicles": 2,
        "voltage_kv": [0.4, 10.0],
    }


@pytest.mark.parametrize(
    ("change", "column", "why"),
    [
        ({"size": "four"}, "size", "not a whole number"),
        ({"size": "0"}, "size", "from 1 to 50"),
        ({"company": ""}, "company", "1 to 128 characters"),
        ({"skills": ""}, "skills", "at least one skill"),
        ({"arrival": "14:00"}, "arrival", "not an ISO 8601 time"),
        ({"arrival": "2026-03-01T14:00:00"}, "arrival", "no UTC offset"),
        ({"arrival": ""}, "lon", "here already (no arrival) needs its position"),
        ({"lon": "10.7"}, "lat", "give lon and lat together"),
        ({"lon": "east"}, "lon", "not a number"),
        ({"shift_start": "07:00"}, "shift_end", "both shift_start and shift_end"),
    ],
)
def test_each_wrong_cell_is_named_by_its_column(
    change: dict[str, str], column: str, why: str
) -> None:
    cells = {
        "id": "MA1",
        "company": "N",
        "skills": "line",
        "size": "4",
        "arrival": "2026-03-01T14:00:00+00:00",
    }
    _, problems = from_cells({**cells, **change})
    assert [c for c, _ in problems] == [column], problems
    assert why in problems[0][1]


def test_a_file_with_errors_names_line_and_column_and_gives_nothing(tmp_path: Path) -> None:
    path = tmp_path / "aid.csv"
    path.write_text(
        "id,company,skills,size,arrival,unit\n"
        "MA1,North,line,4,2026-03-01T14:00:00+00:00,U1\n"
        "MA2,North,line,x,2026-03-01T14:00:00+00:00,U9\n"
        "MA1,North,line,3,2026-03-01T14:00:00+00:00,\n"
        "K1,North,line,3,2026-03-01T14:00:00+00:00,\n"
    )
    with pytest.raises(NetworkValidationError) as caught:
        read_mutual_aid(path, units={"U1"}, existing={"K1"})
    assert [(i.element, i.message) for i in caught.value.errors] == [
        ("line 3, column size", "'x' is not a whole number"),
        ("line 3, column unit", "unit 'U9' is not loaded"),
        ("line 4, column id", "crew 'MA1' is listed twice"),
        ("line 5, column id", "crew 'K1' exists already"),
    ]
    good = read_mutual_aid(
        "upload", "id,company,skills,size,lon,lat\nCT1,Treeco,tree,2,10.5,59.9\n"
    )
    assert good == [
        {
            "crew": "CT1",
            "company": "Treeco",
            "skills": ["tree"],
            "size": 2,
            "lon": 10.5,
            "lat": 59.9,
            "voltage_kv": [],
        },
    ]
    with pytest.raises(NetworkValidationError, match="row 2, column size"):
        mutual_aid_rows(
            [
                {"id": "A", "company": "C", "skills": ["line"], "size": 1, "lon": 1, "lat": 2},
                {"id": "B", "company": "C", "skills": "line", "size": "x", "lon": 1, "lat": 2},
            ]
        )


def test_the_event_is_held_to_the_same_rules() -> None:
    assert (
        crew_problems(
            {
                "crew": "MA1",
                "company": "N",
                "skills": ["line"],
                "size": 4,
                "arrival": "2026-03-01T14:00:00+00:00",
            }
        )
        == []
    )
    problems = crew_problems({"crew": "MA1", "company": "N", "skills": "line", "size": True})
    assert [k for k, _ in problems] == ["skills", "size", "lon"]


# ------------------------------------------------------------------ dispatch
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
JOB = JobView("J1", 10.0, 60.0, "Z", ("line",), None, 100.0)


def test_a_crew_not_checked_in_is_never_sent() -> None:
    expected = CrewView(
        "MA1",
        None,
        "Z",
        ("line",),
        (),
        float("nan"),
        float("nan"),
        status="off_shift",
        checked_in=False,
    )
    here = CrewView("K1", None, None, ("line",), (), 10.2, 60.0)
    decision = suggest(JOB, [expected, here], NOW)
    assert (decision.crew, decision.rule) == ("K1", "nearest")
    assert decision.alternatives == [{"crew": "MA1", "eta_s": None, "why_not": "off_shift"}]
    # Even one reported available (never stored so; the rule does not trust it).
    expected.status, expected.lon, expected.lat = "available", 10.0, 60.0
    assert suggest(JOB, [expected], NOW).crew is None
    assert assign_batch([JOB], [expected], NOW)[0].crew is None
    expected.checked_in = True
    decision = suggest(JOB, [expected, here], NOW)
    assert (decision.crew, decision.rule) == ("MA1", "zone")


# -------------------------------------------------------------- the report
def test_shift_spans_follow_check_in_and_status_reports() -> None:
    statuses = [(NOW + 2 * H, "off_shift"), (NOW + 3 * H, "available"), (NOW + 4 * H, "returning")]
    assert shift_spans(NOW, statuses, NOW + 5 * H) == [
        (NOW, NOW + 2 * H),
        (NOW + 3 * H, NOW + 5 * H),
    ]
    assert shift_spans(None, statuses, NOW + 5 * H) == []
    assert shift_spans(NOW + 6 * H, statuses, NOW + 5 * H) == []
    spans = [(NOW, NOW + 2 * H), (NOW + H, NOW + 3 * H), (NOW + 5 * H, NOW + 6 * H)]
    assert union_hours(spans, NOW, NOW + 10 * H) == 4.0
    assert union_hours(spans, NOW + H, NOW + 5.5 * H) == 2.5


def test_company_figures_add_up_crews_hours_jobs_and_customers() -> None:
    crews = [
        {
            "id": "A1",
            "company": "North",
            "size": 4,
            "vehicles": 2,
            "expected": False,
            "shift": [(NOW, NOW + 8 * H)],
        },
        {
            "id": "A2",
            "company": "North",
            "size": 3,
            "vehicles": None,
            "expected": True,
            "shift": [],
        },
        {
            "id": "T1",
            "company": "Treeco",
            "size": 2,
            "vehicles": 1,
            "expected": False,
            "shift": [(NOW, NOW + 2 * H)],
        },
    ]
    jobs = [  # two jobs at once count once; a restored job counts its customers
        {
            "crew": "A1",
            "outage": "O1",
            "state": "closed",
            "updated_at": NOW,
            "stamps": {"D": NOW + H, "restored": NOW + 2 * H, "closed": NOW + 3 * H},
        },
        {
            "crew": "A1",
            "outage": "O2",
            "state": "on_site",
            "updated_at": NOW,
            "stamps": {"D": NOW + 2 * H},
        },
        {
            "crew": "T1",
            "outage": "O3",
            "state": "cancelled",
            "updated_at": NOW + 1.5 * H,
            "stamps": {"D": NOW + H},
        },
    ]
    rows = company_figures(crews, jobs, {"O1": 120, "O2": 7}, NOW, NOW + 4 * H)
    north, treeco = rows
    assert (north["crews"], north["people"], north["vehicles"]) == (2, 7, 2)
    assert (north["checked_in"], north["expected"]) == (1, 1)
    assert (north["shift_hours"], north["job_hours"]) == (4.0, 3.0)
    assert (north["jobs_done"], north["customers_restored"]) == (1, 120)
    assert (treeco["shift_hours"], treeco["job_hours"], treeco["jobs_done"]) == (2.0, 0.5, 0)


# --------------------------------------------------------- end to end: HTTP
CSV = (
    "id,name,company,skills,size,vehicles,home_base,arrival,unit,zone\n"
    "MA1,North 1,Northern Power,line;cable,4,2,Oslo,{arrival},U1,Z-W\n"
)


def test_onboard_check_in_dispatch_and_report_over_http(
    app: Flask, dora: User, eng: User, k1: User, clock: Clock, web_db: str
) -> None:
    ok(
        dora.post(
            "/api/events",
            json={
                "id": "s1",
                "type": "scada",
                "time": T0.isoformat(),
                "device": "B1",
                "state": "open",
                "lockout": True,
            },
        )
    )
    job = ok(dora.get("/api/jobs"))[0]
    csv = CSV.format(arrival=(T0 + H).isoformat())
    headers = {"Content-Type": "text/csv"}
    for other in (eng, k1):  # onboarding is the control room's
        assert other.post("/api/crews/import", data=csv, headers=headers).status_code == 403
    bad = ok(
        dora.post("/api/crews/import", data=csv.replace(",4,", ",four,"), headers=headers), 422
    )
    assert bad["issues"] == [
        {"where": "line 2, column size", "error": "'four' is not a whole number"}
    ]
    assert bad["rejected"] == [{"line": 2, "error": "column size: 'four' is not a whole number"}]
    assert bad["accepted"] == 0
    headless = dora.post("/api/crews/import", data="id,skills\n", headers=headers)
    assert "missing column(s) company, size" in ok(headless, 422)["rejected"][0]["error"]
    done = ok(dora.post("/api/crews/import", data=csv, headers=headers))
    assert (done["onboarded"], done["accepted"], done["rejected"]) == (["MA1"], 1, [])
    again = ok(
        dora.post(
            "/api/crews/import",
            json=[{"id": "MA1", "company": "X", "skills": "line", "size": 1, "lon": 1, "lat": 1}],
        ),
        422,
    )
    assert again["issues"][0] == {"where": "row 1, column id", "error": "crew 'MA1' exists already"}
    # The running engine kept its job and sees the new crew: expected, not sent.
    ma1 = next(c for c in ok(eng.get("/api/crews")) if c["id"] == "MA1")
    assert (ma1["status"], ma1["expected"], ma1["company"], ma1["size"]) == (
        "off_shift",
        True,
        "Northern Power",
        4,
    )
    assert (ma1["lon"], ma1["checked_in"], ma1["arrival"]) == (None, None, (T0 + H).isoformat())
    decision = ok(dora.get(f"/api/jobs/{job['id']}/suggest"))
    assert decision["crew"] == "K1"
    assert {"crew": "MA1", "eta_s": None, "why_not": "off_shift"} in decision["alternatives"]
    ok(dora.post("/api/crews/MA1/status", json={"status": "available"}), 422)
    # Check-in: a crew only for itself; the dispatcher on the crew's behalf.
    assert (
        k1.post("/api/crews/MA1/checkin", json={"lon": job["lon"], "lat": job["lat"]}).status_code
        == 403
    )
    clock.advance(minutes=50)
    ok(dora.post("/api/crews/MA1/checkin", json={"lon": job["lon"], "lat": job["lat"]}))
    ok(dora.post("/api/crews/MA1/checkin", json={"lon": job["lon"], "lat": job["lat"]}), 422)
    decision = ok(dora.get(f"/api/jobs/{job['id']}/suggest"))
    assert (decision["crew"], decision["rule"]) == ("MA1", "zone")  # nearest of the zone's crews
    ok(dora.post(f"/api/jobs/{job['id']}/assign", json={"crew": "MA1"}))
    for stage in ("accept", "depart", "arrive", "restored"):
        clock.advance(minutes=15)
        ok(dora.post(f"/api/jobs/{job['id']}/{stage}", json={}))
    clock.advance(minutes=15)
    form = {
        "cause": "tree",
        "equipment": "conductor",
        "actions": "cleared",
        "outage_start": T0.isoformat(),
        "outage_end": clock().isoformat(),
    }
    ok(dora.post(f"/api/jobs/{job['id']}/close", json={"closeout": form}))
    clock.advance(minutes=45)
    ok(dora.post("/api/crews/MA1/status", json={"status": "off_shift"}))
    # The report, as of the engine clock: checked in 10:55, dispatched at once,
    # closed 12:10, off shift 12:55.
    report = ok(eng.get("/api/reports/crews"))
    (north,) = report["companies"]
    assert north == {
        "company": "Northern Power",
        "crews": 1,
        "people": 4,
        "vehicles": 2,
        "checked_in": 1,
        "expected": 0,
        "shift_hours": 2.0,
        "job_hours": 1.25,
        "jobs_done": 1,
        "customers_restored": north["customers_restored"],
        "crew_ids": ["MA1"],
    }
    outage = ok(eng.get("/api/outages?state=restored"))
    assert north["customers_restored"] == outage[0]["customers_out"] > 0
    assert k1.get("/api/reports/crews").status_code == 403
    # The log keeps who onboarded the crew and who checked it in.
    with connect(web_db).connect() as conn:
        rows = conn.execute(
            select(schema.events.c.type, schema.events.c.payload).where(
                schema.events.c.type.in_(("crew_add", "crew_checkin"))
            )
        ).all()
    assert sorted((t, json.loads(p)["user"]) for t, p in rows) == [
        ("crew_add", "dora"),
        ("crew_checkin", "dora"),
    ]


# ----------------------------------------------------- end to end: the CLI
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_import_with_handhelds_then_the_crew_checks_itself_in(
    app: Flask, clock: Clock, web_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "aid.csv"
    path.write_text(CSV.format(arrival=(T0 + H).isoformat()))
    runner = CliRunner()
    base = ["--db", web_db, "--json"]
    result = runner.invoke(
        cli,
        [
            "crews",
            "import",
            str(path),
            "--user",
            "dora",
            "--time",
            T0.isoformat(),
            "--expires",
            "72h",
            "--qr-dir",
            str(tmp_path / "qr"),
            "--url",
            "https://oms.example",
            *base,
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["onboarded"], doc["rejected"]) == (["MA1"], [])
    (handheld,) = doc["handhelds"]
    assert handheld["username"] == "ma1" and handheld["expires_at"]
    assert handheld["sign_in"].startswith("https://oms.example/crew/#token=")
    assert Path(handheld["qr"]).read_text().startswith("<?xml")
    listed = json.loads(runner.invoke(cli, ["crews", *base]).stdout)
    assert next(c for c in listed if c["id"] == "MA1")["expected"] is True
    # The server (started before the import) takes the crew's own check-in.
    bearer = {"Authorization": f"Bearer {handheld['token']}"}
    handheld_client = app.test_client()
    there = {"lon": 10.75, "lat": 59.91}
    assert (
        handheld_client.post("/api/crews/K1/checkin", json=there, headers=bearer).status_code == 403
    )
    ok(handheld_client.post("/api/crews/MA1/checkin", json=there, headers=bearer))
    ma1 = next(c for c in ok(handheld_client.get("/api/crews", headers=bearer)))
    assert (ma1["id"], ma1["status"], ma1["checked_in"]) == (
        "MA1",
        "available",
        clock().isoformat(),
    )
    report = json.loads(runner.invoke(cli, ["report", "crews", "--by", "company", *base]).stdout)
    assert report["companies"][0]["checked_in"] == 1
    bad = runner.invoke(cli, ["crews", "import", str(path), "--user", "dora", *base])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["issues"] == [
        {"where": "line 2, column id", "error": "crew 'MA1' exists already"}
    ]
    assert "--qr-dir" in runner.invoke(cli, ["crews", "import", "--help"]).output


def test_reloading_the_crews_file_keeps_the_crews_onboarded_while_running(
    dora: User, web_db: str, tmp_path: Path
) -> None:
    from helpers import write_dispatch_files

    from oms.storage.loading import load

    csv = CSV.format(arrival=(T0 + H).isoformat())
    ok(dora.post("/api/crews/import", data=csv, headers={"Content-Type": "text/csv"}))
    crews = write_dispatch_files(tmp_path)["crews"]
    report = load(connect(web_db), crews=crews)
    assert "kept 1 crew(s) onboarded while running: MA1" in report["warnings"]
    with connect(web_db).connect() as conn:
        ids = set(conn.execute(select(schema.crews.c.id)).scalars())
    assert ids == {"K1", "K2", "K3", "K4", "MA1"}
