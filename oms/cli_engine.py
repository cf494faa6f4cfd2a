"""The ``oms`` commands that work on a database: load, ingest, outages, simulate.

``--db`` takes a SQLAlchemy URL (``sqlite:///oms.sqlite``,
``postgresql+psycopg2://user@host/db``) and defaults to
``$OMS_DATABASE_URL``, else ``oms.sqlite`` in the working directory.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from oms.cli import _emit, cli, demo_path, handles_errors, load_network, table

__all__ = [
    "crews",
    "dispatch",
    "ingest",
    "job",
    "jobs",
    "load",
    "notify",
    "outage",
    "outages",
    "report",
    "simulate",
]


def db_option(func: Any) -> Any:
    return click.option(
        "--db",
        envvar="OMS_DATABASE_URL",
        default=None,
        metavar="URL",
        help="Database URL (default $OMS_DATABASE_URL, else sqlite:///oms.sqlite).",
    )(func)


def json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def config_option(func: Any) -> Any:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="Engine configuration (JSON; see docs/fault-location.md).",
    )(func)


def _engine_config(config_file: str | None) -> Any:
    from oms.config import EngineConfig

    return EngineConfig.from_file(config_file) if config_file else EngineConfig()


# ------------------------------------------------------------------- load
@cli.command()
@db_option
@click.option(
    "--network", type=click.Path(), default=None, help="Network file (contract 1), or demo."
)
@click.option("--customers", type=click.Path(dir_okay=False), default=None, help="Customers CSV.")
@click.option("--crews", type=click.Path(dir_okay=False), default=None, help="Crews CSV.")
@click.option("--units", type=click.Path(dir_okay=False), default=None, help="Units CSV.")
@click.option("--zones", type=click.Path(dir_okay=False), default=None, help="Zones GeoJSON.")
@click.option(
    "--roads", type=click.Path(dir_okay=False), default=None, help="Roads GeoJSON or OSM."
)
@click.option(
    "--crs", default=None, help="CRS of the network coordinates when the file names none."
)
@json_option
@handles_errors
def load(
    db: str | None,
    network: str | None,
    customers: str | None,
    crews: str | None,
    units: str | None,
    zones: str | None,
    roads: str | None,
    crs: str | None,
    as_json: bool,
) -> None:
    """Load the network and its companions into the database.

    A changed network (or customers) file becomes a new network version;
    crews, units, zones and roads replace what was loaded before. Files are
    all checked first: with any error, nothing is written. ``--network demo``
    loads the whole demo data set.
    """
    from oms.db import connect
    from oms.store import load as load_files

    if network == "demo" and not Path("demo").exists():
        network = str(demo_path("network.geojson"))
        customers = customers or str(demo_path("customers.csv"))
        crews = crews or str(demo_path("crews.csv"))
        units = units or str(demo_path("units.csv"))
        zones = zones or str(demo_path("zones.geojson"))
        roads = roads or str(demo_path("roads.geojson"))
    if not any((network, customers, crews, units, zones, roads)):
        raise click.UsageError("give at least one file to load (--network, --customers, ...)")
    doc = load_files(
        connect(db),
        network=network,
        customers=customers,
        crews=crews,
        units=units,
        zones=zones,
        roads=roads,
        crs=crs,
    )
    summary = (
        f"network version {doc['network_version']}"
        + ("" if doc["changed"] else " (unchanged)")
        + f": {doc['nodes']} nodes, {doc['edges']} edges, {doc['customers']} customers; "
        + f"{doc['crews']} crews, {doc['zones']} zones"
    )
    _emit(doc, as_json, lambda: "\n".join([*doc["warnings"], summary]))


# ----------------------------------------------------------------- ingest
@cli.command()
@click.argument("events_file", type=click.Path(allow_dash=True, dir_okay=False))
@db_option
@click.option(
    "--network", type=click.Path(), default=None, help="Load this network first (as oms load)."
)
@click.option("--customers", type=click.Path(dir_okay=False), default=None, help="Customers CSV.")
@config_option
@json_option
@handles_errors
def ingest(
    events_file: str,
    db: str | None,
    network: str | None,
    customers: str | None,
    config_file: str | None,
    as_json: bool,
) -> None:
    """Apply the events of EVENTS_FILE (JSON lines, contract 3; - for stdin).

    Invalid lines are reported with their line number and reason; the valid
    ones are applied. An event id seen before is a duplicate (same content)
    or a conflict (different content, rejected). Batches commit as they go:
    run it again after a crash and it carries on where it stopped.
    """
    from oms.db import connect
    from oms.engine import OutageEngine
    from oms.store import load as load_files

    engine_db = connect(db)
    if network or customers:
        if network == "demo" and not Path("demo").exists():
            network = str(demo_path("network.geojson"))
            customers = customers or str(demo_path("customers.csv"))
        load_files(engine_db, network=network, customers=customers)
    engine = OutageEngine(engine_db, _engine_config(config_file))
    if events_file == "-":
        report = engine.ingest(sys.stdin)
    else:
        try:
            fh = open(events_file, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise click.FileError(events_file, str(exc)) from exc
        with (
            fh,
            click.progressbar(
                length=Path(events_file).stat().st_size, label="ingest", file=sys.stderr
            ) as bar,
        ):

            def lines() -> Any:
                for line in fh:
                    bar.update(len(line.encode("utf-8")))
                    yield line

            report = engine.ingest(lines())
    doc = report.to_dict()
    _emit(
        doc,
        as_json,
        lambda: "\n".join(
            [f"line {r['line']}: {r['error']}" for r in doc["rejected"]]
            + [
                f"accepted {doc['accepted']}, duplicates {doc['duplicates']}, "
                f"rejected {len(doc['rejected'])}"
            ]
        ),
    )


# ---------------------------------------------------------------- outages
def _outage_rows(items: list[dict[str, Any]]) -> str:
    rows = [
        (
            o["id"],
            o["kind"],
            o["device"] or o["customer"],
            o["state"],
            o["customers_out"],
            o["critical_out"],
            o["calls"],
            (o["started"] or "")[:19],
            (o["restored"] or "")[:19],
        )
        for o in items
    ]
    return table(
        rows, ["id", "kind", "device", "state", "out", "critical", "calls", "started", "restored"]
    )


@cli.command()
@db_option
@click.option(
    "--state",
    type=click.Choice(["predicted", "confirmed", "restored", "closed", "cancelled"]),
    default=None,
    help="Only outages in this state (default: all but cancelled).",
)
@json_option
@handles_errors
def outages(db: str | None, state: str | None, as_json: bool) -> None:
    """List outages (contract 4), oldest first."""
    from oms.db import connect
    from oms.outages import list_outages

    with connect(db).connect() as conn:
        items = [o.to_dict() for o in list_outages(conn, state)]
    _emit(items, as_json, lambda: _outage_rows(items) if items else "no outages")


@cli.group()
def outage() -> None:
    """Look at one outage, or act on it as the dispatcher (audited)."""


@outage.command("show")
@click.argument("outage_id")
@db_option
@json_option
@handles_errors
def outage_show(outage_id: str, db: str | None, as_json: bool) -> None:
    """One outage with its evidence and audit trail."""
    from oms.db import connect
    from oms.outages import get_outage, outage_audit, outage_evidence

    with connect(db).connect() as conn:
        o = get_outage(conn, outage_id)
        doc = o.to_dict()
        doc["audit"] = outage_audit(conn, outage_id)
        doc["evidence"] = outage_evidence(conn, o)

    def text() -> str:
        lines = [_outage_rows([doc]), "", "audit:"]
        lines += [
            f"  {a['time']}  {a['actor']:<10} {a['action']:<10} {a['reason'] or ''} "
            + json.dumps(a["detail"])
            for a in doc["audit"]
        ]
        lines += ["", f"evidence ({len(doc['evidence'])}):"]
        lines += [
            f"  {e['time']}  {e['type']:<14} {e['customer'] or e['device'] or ''}"
            for e in doc["evidence"][:50]
        ]
        return "\n".join(lines)

    _emit(doc, as_json, text)


def _action(db: str | None, event: dict[str, Any], as_json: bool, quiet: bool = False) -> None:
    from oms.db import connect
    from oms.engine import OutageEngine
    from oms.exceptions import ActionError

    engine = OutageEngine(connect(db))
    # The dispatcher acts on the state as of the engine clock (the wall
    # clock on a live server, the replayed time after replaying a storm).
    when = click.get_current_context().meta.get("action_time")
    if when is None:
        when = (engine.clock or datetime.now(timezone.utc)).isoformat()
    event["time"] = when
    event["id"] = f"{event['type']}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
    report = engine.ingest_objects([(1, event)])
    if report.rejected:
        raise ActionError(report.rejected[0]["error"])
    if quiet:
        return
    doc = {"event": event, "outages": [o for o in engine.snapshot() if o["state"] != "cancelled"]}
    _emit(doc, as_json, lambda: f"{event['type']} done ({event['id']})")


def _remember_time(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from oms.events import parse_time
        from oms.exceptions import EventError

        try:
            ctx.meta["action_time"] = parse_time(value, "--time").isoformat()
        except EventError as exc:
            raise click.BadParameter(str(exc)) from exc


def _actor_options(func: Any) -> Any:
    func = click.option(
        "--time",
        expose_value=False,
        callback=_remember_time,
        help="When it was done (ISO 8601 with offset; default: the engine clock).",
    )(func)
    func = click.option("--reason", default=None, help="Why (kept in the audit trail).")(func)
    func = click.option("--user", default="dispatcher", show_default=True, help="Who acts.")(func)
    return func


@outage.command("confirm")
@click.argument("outage_id")
@click.option("--device", default=None, help="The device actually found operated.")
@_actor_options
@db_option
@json_option
@handles_errors
def outage_confirm(
    outage_id: str, device: str | None, user: str, reason: str | None, db: str | None, as_json: bool
) -> None:
    """Confirm OUTAGE_ID (optionally at another device); the predictor keeps it there."""
    event: dict[str, Any] = {"type": "outage_confirm", "outage": outage_id, "user": user}
    if device:
        event["device"] = device
    if reason:
        event["reason"] = reason
    _action(db, event, as_json)


@outage.command("merge")
@click.argument("into")
@click.argument("others", nargs=-1, required=True)
@_actor_options
@db_option
@json_option
@handles_errors
def outage_merge(
    into: str, others: tuple[str, ...], user: str, reason: str | None, db: str | None, as_json: bool
) -> None:
    """Merge OTHERS into outage INTO."""
    event = {"type": "outage_merge", "into": into, "outages": [into, *others], "user": user}
    if reason:
        event["reason"] = reason
    _action(db, event, as_json)


@outage.command("split")
@click.argument("outage_id")
@click.argument("devices", nargs=-1, required=True)
@_actor_options
@db_option
@json_option
@handles_errors
def outage_split(
    outage_id: str,
    devices: tuple[str, ...],
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Split OUTAGE_ID into one outage per device of DEVICES (two or more)."""
    event = {"type": "outage_split", "outage": outage_id, "devices": list(devices), "user": user}
    if reason:
        event["reason"] = reason
    _action(db, event, as_json)


