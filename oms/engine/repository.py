"""The engine's storage: the only module of :mod:`oms.engine` that talks to the database.

- :meth:`Repository.load` reads back what the last commit left and replays
  the log's telemetry into a fresh :class:`~oms.engine.core.EngineCore`.
- :meth:`Repository.transaction` runs one batch as the single writer: it
  takes the writer's lock (PostgreSQL: an advisory lock per schema; SQLite:
  the database's write lock) and, when another process wrote since this one
  last looked, reads the state again under it before the batch.
- :meth:`Repository.digests` and :meth:`Repository.append` keep the event
  log idempotent on event id; :meth:`Repository.write` writes a batch's
  :class:`~oms.engine.changes.Changes` (outages, audit, device states, jobs,
  pings, the engine state) and the numbered ``changes`` feed, with a
  ``NOTIFY`` on PostgreSQL that wakes every server process's live stream.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError

from oms.config import EngineConfig
from oms.dispatch.jobs import CrewState, Job
from oms.dispatch.roads import RoadGraph
from oms.engine.core import EngineCore, Stored
from oms.engine.desk import DESK_COUNTERS, FINISHED, StoredDesk, desk_kind
from oms.engine.orders import OrderBook, StoredBook
from oms.engine.outbox import Outbox, messages_of
from oms.engine.timebase import to_seconds
from oms.exceptions import EventError, OMSError
from oms.intake.events import Event, as_utc, iso, parse_event
from oms.outages import ACTIVE_STATES, case_key
from oms.storage import schema
from oms.storage.loading import (
    critical_register,
    device_states,
    register_into_customers,
    stored_network,
)
from oms.storage.postgres import FEED_CHANNEL, lock_fan_out, lock_writer, notify
from oms.switching.documents import SafetyDocument, SwitchingOrder
from oms.switching.field import FieldChange
from oms.switching.planned import PlannedOutage

__all__ = ["FEED_CHANNEL", "Repository", "StaleState", "fan_out", "load_crews"]

_TELEMETRY = ("call", "ami_last_gasp", "ami_restore", "ami_ping_reply", "fci")


class StaleState(Exception):
    """Another process wrote since this engine last looked."""


class Repository:
    """Reads and writes the engine's state in one database (SQLite or PostgreSQL)."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        #: The log position and write generation this process last saw.
        self.last_seq = 0
        self.generation = 0
        self.case_key: str | None = None

    # ------------------------------------------------------------- loading
    def load(self, config: EngineConfig) -> EngineCore:
        """A core in the state the last commit left, with the log's evidence replayed."""
        with self.db.connect() as conn:
            version, net = stored_network(conn)
            state = {r.key: r.value for r in conn.execute(select(schema.engine_state))}
            stored = Stored(
                version=version,
                device_rows=device_states(conn),
                crews=list(conn.execute(select(schema.crews.c.id)).scalars()),
                outages=[_outage(r) for r in conn.execute(select(schema.outages)).mappings()],
                clock=datetime.fromisoformat(state["clock"]) if "clock" in state else None,
                next_outage=int(state.get("next_outage", 1)),
                blinks_until=float(state.get("blinks_until", "-inf")),
                desk=_stored_desk(conn, state),
                damage=_stored_damage(conn),
                register=critical_register(conn),
            )
            self.last_seq = self._max_seq(conn)
        # Bumped by every write: another process's write makes this state stale.
        self.generation = int(state.get("generation", "0"))
        if self.case_key is None:  # made once per database; a reload reads it again for nothing
            with self.db.begin() as conn:
                self.case_key = case_key(conn)
        core = EngineCore(net, config, stored)
        for event in self._telemetry(core):
            core.apply_evidence(event)
        self._pings_sent(core)
        core.ev.dead_answers.clear()  # answered before the restart: followed up then
        core.resume()
        with self.db.connect() as conn:
            core.book = self._order_book(conn, core, state)
        return core

    def _telemetry(self, core: EngineCore) -> Iterator[Event]:
        ev = schema.events
        with self.db.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=20000).execute(
                select(ev.c.payload).where(ev.c.type.in_(_TELEMETRY)).order_by(ev.c.seq)
            )
            for (payload,) in result:
                try:
                    yield parse_event(json.loads(payload), core.directory, stored=True)
                except EventError:
                    continue  # refers to something a newer network version lacks

    def _pings_sent(self, core: EngineCore) -> None:
        """When each unit was last pinged, how often in a row, and about which outage
        (an unanswered ping is evidence, and is asked again)."""
        if core.clock is None or not core.units.are_customers:
            return
        pr = schema.ping_requests
        floor = core.clock - timedelta(hours=core.config.prediction.window_hours)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(pr.c.customer, pr.c.requested_at, pr.c.outage)
                .where(pr.c.requested_at >= floor)
                .order_by(pr.c.seq)
            ).all()
        for customer, at, outage in rows:
            u, when = core.units.of(customer), as_utc(at)
            if u >= 0 and when is not None:
                core.ev.pinged(np.array([u]), to_seconds(when))
                core.pinged_about[u] = outage or ""

    def _order_book(self, conn: Connection, core: EngineCore, state: dict[str, str]) -> OrderBook:
        """The order book as stored; ``state`` is the ``engine_state`` read by :meth:`load`."""
        jobs = schema.jobs
        counter = state.get("next_job")
        stored = StoredBook(
            zones=[dict(r) for r in conn.execute(select(schema.zones)).mappings()],
            units=[dict(r) for r in conn.execute(select(schema.units)).mappings()],
            crews=load_crews(conn),
            jobs=[
                Job.from_row(dict(r))
                for r in conn.execute(
                    select(jobs).where(jobs.c.state.notin_(("closed", "cancelled")))
                ).mappings()
            ],
            done=[
                (kind, area, stamps or {})
                for kind, area, stamps in conn.execute(
                    select(jobs.c.kind, jobs.c.area_class, jobs.c.stamps).where(
                        jobs.c.state.in_(("restored", "closed"))
                    )
                )
            ],
            next_job=int(counter or 1),
            modes=json.loads(state["dispatch_modes"]) if "dispatch_modes" in state else {},
            subscriptions=[dict(r) for r in conn.execute(select(schema.subscriptions)).mappings()],
            case_key=self.case_key,
        )
        stored.acknowledged = _acknowledged(conn, [j.outage for j in stored.jobs if j.outage])
        if core.clock is not None:
            # Warnings as the engine last saw them (a row keeps those of its
            # last write): those reached before the restart are not news again.
            for job in stored.jobs:
                job.evaluate(core.clock)
        return OrderBook(
            stored,
            core.config.dispatch,
            core.locate,
            self._roads,
            core.recipients,
            device_kind=core.device_kind,
        )

    def _roads(self) -> RoadGraph | None:
        with self.db.connect() as conn:
            blob = conn.execute(
                select(schema.documents.c.content).where(schema.documents.c.name == "roads")
            ).scalar()
        if blob is None:
            return None
        try:
            return RoadGraph.from_geojson(bytes(blob))
        except OMSError:
            return None  # dispatch falls back to straight-line estimates

    # ------------------------------------------------------ configuration
    def stored_config(self) -> EngineConfig | None:
        """The data set's engine configuration, as last given to any process."""
        with self.db.connect() as conn:
            text = conn.execute(
                select(schema.engine_state.c.value).where(schema.engine_state.c.key == "config")
            ).scalar()
        return EngineConfig.from_dict(json.loads(text)) if text else None

    def store_config(self, config: EngineConfig) -> None:
        """Make ``config`` the data set's: every process (the server, a command) then
        locates, dispatches and notifies by the same rules, and reloads by them."""
        text = json.dumps(config.to_dict(), sort_keys=True, default=list)
        with self.db.begin() as conn:
            state = schema.engine_state
            same = conn.execute(select(state.c.value).where(state.c.key == "config")).scalar()
            if same != text:
                _upsert(conn, state, state.c.key, "config", {"value": text})

    # --------------------------------------------------------- the writer
    def transaction(
        self, work: Callable[[Connection], None], reload: Callable[[], None] | None = None
    ) -> None:
        """Run ``work`` in one transaction as the one writer.

        When another process wrote since this one last looked, ``reload``
        (the engine's state read again) runs first, under the writer's lock:
        nobody can write in between, so the work then applies to the latest
        state and a busy neighbour never starves this process.

        Raises
        ------
        StaleState
            Another process wrote since, and no ``reload`` was given (nothing done).
        """
        with self.db.begin() as conn:
            lock_writer(conn)
            if self._stale(conn):
                if reload is None:
                    raise StaleState
                reload()
            work(conn)

    def distrust(self) -> None:
        """The state in memory may not be what was committed: the next
        transaction (or :meth:`stale`) finds it stale and reads it again."""
        self.last_seq = -1

    def stale(self) -> bool:
        """Whether another process wrote since this one last looked."""
        with self.db.connect() as conn:
            return self._stale(conn)

    def _stale(self, conn: Connection) -> bool:
        generation = conn.execute(
            select(schema.engine_state.c.value).where(schema.engine_state.c.key == "generation")
        ).scalar()
        return self._max_seq(conn) != self.last_seq or int(generation or 0) != self.generation

    @staticmethod
    def _max_seq(conn: Connection) -> int:
        return int(conn.execute(select(func.max(schema.events.c.seq))).scalar() or 0)

    # ---------------------------------------------------------- the log
    @staticmethod
    def digests(conn: Connection, ids: list[str]) -> dict[str, str]:
        """The content digests of those event ids already in the log."""
        known: dict[str, str] = {}
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            rows = conn.execute(
                select(schema.events.c.id, schema.events.c.digest).where(
                    schema.events.c.id.in_(chunk)
                )
            )
            known.update((r.id, r.digest) for r in rows)
        return known

    def append(
        self, conn: Connection, events: list[Event], received_at: datetime, core: EngineCore
    ) -> None:
        """Append accepted events to the log, each as it was received.

        In bulk (:func:`_bulk_insert`: ``COPY`` on PostgreSQL). The unique
        event id still refuses a duplicate (the caller checked
        :meth:`digests` first).
        """
        rows = [
            {
                "id": e.id,
                "type": e.type,
                "time": e.time,
                "received_at": received_at,
                "digest": e.digest,
                "payload": e.raw or json.dumps(e.payload, ensure_ascii=False),
                "customer": core.units.id(e.customer) if e.customer >= 0 else None,
                "device": core.net.edge_ids[e.device] if e.device >= 0 else None,
            }
            for e in events
        ]
        _bulk_insert(conn, schema.events, rows)
        self.last_seq = self._max_seq(conn)

    # ------------------------------------------------------------- writing
    def write(self, conn: Connection, core: EngineCore) -> None:
        """Write the batch's changes, the feed and the engine state."""
        assert core.clock is not None
        ch, now = core.changes, core.clock
        for oid in ch.dirty:
            if (o := core.outages.open.get(oid)) is not None:
                o.updated_at = now
        self._write_outages(conn, core)
        for device, row in ch.devices.items():
            _upsert(conn, schema.device_states, schema.device_states.c.device, device, row)
        if core.book is not None:  # before the feed: it carries their numbers
            _write_alerts(conn, core.book)
        self._write_feed(conn, core)
        if core.book is not None:
            self._write_book(conn, core.book, now)
        self._write_pings(conn, core)
        _write_desk(conn, core)
        if core.changes.damage:
            conn.execute(
                insert(schema.damage_reports),
                [
                    {
                        "id": r["id"],
                        "outage": r["outage"],
                        "time": datetime.fromisoformat(r["time"]),
                        "asset": r["asset"],
                        "lon": r["lon"],
                        "lat": r["lat"],
                        "body": r,
                    }
                    for r in core.changes.damage
                ],
            )
        _write_register(conn, core)
        for key, value in (
            ("clock", now.isoformat()),
            ("next_outage", str(core.outages.next_number)),
            ("blinks_until", repr(core.blinks_until)),
            ("generation", str(self.generation + 1)),
        ):
            _upsert(conn, schema.engine_state, schema.engine_state.c.key, key, {"value": value})
        self.generation += 1

    @staticmethod
    def _write_outages(conn: Connection, core: EngineCore) -> None:
        ch, outages = core.changes, core.outages.open
        new_rows = _inserted_rows([outages[i] for i in sorted(ch.new)])
        if new_rows:
            conn.execute(insert(schema.outages), new_rows)
        _update_changed(conn, schema.outages, [outages[i] for i in sorted(ch.dirty - ch.new)])
        if ch.audit:
            _bulk_insert(conn, schema.outage_audit, ch.audit)

    @staticmethod
    def _write_feed(conn: Connection, core: EngineCore) -> None:
        """The batch's changes, numbered, for the live stream; on PostgreSQL
        a NOTIFY (delivered at commit) wakes every server process's stream."""
        ch, now = core.changes, core.clock
        assert now is not None
        rows = [
            {"time": now, "kind": "outage", "ref": oid, "data": core.outages.open[oid].to_dict()}
            for oid in sorted(ch.dirty)
            if oid in core.outages.open
        ]
        for device, row in sorted(ch.devices.items()):
            data = {k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()}
            rows.append({"time": now, "kind": "device", "ref": device, "data": data})
        if core.book is not None:
            rows.extend(core.book.feed(now))
        rows.extend(core.desk.feed(now))
        # Damage reports and the register's edits and calls: the map's damage
        # layer and the dispatcher's calls owed follow them live.
        rows += [{"time": now, "kind": "damage", "ref": r["id"], "data": r} for r in ch.damage]
        rows += [
            {"time": now, "kind": "critical", "ref": r["customer"], "data": r} for r in ch.register
        ]
        rows += [{"time": now, "kind": "contact", "ref": r["id"], "data": r} for r in ch.contacts]
        if not rows:
            return
        _bulk_insert(conn, schema.changes, rows)
        notify(conn, FEED_CHANNEL)

    @staticmethod
    def _write_book(conn: Connection, book: OrderBook, now: datetime) -> None:
        """Jobs, crew states, dispatch decisions, alerts, notifications, survey answers."""
        jobs = schema.jobs
        for jid in book.dirty_jobs:
            book.jobs[jid].updated_at = now
        new_rows = _inserted_rows([book.jobs[j] for j in sorted(book.new_jobs)])
        if new_rows:
            conn.execute(insert(jobs), new_rows)
        _update_changed(conn, jobs, [book.jobs[j] for j in sorted(book.dirty_jobs - book.new_jobs)])
        if book.new_crews:  # onboarded mutual-aid crews (crew_add)
            new_crews = [book.crews[c].row() for c in sorted(book.new_crews)]
            conn.execute(insert(schema.crews), new_crews)
        for cid in sorted(book.dirty_crews):
            c = book.crews[cid]
            row = {
                "status": c.status,
                "lon": c.lon,
                "lat": c.lat,
                "gps_time": c.gps_time,
                "jobs": list(c.jobs),
                "updated_at": now,
                "checked_in": c.checked_in,
            }
            _upsert(conn, schema.crew_state, schema.crew_state.c.crew, cid, row)
        if book.decisions:
            conn.execute(insert(schema.dispatch_decisions), book.decisions)
        if book.outbox is not None:
            _write_outbox(conn, book.outbox)
        n = schema.notifications
        for a in book.answers:
            # A survey not fanned out yet is, first: its answer needs its rows.
            # A notifier fanning it out now is waited for (then it is done).
            surveys = _pending(conn, 100, skip_locked=False, outage=a["outage"], kind="survey")
            if surveys:
                _fan_out_notices(conn, surveys, a["time"])
            conn.execute(
                update(n)
                .where(
                    (n.c.customer == a["customer"])
                    & (n.c.outage == a["outage"])
                    & (n.c.kind == "survey")
                )
                .values(answer=a["answer"], answered_at=a["time"])
            )
        value = {"value": str(book.next_job)}
        _upsert(conn, schema.engine_state, schema.engine_state.c.key, "next_job", value)
        if book.modes_changed:
            modes = {"value": json.dumps(book.modes, sort_keys=True)}
            _upsert(conn, schema.engine_state, schema.engine_state.c.key, "dispatch_modes", modes)

    @staticmethod
    def _write_pings(conn: Connection, core: EngineCore) -> None:
        pings, units = core.changes.pings, core.units
        if not pings or not units.are_customers:
            return
        meters = units.meters
        conn.execute(
            insert(schema.ping_requests),
            [
                {
                    "customer": units.id(u),
                    "meter": meters[u] if meters else None,
                    "requested_at": core.clock,
                    "outage": oid,
                    "purpose": purpose,
                    "sent": False,
                }
                for u, oid, purpose in pings
            ],
        )

    # ------------------------------------------------------------ outboxes
    def take_ping_requests(self) -> list[dict[str, Any]]:
        """Unsent ping requests, marked sent: the AMI head-end adapter's outbox."""
        pr = schema.ping_requests
        with self.db.begin() as conn:
            rows = [
                dict(r)
                for r in conn.execute(
                    select(pr).where(pr.c.sent.is_(False)).order_by(pr.c.seq)
                ).mappings()
            ]
            if rows:
                conn.execute(
                    update(pr).where(pr.c.seq.in_([r["seq"] for r in rows])).values(sent=True)
                )
        return rows

    def snapshot(self) -> list[dict[str, Any]]:
        """Every outage that is not cancelled, as contract-4 dicts, by start time."""
        from oms.outages import list_outages

        with self.db.connect() as conn:
            return [o.to_dict() for o in list_outages(conn)]


