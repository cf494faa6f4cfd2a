"""Hostile and broken input is rejected with a reason, never a crash (issue 13's probes).

Each test repeats a probe that crashed before: a year-9999 time, a line
that is not UTF-8, an empty network file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import write_network_files

from oms.cli import cli
from oms.exceptions import EventError
from oms.intake.events import parse_time, read_lines
from topology import NetworkValidationError, network_from_features


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "1969-12-31T23:59:59+00:00"]
)
def test_times_out_of_range_are_invalid(text: str) -> None:
    with pytest.raises(EventError, match="out of range"):
        parse_time(text)


def test_a_line_that_is_not_utf8_is_rejected_alone() -> None:
    lines = [b'{"a": 1}\n', b'{"b": "\xff"}\n', b'{"c": 3}\n']
    got = list(read_lines(lines))
    assert [n for n, obj, _ in got if not isinstance(obj, EventError)] == [1, 3]
    assert "not UTF-8" in str(got[1][1])


def test_ingest_goes_on_past_bad_bytes_and_far_times(tmp_path: Path) -> None:
    net_path, cust_path = write_network_files(tmp_path)
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    runner = CliRunner()
    loaded = runner.invoke(
        cli, ["load", "--db", url, "--network", str(net_path), "--customers", str(cust_path)]
    )
    assert loaded.exit_code == 0, loaded.output
    events = tmp_path / "events.jsonl"
    good = {"type": "call", "time": "2026-03-01T10:00:00+00:00", "customer": "a9-2"}
    events.write_bytes(
        json.dumps({"id": "e1", **good}).encode()
        + b"\n"
        + b'{"id": "e2", "type": "call", "note": "\xff"}\n'
        + json.dumps({"id": "e3", **good, "time": "9999-12-31T23:59:59+00:00"}).encode()
        + b"\n"
        + json.dumps({"id": "e4", **good, "customer": "a9-3"}).encode()
        + b"\n"
    )
    result = runner.invoke(cli, ["ingest", str(events), "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accepted"] == 2
    assert [r["line"] for r in doc["rejected"]] == [2, 3]


def test_an_empty_network_file_is_an_error_not_a_crash() -> None:
    with pytest.raises(NetworkValidationError, match="no nodes"):
        network_from_features([])


def test_deep_nesting_is_rejected_with_its_line() -> None:
    deep = "[" * 5000 + "]" * 5000
    fairly = '{"id": "x", "type": "call", "note": ' + "[" * 40 + "]" * 40 + "}"
    got = list(read_lines([deep, fairly, '{"id": "y"}']))
    assert "nested" in str(got[0][1]) and "nested" in str(got[1][1])
    assert got[2][1] == {"id": "y"}


def test_the_api_answers_deep_nesting_with_400(app: object) -> None:
    from conftest import sign_in

    client = app.test_client()  # type: ignore[attr-defined]
    token = sign_in(client, "dora")
    body = "[" * 100_000 + "]" * 100_000
    for path in ("/api/events", "/api/switch"):
        response = client.post(
            path, data=body, headers={"X-CSRFToken": token, "Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), (path, response.status_code)


def test_nan_is_not_json_anywhere(app: object) -> None:
    from conftest import sign_in

    assert "not valid JSON" in str(next(read_lines(['{"a": NaN}']))[1])
    client = app.test_client()  # type: ignore[attr-defined]
    token = sign_in(client, "dora")
    body = '{"id": "n1", "type": "call", "time": "2026-03-01T10:00:00+00:00", "node": NaN}'
    response = client.post(
        "/api/events", data=body, headers={"X-CSRFToken": token, "Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_bodies_and_events_have_a_size_limit(app: object) -> None:
    """Issue 13: a 50 MB event was stored whole."""
    from conftest import sign_in

    client = app.test_client()  # type: ignore[attr-defined]
    token = sign_in(client, "dora")
    headers = {"X-CSRFToken": token}
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # type: ignore[attr-defined]
    huge = client.post(
        "/api/events",
        data=b'{"id": "x", "note": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    long_note = {
        "id": "c1",
        "type": "call",
        "time": "2026-03-01T10:00:00+00:00",
        "customer": "a9-2",
        "note": "n" * 70_000,
    }
    r = client.post("/api/events", json=long_note, headers=headers)
    assert r.status_code == 422 and "at most 65536" in r.get_json()["rejected"][0]["error"]
    lines = json.dumps(long_note) + "\n" + json.dumps({**long_note, "id": "c2", "note": "ok"})
    r = client.post(
        "/api/events", data=lines, headers={**headers, "Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 422 and r.get_json()["accepted"] == 1


def test_degrees_under_a_projected_crs_are_an_error_naming_it(tmp_path: Path) -> None:
    """Issue 13 probe 13: EPSG:3857 declared over lon/lat loaded silently at (0, 0)."""
    from helpers import two_feeders

    from topology import read_network

    path = tmp_path / "degrees.geojson"
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
        "features": two_feeders(),
    }
    path.write_text(json.dumps(doc))
    with pytest.raises(NetworkValidationError, match="the CRS is EPSG:3857, a projected CRS"):
        read_network(path)


def test_a_network_without_a_source_is_an_error() -> None:
    from helpers import two_feeders

    features = [
        {**f, "properties": {**f["properties"], "kind": "node"}}
        if f["properties"].get("kind") == "source"
        else f
        for f in two_feeders()
    ]
    with pytest.raises(NetworkValidationError, match="no source node"):
        network_from_features(features)
