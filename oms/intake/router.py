"""Routing events to the control region that owns what they are about. No I/O.

A utility split into control regions (docs/scaling.md) keeps one data set
per region, each with its own writer. Sources that do not know regions (one
AMI head-end, one IVR, a SCADA front end, a file of events) send events for
all of them; the router sends each event (contract 3 and the actions of
docs/events.md) to the region holding the customer, meter, phone, node,
device, crew, unit, job, outage or switching document it names, from the
regions' ownership tables (:class:`Ownership`: id -> regions, per kind).

How an event's regions are found (:data:`RULES`, by event type):

- The *owner fields* of its type are read. For a ``call`` and the AMI
  types the first one present decides alone, as the engine reads them
  (``customer`` before ``phone`` before ``node``; ``customer`` before
  ``meter``). For every other type each owner field present, and each
  element of a list field (``outages``, ``devices``, the ``device`` of each
  of ``steps``), names the regions holding that id; the event goes to the
  regions all of them agree on (a job and the crew acting on it).
- An id no region holds is unknown. When every owner field present is
  unknown the event is rejected (``unknown device 'X'``); when some other
  field names a region, the unknown one is left to that region's engine
  (a job made by this same intake is found by its crew).
- Owner fields naming regions that share none (a job of one region, a crew
  of another) reject the event.
- An id held by two regions is *ambiguous* (a phone number two regions'
  customers share, job ``J-000001`` that both regions made), rejected
  unless another field narrows it to one region, except for devices: a
  normally open tie between two regions is a boundary device present in
  both, and an event about it (SCADA, a fault indicator, a switching
  operation) goes to each region holding it. An event naming a boundary
  device and an id of another kind no region holds yet (an outage this
  same intake makes) is ambiguous too: that id is one region's own.
- Types naming no owner (``crew_add``, ``alert_ack``, ``storm_mode``,
  ``dispatch_auto`` with neither ``job`` nor ``unit``, a call by ``lon``
  and ``lat`` alone) are rejected saying so: they go to a region's own
  intake (``oms ingest`` with the region's URL).

The router checks only what routing needs; every region's engine still
validates the events it is given (fields, times, duplicates) and rejects
with the same line numbers. Building an :class:`Ownership` is
O(ids of all regions); routing one event is O(its owner fields' ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from oms.exceptions import EventError
from oms.intake.events import ACTION_TYPES, normal_phone

__all__ = [
    "KINDS",
    "RULES",
    "SHARED_KINDS",
    "UNROUTED",
    "OwnerField",
    "Ownership",
    "Routing",
    "Rule",
    "route",
    "route_event",
]

#: The kinds of ids a region owns (the ownership tables).
KINDS = (
    "customer",
    "meter",
    "phone",
    "node",
    "device",
    "crew",
    "unit",
    "job",
    "outage",
    "document",
)
#: Kinds an id of which may be held by several regions at once: boundary ties.
SHARED_KINDS = frozenset({"device"})


class Ownership:
    """The regions' ownership tables: for each kind of id, the regions holding it.

    Parameters
    ----------
    regions : mapping
        Region name -> kind (one of :data:`KINDS`) -> the ids of that kind
        the region holds, e.g. ``{"north": {"device": ["N-F1"], "phone":
        ["+16125550001"]}}``. Phone numbers are kept as the engine matches
        them (digits and ``+``); empty ids are skipped.

    Raises
    ------
    ValueError
        A kind not in :data:`KINDS`.

    Notes
    -----
    O(ids of all regions) to build; a lookup is O(1). Ids held by one region
    share one frozen set per region, so the tables cost a dict entry per id.
    """

    def __init__(self, regions: Mapping[str, Mapping[str, Iterable[str | None]]]) -> None:
        self.regions = tuple(sorted(regions))
        self._owners: dict[str, dict[str, frozenset[str]]] = {k: {} for k in KINDS}
        for name in self.regions:
            alone = frozenset({name})
            for kind, ids in regions[name].items():
                if kind not in self._owners:
                    raise ValueError(f"unknown kind of id {kind!r} (one of {', '.join(KINDS)})")
                table = self._owners[kind]
                for value in ids:
                    key = normal_phone(value) if kind == "phone" and value else value
                    if not key:
                        continue
                    held = table.get(key)
                    table[key] = alone if held is None or held == alone else held | alone

    def owners(self, kind: str, value: str) -> frozenset[str]:
        """The regions holding ``value`` of ``kind`` (empty when none does)."""
        key = normal_phone(value) if kind == "phone" else value
        return self._owners[kind].get(key, frozenset())


@dataclass(frozen=True)
class OwnerField:
    """A field of an event naming something a region owns.

    ``path`` is the field's name (``device``), a list of ids (``devices[]``)
    or a field of each object of a list (``steps[].device``).
    """

    path: str
    kind: str

    def values(self, obj: Mapping[str, Any]) -> list[Any] | None:
        """The ids the field names in ``obj``; None when the field is absent or null."""
        name, listed, sub = self.path.partition("[]")
        value = obj.get(name)
        if value is None:
            return None
        if not listed:
            return [value]
        if not isinstance(value, list):
            raise EventError(f"{name} must be a list")
        if not sub:
            return value
        key = sub.lstrip(".")
        return [item.get(key) for item in value if isinstance(item, dict) and item.get(key)]


@dataclass(frozen=True)
class Rule:
    """How the regions of one event type are found (see the module's notes).

    Attributes
    ----------
    fields : tuple of OwnerField
        The owner fields, in the engine's order of precedence.
    first_only : bool
        The first field present decides alone (a call, an AMI message).
    missing : str
        Why an event naming none of them cannot be routed.
    """

    fields: tuple[OwnerField, ...]
    first_only: bool = False
    missing: str = ""


def _rule(*fields: str, first_only: bool = False, missing: str = "") -> Rule:
    """``"kind"`` or ``"path:kind"`` per field."""
    parsed = []
    for spec in fields:
        path, _, kind = spec.partition(":")
        parsed.append(OwnerField(path, kind or path))
    return Rule(tuple(parsed), first_only, missing)


_LOCAL = "send it to that region's own intake (oms ingest with the region's URL)"
_METERED = _rule("customer", "meter", first_only=True)
_BY_DEVICE = _rule("device")
_BY_CREW = _rule("crew")
_BY_CUSTOMER = _rule("customer")
_BY_JOB = _rule("job", "crew")
_BY_OUTAGE = _rule("outage")
_BY_ORDER = _rule("order:document", "crew")
_BY_DOCUMENT = _rule("document", "crew")
_BY_PLANNED = _rule("planned:document")

#: The owner fields of each event type that can be routed.
RULES: Mapping[str, Rule] = {
    "call": _rule(
        "customer",
        "phone",
        "node",
        first_only=True,
        missing="a call by lon and lat alone names no customer, phone or node to route by; "
        + _LOCAL,
    ),
    "ami_last_gasp": _METERED,
    "ami_restore": _METERED,
    "ami_ping_reply": _METERED,
    "scada": _BY_DEVICE,
    "fci": _BY_DEVICE,
    "switch": _BY_DEVICE,
    "crew_gps": _BY_CREW,
    "crew_status": _BY_CREW,
    "crew_checkin": _BY_CREW,
    "survey_answer": _BY_CUSTOMER,
    "critical_customer": _BY_CUSTOMER,
    "customer_contact": _BY_CUSTOMER,
    **{t: _BY_JOB for t in ACTION_TYPES if t.startswith("job_")},
    "outage_confirm": _rule("outage", "device"),
    "outage_merge": _rule("outages[]:outage", "into:outage"),
    "outage_split": _rule("outage", "devices[]:device"),
    "outage_repredict": _BY_OUTAGE,
    "outage_restore": _BY_OUTAGE,
    "outage_close": _BY_OUTAGE,
    "dispatch_auto": _rule(
        "job",
        "unit",
        missing="dispatch_auto without 'job' or 'unit' is for a whole region; " + _LOCAL,
    ),
    "damage_report": _rule(
        "outage",
        "crew",
        missing="a damage report without 'outage' or 'crew' names no region; " + _LOCAL,
    ),
    "order_create": _rule(
        "outage", "template:document", "planned:document", "steps[].device:device"
    ),
    **{f"order_{a}": _BY_ORDER for a in ("edit", "check", "approve", "issue", "cancel", "step")},
    "safety_create": _rule("crew", "order:document", "points[].device:device"),
    **{f"safety_{a}": _BY_DOCUMENT for a in ("issue", "release", "cancel")},
    "planned_request": _rule("devices[]:device", "ties[]:device", "crews[]:crew"),
    **{f"planned_{a}": _BY_PLANNED for a in ("approve", "reject", "cancel")},
}
#: Types that name nothing a region owns, and why they are not routed.
UNROUTED: Mapping[str, str] = {
    "crew_add": "a new crew belongs to no region yet; " + _LOCAL,
    "alert_ack": "alert numbers are each region's own; " + _LOCAL,
    "storm_mode": "storm mode is set per region; " + _LOCAL,
}


def route_event(obj: Any, owners: Ownership) -> tuple[str, ...]:
    """The regions an event goes to, by name (one, or each region holding a boundary device).

    Parameters
    ----------
    obj : object
        One decoded JSON line (an event object of contract 3 or an action).
    owners : Ownership

    Returns
    -------
    tuple of str
        Region names, sorted.

    Raises
    ------
    EventError
        Why it cannot be routed: not an object, an unknown type, a type or
        an event naming no owner, unknown ids, ids of regions that share
        none, an id held by several regions (ambiguous).

    Notes
    -----
    O(ids named by the event's owner fields).
    """
    if not isinstance(obj, dict):
        raise EventError(f"an event must be a JSON object, not {type(obj).__name__}")
    etype = obj.get("type")
    if isinstance(etype, str) and etype in UNROUTED:
        raise EventError(f"{etype} cannot be routed: {UNROUTED[etype]}")
    rule = RULES.get(etype) if isinstance(etype, str) else None
    if rule is None:
        raise EventError(f"unknown event type {etype!r}")
    found: list[tuple[OwnerField, str, frozenset[str]]] = []
    unknown: list[tuple[OwnerField, Any]] = []
    for owner_field in rule.fields:
        values = owner_field.values(obj)
        if values is None:
            continue
        for value in values:
            if not isinstance(value, str):
                raise EventError(f"{owner_field.path.split('[')[0]} must be a string id")
            held = owners.owners(owner_field.kind, value)
            if held:
                found.append((owner_field, value, held))
            else:
                unknown.append((owner_field, value))
        if rule.first_only:
            break
    if not found:
        if unknown:
            f, value = unknown[0]
            raise EventError(f"unknown {f.kind} {value!r} (no region holds it)")
        names = ", ".join(repr(f.path.split("[")[0]) for f in rule.fields)
        raise EventError(rule.missing or f"{etype} needs one of {names} to be routed")
    regions = frozenset.intersection(*(held for _, _, held in found))
    if not regions:
        named = "; ".join(f"{f.kind} {v!r} is in {_names(h)}" for f, v, h in found)
        raise EventError(f"its ids are in different regions ({named})")
    if len(regions) > 1:
        own = [x for x in found if x[0].kind not in SHARED_KINDS]
        if own:
            f, value, _ = own[0]
            raise EventError(f"ambiguous: {f.kind} {value!r} is in {_names(regions)}")
        # Only a boundary device names regions: an id of another kind not known
        # yet (an outage this intake makes) is one region's, which is not said.
        new = [(f, v) for f, v in unknown if f.kind not in SHARED_KINDS]
        if new:
            f, value = new[0]
            shared = ", ".join(f"{g.kind} {v!r} is in {_names(h)}" for g, v, h in found)
            raise EventError(f"ambiguous: {f.kind} {value!r} is in no region yet, {shared}")
    return tuple(sorted(regions))


def _names(regions: Iterable[str]) -> str:
    return " and ".join(sorted(regions))


@dataclass
class Routing:
    """Where the lines of one intake go.

    Attributes
    ----------
    shares : dict
        Region name -> the line numbers routed to it, in the order given
        (an event about a boundary device is in each region holding it).
    rejected : list of dict
        ``{"line", "error"}`` per line that goes nowhere, in line order.
    """

    shares: dict[str, list[int]] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def route(numbered: Iterable[tuple[int, Any]], owners: Ownership) -> Routing:
    """Route ``(line number, object)`` pairs; an object that is an
    :class:`~oms.exceptions.EventError` (a line that is not JSON) is rejected as it is.

    Every region of ``owners`` has a share, empty when nothing goes there.
    O(lines x owner ids per event).
    """
    out = Routing(shares={name: [] for name in owners.regions})
    for number, obj in numbered:
        try:
            if isinstance(obj, EventError):
                raise obj
            regions = route_event(obj, owners)
        except EventError as exc:
            out.rejected.append({"line": number, "error": str(exc)})
            continue
        for name in regions:
            out.shares[name].append(number)
    return out
