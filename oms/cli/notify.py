"""``oms notify ...``: customer notifications, subscriptions and the callback survey."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from oms.cli.actions import act, actor_options
from oms.cli.options import db_option, emit, handles_errors, json_option, table

__all__ = ["notify"]


# ---------------------------------------------------------------- notify
@click.group()
def notify() -> None:
    """Customer notifications: subscriptions, opt-outs, the outbox and its delivery."""


@notify.command("subscribe")
@click.argument("customer")
@click.option(
    "--channel",
    type=click.Choice(["sms", "email", "webhook", "file"]),
    default="sms",
    show_default=True,
)
@click.option(
    "--address", default=None, help="Phone, email address or URL (sms: the customer's phone)."
)
@db_option
@json_option
@handles_errors
def notify_subscribe(
    customer: str, channel: str, address: str | None, db: str | None, as_json: bool
) -> None:
    """Subscribe CUSTOMER to outage notices on a channel (clears an opt-out)."""
    _subscription(db, customer, channel, address, opted_out=False, as_json=as_json)


@notify.command("optout")
@click.argument("customer")
@db_option
@json_option
@handles_errors
def notify_optout(customer: str, db: str | None, as_json: bool) -> None:
    """CUSTOMER receives no notices at all from now on."""
    _subscription(db, customer, "*", None, opted_out=True, as_json=as_json)


def _subscription(
    db: str | None,
    customer: str,
    channel: str,
    address: str | None,
    *,
    opted_out: bool,
    as_json: bool,
) -> None:
    from sqlalchemy import delete, insert, select

    from oms.exceptions import OMSError
    from oms.storage import schema
    from oms.storage.db import connect

    engine = connect(db)
    with engine.begin() as conn:
        known = conn.execute(
            select(schema.customers.c.phone).where(schema.customers.c.id == customer)
        ).first()
        if known is None:
            raise OMSError(f"unknown customer {customer!r}")
        address = address or (known.phone if channel == "sms" else None)
        if channel in ("email", "webhook") and not address:
            raise click.UsageError(f"--address is needed for {channel}")
        s = schema.subscriptions
        if opted_out:
            conn.execute(delete(s).where(s.c.customer == customer))
        else:
            conn.execute(
                delete(s).where(
                    (s.c.customer == customer) & ((s.c.channel == channel) | (s.c.channel == "*"))
                )
            )
        row = {
            "customer": customer,
            "channel": channel,
            "address": address,
            "opted_out": opted_out,
            "updated_at": datetime.now(timezone.utc),
        }
        conn.execute(insert(s).values(**row))
    doc = {k: v for k, v in row.items() if k != "updated_at"}
    emit(
        doc,
        as_json,
        lambda: f"{customer}: " + ("opted out" if opted_out else f"{channel} {address}"),
    )


@notify.command("send")
@click.option(
    "--file",
    "file_path",
    type=click.Path(dir_okay=False),
    default="notifications.jsonl",
    show_default=True,
    help="Where the file channel (and the default SMS gateway) writes.",
)
@click.option("--smtp-host", default=None, help="SMTP server for email.")
@click.option("--smtp-port", type=int, default=25, show_default=True)
@click.option("--limit", type=int, default=1000, show_default=True)
@click.option(
    "--quiet-hours",
    default=None,
    metavar="HH:MM-HH:MM",
    help="Send nothing in these hours (held, collapsed, sent when they end).",
)
@click.option("--time-zone", default="UTC", show_default=True, help="Of the quiet hours.")
@click.option(
    "--urgent", multiple=True, metavar="KIND", help="A kind sent even in quiet hours (repeatable)."
)
@db_option
@json_option
@handles_errors
def notify_send(
    file_path: str,
    smtp_host: str | None,
    smtp_port: int,
    limit: int,
    quiet_hours: str | None,
    time_zone: str,
    urgent: tuple[str, ...],
    db: str | None,
    as_json: bool,
) -> None:
    """Deliver queued messages through their channels; record sent or failed.

    Stale messages (an older ETR behind a newer one, anything but the survey
    behind "restored") are skipped: one message per change per customer.
    Exits 1 when a message failed (recorded, retried by the next run), so
    the scheduler running it sees a channel down.
    """
    from oms.notify import (
        Channel,
        FileChannel,
        QuietHours,
        SmsChannel,
        SmtpChannel,
        WebhookChannel,
        deliver,
    )
    from oms.storage.db import connect

    files = FileChannel(Path(file_path))
    channels: dict[str, Channel] = {
        "file": files,
        "sms": SmsChannel(files),
        "webhook": WebhookChannel(),
    }
    if smtp_host:
        channels["email"] = SmtpChannel(smtp_host, smtp_port)
    quiet = QuietHours.parse(quiet_hours, time_zone, urgent) if quiet_hours else None
    counts = deliver(connect(db), channels, datetime.now(timezone.utc), limit=limit, quiet=quiet)
    emit(
        counts,
        as_json,
        lambda: (
            f"sent {counts['sent']}, failed {counts['failed']}, "
            f"skipped {counts['skipped']} (stale), held {counts['held']} (quiet hours)"
        ),
    )
    if counts["failed"]:
        sys.exit(1)


@notify.command("fan-out")
@db_option
@json_option
@handles_errors
def notify_fan_out(db: str | None, as_json: bool) -> None:
    """Turn pending notices into messages per customer and channel (once each).

    For a data set whose engine configuration has dispatch.fan_out set to
    "notifier": the engine writes one notice per message and outage, and
    this (or "oms notify send") queues the messages. Safe to run beside the
    engine and another notifier: each notice is fanned out once.
    """
    from oms.engine.repository import fan_out
    from oms.storage.db import connect

    queued = fan_out(connect(db), datetime.now(timezone.utc))
    emit({"queued": queued}, as_json, lambda: f"queued {queued} message(s)")


@notify.command("list")
@click.option("--customer", default=None)
@click.option("--outage", default=None)
@db_option
@json_option
@handles_errors
def notify_list(customer: str | None, outage: str | None, db: str | None, as_json: bool) -> None:
    """Messages in the outbox with their delivery status (and survey answers)."""
    from sqlalchemy import select

    from oms.intake.events import iso
    from oms.storage import schema
    from oms.storage.db import connect

    n = schema.notifications
    query = select(n).order_by(n.c.seq)
    if customer:
        query = query.where(n.c.customer == customer)
    if outage:
        query = query.where(n.c.outage == outage)
    with connect(db).connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    items = [
        {
            "customer": r["customer"],
            "outage": r["outage"],
            "kind": r["kind"],
            "channel": r["channel"],
            "address": r["address"],
            "message": r["message"],
            "status": r["status"],
            "attempts": r["attempts"],
            "created_at": iso(r["created_at"]),
            "sent_at": iso(r["sent_at"]),
            "error": r["error"],
            "answer": r["answer"],
        }
        for r in rows
    ]
    table_rows = [
        (i["customer"], i["outage"], i["kind"], i["channel"], i["status"], i["answer"] or "")
        for i in items
    ]
    emit(
        items,
        as_json,
        lambda: table(table_rows, ["customer", "outage", "kind", "channel", "status", "answer"]),
    )


@notify.command("answer")
@click.argument("customer")
@click.argument("outage_id")
@click.argument("answer")
@actor_options
@db_option
@json_option
@handles_errors
def notify_answer(
    customer: str,
    outage_id: str,
    answer: str,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Record CUSTOMER's ANSWER to the callback survey of OUTAGE_ID (as --user)."""
    event = {"type": "survey_answer", "customer": customer, "outage": outage_id, "answer": answer}
    act(db, {**event, "user": user, **({"reason": reason} if reason else {})}, as_json)
