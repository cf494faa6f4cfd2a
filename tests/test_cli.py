"""The ``oms`` command line: contract-4 JSON, exit codes, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import edge, two_feeders, write

from oms.cli import cli


@pytest.fixture
def network_file(tmp_path: Path) -> str:
    return str(write(tmp_path, two_feeders()))


def run(*args: str) -> tuple[int, dict | list, str]:
    result = CliRunner().invoke(cli, list(args))
    doc = json.loads(result.stdout) if result.stdout.strip().startswith(("{", "[")) else {}
    return result.exit_code, doc, result.stderr if result.stderr_bytes else ""


def result_of(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_help_everywhere() -> None:
    """Every command and subcommand, the plugins' too, answers --help."""
    import click

    def paths(group: click.Group, prefix: list[str]) -> list[list[str]]:
        ctx = click.Context(group)
        found = [prefix]
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            if isinstance(command, click.Group):
                found += paths(command, [*prefix, name])
            else:
                found.append([*prefix, name])
        return found

    every = paths(cli, [])
    assert ["network", "import-opendss"] in every and ["gis", "publish"] in every
    for args in every:
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.stdout


def test_trace_upstream_json(network_file: str) -> None:
    code, doc, _ = run("trace", "upstream", network_file, "a9", "--json")
    assert code == 0
    assert doc == {
        "element": "a9",
        "source": "S1",
        "path": ["X1", "L4", "F1", "L1", "B1", "T1"],
        "protective_devices": ["F1", "B1"],
    }


def test_trace_downstream_feeder_deenergized_loops_path(network_file: str) -> None:
    code, doc, _ = run("trace", "downstream", network_file, "R1", "--json")
    assert code == 0 and set(doc) == {"device", "nodes", "devices", "customers"}
    assert doc["customers"] == 20
    code, doc, _ = run("trace", "feeder", network_file, "a5", "--json")
    assert code == 0 and set(doc) == {"element", "feeder", "source", "nodes", "customers"}
    assert doc["feeder"] == "B1"
    code, doc, _ = run(
        "trace",
        "deenergized",
        network_file,
        "--open",
        "B1",
        "--open",
        "R1",
        "--close",
        "TIE1",
        "--json",
    )
    assert code == 0 and doc["nodes"] == ["a1", "a2", "a7", "a8", "a9"]
    assert doc["customers"] == 7
    code, doc, _ = run("trace", "loops", network_file, "--json")
    assert code == 0 and doc == {"loops": [["T1", "T2"]]}
    code, doc, _ = run("trace", "path", network_file, "a1", "a4", "--json")
    assert code == 0 and doc["edges"] == ["L1", "R1", "L2"]
    assert doc["nodes"] == ["a1", "a2", "a3", "a4"]


def test_trace_isolate_and_restore_json(network_file: str) -> None:
    code, doc, _ = run("trace", "isolate", network_file, "L2", "--json")
    assert code == 0
    assert {k: doc[k] for k in ("faulted", "open", "deenergized_nodes")} == {
        "faulted": "L2",
        "open": ["R1", "SW1"],
        "deenergized_nodes": ["a3", "a4", "a5", "a6"],
    }
    code, doc, _ = run("trace", "restore", network_file, "L2", "--json")
    assert code == 0
    assert doc["close"] == ["TIE1"]
    assert doc["restored_customers"] == 13 and doc["unrestored_customers"] == 7


def test_readable_output_without_json(network_file: str) -> None:
    result = CliRunner().invoke(cli, ["trace", "restore", network_file, "L1"])
    assert result.exit_code == 0
    assert "sectionalize" in result.stdout and "restored 13 customers" in result.stdout
    result = CliRunner().invoke(cli, ["network", "info", network_file])
    assert "18 nodes (2 sources)" in result.stdout


def test_errors_exit_1_with_a_message(network_file: str) -> None:
    result = CliRunner().invoke(cli, ["trace", "upstream", network_file, "nope", "--json"])
    assert result.exit_code == 1
    assert "nope" in result.stderr
    assert "nope" in json.loads(result.stdout)["error"]
    result = CliRunner().invoke(cli, ["trace", "isolate", network_file, "TIE1"])
    assert result.exit_code == 1 and "open" in result.stderr


def test_usage_error_exits_2(network_file: str) -> None:
    assert CliRunner().invoke(cli, ["trace", "upstream", network_file]).exit_code == 2
    assert CliRunner().invoke(cli, ["trace", "sideways"]).exit_code == 2


def test_usage_error_with_json_is_a_json_error_too(network_file: str, tmp_path: Path) -> None:
    """With --json, stdout holds one document even for a usage error: ``{"error"}``
    naming what was wrong (click's usage text stays on stderr), exit code 2."""
    cases = [
        (["trace", "upstream", network_file, "--json"], "Missing argument 'ELEMENT'"),
        (["trace", "upstream", network_file, "T1", "--json", "--bogus"], "'--bogus'"),
        (["outages", "--json", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}"], "none.sqlite"),
    ]
    for args, named in cases:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert named in json.loads(result.stdout)["error"], args
        assert "Usage: " in result.stderr
    # A command's own failure is unchanged: one document, exit 1.
    code, doc, _ = run("trace", "upstream", network_file, "NOPE", "--json")
    assert code == 1 and "NOPE" in doc["error"]
    # The usage line says NETWORK may be replaced by --db (with DEVICE still given).
    assert "[OPTIONS] (NETWORK | --db URL) ELEMENT" in result_of("trace", "upstream", "--help")
    # --help with --json is help, exit 0.
    result = CliRunner().invoke(cli, ["outages", "--help", "--json"])
    assert result.exit_code == 0 and "outages [OPTIONS]" in result.stdout


def test_validate(tmp_path: Path, network_file: str) -> None:
    code, doc, _ = run("network", "validate", network_file, "--json")
    assert code == 0 and doc["valid"] is True
    assert doc["warnings"][0]["ids"] == ["T1", "T2"]
    bad = write(
        tmp_path,
        [*two_feeders(), edge("X9", "pole", "a1", "a2"), edge("X8", "line", "a1", "zz")],
        "bad.geojson",
    )
    code, doc, _ = run("network", "validate", str(bad), "--json")
    assert code == 1 and doc["valid"] is False
    assert [e["element"] for e in doc["errors"]] == ["X9", "X8"]
    code, doc, _ = run("network", "validate", str(tmp_path / "none.geojson"), "--json")
    assert code == 1 and "no such file" in doc["errors"][0]["message"]


def test_info_and_export(tmp_path: Path, network_file: str) -> None:
    code, doc, _ = run("network", "info", network_file, "--json")
    assert code == 0
    assert doc["edges_by_kind"]["breaker"]["count"] == 3
    assert doc["normally_open"] == ["TIE1"] and doc["loops"] == 1
    out = tmp_path / "out.gpkg"
    result = CliRunner().invoke(cli, ["network", "export", network_file, str(out)])
    assert result.exit_code == 0 and out.exists()
    code, doc, _ = run("trace", "downstream", str(out), "B1", "--json")
    assert doc["customers"] == 27


def test_geojson_output(tmp_path: Path, network_file: str) -> None:
    out = tmp_path / "r.geojson"
    code, _, _ = run("trace", "downstream", network_file, "R1", "--json", "--geojson", str(out))
    assert code == 0
    doc = json.loads(out.read_text())
    roles = {(f["properties"]["id"], f["properties"]["role"]) for f in doc["features"]}
    assert ("R1", "device") in roles and ("a6", "nodes") in roles and ("L3", "edges") in roles
    assert doc["result"]["customers"] == 20
    assert all(f["geometry"] for f in doc["features"])
