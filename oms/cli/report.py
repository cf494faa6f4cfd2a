"""``oms report ...``: IEEE 1366 indices, response compliance, the daily bulletin,
critical customers, mutual-aid crews per company."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from oms.cli.options import db_option, emit, handles_errors, json_option, now_of, table

__all__ = ["report"]


# ---------------------------------------------------------------- report
@click.group()
def report() -> None:
    """Reliability indices (IEEE 1366), response compliance, the daily bulletin."""


def _period(start: str | None, end: str | None, conn: Any) -> tuple[datetime, datetime]:
    from oms.intake.events import parse_time

    stop = parse_time(end, "--end") if end else now_of(conn) + timedelta(seconds=1)
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
    from oms.reports.reliability import indices
    from oms.storage.db import connect

    with connect(db).connect() as conn:
        begin, stop = _period(start, end, conn)
        doc = indices(conn, begin, stop, cemi_n=cemi_n)
    if png_file:
        from oms.reports.charts import indices_chart

        click.echo(f"wrote {indices_chart(doc, png_file)}", err=True)
    emit(doc, as_json, lambda: _indices_text(doc))


def _indices_text(doc: dict[str, Any]) -> str:
    """The indices side by side: unplanned (``all``), without the major event
    days when there are some, and planned (reported apart, IEEE 1366)."""
    columns = [("all (unplanned)", doc["all"])]
    if doc.get("excluding_med"):
        columns.append(("excluding MED", doc["excluding_med"]))
    columns.append(("planned", doc["planned"]))
    rows = [(k, *("-" if c.get(k) is None else c[k] for _, c in columns)) for k in doc["all"]]
    head = f"{doc['period']['start']} to {doc['period']['end']}, "
    head += f"{doc['customers_served']} customers served"
    if doc["major_event_days"]:
        head += f"; major event days: {', '.join(doc['major_event_days'])}"
    return head + "\n" + table(rows, ["index", *(name for name, _ in columns)])


@report.command("critical")
@click.option("--start", default=None)
@click.option("--end", default=None)
@db_option
@json_option
@handles_errors
def report_critical(start: str | None, end: str | None, db: str | None, as_json: bool) -> None:
    """Critical customers out in the period: for how long, out now, and when reached."""
    from oms.reports.critical import critical_report
    from oms.storage.db import connect

    with connect(db).connect() as conn:
        begin, stop = _period(start, end, conn)
        doc = critical_report(conn, begin, stop, now_of(conn))

    def text() -> str:
        rows = [
            (
                r["customer"],
                r["critical"],
                r["name"] or "",
                r["minutes_out"],
                "out now" if r["out_now"] else "back",
                r["reached_at"] or "NOT REACHED",
            )
            for r in doc["customers"]
        ]
        head = f"{doc['interrupted']} of {doc['critical_customers']} critical customers out; "
        head += f"{doc['out_now']} out now; {doc['not_reached']} not reached"
        return (
            head + "\n" + table(rows, ["customer", "critical", "name", "minutes", "now", "reached"])
        )

    emit(doc, as_json, text)


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
    from oms.reports.reliability import compliance
    from oms.storage.db import connect

    with connect(db).connect() as conn:
        begin, stop = _period(start, end, conn)
        doc = compliance(conn, begin, stop, now_of(conn))
    if png_file:
        from oms.reports.charts import compliance_chart

        click.echo(f"wrote {compliance_chart(doc, png_file)}", err=True)
    rows = [(s, v["met"], v["breached"], v["owner"]) for s, v in doc["segments"].items()]
    emit(doc, as_json, lambda: table(rows, ["segment", "met", "breached", "owner"]))


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

    from oms.outages import list_outages
    from oms.reports.reliability import bulletin, to_csv
    from oms.storage.db import connect

    engine = connect(db)
    with engine.connect() as conn:
        now = now_of(conn)
        the_day = date.fromisoformat(day) if day else now.date()
        doc = bulletin(conn, the_day, now)
        todays = [o for o in list_outages(conn) if o.started.date() == the_day]
        jobs_at = {}
        if geojson_file:
            from sqlalchemy import select

            from oms.storage import schema

            for r in conn.execute(
                select(schema.jobs.c.outage, schema.jobs.c.lon, schema.jobs.c.lat)
            ):
                jobs_at[r.outage] = (r.lon, r.lat)
    if png_file:
        from oms.reports.charts import bulletin_chart

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
    emit(
        doc,
        as_json,
        lambda: (
            f"{doc['day']}: outages {doc['outages']}, "
            f"customers interrupted {doc['customers_interrupted']}, "
            f"still out {doc['still_out']}, SAIDI {doc['indices']['SAIDI']} min"
        ),
    )


@report.command("crews")
@click.option(
    "--by",
    type=click.Choice(["company"]),
    default="company",
    show_default=True,
    help="Group the crews by.",
)
@click.option("--from", "--start", "start", default=None, help="Period start (ISO 8601).")
@click.option("--to", "--end", "end", default=None, help="Period end (default the engine clock).")
@db_option
@json_option
@handles_errors
def report_crews(
    by: str, start: str | None, end: str | None, db: str | None, as_json: bool
) -> None:
    """Mutual-aid and contractor crews per company: crews, people, hours on
    shift and on jobs, jobs done and customers restored (docs/mutual-aid.md)."""
    from oms.reports.crews import crews_report
    from oms.storage.db import connect

    with connect(db).connect() as conn:
        begin, stop = _period(start, end, conn)
        doc = crews_report(conn, begin, stop, now_of(conn), by)

    def text() -> str:
        rows = [
            (
                r["company"],
                r["crews"],
                r["people"],
                f"{r['checked_in']}/{r['crews']}",
                r["shift_hours"],
                r["job_hours"],
                r["jobs_done"],
                r["customers_restored"],
            )
            for r in doc["companies"]
        ]
        headers = ["company", "crews", "people", "in", "shift h", "job h", "jobs", "customers"]
        return table(rows, headers) if rows else "no mutual-aid or contractor crews"

    emit(doc, as_json, text)
