"""Readers of the crews, units and zones files (contracts 2b, 2b' and 2c), and of
the mutual-aid crews onboarded into a running system (docs/mutual-aid.md).

Each reader checks every row and raises
:class:`topology.NetworkValidationError` listing all problems at once, each
with its line (CSV, the header is line 1) or feature id and the reason;
nothing of a file with errors is used.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from topology.exceptions import Issue, NetworkFileError, NetworkValidationError

__all__ = [
    "AREA_CLASSES",
    "SKILLS",
    "mutual_aid_rows",
    "read_crews",
    "read_mutual_aid",
    "read_units",
    "read_zones",
]

AREA_CLASSES = ("urban", "rural", "remote")
#: Skills named in contract 2b; others are accepted as the utility's own.
SKILLS = ("line", "cable", "tree", "service", "emergency")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _read_csv(
    path: str | Path, required: tuple[str, ...]
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NetworkFileError(f"{path}: cannot read: {exc}") from exc
    return _cells(rows, path, required)


def _cells(
    rows: list[list[str]], path: str | Path, required: tuple[str, ...]
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and ``(line, {column: cell})`` of the non-blank rows of a CSV file."""
    if not rows:
        raise NetworkFileError(f"{path}: empty file; expected a header with {','.join(required)}")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise NetworkFileError(f"{path}: missing column(s) {', '.join(missing)}")
    out = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row] + [""] * max(0, len(header) - len(row))
        out.append((lineno, dict(zip(header, cells, strict=False))))
    return header, out


def read_units(path: str | Path) -> list[dict[str, Any]]:
    """Repair units with their escalation chain; both contacts are required."""
    _, rows = _read_csv(path, ("id", "first_contact", "second_contact"))
    issues: list[Issue] = []
    units: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, row in rows:
        uid = row.get("id", "")
        where = f"line {lineno}" + (f" ({uid})" if uid else "")
        problems = []
        if not uid:
            problems.append("empty unit id")
        elif uid in seen:
            problems.append("duplicate unit id")
        for key in ("first_contact", "second_contact"):
            if not row.get(key):
                problems.append(f"{key} is empty: every unit needs two contacts")
        for p in problems:
            issues.append(Issue(where, p))
        if problems:
            continue
        seen.add(uid)
        units.append(
            {
                "id": uid,
                "name": row.get("name") or None,
                "first_contact": row["first_contact"],
                "second_contact": row["second_contact"],
                "leader": row.get("leader") or None,
            }
        )
    if issues:
        raise NetworkValidationError(issues, str(path))
    return units


def read_crews(
    path: str | Path, units: set[str] | None = None, zones: set[str] | None = None
) -> list[dict[str, Any]]:
    """Crews with unit, skills, zone, start position, voltage levels and shift."""
    _, rows = _read_csv(path, ("id", "name", "unit", "skills", "zone", "lon", "lat"))
    issues: list[Issue] = []
    crews: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, row in rows:
        cid = row.get("id", "")
        where = f"line {lineno}" + (f" ({cid})" if cid else "")
        problems = []
        if not cid:
            problems.append("empty crew id")
        elif cid in seen:
            problems.append("duplicate crew id")
        unit = row.get("unit", "")
        if units is not None and unit and unit not in units:
            problems.append(f"unit {unit!r} is not in the units file")
        zone = row.get("zone") or None
        if zones is not None and zone and zone not in zones:
            problems.append(f"zone {zone!r} is not in the zones file")
        lonlat = []
        for key, limit in (("lon", 180.0), ("lat", 90.0)):
            try:
                value = float(row.get(key, ""))
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and abs(value) <= limit):
                problems.append(f"{key} {row.get(key)!r} is not a number within ±{limit:g}")
            lonlat.append(value)
        volts: list[float] = []
        for text in filter(None, (v.strip() for v in row.get("voltage_kv", "").split(";"))):
            try:
                volts.append(float(text))
            except ValueError:
                problems.append(f"voltage_kv {text!r} is not a number")
        for key in ("shift_start", "shift_end"):
            hhmm = row.get(key, "")
            if hhmm and not _HHMM.match(hhmm):
                problems.append(f"{key} {hhmm!r} is not HH:MM")
        if bool(row.get("shift_start")) != bool(row.get("shift_end")):
            problems.append("give both shift_start and shift_end, or neither")
        for p in problems:
            issues.append(Issue(where, p))
        if problems:
            continue
        seen.add(cid)
        crews.append(
            {
                "id": cid,
                "name": row.get("name") or None,
                "unit": unit or None,
                "skills": sorted(
                    {s.strip() for s in row.get("skills", "").split(";") if s.strip()}
                ),
                "zone": zone,
                "lon": lonlat[0],
                "lat": lonlat[1],
                "voltage_kv": volts,
                "shift_start": row.get("shift_start") or None,
                "shift_end": row.get("shift_end") or None,
                "phone": row.get("phone") or None,
            }
        )
    if issues:
        raise NetworkValidationError(issues, str(path))
    return crews


