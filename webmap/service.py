"""The outage engine as the server runs it: one writer, fed by every process.

Every server process keeps an :class:`~oms.engine.OutageEngine`, but only
one process writes at a time, the *leader*:

- On SQLite (one process) and whenever the ticking thread is off (tests,
  scripts), the process is its own writer: :meth:`EngineService.ingest`
  applies events at once, under a lock.
- On PostgreSQL with several processes (gunicorn workers), the process
  holding a session advisory lock is the leader: it applies what it
  receives, fires the timers every ``tick_s`` seconds, and applies what the
  other processes hand it through the ``intake`` table (``NOTIFY
  oms_intake``), writing each result back (``NOTIFY oms_intake_done``). The
  other processes wait for that result, so a client still gets its answer
  (accepted, duplicate, rejected with the reason) before the response. If
  the leader dies its lock goes with its session and another process takes
  over within a tick; requests it had not taken are still pending and are
  applied by the next leader. One writer means no process ever applies an
  event to stale state, no reload storms, and nobody escalated twice.

The clock is injected (``clock``): the wall clock in production, an
accelerated one in ``oms demo``, a fixed one in tests. Every read of the
server answers as of :meth:`EngineService.now`, that clock; the intake
hand-over's own bookkeeping (when a request was submitted, answered and
may be forgotten) is real time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from oms.authority import SYSTEM, Principal
from oms.config import EngineConfig
from oms.engine import IngestReport, OutageEngine
from oms.exceptions import OMSError
from oms.storage import schema
from oms.storage.postgres import (
    INTAKE_CHANNEL,
    INTAKE_DONE_CHANNEL,
    Listener,
    notify,
    renew_lease,
    try_lock_leader,
)
from oms.storage.queries import engine_clock

__all__ = ["EngineService", "IntakeTimeout", "wall_clock"]

log = logging.getLogger(__name__)


class IntakeTimeout(OMSError):
    """No writing process answered in time (none is running, or it is overloaded):
    nothing is known to be applied, and the same request may be sent again."""

    code: ClassVar[str] = "unavailable"


def wall_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(timezone.utc)


class EngineService:
    """A process's engine, its clock, and its part in the one-writer scheme."""

    def __init__(
        self,
        db: Engine,
        config: EngineConfig | None = None,
        clock: Callable[[], datetime] = wall_clock,
        *,
        intake_timeout_s: float = 30.0,
        lease_s: float = 10.0,
    ) -> None:
        self.db = db
        #: The configuration this process was given (None: the data set's stored one).
        self.given = config
        self.clock = clock
        self.intake_timeout_s = intake_timeout_s
        self.lease_s = lease_s
        self._renewed = 0.0
        self.lock = threading.RLock()
        self._engine: OutageEngine | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leader_conn: Connection | None = None
        # Hand-over to the leader: only on PostgreSQL with the thread running.
        self.shared = False
        self._waiting: dict[int, threading.Event] = {}
        self._waiting_lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._threads: list[threading.Thread] = []

    @property
    def engine(self) -> OutageEngine:
        """The engine, loaded on first use (the network must be loaded)."""
        with self.lock:
            if self._engine is None:
                # One clock: events are "from the future" by this service's clock.
                self._engine = OutageEngine(self.db, self.given, wall_clock=lambda: self.clock())
            return self._engine

    @property
    def config(self) -> EngineConfig:
        """The engine configuration in force: the data set's, once the engine is loaded."""
        if self._engine is not None:
            return self._engine.config
        return self.given or EngineConfig()

    def now(self, conn: Connection) -> datetime:
        """Now, for every read (crews on shift, breaches, reports, public pages, clocks).

        This service's clock, never behind the engine clock stored in
        ``conn``: events stamped ahead of the clock are applied already, so
        the state is as of the later of the two, the clock the engine would
        have if it ticked now (a tick never moves the engine clock back).
        """
        now = self.clock()
        applied = engine_clock(conn)
        return applied if applied is not None and applied > now else now

    @property
    def leader(self) -> bool:
        return not self.shared or self._leader_conn is not None

    # ------------------------------------------------------------- intake
    def ingest(self, objects: Iterable[Any], by: Principal = SYSTEM) -> IngestReport:
        """Validate and apply events (dicts, in order; numbered from 1 for errors)
        sent by ``by`` (from authentication; see :mod:`oms.authority`).

        An event id seen before with other content is rejected (its line names
        the conflict), as ``oms ingest`` does.

        Raises
        ------
        IntakeTimeout
            Handed to the leader, which did not answer in time.
        """
        events = list(objects)
        if self.leader:
            return self._apply([(n, e, by) for n, e in enumerate(events, start=1)])
        return self._hand_over(events, by)

    def _apply(self, numbered: list[tuple[int, Any, Principal]]) -> IngestReport:
        with self.lock:
            try:
                return self.engine.ingest_from(numbered)
            except Exception:
                # The engine reloads after a failed transaction; if that failed
                # too (the database went away) its state may be half-applied:
                # start from the database again next time.
                self._engine = None
                raise

    def _hand_over(self, events: list[Any], by: Principal) -> IngestReport:
        self._listen_for_results()
        with self.db.begin() as conn:
            seq = conn.execute(
                insert(schema.intake)
                .values(
                    submitted_at=wall_clock(),
                    events=events,
                    sender=asdict(by),
                    status="pending",
                )
                .returning(schema.intake.c.seq)
            ).scalar_one()
            notify(conn, INTAKE_CHANNEL, str(seq))
        done = threading.Event()
        with self._waiting_lock:
            self._waiting[seq] = done
        try:
            deadline = time.monotonic() + self.intake_timeout_s
            while time.monotonic() < deadline:
                result = self._result(seq)
                if result is not None:
                    return _report(result)
                done.wait(1.0)  # woken by NOTIFY; the poll covers a missed one
            raise IntakeTimeout(
                f"no server process applied the events within {self.intake_timeout_s:.0f} s"
            )
        finally:
            with self._waiting_lock:
                self._waiting.pop(seq, None)

    def _result(self, seq: int) -> dict[str, Any] | None:
        i = schema.intake
        with self.db.connect() as conn:
            row = conn.execute(select(i.c.status, i.c.result).where(i.c.seq == seq)).first()
        if row is None or row.status != "done":
            return None
        result: dict[str, Any] = row.result
        return result

    def _listen_for_results(self) -> None:
        with self._waiting_lock:
            if self._listener is not None:
                return

            def run() -> None:
                while not self._stop.is_set():
                    try:
                        self._wait_notifies(INTAKE_DONE_CHANNEL, self._wake)
                    except Exception:
                        log.exception("intake result listener failed; reconnecting")
                        self._stop.wait(1.0)

            self._listener = self._spawn(run, "oms-intake-done")

    def _wake(self, payload: str) -> None:
        with self._waiting_lock:
            for seq in payload.split(","):
                event = self._waiting.get(int(seq)) if seq.isdigit() else None
                if event is not None:
                    event.set()

    def _wait_notifies(self, channel: str, handle: Callable[[str], None]) -> None:
        with Listener(self.db, channel) as listener:
            while not self._stop.is_set():
                for payload in listener.wait(1.0):
                    handle(payload)

    # ------------------------------------------------------------- leader
    def _try_lead(self) -> bool:
        if not self.shared:
            return True
        if self._leader_conn is None:
            conn = self.db.connect()
            got = try_lock_leader(conn, self.lease_s)
            conn.commit()
            if not got:
                conn.close()
                return False
            self._leader_conn = conn
            self._renewed = time.monotonic()
            log.info("this process now writes for every server process")
        elif time.monotonic() - self._renewed > self.lease_s / 4:
            # Raises when the server ended the session (this process hung
            # past its lease): the loop drops the lead and asks again.
            renew_lease(self._leader_conn)
            self._renewed = time.monotonic()
        return True

    def _drop_lead(self) -> None:
        if self._leader_conn is not None:
            # Close the session itself (not back to the pool): the lock goes with it.
            self._leader_conn.invalidate()
            self._leader_conn.close()
            self._leader_conn = None

    def apply_pending(self) -> int:
        """Apply the requests other processes handed over, oldest first, in one
        ingest (one transaction per engine batch), and answer each. Leader only."""
        i = schema.intake
        with self.db.connect() as conn:
            rows = conn.execute(
                select(i.c.seq, i.c.events, i.c.sender)
                .where(i.c.status == "pending")
                .order_by(i.c.seq)
                .limit(1000)
            ).all()
        if not rows:
            return 0
        numbered: list[tuple[int, Any, Principal]] = []
        spans: list[tuple[int, int, int]] = []  # (seq, first line, last line)
        for row in rows:
            by, base = _sender(row.sender), len(numbered)
            spans.append((row.seq, base + 1, base + len(row.events)))
            numbered.extend((base + k, e, by) for k, e in enumerate(row.events, 1))
        report = self._apply(numbered)
        done = wall_clock()
        with self.db.begin() as conn:
            for seq, first, last in spans:
                rejected = [
                    {**r, "line": r["line"] - first + 1}
                    for r in report.rejected
                    if first <= r["line"] <= last
                ]
                duplicates = sum(1 for n in report.duplicate_lines if first <= n <= last)
                result = {
                    "accepted": last - first + 1 - len(rejected) - duplicates,
                    "duplicates": duplicates,
                    "rejected": rejected,
                }
                row_done = update(i).where(i.c.seq == seq)
                conn.execute(row_done.values(status="done", result=result, done_at=done))
            notify(conn, INTAKE_DONE_CHANNEL, ",".join(str(seq) for seq, _, _ in spans))
        return len(rows)

    def tick(self) -> None:
        """Fire the timers as of the clock (never moves the engine clock back)."""
        with self.lock:
            engine = self.engine
            now = self.clock()
            if engine.clock is None or now > engine.clock:
                engine.tick(now)

    def start(self, tick_s: float) -> None:
        """Run the timers every ``tick_s`` seconds (and, on PostgreSQL, the
        hand-over from other processes) in a daemon thread until :meth:`stop`."""
        if tick_s <= 0 or self._thread is not None:
            return
        self.shared = self.db.dialect.name == "postgresql"
        pending = threading.Event()

        def lead() -> None:
            next_tick = time.monotonic() + tick_s
            while not self._stop.is_set():
                try:
                    if not self._try_lead():
                        # Another process writes: ask again a tick later.
                        self._stop.wait(tick_s)
                        continue
                    if self.shared:
                        self.apply_pending()
                        self._prune()
                    if time.monotonic() >= next_tick:
                        self.tick()
                        next_tick = time.monotonic() + tick_s
                    wait = min(next_tick - time.monotonic(), self.lease_s / 4)
                    pending.wait(max(wait, 0.01))
                    pending.clear()
                except Exception:  # keep going: one failure must not stop the timers
                    log.exception("engine leader loop failed")
                    self._drop_lead()
                    self._stop.wait(1.0)

        self._thread = self._spawn(lead, "oms-leader")
        if self.shared:

            def listen() -> None:
                while not self._stop.is_set():
                    try:
                        self._wait_notifies(INTAKE_CHANNEL, lambda _p: pending.set())
                    except Exception:
                        log.exception("intake listener failed; reconnecting")
                        self._stop.wait(1.0)

            self._spawn(listen, "oms-intake")

    def _spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        """A background thread that :meth:`stop` waits for."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _prune(self) -> None:
        """Forget answered hand-overs after an hour (at most once a minute)."""
        now = time.monotonic()
        if now - getattr(self, "_pruned", 0.0) < 60:
            return
        self._pruned = now
        i = schema.intake
        with self.db.begin() as conn:
            conn.execute(
                delete(i).where(
                    (i.c.status == "done") & (i.c.done_at < wall_clock() - timedelta(hours=1))
                )
            )

    def stop(self) -> None:
        """Stop the timers and listeners, and wait for them (a listener waits
        at most a second for a notification before it looks at the flag)."""
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        self._threads.clear()
        self._thread = self._listener = None
        self._drop_lead()


def _sender(doc: Any) -> Principal:
    """Who handed a request over; a request that does not say may do nothing."""
    try:
        return Principal(str(doc["username"]), str(doc["role"]), doc.get("crew"))
    except (KeyError, TypeError):
        return Principal("unknown", "none")


def _report(result: dict[str, Any]) -> IngestReport:
    return IngestReport(
        accepted=int(result["accepted"]),
        duplicates=int(result["duplicates"]),
        rejected=list(result["rejected"]),
    )
