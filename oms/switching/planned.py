"""Planned outages: the request, its risk check, approval, notices, execution. No I/O.

A planned outage is requested (applicant, reason, the devices opened to
isolate the work, the window, the crews), checked for risk, approved by
someone other than the requester, announced to the customers it cuts off
``notice_days`` ahead (default 7) and again at its start and end, and
carried out through a switching order (its ``planned`` field). Its
interruption is recorded as a ``planned`` outage record by the engine,
never predicted as a fault, and reported apart in IEEE 1366.

::

    requested -> approved -> in_progress -> completed
        |            |
        +-> rejected +-> cancelled (requested too)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from oms.exceptions import ActionError
from oms.intake.events import iso, parse_time
from oms.switching.documents import Signature
from topology.model import Network

__all__ = ["PlannedOutage", "notices_due", "risk"]

_NEXT = {
    "requested": ("approved", "rejected", "cancelled"),
    "approved": ("in_progress", "cancelled"),
    "in_progress": ("completed",),
}


@dataclass
class PlannedOutage:
    """A planned outage from request to completion."""

    id: str
    applicant: str
    reason: str
    devices: list[str]
    start: datetime
    end: datetime
    requested_by: str
    requested_at: datetime
    crews: list[str] = field(default_factory=list)
    ties: list[str] = field(default_factory=list)
    notice_days: float = 7.0
    state: str = "requested"
    order: str | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    source_event: str | None = None
    #: The risk check as of the request (or its last re-check).
    risk: dict[str, Any] = field(default_factory=dict)
    #: Customers the outage cuts off (from the risk check), told in the notices.
    customers: list[str] = field(default_factory=list)
    #: Notices queued: kind -> when.
    notices: dict[str, datetime] = field(default_factory=dict)
    signatures: list[Signature] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in ("requested", "approved", "in_progress")

    @property
    def finished(self) -> bool:
        return not self.active

    def sign(self, to: str, user: str, role: str, at: datetime, note: str | None = None) -> None:
        """Move to ``to``, signed.

        Raises
        ------
        ActionError
            ``to`` does not follow the present state, or the requester approves.
        """
        if to not in _NEXT.get(self.state, ()):
            raise ActionError(f"{self.id} is {self.state.replace('_', ' ')}; it cannot become {to}")
        if to == "approved" and user == self.requested_by:
            raise ActionError(
                f"{user} requested {self.id}; another person approves it (two-person rule)"
            )
        self.state = to
        self.signatures.append(Signature(to, user, role, at, note))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "applicant": self.applicant,
            "reason": self.reason,
            "devices": list(self.devices),
            "ties": list(self.ties),
            "start": iso(self.start),
            "end": iso(self.end),
            "crews": list(self.crews),
            "notice_days": self.notice_days,
            "state": self.state,
            "order": self.order,
            "actual_start": iso(self.actual_start),
            "actual_end": iso(self.actual_end),
            "requested_by": self.requested_by,
            "requested_at": iso(self.requested_at),
            "source_event": self.source_event,
            "risk": self.risk,
            "customers": list(self.customers),
            "notices": {k: iso(v) for k, v in self.notices.items()},
            "signatures": [s.to_dict() for s in self.signatures],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedOutage:
        def when(key: str) -> datetime | None:
            return parse_time(d[key]) if d.get(key) else None

        return cls(
            id=d["id"],
            applicant=d["applicant"],
            reason=d["reason"],
            devices=list(d["devices"]),
            start=parse_time(d["start"]),
            end=parse_time(d["end"]),
            requested_by=d["requested_by"],
            requested_at=parse_time(d["requested_at"]),
            crews=list(d.get("crews") or []),
            ties=list(d.get("ties") or []),
            notice_days=float(d.get("notice_days", 7.0)),
            state=d["state"],
            order=d.get("order"),
            actual_start=when("actual_start"),
            actual_end=when("actual_end"),
            source_event=d.get("source_event"),
            risk=dict(d.get("risk") or {}),
            customers=list(d.get("customers") or []),
            notices={k: parse_time(v) for k, v in (d.get("notices") or {}).items()},
            signatures=[Signature.from_dict(s) for s in d.get("signatures", [])],
        )


def _dead_with(net: Network, devices: Iterable[str], ties: Iterable[str]) -> np.ndarray:
    """Nodes without supply in ``net``'s state with ``devices`` open and ``ties`` closed
    that have it now."""
    state = net.edge_closed.copy()
    for d in devices:
        state[net.edge_index[d]] = False
    for d in ties:
        state[net.edge_index[d]] = True
    return net.supply.energized & ~net.with_states(state).supply.energized


def risk(
    net: Network,
    po: PlannedOutage,
    others: Iterable[PlannedOutage],
    open_outages: Iterable[tuple[str, np.ndarray]],
) -> dict[str, Any]:
    """The risk check of ``po`` on ``net`` (the network as built: planned work
    is days ahead, when today's temporary switching is long undone).

    ``others`` are the other planned outages still to come or under way;
    ``open_outages`` (outage id, bool mask of the nodes it cuts off in the
    same state) the open outages. Sets ``po.customers`` and returns the
    figures and the list of concerns: critical customers cut off, other
    planned work overlapping in time and area, open outages in the area,
    ties that parallel feeders or pick up none of the customers cut off,
    feeders above their capacity with the ties closed, and notice shorter
    than ``notice_days``. O(n + m) per other planned outage and per tie.
    """
    opened = net.edge_closed.copy()
    for d in po.devices:
        opened[net.edge_index[d]] = False
    isolated = net.with_states(opened)
    cut_off = net.supply.energized & ~isolated.supply.energized
    dead = _dead_with(net, po.devices, po.ties)
    cust = net.customers
    if cust is not None:
        hit = dead[cust.node]
        po.customers = sorted(cust.ids[i] for i in np.flatnonzero(hit).tolist())
        critical = sorted(cust.ids[i] for i in np.flatnonzero(hit & cust.critical_mask()).tolist())
    else:
        po.customers, critical = [], []
    concerns: list[str] = []
    if critical:
        concerns.append(
            f"{len(critical)} critical customers lose supply: {', '.join(critical[:5])}"
        )
    for tie in po.ties:
        e = net.edge_index[tie]
        u, v = int(net.edge_from[e]), int(net.edge_to[e])
        live = isolated.supply.energized
        if live[u] and live[v]:
            concerns.append(f"closing {tie} parallels two supplies (both its ends are live)")
        elif not (cut_off[u] or cut_off[v]):
            concerns.append(f"closing {tie} picks up none of the customers the work cuts off")
    overlapping = []
    for other in others:
        if other.id == po.id or not other.active:
            continue
        if other.start < po.end and po.start < other.end:
            theirs = _dead_with(net, other.devices, other.ties)
            shared = set(other.devices) & set(po.devices)
            if (theirs & dead).any() or shared:
                overlapping.append(other.id)
                concerns.append(
                    f"{other.id} overlaps in time and area ({iso(other.start)} to {iso(other.end)})"
                )
    touching = [oid for oid, nodes in open_outages if (nodes & cut_off).any()]
    for oid in touching:
        concerns.append(f"open outage {oid} is in the same area")
    overloads = []
    after = net.with_states(
        np.where(
            np.isin(np.arange(net.n_edges), [net.edge_index[t] for t in po.ties]), True, opened
        )
    )
    for b in np.flatnonzero(net.kind_mask("breaker") & np.isfinite(net.edge_capacity)):
        child = int(after.supply.tree.edge_child[b])
        load = after.supply.subtree_customers(child) if child >= 0 else 0
        if load > net.edge_capacity[b]:
            overloads.append(
                {
                    "breaker": net.edge_ids[b],
                    "customers": load,
                    "capacity": int(net.edge_capacity[b]),
                }
            )
            concerns.append(
                f"{net.edge_ids[b]} would carry {load} customers, "
                f"above its capacity of {int(net.edge_capacity[b])}"
            )
    days = (po.start - po.requested_at).total_seconds() / 86400
    if days < po.notice_days:
        concerns.append(
            f"customers get {max(days, 0):.1f} days' notice, less than {po.notice_days:g}"
        )
    return {
        "customers": int(net.node_customers[dead].sum()),
        "critical": critical,
        "overlapping_planned": overlapping,
        "open_outages": touching,
        "overloads": overloads,
        "concerns": concerns,
        "state": "as built",
    }


def notices_due(po: PlannedOutage, now: datetime) -> list[str]:
    """Notice kinds due for ``po`` at ``now`` that were not queued yet.

    ``advance`` once approved, from ``notice_days`` before the start (at
    once when approved later than that); ``start`` and ``end`` when the
    outage actually starts and ends; ``cancelled`` when an announced outage
    is called off.
    """
    due = []
    going_ahead = po.state in ("approved", "in_progress", "completed")
    notice_from = po.start - timedelta(days=po.notice_days)
    if (
        going_ahead
        and "advance" not in po.notices
        and (now >= notice_from or po.state != "approved")
    ):
        due.append("advance")
    if po.actual_start is not None and "start" not in po.notices:
        due.append("start")
    if po.actual_end is not None and "end" not in po.notices:
        due.append("end")
    if po.state == "cancelled" and "advance" in po.notices and "cancelled" not in po.notices:
        due.append("cancelled")
    return due
