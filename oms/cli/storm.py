"""``oms storm``: storm mode on, off, or as it is (:mod:`oms.engine.storm`).

Each change is a ``storm_mode`` event, as from the storm room's page.
"""

from __future__ import annotations

from typing import Any

import click

from oms.cli.actions import act, actor_options
from oms.cli.options import db_option, emit, handles_errors, json_option

__all__ = ["storm"]

_POLICIES = ("suggest", "batch", "automatic")  # oms.engine.storm.DISPATCH_POLICIES


@click.group()
def storm() -> None:
    """Storm mode: dispatch policy and storm ETRs for the whole control room."""


def _state(db: str | None) -> dict[str, Any]:
    from oms.storage.db import connect
    from oms.storage.queries import storm_state

    with connect(db).connect() as conn:
        return storm_state(conn)


def _text(state: dict[str, Any]) -> str:
    if not state.get("on"):
        return "storm mode is off" + (f" (ended {state['ended']})" if state.get("ended") else "")
    zones = ", ".join(f"{z} {t}" for z, t in sorted(state.get("zone_etrs", {}).items()))
    return (
        f"storm mode ON since {state['since']} (by {state['by']}"
        + (f": {state['reason']}" if state.get("reason") else "")
        + f"); dispatch {state['dispatch']}; storm ETR {state.get('etr') or 'none'}"
        + (f"; zones: {zones}" if zones else "")
    )


@storm.command("status")
@db_option
@json_option
@handles_errors
def status(db: str | None, as_json: bool) -> None:
    """Storm mode as it is."""
    state = _state(db)
    emit(state, as_json, lambda: _text(state))


@storm.command("on")
@click.option(
    "--dispatch",
    type=click.Choice(_POLICIES),
    default=None,
    help="suggest (nothing sent without the dispatcher; the default), batch or automatic.",
)
@click.option("--etr", default=None, help="A global storm ETR (ISO 8601 with offset).")
@click.option(
    "--zone-etr",
    "zone_etrs",
    multiple=True,
    metavar="ZONE=TIME",
    help="A zone's storm ETR (repeatable; ZONE= drops it).",
)
@actor_options
@db_option
@json_option
@handles_errors
def on(
    dispatch: str | None,
    etr: str | None,
    zone_etrs: tuple[str, ...],
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Turn storm mode on, or change its settings while on."""
    event: dict[str, Any] = {"type": "storm_mode", "on": True, "user": user}
    if dispatch:
        event["dispatch"] = dispatch
    if etr:
        event["etr"] = etr
    zones = {}
    for item in zone_etrs:
        zone, sep, when = item.partition("=")
        if not sep or not zone:
            raise click.BadParameter(f"{item!r}: give ZONE=TIME", param_hint="--zone-etr")
        zones[zone] = when or None
    if zones:
        event["zone_etrs"] = zones
    if reason:
        event["reason"] = reason
    act(db, event, False, quiet=True)
    state = _state(db)
    emit(state, as_json, lambda: _text(state))


@storm.command("off")
@actor_options
@db_option
@json_option
@handles_errors
def off(user: str, reason: str | None, db: str | None, as_json: bool) -> None:
    """Turn storm mode off: automatic dispatch goes back to what it was before."""
    event: dict[str, Any] = {"type": "storm_mode", "on": False, "user": user}
    if reason:
        event["reason"] = reason
    act(db, event, False, quiet=True)
    state = _state(db)
    emit(state, as_json, lambda: _text(state))
