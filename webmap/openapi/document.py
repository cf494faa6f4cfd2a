"""The OpenAPI 3.1 document, built from the app's routes; served at ``GET /api/openapi.json``.

Every view that describes itself (:func:`webmap.openapi.metadata.operation`)
becomes an operation: the path and method from its Flask rule (``<x>``
turned into ``{x}``), ``operationId`` its endpoint, and who may call it
(``x-roles``, ``security``, 401 and 403) from the rule its
:func:`webmap.auth.require` enforces (an admin may do everything). A view
with an ``action`` argument narrowed by role lists them in
``x-action-roles``. ``/stream`` is described here on behalf of
:mod:`webmap.stream` (:data:`ELSEWHERE`).

A blueprint's module may also define ``OPENAPI_PATHS`` (an OpenAPI "paths"
fragment: path -> method -> operation) and ``OPENAPI_SCHEMAS``
(components/schemas); they are merged in, and their ``x-roles`` must be
those of the view's ``require``. A path and method described twice, or
two schemas of one name, is an error.

Security: ``session`` (the signed session cookie from ``POST /api/login``
or the ``/login`` form) with ``csrf`` (the ``X-CSRFToken`` header, needed
on every request that changes state), or ``bearer`` (a handheld's token,
``Authorization: Bearer ...``; no CSRF token).
"""

from __future__ import annotations

import copy
import re
import sys
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from werkzeug.routing import Rule

from webmap.accounts import ROLES
from webmap.auth import Access
from webmap.openapi.metadata import (
    ANY_OBJECT,
    PATH_PARAMS,
    STR,
    Answer,
    Named,
    Operation,
    Param,
    operation,
    query,
)
from webmap.openapi.shapes import CONFLICT, ERROR, INGEST_REPORT

__all__ = ["ELSEWHERE", "bp", "build_document", "openapi_json"]

bp = Blueprint("openapi", __name__, url_prefix="/api")

_REF = "#/components/schemas/"
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_READ: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}]
_WRITE: list[dict[str, list[str]]] = [{"session": [], "csrf": []}, {"bearer": []}]
_ERRORS = {
    400: "Bad request: a malformed body or parameter, or a session request that "
    "changes state without its CSRF token (``error`` says which).",
    401: "Not signed in, or the token is unknown or revoked.",
    403: "Signed in, but the role may not do this (on the event intake: every "
    "rejected event was of a type the role may not send).",
    404: "No such object (for a crew: not one of its own).",
    409: "Conflict: an event id seen before with other content.",
    413: "Too many events in one request (at most 10000).",
    422: "Some events were rejected (``rejected`` names the line and the reason).",
    429: "Too many failed logins: try again later.",
    503: "Not applied in time (no server process wrote it): nothing is known to have "
    "changed; send the same request again after ``Retry-After`` seconds.",
}
_ERROR_SHAPES = {409: CONFLICT, 422: INGEST_REPORT}

#: Operations of views whose modules do not describe them yet, by endpoint.
ELSEWHERE: dict[str, Operation] = {
    "stream.stream": Operation(
        "Live changes as Server-Sent Events",
        tag="stream",
        params=(
            Param(
                "Last-Event-ID",
                "Replay every change after this sequence number "
                "(browsers send it when they reconnect).",
                {"type": "string", "pattern": "^[0-9]+$"},
                "header",
            ),
            query("since", "As ``Last-Event-ID``.", {"type": "integer", "minimum": 0}),
        ),
        ok={
            200: Answer(
                "``text/event-stream``: first ``event: hello`` with the sequence number it "
                "starts from, then one message per change: ``id`` (the change's sequence "
                "number), ``event`` (``outage``, ``job``, ``crew``, ``alert`` or ``device``) "
                'and ``data`` (``{"ref": id, "data": the object as the REST API returns '
                "it}``). A comment line keeps the connection alive. A crew user gets only "
                "its own crew and jobs (and outages, device states).",
                STR,
                "text/event-stream",
            )
        },
    ),
}


# ---------------------------------------------------------------- operations
def _roles(roles: frozenset[str]) -> list[str]:
    """Roles in their usual order; none stated means every role."""
    return [r for r in ROLES if r in roles or not roles]


def _params(rule: Rule, op: Operation) -> list[dict[str, Any]]:
    """The rule's path parameters (in its order), then the others the operation lists."""
    given = {p.name: p for p in op.params if p.where == "path"}
    out = []
    for name in _ARGUMENT.findall(rule.rule):
        param = given.pop(name, None) or PATH_PARAMS.get(name)
        if param is None:
            raise ValueError(f"{rule.endpoint}: the path parameter {name!r} is not described")
        # A route that takes only some values (``any``) and its description agree.
        routed = getattr(rule._converters.get(name), "items", None)
        if routed is not None and set(routed) != set(param.schema.get("enum", ())):
            raise ValueError(f"{rule.endpoint}: {name!r} is routed for {sorted(routed)} only")
        if routed is None and "enum" in param.schema:
            raise ValueError(f"{rule.endpoint}: route {name!r} with one_of() as it has an enum")
        out.append(param.to_dict())
    if given:
        raise ValueError(f"{rule.endpoint}: no path parameter {', '.join(given)} in {rule.rule}")
    return out + [p.to_dict() for p in op.params if p.where != "path"]


