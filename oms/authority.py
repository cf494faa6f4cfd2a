"""Who may take each action: one table, enforced by the engine for every intake.

Every event reaches the engine with a :class:`Principal`, the one who sent
it, taken from authentication by the intake, never from the event itself:

==============================  ===========================================
intake                          principal
==============================  ===========================================
HTTP (routes, ``/api/events``)  the signed-in user or the handheld's user
MQTT (``oms listen``)           ``mqtt``, role ``intake`` (telemetry only)
``oms ingest``                  ``system`` (database access is full access)
command-line actions            the user ``--user`` names, in its role, when
                                the database has users; else ``system``
==============================  ===========================================

:func:`admit` checks the event type against :data:`RULES` and stamps the
principal on the event: an action's ``user`` is the principal's name, and
a crew's actions name its own crew (``crew``), so that the engine's rule
"a crew acts on its own jobs" cannot be talked around. ``admin`` and
``system`` may do everything.

No I/O here; the web layer describes its routes from the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oms.exceptions import Forbidden

__all__ = ["RULES", "SYSTEM", "Principal", "admit", "roles_for"]


@dataclass(frozen=True)
class Principal:
    """Who sends events: a user name, a role and, for a crew user, the crew."""

    username: str
    role: str
    crew: str | None = None


#: The command line and the engine's own work.
SYSTEM = Principal("system", "system")


_DISPATCHER = frozenset({"dispatcher"})
_FIELD = frozenset({"dispatcher", "crew"})
_DESK = frozenset({"dispatcher", "engineer"})
_TELEMETRY = frozenset({"dispatcher", "engineer", "intake"})

#: Event type -> the roles that may send it (``admin`` and ``system``: all).
#: A crew acts on its own jobs and its own crew only.
RULES: Mapping[str, frozenset[str]] = {
    # Telemetry: the adapters, and the desk entering a call or a manual reading.
    "call": _TELEMETRY,
    "ami_last_gasp": _TELEMETRY,
    "ami_restore": _TELEMETRY,
    "ami_ping_reply": _TELEMETRY,
    "scada": _TELEMETRY,
    "fci": _TELEMETRY,
    "crew_gps": _TELEMETRY | {"crew"},
    # The dispatcher's decisions on outages and switching.
    "outage_confirm": _DISPATCHER,
    "outage_merge": _DISPATCHER,
    "outage_split": _DISPATCHER,
    "outage_repredict": _DISPATCHER,
    "outage_restore": _DISPATCHER,
    "outage_close": _DISPATCHER,
    "switch": _DESK,
    "job_assign": _DISPATCHER,
    "job_recall": _DISPATCHER,
    "job_callback": _DISPATCHER,
    "dispatch_auto": _DISPATCHER,
    "survey_answer": _DISPATCHER,
    "alert_ack": _DISPATCHER,
    "storm_mode": _DISPATCHER,
    # Switching orders: written and checked at the desk, approved by another
    # person (the order's rule), issued by the control room; a step is done
    # by the control room or by the crew that performs it (its own steps only).
    "order_create": _DESK,
    "order_edit": _DESK,
    "order_check": _DESK,
    "order_approve": _DESK,
    "order_issue": _DISPATCHER,
    "order_cancel": _DISPATCHER,
    "order_step": _FIELD,
    # Safety documents: issued by the control room, released by their crew.
    "safety_create": _DESK,
    "safety_issue": _DISPATCHER,
    "safety_release": _FIELD,
    "safety_cancel": _DISPATCHER,
    # Planned outages: requested at the desk, approved by another person.
    "planned_request": _DESK,
    "planned_approve": _DESK,
    "planned_reject": _DESK,
    "planned_cancel": _DESK,
    # The crew's stages on its job (the dispatcher may record them for it).
    "job_delivered": _FIELD,
    "job_accept": _FIELD,
    "job_depart": _FIELD,
    "job_arrive": _FIELD,
    "job_made_safe": _FIELD,
    "job_repaired": _FIELD,
    "job_restored": _FIELD,
    "job_estimate": _FIELD,
    "job_close": _FIELD,
    # What a crew (or an assessor crew) finds in the field.
    "damage_report": _FIELD,
    # The critical-customer register, and calls made to customers.
    "critical_customer": _DESK,
    "customer_contact": _DISPATCHER,
    "crew_status": _FIELD,
    # Mutual-aid and contractor crews: the control room onboards them (it
    # runs the storm's workforce around the clock); a crew checks itself in
    # on arrival from its handheld, or the dispatcher does it for the crew.
    "crew_add": _DISPATCHER,
    "crew_checkin": _FIELD,
}

_ALL_POWERFUL = frozenset({"admin", "system"})
#: Event types whose signatures record the sender's role.
_SIGNED = ("order_", "safety_", "planned_")
_TELEMETRY_TYPES = frozenset(
    {"call", "ami_last_gasp", "ami_restore", "ami_ping_reply", "scada", "fci", "crew_gps"}
)


def roles_for(etype: str) -> tuple[str, ...]:
    """The roles (besides ``admin``) that may send ``etype``, sorted."""
    return tuple(sorted(RULES.get(etype, frozenset())))


def admit(principal: Principal, obj: Any) -> Any:
    """``obj`` as ``principal`` may send it, stamped with who sent it.

    Objects that are not events with a known type are returned as they are
    (the event parser names what is wrong with them). ``system`` events
    keep their own ``user`` (a log or file replayed as written).

    Raises
    ------
    Forbidden
        The principal's role may not send this type of event.
    """
    if not isinstance(obj, Mapping) or not isinstance(obj.get("type"), str):
        return obj
    etype = obj["type"]
    allowed = RULES.get(etype)
    if allowed is None or principal.role == "system":
        return obj
    if principal.role not in _ALL_POWERFUL and principal.role not in allowed:
        article = "an" if principal.role[:1] in "aeiou" else "a"
        raise Forbidden(f"{article} {principal.role} may not send {etype} events")
    stamped = dict(obj)
    if etype not in _TELEMETRY_TYPES:
        stamped["user"] = principal.username
    if etype.startswith(_SIGNED):
        stamped["role"] = principal.role  # documents record who signed in which role
    if principal.role == "crew":
        if principal.crew is None:
            raise Forbidden(f"user {principal.username!r} belongs to no crew")
        named = obj.get("crew")
        if named is not None and named != principal.crew:
            raise Forbidden(f"crew {principal.crew} may not act for crew {named!r}")
        stamped["crew"] = principal.crew
    return stamped
