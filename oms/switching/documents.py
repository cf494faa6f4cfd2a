"""Switching orders and safety documents: numbered steps, states, signatures. No I/O.

A **switching order** is a document of numbered steps, each a device and an
action carried out by the control room (``control``: by SCADA or by the
dispatcher's hand) or by a named crew in the field. It moves through

::

    draft -> checked -> approved -> issued -> in_progress -> completed
      ^         |                                   (any but completed)
      +--edit---+                                        -> cancelled

and every change of state is a :class:`Signature`: who, in which role, when.
The one who wrote an order (its creator and every editor) does not approve
it (the two-person rule, :attr:`SwitchingOrder.writers`). A ``template``
order is never issued: it is copied into new drafts.

A **safety document** (clearance, hold, delegated control) lists isolation
points, each a device in a required state, with the tag and ground that
must be on it. It is ``draft`` until issued to a crew, ``issued`` while the
crew works under it, then ``released`` by the crew (or ``cancelled``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from oms.exceptions import ActionError
from oms.intake.events import iso, parse_time

__all__ = [
    "CONTROL",
    "DOCUMENT_KINDS",
    "ORDER_KINDS",
    "ORDER_STATES",
    "SAFETY_STATES",
    "STEP_ACTIONS",
    "TAG_KINDS",
    "Point",
    "SafetyDocument",
    "Signature",
    "Step",
    "SwitchingOrder",
    "device_error",
    "parse_points",
    "parse_steps",
]

#: The performer of a step carried out by the control room.
CONTROL = "control"

ORDER_KINDS = ("planned", "emergency", "outage", "template")
ORDER_STATES = ("draft", "checked", "approved", "issued", "in_progress", "completed", "cancelled")
#: What a step does to its device (or conductor, for jumpers and cuts).
STEP_ACTIONS = (
    "open",
    "close",
    "place_tag",
    "remove_tag",
    "apply_ground",
    "remove_ground",
    "place_jumper",
    "remove_jumper",
    "cut",
    "remove_cut",
)
#: Safety document kinds; a tag placed for a document is of the document's kind.
DOCUMENT_KINDS = ("clearance", "hold", "delegated")
TAG_KINDS = (*DOCUMENT_KINDS, "caution")
SAFETY_STATES = ("draft", "issued", "released", "cancelled")

#: Order state -> the states a signature may take it to.
_NEXT = {
    "draft": ("checked", "cancelled"),
    "checked": ("draft", "approved", "cancelled"),
    "approved": ("issued", "cancelled"),
    "issued": ("in_progress", "completed", "cancelled"),
    "in_progress": ("completed", "cancelled"),
}


@dataclass
class Signature:
    """One change of a document's state: who made it, in which role, when."""

    state: str
    user: str
    role: str
    at: datetime
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at": iso(self.at)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Signature:
        return cls(d["state"], d["user"], d["role"], parse_time(d["at"]), d.get("note"))


@dataclass
class Step:
    """One numbered step of a switching order.

    Attributes
    ----------
    seq : int
        Its number, from 1, in the order it is carried out.
    action : str
        One of :data:`STEP_ACTIONS`.
    device : str
        The device operated or tagged, the conductor cut or jumpered across,
        the section grounded (an edge id).
    performer : str
        :data:`CONTROL` or a crew id.
    tag : str or None
        For ``place_tag``: the tag's kind (:data:`TAG_KINDS`).
    document : str or None
        The safety document a tag or ground is placed for.
    done_at, done_by, lon, lat :
        When it was reported done, by whom, and where (a crew's position).
    acknowledged : list of str
        The warnings the operator acknowledged to carry it out.
    skipped : bool
        Passed over by the control room (its ``note`` says why): done, and
        nothing operated.
    """

    seq: int
    action: str
    device: str
    performer: str = CONTROL
    tag: str | None = None
    document: str | None = None
    note: str | None = None
    done_at: datetime | None = None
    done_by: str | None = None
    lon: float | None = None
    lat: float | None = None
    acknowledged: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "done_at": iso(self.done_at), "done": self.done}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        fields = {k: v for k, v in d.items() if k in _STEP_FIELDS}
        fields["done_at"] = parse_time(d["done_at"]) if d.get("done_at") else None
        fields["acknowledged"] = list(d.get("acknowledged") or [])
        return cls(**fields)


_STEP_FIELDS = frozenset(Step.__dataclass_fields__)


