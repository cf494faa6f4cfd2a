"""Temporary network changes in the field: tags, grounds, jumpers and cuts. No I/O.

They are placed and removed by switching steps and listed until removed.
Tags and grounds change nothing electrically but guard operations (see
:mod:`oms.switching.interlocks`); jumpers and cuts change the network as
operated:

- a **jumper** is placed across an edge (a device or a span of conductor):
  the edge conducts whatever the device's state, so a jumpered switch can
  be opened for maintenance with nobody losing supply;
- a **cut** opens a conductor (a line or cable span).

A jumper between two arbitrary points would be a new edge; the network
model's edges are fixed, so such a temporary tie is drawn in the GIS as a
normally open switch and closed when placed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from oms.exceptions import ActionError
from oms.intake.events import iso, parse_time
from topology.model import Network

__all__ = ["FIELD_KINDS", "FieldBook", "FieldChange"]

FIELD_KINDS = ("tag", "ground", "jumper", "cut")

#: Step action -> (kind of change, placing it (True) or removing it).
ACTION_CHANGE = {
    "place_tag": ("tag", True),
    "remove_tag": ("tag", False),
    "apply_ground": ("ground", True),
    "remove_ground": ("ground", False),
    "place_jumper": ("jumper", True),
    "remove_jumper": ("jumper", False),
    "cut": ("cut", True),
    "remove_cut": ("cut", False),
}


@dataclass
class FieldChange:
    """One tag, ground, jumper or cut, from its placing to its removal."""

    id: str
    kind: str
    device: str
    placed_at: datetime
    placed_by: str
    tag: str | None = None
    document: str | None = None
    order: str | None = None
    step: int | None = None
    removed_at: datetime | None = None
    removed_by: str | None = None

    @property
    def active(self) -> bool:
        return self.removed_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "placed_at": iso(self.placed_at),
            "removed_at": iso(self.removed_at),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FieldChange:
        return cls(
            id=d["id"],
            kind=d["kind"],
            device=d["device"],
            placed_at=parse_time(d["placed_at"]),
            placed_by=d["placed_by"],
            tag=d.get("tag"),
            document=d.get("document"),
            order=d.get("order"),
            step=d.get("step"),
            removed_at=parse_time(d["removed_at"]) if d.get("removed_at") else None,
            removed_by=d.get("removed_by"),
        )


class FieldBook:
    """The temporary changes in place now (removed ones leave the book)."""

    def __init__(self, changes: Iterable[FieldChange] = ()) -> None:
        self.active: dict[str, FieldChange] = {c.id: c for c in changes if c.active}

    def on(self, device: str, kind: str | None = None) -> list[FieldChange]:
        """The changes in place on ``device`` (of ``kind``), oldest first."""
        return [
            c
            for c in self.active.values()
            if c.device == device and (kind is None or c.kind == kind)
        ]

    def devices(self, kind: str) -> set[str]:
        return {c.device for c in self.active.values() if c.kind == kind}

    def check(
        self, net: Network, action: str, device: str, document: str | None
    ) -> FieldChange | None:
        """What ``action`` on ``device`` would remove (None when it places).

        Raises
        ------
        ActionError
            The change does not fit the device (a tag on a conductor, a cut
            on a switch), it is already there, or there is none to remove.
        """
        kind, placing = ACTION_CHANGE[action]
        e = net.edge_index.get(device)
        if e is None:
            raise ActionError(f"unknown device {device!r}")
        what = net.kind_of(e)
        if kind == "tag" and not net.is_operable(e):
            raise ActionError(f"{device} is a {what}: tags go on switching devices")
        if kind == "cut" and what not in ("line", "cable"):
            raise ActionError(f"{device} is a {what}: cuts are made in conductors (line, cable)")
        present = self.on(device, kind)
        if kind == "tag" and document is not None:
            present = [c for c in present if c.document == document]
        if placing:
            if kind != "tag" and present:
                raise ActionError(f"{device} already has a {kind} ({present[0].id})")
            if kind == "tag" and document is not None and present:
                raise ActionError(f"{device} already has a tag for {document} ({present[0].id})")
            return None
        if not present:
            whose = f" for {document}" if document and kind == "tag" else ""
            raise ActionError(f"{device} has no {kind}{whose} to remove")
        if len(present) > 1:
            raise ActionError(
                f"{device} has {len(present)} tags ({', '.join(c.id for c in present)}); "
                "name the document whose tag is removed"
            )
        return present[0]

    def place(self, change: FieldChange) -> None:
        self.active[change.id] = change

    def remove(self, change: FieldChange, at: datetime, by: str) -> None:
        change.removed_at, change.removed_by = at, by
        self.active.pop(change.id, None)

    def operated(self, net: Network, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The switching state with the jumpers and cuts in place, and the cut mask.

        ``closed`` is the devices' own state; a jumper makes its edge
        conduct, a cut opens its conductor (a jumper across a cut conducts).
        O(changes + n_edges).
        """
        state, cut = closed.copy(), np.zeros(net.n_edges, dtype=bool)
        for c in self.active.values():
            e = net.edge_index.get(c.device)
            if e is not None and c.kind == "cut":
                cut[e], state[e] = True, False
        for c in self.active.values():
            e = net.edge_index.get(c.device)
            if e is not None and c.kind == "jumper":
                state[e] = True
        return state, cut
