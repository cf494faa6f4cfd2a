"""The critical-customer register and the calls made to customers. No I/O.

The register starts from the customers file (its ``critical`` reason and
``emergency_plan``) and is kept by the control room with two events:

- ``critical_customer`` (dispatcher or engineer): puts a customer on the
  register, changes its entry or takes it off. ``customer``; ``critical``
  (the reason: ``life_support``, ``hospital``, ``water``, ``telecom``... or
  null to take it off); ``emergency_plan`` (free text); ``contacts`` (whom
  to call: a list of ``{name, phone, email, relation}``); ``note``. A field
  left out keeps its value. The entry stands over the customers file's,
  also when the file is loaded again, until it is edited.
- ``customer_contact`` (dispatcher): a call made to a customer or one of
  its contacts: ``customer``, ``reached`` (true or false), optional
  ``outage``, ``phone`` (the number called), ``note``. The callback queue
  (:mod:`oms.storage.callbacks`) and the critical-customer report
  (:mod:`oms.reports.critical`) read them.

An edit takes effect at once: the customer's reason is the engine's from
then on, so the critical customers each outage holds, the dispatch
priority of its job and the storm room's lists follow in the same batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from oms.exceptions import ActionError
from oms.intake.events import Event, iso

if TYPE_CHECKING:
    from oms.engine.core import EngineCore

__all__ = ["CONTACT_FIELDS", "apply_contact", "apply_critical_customer", "check_contacts"]

#: The fields of one contact of a critical customer.
CONTACT_FIELDS = ("name", "phone", "email", "relation")
_MAX_CONTACTS = 10
_MAX_TEXT = {"critical": 64, "emergency_plan": 4000, "note": 2000}


def check_contacts(raw: Any) -> list[dict[str, str | None]]:
    """The contacts list of a register entry, checked; each field named when wrong.

    Raises
    ------
    ActionError
        Not a list of at most ten objects with a name and a phone or e-mail.
    """
    if not isinstance(raw, list) or len(raw) > _MAX_CONTACTS:
        raise ActionError(f"contacts must be a list of at most {_MAX_CONTACTS} contacts")
    contacts = []
    for k, c in enumerate(raw):
        where = f"contacts[{k}]"
        if not isinstance(c, Mapping):
            raise ActionError(f"{where} must be an object with name, phone, email, relation")
        unknown = set(c) - set(CONTACT_FIELDS)
        if unknown:
            raise ActionError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        for key in CONTACT_FIELDS:
            value = c.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 200):
                raise ActionError(f"{where}.{key} must be text of at most 200 characters")
        if not (c.get("name") or "").strip():
            raise ActionError(f"{where}.name is missing")
        if not (c.get("phone") or c.get("email")):
            raise ActionError(f"{where} needs a phone or an email")
        contacts.append({key: (c.get(key) or None) for key in CONTACT_FIELDS})
    return contacts


def _text(p: Mapping[str, Any], key: str) -> str | None:
    value = p.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT[key]:
        raise ActionError(f"{key} must be text of at most {_MAX_TEXT[key]} characters, or null")
    return value.strip() or None


def apply_critical_customer(core: EngineCore, event: Event) -> dict[str, Any]:
    """Put a customer on the register, change its entry or take it off; the entry.

    The customer's reason and plan change in the engine's customers (the
    counts per outage follow at the next reconciliation, in this batch).
    O(nesting depth) for the tree's counts.

    Raises
    ------
    ActionError
        A network without a customers file, or a field that is wrong (named);
        nothing changed.
    """
    p, u = event.payload, event.customer
    cust = core.net.customers
    if cust is None or u < 0:
        raise ActionError("the register needs a customers file: this network has none")
    previous = core.register.get(cust.ids[u], {})
    entry: dict[str, Any] = {
        "critical": cust.get("critical", u) or None,
        "emergency_plan": cust.get("emergency_plan", u) or None,
        "contacts": previous.get("contacts", []),
        "note": previous.get("note"),
    }
    for key in ("critical", "emergency_plan", "note"):
        if key in p:
            entry[key] = _text(p, key)
    if "contacts" in p:
        entry["contacts"] = check_contacts(p["contacts"] or [])
    was = bool(core.units.critical[u]) if core.units.are_customers else False
    for key in ("critical", "emergency_plan"):
        cust.edit(key, {u: entry[key]})
    now = bool(entry["critical"])
    if now != was:
        core.units.critical[u] = now
        node = int(cust.node[u])
        core.tree.add_critical(node, 1 if now else -1)
        if core.held is not None:
            core.held[1][node] += 1 if now else -1
        for o in core.outages.active("single_customer"):
            if o.customer == cust.ids[u]:
                o.critical_out = int(now)
                core.outages.touch(o)
    record = {
        "customer": cust.ids[u],
        **entry,
        "updated_at": iso(event.time),
        "updated_by": p.get("user") or "system",
        "event": event.id,
    }
    core.register[cust.ids[u]] = record
    core.changes.register.append(record)
    return record


def apply_contact(core: EngineCore, event: Event) -> dict[str, Any]:
    """Record a call made to a customer (or its contact); the record.

    Raises
    ------
    ActionError
        ``reached`` not given as true or false, an unknown outage, or text
        that is too long; nothing changed.
    """
    p = event.payload
    cust = core.net.customers
    if cust is None or event.customer < 0:
        raise ActionError("contacts need a customers file: this network has none")
    reached = p.get("reached")
    if not isinstance(reached, bool):
        raise ActionError("reached must be true (the customer or its contact answered) or false")
    outage = p.get("outage")
    if outage is not None and not (isinstance(outage, str) and core.outages.find(outage)):
        raise ActionError(f"outage {outage!r} is not a known outage")
    phone = p.get("phone")
    if phone is not None and (not isinstance(phone, str) or len(phone) > 40):
        raise ActionError("phone must be the number called, at most 40 characters")
    record = {
        "id": event.id,
        "customer": cust.ids[event.customer],
        "outage": outage,
        "time": iso(event.time),
        "reached": reached,
        "phone": phone,
        "note": _text(p, "note"),
        "user": p.get("user") or "system",
    }
    core.changes.contacts.append(record)
    return record
