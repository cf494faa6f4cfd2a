"""Interlocks: what an operation does to the network as operated, and the rules it breaks.

No I/O.

Every operation (a dispatcher's ``switch``, a step of a switching order, in
study or for real) is looked at the same way: :func:`effect` compares the
network as operated before and after it (who loses supply, who regains it,
loops made, sources paralleled, feeders loaded past their capacity), and
:func:`check` turns the effect and the safety state into findings:

===================  ============================================  =========
rule                 broken when                                   default
===================  ============================================  =========
``tagged``           operating a device that carries a tag         refuse
``safety_document``  operating (or un-tagging, un-grounding,       refuse
                     jumpering) a point of an issued clearance or
                     hold; a delegated section operated by anyone
                     but its crew
``grounded``         the operation energizes a grounded section    refuse
``faulted``          it energizes a section under a fault not      warn
                     yet repaired
``critical``         it cuts off critical customers the order      warn
                     does not list
``parallel``         it closes a loop through two feeders or       warn
                     sources (paralleling)
``loop``             it closes a loop within one feeder            warn
``overload``         a feeder carries more than its breaker's      warn
                     ``capacity_customers`` after it
``sequence``         an order's step is done before an earlier one refuse
``window``           a step of a planned outage's order is done    warn
                     before the window announced to its customers
                     starts, or after it ends
===================  ============================================  =========

A refusal stops the operation; a warning must be acknowledged by name.
The levels are configuration (:class:`oms.config.SwitchingConfig`); a rule
set to ``off`` is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oms.switching.documents import SafetyDocument
from oms.switching.field import ACTION_CHANGE, FieldBook
from topology.model import Network

__all__ = [
    "DEFAULT_LEVELS",
    "RULES",
    "Effect",
    "Finding",
    "Situation",
    "check",
    "effect",
]

RULES = (
    "tagged",
    "safety_document",
    "grounded",
    "faulted",
    "critical",
    "parallel",
    "loop",
    "overload",
    "sequence",
    "window",
)
DEFAULT_LEVELS: Mapping[str, str] = {
    "tagged": "refuse",
    "safety_document": "refuse",
    "grounded": "refuse",
    "faulted": "warn",
    "critical": "warn",
    "parallel": "warn",
    "loop": "warn",
    "overload": "warn",
    "sequence": "refuse",
    "window": "warn",
}


@dataclass(frozen=True)
class Finding:
    """A rule an operation breaks: refused, or a warning to acknowledge."""

    rule: str
    level: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "level": self.level, "message": self.message}


@dataclass
class Situation:
    """The network as operated now and what guards it.

    Attributes
    ----------
    net : Network
        The network as operated (jumpers and cuts in place), a view the
        checks never change.
    device_closed : ndarray of bool
        The devices' own states (a jumpered device may be open under its jumper).
    temporary : FieldBook
        Tags, grounds, jumpers and cuts in place.
    documents : list of SafetyDocument
        Safety documents issued now.
    faulted : ndarray of bool, length n_nodes
        Nodes below a fault not yet repaired.
    """

    net: Network
    device_closed: np.ndarray
    temporary: FieldBook
    documents: list[SafetyDocument] = field(default_factory=list)
    faulted: np.ndarray | None = None

    def after(self, action: str, device: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The devices' states, the operated state and the cut mask once
        ``action`` is done on ``device`` (the situation itself unchanged)."""
        e = self.net.edge_index[device]
        devices = self.device_closed.copy()
        jumpers = {self.net.edge_index[d] for d in self.temporary.devices("jumper")}
        cuts = {self.net.edge_index[d] for d in self.temporary.devices("cut")}
        if action in ("open", "close"):
            devices[e] = action == "close"
        elif action in ACTION_CHANGE:
            kind, placing = ACTION_CHANGE[action]
            target = jumpers if kind == "jumper" else cuts if kind == "cut" else None
            if target is not None:
                (target.add if placing else target.discard)(e)
        state, cut = devices.copy(), np.zeros(len(devices), dtype=bool)
        for x in cuts:
            state[x], cut[x] = False, True
        for x in jumpers:
            state[x] = True
        return devices, state, cut


