"""``oms load`` and ``oms ingest``: files and events into the database.

``--db`` takes a SQLAlchemy URL (``sqlite:///oms.sqlite``,
``postgresql+psycopg2://user@host/db``) and defaults to
``$OMS_DATABASE_URL``, else ``oms.sqlite`` in the working directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from oms.cli.options import (
    config_option,
    emit,
    given_config,
    handles_errors,
    json_option,
    new_db_option,
)

__all__ = ["ingest", "load"]


# ------------------------------------------------------------------- load
@click.command()
@new_db_option
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
    from oms.demodata import demo_files, is_demo
    from oms.storage.db import connect
    from oms.storage.loading import load as load_files

    if is_demo(network):
        demo = demo_files()
        network = demo["network"]
        customers = customers or demo["customers"]
        crews = crews or demo["crews"]
        units = units or demo["units"]
        zones = zones or demo["zones"]
        roads = roads or demo["roads"]
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
    if doc.get("diff"):
        summary += "\n" + _diff_text(doc["diff"])
    emit(doc, as_json, lambda: "\n".join([*doc["warnings"], summary]))


def _diff_text(diff: dict[str, Any]) -> str:
    """One line per part that changed: ``edges: 3 added, 1 removed, 2 redrawn``."""
    lines = []
    for part in ("nodes", "edges", "customers"):
        counts = {k: v for k, v in diff[part].items() if k != "ids" and v}
        if counts:
            lines.append(
                f"{part}: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
            )
    return "\n".join(lines) or "no node, edge or customer changed"


# ----------------------------------------------------------------- ingest
@click.command()
@click.argument("events_file", type=click.Path(allow_dash=True, dir_okay=False))
@new_db_option
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
    from oms.demodata import demo_files, is_demo
    from oms.engine import OutageEngine
    from oms.storage.db import connect
    from oms.storage.loading import load as load_files

    if events_file != "-" and not Path(events_file).is_file():
        raise OSError(f"{events_file}: no such file")  # before any database is made
    engine_db = connect(db)
    if network or customers:
        if is_demo(network):
            demo = demo_files()
            network = demo["network"]
            customers = customers or demo["customers"]
        load_files(engine_db, network=network, customers=customers)
    engine = OutageEngine(engine_db, given_config(config_file))
    if events_file == "-":
        from oms.cli.pipes import lines_of

        # Read as bytes; on a live pipe, what waits is applied once it falls quiet.
        report = engine.ingest(lines_of(sys.stdin.buffer))  # type: ignore[arg-type]
    else:
        # Read as bytes: a line that is not UTF-8 is rejected alone (read_lines).
        fh = open(events_file, "rb")  # noqa: SIM115 - closed below
        with (
            fh,
            click.progressbar(
                length=Path(events_file).stat().st_size,
                label="ingest",
                file=sys.stderr,
                hidden=not sys.stderr.isatty(),  # no stray labels in logs and pipes
            ) as bar,
        ):

            def lines() -> Any:
                for line in fh:
                    bar.update(len(line))
                    yield line

            report = engine.ingest(lines())
    doc = report.to_dict()
    emit(
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
