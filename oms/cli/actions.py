"""Dispatcher and crew actions from the command line.

An action is an event of its own documented type (``outage_confirm``,
``job_assign``, ...) written to the same log as telemetry, at the engine
clock unless ``--time`` says otherwise, by the ``--user`` given."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from oms.cli.options import emit, given_config, or_wall_clock

__all__ = ["act", "actor_options"]


def act(db: str | None, event: dict[str, Any], as_json: bool, quiet: bool = False) -> None:
    from oms.engine import OutageEngine
    from oms.exceptions import ActionError
    from oms.storage.db import connect

    # The configuration of the server's engine ($OMS_ENGINE_CONFIG): the same
    # interlock levels and rules for an action from the command line.
    database = connect(db)
    engine = OutageEngine(database, given_config(None))
    by = acting_user(database, event.get("user"))
    # The dispatcher acts on the state as of the engine clock (the wall
    # clock on a live server, the replayed time after replaying a storm).
    when = click.get_current_context().meta.get("action_time")
    if when is None:
        when = or_wall_clock(engine.clock).isoformat()
    event["time"] = when
    event["id"] = f"{event['type']}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
    report = engine.ingest_objects([(1, event)], by=by)
    if report.rejected:
        raise ActionError(report.rejected[0]["error"])
    if quiet:
        return
    doc = {"event": event, "outages": [o for o in engine.snapshot() if o["state"] != "cancelled"]}
    emit(doc, as_json, lambda: f"{event['type']} done ({event['id']})")


def acting_user(database: Any, name: Any) -> Any:
    """Who acts for a command-line action: the user ``--user`` names, in its own
    role (its crew for a crew user), when the database has users; the whole
    system (full access, the ``user`` kept as given) when it has none yet.

    Raises
    ------
    Forbidden
        The database has users and ``name`` is none of them, or is disabled.
    """
    from sqlalchemy import func, select

    from oms.authority import SYSTEM, Principal
    from oms.exceptions import Forbidden
    from oms.storage import schema

    u = schema.users
    with database.connect() as conn:
        if not conn.execute(select(func.count()).select_from(u)).scalar():
            return SYSTEM
        row = conn.execute(select(u).where(u.c.username == str(name))).mappings().first()
    if row is None or row["disabled"]:
        raise Forbidden(
            f"no user {name!r} may act here (oms user list); --user names who signs the action"
        )
    return Principal(row["username"], row["role"], row["crew"])


def _remember_time(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from oms.exceptions import EventError
        from oms.intake.events import parse_time

        try:
            ctx.meta["action_time"] = parse_time(value, "--time").isoformat()
        except EventError as exc:
            raise click.BadParameter(str(exc)) from exc


def actor_options(func: Any) -> Any:
    func = click.option(
        "--time",
        expose_value=False,
        callback=_remember_time,
        help="When it was done (ISO 8601 with offset; default: the engine clock).",
    )(func)
    func = click.option("--reason", default=None, help="Why (kept in the audit trail).")(func)
    func = click.option("--user", default="dispatcher", show_default=True, help="Who acts.")(func)
    return func
