"""``oms gis publish`` and ``oms export``: the live outages as GIS layers.

Both write the layers of :mod:`oms.storage.gis` (network, de-energized
edges, outages, crews, calls; EPSG:4326): into PostGIS tables that QGIS or
ArcGIS add as layers and refresh, or into a GeoPackage file.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from oms.cli.options import (
    config_option,
    db_option,
    emit,
    engine_config,
    handles_errors,
    json_option,
    now_of,
)

__all__ = ["export", "gis"]

_HOURS = click.option(
    "--hours",
    type=click.FloatRange(0, 24 * 14, min_open=True),
    default=12.0,
    show_default=True,
    help="Calls of this many hours before the engine clock.",
)


@click.group()
def gis() -> None:
    """Live outages as PostGIS layers for QGIS, ArcGIS and other GIS clients."""


@gis.command("publish")
@click.option("--watch", is_flag=True, help="Keep publishing whenever the engine changes.")
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 3600),
    default=1.0,
    show_default=True,
    help="With --watch: how often the change feed is looked at, in seconds.",
)
@click.option("--seconds", type=click.FloatRange(min=0), default=None, help="Stop after N seconds.")
@_HOURS
@db_option
@config_option
@json_option
@handles_errors
def publish(
    watch: bool,
    interval: float,
    seconds: float | None,
    hours: float,
    db: str | None,
    config_file: str | None,
    as_json: bool,
) -> None:
    """Write the layers into PostGIS tables gis_network, gis_deenergized,
    gis_outages, gis_crews and gis_calls (geometry column ``geom``, GiST index).

    Once, or with --watch again within --interval of every change the
    engine commits (each time in one transaction: a GIS client never sees
    half a refresh). Needs PostgreSQL with PostGIS installed on the server.
    """
    from sqlalchemy import func, select

    from oms.storage import schema
    from oms.storage.db import connect
    from oms.storage.gis import publish_postgis

    engine = connect(db)
    config = engine_config(config_file).dispatch
    start = time.monotonic()
    last: int | None = None
    rounds = 0
    counts: dict[str, int] = {}
    while True:
        with engine.connect() as conn:
            seq = int(conn.execute(select(func.max(schema.changes.c.seq))).scalar() or 0)
            now = now_of(conn)
        if seq != last:
            counts = publish_postgis(engine, now, config, hours=hours)
            last, rounds = seq, rounds + 1
            if watch and not as_json:
                click.echo(f"published at change {seq}: {_counts(counts)}", err=True)
        if not watch or (seconds is not None and time.monotonic() - start >= seconds):
            break
        time.sleep(interval)
    doc = {"published": rounds, "change": last, "features": counts}
    emit(doc, as_json, lambda: f"published {rounds} time(s); last: {_counts(counts)}")


@click.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@_HOURS
@db_option
@config_option
@json_option
@handles_errors
def export(out: Path, hours: float, db: str | None, config_file: str | None, as_json: bool) -> None:
    """Write the live layers into the GeoPackage OUT (replaced): network,
    deenergized, outages, crews and calls, as of the engine clock."""
    from oms.storage.db import connect
    from oms.storage.gis import export_geopackage

    engine = connect(db)
    with engine.connect() as conn:
        now = now_of(conn)
    counts = export_geopackage(engine, out, now, engine_config(config_file).dispatch, hours=hours)
    doc = {"path": str(out), "as_of": now.isoformat(), "features": counts}
    emit(doc, as_json, lambda: f"{out}: {_counts(counts)}")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())
