"""The command line's front door: one program, fast start, errors a newcomer can act on.

How fast it starts is measured by ``bench/startup.py``; here we check what
makes it fast (nothing heavy imported for help) and what a user sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oms.cli import COMMANDS, cli

HEAVY = ("numpy", "scipy", "sqlalchemy", "flask", "pandas", "geopandas", "pyproj", "shapely")


def _modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_help_imports_nothing_heavy() -> None:
    loaded = _modules_after(
        "from oms.cli import cli\n"
        "try:\n    cli.main(['--help'], prog_name='oms')\nexcept SystemExit:\n    pass"
    )
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_python_m_oms_is_the_oms_program() -> None:
    run = [sys.executable, "-m", "oms"]
    listed = subprocess.run([*run, "--help"], capture_output=True, text=True, check=True).stdout
    for name in [*COMMANDS, "demo", "serve", "user", "device"]:
        assert f"  {name} " in listed
    demo_help = subprocess.run([*run, "demo", "--help"], capture_output=True, text=True)
    assert demo_help.returncode == 0 and "--port" in demo_help.stdout


def test_every_command_has_help() -> None:
    runner = CliRunner()

    def walk(path: list[str]) -> None:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        command: Any = cli
        ctx = cli.make_context("oms", [], resilient_parsing=True)
        for name in path:
            command = command.get_command(ctx, name)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk([*path, name])

    walk([])


def test_a_missing_optional_package_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    result = CliRunner().invoke(cli, ["network", "export", "demo", str(tmp_path / "x.parquet")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: this needs the package 'pyarrow', which is not installed: "
        'pip install "open-oms[parquet]"'
    ]


def test_a_missing_config_file_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["serve", "--config", "/no/such/config.json"])
    assert result.exit_code == 2
    assert "'/no/such/config.json' does not exist" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_serve_reads_oms_engine_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import waitress

    config = tmp_path / "engine.json"
    config.write_text(json.dumps({"prediction": {"call_rate": 0.25}}), encoding="utf-8")
    served: dict[str, Any] = {}

    def fake_serve(app: Any, **kwargs: Any) -> None:
        served["config"] = app.extensions["oms.service"].config
        app.extensions["oms.service"].stop()

    monkeypatch.setattr(waitress, "serve", fake_serve)
    monkeypatch.setenv("OMS_ENGINE_CONFIG", str(config))
    db = f"sqlite:///{tmp_path / 'oms.sqlite'}"
    from oms.storage.db import connect

    connect(db).dispose()  # serve needs a database that exists (oms load makes one)
    result = CliRunner().invoke(cli, ["serve", "--db", db])
    assert result.exit_code == 0, result.output
    assert served["config"].prediction.call_rate == 0.25


def test_traces_answer_the_same_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import write_network_files

    net_path, cust_path = write_network_files(tmp_path)
    runner = CliRunner()
    args = ["trace", "downstream", str(net_path), "B1", "--customers", str(cust_path), "--json"]
    monkeypatch.setenv("OMS_CACHE_DIR", "")
    plain = runner.invoke(cli, args)
    monkeypatch.setenv("OMS_CACHE_DIR", str(tmp_path / "cache"))
    first, second = runner.invoke(cli, args), runner.invoke(cli, args)
    assert plain.exit_code == first.exit_code == second.exit_code == 0
    assert json.loads(plain.output) == json.loads(first.output) == json.loads(second.output)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    # An edited file is read again, never answered from the cache.
    doc = json.loads(Path(net_path).read_text(encoding="utf-8"))
    doc["features"] = [f for f in doc["features"] if f["properties"]["id"] != "a9"]
    doc["features"] = [f for f in doc["features"] if f["properties"].get("to") != "a9"]
    Path(net_path).write_text(json.dumps(doc), encoding="utf-8")
    cust = Path(cust_path)
    cust.write_text(
        "\n".join(line for line in cust.read_text().splitlines() if ",a9," not in line) + "\n"
    )
    third = runner.invoke(cli, args)
    assert third.exit_code == 0, third.output
    assert json.loads(third.output)["customers"] < json.loads(first.output)["customers"]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
