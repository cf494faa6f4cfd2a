"""Mutual-aid and contractor crews: what onboarding one takes, and its check-in.

A foreign crew (another utility's, or a contractor's) is onboarded as a
``crew_add`` event (docs/mutual-aid.md) carrying the crews file's columns
(contract 2b) plus ``company``, ``size`` (people), ``vehicles``,
``home_base`` and ``arrival`` (when it is expected). A crew with an
``arrival`` is not dispatchable until it checks in (``crew_checkin``, with
its position): until then it has no position of its own and dispatch
counts it off shift. A crew without ``arrival`` is here already: it needs a
position and is checked in when added.

Pure functions over plain values (no I/O): :func:`crew_problems` checks
one crew as the event carries it (typed JSON values) and names each wrong
field; :func:`from_cells` turns the cells of a CSV row (text) into such a
crew, naming each column it cannot read. The CSV reader
(:func:`oms.storage.inputs.read_mutual_aid`) and the event parser
(:mod:`oms.intake.events`) share them, so a file and an event are held to
the same rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["COLUMNS", "REQUIRED", "crew_problems", "from_cells"]

#: The onboarding file's columns (contract 2b's, and the foreign crew's).
COLUMNS = (
    "id",
    "name",
    "company",
    "skills",
    "size",
    "vehicles",
    "home_base",
    "arrival",
    "unit",
    "zone",
    "lon",
    "lat",
    "voltage_kv",
    "shift_start",
    "shift_end",
    "phone",
)
#: Columns every onboarding file has.
REQUIRED = ("id", "company", "skills", "size")
#: The most people one crew record may stand for (a typo guard, not a policy).
MAX_SIZE = 50
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_MAX_TEXT = {"id": 64, "name": 200, "company": 128, "home_base": 200, "unit": 64, "zone": 64}


def _whole(value: Any, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"{value!r} is not a whole number from {low} to {high}"
    return None


def crew_problems(crew: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, what is wrong)`` for each field of a new crew that is wrong.

    ``crew`` holds typed values as a ``crew_add`` event carries them:
    ``crew`` (the id), ``company``, ``skills`` (a list of text), ``size``,
    optional ``vehicles``, ``home_base``, ``arrival`` (ISO 8601 with offset),
    ``name``, ``unit``, ``zone``, ``lon`` and ``lat`` (both or neither;
    required without ``arrival``), ``voltage_kv`` (numbers),
    ``shift_start`` and ``shift_end`` (``HH:MM``, both or neither), ``phone``.
    Whether the unit and zone exist is the order book's to say.
    """
    problems: list[tuple[str, str]] = []
    for key, required in (("crew", True), ("company", True), ("name", False), ("home_base", False),
                          ("unit", False), ("zone", False), ("phone", False)):  # fmt: skip
        value = crew.get(key)
        if value is None and not required:
            continue
        limit = _MAX_TEXT.get("id" if key == "crew" else key, 40)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            problems.append((key, f"must be text of 1 to {limit} characters, not {value!r}"))
    skills = crew.get("skills")
    if (
        not isinstance(skills, list)
        or not skills
        or not all(isinstance(s, str) and s.strip() for s in skills)
    ):
        problems.append(("skills", f"must list at least one skill, not {skills!r}"))
    why = _whole(crew.get("size"), 1, MAX_SIZE)
    if why:
        problems.append(("size", why))
    if crew.get("vehicles") is not None:
        why = _whole(crew["vehicles"], 0, MAX_SIZE)
        if why:
            problems.append(("vehicles", why))
    arrival = crew.get("arrival")
    if arrival is not None:
        problems.extend(("arrival", why) for why in _time_problems(arrival))
    has = [crew.get(k) is not None for k in ("lon", "lat")]
    if any(has):
        for key, bound in (("lon", 180.0), ("lat", 90.0)):
            value = crew.get(key)
            if value is None:
                problems.append((key, "is missing: give lon and lat together"))
            elif (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value) and abs(value) <= bound)
            ):
                problems.append((key, f"{value!r} is not a number within ±{bound:g}"))
    elif arrival is None:
        problems.append(("lon", "a crew here already (no arrival) needs its position lon, lat"))
    volts = crew.get("voltage_kv", [])
    if not isinstance(volts, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in volts
    ):
        problems.append(("voltage_kv", f"must list positive numbers, not {volts!r}"))
    shifts = [crew.get(k) for k in ("shift_start", "shift_end")]
    for key, hhmm in zip(("shift_start", "shift_end"), shifts, strict=True):
        if hhmm is not None and not (isinstance(hhmm, str) and _HHMM.match(hhmm)):
            problems.append((key, f"{hhmm!r} is not HH:MM"))
    if (shifts[0] is None) != (shifts[1] is None):
        problems.append(("shift_end", "give both shift_start and shift_end, or neither"))
    return problems


def _time_problems(value: Any) -> list[str]:
    if not isinstance(value, str):
        return [f"{value!r} is not an ISO 8601 time"]
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return [f"{value!r} is not an ISO 8601 time"]
    if t.tzinfo is None:
        return [f"{value!r} has no UTC offset (e.g. 2026-01-15T14:00:00+01:00)"]
    return []


def from_cells(cells: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A CSV row's cells (text, stripped) as a ``crew_add`` crew, and the columns it
    cannot read.

    Empty cells are absent values; ``skills`` and ``voltage_kv`` are
    ``;``-separated; ``size`` and ``vehicles`` whole numbers; ``lon``,
    ``lat`` and ``voltage_kv`` numbers. The crew is then checked by
    :func:`crew_problems` (``crew`` reported as column ``id``).
    """
    problems: list[tuple[str, str]] = []
    crew: dict[str, Any] = {"crew": cells.get("id", "")}
    for key in ("name", "company", "home_base", "arrival", "unit", "zone", "phone",
                "shift_start", "shift_end"):  # fmt: skip
        if cells.get(key):
            crew[key] = cells[key]
    if "company" not in crew:
        crew["company"] = cells.get("company", "")
    crew["skills"] = sorted({s.strip() for s in cells.get("skills", "").split(";") if s.strip()})
    for key in ("size", "vehicles"):
        text = cells.get(key, "")
        if not text and key == "vehicles":
            continue
        try:
            crew[key] = int(text)
        except ValueError:
            problems.append((key, f"{text!r} is not a whole number"))
    for key in ("lon", "lat"):
        if cells.get(key):
            try:
                crew[key] = float(cells[key])
            except ValueError:
                problems.append((key, f"{cells[key]!r} is not a number"))
    volts: list[float] = []
    for text in filter(None, (v.strip() for v in cells.get("voltage_kv", "").split(";"))):
        try:
            volts.append(float(text))
        except ValueError:
            problems.append(("voltage_kv", f"{text!r} is not a number"))
    crew["voltage_kv"] = volts
    unread = {column for column, _ in problems}
    for key, why in crew_problems(crew):
        column = "id" if key == "crew" else key
        if column not in unread:
            problems.append((column, why))
    return crew, problems
