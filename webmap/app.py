"""The Flask app factory.

Configuration (``create_app(config)`` or environment variables ``OMS_*``):

==================== =====================================================
``OMS_DB``           database URL (default ``$OMS_DATABASE_URL``, else SQLite)
``OMS_READ_DB``      a streaming replica's URL for the reads of GET requests (the
                     read models, the public page); writes, sign-in and the live
                     stream stay on ``OMS_DB`` (none: everything on ``OMS_DB``)
``SECRET_KEY``       signs sessions (``$OMS_SECRET_KEY``, else a key made once
                     in the instance folder and shared by every process)
``OMS_ENGINE_CONFIG`` the engine configuration: a JSON file, or an ``EngineConfig``
``OMS_TICK_S``       seconds between engine ticks (1; 0: no ticking thread)
``OMS_CLOCK``        a callable giving now (the wall clock by default)
``OMS_CLOCK_SPEED``  simulated seconds per real second of that clock (1)
``OMS_POOL_SIZE``    database connections kept per process (20)
``OMS_PROXIES``      reverse proxies in front (trust their X-Forwarded-*; 0)
``OMS_TILE_URL``     base-map tile URL template on your network (none: no base map)
``OMS_PHONE_COUNTRY_CODE`` country calling code national phone numbers are read in
                     on the public page (``86`` or ``+86``; none: the code most
                     stored numbers have)
``PUBLIC_LOOKUP_LIMIT`` case lookups per address and window on the public page (30)
``OMS_SNAPSHOT_S``   the dispatcher's lists and overview are rebuilt at most this often
                     and never more than this behind the database (1 s of the clock;
                     0: at every change); see :mod:`webmap.snapshots`
``OMS_PUBLIC_REFRESH_S`` the same for the public page's outages and areas (10 s)
==================== =====================================================
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from oms.config import EngineConfig
from oms.exceptions import StorageError
from oms.storage.db import connect, database_url, missing_sqlite_file
from webmap import auth, db
from webmap.service import EngineService, wall_clock

__all__ = ["create_app"]


def _instance_secret(folder: Path) -> str:
    """The session signing key kept in the instance folder, made once.

    Every process of one installation reads the same file, so a session
    signed by one gunicorn worker is valid on the others and across restarts.
    """
    path = folder / "secret_key"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


class _StrictJSON(DefaultJSONProvider):
    """Request bodies are strict JSON: NaN and Infinity are refused (a 400).

    A number written with a zero fraction (``7.0``) is the integer it equals,
    as JSON Schema counts it: an alert number sent as ``12.0`` is alert 12.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return super().loads(s, parse_constant=_not_json, parse_float=_number, **kwargs)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def _replica(url: str, pool_size: int) -> Engine:
    """The read replica of ``OMS_READ_DB``, opened without migrating it (a hot
    standby follows the primary's schema).

    Raises
    ------
    StorageError
        It cannot be used (the message names ``OMS_READ_DB``); a SQLite file
        that does not exist is not created.
    """
    path = missing_sqlite_file(url)
    if path is not None:
        raise StorageError(f"OMS_READ_DB: no database file at {path}")
    try:
        return connect(url, upgrade=False, pool_size=pool_size)
    except StorageError as exc:
        raise StorageError(f"OMS_READ_DB: {exc}") from exc


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """A configured app with every blueprint registered and its engine service."""
    app = Flask(__name__)
    app.json = _StrictJSON(app)
    app.config.update(
        OMS_DB=database_url(),
        OMS_READ_DB=os.environ.get("OMS_READ_DB"),
        SECRET_KEY=os.environ.get("OMS_SECRET_KEY"),
        OMS_ENGINE_CONFIG=os.environ.get("OMS_ENGINE_CONFIG"),
        OMS_TICK_S=float(os.environ.get("OMS_TICK_S", "1")),
        OMS_CLOCK=wall_clock,
        OMS_TILE_URL=os.environ.get("OMS_TILE_URL"),
        OMS_PHONE_COUNTRY_CODE=os.environ.get("OMS_PHONE_COUNTRY_CODE"),
        OMS_SNAPSHOT_S=float(os.environ.get("OMS_SNAPSHOT_S", "1")),
        OMS_PUBLIC_REFRESH_S=float(os.environ.get("OMS_PUBLIC_REFRESH_S", "10")),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_SORT_KEYS=False,
        # The largest request body (413 beyond): 10,000 ordinary events fit.
        MAX_CONTENT_LENGTH=int(os.environ.get("OMS_MAX_BODY_BYTES", 8 * 1024 * 1024)),
    )
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    proxies = int(os.environ.get("OMS_PROXIES", app.config.get("OMS_PROXIES", 0)))
    if proxies:
        # Behind a reverse proxy: take the client's address and scheme from
        # X-Forwarded-* (rate limits and the audit need the real address).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    if os.environ.get("OMS_SECURE_COOKIES") == "1":
        app.config["SESSION_COOKIE_SECURE"] = True
    # A connection per request thread (gunicorn --threads, waitress threads).
    engine = connect(app.config["OMS_DB"], pool_size=int(app.config.get("OMS_POOL_SIZE", 20)))
    given = app.config.get("OMS_ENGINE_CONFIG")
    # Not given: the data set's stored configuration (the engine reads it).
    engine_config: EngineConfig | None = (
        given
        if isinstance(given, EngineConfig)
        else EngineConfig.from_file(Path(given))
        if given
        else None
    )
    if app.config.get("OMS_READ_DB"):
        app.extensions["oms.storage.read_db"] = _replica(
            app.config["OMS_READ_DB"], int(app.config.get("OMS_POOL_SIZE", 20))
        )
    svc = EngineService(engine, engine_config, clock=app.config["OMS_CLOCK"])
    app.extensions["oms.storage.db"] = engine
    app.extensions["oms.service"] = svc
    db.init_app(app)
    auth.init_app(app)

    from webmap import (
        api,
        crew,
        critical,
        damage,
        dispatcher,
        mutual_aid,
        outage_detail,
        overview,
        public,
        regions,
        search,
        storm,
        stream,
        switching,
        switching_page,
    )
    from webmap.openapi import document

    app.register_blueprint(api.bp)
    app.register_blueprint(document.bp)
    app.register_blueprint(stream.bp)
    app.register_blueprint(dispatcher.bp)
    app.register_blueprint(crew.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(outage_detail.bp)
    app.register_blueprint(overview.bp)
    app.register_blueprint(switching.bp)
    app.register_blueprint(storm.bp)
    app.register_blueprint(damage.bp)
    app.register_blueprint(mutual_aid.bp)
    app.register_blueprint(critical.bp)
    app.register_blueprint(switching_page.bp)
    app.register_blueprint(regions.bp)
    app.register_blueprint(regions.page_bp)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        from flask import request

        if request.path.startswith("/api/") or request.path == "/stream":
            answer = jsonify(error=exc.description, status=exc.code)
            # The exception's own headers but its HTML content type: ``Allow`` on a
            # 405 (RFC 9110), ``Retry-After``, ``WWW-Authenticate``...
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    answer.headers[name] = value
            return answer, exc.code
        return exc

    @app.errorhandler(RecursionError)
    def _too_deep(_exc: RecursionError) -> Any:
        # A hostile body nested deeper than any decoder or validator can walk.
        return jsonify(error="the request body is nested too deeply", status=400), 400

    svc.start(float(app.config["OMS_TICK_S"]))
    return app
