"""The access audit: every state change and login through the server.

Each row has the time, the user, the device (for handhelds), the remote
address, the action (``login``, ``login_failed``, ``event:job_arrive``,
``device_revoke``...), what it acted on, the outcome and, when the client
sent one, the position it reported (``X-Position: lon,lat``).

Audit times and the login-throttling window are real (wall-clock) time on
purpose, not the engine service's clock that reads answer by: an audit row
records when a person acted, and a lock-out window measured by an
accelerated demo clock would end in seconds, by a fixed test clock never.
(:mod:`webmap.accounts` stamps users and devices with wall time likewise.)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import request
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from oms.storage import schema

__all__ = ["SECURITY_BURST", "begin_login", "finish_login", "position", "record", "refused"]

#: Refused requests (403, unknown or revoked tokens, forbidden events) from
#: one user or one address within ``SECURITY_WINDOW_S`` that raise a
#: ``security`` alert for the administrators.
SECURITY_BURST = 10
SECURITY_WINDOW_S = 300.0


def position() -> tuple[float | None, float | None]:
    """The ``X-Position: lon,lat`` header of the request, if well-formed."""
    raw = request.headers.get("X-Position", "")
    try:
        lon, lat = (float(x) for x in raw.split(","))
    except ValueError:
        return None, None
    if -180 <= lon <= 180 and -90 <= lat <= 90:
        return lon, lat
    return None, None


def record(
    db: Engine,
    action: str,
    outcome: str,
    *,
    username: str | None = None,
    device: str | None = None,
    ref: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Write one audit row in its own transaction (it must survive a failed action);
    returns its sequence number."""
    lon, lat = position()
    with db.begin() as conn:
        seq = conn.execute(
            insert(schema.audit)
            .values(
                time=datetime.now(timezone.utc),
                username=username,
                device=device,
                remote=request.remote_addr,
                action=action[:64],
                ref=None if ref is None else ref[:128],  # the column's width
                outcome=outcome,
                lon=lon,
                lat=lat,
                detail=detail or {},
            )
            .returning(schema.audit.c.seq)
        ).scalar_one()
    return int(seq)


def begin_login(db: Engine, username: str, window_s: float) -> tuple[int, int, int]:
    """Record a sign-in attempt as failed until it succeeds, then count.

    Returns the attempt's row and the failed (or still pending) attempts
    within the window, this one included: for this user name, and from
    this address. Recording before counting is what makes the limit hold
    for attempts made at the same moment, in any server process.
    """
    a = schema.audit
    remote = request.remote_addr
    seq = record(db, "login_failed", "pending", ref=username)
    since = datetime.now(timezone.utc) - timedelta(seconds=window_s)
    recent = (a.c.action == "login_failed") & (a.c.time >= since)
    with db.connect() as conn:
        by_name = conn.execute(
            select(func.count()).select_from(a).where(recent & (a.c.ref == username[:128]))
        ).scalar()
        by_remote = conn.execute(
            select(func.count()).select_from(a).where(recent & (a.c.remote == remote))
        ).scalar()
    return int(seq), int(by_name or 0), int(by_remote or 0)


def finish_login(
    db: Engine, seq: int, action: str, outcome: str, *, username: str | None = None
) -> None:
    """What became of the attempt :func:`begin_login` recorded."""
    a = schema.audit
    with db.begin() as conn:
        conn.execute(
            update(a)
            .where(a.c.seq == seq)
            .values(action=action, outcome=outcome, username=username)
        )


def refused(
    db: Engine,
    why: str,
    *,
    username: str | None = None,
    device: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a refused request (a security event: who, where, why) and, at the
    :data:`SECURITY_BURST`-th from one user or address within the window, raise a
    ``security`` alert (level ``breach``: of the security standard) for the administrators."""
    a = schema.audit
    remote = request.remote_addr
    record(
        db,
        f"refused:{why}",
        "refused",
        username=username,
        device=device,
        ref=f"{request.method} {request.path}",
        detail=detail,
    )
    since = datetime.now(timezone.utc) - timedelta(seconds=SECURITY_WINDOW_S)
    who = (a.c.username == username) if username is not None else (a.c.remote == remote)
    with db.begin() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(a)
            .where((a.c.outcome == "refused") & a.c.action.like("refused:%"))
            .where((a.c.time >= since) & who)
        ).scalar()
        if count == SECURITY_BURST:
            conn.execute(
                insert(schema.alerts).values(
                    time=datetime.now(timezone.utc),
                    kind="security",
                    level="breach",
                    detail={
                        "username": username,
                        "remote": remote,
                        "refused": int(count),
                        "window_s": SECURITY_WINDOW_S,
                        "last": why,
                    },
                )
            )
