"""The engine's outage records: open ones, finished ones, and how they change.

Every change goes through :class:`OutageBook`, which numbers new outages,
audits each move of the state machine (:class:`oms.outages.Outage` holds
the moves) and marks the outage changed in the batch's :class:`Changes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from oms.engine.changes import Changes
from oms.exceptions import ActionError, OutageNotFound
from oms.outages import ACTIVE_STATES, Outage

#: The states of an active outage, as a set (asked of thousands of outages a batch).
_ACTIVE = frozenset(ACTIVE_STATES)

__all__ = ["OutageBook"]


class OutageBook:
    """Open outages (and those changed in the batch), finished and cancelled ones.

    Parameters
    ----------
    outages : iterable of Outage
        As stored.
    next_number : int
        The number of the next outage (``OUT-000001``, ...).
    changes : Changes
        The batch's change record (replaced by :meth:`begin`).
    """

    def __init__(self, outages: Iterable[Outage], next_number: int, changes: Changes) -> None:
        stored = list(outages)
        self.open: dict[str, Outage] = {}
        # Where each open outage stands in ``open`` (the order callers see),
        # and the open outages placed at each device (ids; an entry may be
        # stale: readers check the outage's device).
        self._seq: dict[str, int] = {}
        # The open outages by kind, filed again when placed under another kind
        # (a dispatcher confirming a customer's outage at a device); entries
        # under a kind an outage no longer has are skipped by readers. Kinds
        # whose entries are no longer in the order of ``open``: sorted when read.
        self._of_kind: dict[str, dict[str, Outage]] = {}
        self._unsorted: set[str] = set()
        self._entered = 0
        self._at: dict[str, set[str]] = {}
        #: Outages changed (entered, placed, audited, touched) since the
        #: engine's placements last followed them (it clears this).
        self.touched: dict[str, Outage] = {}
        #: Open outages entered, audited or touched since the last settle:
        #: only these can have left the active states (every such move is
        #: audited), so settling looks at them, not at every open outage.
        self._unsettled: set[str] = set()
        for o in stored:
            if o.active:
                self._enter(o)
        # Restored and closed outages wait here for callbacks and closing.
        self.finished = {o.id: o for o in stored if o.state in ("restored", "closed")}
        # The finished outages by device (ids; an entry may be stale: readers
        # check), for what a device's last restoration left behind.
        self._finished_at: dict[str, set[str]] = {}
        for o in self.finished.values():
            self._file_finished(o)
        self.cancelled = {o.id: o.merged_into for o in stored if o.state == "cancelled"}
        self.next_number = next_number
        self.changes = changes

    def begin(self, changes: Changes) -> None:
        """Record the changes of a new batch in ``changes``."""
        self.changes = changes

    # -------------------------------------------------------------- reading
    def get(self, oid: str) -> Outage:
        """An outage by id; a finished one comes back among the open ones.

        Raises
        ------
        ActionError
            It was cancelled (or merged into another).
        OutageNotFound
            No outage has that id.
        """
        o = self.open.get(oid)
        if o is None and oid in self.finished:
            o = self.finished.pop(oid)
            self._enter(o)
        if o is None:
            if oid in self.cancelled:
                into = self.cancelled[oid]
                raise ActionError(
                    f"outage {oid} is cancelled" + (f" (merged into {into})" if into else "")
                )
            raise OutageNotFound(f"no outage with id {oid!r}")
        return o

    def find(self, oid: str) -> Outage | None:
        """An open or finished outage, or None (never raises, never reopens)."""
        return self.open.get(oid) or self.finished.get(oid)

    def active(self, kind: str | None = None) -> list[Outage]:
        """Open outages (of one kind), in the order of ``open``. O(open outages
        of that kind)."""
        if kind is None:
            return [o for o in self.open.values() if o.state in _ACTIVE]
        if kind in self._unsorted:
            self._unsorted.discard(kind)
            entries = sorted(self._of_kind[kind].values(), key=lambda o: self._seq[o.id])
            self._of_kind[kind] = {o.id: o for o in entries}
        return [
            o for o in self._of_kind.get(kind, {}).values() if o.state in _ACTIVE and o.kind == kind
        ]

    def active_at(self, device: str) -> list[Outage]:
        """Open outages at ``device``, in the order of ``open``. O(outages placed there)."""
        found = [
            o
            for oid in self._at.get(device, ())
            if (o := self.open.get(oid)) is not None and o.active and o.device == device
        ]
        found.sort(key=lambda o: self._seq[o.id])
        return found

    def restored_at(self, device: str) -> Outage | None:
        """The network outage at ``device`` restored last (open or finished,
        not cancelled), or None. O(outages ever placed there)."""
        found = None
        for ids, book in ((self._at, self.open), (self._finished_at, self.finished)):
            for oid in ids.get(device, ()):
                o = book.get(oid)
                if (
                    o is not None
                    and o.device == device
                    and o.kind == "network"
                    and o.restored is not None
                    and o.state != "cancelled"
                    and (found is None or (o.restored, o.id) > (found.restored, found.id))
                ):
                    found = o
        return found

    def order(self, oid: str) -> int:
        """Where open outage ``oid`` stands in ``open``."""
        return self._seq[oid]

    def active_network(self, ids: Iterable[str]) -> list[Outage]:
        """The active network outages among ``ids``, in the order of ``open``.
        O(k log k) for k ids."""
        found = [
            o
            for oid in ids
            if (o := self.open.get(oid)) is not None and o.active and o.kind == "network"
        ]
        return sorted(found, key=lambda o: self._seq[o.id])

    def everything(self) -> list[Outage]:
        """Open and finished outages."""
        return [*self.open.values(), *self.finished.values()]

    # ------------------------------------------------------------- changing
    def new(
        self, kind: str, device: str | None, customer: str | None, started: datetime, t: datetime
    ) -> Outage:
        """A new predicted outage, numbered."""
        oid = f"OUT-{self.next_number:06d}"
        self.next_number += 1
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
        self._enter(o)
        self.changes.new.add(oid)
        self.changes.dirty.add(oid)
        return o

    def audit(
        self,
        o: Outage,
        t: datetime,
        actor: str,
        action: str,
        reason: str | None,
        detail: dict[str, Any],
    ) -> None:
        """Record who did what to ``o`` and why; ``o`` is written with the batch."""
        self.changes.audit.append(
            {
                "outage": o.id,
                "time": t,
                "actor": actor,
                "action": action,
                "reason": reason,
                "detail": detail,
            }
        )
        self.touch(o)

    def _enter(self, o: Outage) -> None:
        """``o`` joins the open outages (last in their order)."""
        self.open[o.id] = o
        self._unsettled.add(o.id)
        self._of_kind.setdefault(o.kind, {})[o.id] = o
        self._seq[o.id] = self._entered
        self._entered += 1
        self.placed(o)

    def placed(self, o: Outage) -> None:
        """``o`` is at its device now (new, moved or reopened): index it there,
        and under its kind."""
        of_kind = self._of_kind.setdefault(o.kind, {})
        if o.id not in of_kind:
            of_kind[o.id] = o
            self._unsorted.add(o.kind)
        if o.device is not None:
            self._at.setdefault(o.device, set()).add(o.id)
        self.touched[o.id] = o

    def touch(self, o: Outage) -> None:
        """``o`` changed: write it with the batch."""
        self.changes.dirty.add(o.id)
        self.touched[o.id] = o
        self._unsettled.add(o.id)

    def cancel(
        self,
        o: Outage,
        t: datetime,
        actor: str,
        action: str,
        reason: str | None,
        merged_into: str | None = None,
    ) -> None:
        o.cancel(merged_into)
        self.audit(o, t, actor, action, reason, {"into": merged_into} if merged_into else {})

    def settle(self) -> None:
        """After a batch is written: only open outages stay open. O(k log k)
        for the k outages entered or changed since the last settle."""
        looked = sorted(self._unsettled & self.open.keys(), key=self._seq.__getitem__)
        self._unsettled.clear()
        for o in [o for oid in looked if not (o := self.open[oid]).active]:
            del self.open[o.id]
            del self._seq[o.id]
            for of_kind in self._of_kind.values():
                of_kind.pop(o.id, None)
            at = self._at.get(o.device or "")
            if at is not None:  # entries left at devices it moved from are skipped by readers
                at.discard(o.id)
            if o.state == "cancelled":
                self.cancelled[o.id] = o.merged_into
            else:
                self.finished[o.id] = o
                self._file_finished(o)

    def _file_finished(self, o: Outage) -> None:
        if o.device is not None:
            self._finished_at.setdefault(o.device, set()).add(o.id)
