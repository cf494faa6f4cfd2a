"""The switching desk: orders, safety documents, planned outages, field changes. No I/O.

The desk is the engine's keeper of the control room's documents
(:mod:`oms.switching`). Its events (``order_*``, ``safety_*``,
``planned_*``) arrive through the same intakes as every other event, are
admitted by the same authority table, and are applied here inside the
engine's batch:

- a step of an issued order is checked (sequence, performer, a planned
  outage's window, the interlocks of :mod:`oms.switching.interlocks`) and
  then carried out:
  ``open``/``close`` operate the device as commanded switching, tags,
  grounds, jumpers and cuts change the field book and, for jumpers and
  cuts, the network as operated;
- a plain ``switch`` meets the same interlocks (:func:`guard`);
- a safety document is issued only when every point is in its listed
  state with its tag and ground; while issued its devices do not operate;
- a planned outage is risk-checked when requested, approved by someone
  else, announced ``notice_days`` ahead and at its start and end, and its
  order's interruption is recorded as ``planned``.

Every handler checks everything first and changes nothing when it refuses
(:class:`~oms.exceptions.ActionError`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from oms.exceptions import ActionError, EventError, NotFound
from oms.intake.events import DESK_TYPES, Event, iso, parse_time
from oms.switching.documents import (
    CONTROL,
    DOCUMENT_KINDS,
    ORDER_KINDS,
    SafetyDocument,
    Signature,
    Step,
    SwitchingOrder,
    device_error,
    parse_points,
    parse_steps,
)
from oms.switching.field import ACTION_CHANGE, FieldBook, FieldChange
from oms.switching.interlocks import Finding, Situation, check
from oms.switching.planned import PlannedOutage, notices_due, risk
from oms.switching.restoration import outage_plan_steps
from oms.switching.study import Study, run_study, validity

if TYPE_CHECKING:
    from oms.engine.core import EngineCore

__all__ = [
    "DESK_COUNTERS",
    "DESK_TYPES",
    "FINISHED",
    "DocumentNotFound",
    "StoredDesk",
    "SwitchingDesk",
    "desk_kind",
    "guard",
    "outage_steps",
    "parse_order_steps",
    "planned_notices",
    "situation",
    "study",
]


_PREFIX = {"order": "SO", "safety": "SD", "planned": "PO", "field": "FC"}
#: The desk's id counters (engine_state ``next_<name>``).
DESK_COUNTERS = tuple(_PREFIX)
#: Document states after which a document leaves the desk's memory.
FINISHED = ("completed", "cancelled", "released", "rejected")


def desk_kind(document_id: str) -> str:
    """``order``, ``safety`` or ``planned``, from a document's id."""
    return {"SO": "order", "SD": "safety", "PO": "planned"}[document_id[:2]]


class DocumentNotFound(NotFound):
    """No switching order, safety document or planned outage with that id."""


@dataclass
class StoredDesk:
    """What the repository read back for the desk."""

    orders: list[SwitchingOrder] = field(default_factory=list)
    documents: list[SafetyDocument] = field(default_factory=list)
    planned: list[PlannedOutage] = field(default_factory=list)
    temporary: list[FieldChange] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


