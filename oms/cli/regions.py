"""``oms regions ...``: control regions as schemas of one PostgreSQL (docs/scaling.md).

- ``oms regions views --db URL --region NAME=SCHEMA ...`` makes (or remakes)
  the schema ``oms_all`` of views over the regions' schemas
  (:func:`oms.storage.regions.create_views`);
- ``oms regions status --db URL`` lists the regions those views name, with
  their schema revision, network version, engine clock, events, open
  outages and customers out.
"""

from __future__ import annotations

import click

from oms.cli.options import db_option, emit, handles_errors, json_option, table

__all__ = ["regions"]


@click.group()
def regions() -> None:
    """Control regions (schemas of one PostgreSQL): the views across them, their status."""


@regions.command("views")
@click.option(
    "--region",
    "specs",
    multiple=True,
    required=True,
    metavar="NAME=SCHEMA",
    help="A region and the schema holding its data set (repeat for each region).",
)
@db_option
@json_option
@handles_errors
def regions_views(specs: tuple[str, ...], db: str | None, as_json: bool) -> None:
    """Make the schema oms_all of views over every region named (replacing earlier ones)."""
    from oms.storage.db import connect
    from oms.storage.regions import create_views, parse_region

    parsed = [parse_region(s) for s in specs]
    engine = connect(db, upgrade=False)
    try:
        doc = create_views(engine, parsed)
    finally:
        engine.dispose()

    def text() -> str:
        rows = [(r["region"], r["schema"], r["revision"]) for r in doc["regions"]]
        views = ", ".join(f"{doc['schema']}.{v}" for v in doc["views"])
        return table(rows, ["region", "schema", "revision"]) + f"\nviews: {views}"

    emit(doc, as_json, text)


@regions.command("status")
@db_option
@json_option
@handles_errors
def regions_status(db: str | None, as_json: bool) -> None:
    """Each region: revision, network version, engine clock, events, open outages."""
    from oms.storage.db import connect
    from oms.storage.regions import STATUS_FIELDS as keys
    from oms.storage.regions import status

    engine = connect(db, upgrade=False)
    try:
        rows = status(engine)
    finally:
        engine.dispose()
    emit(rows, as_json, lambda: table([[r[k] for k in keys] for r in rows], keys))
