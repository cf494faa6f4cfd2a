"""Live outages for GIS users: PostGIS layers and a GeoPackage.

QGIS, ArcGIS and other GIS clients read the control room's picture as
ordinary layers (EPSG:4326), from PostGIS (``oms gis publish``: tables
``gis_*`` with a geometry column and a GiST index, refreshed when the
engine's change feed moves) or from a GeoPackage file (``oms export``).
The layers:

=================  ==========  ===============================================
layer              geometry    what
=================  ==========  ===============================================
``network``        LineString  every edge: id, kind, normal state (written
                               again only for a new network version)
``deenergized``    LineString  every edge not energized now, or open, or in a
                               faulted section: its ``state`` as the map
                               draws it (:mod:`oms.edge_states`)
``outages``        Point       active outages (predicted, confirmed): at the
                               middle of their device, or at the customer
``crews``          Point       crews at their last position, with status
``calls``          Point       calls of the last ``hours`` (12)
=================  ==========  ===============================================

Every layer is built here once, by :func:`layers`, for both targets.
Reads are as of the engine clock (``now``). O(network) per refresh for the
de-energized layer (one breadth-first search), O(rows) for the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine

from oms.config import DispatchConfig
from oms.edge_states import ENERGIZED, STATES, edge_states, outage_position
from oms.intake.events import as_utc, iso
from oms.outages import ACTIVE_STATES, list_outages
from oms.storage import schema
from oms.storage.loading import (
    device_states,
    field_in_place,
    network_version,
    stored_network,
    with_reported_states,
)
from oms.storage.queries import customer_positions, list_crews
from topology.model import Network

__all__ = ["LAYERS", "Layer", "export_geopackage", "layers", "publish_postgis"]


@dataclass(frozen=True)
class Layer:
    """A layer's geometry type and its columns (name, SQL type) besides the geometry."""

    geometry: str
    columns: tuple[tuple[str, str], ...]


#: Every layer, in the order they are written.
LAYERS: dict[str, Layer] = {
    "network": Layer("LineString", (("id", "text"), ("kind", "text"), ("normal_state", "text"))),
    "deenergized": Layer("LineString", (("id", "text"), ("kind", "text"), ("state", "text"))),
    "outages": Layer(
        "Point",
        (
            ("id", "text"),
            ("kind", "text"),
            ("state", "text"),
            ("device", "text"),
            ("customer", "text"),
            ("customers_out", "integer"),
            ("critical_out", "integer"),
            ("calls", "integer"),
            ("started", "timestamptz"),
            ("etr", "timestamptz"),
            ("crew", "text"),
        ),
    ),
    "crews": Layer(
        "Point",
        (
            ("id", "text"),
            ("name", "text"),
            ("status", "text"),
            ("company", "text"),
            ("gps_time", "timestamptz"),
            ("stale", "boolean"),
        ),
    ),
    "calls": Layer(
        "Point",
        (("id", "text"), ("time", "timestamptz"), ("customer", "text"), ("hazard", "text")),
    ),
}

Feature = tuple[str, dict[str, Any]]  # (WKT geometry, properties)


def _operated(conn: Connection) -> Network:
    _, net = stored_network(conn)
    return with_reported_states(net, device_states(conn), field_in_place(conn))


def _line(net: Network, e: int) -> str:
    xy = net.edge_coords(e)
    return "LINESTRING (" + ", ".join(f"{x:.7f} {y:.7f}" for x, y in xy) + ")"


def _point(lon: float, lat: float) -> str:
    return f"POINT ({lon:.7f} {lat:.7f})"


def network_features(net: Network) -> list[Feature]:
    """Every edge with its kind and normal state. O(m + vertices)."""
    return [
        (
            _line(net, e),
            {
                "id": net.edge_ids[e],
                "kind": net.kind_of(e),
                "normal_state": "closed" if net.edge_normal_closed[e] else "open",
            },
        )
        for e in range(net.n_edges)
    ]


