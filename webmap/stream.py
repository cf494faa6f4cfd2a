"""The live stream: Server-Sent Events from the ``changes`` feed.

``GET /stream`` sends every change the engine commits (outages, jobs,
crews, alerts, device states, switching documents and field changes,
damage reports, register edits ``critical`` and calls to customers
``contact``) as an SSE message: ``id`` is the change's
sequence number, ``event`` its kind and ``data`` the object as the REST API
returns it. A client that reconnects sends ``Last-Event-ID`` (browsers do
it by themselves) or ``?since=N`` and gets every change after it first,
from the database, so nothing is missed across reconnects or server
restarts. With several server processes on PostgreSQL each stream waits on
``LISTEN oms_changes`` (the engine NOTIFYs at commit), so a change made
through any process reaches every dispatcher at once; on SQLite (one
process) the stream polls the feed every ``STREAM_POLL_S`` seconds.

A comment line goes out every ``STREAM_KEEPALIVE_S`` seconds so proxies
keep the connection open. Crew users get only their own crew and jobs
(never the register or the calls, which name customers' contacts).
Every ``STREAM_AUTH_S`` seconds (3) the stream checks that its token or
session still works: revoking a handheld, signing out or disabling the
user ends it with a ``signed_out`` event. :func:`events` runs any such feed
(the stream across control regions, :mod:`webmap.regions`, is one too).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from oms.storage import schema
from oms.storage.postgres import FEED_CHANNEL, Listener
from oms.storage.switching import concerns
from webmap.accounts import User
from webmap.auth import credential, current_user, require, still_signed_in
from webmap.db import database

__all__ = [
    "Read",
    "bp",
    "changes_after",
    "events",
    "last_change",
    "position",
    "respond",
    "resume_id",
]

bp = Blueprint("stream", __name__)
_PAGE = 500


#: Reads a feed once: its new messages, each ``(SSE id, change)``, and whether
#: more are waiting (a whole page came: read again without waiting).
Read = Callable[[], tuple[list[tuple[str, dict[str, Any]]], bool]]


def _connection(db: Engine | Connection) -> AbstractContextManager[Connection]:
    # A connection given is read as it is (a region's, on its schema's search_path).
    return nullcontext(db) if isinstance(db, Connection) else db.connect()


def changes_after(db: Engine | Connection, seq: int, limit: int = _PAGE) -> list[dict[str, Any]]:
    """Changes with a sequence number above ``seq``, oldest first. O(limit)."""
    c = schema.changes
    with _connection(db) as conn:
        rows = conn.execute(
            select(c.c.seq, c.c.kind, c.c.ref, c.c.data)
            .where(c.c.seq > seq)
            .order_by(c.c.seq)
            .limit(limit)
        ).all()
    return [{"seq": r.seq, "kind": r.kind, "ref": r.ref, "data": r.data} for r in rows]


def last_change(db: Engine | Connection) -> int:
    with _connection(db) as conn:
        return int(conn.execute(select(func.max(schema.changes.c.seq))).scalar() or 0)


def _visible(change: dict[str, Any], user: User) -> bool:
    if user.role != "crew":
        return True
    data = change["data"] or {}
    if change["kind"] == "crew":
        return bool(change["ref"] == user.crew)
    if change["kind"] == "alert" and data.get("kind") == "storm_mode":
        return True  # every page shows storm mode, the handheld too
    if change["kind"] in ("job", "alert"):
        return bool(data.get("crew") == user.crew)
    if change["kind"] in ("order", "safety", "planned"):
        return concerns(data, user.crew or "")
    return change["kind"] in ("outage", "device", "field")


def resume_id() -> str | None:
    """The id a client resumes after (``Last-Event-ID``, else ``?since=``); None: from now."""
    return request.headers.get("Last-Event-ID") or request.args.get("since")


def position(text: str) -> int:
    """A feed position a client gave; one that is no number replays from the start."""
    try:
        return max(int(text), 0)
    except ValueError:
        return 0


def _start_from() -> int:
    raw = resume_id()
    return -1 if raw is None else position(raw)  # -1: only what happens from now on


def _events(db: Engine, user: User, start: int, signed_in: Callable[[], bool]) -> Iterator[str]:
    # A position past the feed's end (an id from another database, or made
    # up) starts from the end: read as given, nothing would ever be sent.
    latest = last_change(db)
    seq = latest if start < 0 else min(start, latest)

    def read() -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        nonlocal seq
        batch = changes_after(db, seq)
        if batch:
            seq = batch[-1]["seq"]
        return [(str(c["seq"]), c) for c in batch], len(batch) == _PAGE

    yield from events(db, user, (str(seq), {"seq": seq}), read, signed_in)


def events(
    db: Engine,
    user: User,
    hello: tuple[str, dict[str, Any]],
    read: Read,
    signed_in: Callable[[], bool],
) -> Iterator[str]:
    """The Server-Sent Events of a feed, for ``user``.

    First ``event: hello`` with ``hello``'s id and data, then each change
    ``read`` gives that the user may see: ``id`` its SSE id, ``event`` its
    ``kind``, ``data`` the change but its ``seq`` and ``kind`` (``ref`` and
    ``data``, and whatever a feed tags it with). Waits on ``LISTEN
    oms_changes`` of ``db`` between reads, keeps the connection alive and
    ends when the user is signed out (``signed_in``) or after
    ``STREAM_MAX_S``.
    """
    cfg = current_app.config
    keepalive = float(cfg.get("STREAM_KEEPALIVE_S", 15.0))
    lifetime = float(cfg.get("STREAM_MAX_S", 3600.0))
    # A revoked token or an ended session stops the stream within this.
    recheck = float(cfg.get("STREAM_AUTH_S", 3.0))
    waiter = Listener(db, FEED_CHANNEL, poll_s=float(cfg.get("STREAM_POLL_S", 0.2)))
    began = last_sent = checked = time.monotonic()
    try:
        yield f"retry: 1000\nid: {hello[0]}\nevent: hello\ndata: {json.dumps(hello[1])}\n\n"
        while time.monotonic() - began < lifetime:
            if time.monotonic() - checked >= recheck:
                if not signed_in():
                    yield "event: signed_out\ndata: {}\n\n"
                    return
                checked = time.monotonic()
            batch, more = read()
            for sse_id, change in batch:
                if _visible(change, user):
                    data = json.dumps({k: v for k, v in change.items() if k not in ("seq", "kind")})
                    yield f"id: {sse_id}\nevent: {change['kind']}\ndata: {data}\n\n"
                    last_sent = time.monotonic()
            if more:
                continue  # catching up: no waiting
            if time.monotonic() - last_sent >= keepalive:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            waiter.wait(min(keepalive, recheck))
    finally:
        waiter.close()


def respond(messages: Iterator[str]) -> Response:
    """A streamed ``text/event-stream`` answer of ``messages`` (kept in the request's context)."""
    response = Response(stream_with_context(messages), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


@bp.get("/stream")
@require()
def stream() -> Response:
    """Server-Sent Events of every change (see the module doc)."""
    user, cred = current_user(), credential()
    assert user is not None and cred is not None
    return respond(_events(database(), user, _start_from(), lambda: still_signed_in(cred)))