def read_zones(path: str | Path, units: set[str] | None = None) -> list[dict[str, Any]]:
    """Zone polygons with their area class, owning unit and place name (None when unnamed)."""
    from shapely.geometry import shape

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NetworkFileError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise NetworkFileError(f"{path}: not a GeoJSON FeatureCollection")
    issues: list[Issue] = []
    zones: list[dict[str, Any]] = []
    seen: set[str] = set()
    for k, feature in enumerate(doc.get("features") or []):
        props = (feature or {}).get("properties") or {}
        zid = props.get("id")
        where = str(zid) if zid else f"feature #{k}"
        problems = []
        if not isinstance(zid, str) or not zid:
            problems.append("missing id")
        elif zid in seen:
            problems.append("duplicate zone id")
        if props.get("area_class") not in AREA_CLASSES:
            problems.append(
                f"area_class {props.get('area_class')!r} is not one of {', '.join(AREA_CLASSES)}"
            )
        unit = props.get("unit")
        name = props.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 128):
            problems.append("name must be text of at most 128 characters")
        if units is not None and unit and unit not in units:
            problems.append(f"unit {unit!r} is not in the units file")
        geometry = (feature or {}).get("geometry")
        if not geometry or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append("geometry must be a Polygon or MultiPolygon")
        else:
            try:
                if not shape(geometry).is_valid:
                    problems.append("invalid polygon (self-intersecting or unclosed ring)")
            except (ValueError, TypeError, AttributeError) as exc:
                problems.append(f"bad geometry: {exc}")
        for p in problems:
            issues.append(Issue(where, p))
        if problems:
            continue
        assert isinstance(zid, str)  # else "missing id" was reported above
        seen.add(zid)
        zones.append(
            {
                "id": zid,
                "name": (name.strip() or None) if isinstance(name, str) else None,
                "area_class": props["area_class"],
                "unit": unit,
                "geometry": geometry,
            }
        )
    if issues:
        raise NetworkValidationError(issues, str(path))
    return zones


def read_mutual_aid(
    source: str | Path,
    text: str | None = None,
    *,
    units: set[str] | None = None,
    zones: set[str] | None = None,
    existing: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Mutual-aid and contractor crews to onboard, as ``crew_add`` crews.

    Parameters
    ----------
    source : str or Path
        The CSV file (read when ``text`` is None), or the name ``text`` is
        reported under.
    text : str, optional
        The file's content (an upload).
    units, zones : set of str, optional
        Known unit and zone ids: a crew naming another is an error.
    existing : set of str, optional
        Crew ids already loaded: onboarding one again is an error.

    Returns
    -------
    list of dict
        One per row, in file order, as :func:`oms.dispatch.mutual_aid.from_cells`
        makes them (``crew``, ``company``, ``skills``, ``size``...).

    Raises
    ------
    NetworkValidationError
        Every problem of the file, each as ``line N, column C`` (the
        header is line 1) and what is wrong; nothing of the file is used.
    NetworkFileError
        The file cannot be read, or lacks a required column.
    """
    from oms.dispatch.mutual_aid import REQUIRED

    if text is None:
        _, rows = _read_csv(source, REQUIRED)
    else:
        try:
            lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
        except csv.Error as exc:
            raise NetworkFileError(f"{source}: cannot read: {exc}") from exc
        _, rows = _cells(lines, source, REQUIRED)
    return _onboarding(rows, "line", str(source), units, zones, existing)


def mutual_aid_rows(
    rows: list[Any],
    *,
    units: set[str] | None = None,
    zones: set[str] | None = None,
    existing: set[str] | None = None,
) -> list[dict[str, Any]]:
    """As :func:`read_mutual_aid`, for rows given as JSON objects (an API request):
    the same columns, values as text or JSON (``skills`` and ``voltage_kv``
    may be lists); problems are named ``row N, column C`` (from 1).
    """
    numbered: list[tuple[int, dict[str, str]]] = []
    issues: list[Issue] = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            issues.append(Issue(f"row {n}", f"a crew is an object, not {type(row).__name__}"))
            continue
        numbered.append((n, {str(k): _cell(v) for k, v in row.items()}))
    if issues:
        raise NetworkValidationError(issues, "request")
    return _onboarding(numbered, "row", "request", units, zones, existing)


def _cell(value: Any) -> str:
    """A JSON value as the CSV cell it stands for."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


def _onboarding(
    rows: list[tuple[int, dict[str, str]]],
    label: str,
    source: str,
    units: set[str] | None,
    zones: set[str] | None,
    existing: set[str] | None,
) -> list[dict[str, Any]]:
    from oms.dispatch.mutual_aid import from_cells

    issues: list[Issue] = []
    crews: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, cells in rows:
        crew, problems = from_cells(cells)
        cid = crew["crew"]
        if cid and cid in seen:
            problems.append(("id", f"crew {cid!r} is listed twice"))
        elif cid and existing is not None and cid in existing:
            problems.append(("id", f"crew {cid!r} exists already"))
        if units is not None and crew.get("unit") and crew["unit"] not in units:
            problems.append(("unit", f"unit {crew['unit']!r} is not loaded"))
        if zones is not None and crew.get("zone") and crew["zone"] not in zones:
            problems.append(("zone", f"zone {crew['zone']!r} is not loaded"))
        issues.extend(Issue(f"{label} {number}, column {col}", why) for col, why in problems)
        seen.add(cid)
        if not problems:
            crews.append(crew)
    if not rows:
        issues.append(Issue(None, "no crews to onboard"))
    if issues:
        raise NetworkValidationError(issues, source)
    return crews
