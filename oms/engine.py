"""The outage engine: applies events in batches and keeps outages located.

Data flow (``docs/engine.md``)::

    objects -> parse_event -> batch -> one transaction:
        append new events to the log (idempotent on id)
        apply them to the evidence (per customer) and the device states
        re-predict (most likely operated devices) and reconcile the outages
        write changed outages, audit records, ping requests, engine clock

An event counts as acknowledged when its batch commits. The evidence lives
in memory, one row per customer (or per node, for a network without a
customers file); on start it is rebuilt by replaying the log, and outages,
device states and the clock are read back, so a process killed at any point
and started again on the same database continues exactly where the last
commit left it.

The engine never reads the wall clock: its clock is the time of the latest
event applied, and it never moves backwards.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from oms import schema
from oms.config import EngineConfig
from oms.events import Directory, Event, as_utc, iso, parse_event, read_lines
from oms.exceptions import ActionError, EventConflict, EventError, OMSError, OutageNotFound
from oms.orders import OrderBook
from oms.outages import Outage
from oms.prediction import DeviceTree, classic_rollup, most_likely_faults
from oms.roads import RoadGraph
from oms.store import device_states, metered_per_node, stored_network

__all__ = ["FEED_CHANNEL", "IngestReport", "OutageEngine"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The PostgreSQL NOTIFY channel told of every commit to the ``changes`` feed.
FEED_CHANNEL = "oms_changes"
_LOCK_KEY = 0x6F6D73  # "oms": the PostgreSQL advisory lock of the single writer


def _ts(t: datetime) -> float:
    return (t - _EPOCH).total_seconds()


def _dt(s: float) -> datetime:
    return _EPOCH + timedelta(seconds=float(s))


@dataclass
class IngestReport:
    """What an ingest did (contract 4): counts and the rejected lines."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: Line numbers of the duplicates (not part of the contract-4 output).
    duplicate_lines: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


class _Evidence:
    """Latest evidence per customer (or node), as times in epoch seconds (NaN: none)."""

    def __init__(self, units: int) -> None:
        nan = np.full(units, np.nan)
        self.off = nan.copy()  # a call reporting no supply
        self.first_off = nan.copy()
        self.on = nan.copy()  # supply reported: AMI restore, ping energized, caller
        self.gasp = nan.copy()
        self.restore = nan.copy()
        self.ping_dead = nan.copy()
        self.hazard = nan.copy()
        self.epoch = np.full(units, -np.inf)  # the last restoration of their supply
        self.live = np.zeros(units, dtype=bool)  # customers with any evidence in the window
        self.last_gasp_seen = -math.inf


