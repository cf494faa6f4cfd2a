"""Study mode: an order run step by step against a copy of the network as operated. No I/O.

Nothing real changes: the study operates a copy (a view of the network,
a copy of the field changes) and reports after each step who loses and
who regains supply, the critical customers among them, loops made and
sources paralleled, feeder loads against ``capacity_customers``, and every
rule broken (:mod:`oms.switching.interlocks`). A step that cannot be done
at all in the state the steps before it leave (opening an open switch,
removing a tag that is not there) is the finding ``invalid``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from oms.exceptions import ActionError
from oms.switching.documents import CONTROL, Step
from oms.switching.field import ACTION_CHANGE, FieldBook, FieldChange
from oms.switching.interlocks import DEFAULT_LEVELS, Finding, Situation, check

__all__ = ["StepStudy", "Study", "run_study", "validity"]


@dataclass
class StepStudy:
    """One step as the study saw it."""

    step: Step
    effect: dict[str, Any]
    findings: list[Finding]
    #: Customers out because of the order so far (after this step).
    customers_out: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.step.seq,
            "action": self.step.action,
            "device": self.step.device,
            "performer": self.step.performer,
            **self.effect,
            "customers_out": self.customers_out,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class Study:
    """An order's study: every step, and what the whole order does."""

    steps: list[StepStudy] = field(default_factory=list)
    #: Customers without supply at some point of the order (not already out).
    customers_interrupted: int = 0
    critical_interrupted: list[str] = field(default_factory=list)
    #: Customers still out once the last step is done.
    customers_out_at_end: int = 0

    @property
    def refusals(self) -> list[tuple[int, Finding]]:
        return [(s.step.seq, f) for s in self.steps for f in s.findings if f.level == "refuse"]

    @property
    def warnings(self) -> list[tuple[int, Finding]]:
        return [(s.step.seq, f) for s in self.steps for f in s.findings if f.level == "warn"]

    def summary(self) -> dict[str, Any]:
        return {
            "customers_interrupted": self.customers_interrupted,
            "critical_interrupted": self.critical_interrupted,
            "customers_out_at_end": self.customers_out_at_end,
            "refusals": len(self.refusals),
            "warnings": len(self.warnings),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "steps": [s.to_dict() for s in self.steps]}


def validity(sit: Situation, step: Step) -> str | None:
    """Why ``step`` cannot be done at all in ``sit``, or None."""
    net = sit.net
    e = net.edge_index.get(step.device)
    if e is None:
        return f"unknown device {step.device!r}"
    if step.action in ("open", "close"):
        if not net.is_operable(e):
            return f"{step.device} is a {net.kind_of(e)} and does not operate"
        if bool(sit.device_closed[e]) == (step.action == "close"):
            state = "closed" if step.action == "close" else "open"
            return f"{step.device} is already {state} at this step"
        return None
    try:
        sit.temporary.check(net, step.action, step.device, step.document)
    except ActionError as exc:
        return str(exc)
    return None


def apply_step(sit: Situation, step: Step, at: datetime, change_id: str) -> FieldChange | None:
    """Carry ``step`` out on ``sit`` (its network view, states and field book).

    Returns the field change placed or removed, if any. The caller checked
    it first (:func:`validity`, :func:`~oms.switching.interlocks.check`).
    """
    devices, state, cut = sit.after(step.action, step.device)
    changed: FieldChange | None = None
    if step.action in ACTION_CHANGE:
        kind, placing = ACTION_CHANGE[step.action]
        by = step.performer
        if placing:
            changed = FieldChange(
                change_id, kind, step.device, at, by, step.tag, step.document, None, step.seq
            )
            sit.temporary.place(changed)
        else:
            changed = sit.temporary.check(sit.net, step.action, step.device, step.document)
            assert changed is not None
            sit.temporary.remove(changed, at, by)
    sit.device_closed = devices
    sit.net.set_states(state, cut=cut)
    return changed


def run_study(
    sit: Situation,
    steps: list[Step],
    at: datetime,
    *,
    listed_critical: Iterable[str] = (),
    levels: Mapping[str, str] = DEFAULT_LEVELS,
) -> Study:
    """Run ``steps`` on a copy of ``sit``; ``sit`` is left as it was.

    ``listed_critical``: the critical customers the order already lists (a
    draft lists none: the study names them, and checking the order lists
    them). O(steps x (n + m)).
    """
    listed = list(listed_critical)
    work = Situation(
        net=sit.net.with_states(sit.net.edge_closed),
        device_closed=sit.device_closed.copy(),
        temporary=FieldBook(copy.deepcopy(list(sit.temporary.active.values()))),
        documents=sit.documents,
        faulted=sit.faulted,
    )
    start_dead = ~work.net.supply.energized
    ever_dead = np.zeros_like(start_dead)
    out = Study()
    for k, step in enumerate(steps):
        why = validity(work, step)
        if why is not None:
            invalid = [Finding("invalid", "refuse", why)]
            out.steps.append(StepStudy(step, {}, invalid, _out(work, start_dead)))
            continue
        crew = None if step.performer == CONTROL else step.performer
        fx, findings = check(
            work, step.action, step.device, by_crew=crew, listed_critical=listed, levels=levels
        )
        apply_step(work, step, at, f"study-{k + 1}")
        dead = ~work.net.supply.energized & ~start_dead
        ever_dead |= dead
        out.steps.append(StepStudy(step, fx.to_dict(), findings, _out(work, start_dead)))
    net = work.net
    out.customers_interrupted = int(net.node_customers[ever_dead].sum())
    cust = net.customers
    if cust is not None:
        hit = cust.critical_mask() & ever_dead[cust.node]
        out.critical_interrupted = sorted(cust.ids[i] for i in np.flatnonzero(hit).tolist())
    out.customers_out_at_end = _out(work, start_dead)
    return out


def _out(sit: Situation, start_dead: np.ndarray) -> int:
    dead = ~sit.net.supply.energized & ~start_dead
    return int(sit.net.node_customers[dead].sum())
