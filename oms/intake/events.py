"""Events: parsing and validating contract-3 telemetry and dispatcher actions.

An event is one JSON object with ``id``, ``type`` and ``time`` (ISO 8601 with
a UTC offset). Telemetry types are fixed by contract 3 of the design notes;
dispatcher actions go into the same log under their own types (documented in
``docs/events.md``):

=====================  =====================================================
``outage_confirm``     ``outage``; optional ``device`` (the dispatcher's
                       correction), ``user``, ``reason``
``outage_merge``       ``outages`` (ids), ``into`` (the id that remains)
``outage_split``       ``outage``, ``devices`` (one outage per device)
``outage_repredict``   ``outage``: hand the outage back to the predictor
``outage_restore``     ``outage``: supply is back (a crew or the dispatcher)
``outage_close``       ``outage``: the restored outage is closed
``switch``             ``device``, ``state`` (``open``/``closed``): a
                       switching operation carried out by the operator
``alert_ack``          ``alerts`` (their ``seq`` numbers, at most
                       :data:`MAX_ACK`): the dispatcher has seen them
``crew_add``           ``crew`` (new id), ``company``, ``skills``, ``size``
                       and the rest of a mutual-aid crew
                       (:mod:`oms.dispatch.mutual_aid`)
``crew_checkin``       ``crew``, ``lon``, ``lat``: an expected crew arrived
=====================  =====================================================

Actions carry ``user`` (default ``"system"``) and ``reason`` for the audit.

:func:`parse_event` checks the shape of one object and resolves its
references (customer, device, crew) through a :class:`Directory`; every
problem raises :class:`~oms.exceptions.EventError` naming the field.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from oms.exceptions import EventError
from oms.vocabulary import CREW_REPORTABLE, values
from topology.model import Network

__all__ = [
    "ACTION_TYPES",
    "DESK_TYPES",
    "IDLE",
    "MAX_ACK",
    "MAX_DEPTH",
    "MAX_EVENT_CHARS",
    "TELEMETRY_TYPES",
    "Directory",
    "Event",
    "as_utc",
    "digest",
    "iso",
    "loads",
    "normal_phone",
    "parse_event",
    "parse_time",
    "read_lines",
]

#: The switching desk's events (oms.engine.desk): orders, safety documents,
#: planned outages.
DESK_TYPES = frozenset(
    {
        *(f"order_{a}" for a in ("create", "edit", "check", "approve", "issue", "cancel", "step")),
        *(f"safety_{a}" for a in ("create", "issue", "release", "cancel")),
        *(f"planned_{a}" for a in ("request", "approve", "reject", "cancel")),
    }
)
TELEMETRY_TYPES = frozenset(
    {"call", "ami_last_gasp", "ami_restore", "scada", "fci", "ami_ping_reply", "crew_gps"}
)
ACTION_TYPES = (
    frozenset(
        {
            "outage_confirm",
            "outage_merge",
            "outage_split",
            "outage_repredict",
            "outage_restore",
            "outage_close",
            "switch",
            "job_assign",
            "job_delivered",
            "job_accept",
            "job_depart",
            "job_arrive",
            "job_made_safe",
            "job_repaired",
            "job_restored",
            "job_estimate",
            "job_callback",
            "job_close",
            "job_recall",
            "dispatch_auto",
            "crew_status",
            "crew_add",
            "crew_checkin",
            "survey_answer",
            "alert_ack",
            "storm_mode",
            "damage_report",
            "critical_customer",
            "customer_contact",
        }
    )
    | DESK_TYPES
)
#: Alerts one ``alert_ack`` may acknowledge.
MAX_ACK = 5000
_MAX_ID = 128


def iso(t: datetime | None) -> str | None:
    """ISO 8601 in UTC with offset (``2026-01-15T14:03:07+00:00``), or None."""
    if t is None:
        return None
    if t.tzinfo is not timezone.utc:  # the engine's own times already are
        t = t.astimezone(timezone.utc)
    return t.isoformat()


def as_utc(t: datetime | None) -> datetime | None:
    """``t`` as an aware UTC time. SQLite hands timezone-aware columns back
    naive; they were stored in UTC."""
    if t is None or t.tzinfo is not None:
        return t
    return t.replace(tzinfo=timezone.utc)


_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)


def parse_time(value: Any, field: str = "time") -> datetime:
    """An ISO 8601 time with offset, as an aware UTC datetime."""
    if not isinstance(value, str):
        raise EventError(f"{field} must be an ISO 8601 string, not {type(value).__name__}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{field} {value!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise EventError(f"{field} {value!r} has no UTC offset")
    try:
        t = t.astimezone(timezone.utc)
    except OverflowError:  # e.g. year 1 with a positive offset
        raise EventError(f"{field} {value!r} is out of range") from None
    # The engine adds windows, grace periods and ETRs of hours to days to an
    # event's time: keep it well inside what datetime can hold.
    if not _EARLIEST <= t < _LATEST:
        raise EventError(f"{field} {value!r} is out of range (years 1970 to 8999)")
    return t


_SCALARS = (str, int, float, type(None))


def digest(obj: Mapping[str, Any]) -> str:
    """Content hash of an event object (key order does not matter)."""
    for v in obj.values():
        if not isinstance(v, _SCALARS):
            canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            break
    else:
        # Flat objects (nearly every event): a sorted repr is canonical and
        # several times cheaper than sorted JSON.
        canonical = repr(sorted(obj.items()))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Directory:
    """Looks up what events refer to: customers, meters, phones, devices, crews.

    Parameters
    ----------
    net : Network
        The network as loaded (with its customers, if any).
    crews : iterable of str
        Known crew ids.

    Notes
    -----
    Building it is O(n + customers); every lookup is O(1) except
    :meth:`nearest_customer`, O(log customers) with a k-d tree over the
    customers' positions in a local metric frame.
    """

    def __init__(self, net: Network, crews: Iterable[str] = ()) -> None:
        self.net = net
        self.crews = set(crews)
        cust = net.customers
        self.has_customers = cust is not None
        self.customer_index: dict[str, int] = cust.index if cust is not None else {}
        self.phone_index: dict[str, int] = {}
        self.meter_index: dict[str, int] = {}
        if cust is not None:
            for name, index in (("phone", self.phone_index), ("meter", self.meter_index)):
                column = cust.fields.get(name)
                if column is None:
                    continue
                for i, value in enumerate(column):
                    if value:
                        index.setdefault(normal_phone(value) if name == "phone" else value, i)
        self._tree: Any = None
        self._xy_scale: tuple[float, float] = (1.0, 1.0)
        self._first_at: np.ndarray | None = None

    def customer(self, value: Any, field: str = "customer") -> int:
        if not isinstance(value, str):
            raise EventError(f"{field} must be a string id")
        try:
            return self.customer_index[value]
        except KeyError:
            raise EventError(f"unknown customer {value!r}") from None

    def meter(self, value: Any) -> int:
        if not isinstance(value, str):
            raise EventError("meter must be a string id")
        try:
            return self.meter_index[value]
        except KeyError:
            raise EventError(f"unknown meter {value!r}") from None

    def phone(self, value: Any) -> int:
        if not isinstance(value, str):
            raise EventError("phone must be a string")
        try:
            return self.phone_index[normal_phone(value)]
        except KeyError:
            raise EventError(f"no customer has phone {value!r}") from None

    def node(self, value: Any) -> int:
        if not isinstance(value, str):
            raise EventError("node must be a string id")
        try:
            return self.net.node_index[value]
        except KeyError:
            raise EventError(f"unknown node {value!r}") from None

    def device(self, value: Any, field: str = "device") -> int:
        if not isinstance(value, str):
            raise EventError(f"{field} must be a string id")
        try:
            return self.net.edge_index[value]
        except KeyError:
            raise EventError(f"unknown device {value!r}") from None

    def first_customer_at(self, node: int) -> int:
        """The first customer (in file order) supplied at node position
        ``node``, -1 when none. O(1) after an O(customers) first call."""
        if self._first_at is None:
            at = np.full(self.net.n_nodes, -1, dtype=np.int64)
            if self.net.customers is not None:
                # unique's index is each node's first occurrence.
                nodes, first = np.unique(self.net.customers.node, return_index=True)
                at[nodes] = first
            self._first_at = at
        return int(self._first_at[node])

    def crew(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.crews:
            raise EventError(f"unknown crew {value!r}")
        return value

    def nearest_customer(self, lon: float, lat: float) -> int:
        """The customer nearest to a point (their own position, else their node's)."""
        if not self.has_customers:
            raise EventError("lon/lat calls need a customers file to snap to")
        if self._tree is None:
            from scipy.spatial import cKDTree

            cust = self.net.customers
            assert cust is not None
            xy = self.net.node_xy[cust.node].copy()
            lons, lats = cust.fields.get("lon"), cust.fields.get("lat")
            if lons is not None and lats is not None:
                own = np.array(
                    [
                        (a, b) if a is not None and b is not None else (np.nan, np.nan)
                        for a, b in zip(lons, lats, strict=True)
                    ],
                    dtype=float,
                ).reshape(-1, 2)
                has = ~np.isnan(own).any(axis=1)
                xy[has] = own[has]
            lat0 = float(np.nanmean(xy[:, 1])) if len(xy) else 0.0
            self._xy_scale = (math.cos(math.radians(lat0)), 1.0)
            self._tree = cKDTree(xy * np.array(self._xy_scale))
        _, i = self._tree.query([lon * self._xy_scale[0], lat * self._xy_scale[1]])
        return int(i)


def normal_phone(value: str) -> str:
    """A phone number as the engine matches callers' numbers: digits and ``+`` only."""
    return "".join(ch for ch in value if ch.isdigit() or ch == "+")


@dataclass(frozen=True)
class Event:
    """A validated event.

    Attributes
    ----------
    id, type : str
    time : datetime
        Aware, UTC.
    payload : dict
        The object as received.
    digest : str
        Content hash, to tell a duplicate from a conflict.
    customer : int
        Resolved customer position, -1 when none.
    node : int
        Resolved node position (a call by node without customers), -1 when none.
    device : int
        Resolved edge position, -1 when none.
    raw : str or None
        The JSON line as received, when it came as one (stored as it is).
    """

    id: str
    type: str
    time: datetime
    payload: dict[str, Any]
    digest: str
    customer: int = -1
    node: int = -1
    device: int = -1
    raw: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)


