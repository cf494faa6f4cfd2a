"""Telemetry intake over MQTT: ``oms listen`` (``docs/mqtt.md``).

A :class:`Listener` subscribes with QoS 1 to the telemetry topics under a
prefix (default ``oms/``) and hands what arrives to an
:class:`~oms.engine.OutageEngine` in batches:

=============================  ==============================================
``<prefix>scada[/...]``        ``scada`` and ``fci`` events (``type``
                               defaults to ``scada``)
``<prefix>ami[/...]``          ``ami_last_gasp``, ``ami_restore``,
                               ``ami_ping_reply``
``<prefix>calls[/...]``        ``call`` events from an IVR (``type`` defaults
                               to ``call``)
``<prefix>crews/<crew>/gps``   ``crew_gps``: ``crew`` comes from the topic
                               when the payload has none; ``id`` defaults to
                               ``gps:<crew>:<time>``
``<prefix>events[/...]``       any contract-3 telemetry event
=============================  ==============================================

A payload is one contract-3 JSON object or a JSON array of them.

Beside them, OpenFMB switch, breaker, recloser and meter profiles under
``openfmb/`` (:mod:`oms.intake.openfmb`; ``openfmb_prefix``, ``""`` to
turn them off) are mapped to contract-3 events.

No acknowledged message is lost: the client keeps a persistent session
(a fixed client id; MQTT 5 session expiry, or ``clean_session=False`` on
MQTT 3.1.1), subscribes with QoS 1 and acknowledges each message itself
(PUBACK) only after the transaction holding its events has committed. A
process that dies before that leaves the message unacknowledged, so the
broker delivers it again, and the event log, idempotent on event id, turns
the second copy into a duplicate that changes nothing. An invalid message
is rejected with a log line naming its topic and the reason (and published
to ``<prefix>rejected``), and acknowledged all the same, so a poison
message cannot come back for ever.

The network thread of paho-mqtt only queues what arrives; one thread (the
caller of :meth:`Listener.run`) forms batches, calls the engine and sends
the acknowledgements. The engine is never touched from another thread.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.exc import DBAPIError

from oms.authority import Principal
from oms.engine import IngestReport, OutageEngine
from oms.exceptions import EventError, OMSError
from oms.intake import openfmb
from oms.intake.events import TELEMETRY_TYPES, loads

__all__ = [
    "ListenReport",
    "ListenSettings",
    "Listener",
    "Rejection",
    "decode_message",
    "subscriptions",
]

#: Who sends what the broker delivers (oms.authority): telemetry only.
SENDER = Principal("mqtt", "intake")

log = logging.getLogger(__name__)

#: The event types each topic family accepts, and the ``type`` it implies.
ROUTES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "scada": (("scada", "fci"), "scada"),
    "ami": (("ami_last_gasp", "ami_restore", "ami_ping_reply"), None),
    "calls": (("call",), "call"),
    "crews": (("crew_gps",), "crew_gps"),
    "events": (tuple(sorted(TELEMETRY_TYPES)), None),
}
_MAX_REJECTIONS = 1000  # kept in the report; the count goes on
_MAX_ECHO = 10_000  # characters of a rejected payload republished
_TRANSIENT = (DBAPIError, OMSError)  # the database went away, or another writer kept writing


# ------------------------------------------------------------------ settings
@dataclass
class ListenSettings:
    """How :class:`Listener` reaches the broker and forms batches.

    Attributes
    ----------
    host, port : str, int
        The broker (Mosquitto on ``127.0.0.1:1883`` by default).
    prefix : str
        Topic prefix; ``/`` is added when missing (``""`` for none).
    client_id : str
        Fixed, so that the broker keeps the session (and what arrives while
        the listener is down) for the next start. One listener per client id.
    username, password : str or None
        Broker credentials.
    tls_ca, tls_cert, tls_key : str or None
        TLS: the CA file to check the broker with (turns TLS on), and a
        client certificate and key for brokers that ask for one.
    protocol : {"5", "3.1.1"}
        MQTT version. With 3.1.1 the broker decides how many messages may
        be unacknowledged at a time (Mosquitto: ``max_inflight_messages``,
        20 by default), which also caps a batch.
    receive_maximum : int
        MQTT 5: how many unacknowledged messages the broker may send ahead
        (at most 65535). Messages sent ahead wait in this process, not in
        the broker's per-client queue, which drops what exceeds its limit
        (Mosquitto: ``max_queued_messages``, 1000 by default) during a burst.
    keepalive : int
        Seconds between pings; a dead connection is noticed within 1.5 times.
    session_expiry : int
        MQTT 5: seconds the broker keeps the session while the listener is
        away (``0xFFFFFFFF``: for ever).
    max_batch : int
        Most messages per batch (one engine call, acknowledged together).
    batch_seconds : float
        A batch ends this long after its first message arrived ...
    batch_idle : float
        ... or when no message arrived for this long.
    reconnect_min, reconnect_max : float
        Backoff between reconnection attempts, doubling from min to max.
    rejected_topic : str or None
        Where rejected events are republished (``<prefix>rejected`` when
        None; ``""`` turns it off).
    openfmb_prefix : str
        Prefix of the OpenFMB profile topics read (``""`` for none).
    openfmb_devices : mapping
        OpenFMB equipment mRID -> device or meter id (else the equipment's
        name, else its mRID).
    dead_volts : float
        An OpenFMB meter reading below this is a meter without supply.
    progress_seconds : float
        Seconds between progress lines in the log (0: only at the end).
    """

    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "oms/"
    client_id: str = "oms-listen"
    username: str | None = None
    password: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    protocol: str = "5"
    receive_maximum: int = 65535
    keepalive: int = 30
    session_expiry: int = 7 * 24 * 3600
    max_batch: int = 1000
    batch_seconds: float = 0.5
    batch_idle: float = 0.05
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    rejected_topic: str | None = None
    progress_seconds: float = 10.0
    openfmb_prefix: str = "openfmb/"
    openfmb_devices: dict[str, str] = field(default_factory=dict)
    dead_volts: float = 50.0

    def __post_init__(self) -> None:
        if any(c in self.prefix for c in "+#\0"):
            raise OMSError(f"topic prefix {self.prefix!r} may not contain '+', '#' or NUL")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        if self.protocol not in ("5", "3.1.1"):
            raise OMSError(f"MQTT protocol must be '5' or '3.1.1', not {self.protocol!r}")
        if not self.client_id:
            raise OMSError("a persistent session needs a client id")
        if not 1 <= self.receive_maximum <= 65535:
            raise OMSError(f"receive_maximum must be in 1..65535, not {self.receive_maximum}")
        if self.max_batch < 1:
            raise OMSError(f"max_batch must be at least 1, not {self.max_batch}")
        if self.batch_seconds < 0 or self.batch_idle < 0:
            raise OMSError("batch_seconds and batch_idle may not be negative")
        if self.keepalive < 1:
            raise OMSError(f"keepalive must be at least 1 second, not {self.keepalive}")
        if not 0 <= self.session_expiry <= 0xFFFFFFFF:
            raise OMSError(f"session_expiry out of range: {self.session_expiry}")
        if self.rejected_topic is None:
            self.rejected_topic = f"{self.prefix}rejected"
        if any(c in self.rejected_topic for c in "+#"):
            raise OMSError(f"rejected topic {self.rejected_topic!r} may not contain wildcards")
        if any(c in self.openfmb_prefix for c in "+#\0"):
            raise OMSError(
                f"OpenFMB prefix {self.openfmb_prefix!r} may not contain '+', '#' or NUL"
            )
        if self.openfmb_prefix and not self.openfmb_prefix.endswith("/"):
            self.openfmb_prefix += "/"
        if self.openfmb_prefix and self.openfmb_prefix.startswith(self.prefix or "\0"):
            raise OMSError("the OpenFMB prefix may not lie under the listener's own prefix")
        if not self.dead_volts > 0:
            raise OMSError(f"dead_volts must be above 0, not {self.dead_volts}")

    @property
    def topics(self) -> list[str]:
        """Every topic filter subscribed to: the own ones, then OpenFMB's."""
        own = subscriptions(self.prefix)
        return own + (openfmb.subscriptions(self.openfmb_prefix) if self.openfmb_prefix else [])


