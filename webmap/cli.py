"""The server's commands, added to the ``oms`` command line.

They reach :data:`oms.cli.cli` through the ``oms.commands`` entry-point group
(``setup.py``), so :mod:`oms` stays free of Flask:

- ``oms demo``: the whole system on the demo network, storms at accelerated time;
- ``oms serve``: the server (waitress on the embedded default; for
  PostgreSQL with several processes, gunicorn: see ``docs/server.md``);
- ``oms user add|list``: users and their roles (the first admin too);
- ``oms device add|list|revoke``: handheld bearer tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oms.cli.options import config_option, db_option, emit, handles_errors, json_option, table

__all__ = ["demo", "device", "serve", "user"]

#: Most connections waitress keeps open at once (open live streams count).
CONNECTION_LIMIT = 1000


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=32, show_default=True, type=int, help="Waitress threads.")
@config_option
@db_option
@handles_errors
def serve(host: str, port: int, threads: int, config_file: str | None, db: str | None) -> None:
    """Run the server: API, live stream, dispatcher map, crew handheld, public page."""
    from waitress import serve as waitress_serve

    from oms.storage.db import database_url
    from webmap import create_app

    app = create_app({"OMS_DB": database_url(db), "OMS_ENGINE_CONFIG": config_file})
    click.echo(f"serving on http://{host}:{port}/ (dispatcher), /crew, /public", err=True)
    # Every live stream holds a thread: leave plenty for the API.
    try:
        waitress_serve(
            app,
            host=host,
            port=port,
            threads=threads,
            channel_timeout=3600,
            # Every browser holds its /stream open: waitress's 100 would turn
            # the 101st dispatcher or handheld away in a storm.
            connection_limit=CONNECTION_LIMIT,
        )
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another with --port"
        ) from exc


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--speed",
    default=10.0,
    show_default=True,
    type=float,
    help="Simulated seconds per real second.",
)
@click.option("--faults", default=None, type=int, help="Faults per storm (default scales).")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--db-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Keep the demo's SQLite database in this file (made afresh; "
    "default: a temporary file removed at exit).",
)
@click.option("--seconds", default=None, type=float, help="Stop after this many seconds.")
@json_option
def demo(
    host: str,
    port: int,
    speed: float,
    faults: int | None,
    seed: int,
    db_file: str | None,
    seconds: float | None,
    as_json: bool,
) -> None:
    """The whole system on the demo network, with storms at accelerated time.

    Makes a fresh SQLite database with the demo network, customers, crews,
    units, zones and roads; starts the server; plays storms until stopped
    (Ctrl-C). Prints the dispatcher, crew handheld and public URLs with
    demo sign-ins.
    """
    import contextlib
    import tempfile
    from pathlib import Path

    with contextlib.ExitStack() as stack:
        if db_file is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="oms-demo-"))
            path = Path(folder) / "oms-demo.sqlite"
        else:
            path = Path(db_file).resolve()
        _run_demo(path, host, port, speed, faults, seed, seconds, as_json)


def _run_demo(
    path: Path,
    host: str,
    port: int,
    speed: float,
    faults: int | None,
    seed: int,
    seconds: float | None,
    as_json: bool,
) -> None:
    import contextlib
    import json
    import signal
    import threading

    from waitress.server import create_server

    from webmap import create_app
    from webmap.demo import (
        AcceleratedClock,
        DemoStorm,
        StormSettings,
        demo_config,
        demo_start,
        prepare,
        summary,
    )

    click.echo(f"preparing {path} (demo network, customers, crews, roads)...", err=True)
    users = prepare(path)
    clock = AcceleratedClock(demo_start(), speed)
    app = create_app(
        {
            "OMS_DB": f"sqlite:///{path}",
            "OMS_TICK_S": 0,  # the storm driver ticks the engine on the demo clock
            "OMS_CLOCK": clock,
            "OMS_CLOCK_SPEED": speed,
            "OMS_ENGINE_CONFIG": demo_config(),
        }
    )
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=32,
            channel_timeout=3600,
            connection_limit=CONNECTION_LIMIT,
        )
    except OSError as exc:
        app.extensions["oms.service"].stop()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another with --port"
        ) from exc
    base = f"http://{host}:{server.effective_port}"  # type: ignore[union-attr]
    storm = DemoStorm(app.extensions["oms.service"], StormSettings(faults=faults, seed=seed))
    storm.start()
    doc = summary(users, base, f"sqlite:///{path}")
    if as_json:
        click.echo(json.dumps(doc))
    else:
        click.echo(f"dispatcher map:  {doc['dispatcher']['url']}  (dispatcher / dispatch-demo)")
        crew = doc["crew_handheld"]
        click.echo(f"crew handheld:   {crew['url']}  ({crew['user']} / {crew['password']})")
        click.echo(f"public page:     {doc['public']['url']}")
        click.echo(f"API description: {doc['api']['url']}")
        click.echo(f"command line:    oms outages --db {doc['database']['url']}")
        click.echo(
            "sign-ins:        "
            + ", ".join(f"{a['user']} / {a['password']} ({a['role']})" for a in doc["accounts"])
        )
        click.echo(f"storms at {speed:g}x; Ctrl-C stops (--port to use another port)", err=True)
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait(seconds)
    storm.stop()
    # Requests in flight finish first: a handler thread that wakes the server's
    # loop after the sockets closed would hit a closed descriptor (a traceback).
    server.task_dispatcher.shutdown(timeout=2)  # type: ignore[union-attr]
    server.close()
    app.extensions["oms.service"].stop()


@click.group()
def user() -> None:
    """Users and roles (dispatcher, crew, engineer, admin)."""


@user.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["dispatcher", "crew", "engineer", "admin"]),
    required=True,
)
@click.option("--crew", default=None, help="The crew of a crew user.")
@click.password_option("--password", help="The password (asked for when not given).")
@db_option
@json_option
@handles_errors
def user_add(
    username: str, role: str, crew: str | None, password: str, db: str | None, as_json: bool
) -> None:
    """Create a user (the first admin too)."""
    from oms.storage.db import connect
    from webmap.accounts import add_user

    with connect(db).begin() as conn:
        created = add_user(conn, username, password, role, crew)
    emit(created.to_dict(), as_json, lambda: f"added {role} {username}")


@user.command("list")
@db_option
@json_option
@handles_errors
def user_list(db: str | None, as_json: bool) -> None:
    """Users by name: role, crew, enabled (who may sign an action with --user)."""
    from sqlalchemy import select

    from oms.storage import schema
    from oms.storage.db import connect

    u = schema.users
    columns = (u.c.username, u.c.role, u.c.crew, u.c.disabled)  # never the password hash
    with connect(db).connect() as conn:
        rows = conn.execute(select(*columns).order_by(u.c.username)).all()
    doc = [
        {"username": name, "role": role, "crew": crew, "enabled": not disabled}
        for name, role, crew, disabled in rows
    ]
    emit(
        doc,
        as_json,
        lambda: (
            table(
                [
                    (d["username"], d["role"], d["crew"] or "", "yes" if d["enabled"] else "no")
                    for d in doc
                ],
                ["user", "role", "crew", "enabled"],
            )
            if doc
            else "no users (oms user add NAME --role admin makes the first)"
        ),
    )


@click.group()
def device() -> None:
    """Handhelds: register (a bearer token, shown once), list, revoke."""


@device.command("add")
@click.argument("username")
@click.option("--name", required=True, help="What the device is, e.g. 'CR01 tablet'.")
@click.option(
    "--expires",
    default=None,
    metavar="TIME|HOURS",
    help="A temporary handheld (mutual aid): refused from this time (ISO 8601) or after "
    "this many hours (e.g. 72h).",
)
@click.option(
    "--qr",
    "qr_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a QR code (.svg or .png) the crew scans to sign its handheld in.",
)
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="The server's address as the handheld reaches it (for the QR code).",
)
@db_option
@json_option
@handles_errors
def device_add(
    username: str,
    name: str,
    expires: str | None,
    qr_file: str | None,
    url: str,
    db: str | None,
    as_json: bool,
) -> None:
    """Register a handheld for USERNAME and print its token (shown only now).

    With --qr, the QR code holds the handheld's address with the token: the
    crew scans it and the handheld is signed in (keep it as safe as the
    token; it stops working when the device expires or is revoked).
    """
    from oms.storage.db import connect
    from webmap.accounts import add_device, sign_in_link

    until = _expiry(expires)
    with connect(db).begin() as conn:
        dev, token = add_device(conn, username, name, until)
    link = sign_in_link(url, token)
    doc = {
        "id": dev.id,
        "name": name,
        "username": username,
        "token": token,
        "expires_at": dev.to_dict()["expires_at"],
        "sign_in": link,
    }
    if qr_file:
        import segno

        segno.make(link, error="m").save(qr_file, scale=8, border=2)
        doc["qr"] = qr_file
    emit(
        doc,
        as_json,
        lambda: (
            f"device {dev.id} for {username}"
            + (f", expires {doc['expires_at']}" if until else "")
            + f"\ntoken (shown once): {token}\nsign-in link: {link}"
            + (f"\nQR code: {qr_file}" if qr_file else "")
        ),
    )


def _expiry(text: str | None) -> Any:
    """``--expires``: an ISO 8601 time, or ``<hours>h`` from now; None: never."""
    from datetime import datetime, timedelta, timezone

    from oms.exceptions import EventError
    from oms.intake.events import parse_time

    if not text:
        return None
    if text.endswith("h") and text[:-1].replace(".", "", 1).isdigit():
        return datetime.now(timezone.utc) + timedelta(hours=float(text[:-1]))
    try:
        return parse_time(text, "--expires")
    except EventError as exc:
        raise click.BadParameter(f"{exc} (or give hours, e.g. 72h)") from None


@device.command("list")
@db_option
@json_option
@handles_errors
def device_list(db: str | None, as_json: bool) -> None:
    """Registered handhelds, revoked ones too."""
    from oms.storage.db import connect
    from webmap.accounts import list_devices

    with connect(db).connect() as conn:
        doc = [d.to_dict() for d in list_devices(conn)]
    emit(
        doc,
        as_json,
        lambda: table(
            [(d["id"], d["name"], d["username"], d["revoked_at"] or "") for d in doc],
            ["id", "name", "user", "revoked"],
        ),
    )


@device.command("revoke")
@click.argument("device_id")
@db_option
@json_option
@handles_errors
def device_revoke(device_id: str, db: str | None, as_json: bool) -> None:
    """Revoke a handheld: it loses all access at its next request."""
    from oms.storage.db import connect
    from webmap.accounts import revoke_device

    with connect(db).begin() as conn:
        revoke_device(conn, device_id)
    emit({"id": device_id, "revoked": True}, as_json, lambda: f"revoked {device_id}")
