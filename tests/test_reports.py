"""IEEE 1366 indices, major event days, compliance and the bulletin, from known outages."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.reports.reliability import bulletin, compliance, indices
from oms.storage.db import connect

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def ev(eid: str, etype: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "type": etype,
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }


@pytest.fixture
def storm(loaded_db: str) -> str:
    engine = OutageEngine(connect(loaded_db), EngineConfig.from_dict({"pings": False}))
    events = [
        ev("s1", "scada", 0, device="B1", state="open", lockout=True),  # 27 customers
        ev("s2", "scada", 3600, device="B1", state="closed"),  # ... for an hour
        ev("m1", "scada", 7200, device="B2", state="open"),  # 26 customers blink
        ev("m2", "scada", 7210, device="B2", state="closed"),
        ev("s3", "scada", 9000, device="R1", state="open", lockout=True),  # 20 customers
        ev("s4", "scada", 9000 + 1800, device="R1", state="closed"),  # ... for 30 min
    ]
    report = engine.ingest(json.dumps(e) for e in events)
    assert report.rejected == []
    return loaded_db


def test_indices_by_hand(storm: str) -> None:
    with connect(storm).connect() as conn:
        doc = indices(conn, T0, T0 + timedelta(days=1), cemi_n=1)
    served = 61
    got = doc["all"]
    assert doc["customers_served"] == served
    assert got["interruptions"] == 2
    assert got["customers_interrupted"] == 27 + 20
    assert got["SAIFI"] == pytest.approx((27 + 20) / served, abs=1e-5)
    assert got["SAIDI"] == pytest.approx((27 * 60 + 20 * 30) / served, abs=1e-3)
    assert got["CAIDI"] == pytest.approx(got["SAIDI"] / got["SAIFI"], abs=1e-3)
    assert got["CAIFI"] == pytest.approx(47 / 27, abs=1e-5)  # R1's 20 were out twice
    assert got["MAIFI"] == pytest.approx(26 / served, abs=1e-5)
    assert got["CEMI-1"] == pytest.approx(20 / served, abs=1e-6)
    assert got["ASAI"] == pytest.approx(1 - got["SAIDI"] / 1440, abs=1e-5)
    assert doc["major_event_days"] == []  # not enough history for the 2.5 beta method


def test_compliance_and_bulletin(storm: str) -> None:
    with connect(storm).connect() as conn:
        now = T0 + timedelta(days=1)
        doc = compliance(conn, T0, now, now)
        day = bulletin(conn, date(2026, 3, 1), now)
    assert doc["jobs"] == 2  # the momentary's job was cancelled
    assert doc["segments"]["CD"]["breached"] == 2  # nobody dispatched them
    assert doc["segments"]["CD"]["owner"] == "repair_centre"
    assert doc["arrival"]["area_class"]["rural"]["late"] == 2  # no zones: rural
    assert doc["arrival"]["unit"]["none"]["share_on_time"] == 0.0
    assert day["outages"] == {"network": 2, "momentary": 1}
    assert day["customers_interrupted"] == 47
    assert day["worst"][0]["customers_out"] == 27


def _png_size(path: Any) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_report_commands_draw_png_charts(storm: str, tmp_path: Any) -> None:
    from click.testing import CliRunner
    from matplotlib.image import imread

    from oms.cli import cli

    runner = CliRunner()
    for command in (["indices", "--start", T0.isoformat()], ["compliance"], ["bulletin"]):
        png = tmp_path / f"{command[0]}.png"
        result = runner.invoke(cli, ["report", *command, "--db", storm, "--png", str(png)])
        assert result.exit_code == 0, result.output
        width, height = _png_size(png)
        assert width > 400 and height > 200
        pixels = imread(png)
        assert pixels.std() > 0.05  # something is drawn, not a blank canvas


def test_daily_saidi_sums_to_the_period(storm: str) -> None:
    with connect(storm).connect() as conn:
        doc = indices(conn, T0, T0 + timedelta(days=1))
    assert list(doc["daily_saidi"]) == ["2026-03-01"]
    assert doc["daily_saidi"]["2026-03-01"] == pytest.approx(doc["all"]["SAIDI"], abs=1e-3)


def test_the_indices_text_shows_the_planned_interruptions_too(storm: str) -> None:
    """``oms report indices`` without ``--json`` prints the planned indices
    beside the unplanned ones (found by a new-user trial: only the JSON had
    ``planned``)."""
    from click.testing import CliRunner

    from oms.cli import cli

    engine = OutageEngine(connect(storm), EngineConfig.from_dict({"pings": False}))
    hours = 3600
    window = {"start": ev("", "", 5 * hours)["time"], "end": ev("", "", 6 * hours)["time"]}
    steps = [{"action": "open", "device": "SW2"}, {"action": "close", "device": "SW2"}]
    events = [
        ev(
            "p1",
            "planned_request",
            4 * hours,
            user="eng",
            applicant="Lines",
            reason="poles",
            devices=["SW2"],
            notice_days=0,
            **window,
        ),
        ev("p2", "planned_approve", 4 * hours + 1, user="dora", planned="PO-000001"),
        ev(
            "p3",
            "order_create",
            4 * hours + 2,
            user="eng",
            title="poles",
            steps=steps,
            planned="PO-000001",
        ),
        ev("p4", "order_check", 4 * hours + 3, user="eng", order="SO-000001"),
        ev("p5", "order_approve", 4 * hours + 4, user="dora", order="SO-000001"),
        ev("p6", "order_issue", 4 * hours + 5, user="dora", order="SO-000001"),
        ev("p7", "order_step", 5 * hours, user="dora", order="SO-000001", step=1),
        ev("p8", "order_step", 5.5 * hours, user="dora", order="SO-000001", step=2),
    ]
    report = engine.ingest(json.dumps(e) for e in events)
    assert report.rejected == []
    end = (T0 + timedelta(days=1)).isoformat()
    args = ["report", "indices", "--start", T0.isoformat(), "--end", end, "--db", storm]
    doc = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    planned = doc["planned"]
    assert (planned["interruptions"], planned["customers_interrupted"]) == (1, 6)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["index", "all", "(unplanned)", "planned"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert rows["interruptions"] == [str(doc["all"]["interruptions"]), "1"]
    assert rows["customers_interrupted"] == ["47", "6"]
    assert rows["customer_minutes"] == [str(doc["all"]["customer_minutes"]), "180.0"]
    assert rows["SAIFI"][1] == str(planned["SAIFI"])