def subscriptions(prefix: str) -> list[str]:
    """The topic filters the listener subscribes to (QoS 1), for ``prefix``."""
    return [
        f"{prefix}scada/#",
        f"{prefix}ami/#",
        f"{prefix}calls/#",
        f"{prefix}crews/+/gps",
        f"{prefix}events/#",
    ]


# ------------------------------------------------------------------ decoding
def _route(topic: str, prefix: str) -> tuple[tuple[str, ...], str | None, str | None]:
    """The types ``topic`` accepts, the type it implies, and the crew it names."""
    if not topic.startswith(prefix):
        raise EventError(f"topic is not under the prefix {prefix!r}")
    parts = topic[len(prefix) :].split("/")
    family = parts[0]
    if family == "crews":
        if len(parts) != 3 or parts[2] != "gps" or not parts[1]:
            raise EventError(f"crew positions go to {prefix}crews/<crew>/gps")
        allowed, implied = ROUTES["crews"]
        return allowed, implied, parts[1]
    if family not in ROUTES:
        raise EventError("not a telemetry topic")
    allowed, implied = ROUTES[family]
    return allowed, implied, None


def decode_message(
    topic: str, payload: bytes, prefix: str
) -> tuple[bool, list[tuple[Any, dict[str, Any] | EventError]]]:
    """The events of one MQTT message, each a dict or the reason it is rejected.

    The payload is one JSON object or an array of them. The topic decides
    which types are allowed and fills in what it implies (see the module
    notes): ``type`` on single-type topics, and ``crew`` (plus an ``id``
    made of crew and time, when there is none) on a crew's GPS topic.

    Returns
    -------
    array : bool
        Whether the payload was a JSON array.
    items : list of (object as received, event dict or EventError)

    Raises
    ------
    EventError
        When the message as a whole is unusable (not UTF-8, not JSON, not an
        object or array, a topic that is not a telemetry topic).
    """
    allowed, implied, crew = _route(topic, prefix)
    if not payload:
        raise EventError("empty payload")
    try:
        doc = loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise EventError("payload is not UTF-8") from None
    if isinstance(doc, dict):
        items = [doc]
    elif isinstance(doc, list):
        items = doc
    else:
        raise EventError(f"payload must be a JSON object or array, not {type(doc).__name__}")
    out: list[tuple[Any, dict[str, Any] | EventError]] = []
    for item in items:
        try:
            out.append((item, _fill(item, allowed, implied, crew, topic)))
        except EventError as exc:
            out.append((item, exc))
    return isinstance(doc, list), out


