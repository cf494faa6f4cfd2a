"""``oms switching ...`` and ``oms planned ...``: the switching desk from the command line.

Switching orders (``oms switching``), safety documents (``oms switching
safety``), the tags, grounds, jumpers and cuts in place (``oms switching
field``) and planned outages (``oms planned``). Every action is an event of
the desk (``order_*``, ``safety_*``, ``planned_*``) written to the log as
the other dispatcher actions are (:func:`oms.cli.actions.act`), so the
engine refuses it with its reason (an interlock, the two-person rule) and
nothing changes: exit code 1. After an action the document is printed as
the database holds it (the one an event created is found by its
``source_event``). ``study`` runs study mode: nothing changes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, Any

import click

from oms.cli.actions import act, actor_options
from oms.cli.options import db_option, emit, engine_config, handles_errors, json_option, table

__all__ = ["planned", "switching"]

# The documents' states and kinds (oms.switching.documents and .planned; a
# test checks they agree), spelt out so that ``--help`` imports no numpy.
ORDER_STATES = ("draft", "checked", "approved", "issued", "in_progress", "completed", "cancelled")
ORDER_KINDS = ("planned", "emergency", "outage", "template")
SAFETY_STATES = ("draft", "issued", "released", "cancelled")
SAFETY_KINDS = ("clearance", "hold", "delegated")
PLANNED_STATES = ("requested", "approved", "in_progress", "completed", "rejected", "cancelled")

#: Document kind -> (its id prefix, what it is called in messages).
_KINDS = {
    "order": ("SO-", "switching order"),
    "safety": ("SD-", "safety document"),
    "planned": ("PO-", "planned outage"),
}
#: The events that create a document (found again by its ``source_event``).
_CREATING = frozenset({"order_create", "safety_create", "planned_request"})
#: Document kind -> the field by which the other events name the document.
_REFERS = {"order": "order", "safety": "document", "planned": "planned"}


# ---------------------------------------------------------------- reading
def _json_list(stream: IO[str], option: str) -> list[Any]:
    """The JSON list read from ``stream`` (a usage error when it is not one)."""
    try:
        value = json.load(stream)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from exc
    if not isinstance(value, list):
        raise click.BadParameter("must hold a JSON list", param_hint=option)
    return value


def _document(db: str | None, kind: str, doc_id: str) -> dict[str, Any]:
    """One document of ``kind`` by id, as the database holds it.

    Raises
    ------
    NotFound
        No document of that kind has that id.
    """
    from oms.exceptions import NotFound
    from oms.storage.db import connect
    from oms.storage.switching import get_document

    prefix, name = _KINDS[kind]
    with connect(db).connect() as conn:
        doc = get_document(conn, doc_id) if doc_id.startswith(prefix) else None
    if doc is None:
        raise NotFound(f"no {name} {doc_id!r}")
    return doc


def _documents(
    db: str | None, kind: str, state: str | None, open_only: bool, crew: str | None
) -> list[dict[str, Any]]:
    from oms.storage.db import connect
    from oms.storage.switching import list_documents

    with connect(db).connect() as conn:
        return list_documents(conn, kind, state=state, open_only=open_only, crew=crew)


def _copyable(db: str | None, template: str) -> None:
    """Refuse ``--template`` naming a stored order that is no template to copy,
    saying what it is (the engine keeps only open orders: it cannot tell a
    completed order from a cancelled one). An unknown id is the engine's to name.

    Raises
    ------
    ActionError
        An order of another kind, or a finished template.
    """
    from oms.exceptions import ActionError, NotFound

    try:
        doc = _document(db, "order", template)
    except NotFound:
        return
    state = doc["state"].replace("_", " ")
    if doc["kind"] != "template":
        article = "an" if doc["kind"][0] in "aeiou" else "a"
        raise ActionError(
            f"{template} is not a template: it is {article} {doc['kind']} order, {state} "
            "(--template copies an order made with --kind template)"
        )
    if doc["state"] in ("completed", "cancelled"):
        raise ActionError(f"template {template} is {state}: it is no longer copied")


def _act(
    db: str | None,
    event: dict[str, Any],
    kind: str,
    as_json: bool,
    text: Callable[[dict[str, Any]], str],
) -> None:
    """Send ``event``; print the document it created or changed (exit 1 when refused)."""
    from oms.storage.db import connect
    from oms.storage.switching import by_source_event

    act(db, event, False, quiet=True)  # sets the event's id and time
    if event["type"] in _CREATING:
        with connect(db).connect() as conn:
            found = by_source_event(conn, event["id"])
        assert found is not None, event["id"]  # accepted: the desk stored it
        doc = found
    else:
        doc = _document(db, kind, event[_REFERS[kind]])
    emit(doc, as_json, lambda: text(doc))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _why(etype: str) -> str:
    """The field in which the desk keeps an action's ``--reason`` in its signature."""
    return "note" if etype in ("order_check", "safety_issue", "safety_release") else "reason"