class SwitchingDesk:
    """The documents not finished, and the field changes in place, of one database."""

    def __init__(self, stored: StoredDesk) -> None:
        self.orders = {o.id: o for o in stored.orders}
        self.documents = {d.id: d for d in stored.documents}
        self.planned = {p.id: p for p in stored.planned}
        self.temporary = FieldBook(stored.temporary)
        self.counters = {k: stored.counters.get(k, 1) for k in _PREFIX}
        self.begin()

    def begin(self) -> None:
        """Start a batch: what it changes is collected for the repository."""
        #: Document ids changed in the batch (orders, safety documents, planned).
        self.dirty: set[str] = set()
        #: Field changes placed or removed in the batch.
        self.temporary_dirty: dict[str, FieldChange] = {}

    def settle(self) -> None:
        """After the batch was written: finished documents leave memory."""
        for book in (self.orders, self.documents, self.planned):
            for key in [k for k, d in book.items() if d.finished]:
                del book[key]
        self.dirty.clear()
        self.temporary_dirty.clear()

    def new_id(self, what: str) -> str:
        n = self.counters[what]
        self.counters[what] = n + 1
        return f"{_PREFIX[what]}-{n:06d}"

    def all(self) -> Iterable[SwitchingOrder | SafetyDocument | PlannedOutage]:
        yield from self.orders.values()
        yield from self.documents.values()
        yield from self.planned.values()

    def get_order(self, oid: Any) -> SwitchingOrder:
        o = self.orders.get(oid) if isinstance(oid, str) else None
        if o is None:
            raise DocumentNotFound(f"no open switching order {oid!r}")
        return o

    def get_document(self, did: Any) -> SafetyDocument:
        d = self.documents.get(did) if isinstance(did, str) else None
        if d is None:
            raise DocumentNotFound(f"no open safety document {did!r}")
        return d

    def get_planned(self, pid: Any) -> PlannedOutage:
        p = self.planned.get(pid) if isinstance(pid, str) else None
        if p is None:
            raise DocumentNotFound(f"no open planned outage {pid!r}")
        return p

    def confirmed_by_scada(self, core: EngineCore, event: Event) -> bool:
        """Whether a SCADA report is the next step of an issued order, the control
        room's, on that device into that state: then it is that step, done (a
        commanded operation, never a trip)."""
        device = core.net.edge_ids[event.device]
        action = "close" if event.payload["state"] == "closed" else "open"
        for order in self.orders.values():
            step = order.next_step() if order.active else None
            if step is None or step.performer != CONTROL:
                continue
            if (step.device, step.action) != (device, action):
                continue
            if bool(core.device_closed[event.device]) == (action == "close"):
                continue  # already so: nothing to confirm
            t = event.time
            core.operate(
                device,
                event.payload["state"],
                t,
                f"{order.id}/{step.seq} scada",
                event.id,
                order.planned,
            )
            _step_done(self, order, step, t, "scada", "system")
            return True
        return False

    def issued_documents(self) -> list[SafetyDocument]:
        return [d for d in self.documents.values() if d.active]

    # ------------------------------------------------------------ applying
    def apply(self, core: EngineCore, event: Event) -> None:
        """Apply one desk event.

        Raises
        ------
        ActionError, DocumentNotFound
            Nothing changed.
        """
        handler = _HANDLERS[event.type]
        handler(self, core, event)

    def feed(self, now: datetime) -> list[dict[str, Any]]:
        """Live-stream rows for what the batch changed."""
        rows = []
        for d in self.all():
            if d.id in self.dirty:
                rows.append(
                    {"time": now, "kind": desk_kind(d.id), "ref": d.id, "data": d.to_dict()}
                )
        for c in self.temporary_dirty.values():
            rows.append({"time": now, "kind": "field", "ref": c.id, "data": c.to_dict()})
        return rows


# ---------------------------------------------------------------- the situation
def situation(core: EngineCore) -> Situation:
    """The network as operated now (tripped devices open) and what guards it. O(n + m)."""
    desk = core.desk
    net = core.net
    state = net.edge_closed.copy()
    tripped = list(core.devices.tripped)
    state[tripped] = False
    view = net.with_states(state)
    devices = core.device_closed.copy()
    devices[tripped] = False
    faulted = np.zeros(net.n_nodes, dtype=bool)
    repaired = core.book.repaired_outages() if core.book is not None else set()
    tree = core.tree
    for o in core.outages.active("network"):
        e = net.edge_index.get(o.device or "")
        if e is None or o.id in repaired:
            continue
        faulted[tree.supply.downstream_nodes(e)] = True
    return Situation(view, devices, desk.temporary, desk.issued_documents(), faulted)


def _refuse(findings: list[Finding], acknowledged: Iterable[str]) -> None:
    """Raise when a finding refuses, or warns and was not acknowledged."""
    refusals = [f.message for f in findings if f.level == "refuse"]
    if refusals:
        raise ActionError("; ".join(refusals))
    ack = set(acknowledged)
    pending = [f for f in findings if f.level == "warn" and f.rule not in ack]
    if pending:
        names = ", ".join(sorted({f.rule for f in pending}))
        raise ActionError("; ".join(f.message for f in pending) + f" (acknowledge: {names})")


def _acknowledged(event: Event) -> list[str]:
    raw = event.payload.get("acknowledge") or []
    return [a for a in raw if isinstance(a, str)] if isinstance(raw, list) else []