def _simple_action(name: str, etype: str, doc: str) -> None:
    @outage.command(name, help=doc)
    @click.argument("outage_id")
    @_actor_options
    @db_option
    @json_option
    @handles_errors
    def command(
        outage_id: str, user: str, reason: str | None, db: str | None, as_json: bool
    ) -> None:
        event = {"type": etype, "outage": outage_id, "user": user}
        if reason:
            event["reason"] = reason
        _action(db, event, as_json)


_simple_action("repredict", "outage_repredict", "Hand OUTAGE_ID back to the predictor.")
_simple_action("restore", "outage_restore", "Mark OUTAGE_ID restored (supply is back).")
_simple_action("close", "outage_close", "Close the restored OUTAGE_ID.")


# --------------------------------------------------------------- simulate
@cli.command()
@click.argument("network")
@click.option("--customers", type=click.Path(dir_okay=False), default=None, help="Customers CSV.")
@click.option("--crs", default=None, help="CRS of the coordinates when the file names none.")
@click.option(
    "--events",
    "events_out",
    type=click.Path(dir_okay=False),
    default="storm-events.jsonl",
    show_default=True,
    help="Write the events here (JSON lines).",
)
@click.option(
    "--truth",
    "truth_out",
    type=click.Path(dir_okay=False),
    default="storm-truth.json",
    show_default=True,
    help="Write the ground truth here.",
)
@click.option(
    "--faults", type=int, default=None, help="Sustained faults (default scales with the network)."
)
@click.option(
    "--span",
    "span_minutes",
    type=float,
    default=60.0,
    show_default=True,
    help="Minutes over which faults start.",
)
@click.option(
    "--call-rate",
    type=float,
    default=0.10,
    show_default=True,
    help="Share of affected customers who call.",
)
@click.option(
    "--ami-rate",
    type=float,
    default=0.80,
    show_default=True,
    help="Last-gasp delivery rate (0: no AMI).",
)
@click.option("--noise-calls", type=int, default=None, help="Single-customer problems elsewhere.")
@click.option("--momentaries", type=int, default=None, help="Momentary interruptions.")
@click.option(
    "--nested-share",
    type=float,
    default=0.15,
    show_default=True,
    help="Share of faults nested below another.",
)
@click.option(
    "--fci-share",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of conductors with fault indicators.",
)
@click.option("--start", default=None, help="Storm start (ISO 8601 with offset).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--score", is_flag=True, help="Replay through the engine and score its predictions.")
@click.option("--no-pings", is_flag=True, help="Do not let the engine ping meters while scoring.")
@click.option(
    "--crews-file",
    "crews_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Crews CSV: with --score, crews are dispatched and simulated (demo: its own).",
)
@click.option(
    "--units", type=click.Path(exists=True, dir_okay=False), default=None, help="Units CSV."
)
@click.option(
    "--zones", type=click.Path(exists=True, dir_okay=False), default=None, help="Zones GeoJSON."
)
@click.option(
    "--roads", type=click.Path(exists=True, dir_okay=False), default=None, help="Roads GeoJSON."
)
@click.option("--no-crews", is_flag=True, help="Score fault location only, without crews.")
@config_option
@json_option
@handles_errors
def simulate(
    network: str,
    customers: str | None,
    crs: str | None,
    events_out: str,
    truth_out: str,
    faults: int | None,
    span_minutes: float,
    call_rate: float,
    ami_rate: float,
    noise_calls: int | None,
    momentaries: int | None,
    nested_share: float,
    fci_share: float,
    start: str | None,
    seed: int,
    score: bool,
    no_pings: bool,
    crews_file: str | None,
    units: str | None,
    zones: str | None,
    roads: str | None,
    no_crews: bool,
    config_file: str | None,
    as_json: bool,
) -> None:
    """Make a storm on NETWORK: contract-3 events plus the ground truth.

    With --score, replay the events through the engine (the likelihood
    predictor and the classic roll-up, each on a fresh database) and report
    prediction accuracy on the observable faults, false outages and the
    simulated time from first evidence to the right prediction.
    """
    from oms.events import parse_time
    from oms.simulate import StormParams, simulate_storm

    net = load_network(network, customers, crs)
    kwargs: dict[str, Any] = {
        "faults": faults,
        "span_minutes": span_minutes,
        "call_rate": call_rate,
        "ami_rate": ami_rate,
        "noise_calls": noise_calls,
        "momentaries": momentaries,
        "nested_share": nested_share,
        "fci_share": fci_share,
        "seed": seed,
    }
    if start:
        kwargs["start"] = parse_time(start, "--start")
    params = StormParams(**kwargs)
    scenario = simulate_storm(net, params)
    scenario.write(events_out, truth_out)
    click.echo(f"wrote {events_out} ({len(scenario.events)} events) and {truth_out}", err=True)
    truth = scenario.truth
    doc: dict[str, Any] = {
        "events": len(scenario.events),
        "faults": sum(1 for f in truth["faults"] if not f.get("momentary")),
        "momentaries": sum(1 for f in truth["faults"] if f.get("momentary")),
        "single_customer": len(truth.get("single_customer", [])),
        "events_file": events_out,
        "truth_file": truth_out,
    }
    if score:
        from oms.replay import score_scenario

        companions = {"crews": crews_file, "units": units, "zones": zones, "roads": roads}
        if network == "demo" and not crews_file:
            companions = {
                "crews": str(demo_path("crews.csv")),
                "units": str(demo_path("units.csv")),
                "zones": str(demo_path("zones.geojson")),
                "roads": str(demo_path("roads.geojson")),
            }
        chosen = {k: v for k, v in companions.items() if v}
        use = None if no_crews or "crews" not in chosen else chosen
        with click.progressbar(
            length=2 * len(scenario.events), label="replay", file=sys.stderr
        ) as bar:
            results = score_scenario(
                net,
                scenario,
                config=_engine_config(config_file),
                pings=not no_pings,
                progress=bar.update,
                companions=use,
            )
        doc["score"] = results

    def text() -> str:
        lines = [
            f"{doc['events']} events: {doc['faults']} faults, {doc['momentaries']} momentaries, "
            f"{doc['single_customer']} single-customer problems"
        ]
        if score:
            keys = ["observable", "right", "one_level", "wrong", "missed", "predicted", "false"]
            rows = []
            for name, s in doc["score"].items():
                t = s["time_to_right_s"]
                rows.append(
                    [
                        name,
                        *(s[k] for k in keys),
                        f"{s['accuracy']:.1%}",
                        f"{s['false_rate']:.1%}",
                        t["median"],
                    ]
                )
            lines.append(
                table(rows, ["predictor", *keys, "accuracy", "false rate", "median s to right"])
            )
            for name, s in doc["score"].items():
                if "response" in s:
                    r, ix = s["response"], s["indices"]
                    lines.append(
                        f"{name}: {r['jobs']} jobs, arrivals within target "
                        f"{r['arrivals_within_target']:.1%}, arrival mean/p90 "
                        f"{r['arrival_minutes']['mean']}/{r['arrival_minutes']['p90']} min, "
                        f"restoration mean/p90 {r['restoration_minutes']['mean']}/"
                        f"{r['restoration_minutes']['p90']} min; SAIFI {ix['SAIFI']}, "
                        f"SAIDI {ix['SAIDI']} min, MAIFI {ix['MAIFI']}"
                    )
        return "\n".join(lines)

    _emit(doc, as_json, text)


