"""What each network outage shows (customers out, calls, faulted section) and whom to ping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from oms.engine.evidence import EvidenceTable
from oms.engine.prediction import FeederFaults, RowsGone
from oms.engine.switching import held_figures
from oms.engine.timebase import to_seconds
from oms.outages import Outage

if TYPE_CHECKING:
    from oms.engine.core import EngineCore
    from oms.engine.placements import Placements

__all__ = [
    "FeederFigures",
    "faulted_section",
    "figures_of",
    "request_pings",
    "row_flags",
    "spread",
    "update_figures",
]


def update_figures(core: EngineCore, table: EvidenceTable, placed: Placements, t: datetime) -> None:
    """Customers out (nested ones not counted twice), critical, calls, hazard, section.

    A predicted outage with a pinged meter found dead is confirmed. Only the
    outages on feeders where something they show may have changed are
    looked at (:class:`FeederFigures`), found as ranges of ``placed``.
    O((feeders looked at + outages changed) log outages + evidence) numpy
    steps, and Python work per outage on those feeders.
    """
    pos_of, book = placed.pos_of, core.outages
    flags = row_flags(core, table)
    held = held_figures(core, pos_of)
    kept = core.figures()
    changed = placed.take_moved() + [pos_of[i] for i in core.changes.dirty if i in pos_of]
    wanted = kept.feeders(table, flags, changed, core.devices.fci, bool(held))
    if wanted is None:
        live = [o for o in book.active("network") if o.id in pos_of]
        rows = np.ones(len(table.nodes), dtype=bool)
    else:
        tops = np.flatnonzero(wanted).tolist()
        live = book.active_network({oid for top in tops for _, oid in placed.within(top)})
        # Rows on no feeder (above every device; on a network without any,
        # every row) belong to no outage.
        feeder = kept.node_feeder[table.nodes]
        rows = feeder >= 0
        rows[rows] = wanted[feeder[rows]]
    found_figures = figures_of(core, table.nodes[rows], flags[rows], live, pos_of, held)
    for o, (figures, pinged) in zip(live, found_figures, strict=True):
        if figures != (o.customers_out, o.critical_out, o.calls, o.hazard, o.section):
            o.customers_out, o.critical_out, o.calls, o.hazard, o.section = figures
            core.outages.touch(o)
        if o.state == "predicted" and pinged:
            o.confirm("ami_ping")
            core.outages.audit(o, t, "system", "confirm", "a pinged meter has no supply", {})


Figures = tuple[int, int, int, bool, list[str]]


def figures_of(
    core: EngineCore,
    nodes: np.ndarray,
    flags: np.ndarray,
    live: list[Outage],
    pos_of: dict[str, int],
    held: dict[str, tuple[int, int, int]],
) -> list[tuple[Figures, bool]]:
    """Per outage of ``live``: ``(customers out, critical out, calls, hazard,
    section)`` on rows at ``nodes`` with ``flags`` (:func:`row_flags`), and
    whether a pinged meter below it is dead. Changes nothing.
    O((rows + outages) log rows)."""
    if not live:
        return []
    tree = core.tree
    positions = np.array([pos_of[o.id] for o in live], dtype=np.int64)
    calls, pings, hazards = tree.sums_of(nodes, [(flags >> k) & 1 for k in range(3)], positions)
    inner, inner_crit = _nested_counts(core, positions)
    found = []
    for k, o in enumerate(live):
        d = positions[k]
        # Customers cut off by switching inside its area are still its own.
        more = held.get(o.id, (0, 0, 0))
        out = int(tree.customers[d] - inner[k]) + more[0]
        crit = int(tree.critical[d] - inner_crit[k]) + more[1]
        figures = (out, crit, int(calls[k]) + more[2], bool(hazards[k] > 0))
        found.append(((*figures, faulted_section(core, o, d)), bool(pings[k] > 0)))
    return found


def row_flags(core: EngineCore, table: EvidenceTable) -> np.ndarray:
    """Per row, what the figures count of it: a call (bit 0), a dead ping
    (bit 1), a hazard reported since the unit's last restoration (bit 2)."""
    hazard = core.ev.hazard[table.units] > core.ev.epoch[table.units]
    off, pdead = table.off.astype(np.int8), table.pdead.astype(np.int8)
    return off | (pdead << 1) | (hazard.astype(np.int8) << 2)