def guard(core: EngineCore, event: Event) -> None:
    """The interlocks of a commanded ``switch`` (refused, or warnings not acknowledged).

    Raises
    ------
    ActionError
        Naming every rule broken.
    """
    device = core.net.edge_ids[event.device]
    action = "close" if event.payload["state"] == "closed" else "open"
    sit = situation(core)
    if bool(sit.device_closed[event.device]) == (action == "close"):
        return  # the no-op refusal names it
    crew = event.payload.get("crew")
    _, findings = check(sit, action, device, by_crew=crew, levels=core.config.switching.levels)
    _refuse(findings, _acknowledged(event))


# ------------------------------------------------------------------- orders
def _user(event: Event) -> tuple[str, str]:
    p = event.payload
    return str(p.get("user") or "system"), str(p.get("role") or "system")


def parse_order_steps(core: EngineCore, raw: Any) -> list[Step]:
    """Steps parsed, each fitting its device (operate and tag switching devices, cut
    conductors)."""
    steps = parse_steps(raw, *_known(core), _edges_at_node(core))
    net = core.net
    for s in steps:
        e = net.edge_index[s.device]
        what = net.kind_of(e)
        if s.action in ("open", "close", "place_tag", "remove_tag") and not net.is_operable(e):
            verb = "tags go on" if "tag" in s.action else "only"
            raise ActionError(
                f"step {s.seq}: {s.device} is a {what}: {verb} switching devices"
                + (" operate" if verb == "only" else "")
            )
        if s.action in ("cut", "remove_cut") and what not in ("line", "cable"):
            raise ActionError(
                f"step {s.seq}: {s.device} is a {what}: cuts are made in conductors (line, cable)"
            )
    return steps


def _known(core: EngineCore) -> tuple[Any, Any]:
    net, crews = core.net, core.directory
    return (lambda d: d in net.edge_index), (lambda c: c in crews.crews)


def _edges_at_node(core: EngineCore) -> Any:
    """``id -> the ids of the edges at node id``, None when no node has that id
    (to name a node given as a device)."""
    net = core.net

    def edges(node: str) -> list[str] | None:
        v = net.node_index.get(node)
        return None if v is None else sorted(net.edge_ids[int(e)] for e in net.edges_at(v))

    return edges


def _template(desk: SwitchingDesk, tid: Any) -> SwitchingOrder:
    """The open template order ``tid``.

    Raises
    ------
    ActionError
        ``tid`` is an order of another kind, or finished (the desk keeps
        open documents only: completed or cancelled).
    DocumentNotFound
        No order ever had that id.
    """
    source = desk.orders.get(tid) if isinstance(tid, str) else None
    if source is None:
        number = tid[3:] if isinstance(tid, str) and tid.startswith("SO-") else ""
        if number.isdigit() and 0 < int(number) < desk.counters["order"]:
            raise ActionError(f"{tid} is finished (completed or cancelled), not a template to copy")
        raise DocumentNotFound(f"no switching order {tid!r}")
    if source.kind != "template":
        state = source.state.replace("_", " ")
        article = "an" if source.kind[0] in "aeiou" else "a"
        raise ActionError(f"{tid} is not a template: it is {article} {source.kind} order, {state}")
    return source


#: What an ``order_create`` takes its steps from, other than an outage's plan.
_STEP_SOURCES = ("steps", "template", "planned")


