"""Where the active outages stand, kept up as they change: network outages
on the device tree, single-customer outages at their customer.

Reconciliation asks every batch which outage is at each predicted device,
which outages are below a device, where each one is, and which callers
have an outage of their own. Built again from every open outage each
batch, that was work proportional to the storm's open outages (thousands
late in a large storm) for a batch that changed a handful.
:class:`Placements` is built once per tree and then follows the
outages the book says changed since it last looked
(:attr:`~oms.engine.outage_book.OutageBook.touched`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

import numpy as np

from oms.engine.prediction import DeviceTree
from oms.outages import Outage

__all__ = ["Placements"]


class Placements:
    """The active network outages at candidate devices of one tree, and the
    active single-customer outages by unit.

    Parameters
    ----------
    tree : DeviceTree
        The tree positions refer to.
    position : callable
        A device id's tree position, None when it is not a candidate.
    unit_of : callable
        A customer id's unit, -1 when it is not in the network.
    units : int
        How many units there are.
    outages : iterable of Outage
        The open outages (others are ignored).

    Attributes
    ----------
    pos_of : dict of str to int
        Each outage's tree position.
    by_pos : dict of int to list of Outage
        The outages at each position (more than one until they merge).
    placed : list of (int, str)
        ``(pre-order start of its position, outage id)`` of each outage in
        ``pos_of``, sorted: the outages below a device are a range of it.
    single : dict of int to Outage
        The single-customer outage of each unit that has one (one at most:
        a caller with one open gets no other).
    single_mask : ndarray of bool
        Per unit, whether it is in ``single``.
    unplaced : dict of str to Outage
        Single-customer outages of customers no longer in the network.
    pinned : dict of str to Outage
        Active outages of any kind a dispatcher pinned at a device.
    moved : list of int
        The positions outages were placed at or dropped from, since the
        figures last took them (:meth:`take_moved`).

    Notes
    -----
    Exact after :meth:`sync` with every outage changed since the last one
    (an outage that left, moved or finished is dropped or moved). Between
    two syncs a reconciliation :meth:`place`\\ s the outages it moves or
    opens; those it restores or cancels stay until the next sync, and
    readers that care check ``active``. O(log outages) per outage synced.
    """

    def __init__(
        self,
        tree: DeviceTree,
        position: Callable[[str | None], int | None],
        unit_of: Callable[[str], int],
        units: int,
        outages: Iterable[Outage],
    ) -> None:
        self.tree = tree
        self._position = position
        self._unit_of = unit_of
        self.pos_of: dict[str, int] = {}
        self.by_pos: dict[int, list[Outage]] = {}
        self.placed: list[tuple[int, str]] = []
        self.single: dict[int, Outage] = {}
        self.single_mask = np.zeros(units, dtype=bool)
        self._unit: dict[str, int] = {}
        self.unplaced: dict[str, Outage] = {}
        self.pinned: dict[str, Outage] = {}
        self.moved: list[int] = []
        self.sync(outages)

    def sync(self, outages: Iterable[Outage]) -> None:
        """Follow ``outages``, changed since the last sync: each is filed
        again among the pinned and, unless it is an active network outage
        still at its position, dropped from where it stood and, if active,
        filed where it stands (a network outage at a candidate device, a
        single-customer outage at its unit)."""
        for o in outages:
            self.pinned.pop(o.id, None)
            if o.active and o.pinned and o.device is not None:
                self.pinned[o.id] = o
            pos = self._position(o.device) if o.active and o.kind == "network" else None
            if pos is not None and self.pos_of.get(o.id) == pos:
                continue  # still where it stood (touched for its figures, an ETR)
            self._drop(o)
            self._drop_single(o)
            if not o.active:
                continue
            if o.kind == "network":
                if pos is not None:
                    self.place(o, pos)
            elif o.kind == "single_customer":
                u = self._unit_of(o.customer) if o.customer is not None else -1
                if u < 0:
                    self.unplaced[o.id] = o
                else:
                    self.single[u], self.single_mask[u], self._unit[o.id] = o, True, u

    def place(self, o: Outage, pos: int) -> None:
        """``o`` stands at tree position ``pos`` from now on."""
        self._drop(o)
        self.pos_of[o.id] = pos
        self.by_pos.setdefault(pos, []).append(o)
        bisect.insort(self.placed, (int(self.tree.lo[pos]), o.id))
        self.moved.append(pos)

    def _drop(self, o: Outage) -> None:
        pos = self.pos_of.pop(o.id, None)
        if pos is None:
            return
        here = self.by_pos[pos]
        here.remove(o)
        if not here:
            del self.by_pos[pos]
        k = bisect.bisect_left(self.placed, (int(self.tree.lo[pos]), o.id))
        del self.placed[k]
        self.moved.append(pos)

    def _drop_single(self, o: Outage) -> None:
        self.unplaced.pop(o.id, None)
        u = self._unit.pop(o.id, None)
        if u is not None and self.single.get(u) is o:  # one per unit, but never drop another's
            del self.single[u]
            self.single_mask[u] = False

    def take_moved(self) -> list[int]:
        """The positions outages were placed at or dropped from since the
        last call (each position once or more)."""
        moved, self.moved = self.moved, []
        return moved

    def within(self, pos: int) -> list[tuple[int, str]]:
        """``(pre-order start, outage id)`` of the outages at or below ``pos``
        (a range of :attr:`placed`). O(log outages + answer)."""
        return self._between(int(self.tree.lo[pos]), int(self.tree.hi[pos]))

    def below(self, pos: int) -> list[tuple[int, str]]:
        """``(pre-order start, outage id)`` of the outages strictly below
        ``pos`` (a range of :attr:`placed`). O(log outages + answer)."""
        return self._between(int(self.tree.lo[pos]) + 1, int(self.tree.hi[pos]))

    def _between(self, lo: int, hi: int) -> list[tuple[int, str]]:
        """The entries of :attr:`placed` with a pre-order start in ``[lo, hi)``."""
        return self.placed[
            bisect.bisect_left(self.placed, (lo,)) : bisect.bisect_left(self.placed, (hi,))
        ]
