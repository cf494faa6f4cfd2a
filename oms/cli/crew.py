"""``oms crews``, ``oms jobs``, ``oms dispatch ...`` and ``oms job ...``: crews and repair jobs.

``oms crews import`` onboards mutual-aid and contractor crews into the
running system (``crew_add`` events) and, with ``--expires``, registers
their temporary handhelds through the web layer's ``user`` and ``device``
commands; ``oms crews checkin`` checks an expected crew in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from oms.cli.actions import act, actor_options
from oms.cli.options import (
    config_option,
    db_option,
    emit,
    engine_config,
    given_config,
    handles_errors,
    json_option,
    now_of,
    or_wall_clock,
    table,
)

__all__ = ["crews", "dispatch", "job", "jobs"]


@click.group(invoke_without_command=True)
@click.option(
    "--db",
    envvar="OMS_DATABASE_URL",
    default=None,
    metavar="URL",
    help="Database URL (default $OMS_DATABASE_URL, else sqlite:///oms.sqlite).",
)
@config_option
@json_option
@click.pass_context
@handles_errors
def crews(ctx: click.Context, db: str | None, config_file: str | None, as_json: bool) -> None:
    """Crews with status, position (stale when old), zone, skills and jobs; a
    mutual-aid crew also with its company and whether it checked in.

    \b
    oms crews import FILE.csv   onboard mutual-aid and contractor crews
    oms crews checkin CREW      an expected crew arrived
    """
    if ctx.invoked_subcommand is not None:
        return  # the subcommand takes its own --db
    from oms.cli.options import _missing_sqlite_file
    from oms.storage.db import connect

    missing = _missing_sqlite_file(db)
    if missing:  # as db_option says it (a listing never makes an empty database)
        raise click.BadParameter(missing, ctx=ctx, param_hint="'--db'")
    from oms.storage.queries import list_crews

    config = engine_config(config_file)
    with connect(db).connect() as conn:
        items = list_crews(conn, config.dispatch, now_of(conn))
    rows = [
        (
            c["id"],
            c["unit"],
            c["status"],
            c["zone"] or "",
            ",".join(c["skills"]),
            "stale" if c["stale"] else "",
            ",".join(c["jobs"]),
            _arrival(c),
        )
        for c in items
    ]
    emit(
        items,
        as_json,
        lambda: table(
            rows, ["crew", "unit", "status", "zone", "skills", "gps", "jobs", "mutual aid"]
        ),
    )


def _arrival(crew: dict[str, Any]) -> str:
    """A mutual-aid crew's company and check-in, as the listing shows it."""
    if crew.get("company") is None:
        return ""
    if crew["expected"]:
        return f"{crew['company']}: expected {crew['arrival']}"
    return f"{crew['company']}: checked in {crew['checked_in']}"