def layers(
    conn: Connection, now: datetime, config: DispatchConfig, *, hours: float = 12.0
) -> dict[str, list[Feature]]:
    """Every layer but ``network``, as of ``now``: name -> features.

    O(n + m) for the de-energized edges, O(rows) for the rest.
    """
    net = _operated(conn)
    outages = [o for o in list_outages(conn) if o.state in ACTIVE_STATES]
    states = edge_states(net, [o.to_dict() for o in outages])
    dead = np.flatnonzero(states != ENERGIZED)
    out: dict[str, list[Feature]] = {
        "deenergized": [
            (
                _line(net, e),
                {"id": net.edge_ids[e], "kind": net.kind_of(e), "state": STATES[states[e]]},
            )
            for e in dead.tolist()
        ]
    }
    jobs = {
        r.outage: r
        for r in conn.execute(
            select(schema.jobs.c.outage, schema.jobs.c.etr, schema.jobs.c.crew).where(
                schema.jobs.c.state.not_in(("closed", "cancelled"))
            )
        )
    }
    where = customer_positions(conn, net, [o.customer for o in outages if o.customer])
    found: list[Feature] = []
    for o in outages:
        pos = outage_position(net, o.device) or where.get(o.customer or "")
        if pos is None:
            continue
        job = jobs.get(o.id)
        found.append(
            (
                _point(*pos),
                {
                    "id": o.id,
                    "kind": o.kind,
                    "state": o.state,
                    "device": o.device,
                    "customer": o.customer,
                    "customers_out": o.customers_out,
                    "critical_out": o.critical_out,
                    "calls": o.calls,
                    "started": o.started,
                    "etr": as_utc(job.etr) if job is not None else None,
                    "crew": job.crew if job is not None else None,
                },
            )
        )
    out["outages"] = found
    out["crews"] = [
        (
            _point(c["lon"], c["lat"]),
            {
                "id": c["id"],
                "name": c.get("name"),
                "status": c.get("status"),
                "company": c.get("company"),
                "gps_time": _time(c.get("gps_time")),
                "stale": bool(c.get("stale")),
            },
        )
        for c in list_crews(conn, config, now)
        if c.get("lon") is not None and c.get("lat") is not None
    ]
    out["calls"] = _calls(conn, net, now - timedelta(hours=hours))
    return out


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else as_utc(value)


def _calls(conn: Connection, net: Network, since: datetime) -> list[Feature]:
    ev = schema.events
    rows = conn.execute(
        select(ev.c.id, ev.c.time, ev.c.customer, ev.c.payload)
        .where(ev.c.type == "call", ev.c.time >= since, ev.c.customer.is_not(None))
        .order_by(ev.c.seq)
    ).all()
    where = customer_positions(conn, net, [r.customer for r in rows])
    features = []
    for r in rows:
        pos = where.get(r.customer)
        if pos is None:
            continue
        try:
            hazard = json.loads(r.payload).get("hazard")
        except (ValueError, AttributeError):
            hazard = None
        features.append(
            (
                _point(*pos),
                {"id": r.id, "time": as_utc(r.time), "customer": r.customer, "hazard": hazard},
            )
        )
    return features


# ------------------------------------------------------------------ PostGIS
def _ensure(conn: Connection, name: str, layer: Layer) -> None:
    cols = ", ".join(f'"{c}" {t}' for c, t in layer.columns)
    conn.execute(
        text(
            f'CREATE TABLE IF NOT EXISTS "gis_{name}" (fid serial PRIMARY KEY, {cols}, '
            f"geom public.geometry({layer.geometry}, 4326) NOT NULL)"
        )
    )
    conn.execute(
        text(f'CREATE INDEX IF NOT EXISTS "gis_{name}_geom" ON "gis_{name}" USING gist (geom)')
    )