def _fill(
    item: Any, allowed: tuple[str, ...], implied: str | None, crew: str | None, topic: str
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise EventError(f"an event must be a JSON object, not {type(item).__name__}")
    obj = dict(item)
    if "type" not in obj and implied is not None:
        obj["type"] = implied
    etype = obj.get("type")
    if etype is None:
        raise EventError(f"missing field 'type' (one of {', '.join(allowed)})")
    if etype not in allowed:
        raise EventError(
            f"type {etype!r} does not belong on {topic} (it takes {', '.join(allowed)})"
        )
    if crew is not None:
        if "crew" not in obj:
            obj["crew"] = crew
        elif obj["crew"] != crew:
            raise EventError(f"crew {obj['crew']!r} does not match the topic's crew {crew!r}")
        if "id" not in obj and isinstance(obj.get("time"), str):
            obj["id"] = f"gps:{crew}:{obj['time']}"
    return obj


# -------------------------------------------------------------------- report
@dataclass
class Rejection:
    """One rejected event (or message): where it came from and why."""

    topic: str
    error: str
    index: int | None = None  # position in a JSON array
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "index": self.index, "id": self.id, "error": self.error}

    def __str__(self) -> str:
        where = self.topic + (f"[{self.index}]" if self.index is not None else "")
        what = f" (id {self.id})" if self.id else ""
        return f"{where}{what}: {self.error}"


