"""OpenFMB status and reading profiles as contract-3 events. No I/O.

OpenFMB (the NAESB field message bus, IEC 61850 semantics over MQTT, NATS
or DDS) publishes each device's profiles on topics
``openfmb/<module>/<Profile>/<mRID>``. ``oms listen`` subscribes beside
its own topics (:mod:`oms.intake.mqtt`) and maps, from payloads in the
protobuf JSON mapping (field names as in the ``.proto`` files; enums as
their names; ``uint64`` seconds as text or numbers):

=========================================  ===================================
profile                                    events
=========================================  ===================================
``switchmodule/SwitchStatusProfile``       ``scada`` (``Pos``), ``fci``
                                           (``ProtectionPickup``)
``breakermodule/BreakerStatusProfile``     ``scada`` (``Pos``), ``fci``
``reclosermodule/RecloserStatusProfile``   ``scada`` (``Pos``; ``lockout``
                                           when ``ReclosingAction`` is
                                           ``RecloseActionKind_lockout``),
                                           ``fci``
``metermodule/MeterReadingProfile``        ``ami_last_gasp`` when the
                                           meter's voltage falls below
                                           ``dead_volts``, ``ami_restore``
                                           when it comes back (changes only)
=========================================  ===================================

The device is the equipment's ``mRID`` looked up in a map (mRID -> device
or meter id, e.g. from the GIS export), else its ``namedObject.name``, else
the ``mRID`` itself; the engine names an unknown one. The position is
three-phase (``phs3``) where given; otherwise a device with any phase open
is open (its customers on that phase lost supply) and closed when every
phase given is closed. ``transient``, ``invalid`` and undefined positions
say nothing and are rejected with that reason. The event's time is the
position's own timestamp (``t``), else the message's; its id is
``openfmb:`` and the message's mRID (a profile sent again is a duplicate),
with the kind of event after it. Protobuf-encoded payloads are not read:
an OpenFMB adapter publishes JSON when configured so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from oms.exceptions import EventError
from oms.intake.events import iso

__all__ = ["PROFILES", "OpenFMBDecoder", "subscriptions"]

#: Topic suffix (module/profile) -> the equipment field and the status field.
PROFILES: dict[str, tuple[str, str | None]] = {
    "switchmodule/SwitchStatusProfile": ("protectedSwitch", "switchStatus"),
    "breakermodule/BreakerStatusProfile": ("breaker", "breakerStatus"),
    "reclosermodule/RecloserStatusProfile": ("recloser", "recloserStatus"),
    "metermodule/MeterReadingProfile": ("meter", None),
}
_POSITION = {"DbPosKind_open": "open", "DbPosKind_closed": "closed"}
_PHASES = ("phsA", "phsB", "phsC")


def subscriptions(prefix: str) -> list[str]:
    """The topic filters for ``prefix`` (``openfmb/``), one per profile read."""
    return [f"{prefix}{profile}/#" for profile in PROFILES]


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _time(stamp: Any, where: str) -> datetime | None:
    if stamp is None:
        return None
    try:
        seconds = int(stamp["seconds"])
        nanos = int(stamp.get("nanoseconds") or 0)
        return datetime.fromtimestamp(seconds + nanos / 1e9, tz=timezone.utc)
    except (TypeError, KeyError, ValueError, OverflowError, OSError):
        raise EventError(f"{where} is not a timestamp (seconds, nanoseconds)") from None


class OpenFMBDecoder:
    """Turns OpenFMB profiles into contract-3 events.

    Parameters
    ----------
    prefix : str
        Topic prefix of the OpenFMB profiles (``openfmb/``).
    devices : mapping, optional
        Equipment mRID -> device or meter id.
    dead_volts : float
        A meter reading below this many volts (every phase given) is a
        meter without supply.

    Notes
    -----
    A meter's last known state is kept per decoder (the listener's one
    thread), so a periodic reading becomes an event only when the state
    changes. After a restart the first reading of a meter without supply
    is a last gasp again: a duplicate the engine absorbs.
    """

    def __init__(
        self, prefix: str, devices: Mapping[str, str] | None = None, dead_volts: float = 50.0
    ) -> None:
        self.prefix = prefix
        self.devices = dict(devices or {})
        self.dead_volts = dead_volts
        self.meter_dead: dict[str, bool] = {}

    def handles(self, topic: str) -> bool:
        """Whether ``topic`` is an OpenFMB profile topic under the prefix."""
        return bool(self.prefix) and topic.startswith(self.prefix)

    def decode(self, topic: str, doc: Any) -> list[dict[str, Any]]:
        """The events of one profile (none when nothing changed).

        Raises
        ------
        EventError
            A profile that is not read, or a field that is missing or wrong (named).
        """
        rest = topic[len(self.prefix) :].split("/")
        profile = "/".join(rest[:2])
        if profile not in PROFILES:
            known = ", ".join(PROFILES)
            raise EventError(f"OpenFMB profile {profile!r} is not read (only {known})")
        if not isinstance(doc, Mapping):
            raise EventError(f"an OpenFMB profile must be a JSON object, not {type(doc).__name__}")
        equipment, status = PROFILES[profile]
        info = _get(doc, "statusMessageInfo" if status else "readingMessageInfo", "messageInfo")
        message_id = _get(info, "identifiedObject", "mRID")
        when = _time(_get(info, "messageTimeStamp"), "messageTimeStamp")
        ce = _get(doc, equipment, "conductingEquipment")
        mrid = _get(ce, "mRID")
        if not isinstance(mrid, str) or not mrid:
            raise EventError(f"{equipment}.conductingEquipment.mRID is missing")
        device = self.devices.get(mrid) or _get(ce, "namedObject", "name") or mrid
        if status is None:
            return self._meter(doc, device, message_id, when)
        node = _get(doc, status, "switchStatusXSWI") or _get(doc, status, "statusAndEventXCBR")
        if not isinstance(node, Mapping):
            raise EventError(f"{status} has no switchStatusXSWI or statusAndEventXCBR")
        events: list[dict[str, Any]] = []
        pos = node.get("Pos")
        if pos is not None:
            state, stamp = self._position(pos, status)
            at = stamp or when
            if at is None:
                raise EventError("no time: neither Pos's t nor messageTimeStamp")
            event: dict[str, Any] = {
                "id": self._id(message_id, "scada", device, at),
                "type": "scada",
                "time": iso(at),
                "device": device,
                "state": state,
            }
            action = _get(node, "ReclosingAction", "phs3", "value")
            if state == "open" and action == "RecloseActionKind_lockout":
                event["lockout"] = True
            events.append(event)
        pickup = node.get("ProtectionPickup")
        fault = _get(pickup, "phs3", "stVal")
        if fault is None and isinstance(pickup, Mapping):
            phases = [_get(pickup, p, "stVal") for p in _PHASES]
            fault = any(bool(v) for v in phases) if any(v is not None for v in phases) else None
        if isinstance(fault, bool):
            at = when or (datetime.fromisoformat(events[0]["time"]) if events else None)
            if at is None:
                raise EventError("no time: messageTimeStamp is missing")
            events.append(
                {
                    "id": self._id(message_id, "fci", device, at),
                    "type": "fci",
                    "time": iso(at),
                    "device": device,
                    "fault": fault,
                }
            )
        if not events:
            raise EventError(f"{status} carries neither Pos nor ProtectionPickup")
        return events

    @staticmethod
    def _position(pos: Any, where: str) -> tuple[str, datetime | None]:
        three = _get(pos, "phs3")
        if isinstance(three, Mapping):
            phases = [three]
        else:
            phases = [p for p in (_get(pos, name) for name in _PHASES) if isinstance(p, Mapping)]
        if not phases:
            raise EventError(f"{where}: Pos has no phs3 nor per-phase status")
        states = []
        for p in phases:
            value = p.get("stVal")
            if value not in _POSITION:
                raise EventError(
                    f"{where}: position {value!r} says nothing (DbPosKind_open or "
                    "DbPosKind_closed expected)"
                )
            states.append(_POSITION[value])
        stamps = [_time(p.get("t"), f"{where}: Pos t") for p in phases if p.get("t")]
        state = "open" if "open" in states else "closed"
        return state, max((s for s in stamps if s is not None), default=None)

    def _meter(
        self, doc: Mapping[str, Any], meter: str, message_id: Any, when: datetime | None
    ) -> list[dict[str, Any]]:
        phv = _get(doc, "meterReading", "readingMMXU", "PhV")
        if not isinstance(phv, Mapping):
            raise EventError("meterReading.readingMMXU.PhV (the voltages) is missing")
        volts = [_get(phv, name, "cVal", "mag") for name in ("net", *_PHASES) if name in phv]
        volts = [v for v in volts if isinstance(v, int | float) and not isinstance(v, bool)]
        if not volts:
            raise EventError("PhV has no voltage magnitude (cVal.mag)")
        if when is None:
            raise EventError("no time: messageTimeStamp is missing")
        dead = max(volts) < self.dead_volts
        if self.meter_dead.get(meter, False) == dead and (meter in self.meter_dead or not dead):
            self.meter_dead[meter] = dead
            return []  # no change (a meter first heard with supply says nothing new)
        self.meter_dead[meter] = dead
        kind = "ami_last_gasp" if dead else "ami_restore"
        return [
            {
                "id": self._id(message_id, kind, meter, when),
                "type": kind,
                "time": iso(when),
                "meter": meter,
            }
        ]

    @staticmethod
    def _id(message_id: Any, kind: str, device: str, at: datetime) -> str:
        if isinstance(message_id, str) and message_id:
            return f"openfmb:{message_id}:{kind}"
        return f"openfmb:{device}:{kind}:{at.isoformat()}"