def _bool(obj: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
    if key not in obj:
        if default is None:
            raise EventError(f"missing field {key!r}")
        return default
    value = obj[key]
    if not isinstance(value, bool):
        raise EventError(f"{key} must be true or false, not {value!r}")
    return value


def _number(obj: Mapping[str, Any], key: str, low: float, high: float) -> float:
    if key not in obj:
        raise EventError(f"missing field {key!r}")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EventError(f"{key} must be a number, not {value!r}")
    if not low <= value <= high:
        raise EventError(f"{key} {value} is out of range [{low}, {high}]")
    return float(value)


def _choice(obj: Mapping[str, Any], key: str, options: tuple[str, ...], default: str | None) -> str:
    value = obj.get(key, default)
    if value is None:
        raise EventError(f"missing field {key!r}")
    if value not in options:
        raise EventError(f"{key} must be one of {', '.join(options)}, not {value!r}")
    return str(value)


def _text(obj: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise EventError(f"missing field {key!r}")
        return None
    if not isinstance(value, str) or not value:
        raise EventError(f"{key} must be a non-empty string")
    return value


def _meter_customer(obj: Mapping[str, Any], directory: Directory) -> int:
    if "customer" in obj:
        return directory.customer(obj["customer"])
    if "meter" in obj:
        return directory.meter(obj["meter"])
    raise EventError("needs 'customer' or 'meter'")


def parse_event(
    obj: Any, directory: Directory, raw: str | None = None, *, stored: bool = False
) -> Event:
    """Validate one event object and resolve its references.

    ``stored`` marks an event read back from the log (its digest is not
    needed again).

    Raises
    ------
    EventError
        Naming the field that is missing or wrong, or the unknown customer,
        meter, phone, node, device or crew.
    """
    if not isinstance(obj, dict):
        raise EventError(f"an event must be a JSON object, not {type(obj).__name__}")
    eid = obj.get("id")
    if not isinstance(eid, str) or not eid.strip():
        raise EventError("missing or empty field 'id'")
    if len(eid) > _MAX_ID:
        raise EventError(f"id is longer than {_MAX_ID} characters")
    etype = obj.get("type")
    if not isinstance(etype, str) or (etype not in TELEMETRY_TYPES and etype not in ACTION_TYPES):
        raise EventError(f"unknown event type {etype!r}")
    if "time" not in obj:
        raise EventError("missing field 'time'")
    time = parse_time(obj["time"])
    customer = node = device = -1

    if etype == "call":
        keys = [k for k in ("customer", "phone", "node") if k in obj]
        if keys:
            key = keys[0]
            if key == "customer":
                customer = directory.customer(obj["customer"])
            elif key == "phone":
                customer = directory.phone(obj["phone"])
            else:
                node = directory.node(obj["node"])
        elif "lon" in obj or "lat" in obj:
            lon = _number(obj, "lon", -180, 180)
            lat = _number(obj, "lat", -90, 90)
            customer = directory.nearest_customer(lon, lat)
        else:
            raise EventError("a call needs 'customer', 'phone', 'node', or 'lon' and 'lat'")
        if customer >= 0 and node < 0:
            node = int(directory.net.customers.node[customer])  # type: ignore[union-attr]
        elif node >= 0 and directory.has_customers:
            # A call naming a node stands for the first customer supplied there.
            customer = directory.first_customer_at(node)
        _choice(obj, "power", ("off", "on"), "off")
        if "hazard" in obj:
            _text(obj, "hazard")
        if "note" in obj and not isinstance(obj["note"], str):
            raise EventError("note must be a string")
    elif etype in ("ami_last_gasp", "ami_restore"):
        customer = _meter_customer(obj, directory)
    elif etype == "ami_ping_reply":
        customer = _meter_customer(obj, directory)
        _bool(obj, "energized")
    elif etype == "scada":
        device = directory.device(obj.get("device"))
        _choice(obj, "state", ("open", "closed"), None)
        _bool(obj, "lockout", False)
        if not directory.net.is_operable(device):
            raise EventError(f"device {obj['device']!r} is a {directory.net.kind_of(device)}")
    elif etype == "fci":
        device = directory.device(obj.get("device"))
        _bool(obj, "fault")
    elif etype == "crew_gps":
        directory.crew(obj.get("crew"))
        _number(obj, "lon", -180, 180)
        _number(obj, "lat", -90, 90)
    elif etype == "switch":
        device = directory.device(obj.get("device"))
        _choice(obj, "state", ("open", "closed"), None)
        if not directory.net.is_operable(device):
            raise EventError(f"device {obj['device']!r} is a {directory.net.kind_of(device)}")
    elif etype == "survey_answer":
        customer = directory.customer(obj.get("customer"))
        _text(obj, "outage")
        if obj.get("answer") is None:
            raise EventError("missing field 'answer'")
    elif etype == "crew_status":
        directory.crew(obj.get("crew"))
        _choice(obj, "status", values(CREW_REPORTABLE), None)
    elif etype == "crew_add":
        from oms.dispatch.mutual_aid import crew_problems

        problems = crew_problems(obj)
        if problems:
            raise EventError("; ".join(f"{key}: {why}" for key, why in problems))
        if obj["crew"] in directory.crews:
            raise EventError(f"crew {obj['crew']!r} exists already")
    elif etype == "crew_checkin":
        directory.crew(obj.get("crew"))
        _number(obj, "lon", -180, 180)
        _number(obj, "lat", -90, 90)
        _text(obj, "user", required=False)
    elif etype.startswith("job_"):
        _text(obj, "job")
        if "crew" in obj and obj["crew"] is not None:
            directory.crew(obj["crew"])
        if etype == "job_close" and not isinstance(obj.get("closeout"), dict):
            raise EventError("job_close needs the close-out form 'closeout' (an object)")
        if etype == "job_estimate":
            parse_time(obj.get("etr"), "etr")
        if etype == "job_recall" and obj.get("hold_until") is not None:
            parse_time(obj.get("hold_until"), "hold_until")
        if etype == "job_assign":
            _bool(obj, "preempt", False)
        _text(obj, "user", required=False)
    elif etype == "alert_ack":
        ids = obj.get("alerts")
        if (
            not isinstance(ids, list)
            or not 0 < len(ids) <= MAX_ACK
            or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids
            )
        ):
            raise EventError(f"alerts must be a list of 1 to {MAX_ACK} alert numbers (seq)")
        _text(obj, "user", required=False)
    elif etype == "damage_report":
        # The engine checks the report's fields, naming each (oms.engine.damage).
        _text(obj, "user", required=False)
        if "crew" in obj and obj["crew"] is not None:
            directory.crew(obj["crew"])
    elif etype in ("critical_customer", "customer_contact"):
        # The engine checks the entry's fields, naming each (oms.engine.register).
        customer = directory.customer(obj.get("customer"))
        _text(obj, "user", required=False)
    elif etype == "storm_mode":
        _bool(obj, "on")
        _text(obj, "user", required=False)
    elif etype == "dispatch_auto":
        _bool(obj, "auto")
        _text(obj, "unit", required=False)
        _text(obj, "job", required=False)
        if obj.get("until") is not None:
            parse_time(obj.get("until"), "until")
        _text(obj, "user", required=False)
    elif etype.startswith(("order_", "safety_", "planned_")):
        # The desk checks the documents' fields, naming each (oms.engine.desk).
        _text(obj, "user", required=False)
        if "crew" in obj and obj["crew"] is not None:
            directory.crew(obj["crew"])
    else:
        _action_fields(obj, etype, directory)
    if customer >= 0 and node < 0 and directory.net.customers is not None:
        node = int(directory.net.customers.node[customer])
    return Event(
        id=eid,
        type=etype,
        time=time,
        payload=obj,
        digest="" if stored else digest(obj),  # a stored event's digest is in the log
        customer=customer,
        node=node,
        device=device,
        raw=raw,
    )


def _action_fields(obj: Mapping[str, Any], etype: str, directory: Directory) -> None:
    if etype == "outage_merge":
        ids = obj.get("outages")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise EventError("outages must be a non-empty list of outage ids")
        _text(obj, "into")
    else:
        _text(obj, "outage")
    if etype == "outage_split":
        devices = obj.get("devices")
        if not isinstance(devices, list) or len(devices) < 2:
            raise EventError("devices must list at least two devices")
        for d in devices:
            directory.device(d, "devices")
    if etype == "outage_confirm" and obj.get("device") is not None:
        directory.device(obj["device"])
    _text(obj, "user", required=False)
    if "reason" in obj and not isinstance(obj["reason"], str):
        raise EventError("reason must be a string")


#: The deepest nesting an event may have (events are flat objects with a
#: close-out form at most; anything deeper is hostile or broken).
MAX_DEPTH = 32
#: The longest event, in characters of JSON (a close-out form with long
#: remarks fits many times over; a 50 MB "event" is not stored).
MAX_EVENT_CHARS = 64 * 1024


def loads(text: str | bytes) -> Any:
    """JSON text to an object, refusing what is nested more than :data:`MAX_DEPTH`
    or longer than :data:`MAX_EVENT_CHARS`.

    Raises
    ------
    EventError
        Too long (checked before decoding), not JSON (NaN and Infinity
        included), or nested too deeply (checked without recursion, so no
        input can exhaust the stack here or in what handles the object later).
    """
    if len(text) > MAX_EVENT_CHARS:
        raise EventError(f"an event of {len(text)} characters (at most {MAX_EVENT_CHARS})")
    try:
        # As json.loads: bytes in the encoding they declare, a str with a BOM refused.
        if isinstance(text, bytes | bytearray):
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        elif text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        obj = _DECODER.decode(text)
    except RecursionError:
        raise EventError(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise EventError(f"not valid JSON: {exc}") from None
    # Only containers are stacked: a flat event is one pass over its values.
    stack = [(obj, 1)] if isinstance(obj, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise EventError(f"nested more than {MAX_DEPTH} levels deep")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, _CONTAINERS):
                stack.append((child, depth + 1))
    return obj


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; PostgreSQL refuses them in JSON columns.
    raise ValueError(f"{name} is not a number JSON allows")


#: One decoder for every event (``json.loads`` with an argument builds one per call).
_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_CONTAINERS = (dict, list)


class _Idle:
    """The input fell quiet (:func:`oms.cli.pipes.paced`): a batch waiting for
    more is applied now."""

    def __repr__(self) -> str:
        return "IDLE"


#: Given among the lines of a live input when it falls quiet (passed through
#: :func:`read_lines` as the object, with the last line's number).
IDLE = _Idle()


def read_lines(lines: Iterable[str | bytes | _Idle]) -> Iterator[tuple[int, Any, str]]:
    """``(line number from 1, object or EventError, the line)`` per non-blank line.

    Lines may be bytes (a file read as it is): one that is not UTF-8 is
    rejected on its own, the others go on. :data:`IDLE` among them comes
    out as the object, numbered as the line before it.
    """
    number = 0
    for line in lines:
        if isinstance(line, _Idle):
            yield number, IDLE, ""
            continue
        number += 1
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, EventError(f"not UTF-8 text: {exc.reason} at byte {exc.start}"), ""
                continue
        text = line.strip()
        if not text:
            continue
        try:
            yield number, loads(text), text
        except EventError as exc:
            yield number, exc, text