@dataclass
class ListenReport:
    """What a listener did: messages, events accepted, duplicates, rejections."""

    messages: int = 0
    batches: int = 0
    connects: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected_total: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def reject(self, rejection: Rejection) -> None:
        self.rejected_total += 1
        if len(self.rejected) < _MAX_REJECTIONS:
            self.rejected.append(rejection)

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "batches": self.batches,
            "connects": self.connects,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.to_dict() for r in self.rejected],
            "rejected_total": self.rejected_total,
        }

    def summary(self) -> str:
        return (
            f"{self.messages} messages: {self.accepted} events accepted, "
            f"{self.duplicates} duplicates, {self.rejected_total} rejected"
        )


@dataclass
class _Message:
    generation: int  # the connection it arrived on: acknowledged only on that one
    topic: str
    payload: bytes
    mid: int
    qos: int


# ------------------------------------------------------------------ listener
class Listener:
    """Subscribes to the telemetry topics and feeds the engine in batches.

    Parameters
    ----------
    engine : OutageEngine
        Used only by the thread that calls :meth:`run`.
    settings : ListenSettings, optional

    Examples
    --------
    >>> listener = Listener(OutageEngine(connect(url)), ListenSettings())  # doctest: +SKIP
    >>> report = listener.run(seconds=60)  # doctest: +SKIP
    """

    def __init__(self, engine: OutageEngine, settings: ListenSettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or ListenSettings()
        self.report = ListenReport()
        #: Set once the subscriptions are granted (on every connection).
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._inbox: queue.Queue[_Message] = queue.Queue()
        self._generation = 0
        self._last_arrival = time.monotonic()
        self._subscribe_mid: int | None = None
        s = self.settings
        self.openfmb = openfmb.OpenFMBDecoder(s.openfmb_prefix, s.openfmb_devices, s.dead_volts)
        self.client = self._make_client()

    # ------------------------------------------------------------- client
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        v5 = s.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        client.manual_ack_set(True)
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls_ca is not None:
            client.tls_set(ca_certs=s.tls_ca, certfile=s.tls_cert, keyfile=s.tls_key)
        client.reconnect_delay_set(
            min_delay=max(1, round(s.reconnect_min)), max_delay=max(1, round(s.reconnect_max))
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        s = self.settings
        if reason_code.is_failure:
            log.error("broker %s:%s refused the connection: %s", s.host, s.port, reason_code)
            return
        self._generation += 1
        self.report.connects += 1
        log.info(
            "connected to %s:%s as %s (%s)",
            s.host,
            s.port,
            s.client_id,
            "session resumed" if flags.session_present else "new session",
        )
        result, mid = client.subscribe([(t, 1) for t in s.topics])
        if result != mqtt.MQTT_ERR_SUCCESS:
            log.error("could not subscribe: %s", mqtt.error_string(result))
        self._subscribe_mid = mid

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        s = self.settings
        log.warning("broker %s:%s not reachable; retrying", s.host, s.port)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.ready.clear()
        if self._stop.is_set():
            log.info("disconnected from the broker")
        else:
            log.warning("connection to the broker lost (%s); reconnecting", reason_code)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid:
            return
        topics = self.settings.topics
        refused = [t for t, rc in zip(topics, reason_codes, strict=False) if rc.is_failure]
        for topic in refused:
            log.error("the broker refused the subscription to %s", topic)
        for topic, rc in zip(topics, reason_codes, strict=False):
            if not rc.is_failure and rc.value == 0:
                log.warning("the broker granted only QoS 0 for %s: messages may be lost", topic)
        granted = [t for t in topics if t not in refused]
        log.info("listening on %s (QoS 1)", ", ".join(granted))
        self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._last_arrival = time.monotonic()
        self._inbox.put(
            _Message(
                self._generation, message.topic, bytes(message.payload), message.mid, message.qos
            )
        )

    # ---------------------------------------------------------------- run
    def stop(self) -> None:
        """Ask :meth:`run` to finish its batch, acknowledge it and disconnect.

        Safe to call from a signal handler or another thread.
        """
        self._stop.set()

    def run(self, *, seconds: float | None = None, once: bool = False) -> ListenReport:
        """Connect, then apply what arrives until :meth:`stop` (or a limit).

        Parameters
        ----------
        seconds : float, optional
            Stop after this many seconds.
        once : bool
            Stop when subscribed and nothing arrived for a second (take what
            the broker kept for this session, then exit).

        A listener runs once; make a new one to listen again.

        Returns
        -------
        ListenReport
        """
        s = self.settings
        deadline = None if seconds is None else time.monotonic() + seconds
        properties = None
        if s.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = s.session_expiry
            properties.ReceiveMaximum = s.receive_maximum
            self.client.connect_async(
                s.host, s.port, keepalive=s.keepalive, clean_start=False, properties=properties
            )
        else:  # clean_session=False was given to the client
            self.client.connect_async(s.host, s.port, keepalive=s.keepalive)
        self.client.loop_start()
        next_progress = time.monotonic() + s.progress_seconds
        shown = (0, 0, 0)
        try:
            while not self._stop.is_set():
                batch = self._collect(deadline)
                if batch:
                    self._process(batch)
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if (
                    once
                    and self.ready.is_set()
                    and self._inbox.empty()
                    and now - self._last_arrival >= max(1.0, s.batch_seconds)
                ):
                    break
                if s.progress_seconds > 0 and now >= next_progress:
                    next_progress = now + s.progress_seconds
                    counts = (self.report.messages, self.report.rejected_total, self.report.batches)
                    if counts != shown:
                        shown = counts
                        log.info("%s", self.report.summary())
            self._stop.set()
            batch = self._drain()
            if batch:  # finish what has arrived, so it is acknowledged now
                self._process(batch)
        finally:
            self._stop.set()
            self.client.disconnect()
            self.client.loop_stop()
            self.ready.clear()
        log.info("%s", self.report.summary())
        return self.report

    def _collect(self, deadline: float | None) -> list[_Message]:
        """Wait for a first message (a short while), then gather a batch."""
        s = self.settings
        wait = 0.2
        if deadline is not None:
            wait = max(0.0, min(wait, deadline - time.monotonic()))
        try:
            first = self._inbox.get(timeout=wait)
        except queue.Empty:
            return []
        batch = [first]
        start = time.monotonic()
        while len(batch) < s.max_batch and not self._stop.is_set():
            left = s.batch_seconds - (time.monotonic() - start)
            if left <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=min(left, s.batch_idle)))
            except queue.Empty:
                break
        return batch

    def _drain(self) -> list[_Message]:
        batch: list[_Message] = []
        while len(batch) < self.settings.max_batch:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[_Message]) -> None:
        """Decode, apply in one engine call, then acknowledge the whole batch."""
        prefix = self.settings.prefix
        events: list[tuple[int, dict[str, Any]]] = []
        origin: dict[int, tuple[int, _Message, int | None, dict[str, Any]]] = {}
        rejections: list[tuple[tuple[int, int], Rejection, Any]] = []  # in arrival order
        for position, message in enumerate(batch):
            try:
                if self.openfmb.handles(message.topic):
                    array, items = self._openfmb(message)
                else:
                    array, items = decode_message(message.topic, message.payload, prefix)
            except EventError as exc:
                text = message.payload.decode("utf-8", "replace")[:_MAX_ECHO]
                rejections.append(((position, -1), Rejection(message.topic, str(exc)), text))
                continue
            for index, (raw, item) in enumerate(items):
                where = index if array else None
                if isinstance(item, EventError):
                    eid = _id(raw.get("id")) if isinstance(raw, dict) else None
                    rejection = Rejection(message.topic, str(item), where, eid)
                    rejections.append(((position, index), rejection, raw))
                    continue
                number = len(events) + 1
                events.append((number, item))
                origin[number] = (position, message, where, item)
        report = self._apply(events) if events else IngestReport()
        if report is None:
            return  # stopping while the database is away: the broker keeps the batch
        for r in report.rejected:
            position, message, where, item = origin[r["line"]]
            rejection = Rejection(message.topic, r["error"], where, _id(item.get("id")))
            rejections.append(((position, where or 0), rejection, item))
        rejections.sort(key=lambda r: r[0])
        for _, rejection, payload in rejections:
            self._reject(rejection, payload)
        self.report.messages += len(batch)
        self.report.batches += 1
        self.report.accepted += report.accepted
        self.report.duplicates += report.duplicates
        log.debug(
            "batch of %d messages: %d accepted, %d duplicates, %d rejected",
            len(batch),
            report.accepted,
            report.duplicates,
            len(rejections),
        )
        # Committed: now the broker may forget these messages.
        for message in batch:
            if message.qos > 0 and message.generation == self._generation:
                self.client.ack(message.mid, message.qos)

    def _openfmb(self, message: _Message) -> tuple[bool, list[tuple[Any, Any]]]:
        """An OpenFMB profile's events, each given as the profile it came from."""
        try:
            doc = loads(message.payload.decode("utf-8"))
        except (UnicodeDecodeError, EventError) as exc:
            why = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise EventError(f"{why} (protobuf profiles are not read: publish JSON)") from None
        events = self.openfmb.decode(message.topic, doc)
        return len(events) > 1, [(doc, e) for e in events]

    def _apply(self, events: list[tuple[int, dict[str, Any]]]) -> IngestReport | None:
        """One engine call; retried while the database is away (None: stopped).

        An unexpected error is not allowed to block the stream: the batch is
        applied one event at a time, and the event that fails is rejected.
        """
        delay = 0.5
        reload = False
        while True:
            try:
                if reload:
                    # The engine reloads its state after a failed batch, but that
                    # reload may have failed too: start from what was committed.
                    old = self.engine
                    self.engine = OutageEngine(old.db, old.config, wall_clock=old.wall_clock)
                    reload = False
                return self.engine.ingest_objects(events, by=SENDER)
            except _TRANSIENT as exc:
                log.warning("cannot apply the batch (%s); retrying in %.1f s", _short(exc), delay)
                if self._stop.wait(delay):
                    log.warning("stopping: %d events left to the broker", len(events))
                    return None
                delay = min(delay * 2, 30.0)
                reload = True
            except Exception as exc:
                if len(events) == 1:
                    log.exception("event %s could not be applied", events[0][1].get("id"))
                    report = IngestReport()
                    report.rejected.append(
                        {"line": events[0][0], "error": f"could not be applied: {exc!r}"}
                    )
                    return report
                merged = IngestReport()
                for pair in events:
                    one = self._apply([pair])
                    if one is None:
                        return None
                    merged.accepted += one.accepted
                    merged.duplicates += one.duplicates
                    merged.rejected.extend(one.rejected)
                return merged

    def _reject(self, rejection: Rejection, payload: Any) -> None:
        log.warning("rejected %s", rejection)
        self.report.reject(rejection)
        topic = self.settings.rejected_topic
        if topic:
            doc = {**rejection.to_dict(), "payload": payload}
            self.client.publish(topic, json.dumps(doc, ensure_ascii=False, default=str), qos=1)


# ------------------------------------------------------------------ helpers
def _id(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
