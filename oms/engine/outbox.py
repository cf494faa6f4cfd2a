"""The notification outbox: who is told what about an outage, queued per batch. No I/O.

The messages and their recipients are described in :mod:`oms.notify`.
A batch queues *notices* (one per message and outage, with its
recipients); the repository writes them with the batch, then fans each
out (:func:`messages_of`) into the ``notifications`` table in a transaction
of its own, which :mod:`oms.notify` delivers from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from oms.outages import case_ref

__all__ = ["Outbox", "compose", "messages_of"]


def _hhmm(t: datetime | None) -> str:
    return t.strftime("%H:%M UTC") if t else "not yet known"


def compose(kind: str, outage: str, etr: datetime | None) -> str:
    """The text of a message."""
    if kind == "acknowledged":
        return (
            f"We know about the power cut at your address (case {outage}). "
            f"Estimated restoration: {_hhmm(etr)}."
        )
    if kind == "dispatched":
        return f"A crew is on its way to the fault cutting your supply (case {outage})."
    if kind == "etr_changed":
        return f"New estimated restoration time for case {outage}: {_hhmm(etr)}."
    if kind == "restored":
        return f"Supply is restored (case {outage}). Thank you for your patience."
    if kind == "survey":
        return (
            f"How satisfied are you with the repair of case {outage}? "
            "Reply 1 (poor) to 5 (very good)."
        )
    raise ValueError(f"unknown message kind {kind!r}")


#: Planned notice -> the notification's kind (16 characters at most).
_PLANNED_KIND = {
    "advance": "planned_notice",
    "start": "planned_start",
    "end": "planned_end",
    "cancelled": "planned_cancel",
}


def compose_planned(kind: str, ref: str, start: datetime, end: datetime) -> str:
    """The text of a planned outage's notice (``advance``, ``start``, ``end``, ``cancelled``)."""
    window = f"{start.strftime('%Y-%m-%d %H:%M')} to {end.strftime('%Y-%m-%d %H:%M')} UTC"
    if kind == "advance":
        return f"Planned work will interrupt your supply from {window} (notice {ref})."
    if kind == "start":
        return (
            f"The planned interruption of your supply has begun (notice {ref}); "
            f"planned end {end.strftime('%Y-%m-%d %H:%M')} UTC."
        )
    if kind == "end":
        return f"The planned work is finished and your supply is back (notice {ref})."
    if kind == "cancelled":
        return f"The planned interruption {window} is cancelled (notice {ref})."
    raise ValueError(f"unknown planned notice kind {kind!r}")


class Outbox:
    """Who subscribed, and the notices decided during one batch (the repository writes them).

    A notice is one message about one outage with its recipients: the
    ingest transaction writes it as one row, however many customers it
    tells. :func:`messages_of` gives its message per customer and channel,
    queued afterwards in a transaction of its own (``repository.fan_out``).
    """

    def __init__(
        self,
        subscriptions: Iterable[Mapping[str, Any]],
        etr_change_min: float,
        case_key: str | None = None,
        acknowledged: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.case_key = case_key
        #: Per outage, the customers told it is known (``acknowledged``), as
        #: stored: a caller who comes later is told too, once.
        self.acknowledged = {k: set(v) for k, v in (acknowledged or {}).items()}
        self.etr_change_min = etr_change_min
        #: Customers subscribed and not opted out: told about outages above them.
        self.subscribers = {r["customer"] for r in subscriptions if not r["opted_out"]}
        self.queued: list[dict[str, Any]] = []
        self.last_etr: dict[str, datetime | None] = {}
        self._refs: dict[str, str] = {}

    def queue(
        self,
        kind: str,
        outage: str,
        customers: Iterable[str],
        now: datetime,
        etr: datetime | None = None,
    ) -> None:
        ref = self.ref(outage)
        if kind == "acknowledged":
            customers = list(customers)
            self.acknowledged.setdefault(outage, set()).update(customers)
        self._queue(kind, outage, customers, now, compose(kind, ref, etr))

    def ref(self, outage: str) -> str:
        """The reference customers are told for ``outage`` (the unguessable
        :func:`~oms.outages.case_ref`, never the outage id), kept per outage:
        an HMAC per notice was half the cost of queueing one in a large storm."""
        if not self.case_key:
            return outage
        ref = self._refs.get(outage)
        if ref is None:
            ref = self._refs[outage] = case_ref(self.case_key, outage)
        return ref

    def not_acknowledged(self, outage: str, customers: Iterable[str]) -> list[str]:
        """Those of ``customers`` not yet told that ``outage`` is known."""
        told = self.acknowledged.get(outage, set())
        return [c for c in customers if c not in told]

    def _queue(
        self, kind: str, outage: str, customers: Iterable[str], now: datetime, text: str
    ) -> None:
        recipients = sorted(set(customers))
        if not recipients:
            return
        # The same notice decided again (a replay) is written once.
        key = hashlib.sha256(f"{outage}|{kind}|{text}|{','.join(recipients)}".encode()).hexdigest()
        self.queued.append(
            {
                "key": key,
                "outage": outage,
                "kind": kind,
                "message": text,
                "recipients": recipients,
                "created_at": now,
            }
        )

    def queue_planned(
        self,
        kind: str,
        planned: str,
        customers: Iterable[str],
        now: datetime,
        start: datetime,
        end: datetime,
    ) -> None:
        """Queue a planned outage's notice (its id is public: it is announced ahead)."""
        text = compose_planned(kind, planned, start, end)
        self._queue(_PLANNED_KIND[kind], planned, customers, now, text)

    def etr_moved(self, outage: str, etr: datetime | None) -> bool:
        """Whether the ETR is worth a message: the first one after customers were
        told it was not yet known, or one that moved by more than
        ``etr_change_min`` since it was last told. O(1)."""
        if etr is None:
            return False
        if outage not in self.last_etr:  # nothing told in this process (a restart)
            self.last_etr[outage] = etr
            return False
        last = self.last_etr[outage]
        if last is None or abs((etr - last).total_seconds()) / 60 > self.etr_change_min:
            self.last_etr[outage] = etr
            return True
        return False


def messages_of(
    notice: Mapping[str, Any],
    routes: Mapping[str, list[tuple[str, str | None]]],
    phones: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """The notifications of one notice: a message per recipient and channel.

    ``routes`` are the recipients' subscriptions (channel, address), an
    empty list for one who opted out; a recipient without any is told by
    SMS at ``phones``, or not at all without a phone. Each message has the
    unique key of the outbox (customer, outage, kind, channel, text), so a
    notice fanned out twice, or two notices telling a customer the same
    thing, queue one message. O(recipients).
    """
    outage, kind, text, now = (
        notice["outage"],
        notice["kind"],
        notice["message"],
        notice["created_at"],
    )
    rows = []
    for customer in notice["recipients"]:
        got = routes.get(customer)
        for channel, address in got if got is not None else [("sms", phones.get(customer))]:
            if channel == "sms" and not address:
                continue
            mark = f"{customer}|{outage}|{kind}|{channel}|{text}"
            key = hashlib.sha256(mark.encode()).hexdigest()
            rows.append(
                {
                    "key": key,
                    "customer": customer,
                    "outage": outage,
                    "kind": kind,
                    "channel": channel,
                    "address": address,
                    "message": text,
                    "status": "queued",
                    "attempts": 0,
                    "created_at": now,
                }
            )
    return rows