class FeederFigures:
    """Which feeders' outages may show other figures than at the last batch.

    An outage's figures (customers and critical customers out, calls,
    hazard, faulted section, confirmation by a dead ping) depend only on
    its own feeder: the rows of evidence there, the outages placed there
    (nested ones are subtracted), its own record, and the tree's counts.
    Late in a storm a batch changes a few feeders while thousands of
    outages stay open on the others, so only the changed feeders' outages
    are looked at.

    Parameters
    ----------
    faults : FeederFaults
        The per-feeder prediction of the same tree (its feeders).
    units : int
        How many units there are.

    Notes
    -----
    O(E + R + C) numpy steps per batch (E rows, R candidates, C positions
    of outages changed).
    """

    def __init__(self, faults: FeederFaults, units: int) -> None:
        self.tree = faults.tree
        self.feeder = faults.feeder
        self.node_feeder = faults.node_feeder
        self._flags = np.zeros(units, dtype=np.int8)
        self._counted = RowsGone(units)  # units with a nonzero row, last batch
        self._critical_seen = len(self.tree.critical_nodes)
        self._fci: dict[int, tuple[bool, float]] | None = None
        self._held = False
        self._first = True

    def feeders(
        self,
        table: EvidenceTable,
        flags: np.ndarray,
        changed: list[int],
        fci: dict[int, tuple[bool, float]],
        held: bool,
    ) -> np.ndarray | None:
        """Per candidate position, whether its feeder is to be looked at (at
        its top), given this batch's rows (``flags``: :func:`row_flags`), the
        positions of outages ``changed`` (placed, moved, gone or changed
        otherwise since the last call), the fault indicators' states, and
        whether switching holds customers. None: every feeder."""
        counted = flags != 0
        units, nodes, now = table.units[counted], table.nodes[counted], flags[counted]
        moved = self._flags[units] != now
        gone, gone_at = self._counted.update(units, nodes)
        # The tree's customers never change; its critical customers may.
        critical_at = np.asarray(self.tree.critical_nodes[self._critical_seen :], dtype=np.int64)
        at = self.node_feeder[np.concatenate([nodes[moved], gone_at, critical_at])]
        everything = self._first or fci != self._fci or held or self._held
        self._flags[gone] = 0
        self._flags[units] = now
        self._critical_seen = len(self.tree.critical_nodes)
        self._fci, self._held, self._first = dict(fci), held, False
        if everything:
            return None
        wanted = np.zeros(len(self.tree), dtype=bool)
        wanted[at[at >= 0]] = True
        wanted[self.feeder[np.array(changed, dtype=np.int64)]] = True
        return wanted


