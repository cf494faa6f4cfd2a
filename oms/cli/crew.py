"""``oms crews``, ``oms jobs``, ``oms dispatch ...`` and ``oms job ...``: crews and repair jobs."""

from __future__ import annotations

from typing import Any

import click

from oms.cli.actions import act, actor_options
from oms.cli.options import (
    config_option,
    db_option,
    emit,
    engine_config,
    handles_errors,
    json_option,
    now_of,
    or_wall_clock,
    table,
)

__all__ = ["crews", "dispatch", "job", "jobs"]


@click.command()
@db_option
@config_option
@json_option
@handles_errors
def crews(db: str | None, config_file: str | None, as_json: bool) -> None:
    """Crews with status, position (stale when old), zone, skills and jobs."""
    from oms.storage.db import connect
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
        )
        for c in items
    ]
    emit(
        items,
        as_json,
        lambda: table(rows, ["crew", "unit", "status", "zone", "skills", "gps", "jobs"]),
    )


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

    engine = OutageEngine(connect(db), engine_config(config_file))
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