def _outage(row: Any) -> Any:
    from oms.outages import Outage

    return Outage.from_row(row)


def _write_register(conn: Connection, core: EngineCore) -> None:
    """The register's edits of the batch (the latest per customer) and the calls made."""
    ch = core.changes
    latest = {r["customer"]: r for r in ch.register}
    for cid, r in latest.items():
        row = {k: r[k] for k in ("critical", "emergency_plan", "contacts", "note")}
        row.update(
            updated_at=datetime.fromisoformat(r["updated_at"]),
            updated_by=r["updated_by"],
            event=r["event"],
        )
        _upsert(conn, schema.critical_register, schema.critical_register.c.customer, cid, row)
    register_into_customers(conn, latest.values())
    if ch.contacts:
        conn.execute(
            insert(schema.customer_contacts),
            [
                {
                    **{k: r[k] for k in ("id", "customer", "outage", "reached", "phone", "note")},
                    "time": datetime.fromisoformat(r["time"]),
                    "username": r["user"],
                }
                for r in ch.contacts
            ],
        )


def _stored_damage(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """The damage reports of the outages still active, by outage."""
    d, o = schema.damage_reports, schema.outages
    rows = conn.execute(
        select(d.c.outage, d.c.body)
        .join(o, o.c.id == d.c.outage)
        .where(o.c.state.in_(ACTIVE_STATES))
        .order_by(d.c.time)
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for outage, body in rows:
        out.setdefault(outage, []).append(dict(body))
    return out


def _stored_desk(conn: Connection, state: dict[str, str]) -> StoredDesk:
    """The documents not finished and the field changes in place."""
    docs = schema.switching_documents
    stored = StoredDesk(
        counters={k: int(state[f"next_{k}"]) for k in DESK_COUNTERS if f"next_{k}" in state}
    )
    rows = conn.execute(select(docs.c.kind, docs.c.body).where(docs.c.state.notin_(FINISHED)))
    for kind, body in rows:
        {
            "order": lambda b: stored.orders.append(SwitchingOrder.from_dict(b)),
            "safety": lambda b: stored.documents.append(SafetyDocument.from_dict(b)),
            "planned": lambda b: stored.planned.append(PlannedOutage.from_dict(b)),
        }[kind](body)
    fc = schema.field_changes
    stored.temporary = [
        FieldChange.from_dict(body)
        for (body,) in conn.execute(select(fc.c.body).where(fc.c.active.is_(True)))
    ]
    return stored


def _write_desk(conn: Connection, core: EngineCore) -> None:
    """The documents and field changes the batch changed, and the desk's counters."""
    desk, now = core.desk, core.clock
    if not desk.dirty and not desk.temporary_dirty:
        return
    docs = schema.switching_documents
    for d in desk.all():
        if d.id in desk.dirty:
            body = d.to_dict()
            doc_row: dict[str, Any] = {
                "kind": desk_kind(d.id),
                "state": d.state,
                "body": body,
                "source_event": d.source_event,
                "updated_at": now,
            }
            _upsert(conn, docs, docs.c.id, d.id, doc_row)
    fc = schema.field_changes
    for c in desk.temporary_dirty.values():
        row: dict[str, Any] = {
            "kind": c.kind,
            "device": c.device,
            "active": c.active,
            "body": c.to_dict(),
            "placed_at": c.placed_at,
            "removed_at": c.removed_at,
        }
        _upsert(conn, fc, fc.c.id, c.id, row)
    for key, value in desk.counters.items():
        _upsert(
            conn,
            schema.engine_state,
            schema.engine_state.c.key,
            f"next_{key}",
            {"value": str(value)},
        )


def _bulk_insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) as ``conn.execute(insert(table),
    rows)`` stores them, without SQLAlchemy's work per row.

    Each value goes through its column type's bind processor for the dialect
    (:func:`_bound`), as SQLAlchemy's own insert does; then PostgreSQL takes
    them by ``COPY ... FROM STDIN`` (CSV) in the connection's transaction,
    SQLite by the driver's ``executemany``. Only the keys given are written
    (their tables have no Python-side defaults). O(rows).
    """
    if not rows:
        return
    columns = list(rows[0])
    values = _bound(conn, table, columns, rows)
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, values)
        return
    _executemany(conn, _statement(conn.dialect, table, "insert", tuple(columns)), values)


def _bulk_update(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Update the rows of ``table`` whose ``id`` is each row's, every other key
    of ``rows`` (dicts with the same keys) set, as ``conn.execute(update(...),
    rows)`` would, with the values bound once per column (:func:`_bound`)
    instead of by SQLAlchemy per row and value. One ``executemany``. O(rows).
    """
    if not rows:
        return
    columns = list(rows[0])
    values = _bound(conn, table, columns, rows)
    _executemany(conn, _statement(conn.dialect, table, "update", tuple(columns)), values)


class _Written(Protocol):
    """A record the writer keeps in memory and stores as one row (an outage, a job)."""

    id: str
    #: The row as this process last wrote it (None: not since it was read).
    written: dict[str, Any] | None

    def row(self) -> dict[str, Any]: ...


def _inserted_rows(records: list[_Written]) -> list[dict[str, Any]]:
    """The rows of newly inserted ``records``, each kept as written."""
    rows = []
    for r in records:
        r.written = r.row()
        rows.append(r.written)
    return rows


def _update_changed(conn: Connection, table: Any, records: list[_Written]) -> None:
    """Update the rows of ``records``, each with only the columns that differ
    from what this process last wrote (all of them the first time), plus
    ``updated_at``. Late in a storm most updates move one value (a job's
    breach, an estimate renewed): serializing its six JSON columns
    again was most of the cost of writing it. Rows changing the same
    columns share one ``executemany``. O(rows x columns).

    A failed transaction reloads the engine's state (new records, nothing
    written yet), so a row kept as written was committed or is forgotten.
    """
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in records:
        row, before = r.row(), r.written
        r.written = row
        if before is not None:
            row = {k: v for k, v in row.items() if k in _ALWAYS or before[k] != v}
        by_shape.setdefault(tuple(row), []).append(row)
    for rows in by_shape.values():
        _bulk_update(conn, table, rows)


#: Written with every update: the key, and when the record last changed.
_ALWAYS = frozenset({"id", "updated_at"})


def _bound(
    conn: Connection, table: Any, columns: list[str], rows: list[dict[str, Any]]
) -> list[list[Any]]:
    """The values of ``rows`` by ``columns``, each through its column type's
    bind processor for the dialect (SQLite's datetimes as text, JSON
    serialized, None in a JSON column as JSON null). O(rows x columns)."""
    dialect = conn.dialect
    values = [[r[c] for c in columns] for r in rows]
    for i, c in enumerate(columns):
        process = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            for v, done in zip(values, _once_each((v[i] for v in values), process), strict=True):
                v[i] = done
    return values


def _once_each(values: Iterable[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` of each of ``values``, called once for an object repeated
    in a row: a batch's rows share values (its clock on every feed row, its
    receipt time on every event, a kind, None). O(len(values))."""
    seen: Any = _NOTHING
    done = None
    out = []
    for v in values:
        if v is not seen:
            seen, done = v, process(v)
        out.append(done)
    return out


_NOTHING = object()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: The parameters' names, in the order of the values given.
    names: tuple[str, ...]
    #: For a positional driver (SQLite's qmark), the value each place takes; None: named.
    at: tuple[int, ...] | None


# Updates of changed columns only come in many shapes (a few dozen in a storm).
@functools.lru_cache(maxsize=1024)
def _statement(dialect: Dialect, table: Any, kind: str, columns: tuple[str, ...]) -> _Compiled:
    """An insert of ``columns`` into ``table``, or an update of them by
    ``id`` (``kind``), compiled for ``dialect`` once per shape: every batch
    writes the same few (compiling them each time was 7 % of the CPU of a
    storm's tail of restorations)."""
    if kind == "insert":
        statement: Any = insert(table)
        names = list(columns)
    else:
        key = table.c.id
        statement = (
            update(table)
            .where(key == bindparam("_id", type_=key.type))
            .values({c: bindparam(c, type_=table.c[c].type) for c in columns if c != "id"})
        )
        names = ["_id" if c == "id" else c for c in columns]
    compiled = statement.compile(dialect=dialect, column_keys=names)
    order = compiled.positiontup
    at = None if order is None else tuple(names.index(k) for k in order)
    return _Compiled(compiled.string, tuple(names), at)


def _executemany(conn: Connection, statement: _Compiled, values: list[list[Any]]) -> None:
    """``statement`` run once per row of ``values`` (bound already, in the
    order of its names) by the driver's ``executemany``."""
    params: list[Any]
    if statement.at is None:  # named parameters (psycopg2's pyformat)
        params = [dict(zip(statement.names, v, strict=True)) for v in values]
    elif statement.at == tuple(range(len(statement.at))):
        params = [tuple(v) for v in values]  # in the statement's order already (inserts)
    else:
        # Reordered, so two places at least: itemgetter gives a tuple.
        pick = operator.itemgetter(*statement.at)
        params = [pick(v) for v in values]
    conn.exec_driver_sql(statement.sql, params)


def _copy(conn: Connection, table: Any, columns: list[str], values: list[list[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` (CSV) of ``values``: every value
    quoted, None as NULL, datetimes in ISO 8601 with their offset."""
    import io

    # Datetimes' isoformat was half the CSV's cost: once each where repeated.
    columns_text = [_once_each(column, _csv_field) for column in zip(*values, strict=True)]
    out = io.StringIO("".join(",".join(row) + "\n" for row in zip(*columns_text, strict=True)))
    prep = conn.dialect.identifier_preparer
    names = ", ".join(prep.quote(c) for c in columns)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor: Any = raw.cursor()  # psycopg2's: copy_expert
    try:
        cursor.copy_expert(
            f"COPY {prep.format_table(table)} ({names}) FROM STDIN WITH (FORMAT csv)", out
        )
    finally:
        cursor.close()


def _csv_field(value: Any) -> str:
    """One CSV field of ``COPY``: empty and unquoted for NULL, else quoted."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return '"' + text.replace('"', '""') + '"'


def _upsert(
    conn: Connection, table: Any, key_column: Any, key: str, values: dict[str, Any]
) -> None:
    done = conn.execute(update(table).where(key_column == key).values(**values)).rowcount
    if not done:
        conn.execute(insert(table).values(**{key_column.name: key, **values}))


def _write_alerts(conn: Connection, book: OrderBook) -> None:
    """New alerts, each given its ``seq``; acknowledgements of alerts not acknowledged
    before (the first one stands), each left naming only the alerts it acknowledged."""
    a = schema.alerts
    if book.alerts:
        inserted = conn.execute(
            insert(a).returning(a.c.seq, sort_by_parameter_order=True), book.alerts
        )
        for row, seq in zip(book.alerts, inserted.scalars(), strict=True):
            row["seq"] = seq
    for ack in book.acks:
        fresh: list[int] = []
        for start in range(0, len(ack["alerts"]), 1000):
            chunk = ack["alerts"][start : start + 1000]
            open_ = a.c.seq.in_(chunk) & a.c.acknowledged_at.is_(None)
            fresh += conn.execute(select(a.c.seq).where(open_)).scalars()
            conn.execute(
                update(a).where(open_).values(acknowledged_at=ack["at"], acknowledged_by=ack["by"])
            )
        ack["alerts"] = sorted(fresh)


def _write_outbox(conn: Connection, outbox: Outbox) -> None:
    """Insert the batch's notices not already written (a unique key per notice)."""
    if outbox.queued:
        _insert_fresh(conn, schema.notices, outbox.queued)
    outbox.queued = []


def _insert_fresh(conn: Connection, table: Any, queued: list[dict[str, Any]]) -> int:
    """Insert the rows whose ``key`` the table does not hold yet; how many. O(rows)."""
    rows = {r["key"]: r for r in queued}
    keys = list(rows)
    seen: set[str] = set()
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        seen.update(conn.execute(select(table.c.key).where(table.c.key.in_(chunk))).scalars())
    fresh = [r for k, r in rows.items() if k not in seen]
    if fresh:
        _bulk_insert(conn, table, fresh)
    return len(fresh)


def fan_out(db: Engine, now: datetime, limit: int = 2000) -> int:
    """Turn pending notices into notifications, ``limit`` notices per transaction.

    Each transaction marks its notices fanned out and inserts their messages
    (:func:`oms.engine.outbox.messages_of`) together: a crash leaves both undone,
    and the unique key of a message keeps a notice fanned out again from
    queueing anything twice. Routes are read now, so a customer who opted
    out since the notice was written is not told. One fan-out runs at a
    time (on PostgreSQL an advisory lock; SQLite's write lock), so messages
    are numbered in the order of their notices. Returns the number of
    messages queued. O(recipients).
    """
    queued, clashes = 0, 0
    while True:
        try:
            with db.begin() as conn:
                lock_fan_out(conn)
                notices = _pending(conn, limit)
                if notices:
                    queued += _fan_out_notices(conn, notices, now)
        except (IntegrityError, db.dialect.dbapi.IntegrityError):  # type: ignore[union-attr]
            # A batch answering a survey fanned out one of these meanwhile:
            # this transaction left nothing behind, and the next sees it.
            clashes += 1
            if clashes > 3:
                raise
            continue
        if len(notices) < limit:
            return queued


def _pending(
    conn: Connection, limit: int, *, skip_locked: bool = True, **where: str
) -> list[dict[str, Any]]:
    """Notices not fanned out yet (with column values ``where``), oldest first,
    locked for this transaction on PostgreSQL: those another transaction
    holds are skipped (``skip_locked``: a notifier never waits for a batch,
    so the two cannot deadlock) or waited for."""
    nt = schema.notices
    query = select(nt).where(nt.c.fanned_out_at.is_(None)).order_by(nt.c.seq).limit(limit)
    for column, value in where.items():
        query = query.where(nt.c[column] == value)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=skip_locked)
    return [dict(r) for r in conn.execute(query).mappings()]


def _fan_out_notices(conn: Connection, notices: list[dict[str, Any]], now: datetime) -> int:
    """Queue the messages of ``notices`` and mark them fanned out; how many were new."""
    sub, cust, nt = schema.subscriptions, schema.customers, schema.notices
    who = sorted({c for n in notices for c in n["recipients"]})
    routes: dict[str, list[tuple[str, str | None]]] = {}
    phones: dict[str, str | None] = {}
    for start in range(0, len(who), 5000):
        chunk = who[start : start + 5000]
        opted_out = set()
        for r in conn.execute(select(sub).where(sub.c.customer.in_(chunk))).mappings():
            if r["opted_out"]:
                opted_out.add(r["customer"])
            else:
                routes.setdefault(r["customer"], []).append((r["channel"], r["address"]))
        routes.update((c, []) for c in opted_out)  # told nothing, by any channel
        unrouted = [c for c in chunk if c not in routes]
        if unrouted:
            query = select(cust.c.id, cust.c.phone).where(cust.c.id.in_(unrouted))
            phones.update((r.id, r.phone) for r in conn.execute(query))
    rows = [m for n in notices for m in messages_of(n, routes, phones)]
    queued = _insert_fresh(conn, schema.notifications, rows)
    seqs = [n["seq"] for n in notices]
    conn.execute(update(nt).where(nt.c.seq.in_(seqs)).values(fanned_out_at=now))
    return queued


def _acknowledged(conn: Connection, outages: list[str]) -> dict[str, set[str]]:
    """Per outage, the customers told it is known: the recipients of its
    ``acknowledged`` notices, and those of messages queued before notices
    were kept. O(messages of those outages)."""
    told: dict[str, set[str]] = {}
    nt, n = schema.notices, schema.notifications
    for start in range(0, len(outages), 5000):
        chunk = outages[start : start + 5000]
        notices = select(nt.c.outage, nt.c.recipients).where(
            (nt.c.kind == "acknowledged") & nt.c.outage.in_(chunk)
        )
        for outage, recipients in conn.execute(notices):
            told.setdefault(outage, set()).update(recipients)
        queued = select(n.c.outage, n.c.customer).where(
            (n.c.kind == "acknowledged") & n.c.outage.in_(chunk)
        )
        for outage, customer in conn.execute(queued):
            told.setdefault(outage, set()).add(customer)
    return told


def load_crews(conn: Connection) -> dict[str, CrewState]:
    """Every crew as loaded (contract 2b) with its live status, position and jobs. O(crews)."""
    state = {r["crew"]: dict(r) for r in conn.execute(select(schema.crew_state)).mappings()}
    return {
        r["id"]: CrewState.from_row(dict(r), state.get(r["id"]))
        for r in conn.execute(select(schema.crews)).mappings()
    }