def _nested_counts(core: EngineCore, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per outage, the customers (and critical ones) of the outages nested directly below."""
    tree = core.tree
    # Intervals nest in pre-order: a stack of the enclosing outages.
    order = np.argsort(tree.lo[positions], kind="stable")
    inner = np.zeros(len(positions), dtype=np.int64)
    inner_crit = np.zeros(len(positions), dtype=np.int64)
    stack: list[int] = []
    for k in order.tolist():
        d = positions[k]
        while stack and not tree.lo[d] < tree.hi[positions[stack[-1]]]:
            stack.pop()
        if stack and positions[stack[-1]] != d:
            inner[stack[-1]] += tree.customers[d]
            inner_crit[stack[-1]] += tree.critical[d]
        stack.append(k)
    return inner, inner_crit


def faulted_section(core: EngineCore, o: Outage, d: int) -> list[str]:
    """Conductors between the last tripped and the first untripped fault indicator.

    An indicator sees the current through its edge: a tripped one puts the
    fault on its own edge or beyond it, an untripped one puts it before its
    edge. Protective devices below bound the section too.
    """
    fci = core.devices.fci
    if not fci:
        return list(o.section)
    tree = core.tree
    st = tree.supply.tree
    since = to_seconds(o.started) - 60.0
    inside = [
        (e, fault)
        for e, (fault, when) in fci.items()
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
    net = core.net
    edges = edges[np.isin(net.edge_kind, [0, 1])[edges]]
    return sorted(net.edge_ids[e] for e in edges.tolist())


def request_pings(
    core: EngineCore, table: EvidenceTable, pos_of: dict[str, int], t: datetime
) -> None:
    """Ask the head-end about meters that would confirm or refute an outage.

    A new or moved predicted outage: meters below it not known to have
    supply, those not heard from first. A restored one: once meters have
    had ``restore_grace_s`` to report, those that were out and have not
    reported back (nested outages hide there).
    """
    if not core.config.pings or not core.units.are_customers:
        core.ev.dead_answers.clear()  # nobody to ask: followed up by no one
        return
    k = core.config.pings_per_check
    metered = core.units.metered
    on = set(table.units[table.on].tolist())
    known = set(table.units.tolist())
    for o in core.changes.moved:
        # One meter's dead ping confirms that meter, not the device: still ask.
        unsure = o.state == "predicted" or o.confirmed_by == "ami_ping"
        if not o.active or not unsure or o.id not in pos_of:
            continue
        below = core.units_under(pos_of[o.id])
        candidates = [u for u in below[metered[below]].tolist() if u not in on]
        quiet = [u for u in candidates if u not in known]
        heard = [u for u in candidates if u in known]
        chosen = list(spread(np.array(quiet, dtype=np.int64), k))
        chosen += list(spread(np.array(heard, dtype=np.int64), k - len(chosen)))
        _ping(core, chosen, o.id, "confirm", to_seconds(t))
    _ping_lone_meters(core, t)
    _ping_after_restorations(core, t)
    _retry_pings(core, table, t)
    _ping_neighbours(core, t)


def _ping_lone_meters(core: EngineCore, t: datetime) -> None:
    """A new single-customer outage of a metered customer not asked yet since
    it went out (a lone last gasp, a call): ping its meter. A "no supply"
    answer has the other meters at its outage point asked (as any dead
    answer): their gasps are lost one time in five, and two lost of three
    hid a transformer's outage behind one customer's. O(single-customer
    outages opened now)."""
    ev, now, metered = core.ev, to_seconds(t), core.units.metered
    for o in core.outages.active("single_customer"):
        if o.located_at != t or o.customer is None:
            continue
        u = core.units.of(o.customer)
        if u < 0 or not metered[u]:
            continue
        out = np.fmax(np.fmax(ev.gasp[u], ev.off[u]), ev.epoch[u])
        if ev.ping_sent[u] >= out or ev.ping_dead[u] > ev.epoch[u]:
            continue  # asked already, or its answer was followed up
        _ping(core, [u], o.id, "confirm", now)


def _ping(core: EngineCore, units: list[int], outage: str, purpose: str, t: float) -> None:
    """Queue pings of ``units`` about ``outage``, remembering when they were asked
    (an unanswered ping becomes evidence: :class:`~oms.engine.evidence.Evidence`)."""
    core.changes.pings.extend((int(u), outage, purpose) for u in units)
    core.ev.pinged(np.array(units, dtype=np.int64), t)
    core.pinged_about.update((int(u), outage) for u in units)


def _ping_neighbours(core: EngineCore, t: datetime) -> None:
    """A meter whose ping said "no supply": ask the other meters at its outage
    point (one answer is weaker than a fault's prior; a few agreeing are not).
    O(answers x meters at their outage points)."""
    answers, core.ev.dead_answers = core.ev.dead_answers, []
    if not answers:
        return
    ev, k, now = core.ev, core.config.pings_per_check, to_seconds(t)
    tree, metered = core.tree, core.units.metered
    found = {int(tree.node_device[core.units.node[u]]): u for u in answers}
    for pos, answered in sorted(found.items()):
        if pos < 0:
            continue
        units = core.units_under(pos)
        units = units[metered[units]]
        # Not heard from since supply last came back, and not asked already.
        ask = units[~(ev.on[units] >= ev.epoch[units]) & ~(ev.ping_sent[units] >= ev.epoch[units])]
        if len(ask):
            about = core.pinged_about.get(answered, "")
            _ping(core, list(spread(ask, k)), about, "neighbours", now)


def _retry_pings(core: EngineCore, table: EvidenceTable, t: datetime) -> None:
    """Ping again the meters whose ping went unanswered while others were
    answered (``ping_retries`` times): a head-end loses a share of answers,
    and one lost answer should not keep a meter out. O(units in the table)."""
    units = table.units[~table.on]
    if not len(units):
        return
    now = to_seconds(t)
    for u in units[core.ev.ping_overdue(units, now, core.config.prediction)].tolist():
        _ping(core, [u], core.pinged_about.get(u, ""), "retry", now)


def _ping_after_restorations(core: EngineCore, t: datetime) -> None:
    grace = core.config.prediction.restore_grace_s
    for o in core.changes.restored:
        if o.restored is not None:
            core.checks.append((to_seconds(o.restored) + grace, o.id, o.device or ""))
    now = to_seconds(t)
    due = [c for c in core.checks if c[0] <= now]
    core.checks = [c for c in core.checks if c[0] > now]
    ev, cap = core.ev, core.config.pings_after_restoration
    node_device = core.tree.node_device
    for _due, oid, device in due:
        pos = core.position(device)
        if pos is None:
            continue
        units = core.units_under(pos)
        units = units[core.units.metered[units]]
        epoch = ev.epoch[units]
        was_out = np.fmax(ev.off[units], ev.gasp[units]) <= epoch
        silent = ~(ev.on[units] >= epoch)
        # First one meter per outage point whose meters are all silent (where
        # a nested outage would be), then the other silent meters.
        quiet = units[was_out & silent]
        group = node_device[core.units.node[quiet]]
        whole = ~np.isin(group, node_device[core.units.node[units[~silent]]])
        _, first = np.unique(group[whole], return_index=True)
        lead = quiet[whole][np.sort(first)]
        chosen = list(spread(lead, cap))
        chosen += spread(np.setdiff1d(quiet, lead), cap - len(chosen))
        _ping(core, chosen, oid, "nested", now)


def spread(units: np.ndarray, k: int) -> Iterator[int]:
    """Up to ``k`` of ``units``, evenly spread (they are in supply-tree order)."""
    if len(units) <= k:
        yield from units.tolist()
        return
    for i in np.linspace(0, len(units) - 1, k).round().astype(int).tolist():
        yield int(units[i])
