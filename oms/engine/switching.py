"""Interruptions the operator's own switching causes: recorded as such, never taken for faults.

A commanded operation (a dispatcher's ``switch``, a step of a restoration
plan or of planned work, a switch reporting a commanded state over SCADA)
that leaves customers without supply is one ``switching`` outage at the
device opened, confirmed by the switching itself. The customers it cut off
are known to be out: their calls and last gasps count on that record and
are kept out of fault location (no predicted outage, no single-customer
outage, no job). When supply comes back to them (the device closed again,
or a tie closed) the record is restored, their earlier reports stop
counting, and nothing is predicted from the meters that blinked.

Which customers a record holds is read from the normal switching state:
those below its device there that are without supply now (and not below a
deeper record), so it needs nothing stored beyond the outage itself.

A commanded operation into the state the device already has (opening a
tripped breaker, closing a closed switch) is refused with the reason
(:func:`no_op_refusal`): it would change nothing, and accepting it would
tell the operator something happened.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from oms.engine.evidence import EvidenceTable
from oms.engine.timebase import to_datetime, to_seconds
from oms.intake.events import as_utc
from oms.outages import Outage

if TYPE_CHECKING:
    from oms.engine.core import EngineCore

__all__ = [
    "PLANNED",
    "SWITCHING",
    "SWITCHING_KINDS",
    "explained_by_switching",
    "held_figures",
    "no_op_refusal",
    "switching_phase",
    "without_switched",
]

#: The outage kind of an interruption caused by commanded switching.
SWITCHING = "switching"
#: ... and of one caused by the switching of a planned outage (IEEE 1366: planned).
PLANNED = "planned"
#: Both: the records of interruptions the operator's switching causes.
SWITCHING_KINDS = (SWITCHING, PLANNED)


def no_op_refusal(core: EngineCore, e: int, state: str, t: datetime) -> str | None:
    """Why operating edge ``e`` into ``state`` at ``t`` is refused, or None when it
    would change the device.

    The device's state is what the operator sees: open when it tripped (a
    tripped device keeps its normal state in the switching state, since
    fault location asks why it opened), else its switching state. Times are
    given in the dispatch time zone.
    """
    device = core.net.edge_ids[e]
    tripped = core.devices.tripped.get(e)
    if tripped is not None:
        if state == "closed":
            return None  # closing a tripped device recloses it
        locked = ", locked out" if e in core.devices.lockout else ""
        return f"{device} is already open (tripped at {_at(core, to_datetime(tripped), t)}{locked})"
    if bool(core.device_closed[e]) != (state == "closed"):
        return None
    row = core.devices.rows.get(device)
    changed = as_utc(row.get("changed_at")) if row else None
    if changed is None:
        return f"{device} is already {state} (its normal state)"
    return f"{device} is already {state} (since {_at(core, changed, t)})"


def _at(core: EngineCore, when: datetime, now: datetime) -> str:
    """``10:32``, or ``2026-03-01 10:32`` on another day than ``now``, with the zone."""
    name = core.config.dispatch.rules.time_zone
    zone = timezone.utc if name == "UTC" else ZoneInfo(name)
    local, today = when.astimezone(zone), now.astimezone(zone)
    text = local.strftime("%H:%M" if local.date() == today.date() else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname()}"


def switching_phase(core: EngineCore, t: datetime) -> None:
    """Record what the batch's commanded operations cut off or gave back.

    Run before the evidence is read: customers given back supply start
    afresh (what they reported while cut off no longer counts). O(n).
    """
    if not core.operations:
        return  # trips leave the prediction state as it was: nothing to look at
    dead = ~core.tree.supply.energized
    before = core.switched_dead
    core.switched_dead = dead
    if before is not None:
        back = before & ~dead
        if back.any():
            # Supply is back: what they reported while cut off no longer counts.
            units = np.flatnonzero(back[core.units.node])
            core.ev.restored(units, to_seconds(t))
        newly = dead & ~before
        operated = [op for op in core.operations if op[1] == "open"]
        # Cutting off customers already out for a fault (isolating it) is the fault's.
        if operated and (newly & ~_fault_area(core)).any():
            _open_record(core, operated[-1], t)
    core.operations.clear()


def without_switched(core: EngineCore, table: EvidenceTable, t: datetime) -> EvidenceTable:
    """Count the switched-out customers' reports on their records, restore
    records with nobody left out, and return the evidence without them."""
    _update_records(core, table, t)
    dead = core.switched_dead
    return table if dead is None else table.select(~dead[table.nodes])


def _open_record(
    core: EngineCore, operation: tuple[str, str, str, str | None], t: datetime
) -> None:
    device, _state, actor, planned = operation
    o = core.outages.new(PLANNED if planned else SWITCHING, device, None, t, t)
    o.confirm("switching")
    detail = {"device": device, **({"planned": planned} if planned else {})}
    core.outages.audit(o, t, actor, "switch", None, detail)


def _nodes_of(core: EngineCore, o: Outage) -> np.ndarray:
    """Bool per node: below the record's device in the normal state."""
    mask = np.zeros(core.net.n_nodes, dtype=bool)
    e = core.net.edge_index.get(o.device or "")
    if e is not None:
        mask[core.normal_supply.downstream_nodes(e)] = True
    return mask


def _fault_area(core: EngineCore) -> np.ndarray:
    """Bool per node: below an active network outage in the normal state (out for a fault)."""
    mask = np.zeros(core.net.n_nodes, dtype=bool)
    for o in core.outages.active("network"):
        mask |= _nodes_of(core, o)
    return mask


