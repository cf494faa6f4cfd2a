"""Customer notifications: who is told what, the outbox, and the channels that deliver it.

Messages (kind):

- ``acknowledged``: we know about the outage (case id, ETR when known),
  when its job is raised and to each later caller, once;
- ``dispatched``: a crew is on the way;
- ``etr_changed``: the estimate moved by more than ``etr_change_min``;
- ``restored``: supply is back;
- ``survey``: the callback survey after restoration; the answer comes back
  as a ``survey_answer`` event and is stored with the message.

Recipients of an outage's messages: its customers who called, and those
who subscribed (``oms notify subscribe``), unless they opted out. A caller
without a subscription is told by SMS at the phone number of the customers
file. The outbox never holds the same message twice for a customer,
outage, kind and content (a unique key), so a replay or a repeated ETR
sends nothing new.

A batch of the engine writes *notices* (one per message and outage, with
its recipients) in its own transaction; they are fanned out into a message
per customer and channel right after it (``dispatch.fan_out: inline``) or
by the notifier (``notifier``: ``oms notify send`` or ``oms notify
fan-out``), so a storm's hundreds of thousands of messages never lengthen
the writer's transaction.

Delivery (``oms notify send``) goes through a :class:`Channel` per channel
name: ``file`` (the embedded default: JSON lines in a file, also standing
in as the SMS gateway), ``sms`` (an :class:`SmsGateway` adapter; the file
one by default), ``email`` (SMTP) and ``webhook`` (HTTP POST of JSON).
Each message is ``queued``, then ``sent`` or ``failed`` (with the error and
the number of attempts; failed ones are retried up to ``max_attempts``).

One message per change per customer: before sending, a queued message that
a later one for the same customer, outage and channel makes stale is
``skipped`` (an older ETR when a newer one is queued; anything but the
survey once ``restored`` is queued). With :class:`QuietHours` nothing but
the urgent kinds is sent inside them: the messages wait, are collapsed the
same way, and go out when the quiet hours end (one message in the morning,
not five from the night).
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from oms.exceptions import OMSError
from oms.storage import schema

__all__ = [
    "CHANNELS",
    "Channel",
    "FileChannel",
    "QuietHours",
    "SmsGateway",
    "SmtpChannel",
    "WebhookChannel",
    "deliver",
]

CHANNELS = ("sms", "email", "webhook", "file")


class Channel(Protocol):
    """Delivers one message; raises on failure."""

    def send(self, address: str | None, message: str, meta: Mapping[str, Any]) -> None: ...


class SmsGateway(Protocol):
    """The adapter an SMS provider implements: one text to one number."""

    def send_sms(self, number: str, text: str) -> None: ...


@dataclass
class FileChannel:
    """Appends each message as a JSON line to ``path`` (the embedded default)."""

    path: Path

    def send(self, address: str | None, message: str, meta: Mapping[str, Any]) -> None:
        with Path(self.path).open("a", encoding="utf-8") as fh:
            fh.write(
                json.dumps({"to": address, "message": message, **meta}, ensure_ascii=False) + "\n"
            )

    def send_sms(self, number: str, text: str) -> None:
        self.send(number, text, {"channel": "sms"})


@dataclass
class SmsChannel:
    """SMS through a gateway adapter."""

    gateway: SmsGateway

    def send(self, address: str | None, message: str, meta: Mapping[str, Any]) -> None:
        if not address:
            raise OMSError("no phone number")
        self.gateway.send_sms(address, message)


@dataclass
class SmtpChannel:
    """Email through an SMTP server."""

    host: str
    port: int = 25
    sender: str = "outages@localhost"

    def send(self, address: str | None, message: str, meta: Mapping[str, Any]) -> None:
        if not address:
            raise OMSError("no email address")
        mail = EmailMessage()
        mail["From"], mail["To"] = self.sender, address
        mail["Subject"] = f"Power outage {meta.get('outage') or ''}: {meta.get('kind')}"
        mail.set_content(message)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(mail)


@dataclass
class WebhookChannel:
    """HTTP POST of the message as JSON to the subscriber's URL."""

    timeout_s: float = 10.0

    def send(self, address: str | None, message: str, meta: Mapping[str, Any]) -> None:
        if not address:
            raise OMSError("no webhook URL")
        body = json.dumps({"message": message, **meta}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            address, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            if response.status >= 300:
                raise OMSError(f"webhook answered {response.status}")


@dataclass(frozen=True)
class QuietHours:
    """Hours in which customers are not messaged, in a time zone (``22:00-07:00``).

    ``urgent`` kinds are sent even then (none by default).
    """

    start: time
    end: time
    zone: str = "UTC"
    urgent: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, zone: str = "UTC", urgent: tuple[str, ...] = ()) -> QuietHours:
        """From ``HH:MM-HH:MM``.

        Raises
        ------
        OMSError
            Not two times, or an unknown time zone.
        """
        try:
            a, b = (time.fromisoformat(x.strip()) for x in text.split("-"))
            ZoneInfo(zone)
        except (ValueError, KeyError, ZoneInfoNotFoundError) as exc:
            raise OMSError(f"quiet hours must be HH:MM-HH:MM in a known time zone: {exc}") from None
        return cls(a, b, zone, urgent)

    def holds(self, now: datetime) -> bool:
        """Whether ``now`` is inside the quiet hours (they may run past midnight)."""
        local = now.astimezone(ZoneInfo(self.zone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


#: Kinds a later message for the same customer, outage and channel makes stale.
_STALE_BEHIND = {
    "etr_changed": ("acknowledged", "etr_changed"),
    "dispatched": ("dispatched",),
    "restored": ("acknowledged", "dispatched", "etr_changed"),
}


def _stale(rows: Sequence[Mapping[Any, Any]]) -> set[int]:
    """Seqs of queued messages a later queued one for the same customer,
    outage and channel makes pointless. O(rows)."""
    stale: set[int] = set()
    latest: dict[tuple[Any, Any, Any], list[Mapping[Any, Any]]] = {}
    for r in rows:
        if r["status"] == "queued" and r["outage"]:
            latest.setdefault((r["customer"], r["outage"], r["channel"]), []).append(r)
    for group in latest.values():
        for k, r in enumerate(group):
            later = {x["kind"] for x in group[k + 1 :]}
            if any(r["kind"] in _STALE_BEHIND.get(kind, ()) for kind in later):
                stale.add(int(r["seq"]))
    return stale


def deliver(
    db: Engine,
    channels: Mapping[str, Channel],
    now: datetime,
    *,
    limit: int = 1000,
    max_attempts: int = 3,
    quiet: QuietHours | None = None,
) -> dict[str, int]:
    """Send queued (and failed, up to ``max_attempts``) messages; counts by
    outcome (``sent``, ``failed``, ``skipped`` as stale or because the
    customer opted out since it was queued, ``held`` for the end of the
    quiet hours). Notices not fanned out yet are first
    (:func:`oms.engine.repository.fan_out`)."""
    from oms.engine.repository import fan_out

    fan_out(db, now)
    n = schema.notifications
    with db.connect() as conn:
        rows = (
            conn.execute(
                select(n)
                .where(
                    (n.c.status == "queued")
                    | ((n.c.status == "failed") & (n.c.attempts < max_attempts))
                )
                .order_by(n.c.seq)
                .limit(limit)
            )
            .mappings()
            .all()
        )
    counts = {"sent": 0, "failed": 0, "skipped": 0, "held": 0}
    stale = _stale(rows)
    # A customer who opted out after a message was queued gets nothing more.
    s = schema.subscriptions
    wanted = sorted({r["customer"] for r in rows})
    with db.connect() as conn:
        out = set(
            conn.execute(
                select(s.c.customer).where(s.c.customer.in_(wanted), s.c.opted_out.is_(True))
            ).scalars()
        )
    refused = {r["seq"] for r in rows if r["customer"] in out and r["seq"] not in stale}
    for seqs, why in ((stale, "stale"), (refused, "opted out")):
        if seqs:
            with db.begin() as conn:
                conn.execute(
                    update(n).where(n.c.seq.in_(sorted(seqs))).values(status="skipped", error=why)
                )
            counts["skipped"] += len(seqs)
    stale |= refused
    quiet_now = quiet is not None and quiet.holds(now)
    for r in rows:
        if r["seq"] in stale:
            continue
        if quiet_now and quiet is not None and r["kind"] not in quiet.urgent:
            counts["held"] += 1
            continue
        channel = channels.get(r["channel"])
        values: dict[str, Any] = {"attempts": r["attempts"] + 1}
        try:
            if channel is None:
                raise OMSError(f"no {r['channel']} channel is configured")
            channel.send(
                r["address"],
                r["message"],
                {"outage": r["outage"], "kind": r["kind"], "customer": r["customer"]},
            )
        except Exception as exc:  # a channel failure is recorded, never fatal
            values.update(status="failed", error=str(exc))
            counts["failed"] += 1
        else:
            values.update(status="sent", sent_at=now, error=None)
            counts["sent"] += 1
        with db.begin() as conn:
            conn.execute(update(n).where(n.c.seq == r["seq"]).values(**values))
    return counts
