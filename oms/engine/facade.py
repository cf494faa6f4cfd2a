"""The outage engine as callers see it: events in, in batches; outages kept located.

Data flow (``docs/engine.md``)::

    objects -> parse_event -> batch -> one transaction (Repository.transaction):
        skip duplicates, reject conflicts (Repository.digests)
        apply each event to the core (EngineCore.apply)
        re-predict and reconcile the outages and jobs (EngineCore.reconcile)
        append the new events to the log, write the changes (Repository)
    then, in a transaction of its own: customer notices fanned out (inline)

An event counts as acknowledged when its batch commits. The core lives in
memory; on start it is rebuilt from the database (outages, device states,
the clock, and the log's telemetry replayed), so a process killed at any
point and started again on the same database continues exactly where the
last commit left it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.engine import Connection, Engine

from oms.authority import SYSTEM, Principal, admit
from oms.config import EngineConfig
from oms.dispatch.rules import Decision
from oms.engine.core import EngineCore
from oms.engine.orders import OrderBook
from oms.engine.repository import Repository, fan_out
from oms.exceptions import ActionError, EventConflict, EventError, NotFound, OMSError
from oms.intake.events import IDLE, Event, iso, parse_event, read_lines

__all__ = ["IngestReport", "OutageEngine"]

log = logging.getLogger(__name__)

#: Within a long ingest, fan out inline once this many notices wait (one
#: transaction for them all); every call fans out what it wrote before it returns.
FAN_OUT_AT = 1000


@dataclass
class IngestReport:
    """What an ingest did (contract 4): counts and the rejected lines.

    A rejected line is ``{"line", "error", "code"}``: ``code`` is the ``code``
    of the exception that rejected it (:mod:`oms.exceptions`: ``invalid``,
    ``conflict``, ``refused``, ``not_found``), so callers never read the
    message to classify it. It is not part of contract 4: :meth:`to_dict`
    leaves it out, :meth:`codes` collects it.
    """

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: Line numbers of the duplicates (not part of the contract-4 output).
    duplicate_lines: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Contract 4 (``oms ingest --json``): each rejected line is ``{"line", "error"}``."""
        rejected = [{"line": r["line"], "error": r["error"]} for r in self.rejected]
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": rejected}

    def reject(self, line: int, error: OMSError) -> None:
        self.rejected.append({"line": line, "error": str(error), "code": error.code})

    def codes(self) -> set[str]:
        """The codes of the rejected lines (``invalid`` for a line recorded without one)."""
        return {r.get("code", EventError.code) for r in self.rejected}


