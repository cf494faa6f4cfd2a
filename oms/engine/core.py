"""The engine's core: the state of outages and evidence, changed by events and time. No I/O.

:class:`EngineCore` is built from what the repository read (:class:`Stored`)
and the network; :meth:`EngineCore.apply` takes one validated event,
:meth:`EngineCore.reconcile` re-predicts and brings the outage records in
line (``oms.engine.reconcile``); every change lands in the batch's
:class:`~oms.engine.changes.Changes`, which the repository writes. Tests
drive it on small in-memory networks, with no database.

The core never reads the wall clock: its clock is the time of the latest
event applied, and it never moves backwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from oms.config import EngineConfig
from oms.engine.alerts import acknowledge
from oms.engine.changes import Changes
from oms.engine.damage import apply_damage
from oms.engine.desk import DESK_TYPES, StoredDesk, SwitchingDesk, guard
from oms.engine.devices import DeviceStates
from oms.engine.evidence import Evidence, EvidenceTable
from oms.engine.figures import FeederFigures
from oms.engine.job_events import apply_event
from oms.engine.orders import OrderBook
from oms.engine.outage_book import OutageBook
from oms.engine.placements import Placements
from oms.engine.prediction import DeviceTree, FeederFaults
from oms.engine.register import apply_contact, apply_critical_customer
from oms.engine.storm import storm
from oms.engine.switching import no_op_refusal
from oms.engine.timebase import CALL_DELAY_MIN_S, CLOCK_SLACK_S, to_datetime, to_seconds
from oms.engine.units import Units
from oms.exceptions import ActionError
from oms.intake.events import Directory, Event
from oms.outages import Outage
from topology.model import Network
from topology.supply import Supply

__all__ = ["EngineCore", "Stored"]


@dataclass
class Stored:
    """What the repository read back: the state the last commit left."""

    version: int = 0
    device_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    crews: list[str] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    clock: datetime | None = None
    next_outage: int = 1
    #: Meter blinks (gasp then restore) up to here were looked at for momentaries.
    blinks_until: float = float("-inf")
    #: Switching orders, safety documents, planned outages, field changes.
    desk: StoredDesk = field(default_factory=StoredDesk)
    #: Damage reports of the active outages, by outage id.
    damage: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: The register's edits (``oms.engine.register``), by customer id.
    register: dict[str, dict[str, Any]] = field(default_factory=dict)


class EngineCore:
    """Outages kept located from the evidence; the order book kept in step.

    Parameters
    ----------
    net : Network
        The network in its normal state (never changed: the core keeps a view
        of it in the reported switching state and operates that).
    config : EngineConfig
    stored : Stored
        The state to start from (empty for a fresh database).
    make_book : callable, optional
        Builds the order book, given the core (for its locating and
        recipient callbacks). Without one, no jobs are kept.
    """

    def __init__(
        self,
        net: Network,
        config: EngineConfig,
        stored: Stored,
        make_book: Callable[[EngineCore], OrderBook] | None = None,
    ) -> None:
        self.devices = DeviceStates(stored.device_rows)
        self.desk = SwitchingDesk(stored.desk)
        self.damage = stored.damage
        self.register = stored.register
        #: The devices' own reported states (a jumpered device may be open under its jumper).
        self.device_closed = self.devices.read_rows(net)
        # The core's own view as operated (the reported states, with the
        # field's jumpers and cuts); the network it was given is never changed.
        state, cut = self.desk.temporary.operated(net, self.device_closed)
        self.net = net = net.with_states(state, cut=cut)
        #: The configured rules; ``config`` is the ones in force (storm mode's
        #: while it is on: :meth:`follow_storm`).
        self.base_config = self.config = config
        self.version = stored.version
        self.directory = Directory(net, stored.crews)
        self.clock = stored.clock
        self.blinks_until = stored.blinks_until
        self.changes = Changes()
        self.outages = OutageBook(stored.outages, stored.next_outage, self.changes)
        self.units = Units(net, config.prediction.metered_default)
        self.ev = Evidence(len(self.units))
        # Restorations to look under for nested outages: (due, outage, device).
        self.checks: list[tuple[float, str, str]] = []
        # Devices whose predicted outage a meter's ping refuted: device ->
        # (when, the units below it that were out then). Not predicted again
        # until a unit below it not out then reports no supply.
        self.refuted: dict[str, tuple[float, frozenset[int]]] = {}
        # The outage each meter was last pinged about, for a retry of the ping.
        self.pinged_about: dict[int, str] = {}
        self._tree: DeviceTree | None = None
        self._faults: FeederFaults | None = None
        self._figures: FeederFigures | None = None
        self._positions: tuple[DeviceTree | None, dict[str, int | None]] = (None, {})
        self._normal_supply: Supply | None = None
        # Devices open now that are closed as built (None: to be found again
        # after switching): a reclose asks whether they hold customers out.
        self._opened: np.ndarray | None = None
        self._placements: Placements | None = None
        # Commanded operations of the batch (device, state, actor, planned
        # outage or None), and the nodes they keep without supply
        # (oms.engine.switching).
        self.operations: list[tuple[str, str, str, str | None]] = []
        self.switched_dead: np.ndarray | None = ~self.tree.supply.energized
        # Cut off by switching inside a fault's area, with per-node critical
        # customers and calls: the fault's still (oms.engine.switching).
        self.held: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.book: OrderBook | None = make_book(self) if make_book is not None else None
        self.follow_storm()

    def resume(self) -> None:
        """After the log's telemetry was applied: put back what restorations did."""
        for o in self.outages.finished.values():
            if o.restored is not None:
                self.set_epoch(o, to_seconds(o.restored))
        for o in self.outages.active("network"):
            self.keep_evidence(o)

    # --------------------------------------------------------- the tree
    @property
    def tree(self) -> DeviceTree:
        """The protective devices in the prediction state (tripped devices closed)."""
        if self._tree is None:
            net = self.net.with_states(self.devices.prediction_states(self.net.edge_closed))
            supply = net.supply
            units = self.units
            metered = np.bincount(units.node[units.metered], minlength=net.n_nodes)
            points = self.config.prediction.outage_points
            self._tree = DeviceTree(net, supply, metered, outage_points=points)
            tin = supply.tree.tin[self.units.node]
            self._unit_order = np.argsort(tin, kind="stable")
            self._unit_tin = tin[self._unit_order]
        return self._tree

    def figures(self) -> FeederFigures:
        """Which feeders' outage figures to look at again, for the tree of this switching state."""
        faults = self.faults()
        if self._figures is None or self._figures.tree is not faults.tree:
            self._figures = FeederFigures(faults, len(self.units))
        return self._figures

    def faults(self) -> FeederFaults:
        """The most likely faults kept per feeder, for the tree of this switching state."""
        tree = self.tree
        if self._faults is None or self._faults.tree is not tree:
            self._faults = FeederFaults(tree, len(self.units))
        return self._faults

    @property
    def normal_supply(self) -> Supply:
        """The supply analysis of the normal switching state (it never changes)."""
        if self._normal_supply is None:
            self._normal_supply = self.net.normal().supply
        return self._normal_supply

    def position(self, device: str | None) -> int | None:
        """The tree position of a device, None when it is not a candidate. O(1):
        the devices asked about (those of the open outages, thousands in a
        storm, every batch) are kept per tree, not looked up again among a
        million edges."""
        return self.positions([device])[0]

    def positions(self, devices: Iterable[str | None]) -> list[int | None]:
        """:meth:`position` of each of ``devices``. O(len(devices))."""
        tree = self.tree
        if self._positions[0] is not tree:
            self._positions = (tree, {})
        known = self._positions[1]
        found: list[int | None] = []
        for device in devices:
            key = device or ""
            pos = known.get(key, -1)
            if pos == -1:
                pos = known[key] = tree.position.get(self.net.edge_index.get(key, -1))
            found.append(pos)
        return found

    def units_under(self, pos: int) -> np.ndarray:
        """Units below tree position ``pos``. O(log units + answer)."""
        tree = self.tree
        a = np.searchsorted(self._unit_tin, tree.lo[pos], side="left")
        b = np.searchsorted(self._unit_tin, tree.hi[pos], side="left")
        return self._unit_order[a:b]

    def table(self) -> EvidenceTable:
        """The evidence as of the clock (units that aged out are forgotten, those
        back in supply for good left alone)."""
        assert self.clock is not None
        table = self.ev.table(
            to_seconds(self.clock),
            self.config.prediction,
            self.units.metered,
            self.units.node,
            self.blinks_until,
        )
        self.ev.forget(table)
        return table

    # ---------------------------------------------------------- a batch
    def begin(self) -> Changes:
        """Start a batch: a fresh change record."""
        self.changes = Changes()
        self.outages.begin(self.changes)
        self.desk.begin()
        return self.changes

    def advance(self, t: datetime) -> None:
        if self.clock is None or t > self.clock:
            self.clock = t

    def apply(self, event: Event) -> None:
        """Apply one event to the state (the caller reconciles once per batch).

        Raises
        ------
        ActionError, OutageNotFound
            A dispatcher or crew action that cannot be carried out; nothing changed.
        """
        from oms.engine.actions import apply_action

        if event.type.startswith("outage_"):
            apply_action(self, event)
        elif event.type in DESK_TYPES:
            self.desk.apply(self, event)
        elif event.type == "damage_report":
            apply_damage(self, event)
        elif event.type == "critical_customer":
            apply_critical_customer(self, event)
        elif event.type == "customer_contact":
            apply_contact(self, event)
        elif event.type in ("scada", "switch"):
            self.apply_device(event)
        elif event.type == "alert_ack":
            if self.book is not None:  # alerts come from the order book
                acknowledge(self.book, event)
        elif event.type.startswith(("job_", "crew_", "survey_", "dispatch_", "storm_")):
            if self.book is not None:
                for oid in apply_event(self.book, event):
                    o = self.outages.open.get(oid)
                    if o is not None and o.active:
                        crew = event.payload.get("crew") or "crew"
                        # A crew's work is never a blink, however quick.
                        self.restore(
                            o, event.time, crew, "the crew restored supply", sustained=True
                        )
                if event.type == "storm_mode":
                    self.follow_storm()
                if event.type == "crew_add":  # later events may name the new crew
                    self.directory.crews.add(event.payload["crew"])
        else:
            self.apply_evidence(event)
        self.advance(event.time)

    def follow_storm(self) -> None:
        """Locate with storm mode's rules while it is on, the configured ones
        otherwise (:meth:`oms.config.EngineConfig.in_storm`). O(1), or a tree
        rebuilt when the storm changes the outage points."""
        state = storm(self.book) if self.book is not None else None
        config = self.base_config.in_storm() if state is not None else self.base_config
        if state is not None:
            # Shown with storm mode on every page and in `oms storm status`.
            rules = self.base_config.storm
            shown = {
                "prediction": dict(rules.prediction),
                "pings_per_check": rules.pings_per_check,
                "pings_after_restoration": rules.pings_after_restoration,
            }
            if state.get("rules") != shown and self.book is not None:
                state["rules"] = shown
                self.book.modes_changed = True
        if config.prediction.outage_points != self.config.prediction.outage_points:
            self._tree = None
        if config.prediction != self.config.prediction:
            self.ev.wake_all()  # customers left alone may have something to say by these rules
        self.config = config

    def apply_evidence(self, event: Event) -> None:
        """A call, meter message or fault indicator. O(1)."""
        t = to_seconds(event.time)
        if event.type == "fci":
            self.devices.fci[event.device] = (bool(event.payload["fault"]), t)
            return
        u = event.customer if self.units.are_customers else event.node
        if u < 0:
            return
        self.ev.apply(event, u, t)
        if event.type.startswith("ami_") and self.units.heard(u) and self._tree is not None:
            self._tree.add_meter(int(self.units.node[u]))

    def apply_device(self, event: Event) -> None:
        """A SCADA report or a commanded switching operation.

        Raises
        ------
        ActionError
            A commanded operation into the state the device has (the reason
            says which and since when), or one the interlocks refuse
            (:func:`oms.engine.desk.guard`); nothing changed.
        """
        e, net = event.device, self.net
        device = net.edge_ids[e]
        state = event.payload["state"]
        if event.type == "switch":
            refused = no_op_refusal(self, e, state, event.time)
            if refused is not None:
                raise ActionError(refused)
            guard(self, event)
        if event.type == "scada" and self.desk.confirmed_by_scada(self, event):
            return  # the next step of an issued order, carried out through SCADA
        if event.type == "scada" and state == "open" and not self.device_closed[e]:
            # Open already (commanded, or its normal state): no trip, a confirmation.
            self._store_row(
                device, {**self._row(device, state, event.time, event.id), "tripped": False}
            )
            return
        if event.type == "scada" and net.is_protective(e):
            row = self._row(device, state, event.time, event.id)
            row["tripped"] = state == "open"
            if state == "open":
                self.devices.tripped.setdefault(e, to_seconds(event.time))
                if event.payload.get("lockout"):
                    self.devices.lockout.add(e)
            else:
                self._reclosed(e, event.time)
            self._store_row(device, row)
        else:
            actor = event.payload.get("user") or event.type
            self.operate(device, state, event.time, actor, event.id, None)

    def operate(
        self, device: str, state: str, t: datetime, actor: str, event_id: str, planned: str | None
    ) -> None:
        """Put ``device`` in ``state`` as commanded (or as SCADA reports it operated).

        Who loses supply is recorded by :mod:`oms.engine.switching` (as the
        ``planned`` outage's interruption when one is named). A device under
        a jumper changes its own state only. A tripped device closed by any
        command (a ``switch``, an order's step, SCADA confirming a step)
        restores its outages, as if it reclosed.
        """
        e = self.net.edge_index[device]
        closed = state == "closed"
        if closed and e in self.devices.tripped:
            self._reclosed(e, t)
        if bool(self.device_closed[e]) != closed:
            self.device_closed[e] = closed
            if device not in self.desk.temporary.devices("jumper"):
                self.net.operate(device, state)
                self._tree = self._opened = None  # switching changes who is fed through what
                self.operations.append((device, state, actor, planned))
        row = self._row(device, state, t, event_id)
        row["tripped"] = False
        self._store_row(device, row)

    def field_changed(
        self, device: str, t: datetime, actor: str, planned: str | None, *, opening: bool
    ) -> None:
        """A jumper or cut was placed or removed on ``device``: the network as operated follows."""
        state, cut = self.desk.temporary.operated(self.net, self.device_closed)
        e = self.net.edge_index[device]
        before = bool(self.net.edge_closed[e])
        self.net.set_states(state, cut=cut)
        self._tree = self._opened = None
        if before != bool(state[e]):
            self.operations.append((device, "open" if opening else "closed", actor, planned))

    @staticmethod
    def _row(device: str, state: str, t: datetime, event_id: str) -> dict[str, Any]:
        return {"device": device, "state": state, "changed_at": t, "event": event_id}

    def _store_row(self, device: str, row: dict[str, Any]) -> None:
        self.devices.rows[device] = row
        self.changes.devices[device] = row

    def _reclosed(self, e: int, t: datetime) -> None:
        """A tripped device closed: its outages are restored."""
        device = self.net.edge_ids[e]
        opened = self.devices.tripped.pop(e, None)
        self.devices.lockout.discard(e)
        active = self.outages.active_at(device)
        if not active and opened is not None and e in self.tree.position:
            # Opened and closed again between two predictions.
            o = self.outages.new("network", device, None, to_datetime(opened), t)
            o.confirm("scada")
            o.customers_out = int(self.tree.customers[self.tree.position[e]])
            self.outages.audit(o, t, "system", "predict", None, {"device": device, "rule": "scada"})
            active = [o]
        held = bool(active) and self._held_below(e)
        for o in active:
            self.restore(o, t, "scada", f"{device} closed", sustained=held)

    def _held_below(self, e: int) -> bool:
        """Whether closing tripped device ``e`` leaves customers below it (in
        the normal state) without supply: the operator's switching inside its
        area holds them out, so its outage was not momentary for them (found
        by a new-user trial: a fault isolated and reclosed within 5 minutes
        became a blink, and the customers still cut off lost its minutes).
        O(devices open) when the operator opened nothing below it (SCADA
        recloses, the usual case), after an O(m) search for the open devices
        at the first reclose since the last switching; O(n + m) when it did."""
        normal, net = self.normal_supply, self.net
        child = int(normal.tree.edge_child[e])
        if child < 0:
            return False
        # Opened by command inside its area: open now, closed as built, not tripped.
        if self._opened is None:
            self._opened = np.flatnonzero(~net.edge_closed & net.edge_normal_closed)
        opened = self._opened
        opened = opened[~np.isin(opened, np.fromiter(self.devices.tripped, dtype=np.int64))]
        tin, lo = normal.tree.tin, int(normal.tree.tin[child])
        hi = lo + int(normal.tree.size[child])
        inside = np.zeros(len(opened), dtype=bool)
        for end in (net.edge_from[opened], net.edge_to[opened]):
            inside |= (tin[end] >= lo) & (tin[end] < hi)
        if not inside.any():
            return False
        below = normal.downstream_nodes(e)
        closed = net.edge_closed.copy()
        closed[e] = True
        fed = net.with_states(closed).supply.energized
        return bool(net.node_customers[below[~fed[below]]].sum() > 0)

    # ------------------------------------------------ outage bookkeeping
    def restore(
        self, o: Outage, t: datetime, actor: str, reason: str | None, *, sustained: bool = False
    ) -> None:
        """``o`` is restored at ``t``; outages nested below it keep their evidence.
        ``sustained``: not momentary however short (customers of it stay out)."""
        o.restore(t, 0.0 if sustained else self.config.prediction.momentary_s)
        self.outages.audit(o, t, actor, "restore", reason, {"device": o.device, "kind": o.kind})
        if not self._open_above(o, t):
            # Under an outage still open above it, a device closed again
            # (a crew's repair, a dispatcher's word) gives its customers no
            # supply: they stay out with that outage, their reports its
            # evidence, until it is restored.
            self.set_epoch(o, to_seconds(t))
        if o.kind in ("network", "momentary"):  # a blink can hide a fault below it too
            self.changes.restored.append(o)
        if o.kind == "single_customer":
            return
        pos = self.position(o.device)
        if pos is not None:
            for other in self._network_below(pos):
                if other is not o:
                    self.keep_evidence(other)

    def _open_above(self, o: Outage, t: datetime) -> bool:
        """Whether a network outage that began by ``t`` is open above ``o``'s
        device. O(nesting depth x outages at each device above it)."""
        if o.kind != "network":
            return False
        pos = self.position(o.device)
        if pos is None:
            return False
        tree, names = self.tree, self.net.edge_ids
        d = int(tree.parent[pos])
        while d >= 0:  # the devices above it, nearest first
            for other in self.outages.active_at(names[int(tree.candidate[d])]):
                if other is not o and other.kind == "network" and other.started <= t:
                    return True
            d = int(tree.parent[d])
        return False

    def _network_below(self, pos: int) -> list[Outage]:
        """Active network outages at devices strictly below tree position
        ``pos``, in the order of the open outages. O(log outages + those below)."""
        return self.outages.active_network(oid for _, oid in self.placements().below(pos))

    def placements(self) -> Placements:
        """Where the active outages stand, brought up to date with the
        outages changed since last asked. O(open outages) for a new tree, else
        O(changed log outages)."""
        tree, book = self.tree, self.outages
        if self._placements is None or self._placements.tree is not tree:
            self._placements = Placements(
                tree, self.position, self.units.of, len(self.units), book.open.values()
            )
        else:
            self._placements.sync(book.touched.values())
        book.touched.clear()
        return self._placements

    def set_epoch(self, o: Outage, t: float) -> None:
        """Supply came back at ``t`` to the customers of ``o``."""
        if o.kind == "single_customer" and o.customer is not None:
            units = np.array([self.units.of(o.customer)])
        elif o.device is not None:
            pos = self.position(o.device)
            if pos is None:
                return
            units = self.units_under(pos)
        else:
            return
        units = units[units >= 0]
        if o.kind == "momentary" and o.confirmed_by == "scada":
            # A blink's first open is its SCADA time: a report of no supply
            # made before it is not from it and outlives its reclose; nor is
            # a call made too soon after it for a caller to have reacted (a
            # call during a 20 s blink is about an earlier loss of supply).
            ev = self.ev
            call = ev.off[units] - CALL_DELAY_MIN_S  # lost supply by then, at the latest
            last = np.fmax(np.fmax(call, ev.gasp[units]), ev.ping_dead[units])
            units = units[~(last < to_seconds(o.started) - CLOCK_SLACK_S)]
        seen = to_seconds(self.clock) if self.clock is not None else t
        self.ev.restored(units, t, seen)

    def keep_evidence(self, o: Outage) -> None:
        """Undo restorations its customers never had: they are out since it started."""
        pos = self.position(o.device)
        if pos is not None:
            self.ev.out_since(self.units_under(pos), to_seconds(o.started))

    def move(self, o: Outage, d: int, t: datetime, reason: str) -> None:
        """Place ``o`` at tree position ``d``."""
        device = self.net.edge_ids[self.tree.candidate[d]]
        self.outages.audit(o, t, "system", "move", reason, {"from": o.device, "to": device})
        o.move(device, t)
        self.outages.placed(o)
        if int(self.tree.candidate[d]) in self.devices.tripped:
            o.confirm("scada")
        elif o.confirmed_by == "ami_ping":
            o.unconfirm()
        self.changes.moved.append(o)

    # ------------------------------------------------ the order book's view
    def recipients(self, outage_id: str) -> list[str]:
        """Customers to tell about an outage: those who called, and subscribers
        below it; each once, in no order (the outbox sorts a notice's).
        O(customers below + subscribers), the callers' ids gathered in C: an
        outage is asked again at each new call (the late callers to tell)."""
        o = self.outages.find(outage_id)
        if o is None or not self.units.are_customers:
            return []
        if o.kind == "single_customer":
            return [o.customer] if o.customer else []
        pos = self.position(o.device)
        if pos is None:
            return []
        units = self.units_under(pos)
        out = self.units.ids_of(units[self.ev.off[units] >= to_seconds(o.started) - 300.0])
        book = self.book
        if book is not None and book.outbox is not None and book.outbox.subscribers:
            called, tree, node = set(out), self.tree, self.units.node
            for cid in book.outbox.subscribers:
                u = self.units.of(cid)
                if u >= 0 and cid not in called and tree.contains(pos, int(node[u])):
                    out.append(cid)
        return out

    def device_kind(self, device: str) -> str:
        """The kind of a device (``transformer``, ``fuse``, ...); ``line`` when unknown."""
        e = self.net.edge_index.get(device)
        return self.net.kind_of(e) if e is not None else "line"

    def locate(self, key: str) -> tuple[float, float]:
        """Where a crew goes for a device (the node it feeds) or a customer."""
        net = self.net
        if key.startswith("customer:"):
            u = self.units.of(key.split(":", 1)[1])
            cust = net.customers
            if u >= 0 and cust is not None:
                lon, lat = cust.get("lon", u), cust.get("lat", u)
                if lon is not None and lat is not None:
                    return float(lon), float(lat)
            node = int(self.units.node[u]) if u >= 0 else 0
            return float(net.node_xy[node, 0]), float(net.node_xy[node, 1])
        e = net.edge_index.get(key)
        if e is None:
            return float(net.node_xy[0, 0]), float(net.node_xy[0, 1])
        child = int(self.tree.supply.tree.edge_child[e])
        node = child if child >= 0 else int(net.edge_to[e])
        return float(net.node_xy[node, 0]), float(net.node_xy[node, 1])

    def settle(self) -> None:
        """After the batch was written: finished outages and jobs leave the open sets."""
        self.outages.settle()
        self.desk.settle()
        if self.book is not None:
            self.book.settle()

    # ---------------------------------------------------------- reconcile
    def reconcile(self) -> None:
        """Re-predict as of the clock and bring outages and jobs in line."""
        from oms.engine.reconcile import reconcile

        if self.clock is not None:
            reconcile(self, self.clock)
