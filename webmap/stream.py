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
user ends it with a ``signed_out`` event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from oms.storage import schema
from oms.storage.postgres import FEED_CHANNEL, Listener
from oms.storage.switching import concerns
from webmap.accounts import User
from webmap.auth import credential, current_user, require, still_signed_in
from webmap.db import database

__all__ = ["bp", "changes_after", "last_change"]

bp = Blueprint("stream", __name__)
_PAGE = 500


def changes_after(db: Engine, seq: int, limit: int = _PAGE) -> list[dict[str, Any]]:
    """Changes with a sequence number above ``seq``, oldest first. O(limit)."""
    c = schema.changes
    with db.connect() as conn:
        rows = conn.execute(
            select(c.c.seq, c.c.kind, c.c.ref, c.c.data)
            .where(c.c.seq > seq)
            .order_by(c.c.seq)
            .limit(limit)
        ).all()
    return [{"seq": r.seq, "kind": r.kind, "ref": r.ref, "data": r.data} for r in rows]


def last_change(db: Engine) -> int:
    with db.connect() as conn:
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


def _start_from() -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("since")
    if raw is None:
        return -1  # only what happens from now on
    try:
        return max(int(raw), 0)
    except ValueError:
        return 0


def _events(db: Engine, user: User, start: int, signed_in: Callable[[], bool]) -> Iterator[str]:
    cfg = current_app.config
    keepalive = float(cfg.get("STREAM_KEEPALIVE_S", 15.0))
    lifetime = float(cfg.get("STREAM_MAX_S", 3600.0))
    # A revoked token or an ended session stops the stream within this.
    recheck = float(cfg.get("STREAM_AUTH_S", 3.0))
    seq = last_change(db) if start < 0 else start
    waiter = Listener(db, FEED_CHANNEL, poll_s=float(cfg.get("STREAM_POLL_S", 0.2)))
    began = last_sent = checked = time.monotonic()
    try:
        yield f"retry: 1000\nid: {seq}\nevent: hello\ndata: {json.dumps({'seq': seq})}\n\n"
        while time.monotonic() - began < lifetime:
            if time.monotonic() - checked >= recheck:
                if not signed_in():
                    yield "event: signed_out\ndata: {}\n\n"
                    return
                checked = time.monotonic()
            batch = changes_after(db, seq)
            for change in batch:
                seq = change["seq"]
                if _visible(change, user):
                    data = json.dumps({"ref": change["ref"], "data": change["data"]})
                    yield f"id: {seq}\nevent: {change['kind']}\ndata: {data}\n\n"
                    last_sent = time.monotonic()
            if len(batch) == _PAGE:
                continue  # catching up: no waiting
            if time.monotonic() - last_sent >= keepalive:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            waiter.wait(min(keepalive, recheck))
    finally:
        waiter.close()


@bp.get("/stream")
@require()
def stream() -> Response:
    """Server-Sent Events of every change (see the module doc)."""
    user, cred = current_user(), credential()
    assert user is not None and cred is not None
    response = Response(
        stream_with_context(
            _events(database(), user, _start_from(), lambda: still_signed_in(cred))
        ),
        mimetype="text/event-stream",
    )
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
