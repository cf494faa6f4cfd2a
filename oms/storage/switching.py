"""Read-side queries of the switching desk: orders, safety documents, planned outages, field
changes.

Nothing here writes; the engine's desk (:mod:`oms.engine.desk`) keeps the
documents and the repository stores each as the JSON document
``to_dict`` gives (``switching_documents.body``). These read them back for
the CLI and the server, finished ones included.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from oms.storage import schema

__all__ = [
    "KINDS",
    "by_source_event",
    "concerns",
    "field_changes",
    "get_document",
    "list_documents",
]

#: Document kind -> its id prefix.
KINDS = {"order": "SO", "safety": "SD", "planned": "PO"}


def list_documents(
    conn: Connection,
    kind: str,
    *,
    state: str | None = None,
    open_only: bool = False,
    crew: str | None = None,
) -> list[dict[str, Any]]:
    """Documents of ``kind`` (``order``, ``safety``, ``planned``), newest first.

    ``open_only`` leaves out finished ones; ``crew`` keeps those that concern
    that crew: orders with a step it performs, safety documents issued to it,
    planned outages it works on (and for a crew, only issued orders and
    documents: drafts are the desk's). O(documents of that kind).
    """
    docs = schema.switching_documents
    query = select(docs.c.body).where(docs.c.kind == kind).order_by(docs.c.id.desc())
    if state is not None:
        query = query.where(docs.c.state == state)
    if open_only:
        query = query.where(docs.c.state.notin_(("completed", "cancelled", "released", "rejected")))
    out = [dict(body) for (body,) in conn.execute(query)]
    if crew is not None:
        out = [d for d in out if concerns(d, crew)]
    return out


def concerns(doc: dict[str, Any], crew: str) -> bool:
    """Whether a crew may see the document: an order with a step of its own
    once issued (cancelled after that too, so the crew learns it was), a
    safety document issued to it, a planned outage it works on, approved."""
    if doc["id"].startswith("SO-"):
        issued = any(s["state"] == "issued" for s in doc.get("signatures", []))
        return issued and any(s["performer"] == crew for s in doc["steps"])
    if doc["id"].startswith("SD-"):
        return doc["crew"] == crew and doc["state"] != "draft"
    return crew in doc.get("crews", []) and doc["state"] in ("approved", "in_progress")


def get_document(conn: Connection, document_id: str) -> dict[str, Any] | None:
    """One document by id, or None."""
    docs = schema.switching_documents
    body = conn.execute(select(docs.c.body).where(docs.c.id == document_id)).scalar()
    return dict(body) if body is not None else None


def by_source_event(conn: Connection, event_id: str) -> dict[str, Any] | None:
    """The document an event created (``order_create``, ``safety_create``,
    ``planned_request``), or None."""
    docs = schema.switching_documents
    body = conn.execute(select(docs.c.body).where(docs.c.source_event == event_id)).scalar()
    return dict(body) if body is not None else None


def field_changes(conn: Connection, *, active_only: bool = True) -> list[dict[str, Any]]:
    """Tags, grounds, jumpers and cuts (those in place, or all), oldest first."""
    fc = schema.field_changes
    query = select(fc.c.body).order_by(fc.c.placed_at, fc.c.id)
    if active_only:
        query = query.where(fc.c.active.is_(True))
    return [dict(body) for (body,) in conn.execute(query)]