class OutageEngine:
    """Keeps the outages of one database located from the events it is given.

    Parameters
    ----------
    db : sqlalchemy.engine.Engine
        An open, migrated database (:func:`oms.storage.db.connect`) with a network.
    config : EngineConfig, optional
    wall_clock : callable, optional
        Returns the time an event is received (stored, never decided on).

    Notes
    -----
    One engine writes at a time: on PostgreSQL each batch takes an advisory
    lock, and an engine that finds events it did not write reloads its state
    before going on.
    """

    def __init__(
        self,
        db: Engine,
        config: EngineConfig | None = None,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.db = db
        # Only stamps when an event was received; decisions use event time.
        self.wall_clock = wall_clock
        self.repository = Repository(db)
        # Notices this engine wrote and has not fanned out (inline); 1 at start:
        # a process that stopped between a commit and its fan-out left some.
        self._unfanned = 1
        self._written = 0  # notices the running transaction wrote
        # One configuration per data set: given, it becomes the data set's
        # (every process then decides alike); not given, the stored one is used.
        if config is not None:
            self.repository.store_config(config)
        self.config = config or EngineConfig()
        self.core = self._load()

    @property
    def clock(self) -> datetime | None:
        """The engine clock: the time of the latest event applied (None before any)."""
        return self.core.clock

    @property
    def book(self) -> OrderBook:
        """The order book: jobs and crews (read it; act through events)."""
        assert self.core.book is not None
        return self.core.book

    # -------------------------------------------------------------- intake
    def ingest(
        self, lines: Iterable[str | bytes], *, progress: Callable[[int], None] | None = None
    ) -> IngestReport:
        """Validate and apply JSON lines (contract 3); see :meth:`ingest_objects`.

        Each line is stored in the log as it was received; a line of bytes
        that is not UTF-8 is rejected with its number. The lines come from
        the command line: :data:`oms.authority.SYSTEM` sends them.
        """
        return self._ingest(((n, obj, raw, SYSTEM) for n, obj, raw in read_lines(lines)), progress)

    def ingest_objects(
        self,
        numbered: Iterable[tuple[int, Any]],
        *,
        progress: Callable[[int], None] | None = None,
        by: Principal = SYSTEM,
    ) -> IngestReport:
        """Validate ``(line number, object)`` pairs and apply them in batches.

        Invalid lines are reported with their number and reason and skipped;
        the valid ones are applied in order. ``by`` is who sent them (from
        authentication): an event its role may not send is rejected
        (``forbidden``), and actions are stamped with its name
        (:func:`oms.authority.admit`). Returns an :class:`IngestReport`.
        """
        return self._ingest(((n, obj, None, by) for n, obj in numbered), progress)

    def ingest_from(self, numbered: Iterable[tuple[int, Any, Principal]]) -> IngestReport:
        """As :meth:`ingest_objects`, each object with its own sender (requests
        that other server processes handed over, applied together)."""
        return self._ingest(((n, obj, None, by) for n, obj, by in numbered), None)

    def _ingest(
        self,
        numbered: Iterable[tuple[int, Any, str | None, Principal]],
        progress: Callable[[int], None] | None,
    ) -> IngestReport:
        report = IngestReport()
        batch: list[tuple[int, Event]] = []

        def apply_batch() -> None:
            if batch:
                self._commit(batch, report)
                if progress:
                    progress(len(batch))
                batch.clear()

        for number, obj, raw, by in numbered:
            if obj is IDLE:  # a live input fell quiet: what waits for more goes now
                apply_batch()
                continue
            if isinstance(obj, EventError):
                report.reject(number, obj)
                continue
            try:
                try:
                    event = parse_event(admit(by, obj), self.core.directory, raw)
                except EventError:
                    if not any(e.type == "crew_add" for _, e in batch):
                        raise
                    # It may name a crew this batch adds: apply the batch, then look again.
                    apply_batch()
                    event = parse_event(admit(by, obj), self.core.directory, raw)
                self._not_ahead(event)
            except EventError as exc:
                report.reject(number, exc)
                continue
            if batch and (
                len(batch) >= self.config.batch_size
                or (event.time - batch[0][1].time).total_seconds() > self.config.batch_seconds
            ):
                apply_batch()
            batch.append((number, event))
        apply_batch()
        self._fan_out_inline(done=True)
        report.rejected.sort(key=lambda r: r["line"])
        return report

    def _not_ahead(self, event: Event) -> None:
        """An event from the future would move the engine clock there for good."""
        skew = self.config.max_clock_skew_s
        if skew is None:
            return
        ahead = (event.time - self.wall_clock()).total_seconds()
        if ahead > skew:
            raise EventError(
                f"time {iso(event.time)} is {ahead:.0f} s ahead of the clock "
                f"(at most {skew:.0f} s is accepted)"
            )

    def _commit(self, batch: list[tuple[int, Event]], report: IngestReport) -> None:
        self._transaction(lambda conn: self._commit_batch(conn, batch, report))
        self._fan_out_inline(done=False)

    def _commit_batch(
        self, conn: Connection, batch: list[tuple[int, Event]], report: IngestReport
    ) -> None:
        core = self.core
        known = self.repository.digests(conn, list({e.id for _, e in batch}))
        core.begin()
        accepted: list[Event] = []
        for number, event in batch:
            seen = known.get(event.id)
            if seen == event.digest:
                report.duplicates += 1
                report.duplicate_lines.append(number)
                continue
            if seen is not None:
                report.reject(number, _conflict(event.id))
                continue
            try:
                core.apply(event)
            except (ActionError, NotFound) as exc:
                report.reject(number, exc)
                continue
            known[event.id] = event.digest
            accepted.append(event)
        if accepted:
            core.reconcile()
            self.repository.append(conn, accepted, self.wall_clock(), core)
            self._write(conn)
        report.accepted += len(accepted)

    def tick(self, now: datetime) -> None:
        """Let time pass to ``now`` with no new event, and act on it.

        Time-driven rules (meters that have not reported back after a
        restoration, evidence ageing out of the window, job timers) are
        evaluated as of ``now``; the clock never moves backwards. The live
        server calls this with its clock, a simulation with its own.
        """
        if self.clock is not None and now <= self.clock:
            return

        def work(conn: Connection) -> None:
            self.core.begin()
            self.core.advance(now)
            self.core.reconcile()
            self._write(conn)

        self._transaction(work)
        self._fan_out_inline(done=True)

    def _write(self, conn: Connection) -> None:
        book = self.core.book
        written = len(book.outbox.queued) if book is not None and book.outbox is not None else 0
        self.repository.write(conn, self.core)
        self._written += written
        self.core.settle()

    def fan_out(self) -> int:
        """Turn the customer notices written so far into messages per customer
        and channel (:func:`oms.engine.repository.fan_out`), stamped with the
        engine clock; how many messages were queued."""
        if self.core.clock is None:
            return 0
        return fan_out(self.db, self.core.clock)

    def _transaction(self, work: Callable[[Connection], None]) -> None:
        """Run ``work`` as the one writer, in one transaction.

        When another process wrote meanwhile, the state is read again under
        the writer's lock first (:meth:`Repository.transaction`); on any
        failure reload, since the in-memory state may be half-applied.
        """

        def reload() -> None:
            self.core = self._load()

        self._written = 0
        try:
            self.repository.transaction(work, reload)
        except BaseException:
            try:
                reload()
            except BaseException:
                # Still half-applied (the database is away, say): the next
                # transaction reads the state again before anything else.
                self.repository.distrust()
                raise
            raise
        self._unfanned += self._written

    def _fan_out_inline(self, *, done: bool) -> None:
        """Fan out the notices written, off the batches' transactions (the
        writer's lock is released): when the call is ``done``, or within a
        long one once there are enough to share a transaction."""
        if self.config.dispatch.fan_out != "inline":
            return
        if self._unfanned and (done or self._unfanned >= FAN_OUT_AT):
            self._unfanned = 0
            try:
                self.fan_out()
            except Exception:  # the batches are committed: report them as such
                # The notices stay pending: the next call, or the notifier
                # (oms notify send fans out first), picks them up.
                self._unfanned = 1
                log.exception("fanning out customer notices failed; they stay pending")

    def refresh(self) -> None:
        """Reload if another process wrote since this engine last looked (reads stay current)."""
        if self.repository.stale():
            self.core = self._load()

    def _load(self) -> EngineCore:
        """The state the last commit left, under the data set's configuration."""
        self.config = self.repository.stored_config() or self.config
        return self.repository.load(self.config)

    # ------------------------------------------------------------ reading
    def suggest(self, job_id: str, now: datetime) -> Decision:
        """The crew to send to a job as of ``now``, with the rule and every alternative.

        Raises
        ------
        ActionError
            No such job, or it is not waiting for a crew.
        """
        return self.book.suggest(job_id, now)

    def study(self, order_id: str | None = None, steps: Any = None) -> dict[str, Any]:
        """Study mode: an order (an open one by id, or ``steps`` as in
        ``order_create``) run on a copy of the network as operated now.

        Nothing changes. Returns the study's summary and every step's
        effect and findings (:mod:`oms.switching.study`).

        Raises
        ------
        ActionError, NotFound
            Steps that do not parse (named), or no open order with that id.
        """
        from oms.engine.desk import parse_order_steps, study

        core = self.core
        if order_id is not None:
            order = core.desk.get_order(order_id)
            return study(core, order.steps, order.critical_listed).to_dict()
        return study(core, parse_order_steps(core, steps)).to_dict()

    def take_ping_requests(self) -> list[dict[str, Any]]:
        """Unsent ping requests, marked sent: the AMI head-end adapter's outbox."""
        return self.repository.take_ping_requests()

    def snapshot(self) -> list[dict[str, Any]]:
        """Every outage that is not cancelled, as contract-4 dicts, by start time."""
        return self.repository.snapshot()


def _conflict(event_id: str) -> EventConflict:
    return EventConflict(f"event id {event_id!r} was seen before with different content")