# ----------------------------------------------------------- crews, jobs
def _clock(conn: Any) -> datetime:
    from oms.views import engine_clock

    return engine_clock(conn)


@cli.command()
@db_option
@config_option
@json_option
@handles_errors
def crews(db: str | None, config_file: str | None, as_json: bool) -> None:
    """Crews with status, position (stale when old), zone, skills and jobs."""
    from oms.db import connect
    from oms.views import list_crews

    config = _engine_config(config_file)
    with connect(db).connect() as conn:
        items = list_crews(conn, config.dispatch)
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
    _emit(
        items,
        as_json,
        lambda: table(rows, ["crew", "unit", "status", "zone", "skills", "gps", "jobs"]),
    )


@cli.command()
@db_option
@click.option("--open", "open_only", is_flag=True, help="Only jobs not closed or cancelled.")
@json_option
@handles_errors
def jobs(db: str | None, open_only: bool, as_json: bool) -> None:
    """Repair jobs with their A-H stamps, targets and breaches, by priority."""
    from oms.db import connect
    from oms.views import list_jobs

    with connect(db).connect() as conn:
        items = [j.to_dict() for j in list_jobs(conn, open_only)]
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
    _emit(
        items,
        as_json,
        lambda: table(rows, ["job", "outage", "state", "crew", "priority", "area", "breaches"]),
    )


