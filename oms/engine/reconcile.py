"""Reconciliation: re-predict, then bring the outage records in line, phase by phase.

One pass (:func:`reconcile`) as of the engine clock:

0. :mod:`oms.engine.switching`: what commanded operations cut off is one
   ``switching`` outage; those customers' reports stay out of what follows.
1. :func:`predict`: the most likely set of operated devices (or the classic roll-up).
2. :func:`_match`: predicted devices that already have an outage keep it
   (duplicates at one device merge); the others are new devices.
3. :func:`_keep_nested`: an outage masked by a later outage above it stays, nested.
4. :func:`_roll_up`: a new device above outages that lost their own support
   takes them over, unless the evidence around them began well after they did.
5. :func:`_narrow`: an outage whose device was replaced by devices below it
   moves down, or is restored when part of it reported supply (partial
   restoration: those still out below are nested outages).
6. :func:`_open_new`: the remaining new devices become outages.
7. :func:`_withdraw`: outages nothing supports any more are restored or withdrawn.

Then single-customer outages and momentaries (:mod:`oms.engine.customers`),
figures and pings (:mod:`oms.engine.figures`), and the order book.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from oms.engine import timers
from oms.engine.customers import momentaries_from_meters, single_customers
from oms.engine.desk import planned_notices
from oms.engine.evidence import EvidenceTable
from oms.engine.figures import request_pings, update_figures
from oms.engine.placements import Placements
from oms.engine.prediction import DeviceTree, classic_rollup
from oms.engine.switching import switching_phase, without_switched
from oms.engine.timebase import CLOCK_SLACK_S, to_datetime, to_seconds
from oms.intake.events import as_utc
from oms.outages import Outage

if TYPE_CHECKING:
    from oms.engine.core import EngineCore

__all__ = ["predict", "reconcile"]


def predict(core: EngineCore, table: EvidenceTable) -> list[int]:
    """Tree positions of the devices most likely operated (tripped and pinned ones forced)."""
    tree, p = core.tree, core.config.prediction
    forced = [tree.position[e] for e in core.devices.tripped if e in tree.position]
    for o in core.placements().pinned.values():
        pos = core.position(o.device)
        if pos is not None:
            forced.append(pos)
    if core.config.predictor == "classic":
        reports = table.dead & ~(table.pdead & ~table.off)
        return classic_rollup(
            tree, table.nodes[reports], np.ones(int(reports.sum())), core.config.classic, forced
        ).devices
    # Found again only on the feeders whose evidence changed since the last batch.
    return core.faults().update(
        table.units,
        table.nodes,
        table.delta,
        p.llr_no_call + np.where(core.units.metered[table.units], table.base_meter, 0.0),
        base_call=p.llr_no_call,
        base_meter=table.base_meter,
        fault_cost=p.fault_cost,
        forced=forced,
        barred=_scada_closed(core),
        service_cost=p.service_fault_cost,
    )


def _not_refuted(core: EngineCore, table: EvidenceTable, predicted: list[int]) -> list[int]:
    """``predicted`` without the devices a meter's ping refuted that have no
    new evidence since: their customers out then are still explained by
    their own troubles (single-customer outages). Without this, the ping's
    answer aged out of ``supplied_window_s`` and the same device was
    predicted again on the same evidence, a crew sent and the outage
    withdrawn by the next ping, every quarter of an hour. A unit below it
    that was not out at the refutation and now is (a refuting meter too)
    lifts it. O(refuted devices x evidence rows)."""
    if not core.refuted:
        return predicted
    assert core.clock is not None
    tree = core.tree
    floor = to_seconds(core.clock) - core.config.prediction.window_hours * 3600.0
    out = []
    held = set()
    for device, (when, dead) in list(core.refuted.items()):
        pos = core.position(device)
        if pos is None or when < floor or not _dead_under(table, tree, pos) <= dead:
            del core.refuted[device]
        else:
            held.add(pos)
    for d in predicted:
        e = int(tree.candidate[d])
        # A trip is new evidence; an open outage (one a dispatcher pinned) stays.
        if (
            d not in held
            or e in core.devices.tripped
            or core.outages.active_at(core.net.edge_ids[e])
        ):
            out.append(d)
    return out


def _dead_under(table: EvidenceTable, tree: DeviceTree, d: int) -> set[int]:
    """Units out below device ``d``. O(evidence rows)."""
    tin = tree.supply.tree.tin[table.nodes[table.dead]]
    inside = (tin >= tree.lo[d]) & (tin < tree.hi[d])
    return set(table.units[table.dead][inside].tolist())


def _scada_closed(core: EngineCore) -> frozenset[int]:
    """Tree positions of SCADA-monitored devices that reported no trip, while
    the SCADA feed is seen reporting (any monitored device within the window):
    they did not operate. O(monitored candidates + devices reported), in C
    but for the trips."""
    assert core.clock is not None
    tree, net = core.tree, core.net
    floor = core.clock - timedelta(hours=core.config.prediction.window_hours)
    live = False
    for device, row in core.devices.rows.items():
        e = net.edge_index.get(device)
        if e is not None and net.edge_scada[e]:
            changed = as_utc(row.get("changed_at"))
            if changed is not None and changed >= floor:
                live = True
                break
    if not live:
        return frozenset()
    tripped = {p for e in core.devices.tripped if (p := tree.position.get(e)) is not None}
    return tree.monitored - tripped


@dataclass
class _Pass:
    """The working state of one reconciliation."""

    core: EngineCore
    t: datetime
    table: EvidenceTable
    predicted: list[int]
    #: The active network outages on the tree (the engine's, kept up across
    #: batches): this pass places the outages it moves and opens there.
    placements: Placements
    new_devices: list[int] = field(default_factory=list)
    #: Outages at a device no longer predicted.
    leftovers: list[Outage] = field(default_factory=list)
    #: Nested device -> the outage restored above it.
    revealed: dict[int, Outage] = field(default_factory=dict)
    #: The table's rows by pre-order number of their node (:meth:`rows_under`).
    _order: np.ndarray | None = None
    _tin: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def tree(self) -> DeviceTree:
        return self.core.tree

    @property
    def pos_of(self) -> dict[str, int]:
        """Network outages with a candidate device, and its tree position."""
        return self.placements.pos_of

    def rows_under(self, d: int) -> np.ndarray:
        """Rows of the evidence table below tree position ``d``. O(log rows +
        answer), after one sort of the rows by pre-order number per pass."""
        if self._order is None:
            tin = self.tree.supply.tree.tin[self.table.nodes]
            # Readers take minima: the order among rows at one node does not
            # matter, and an unstable sort of 100,000 rows is several times faster.
            self._order = np.argsort(tin)
            self._tin = tin[self._order]
        tree = self.tree
        a = np.searchsorted(self._tin, tree.lo[d], side="left")
        b = np.searchsorted(self._tin, tree.hi[d], side="left")
        return self._order[a:b]

    def place(self, o: Outage, pos: int) -> None:
        """Outage ``o`` is at tree position ``pos`` from now on."""
        self.placements.place(o, pos)


def reconcile(core: EngineCore, t: datetime) -> None:
    """Re-predict as of ``t`` and bring outages, figures, pings and jobs in line."""
    switching_phase(core, t)
    table = without_switched(core, core.table(), t)
    predicted = _not_refuted(core, table, predict(core, table))
    r = _Pass(core, t, table, predicted, core.placements())
    _match(r)
    _keep_nested(r)
    _roll_up(r)
    _narrow(r)
    _open_new(r)
    _withdraw(r)
    single_customers(core, table, r.predicted, t)
    momentaries_from_meters(core, t)
    update_figures(core, table, r.placements, t)
    request_pings(core, table, r.pos_of, t)
    _sync_jobs(core, t)
    planned_notices(core, t)


def _match(r: _Pass) -> None:
    """Predicted devices with outages keep them (several at one merge into the
    first); the others are new devices; outages elsewhere are left over.
    O(predicted + placed devices + leftovers log leftovers)."""
    book, by_pos = r.core.outages, r.placements.by_pos
    for d in r.predicted:
        here = by_pos.get(d)
        if not here:
            r.new_devices.append(d)
        elif len(here) > 1:
            here.sort(key=lambda o: (o.started, o.id))
            for extra in here[1:]:
                book.cancel(extra, r.t, "system", "merged", "same device", here[0].id)
    predicted = set(r.predicted)
    r.leftovers = sorted(
        (o for pos, here in by_pos.items() if pos not in predicted for o in here),
        key=lambda o: book.order(o.id),
    )


def _keep_nested(r: _Pass) -> None:
    """Outages masked by a later outage above them stay, nested below it."""
    p = r.core.config.prediction
    by_pos = r.placements.by_pos
    holders = {d: by_pos[d][0] for d in r.predicted if by_pos.get(d)}
    for o in list(r.leftovers):
        d = int(r.tree.parent[r.pos_of[o.id]])
        while d >= 0:
            h = holders.get(d)
            # Trips and last gasps date an outage to the second; calls do not.
            prompt = h is not None and (h.confirmed_by == "scada" or r.table.ami_live)
            gap = p.new_outage_gap_ami_s if prompt else p.new_outage_gap_s
            if h is not None and (h.started - o.started).total_seconds() > gap:
                r.leftovers.remove(o)
                break
            d = int(r.tree.parent[d])


def _roll_up(r: _Pass) -> None:
    """A new device above outages that lost their own support takes them over."""
    core, tree, p = r.core, r.tree, r.core.config.prediction
    # The leftovers by pre-order start: those below d are a range. O(log L) a device.
    lo, hi = tree.lo, tree.hi
    by_lo = sorted((int(lo[r.pos_of[o.id]]), k) for k, o in enumerate(r.leftovers))
    starts, leftovers = [x for x, _ in by_lo], [r.leftovers[k] for _, k in by_lo]
    gone: set[str] = set()
    for d in list(r.new_devices):
        a = bisect.bisect_left(starts, int(lo[d]))
        b = bisect.bisect_left(starts, int(hi[d]))
        # Strictly below d (tree.below), not taken over by another device yet.
        under = [o for o in leftovers[a:b] if o.id not in gone and r.pos_of[o.id] != d]
        if not under:
            continue
        under.sort(key=lambda o: (o.started, o.id))
        # The reports below other outages still open under d are theirs:
        # they neither date d's evidence nor its start.
        others = _open_below(r, d)
        gone.update(o.id for o in under)
        r.leftovers = [o for o in r.leftovers if o.id not in gone]
        tripped_at = core.devices.tripped.get(int(tree.candidate[d]))
        # Outages that began well before the last group of them stay, nested
        # below it: d took over from the group that began with its fault.
        prompt = tripped_at is not None or r.table.ami_live
        gap = p.new_outage_gap_ami_s if prompt else p.new_outage_gap_s
        if tripped_at is not None and int(tree.candidate[d]) not in core.devices.lockout:
            # Opened and reclosing: its SCADA time is its first open, and
            # reports made before it are not from it (a lockout is reported
            # after the reclose sequence, so callers may come first there).
            # The outages that began before it stay nested below it.
            trip = to_datetime(tripped_at - CLOCK_SLACK_S)
            k = next((i for i, o in enumerate(under) if o.started >= trip), len(under))
        else:
            k = len(under) - 1
            while k > 0 and (
                not prompt or (under[k].started - under[k - 1].started).total_seconds() <= gap
            ):
                k -= 1
        others += [r.pos_of[o.id] for o in under[:k]]
        under = under[k:]
        if not under:
            continue  # a new outage at d (_open_new), all of them nested below it
        inner = [r.pos_of[o.id] for o in under] + others
        gasp_outside = _first_dead_outside(r, d, inner, r.table.gasp_t)
        any_outside = _first_dead_outside(r, d, inner, r.table.dead_t)
        earliest = under[0].started
        if tripped_at is not None:
            gasp_outside = to_datetime(tripped_at)  # as prompt and certain as a gasp
        # Evidence around them began well after they did: a new outage above.
        if (
            gasp_outside is not None
            and (gasp_outside - earliest).total_seconds() > p.new_outage_gap_ami_s
        ) or (
            prompt
            and any_outside is not None
            and (any_outside - earliest).total_seconds() > p.new_outage_gap_s
        ):
            continue
        keep = under[0]
        core.move(keep, d, r.t, "rolled up")
        began = _first_dead(r, d, others) or keep.started
        # Prompt evidence dates the group: a report well before it (a lone
        # caller's own trouble) is not when d operated.
        if not prompt or (keep.started - began).total_seconds() <= gap:
            keep.started = min(keep.started, began)
        for o in under[1:]:
            core.outages.cancel(
                o, r.t, "system", "merged", f"rolled up into {keep.device}", keep.id
            )
        r.new_devices.remove(d)
        r.place(keep, d)


def _narrow(r: _Pass) -> None:
    """Outages whose device was replaced by devices below it."""
    core, tree = r.core, r.tree
    grace = core.config.prediction.restore_grace_s
    # The new devices by pre-order start: those below an outage are a range.
    lo, hi = tree.lo, tree.hi
    news = sorted((int(lo[d]), k, d) for k, d in enumerate(r.new_devices))
    starts, alive = [x for x, _, _ in news], set(r.new_devices)
    for o in list(r.leftovers):
        p = r.pos_of[o.id]
        a = bisect.bisect_left(starts, int(lo[p]))
        b = bisect.bisect_left(starts, int(hi[p]))
        # Strictly below p (tree.below), in the order of the new devices.
        below = [d for _, _, d in sorted(news[a:b], key=lambda x: x[1]) if d != p and d in alive]
        if not below:
            continue
        r.leftovers.remove(o)
        partial = _supplied_under(r, r.pos_of[o.id], o.started)
        if partial is not None:
            if to_seconds(r.t) - partial < grace:
                # Meters report supply back over a minute or so: wait
                # before calling what is still dead a nested outage.
                for d in below:
                    r.new_devices.remove(d)
                    alive.discard(d)
                continue
            # Partial restoration: the outage is restored; those still out
            # below it are nested outages, out since it started. A meter
            # that gasped before the restoration and has not reported back
            # has most likely lost its restore message (1 - ami_delivery),
            # so where only meters say a device below is out, the nested
            # rule (weak evidence, pings) decides in the next passes.
            core.restore(o, to_datetime(partial), "system", "partial restoration")
            for d in below:
                if _called_under(r, d, partial):
                    r.revealed[d] = o
                else:
                    r.new_devices.remove(d)
                    alive.discard(d)
            continue
        below.sort(key=lambda d: -tree.customers[d])
        core.move(o, below[0], r.t, "narrowed")
        r.place(o, below[0])
        r.new_devices.remove(below[0])
        alive.discard(below[0])


def _open_new(r: _Pass) -> None:
    """The remaining new devices become outages."""
    core, tree = r.core, r.tree
    for d in r.new_devices:
        tripped_at = core.devices.tripped.get(int(tree.candidate[d]))
        # Its own start: the reports of outages still open below it (nested,
        # found earlier) are theirs, not its.
        inner = _open_below(r, d)
        started = (
            to_datetime(tripped_at)
            if tripped_at is not None
            else (_first_dead(r, d, inner) or _first_dead(r, d) or r.t)
        )
        parent = r.revealed.get(d)
        if parent is not None:
            started = min(started, parent.started)
        device = core.net.edge_ids[tree.candidate[d]]
        o = core.outages.new("network", device, None, started, r.t)
        o.revealed_by = parent.id if parent is not None else None
        if tripped_at is not None:
            o.confirm("scada")
        rule = "scada" if tripped_at is not None else core.config.predictor
        core.outages.audit(o, r.t, "system", "predict", None, {"device": device, "rule": rule})
        r.place(o, d)
        core.changes.moved.append(o)
        core.keep_evidence(o)


def _open_below(r: _Pass, d: int) -> list[int]:
    """Positions of the active outages strictly below ``d`` that stay open in
    this pass (not left without support). O(log outages + outages placed below)."""
    leftover = {o.id for o in r.leftovers}
    open_ = r.core.outages.open
    return [
        r.pos_of[oid]
        for _, oid in r.placements.below(d)
        if oid not in leftover and (o := open_.get(oid)) is not None and o.active
    ]


def _withdraw(r: _Pass) -> None:
    """Outages nothing supports any more: restored, or withdrawn."""
    core = r.core
    for o in r.leftovers:
        when = _supplied_under(r, r.pos_of[o.id], o.started)
        if when is not None and _refuted_by_ping(r, o, when):
            reason = "a meter pinged to verify it has supply: it did not operate"
            if o.device is not None:
                core.refuted[o.device] = (
                    when,
                    frozenset(_dead_under(r.table, r.tree, r.pos_of[o.id])),
                )
            core.outages.cancel(o, r.t, "system", "withdrawn", reason)
        elif when is not None and when >= to_seconds(o.located_at) - core.config.batch_seconds:
            core.restore(o, to_datetime(when), "system", "supply reported")
        elif when is not None:
            # Supply was reported below it before it was predicted there:
            # it never was out as predicted.
            reason = "supply reported before it was predicted"
            core.outages.cancel(o, r.t, "system", "withdrawn", reason)
        else:
            reason = "evidence no longer supports it"
            core.outages.cancel(o, r.t, "system", "withdrawn", reason)


def _refuted_by_ping(r: _Pass, o: Outage, when: float) -> bool:
    """Whether the first report of supply below ``o`` is a meter's answer to a
    ping asked since ``o`` was located, within the ping timeout of it or of its
    retries: its device did not operate (unless SCADA or a dispatcher said it
    did). O(evidence rows)."""
    if o.confirmed_by not in (None, "ami_ping"):
        return False
    located, p = to_seconds(o.located_at), r.core.config.prediction
    if when > located + p.ping_timeout_s * (1 + p.ping_retries):  # an answer to a retry too
        return False
    table, tree, ev = r.table, r.tree, r.core.ev
    d = r.pos_of[o.id]
    tin = tree.supply.tree.tin[table.nodes]
    first = table.on & (table.on_t == when) & (tin >= tree.lo[d]) & (tin < tree.hi[d])
    units = table.units[first]
    return (
        bool(len(units))
        and bool((ev.ping_on[units] == when).all())
        and bool((ev.ping_sent[units] >= located - r.core.config.batch_seconds).all())
    )


def _sync_jobs(core: EngineCore, t: datetime) -> None:
    """Jobs follow their outages; each outage shows its job's ETR.

    O(outages and jobs changed or due), see :meth:`OrderBook.sync`.
    """
    book = core.book
    if book is None:
        return
    changed = core.changes.dirty
    looked: set[str] | None = None
    if core.config.dispatch.enabled:
        looked = book.sync(core.outages.open, changed, t, core.outages.order)
        timers.run(book, t, looked)
    # An outage's ETR changes only with its job's (changed jobs are dirty) or
    # when it is opened again (a changed outage).
    outages = (
        core.outages.open.values()
        if looked is None
        else [
            o
            for oid in changed | {j.outage for j in map(book.jobs.get, book.dirty_jobs) if j}
            if oid is not None and (o := core.outages.open.get(oid)) is not None
        ]
    )
    for o in outages:
        job = book.by_outage.get(o.id)
        if job is not None and job.etr != o.etr and o.active:
            o.etr = job.etr
            core.outages.touch(o)


# ------------------------------------------------------------ evidence queries
def _first_dead(r: _Pass, d: int, inner: list[int] | None = None) -> datetime | None:
    """When the units below device ``d`` (and not below the ``inner`` devices)
    first lost supply: their fresh reports first, else since when they were
    out all along (nested). O(log rows + rows below d x inner)."""
    table = r.table
    found = _first_dead_outside(r, d, inner or [], table.fresh_t)
    return found if found is not None else _first_dead_outside(r, d, inner or [], table.since_t)


def _first_dead_outside(r: _Pass, d: int, inner: list[int], column: np.ndarray) -> datetime | None:
    """Earliest time in ``column`` below ``d`` but outside the ``inner`` devices.
    O(log rows + rows below d x inner)."""
    table, tree = r.table, r.tree
    rows = r.rows_under(d)
    rows = rows[table.dead[rows] & ~np.isnan(column[rows])]
    tin = tree.supply.tree.tin[table.nodes[rows]]
    keep = np.ones(len(rows), dtype=bool)
    for i in inner:
        keep &= ~((tin >= tree.lo[i]) & (tin < tree.hi[i]))
    if not keep.any():
        return None
    return to_datetime(float(column[rows][keep].min()))


def _called_under(r: _Pass, d: int, since: float) -> bool:
    """Whether an unmetered caller below device ``d`` reported no supply after
    ``since`` (a partial restoration above it). A call made before it is
    explained by the outage restored then, and says nothing of whether ``d``
    is still out: as after a crew's restoration, only a later report does
    (meters left silent are decided by the nested rule and pings)."""
    table, rows = r.table, r.rows_under(d)
    callers = table.off[rows] & (table.fresh_t[rows] > since)
    if table.ami_live:
        callers &= ~r.core.units.metered[table.units[rows]]
    return bool(callers.any())


def _supplied_under(r: _Pass, d: int, after: datetime) -> float | None:
    """Earliest report of supply below device ``d`` since ``after``, or None.
    O(log rows + rows below d)."""
    table = r.table
    rows = r.rows_under(d)
    on_t = table.on_t[rows]
    on = table.on[rows] & (on_t >= to_seconds(after))
    if not on.any():
        return None
    return float(on_t[on].min())