def device_error(where: str, device: Any, edges_at_node: Any = None) -> ActionError:
    """The refusal of ``device``, which names no device, in ``where`` ("step 2").

    ``edges_at_node(id)`` gives the edges at node ``id`` (None when no node
    has that id): a node's id is named as such, with the edges at it.
    """
    if device is None:
        return ActionError(f"{where} has no device (give 'device': the id of the edge it acts on)")
    if not isinstance(device, str):
        return ActionError(f"{where}: device must be an edge id (a string), not {device!r}")
    edges = edges_at_node(device) if edges_at_node is not None else None
    if edges is not None:
        shown = ", ".join(edges[:6]) + (f" and {len(edges) - 6} more" if len(edges) > 6 else "")
        at = f" (the edges at it: {shown})" if edges else ""
        return ActionError(f"{where}: {device} is a node, not a device: name an edge{at}")
    return ActionError(f"{where}: unknown device {device!r}")


def parse_steps(
    raw: Any, known_device: Any, known_crew: Any, edges_at_node: Any = None
) -> list[Step]:
    """Steps from an event's ``steps`` list, numbered in order.

    ``known_device(id)`` and ``known_crew(id)`` say whether an id exists;
    ``edges_at_node`` names a node given as a device (:func:`device_error`).

    Raises
    ------
    ActionError
        Naming the step (from 1) and the field that is wrong.
    """
    if not isinstance(raw, list) or not raw:
        raise ActionError("steps must be a non-empty list")
    if len(raw) > 500:
        raise ActionError("an order has at most 500 steps")
    steps = []
    for n, item in enumerate(raw, start=1):
        where = f"step {n}"
        if not isinstance(item, dict):
            raise ActionError(f"{where}: a step is an object with 'action' and 'device'")
        action = item.get("action")
        if action not in STEP_ACTIONS:
            raise ActionError(f"{where}: action must be one of {', '.join(STEP_ACTIONS)}")
        device = item.get("device")
        if not isinstance(device, str) or not known_device(device):
            raise device_error(where, device, edges_at_node)
        performer = item.get("performer") or CONTROL
        if performer != CONTROL and (not isinstance(performer, str) or not known_crew(performer)):
            raise ActionError(
                f"{where}: performer must be 'control' or a crew id, not {performer!r}"
            )
        tag = item.get("tag")
        if action == "place_tag":
            tag = tag or "clearance"
            if tag not in TAG_KINDS:
                raise ActionError(f"{where}: tag must be one of {', '.join(TAG_KINDS)}")
        elif tag is not None:
            raise ActionError(f"{where}: only place_tag takes a tag kind")
        document, note = item.get("document"), item.get("note")
        for name, value in (("document", document), ("note", note)):
            if value is not None and not isinstance(value, str):
                raise ActionError(f"{where}: {name} must be a string")
        steps.append(Step(n, action, device, performer, tag, document, note))
    return steps


@dataclass
class SwitchingOrder:
    """A switching order: its steps, its state and who signed each change."""

    id: str
    kind: str
    title: str
    steps: list[Step]
    created_by: str
    created_at: datetime
    state: str = "draft"
    outage: str | None = None
    planned: str | None = None
    template: str | None = None
    source_event: str | None = None
    signatures: list[Signature] = field(default_factory=list)
    #: Editors after the creator: writers too, for the two-person rule.
    editors: list[str] = field(default_factory=list)
    #: Critical customers the order was checked to interrupt (its study).
    critical_listed: list[str] = field(default_factory=list)
    #: The study's summary when the order was checked.
    study: dict[str, Any] | None = None

    @property
    def writers(self) -> set[str]:
        return {self.created_by, *self.editors}

    @property
    def active(self) -> bool:
        return self.state in ("issued", "in_progress")

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "cancelled")

    def next_step(self) -> Step | None:
        """The first step not done, or None when every step is done."""
        return next((s for s in self.steps if not s.done), None)

    def step(self, seq: int) -> Step:
        if not 1 <= seq <= len(self.steps):
            raise ActionError(f"{self.id} has no step {seq} (it has {len(self.steps)})")
        return self.steps[seq - 1]

    def sign(self, to: str, user: str, role: str, at: datetime, note: str | None = None) -> None:
        """Move to state ``to``, signed.

        Raises
        ------
        ActionError
            ``to`` does not follow the present state, a template is issued,
            or a writer approves.
        """
        if to not in _NEXT.get(self.state, ()):
            raise ActionError(f"{self.id} is {self.state.replace('_', ' ')}; it cannot become {to}")
        if self.kind == "template" and to in ("issued", "in_progress", "completed"):
            raise ActionError(f"{self.id} is a template: copy it into an order to issue it")
        if to == "approved" and user in self.writers:
            raise ActionError(
                f"{user} wrote {self.id}; another person approves it (two-person rule)"
            )
        self.state = to
        self.signatures.append(Signature(to, user, role, at, note))

    def edit(
        self, steps: list[Step], title: str | None, user: str, role: str, at: datetime
    ) -> None:
        """Replace the steps of a draft or checked order (a checked one goes back to draft)."""
        if self.state not in ("draft", "checked"):
            raise ActionError(
                f"{self.id} is {self.state.replace('_', ' ')}; only drafts are edited"
            )
        if self.state == "checked":
            self.signatures.append(Signature("draft", user, role, at, "edited"))
            self.state, self.study, self.critical_listed = "draft", None, []
        self.steps = steps
        if title:
            self.title = title
        if user != self.created_by and user not in self.editors:
            self.editors.append(user)

    def to_dict(self) -> dict[str, Any]:
        nxt = self.next_step()
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "state": self.state,
            "outage": self.outage,
            "planned": self.planned,
            "template": self.template,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "editors": list(self.editors),
            "source_event": self.source_event,
            "steps": [s.to_dict() for s in self.steps],
            "next_step": nxt.seq if nxt is not None and self.active else None,
            "signatures": [s.to_dict() for s in self.signatures],
            "critical_listed": list(self.critical_listed),
            "study": self.study,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SwitchingOrder:
        return cls(
            id=d["id"],
            kind=d["kind"],
            title=d["title"],
            steps=[Step.from_dict(s) for s in d["steps"]],
            created_by=d["created_by"],
            created_at=parse_time(d["created_at"]),
            state=d["state"],
            outage=d.get("outage"),
            planned=d.get("planned"),
            template=d.get("template"),
            source_event=d.get("source_event"),
            signatures=[Signature.from_dict(s) for s in d.get("signatures", [])],
            editors=list(d.get("editors") or []),
            critical_listed=list(d.get("critical_listed") or []),
            study=d.get("study"),
        )