@cli.group()
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
    from oms.db import connect
    from oms.engine import OutageEngine

    engine = OutageEngine(connect(db), _engine_config(config_file))
    decision = engine.book.suggest(job_id, engine.clock or datetime.now(timezone.utc)).to_dict()
    rows = [(a["crew"], a["eta_s"], a["why_not"]) for a in decision["alternatives"]]
    _emit(
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
@_actor_options
@db_option
@json_option
@handles_errors
def dispatch_assign(
    job_id: str, crew: str | None, user: str, reason: str | None, db: str | None, as_json: bool
) -> None:
    """Assign the suggested crew (or --crew) to JOB_ID."""
    from sqlalchemy import select

    from oms import schema
    from oms.db import connect

    event: dict[str, Any] = {"type": "job_assign", "job": job_id, "user": user}
    if crew:
        event["crew"] = crew
    if reason:
        event["reason"] = reason
    _action(db, event, False, quiet=True)
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
    _emit(
        doc,
        as_json,
        lambda: f"{job_id} assigned to {doc['crew']} ({doc['rule']}, ETA {doc['eta_s']} s)",
    )


@cli.group()
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


def _job_action(name: str, etype: str, doc: str) -> None:
    @job.command(name, help=doc)
    @click.argument("job_id")
    @click.option("--crew", default=None, help="The crew acting (checked against the job's).")
    @_actor_options
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
        _action(db, event, as_json)


for _name, (_etype, _doc) in _JOB_ACTIONS.items():
    _job_action(_name, _etype, _doc)


@job.command("close")
@click.argument("job_id")
@click.option("--cause", required=True, help="What caused the fault.")
@click.option("--equipment", required=True, help="The equipment that failed.")
@click.option("--actions", required=True, help="What the crew did.")
@click.option("--outage-start", required=True, help="Actual outage start (ISO 8601 with offset).")
@click.option("--outage-end", required=True, help="Actual outage end (ISO 8601 with offset).")
@click.option("--remarks", default=None)
@_actor_options
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
    _action(db, {"type": "job_close", "job": job_id, "user": user, "closeout": closeout}, as_json)


# ---------------------------------------------------------------- notify
@cli.group()
def notify() -> None:
    """Customer notifications: subscriptions, opt-outs, the outbox and its delivery."""


@notify.command("subscribe")
@click.argument("customer")
@click.option(
    "--channel",
    type=click.Choice(["sms", "email", "webhook", "file"]),
    default="sms",
    show_default=True,
)
@click.option(
    "--address", default=None, help="Phone, email address or URL (sms: the customer's phone)."
)
@db_option
@json_option
@handles_errors
def notify_subscribe(
    customer: str, channel: str, address: str | None, db: str | None, as_json: bool
) -> None:
    """Subscribe CUSTOMER to outage notices on a channel (clears an opt-out)."""
    _subscription(db, customer, channel, address, opted_out=False, as_json=as_json)


@notify.command("optout")
@click.argument("customer")
@db_option
@json_option
@handles_errors
def notify_optout(customer: str, db: str | None, as_json: bool) -> None:
    """CUSTOMER receives no notices at all from now on."""
    _subscription(db, customer, "*", None, opted_out=True, as_json=as_json)


def _subscription(
    db: str | None,
    customer: str,
    channel: str,
    address: str | None,
    *,
    opted_out: bool,
    as_json: bool,
) -> None:
    from sqlalchemy import delete, insert, select

    from oms import schema
    from oms.db import connect
    from oms.exceptions import OMSError

    engine = connect(db)
    with engine.begin() as conn:
        known = conn.execute(
            select(schema.customers.c.phone).where(schema.customers.c.id == customer)
        ).first()
        if known is None:
            raise OMSError(f"unknown customer {customer!r}")
        address = address or (known.phone if channel == "sms" else None)
        if channel in ("email", "webhook") and not address:
            raise click.UsageError(f"--address is needed for {channel}")
        s = schema.subscriptions
        if opted_out:
            conn.execute(delete(s).where(s.c.customer == customer))
        else:
            conn.execute(
                delete(s).where(
                    (s.c.customer == customer) & ((s.c.channel == channel) | (s.c.channel == "*"))
                )
            )
        row = {
            "customer": customer,
            "channel": channel,
            "address": address,
            "opted_out": opted_out,
            "updated_at": datetime.now(timezone.utc),
        }
        conn.execute(insert(s).values(**row))
    doc = {k: v for k, v in row.items() if k != "updated_at"}
    _emit(
        doc,
        as_json,
        lambda: f"{customer}: " + ("opted out" if opted_out else f"{channel} {address}"),
    )


@notify.command("send")
@click.option(
    "--file",
    "file_path",
    type=click.Path(dir_okay=False),
    default="notifications.jsonl",
    show_default=True,
    help="Where the file channel (and the default SMS gateway) writes.",
)
@click.option("--smtp-host", default=None, help="SMTP server for email.")
@click.option("--smtp-port", type=int, default=25, show_default=True)
@click.option("--limit", type=int, default=1000, show_default=True)
@db_option
@json_option
@handles_errors
def notify_send(
    file_path: str, smtp_host: str | None, smtp_port: int, limit: int, db: str | None, as_json: bool
) -> None:
    """Deliver queued messages through their channels; record sent or failed."""
    from oms.db import connect
    from oms.notify import Channel, FileChannel, SmsChannel, SmtpChannel, WebhookChannel, deliver

    files = FileChannel(Path(file_path))
    channels: dict[str, Channel] = {
        "file": files,
        "sms": SmsChannel(files),
        "webhook": WebhookChannel(),
    }
    if smtp_host:
        channels["email"] = SmtpChannel(smtp_host, smtp_port)
    counts = deliver(connect(db), channels, datetime.now(timezone.utc), limit=limit)
    _emit(counts, as_json, lambda: f"sent {counts['sent']}, failed {counts['failed']}")


@notify.command("list")
@click.option("--customer", default=None)
@click.option("--outage", default=None)
@db_option
@json_option
@handles_errors
def notify_list(customer: str | None, outage: str | None, db: str | None, as_json: bool) -> None:
    """Messages in the outbox with their delivery status (and survey answers)."""
    from sqlalchemy import select

    from oms import schema
    from oms.db import connect
    from oms.events import iso

    n = schema.notifications
    query = select(n).order_by(n.c.seq)
    if customer:
        query = query.where(n.c.customer == customer)
    if outage:
        query = query.where(n.c.outage == outage)
    with connect(db).connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    items = [
        {
            "customer": r["customer"],
            "outage": r["outage"],
            "kind": r["kind"],
            "channel": r["channel"],
            "address": r["address"],
            "message": r["message"],
            "status": r["status"],
            "attempts": r["attempts"],
            "created_at": iso(r["created_at"]),
            "sent_at": iso(r["sent_at"]),
            "error": r["error"],
            "answer": r["answer"],
        }
        for r in rows
    ]
    table_rows = [
        (i["customer"], i["outage"], i["kind"], i["channel"], i["status"], i["answer"] or "")
        for i in items
    ]
    _emit(
        items,
        as_json,
        lambda: table(table_rows, ["customer", "outage", "kind", "channel", "status", "answer"]),
    )


@notify.command("answer")
@click.argument("customer")
@click.argument("outage_id")
@click.argument("answer")
@db_option
@json_option
@handles_errors
def notify_answer(
    customer: str, outage_id: str, answer: str, db: str | None, as_json: bool
) -> None:
    """Record CUSTOMER's ANSWER to the callback survey of OUTAGE_ID."""
    _action(
        db,
        {"type": "survey_answer", "customer": customer, "outage": outage_id, "answer": answer},
        as_json,
    )


# ---------------------------------------------------------------- report
@cli.group()
def report() -> None:
    """Reliability indices (IEEE 1366), response compliance, the daily bulletin."""


def _period(start: str | None, end: str | None, conn: Any) -> tuple[datetime, datetime]:
    from oms.events import parse_time

    stop = parse_time(end, "--end") if end else _clock(conn) + timedelta(seconds=1)
    begin = parse_time(start, "--start") if start else stop - timedelta(days=365)
    if begin >= stop:
        raise click.UsageError("--start must be before --end")
    return begin, stop


@report.command("indices")
@click.option("--start", default=None, help="Period start (ISO 8601; default a year before --end).")
@click.option("--end", default=None, help="Period end (default the engine clock).")
@click.option("--cemi", "cemi_n", type=int, default=3, show_default=True, help="n of CEMI-n.")
@click.option(
    "--png",
    "png_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw the report as a PNG chart.",
)
@db_option
@json_option
@handles_errors
def report_indices(
    start: str | None,
    end: str | None,
    cemi_n: int,
    png_file: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """SAIFI, SAIDI, CAIDI, CAIFI, MAIFI, ASAI and CEMI-n, with major event days apart."""
    from oms.db import connect
    from oms.reports import indices

    with connect(db).connect() as conn:
        begin, stop = _period(start, end, conn)
        doc = indices(conn, begin, stop, cemi_n=cemi_n)
    if png_file:
        from oms.charts import indices_chart

        click.echo(f"wrote {indices_chart(doc, png_file)}", err=True)
    rows = [(k, v) for k, v in doc["all"].items()]
    _emit(doc, as_json, lambda: table(rows, ["index", "value"]))


@report.command("compliance")
@click.option("--start", default=None)
@click.option("--end", default=None)
@click.option(
    "--png",
    "png_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw the report as a PNG chart.",
)
@db_option
@json_option
@handles_errors
def report_compliance(
    start: str | None, end: str | None, png_file: str | None, db: str | None, as_json: bool
) -> None:
    """Response targets met or breached, per segment, area class, unit and crew."""
    from oms.db import connect
    from oms.reports import compliance

    with connect(db).connect() as conn:
        begin, stop = _period(start, end, conn)
        doc = compliance(conn, begin, stop, _clock(conn))
    if png_file:
        from oms.charts import compliance_chart

        click.echo(f"wrote {compliance_chart(doc, png_file)}", err=True)
    rows = [(s, v["met"], v["breached"], v["owner"]) for s, v in doc["segments"].items()]
    _emit(doc, as_json, lambda: table(rows, ["segment", "met", "breached", "owner"]))


@report.command("bulletin")
@click.option("--day", default=None, help="The day (YYYY-MM-DD, UTC; default the engine clock's).")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the day's outages as CSV.",
)
@click.option(
    "--geojson",
    "geojson_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write them as GeoJSON points.",
)
@click.option(
    "--png",
    "png_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw the report as a PNG chart.",
)
@db_option
@json_option
@handles_errors
def report_bulletin(
    day: str | None,
    csv_file: str | None,
    geojson_file: str | None,
    png_file: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """The daily fault bulletin: outages, customers, hazards, worst cases, indices, response."""
    from datetime import date

    from oms.db import connect
    from oms.outages import list_outages
    from oms.reports import bulletin, to_csv

    engine = connect(db)
    with engine.connect() as conn:
        now = _clock(conn)
        the_day = date.fromisoformat(day) if day else now.date()
        doc = bulletin(conn, the_day, now)
        todays = [o for o in list_outages(conn) if o.started.date() == the_day]
        jobs_at = {}
        if geojson_file:
            from sqlalchemy import select

            from oms import schema

            for r in conn.execute(
                select(schema.jobs.c.outage, schema.jobs.c.lon, schema.jobs.c.lat)
            ):
                jobs_at[r.outage] = (r.lon, r.lat)
    if png_file:
        from oms.charts import bulletin_chart

        click.echo(f"wrote {bulletin_chart(doc, png_file)}", err=True)
    if csv_file:
        Path(csv_file).write_text(to_csv([o.to_dict() for o in todays]), encoding="utf-8")
        click.echo(f"wrote {csv_file}", err=True)
    if geojson_file:
        features = [
            {
                "type": "Feature",
                "properties": o.to_dict(),
                "geometry": {"type": "Point", "coordinates": list(jobs_at[o.id])}
                if o.id in jobs_at
                else None,
            }
            for o in todays
        ]
        Path(geojson_file).write_text(
            json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
        )
        click.echo(f"wrote {geojson_file}", err=True)
    _emit(
        doc,
        as_json,
        lambda: (
            f"{doc['day']}: outages {doc['outages']}, "
            f"customers interrupted {doc['customers_interrupted']}, "
            f"still out {doc['still_out']}, SAIDI {doc['indices']['SAIDI']} min"
        ),
    )
