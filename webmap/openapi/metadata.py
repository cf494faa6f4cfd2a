"""What a route says about itself for the OpenAPI description, declared beside it.

A view states who may call it once, with :func:`webmap.auth.require` (the
check), and describes itself with :func:`operation` (summary, parameters,
request body, answers). :mod:`webmap.openapi.document` reads both from the
app's routes when it builds the document, so the description's ``x-roles``
and ``security`` are the check's roles, never a copy of them::

    @bp.post("/jobs/<job_id>/<action>")
    @require("dispatcher", "crew", actions=...)
    @operation("A stage or dispatcher action on a job", tag="jobs", body=JOB_ACTION,
               ok=INGESTED, errors=(404, 409, 422))
    def job_action(job_id: str, action: str) -> Any: ...

Path parameters come from the route (``<job_id>``); :data:`PATH_PARAMS`
describes the common ones, ``params`` adds or overrides. A path parameter
with an ``enum`` is routed with :func:`one_of` (werkzeug's ``any``), so
another value is no route at all (404, or 405 with ``Allow``).

The description is also the check: the view :func:`operation` wraps
refuses (400) a query parameter or a JSON request body its description
does not allow (:func:`problem`: a small JSON Schema validator for the
keywords used here), so the server never accepts what the description
forbids. No string the API takes holds a NUL character (PostgreSQL text
cannot): :data:`STR` says so with a pattern. Schemas are JSON
Schema dicts (2020-12, as OpenAPI 3.1 uses it); a :class:`Named` schema
becomes an entry of ``components/schemas`` and a ``$ref`` where it is used.

This module imports nothing from the web layer, so any blueprint (and
:mod:`webmap.auth`) may use it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar

__all__ = [
    "ANY_OBJECT",
    "BOOL",
    "IDS",
    "INT",
    "NUM",
    "PATH_PARAMS",
    "STR",
    "TIME",
    "VALUE",
    "Answer",
    "Named",
    "Operation",
    "Param",
    "Schema",
    "array",
    "nullable",
    "obj",
    "one_of",
    "operation",
    "path",
    "problem",
    "query",
]

Schema = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, eq=False)
class Named:
    """A schema with a name: described once in ``components/schemas``, referred to by ``$ref``.

    It may appear anywhere inside another schema (``{"items": OUTAGE}``).
    """

    name: str
    schema: Schema


# ------------------------------------------------------------------ schemas
def nullable(schema: Schema | Named) -> Schema:
    """``schema`` or null."""
    if isinstance(schema, dict) and "type" in schema and isinstance(schema["type"], str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


#: Any JSON value without a NUL character in a key or a string, at any depth
#: (what the server stores; PostgreSQL text cannot hold NUL).
VALUE = Named(
    "JsonValue",
    {
        "anyOf": [
            {"type": ["number", "boolean", "null"]},
            {"type": "string", "pattern": "^[^\\u0000]*$"},
            {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
            {
                "type": "object",
                "propertyNames": {"pattern": "^[^\\u0000]*$"},
                "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
            },
        ]
    },
)


def obj(
    properties: Mapping[str, Any],
    required: Iterable[str] = (),
    *,
    description: str | None = None,
) -> Schema:
    """An object with these properties; others are allowed, NUL-free like everything."""
    schema: Schema = {
        "type": "object",
        "properties": dict(properties),
        "propertyNames": {"pattern": NO_NUL},
        "additionalProperties": VALUE,
    }
    if required := list(required):
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


def array(items: Schema | Named) -> Schema:
    return {"type": "array", "items": items}


#: No NUL character: the server refuses one anywhere (PostgreSQL text cannot hold it).
NO_NUL = "^[^\\u0000]*$"
STR: Schema = {"type": "string", "pattern": NO_NUL}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
#: An instant: ISO 8601 with a UTC offset, in the years the system keeps (1970 to 8999).
TIME: Schema = {
    "type": "string",
    "format": "date-time",
    "pattern": "^(19[7-9][0-9]|[2-8][0-9]{3})-",
}
IDS: Schema = array(STR)
ANY_OBJECT: Schema = {"type": "object"}


# --------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Param:
    """A parameter: ``where`` is ``path``, ``query`` or ``header``."""

    name: str
    description: str
    schema: Schema = field(default_factory=lambda: dict(STR))
    where: str = "query"
    required: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.where,
            "required": self.required or self.where == "path",
            "description": self.description,
            "schema": self.schema,
        }

    def read(self, given: list[str]) -> Any:
        """The value of the query parameter sent as ``given`` (its values on the wire).

        Raises
        ------
        ValueError
            Missing though required, sent twice, or not what its schema allows.
        """
        if not given:
            if self.required:
                raise ValueError(f"the query parameter {self.name!r} is required")
            return None
        if len(given) > 1:
            raise ValueError(f"the query parameter {self.name!r} is given {len(given)} times")
        value = _from_wire(given[0], self.schema.get("type"))
        error = problem(self.schema, value, self.name)
        if error:
            raise ValueError(error)
        return value


def _from_wire(text: str, kind: Any) -> Any:
    """A query string value as the JSON type its schema names (the text when it is not one)."""
    if kind == "integer" and re.fullmatch(r"-?[0-9]{1,18}", text):
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


# --------------------------------------------------------------- validation
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _format_ok(fmt: str, value: str) -> bool:
    try:
        if fmt == "date-time":
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            return "T" in value.upper() and parsed.tzinfo is not None
        if fmt == "date":
            date.fromisoformat(value)
            return len(value) == 10
    except ValueError:
        return False
    return True


def problem(schema: Schema | Named, value: Any, where: str = "the body") -> str | None:
    """What is wrong with ``value`` by ``schema`` (None: nothing).

    The keywords of the schemas declared here: ``type``, ``enum``, ``const``,
    ``minimum``, ``maximum``, ``minLength``, ``maxLength``, ``pattern``,
    ``format`` (date, date-time), ``properties``, ``required``,
    ``propertyNames``, ``items``, ``minItems``, ``anyOf``, ``allOf``; others
    (``description``, ``example``) say nothing about validity.
    """
    if isinstance(schema, Named):
        schema = schema.schema
    if schema.get("$ref") == "#/components/schemas/JsonValue":  # VALUE refers to itself
        schema = VALUE.schema
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not any(_TYPES[k](value) for k in kinds):
            return f"{where}: must be {' or '.join(kinds)}"
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        return f"{where}: must be {schema['const']!r}"
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        return f"{where}: must be one of {', '.join(map(str, schema['enum']))}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: at least {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: at most {schema['maximum']}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{where}: at least {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{where}: at most {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{where}: does not match {schema['pattern']}"
        if "format" in schema and not _format_ok(schema["format"], value):
            return f"{where}: not a {schema['format']}"
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                return f"{where}: {name!r} is required"
        names = schema.get("propertyNames")
        for key, item in value.items():
            if names is not None and (error := problem(names, key, f"{where}: a key")):
                return error
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict | Named) and (error := problem(sub, item, f"{where}.{key}")):
                return error
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{where}: at least {schema['minItems']} items"
        if "items" in schema:
            for n, item in enumerate(value):
                if error := problem(schema["items"], item, f"{where}[{n}]"):
                    return error
    for sub in schema.get("allOf", ()):
        if error := problem(sub, value, where):
            return error
    if "anyOf" in schema:
        errors = [problem(sub, value, where) for sub in schema["anyOf"]]
        if all(errors):
            return min((e for e in errors if e), key=len)
    return None


def query(name: str, description: str, schema: Schema | None = None) -> Param:
    return Param(name, description, dict(schema or STR))


def path(name: str, description: str, **schema: Any) -> Param:
    """A path parameter (a string; ``enum``, ``example``... as keywords)."""
    base = {"type": "string"} if "enum" in schema else {**STR, "minLength": 1}
    return Param(name, description, {**base, **schema}, "path", True)


def one_of(names: Iterable[str]) -> str:
    """The werkzeug converter of a path parameter that takes only ``names``: ``<{one_of(x)}:a>``."""
    return "any(" + ", ".join(repr(n) for n in names) + ")"


#: The path parameters routes share, by the name of the route's argument.
PATH_PARAMS: dict[str, Param] = {
    "outage_id": path("outage_id", "An outage id.", example="OUT-000001"),
    "job_id": path("job_id", "A job id.", example="JOB-000001"),
    "crew_id": path("crew_id", "A crew id.", example="K1"),
    "device_id": path("device_id", "A device id.", example="DEV-0a1b2c3d"),
    "order_id": path("order_id", "A switching order id.", example="SO-000001"),
    "document_id": path("document_id", "A safety document id.", example="SD-000001"),
    "planned_id": path("planned_id", "A planned outage id.", example="PO-000001"),
}


# --------------------------------------------------------------- operations
@dataclass(frozen=True)
class Answer:
    """One documented answer: what it means and, if it has a body, its schema."""

    description: str
    schema: Schema | Named | None = None
    media_type: str = "application/json"


@dataclass(frozen=True)
class Operation:
    """The description of one view; who may call it is the view's :func:`require`.

    ``ok`` are the answers when it works, by status; ``errors`` the error
    statuses besides those the document adds by itself (401 and 403 for a
    guarded view; 400 when there are parameters, a body or a state change).
    """

    summary: str
    tag: str
    ok: Mapping[int, Answer]
    description: str | None = None
    errors: tuple[int, ...] = ()
    params: tuple[Param, ...] = ()
    body: Schema | Named | None = None
    body_required: bool = False
    #: Request bodies in other media types than JSON, by media type.
    other_bodies: Mapping[str, Schema] = field(default_factory=dict)
    #: Whether a JSON body is refused (400) when ``body`` does not allow it;
    #: False where the view judges each part itself (the event intake's lines).
    check_body: bool = True

    def refusal(self, args: Any, data: bytes, json_body: Any) -> str | None:
        """Why a request with these query ``args`` (a MultiDict) and body is refused (None: not)."""
        for param in self.params:
            if param.where != "query":
                continue
            try:
                param.read(args.getlist(param.name))
            except ValueError as exc:
                return str(exc)
        if self.body is None or not self.check_body:
            return None
        if not data:
            return "a request body is required" if self.body_required else None
        if json_body is None:
            return None  # not JSON: the view says what it takes
        return problem(self.body, json_body)


def operation(
    summary: str,
    *,
    tag: str,
    ok: Mapping[int, Answer] | Answer,
    description: str | None = None,
    errors: Iterable[int] = (),
    params: Iterable[Param] = (),
    body: Schema | Named | None = None,
    body_required: bool = False,
    other_bodies: Mapping[str, Schema] | None = None,
    check_body: bool = True,
) -> Callable[[F], F]:
    """Describe the view (``view.operation``); ``ok`` alone is the 200 answer.

    The view is wrapped so that a query parameter or JSON body the
    description does not allow is refused (400) before it runs
    (:meth:`Operation.refusal`).
    """
    op = Operation(
        summary=summary,
        tag=tag,
        ok={200: ok} if isinstance(ok, Answer) else dict(ok),
        description=description,
        errors=tuple(errors),
        params=tuple(params),
        body=body,
        body_required=body_required,
        other_bodies=dict(other_bodies or {}),
        check_body=check_body,
    )

    def describe(view: F) -> F:
        from flask import abort, request

        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            body = request.get_json(silent=True) if request.is_json else None
            error = op.refusal(request.args, request.get_data(cache=True), body)
            if error:
                abort(400, description=error)
            return view(*args, **kwargs)

        checked.operation = op  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return describe