class OutageEngine:
    """Keeps the outages of one database located from the events it is given.

    Parameters
    ----------
    db : sqlalchemy.engine.Engine
        An open, migrated database (:func:`oms.db.connect`) with a network.
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
        self.config = config or EngineConfig()
        # Only stamps when an event was received; decisions use event time.
        self.wall_clock = wall_clock
        self._load()

    # ------------------------------------------------------------- loading
    def _load(self) -> None:
        with self.db.connect() as conn:
            self.version, net = stored_network(conn)
            self.device_rows = device_states(conn)
            crews = list(conn.execute(select(schema.crews.c.id)).scalars())
            state = {r.key: r.value for r in conn.execute(select(schema.engine_state))}
            rows = conn.execute(select(schema.outages)).mappings()
            outages = [Outage.from_row(r) for r in rows]
            self.last_seq = int(conn.execute(select(func.max(schema.events.c.seq))).scalar() or 0)
        self.net = net
        self.directory = Directory(net, crews)
        self.clock = datetime.fromisoformat(state["clock"]) if "clock" in state else None
        self.next_outage = int(state.get("next_outage", 1))
        # Meter blinks (gasp then restore) already looked at for momentaries.
        self.blinks_until = float(state.get("blinks_until", "-inf"))
        # Bumped by every write: another process's write makes this state stale.
        self.generation = int(state.get("generation", "0"))
        # Open outages (and those changed in the batch being applied); the
        # restored and closed ones wait in ``finished`` for callbacks and closing.
        self.outages: dict[str, Outage] = {o.id: o for o in outages if o.active}
        self.finished = {o.id: o for o in outages if o.state in ("restored", "closed")}
        self.cancelled = {o.id: o.merged_into for o in outages if o.state == "cancelled"}
        # Devices reported open: protective ones "tripped" (the question is
        # why), others switched; the prediction tree counts tripped as closed.
        self.tripped: dict[int, float] = {}
        self.lockout: set[int] = set()
        closed = net.edge_normal_closed.copy()
        for device, row in self.device_rows.items():
            e = net.edge_index.get(device)
            if e is None:
                continue
            if row["tripped"]:
                changed = as_utc(row["changed_at"])
                assert changed is not None
                self.tripped[e] = _ts(changed)
            else:
                closed[e] = row["state"] == "closed"
        net.set_states(closed)
        cust = net.customers
        if cust is not None:
            self.unit_node = cust.node
            self.unit_ids: list[str] | None = cust.ids
            meters = cust.fields.get("meter")
            self.unit_metered = (
                np.array([bool(m) for m in meters], dtype=bool)
                if meters is not None
                else np.zeros(len(cust.ids), dtype=bool)
            )
            self.unit_critical = cust.critical_mask()
        else:
            self.unit_node = np.arange(net.n_nodes)
            self.unit_ids = None
            self.unit_metered = np.zeros(net.n_nodes, dtype=bool)
            self.unit_critical = np.zeros(net.n_nodes, dtype=bool)
        self.fci: dict[int, tuple[bool, float]] = {}
        # Restorations to look under for nested outages: (due, outage, device).
        self.checks: list[tuple[float, str, str]] = []
        self.ev = _Evidence(len(self.unit_node))
        self._tree: DeviceTree | None = None
        self._replay_log()
        for o in self.finished.values():
            if o.restored is not None:
                self._set_epoch(o, _ts(o.restored))
        for o in self.outages.values():
            if o.active and o.kind == "network":
                self._keep_evidence(o)
        phones: dict[str, str | None] = {}
        if net.customers is not None and net.customers.fields.get("phone") is not None:
            phones = dict(zip(net.customers.ids, net.customers.fields["phone"], strict=True))
        with self.db.connect() as conn:
            self.book = OrderBook(
                conn, self.config.dispatch, self._locate, self._load_roads, self._recipients, phones
            )

    def _recipients(self, outage_id: str) -> list[str]:
        """Customers to tell about an outage: those who called, and subscribers below it."""
        o = self.outages.get(outage_id) or self.finished.get(outage_id)
        if o is None or self.unit_ids is None:
            return []
        if o.kind == "single_customer":
            return [o.customer] if o.customer else []
        pos = self.tree.position.get(self.net.edge_index.get(o.device or "", -1))
        if pos is None:
            return []
        units = self._units_under(pos)
        called = units[self.ev.off[units] >= _ts(o.started) - 300.0]
        out = {self.unit_ids[u] for u in called.tolist()}
        book = getattr(self, "book", None)
        if book is not None and book.outbox is not None:
            for cid in book.outbox.subscribers:
                u = self.directory.customer_index.get(cid)
                if u is not None and self.tree.contains(pos, int(self.unit_node[u])):
                    out.add(cid)
        return sorted(out)

    def _locate(self, key: str) -> tuple[float, float]:
        """Where a crew goes for a device (the node it feeds) or a customer."""
        net = self.net
        if key.startswith("customer:"):
            u = self._unit_of(key.split(":", 1)[1])
            cust = net.customers
            if u >= 0 and cust is not None:
                lon, lat = cust.get("lon", u), cust.get("lat", u)
                if lon is not None and lat is not None:
                    return float(lon), float(lat)
            node = int(self.unit_node[u]) if u >= 0 else 0
            return float(net.node_xy[node, 0]), float(net.node_xy[node, 1])
        e = net.edge_index.get(key)
        if e is None:
            return float(net.node_xy[0, 0]), float(net.node_xy[0, 1])
        child = int(self.tree.supply.tree.edge_child[e])
        node = child if child >= 0 else int(net.edge_to[e])
        return float(net.node_xy[node, 0]), float(net.node_xy[node, 1])

    def _load_roads(self) -> RoadGraph | None:
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

    def _replay_log(self) -> None:
        ev = schema.events
        telemetry = ("call", "ami_last_gasp", "ami_restore", "ami_ping_reply", "fci")
        with self.db.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=20000).execute(
                select(ev.c.payload).where(ev.c.type.in_(telemetry)).order_by(ev.c.seq)
            )
            for (payload,) in result:
                try:
                    event = parse_event(json.loads(payload), self.directory, stored=True)
                except EventError:
                    continue  # refers to something a newer network version lacks
                self._apply_evidence(event)

    @property
    def tree(self) -> DeviceTree:
        """The protective devices in the prediction state (tripped devices closed)."""
        if self._tree is None:
            net = self.net
            saved = net.copy_state()
            state = saved.copy()
            state[list(self.tripped)] = True
            net.set_states(state)
            supply = net.supply
            net.set_states(saved)
            self._tree = DeviceTree(net, supply, metered_per_node(net))
            tin = supply.tree.tin[self.unit_node]
            self._unit_order = np.argsort(tin, kind="stable")
            self._unit_tin = tin[self._unit_order]
        return self._tree

    def _units_under(self, pos: int) -> np.ndarray:
        tree = self.tree
        a = np.searchsorted(self._unit_tin, tree.lo[pos], side="left")
        b = np.searchsorted(self._unit_tin, tree.hi[pos], side="left")
        return self._unit_order[a:b]

    # -------------------------------------------------------------- intake
    def ingest(
        self,
        lines: Iterable[str],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Validate and apply JSON lines (contract 3); see :meth:`ingest_objects`.

        Each line is stored in the log as it was received.
        """
        return self._ingest(read_lines(lines), progress)

    def ingest_objects(
        self,
        numbered: Iterable[tuple[int, Any]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Validate ``(line number, object)`` pairs and apply them in batches.

        Invalid lines are reported with their number and reason and skipped;
        the valid ones are applied in order. Returns an :class:`IngestReport`.
        """
        return self._ingest(((n, obj, None) for n, obj in numbered), progress)

    def _ingest(
        self,
        numbered: Iterable[tuple[int, Any, str | None]],
        progress: Callable[[int], None] | None,
    ) -> IngestReport:
        report = IngestReport()
        batch: list[tuple[int, Event]] = []
        for number, obj, raw in numbered:
            if isinstance(obj, EventError):
                report.rejected.append({"line": number, "error": str(obj)})
                continue
            try:
                event = parse_event(obj, self.directory, raw)
            except EventError as exc:
                report.rejected.append({"line": number, "error": str(exc)})
                continue
            if batch and (
                len(batch) >= self.config.batch_size
                or (event.time - batch[0][1].time).total_seconds() > self.config.batch_seconds
            ):
                self._commit(batch, report)
                if progress:
                    progress(len(batch))
                batch = []
            batch.append((number, event))
        if batch:
            self._commit(batch, report)
            if progress:
                progress(len(batch))
        report.rejected.sort(key=lambda r: r["line"])
        return report

    def _transaction(self, work: Callable[[Connection], None]) -> None:
        """Run ``work`` as the one writer, in one transaction.

        When another process wrote meanwhile, reload and try again; on any
        failure reload, since the in-memory state may be half-applied.
        """
        for attempt in range(3):
            try:
                with self.db.begin() as conn:
                    self._lock(conn)
                    work(conn)
                return
            except _StaleState:
                self._load()
                if attempt == 2:
                    raise OMSError("another process keeps writing; gave up after 3 tries") from None
            except BaseException:
                self._load()
                raise

    def _commit(self, batch: list[tuple[int, Event]], report: IngestReport) -> None:
        self._transaction(lambda conn: self._commit_batch(conn, batch, report))

    def _commit_batch(
        self, conn: Connection, batch: list[tuple[int, Event]], report: IngestReport
    ) -> None:
        ids = list({e.id for _, e in batch})
        known: dict[str, str] = {}
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            rows = conn.execute(
                select(schema.events.c.id, schema.events.c.digest).where(
                    schema.events.c.id.in_(chunk)
                )
            )
            known.update((r.id, r.digest) for r in rows)
        self._changes = _Changes()
        accepted: list[Event] = []
        duplicates = 0
        for number, event in batch:
            seen = known.get(event.id)
            if seen is not None:
                if seen == event.digest:
                    duplicates += 1
                    report.duplicate_lines.append(number)
                else:
                    report.rejected.append({"line": number, "error": str(_conflict(event.id))})
                continue
            try:
                self._apply(event)
            except (ActionError, OutageNotFound) as exc:
                report.rejected.append({"line": number, "error": str(exc)})
                continue
            known[event.id] = event.digest
            accepted.append(event)
        if accepted:
            self._reconcile(conn)
            now = self.wall_clock()
            conn.execute(
                insert(schema.events),
                [
                    {
                        "id": e.id,
                        "type": e.type,
                        "time": e.time,
                        "received_at": now,
                        "digest": e.digest,
                        "payload": e.raw or json.dumps(e.payload, ensure_ascii=False),
                        "customer": self._unit_id(e.customer) if e.customer >= 0 else None,
                        "device": self.net.edge_ids[e.device] if e.device >= 0 else None,
                    }
                    for e in accepted
                ],
            )
            self._write(conn)
            self.last_seq = int(conn.execute(select(func.max(schema.events.c.seq))).scalar() or 0)
        report.accepted += len(accepted)
        report.duplicates += duplicates

    def tick(self, now: datetime) -> None:
        """Let time pass to ``now`` with no new event, and act on it.

        Time-driven rules (meters that have not reported back after a
        restoration, evidence ageing out of the window) are evaluated as of
        ``now``; the clock never moves backwards. The live server calls this
        with the wall clock, a simulation with its own.
        """
        if self.clock is not None and now <= self.clock:
            return

        def work(conn: Connection) -> None:
            self._changes = _Changes()
            self._advance(now)
            self._reconcile(conn)
            self._write(conn)

        self._transaction(work)

    def _lock(self, conn: Connection) -> None:
        """Become the one writer, and make sure nobody wrote since we last looked."""
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        if self._stale(conn):
            raise _StaleState

    def _stale(self, conn: Connection) -> bool:
        last = int(conn.execute(select(func.max(schema.events.c.seq))).scalar() or 0)
        generation = conn.execute(
            select(schema.engine_state.c.value).where(schema.engine_state.c.key == "generation")
        ).scalar()
        return last != self.last_seq or int(generation or 0) != self.generation

    def refresh(self) -> None:
        """Reload if another process wrote since this engine last looked (reads stay current)."""
        with self.db.connect() as conn:
            stale = self._stale(conn)
        if stale:
            self._load()

    def _unit_id(self, unit: int) -> str:
        if self.unit_ids is not None:
            return self.unit_ids[unit]
        return self.net.node_ids[unit]

    # ------------------------------------------------------------ applying
    def _advance(self, t: datetime) -> None:
        if self.clock is None or t > self.clock:
            self.clock = t

    def _apply(self, event: Event) -> None:
        """Apply one event to the in-memory state."""
        if event.type.startswith("outage_"):
            self._apply_action(event)
        elif event.type in ("scada", "switch"):
            self._apply_device(event)
        elif event.type.startswith(("job_", "crew_", "survey_")):
            assert self.clock is not None or event.time is not None
            for oid in self.book.apply(event, event.time):
                o = self.outages.get(oid)
                if o is not None and o.active:
                    crew = event.payload.get("crew") or "crew"
                    self._restore(o, event.time, crew, "the crew restored supply")
        else:
            self._apply_evidence(event)
        self._advance(event.time)

    def _apply_evidence(self, event: Event) -> None:
        ev, t = self.ev, _ts(event.time)
        if event.type == "fci":
            self.fci[event.device] = (bool(event.payload["fault"]), t)
            return
        u = event.customer if self.unit_ids is not None else event.node
        if u < 0:
            return
        if event.type == "call":
            if event.payload.get("power", "off") == "on":
                ev.on[u] = np.fmax(ev.on[u], t)
            else:
                if not ev.off[u] > ev.epoch[u]:
                    ev.first_off[u] = t
                ev.off[u] = np.fmax(ev.off[u], t)
                if event.payload.get("hazard"):
                    ev.hazard[u] = t
        elif event.type == "ami_last_gasp":
            ev.gasp[u] = np.fmax(ev.gasp[u], t)
            ev.last_gasp_seen = max(ev.last_gasp_seen, t)
        elif event.type == "ami_restore":
            ev.restore[u] = np.fmax(ev.restore[u], t)
            ev.on[u] = np.fmax(ev.on[u], t)
        elif event.type == "ami_ping_reply":
            if event.payload["energized"]:
                ev.on[u] = np.fmax(ev.on[u], t)
            else:
                ev.ping_dead[u] = np.fmax(ev.ping_dead[u], t)
        ev.live[u] = True

    def _apply_device(self, event: Event) -> None:
        e, t = event.device, _ts(event.time)
        net = self.net
        device = net.edge_ids[e]
        state = event.payload["state"]
        trip = event.type == "scada" and bool(net.protective[e])
        row = {"device": device, "state": state, "changed_at": event.time, "event": event.id}
        if trip:
            if state == "open":
                self.tripped.setdefault(e, t)
                if event.payload.get("lockout"):
                    self.lockout.add(e)
                row["tripped"] = True
            else:
                opened = self.tripped.pop(e, None)
                self.lockout.discard(e)
                row["tripped"] = False
                active = self._active_at(device)
                if not active and opened is not None and e in self.tree.position:
                    # Opened and closed again between two predictions.
                    o = self._new_outage("network", device, None, _dt(opened), event.time)
                    o.state, o.confirmed_by = "confirmed", "scada"
                    o.customers_out = int(self.tree.customers[self.tree.position[e]])
                    self._audit(
                        o,
                        event.time,
                        "system",
                        "predict",
                        None,
                        {"device": device, "rule": "scada"},
                    )
                    active = [o]
                for o in active:
                    self._restore(o, event.time, "scada", f"{device} closed")
        else:
            closed = state == "closed"
            if bool(net.edge_closed[e]) != closed:
                net.operate(device, state)
                self._tree = None  # switching changes who is fed through what
            row["tripped"] = False
        self.device_rows[device] = row
        self._changes.devices[device] = row

    def _active_at(self, device: str) -> list[Outage]:
        return [o for o in self.outages.values() if o.active and o.device == device]

    def _outage(self, oid: str) -> Outage:
        o = self.outages.get(oid)
        if o is None and oid in self.finished:
            o = self.outages[oid] = self.finished.pop(oid)
        if o is None:
            if oid in self.cancelled:
                into = self.cancelled[oid]
                raise ActionError(
                    f"outage {oid} is cancelled" + (f" (merged into {into})" if into else "")
                )
            raise OutageNotFound(f"no outage with id {oid!r}")
        return o

    def _apply_action(self, event: Event) -> None:
        p = event.payload
        user = p.get("user") or "system"
        reason = p.get("reason")
        t = event.time
        kind = event.type
        if kind == "outage_merge":
            target = self._outage(p["into"])
            others = [self._outage(i) for i in p["outages"] if i != target.id]
            for o in [target, *others]:
                if not o.active:
                    raise ActionError(f"outage {o.id} is {o.state}; only open outages merge")
            for o in others:
                self._cancel(o, t, user, "merged", reason, merged_into=target.id)
            target.pinned = True
            self._audit(target, t, user, "merge", reason, {"merged": [o.id for o in others]})
            return
        o = self._outage(p["outage"])
        if kind == "outage_confirm":
            if not o.active:
                raise ActionError(f"outage {o.id} is {o.state}; only open outages are confirmed")
            device = p.get("device")
            if device and device != o.device:
                e = self.net.edge_index[device]
                if self.tree.position.get(e) is None:
                    raise ActionError(f"{device} is not a protective device that cuts anyone off")
                self._audit(o, t, user, "move", reason, {"from": o.device, "to": device})
                o.device, o.kind, o.customer = device, "network", None
                o.located_at = t
            o.state, o.confirmed_by, o.pinned = "confirmed", "dispatcher", True
            self._audit(o, t, user, "confirm", reason, {"device": o.device})
        elif kind == "outage_split":
            if not o.active:
                raise ActionError(f"outage {o.id} is {o.state}; only open outages split")
            devices = p["devices"]
            for d in devices:
                if self.tree.position.get(self.net.edge_index[d]) is None:
                    raise ActionError(f"{d} is not a protective device that cuts anyone off")
            self._audit(o, t, user, "split", reason, {"from": o.device, "into": devices})
            o.device, o.pinned, o.located_at = devices[0], True, t
            for d in devices[1:]:
                new = self._new_outage("network", d, None, o.started, t)
                new.pinned, new.state, new.confirmed_by = True, o.state, o.confirmed_by
                self._audit(new, t, user, "split", reason, {"from": o.id})
        elif kind == "outage_repredict":
            if not o.active:
                raise ActionError(f"outage {o.id} is {o.state}; only open outages are re-predicted")
            o.pinned = False
            if o.confirmed_by == "dispatcher":
                o.state, o.confirmed_by = "predicted", None
            self._audit(o, t, user, "repredict", reason, {"device": o.device})
        elif kind == "outage_restore":
            if not o.active:
                raise ActionError(f"outage {o.id} is {o.state}; it cannot be restored")
            self._restore(o, t, user, reason)
        elif kind == "outage_close":
            if o.state != "restored":
                raise ActionError(f"outage {o.id} is {o.state}; restore it before closing")
            o.state, o.closed = "closed", t
            self._audit(o, t, user, "close", reason, {})
        self._changes.dirty.add(o.id)

    # ------------------------------------------------------- outage records
    def _new_outage(
        self, kind: str, device: str | None, customer: str | None, started: datetime, t: datetime
    ) -> Outage:
        oid = f"OUT-{self.next_outage:06d}"
        self.next_outage += 1
        o = Outage(
            id=oid,
            kind=kind,
            device=device,
            customer=customer,
            state="predicted",
            started=started,
            located_at=t,
            updated_at=t,
        )
        self.outages[oid] = o
        self._changes.new.add(oid)
        self._changes.dirty.add(oid)
        return o

    def _audit(
        self,
        o: Outage,
        t: datetime,
        actor: str,
        action: str,
        reason: str | None,
        detail: dict[str, Any],
    ) -> None:
        self._changes.audit.append(
            {
                "outage": o.id,
                "time": t,
                "actor": actor,
                "action": action,
                "reason": reason,
                "detail": detail,
            }
        )
        self._changes.dirty.add(o.id)

    def _restore(self, o: Outage, t: datetime, actor: str, reason: str | None) -> None:
        o.state, o.restored = "restored", t
        if (
            o.kind == "network"
            and (t - o.started).total_seconds() < self.config.prediction.momentary_s
        ):
            o.kind = "momentary"
        self._audit(o, t, actor, "restore", reason, {"device": o.device, "kind": o.kind})
        self._set_epoch(o, _ts(t))
        if o.kind == "network":
            self._changes.restored.append(o)
        if o.kind != "single_customer":
            pos = self.tree.position.get(self.net.edge_index.get(o.device or "", -1))
            for other in self.outages.values():
                if other.active and other.kind == "network" and other is not o:
                    inner = self.tree.position.get(self.net.edge_index.get(other.device or "", -1))
                    if pos is not None and inner is not None and self.tree.below(pos, inner):
                        self._keep_evidence(other)

    def _set_epoch(self, o: Outage, t: float) -> None:
        ev = self.ev
        if o.kind == "single_customer" and o.customer is not None:
            units = np.array([self._unit_of(o.customer)])
        elif o.device is not None:
            pos = self.tree.position.get(self.net.edge_index.get(o.device, -1))
            if pos is None:
                return
            units = self._units_under(pos)
        else:
            return
        units = units[units >= 0]
        ev.epoch[units] = np.maximum(ev.epoch[units], t)

    def _keep_evidence(self, o: Outage) -> None:
        """Undo restorations its customers never had: they are out since it started."""
        pos = self.tree.position.get(self.net.edge_index.get(o.device or "", -1))
        if pos is None:
            return
        units = self._units_under(pos)
        self.ev.epoch[units] = np.minimum(self.ev.epoch[units], _ts(o.started) - 1.0)

    def _unit_of(self, customer: str) -> int:
        if self.unit_ids is not None:
            return self.directory.customer_index.get(customer, -1)
        return self.net.node_index.get(customer, -1)

    def _cancel(
        self,
        o: Outage,
        t: datetime,
        actor: str,
        action: str,
        reason: str | None,
        merged_into: str | None = None,
    ) -> None:
        o.state, o.merged_into = "cancelled", merged_into
        self._audit(o, t, actor, action, reason, {"into": merged_into} if merged_into else {})

    # ---------------------------------------------------------- prediction
    def _evidence_table(self) -> dict[str, np.ndarray]:
        """Per unit with live evidence: its delta, and what was seen of it."""
        ev, p = self.ev, self.config.prediction
        assert self.clock is not None
        now = _ts(self.clock)
        floor_t = now - p.window_hours * 3600.0
        units = np.flatnonzero(ev.live)
        since = np.maximum(ev.epoch[units], floor_t)
        off = ev.off[units] > since
        gasp = ev.gasp[units] > since
        pdead = ev.ping_dead[units] > since
        dead_t = np.fmax(
            np.fmax(np.where(off, ev.off[units], np.nan), np.where(gasp, ev.gasp[units], np.nan)),
            np.where(pdead, ev.ping_dead[units], np.nan),
        )
        on_t = ev.on[units]
        reported = (on_t > since) & ~(dead_t > on_t)
        on = reported & (on_t > now - p.supplied_window_s)
        dead = ~np.isnan(dead_t) & ~reported
        metered = self.unit_metered[units]
        ami_live = p.ami_delivery > 0 and now - ev.last_gasp_seen < p.window_hours * 3600.0
        base_meter = p.llr_no_gasp if ami_live else 0.0
        delta = np.zeros(len(units))
        delta += np.where(dead & off, p.llr_call - p.llr_no_call, 0.0)
        delta += np.where(dead & gasp, p.llr_gasp - np.where(metered, base_meter, 0.0), 0.0)
        delta += np.where(dead & pdead, p.llr_ping, 0.0)
        base = p.llr_no_call + np.where(metered, base_meter, 0.0)
        delta = np.where(on, -p.supplied_evidence - base, delta)
        nested = np.zeros(len(units), dtype=bool)
        if ami_live:
            epoch = ev.epoch[units]
            nested = (
                metered
                & ~dead
                & ~(on_t > ev.epoch[units])
                & (epoch > floor_t)
                & (ev.gasp[units] <= epoch - p.momentary_s)  # out for longer than a blink
                & ~(ev.restore[units] > epoch)
                & (now > epoch + p.restore_grace_s)
            )
            delta += np.where(nested, p.llr_missing_restore - base_meter, 0.0)
        keep = dead | on | nested
        # Out since before the last restoration, and never heard back: out
        # all along (a nested outage), so the outage began back then.
        epoch = ev.epoch[units]
        before = np.fmax(ev.off[units], ev.gasp[units])
        still = (before <= epoch) & (before > floor_t) & ~(on_t > before)
        silent = nested | (dead & pdead & ~off & ~gasp)  # no new report of its own
        since_t = np.where(still & silent, before, dead_t)
        since_t = np.where(np.isnan(since_t) & nested, epoch, since_t)
        dead = dead | nested
        expired = ~keep & ~(ev.epoch[units] > floor_t)
        ev.live[units[expired & (np.fmax(ev.off[units], ev.gasp[units]) < floor_t)]] = False
        return {
            "units": units[keep],
            "nodes": self.unit_node[units[keep]],
            "delta": delta[keep],
            "dead": dead[keep],
            "on": on[keep],
            "off": (dead & off)[keep],
            "pdead": (dead & pdead)[keep],
            "dead_t": np.where(nested, since_t, dead_t)[keep],
            "since_t": since_t[keep],
            "fresh_t": dead_t[keep],
            "gasp_t": np.where(gasp, ev.gasp[units], np.nan)[keep],
            "on_t": on_t[keep],
            "base_meter": np.array(base_meter),
            "ami_live": np.array(ami_live),
        }

    def _predict(self, table: dict[str, np.ndarray]) -> list[int]:
        tree, p = self.tree, self.config.prediction
        forced = [tree.position[e] for e in self.tripped if e in tree.position]
        for o in self.outages.values():
            if o.active and o.pinned and o.device is not None:
                pos = tree.position.get(self.net.edge_index.get(o.device, -1))
                if pos is not None:
                    forced.append(pos)
        if self.config.predictor == "classic":
            reports = table["dead"] & ~(table["pdead"] & ~table["off"])
            prediction = classic_rollup(
                tree,
                table["nodes"][reports],
                np.ones(int(reports.sum())),
                self.config.classic,
                forced,
            )
        else:
            prediction = most_likely_faults(
                tree,
                table["nodes"],
                table["delta"],
                base_call=p.llr_no_call,
                base_meter=float(table["base_meter"]),
                fault_cost=p.fault_cost,
                forced=forced,
            )
        return prediction.devices

    def _reconcile(self, conn: Connection) -> None:
        """Re-predict and bring the outage records in line with the prediction."""
        if self.clock is None:
            return
        t = self.clock
        tree = self.tree
        table = self._evidence_table()
        predicted = self._predict(table)
        pos_of = {}
        active = [o for o in self.outages.values() if o.active and o.kind == "network"]
        for o in active:
            pos = tree.position.get(self.net.edge_index.get(o.device or "", -1))
            if pos is not None:
                pos_of[o.id] = pos
        by_pos: dict[int, list[Outage]] = {}
        for o in active:
            if o.id in pos_of:
                by_pos.setdefault(pos_of[o.id], []).append(o)
        matched: set[str] = set()
        new_devices: list[int] = []
        for d in predicted:
            here = by_pos.get(d)
            if here:
                here.sort(key=lambda o: (o.started, o.id))
                matched.update(o.id for o in here)
                for extra in here[1:]:
                    self._cancel(extra, t, "system", "merged", "same device", here[0].id)
            else:
                new_devices.append(d)
        leftovers = [o for o in active if o.id not in matched and o.id in pos_of]
        revealed: dict[int, Outage] = {}  # nested device -> the outage restored above it
        first_dead = self._first_dead(table, tree)
        gap = self.config.prediction.new_outage_gap_s
        gap_ami = self.config.prediction.new_outage_gap_ami_s
        # Outages masked by a later outage above them stay, nested below it.
        holders = {d: by_pos[d][0] for d in predicted if by_pos.get(d)}
        for o in list(leftovers):
            d = int(tree.parent[pos_of[o.id]])
            while d >= 0:
                h = holders.get(d)
                # Trips and last gasps date an outage to the second; calls do not.
                prompt = h is not None and (h.confirmed_by == "scada" or bool(table["ami_live"]))
                if h is not None and (h.started - o.started).total_seconds() > (
                    gap_ami if prompt else gap
                ):
                    leftovers.remove(o)
                    break
                d = int(tree.parent[d])
        # Roll-up: a new device above outages that lost their own support,
        # unless the evidence around them began well after they did (then
        # it is a new outage above them, and they stay nested).
        for d in list(new_devices):
            under = [o for o in leftovers if tree.below(d, pos_of[o.id])]
            if not under:
                continue
            under.sort(key=lambda o: (o.started, o.id))
            inner = [pos_of[o.id] for o in under]
            leftovers = [o for o in leftovers if o not in under]
            gasp_outside = self._first_dead_outside(table, d, inner, "gasp_t")
            any_outside = self._first_dead_outside(table, d, inner, "dead_t")
            earliest = under[0].started
            tripped_at = self.tripped.get(int(tree.candidate[d]))
            if tripped_at is not None:
                gasp_outside = _dt(tripped_at)  # as prompt and certain as a gasp
            if (
                gasp_outside is not None and (gasp_outside - earliest).total_seconds() > gap_ami
            ) or (any_outside is not None and (any_outside - earliest).total_seconds() > gap):
                continue
            keep = under[0]
            self._move(keep, d, t, "rolled up")
            keep.started = min(keep.started, first_dead(d) or keep.started)
            for o in under[1:]:
                self._cancel(o, t, "system", "merged", f"rolled up into {keep.device}", keep.id)
            new_devices.remove(d)
            pos_of[keep.id] = d
        # Narrowing: outages whose device was replaced by devices below it.
        grace = self.config.prediction.restore_grace_s
        for o in list(leftovers):
            below = [d for d in new_devices if tree.below(pos_of[o.id], d)]
            if not below:
                continue
            leftovers.remove(o)
            partial = self._supplied_under(table, pos_of[o.id], o.started)
            if partial is not None:
                if _ts(t) - partial < grace:
                    # Meters report supply back over a minute or so: wait
                    # before calling what is still dead a nested outage.
                    for d in below:
                        new_devices.remove(d)
                    continue
                # Partial restoration: the outage is restored; those still out
                # below it are nested outages, out since it started.
                self._restore(o, _dt(partial), "system", "partial restoration")
                for d in below:
                    revealed[d] = o
                continue
            below.sort(key=lambda d: -tree.customers[d])
            self._move(o, below[0], t, "narrowed")
            pos_of[o.id] = below[0]
            new_devices.remove(below[0])
        for d in new_devices:
            tripped_at = self.tripped.get(int(tree.candidate[d]))
            started = _dt(tripped_at) if tripped_at is not None else (first_dead(d) or t)
            parent = revealed.get(d)
            if parent is not None:
                started = min(started, parent.started)
            o = self._new_outage("network", self.net.edge_ids[tree.candidate[d]], None, started, t)
            o.revealed_by = parent.id if parent is not None else None
            if tripped_at is not None:
                o.state, o.confirmed_by = "confirmed", "scada"
            rule = "scada" if tripped_at is not None else self.config.predictor
            self._audit(o, t, "system", "predict", None, {"device": o.device, "rule": rule})
            pos_of[o.id] = d
            self._changes.moved.append(o)
            self._keep_evidence(o)
        for o in leftovers:
            when = self._supplied_under(table, pos_of[o.id], o.started)
            if when is not None and when >= _ts(o.located_at) - self.config.batch_seconds:
                self._restore(o, _dt(when), "system", "supply reported")
            elif when is not None:
                # Supply was reported below it before it was predicted there:
                # it never was out as predicted.
                self._cancel(o, t, "system", "withdrawn", "supply reported before it was predicted")
            else:
                self._cancel(o, t, "system", "withdrawn", "evidence no longer supports it")
        self._single_customers(table, [d for d in predicted], t)
        self._momentaries_from_meters(t)
        self._update_figures(table, pos_of, t)
        self._request_pings(table, pos_of, t)
        if self.config.dispatch.enabled:
            self.book.sync(list(self.outages.values()), t)
            self.book.timers(t)
        for o in self.outages.values():  # the outage shows its job's ETR
            job = self.book.by_outage.get(o.id)
            if job is not None and job.etr != o.etr and o.active:
                o.etr = job.etr
                self._changes.dirty.add(o.id)

    def _momentaries_from_meters(self, t: datetime) -> None:
        """Momentary outages that meters saw (a gasp, then a restore within
        ``momentary_s``) between two predictions, with no outage recorded."""
        ev, p = self.ev, self.config.prediction
        # Restores trickle in over a minute: look at each blink once its
        # neighbours have had time to report too.
        until = _ts(t) - self.config.prediction.blink_settle_s
        if until <= self.blinks_until:
            return
        units = np.flatnonzero(ev.live)
        gasp, back = ev.gasp[units], ev.restore[units]
        blink = (
            (back > self.blinks_until)
            & (back <= until)
            & (back >= gasp)
            & (back - gasp < p.momentary_s)
        )
        self.blinks_until = until
        if not blink.any():
            return
        units, gasp, back = units[blink], gasp[blink], back[blink]
        tree = self.tree
        nodes = self.unit_node[units]
        tin = tree.supply.tree.tin[nodes]
        known = [*self.outages.values(), *self.finished.values()]
        explained = np.zeros(len(units), dtype=bool)
        for o in known:
            pos = tree.position.get(self.net.edge_index.get(o.device or "", -1))
            if pos is None or o.started > _dt(float(back.max())):
                continue
            if o.restored is not None and _ts(o.restored) < float(gasp.min()):
                continue
            explained |= (tin >= tree.lo[pos]) & (tin < tree.hi[pos])
        if explained.all():
            return
        units, gasp, back = units[~explained], gasp[~explained], back[~explained]
        nodes = self.unit_node[units]
        prediction = most_likely_faults(
            tree,
            nodes,
            np.full(len(units), p.llr_gasp - p.llr_no_gasp),
            base_call=0.0,
            base_meter=p.llr_no_gasp if p.ami_delivery > 0 else 0.0,
            fault_cost=p.fault_cost,
        )
        tin = tree.supply.tree.tin[nodes]
        for d in prediction.devices:
            inside = (tin >= tree.lo[d]) & (tin < tree.hi[d])
            start, end = _dt(float(gasp[inside].min())), _dt(float(back[inside].max()))
            device = self.net.edge_ids[tree.candidate[d]]
            if any(
                o.device == device
                and o.started <= end
                and (o.restored is None or o.restored >= start)
                for o in known
            ):
                continue
            o = self._new_outage("network", device, None, start, t)
            self._audit(o, t, "system", "predict", None, {"device": device, "rule": "meters"})
            o.customers_out = int(tree.customers[d])
            o.critical_out = int(tree.critical[d])
            self._restore(o, end, "system", "meters reported supply back")

    def _first_dead(
        self, table: dict[str, np.ndarray], tree: DeviceTree
    ) -> Callable[[int], datetime | None]:
        dead = table["dead"]
        nodes = table["nodes"][dead]
        fresh = table["fresh_t"][dead]  # reports since the last restoration
        since = table["since_t"][dead]  # out all along (nested), when no fresh report
        tin = tree.supply.tree.tin[nodes]

        def first(d: int) -> datetime | None:
            inside = (tin >= tree.lo[d]) & (tin < tree.hi[d])
            for times in (fresh, since):
                ok = inside & ~np.isnan(times)
                if ok.any():
                    return _dt(float(times[ok].min()))
            return None

        return first

    def _first_dead_outside(
        self, table: dict[str, np.ndarray], d: int, inner: list[int], column: str
    ) -> datetime | None:
        """Earliest time in ``column`` below ``d`` but outside the ``inner`` devices."""
        tree = self.tree
        dead = table["dead"] & ~np.isnan(table[column])
        tin = tree.supply.tree.tin[table["nodes"][dead]]
        keep = (tin >= tree.lo[d]) & (tin < tree.hi[d])
        for i in inner:
            keep &= ~((tin >= tree.lo[i]) & (tin < tree.hi[i]))
        if not keep.any():
            return None
        return _dt(float(table[column][dead][keep].min()))

    def _supplied_under(
        self, table: dict[str, np.ndarray], d: int, after: datetime
    ) -> float | None:
        """Earliest report of supply below device ``d`` since ``after``, or None."""
        tree = self.tree
        on = table["on"] & (table["on_t"] >= _ts(after))
        if not on.any():
            return None
        tin = tree.supply.tree.tin[table["nodes"][on]]
        inside = (tin >= tree.lo[d]) & (tin < tree.hi[d])
        if not inside.any():
            return None
        return float(table["on_t"][on][inside].min())

    def _move(self, o: Outage, d: int, t: datetime, reason: str) -> None:
        device = self.net.edge_ids[self.tree.candidate[d]]
        self._audit(o, t, "system", "move", reason, {"from": o.device, "to": device})
        o.device, o.located_at = device, t
        if int(self.tree.candidate[d]) in self.tripped:
            o.state, o.confirmed_by = "confirmed", "scada"
        elif o.confirmed_by == "ami_ping":
            o.state, o.confirmed_by = "predicted", None
        self._changes.moved.append(o)

    def _single_customers(
        self, table: dict[str, np.ndarray], predicted: list[int], t: datetime
    ) -> None:
        """Calls no network outage explains become single-customer outages."""
        tree = self.tree
        los = np.sort(tree.lo[predicted]) if predicted else np.empty(0, dtype=np.int64)
        his = np.sort(tree.hi[predicted]) if predicted else np.empty(0, dtype=np.int64)
        tin = tree.supply.tree.tin[table["nodes"]]
        # Covered when some predicted interval [lo, hi) holds tin: the count of
        # starts at or before tin exceeds the count of ends at or before it.
        covered = np.searchsorted(los, tin, side="right") > np.searchsorted(his, tin, side="right")
        calling = table["off"] & ~covered
        want = {
            int(u): float(ft)
            for u, ft in zip(table["units"][calling], table["dead_t"][calling], strict=True)
        }
        open_single = {
            o.customer: o for o in self.outages.values() if o.active and o.kind == "single_customer"
        }
        by_device: dict[int, Outage] = {}
        for o in self.outages.values():
            if o.active and o.kind == "network":
                pos = tree.position.get(self.net.edge_index.get(o.device or "", -1))
                if pos is not None:
                    by_device[pos] = o
        for cid, o in open_single.items():
            u = self._unit_of(cid) if cid is not None else -1
            if u in want:
                continue
            if u < 0:
                self._cancel(o, t, "system", "withdrawn", "customer no longer in the network")
                continue
            if self.ev.on[u] > _ts(o.started):
                self._restore(o, _dt(self.ev.on[u]), "system", "supply reported")
                continue
            host = self._network_outage_of(u, by_device)
            if host is not None:
                self._cancel(o, t, "system", "merged", f"explained by {host.device}", host.id)
            else:
                self._cancel(o, t, "system", "withdrawn", "evidence expired")
        # Network outages restored since these customers went out: those
        # still out below one are left behind by it (a leftover), once their
        # meters have had the grace to report supply back.
        restored: dict[int, Outage] = {}
        for o in itertools.chain(self.outages.values(), self.finished.values()):
            if o.kind == "network" and o.restored is not None and o.state != "cancelled":
                pos = tree.position.get(self.net.edge_index.get(o.device or "", -1))
                if pos is not None:
                    restored[pos] = o
        grace = self.config.prediction.restore_grace_s
        for u, _ in want.items():
            cid = self._unit_id(u)
            if cid in open_single:
                continue
            first = self.ev.first_off[u]
            started = _dt(first if first > self.ev.epoch[u] else self.ev.off[u])
            host = self._network_outage_of(u, restored) if restored else None
            if host is not None and host.restored is not None and host.restored < started:
                host = None  # restored before this customer went out
            if (
                host is not None
                and host.restored is not None
                and (t - host.restored).total_seconds() < grace
            ):
                continue
            o = self._new_outage("single_customer", None, cid, started, t)
            o.revealed_by = host.id if host is not None else None
            o.calls = 1
            o.customers_out = 1
            o.critical_out = int(self.unit_critical[u])
            o.hazard = bool(self.ev.hazard[u] > self.ev.epoch[u])
            self._audit(o, t, "system", "predict", None, {"customer": cid})

    def _network_outage_of(self, u: int, by_device: dict[int, Outage]) -> Outage | None:
        """The open network outage deepest above unit ``u``. O(nesting depth)."""
        tree = self.tree
        d = int(tree.node_device[self.unit_node[u]])
        while d >= 0:
            if d in by_device:
                return by_device[d]
            d = int(tree.parent[d])
        return None

    def _update_figures(
        self, table: dict[str, np.ndarray], pos_of: dict[str, int], t: datetime
    ) -> None:
        tree = self.tree
        live = [
            o for o in self.outages.values() if o.active and o.kind == "network" and o.id in pos_of
        ]
        if not live:
            return
        positions = np.array([pos_of[o.id] for o in live], dtype=np.int64)
        calls = tree.sums(table["nodes"], table["off"].astype(float), positions)
        pings = tree.sums(table["nodes"], table["pdead"].astype(float), positions)
        hazard_units = np.flatnonzero(
            self.ev.hazard[table["units"]] > self.ev.epoch[table["units"]]
        )
        hazards = tree.sums(table["nodes"][hazard_units], np.ones(len(hazard_units)), positions)
        # Customers out because of this outage only: minus those of the
        # outages nested directly below it (intervals nest in pre-order).
        order = np.argsort(tree.lo[positions], kind="stable")
        inner = np.zeros(len(live), dtype=np.int64)
        inner_crit = np.zeros(len(live), dtype=np.int64)
        stack: list[int] = []
        for k in order.tolist():
            d = positions[k]
            while stack and not tree.lo[d] < tree.hi[positions[stack[-1]]]:
                stack.pop()
            if stack and positions[stack[-1]] != d:
                inner[stack[-1]] += tree.customers[d]
                inner_crit[stack[-1]] += tree.critical[d]
            stack.append(k)
        for k, o in enumerate(live):
            d = positions[k]
            out = int(tree.customers[d] - inner[k])
            crit = int(tree.critical[d] - inner_crit[k])
            section = self._section(o, d)
            figures = (out, crit, int(calls[k]), bool(hazards[k] > 0), section)
            if figures != (o.customers_out, o.critical_out, o.calls, o.hazard, o.section):
                o.customers_out, o.critical_out, o.calls, o.hazard, o.section = figures
                self._changes.dirty.add(o.id)
            if o.state == "predicted" and pings[k] > 0:
                o.state, o.confirmed_by = "confirmed", "ami_ping"
                self._audit(o, t, "system", "confirm", "a pinged meter has no supply", {})

    def _section(self, o: Outage, d: int) -> list[str]:
        """Conductors between the last tripped and the first untripped fault indicator.

        An indicator sees the current through its edge: a tripped one puts
        the fault on its own edge or beyond it, an untripped one puts it
        before its edge. Protective devices below bound the section too.
        """
        if not self.fci:
            return list(o.section)
        tree = self.tree
        st = tree.supply.tree
        since = _ts(o.started) - 60.0
        inside = [
            (e, fault)
            for e, (fault, when) in self.fci.items()
            if when >= since and st.edge_child[e] >= 0 and tree.contains(d, int(st.edge_child[e]))
        ]
        tripped = [e for e, fault in inside if fault]
        if not tripped:
            return []
        start = max(tripped, key=lambda e: st.depth[st.edge_child[e]])
        top = int(st.edge_child[start])
        lo, hi = st.tin[top], st.tin[top] + st.size[top]
        nodes = st.pre[lo:hi]
        keep = np.ones(len(nodes), dtype=bool)
        net = self.net
        stops = [e for e, fault in inside if not fault] + [
            int(c) for c in tree.candidate[(tree.lo > lo) & (tree.lo < hi)]
        ]
        for e in stops:
            u = int(st.edge_child[e])
            a = st.tin[u]
            if lo <= a < hi:
                keep[a - lo : a - lo + st.size[u]] = False
        edges = st.parent_edge[nodes[keep]]
        edges = edges[edges >= 0]
        edges = edges[np.isin(net.edge_kind, [0, 1])[edges]]
        return sorted(net.edge_ids[e] for e in edges.tolist())

    def _request_pings(
        self, table: dict[str, np.ndarray], pos_of: dict[str, int], t: datetime
    ) -> None:
        """Ask the head-end about meters that would confirm or refute an outage.

        A new or moved predicted outage: meters below it not known to have
        supply, those not heard from first. A restored one: once meters have
        had ``restore_grace_s`` to report, those that were out and have not
        reported back (nested outages hide there).
        """
        if not self.config.pings or self.unit_ids is None:
            return
        k = self.config.pings_per_check
        on = set(table["units"][table["on"]].tolist())
        known = set(table["units"].tolist())
        for o in self._changes.moved:
            if not o.active or o.state != "predicted" or o.id not in pos_of:
                continue
            below = self._units_under(pos_of[o.id])
            metered = [u for u in below[self.unit_metered[below]].tolist() if u not in on]
            quiet = [u for u in metered if u not in known]
            heard = [u for u in metered if u in known]
            chosen = list(_spread(np.array(quiet, dtype=np.int64), k))
            chosen += list(_spread(np.array(heard, dtype=np.int64), k - len(chosen)))
            for u in chosen:
                self._changes.pings.append((int(u), o.id, "confirm"))
        grace = self.config.prediction.restore_grace_s
        for o in self._changes.restored:
            if o.restored is not None:
                self.checks.append((_ts(o.restored) + grace, o.id, o.device or ""))
        due = [c for c in self.checks if c[0] <= _ts(t)]
        self.checks = [c for c in self.checks if c[0] > _ts(t)]
        for _due, oid, device in due:
            pos = self.tree.position.get(self.net.edge_index.get(device, -1))
            if pos is None:
                continue
            units = self._units_under(pos)
            units = units[self.unit_metered[units]]
            epoch = self.ev.epoch[units]
            was_out = np.fmax(self.ev.off[units], self.ev.gasp[units]) <= epoch
            silent = ~(self.ev.on[units] > epoch)
            for u in _spread(units[was_out & silent], 2 * k):
                self._changes.pings.append((int(u), oid, "nested"))

    # -------------------------------------------------------------- writing
    def _write_feed(self, conn: Connection) -> None:
        """The batch's changes, numbered, for the live stream; on PostgreSQL
        a NOTIFY (delivered at commit) wakes every server process's stream."""
        ch = self._changes
        assert self.clock is not None
        now = self.clock
        rows = [
            {"time": now, "kind": "outage", "ref": oid, "data": self.outages[oid].to_dict()}
            for oid in sorted(ch.dirty)
            if oid in self.outages
        ]
        for device, row in sorted(ch.devices.items()):
            data = {k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()}
            rows.append({"time": now, "kind": "device", "ref": device, "data": data})
        rows.extend(self.book.feed(now))
        if not rows:
            return
        conn.execute(insert(schema.changes), rows)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": FEED_CHANNEL})

    def _write(self, conn: Connection) -> None:
        ch = self._changes
        assert self.clock is not None
        for o in self.outages.values():
            if o.id in ch.dirty:
                o.updated_at = self.clock
        new_rows = [self.outages[i].row() for i in sorted(ch.new)]
        if new_rows:
            conn.execute(insert(schema.outages), new_rows)
        changed = [self.outages[i].row() for i in sorted(ch.dirty - ch.new)]
        if changed:
            columns = [c.name for c in schema.outages.columns if c.name != "id"]
            statement = (
                update(schema.outages)
                .where(schema.outages.c.id == bindparam("key"))
                .values({c: bindparam(c) for c in columns})
            )
            conn.execute(statement, [{**row, "key": row["id"]} for row in changed])
        if ch.audit:
            conn.execute(insert(schema.outage_audit), ch.audit)
        for device, row in ch.devices.items():
            done = conn.execute(
                update(schema.device_states)
                .where(schema.device_states.c.device == device)
                .values(**row)
            ).rowcount
            if not done:
                conn.execute(insert(schema.device_states).values(**row))
        self._write_feed(conn)
        self.book.write(conn, self.clock)
        if ch.pings and self.unit_ids is not None:
            meters = self.net.customers.fields.get("meter")  # type: ignore[union-attr]
            conn.execute(
                insert(schema.ping_requests),
                [
                    {
                        "customer": self.unit_ids[u],
                        "meter": meters[u] if meters else None,
                        "requested_at": self.clock,
                        "outage": oid,
                        "purpose": purpose,
                        "sent": False,
                    }
                    for u, oid, purpose in ch.pings
                ],
            )
        for key, value in (
            ("clock", self.clock.isoformat()),
            ("next_outage", str(self.next_outage)),
            ("blinks_until", repr(self.blinks_until)),
            ("generation", str(self.generation + 1)),
        ):
            done = conn.execute(
                update(schema.engine_state)
                .where(schema.engine_state.c.key == key)
                .values(value=value)
            ).rowcount
            if not done:
                conn.execute(insert(schema.engine_state).values(key=key, value=value))
        self.generation += 1
        # Only open outages stay in ``outages``.
        for o in [o for o in self.outages.values() if not o.active]:
            del self.outages[o.id]
            if o.state == "cancelled":
                self.cancelled[o.id] = o.merged_into
            else:
                self.finished[o.id] = o

    # ---------------------------------------------------------- head-end
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


class _StaleState(Exception):
    """Another process wrote events since this engine last looked."""


@dataclass
class _Changes:
    new: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    audit: list[dict[str, Any]] = field(default_factory=list)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    pings: list[tuple[int, str, str]] = field(default_factory=list)
    moved: list[Outage] = field(default_factory=list)
    restored: list[Outage] = field(default_factory=list)


def _conflict(event_id: str) -> EventConflict:
    return EventConflict(f"event id {event_id!r} was seen before with different content")


def _spread(units: np.ndarray, k: int) -> Iterator[int]:
    """Up to ``k`` of ``units``, evenly spread (they are in supply-tree order)."""
    if len(units) <= k:
        yield from units.tolist()
        return
    for i in np.linspace(0, len(units) - 1, k).round().astype(int).tolist():
        yield int(units[i])
