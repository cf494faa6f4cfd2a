"""The Flask app factory.

Configuration (``create_app(config)`` or environment variables ``OMS_*``):

==================== =====================================================
``OMS_DB``           database URL (default ``$OMS_DATABASE_URL``, else SQLite)
``SECRET_KEY``       signs sessions; set it in production (``OMS_SECRET_KEY``)
``OMS_ENGINE_CONFIG`` the engine configuration JSON file (optional)
``OMS_TICK_S``       seconds between engine ticks (1; 0: no ticking thread)
``OMS_CLOCK``        a callable giving now (the wall clock by default)
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
from werkzeug.exceptions import HTTPException

from oms.config import EngineConfig
from oms.db import connect, database_url
from webmap import auth, db
from webmap.service import EngineService, wall_clock

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """A configured app with every blueprint registered and its engine service."""
    app = Flask(__name__)
    app.config.update(
        OMS_DB=database_url(),
        SECRET_KEY=os.environ.get("OMS_SECRET_KEY") or secrets.token_hex(32),
        OMS_ENGINE_CONFIG=os.environ.get("OMS_ENGINE_CONFIG"),
        OMS_TICK_S=float(os.environ.get("OMS_TICK_S", "1")),
        OMS_CLOCK=wall_clock,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)
    if os.environ.get("OMS_SECURE_COOKIES") == "1":
        app.config["SESSION_COOKIE_SECURE"] = True
    engine = connect(app.config["OMS_DB"])
    cfg_file = app.config.get("OMS_ENGINE_CONFIG")
    engine_config = EngineConfig.from_file(Path(cfg_file)) if cfg_file else EngineConfig()
    svc = EngineService(engine, engine_config, clock=app.config["OMS_CLOCK"])
    app.extensions["oms.db"] = engine
    app.extensions["oms.service"] = svc
    db.init_app(app)
    auth.init_app(app)

    from webmap import api, crew, dispatcher, public, stream

    app.register_blueprint(api.bp)
    app.register_blueprint(stream.bp)
    app.register_blueprint(dispatcher.bp)
    app.register_blueprint(crew.bp)
    app.register_blueprint(public.bp)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        from flask import request

        if request.path.startswith("/api/") or request.path == "/stream":
            return jsonify(error=exc.description, status=exc.code), exc.code
        return exc

    svc.start(float(app.config["OMS_TICK_S"]))
    return app
