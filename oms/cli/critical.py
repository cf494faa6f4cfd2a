"""``oms critical ...``: the critical-customer register and the calls owed.

Edits and calls are events (``critical_customer``, ``customer_contact``:
:mod:`oms.engine.register`), as from the dispatcher's page.
"""

from __future__ import annotations

from typing import Any

import click

from oms.cli.actions import act, actor_options
from oms.cli.options import db_option, emit, handles_errors, json_option, now_of

__all__ = ["critical"]


@click.group()
def critical() -> None:
    """The critical-customer register (life support, hospitals, water...) and the
    queue of calls owed to customers, critical ones first."""


@critical.command("list")
@db_option
@json_option
@handles_errors
def list_(db: str | None, as_json: bool) -> None:
    """Every customer on the register, with its contacts, plan and last edit
    (as ``GET /api/critical`` gives them)."""
    from oms.storage.db import connect
    from oms.storage.loading import register_entries, stored_network

    with connect(db).connect() as conn:
        _, net = stored_network(conn)
        rows = register_entries(conn, net)

    def text() -> str:
        lines = [f"{len(rows)} critical customers"]
        for r in rows:
            calls = ", ".join(
                f"{c['name']} {c.get('phone') or c.get('email')}" for c in r["contacts"]
            )
            lines.append(
                f"  {r['customer']:<14} {r['critical']:<14} {r['name'] or ''}"
                + (f"  call: {calls}" if calls else "")
            )
        return "\n".join(lines)

    emit(rows, as_json, text)


@critical.command("set")
@click.argument("customer")
@click.option(
    "--critical", "reason_", default=None, help="Why it is critical (life_support, hospital...)."
)
@click.option("--off", is_flag=True, help="Take the customer off the register.")
@click.option("--plan", default=None, help="The emergency plan (free text).")
@click.option(
    "--contact",
    "contacts",
    multiple=True,
    metavar="NAME=PHONE",
    help="Whom to call (repeatable; replaces the contacts). NAME=PHONE or NAME=EMAIL.",
)
@click.option("--note", default=None, help="A note on the entry.")
@actor_options
@db_option
@json_option
@handles_errors
def set_(
    customer: str,
    reason_: str | None,
    off: bool,
    plan: str | None,
    contacts: tuple[str, ...],
    note: str | None,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Put CUSTOMER on the register, change its entry, or take it off (--off)."""
    if off and reason_:
        raise click.UsageError("give --critical or --off, not both")
    event: dict[str, Any] = {"type": "critical_customer", "customer": customer, "user": user}
    if off:
        event["critical"] = None
    elif reason_:
        event["critical"] = reason_
    if plan is not None:
        event["emergency_plan"] = plan
    if contacts:
        parsed = []
        for item in contacts:
            name, sep, how = item.partition("=")
            if not sep or not name or not how:
                raise click.BadParameter(f"{item!r}: give NAME=PHONE", param_hint="--contact")
            parsed.append({"name": name, ("email" if "@" in how else "phone"): how})
        event["contacts"] = parsed
    if note is not None or reason:
        event["note"] = note if note is not None else reason
    act(db, event, as_json)


@critical.command("contact")
@click.argument("customer")
@click.option("--reached/--not-reached", required=True, help="Whether anybody answered.")
@click.option("--outage", default=None, help="The outage the call was about.")
@click.option("--phone", default=None, help="The number called.")
@click.option("--note", default=None, help="What was said.")
@actor_options
@db_option
@json_option
@handles_errors
def contact(
    customer: str,
    reached: bool,
    outage: str | None,
    phone: str | None,
    note: str | None,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Record a call made to CUSTOMER (or its contact), reached or not."""
    event: dict[str, Any] = {
        "type": "customer_contact",
        "customer": customer,
        "reached": reached,
        "user": user,
    }
    for key, value in (("outage", outage), ("phone", phone), ("note", note or reason)):
        if value is not None:
            event[key] = value
    act(db, event, as_json)


@critical.command("callbacks")
@click.option(
    "--hours",
    type=click.FloatRange(0, 720, min_open=True),
    default=24.0,
    show_default=True,
    help="How far back restorations are called back.",
)
@click.option("--limit", type=click.IntRange(1, 10000), default=500, show_default=True)
@db_option
@json_option
@handles_errors
def callbacks(hours: float, limit: int, db: str | None, as_json: bool) -> None:
    """The calls owed to customers, in the order to make them (critical first)."""
    from oms.storage.callbacks import callback_queue
    from oms.storage.db import connect

    with connect(db).connect() as conn:
        doc = callback_queue(conn, now_of(conn), hours=hours, limit=limit)

    def text() -> str:
        counts = ", ".join(f"{k} {n}" for k, n in doc["counts"].items())
        lines = [f"calls owed as of {doc['as_of']}: {counts}"]
        for c in doc["calls"]:
            numbers = "; ".join(
                f"{n.get('name') or ''} {n.get('phone') or n.get('email') or ''}".strip()
                for n in c["call"]
            )
            tried = f" (tried {c['attempts']}x)" if c["attempts"] else ""
            lines.append(
                f"  {c['kind']:<18} {c['customer']:<14} {c['critical'] or '':<13} "
                f"{c['outage']:<12} {c['minutes']:>7.0f} min{tried}  call: {numbers or '-'}"
            )
        return "\n".join(lines)

    emit(doc, as_json, text)
