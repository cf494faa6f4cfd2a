"""Customer notifications: who is told what, the outbox, and the channels that deliver it.

Messages (kind):

- ``acknowledged``: we know about the outage (case id, ETR when known);
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

Delivery (``oms notify send``) goes through a :class:`Channel` per channel
name: ``file`` (the embedded default: JSON lines in a file, also standing
in as the SMS gateway), ``sms`` (an :class:`SmsGateway` adapter; the file
one by default), ``email`` (SMTP) and ``webhook`` (HTTP POST of JSON).
Each message is ``queued``, then ``sent`` or ``failed`` (with the error and
the number of attempts; failed ones are retried up to ``max_attempts``).
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from oms.exceptions import OMSError
from oms.storage import schema

__all__ = [
    "CHANNELS",
    "Channel",
    "FileChannel",
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


def deliver(
    db: Engine,
    channels: Mapping[str, Channel],
    now: datetime,
    *,
    limit: int = 1000,
    max_attempts: int = 3,
) -> dict[str, int]:
    """Send queued (and failed, up to ``max_attempts``) messages; counts by outcome."""
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
    counts = {"sent": 0, "failed": 0}
    for r in rows:
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