def _replace(conn: Connection, name: str, layer: Layer, features: list[Feature]) -> None:
    conn.execute(text(f'DELETE FROM "gis_{name}"'))
    if not features:
        return
    cols = [c for c, _ in layer.columns]
    names = ", ".join(f'"{c}"' for c in cols)
    values = ", ".join(f":{c}" for c in cols)
    conn.execute(
        text(
            f'INSERT INTO "gis_{name}" ({names}, geom) '
            f"VALUES ({values}, public.ST_GeomFromText(:wkt, 4326))"
        ),
        [{**{c: props.get(c) for c in cols}, "wkt": wkt} for wkt, props in features],
    )


def publish_postgis(
    engine: Engine, now: datetime, config: DispatchConfig, *, hours: float = 12.0
) -> dict[str, int]:
    """Write every layer into the PostGIS tables ``gis_*`` in one transaction.

    Creates the PostGIS extension (in ``public``) and the tables with their
    GiST indexes when missing. The network layer is written again only for
    a new network version. Returns the features per layer.

    Raises
    ------
    OMSError
        Not PostgreSQL, or PostGIS is not installed on the server.
    """
    from oms.exceptions import OMSError

    if engine.dialect.name != "postgresql":
        raise OMSError("the GIS layers need PostgreSQL with PostGIS (use `oms export` otherwise)")
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        available = conn.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        ).first()
        if available is None:
            raise OMSError(
                "PostGIS is not installed on this PostgreSQL server "
                "(Debian: apt-get install postgresql-15-postgis-3)"
            )
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public"))
        for name, layer in LAYERS.items():
            _ensure(conn, name, layer)
        conn.execute(
            text(
                'CREATE TABLE IF NOT EXISTS "gis_state" (key text PRIMARY KEY, value text NOT NULL)'
            )
        )
        version = str(network_version(conn))
        stored = conn.execute(text("SELECT value FROM gis_state WHERE key = 'network'")).scalar()
        if stored != version:
            _, net = stored_network(conn)
            features = network_features(net)
            _replace(conn, "network", LAYERS["network"], features)
            conn.execute(text("DELETE FROM gis_state WHERE key = 'network'"))
            conn.execute(
                text("INSERT INTO gis_state (key, value) VALUES ('network', :v)"), {"v": version}
            )
            counts["network"] = len(features)
        for name, features in layers(conn, now, config, hours=hours).items():
            _replace(conn, name, LAYERS[name], features)
            counts[name] = len(features)
        conn.execute(text("DELETE FROM gis_state WHERE key = 'published'"))
        conn.execute(
            text("INSERT INTO gis_state (key, value) VALUES ('published', :v)"), {"v": iso(now)}
        )
    return counts


# --------------------------------------------------------------- GeoPackage
def export_geopackage(
    engine: Engine, path: str | Path, now: datetime, config: DispatchConfig, *, hours: float = 12.0
) -> dict[str, int]:
    """Write every layer into a GeoPackage at ``path`` (replaced); features per layer."""
    import geopandas as gpd
    from shapely import wkt

    with engine.connect() as conn:
        _, net = stored_network(conn)
        found: Mapping[str, list[Feature]] = {
            "network": network_features(net),
            **layers(conn, now, config, hours=hours),
        }
    target = Path(path)
    target.unlink(missing_ok=True)
    counts = {}
    for name, layer in LAYERS.items():
        features = found[name]
        cols = [c for c, _ in layer.columns]
        frame = gpd.GeoDataFrame(
            {c: [_plain(p.get(c)) for _, p in features] for c in cols},
            geometry=[wkt.loads(g) for g, _ in features],
            crs="EPSG:4326",
        )
        frame.to_file(
            target, layer=name, driver="GPKG", engine="pyogrio", geometry_type=layer.geometry
        )
        counts[name] = len(features)
    return counts


def _plain(value: Any) -> Any:
    """A value GeoPackage columns take (times as ISO 8601 text with offset)."""
    return iso(value) if isinstance(value, datetime) else value
