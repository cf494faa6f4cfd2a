"""The outage engine as the server runs it: one per process, behind a lock.

Every server process keeps one :class:`~oms.engine.OutageEngine`. Intake
(``POST /api/events``, the dispatcher's and the handheld's actions) goes
through :meth:`EngineService.ingest`; a background thread calls
:meth:`EngineService.tick` every ``tick_s`` seconds with the server's clock,
so acknowledgement timeouts, target warnings and escalations fire on time.
Within a process the lock serialises the engine; across processes (gunicorn
workers on one PostgreSQL) the engine's advisory lock makes one writer at a
time, and an engine that finds the log moved on reloads before it writes.

The clock is injected (``clock``): the wall clock in production, an
accelerated one in ``oms demo``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.engine import Engine

from oms.config import EngineConfig
from oms.engine import IngestReport, OutageEngine

__all__ = ["EngineService", "wall_clock"]

log = logging.getLogger(__name__)


def wall_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(timezone.utc)


class EngineService:
    """A process's engine, its lock, its clock and its ticking thread."""

    def __init__(
        self,
        db: Engine,
        config: EngineConfig | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.db = db
        self.config = config or EngineConfig()
        self.clock = clock
        self.lock = threading.RLock()
        self._engine: OutageEngine | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def engine(self) -> OutageEngine:
        """The engine, loaded on first use (the network must be loaded)."""
        with self.lock:
            if self._engine is None:
                self._engine = OutageEngine(self.db, self.config)
            return self._engine

    def ingest(self, objects: Iterable[Any]) -> IngestReport:
        """Validate and apply events (dicts, in order); numbered from 1 for errors."""
        with self.lock:
            return self.engine.ingest_objects(enumerate(objects, start=1))

    def tick(self) -> None:
        """Fire the timers as of the clock (never moves the engine clock back)."""
        with self.lock:
            engine = self.engine
            now = self.clock()
            if engine.clock is None or now > engine.clock:
                engine.tick(now)

    def start(self, tick_s: float) -> None:
        """Tick every ``tick_s`` seconds in a daemon thread until :meth:`stop`."""
        if tick_s <= 0 or self._thread is not None:
            return

        def run() -> None:
            while not self._stop.wait(tick_s):
                try:
                    self.tick()
                except Exception:  # keep ticking: one failed tick must not stop the timers
                    log.exception("engine tick failed")

        self._thread = threading.Thread(target=run, name="oms-tick", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
