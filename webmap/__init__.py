"""The web layer: REST API, live stream, dispatcher map, crew handheld, public page.

:func:`create_app` is the Flask app factory. Blueprints, one module each:

========== ===========================================================
auth       sign-in (sessions, bearer tokens), CSRF, roles (``require``)
api        the REST API under ``/api``, each route with its description
openapi    ``/api/openapi.json``, built from the routes' own metadata
stream     ``/stream``: Server-Sent Events of every change
dispatcher ``/``: the dispatcher's live map
crew       ``/crew``: the crew handheld (a PWA that works offline)
public     ``/public``: outages by area and a case lookup, no login
========== ===========================================================

The web layer calls :mod:`oms`; :mod:`oms` never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webmap.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: ``oms --help`` loads webmap.cli, not Flask.
    if name == "create_app":
        from webmap.app import create_app

        return create_app
    raise AttributeError(f"module 'webmap' has no attribute {name!r}")