@crews.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--expires",
    default=None,
    metavar="TIME|HOURS",
    help="Also register each crew's temporary handheld (a crew user and a device "
    "refused from this time, ISO 8601, or after this many hours, e.g. 72h).",
)
@click.option(
    "--qr-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="With --expires: write each handheld's sign-in QR code here "
    "(USER.svg: the crew's handheld user, its id in lower case).",
)
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="The server's address as the handhelds reach it (for the sign-in links).",
)
@actor_options
@db_option
@json_option
@handles_errors
def crews_import(
    csv_file: str,
    expires: str | None,
    qr_dir: str | None,
    url: str,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Onboard mutual-aid and contractor crews from CSV_FILE into the running system.

    Columns: id, company, skills (;-separated), size (people), and optionally
    name, vehicles, home_base, arrival (expected, ISO 8601 with offset), unit,
    zone, lon, lat (needed without arrival), voltage_kv, shift_start,
    shift_end, phone. Each crew is a crew_add event (the engine keeps
    running; the log keeps who onboarded whom). A crew with an arrival is
    not dispatched before it checks in (oms crews checkin). Any error in
    the file is named by line and column, and nothing is onboarded.
    """
    from oms.storage.db import connect
    from oms.storage.inputs import read_mutual_aid
    from topology.exceptions import NetworkValidationError

    if (qr_dir or expires) and not expires:
        raise click.UsageError("--qr-dir needs --expires (the handhelds are temporary)")
    database = connect(db)
    try:
        with database.connect() as conn:
            units, zones, existing = _known(conn)
        found = read_mutual_aid(csv_file, units=units, zones=zones, existing=existing)
    except NetworkValidationError as exc:
        issues = [{"where": i.element, "error": i.message} for i in exc.errors]
        if as_json:
            click.echo(json.dumps({"error": str(exc), "issues": issues}, ensure_ascii=False))
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    doc = onboard(database, found, user, reason)
    if expires and doc["onboarded"]:
        doc["handhelds"] = [_handheld(crew, expires, qr_dir, url, db) for crew in doc["onboarded"]]
    emit(doc, as_json, lambda: _onboarded_text(doc))


def _known(conn: Any) -> tuple[set[str], set[str], set[str]]:
    """Units, zones and crews already loaded (what a new crew may name, and may not be)."""
    from sqlalchemy import select

    from oms.storage import schema

    return (
        set(conn.execute(select(schema.units.c.id)).scalars()),
        set(conn.execute(select(schema.zones.c.id)).scalars()),
        set(conn.execute(select(schema.crews.c.id)).scalars()),
    )


def onboard(
    database: Any, found: list[dict[str, Any]], user: str, reason: str | None
) -> dict[str, Any]:
    """Send each crew as a ``crew_add`` event, by ``user``; what went in and what not."""
    from datetime import datetime, timezone

    from oms.cli.actions import acting_user
    from oms.engine import OutageEngine

    engine = OutageEngine(database, given_config(None))
    by = acting_user(database, user)
    when = click.get_current_context().meta.get("action_time")
    if when is None:
        when = or_wall_clock(engine.clock).isoformat()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    events = []
    for crew in found:
        event = {**crew, "type": "crew_add", "time": when, "user": user}
        event["id"] = f"crew_add-{crew['crew']}-{stamp}"
        if reason:
            event["reason"] = reason
        events.append(event)
    report = engine.ingest_objects(list(enumerate(events, start=1)), by=by)
    refused = {r["line"]: r["error"] for r in report.rejected}
    return {
        "onboarded": [e["crew"] for n, e in enumerate(events, start=1) if n not in refused],
        "rejected": [{"crew": events[n - 1]["crew"], "error": why} for n, why in refused.items()],
    }


def _handheld(
    crew: str, expires: str, qr_dir: str | None, url: str, db: str | None
) -> dict[str, Any]:
    """A crew user and a temporary handheld for ``crew``, made by the ``user add``
    and ``device add`` commands the web layer adds to the command line (the
    ``oms.commands`` plugins: this package never imports the web layer)."""
    import re
    import secrets

    root = click.get_current_context().find_root()
    username = re.sub(r"[^A-Za-z0-9._-]", "-", crew.lower())[:64]
    out: dict[str, Any] = {"crew": crew, "username": username}
    assert isinstance(root.command, click.Group)  # the oms root group
    user_group, device_group = (root.command.get_command(root, n) for n in ("user", "device"))
    if not isinstance(user_group, click.Group) or not isinstance(device_group, click.Group):
        out["error"] = "the web layer (oms device) is not installed: no handhelds"
        return out
    common = ["--db", db] if db else []
    if not _crew_user(db, username, crew):
        # The crew signs in with its handheld's link, never with this password.
        password = secrets.token_urlsafe(24)
        made = _run(
            user_group,
            ["add", username, "--role", "crew", "--crew", crew, "--password", password, *common],
        )
        if "error" in made:
            return {**out, **made}
    args = ["add", username, "--name", f"{crew} handheld (mutual aid)", "--expires", expires]
    if qr_dir:
        Path(qr_dir).mkdir(parents=True, exist_ok=True)
        args += ["--qr", str(Path(qr_dir) / f"{username}.svg")]
    device = _run(device_group, [*args, "--url", url, *common])
    return {**out, **{k: v for k, v in device.items() if k != "username"}}


def _crew_user(db: str | None, username: str, crew: str) -> bool:
    """Whether ``username`` is already the crew user of ``crew``.

    Raises
    ------
    OMSError
        The name is taken by another user.
    """
    from sqlalchemy import select

    from oms.exceptions import OMSError
    from oms.storage import schema
    from oms.storage.db import connect

    u = schema.users
    with connect(db).connect() as conn:
        row = conn.execute(select(u.c.role, u.c.crew).where(u.c.username == username)).first()
    if row is None:
        return False
    if (row.role, row.crew) != ("crew", crew):
        raise OMSError(f"user {username!r} exists and is not crew {crew}'s: no handheld made")
    return True


def _run(group: click.Group, args: list[str]) -> dict[str, Any]:
    """Run a subcommand of ``group`` with ``--json``; its JSON document (``{"error"}`` if it
    failed)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            group.main([*args, "--json"], prog_name=f"oms {group.name}", standalone_mode=False)
        except SystemExit:
            pass  # it said why in its JSON document
        except click.ClickException as exc:
            return {"error": exc.format_message()}
    text = out.getvalue().strip()
    doc: dict[str, Any] = json.loads(text) if text else {"error": err.getvalue().strip()}
    return doc


def _onboarded_text(doc: dict[str, Any]) -> str:
    lines = [f"onboarded {len(doc['onboarded'])} crew(s): {', '.join(doc['onboarded'])}"]
    lines += [f"rejected {r['crew']}: {r['error']}" for r in doc["rejected"]]
    for h in doc.get("handhelds", []):
        if "error" in h:
            lines.append(f"{h['crew']}: no handheld: {h['error']}")
        else:
            lines.append(
                f"{h['crew']}: device {h['id']} for {h['username']}, expires {h['expires_at']}"
                f"\n  sign-in link (shown once): {h['sign_in']}"
                + (f"\n  QR code: {h['qr']}" if h.get("qr") else "")
            )
    return "\n".join(lines)


@crews.command("checkin")
@click.argument("crew_id")
@click.option("--lon", type=float, required=True, help="Where the crew is (longitude).")
@click.option("--lat", type=float, required=True, help="Where the crew is (latitude).")
@actor_options
@db_option
@json_option
@handles_errors
def crews_checkin(
    crew_id: str,
    lon: float,
    lat: float,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """An expected mutual-aid crew arrived: its position; it is dispatched from now."""
    event: dict[str, Any] = {"type": "crew_checkin", "crew": crew_id, "lon": lon, "lat": lat}
    event["user"] = user
    if reason:
        event["reason"] = reason
    act(db, event, as_json)


@click.command()
@db_option
@click.option("--open", "open_only", is_flag=True, help="Only jobs not closed or cancelled.")
@json_option
@handles_errors
def jobs(db: str | None, open_only: bool, as_json: bool) -> None:
    """Repair jobs with their A-H stamps, targets and breaches, by priority."""
    from oms.storage.db import connect
    from oms.storage.queries import list_jobs

    with connect(db).connect() as conn:
        items = [j.to_dict() for j in list_jobs(conn, now_of(conn), open_only)]
    rows = [
        (
            j["id"],
            j["outage"] or "",
            j["state"],
            j["crew"] or "",
            j["priority"],
            j["area_class"],
            ",".join(j["breaches"]),
        )
        for j in items
    ]
    emit(
        items,
        as_json,
        lambda: table(rows, ["job", "outage", "state", "crew", "priority", "area", "breaches"]),
    )


@click.group()
def dispatch() -> None:
    """Choose and send crews: suggest, then assign (recorded with the alternatives)."""


@dispatch.command("suggest")
@click.argument("job_id")
@db_option
@config_option
@json_option
@handles_errors
def dispatch_suggest(job_id: str, db: str | None, config_file: str | None, as_json: bool) -> None:
    """The crew to send to JOB_ID, the rule, its ETA and every alternative."""
    from oms.engine import OutageEngine
    from oms.storage.db import connect

    engine = OutageEngine(connect(db), given_config(config_file))
    decision = engine.suggest(job_id, or_wall_clock(engine.clock)).to_dict()
    rows = [(a["crew"], a["eta_s"], a["why_not"]) for a in decision["alternatives"]]
    emit(
        decision,
        as_json,
        lambda: (
            f"{job_id}: {decision['crew'] or 'no crew'} ({decision['rule']}, "
            f"ETA {decision['eta_s']} s)\n" + table(rows, ["crew", "eta_s", "why_not"])
        ),
    )


@dispatch.command("assign")
@click.argument("job_id")
@click.option("--crew", default=None, help="Send this crew instead of the suggested one.")
@actor_options
@db_option
@json_option
@handles_errors
def dispatch_assign(
    job_id: str, crew: str | None, user: str, reason: str | None, db: str | None, as_json: bool
) -> None:
    """Assign the suggested crew (or --crew) to JOB_ID."""
    from sqlalchemy import select

    from oms.storage import schema
    from oms.storage.db import connect

    event: dict[str, Any] = {"type": "job_assign", "job": job_id, "user": user}
    if crew:
        event["crew"] = crew
    if reason:
        event["reason"] = reason
    act(db, event, False, quiet=True)
    with connect(db).connect() as conn:
        a = schema.dispatch_decisions
        row = (
            conn.execute(select(a).where(a.c.job == job_id).order_by(a.c.seq.desc()).limit(1))
            .mappings()
            .one()
        )
    doc = {
        "job": job_id,
        "crew": row["crew"],
        "rule": row["rule"],
        "eta_s": row["eta_s"],
        "alternatives": row["alternatives"],
    }
    emit(
        doc,
        as_json,
        lambda: f"{job_id} assigned to {doc['crew']} ({doc['rule']}, ETA {doc['eta_s']} s)",
    )


@click.group()
def job() -> None:
    """Act on a job as its crew or the dispatcher (the handheld's actions)."""


_JOB_ACTIONS = {
    "deliver": ("job_delivered", "The order reached the crew's handheld (E)."),
    "accept": ("job_accept", "The crew accepts the job (F)."),
    "depart": ("job_depart", "The crew departs (G)."),
    "arrive": ("job_arrive", "The crew arrives on site (H)."),
    "made-safe": ("job_made_safe", "The site is made safe / isolated."),
    "repaired": ("job_repaired", "The repair is done."),
    "restored": ("job_restored", "Supply is restored (restores the outage)."),
    "recall": ("job_recall", "Recall the job from its crew (also after it reached the handheld)."),
}


def _jobact(name: str, etype: str, doc: str) -> None:
    @job.command(name, help=doc)
    @click.argument("job_id")
    @click.option("--crew", default=None, help="The crew acting (checked against the job's).")
    @actor_options
    @db_option
    @json_option
    @handles_errors
    def command(
        job_id: str, crew: str | None, user: str, reason: str | None, db: str | None, as_json: bool
    ) -> None:
        event: dict[str, Any] = {"type": etype, "job": job_id, "user": user}
        if crew:
            event["crew"] = crew
        if reason:
            event["reason"] = reason
        act(db, event, as_json)


for _name, (_etype, _doc) in _JOB_ACTIONS.items():
    _jobact(_name, _etype, _doc)


@job.command("close")
@click.argument("job_id")
@click.option("--cause", required=True, help="What caused the fault.")
@click.option("--equipment", required=True, help="The equipment that failed.")
@click.option("--actions", required=True, help="What the crew did.")
@click.option("--outage-start", required=True, help="Actual outage start (ISO 8601 with offset).")
@click.option("--outage-end", required=True, help="Actual outage end (ISO 8601 with offset).")
@click.option("--remarks", default=None)
@actor_options
@db_option
@json_option
@handles_errors
def job_close(
    job_id: str,
    cause: str,
    equipment: str,
    actions: str,
    outage_start: str,
    outage_end: str,
    remarks: str | None,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Close a restored job with the close-out form."""
    closeout = {
        "cause": cause,
        "equipment": equipment,
        "actions": actions,
        "outage_start": outage_start,
        "outage_end": outage_end,
        "remarks": remarks,
    }
    act(db, {"type": "job_close", "job": job_id, "user": user, "closeout": closeout}, as_json)