def _update_records(core: EngineCore, table: EvidenceTable, t: datetime) -> None:
    """Customers each open record still keeps out (the deepest record holds a
    customer); a record with none left is restored.

    Customers the operator cut off inside a fault's area (isolating it while
    the breaker is open) stay the fault's: they are *held* by it
    (:attr:`EngineCore.held`, counted on the deepest network outage above
    them by ``update_figures``). Once the fault is restored and they are
    still cut off, they are the switching's: a record opens at the device
    that keeps them out, continuing the fault's interruption (``revealed_by``).
    """
    core.held = None
    dead = core.switched_dead
    if dead is None:
        return
    book = core.outages
    records = sorted(
        (o for kind in SWITCHING_KINDS for o in book.active(kind)), key=lambda o: book.order(o.id)
    )
    cut = dead & core.normal_supply.energized  # out only because of the switching
    if not records and not cut.any():
        return
    masks = [_nodes_of(core, o) & dead for o in records]
    # Deeper records hold their customers: fewer nodes first claim them.
    order = sorted(range(len(records)), key=lambda k: int(masks[k].sum()))
    claimed = np.zeros(core.net.n_nodes, dtype=bool)
    customers = core.net.node_customers
    critical = np.bincount(core.units.node[core.units.critical], minlength=core.net.n_nodes).astype(
        np.int64
    )
    calling = np.zeros(core.net.n_nodes, dtype=np.int64)
    np.add.at(calling, table.nodes[table.off], 1)
    for k in order:
        o, mask = records[k], masks[k] & ~claimed
        claimed |= mask
        if not masks[k].any():
            core.restore(o, t, "switching", "supply is back")
            continue
        _set_figures(core, o, customers[mask].sum(), critical[mask].sum(), calling[mask].sum())
    loose = cut & ~claimed
    if not loose.any():
        return
    held = loose & _fault_area(core)
    if held.any():
        core.held = (held, critical, calling)
    orphans = loose & ~held
    if orphans.any():
        _continue_records(core, orphans, t, (customers, critical, calling))


def _set_figures(core: EngineCore, o: Outage, customers: int, critical: int, calls: int) -> None:
    figures = (
        max(o.customers_out, int(customers)),
        max(o.critical_out, int(critical)),
        int(calls),
    )
    if figures != (o.customers_out, o.critical_out, o.calls):
        o.customers_out, o.critical_out, o.calls = figures
        core.outages.touch(o)


def _continue_records(
    core: EngineCore, orphans: np.ndarray, t: datetime, per_node: tuple[np.ndarray, ...]
) -> None:
    """Records for customers cut off by switching whom no record holds (a fault
    restored around them): at each open edge that keeps some of them out,
    nearest first."""
    net = core.net
    opened = np.flatnonzero(~net.edge_closed & core.normal_supply.bridge)
    below = {int(e): core.normal_supply.downstream_nodes(int(e)) for e in opened}
    restored = [o for o in core.changes.restored if o.kind == "network"]
    for e in sorted(below, key=lambda e: len(below[e])):
        nodes = below[e][orphans[below[e]]]
        if not len(nodes):
            continue
        orphans[nodes] = False
        device = net.edge_ids[e]
        o = core.outages.new(SWITCHING, device, None, t, t)
        o.confirm("switching")
        mask = np.zeros(net.n_nodes, dtype=bool)
        mask[nodes] = True
        host = next((h for h in restored if (_nodes_of(core, h) & mask).any()), None)
        o.revealed_by = host.id if host is not None else None
        reason = f"{host.id} restored around it" if host is not None else None
        core.outages.audit(o, t, "system", "switch", reason, {"device": device})
        _set_figures(core, o, *(int(v[mask].sum()) for v in per_node))
        if not orphans.any():
            return


def held_figures(core: EngineCore, positions: dict[str, int]) -> dict[str, tuple[int, int, int]]:
    """Customers, critical customers and calls each network outage holds (cut off
    by switching inside its area), on the deepest outage above them."""
    if core.held is None:
        return {}
    held, critical, calling = core.held
    owner: dict[int, str] = {}
    live = [o for o in core.outages.active("network") if o.id in positions]
    masks = {o.id: _nodes_of(core, o) for o in live}
    for o in sorted(live, key=lambda o: -int(masks[o.id].sum())):
        for v in np.flatnonzero(masks[o.id] & held).tolist():
            owner[v] = o.id  # a deeper outage, later, takes the node
    out: dict[str, list[int]] = {}
    customers = core.net.node_customers
    for v, oid in owner.items():
        row = out.setdefault(oid, [0, 0, 0])
        row[0] += int(customers[v])
        row[1] += int(critical[v])
        row[2] += int(calling[v])
    return {k: (a, b, c) for k, (a, b, c) in out.items()}


def explained_by_switching(
    core: EngineCore, units: np.ndarray, gasp: np.ndarray, back: np.ndarray
) -> np.ndarray:
    """Which meter blinks (a gasp, then a restore) a switching record explains."""
    explained = np.zeros(len(units), dtype=bool)
    nodes = core.units.node[units]
    for o in core.outages.everything():
        if o.kind not in SWITCHING_KINDS or o.state == "cancelled":
            continue
        start = to_seconds(o.started) - 60.0  # gasps can be stamped before the event
        end = to_seconds(o.restored) + 60.0 if o.restored is not None else np.inf
        during = (gasp >= start) & (back <= end + core.config.prediction.restore_grace_s)
        explained |= during & _nodes_of(core, o)[nodes]
    return explained