def _answer(answer: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {"description": answer.description}
    if answer.schema is not None:
        out["content"] = {answer.media_type: {"schema": answer.schema}}
    return out


def _operation(rule: Rule, method: str, op: Operation, access: Access | None) -> dict[str, Any]:
    """One operation object of the document (schemas still :class:`Named`)."""
    write = method in _WRITES
    doc: dict[str, Any] = {"operationId": rule.endpoint, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        doc["description"] = op.description
    params = _params(rule, op)
    if params:
        doc["parameters"] = params
    content: dict[str, Any] = {m: {"schema": schema} for m, schema in op.other_bodies.items()}
    if op.body is not None:
        content = {"application/json": {"schema": op.body}, **content}
    if content:
        doc["requestBody"] = {"required": op.body_required, "content": content}
    codes = set(op.errors)
    if access is None:
        doc["security"] = []
    else:
        codes |= {401, 403}
        doc["security"] = _WRITE if write else _READ
        doc["x-roles"] = _roles(access.roles)
        if access.actions:
            doc["x-action-roles"] = {a: _roles(r) for a, r in access.actions.items()}
    if params or content or write:
        codes.add(400)  # a malformed parameter or body, or a CSRF failure
    responses = {str(code): _answer(answer) for code, answer in op.ok.items()}
    for code in sorted(codes - set(op.ok)):
        responses[str(code)] = _answer(Answer(_ERRORS[code], _ERROR_SHAPES.get(code, ERROR)))
    doc["responses"] = responses
    return doc


def _add(paths: dict[str, Any], path: str, method: str, op: dict[str, Any], origin: str) -> None:
    item = paths.setdefault(path, {})
    if method in item:
        raise ValueError(f"{origin}: {method.upper()} {path} is described twice")
    item[method] = op


def _fragment_roles(app: Flask, op: dict[str, Any], where: str) -> dict[str, Any]:
    """A fragment's operation with ``x-roles`` and ``security`` of its view's ``require``."""
    view = app.view_functions.get(op.get("operationId", ""))
    access: Access | None = getattr(view, "access", None)
    if access is None:
        return op
    roles = _roles(access.roles)
    if "x-roles" in op and set(op["x-roles"]) != set(roles):
        raise ValueError(f"{where}: x-roles {op['x-roles']} are not the view's roles {roles}")
    op.setdefault("x-roles", roles)
    op.setdefault("security", _READ)
    return op


# ------------------------------------------------------------------ schemas
def _resolve(value: Any, components: dict[str, Any], named: dict[str, Named]) -> Any:
    """``value`` with every :class:`Named` schema in it a ``$ref``, described in ``components``."""
    if isinstance(value, Named):
        known = named.get(value.name)
        if known is None:
            named[value.name] = value  # before its parts: a schema may refer to itself
            components[value.name] = _resolve(value.schema, components, named)
        elif known is not value:
            raise ValueError(f"two schemas are named {value.name!r}")
        return {"$ref": _REF + value.name}
    if isinstance(value, dict):
        return {k: _resolve(v, components, named) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(v, components, named) for v in value]
    return value


# ----------------------------------------------------------------- document
def build_document(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document of ``app``'s routes.

    Raises
    ------
    ValueError
        A path and method, or a schema name, is described twice; a path
        parameter is not described; a fragment's ``x-roles`` are not its view's.
    """
    paths: dict[str, Any] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        op: Operation | None = getattr(view, "operation", None) or ELSEWHERE.get(rule.endpoint)
        if op is None:
            continue
        path = _ARGUMENT.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            doc = _operation(rule, method, op, getattr(view, "access", None))
            _add(paths, path, method.lower(), doc, rule.endpoint)
    extra: dict[str, Any] = {}
    for blueprint in app.blueprints.values():
        name = blueprint.import_name
        module = sys.modules.get(name)
        for path, item in getattr(module, "OPENAPI_PATHS", {}).items():
            for method, described in item.items():
                where = f"{name}: {method.upper()} {path}"
                described = _fragment_roles(app, copy.deepcopy(described), where)
                _add(paths, path, method, described, name)
        for key, schema in getattr(module, "OPENAPI_SCHEMAS", {}).items():
            if key in extra:
                raise ValueError(f"{name}: schema {key!r} is described twice")
            extra[key] = copy.deepcopy(schema)
    schemas: dict[str, Any] = {}
    paths = _resolve(dict(sorted(paths.items())), schemas, {})
    for key, schema in extra.items():
        if key in schemas:
            raise ValueError(f"schema {key!r} is described twice")
        schemas[key] = schema
    tags = sorted(
        {t for item in paths.values() for op in item.values() for t in op.get("tags", ())}
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "open-oms HTTP API",
            "version": "1",
            "description": "Outage management and repair dispatch: event intake, outages, "
            "jobs, crews, traces, reports and the live stream. See docs/api.md. "
            "Operations list the roles allowed in ``x-roles`` (an admin may do "
            "everything).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        # The default for operations that do not say (public ones say ``[]``).
        "security": _READ,
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The signed session cookie of ``POST /api/login`` "
                    "(or the ``/login`` form).",
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": "With a session, every request that changes state "
                    "carries the session's CSRF token (from ``/api/login`` or "
                    "``/api/session``).",
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A handheld's token (``oms device add`` or "
                    "``POST /api/devices``); no CSRF token needed.",
                },
            },
        },
    }


@bp.get("/openapi.json")
@operation("This description", tag="meta", ok=Answer("The OpenAPI 3.1 document.", ANY_OBJECT))
def openapi_json() -> Any:
    """The OpenAPI document (no sign-in needed); built once per app."""
    doc = current_app.extensions.get("oms.openapi")
    if doc is None:
        doc = current_app.extensions["oms.openapi"] = build_document(current_app)
    return jsonify(doc)
