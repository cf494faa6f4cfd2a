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
describes the common ones, ``params`` adds or overrides. Schemas are JSON
Schema dicts (2020-12, as OpenAPI 3.1 uses it); a :class:`Named` schema
becomes an entry of ``components/schemas`` and a ``$ref`` where it is used.

This module imports nothing from the web layer, so any blueprint (and
:mod:`webmap.auth`) may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
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
    "Answer",
    "Named",
    "Operation",
    "Param",
    "Schema",
    "array",
    "nullable",
    "obj",
    "operation",
    "path",
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
    if isinstance(schema, dict) and set(schema) == {"type"} and isinstance(schema["type"], str):
        return {"type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def obj(
    properties: Mapping[str, Any],
    required: Iterable[str] = (),
    *,
    description: str | None = None,
) -> Schema:
    """An object with these properties (others allowed)."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    if required := list(required):
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


def array(items: Schema | Named) -> Schema:
    return {"type": "array", "items": items}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
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


def query(name: str, description: str, schema: Schema | None = None) -> Param:
    return Param(name, description, dict(schema or STR))


def path(name: str, description: str, **schema: Any) -> Param:
    """A path parameter (a string; ``enum``, ``example``... as keywords)."""
    return Param(name, description, {"type": "string", **schema}, "path", True)


#: The path parameters routes share, by the name of the route's argument.
PATH_PARAMS: dict[str, Param] = {
    "outage_id": path("outage_id", "An outage id.", example="OUT-000001"),
    "job_id": path("job_id", "A job id.", example="JOB-000001"),
    "crew_id": path("crew_id", "A crew id.", example="K1"),
    "device_id": path("device_id", "A device id.", example="DEV-0a1b2c3d"),
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
) -> Callable[[F], F]:
    """Describe the view (``view.operation``); ``ok`` alone is the 200 answer."""
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
    )

    def describe(view: F) -> F:
        view.operation = op  # type: ignore[attr-defined]
        return view

    return describe
