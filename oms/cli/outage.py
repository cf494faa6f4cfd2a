"""``oms outages`` and ``oms outage ...``: outages, and the dispatcher's actions on them."""

from __future__ import annotations

import json
from typing import Any

import click

from oms.cli.actions import act, actor_options
from oms.cli.options import db_option, emit, handles_errors, json_option, table

__all__ = ["outage", "outages"]


# ---------------------------------------------------------------- outages
def _outage_rows(items: list[dict[str, Any]]) -> str:
    rows = [
        (
            o["id"],
            o["kind"],
            o["device"] or o["customer"],
            o["state"],
            o["customers_out"],
            o["critical_out"],
            o["calls"],
            (o["started"] or "")[:19],
            (o["restored"] or "")[:19],
        )
        for o in items
    ]
    return table(
        rows, ["id", "kind", "device", "state", "out", "critical", "calls", "started", "restored"]
    )


@click.command()
@db_option
@click.option(
    "--state",
    type=click.Choice(["predicted", "confirmed", "restored", "closed", "cancelled"]),
    default=None,
    help="Only outages in this state (default: all but cancelled).",
)
@json_option
@handles_errors
def outages(db: str | None, state: str | None, as_json: bool) -> None:
    """List outages (contract 4), oldest first."""
    from oms.outages import list_outages
    from oms.storage.db import connect

    with connect(db).connect() as conn:
        items = [o.to_dict() for o in list_outages(conn, state)]
    emit(items, as_json, lambda: _outage_rows(items) if items else "no outages")


@click.group()
def outage() -> None:
    """Look at one outage, or act on it as the dispatcher (audited)."""


@outage.command("show")
@click.argument("outage_id")
@db_option
@json_option
@handles_errors
def outage_show(outage_id: str, db: str | None, as_json: bool) -> None:
    """One outage with its evidence and audit trail."""
    from oms.outages import get_outage, outage_audit, outage_evidence
    from oms.storage.db import connect

    with connect(db).connect() as conn:
        o = get_outage(conn, outage_id)
        doc = o.to_dict()
        doc["audit"] = outage_audit(conn, outage_id)
        doc["evidence"] = outage_evidence(conn, o)

    def text() -> str:
        lines = [_outage_rows([doc]), "", "audit:"]
        lines += [
            f"  {a['time']}  {a['actor']:<10} {a['action']:<10} {a['reason'] or ''} "
            + json.dumps(a["detail"])
            for a in doc["audit"]
        ]
        lines += ["", f"evidence ({len(doc['evidence'])}):"]
        lines += [
            f"  {e['time']}  {e['type']:<14} {e['customer'] or e['device'] or ''}"
            for e in doc["evidence"][:50]
        ]
        return "\n".join(lines)

    emit(doc, as_json, text)


@outage.command("confirm")
@click.argument("outage_id")
@click.option("--device", default=None, help="The device actually found operated.")
@actor_options
@db_option
@json_option
@handles_errors
def outage_confirm(
    outage_id: str, device: str | None, user: str, reason: str | None, db: str | None, as_json: bool
) -> None:
    """Confirm OUTAGE_ID (optionally at another device); the predictor keeps it there."""
    event: dict[str, Any] = {"type": "outage_confirm", "outage": outage_id, "user": user}
    if device:
        event["device"] = device
    if reason:
        event["reason"] = reason
    act(db, event, as_json)


@outage.command("merge")
@click.argument("into")
@click.argument("others", nargs=-1, required=True)
@actor_options
@db_option
@json_option
@handles_errors
def outage_merge(
    into: str, others: tuple[str, ...], user: str, reason: str | None, db: str | None, as_json: bool
) -> None:
    """Merge OTHERS into outage INTO."""
    event = {"type": "outage_merge", "into": into, "outages": [into, *others], "user": user}
    if reason:
        event["reason"] = reason
    act(db, event, as_json)


@outage.command("split")
@click.argument("outage_id")
@click.argument("devices", nargs=-1, required=True)
@actor_options
@db_option
@json_option
@handles_errors
def outage_split(
    outage_id: str,
    devices: tuple[str, ...],
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Split OUTAGE_ID into one outage per device of DEVICES (two or more)."""
    event = {"type": "outage_split", "outage": outage_id, "devices": list(devices), "user": user}
    if reason:
        event["reason"] = reason
    act(db, event, as_json)


def _simpleact(name: str, etype: str, doc: str) -> None:
    @outage.command(name, help=doc)
    @click.argument("outage_id")
    @actor_options
    @db_option
    @json_option
    @handles_errors
    def command(
        outage_id: str, user: str, reason: str | None, db: str | None, as_json: bool
    ) -> None:
        event = {"type": etype, "outage": outage_id, "user": user}
        if reason:
            event["reason"] = reason
        act(db, event, as_json)


_simpleact("repredict", "outage_repredict", "Hand OUTAGE_ID back to the predictor.")
_simpleact("restore", "outage_restore", "Mark OUTAGE_ID restored (supply is back).")
_simpleact("close", "outage_close", "Close the restored OUTAGE_ID.")
