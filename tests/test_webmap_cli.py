"""The server's commands: oms user add, oms device add|list|revoke, oms serve --help."""

from __future__ import annotations

import json

from click.testing import CliRunner

from oms.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def add(web_db: str, name: str, *options: str) -> tuple[int, str]:
    return run("user", "add", name, *options, "--db", web_db)


def test_user_and_device_lifecycle(web_db: str) -> None:
    code, out = add(web_db, "zed", "--role", "admin", "--password", "long-enough", "--json")
    assert code == 0, out
    assert json.loads(out) == {"username": "zed", "role": "admin", "crew": None}
    code, out = add(web_db, "zed", "--role", "admin", "--password", "long-enough")
    assert code == 1 and "exists already" in out
    code, out = add(web_db, "kx", "--role", "crew", "--password", "long-enough")
    assert code == 1 and "name the crew" in out
    code, out = add(web_db, "ky", "--role", "crew", "--crew", "NOPE", "--password", "long-enough")
    assert code == 1 and "NOPE" in out
    code, out = add(web_db, "kz", "--role", "dispatcher", "--password", "short")
    assert code == 1 and "at least 8" in out
    code, out = run("device", "add", "k1", "--name", "K1 tablet", "--db", web_db, "--json")
    assert code == 0, out
    device = json.loads(out)
    assert device["token"] and device["username"] == "k1"
    code, out = run("device", "list", "--db", web_db, "--json")
    assert [d["id"] for d in json.loads(out)] == [device["id"]]
    code, out = run("device", "revoke", device["id"], "--db", web_db)
    assert code == 0
    code, out = run("device", "revoke", device["id"], "--db", web_db)
    assert code == 1 and "no active device" in out
    code, out = run("device", "list", "--db", web_db, "--json")
    assert json.loads(out)[0]["revoked_at"] is not None


def test_server_commands_have_help() -> None:
    for command in (["serve"], ["demo"], ["user", "add"], ["device", "add"], ["device", "revoke"]):
        code, out = run(*command, "--help")
        assert code == 0 and "Usage" in out
