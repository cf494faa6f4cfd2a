"""The crew handheld (``/crew/``): a mobile-first PWA that works without signal.

Routes (this blueprint has no URL prefix; each route names its full path):

- ``GET /crew/``: the app shell. It holds no data and needs no session, so
  the service worker can keep it for offline starts; the page asks
  ``/api/session`` who is signed in (the session cookie, or a device's bearer
  token kept on the handheld) and sends the crew to ``/login`` otherwise.
- ``GET /crew/sw.js``: the service worker (scope ``/crew/``), versioned by a
  digest of the shell files so a new release replaces the old cache.
- ``GET /crew/manifest.webmanifest``: the web app manifest (installable).
- ``GET /api/crew/feeder?element=<device>``: the upstream trace of
  ``/api/trace/upstream`` (the path of edges up to the source and its
  protective devices) with each device on it: kind, state as operated and
  normal state, so the handheld shows the switch states along the feeder.

How the handheld works offline (``static/crew.js``, ``static/crew-sw.js``)
is described in ``docs/handheld.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from webmap.auth import require
from webmap.db import network
from webmap.openapi.metadata import BOOL, IDS, STR, Answer, Param, array, nullable, obj, operation

__all__ = ["SHELL_FILES", "bp", "feeder_devices"]

bp = Blueprint("crew", __name__)

_STATIC = Path(__file__).resolve().parent / "static"
#: Files of the app shell under ``static/`` (their digest versions the service
#: worker): the worker itself and every file it caches, read from its list
#: (tests/test_static.py keeps that list complete), so a release that changes
#: only one module still gets a new cache.
SHELL_FILES = (
    "crew-sw.js",
    *re.findall(r"'/static/([^']+)'", (_STATIC / "crew-sw.js").read_text(encoding="utf-8")),
)
_TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=8)
def _digest(stamp: tuple[float, ...]) -> str:
    h = hashlib.sha256()
    for name in SHELL_FILES:
        path = _STATIC / name
        if path.exists():
            h.update(path.read_bytes())
    crew_html = _TEMPLATES / "crew.html"
    if crew_html.exists():
        h.update(crew_html.read_bytes())
    return h.hexdigest()[:12]


def shell_version() -> str:
    """A digest of the shell files: it changes whenever one of them does."""
    paths = [_STATIC / n for n in SHELL_FILES] + [_TEMPLATES / "crew.html"]
    stamp = tuple(p.stat().st_mtime if p.exists() else 0.0 for p in paths)
    return _digest(stamp)


@bp.get("/crew/")
def home() -> Any:
    """The app shell (no data in it: everything comes from the API)."""
    response = Response(
        render_template(
            "crew.html",
            version=shell_version(),
            tile_url=current_app.config.get("OMS_TILE_URL") or "",
            tile_attribution=current_app.config.get("OMS_TILE_ATTRIBUTION") or "",
        )
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/crew/sw.js")
def service_worker() -> Any:
    """The service worker, with its cache version filled in."""
    source = (_STATIC / "crew-sw.js").read_text(encoding="utf-8")
    response = Response(source.replace("__VERSION__", shell_version()), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/crew/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/crew/manifest.webmanifest")
def manifest() -> Any:
    """The web app manifest: installable, standalone, starting at ``/crew/``."""
    doc = {
        "name": "open-oms crew handheld",
        "short_name": "OMS crew",
        "description": "Repair jobs for field crews, online and offline",
        "id": "/crew/",
        "start_url": "/crew/",
        "scope": "/crew/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#10202e",
        "theme_color": "#10202e",
        "icons": [
            {"src": "/static/icons/crew-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/crew-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/static/icons/crew-maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = Response(json.dumps(doc, indent=1), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _device(net: Any, e: int) -> dict[str, Any]:
    from topology.model import OPERABLE_KINDS, PROTECTIVE_KINDS

    kind = net.kind_of(e)
    return {
        "id": net.edge_ids[e],
        "kind": kind,
        "name": net.edge_name[e],
        "state": "closed" if net.edge_closed[e] else "open",
        "normal_state": "closed" if net.edge_normal_closed[e] else "open",
        "protective": kind in PROTECTIVE_KINDS,
        "operable": kind in OPERABLE_KINDS,
    }


def feeder_devices(element: str) -> dict[str, Any]:
    """The upstream trace of ``element`` with every edge on the path and its states.

    A dead element (no path to a source) lists at least itself when it is an
    edge. Raises the topology errors of :func:`topology.traces.upstream`. O(depth).
    """
    from topology import traces

    net = network()
    data = dict(traces.upstream(net, element).data)
    edges = [net.edge_index[eid] for eid in data["path"]]
    if not edges and element in net.edge_index:
        edges = [net.edge_index[element]]
    data["devices"] = [_device(net, e) for e in edges]
    data["energized"] = bool(data["source"])
    return data


_STATE = {"enum": ["open", "closed"]}
_FEEDER = obj(
    {
        "element": STR,
        "source": nullable(STR),
        "energized": BOOL,
        "path": IDS,
        "protective_devices": IDS,
        "devices": array(
            obj(
                {
                    "id": STR,
                    "kind": STR,
                    "name": nullable(STR),
                    "state": _STATE,
                    "normal_state": _STATE,
                    "protective": BOOL,
                    "operable": BOOL,
                }
            )
        ),
    }
)


@bp.get("/api/crew/feeder")
@require("crew", "dispatcher", "engineer")
@operation(
    "Switch states along the feeder above an element",
    tag="crew",
    params=[Param("element", "A node or edge id.", {**STR, "minLength": 1}, required=True)],
    ok=Answer("The trace.", _FEEDER),
    errors=(404,),
    description="The upstream trace (path of edges to the source, its protective "
    "devices) with each edge's kind, state as operated and normal state.",
)
def feeder() -> Any:
    """Switch states along the feeder above ``element`` (see :func:`feeder_devices`)."""
    from topology.exceptions import TopologyError

    element = request.args["element"]  # required (the description)
    try:
        return jsonify(feeder_devices(element))
    except TopologyError as exc:
        abort(404, description=str(exc))