@dataclass
class Effect:
    """What one operation does to the network as operated."""

    lost: np.ndarray
    regained: np.ndarray
    customers_lost: int = 0
    customers_regained: int = 0
    critical_lost: list[str] = field(default_factory=list)
    critical_regained: list[str] = field(default_factory=list)
    #: "parallel" or "loop" when the operation closes one; the two feeders' breakers.
    loop: str | None = None
    feeders: list[str] = field(default_factory=list)
    #: (breaker, customers after, capacity) for feeders past their capacity.
    overloads: list[tuple[str, int, int]] = field(default_factory=list)
    #: (breaker, customers before, after) for feeders whose load changed.
    transfers: list[tuple[str, int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers_lost": self.customers_lost,
            "customers_regained": self.customers_regained,
            "critical_lost": self.critical_lost,
            "critical_regained": self.critical_regained,
            "loop": self.loop,
            "feeders": self.feeders,
            "overloads": [
                {"breaker": b, "customers": c, "capacity": k} for b, c, k in self.overloads
            ],
            "transfers": [{"breaker": b, "before": x, "after": y} for b, x, y in self.transfers],
        }


def _critical(net: Network, nodes: np.ndarray) -> list[str]:
    cust = net.customers
    if cust is None or not nodes.any():
        return []
    hit = cust.critical_mask() & nodes[cust.node]
    return sorted(cust.ids[i] for i in np.flatnonzero(hit).tolist())


def _feeder(net: Network, v: int) -> str | None:
    """The breaker feeding live node ``v`` in ``net`` (as it is), else its source."""
    supply = net.supply
    if not supply.energized[v]:
        return None
    breakers = net.kind_mask("breaker")
    for x in supply.upstream_edges(v):
        if breakers[x]:
            return net.edge_ids[x]
    top = supply.source_of(v)
    return net.node_ids[top] if top is not None else None


def _loads(net: Network) -> dict[int, int]:
    """Customers fed through each breaker with a capacity. O(breakers)."""
    supply = net.supply
    out = {}
    for b in np.flatnonzero(net.kind_mask("breaker") & np.isfinite(net.edge_capacity)):
        child = int(supply.tree.edge_child[b])
        out[int(b)] = supply.subtree_customers(child) if child >= 0 else 0
    return out


def effect(sit: Situation, action: str, device: str) -> Effect:
    """What ``action`` on ``device`` does to the network as operated. O(n + m)."""
    net = sit.net
    _, state, cut = sit.after(action, device)
    after = net.with_states(state, cut=cut)
    alive_before, alive_after = net.supply.energized, after.supply.energized
    lost, regained = alive_before & ~alive_after, alive_after & ~alive_before
    out = Effect(lost=lost, regained=regained)
    out.customers_lost = int(net.node_customers[lost].sum())
    out.customers_regained = int(net.node_customers[regained].sum())
    out.critical_lost = _critical(net, lost)
    out.critical_regained = _critical(net, regained)
    e = net.edge_index[device]
    if not net.edge_closed[e] and state[e]:
        a, b = int(net.edge_from[e]), int(net.edge_to[e])
        if alive_before[a] and alive_before[b]:
            fa, fb = _feeder(net, a), _feeder(net, b)
            sa, sb = net.supply.source_of(a), net.supply.source_of(b)
            out.loop = "parallel" if (fa != fb or sa != sb) else "loop"
            out.feeders = sorted({f for f in (fa, fb) if f is not None})
    before_loads, after_loads = _loads(net), _loads(after)
    for b, load in sorted(after_loads.items()):
        was = before_loads.get(b, 0)
        if load != was:
            out.transfers.append((net.edge_ids[b], was, load))
        capacity = int(net.edge_capacity[b])
        if load > capacity and load > was:
            out.overloads.append((net.edge_ids[b], load, capacity))
    return out


def _grounds_energized(net: Network, field_book: FieldBook, regained: np.ndarray) -> list[str]:
    """The grounds in place on a section that ``regained`` (nodes) energizes, named
    (``ground FC-000003 on L6 for SD-000001``), oldest first."""
    hit = []
    for c in field_book.active.values():
        e = net.edge_index.get(c.device) if c.kind == "ground" else None
        if e is not None and (regained[net.edge_from[e]] or regained[net.edge_to[e]]):
            whose = f" for {c.document}" if c.document else ""
            hit.append(f"ground {c.id} on {c.device}{whose}")
    return hit


def check(
    sit: Situation,
    action: str,
    device: str,
    *,
    by_crew: str | None = None,
    listed_critical: Iterable[str] = (),
    levels: Mapping[str, str] = DEFAULT_LEVELS,
    fx: Effect | None = None,
) -> tuple[Effect, list[Finding]]:
    """The effect of ``action`` on ``device`` and the rules it breaks.

    ``by_crew`` is the crew carrying it out (None: the control room);
    ``listed_critical`` the critical customers the order says it cuts off.
    O(n + m).
    """
    fx = fx if fx is not None else effect(sit, action, device)
    found: list[Finding] = []

    def add(rule: str, message: str) -> None:
        level = levels.get(rule, DEFAULT_LEVELS[rule])
        if level != "off":
            found.append(Finding(rule, level, message))

    operating = action in ("open", "close")
    if operating:
        tags = sit.temporary.on(device, "tag")
        if tags:
            names = ", ".join(
                f"{t.tag} tag {t.id}" + (f" ({t.document})" if t.document else "") for t in tags
            )
            add("tagged", f"{device} carries {names}: remove the tag before operating it")
    for doc in sit.documents:
        if device not in doc.devices:
            continue
        if doc.kind == "delegated":
            if by_crew != doc.crew and (operating or action in ("place_jumper", "cut")):
                add(
                    "safety_document",
                    f"{device} is in the section delegated to {doc.crew} under {doc.id}: "
                    f"only {doc.crew} operates it until the delegation is released",
                )
            continue
        point = next(p for p in doc.points if p.device == device)
        guarded = operating or action == "place_jumper"
        guarded |= action == "remove_tag" and point.tag
        guarded |= action == "remove_ground" and point.ground
        if guarded:
            add(
                "safety_document",
                f"{doc.kind} {doc.id} issued to {doc.crew} holds {device} {point.state}: "
                f"release it before {action.replace('_', ' ')}",
            )
    if fx.regained.any():
        grounds = _grounds_energized(sit.net, sit.temporary, fx.regained)
        if grounds:
            add(
                "grounded",
                f"{action.replace('_', ' ')} {device} would energize a grounded section "
                f"({', '.join(grounds)}): remove the ground first",
            )
        if sit.faulted is not None and (sit.faulted & fx.regained).any():
            add(
                "faulted",
                f"{action.replace('_', ' ')} {device} would energize a section under a fault "
                "not yet repaired",
            )
    unlisted = sorted(set(fx.critical_lost) - set(listed_critical))
    if unlisted:
        shown = ", ".join(unlisted[:5]) + (
            f" and {len(unlisted) - 5} more" if len(unlisted) > 5 else ""
        )
        add("critical", f"{action.replace('_', ' ')} {device} cuts off critical customers {shown}")
    if fx.loop is not None:
        between = " and ".join(fx.feeders) if fx.feeders else "one feeder"
        what = "parallels" if fx.loop == "parallel" else "closes a loop in"
        add(fx.loop, f"{action.replace('_', ' ')} {device} {what} {between}")
    for breaker, load, capacity in fx.overloads:
        add("overload", f"{breaker} would carry {load} customers, above its capacity of {capacity}")
    return fx, found
