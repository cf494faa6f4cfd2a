"""Dispatcher actions on outages: merge, confirm, split, hand back, restore, close.

Each checks first and changes nothing when it refuses (:class:`ActionError`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oms.exceptions import ActionError
from oms.intake.events import Event
from oms.outages import Outage

if TYPE_CHECKING:
    from oms.engine.core import EngineCore

__all__ = ["apply_action"]


def apply_action(core: EngineCore, event: Event) -> None:
    """Apply an ``outage_*`` event.

    Raises
    ------
    ActionError
        The outage is not in a state that allows it, or a device named is
        not one that cuts anyone off.
    OutageNotFound
        An id names no outage.
    """
    p = event.payload
    if event.type == "outage_merge":
        _merge(core, event)
        return
    o = core.outages.get(p["outage"])
    handler = _HANDLERS[event.type]
    handler(core, o, event)
    core.outages.touch(o)


def _actor(event: Event) -> tuple[str, str | None]:
    return event.payload.get("user") or "system", event.payload.get("reason")


def _must_be_open(o: Outage, what: str) -> None:
    if not o.active:
        raise ActionError(f"outage {o.id} is {o.state}; {what}")


def _candidate(core: EngineCore, device: str) -> None:
    if core.position(device) is None:
        raise ActionError(f"{device} is not a protective device that cuts anyone off")


def _merge(core: EngineCore, event: Event) -> None:
    user, reason = _actor(event)
    p, t = event.payload, event.time
    target = core.outages.get(p["into"])
    others = [core.outages.get(i) for i in p["outages"] if i != target.id]
    for o in [target, *others]:
        _must_be_open(o, "only open outages merge")
    for o in others:
        core.outages.cancel(o, t, user, "merged", reason, merged_into=target.id)
    target.pinned = True
    core.outages.audit(target, t, user, "merge", reason, {"merged": [o.id for o in others]})


def _confirm(core: EngineCore, o: Outage, event: Event) -> None:
    user, reason = _actor(event)
    t = event.time
    _must_be_open(o, "only open outages are confirmed")
    device = event.payload.get("device")
    if device and device != o.device:
        _candidate(core, device)
        core.outages.audit(o, t, user, "move", reason, {"from": o.device, "to": device})
        o.kind, o.customer = "network", None
        o.move(device, t)
        core.outages.placed(o)
    o.confirm("dispatcher")
    o.pinned = True
    core.outages.audit(o, t, user, "confirm", reason, {"device": o.device})


def _split(core: EngineCore, o: Outage, event: Event) -> None:
    user, reason = _actor(event)
    t = event.time
    _must_be_open(o, "only open outages split")
    devices = event.payload["devices"]
    for d in devices:
        _candidate(core, d)
    core.outages.audit(o, t, user, "split", reason, {"from": o.device, "into": devices})
    o.device, o.pinned, o.located_at = devices[0], True, t
    core.outages.placed(o)
    for d in devices[1:]:
        new = core.outages.new("network", d, None, o.started, t)
        new.pinned, new.state, new.confirmed_by = True, o.state, o.confirmed_by
        core.outages.audit(new, t, user, "split", reason, {"from": o.id})


def _repredict(core: EngineCore, o: Outage, event: Event) -> None:
    user, reason = _actor(event)
    _must_be_open(o, "only open outages are re-predicted")
    o.pinned = False
    if o.confirmed_by == "dispatcher":
        o.unconfirm()
    core.outages.audit(o, event.time, user, "repredict", reason, {"device": o.device})


def _restore(core: EngineCore, o: Outage, event: Event) -> None:
    user, reason = _actor(event)
    _must_be_open(o, "it cannot be restored")
    # Once a crew was sent it is not a blink, however quick: the job follows
    # the restoration (customers told), not "supply came back by itself".
    job = core.book.by_outage.get(o.id) if core.book is not None else None
    sent = job is not None and job.stamps.get("D") is not None
    core.restore(o, event.time, user, reason, sustained=sent)


def _close(core: EngineCore, o: Outage, event: Event) -> None:
    user, reason = _actor(event)
    if o.state != "restored":
        raise ActionError(f"outage {o.id} is {o.state}; restore it before closing")
    o.close(event.time)
    core.outages.audit(o, event.time, user, "close", reason, {})


_HANDLERS = {
    "outage_confirm": _confirm,
    "outage_split": _split,
    "outage_repredict": _repredict,
    "outage_restore": _restore,
    "outage_close": _close,
}
