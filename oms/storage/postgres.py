"""How processes sharing one PostgreSQL coordinate: advisory locks and LISTEN/NOTIFY.

One place for the lock keys and channel names, and for the two ways of
waiting: a transaction-scoped lock for the one writer of each batch, a
session lock for the one process that applies everybody's events, and
:class:`Listener` for notifications. On SQLite the writer takes the
database's write lock at the start of its transaction; the leader lease and
notifications are no-ops and a listener just sleeps.
"""

from __future__ import annotations

import select as selectors
import time
from types import TracebackType
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "FAN_OUT_LOCK",
    "FEED_CHANNEL",
    "INTAKE_CHANNEL",
    "INTAKE_DONE_CHANNEL",
    "LEADER_LOCK",
    "WRITER_LOCK",
    "Listener",
    "is_postgres",
    "lock_fan_out",
    "lock_writer",
    "notify",
    "renew_lease",
    "try_lock_leader",
]

#: One transaction writes engine state at a time ("oms"), per schema: each
#: schema of one database (a control region, docs/scaling.md) has its own writer.
WRITER_LOCK = 0x6F6D73
#: The process that applies every process's events and runs the timers ("omst"),
#: per schema.
LEADER_LOCK = 0x6F6D7374
#: One fan-out of customer notices at a time ("omsn"), per schema: messages are
#: numbered in the order of their notices.
FAN_OUT_LOCK = 0x6F6D736E
#: The two-key advisory lock of ``key`` for the connection's current schema.
_PER_SCHEMA = "(:k, hashtext(current_schema()))"
#: Told of every commit to the ``changes`` feed (wakes the live streams).
FEED_CHANNEL = "oms_changes"
#: Told of a request handed to the leader, and of its answer.
INTAKE_CHANNEL = "oms_intake"
INTAKE_DONE_CHANNEL = "oms_intake_done"


def is_postgres(bind: Connection | Engine) -> bool:
    return bind.dialect.name == "postgresql"


def lock_writer(conn: Connection) -> None:
    """Wait to be the one writer; released when the transaction ends.

    On SQLite the driver opens a transaction only at the first write, so a
    read before it (the stale check) could see the database before another
    process's commit and then write over it (an outage counter set back: every
    new outage refused as a duplicate for good). A first, empty write takes
    SQLite's write lock at once: other writers wait (``busy_timeout``) and
    every read after it sees the latest commit.
    """
    if is_postgres(conn):
        conn.execute(text(f"SELECT pg_advisory_xact_lock{_PER_SCHEMA}"), {"k": WRITER_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE engine_state SET value = value WHERE key = 'generation'"))


def lock_fan_out(conn: Connection) -> None:
    """Wait to be the one fan-out of notices (PostgreSQL; SQLite's write lock
    serializes it already); released when the transaction ends."""
    if is_postgres(conn):
        conn.execute(text(f"SELECT pg_advisory_xact_lock{_PER_SCHEMA}"), {"k": FAN_OUT_LOCK})


def try_lock_leader(conn: Connection, lease_s: float) -> bool:
    """Try to become the leader; the lock lasts as long as ``conn``'s session.

    The lock is a lease: the server ends the session (and so releases the
    lock) when it sits idle for ``lease_s``, so a leader that hangs (stopped,
    swapping, stuck) is replaced within seconds, where a session lock alone
    would be held for as long as the hung process lives. The leader renews
    the lease by using the connection (:func:`renew_lease`) well within it.
    """
    if not is_postgres(conn):
        return True
    locked = conn.execute(text(f"SELECT pg_try_advisory_lock{_PER_SCHEMA}"), {"k": LEADER_LOCK})
    got = bool(locked.scalar())
    if got:
        ms = str(max(1000, int(lease_s * 1000)))
        conn.execute(text("SELECT set_config('idle_session_timeout', :ms, false)"), {"ms": ms})
    return got


def renew_lease(conn: Connection) -> None:
    """Show the server the leader is alive (any statement resets its idle timer)."""
    if is_postgres(conn):
        conn.execute(text("SELECT 1"))
        conn.commit()


def notify(conn: Connection, channel: str, payload: str = "") -> None:
    """Tell listeners of ``channel`` at commit (nothing on SQLite)."""
    if is_postgres(conn):
        conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})


class Listener:
    """Waits for notifications on channels, on a connection of its own.

    The connection is made outside the engine's pool: a listener lives as
    long as a live stream or a server process, and a pooled connection
    would both starve the pool and go back to it in autocommit mode. On
    SQLite, :meth:`wait` sleeps for the poll interval and returns nothing.
    """

    def __init__(self, db: Engine, *channels: str, poll_s: float = 0.2) -> None:
        self.poll_s = poll_s
        self._pg: Any = None
        if is_postgres(db):
            cargs, cparams = db.dialect.create_connect_args(db.url)
            self._pg = db.dialect.connect(*cargs, **cparams)
            self._pg.autocommit = True  # LISTEN takes effect at once
            with self._pg.cursor() as cur:
                for channel in channels:
                    cur.execute(f"LISTEN {channel}")

    def wait(self, timeout: float) -> list[str]:
        """Payloads that arrived within ``timeout`` seconds (maybe none)."""
        pg = self._pg
        if pg is None:
            time.sleep(min(self.poll_s, timeout))
            return []
        if not pg.notifies:
            selectors.select([pg], [], [], timeout)
        pg.poll()
        payloads = [n.payload for n in pg.notifies]
        pg.notifies.clear()
        return payloads

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()  # the session, and its LISTEN, end with it
            self._pg = None

    def __enter__(self) -> Listener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