def _with(event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``event`` with the fields that were given (None and empty left out)."""
    event.update({k: v for k, v in fields.items() if v not in (None, [], ())})
    return event


# ----------------------------------------------------------------- output
def _t(when: str | None) -> str:
    """An ISO time to the minute, for people."""
    return (when or "")[:16].replace("T", " ")


def _signed(doc: dict[str, Any]) -> str:
    marks = [f"{s['state']} {s['user']} {_t(s['at'])[5:]}" for s in doc["signatures"]]
    return "signed: " + ", ".join(marks)


def _order_text(doc: dict[str, Any]) -> str:
    refs = [f"{k} {doc[k]}" for k in ("outage", "planned", "template") if doc.get(k)]
    head = f"{doc['id']}  {doc['kind']}  {doc['state']}  {doc['title']}"
    lines = [head + (f"  ({', '.join(refs)})" if refs else "")]
    rows = [
        (
            f"{'x' if s['done'] else '>' if s['seq'] == doc['next_step'] else ' '} {s['seq']}",
            s["action"],
            s["device"],
            s["performer"],
            " ".join(x for x in (s["tag"], s["document"]) if x),
            f"{_t(s['done_at'])} {s['done_by']}" if s["done"] else "",
            s["note"] or "",
        )
        for s in doc["steps"]
    ]
    lines.append(table(rows, ["step", "action", "device", "by", "tag/doc", "done", "note"]))
    if doc.get("study"):
        st = doc["study"]
        critical = ", ".join(st["critical_interrupted"]) or "none"
        lines.append(
            f"study: {st['customers_interrupted']} customers interrupted "
            f"(critical: {critical}), "
            f"{st['customers_out_at_end']} still cut off by the order at the end, "
            f"{_count(st['warnings'], 'warning')}"
        )
    lines.append(_signed(doc))
    return "\n".join(lines)


def _orders_text(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no switching orders"
    rows = [
        (
            o["id"],
            o["kind"],
            o["state"],
            f"{sum(s['done'] for s in o['steps'])}/{len(o['steps'])}",
            o["next_step"] or "",
            _t(o["created_at"]),
            o["title"],
        )
        for o in items
    ]
    return table(rows, ["id", "kind", "state", "done", "next", "created", "title"])


def _study_text(study: dict[str, Any]) -> str:
    rows = [
        (
            s["seq"],
            s["action"],
            s["device"],
            s["performer"],
            s.get("customers_lost", ""),
            s.get("customers_regained", ""),
            s["customers_out"],
            "; ".join(f"{f['level']} {f['rule']}: {f['message']}" for f in s["findings"]),
        )
        for s in study["steps"]
    ]
    critical = ", ".join(study["critical_interrupted"]) or "none"
    return "\n".join(
        [
            table(rows, ["step", "action", "device", "by", "lost", "regained", "out", "findings"]),
            f"{study['customers_interrupted']} customers interrupted (critical: {critical}), "
            f"{study['customers_out_at_end']} still cut off by the order at the end; "
            f"{_count(study['refusals'], 'refusal')}, {_count(study['warnings'], 'warning')}",
        ]
    )


def _safety_text(doc: dict[str, Any]) -> str:
    head = f"{doc['id']}  {doc['kind']}  {doc['state']}  crew {doc['crew']}"
    if doc.get("order"):
        head += f"  (order {doc['order']})"
    rows = [
        (n, p["device"], p["state"], "yes" if p["tag"] else "", "yes" if p["ground"] else "")
        for n, p in enumerate(doc["points"], start=1)
    ]
    lines = [head]
    if doc.get("work"):
        lines.append(f"work: {doc['work']}")
    lines += [table(rows, ["point", "device", "state", "tag", "ground"]), _signed(doc)]
    return "\n".join(lines)


def _safeties_text(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no safety documents"
    rows = [
        (
            d["id"],
            d["kind"],
            d["state"],
            d["crew"],
            ",".join(p["device"] for p in d["points"]),
            d["order"] or "",
            d["work"],
        )
        for d in items
    ]
    return table(rows, ["id", "kind", "state", "crew", "points", "order", "work"])


def _planned_text(doc: dict[str, Any]) -> str:
    risk = doc["risk"]
    lines = [
        f"{doc['id']}  {doc['state']}  {doc['applicant']}: {doc['reason']}",
        f"window: {_t(doc['start'])} to {_t(doc['end'])} ({doc['notice_days']:g} days' notice)",
        f"opens: {', '.join(doc['devices'])}"
        + (f"; closes: {', '.join(doc['ties'])}" if doc["ties"] else "")
        + (f"; crews: {', '.join(doc['crews'])}" if doc["crews"] else ""),
    ]
    if doc.get("order"):
        lines.append(f"order: {doc['order']}")
    if doc.get("actual_start"):
        lines.append(f"carried out: {_t(doc['actual_start'])} to {_t(doc['actual_end'])}")
    if risk:
        critical = ", ".join(risk["critical"]) or "none"
        lines.append(f"risk: {risk['customers']} customers out (critical: {critical})")
        lines += [f"  - {c}" for c in risk["concerns"]]
    if doc["notices"]:
        sent = ", ".join(f"{k} {_t(v)}" for k, v in doc["notices"].items())
        lines.append(f"notices: {sent}")
    lines.append(_signed(doc))
    return "\n".join(lines)


def _planneds_text(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no planned outages"
    rows = [
        (
            p["id"],
            p["state"],
            _t(p["start"]),
            _t(p["end"]),
            ",".join(p["devices"]),
            p["risk"].get("customers", ""),
            len(p["risk"].get("concerns", [])),
            p["order"] or "",
            p["applicant"],
        )
        for p in items
    ]
    return table(
        rows,
        ["id", "state", "start", "end", "opens", "customers", "concerns", "order", "applicant"],
    )


def _field_text(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no tags, grounds, jumpers or cuts in place"
    rows = [
        (
            c["id"],
            c["kind"],
            c["device"],
            c["tag"] or "",
            c["document"] or "",
            f"{c['order']}/{c['step']}" if c["order"] else "",
            f"{_t(c['placed_at'])} {c['placed_by']}",
            f"{_t(c['removed_at'])} {c['removed_by']}" if c["removed_at"] else "",
        )
        for c in items
    ]
    return table(
        rows, ["id", "kind", "device", "tag", "document", "order/step", "placed", "removed"]
    )


# -------------------------------------------------------------- options
def _list_options(states: tuple[str, ...], crew_help: str) -> Callable[[Any], Any]:
    def decorate(func: Any) -> Any:
        func = click.option("--crew", default=None, help=crew_help)(func)
        func = click.option(
            "--open", "open_only", is_flag=True, help="Leave out finished documents."
        )(func)
        func = click.option(
            "--state", type=click.Choice(states), default=None, help="Only documents in this state."
        )(func)
        return func

    return decorate


def _required_reason(help_text: str) -> Callable[[Any], Any]:
    """Replace the ``--reason`` of :func:`~oms.cli.actions.actor_options` (applied
    before) by a required one with ``help_text``: here it is the document's own."""

    def decorate(func: Any) -> Any:
        params = func.__click_params__
        for n, param in enumerate(params):
            if param.name == "reason":
                params[n] = click.Option(["--reason"], required=True, help=help_text)
        return func

    return decorate


def _steps_option(required: bool) -> Callable[[Any], Any]:
    return click.option(
        "--steps",
        "steps_file",
        type=click.File("r", encoding="utf-8"),
        required=required,
        metavar="FILE",
        help="JSON list of steps, '-' for stdin: "
        '[{"action", "device", "performer" ("control" or a crew), "tag", "document", "note"}].',
    )


# -------------------------------------------------------------- switching
@click.group()
def switching() -> None:
    """Switching orders, safety documents and field changes (the switching desk).

    An order goes draft -> checked (its study passes) -> approved (by
    someone who did not write it) -> issued -> in_progress -> completed;
    its steps are carried out one by one with ``step``.
    """


@switching.command("list")
@_list_options(ORDER_STATES, "Only issued orders with a step this crew performs.")
@db_option
@json_option
@handles_errors
def order_list(
    state: str | None, open_only: bool, crew: str | None, db: str | None, as_json: bool
) -> None:
    """Switching orders, newest first."""
    items = _documents(db, "order", state, open_only, crew)
    emit(items, as_json, lambda: _orders_text(items))


@switching.command("show")
@click.argument("order_id")
@db_option
@json_option
@handles_errors
def order_show(order_id: str, db: str | None, as_json: bool) -> None:
    """One switching order: its steps (x: done, >: next), study and signatures."""
    doc = _document(db, "order", order_id)
    emit(doc, as_json, lambda: _order_text(doc))


@switching.command("create")
@click.option(
    "--title",
    default=None,
    help="What the order is for (required but with --outage alone: named after the outage).",
)
@click.option(
    "--kind",
    type=click.Choice(ORDER_KINDS),
    default=None,
    help="Kind (default: outage when drafted from --outage's plan, else planned).",
)
@_steps_option(required=False)
@click.option("--template", default=None, metavar="SO-ID", help="Copy the steps of this template.")
@click.option(
    "--outage",
    default=None,
    help="The outage the order restores; without --steps or --template, the order is "
    "drafted from its isolation and restoration plan.",
)
@click.option(
    "--planned",
    "planned_id",
    default=None,
    metavar="PO-ID",
    help="Its planned outage; without --steps, the order is drafted from its devices and ties.",
)
@actor_options
@db_option
@json_option
@handles_errors
def order_create(
    title: str | None,
    kind: str | None,
    steps_file: IO[str] | None,
    template: str | None,
    outage: str | None,
    planned_id: str | None,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Write a draft order; print it.

    Its steps come from --steps FILE, a --template, the plan of an --outage
    (the devices its isolation opens, then those its restoration closes, as
    on the map's plan) or a --planned outage (open and tag its devices,
    close its ties, and back).
    """
    if steps_file is not None and template is not None:
        raise click.UsageError("give either --steps FILE or --template SO-ID, not both")
    if steps_file is None and template is None and outage is None and planned_id is None:
        raise click.UsageError(
            "give the steps: --steps FILE, --template SO-ID, --outage OUTAGE-ID (its plan) "
            "or --planned PO-ID"
        )
    if template is not None:
        _copyable(db, template)
    from_plan = outage is not None and steps_file is None and template is None
    if title is None and not (from_plan and planned_id is None):
        raise click.UsageError("Missing option '--title'.")
    steps = _json_list(steps_file, "--steps") if steps_file is not None else None
    event = _with(
        {"type": "order_create", "user": user},
        title=title,
        kind=kind,
        steps=steps,
        template=template,
        outage=outage,
        planned=planned_id,
        reason=reason,
    )
    _act(db, event, "order", as_json, _order_text)


@switching.command("edit")
@click.argument("order_id")
@_steps_option(required=True)
@click.option("--title", default=None, help="A new title.")
@actor_options
@db_option
@json_option
@handles_errors
def order_edit(
    order_id: str,
    steps_file: IO[str],
    title: str | None,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Replace the steps of a draft or checked order (a checked one goes back to draft)."""
    event = {
        "type": "order_edit",
        "order": order_id,
        "steps": _json_list(steps_file, "--steps"),
        "user": user,
    }
    _act(db, _with(event, title=title, reason=reason), "order", as_json, _order_text)


@switching.command("study")
@click.argument("order_id", required=False)
@_steps_option(required=False)
@db_option
@json_option
@handles_errors
def order_study(
    order_id: str | None, steps_file: IO[str] | None, db: str | None, as_json: bool
) -> None:
    """Study an open order, or --steps FILE, on the network as operated now.

    Nothing changes: each step's customers lost and regained, the customers
    out after it, and every rule it breaks.
    """
    from oms.engine import OutageEngine
    from oms.storage.db import connect

    if (steps_file is None) == (order_id is None):
        raise click.UsageError("give either ORDER_ID or --steps FILE")
    steps = _json_list(steps_file, "--steps") if steps_file is not None else None
    config = engine_config(os.environ.get("OMS_ENGINE_CONFIG"))
    result = OutageEngine(connect(db), config).study(order_id, steps)
    emit(result, as_json, lambda: _study_text(result))


def _sign(name: str, etype: str, doc: str) -> None:
    @switching.command(name, help=doc)
    @click.argument("order_id")
    @actor_options
    @db_option
    @json_option
    @handles_errors
    def command(
        order_id: str, user: str, reason: str | None, db: str | None, as_json: bool
    ) -> None:
        event = {"type": etype, "order": order_id, "user": user}
        _with(event, **{_why(etype): reason})
        _act(db, event, "order", as_json, _order_text)


_sign(
    "check", "order_check", "Check ORDER_ID: its study must pass (refused with each step's reason)."
)
_sign("approve", "order_approve", "Approve ORDER_ID (not by its writer: the two-person rule).")
_sign("issue", "order_issue", "Issue the approved ORDER_ID: its steps may be carried out.")
_sign("cancel", "order_cancel", "Cancel ORDER_ID (any state but completed).")


@switching.command("step")
@click.argument("order_id")
@click.argument("number", type=click.IntRange(min=1))
@click.option(
    "--crew",
    default=None,
    help="Report it as this crew (signed in role crew; the step must be its own).",
)
@click.option(
    "--acknowledge",
    multiple=True,
    metavar="RULE",
    help="Carry it out despite this warning (the rule a refusal names; repeatable).",
)
@click.option("--lon", type=float, default=None, help="Where it was done (with --lat).")
@click.option("--lat", type=float, default=None, help="Where it was done (with --lon).")
@click.option("--note", default=None, help="A note kept on the step.")
@click.option(
    "--skip",
    is_flag=True,
    help="Pass over the step (the device already so): the control room's, with --reason.",
)
@actor_options
@db_option
@json_option
@handles_errors
def order_step(
    order_id: str,
    number: int,
    crew: str | None,
    acknowledge: tuple[str, ...],
    lon: float | None,
    lat: float | None,
    note: str | None,
    skip: bool,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Report step NUMBER of the issued ORDER_ID done (checked against every interlock)."""
    if (lon is None) != (lat is None):
        raise click.UsageError("give --lon and --lat together")
    event = {"type": "order_step", "order": order_id, "step": number, "user": user}
    if crew is not None:
        event.update(crew=crew, role="crew")
    if skip:
        event["skip"] = True
    _with(event, acknowledge=list(acknowledge), lon=lon, lat=lat, note=note, reason=reason)
    _act(db, event, "order", as_json, _order_text)


@switching.command("field")
@click.option("--all", "everything", is_flag=True, help="Removed ones too.")
@db_option
@json_option
@handles_errors
def field(everything: bool, db: str | None, as_json: bool) -> None:
    """Tags, grounds, jumpers and cuts in place, oldest first."""
    from oms.storage.db import connect
    from oms.storage.switching import field_changes

    with connect(db).connect() as conn:
        items = field_changes(conn, active_only=not everything)
    emit(items, as_json, lambda: _field_text(items))


# ----------------------------------------------------------------- safety
@switching.group()
def safety() -> None:
    """Safety documents: clearances, holds and delegated control issued to a crew.

    A document is issued only when every isolation point is in its state
    with its tag and ground; while issued its devices do not operate.
    """


@safety.command("list")
@_list_options(SAFETY_STATES, "Only documents issued to this crew.")
@db_option
@json_option
@handles_errors
def safety_list(
    state: str | None, open_only: bool, crew: str | None, db: str | None, as_json: bool
) -> None:
    """Safety documents, newest first."""
    items = _documents(db, "safety", state, open_only, crew)
    emit(items, as_json, lambda: _safeties_text(items))


@safety.command("show")
@click.argument("document_id")
@db_option
@json_option
@handles_errors
def safety_show(document_id: str, db: str | None, as_json: bool) -> None:
    """One safety document: its isolation points and signatures."""
    doc = _document(db, "safety", document_id)
    emit(doc, as_json, lambda: _safety_text(doc))


@safety.command("create")
@click.option(
    "--kind", type=click.Choice(SAFETY_KINDS), default="clearance", show_default=True, help="Kind."
)
@click.option("--crew", required=True, help="The crew it is issued to.")
@click.option(
    "--points",
    "points_file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    metavar="FILE",
    help='JSON list of isolation points, \'-\' for stdin: [{"device", "state" ("open"), '
    '"tag" (true), "ground" (false)}].',
)
@click.option("--work", default=None, help="The work done under it.")
@click.option("--order", default=None, metavar="SO-ID", help="The order that isolates it.")
@actor_options
@db_option
@json_option
@handles_errors
def safety_create(
    kind: str,
    crew: str,
    points_file: IO[str],
    work: str | None,
    order: str | None,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Write a draft safety document; print it."""
    event = {
        "type": "safety_create",
        "kind": kind,
        "crew": crew,
        "points": _json_list(points_file, "--points"),
        "user": user,
    }
    _act(db, _with(event, work=work, order=order, reason=reason), "safety", as_json, _safety_text)


def _safety_act(name: str, etype: str, doc: str, by_crew: bool = False) -> None:
    @click.argument("document_id")
    @actor_options
    @db_option
    @json_option
    @handles_errors
    def command(
        document_id: str,
        user: str,
        reason: str | None,
        db: str | None,
        as_json: bool,
        crew: str | None = None,
    ) -> None:
        event = {"type": etype, "document": document_id, "user": user}
        if crew is not None:
            event.update(crew=crew, role="crew")
        _with(event, **{_why(etype): reason})
        _act(db, event, "safety", as_json, _safety_text)

    if by_crew:
        command = click.option(
            "--crew", default=None, help="Release it as this crew (it must be the document's)."
        )(command)
    safety.command(name, help=doc)(command)


_safety_act("issue", "safety_issue", "Issue DOCUMENT_ID (refused with every point not in place).")
_safety_act("release", "safety_release", "Release DOCUMENT_ID: the crew's work is done.", True)
_safety_act("cancel", "safety_cancel", "Cancel the draft DOCUMENT_ID.")


# ---------------------------------------------------------------- planned
@click.group()
def planned() -> None:
    """Planned outages: requested with a risk check, approved by another person,
    announced to their customers and carried out by a switching order."""


@planned.command("list")
@_list_options(PLANNED_STATES, "Only approved or running outages this crew works on.")
@db_option
@json_option
@handles_errors
def planned_list(
    state: str | None, open_only: bool, crew: str | None, db: str | None, as_json: bool
) -> None:
    """Planned outages, newest first."""
    items = _documents(db, "planned", state, open_only, crew)
    emit(items, as_json, lambda: _planneds_text(items))


@planned.command("show")
@click.argument("planned_id")
@db_option
@json_option
@handles_errors
def planned_show(planned_id: str, db: str | None, as_json: bool) -> None:
    """One planned outage: its window, risk, notices and signatures."""
    doc = _document(db, "planned", planned_id)
    emit(doc, as_json, lambda: _planned_text(doc))


def _time(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An ISO 8601 time with offset, checked here (a usage error, exit 2)."""
    from oms.exceptions import EventError
    from oms.intake.events import parse_time

    if value is None:
        return None
    try:
        return parse_time(value, f"--{param.name}").isoformat()
    except EventError as exc:
        raise click.BadParameter(str(exc)) from exc


@planned.command("request")
@click.option("--applicant", required=True, help="Who asks for it (a team, a contractor).")
@click.option(
    "--device", "devices", multiple=True, required=True, help="A device opened (repeatable)."
)
@click.option(
    "--tie", "ties", multiple=True, help="A tie closed to keep others supplied (repeatable)."
)
@click.option("--start", required=True, callback=_time, help="Start (ISO 8601 with offset).")
@click.option("--end", required=True, callback=_time, help="End (ISO 8601 with offset).")
@click.option("--crew", "crews", multiple=True, help="A crew doing the work (repeatable).")
@click.option(
    "--notice-days",
    type=click.FloatRange(0, 365),
    default=None,
    help="Days' notice the customers get (default: the configuration's, 7).",
)
@_required_reason("Why the work is done.")
@actor_options
@db_option
@json_option
@handles_errors
def planned_request(
    applicant: str,
    devices: tuple[str, ...],
    ties: tuple[str, ...],
    start: str,
    end: str,
    crews: tuple[str, ...],
    notice_days: float | None,
    user: str,
    reason: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Request a planned outage; print it with its risk check."""
    event = {
        "type": "planned_request",
        "applicant": applicant,
        "reason": reason,
        "devices": list(devices),
        "start": start,
        "end": end,
        "user": user,
    }
    _with(event, ties=list(ties), crews=list(crews), notice_days=notice_days)
    _act(db, event, "planned", as_json, _planned_text)


def _planned_act(name: str, etype: str, doc: str) -> None:
    @planned.command(name, help=doc)
    @click.argument("planned_id")
    @actor_options
    @db_option
    @json_option
    @handles_errors
    def command(
        planned_id: str, user: str, reason: str | None, db: str | None, as_json: bool
    ) -> None:
        event = _with({"type": etype, "planned": planned_id, "user": user}, reason=reason)
        _act(db, event, "planned", as_json, _planned_text)


_planned_act("approve", "planned_approve", "Approve PLANNED_ID (not by its requester).")
_planned_act("reject", "planned_reject", "Reject the requested PLANNED_ID.")
_planned_act("cancel", "planned_cancel", "Cancel PLANNED_ID (not while its order runs).")
