"""Outages no network prediction holds: single customers, and momentaries meters saw."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from oms.engine.evidence import EvidenceTable
from oms.engine.prediction import most_likely_faults
from oms.engine.switching import explained_by_switching
from oms.engine.timebase import to_datetime, to_seconds
from oms.outages import Outage

if TYPE_CHECKING:
    from oms.engine.core import EngineCore
    from oms.engine.placements import Placements

__all__ = ["momentaries_from_meters", "single_customers"]


def single_customers(
    core: EngineCore, table: EvidenceTable, predicted: list[int], t: datetime
) -> None:
    """Calls no network outage explains become single-customer outages.

    The callers are compared with the open single-customer outages by unit
    (:class:`~oms.engine.placements.Placements`) in numpy: Python work only
    for callers without an outage of their own and outages whose caller no
    longer calls. O(rows) numpy steps, O(open single-customer outages) in C.
    """
    tree = core.tree
    los = np.sort(tree.lo[predicted]) if predicted else np.empty(0, dtype=np.int64)
    his = np.sort(tree.hi[predicted]) if predicted else np.empty(0, dtype=np.int64)
    # A last gasp alone, with no restore within the wait, speaks as a call
    # does; so does a ping answered "no supply" (the head-end asked the meter).
    waited = to_seconds(t) - table.gasp_t >= core.config.prediction.lone_gasp_wait_s
    asking = np.flatnonzero(table.off | (table.dead & waited) | table.pdead)
    tin = tree.supply.tree.tin[table.nodes[asking]]
    # Covered when some predicted interval [lo, hi) holds tin: the count of
    # starts at or before tin exceeds the count of ends at or before it.
    covered = np.searchsorted(los, tin, side="right") > np.searchsorted(his, tin, side="right")
    calling = asking[~covered]
    units = table.units[calling]
    placed = core.placements()
    _settle_open(core, placed, units, t)
    fresh = ~placed.single_mask[units]
    _open_new(core, units[fresh].tolist(), table.dead_t[calling[fresh]].tolist(), t)


def _settle_open(
    core: EngineCore,
    placed: Placements,
    calling: np.ndarray,
    t: datetime,
) -> None:
    """Open single-customer outages whose call no longer stands alone
    (``calling``: the units calling alone), in the order of the open outages."""
    book = core.outages
    held = np.fromiter(placed.single, dtype=np.int64, count=len(placed.single))
    still = np.zeros(len(core.units), dtype=bool)
    still[calling] = True
    settling = [placed.single[u] for u in held[~still[held]].tolist()]
    settling += placed.unplaced.values()
    for o in sorted(settling, key=lambda o: book.order(o.id)):
        u = core.units.of(o.customer) if o.customer is not None else -1
        if u < 0:
            book.cancel(o, t, "system", "withdrawn", "customer no longer in the network")
            continue
        dead = core.switched_dead
        if dead is not None and dead[core.units.node[u]]:
            continue  # cut off by switching meanwhile: it waits for supply to come back
        if core.ev.on[u] > to_seconds(o.started):
            core.restore(o, to_datetime(core.ev.on[u]), "system", "supply reported")
            continue
        host = _network_outage_of(core, u, placed)
        if host is not None:
            book.cancel(o, t, "system", "merged", f"explained by {host.device}", host.id)
        else:
            book.cancel(o, t, "system", "withdrawn", "evidence expired")


def _open_new(core: EngineCore, units: list[int], out_ts: list[float], t: datetime) -> None:
    """Callers out on their own (``units``, each out since ``out_ts``) with no
    outage of their own yet; those left behind by a restoration wait its grace."""
    grace = core.config.prediction.restore_grace_s
    ev = core.ev
    for u, out_t, cid in zip(units, out_ts, core.units.ids_of(units), strict=True):
        first = ev.first_off[u]
        if ev.off[u] > ev.epoch[u]:
            started = to_datetime(first if first > ev.epoch[u] else ev.off[u])
        else:
            started = to_datetime(out_t)  # a meter's last gasp, no call
        # A network outage restored since this customer went out left it
        # behind (a leftover), once its meter has had the grace to report supply back.
        host = _restored_above(core, u)
        if host is not None and host.restored is not None and host.restored < started:
            host = None  # restored before this customer went out
        if (
            host is not None
            and host.restored is not None
            and (t - host.restored).total_seconds() < grace
        ):
            continue
        o = core.outages.new("single_customer", None, cid, started, t)
        o.revealed_by = host.id if host is not None else None
        o.calls = int(ev.off[u] > ev.epoch[u])
        o.customers_out = 1
        o.critical_out = int(core.units.critical[u])
        o.hazard = bool(ev.hazard[u] > ev.epoch[u])
        core.outages.audit(o, t, "system", "predict", None, {"customer": cid})


def _deepest_above(
    core: EngineCore, u: int, outage_at: Callable[[int], Outage | None]
) -> Outage | None:
    """The outage ``outage_at`` gives for the deepest tree position above unit
    ``u`` where it gives one. O(nesting depth) calls."""
    tree = core.tree
    d = int(tree.node_device[core.units.node[u]])
    while d >= 0:
        o = outage_at(d)
        if o is not None:
            return o
        d = int(tree.parent[d])
    return None


def _network_outage_of(core: EngineCore, u: int, placed: Placements) -> Outage | None:
    """The active network outage deepest above unit ``u`` (of several at one
    device, the last opened). O(nesting depth)."""
    order = core.outages.order

    def at(d: int) -> Outage | None:
        here = [o for o in placed.by_pos.get(d, ()) if o.active]
        return max(here, key=lambda o: order(o.id)) if here else None

    return _deepest_above(core, u, at)


def _restored_above(core: EngineCore, u: int) -> Outage | None:
    """The network outage restored last at the deepest device above unit ``u``
    that has one. O(nesting depth x outages placed at those devices)."""
    candidate, edge_ids = core.tree.candidate, core.net.edge_ids
    return _deepest_above(core, u, lambda d: core.outages.restored_at(edge_ids[candidate[d]]))


def momentaries_from_meters(core: EngineCore, t: datetime) -> None:
    """Momentary outages that meters saw (a gasp, then a restore within
    ``momentary_s``) between two predictions, with no outage recorded."""
    ev, p = core.ev, core.config.prediction
    # Restores trickle in over a minute: look at each blink once its
    # neighbours have had time to report too.
    until = to_seconds(t) - p.blink_settle_s
    if until <= core.blinks_until:
        return
    units = ev.restored_between(core.blinks_until, until)
    gasp, back = ev.gasp[units], ev.restore[units]
    blink = (back >= gasp) & (back - gasp < p.momentary_s)
    core.blinks_until = until
    if not blink.any():
        return
    units, gasp, back = units[blink], gasp[blink], back[blink]
    known = core.outages.everything()
    explained = _explained(core, known, units, gasp, back)
    if explained.all():
        return
    _record_blinks(core, known, units[~explained], gasp[~explained], back[~explained], t)


def _explained(
    core: EngineCore, known: list[Outage], units: np.ndarray, gasp: np.ndarray, back: np.ndarray
) -> np.ndarray:
    """Which blinking units an outage already recorded covers."""
    tree = core.tree
    tin = tree.supply.tree.tin[core.units.node[units]]
    explained = np.zeros(len(units), dtype=bool)
    last_back, first_gasp = to_datetime(float(back.max())), to_datetime(float(gasp.min()))
    for o in known:
        # The times first: most outages a long storm has seen are long over.
        if o.started > last_back or (o.restored is not None and o.restored < first_gasp):
            continue
        pos = core.position(o.device)
        if pos is None:
            continue
        explained |= (tin >= tree.lo[pos]) & (tin < tree.hi[pos])
    return explained | explained_by_switching(core, units, gasp, back)


def _record_blinks(
    core: EngineCore,
    known: list[Outage],
    units: np.ndarray,
    gasp: np.ndarray,
    back: np.ndarray,
    t: datetime,
) -> None:
    """Locate the blinks as the most likely devices, and record each as restored."""
    tree, p = core.tree, core.config.prediction
    nodes = core.units.node[units]
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
        start = to_datetime(float(gasp[inside].min()))
        end = to_datetime(float(back[inside].max()))
        device = core.net.edge_ids[tree.candidate[d]]
        if any(
            o.device == device and o.started <= end and (o.restored is None or o.restored >= start)
            for o in known
        ):
            continue
        o = core.outages.new("network", device, None, start, t)
        core.outages.audit(o, t, "system", "predict", None, {"device": device, "rule": "meters"})
        o.customers_out = int(tree.customers[d])
        o.critical_out = int(tree.critical[d])
        core.restore(o, end, "system", "meters reported supply back")
