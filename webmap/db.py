"""The per-request database handle and the app's engine service.

As in Flask's tutorial: :func:`get_conn` opens one SQLAlchemy connection per
request (on the read replica for GET requests when ``OMS_READ_DB`` names
one), kept in :data:`flask.g` and closed at teardown; :func:`service`
is the process's :class:`~webmap.service.EngineService`.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app, g, request
from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection, Engine

from oms.storage import schema
from oms.storage.loading import (
    device_states,
    field_in_place,
    network_version,
    stored_network,
    with_reported_states,
)
from topology.model import Network
from webmap.service import EngineService

__all__ = ["database", "get_conn", "init_app", "network", "read_database", "service"]

_network_lock = threading.Lock()


def database() -> Engine:
    """The app's SQLAlchemy engine (a connection pool)."""
    db: Engine = current_app.extensions["oms.storage.db"]
    return db


def service() -> EngineService:
    """The process's engine service."""
    svc: EngineService = current_app.extensions["oms.service"]
    return svc


def read_database() -> Engine:
    """Where this request reads: the replica (``OMS_READ_DB``) for GET and
    HEAD requests when there is one, else the primary. A request that
    changes something reads the primary, so it sees its own write."""
    replica: Engine | None = current_app.extensions.get("oms.storage.read_db")
    if replica is not None and request.method in ("GET", "HEAD"):
        return replica
    return database()


def get_conn() -> Connection:
    """This request's connection (read-only use; writes go through the engine
    or :func:`database`): on the replica for reads when there is one."""
    if "oms_conn" not in g:
        g.oms_conn = read_database().connect()
    conn: Connection = g.oms_conn
    return conn


def network() -> Network:
    """The latest network as operated (reported states, jumpers and cuts), cached
    per process until it, a switch, a field change or the critical-customer
    register changes.

    O(1) when nothing changed. After a switch or a trip: a view of the
    normal-state model (kept per version, never changed) in the reported
    states (:meth:`~topology.model.Network.with_states`), O(n_edges + devices);
    the model is read from the database only for a new version or register
    edit. Callers
    share the network they get: to ask about another state, take a view of
    it; never operate it.
    """
    conn = get_conn()
    ds = schema.device_states
    version = network_version(conn)
    fc = schema.field_changes
    switched = conn.execute(select(func.count(), func.max(ds.c.changed_at))).one()
    in_place = func.sum(case((fc.c.active.is_(True), 1), else_=0))
    field = conn.execute(select(func.count(), in_place, func.max(fc.c.placed_at))).one()
    cr = schema.critical_register
    edits = tuple(
        str(x) for x in conn.execute(select(func.count(), func.max(cr.c.updated_at))).one()
    )
    key = (version, int(switched[0]), str(switched[1]), tuple(str(x) for x in field), edits)
    # One cache per database read: a replica a moment behind the primary
    # would otherwise have the two rebuild it in turn.
    name = "oms.network" if read_database() is database() else "oms.network.replica"
    cache = current_app.extensions.setdefault(name, {})
    with _network_lock:
        if cache.get("key") != key:
            # A new version, or an edit of the critical-customer register it carries.
            if cache.get("version") != (version, edits):
                _, base = stored_network(conn)
                cache.update(version=(version, edits), base=base)
            net = with_reported_states(cache["base"], device_states(conn), field_in_place(conn))
            cache.update(key=key, net=net)
        result: Network = cache["net"]
    return result


def _close(_exc: BaseException | None = None) -> None:
    conn: Any = g.pop("oms_conn", None)
    if conn is not None:
        conn.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