def _create(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    p, t = event.payload, event.time
    user, role = _user(event)
    outage = p.get("outage")
    # An outage's order without steps is drafted from its plan (as POST
    # /api/outages/<id>/order drafts it): kind outage, titled after it.
    drafted = isinstance(outage, str) and all(p.get(k) is None for k in _STEP_SOURCES)
    from_plan = outage if drafted else None
    kind = p.get("kind", "planned" if from_plan is None else "outage")
    if kind not in ORDER_KINDS:
        raise ActionError(f"kind must be one of {', '.join(ORDER_KINDS)}")
    title = p.get("title")
    if title is None and from_plan is not None:
        o = core.outages.get(from_plan)  # OutageNotFound names it
        title = f"Isolate and restore around {from_plan} ({o.device})"
    if not isinstance(title, str) or not title.strip():
        raise ActionError("an order needs a title")
    template = p.get("template")
    if template is not None:
        source = _template(desk, template)
        steps = [
            Step(s.seq, s.action, s.device, s.performer, s.tag, s.document, s.note)
            for s in source.steps
        ]
    elif p.get("steps") is None and p.get("planned") is not None:
        steps = planned_steps(desk.get_planned(p["planned"]))
    elif from_plan is not None:
        steps = parse_order_steps(core, outage_steps(core, from_plan))
    else:
        steps = parse_order_steps(core, p.get("steps"))
    if outage is not None:
        core.outages.get(outage)  # OutageNotFound names it
    planned = p.get("planned")
    if planned is not None:
        po = desk.get_planned(planned)
        if po.order is not None and po.order in desk.orders:
            raise ActionError(f"{planned} already has order {po.order}")
    order = SwitchingOrder(
        desk.new_id("order"),
        kind,
        title.strip(),
        steps,
        user,
        t,
        outage=outage,
        planned=planned,
        template=template,
        source_event=event.id,
    )
    order.signatures.append(Signature("draft", user, role, t))
    desk.orders[order.id] = order
    desk.dirty.add(order.id)
    if planned is not None:
        desk.planned[planned].order = order.id
        desk.dirty.add(planned)


def outage_steps(core: EngineCore, outage_id: str) -> list[dict[str, Any]]:
    """The steps of the isolation and restoration plan for an outage, on the
    network as operated now (:func:`oms.switching.restoration.outage_plan_steps`).

    Raises
    ------
    OutageNotFound, ActionError
        No such outage; a single customer's, or no plan (the reason).
    """
    o = core.outages.get(outage_id)
    tripped = sorted(core.net.edge_ids[e] for e in core.devices.tripped)
    return outage_plan_steps(situation(core).net, outage_id, o.section, o.device, tripped)


def planned_steps(po: PlannedOutage) -> list[Step]:
    """The order a planned outage needs: open and tag its devices, close its
    ties; then, the work done, open the ties, untag and close the devices
    (the control room's steps; the dispatcher hands some to crews by editing).
    Break before make: a tie closes after the devices open, so no two feeders
    are paralleled."""
    actions = [("open", d) for d in po.devices]
    actions += [("place_tag", d) for d in po.devices]
    actions += [("close", d) for d in po.ties]
    actions += [("open", d) for d in po.ties]
    actions += [("remove_tag", d) for d in po.devices]
    actions += [("close", d) for d in po.devices]
    return [
        Step(n, action, device, tag="clearance" if action == "place_tag" else None)
        for n, (action, device) in enumerate(actions, start=1)
    ]


def _edit(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    order = desk.get_order(event.payload.get("order"))
    user, role = _user(event)
    steps = parse_order_steps(core, event.payload.get("steps"))
    title = event.payload.get("title")
    order.edit(steps, title if isinstance(title, str) else None, user, role, event.time)
    desk.dirty.add(order.id)


def study(core: EngineCore, steps: list[Step], listed_critical: Iterable[str] = ()) -> Study:
    """A study of ``steps`` on the network as operated now (nothing changes)."""
    at = core.clock or datetime.fromtimestamp(0, tz=timezone.utc)
    return run_study(
        situation(core),
        steps,
        at,
        listed_critical=listed_critical,
        levels=core.config.switching.levels,
    )


def _check(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    order = desk.get_order(event.payload.get("order"))
    user, role = _user(event)
    result = study(core, order.steps, order.critical_listed)
    # A safety document issued now is released before the order runs (the
    # crew's work ends first): the step is refused then, not the order now.
    blocking = [(n, f) for n, f in result.refusals if f.rule != "safety_document"]
    if blocking:
        listed = "; ".join(f"step {n}: {f.message}" for n, f in blocking)
        raise ActionError(f"{order.id} does not pass its study: {listed}")
    order.sign("checked", user, role, event.time, event.payload.get("note"))
    order.study = result.summary()
    order.critical_listed = result.critical_interrupted
    desk.dirty.add(order.id)


def _sign(to: str) -> Any:
    def handler(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
        order = desk.get_order(event.payload.get("order"))
        user, role = _user(event)
        if to == "issued":
            for s in order.steps:
                if s.performer != CONTROL and s.performer not in core.directory.crews:
                    raise ActionError(f"step {s.seq}: crew {s.performer} no longer exists")
        order.sign(
            to, user, role, event.time, event.payload.get("reason") or event.payload.get("note")
        )
        desk.dirty.add(order.id)

    return handler


def _step(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    p, t = event.payload, event.time
    order = desk.get_order(p.get("order"))
    seq = p.get("step")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ActionError("step must be the step's number")
    step = order.step(seq)
    user, role = _user(event)
    crew = p.get("crew") if role == "crew" else None
    if not order.active:
        raise ActionError(
            f"{order.id} is {order.state.replace('_', ' ')}; only issued orders are carried out"
        )
    if step.done:
        raise ActionError(
            f"step {seq} of {order.id} was done at {iso(step.done_at)} by {step.done_by}"
        )
    if role == "crew" and step.performer != crew:
        # A crew sees its own steps only; another crew's step does not exist for it.
        raise DocumentNotFound(f"no step {seq} of {order.id} for crew {crew}")
    if p.get("skip") is True:
        _skip(desk, order, step, event)
        return
    levels = core.config.switching.levels
    findings: list[Finding] = []
    first = order.next_step()
    if first is not None and first.seq != seq and levels["sequence"] != "off":
        findings.append(
            Finding(
                "sequence",
                levels["sequence"],
                f"step {first.seq} of {order.id} comes before step {seq}",
            )
        )
    outside = _outside_window(desk, order, seq, t)
    if outside is not None and levels["window"] != "off":
        findings.append(Finding("window", levels["window"], outside))
    sit = situation(core)
    why = validity(sit, step)
    if why is not None:
        raise ActionError(f"step {seq} of {order.id}: {why}")
    performer = None if step.performer == CONTROL else step.performer
    _, more = check(
        sit,
        step.action,
        step.device,
        by_crew=performer,
        listed_critical=order.critical_listed,
        levels=levels,
    )
    _refuse(findings + more, _acknowledged(event))
    # Carried out.
    actor = f"{order.id}/{seq} {user}"
    planned = order.planned
    if step.action in ("open", "close"):
        core.operate(
            step.device, "closed" if step.action == "close" else "open", t, actor, event.id, planned
        )
    else:
        kind, placing = ACTION_CHANGE[step.action]
        if placing:
            change = FieldChange(
                desk.new_id("field"),
                kind,
                step.device,
                t,
                user,
                step.tag,
                step.document,
                order.id,
                seq,
            )
            desk.temporary.place(change)
        else:
            found = desk.temporary.check(core.net, step.action, step.device, step.document)
            assert found is not None
            desk.temporary.remove(found, t, user)
            change = found
        desk.temporary_dirty[change.id] = change
        if kind in ("jumper", "cut"):
            core.field_changed(step.device, t, actor, planned, opening=placing == (kind == "cut"))
    step.acknowledged = _acknowledged(event)
    for key in ("lon", "lat"):
        value = p.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            setattr(step, key, float(value))
    if isinstance(p.get("note"), str) and p["note"].strip():
        # The report's note goes after the one the order was written with.
        step.note = f"{step.note} / {user}: {p['note']}" if step.note else p["note"]
    _step_done(desk, order, step, t, user, role)


def _outside_window(
    desk: SwitchingDesk, order: SwitchingOrder, seq: int, t: datetime
) -> str | None:
    """Why step ``seq`` of ``order`` done at ``t`` is outside the window its
    planned outage announced to the customers, or None (inside, or no planned outage)."""
    po = desk.planned.get(order.planned or "")
    if po is None or po.start <= t <= po.end:
        return None
    when = "before its start" if t < po.start else "after its end"
    return (
        f"step {seq} of {order.id} at {iso(t)} is {when}: {po.id}'s window, announced to "
        f"its customers, is {iso(po.start)} to {iso(po.end)}"
    )


def _skip(desk: SwitchingDesk, order: SwitchingOrder, step: Step, event: Event) -> None:
    """The control room passes over a step (the device already so, the step no
    longer wanted), with the reason: recorded, nothing operated."""
    user, role = _user(event)
    reason = event.payload.get("reason") or event.payload.get("note")
    if role == "crew":
        raise ActionError("the control room passes over a step, not a crew")
    if not isinstance(reason, str) or not reason.strip():
        raise ActionError(f"passing over step {step.seq} of {order.id} needs its reason")
    first = order.next_step()
    if first is not None and first.seq != step.seq:
        raise ActionError(f"step {first.seq} of {order.id} comes before step {step.seq}")
    step.skipped, step.note = True, reason.strip()
    _step_done(desk, order, step, event.time, user, role)


def _step_done(
    desk: SwitchingDesk, order: SwitchingOrder, step: Step, t: datetime, user: str, role: str
) -> None:
    """``step`` was carried out: the order (and its planned outage) move on."""
    step.done_at, step.done_by = t, user
    if order.state == "issued":
        order.sign("in_progress", user, role, t)
    if order.next_step() is None:
        order.sign("completed", user, role, t)
    desk.dirty.add(order.id)
    po = desk.planned.get(order.planned or "")
    if po is not None:
        if po.state == "approved" and step.action in ("open", "cut"):
            po.actual_start = t
            po.sign("in_progress", user, role, t)
        if order.state == "completed" and po.state == "in_progress":
            po.actual_end = t
            po.sign("completed", user, role, t)
        desk.dirty.add(po.id)


# ---------------------------------------------------------- safety documents
def _safety_create(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    p, t = event.payload, event.time
    user, role = _user(event)
    kind = p.get("kind", "clearance")
    if kind not in DOCUMENT_KINDS:
        raise ActionError(f"kind must be one of {', '.join(DOCUMENT_KINDS)}")
    crew = p.get("crew")
    if not isinstance(crew, str) or crew not in core.directory.crews:
        raise ActionError(f"a {kind} is issued to a crew: unknown crew {crew!r}")
    points = parse_points(p.get("points"), _known(core)[0], _edges_at_node(core))
    order = p.get("order")
    if order is not None:
        desk.get_order(order)
    work = p.get("work") or ""
    if not isinstance(work, str):
        raise ActionError("work must be a string")
    doc = SafetyDocument(
        desk.new_id("safety"), kind, crew, points, user, t, work, order, source_event=event.id
    )
    doc.signatures.append(Signature("draft", user, role, t))
    desk.documents[doc.id] = doc
    desk.dirty.add(doc.id)


def unmet_points(core: EngineCore, doc: SafetyDocument) -> list[str]:
    """Why each point of ``doc`` is not in its listed state (empty when all are)."""
    sit = situation(core)
    net, desk = core.net, core.desk
    unmet = []
    for n, point in enumerate(doc.points, start=1):
        e = net.edge_index[point.device]
        closed = bool(sit.device_closed[e]) or point.device in desk.temporary.devices("jumper")
        if closed != (point.state == "closed"):
            unmet.append(
                f"point {n}: {point.device} is {'closed' if closed else 'open'}, not {point.state}"
            )
        if point.tag and doc.kind != "delegated":
            tags = [
                c
                for c in desk.temporary.on(point.device, "tag")
                if c.tag == doc.kind and c.document in (None, doc.id)
            ]
            if not tags:
                unmet.append(f"point {n}: {point.device} has no {doc.kind} tag")
        if point.ground and not desk.temporary.on(point.device, "ground"):
            unmet.append(f"point {n}: {point.device} is not grounded")
    return unmet


def _safety_issue(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    doc = desk.get_document(event.payload.get("document"))
    user, role = _user(event)
    if doc.state == "draft":
        unmet = unmet_points(core, doc)
        if unmet:
            raise ActionError(f"{doc.id} cannot be issued: " + "; ".join(unmet))
        others = [
            d for d in desk.issued_documents() if d.kind == "delegated" and d.devices & doc.devices
        ]
        if doc.kind == "delegated" and others:
            raise ActionError(f"{doc.id}: its section is already delegated under {others[0].id}")
    doc.sign("issued", user, role, event.time, event.payload.get("note"))
    desk.dirty.add(doc.id)


def _safety_release(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    doc = desk.get_document(event.payload.get("document"))
    user, role = _user(event)
    if role == "crew" and event.payload.get("crew") != doc.crew:
        raise DocumentNotFound(
            f"no open safety document {doc.id!r} for crew {event.payload.get('crew')}"
        )
    doc.sign("released", user, role, event.time, event.payload.get("note"))
    desk.dirty.add(doc.id)


def _safety_cancel(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    doc = desk.get_document(event.payload.get("document"))
    user, role = _user(event)
    doc.sign("cancelled", user, role, event.time, event.payload.get("reason"))
    desk.dirty.add(doc.id)


# ---------------------------------------------------------- planned outages
def _open_outages(core: EngineCore) -> list[tuple[str, np.ndarray]]:
    """Each open outage with a device (faults, switching, planned): the nodes
    it cuts off in the normal state."""
    out = []
    supply = core.normal_supply
    for o in core.outages.active():
        e = core.net.edge_index.get(o.device or "")
        if e is not None:
            mask = np.zeros(core.net.n_nodes, dtype=bool)
            mask[supply.downstream_nodes(e)] = True
            out.append((o.id, mask))
    return out


def _planned_request(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
    p, t = event.payload, event.time
    user, _role = _user(event)
    known_device, known_crew = _known(core)
    texts = {}
    for name in ("applicant", "reason"):
        value = p.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ActionError(f"a planned outage needs its {name}")
        texts[name] = value.strip()
    lists: dict[str, list[str]] = {}
    for name, known, required in (
        ("devices", known_device, True),
        ("ties", known_device, False),
        ("crews", known_crew, False),
    ):
        raw = p.get(name) or []
        if not isinstance(raw, list) or (required and not raw):
            raise ActionError(f"{name} must be a {'non-empty ' if required else ''}list")
        for item in raw:
            if name != "crews" and isinstance(item, str) and not known(item):
                raise device_error(name, item, _edges_at_node(core))  # a node named so
            if not isinstance(item, str) or not known(item):
                raise ActionError(f"{name}: unknown {name[:-1]} {item!r}")
        lists[name] = list(raw)
    for d in lists["devices"] + lists["ties"]:
        if not core.net.is_operable(core.net.edge_index[d]):
            raise ActionError(
                f"{d} is a {core.device_kind(d)}: a planned outage opens switching devices"
            )
    try:
        start, end = parse_time(p.get("start"), "start"), parse_time(p.get("end"), "end")
    except EventError as exc:  # named like every refusal of the desk: this line only
        raise ActionError(str(exc)) from None
    if end <= start:
        raise ActionError("end must be after start")
    notice = p.get("notice_days", core.config.switching.notice_days)
    if not isinstance(notice, int | float) or isinstance(notice, bool) or not 0 <= notice <= 365:
        raise ActionError("notice_days must be a number of days, 0-365")
    po = PlannedOutage(
        desk.new_id("planned"),
        texts["applicant"],
        texts["reason"],
        lists["devices"],
        start,
        end,
        user,
        t,
        crews=lists["crews"],
        ties=lists["ties"],
        notice_days=float(notice),
        source_event=event.id,
    )
    po.risk = risk(core.net.normal(), po, desk.planned.values(), _open_outages(core))
    po.signatures.append(Signature("requested", user, _role, t))
    desk.planned[po.id] = po
    desk.dirty.add(po.id)


def _planned_sign(to: str) -> Any:
    def handler(desk: SwitchingDesk, core: EngineCore, event: Event) -> None:
        po = desk.get_planned(event.payload.get("planned"))
        user, role = _user(event)
        if to == "approved":
            po.risk = risk(core.net.normal(), po, desk.planned.values(), _open_outages(core))
        if (
            to == "cancelled"
            and po.order in desk.orders
            and desk.orders[po.order].state == "in_progress"
        ):
            raise ActionError(
                f"{po.id} is being carried out by {po.order}; finish or cancel the order first"
            )
        po.sign(
            to, user, role, event.time, event.payload.get("reason") or event.payload.get("note")
        )
        desk.dirty.add(po.id)

    return handler


def planned_notices(core: EngineCore, now: datetime) -> None:
    """Queue the planned outages' notices that fell due (advance, start, end, cancelled)."""
    desk, book = core.desk, core.book
    outbox = book.outbox if book is not None else None
    for po in list(desk.planned.values()):
        for kind in notices_due(po, now):
            if outbox is not None:
                outbox.queue_planned(kind, po.id, po.customers, now, po.start, po.end)
            po.notices[kind] = now
            desk.dirty.add(po.id)


_HANDLERS = {
    "order_create": _create,
    "order_edit": _edit,
    "order_check": _check,
    "order_approve": _sign("approved"),
    "order_issue": _sign("issued"),
    "order_cancel": _sign("cancelled"),
    "order_step": _step,
    "safety_create": _safety_create,
    "safety_issue": _safety_issue,
    "safety_release": _safety_release,
    "safety_cancel": _safety_cancel,
    "planned_request": _planned_request,
    "planned_approve": _planned_sign("approved"),
    "planned_reject": _planned_sign("rejected"),
    "planned_cancel": _planned_sign("cancelled"),
}