@dataclass
class Point:
    """An isolation point of a safety document: a device held in a state."""

    device: str
    state: str = "open"
    tag: bool = True
    ground: bool = False


def parse_points(raw: Any, known_device: Any, edges_at_node: Any = None) -> list[Point]:
    """Isolation points from an event's ``points`` list (``edges_at_node``:
    as for :func:`parse_steps`).

    Raises
    ------
    ActionError
        Naming the point (from 1) and what is wrong.
    """
    if not isinstance(raw, list) or not raw:
        raise ActionError("points must be a non-empty list")
    points, seen = [], set()
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ActionError(f"point {n}: a point is an object with 'device'")
        device = item.get("device")
        if not isinstance(device, str) or not known_device(device):
            raise device_error(f"point {n}", device, edges_at_node)
        if device in seen:
            raise ActionError(f"point {n}: {device} is listed twice")
        seen.add(device)
        state = item.get("state", "open")
        if state not in ("open", "closed"):
            raise ActionError(f"point {n}: state must be 'open' or 'closed'")
        flags = {}
        for name, default in (("tag", True), ("ground", False)):
            value = item.get(name, default)
            if not isinstance(value, bool):
                raise ActionError(f"point {n}: {name} must be true or false")
            flags[name] = value
        points.append(Point(device, state, flags["tag"], flags["ground"]))
    return points


@dataclass
class SafetyDocument:
    """A clearance, hold or delegated control: isolation points issued to a crew."""

    id: str
    kind: str
    crew: str
    points: list[Point]
    created_by: str
    created_at: datetime
    work: str = ""
    order: str | None = None
    state: str = "draft"
    source_event: str | None = None
    signatures: list[Signature] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state == "issued"

    @property
    def finished(self) -> bool:
        return self.state in ("released", "cancelled")

    @property
    def devices(self) -> set[str]:
        return {p.device for p in self.points}

    def sign(self, to: str, user: str, role: str, at: datetime, note: str | None = None) -> None:
        """Move to state ``to`` (issued, released, cancelled), signed.

        Raises
        ------
        ActionError
            ``to`` does not follow the present state.
        """
        allowed = {"draft": ("issued", "cancelled"), "issued": ("released",)}
        if to not in allowed.get(self.state, ()):
            raise ActionError(f"{self.id} is {self.state}; it cannot become {to}")
        self.state = to
        self.signatures.append(Signature(to, user, role, at, note))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "crew": self.crew,
            "work": self.work,
            "order": self.order,
            "state": self.state,
            "points": [asdict(p) for p in self.points],
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "source_event": self.source_event,
            "signatures": [s.to_dict() for s in self.signatures],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SafetyDocument:
        return cls(
            id=d["id"],
            kind=d["kind"],
            crew=d["crew"],
            points=[Point(**p) for p in d["points"]],
            created_by=d["created_by"],
            created_at=parse_time(d["created_at"]),
            work=d.get("work") or "",
            order=d.get("order"),
            state=d["state"],
            source_event=d.get("source_event"),
            signatures=[Signature.from_dict(s) for s in d.get("signatures", [])],
        )
